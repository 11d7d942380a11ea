"""Rebuild a whole network from a funcnet model's plain description (``model.spec``).

    net = reference.build(model.spec)
    y, new_state, cache = net.forward(params, x, state=state, train=False)
    dx, dparams = net.backward(dy, cache)

``params`` and ``state`` are exactly what funcnet init produced (``np.asarray`` on the
leaves is optional: every layer converts). ``dparams`` comes back in the same tree
structure as ``params``, with ``{}`` for a parameter-free layer.

Adapter interface (how a layer type gets a NumPy twin)
------------------------------------------------------
``REGISTRY`` maps a spec's ``"type"`` to a builder::

    builder(spec: dict, path: str) -> Module

``spec`` is the layer's own description (hyperparameters flat in the dict, e.g.
``{"type": "Dense", "features": 8, "use_bias": True}``) and ``path`` its place in the
model, the params keys joined by ``"/"`` (``"sequential_1/dropout_2"``; ``""`` for a
model that is a single layer). The builder validates the hyperparameters and returns a
:class:`Module` of two plain functions (no arrays are held between calls)::

    forward(params, state, x, ctx) -> (y, new_state, cache)
    backward(dy, cache) -> (dx, dparams)

* ``params``: this layer's subtree of the params tree; ``dparams`` must have the same
  structure (``{}`` when there are no parameters).
* ``state``: this layer's subtree of the state tree, or ``None`` when the caller gave no
  state; ``new_state`` has the structure funcnet's ``apply`` returns (``{}`` for a
  stateless layer). A layer that needs state (BatchNorm) raises when it gets ``None``.
* ``ctx``: a :class:`Context` with ``ctx.train`` (bool) and ``ctx.extra(path, what)``,
  which returns the caller's extra input for the layer at ``path`` (``extras[path]``)
  or raises a ValueError naming the path. Extras carry what NumPy cannot reproduce:
  a Dropout twin takes its mask this way (jax.random cannot be replayed in NumPy).
* Composite layers (Sequential, Residual) build their children with
  :func:`build_module` ``(child_spec, join(path, child_key))`` and list them in
  ``Module.children`` so that :attr:`Network.paths` sees them.

Registering ``REGISTRY["Flatten"] = my_builder`` in the module that defines the twin is
all it takes (``reference/__init__.py`` imports the twin modules so they register);
:func:`build` then handles the type anywhere in a model. Builders share these helpers:
``join(path, key)``, ``_where(spec, path)`` (the layer's name in messages),
``_check_hyperparameters(spec, path, allowed)`` (unknown spec entries raise TypeError)
and ``_require_empty(where, name, tree)`` (params/state must be ``{}`` or ``None``).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from reference import activations as _activations
from reference import dense as _dense_pair
from reference import losses as _losses


@dataclasses.dataclass(frozen=True)
class Context:
    """What every layer's forward sees besides params, state and x.

    Attributes:
        train: training mode (Dropout drops, BatchNorm uses batch statistics).
        extras: extra inputs keyed by layer path (``{"dropout_1": mask}``).
    """

    train: bool = False
    extras: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def extra(self, path: str, what: str):
        """Return ``extras[path]``, or raise a ValueError saying ``what`` is missing."""
        if path not in self.extras:
            raise ValueError(
                f"layer {path!r} needs {what}: pass extras={{{path!r}: ...}} to forward "
                f"(got extras for {sorted(self.extras)})"
            )
        return self.extras[path]


@dataclasses.dataclass(frozen=True)
class Module:
    """One layer's NumPy twin: ``forward``/``backward`` plus where it sits.

    Attributes:
        forward: ``forward(params, state, x, ctx) -> (y, new_state, cache)``.
        backward: ``backward(dy, cache) -> (dx, dparams)``.
        path: the layer's params keys joined by ``"/"``.
        spec: the layer's plain description.
        children: sub-layers of a composite layer (Sequential, Residual).
    """

    forward: Callable
    backward: Callable
    path: str
    spec: dict
    children: tuple = ()


REGISTRY: dict[str, Callable[[dict, str], Module]] = {}


def join(path: str, key: str) -> str:
    """The path of child ``key`` of the layer at ``path``: ``"a/b"`` (``"b"`` at the root)."""
    return f"{path}/{key}" if path else key


def _where(spec: dict, path: str) -> str:
    return f"{spec.get('type', 'layer')} at {path!r}" if path else str(spec.get("type"))


def build_module(spec, path: str = "") -> Module:
    """Build the :class:`Module` for ``spec`` at ``path`` using :data:`REGISTRY`.

    Raises:
        TypeError: if ``spec`` is not a dict (``None`` means a layer with no twin).
        ValueError: if ``spec["type"]`` has no entry in :data:`REGISTRY`.
    """
    if spec is None:
        raise TypeError(
            f"reference.build: the layer at {path!r} has spec None: it is a user-written "
            f"layer with no reference twin; register a builder in reference.network.REGISTRY "
            f"and give the layer a spec"
        )
    if not isinstance(spec, dict) or "type" not in spec:
        raise TypeError(
            f"reference.build: a layer spec must be a dict with a 'type' entry, got "
            f"{spec!r} at {path!r}"
        )
    layer_type = spec["type"]
    if layer_type not in REGISTRY:
        raise ValueError(
            f"reference.build: unknown layer type {layer_type!r} at {path!r}; known types: "
            f"{sorted(REGISTRY)}; add its twin to reference.network.REGISTRY"
        )
    return REGISTRY[layer_type](spec, path)


def _check_hyperparameters(spec: dict, path: str, allowed: set) -> None:
    unknown = set(spec) - allowed - {"type"}
    if unknown:
        raise TypeError(f"{_where(spec, path)}: unexpected spec entries {sorted(unknown)}; "
                        f"expected {sorted(allowed)}")


def _require_empty(where: str, name: str, tree) -> None:
    if tree is not None and tree != {}:
        raise ValueError(f"{where}: expected {name} {{}} (the layer has none), got {tree!r}")


def _sequential(spec: dict, path: str) -> Module:
    _check_hyperparameters(spec, path, {"keys", "layers"})
    keys, specs = spec.get("keys"), spec.get("layers")
    if not isinstance(keys, list) or not isinstance(specs, list) or len(keys) != len(specs):
        raise ValueError(f"{_where(spec, path)}: spec needs 'keys' and 'layers' lists of the "
                         f"same length, got keys={keys!r} and {type(specs).__name__} layers")
    if not keys or len(set(keys)) != len(keys) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{_where(spec, path)}: keys must be unique strings, got {keys!r}")
    children = tuple(build_module(s, join(path, k)) for k, s in zip(keys, specs, strict=True))
    where = _where(spec, path)

    def subtree(tree, name):
        if not isinstance(tree, Mapping) or set(tree) != set(keys):
            got = sorted(tree) if isinstance(tree, Mapping) else type(tree).__name__
            raise ValueError(f"{where}: {name} must be a dict with keys {keys} (as funcnet "
                             f"init made it), got {got}")
        return tree

    def forward(params, state, x, ctx):
        params = subtree(params, "params")
        state = None if state is None else subtree(state, "state")
        new_state, caches = {}, []
        for key, child in zip(keys, children, strict=True):
            child_state = None if state is None else state[key]
            x, new_state[key], cache = child.forward(params[key], child_state, x, ctx)
            caches.append(cache)
        return x, new_state, caches

    def backward(dy, caches):
        dparams = {}
        for key, child, cache in reversed(list(zip(keys, children, caches, strict=True))):
            dy, dparams[key] = child.backward(dy, cache)
        return dy, {key: dparams[key] for key in keys}

    return Module(forward, backward, path, spec, children)


def _dense(spec: dict, path: str) -> Module:
    _check_hyperparameters(spec, path, {"features", "use_bias"})
    where = _where(spec, path)
    features, use_bias = spec.get("features"), spec.get("use_bias", True)
    if isinstance(features, bool) or not isinstance(features, numbers.Integral) or features <= 0:
        raise ValueError(f"{where}: features must be a positive integer, got {features!r}")
    if not isinstance(use_bias, bool):
        raise TypeError(f"{where}: use_bias must be True or False, got {use_bias!r}")

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        if not isinstance(params, Mapping) or set(params) != ({"w", "b"} if use_bias else {"w"}):
            got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(f"{where}: params must have keys {['b', 'w'] if use_bias else ['w']}"
                             f" (use_bias={use_bias}), got {got}")
        if np.shape(params["w"])[-1:] != (features,):
            raise ValueError(f"{where}: params['w'] must have shape (in, {features}), got "
                             f"{np.shape(params['w'])}")
        y, cache = _dense_pair.dense_forward(dict(params), x)
        return y, {}, cache

    def backward(dy, cache):
        return _dense_pair.dense_backward(dy, cache)

    return Module(forward, backward, path, spec)


_ACTIVATION_HYPERPARAMETERS = {"leaky_relu": {"negative_slope"}, "softmax": {"axis"},
                               "log_softmax": {"axis"}}


def _activation(spec: dict, path: str) -> Module:
    name = spec.get("name")
    if name not in _activations.ACTIVATIONS:
        raise ValueError(f"{_where(spec, path)}: unknown activation {name!r}; expected one of "
                         f"{sorted(_activations.ACTIVATIONS)}")
    allowed = _ACTIVATION_HYPERPARAMETERS.get(name, set())
    _check_hyperparameters(spec, path, {"name"} | allowed)
    hyperparameters = {k: spec[k] for k in allowed if k in spec}
    pair = _activations.ACTIVATIONS[name]
    where = _where(spec, path)

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "params", params)
        _require_empty(where, "state", state)
        y, cache = pair.forward(x, **hyperparameters)
        return y, {}, cache

    def backward(dy, cache):
        return pair.backward(dy, cache), {}

    return Module(forward, backward, path, spec)


REGISTRY.update({"Sequential": _sequential, "Dense": _dense, "Activation": _activation})


def _walk(module: Module):
    yield module
    for child in module.children:
        yield from _walk(child)


@dataclasses.dataclass(frozen=True)
class Network:
    """A whole model's NumPy twin, built by :func:`build`.

    Attributes:
        spec: the model's plain description.
        root: the :class:`Module` of the outermost layer.
        paths: the path of every layer, outermost first (keys of ``extras``).
    """

    spec: dict
    root: Module
    paths: tuple

    def forward(self, params, x, state=None, train: bool = False, extras=None):
        """y = model(x), keeping what backward needs.

        Args:
            params: the model's params tree (from funcnet init).
            x: ``(N, ...)`` input batch.
            state: the model's state tree, or ``None`` for a model without state.
            train: training mode.
            extras: extra inputs keyed by layer path (dropout masks).

        Returns:
            ``(y, new_state, cache)``.
        """
        extras = {} if extras is None else extras
        if not isinstance(extras, Mapping):
            raise TypeError(f"Network.forward: extras must be a dict keyed by layer path, got "
                            f"{type(extras).__name__}")
        unknown = set(extras) - set(self.paths)
        if unknown:
            raise ValueError(f"Network.forward: extras has keys {sorted(unknown)} that name no "
                             f"layer; layer paths are {list(self.paths)}")
        if not isinstance(train, bool):
            raise TypeError(f"Network.forward: train must be True or False, got {train!r}")
        return self.root.forward(params, state, x, Context(train=train, extras=extras))

    def backward(self, dy, cache):
        """Chain rule from the output back: returns ``(dx, dparams)``, dparams shaped like params.

        Args:
            dy: gradient with respect to the output ``y`` (same shape as ``y``).
            cache: from :meth:`forward`.
        """
        return self.root.backward(dy, cache)


def build(spec) -> Network:
    """Rebuild the network a funcnet model describes, as NumPy forward/backward.

    Args:
        spec: ``model.spec``, e.g. ``{"type": "Sequential", "keys": ["dense_0", ...],
            "layers": [{"type": "Dense", "features": 4, "use_bias": True}, ...]}``.

    Returns:
        A :class:`Network`.

    Example:
        >>> spec = {"type": "Sequential", "keys": ["dense_0", "tanh_1"],
        ...         "layers": [{"type": "Dense", "features": 2, "use_bias": True},
        ...                    {"type": "Activation", "name": "tanh"}]}
        >>> params = {"dense_0": {"w": np.ones((3, 2)), "b": np.zeros(2)}, "tanh_1": {}}
        >>> net = build(spec)
        >>> y, state, cache = net.forward(params, np.zeros((5, 3)))
        >>> dx, dparams = net.backward(np.ones_like(y), cache)
        >>> {k: sorted(v) for k, v in dparams.items()}
        {'dense_0': ['b', 'w'], 'tanh_1': []}
    """
    root = build_module(spec, "")
    return Network(spec, root, tuple(m.path for m in _walk(root)))


def value_and_grad(spec, params, x, targets, loss: str, *, state=None, train: bool = False,
                   extras=None, reduction: str = "mean"):
    """The loss of a model on a batch and its gradients with respect to params and x.

    Args:
        spec: ``model.spec`` (or a :class:`Network` from :func:`build`).
        params: the model's params tree.
        x: ``(N, ...)`` input batch.
        targets: what the loss compares the output with (labels, targets).
        loss: a loss name from ``reference.losses.LOSSES`` (``"mse"``, ...).
        state: the model's state tree, or ``None``.
        train: training mode.
        extras: extra inputs keyed by layer path (dropout masks).
        reduction: ``"mean"`` or ``"sum"`` over the batch.

    Returns:
        ``(loss_value, dparams, dx)``: dparams shaped like params, dx like x.

    Example:
        >>> spec = {"type": "Dense", "features": 1, "use_bias": True}
        >>> params = {"w": np.ones((2, 1)), "b": np.zeros(1)}
        >>> value, dparams, dx = value_and_grad(spec, params, np.ones((4, 2)),
        ...                                     np.zeros((4, 1)), "mse")
        >>> float(value), dparams["b"]
        (4.0, array([4.]))
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"value_and_grad: reduction must be 'mean' or 'sum' (a scalar loss), "
                         f"got {reduction!r}")
    net = spec if isinstance(spec, Network) else build(spec)
    forward_loss, backward_loss = _losses.get(loss)
    y, _, cache = net.forward(params, x, state=state, train=train, extras=extras)
    value, loss_cache = forward_loss(y, targets, reduction)
    dy = backward_loss(np.ones((), dtype=y.dtype), loss_cache)
    dx, dparams = net.backward(dy, cache)
    return value, dparams, dx
