"""2-D convolution over NHWC images with an HWIO kernel."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcnet import _checks, initializers
from funcnet.core import Layer
from funcnet.layers import _windows

_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")


def Conv2D(  # noqa: N802 (a layer constructor)
    features: int,
    kernel_size,
    strides=1,
    padding="SAME",
    dilation=1,
    use_bias: bool = True,
    w_init="lecun_normal",
    b_init="zeros",
    param_dtype=jnp.float32,
    compute_dtype=None,
) -> Layer:
    """2-D convolution (cross-correlation, as in every DL library) ``y = conv(x, w) + b``.

    ``y[n, i, j, o] = b[o] + sum_{p, q, c} x_pad[n, i*sh + p*dh, j*sw + q*dw, c] w[p, q, c, o]``

    Args:
        features: output channels ``O``.
        kernel_size: ``k`` or ``(kh, kw)``.
        strides: ``s`` or ``(sh, sw)``.
        padding: ``"SAME"`` (output ``ceil(H / sh)`` by ``ceil(W / sw)``, the extra cell
            of an odd total padding at the bottom/right), ``"VALID"`` (no padding), an
            int ``p`` (``p`` zeros on every side) or ``((top, bottom), (left, right))``.
        dilation: kernel dilation ``d`` or ``(dh, dw)`` (atrous convolution).
        use_bias: whether to add ``b``.
        w_init: initializer (or its name) for ``w: (kh, kw, C, O)``; fan_in is
            ``kh*kw*C`` and fan_out ``kh*kw*O``.
        b_init: initializer (or its name) for ``b: (O,)``.
        param_dtype: dtype of the parameters.
        compute_dtype: dtype of the computation (e.g. ``jnp.bfloat16``): ``x``, ``w``
            and ``b`` are cast to it and ``y`` comes out in it (products are still
            summed in float32 by the hardware), while params keep ``param_dtype``;
            every funcnet loss computes in at least float32. ``None`` computes in the
            input dtype. Not part of ``spec`` (a precision choice, not the model).

    Shapes: ``x: (N, H, W, C)`` -> ``y: (N, H_out, W_out, O)`` with
    ``H_out = (H + top + bottom - ((kh - 1) * dh + 1)) // sh + 1`` (likewise W).

    Example:
        >>> layer = Conv2D(4, 3, strides=2)
        >>> params, state = layer.init(jax.random.key(0), (5, 6, 2))
        >>> jax.tree.map(jnp.shape, params)
        {'b': (4,), 'w': (3, 3, 2, 4)}
        >>> y, _ = layer.apply(params, state, jnp.ones((1, 5, 6, 2)))
        >>> y.shape
        (1, 3, 3, 4)
    """
    where = f"Conv2D({features})"
    features = _checks.positive_int("Conv2D", "features", features)
    kernel_size = _windows.int_pair(where, "kernel_size", kernel_size)
    strides = _windows.int_pair(where, "strides", strides)
    dilation = _windows.int_pair(where, "dilation", dilation)
    padding = _windows.normalize_padding(where, padding)
    if not isinstance(use_bias, bool):
        raise TypeError(f"{where}: use_bias must be True or False, got {use_bias!r}")
    w_init_fn, b_init_fn = initializers.get(w_init), initializers.get(b_init)
    window = _windows.effective_window(kernel_size, dilation)

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        input_shape = _checks.input_shape(where, input_shape,
                                          "(height, width, channels)", rank=3)
        w_key, b_key = jax.random.split(key)
        params = {"w": w_init_fn(w_key, (*kernel_size, input_shape[-1], features), param_dtype)}
        if use_bias:
            params["b"] = b_init_fn(b_key, (features,), param_dtype)
        return params, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        shapes = {"w": (*kernel_size, "in_channels", features)}
        if use_bias:
            shapes["b"] = (features,)
        _checks.layer_params(where, params, shapes)
        w = params["w"]
        _checks.exact_rank(where, "x", x, 4, "(batch, height, width, channels)")
        _checks.floating_array(where, "x", x)
        if x.shape[-1] != w.shape[2]:
            raise ValueError(
                f"{where}: x must have {w.shape[2]} channels (the in_channels of w "
                f"{tuple(w.shape)}), got x shape {tuple(x.shape)}"
            )
        pads = _windows.explicit_pads(padding, x.shape[1:3], window, strides)
        _windows.output_hw(where, x.shape[1:3], pads, window, strides, "dilated kernel")
        # In compute_dtype the result stays in it too (see Dense for why).
        dtype = jnp.result_type(x, w) if compute_dtype is None else compute_dtype
        y = jax.lax.conv_general_dilated(
            x.astype(dtype), w.astype(dtype), window_strides=strides,
            padding=pads, rhs_dilation=dilation, dimension_numbers=_DIMENSION_NUMBERS,
        )
        if use_bias:
            y = y + (params["b"] if compute_dtype is None else params["b"].astype(dtype))
        return y, state

    spec = {"type": "Conv2D", "features": features, "kernel_size": list(kernel_size),
            "strides": list(strides), "padding": _windows.padding_to_spec(padding),
            "dilation": list(dilation), "use_bias": use_bias}
    # XLA:CPU runs a convolution inside a while loop (lax.scan) several times slower
    # than at top level (measured 4x on the MNIST CNN, jax 0.10).
    return Layer(init, apply, name="conv", spec=spec, needs_key=False, scan_friendly=False)
