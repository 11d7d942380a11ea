"""Per-example normalization over the last (feature) axis: LayerNorm and RMSNorm.

Unlike BatchNorm, the statistics are each example's (each time step's, for a sequence
``(N, T, F)``), so training and evaluation compute the same thing and there is no
``state``. Both compute their statistics in at least float32 (a bf16 input would
otherwise be summed and squared in 8 bits of mantissa), and the output comes in that
dtype, as BatchNorm's does. ``reference.norm`` holds the twins.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcnet import _checks, initializers
from funcnet._dtypes import at_least_float32
from funcnet.core import Layer


def _check_x(where: str, x, features: int | None) -> None:
    _checks.min_rank(where, "x", x, 2, "(batch, ..., features)")
    _checks.floating_array(where, "x", x)
    if features is not None and x.shape[-1] != features:
        raise ValueError(
            f"{where}: x must have {features} features on its last axis (the size of its "
            f"params), got x shape {tuple(x.shape)}"
        )


def _bool(where: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return value


def _eps(where: str, eps) -> float:
    eps = _checks.positive_float(where, "eps", eps)
    # the statistics are float32 at the least: an eps that rounds to 0 there is no eps
    return _checks.survives_rounding(where, "eps", eps, role="the statistics' dtype")


def LayerNorm(  # noqa: N802 (a layer constructor)
    eps: float = 1e-5,
    use_bias: bool = True,
    use_scale: bool = True,
    scale_init="ones",
    bias_init="zeros",
    param_dtype=jnp.float32,
) -> Layer:
    """Layer normalization ``y = scale * (x - mean) / sqrt(var + eps) + bias`` per example.

    ``mean`` and the biased ``var = mean((x - mean)^2)`` are over the last axis of each
    example (Ba et al., 2016), as in Flax's ``nn.LayerNorm`` and PyTorch's
    ``nn.LayerNorm(features)``.

    Args:
        eps: added to the variance before the square root, > 0.
        use_bias: whether to add the learned ``bias: (F,)``.
        use_scale: whether to multiply by the learned ``scale: (F,)``.
        scale_init: initializer (or its name) for ``scale`` (ones).
        bias_init: initializer (or its name) for ``bias`` (zeros).
        param_dtype: dtype of the parameters.

    Shapes: ``x: (N, F)`` or ``(N, T, F)`` (any ``(N, ..., F)``) -> ``y`` the same.

    Examples:
        >>> layer = LayerNorm()
        >>> params, state = layer.init(jax.random.key(0), (5, 3))
        >>> jax.tree.map(jnp.shape, params)
        {'bias': (3,), 'scale': (3,)}
        >>> y, _ = layer.apply(params, state, jnp.array([[[1.0, 2.0, 3.0]]]))
        >>> y
        Array([[[-1.2247356,  0.       ,  1.2247356]]], dtype=float32)
    """
    eps = _eps("LayerNorm", eps)
    use_bias = _bool("LayerNorm", "use_bias", use_bias)
    use_scale = _bool("LayerNorm", "use_scale", use_scale)
    where = f"LayerNorm(eps={eps})"
    names = tuple(name for name, used in (("scale", use_scale), ("bias", use_bias)) if used)
    inits = {"scale": initializers.get(scale_init), "bias": initializers.get(bias_init)}

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        input_shape = _checks.input_shape(where, input_shape, "(features,) or (T, features)")
        keys = dict(zip(("scale", "bias"), jax.random.split(key), strict=True))
        return {name: inits[name](keys[name], (input_shape[-1],), param_dtype)
                for name in names}, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        sizes = _checks.layer_params(where, params, {name: ("features",) for name in names})
        _check_x(where, x, sizes.get("features"))
        x = at_least_float32(x)
        mean = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
        y = (x - mean) / jnp.sqrt(var + eps)
        if use_scale:
            y = y * params["scale"]
        if use_bias:
            y = y + params["bias"]
        return y, state

    spec = {"type": "LayerNorm", "eps": eps, "use_bias": use_bias, "use_scale": use_scale}
    return Layer(init, apply, name="layer_norm", spec=spec, needs_key=False)


def RMSNorm(  # noqa: N802 (a layer constructor)
    eps: float = 1e-6,
    scale_init="ones",
    param_dtype=jnp.float32,
) -> Layer:
    """RMS normalization ``y = scale * x / sqrt(mean(x^2) + eps)`` per example.

    The mean of squares is over the last axis of each example (Zhang & Sennrich, 2019):
    LayerNorm without the centring and the bias, as in Flax's ``nn.RMSNorm``.

    Args:
        eps: added to the mean square before the square root, > 0.
        scale_init: initializer (or its name) for ``scale: (F,)`` (ones).
        param_dtype: dtype of the parameters.

    Shapes: ``x: (N, F)`` or ``(N, T, F)`` (any ``(N, ..., F)``) -> ``y`` the same.

    Examples:
        >>> layer = RMSNorm()
        >>> params, state = layer.init(jax.random.key(0), (5, 2))
        >>> jax.tree.map(jnp.shape, params)
        {'scale': (2,)}
        >>> y, _ = layer.apply(params, state, jnp.array([[3.0, 4.0]]))
        >>> y
        Array([[0.8485281, 1.1313708]], dtype=float32)
    """
    eps = _eps("RMSNorm", eps)
    where = f"RMSNorm(eps={eps})"
    scale_init_fn = initializers.get(scale_init)

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        input_shape = _checks.input_shape(where, input_shape, "(features,) or (T, features)")
        return {"scale": scale_init_fn(key, (input_shape[-1],), param_dtype)}, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        sizes = _checks.layer_params(where, params, {"scale": ("features",)})
        _check_x(where, x, sizes["features"])
        x = at_least_float32(x)
        mean_square = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
        return params["scale"] * x / jnp.sqrt(mean_square + eps), state

    return Layer(init, apply, name="rms_norm", spec={"type": "RMSNorm", "eps": eps},
                 needs_key=False)
