"""Distributions inside a network: one histogram per parameter leaf or per layer output."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import jax
import numpy as np

from funcnet.diagnostics._paths import pretty_path
from funcnet.plot._figures import axes_grid


def _histogram_grid(where: str, named: list[tuple[str, np.ndarray]], *, bins: int,
                    ncols: int, title: str | None, zeros: bool):
    """One histogram panel per ``(name, values)``, with mean/std (and zero fraction)."""
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
        raise ValueError(f"{where}: bins must be a positive integer, got {bins!r}")
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols <= 0:
        raise ValueError(f"{where}: ncols must be a positive integer, got {ncols!r}")
    fig, axes = axes_grid(len(named), int(ncols), (3.2, 2.6))
    for ax, (name, values) in zip(axes, named, strict=True):
        flat = np.asarray(values, dtype=np.float64).ravel()
        finite = flat[np.isfinite(flat)]
        ax.set_title(f"{name} {tuple(np.shape(values))}", fontsize=8)
        ax.tick_params(labelsize=7)
        lines = []
        if finite.size:
            ax.hist(finite, bins=int(bins), color="tab:blue", alpha=0.8)
            lines.append(f"mean {finite.mean():.3g}\nstd {finite.std():.3g}")
            if zeros:
                lines.append(f"zeros {np.mean(finite == 0):.0%}")
        if finite.size < flat.size:
            lines.append(f"{flat.size - finite.size} non-finite")
        ax.text(0.98, 0.95, "\n".join(lines), transform=ax.transAxes, ha="right", va="top",
                fontsize=7, color="red" if finite.size < flat.size else "black",
                bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.7})
    if title:
        fig.suptitle(title)
    return fig


def weight_histograms(params, *, bins: int = 50, ncols: int = 4, title: str | None = None):
    """One histogram per parameter leaf, titled by its path (``"dense_0/w"``).

    Useful before and after training: initial scales (He/Xavier), weights that blew up,
    biases that never moved. Each panel notes mean, std and any non-finite values.

    Args:
        params: a parameter pytree (nested dicts of arrays), e.g. from ``model.init``.
        bins: histogram bins.
        ncols: panels per row.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> model = Sequential([Dense(16), relu, Dense(3)])
        >>> params, state = model.init(jax.random.key(0), (4,))
        >>> fig = weight_histograms(params)   # panels "dense_0/b (16,)", ...
    """
    where = "weight_histograms"
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    named = [(pretty_path(path), leaf) for path, leaf in leaves if np.size(leaf)]
    if not named:
        raise ValueError(f"{where}: params has no array leaves to draw, got "
                         f"{jax.tree_util.tree_structure(params)}")
    return _histogram_grid(where, named, bins=bins, ncols=ncols, title=title, zeros=False)


def activation_histograms(activations: Mapping, *, bins: int = 50, ncols: int = 4,
                          title: str | None = None):
    """One histogram per layer output, with the fraction of exact zeros (dead ReLUs).

    Saturation shows as mass piled at the ends (sigmoid near 0 and 1, tanh near -1
    and 1), dead ReLU units as a large zero fraction.

    Args:
        activations: ``{layer name: array}`` of outputs, any shape (e.g. ``(N, units)``),
            in the order to draw them.
        bins: histogram bins.
        ncols: panels per row.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> h = np.random.randn(256, 32)
        >>> fig = activation_histograms({"z1": h, "relu": np.maximum(h, 0),
        ...                              "tanh": np.tanh(h)})
    """
    where = "activation_histograms"
    if not isinstance(activations, Mapping):
        raise TypeError(f"{where}: activations must be a dict name -> array, got "
                        f"{type(activations).__name__}")
    if not activations:
        raise ValueError(f"{where}: activations is empty; expected at least one layer")
    named = [(str(name), values) for name, values in activations.items()]
    empty = [name for name, values in named if not np.size(values)]
    if empty:
        raise ValueError(f"{where}: activations {empty} are empty arrays")
    return _histogram_grid(where, named, bins=bins, ncols=ncols, title=title, zeros=True)
