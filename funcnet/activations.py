"""Activation functions, usable as plain functions and as layers in a model.

Each function maps an array of pre-activations ``z`` (any shape) to an array of the
same shape. Passing one of them to :func:`funcnet.Sequential` makes it a parameter-free
layer; :func:`funcnet.Activation` does the same with hyperparameters
(``Activation("leaky_relu", negative_slope=0.2)``, ``Activation("gelu",
approximate=True)``).

All are stable at extreme inputs: ``sigmoid(±1000)`` is exactly 0 or 1 with no
overflow, and ``softmax``/``log_softmax`` subtract the row maximum before exponentiating.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def identity(z):
    """a = z.

    Examples:
        >>> identity(jnp.array([-1.0, 2.0]))
        Array([-1.,  2.], dtype=float32)
    """
    return z


def sigmoid(z):
    """a = 1 / (1 + exp(-z)), computed without overflow for large |z|.

    Examples:
        >>> sigmoid(jnp.array([0.0, 1000.0, -1000.0]))
        Array([0.5, 1. , 0. ], dtype=float32)
    """
    # lax.logistic picks exp(-z) or exp(z) by sign, so neither branch overflows.
    return jax.lax.logistic(z)


def tanh(z):
    """a = tanh(z).

    Examples:
        >>> tanh(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    return jnp.tanh(z)


def relu(z):
    """a = max(z, 0); the derivative at exactly 0 is taken as 0.

    Examples:
        >>> relu(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    # where, not maximum: jax gives maximum a gradient of 0.5 at the tie z = 0, while
    # the textbook (and reference) derivative there is 0.
    return jnp.where(z > 0, z, jnp.zeros_like(z))


def leaky_relu(z, negative_slope: float = 0.01):
    """a = z if z > 0 else negative_slope * z.

    Examples:
        >>> leaky_relu(jnp.array([-1.0, 2.0]), negative_slope=0.1)
        Array([-0.1,  2. ], dtype=float32)
    """
    return jnp.where(z > 0, z, negative_slope * z)


def softmax(z, axis: int = -1):
    """a_i = exp(z_i - max z) / sum_j exp(z_j - max z) along ``axis``.

    Examples:
        >>> softmax(jnp.array([[1000.0, 0.0]]))
        Array([[1., 0.]], dtype=float32)
    """
    # The max is a constant shift (softmax is shift-invariant), so no gradient flows
    # through it; stopping it keeps the backward pass the textbook one.
    shifted = z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))
    e = jnp.exp(shifted)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1):
    """a_i = z_i - max z - log sum_j exp(z_j - max z) along ``axis``.

    Examples:
        >>> log_softmax(jnp.array([[1000.0, 0.0]]))
        Array([[    0., -1000.]], dtype=float32)
    """
    shifted = z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


# sqrt(2 / pi) and 0.044715: the tanh approximation of Hendrycks & Gimpel (2016).
_GELU_TANH_SCALE = math.sqrt(2 / math.pi)
_GELU_TANH_CUBIC = 0.044715


def gelu(z, approximate: bool = False):
    """a = z * Phi(z), Phi the standard normal CDF (exact), or its tanh approximation
    a = z * (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) / 2 with ``approximate=True``.

    The exact form is the default, as in PyTorch (``approximate="none"``): it is the
    function the name means, the tanh form being Hendrycks & Gimpel's cheaper stand-in.
    Flax's ``nn.gelu`` (``jax.nn.gelu``) defaults to the approximation, which differs
    from it by up to 5e-4 (near |z| = 2.7); pass ``approximate=True`` to reproduce a
    model trained with it (GPT-2, or a Flax model using the default).

    Both are computed in a form that keeps full relative precision where ``a`` is tiny
    (z very negative): Phi(z) = erfc(-z / sqrt(2)) / 2 rather than (1 + erf(z / sqrt(2)))
    / 2, and (1 + tanh(u)) / 2 = sigmoid(2u), the same functions with no cancellation.

    Examples:
        >>> gelu(jnp.array([-1.0, 0.0, 1.0]))
        Array([-0.15865527,  0.        ,  0.8413447 ], dtype=float32)
        >>> gelu(jnp.array([1.0]), approximate=True)
        Array([0.841192], dtype=float32)
    """
    if not isinstance(approximate, bool):
        raise TypeError(f"gelu: approximate must be True or False, got {approximate!r}")
    if approximate:
        u = _GELU_TANH_SCALE * (z + _GELU_TANH_CUBIC * z**3)
        return z * jax.lax.logistic(2 * u)
    return 0.5 * z * jax.lax.erfc(-z / math.sqrt(2))


def silu(z):
    """a = z * sigmoid(z) (also called swish).

    Examples:
        >>> silu(jnp.array([-1.0, 0.0, 1.0]))
        Array([-0.26894143,  0.        ,  0.7310586 ], dtype=float32)
    """
    return z * jax.lax.logistic(z)


ACTIVATIONS = {
    "identity": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "gelu": gelu,
    "silu": silu,
}


def get(name: str):
    """Return the activation function called ``name`` (e.g. ``"relu"``).

    Raises:
        ValueError: if ``name`` is not one of :data:`ACTIVATIONS`.
    """
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]
