"""Inverted dropout, and the masks it draws made reproducible outside the layer.

``rate`` is the probability of *dropping* a unit. In training each unit is kept with
probability ``1 - rate`` and scaled by ``1 / (1 - rate)``, so the expected output
equals the input and evaluation is the identity.

The mask is a pure function of the key and the shape (:func:`dropout_mask`), and
:func:`dropout_keys` finds the key every Dropout inside a model receives from the key
given to ``model.apply``, following ``Sequential``'s split (one key per child, in
order) and ``Residual`` (its key passes to the block). :func:`dropout_masks` puts the
two together: the exact masks of a training step, keyed by layer path, which is what
``reference`` takes to replay that step in NumPy::

    y, state = model.apply(params, state, x, train=True, key=key)
    net = reference.build(model.spec)
    y_np, _, cache = net.forward(params, x, state=state, train=True,
                                 extras=dropout_masks(model, key))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcnet import _checks
from funcnet.core import Layer, walk


def _check_rate(where: str, rate) -> float:
    rate = _checks.real_number(where, "rate", rate)
    if not (math.isfinite(rate) and 0 <= rate < 1):
        raise ValueError(
            f"{where}: rate is the probability of dropping a unit and must be in [0, 1), "
            f"got {rate!r}"
        )
    return float(rate)


def dropout_mask(key, rate: float, shape) -> jax.Array:
    """Keep-mask of a dropout layer: True where a unit is kept, with probability 1 - rate.

    Args:
        key: a ``jax.random`` key.
        rate: drop probability in ``[0, 1)``.
        shape: shape of the layer's input, batch axis included.

    Returns:
        A bool array of ``shape``; the same key gives the same mask.

    Examples:
        >>> dropout_mask(jax.random.key(0), 0.5, (2, 3)).dtype
        dtype('bool')
    """
    rate = _check_rate("dropout_mask", rate)
    _checks.prng_key("dropout_mask", "key", key)
    return jax.random.bernoulli(key, 1.0 - rate, tuple(shape))


def Dropout(rate: float) -> Layer:  # noqa: N802 (a layer constructor)
    """Inverted dropout: ``y = x * mask / (1 - rate)`` in training, ``y = x`` in evaluation.

    Args:
        rate: probability of dropping each unit, in ``[0, 1)`` (``0`` is the identity).

    ``apply(..., train=True)`` needs ``key`` (a fresh one each step); the mask is
    ``dropout_mask(key, rate, x.shape)``. Inside a Sequential each child gets its own
    split of the key, so two Dropout layers never share a mask.

    Shapes: ``x: (N, ...)`` -> ``y`` the same.

    Examples:
        >>> layer = Dropout(0.5)
        >>> y, _ = layer.apply({}, {}, jnp.ones((2, 4)), train=True, key=jax.random.key(0))
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    where = f"Dropout(rate={rate!r})"
    rate = _check_rate(where, rate)

    def init(key, input_shape):
        del key, input_shape
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        _checks.layer_params(where, params, {})
        _checks.floating_array(where, "x", x)
        if not train or rate == 0.0:
            return x, state
        if key is None:
            raise ValueError(
                f"{where}: training mode draws a random mask and needs a key: call "
                f"apply(params, state, x, train=True, key=jax.random.key(step)) with a "
                f"fresh key each step, or pass train=False to evaluate"
            )
        _checks.prng_key(where, "key", key)
        keep = dropout_mask(key, rate, x.shape)
        return jnp.where(keep, x / (1.0 - rate), jnp.zeros((), x.dtype)), state

    return Layer(init, apply, name="dropout", spec={"type": "Dropout", "rate": rate})


def _dropout_rate(layer: Layer) -> float | None:
    spec = layer.spec
    return spec["rate"] if isinstance(spec, dict) and spec.get("type") == "Dropout" else None


def dropout_keys(model: Layer, key) -> dict[str, jax.Array]:
    """The key each Dropout in a model gets when ``model.apply`` is called with ``key``.

    Args:
        model: a Layer (a Sequential, a Residual, a Dropout, ...).
        key: the key passed to ``model.apply``.

    Returns:
        ``{path: key}`` for every Dropout, found by :func:`funcnet.core.walk` (the
        same key rule every container applies); ``path`` is the params keys that lead
        to the layer joined by ``"/"`` (``"residual_1/block/dropout_2"``; ``""`` when
        the model is a bare Dropout), the layer paths ``reference.build`` uses.

    Examples:
        >>> model = Sequential([Dense(4), Dropout(0.5), Dense(2), Dropout(0.5)])
        >>> sorted(dropout_keys(model, jax.random.key(0)))
        ['dropout_1', 'dropout_3']
    """
    if not isinstance(model, Layer):
        raise TypeError(f"dropout_keys: model must be a funcnet Layer (the model whose "
                        f"apply gets the key), got {type(model).__name__}")
    _checks.prng_key("dropout_keys", "key", key)
    return {node.path: node.key for node in walk(model, key)
            if _dropout_rate(node.layer) is not None}


def dropout_masks(model: Layer, key) -> dict[str, Callable[[tuple], jax.Array]]:
    """The masks every Dropout in a model draws for ``model.apply(..., key=key)``.

    A mask's shape is the shape of the layer's input, known only once the input is, so
    each entry is a function of that shape. The dict is what ``reference`` takes as
    ``extras`` to replay the same training step in NumPy.

    Args:
        model: the Layer whose ``apply`` gets ``key``.
        key: the key passed to ``model.apply``.

    Returns:
        ``{path: mask_for}`` with ``mask_for(shape)`` the bool keep-mask that Dropout
        draws for an input of ``shape``.

    Examples:
        >>> model = Sequential([Dense(3), Dropout(0.5)])
        >>> masks = dropout_masks(model, jax.random.key(0))
        >>> masks["dropout_1"]((2, 3)).shape
        (2, 3)
    """
    keys = dropout_keys(model, key)
    rates = {node.path: _dropout_rate(node.layer) for node in walk(model)}
    return {path: functools.partial(dropout_mask, keys[path], rates[path]) for path in keys}
