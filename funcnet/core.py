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
statistics); both are plain pytrees (dicts of arrays). A layer with neither returns
``{}`` for each.

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
from typing import Any

import jax
import jax.numpy as jnp

from funcnet import _checks
from funcnet import activations as _activations

Params = Any
State = Any


@dataclasses.dataclass(frozen=True)
class Layer:
    """A layer: ``init``, ``apply`` and an optional plain description ``spec``.

    Attributes:
        init: ``init(key, input_shape) -> (params, state)``.
        apply: ``apply(params, state, x, *, train=False, key=None) -> (y, state)``.
        name: short lowercase name; a Sequential names its children ``f"{name}_{i}"``.
        spec: plain-Python description for the ``reference`` twin, or ``None``.
        children: ``((key, Layer), ...)`` for a container (Sequential), in order;
            empty for a leaf layer. Lets tools walk a model layer by layer.

    Example:
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

    def __call__(self, params, state, x, *, train: bool = False, key=None):
        """Same as ``self.apply``."""
        return self.apply(params, state, x, train=train, key=key)


def Activation(name: str, **hyperparameters) -> Layer:  # noqa: N802 (a layer constructor)
    """A parameter-free layer applying the activation ``name`` elementwise.

    Args:
        name: one of ``funcnet.activations.ACTIVATIONS`` (``"relu"``, ``"softmax"``, ...).
        **hyperparameters: passed to the function (``negative_slope`` for leaky_relu).

    Example:
        >>> Activation("leaky_relu", negative_slope=0.2).spec
        {'type': 'Activation', 'name': 'leaky_relu', 'negative_slope': 0.2}
    """
    fn = _activations.get(name)
    allowed = {"leaky_relu": {"negative_slope"}, "softmax": {"axis"}, "log_softmax": {"axis"}}
    unknown = set(hyperparameters) - allowed.get(name, set())
    if unknown:
        raise TypeError(
            f"Activation({name!r}): unexpected hyperparameter(s) {sorted(unknown)}; "
            f"{name} accepts {sorted(allowed.get(name, set())) or 'none'}"
        )
    for hp, value in hyperparameters.items():
        if hp == "negative_slope" and (isinstance(value, bool)
                                       or not isinstance(value, numbers.Real)):
            raise TypeError(f"Activation({name!r}): negative_slope must be a real number, "
                            f"got {type(value).__name__}")
        if hp == "axis" and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise TypeError(f"Activation({name!r}): axis must be an int, "
                            f"got {type(value).__name__}")

    def init(key, input_shape):
        del key, input_shape
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        del params, train, key
        return fn(x, **hyperparameters), state

    return Layer(init, apply, name=name, spec={"type": "Activation", "name": name,
                                               **hyperparameters})


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
            del params, train, key
            return fn(x), state

        return Layer(init, apply, name=getattr(fn, "__name__", "function").lower())
    raise TypeError(
        f"Sequential: expected a Layer or a function of arrays, got {type(obj).__name__}"
    )


def spec_contains(spec, layer_type: str) -> bool:
    """Whether a model description holds a layer of ``layer_type`` anywhere.

    Example:
        >>> spec_contains(Sequential([Dense(2), relu]).spec, "Dense")
        True
    """
    if isinstance(spec, dict):
        return spec.get("type") == layer_type or any(spec_contains(v, layer_type)
                                                     for v in spec.values())
    if isinstance(spec, (list, tuple)):
        return any(spec_contains(v, layer_type) for v in spec)
    return False


def output_shape(layer: Layer, params, state, input_shape, dtype=jnp.float32) -> tuple:
    """Shape of one example after ``layer``, found by abstract evaluation (no FLOPs)."""
    x = jax.ShapeDtypeStruct((1, *input_shape), dtype)
    out = jax.eval_shape(lambda p, s, xx: layer.apply(p, s, xx, train=False)[0],
                         params, state, x)
    return tuple(out.shape[1:])


def Sequential(layers: Sequence) -> Layer:  # noqa: N802 (a layer constructor)
    """Compose layers in order; params and state are dicts keyed ``f"{name}_{i}"``.

    Args:
        layers: Layers, activation functions (``relu``), or any ``f(x) -> y``;
            Sequentials nest.

    ``apply`` splits ``key`` (when given) into one key per child, so no two dropout
    layers share a mask.

    Example:
        >>> model = Sequential([Dense(4), tanh, Dense(1), sigmoid])
        >>> params, state = model.init(jax.random.key(0), (2,))
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
        keys = [None] * len(children) if key is None else jax.random.split(key, len(children))
        new_state = {}
        for child_key, name, child in zip(keys, names, children, strict=True):
            x, new_state[name] = child.apply(params[name], state[name], x, train=train,
                                             key=child_key)
        return x, new_state

    specs = [child.spec for child in children]
    spec = None if any(s is None for s in specs) else {
        "type": "Sequential", "keys": names, "layers": specs}
    return Layer(init, apply, name="sequential", spec=spec,
                 children=tuple(zip(names, children, strict=True)))
