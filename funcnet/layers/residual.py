"""Residual (skip) connection around a block: y = x + block(x)."""

from __future__ import annotations

from collections.abc import Mapping

from funcnet import _checks
from funcnet.core import Layer, as_layer, child_keys, output_shape


def Residual(block) -> Layer:  # noqa: N802 (a layer constructor)
    """Skip connection ``y = x + block(x)``; the block must keep the shape of ``x``.

    Args:
        block: a Layer, a Sequential, an activation or any ``f(x) -> y``.

    The block's params and state sit under the key ``"block"``; ``apply`` hands
    ``train`` and ``key`` to the block unchanged (one child, nothing to split).

    Shapes: ``x: (N, ...)`` -> ``y`` the same.

    Examples:
        >>> layer = Residual(Sequential([Dense(4), relu]))
        >>> params, state = layer.init(jax.random.key(0), (4,))
        >>> jax.tree.map(jnp.shape, params)
        {'block': {'dense_0': {'b': (4,), 'w': (4, 4)}, 'relu_1': {}}}
        >>> y, state = layer.apply(params, state, jnp.ones((2, 4)))
        >>> y.shape
        (2, 4)
    """
    if not isinstance(block, Layer) and not callable(block):
        raise TypeError(
            f"Residual: block must be a Layer or a function of arrays, got "
            f"{type(block).__name__}; e.g. Residual(Sequential([Dense(4), relu]))"
        )
    block = as_layer(block)
    where = f"Residual({block.name})"

    def check_shapes(x_shape, fx_shape):
        if tuple(fx_shape) != tuple(x_shape):
            raise ValueError(
                f"Residual({block.name}): the block must keep the shape of its input to be "
                f"added to it, got input shape {tuple(x_shape)} and block output shape "
                f"{tuple(fx_shape)}; make the block's last layer produce {x_shape[-1]} "
                f"features/channels (and keep the spatial size, e.g. padding='SAME', "
                f"strides=1)"
            )

    def init(key, input_shape):
        params, state = block.init(key, input_shape)
        check_shapes((1, *input_shape), (1, *output_shape(block, params, state, input_shape)))
        return {"block": params}, {"block": state}

    def apply(params, state, x, *, train=False, key=None):
        # another model's params would otherwise fail as a bare KeyError: 'block'
        _checks.param_dict(where, params, ("block",))
        if not isinstance(state, Mapping) or set(state) != {"block"}:
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"{where}: state must be the dict with keys ['block'] made by "
                             f"init, got {got}; pass the state from model.init")
        (block_key,) = child_keys(layer, key)
        fx, block_state = block.apply(params["block"], state["block"], x, train=train,
                                      key=block_key)
        check_shapes(x.shape, fx.shape)
        return x + fx, {"block": block_state}

    spec = None if block.spec is None else {"type": "Residual", "block": block.spec}
    layer = Layer(init, apply, name="residual", spec=spec, children=(("block", block),),
                  split_key=False, needs_key=block.needs_key,
                  scan_friendly=block.scan_friendly,
                  rebuild=lambda children: Residual(children[0]),
                  input_dtype=block.input_dtype, check_input=block.check_input)
    return layer
