"""LayerNorm and RMSNorm over the last axis as forward/backward pairs (no state).

Same conventions as ``funcnet.layers.norm``: each example's (each time step's)
statistics over its last axis ``F``, the biased variance, statistics in at least
float32. ``params`` is ``{"scale": (F,), "bias": (F,)}`` for LayerNorm (either may be
absent: ``use_scale``/``use_bias`` False) and ``{"scale": (F,)}`` for RMSNorm.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from reference import _checks


def check_eps(where: str, eps) -> float:
    """Return ``eps`` as a float after checking it is finite and > 0, also in float32.

    Examples:
        >>> check_eps("LayerNorm", 1e-5)
        1e-05
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{where}: eps must be a real number, got {type(eps).__name__}")
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"{where}: eps must be finite and > 0, got {eps!r}")
    if float(np.float32(eps)) == 0:
        raise ValueError(f"{where}: eps must stay > 0 in float32 (the statistics' dtype), "
                         f"got {eps!r}, which rounds to 0; use 1e-30 or more")
    return float(eps)


def _arrays(where: str, params, x, allowed: tuple) -> tuple[np.ndarray, dict]:
    x = _checks.float_array(where, "x", x)
    _checks.min_rank(where, "x", x, 2, "(batch, ..., features)")
    x = x.astype(np.promote_types(x.dtype, np.float32))
    if not isinstance(params, dict) or not set(params) <= set(allowed):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{where}: params must be a dict with keys among {list(allowed)}, "
                         f"got {got}")
    arrays = {}
    for name, value in params.items():
        arrays[name] = _checks.float_array(where, f"params[{name!r}]", value)
        if arrays[name].shape != x.shape[-1:]:
            raise ValueError(f"{where}: params[{name!r}] must have shape ({x.shape[-1]},) "
                             f"for x shape {x.shape}, got {arrays[name].shape}")
    return x, arrays


def layernorm_forward(params, x, *, eps=1e-5):
    """Y = scale * x_hat + bias, x_hat = (X - mu) / sqrt(var + eps), mu and var per row.

    Args:
        params: ``{"scale": (F,), "bias": (F,)}``; either may be absent.
        x: ``(N, F)`` or ``(N, T, F)`` (any ``(N, ..., F)``) float array.
        eps: added to the variance, > 0.

    Returns:
        ``(y, cache)`` with ``y`` the shape of ``x``.

    Examples:
        >>> params = {"scale": np.ones(2), "bias": np.zeros(2)}
        >>> y, cache = layernorm_forward(params, np.array([[1.0, 3.0], [0.0, -4.0]]))
        >>> np.round(y, 4)
        array([[-1.,  1.],
               [ 1., -1.]])
    """
    where = "LayerNorm"
    eps = check_eps(where, eps)
    x, p = _arrays(where, params, x, ("scale", "bias"))
    xc = x - x.mean(axis=-1, keepdims=True)
    var = (xc**2).mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv_std
    y = x_hat * p["scale"] if "scale" in p else x_hat
    if "bias" in p:
        y = y + p["bias"]
    return y, (xc, inv_std, x_hat, p.get("scale"), "bias" in p)


def layernorm_backward(dy, cache):
    """Full chain rule through each row's mean and variance (F = the last axis' size):

    dx_hat = dY * scale;
    dvar = sum(dx_hat * (X - mu)) * -1/2 * (var + eps)^(-3/2);
    dmu = sum(-dx_hat / sqrt(var + eps)) + dvar * mean(-2 (X - mu));
    dX = dx_hat / sqrt(var + eps) + dvar * 2 (X - mu) / F + dmu / F
    (sums and means over the last axis), which simplifies to the one line
    dX = (1/sigma) (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)),
    sigma = sqrt(var + eps);
    dscale = sum(dY * x_hat);  dbias = sum(dY)   (sums over every axis but the last).

    Args:
        dy: upstream gradient, the shape of ``y``.
        cache: from :func:`layernorm_forward`.

    Returns:
        ``(dx, dparams)``: ``dx`` the shape of ``x``, ``dparams`` with the keys of params.

    Examples:
        >>> params = {"scale": np.ones(2), "bias": np.zeros(2)}
        >>> y, cache = layernorm_forward(params, np.array([[1.0, 3.0]]))
        >>> dx, dparams = layernorm_backward(np.ones_like(y), cache)
        >>> dx, dparams["bias"]
        (array([[0., 0.]]), array([1., 1.]))
    """
    xc, inv_std, x_hat, scale, has_bias = cache
    dy = np.asarray(dy)
    if dy.shape != xc.shape:
        raise ValueError(f"LayerNorm backward: dy must have the shape of y {xc.shape}, "
                         f"got {dy.shape}")
    axes = tuple(range(dy.ndim - 1))
    dparams = {}
    if scale is not None:
        dparams["scale"] = (dy * x_hat).sum(axis=axes)
    if has_bias:
        dparams["bias"] = dy.sum(axis=axes)
    dx_hat = dy if scale is None else dy * scale
    f = xc.shape[-1]
    dvar = (dx_hat * xc).sum(axis=-1, keepdims=True) * -0.5 * inv_std**3
    dmu = ((-dx_hat * inv_std).sum(axis=-1, keepdims=True)
           + dvar * (-2.0 * xc).mean(axis=-1, keepdims=True))
    return dx_hat * inv_std + dvar * 2.0 * xc / f + dmu / f, dparams


def rmsnorm_forward(params, x, *, eps=1e-6):
    """Y = scale * x_hat, x_hat = X / rms, rms = sqrt(mean(X^2) + eps) per row.

    Args:
        params: ``{"scale": (F,)}``.
        x: ``(N, F)`` or ``(N, T, F)`` (any ``(N, ..., F)``) float array.
        eps: added to the mean square, > 0.

    Returns:
        ``(y, cache)`` with ``y`` the shape of ``x``.

    Examples:
        >>> y, cache = rmsnorm_forward({"scale": np.ones(2)}, np.array([[3.0, 4.0]]), eps=0.5)
        >>> y
        array([[0.83205029, 1.10940039]])
    """
    where = "RMSNorm"
    eps = check_eps(where, eps)
    x, p = _arrays(where, params, x, ("scale",))
    if "scale" not in p:
        raise ValueError(f"{where}: params must be {{'scale': ({x.shape[-1]},)}}, got {{}}")
    inv_rms = 1.0 / np.sqrt((x**2).mean(axis=-1, keepdims=True) + eps)
    x_hat = x * inv_rms
    return p["scale"] * x_hat, (x, inv_rms, x_hat, p["scale"])


def rmsnorm_backward(dy, cache):
    """Full chain rule through each row's mean square ms (F = the last axis' size):

    dx_hat = dY * scale;
    drms = sum(dx_hat * X) * -1/rms^2;   dms = drms / (2 rms);
    dX = dx_hat / rms + dms * 2 X / F
    (sums and means over the last axis), which simplifies to the one line
    dX = (1/rms) (dx_hat - x_hat * mean(dx_hat * x_hat));
    dscale = sum(dY * x_hat)   (over every axis but the last).

    Args:
        dy: upstream gradient, the shape of ``y``.
        cache: from :func:`rmsnorm_forward`.

    Returns:
        ``(dx, {"scale": (F,)})``.

    Examples:
        >>> y, cache = rmsnorm_forward({"scale": np.ones(2)}, np.array([[3.0, 4.0]]), eps=0.5)
        >>> dx, dparams = rmsnorm_backward(np.array([[4.0, -3.0]]), cache)
        >>> dx
        array([[ 1.10940039, -0.83205029]])
    """
    x, inv_rms, x_hat, scale = cache
    dy = np.asarray(dy)
    if dy.shape != x.shape:
        raise ValueError(f"RMSNorm backward: dy must have the shape of y {x.shape}, "
                         f"got {dy.shape}")
    dparams = {"scale": (dy * x_hat).sum(axis=tuple(range(dy.ndim - 1)))}
    dx_hat = dy * scale
    drms = (dx_hat * x).sum(axis=-1, keepdims=True) * -(inv_rms**2)
    dms = drms * inv_rms / 2
    return dx_hat * inv_rms + dms * 2.0 * x / x.shape[-1], dparams
