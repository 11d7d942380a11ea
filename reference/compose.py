"""Composition: rebuild a whole network from a funcnet model's description (``model.spec``).

    net = reference.build(model.spec)
    y, new_state, cache = net.forward(params, x, state=state, train=False)
    dx, dparams = net.backward(dy, cache)

``params`` and ``state`` are exactly what funcnet init produced (``np.asarray`` on the
leaves is optional: every layer converts). ``dparams`` comes back in the same tree
structure as ``params``, with ``{}`` for a parameter-free layer.

Adapter interface (how a layer type gets a NumPy twin)
------------------------------------------------------
:data:`REGISTRY` maps a spec's ``"type"`` to a builder::

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
* Composite layers (Sequential, Residual, here) build their children with
  :func:`build_module` ``(child_spec, join(path, child_key))`` and list them in
  ``Module.children`` so that :attr:`Network.paths` sees them.

The leaf builders live in ``reference.modules`` and ``reference.sequence_modules``. A
new type is one more entry,
``reference.REGISTRY["Scale"] = build_scale`` (the same dict as this module's
:data:`REGISTRY`); :func:`build` then handles the type anywhere in a model. Builders
share the helpers of ``reference._module``: ``join(path, key)``, ``_where(spec, path)``
(the layer's name in messages), ``_check_hyperparameters(spec, path, allowed)``
(unknown spec entries raise TypeError) and ``_require_empty(where, name, tree)``
(params/state must be ``{}`` or ``None``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from reference import losses, modules, sequence_modules
from reference._module import Context, Module, _check_hyperparameters, _where, join
from reference.residual import residual_backward, residual_forward

__all__ = ["REGISTRY", "Context", "Module", "Network", "build", "build_module", "join",
           "residual", "sequential", "value_and_grad"]


def build_module(spec, path: str = "") -> Module:
    """Build the :class:`Module` for ``spec`` at ``path`` using :data:`REGISTRY`.

    Raises:
        TypeError: if ``spec`` is not a dict (``None`` means a layer with no twin).
        ValueError: if ``spec["type"]`` has no entry in :data:`REGISTRY`.

    Examples:
        >>> module = build_module({"type": "Activation", "name": "tanh"}, "tanh_1")
        >>> module.path, module.children
        ('tanh_1', ())
    """
    if spec is None:
        raise TypeError(
            f"reference.build: the layer at {path!r} has spec None: it is a user-written "
            f"layer with no reference twin; register a builder in reference.REGISTRY "
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
            f"{sorted(REGISTRY)}; add its twin to reference.REGISTRY"
        )
    return REGISTRY[layer_type](spec, path)


def _subtree(where: str, tree, name: str, keys: list):
    """``tree`` after checking it is a dict with exactly ``keys`` (as funcnet init made it)."""
    if not isinstance(tree, Mapping) or set(tree) != set(keys):
        got = sorted(tree) if isinstance(tree, Mapping) else type(tree).__name__
        raise ValueError(f"{where}: {name} must be a dict with keys {keys} (as funcnet "
                         f"init made it), got {got}")
    return tree


def sequential(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Sequential``: each child's forward in order, backward reversed.

    Examples:
        >>> spec = {"type": "Sequential", "keys": ["dense_0", "relu_1"],
        ...         "layers": [{"type": "Dense", "features": 2}, {"type": "Activation",
        ...                                                       "name": "relu"}]}
        >>> [child.path for child in sequential(spec, "").children]
        ['dense_0', 'relu_1']
    """
    _check_hyperparameters(spec, path, {"keys", "layers"})
    keys, specs = spec.get("keys"), spec.get("layers")
    if not isinstance(keys, list) or not isinstance(specs, list) or len(keys) != len(specs):
        raise ValueError(f"{_where(spec, path)}: spec needs 'keys' and 'layers' lists of the "
                         f"same length, got keys={keys!r} and {type(specs).__name__} layers")
    if not keys or len(set(keys)) != len(keys) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{_where(spec, path)}: keys must be unique strings, got {keys!r}")
    children = tuple(build_module(s, join(path, k)) for k, s in zip(keys, specs, strict=True))
    where = _where(spec, path)

    def forward(params, state, x, ctx):
        params = _subtree(where, params, "params", keys)
        state = None if state is None else _subtree(where, state, "state", keys)
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


def residual(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Residual``: the block ``F`` around :mod:`reference.residual`'s pair.

    Y = X + F(X);  dX = dY + F'(X)^T dY;  dparams = the block's, under ``"block"``.

    Examples:
        >>> spec = {"type": "Residual", "block": {"type": "Activation", "name": "relu"}}
        >>> module = residual(spec, "residual_0")
        >>> module.children[0].path
        'residual_0/block'
        >>> y, state, cache = module.forward({"block": {}}, None, np.array([[-1.0, 2.0]]),
        ...                                  Context())
        >>> y, module.backward(np.ones((1, 2)), cache)
        (array([[-1.,  4.]]), (array([[1., 2.]]), {'block': {}}))
    """
    _check_hyperparameters(spec, path, {"block"})
    where = _where(spec, path)
    block = build_module(spec.get("block"), join(path, "block"))

    def block_subtree(tree, name):
        if not isinstance(tree, Mapping) or set(tree) != {"block"}:
            got = sorted(tree) if isinstance(tree, Mapping) else type(tree).__name__
            raise ValueError(f"{where}: {name} must be {{'block': ...}} (as funcnet init "
                             f"made it), got {got}")
        return tree["block"]

    def forward(params, state, x, ctx):
        block_state = None if state is None else block_subtree(state, "state")
        fx, new_block_state, block_cache = block.forward(block_subtree(params, "params"),
                                                         block_state, x, ctx)
        y, cache = residual_forward(x, fx)
        return y, {"block": new_block_state}, (block_cache, cache)

    def backward(dy, caches):
        block_cache, cache = caches
        dx_skip, dfx = residual_backward(dy, cache)
        dx_block, dparams = block.backward(dfx, block_cache)
        return dx_skip + dx_block, {"block": dparams}

    return Module(forward, backward, path, spec, (block,))


# Every layer type reference.build knows, by the spec's "type". Add a type by adding an
# entry (reference.REGISTRY is this dict): REGISTRY["Scale"] = build_scale.
REGISTRY: dict[str, Callable[[dict, str], Module]] = {
    "Sequential": sequential,
    "Residual": residual,
    "Dense": modules.dense,
    "Activation": modules.activation,
    "Conv2D": modules.conv2d,
    "MaxPool2D": modules.max_pool2d,
    "AvgPool2D": modules.avg_pool2d,
    "Flatten": modules.flatten,
    "GlobalAvgPool": modules.global_avg_pool,
    "Dropout": modules.dropout,
    "BatchNorm": modules.batchnorm,
    "RNN": sequence_modules.recurrent,
    "LSTM": sequence_modules.recurrent,
    "GRU": sequence_modules.recurrent,
    "LayerNorm": sequence_modules.layernorm,
    "RMSNorm": sequence_modules.rmsnorm,
    "Embedding": sequence_modules.embedding,
    "PositionalEmbedding": sequence_modules.positional_embedding,
    "MultiHeadAttention": sequence_modules.multi_head_attention,
}


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

    Examples:
        >>> net = build({"type": "Dense", "features": 1, "use_bias": False})
        >>> y, state, cache = net.forward({"w": np.full((2, 1), 3.0)}, np.ones((1, 2)))
        >>> y, net.backward(np.ones_like(y), cache)[1]
        (array([[6.]]), {'w': array([[1.],
               [1.]])})
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

        ``dx`` is ``None`` for a model whose input is integer ids (it starts with an
        Embedding): ids have no gradient.

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

    Examples:
        >>> spec = {"type": "Sequential", "keys": ["dense_0", "tanh_1"],
        ...         "layers": [{"type": "Dense", "features": 2, "use_bias": True},
        ...                    {"type": "Activation", "name": "tanh"}]}
        >>> params = {"dense_0": {"w": np.ones((3, 2)), "b": np.zeros(2)}, "tanh_1": {}}
        >>> net = build(spec)
        >>> net.paths
        ('', 'dense_0', 'tanh_1')
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
        ``(loss_value, dparams, dx)``: dparams shaped like params, dx like x (``None``
        when x is integer ids).

    Examples:
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
    forward_loss, backward_loss = losses.get(loss)
    y, _, cache = net.forward(params, x, state=state, train=train, extras=extras)
    value, loss_cache = forward_loss(y, targets, reduction)
    dy = backward_loss(np.ones((), dtype=y.dtype), loss_cache)
    dx, dparams = net.backward(dy, cache)
    return value, dparams, dx
