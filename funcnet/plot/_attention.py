"""Attention maps: where each query of a sequence looks, one panel per head."""

from __future__ import annotations

import numbers

import numpy as np

from funcnet.plot._figures import axes_grid


def attention_maps(weights, tokens, *, ncols: int = 4, title: str | None = None):
    """One heatmap per head of one sequence's attention weights, tokens on both axes.

    Args:
        weights: ``(H, T, T)`` attention weights of one sequence (query rows, key
            columns), e.g. ``funcnet.layers.attention_weights(layer, params, x)[0]``.
        tokens: ``T`` labels (characters, words) for the positions.
        ncols: panels per row.
        title: figure title.

    Returns:
        The matplotlib Figure; panel ``h`` shows head ``h``, darker where a query
        (row) puts more weight on a key (column).

    Examples:
        >>> weights = np.tril(np.ones((2, 3, 3))) / np.arange(1, 4)[:, None]
        >>> fig = attention_maps(weights, [".", "a", "b"])
        >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
        ['head 0', 'head 1']
    """
    where = "attention_maps"
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3 or w.shape[1] != w.shape[2]:
        raise ValueError(f"{where}: weights must have shape (heads, T, T), got shape "
                         f"{w.shape}")
    tokens = [str(t) for t in tokens]
    if len(tokens) != w.shape[1]:
        raise ValueError(f"{where}: tokens must have one label per position ({w.shape[1]}), "
                         f"got {len(tokens)}")
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols <= 0:
        raise ValueError(f"{where}: ncols must be a positive integer, got {ncols!r}")
    size = 0.6 + 0.28 * len(tokens)
    fig, axes = axes_grid(w.shape[0], int(ncols), (size + 0.6, size))
    for head, ax in enumerate(axes):
        image = ax.imshow(w[head], cmap="Blues", vmin=0.0, vmax=1.0)
        ax.set_title(f"head {head}", fontsize=9)
        ax.set_xticks(range(len(tokens)), tokens, fontsize=8)
        ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
        ax.set_xlabel("key", fontsize=8)
        ax.set_ylabel("query", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    if title:
        fig.suptitle(title)
    return fig
