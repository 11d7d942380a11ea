"""Gradient-flow diagnostics: per-layer gradient norms, update ratios, activation health.

Vanishing gradients show as gradient norms falling by orders of magnitude from the
output layer to the input layer; exploding ones as norms rising. Saturated sigmoid/tanh
units and dead ReLU units (zero for every example) are the usual cause, and
:func:`activation_statistics` / :func:`dead_relu_fraction` find them.

Paths are ``jax.tree_util.keystr`` names (``"['dense_0']['w']"``), listed in layer
order: ``dense_2`` before ``dense_10`` (jax itself sorts dict keys as strings).

Two forms of each per-path measure:

* ``gradient_norms(grads) -> {path: norm}``: for printing and
  :func:`funcnet.plot.gradient_magnitudes`;
* ``gradient_norm_vector(grads) -> (norms, paths)``: a ``(paths,)`` array and the
  static list of names, usable inside ``jax.jit`` and ``lax.scan`` (stack the arrays
  over steps; :func:`parameter_paths` gives the names on the host).

Example:
    >>> model = Sequential([Dense(4), relu, Dense(1)])
    >>> params, state = model.init(jax.random.key(0), (3,))
    >>> grads = jax.grad(lambda p: jnp.sum(model.apply(p, state, jnp.ones((2, 3)))[0]))(params)
    >>> list(gradient_norms(grads, per="layer"))
    ["['dense_0']", "['dense_2']"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcnet.core import Layer, as_layer

_COMPONENT = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\.(\w+)|\[([^\]]*)\]")
_INDEXED = re.compile(r"^(.*)_(\d+)$")
PER = ("leaf", "layer")


def _component_key(text: str, index: str) -> tuple:
    if index:
        return (0, int(index), "")
    match = _INDEXED.match(text)
    return (0, int(match.group(2)), match.group(1)) if match else (1, 0, text)


def path_order_key(path: str) -> tuple:
    """Sort key putting keystr paths in layer order (``dense_2`` before ``dense_10``).

    Sequential names its children ``f"{name}_{i}"``; each such component sorts by ``i``,
    list indices by number, anything else by name.

    Example:
        >>> sorted(["['dense_10']['w']", "['batch_norm_3']['scale']", "['dense_0']['w']"],
        ...        key=path_order_key)
        ["['dense_0']['w']", "['batch_norm_3']['scale']", "['dense_10']['w']"]
    """
    return tuple(_component_key(quoted or attr or other or "", index)
                 for quoted, index, attr, other in _COMPONENT.findall(path))


def natural_order(pairs: Sequence[tuple[str, object]]) -> list[tuple[str, object]]:
    """``(path, value)`` pairs sorted into layer order by :func:`path_order_key`."""
    return sorted(pairs, key=lambda pair: path_order_key(pair[0]))


def _check_per(where: str, per: str) -> None:
    if per not in PER:
        raise ValueError(f"{where}: per must be 'leaf' (one norm per array) or 'layer' (one "
                         f"per layer, its arrays together), got {per!r}")


def _groups(where: str, tree, per: str) -> list[tuple[str, list]]:
    """``[(name, [leaves])]`` in layer order: one per leaf, or one per layer."""
    _check_per(where, per)
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    if not leaves:
        raise ValueError(f"{where}: the tree has no arrays (got "
                         f"{jax.tree_util.tree_structure(tree)})")
    groups: dict[str, list] = {}
    for path, leaf in leaves:
        owner = path if per == "leaf" else path[:-1]
        name = jax.tree_util.keystr(owner) or "<root>"
        groups.setdefault(name, []).append(leaf)
    return natural_order(list(groups.items()))


def _norm(leaves) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(jnp.square(jnp.asarray(leaf))) for leaf in leaves))


def parameter_paths(tree, *, per: str = "leaf") -> list[str]:
    """The names, in layer order, that the ``*_vector`` functions give their entries.

    Args:
        tree: params (or grads) tree; only its structure is used.
        per: ``"leaf"`` (one path per array) or ``"layer"`` (one per layer).

    Example:
        >>> parameter_paths({"dense_0": {"w": 1.0, "b": 0.0}, "dense_2": {"w": 1.0}})
        ["['dense_0']['b']", "['dense_0']['w']", "['dense_2']['w']"]
    """
    return [name for name, _ in _groups("parameter_paths", tree, per)]


def gradient_norm_vector(grads, *, per: str = "leaf") -> tuple[jax.Array, list[str]]:
    """L2 norm of every gradient array (or layer) as one array, for use inside ``jit``.

    Args:
        grads: gradient tree (same structure as params).
        per: ``"leaf"`` or ``"layer"`` (the norm of a layer's arrays together).

    Returns:
        ``(norms, paths)``: a ``(len(paths),)`` array and the names of its entries.

    Example:
        >>> @jax.jit
        ... def norms(g):
        ...     return gradient_norm_vector(g)[0]
        >>> norms({"dense_0": {"w": jnp.array([3.0, 4.0])}})
        Array([5.], dtype=float32)
    """
    groups = _groups("gradient_norm_vector", grads, per)
    return jnp.stack([_norm(leaves) for _, leaves in groups]), [name for name, _ in groups]


def gradient_norms(grads, *, per: str = "leaf") -> dict[str, jax.Array]:
    """``{path: ||grad||}`` in layer order (0-d arrays; ``float()`` them to print).

    Works under ``jit`` too, but a dict leaving ``jit`` comes back with its keys sorted
    as strings; use :func:`gradient_norm_vector` there to keep layer order.

    Args:
        grads: gradient tree.
        per: ``"leaf"`` (one norm per array) or ``"layer"`` (a layer's arrays together).

    Example:
        >>> gradient_norms({"dense_0": {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(2)}})
        {"['dense_0']['b']": Array(0., dtype=float32), "['dense_0']['w']": Array(5., dtype=float32)}
    """
    return {name: _norm(leaves) for name, leaves in _groups("gradient_norms", grads, per)}


def update_ratio_vector(updates, params, *, per: str = "leaf") -> tuple[jax.Array, list[str]]:
    """``||update|| / ||param||`` per array (or layer) as one array, for use inside ``jit``.

    A healthy step moves weights by about ``1e-3`` of their size; far above means the
    learning rate is too high, far below that the layer barely learns. A parameter of
    norm 0 gives ``inf`` (or 0 when its update is 0 too).

    Args:
        updates: the optimizer's updates (``params_new - params``), params' structure.
        params: the params before the update.
        per: ``"leaf"`` or ``"layer"``.

    Returns:
        ``(ratios, paths)``.

    Example:
        >>> update_ratio_vector({"w": jnp.array([0.003, 0.004])}, {"w": jnp.array([3.0, 4.0])})[0]
        Array([0.001], dtype=float32)
    """
    where = "update_ratio_vector"
    if jax.tree_util.tree_structure(updates) != jax.tree_util.tree_structure(params):
        raise ValueError(f"{where}: updates and params must have the same tree structure, got "
                         f"{jax.tree_util.tree_structure(updates)} and "
                         f"{jax.tree_util.tree_structure(params)}")
    update_groups = _groups(where, updates, per)
    param_groups = dict(_groups(where, params, per))
    ratios = []
    for name, leaves in update_groups:
        u, p = _norm(leaves), _norm(param_groups[name])
        ratios.append(jnp.where(p > 0, u / jnp.where(p > 0, p, 1),
                                jnp.where(u > 0, jnp.inf, 0.0)))
    return jnp.stack(ratios), [name for name, _ in update_groups]


def update_ratios(updates, params, *, per: str = "leaf") -> dict[str, jax.Array]:
    """``{path: ||update|| / ||param||}`` in layer order; see :func:`update_ratio_vector`.

    Example:
        >>> update_ratios({"w": jnp.array([0.003, 0.004])}, {"w": jnp.array([3.0, 4.0])})
        {"['w']": Array(0.001, dtype=float32)}
    """
    ratios, names = update_ratio_vector(updates, params, per=per)
    return {name: ratios[i] for i, name in enumerate(names)}


def gradient_ratio(norms: Mapping) -> float:
    """The seeds' "gradient ratio": first (input-side) norm over last (output-side) norm.

    Far below 1 means vanishing gradients, far above 1 exploding ones.

    Args:
        norms: ``{path: norm}`` in layer order, input first (from :func:`gradient_norms`).

    Example:
        >>> gradient_ratio({"['dense_0']['w']": 1e-6, "['dense_2']['w']": 0.5})
        2e-06
    """
    if not isinstance(norms, Mapping) or len(norms) < 2:
        raise ValueError(f"gradient_ratio: norms must be a dict of at least two layers, got "
                         f"{norms!r}")
    values = [float(v) for v in norms.values()]
    if values[-1] == 0:
        raise ValueError(f"gradient_ratio: the last layer's norm is 0 (no gradient reaches "
                         f"{list(norms)[-1]}), so the ratio is undefined")
    return values[0] / values[-1]


def _children(where: str, model) -> list[tuple[str, Layer]]:
    """The named children of a container (``model.children``, or a list of layers)."""
    if isinstance(model, (list, tuple)):
        if not model:
            raise ValueError(f"{where}: the list of layers is empty")
        layers = [as_layer(layer) for layer in model]
        return [(f"{layer.name}_{i}", layer) for i, layer in enumerate(layers)]
    if not isinstance(model, Layer):
        raise TypeError(f"{where}: model must be a Layer or the list of layers given to "
                        f"Sequential, got {type(model).__name__}")
    return [(str(name), as_layer(child)) for name, child in model.children]


def _run(where: str, model, params, state, x, train, key, found, prefix=""):
    """Apply ``model`` layer by layer, appending ``(path, layer, output)`` to ``found``.

    Children run in order with one split of ``key`` each, exactly as Sequential's apply.
    """
    children = _children(where, model)
    if not children:
        y, _ = model.apply(params, state, x, train=train, key=key)
        found.append((prefix or model.name, model, y))
        return y
    keys = [None] * len(children) if key is None else jax.random.split(key, len(children))
    for child_key, (name, child) in zip(keys, children, strict=True):
        for tree, what in ((params, "params"), (state, "state")):
            if not isinstance(tree, Mapping) or name not in tree:
                got = sorted(tree) if isinstance(tree, Mapping) else type(tree).__name__
                raise ValueError(f"{where}: {what} must have the key {name!r} (as "
                                 f"Sequential.init made it), got {got}")
        path = f"{prefix}/{name}" if prefix else name
        if child.children:
            x = _run(where, child, params[name], state[name], x, train, child_key, found, path)
        else:
            x, _ = child.apply(params[name], state[name], x, train=train, key=child_key)
            found.append((path, child, x))
    return x


def _walk(where: str, model, params, state, x, train, key):
    """``[(path, layer, output)]`` for every leaf layer, computed in one compiled call."""
    found = []

    def outputs(params, state, x, key):
        found.clear()
        _run(where, model, params, state, x, train, key, found)
        return [y for _, _, y in found]

    values = jax.jit(outputs)(params, state, x, key)
    return [(path, layer, y) for (path, layer, _), y in zip(found, values, strict=True)]


def activations(model, params, state, x, *, train: bool = False, key=None) -> dict:
    """The output of every layer of a Sequential on ``x``, keyed by layer path.

    Runs the layers one by one exactly as the Sequential's ``apply`` does (same dropout
    key split), so the last entry is the model's output. Nested Sequentials are
    entered (``"sequential_1/dense_0"``); other layers (Residual, ...) count as one.

    Args:
        model: a Sequential (or any Layer; one without ``children`` gives one entry),
            or the list of layers given to Sequential.
        params: the Sequential's params (keys ``"dense_0"``, ...).
        state: its state.
        x: ``(N, ...)`` input batch.
        train: training mode.
        key: the key ``apply`` would get (Dropout in training).

    Returns:
        ``{path: (N, ...) array}`` in layer order.

    Example:
        >>> model = Sequential([Dense(4), relu, Dense(1)])
        >>> params, state = model.init(jax.random.key(0), (3,))
        >>> {k: v.shape for k, v in activations(model, params, state, jnp.ones((2, 3))).items()}
        {'dense_0': (2, 4), 'relu_1': (2, 4), 'dense_2': (2, 1)}
    """
    return {path: y for path, _, y in _walk("activations", model, params, state, x, train, key)}


class ActivationStats(NamedTuple):
    """Summary of one layer's outputs over a batch.

    Attributes:
        mean: mean output.
        std: standard deviation of the outputs.
        fraction_zero: fraction of outputs exactly 0.
        fraction_saturated: sigmoid: fraction below ``1 - s`` or above ``s``; tanh:
            fraction with ``|a| > s`` (``s`` the saturation threshold); ``None`` for
            other layers.
    """

    mean: float
    std: float
    fraction_zero: float
    fraction_saturated: float | None


def _activation_name(layer: Layer) -> str | None:
    spec = layer.spec
    if isinstance(spec, dict) and spec.get("type") == "Activation":
        return spec.get("name")
    return None


def activation_statistics(model, params, state, x, *, train: bool = False, key=None,
                          saturation: float = 0.99) -> dict[str, ActivationStats]:
    """Mean, std, zero fraction and (sigmoid/tanh) saturated fraction of every layer's output.

    A saturated unit passes almost no gradient (sigmoid' < 0.01 beyond 0.99); a layer
    whose outputs are mostly saturated is where gradients vanish.

    Args:
        model, params, state, x, train, key: as for :func:`activations`.
        saturation: threshold ``s`` in (0.5, 1) for sigmoid (and (0, 1) for tanh).

    Returns:
        ``{path: ActivationStats}`` in layer order.

    Example:
        >>> layers = [Dense(4), tanh]
        >>> params, state = Sequential(layers).init(jax.random.key(0), (3,))
        >>> stats = activation_statistics(layers, params, state, 100 * jnp.ones((2, 3)))
        >>> stats["tanh_1"].fraction_saturated
        1.0
    """
    where = "activation_statistics"
    if not 0.5 < saturation < 1:
        raise ValueError(f"{where}: saturation must be in (0.5, 1), got {saturation!r}")
    stats = {}
    for path, layer, y in _walk(where, model, params, state, x, train, key):
        y = np.asarray(y, dtype=np.float64)
        name = _activation_name(layer)
        if name == "sigmoid":
            saturated = float(np.mean((y < 1 - saturation) | (y > saturation)))
        elif name == "tanh":
            saturated = float(np.mean(np.abs(y) > saturation))
        else:
            saturated = None
        stats[path] = ActivationStats(float(np.mean(y)), float(np.std(y)),
                                      float(np.mean(y == 0)), saturated)
    return stats


def dead_relu_fraction(model, params, state, x, *, train: bool = False,
                       key=None) -> dict[str, float]:
    """Fraction of each ReLU layer's units that output 0 for every example of the batch.

    A unit is one entry of the layer's output beyond the batch axis (a feature of a
    dense layer; a position and channel of a conv layer). A dead unit passes no
    gradient, so it never recovers.

    Args:
        model, params, state, x, train, key: as for :func:`activations`.

    Returns:
        ``{path: fraction}`` for every ReLU layer, in layer order.

    Example:
        >>> layers = [Dense(4), relu]
        >>> params, state = Sequential(layers).init(jax.random.key(0), (3,))
        >>> dead_relu_fraction(layers, params, state, jnp.zeros((5, 3)))
        {'relu_1': 1.0}
    """
    dead = {}
    for path, layer, y in _walk("dead_relu_fraction", model, params, state, x, train, key):
        if _activation_name(layer) == "relu":
            y = np.asarray(y)
            dead[path] = float(np.mean(np.all(y.reshape(y.shape[0], -1) == 0, axis=0)))
    return dead


__all__ = [
    "PER",
    "ActivationStats",
    "activation_statistics",
    "activations",
    "dead_relu_fraction",
    "gradient_norm_vector",
    "gradient_norms",
    "gradient_ratio",
    "natural_order",
    "parameter_paths",
    "path_order_key",
    "update_ratio_vector",
    "update_ratios",
]
