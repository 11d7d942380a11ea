"""The layer contract: a layer is two pure functions and a plain description.

A layer is a :class:`Layer` holding

* ``init(key, input_shape) -> (params, state)``: ``input_shape`` is the shape of one
  example, without the batch axis (``(784,)`` or ``(28, 28, 1)``);
* ``apply(params, state, x, *, train=False, key=None) -> (y, state)``: ``x`` has a
  leading batch axis ``(N, *input_shape)``;
* ``spec``: a plain-Python dict (no arrays, no jax objects) naming the layer type and
  its hyperparameters, from which ``reference`` rebuilds the same network; ``None`` for
  a user-written layer with no NumPy twin.

``params`` holds what gradients train, ``state`` what they do not (BatchNorm running
statistics): plain pytrees (dicts of arrays), ``{}`` for a layer with neither.

Writing a new layer is writing those two functions::

    def scale_init(key, input_shape):
        return {"s": jnp.ones(input_shape[-1:])}, {}

    def scale_apply(params, state, x, *, train=False, key=None):
        return x * params["s"], state

    Scale = Layer(scale_init, scale_apply, name="scale")
    model = Sequential([Dense(8), Scale, relu, Dense(1)])
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from funcnet import _checks
from funcnet import activations as _activations

Params = Any
State = Any


@dataclasses.dataclass(frozen=True, repr=False)
class Layer:
    """A layer: ``init``, ``apply``, an optional plain description ``spec``, and what
    the rest of the library needs to know about it, declared rather than guessed.

    Attributes:
        init: ``init(key, input_shape) -> (params, state)``.
        apply: ``apply(params, state, x, *, train=False, key=None) -> (y, state)``.
        name: short lowercase name; a Sequential names its children ``f"{name}_{i}"``.
        spec: plain-Python description for the ``reference`` twin, or ``None``.
        children: ``((key, Layer), ...)`` for a container (Sequential, Residual), in
            order; empty for a leaf layer. :func:`walk` visits them.
        split_key: for a container, whether its children get one split of its key each
            (Sequential) or all the key itself (Residual's single block).
        needs_key: whether ``apply(..., train=True)`` reads ``key``. True unless the
            layer says otherwise, so a user-written layer always gets one; a container
            needs one when a child does, and splits none when no child does.
        scan_friendly: whether XLA:CPU runs the layer at full speed inside a compiled
            loop (``lax.scan``); ``fit(mode="auto")`` trains step by step on the CPU
            when a layer is not.
        rebuild: for a container, ``rebuild(children) -> Layer``, the same container
            around other children (``map_layers`` uses it); ``None`` for a leaf.
        input_dtype: the dtype :func:`output_shape` feeds the layer when it finds the
            output shape abstractly (``Sequential.init`` does, knowing only shapes):
            float32, or an integer dtype for a layer that reads ids (``Embedding``); a
            Sequential takes its first child's.
        check_input: ``check_input(where, x)``, a check of the values of a concrete
            input that the layer's ``apply`` cannot read inside a compiled step (ids in
            range for an ``Embedding``); ``fit``, ``evaluate`` and ``predict`` run the
            model's on their data before compiling. A container takes its first
            child's, the layer that sees the raw input; ``None`` checks nothing.

    Examples:
        >>> layer = Dense(3)
        >>> params, state = layer.init(jax.random.key(0), (2,))
        >>> jax.tree.map(jnp.shape, params)
        {'b': (3,), 'w': (2, 3)}
    """

    init: Callable
    apply: Callable
    name: str = "layer"
    spec: dict | None = None
    children: tuple = ()
    split_key: bool = True
    needs_key: bool = True
    scan_friendly: bool = True
    rebuild: Callable | None = dataclasses.field(default=None, repr=False)
    input_dtype: Any = jnp.float32
    check_input: Callable | None = dataclasses.field(default=None, repr=False)

    def __call__(self, params, state, x, *, train: bool = False, key=None):
        """Same as ``self.apply``."""
        return self.apply(params, state, x, train=train, key=key)

    def __repr__(self) -> str:
        """The layer's type and hyperparameters from its spec, children indented below.

        Examples:
            >>> print(Sequential([Dense(4), relu]))
            Sequential(
              dense_0: Dense(features=4, use_bias=True),
              relu_1: Activation(relu),
            )
            >>> Layer(lambda key, shape: ({}, {}), lambda p, s, x, **kw: (x, s), name="scale")
            Layer(name='scale')
        """
        return _describe(self, "")


def type_name(layer: Layer) -> str:
    """What kind of layer ``layer`` is: its spec's type (``"Dense"``,
    ``"Activation(relu)"``), else ``"Sequential"`` for a Sequential, else its name."""
    spec = layer.spec
    if isinstance(spec, dict) and "type" in spec:
        if spec["type"] == "Activation":
            return f"Activation({spec.get('name')})"
        return str(spec["type"])
    if layer.rebuild is Sequential:
        return "Sequential"
    return layer.name


def _is_child_spec(value) -> bool:
    """Whether a spec entry describes child layers (their specs or their keys), shown
    as the children themselves rather than as a hyperparameter."""
    if isinstance(value, dict):
        return "type" in value
    return isinstance(value, list) and any(isinstance(v, dict) for v in value)


def _describe(layer: Layer, indent: str) -> str:
    """``repr(layer)`` with its children's lines indented by ``indent`` and more."""
    spec = layer.spec
    if isinstance(spec, dict) and "type" in spec:
        hyper = {k: v for k, v in spec.items() if k != "type" and not _is_child_spec(v)
                 and not (layer.children and k == "keys")}
        words = [f"{k}={v!r}" for k, v in hyper.items()]
        if spec["type"] == "Activation":
            words = [str(hyper.pop("name", "?"))] + [f"{k}={v!r}" for k, v in hyper.items()]
        head = f"{spec['type']}({', '.join(words)}"
    elif layer.rebuild is Sequential:
        head = "Sequential("
    else:
        head = f"Layer(name={layer.name!r}"
    if not layer.children:
        return head + ")"
    inner = indent + "  "
    lines = [f"{inner}{name}: {_describe(child, inner)}," for name, child in layer.children]
    return "\n".join([head + ("" if head.endswith("(") else ","), *lines, indent + ")"])


class Node(NamedTuple):
    """One layer of a model as :func:`walk` finds it.

    Attributes:
        path: the params keys that lead to the layer, joined by ``"/"``
            (``"residual_1/block/dropout_2"``; ``""`` for the model itself): the layer
            paths ``reference.build`` uses.
        layer: the :class:`Layer`.
        key: the key its ``apply`` receives when the model's ``apply`` gets the walk's
            key (``None`` when none was given or the layer is handed none).
    """

    path: str
    layer: Layer
    key: Any


def join(path: str, name: str) -> str:
    """The path of child ``name`` of the layer at ``path`` (``"a/b"``; ``"b"`` at the root)."""
    return f"{path}/{name}" if path else name


def child_keys(layer: Layer, key) -> tuple:
    """The key each child of the container ``layer`` gets from the key its apply got.

    The one rule every container applies and every tool replays: ``None`` all round
    when there is no key or no child needs one, else one split per child
    (``split_key``) or the key itself for each.
    """
    count = len(layer.children)
    if key is None or not layer.needs_key:
        return (None,) * count
    if layer.split_key:
        return tuple(jax.random.split(key, count))
    return (key,) * count


def walk(model: Layer, key=None) -> list[Node]:
    """Every layer of ``model``, parents before children, with its path and key.

    Args:
        model: a Layer.
        key: the key ``model.apply`` would get, or ``None``.

    Returns:
        A list of :class:`Node`, the model itself first (path ``""``).

    Examples:
        >>> model = Sequential([Dense(4), Dropout(0.5), Sequential([Dense(2), relu])])
        >>> [node.path for node in walk(model)]
        ['', 'dense_0', 'dropout_1', 'sequential_2', 'sequential_2/dense_0', 'sequential_2/relu_1']
    """
    if not isinstance(model, Layer):
        raise TypeError(f"walk: model must be a funcnet Layer, got {type(model).__name__}")
    nodes = []
    stack = [Node("", model, key)]
    while stack:
        node = stack.pop()
        nodes.append(node)
        keys = child_keys(node.layer, node.key)
        stack.extend(reversed([Node(join(node.path, name), child, child_key)
                               for (name, child), child_key
                               in zip(node.layer.children, keys, strict=True)]))
    return nodes


def map_layers(model: Layer, fn: Callable[[str, Layer], Layer], path: str = "") -> Layer:
    """The same model with every layer ``l`` at path ``p`` replaced by ``fn(p, l)``.

    Children are mapped first and the container rebuilt around them (``rebuild``), then
    the container itself is passed to ``fn``; a layer without ``rebuild`` counts as a
    leaf. ``fn`` must keep each layer's ``name``, so the params keys stay the same.

    Examples:
        >>> model = Sequential([Dense(2), relu])
        >>> renamed = map_layers(model, lambda path, layer: layer)
        >>> [node.path for node in walk(renamed)]
        ['', 'dense_0', 'relu_1']
    """
    if model.children and model.rebuild is not None:
        model = model.rebuild([map_layers(child, fn, join(path, name))
                               for name, child in model.children])
    return fn(path, model)


def Activation(name: str, **hyperparameters) -> Layer:  # noqa: N802 (a layer constructor)
    """A parameter-free layer applying the activation ``name`` elementwise.

    Args:
        name: one of ``funcnet.activations.ACTIVATIONS`` (``"relu"``, ``"softmax"``, ...).
        **hyperparameters: passed to the function (``negative_slope`` for leaky_relu,
            ``axis`` for softmax and log_softmax, ``approximate`` for gelu).

    Examples:
        >>> Activation("leaky_relu", negative_slope=0.2).spec
        {'type': 'Activation', 'name': 'leaky_relu', 'negative_slope': 0.2}
    """
    fn = _activations.get(name)
    allowed = {"leaky_relu": {"negative_slope"}, "softmax": {"axis"}, "log_softmax": {"axis"},
               "gelu": {"approximate"}}
    unknown = set(hyperparameters) - allowed.get(name, set())
    if unknown:
        raise TypeError(
            f"Activation({name!r}): unexpected hyperparameter(s) {sorted(unknown)}; "
            f"{name} accepts {sorted(allowed.get(name, set())) or 'none'}"
        )
    for hp, value in hyperparameters.items():
        if hp == "negative_slope":
            _checks.survives_rounding(
                f"Activation({name!r})", "negative_slope",
                _checks.real_number(f"Activation({name!r})", "negative_slope", value),
                may_vanish=True)
        if hp == "axis" and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise TypeError(f"Activation({name!r}): axis must be an int, "
                            f"got {type(value).__name__}")
        if hp == "approximate" and not isinstance(value, bool):
            raise TypeError(f"Activation({name!r}): approximate must be True or False, "
                            f"got {value!r}")

    def init(key, input_shape):
        del key, input_shape
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params(f"Activation({name!r})", params, {})
        return fn(x, **hyperparameters), state

    return Layer(init, apply, name=name, spec={"type": "Activation", "name": name,
                                               **hyperparameters}, needs_key=False)


def as_layer(obj) -> Layer:
    """Return ``obj`` as a Layer: Layers pass through, activation functions are wrapped.

    Any other callable ``f(x) -> y`` becomes a parameter-free layer with no reference
    twin (``spec=None``).
    """
    if isinstance(obj, Layer):
        return obj
    for name, fn in _activations.ACTIVATIONS.items():
        if obj is fn:
            return Activation(name)
    if callable(obj):
        fn = obj

        def init(key, input_shape):
            del key, input_shape
            return {}, {}

        def apply(params, state, x, *, train=False, key=None):
            del train, key
            _checks.layer_params(getattr(fn, "__name__", "function"), params, {})
            return fn(x), state

        return Layer(init, apply, name=getattr(fn, "__name__", "function").lower(),
                     needs_key=False)
    raise TypeError(
        f"Sequential: expected a Layer or a function of arrays, got {type(obj).__name__}"
    )


def output_shape(layer: Layer, params, state, input_shape, dtype=None) -> tuple:
    """Shape of one example after ``layer``, found by abstract evaluation (no FLOPs);
    the input is of ``dtype``, by default the layer's ``input_dtype``."""
    x = jax.ShapeDtypeStruct((1, *input_shape), layer.input_dtype if dtype is None else dtype)
    out = jax.eval_shape(lambda p, s, xx: layer.apply(p, s, xx, train=False)[0],
                         params, state, x)
    return tuple(out.shape[1:])


def Sequential(layers: Sequence) -> Layer:  # noqa: N802 (a layer constructor)
    """Compose layers in order; params and state are dicts keyed ``f"{name}_{i}"``.

    Args:
        layers: Layers, activation functions (``relu``) or any ``f(x) -> y``; they nest.

    ``apply`` splits ``key`` (when given and a child needs one) into one key per child
    (:func:`child_keys`), so no two dropout layers share a mask.

    Naming: child ``i`` is ``f"{child.name}_{i}"``, ``i`` its position counting layers
    without params too (as PyTorch's ``nn.Sequential`` numbers its ``state_dict``):
    ``dense_0``, ``relu_1`` (an empty ``{}``), ``dense_2``. funcnet always named them so,
    and old checkpoints load as before; plots label a leaf ``"dense_2/w"``.

    Examples:
        >>> model = Sequential([Dense(4), tanh, Dense(1), sigmoid])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> list(params)
        ['dense_0', 'tanh_1', 'dense_2', 'sigmoid_3']
        >>> jax.tree.map(jnp.shape, params)["dense_0"]
        {'b': (4,), 'w': (2, 4)}
        >>> y, state = model.apply(params, state, jnp.ones((5, 2)))
        >>> y.shape
        (5, 1)
    """
    if isinstance(layers, Layer) or not isinstance(layers, Sequence):
        raise TypeError(
            f"Sequential: layers must be a list of layers, got {type(layers).__name__}; "
            f"write Sequential([layer, ...])"
        )
    children = [as_layer(layer) for layer in layers]
    if not children:
        raise ValueError("Sequential: layers must not be empty")
    names = [f"{child.name}_{i}" for i, child in enumerate(children)]
    specs = [child.spec for child in children]
    spec = None if any(s is None for s in specs) else {
        "type": "Sequential", "keys": names, "layers": specs}

    def init(key, input_shape):
        _checks.prng_key("Sequential.init", "key", key)
        keys = jax.random.split(key, len(children))
        shape = tuple(input_shape)
        params, state = {}, {}
        for child_key, name, child in zip(keys, names, children, strict=True):
            params[name], state[name] = child.init(child_key, shape)
            shape = output_shape(child, params[name], state[name], shape)
        return params, state

    def apply(params, state, x, *, train=False, key=None):
        if key is not None:
            _checks.prng_key("Sequential.apply", "key", key)
        if not isinstance(params, Mapping) or set(params) != set(names):
            got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(f"Sequential: params must be the dict with keys {names} made by "
                             f"init, got {got}; pass the params from model.init")
        if not isinstance(state, Mapping) or set(state) != set(names):
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"Sequential: state must be the dict with keys {names} made by "
                             f"init, got {got}; pass the state from model.init")
        new_state = {}
        for child_key, name, child in zip(child_keys(layer, key), names, children,
                                          strict=True):
            x, new_state[name] = child.apply(params[name], state[name], x, train=train,
                                             key=child_key)
        return x, new_state

    layer = Layer(init, apply, name="sequential", spec=spec,
                  children=tuple(zip(names, children, strict=True)),
                  needs_key=any(child.needs_key for child in children),
                  scan_friendly=all(child.scan_friendly for child in children),
                  rebuild=Sequential, input_dtype=children[0].input_dtype,
                  check_input=children[0].check_input)
    return layer
