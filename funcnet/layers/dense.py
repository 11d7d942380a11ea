"""Dense (fully connected) layer: y = x @ w + b."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcnet import _checks, initializers
from funcnet.core import Layer


def Dense(  # noqa: N802 (a layer constructor)
    features: int,
    w_init="lecun_normal",
    b_init="zeros",
    use_bias: bool = True,
    param_dtype=jnp.float32,
    compute_dtype=None,
) -> Layer:
    """Fully connected layer ``y = x @ w + b``.

    Args:
        features: output width ``out``.
        w_init: initializer (or its name) for ``w: (in, out)``.
        b_init: initializer (or its name) for ``b: (out,)``.
        use_bias: whether to add ``b``.
        param_dtype: dtype of the parameters.
        compute_dtype: dtype of the computation (e.g. ``jnp.bfloat16`` for mixed
            precision): ``x``, ``w`` and ``b`` are cast to it and ``y`` comes out in it
            (so the next layer sees values rounded to it; BatchNorm still computes its
            statistics in float32), while params (and so gradients and optimizer state)
            keep ``param_dtype``;
            every funcnet loss computes in at least float32. ``None`` computes in the
            input dtype. A precision choice, not part of the model: not in ``spec``.

    Shapes: ``x: (N, in)`` (or any ``(..., in)``) -> ``y: (N, out)``.

    Examples:
        >>> layer = Dense(3, w_init="he_normal")
        >>> params, state = layer.init(jax.random.key(0), (2,))
        >>> y, _ = layer.apply(params, state, jnp.ones((4, 2)))
        >>> y.shape
        (4, 3)
    """
    features = _checks.positive_int("Dense", "features", features)
    if not isinstance(use_bias, bool):
        raise TypeError(f"Dense: use_bias must be True or False, got {use_bias!r}")
    w_init_fn, b_init_fn = initializers.get(w_init), initializers.get(b_init)

    def init(key, input_shape):
        _checks.prng_key("Dense", "key", key)
        input_shape = _checks.input_shape("Dense", input_shape,
                                          "(in_features,) or (..., in_features)")
        w_key, b_key = jax.random.split(key)
        params = {"w": w_init_fn(w_key, (input_shape[-1], features), param_dtype)}
        if use_bias:
            params["b"] = b_init_fn(b_key, (features,), param_dtype)
        return params, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        shapes = {"w": ("in_features", features)}
        if use_bias:
            shapes["b"] = (features,)
        _checks.layer_params(f"Dense({features})", params, shapes)
        w = params["w"]
        _checks.min_rank("Dense", "x", x, 1, "(batch, in_features)")
        _checks.floating_array("Dense", "x", x)
        if x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"Dense({features}): x must have last dimension {w.shape[0]} "
                f"(the in_features of w {tuple(w.shape)}), got x shape {tuple(x.shape)}"
            )
        if compute_dtype is None:
            y = x @ w
            if use_bias:
                y = y + params["b"]
            return y, state
        # The result stays in compute_dtype (as Flax's ``dtype`` does): tensor cores and
        # XLA:CPU still sum the products in float32 and round only the result. A float32
        # result would make the float32 cotangent flowing back turn both backward
        # matmuls into float32 ones, at a fraction of the bf16 rate.
        y = x.astype(compute_dtype) @ w.astype(compute_dtype)
        if use_bias:
            y = y + params["b"].astype(compute_dtype)
        return y, state

    return Layer(init, apply, name="dense",
                 spec={"type": "Dense", "features": features, "use_bias": use_bias},
                 needs_key=False)
