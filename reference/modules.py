"""The adapters: one builder per leaf layer type, from its spec to a :class:`Module`.

Each builder ``builder(spec, path) -> Module`` checks the layer's hyperparameters once,
then wraps the layer's forward/backward pair (from its family file: ``reference.dense``,
``reference.conv``, ...) into the :class:`Module` interface
``forward(params, state, x, ctx) -> (y, new_state, cache)`` /
``backward(dy, cache) -> (dx, dparams)``. The composite layers (Sequential, Residual)
build their children, so they live with the composition in ``reference.compose``, whose
``REGISTRY`` lists every builder.

Examples:
    >>> import numpy as np
    >>> from reference import Context
    >>> module = dense({"type": "Dense", "features": 2, "use_bias": False}, "dense_0")
    >>> y, state, cache = module.forward({"w": np.ones((3, 2))}, None, np.ones((1, 3)),
    ...                                  Context())
    >>> y, state
    (array([[3., 3.]]), {})
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from reference import _windows as _win
from reference._module import Module, _check_hyperparameters, _require_empty, _where
from reference.activations import ACTIVATIONS
from reference.batchnorm import batchnorm_backward, batchnorm_forward, check_hyperparameters
from reference.conv import conv2d_backward, conv2d_forward
from reference.dense import dense_backward, dense_forward
from reference.dropout import check_rate, dropout_backward, dropout_forward
from reference.pool import (
    avg_pool_backward,
    avg_pool_forward,
    flatten_backward,
    flatten_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)


def _features_and_bias(spec: dict, where: str) -> tuple[int, bool]:
    features, use_bias = spec.get("features"), spec.get("use_bias", True)
    if isinstance(features, bool) or not isinstance(features, numbers.Integral) or features <= 0:
        raise ValueError(f"{where}: features must be a positive integer, got {features!r}")
    if not isinstance(use_bias, bool):
        raise TypeError(f"{where}: use_bias must be True or False, got {use_bias!r}")
    return features, use_bias


def _check_param_names(where: str, params, use_bias: bool) -> None:
    names = {"w", "b"} if use_bias else {"w"}
    if not isinstance(params, Mapping) or set(params) != names:
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"{where}: params must have keys {sorted(names)} "
                         f"(use_bias={use_bias}), got {got}")


def dense(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Dense``: :func:`reference.dense.dense_forward` and backward."""
    _check_hyperparameters(spec, path, {"features", "use_bias"})
    where = _where(spec, path)
    features, use_bias = _features_and_bias(spec, where)

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        _check_param_names(where, params, use_bias)
        if np.shape(params["w"])[-1:] != (features,):
            raise ValueError(f"{where}: params['w'] must have shape (in, {features}), got "
                             f"{np.shape(params['w'])}")
        y, cache = dense_forward(dict(params), x)
        return y, {}, cache

    return Module(forward, dense_backward, path, spec)


_ACTIVATION_HYPERPARAMETERS = {"leaky_relu": {"negative_slope"}, "softmax": {"axis"},
                               "log_softmax": {"axis"}, "gelu": {"approximate"}}


def activation(spec: dict, path: str) -> Module:
    """The twin of a funcnet activation layer: ``reference.activations.ACTIVATIONS[name]``.

    Examples:
        >>> from reference import Context
        >>> module = activation({"type": "Activation", "name": "relu"}, "relu_0")
        >>> module.forward({}, None, np.array([-1.0, 2.0]), Context())[0]
        array([0., 2.])
    """
    name = spec.get("name")
    if name not in ACTIVATIONS:
        raise ValueError(f"{_where(spec, path)}: unknown activation {name!r}; expected one of "
                         f"{sorted(ACTIVATIONS)}")
    allowed = _ACTIVATION_HYPERPARAMETERS.get(name, set())
    _check_hyperparameters(spec, path, {"name"} | allowed)
    hyperparameters = {k: spec[k] for k in allowed if k in spec}
    pair = ACTIVATIONS[name]
    where = _where(spec, path)

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "params", params)
        _require_empty(where, "state", state)
        y, cache = pair.forward(x, **hyperparameters)
        return y, {}, cache

    def backward(dy, cache):
        return pair.backward(dy, cache), {}

    return Module(forward, backward, path, spec)


def conv2d(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Conv2D``: :func:`reference.conv.conv2d_forward` and backward.

    Examples:
        >>> from reference import Context
        >>> spec = {"type": "Conv2D", "features": 4, "kernel_size": (3, 3), "padding": "VALID"}
        >>> params = {"w": np.ones((3, 3, 1, 4)), "b": np.zeros(4)}
        >>> conv2d(spec, "conv2d_0").forward(params, None, np.ones((2, 5, 5, 1)),
        ...                                  Context())[0].shape
        (2, 3, 3, 4)
    """
    _check_hyperparameters(spec, path, {"features", "kernel_size", "strides", "padding",
                                        "dilation", "use_bias"})
    where = _where(spec, path)
    features, use_bias = _features_and_bias(spec, where)
    kernel_size = _win.int_pair(where, "kernel_size", spec.get("kernel_size"))
    hyper = {"strides": _win.int_pair(where, "strides", spec.get("strides", 1)),
             "dilation": _win.int_pair(where, "dilation", spec.get("dilation", 1)),
             "padding": _win.normalize_padding(where, spec.get("padding", "SAME"))}

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        _check_param_names(where, params, use_bias)
        shape = np.shape(params["w"])
        if len(shape) != 4 or shape[:2] != kernel_size or shape[3] != features:
            raise ValueError(f"{where}: params['w'] must have shape ({kernel_size[0]}, "
                             f"{kernel_size[1]}, in, {features}), got {shape}")
        y, cache = conv2d_forward(dict(params), x, **hyper)
        return y, {}, cache

    return Module(forward, conv2d_backward, path, spec)


def _stateless(spec: dict, path: str, forward_fn, backward_fn, hyper: dict) -> Module:
    """A Module around a parameter-free pair ``forward_fn(x, **hyper)``, ``backward_fn``."""
    where = _where(spec, path)

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "params", params)
        _require_empty(where, "state", state)
        y, cache = forward_fn(x, **hyper)
        return y, {}, cache

    return Module(forward, backward_fn, path, spec)


def _pool(spec: dict, path: str, forward_fn, backward_fn) -> Module:
    _check_hyperparameters(spec, path, {"window", "strides", "padding"})
    where = _where(spec, path)
    if "window" not in spec:
        raise ValueError(f"{where}: spec needs a 'window'")
    hyper = {"window": spec["window"], "strides": spec.get("strides"),
             "padding": spec.get("padding", "VALID")}
    # Validate the hyperparameters now, not at the first forward pass.
    _win.int_pair(where, "window", hyper["window"])
    if hyper["strides"] is not None:
        _win.int_pair(where, "strides", hyper["strides"])
    _win.normalize_padding(where, hyper["padding"])
    return _stateless(spec, path, forward_fn, backward_fn, hyper)


def max_pool2d(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.MaxPool2D``: :func:`reference.pool.max_pool_forward` and backward.

    Examples:
        >>> from reference import Context
        >>> module = max_pool2d({"type": "MaxPool2D", "window": 2}, "max_pool2d_0")
        >>> module.forward({}, None, np.ones((1, 4, 4, 3)), Context())[0].shape
        (1, 2, 2, 3)
    """
    return _pool(spec, path, max_pool_forward, max_pool_backward)


def avg_pool2d(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.AvgPool2D``: :func:`reference.pool.avg_pool_forward` and backward."""
    return _pool(spec, path, avg_pool_forward, avg_pool_backward)


def flatten(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Flatten``: :func:`reference.pool.flatten_forward` and backward."""
    _check_hyperparameters(spec, path, set())
    return _stateless(spec, path, flatten_forward, flatten_backward, {})


def global_avg_pool(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.GlobalAvgPool``: :func:`reference.pool.global_avg_pool_forward`."""
    _check_hyperparameters(spec, path, set())
    return _stateless(spec, path, global_avg_pool_forward, global_avg_pool_backward, {})


def dropout(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Dropout``; its training mask comes from extras.

    ``extras[path]`` is the bool keep-mask, or a function ``shape -> keep-mask`` (what
    ``funcnet.dropout_masks(model, key)`` gives for every Dropout).

    Examples:
        >>> from reference import Context
        >>> module = dropout({"type": "Dropout", "rate": 0.5}, "dropout_0")
        >>> ctx = Context(train=True, extras={"dropout_0": np.array([True, False])})
        >>> module.forward({}, None, np.ones(2), ctx)[0]
        array([2., 0.])
    """
    _check_hyperparameters(spec, path, {"rate"})
    where = _where(spec, path)
    rate = check_rate(where, spec.get("rate"))

    def forward(params, state, x, ctx):
        _require_empty(where, "params", params)
        _require_empty(where, "state", state)
        keep = None
        if ctx.train and rate > 0:
            keep = ctx.extra(path, "the keep-mask of this training step "
                                   "(funcnet.dropout_masks(model, key))")
            keep = np.asarray(keep(np.shape(x)) if callable(keep) else keep)
        y, cache = dropout_forward(x, keep, rate=rate, train=ctx.train)
        return y, {}, cache

    return Module(forward, dropout_backward, path, spec)


def batchnorm(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.BatchNorm`` (needs the state tree): batchnorm_forward/backward."""
    _check_hyperparameters(spec, path, {"momentum", "eps"})
    momentum, eps, _ = check_hyperparameters(spec.get("momentum", 0.9), spec.get("eps", 1e-5))
    where = _where(spec, path)

    def forward(params, state, x, ctx):
        if state is None:
            raise ValueError(f"{where}: BatchNorm needs its running statistics; pass "
                             f"state= (the state tree from funcnet init or the last apply)")
        return batchnorm_forward(params, state, x, train=ctx.train, momentum=momentum,
                                 eps=eps)

    return Module(forward, batchnorm_backward, path, spec)
