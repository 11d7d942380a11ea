"""Batch normalization over the last axis as a forward/backward pair, with running state.

Same conventions as ``funcnet.layers.batchnorm``: training normalizes with the batch mean and
the biased batch variance over every axis but the last and updates
``running = momentum * running + (1 - momentum) * batch`` (running variance biased
too); evaluation uses the running statistics (mean 0, var 1 before any training) and
leaves them unchanged; a training batch with one value per feature raises.

``params = {"scale": (C,), "bias": (C,)}``, ``state = {"mean": (C,), "var": (C,)}``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from reference import _checks


def check_hyperparameters(momentum, eps) -> tuple[float, float, str]:
    """Return ``(momentum, eps, where)`` as floats after checking them; ``where`` names the layer.

    Examples:
        >>> check_hyperparameters(0.9, 1e-5)
        (0.9, 1e-05, 'BatchNorm(momentum=0.9, eps=1e-05)')
    """
    for name, value in (("momentum", momentum), ("eps", eps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"BatchNorm: {name} must be a real number, "
                            f"got {type(value).__name__}")
    if not (math.isfinite(momentum) and 0 <= momentum < 1):
        raise ValueError(f"BatchNorm: momentum must be in [0, 1), got {momentum!r}")
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"BatchNorm: eps must be finite and > 0, got {eps!r}")
    momentum, eps = float(momentum), float(eps)
    return momentum, eps, f"BatchNorm(momentum={momentum}, eps={eps})"


def _arrays(where, params, state, x):
    x = _checks.float_array(where, "x", x)
    _checks.min_rank(where, "x", x, 2, "(batch, ..., features)")
    c = x.shape[-1]
    for tree, names, what in ((params, ("scale", "bias"), "params"),
                              (state, ("mean", "var"), "state")):
        if (not isinstance(tree, dict) or set(tree) != set(names)
                or any(np.shape(tree[k]) != (c,) for k in names)):
            got = ({k: np.shape(v) for k, v in tree.items()} if isinstance(tree, dict)
                   else type(tree).__name__)
            raise ValueError(f"{where}: {what} must be {{{names[0]!r}: ({c},), "
                             f"{names[1]!r}: ({c},)}} for x shape {x.shape}, got {got}")
    return x, *(np.asarray(params[k]) for k in ("scale", "bias")), \
        *(np.asarray(state[k]) for k in ("mean", "var"))


def batchnorm_forward(params, state, x, *, train, momentum=0.9, eps=1e-5):
    """Y = scale * (X - mu) / sqrt(var + eps) + bias; mu, var of the batch or running.

    Args:
        params: ``{"scale": (C,), "bias": (C,)}``.
        state: ``{"mean": (C,), "var": (C,)}`` running statistics.
        x: ``(N, C)`` or ``(N, H, W, C)`` (any ``(N, ..., C)``) float array.
        train: batch statistics and a state update, or running statistics.
        momentum: weight of the old running statistics, in ``[0, 1)``.
        eps: added to the variance, > 0.

    Returns:
        ``(y, new_state, cache)`` with ``y`` the shape of ``x``.

    Examples:
        >>> params = {"scale": np.ones(2), "bias": np.zeros(2)}
        >>> state = {"mean": np.zeros(2), "var": np.ones(2)}
        >>> x = np.array([[0.0, 1.0], [2.0, 5.0]])
        >>> y, state, cache = batchnorm_forward(params, state, x, train=True)
        >>> np.round(y, 4), state["mean"]
        (array([[-1., -1.],
               [ 1.,  1.]]), array([0.1, 0.3]))
    """
    momentum, eps, where = check_hyperparameters(momentum, eps)
    x, scale, bias, running_mean, running_var = _arrays(where, params, state, x)
    axes = tuple(range(x.ndim - 1))
    m = math.prod(x.shape[:-1])
    if train:
        if m == 1:
            raise ValueError(
                f"{where}: training needs more than one value per feature to compute a "
                f"variance, got x shape {x.shape}; use a batch of 2 or more, or "
                f"train=False to normalize with the running statistics"
            )
        mu = x.mean(axis=axes)
        xc = x - mu
        var = (xc**2).mean(axis=axes)
        new_state = {"mean": momentum * running_mean + (1 - momentum) * mu,
                     "var": momentum * running_var + (1 - momentum) * var}
    else:
        mu, var = running_mean, running_var
        xc = x - mu
        new_state = {"mean": running_mean, "var": running_var}
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv_std
    y = scale * x_hat + bias
    return y, new_state, (train, axes, m, xc, var, inv_std, x_hat, scale)


def batchnorm_backward(dy, cache):
    """Full chain rule through the batch mean and variance (training):

    dx_hat = dY * scale;
    dvar = sum(dx_hat * (X - mu)) * -1/2 * (var + eps)^(-3/2);
    dmu = sum(-dx_hat / sqrt(var + eps)) + dvar * mean(-2 (X - mu));
    dX = dx_hat / sqrt(var + eps) + dvar * 2 (X - mu) / m + dmu / m;
    dscale = sum(dY * x_hat);  dbias = sum(dY)   (sums over every axis but the last).

    In evaluation mu and var are constants: ``dX = dY * scale / sqrt(var + eps)``.

    Args:
        dy: upstream gradient, the shape of ``y``.
        cache: from :func:`batchnorm_forward`.

    Returns:
        ``(dx, {"scale": (C,), "bias": (C,)})``.

    Examples:
        >>> params = {"scale": np.ones(2), "bias": np.zeros(2)}
        >>> state = {"mean": np.zeros(2), "var": np.ones(2)}
        >>> y, _, cache = batchnorm_forward(params, state, np.array([[0.0, 1.0], [2.0, 5.0]]),
        ...                                 train=True)
        >>> dx, dparams = batchnorm_backward(np.ones_like(y), cache)
        >>> np.round(dx, 12), dparams["bias"]
        (array([[0., 0.],
               [0., 0.]]), array([2., 2.]))
    """
    train, axes, m, xc, var, inv_std, x_hat, scale = cache
    dy = np.asarray(dy)
    if dy.shape != xc.shape:
        raise ValueError(f"BatchNorm backward: dy must have the shape of y {xc.shape}, "
                         f"got {dy.shape}")
    dparams = {"scale": (dy * x_hat).sum(axis=axes), "bias": dy.sum(axis=axes)}
    dx_hat = dy * scale
    if not train:
        return dx_hat * inv_std, dparams
    dvar = (dx_hat * xc).sum(axis=axes) * -0.5 * inv_std**3
    dmu = (-dx_hat * inv_std).sum(axis=axes) + dvar * (-2.0 * xc).mean(axis=axes)
    dx = dx_hat * inv_std + dvar * 2.0 * xc / m + dmu / m
    return dx, dparams
