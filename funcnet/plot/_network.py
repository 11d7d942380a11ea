"""A dense network drawn as layers of units joined by its weights."""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.patches import Circle

from funcnet.plot._figures import figure_and_axes

_R = 0.3  # unit radius, in the axes' data units (a column step is 2)


def _sizes(where: str, layer_sizes) -> list[int]:
    sizes = list(layer_sizes) if isinstance(layer_sizes, (list, tuple)) else None
    if not sizes or len(sizes) < 2 or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1
            for n in sizes):
        raise ValueError(f"{where}: layer_sizes must be a list of at least two integers >= 1 "
                         f"(units per layer, input first), got {layer_sizes!r}")
    if max(sizes) > 32:
        raise ValueError(f"{where}: layer_sizes {sizes} has a layer wider than 32 units, too "
                         f"many to draw one by one; draw a narrower stand-in")
    return [int(n) for n in sizes]


def _names(where: str, what: str, names, count: int) -> list[str]:
    if names is None:
        return [""] * count
    names = list(names)
    if len(names) != count or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where}: {what} must be {count} strings, got {names!r}")
    return names


def _weights(where: str, weights, sizes: list[int]) -> list[np.ndarray] | None:
    if weights is None:
        return None
    weights = list(weights)
    shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    arrays = [np.asarray(w, dtype=np.float64) for w in weights]
    if [w.shape for w in arrays] != shapes:
        raise ValueError(f"{where}: weights must be {len(shapes)} arrays of shapes {shapes} "
                         f"(funcnet's w: (in, out)), got {[w.shape for w in arrays]}")
    if not all(np.isfinite(w).all() for w in arrays):
        raise ValueError(f"{where}: weights must be finite")
    return arrays


def _weight_labels(where: str, labels, sizes: list[int]) -> list[np.ndarray] | None:
    if labels is None:
        return None
    shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    arrays = [np.asarray(row, dtype=object) for row in labels]
    if [a.shape for a in arrays] != shapes or not all(
            isinstance(t, str) for a in arrays for t in a.ravel()):
        raise ValueError(f"{where}: weight_labels must be {len(shapes)} nested lists of "
                         f"strings of shapes {shapes} (in, out), got shapes "
                         f"{[a.shape for a in arrays]}")
    return arrays


def network_diagram(layer_sizes, *, layer_names=None, unit_labels=None, weights=None,
                    weight_labels=None, ax=None, title: str | None = None):
    """Draw a dense network: one column of units per layer, an edge per weight.

    With ``weights`` the edges show the trained network: width grows with ``|w|``,
    blue for positive and red for negative weights.

    Args:
        layer_sizes: units per layer, input first, e.g. ``[2, 3, 1]`` for the lessons'
            2-3-1 network (at most 32 units a layer).
        layer_names: one caption per layer, written under its column.
        unit_labels: one list of strings per layer, a label inside each unit.
        weights: optional list of ``(in, out)`` arrays, one per pair of layers
            (funcnet's ``params[...]["w"]``).
        weight_labels: optional list of ``(in, out)`` nested lists of strings, one per
            pair of layers, written on the edges (``""`` for none).
        ax: an Axes to draw into (default: a new figure).
        title: title above the diagram.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = network_diagram([2, 3, 1], layer_names=["input", "hidden", "output"],
        ...                       unit_labels=[["x1", "x2"], ["h1", "h2", "h3"], ["y"]])
    """
    where = "network_diagram"
    sizes = _sizes(where, layer_sizes)
    names = _names(where, "layer_names", layer_names, len(sizes))
    labels = [[""] * n for n in sizes] if unit_labels is None else [
        _names(where, f"unit_labels[{i}]", row, n)
        for i, (row, n) in enumerate(zip(_list_of_rows(where, unit_labels, len(sizes)), sizes,
                                         strict=True))]
    arrays = _weights(where, weights, sizes)
    edge_text = _weight_labels(where, weight_labels, sizes)
    fig, ax = figure_and_axes(where, ax, (1.8 * len(sizes) + 1, 0.8 * max(sizes) + 1.4))
    ys = [np.arange(n)[::-1] - (n - 1) / 2 for n in sizes]
    scale = max((np.abs(w).max() for w in arrays), default=0.0) if arrays else 0.0
    for i in range(len(sizes) - 1):
        for a, ya in enumerate(ys[i]):
            for b, yb in enumerate(ys[i + 1]):
                if arrays is None:
                    style = {"color": "0.55", "linewidth": 0.9}
                else:
                    w = arrays[i][a, b]
                    style = {"color": "tab:blue" if w >= 0 else "tab:red",
                             "linewidth": 0.3 + 3.5 * abs(w) / scale if scale else 0.3}
                ax.plot([2 * i + _R, 2 * (i + 1) - _R], [ya, yb], zorder=1, **style)
                if edge_text is not None and edge_text[i][a, b]:
                    ax.text(2 * i + 1, (ya + yb) / 2 + 0.12, edge_text[i][a, b], ha="center",
                            va="bottom", fontsize=8, color="darkblue", zorder=3)
    for i, column in enumerate(ys):
        color = "#cfe3f7" if i == 0 else ("#f4b6b0" if i == len(sizes) - 1 else "#d5efd0")
        for j, y in enumerate(column):
            ax.add_patch(Circle((2 * i, y), _R, facecolor=color, edgecolor="0.3", zorder=2))
            ax.text(2 * i, y, labels[i][j], ha="center", va="center", fontsize=9, zorder=3)
    half = max(sizes) / 2
    for i, name in enumerate(names):  # one baseline for every caption
        ax.text(2 * i, -half - 0.25, name, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.8, 2 * (len(sizes) - 1) + 0.8)
    ax.set_ylim(-half - 1.1, half + 0.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _list_of_rows(where: str, rows, count: int) -> list:
    rows = list(rows) if isinstance(rows, (list, tuple)) else None
    if rows is None or len(rows) != count:
        raise ValueError(f"{where}: unit_labels must be {count} lists of strings, one per "
                         f"layer")
    return rows
