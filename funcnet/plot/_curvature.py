"""Pictures of the loss around and along training: the learning-rate range test and
loss-landscape slices (``funcnet.diagnostics.lr_range_test`` / ``loss_landscape``)."""

from __future__ import annotations

import numbers

import numpy as np

from funcnet.plot._figures import figure_and_axes


def _fields(where: str, value, names: tuple[str, ...], made_by: str) -> None:
    missing = [name for name in names if not hasattr(value, name)]
    if missing:
        raise TypeError(f"{where}: expected the result of {made_by}, got "
                        f"{type(value).__name__} (no {', '.join(missing)})")


def lr_range(result, *, ax=None, title: str | None = None):
    """Loss against learning rate (log axis) from a range test, the suggestion marked.

    The raw batch losses are drawn faint, the smoothed curve over them, and a vertical
    line at the suggested rate; the y axis is cut a little above the first smoothed
    loss so the explosion at the end does not flatten the valley.

    Args:
        result: an ``LRRangeResult`` from ``funcnet.diagnostics.lr_range_test``.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title (default: the rule and the suggested rate).

    Returns:
        The matplotlib Figure.

    Examples:
        >>> from funcnet.diagnostics import LRRangeResult
        >>> rates = np.logspace(-4, 0, 50)
        >>> smooth = 2 - np.tanh(2 * (np.log10(rates) + 2)) + np.exp(4 * np.log10(rates))
        >>> fig = lr_range(LRRangeResult(rates, smooth, smooth, 1e-3, "min/10", True))
    """
    where = "lr_range"
    _fields(where, result, ("rates", "losses", "smoothed", "suggested", "rule"),
            "funcnet.diagnostics.lr_range_test")
    rates = np.asarray(result.rates, np.float64)
    losses = np.asarray(result.losses, np.float64)
    smoothed = np.asarray(result.smoothed, np.float64)
    if rates.ndim != 1 or rates.size < 2 or losses.shape != rates.shape \
            or smoothed.shape != rates.shape:
        raise ValueError(f"{where}: rates, losses and smoothed must be 1-D of one length "
                         f">= 2, got {rates.shape}, {losses.shape}, {smoothed.shape}")
    if not np.all(rates > 0):
        raise ValueError(f"{where}: rates must be > 0 for the log axis, got min "
                         f"{rates.min()}")
    fig, ax = figure_and_axes(where, ax, (6, 4))
    ax.plot(rates, losses, color="tab:blue", alpha=0.25, label="batch loss")
    ax.plot(rates, smoothed, color="tab:blue", label="smoothed")
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        both = np.concatenate([finite, losses[np.isfinite(losses)]])
        low, first = both.min(), finite[0]
        ax.set_ylim(low - 0.05 * (first - low + 1e-12), first + 0.25 * (first - low + 1e-12))
    if result.suggested is not None:
        ax.axvline(result.suggested, color="tab:red", linestyle="--",
                   label=f"suggested {result.suggested:.2g} ({result.rule})")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8)
    suggested = "none" if result.suggested is None else f"{result.suggested:.2g}"
    ax.set_title(title or f"learning-rate range test: suggested {suggested}")
    return fig


def loss_landscape(landscape, *, log_scale: bool = False, levels: int = 20, ax=None,
                   title: str | None = None):
    """A loss-landscape slice: a curve for 1-D, filled contours for 2-D.

    Args:
        landscape: a ``LossLandscape`` from ``funcnet.diagnostics.loss_landscape``.
        log_scale: logarithmic loss scale (for 2-D, contours of ``log10(loss)``);
            losses must be positive.
        levels: contour levels for a 2-D slice, a positive integer.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> from funcnet.diagnostics import LossLandscape
        >>> grid = np.linspace(-1, 1, 11)
        >>> bowl = grid[:, None] ** 2 + 3 * grid[None, :] ** 2 + 0.1
        >>> fig = loss_landscape(LossLandscape(grid, grid, bowl, (), 0.1), log_scale=True)
    """
    where = "loss_landscape"
    _fields(where, landscape, ("alphas", "betas", "losses", "center"),
            "funcnet.diagnostics.loss_landscape")
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral) or levels <= 0:
        raise ValueError(f"{where}: levels must be a positive integer, got {levels!r}")
    alphas = np.asarray(landscape.alphas, np.float64)
    losses = np.asarray(landscape.losses, np.float64)
    two_d = landscape.betas is not None
    want = (alphas.size, np.size(landscape.betas)) if two_d else (alphas.size,)
    if losses.shape != want:
        raise ValueError(f"{where}: losses must have shape {want} for the grid given, got "
                         f"{losses.shape}")
    if log_scale and not np.nanmin(losses) > 0:
        raise ValueError(f"{where}: log_scale=True needs positive losses, got a value "
                         f"{np.nanmin(losses):.4g}; pass log_scale=False")
    fig, ax = figure_and_axes(where, ax, (5.5, 4.5) if two_d else (6, 4))
    if two_d:
        betas = np.asarray(landscape.betas, np.float64)
        shown = np.where(np.isfinite(losses), losses, np.nan)
        # on a log scale the contours are of log10(loss): even steps in it, readable ticks
        shown = np.log10(shown) if log_scale else shown
        filled = ax.contourf(alphas, betas, shown.T, levels=int(levels), cmap="viridis")
        ax.contour(alphas, betas, shown.T, levels=filled.levels, colors="white",
                   linewidths=0.4, alpha=0.6, linestyles="solid")
        ax.locator_params(nbins=5)
        fig.colorbar(filled, ax=ax, label="log10 loss" if log_scale else "loss")
        ax.plot([0], [0], marker="*", color="tab:red", markersize=10, label="params")
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
        ax.set_aspect("equal")
        ax.legend(fontsize=8, loc="upper right")
    else:
        ax.plot(alphas, losses, color="tab:blue")
        ax.plot([0], [landscape.center], marker="o", color="tab:red", label="params")
        ax.set_xlabel("step along the direction")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    ax.set_title(title or f"loss landscape (loss {landscape.center:.4g} at the params)")
    return fig
