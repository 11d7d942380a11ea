"""Batch normalization over the last (feature/channel) axis, running statistics in ``state``.

Conventions (``reference.batchnorm`` follows the same ones):

* training: normalize with the batch mean and the *biased* batch variance
  ``var = mean((x - mean)^2)`` over every axis but the last (N for ``(N, C)``,
  N, H, W for NHWC images), then update
  ``running = momentum * running + (1 - momentum) * batch`` for both ``mean`` and
  ``var``, the running variance also biased (as Flax and Keras; PyTorch stores the
  unbiased one). The running statistics are not differentiated through.
* evaluation: normalize with the running statistics; ``state`` is returned unchanged.
  Before any training step they are the initial ``mean = 0``, ``var = 1``, so
  evaluation then computes ``scale * x / sqrt(1 + eps) + bias``: defined, but not
  normalized. Train first (or load trained state) before evaluating.
* a training batch with a single value per feature (``N == 1`` for ``(N, C)``,
  ``N*H*W == 1`` for images) has no variance and raises a ValueError; evaluation mode
  accepts any batch size.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks, initializers
from funcnet._dtypes import at_least_float32
from funcnet.core import Layer


def _check_state(where: str, state, features: int) -> None:
    if (not isinstance(state, dict) or set(state) != {"mean", "var"}
            or any(np.shape(state[k]) != (features,) for k in ("mean", "var"))):
        got = (jax.tree.map(np.shape, state) if isinstance(state, dict)
               else type(state).__name__)
        raise ValueError(
            f"{where}: state must be the running statistics {{'mean': ({features},), "
            f"'var': ({features},)}} made by init, got {got}; pass the state from "
            f"model.init, then the state each apply returns"
        )
    # an integer state would truncate every running-statistics update
    _checks.layer_params(where, state, {"mean": (features,), "var": (features,)},
                         name="state")


def BatchNorm(  # noqa: N802 (a layer constructor)
    momentum: float = 0.9,
    eps: float = 1e-5,
    scale_init="ones",
    bias_init="zeros",
    param_dtype=jnp.float32,
) -> Layer:
    """Batch normalization ``y = scale * (x - mean) / sqrt(var + eps) + bias``.

    Statistics are per feature (last axis): the batch's in training, the running
    ones in ``state`` in evaluation (see the module docstring for the exact rules).

    Args:
        momentum: weight of the old running statistics in each update, in ``[0, 1)``.
        eps: added to the variance before the square root, > 0.
        scale_init: initializer (or its name) for ``scale: (C,)``.
        bias_init: initializer (or its name) for ``bias: (C,)``.
        param_dtype: dtype of the parameters and the running statistics.

    Shapes: ``x: (N, C)`` or ``(N, H, W, C)`` (any ``(N, ..., C)``) -> ``y`` the same.

    Examples:
        >>> layer = BatchNorm()
        >>> params, state = layer.init(jax.random.key(0), (3,))
        >>> jax.tree.map(jnp.shape, (params, state))
        ({'bias': (3,), 'scale': (3,)}, {'mean': (3,), 'var': (3,)})
        >>> y, state = layer.apply(params, state, jnp.arange(6.0).reshape(2, 3), train=True)
        >>> state["mean"]
        Array([0.15, 0.25, 0.35], dtype=float32)
    """
    # both meet the statistics in float32 at the least
    momentum = _checks.unit_interval("BatchNorm", "momentum", momentum,
                                     dtype=_checks.USED_DTYPE)
    eps = _checks.positive_float("BatchNorm", "eps", eps, dtype=_checks.USED_DTYPE)
    where = f"BatchNorm(momentum={momentum}, eps={eps})"
    scale_init_fn, bias_init_fn = initializers.get(scale_init), initializers.get(bias_init)

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        input_shape = _checks.input_shape(where, input_shape,
                                          "(features,) or (height, width, channels)")
        features = input_shape[-1]
        scale_key, bias_key = jax.random.split(key)
        params = {"scale": scale_init_fn(scale_key, (features,), param_dtype),
                  "bias": bias_init_fn(bias_key, (features,), param_dtype)}
        state = {"mean": jnp.zeros((features,), param_dtype),
                 "var": jnp.ones((features,), param_dtype)}
        return params, state

    def apply(params, state, x, *, train=False, key=None):
        del key
        features = _checks.layer_params(where, params, {"scale": ("features",),
                                                        "bias": ("features",)})["features"]
        _checks.min_rank(where, "x", x, 2, "(batch, ..., features)")
        _checks.floating_array(where, "x", x)
        if x.shape[-1] != features:
            raise ValueError(
                f"{where}: x must have {features} features on its last axis (the size "
                f"of scale), got x shape {tuple(x.shape)}"
            )
        _check_state(where, state, features)
        # statistics in at least float32: a bf16 input (after a compute_dtype layer)
        # would otherwise be summed and squared in 8 bits of mantissa
        x = at_least_float32(x)
        if train:
            count = math.prod(x.shape[:-1])
            if count <= 1:
                raise ValueError(
                    f"{where}: training needs more than one value per feature to compute "
                    f"a variance, got x shape {tuple(x.shape)}; use a batch of 2 or more, "
                    f"or train=False to normalize with the running statistics"
                )
            axes = tuple(range(x.ndim - 1))
            mean = jnp.mean(x, axis=axes)
            var = jnp.mean(jnp.square(x - mean), axis=axes)
            new_state = {
                name: (momentum * state[name]
                       + (1 - momentum) * jax.lax.stop_gradient(batch)).astype(state[name].dtype)
                for name, batch in (("mean", mean), ("var", var))
            }
        else:
            mean, var, new_state = state["mean"], state["var"], state
        y = params["scale"] * (x - mean) / jnp.sqrt(var + eps) + params["bias"]
        return y, new_state

    spec = {"type": "BatchNorm", "momentum": momentum, "eps": eps}
    return Layer(init, apply, name="batch_norm", spec=spec, needs_key=False)

