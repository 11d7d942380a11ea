"""Activation functions, usable as plain functions and as layers in a model.

Each function maps an array of pre-activations ``z`` (any shape) to an array of the
same shape. Passing one of them to :func:`funcnet.Sequential` makes it a parameter-free
layer; :func:`funcnet.Activation` does the same with hyperparameters
(``Activation("leaky_relu", negative_slope=0.2)``).

All are stable at extreme inputs: ``sigmoid(±1000)`` is exactly 0 or 1 with no
overflow, and ``softmax``/``log_softmax`` subtract the row maximum before exponentiating.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def identity(z):
    """a = z.

    Example:
        >>> identity(jnp.array([-1.0, 2.0]))
        Array([-1.,  2.], dtype=float32)
    """
    return z


def sigmoid(z):
    """a = 1 / (1 + exp(-z)), computed without overflow for large |z|.

    Example:
        >>> sigmoid(jnp.array([0.0, 1000.0, -1000.0]))
        Array([0.5, 1. , 0. ], dtype=float32)
    """
    # lax.logistic picks exp(-z) or exp(z) by sign, so neither branch overflows.
    return jax.lax.logistic(z)


def tanh(z):
    """a = tanh(z).

    Example:
        >>> tanh(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    return jnp.tanh(z)


def relu(z):
    """a = max(z, 0); the derivative at exactly 0 is taken as 0.

    Example:
        >>> relu(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    # where, not maximum: jax gives maximum a gradient of 0.5 at the tie z = 0, while
    # the textbook (and reference) derivative there is 0.
    return jnp.where(z > 0, z, jnp.zeros_like(z))


def leaky_relu(z, negative_slope: float = 0.01):
    """a = z if z > 0 else negative_slope * z.

    Example:
        >>> leaky_relu(jnp.array([-1.0, 2.0]), negative_slope=0.1)
        Array([-0.1,  2. ], dtype=float32)
    """
    return jnp.where(z > 0, z, negative_slope * z)


def softmax(z, axis: int = -1):
    """a_i = exp(z_i - max z) / sum_j exp(z_j - max z) along ``axis``.

    Example:
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

    Example:
        >>> log_softmax(jnp.array([[1000.0, 0.0]]))
        Array([[    0., -1000.]], dtype=float32)
    """
    shifted = z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


ACTIVATIONS = {
    "identity": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softmax": softmax,
    "log_softmax": log_softmax,
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
