"""Drawing a scalar autograd expression graph (``reference.Value``) with matplotlib.

The drawer is duck-typed, since funcnet never imports ``reference``: a node is anything
with ``.data``, ``.grad``, its input nodes in ``._prev`` and the name of the operation
that made it in ``._op`` (``""`` for an input); an optional ``.label`` is shown too.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from funcnet.plot._figures import figure_and_axes

# Sizes in inches: the figure is sized so that one data unit is one inch, so the text
# always fits its box however large the graph.
_BOX_W, _BOX_H, _OP_R, _GAP, _ROW = 1.5, 0.62, 0.24, 0.35, 0.9
_STEP = _BOX_W + 2 * _GAP + 2 * _OP_R  # between value columns of adjacent depth


def _graph(where: str, root) -> tuple[list, dict[int, list]]:
    """``(order, inputs)``: nodes inputs-first, and each node's inputs (with repeats)."""
    order, inputs, seen, stack = [], {}, set(), [(root, False)]
    while stack:  # iterative depth-first search: a node follows all of its inputs
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        if not all(hasattr(node, name) for name in ("data", "grad", "_prev")):
            raise TypeError(
                f"{where}: expected a scalar autograd value with .data, .grad, ._prev and "
                f"._op (such as reference.Value), got {type(node).__name__}"
            )
        seen.add(id(node))
        inputs[id(node)] = list(node._prev)
        stack.append((node, True))
        stack.extend((child, False) for child in inputs[id(node)] if id(child) not in seen)
    return order, inputs


def _depths(order, inputs) -> dict[int, int]:
    """Column of each node, as late as its consumers allow: the root is one past its
    longest input chain and every other node sits one column before its earliest
    consumer, so a constant or a side branch is drawn next to where it is used."""
    longest: dict[int, int] = {}
    for node in order:
        longest[id(node)] = 1 + max((longest[id(p)] for p in inputs[id(node)]), default=-1)
    root = order[-1]
    depth = {id(root): longest[id(root)]}
    for node in reversed(order):  # every consumer of a node comes before it
        for parent in inputs[id(node)]:
            depth[id(parent)] = min(depth.get(id(parent), depth[id(node)]),
                                    depth[id(node)] - 1)
    return depth


def _rows(order, inputs, depth) -> dict[int, float]:
    """Vertical position per node: columns ordered by the barycentre of their neighbours."""
    columns: dict[int, list] = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(id(node))
    consumers: dict[int, list] = {}
    for node in order:
        for parent in inputs[id(node)]:
            consumers.setdefault(id(parent), []).append(id(node))
    y = {}

    def place(ids):
        for i, key in enumerate(ids):
            y[key] = ((len(ids) - 1) / 2 - i) * _ROW

    for ids in columns.values():
        place(ids)
    neighbours_in = {id(n): [id(p) for p in inputs[id(n)]] for n in order}
    for sweep in range(4):  # alternate left-to-right and right-to-left passes
        neighbours = neighbours_in if sweep % 2 == 0 else consumers
        keys = sorted(columns, reverse=sweep % 2 == 1)
        for column in keys:
            centre = {k: np.mean([y[n] for n in neighbours.get(k, [])] or [y[k]])
                      for k in columns[column]}
            columns[column].sort(key=lambda k, centre=centre: -centre[k])
            place(columns[column])
    return y


def _fmt(value, precision: int) -> str:
    return "—" if value is None else f"{float(value):.{precision}g}"


def expression_graph(root, *, precision: int = 4, max_nodes: int = 150, ax=None,
                     title: str | None = None):
    """Draw the expression graph ending at ``root``: values, gradients, operations.

    Laid out left to right by topological depth: inputs on the left, ``root`` on the
    right. Each value is a box with its ``data`` and ``grad`` (call ``root.backward()``
    first to see gradients); each operation is a circle feeding the value it made.
    An input used twice by one operation (``a * a``) gets an edge marked ``x2``.

    Args:
        root: the output node, a ``reference.Value`` or anything with ``.data``,
            ``.grad``, ``._prev`` (input nodes) and ``._op`` (operation name).
        precision: significant digits shown for data and grad.
        max_nodes: refuse graphs larger than this (they would not be readable); draw a
            sub-expression instead.
        ax: an Axes to draw into; without one the figure is sized to the graph so the
            text fits its boxes.
        title: title above the graph.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> from reference import Value
        >>> a, b = Value(2.0), Value(-3.0)
        >>> out = (a * b + 1.0).tanh()
        >>> out.backward()
        >>> fig = expression_graph(out)
    """
    where = "expression_graph"
    order, inputs = _graph(where, root)
    if len(order) > max_nodes:
        raise ValueError(f"{where}: the graph has {len(order)} values, more than max_nodes="
                         f"{max_nodes}; draw a smaller sub-expression or raise max_nodes")
    depth = _depths(order, inputs)
    y = _rows(order, inputs, depth)
    low = min(depth.values())
    x = {key: (d - low) * _STEP for key, d in depth.items()}
    top = max(abs(v) for v in y.values()) + _BOX_H
    width = max(x.values()) + _BOX_W / 2 + 0.2
    left = -_BOX_W / 2 - 0.2  # the leftmost column holds only inputs: no op circles
    height = 2 * top + (0.5 if title else 0.1)
    if ax is None:
        fig = Figure(figsize=(width - left, height))
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig, ax = figure_and_axes(where, ax, (6, 4))
    ax.set_xlim(left, width)
    ax.set_ylim(-top, height - top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    boxes, circles = {}, {}
    for node in order:
        key = id(node)
        cx, cy = x[key], y[key]
        color = "#f4b6b0" if node is root else ("#cfe3f7" if not inputs[key] else "#fdf3c4")
        boxes[key] = ax.add_patch(FancyBboxPatch(
            (cx - _BOX_W / 2, cy - _BOX_H / 2), _BOX_W, _BOX_H, boxstyle="round,pad=0.02",
            facecolor=color, edgecolor="0.3", linewidth=0.8, zorder=2))
        label = getattr(node, "label", "")
        lines = ([f"{label}"] if label else []) + [
            f"data {_fmt(node.data, precision)}", f"grad {_fmt(node.grad, precision)}"]
        ax.text(cx, cy, "\n".join(lines), ha="center", va="center", fontsize=7,
                family="monospace", zorder=3)
        if inputs[key]:
            centre = (cx - _BOX_W / 2 - _GAP - _OP_R, cy)
            circles[key] = ax.add_patch(Circle(centre, _OP_R, facecolor="0.88",
                                               edgecolor="0.3", linewidth=0.8, zorder=2))
            op = str(getattr(node, "_op", "")) or "?"
            ax.text(*centre, op, ha="center", va="center", fontsize=8 if len(op) <= 3 else 6,
                    fontweight="bold", zorder=3)
    arrow = {"arrowstyle": "-|>", "mutation_scale": 9, "shrinkA": 0, "shrinkB": 0,
             "color": "0.25", "linewidth": 0.8, "zorder": 1}
    for node in order:
        key = id(node)
        if not inputs[key]:
            continue
        circle = circles[key]
        ax.add_patch(FancyArrowPatch(circle.center, (x[key], y[key]), patchA=circle,
                                     patchB=boxes[key], **arrow))
        for parent, count in Counter(id(p) for p in inputs[key]).items():
            span = round((x[key] - x[parent]) / _STEP)
            # Edges skipping columns bow, so they do not run along the straight ones.
            rad = 0.0 if span <= 1 else (-0.12 if y[parent] >= y[key] else 0.12)
            bend = f"arc3,rad={rad}"
            ax.add_patch(FancyArrowPatch((x[parent], y[parent]), circle.center,
                                         patchA=boxes[parent], patchB=circle,
                                         connectionstyle=bend, **arrow))
            if count > 1:
                ax.text(circle.center[0] - _OP_R, circle.center[1] + _OP_R, f"x{count}",
                        fontsize=7, ha="right", va="bottom", color="tab:red", zorder=3)
    if title:
        ax.text((left + width) / 2, height - top - 0.25, title, ha="center", va="center",
                fontsize=10)
    return fig
