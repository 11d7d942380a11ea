"""Weight initializers: ``init(key, shape, dtype=jnp.float32) -> array``.

Fan-in and fan-out follow the usual conventions: a dense kernel ``(in, out)`` has
fan_in = in and fan_out = out; a convolution kernel ``(H, W, I, O)`` (HWIO) has
fan_in = H*W*I and fan_out = H*W*O; a vector ``(n,)`` has fan_in = fan_out = n.

=================  =========================================  ==========
name               distribution                               scale
=================  =========================================  ==========
glorot_normal      N(0, s^2)                                  s = sqrt(2 / (fan_in + fan_out))
glorot_uniform     U(-l, l)                                   l = sqrt(6 / (fan_in + fan_out))
he_normal          N(0, s^2)                                  s = sqrt(2 / fan_in)
he_uniform         U(-l, l)                                   l = sqrt(6 / fan_in)
lecun_normal       N(0, s^2)                                  s = sqrt(1 / fan_in)
=================  =========================================  ==========

``xavier_*`` and ``kaiming_*`` are aliases of ``glorot_*`` and ``he_*``.

Examples:
    >>> w = he_normal(jax.random.key(0), (784, 512))
    >>> w.shape, w.dtype
    ((784, 512), dtype('float32'))
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from funcnet._checks import positive_float, prng_key


def fans(shape) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a dense ``(in, out)`` or conv HWIO kernel shape."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def zeros(key, shape, dtype=jnp.float32):
    """All zeros (``key`` is unused, kept for a uniform signature)."""
    del key
    return jnp.zeros(shape, dtype)


def ones(key, shape, dtype=jnp.float32):
    """All ones (``key`` is unused)."""
    del key
    return jnp.ones(shape, dtype)


def constant(value: float):
    """Return an initializer filling every entry with ``value``.

    Examples:
        >>> constant(0.1)(None, (3,))
        Array([0.1, 0.1, 0.1], dtype=float32)
    """

    def init(key, shape, dtype=jnp.float32):
        del key
        return jnp.full(shape, value, dtype)

    return init


def normal(stddev: float = 1e-2):
    """Return an initializer drawing from N(0, stddev^2)."""
    stddev = positive_float("normal", "stddev", stddev)

    def init(key, shape, dtype=jnp.float32):
        prng_key("normal", "key", key)
        return stddev * jax.random.normal(key, shape, dtype)

    return init


def uniform(scale: float = 1e-2):
    """Return an initializer drawing from U(-scale, scale) (symmetric about zero)."""
    scale = positive_float("uniform", "scale", scale)

    def init(key, shape, dtype=jnp.float32):
        prng_key("uniform", "key", key)
        return jax.random.uniform(key, shape, dtype, minval=-scale, maxval=scale)

    return init


def _scaled_fan(name: str, key, shape, mode: str) -> int:
    """The fan a variance-scaling initializer divides by, after checking key and shape."""
    prng_key(name, "key", key)
    fan_in, fan_out = fans(shape)
    fan = fan_in if mode == "fan_in" else (fan_in + fan_out)
    if fan <= 0:
        raise ValueError(
            f"{name}: shape {tuple(shape)} has "
            f"{'fan_in' if mode == 'fan_in' else 'fan_in + fan_out'} = {fan}; every "
            f"dimension must be positive to scale the weights"
        )
    return fan


def _scaled_normal(name: str, numerator: float, mode: str):
    def init(key, shape, dtype=jnp.float32):
        fan = _scaled_fan(name, key, shape, mode)
        return math.sqrt(numerator / fan) * jax.random.normal(key, shape, dtype)

    return init


def _scaled_uniform(name: str, numerator: float, mode: str):
    def init(key, shape, dtype=jnp.float32):
        fan = _scaled_fan(name, key, shape, mode)
        limit = math.sqrt(numerator / fan)
        return jax.random.uniform(key, shape, dtype, minval=-limit, maxval=limit)

    return init


glorot_normal = _scaled_normal("glorot_normal", 2.0, "fan_avg")
glorot_normal.__doc__ = "N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."
glorot_uniform = _scaled_uniform("glorot_uniform", 6.0, "fan_avg")
glorot_uniform.__doc__ = "U(-sqrt(6 / (fan_in + fan_out)), +sqrt(...)) (Glorot & Bengio, 2010)."
he_normal = _scaled_normal("he_normal", 2.0, "fan_in")
he_normal.__doc__ = "N(0, 2 / fan_in) (He et al., 2015), for ReLU networks."
he_uniform = _scaled_uniform("he_uniform", 6.0, "fan_in")
he_uniform.__doc__ = "U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)) (He et al., 2015)."
lecun_normal = _scaled_normal("lecun_normal", 1.0, "fan_in")
lecun_normal.__doc__ = "N(0, 1 / fan_in) (LeCun et al., 1998)."

xavier_normal = glorot_normal
xavier_uniform = glorot_uniform
kaiming_normal = he_normal
kaiming_uniform = he_uniform

INITIALIZERS = {
    "zeros": zeros,
    "ones": ones,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming_normal": kaiming_normal,
    "kaiming_uniform": kaiming_uniform,
    "lecun_normal": lecun_normal,
}


def get(init):
    """Return ``init`` itself if callable, else the initializer with that name."""
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ValueError(f"unknown initializer {init!r}; expected one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[init]
