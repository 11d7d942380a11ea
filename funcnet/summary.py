"""A table of a model's layers: output shapes, parameter counts, FLOPs, reference twins."""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from funcnet.core import Layer, map_layers, type_name, walk


class Row(NamedTuple):
    """One layer of a :class:`Summary`.

    Attributes:
        path: the layer's path (``"sequential_2/dense_0"``), as :func:`funcnet.walk`
            gives it.
        depth: how many containers hold it (0 for a child of the model).
        type: the spec's type (``"Dense"``, ``"Activation(relu)"``), or the layer's
            name for a user-written layer with no spec.
        output_shape: the shape of one example's output, no batch axis; ``None`` when
            the layer's apply was not reached (a child of a container with no
            ``rebuild``).
        params: number of parameters (a container's whole subtree).
        flops: floating-point operations per example from XLA's cost analysis of the
            layer as written with lax, whatever faster form a platform runs (a
            container: the sum of its leaves); ``None`` when XLA reports none.
        twin: whether the layer has a ``reference`` twin, that is, its spec is not None.
    """

    path: str
    depth: int
    type: str
    output_shape: tuple | None
    params: int
    flops: float | None
    twin: bool


@dataclasses.dataclass(frozen=True)
class Summary:
    """What :func:`summary` finds: ``rows`` and their totals; ``str`` prints the table.

    Attributes:
        rows: one :class:`Row` per layer below the model, parents before children.
        total_params: the model's parameter count.
        total_flops: FLOPs per example over all leaf layers (``None`` when XLA reports
            none for some leaf).
        output_shape: the model's output shape for one example.
    """

    rows: list
    total_params: int
    total_flops: float | None
    output_shape: tuple

    def __str__(self) -> str:
        header = ("path", "type", "output shape", "params", "FLOPs", "twin")
        body = [(" " * 2 * r.depth + r.path.rsplit("/", 1)[-1], r.type,
                 "?" if r.output_shape is None else str(r.output_shape),
                 f"{r.params:,}", _flops(r.flops), "yes" if r.twin else "no")
                for r in self.rows]
        total = ("total", "", str(self.output_shape), f"{self.total_params:,}",
                 _flops(self.total_flops), "")
        widths = [max(len(line[i]) for line in [header, *body, total]) for i in range(6)]

        def fmt(line):
            cells = [c.ljust(w) if i < 3 or i == 5 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(line, widths, strict=True))]
            return "  ".join(cells).rstrip()

        rule = "-" * len(fmt(header))
        return "\n".join([fmt(header), rule, *map(fmt, body), rule, fmt(total)])


def _flops(flops) -> str:
    return "?" if flops is None else f"{round(flops):,}"


def _check_input_shape(input_shape) -> tuple:
    if isinstance(input_shape, numbers.Integral) and not isinstance(input_shape, bool):
        raise TypeError(f"summary: input_shape must be a tuple of positive ints (the shape "
                        f"of one example, no batch axis), got the int {input_shape}; "
                        f"write ({input_shape},)")
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(f"summary: input_shape must be a tuple of positive ints (the shape "
                        f"of one example, no batch axis), got {type(input_shape).__name__}")
    for size in input_shape:
        if (isinstance(size, bool) or not isinstance(size, numbers.Integral)
                or size <= 0):
            raise ValueError(f"summary: input_shape must be a tuple of positive ints (the "
                             f"shape of one example, no batch axis), got "
                             f"{tuple(input_shape)!r}")
    return tuple(int(size) for size in input_shape)


def _size(tree) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree))


def _subtree(params, path: str) -> Any:
    for name in path.split("/") if path else ():
        params = params[name]
    return params


def _leaf_flops(layer: Layer, params, state, x) -> float | None:
    """XLA's FLOP count for ``layer``'s own apply on a batch of one.

    Counted on the program lowered for GPU (no GPU needed to lower it): the layers as
    written with lax. On XLA:CPU a few layers run a faster form instead (a one-channel
    convolution as a dot over its taps, padded ones included), whose count is the
    kernel's choice, not the model's.
    """
    def forward(params, state, x):
        return layer.apply(params, state, x, train=False)[0]

    traced = jax.jit(forward).trace(params, state, x)
    try:
        lowered = traced.lower(lowering_platforms=("cuda",))
    except Exception:  # noqa: BLE001 (a user layer only this platform lowers)
        lowered = traced.lower()
    cost = lowered.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older jax: one dict per computation
        cost = cost[0] if cost else None
    if cost is None:
        return None
    return float(cost.get("flops", 0.0))  # XLA omits the count for a reshape or a copy


def summary(model, input_shape, dtype=None) -> Summary:
    """A table of every layer of ``model``: output shape, parameters, FLOPs, twin.

    Shapes come from one abstract evaluation (``jax.eval_shape``) of the model's own
    apply with every layer tapped (``map_layers``), so nothing runs; FLOPs are XLA's
    cost analysis of each leaf layer's own apply lowered (not run) on a batch of one
    in eval mode, and a container's are the sum of its leaves'. For a Dense layer that
    is ``2 * in * out`` for the matrix product plus ``out`` for the bias; a
    container's own combining (a residual's add) is not counted, and a recurrent
    layer (RNN, LSTM, GRU) undercounts: XLA counts the body of its loop once. A layer has
    a ``reference`` twin when its spec is not None (funcnet cannot import
    ``reference`` to ask it).

    Args:
        model: a Layer (a Sequential, or any single layer).
        input_shape: the shape of one example, no batch axis (``(784,)``).
        dtype: the input's dtype; by default the model's ``input_dtype``.

    Returns:
        A :class:`Summary`; ``print`` it for the table.

    Examples:
        >>> table = summary(Sequential([Dense(4), relu, Dense(1)]), (3,))
        >>> table.total_params
        21
        >>> [(row.path, row.output_shape, row.params) for row in table.rows]
        [('dense_0', (4,), 16), ('relu_1', (4,), 0), ('dense_2', (1,), 5)]
        >>> print(table)  # doctest: +NORMALIZE_WHITESPACE
        path     type              output shape  params  FLOPs  twin
        ------------------------------------------------------------
        dense_0  Dense             (4,)              16     28  yes
        relu_1   Activation(relu)  (4,)               0      8  yes
        dense_2  Dense             (1,)               5      9  yes
        ------------------------------------------------------------
        total                      (1,)              21     45
    """
    if not isinstance(model, Layer):
        raise TypeError(f"summary: model must be a funcnet Layer (a Sequential, a Dense, "
                        f"...), got {type(model).__name__}")
    input_shape = _check_input_shape(input_shape)
    x = jax.ShapeDtypeStruct((1, *input_shape),
                             model.input_dtype if dtype is None else jnp.dtype(dtype))
    params, state = jax.eval_shape(lambda key: model.init(key, input_shape),
                                   jax.random.key(0))
    found = {}

    def tap(path, layer):
        def apply(params, state, x, *, train=False, key=None):
            y, state = layer.apply(params, state, x, train=train, key=key)
            spec = lambda tree: jax.tree.map(  # noqa: E731
                lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree)
            found.setdefault(path, (spec(params), spec(state), spec(x), spec(y)))
            return y, state

        return dataclasses.replace(layer, apply=apply)

    y = jax.eval_shape(lambda p, s, xx: map_layers(model, tap).apply(p, s, xx)[0],
                       params, state, x)
    nodes = walk(model)
    leaves = {n.path for n in nodes if not (n.layer.children and n.layer.rebuild)}
    flops = {}
    for path in leaves & set(found):
        layer = next(n.layer for n in nodes if n.path == path)
        flops[path] = _leaf_flops(layer, *found[path][:3])
    rows = []
    for node in nodes[1:] or nodes:  # a model with no children is its own row
        under = [p for p in leaves
                 if p == node.path or p.startswith(node.path + "/") or not node.path]
        counts = [flops.get(p) for p in under]
        output = found.get(node.path)
        rows.append(Row(node.path or node.layer.name, node.path.count("/"), type_name(node.layer),
                        None if output is None else tuple(output[3].shape[1:]),
                        _size(_subtree(params, node.path)),
                        None if None in counts else sum(counts),
                        node.layer.spec is not None))
    top = [flops.get(p) for p in leaves]
    return Summary(rows, _size(params), None if None in top else sum(top),
                   tuple(y.shape[1:]))
