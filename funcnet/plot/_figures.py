"""Figure plumbing shared by the plots: new figures without pyplot, saving, colours.

Every plot builds a :class:`matplotlib.figure.Figure` directly, never through pyplot, so
no global figure registry is touched: plotting is headless, leaves the user's interactive
backend alone, and two threads drawing two figures do not share state.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure, SubFigure


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A pyplot-free Figure with constrained layout (no tight_layout warnings)."""
    return Figure(figsize=figsize, layout="constrained")


def figure_and_axes(where: str, ax, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``(figure, ax)``: the caller's Axes and its root Figure, or a new pair."""
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(
            f"{where}: ax must be a matplotlib Axes (or None for a new figure), "
            f"got {type(ax).__name__}"
        )
    return root_figure(ax), ax


def root_figure(ax: Axes) -> Figure:
    """The top-level Figure holding ``ax``, also when ``ax`` sits in a SubFigure."""
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def axes_grid(count: int, ncols: int, panel_size: tuple[float, float]) -> tuple[Figure, list]:
    """A figure of ``count`` panels on ``ncols`` columns; unused cells are hidden."""
    ncols = min(ncols, count)
    nrows = -(-count // ncols)
    fig = new_figure((panel_size[0] * ncols, panel_size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for extra in axes[count:]:
        extra.set_axis_off()
    return fig, list(axes[:count])


def class_colors(num_classes: int) -> ListedColormap:
    """``num_classes`` distinct colours: tab10 up to 10 classes, tab20, then viridis."""
    import matplotlib

    if num_classes <= 10:
        colors = matplotlib.colormaps["tab10"].colors[:num_classes]
    elif num_classes <= 20:
        colors = matplotlib.colormaps["tab20"].colors[:num_classes]
    else:
        colors = matplotlib.colormaps["viridis"](np.linspace(0, 1, num_classes))
    return ListedColormap(colors, name=f"classes{num_classes}")


def integer_vector(where: str, name: str, values) -> np.ndarray:
    """``values`` as a 1-D integer NumPy array, or a ValueError/TypeError saying why not."""
    array = np.asarray(values)
    if array.ndim != 1:
        hint = "; take argmax over the class axis first" if array.ndim == 2 else ""
        raise ValueError(
            f"{where}: {name} must be a 1-D array of integer class labels (N,), "
            f"got shape {array.shape}{hint}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"{where}: {name} must hold integer class labels, got dtype {array.dtype}; "
            f"convert with .astype(int) (or argmax over the class axis for scores)"
        )
    return array.astype(np.int64)


def save(fig: Figure, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` (PNG unless the suffix names another format).

    Parent folders are created; a path without a suffix gets ``.png``.

    Args:
        fig: a Figure returned by any ``funcnet.plot`` function (or any matplotlib Figure).
        path: where to write, e.g. ``"figures/loss.png"``.
        dpi: resolution in dots per inch.

    Returns:
        The :class:`~pathlib.Path` written.

    Examples:
        >>> fig = loss_curves([2.3, 1.1, 0.6, 0.4])
        >>> save(fig, "figures/loss.png")
        PosixPath('figures/loss.png')
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"save: fig must be a matplotlib Figure, got {type(fig).__name__}")
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
