"""Activations as forward/backward pairs, the chain-rule step written out.

Every activation ``name`` (the same name as in ``funcnet.activations``) is one pair:

* ``name_forward(z, ...) -> (a, cache)``; ``name_forward(z)[0]`` is the value alone,
  the same result as ``funcnet.activations.name(z)``;
* ``name_backward(da, cache) -> dz``: the gradient with respect to ``z`` given the
  upstream gradient ``da`` (same shape as ``z``).

``ACTIVATIONS[name]`` holds the ``(forward, backward)`` pair. All are stable at
extreme inputs: sigmoid of ±1000 is exactly 1 or 0 with no overflow, and
softmax/log_softmax subtract the maximum along ``axis`` before exponentiating.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from reference import _checks


class Pair(NamedTuple):
    """A ``forward(...) -> (out, cache)`` and its ``backward(dout, cache) -> din``."""

    forward: object
    backward: object


def identity_forward(z):
    """a = z.

    Args:
        z: ``(...)`` float array.

    Returns:
        ``(a, cache)`` with ``a`` the same array.

    Examples:
        >>> a, cache = identity_forward(np.array([-1.0, 2.0]))
        >>> identity_backward(np.ones(2), cache)
        array([1., 1.])
    """
    z = _checks.float_array("identity", "z", z)
    return z, None


def identity_backward(da, cache):
    """dz = da."""
    del cache
    return np.asarray(da)


def _stable_sigmoid(z):
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(z):
    """a = 1 / (1 + exp(-z)), using exp(-|z|) so nothing overflows.

    Args:
        z: ``(...)`` float array.

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z`` with values in [0, 1].

    Examples:
        >>> a, _ = sigmoid_forward(np.array([0.0, 1000.0, -1000.0]))
        >>> a
        array([0.5, 1. , 0. ])
    """
    z = _checks.float_array("sigmoid", "z", z)
    a = _stable_sigmoid(z)
    return a, a


def sigmoid_backward(da, cache):
    """dz = da * a * (1 - a).

    Examples:
        >>> _, cache = sigmoid_forward(np.array([0.0]))
        >>> sigmoid_backward(np.ones(1), cache)
        array([0.25])
    """
    a = cache
    return da * a * (1 - a)


def tanh_forward(z):
    """a = tanh(z).

    Args:
        z: ``(...)`` float array.

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, cache = tanh_forward(np.array([0.0]))
        >>> tanh_backward(np.ones(1), cache)
        array([1.])
    """
    z = _checks.float_array("tanh", "z", z)
    a = np.tanh(z)
    return a, a


def tanh_backward(da, cache):
    """dz = da * (1 - a**2), computed as (1 - a)(1 + a), exact-er when |a| is near 1."""
    a = cache
    return da * ((1 - a) * (1 + a))


def relu_forward(z):
    """a = max(z, 0); the derivative at exactly 0 is taken as 0.

    Args:
        z: ``(...)`` float array.

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, cache = relu_forward(np.array([-1.0, 0.0, 2.0]))
        >>> relu_backward(np.ones(3), cache)
        array([0., 0., 1.])
    """
    z = _checks.float_array("relu", "z", z)
    return np.where(z > 0, z, np.zeros_like(z)), z


def relu_backward(da, cache):
    """dz = da * (z > 0)."""
    z = cache
    return np.where(z > 0, da, np.zeros_like(da))


def leaky_relu_forward(z, negative_slope: float = 0.01):
    """a = z if z > 0 else negative_slope * z.

    Args:
        z: ``(...)`` float array.
        negative_slope: slope for ``z <= 0`` (a finite real number).

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, cache = leaky_relu_forward(np.array([-1.0, 2.0]), negative_slope=0.1)
        >>> a
        array([-0.1,  2. ])
    """
    z = _checks.float_array("leaky_relu", "z", z)
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(
            f"leaky_relu: negative_slope must be a real number, "
            f"got {type(negative_slope).__name__}"
        )
    if not np.isfinite(negative_slope):
        raise ValueError(f"leaky_relu: negative_slope must be finite, got {negative_slope!r}")
    return np.where(z > 0, z, negative_slope * z), (z, negative_slope)


def leaky_relu_backward(da, cache):
    """dz = da * (1 if z > 0 else negative_slope).

    Examples:
        >>> _, cache = leaky_relu_forward(np.array([-1.0, 2.0]), negative_slope=0.1)
        >>> leaky_relu_backward(np.ones(2), cache)
        array([0.1, 1. ])
    """
    z, negative_slope = cache
    return np.where(z > 0, da, negative_slope * da)


def softmax_forward(z, axis: int = -1):
    """a_i = exp(z_i - max z) / sum_j exp(z_j - max z) along ``axis``.

    Args:
        z: ``(..., K)`` float array (or any shape, with ``axis`` the class axis).
        axis: the axis the probabilities sum to 1 along.

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, _ = softmax_forward(np.array([[1000.0, 0.0]]))
        >>> a
        array([[1., 0.]])
    """
    z = _checks.float_array("softmax", "z", z)
    axis = _checks.axis_in_range("softmax", axis, z.ndim)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    a = e / np.sum(e, axis=axis, keepdims=True)
    return a, (a, axis)


def softmax_backward(da, cache):
    """dz = a * (da - sum_j da_j a_j): the Jacobian (diag(a) - a a^T) times da.

    Examples:
        >>> _, cache = softmax_forward(np.array([[0.0, 0.0]]))
        >>> softmax_backward(np.array([[1.0, 0.0]]), cache)
        array([[ 0.25, -0.25]])
    """
    a, axis = cache
    return a * (da - np.sum(da * a, axis=axis, keepdims=True))


def log_softmax_forward(z, axis: int = -1):
    """a_i = z_i - max z - log sum_j exp(z_j - max z) along ``axis``.

    Args:
        z: ``(..., K)`` float array (or any shape, with ``axis`` the class axis).
        axis: the axis normalised over.

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, _ = log_softmax_forward(np.array([[1000.0, 0.0]]))
        >>> a
        array([[    0., -1000.]])
    """
    z = _checks.float_array("log_softmax", "z", z)
    axis = _checks.axis_in_range("log_softmax", axis, z.ndim)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    total = np.sum(e, axis=axis, keepdims=True)
    return shifted - np.log(total), (e / total, axis)


def log_softmax_backward(da, cache):
    """dz = da - softmax(z) * sum_j da_j.

    Examples:
        >>> _, cache = log_softmax_forward(np.array([[0.0, 0.0]]))
        >>> log_softmax_backward(np.array([[1.0, 0.0]]), cache)
        array([[ 0.5, -0.5]])
    """
    p, axis = cache
    return da - p * np.sum(da, axis=axis, keepdims=True)


# sqrt(2 / pi) and 0.044715: the tanh approximation of Hendrycks & Gimpel (2016).
_GELU_TANH_SCALE = math.sqrt(2 / math.pi)
_GELU_TANH_CUBIC = 0.044715
# math.erfc is correctly rounded to about 1 ulp; applied elementwise (the loop is the
# library's, not an algorithm's), it keeps the float64 checks at 1e-10 honest.
_erfc = np.vectorize(math.erfc, otypes=[np.float64])



def gelu_forward(z, approximate: bool = False):
    """a = z Phi(z), Phi(z) = erfc(-z/sqrt 2)/2; approximate: a = z sigmoid(2u).

    The approximation has ``u = sqrt(2/pi) (z + 0.044715 z^3)``; ``sigmoid(2u)`` is
    ``(1 + tanh(u)) / 2`` written without its cancellation at very negative ``z`` (as
    ``erfc`` is for ``1 + erf``), so ``a`` keeps full relative precision there.

    Args:
        z: ``(...)`` float array.
        approximate: the tanh approximation instead of the exact erf form (the default).

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, cache = gelu_forward(np.array([-1.0, 0.0, 1.0]))
        >>> a
        array([-0.15865525,  0.        ,  0.84134475])
        >>> gelu_backward(np.ones(3), cache)
        array([-0.08331547,  0.5       ,  1.08331547])
    """
    z = _checks.float_array("gelu", "z", z)
    if not isinstance(approximate, bool):
        raise TypeError(f"gelu: approximate must be True or False, got {approximate!r}")
    if approximate:
        u = _GELU_TANH_SCALE * (z + _GELU_TANH_CUBIC * z**3)
        s = _stable_sigmoid(2 * u)
        return z * s, (z, s, True)
    cdf = 0.5 * _erfc(-z / math.sqrt(2))
    return z * cdf, (z, cdf, False)


def gelu_backward(da, cache):
    """dz = da (Phi(z) + z phi(z)), phi = Phi'; approximate: dz = da (s + 2 z s (1 - s) du/dz).

    ``phi(z) = exp(-z^2/2) / sqrt(2 pi)`` is the normal density. The approximate form's
    ``s = sigmoid(2u)`` has ``ds/du = 2 s (1 - s)`` and
    ``du/dz = sqrt(2/pi) (1 + 3 * 0.044715 z^2)``.

    Examples:
        >>> _, cache = gelu_forward(np.array([0.0]), approximate=True)
        >>> gelu_backward(np.ones(1), cache)
        array([0.5])
    """
    z, s, approximate = cache
    if approximate:
        du = _GELU_TANH_SCALE * (1 + 3 * _GELU_TANH_CUBIC * z**2)
        return da * (s + 2 * z * s * (1 - s) * du)
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return da * (s + z * pdf)


def silu_forward(z):
    """a = z * sigmoid(z) (swish).

    Args:
        z: ``(...)`` float array.

    Returns:
        ``(a, cache)``; ``a`` has the shape of ``z``.

    Examples:
        >>> a, cache = silu_forward(np.array([-1.0, 0.0, 1.0]))
        >>> a
        array([-0.26894142,  0.        ,  0.73105858])
    """
    z = _checks.float_array("silu", "z", z)
    s = _stable_sigmoid(z)
    return z * s, (z, s)


def silu_backward(da, cache):
    """dz = da * s (1 + z (1 - s)), s = sigmoid(z): the product rule on z * s.

    Examples:
        >>> _, cache = silu_forward(np.array([0.0]))
        >>> silu_backward(np.ones(1), cache)
        array([0.5])
    """
    z, s = cache
    return da * (s * (1 + z * (1 - s)))


ACTIVATIONS = {
    "identity": Pair(identity_forward, identity_backward),
    "sigmoid": Pair(sigmoid_forward, sigmoid_backward),
    "tanh": Pair(tanh_forward, tanh_backward),
    "relu": Pair(relu_forward, relu_backward),
    "leaky_relu": Pair(leaky_relu_forward, leaky_relu_backward),
    "softmax": Pair(softmax_forward, softmax_backward),
    "log_softmax": Pair(log_softmax_forward, log_softmax_backward),
    "gelu": Pair(gelu_forward, gelu_backward),
    "silu": Pair(silu_forward, silu_backward),
}


def get(name: str) -> Pair:
    """Return the ``(forward, backward)`` pair of the activation called ``name``.

    Raises:
        ValueError: if ``name`` is not one of :data:`ACTIVATIONS`.

    Examples:
        >>> forward, backward = get("tanh")
    """
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]
