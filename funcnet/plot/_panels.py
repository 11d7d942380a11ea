"""The lessons' small-network pictures: matrices as heatmaps, per-layer panels, and a
gradient check drawn (analytic against numerical)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from funcnet.plot._figures import axes_grid


def _positive_int(where: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _named(where: str, name: str, items) -> list[tuple[str, object]]:
    if not isinstance(items, Mapping):
        raise TypeError(f"{where}: {name} must be a dict name -> values, got "
                        f"{type(items).__name__}")
    if not items:
        raise ValueError(f"{where}: {name} is empty; expected at least one entry")
    return [(str(key), value) for key, value in items.items()]


def _real_array(where: str, name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == np.bool_:
        array = array.astype(np.float64)  # a mask: kept = 1, dropped = 0
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{where}: {name} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def matrices(named, *, annotate="auto", ncols: int = 4, title: str | None = None):
    """One heatmap per matrix, e.g. a layer's ``W`` beside its gradient ``dW``.

    A matrix with any negative entry gets a diverging colormap centred at 0 (blue
    negative, red positive), so a gradient's sign reads at a glance; a non-negative one
    (weights of one sign, a mask) gets viridis.

    Args:
        named: ``{name: (rows, cols) array}`` (a ``(n,)`` vector is drawn as one row;
            bool masks as 0/1), in the order to draw them.
        annotate: write each value in its cell: True, False, or ``"auto"`` (when the
            matrix has at most 64 cells).
        ncols: panels per row.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> w = np.array([[0.5, 0.3], [0.2, 0.8]])
        >>> fig = matrices({"W1": w, "dW1": np.array([[-0.01, 0.02], [0.0, -0.03]])})
        >>> len(fig.axes)  # two panels and their colour bars
        4
    """
    where = "matrices"
    ncols = _positive_int(where, "ncols", ncols)
    if annotate not in (True, False, "auto"):
        raise ValueError(f"{where}: annotate must be True, False or 'auto', got {annotate!r}")
    arrays = []
    for name, values in _named(where, "named", named):
        array = _real_array(where, f"named[{name!r}]", values)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.size == 0:
            raise ValueError(f"{where}: named[{name!r}] must be a non-empty (rows, cols) "
                             f"matrix or (n,) vector, got shape {np.shape(values)}")
        arrays.append((name, array))
    from matplotlib.ticker import MaxNLocator

    fig, axes = axes_grid(len(arrays), ncols, (3.4, 3.0))
    for ax, (name, array) in zip(axes, arrays, strict=True):
        finite = array[np.isfinite(array)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if low < 0:
            edge = max(-low, high)
            image = ax.imshow(array, cmap="RdBu_r", vmin=-edge, vmax=edge,
                              interpolation="nearest", aspect="auto")
        else:
            image = ax.imshow(array, cmap="viridis", interpolation="nearest", aspect="auto")
        fig.colorbar(image, ax=ax, shrink=0.8)
        if annotate is True or (annotate == "auto" and array.size <= 64):
            for (row, col), value in np.ndenumerate(array):
                # dark text on light cells, light text on dark ones
                red, green, blue, _ = image.cmap(image.norm(value))
                light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
                ax.text(col, row, f"{value:.3g}", ha="center", va="center", fontsize=7,
                        color="black" if light else "white")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{name} {array.shape}", fontsize=9)
        ax.set_xlabel("column", fontsize=8)
        ax.set_ylabel("row", fontsize=8)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    return fig


def layer_panels(panels, *, log_scale: bool = True, ncols: int = 3,
                 title: str | None = None):
    """Per-layer quantities side by side, one panel each: gradient norms, mean
    activations, weight norms, ... (layers on the x axis, in the given order).

    Args:
        panels: ``{panel title: {layer name: float}}``, or ``{panel title: (L,) values}``
            for layers ``0 .. L-1``.
        log_scale: logarithmic value axes (every value must then be > 0).
        ncols: panels per row.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = layer_panels({"||dz||": [1e-1, 1e-3, 1e-5], "||W||": [0.5, 0.6, 0.4]})
        >>> [ax.get_title() for ax in fig.axes]
        ['||dz||', '||W||']
    """
    where = "layer_panels"
    ncols = _positive_int(where, "ncols", ncols)
    series = []
    for name, values in _named(where, "panels", panels):
        if isinstance(values, Mapping):
            labels, values = [str(k) for k in values], list(values.values())
        else:
            labels = None
        array = _real_array(where, f"panels[{name!r}]", values)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"{where}: panels[{name!r}] must be one value per layer (L,), "
                             f"got shape {array.shape}")
        if log_scale and not (np.isfinite(array) & (array > 0)).all():
            raise ValueError(f"{where}: panels[{name!r}] has values <= 0 or non-finite "
                             f"({array.tolist()}), which a log axis cannot show; pass "
                             f"log_scale=False")
        series.append((name, array, labels or [str(i) for i in range(array.size)]))
    fig, axes = axes_grid(len(series), ncols, (3.8, 3.2))
    for ax, (name, array, labels) in zip(axes, series, strict=True):
        positions = np.arange(array.size)
        ax.plot(positions, array, "o-")
        ax.set_xticks(positions, labels, rotation=45 if array.size > 6 else 0, fontsize=7)
        if log_scale:
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("layer", fontsize=8)
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def gradient_check(analytic, numerical, *, title: str | None = None):
    """A gradient check drawn: numerical and analytic gradients as bars, and one against
    the other with the line y = x; the title gives ``||a - n|| / (||a|| + ||n||)``.

    Args:
        analytic: the backprop gradient, any shape (flattened), e.g. all parameters
            concatenated ``(P,)``.
        numerical: the finite-difference gradient, the same shape.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> g = np.array([0.1, -0.2, 0.05])
        >>> fig = gradient_check(g, g + 1e-9)
        >>> fig.axes[2].get_title().splitlines()[1]
        'relative error 3.8e-09'
    """
    where = "gradient_check"
    a = _real_array(where, "analytic", analytic)
    n = _real_array(where, "numerical", numerical)
    if a.shape != n.shape or a.size == 0:
        raise ValueError(f"{where}: analytic and numerical must be non-empty arrays of the "
                         f"same shape, got {a.shape} and {n.shape}")
    a, n = a.ravel(), n.ravel()
    denominator = np.linalg.norm(a) + np.linalg.norm(n)
    error = float(np.linalg.norm(a - n) / denominator) if denominator else 0.0
    fig, (left, middle, right) = axes_grid(3, 3, (3.8, 3.2))
    for ax, values, name in ((left, n, "Numerical gradients"), (middle, a, "Analytic gradients")):
        ax.bar(np.arange(values.size), values, color="tab:blue")
        ax.set_title(name)
        ax.set_xlabel("parameter index")
        ax.grid(True, alpha=0.3)
    right.scatter(n, a, alpha=0.8)
    ends = [min(n.min(), a.min()), max(n.max(), a.max())]
    right.plot(ends, ends, "r--", linewidth=1)
    right.set_xlabel("numerical")
    right.set_ylabel("analytic")
    right.set_title(f"Gradient comparison\nrelative error {error:.1e}")
    right.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
