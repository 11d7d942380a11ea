"""2-D convolution over NHWC images with an HWIO kernel.

On XLA:CPU the gradient comes out as two convolutions already in the NHWC/HWIO form
that XLA:CPU's fast (Eigen) convolution takes. The ones JAX's autodiff derives
have their dimensions permuted (``f01b_i01o->01bf`` for the kernel's gradient);
XLA:CPU's ``ConvCanonicalization`` pass transposes such convolutions into the fast form,
but it walks only the entry computation, so inside a ``lax.scan`` body (``fit``'s epoch
as one call) they fell to a naive loop nest: 10-13x slower per step. Other platforms
keep autodiff's convolutions (``lax.platform_dependent``, as the non-finite guard does).

On XLA:CPU the forward of a one-channel image (a grayscale first layer) is one dot over
the image's shifted copies ("taps") instead of a convolution: Eigen's convolution packs
a patch of ``kh*kw*C`` values for every output cell, which at ``C = 1`` costs more than
the few multiply-adds it feeds. A plain sum of the taps would be cheaper still, but
XLA fuses it into every consumer (the ReLU, the pool and its mask, the backward) and so
computes it three times; a dot's result is computed once. ``benchmarks/conv_paths.py``
times both forms (``results/cpu/conv_paths.md``): up to 81 taps the dot took 0.13-0.94x
the convolution's time in three runs, at 121 taps (11 x 11) 0.9-1.6x, so funcnet takes
it for one input channel and at most 81 taps. The gradients stay the two convolutions
above.

The gradient with respect to ``x`` is a convolution whose output has the layer's input
channels ``C``; with few of them (``C <= 16``) XLA:CPU's convolution runs it well below
its forward's rate. There (stride 1, no dilation, an even width) it is one convolution
that computes the even and odd columns side by side, ``2C`` output channels
(:func:`_input_grad_by_phases`): 0.46-0.85x the time at ``C`` from 4 to 16, 1.14-1.38x
at 32 to 128 (``benchmarks/conv_paths.py``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from funcnet import _checks, initializers
from funcnet.core import Layer
from funcnet.layers import _windows

_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")


def _conv_lax(x, w, strides, pads, dilation):
    return jax.lax.conv_general_dilated(x, w, window_strides=strides, padding=pads,
                                        rhs_dilation=dilation,
                                        dimension_numbers=_DIMENSION_NUMBERS)


def _taps_win(w) -> bool:
    """Whether the taps' dot is the faster forward on XLA:CPU (see the module's note)."""
    kh, kw, channels, _ = w.shape
    return channels == 1 and kh * kw <= 81


def _conv_taps(x, w, strides, pads, dilation):
    """``_conv_lax`` for one input channel: ``y[m, o] = sum_t taps[m, t] w[t, o]``, where
    row ``m = (n, i, j)`` of ``taps`` holds the padded image's cells under the dilated,
    strided window at output cell ``(i, j)``, tap ``t = (p, q)`` fastest. Sums in at
    least float32."""
    (kh, kw, _, features), (sh, sw), (dh, dw) = w.shape, strides, dilation
    xp = jax.lax.pad(x[..., 0], jnp.zeros((), x.dtype), ((0, 0, 0), (*pads[0], 0),
                                                          (*pads[1], 0)))
    n, hp, wp = xp.shape
    ho, wo = (hp - (kh - 1) * dh - 1) // sh + 1, (wp - (kw - 1) * dw - 1) // sw + 1
    if ho < 1 or wo < 1:  # no output cell: lax's own handling (and errors)
        return _conv_lax(x, w, strides, pads, dilation)
    # Two stacks of kw and then kh slices, so each copies runs of cells rather than one
    # cell at a time: (n, hp, wo, q), then (n, i, j, p, q).
    columns = jnp.stack([jax.lax.slice(xp, (0, 0, q * dw), (n, hp, q * dw + (wo - 1) * sw + 1),
                                       (1, 1, sw)) for q in range(kw)], axis=-1)
    taps = jnp.stack([jax.lax.slice(columns, (0, p * dh, 0, 0),
                                    (n, p * dh + (ho - 1) * sh + 1, wo, kw), (1, sh, 1, 1))
                      for p in range(kh)], axis=-2)
    dtype = jnp.result_type(x, w)
    y = jax.lax.dot(taps.reshape(-1, kh * kw), w.reshape(kh * kw, features),
                    preferred_element_type=jnp.promote_types(dtype, jnp.float32))
    return y.astype(dtype).reshape(n, ho, wo, features)


def _conv_cpu_forward(x, w, strides, pads, dilation):
    if _taps_win(w):
        return _conv_taps(x, w, strides, pads, dilation)
    return _conv_lax(x, w, strides, pads, dilation)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def _conv_canonical_grads(x, w, strides, pads, dilation):
    """``_conv_lax`` (or, for one channel, its taps' dot) whose gradient convolutions
    are all NHWC/HWIO/NHWC."""
    return _conv_cpu_forward(x, w, strides, pads, dilation)


def _past_window(pads, w, dilation):
    """How far each side's padding reaches past the dilated window (``pad - (k - 1)``,
    at least 0): where it does, ``x``'s gradient pads its cotangent negatively."""
    window = _windows.effective_window(w.shape[:2], dilation)
    return [(max(lo - (k - 1), 0), max(hi - (k - 1), 0))
            for (lo, hi), k in zip(pads, window, strict=True)]


def _phases_win(x, w, strides, pads, dilation) -> bool:
    """Whether ``x``'s gradient is the faster as two column phases on XLA:CPU (see the
    module's note). Only where no padding reaches past the window: XLA:CPU folds the
    negative pad that would need into the convolution, whose float32 kernel then read
    garbage (values up to 1e35 in a test)."""
    return (tuple(strides) == (1, 1) and tuple(dilation) == (1, 1)
            and x.shape[2] % 2 == 0 and w.shape[2] <= 16
            and not any(a or b for a, b in _past_window(pads, w, dilation)))


def _input_grad_by_phases(w, g, pads, x_hw):
    """``x``'s gradient of ``y = conv(x, w)`` (stride 1, no dilation, even width) for the
    cotangent ``g: (N, H_out, W_out, O)``, as one convolution of stride 2 along the width
    whose ``2C`` output channels are the gradient's even and odd columns.

    The gradient is ``g`` padded by ``k - 1 - pad`` on each side, correlated with the
    kernel flipped in space, its channels swapped: ``f: (kh, kw, O, C)``. Column
    ``2j + r`` of it reads the window starting at padded column ``2j`` with the kernel
    shifted right by ``r``: kernel ``[f, 0]`` for ``r = 0``, ``[0, f]`` for ``r = 1``, one
    ``(kh, kw + 1, O, 2C)`` kernel for both. 20% more multiply-adds at ``kw = 5``, and an
    output twice as wide in channels, which XLA:CPU's convolution runs at nearly twice
    the rate when ``C <= 16``.
    """
    kh, kw, channels, features = w.shape
    flipped = jnp.flip(w, (0, 1)).swapaxes(2, 3)
    zeros = jnp.zeros((kh, 1, features, channels), w.dtype)
    kernel = jnp.stack([jnp.concatenate([flipped, zeros], 1),
                        jnp.concatenate([zeros, flipped], 1)], axis=3)
    (top, bottom), (left, right) = pads
    g = jax.lax.pad(g, jnp.zeros((), g.dtype), ((0, 0, 0), (kh - 1 - top, kh - 1 - bottom, 0),
                                                (kw - 1 - left, kw - 1 - right, 0), (0, 0, 0)))
    y = jax.lax.conv_general_dilated(
        g, kernel.reshape(kh, kw + 1, features, 2 * channels), (1, 2), "VALID",
        dimension_numbers=_DIMENSION_NUMBERS)
    return y.reshape(g.shape[0], *x_hw, channels)


def _input_tangent(dx, w, strides, pads, dilation):
    """``x``'s tangent term, ``conv(dx, w)`` with the kernel's channels swapped (HWOI),
    with no side padded past the dilated window.

    Its transpose, the gradient, pads the cotangent by ``window - 1 - pad`` on each
    side: negative for a padding past the window, and XLA:CPU's float32 convolution with
    a negative padding reads garbage (up to 1e37; plain ``lax`` too, in 4 of 57 random
    cases at stride 1). So, at stride 1, the excess pads ``dx`` first, and the gradient
    crops it with a slice."""
    excess = _past_window(pads, w, dilation)
    # stride 1 only: with strides, XLA's simplifier aborts the process on the padded
    # form (a dilated, strided case: "Window dimensions do not match RHS shape")
    if tuple(strides) == (1, 1) and any(a or b for a, b in excess):
        dx = jax.lax.pad(dx, jnp.zeros((), dx.dtype),
                         ((0, 0, 0), *((a, b, 0) for a, b in excess), (0, 0, 0)))
        pads = tuple((lo - a, hi - b) for (lo, hi), (a, b) in zip(pads, excess, strict=True))
    return jax.lax.conv_general_dilated(
        dx, jnp.swapaxes(w, 2, 3), window_strides=strides, padding=pads,
        rhs_dilation=dilation, dimension_numbers=("NHWC", "HWOI", "NHWC"))


def _conv_jvp(strides, pads, dilation, primals, tangents):
    """The tangent written so that JAX's own transposes of it (its gradient rules, with
    their padding maths) come out as NHWC/HWIO convolutions on physically transposed
    arrays: the kernel with its channels swapped (HWOI) for ``x``'s tangent, or, where
    :func:`_phases_win`, the transpose of :func:`_input_grad_by_phases` (so the
    gradient is that convolution); ``x`` as (C, H, W, N), the kernel's tangent as (I, H,
    W, O) and the output as (H, W, N, O) for ``w``'s. Forward mode works as well (its own
    convolutions are not the fast form: a rarely used direction)."""
    (x, w), (dx, dw) = primals, tangents
    y = _conv_cpu_forward(x, w, strides, pads, dilation)
    terms = []
    if not isinstance(dx, jax.custom_derivatives.SymbolicZero):
        if _phases_win(x, w, strides, pads, dilation):
            by_phases = jax.linear_transpose(
                lambda g: _input_grad_by_phases(w, g, pads, x.shape[1:3]),
                jax.ShapeDtypeStruct(y.shape, y.dtype))
            terms.append(by_phases(dx)[0])
        else:
            terms.append(_input_tangent(dx, w, strides, pads, dilation))
    if not isinstance(dw, jax.custom_derivatives.SymbolicZero):
        hwno = jax.lax.conv_general_dilated(
            jnp.transpose(x, (3, 1, 2, 0)), jnp.transpose(dw, (2, 0, 1, 3)),
            window_strides=strides, padding=pads, rhs_dilation=dilation,
            dimension_numbers=("CHWN", "IHWO", "HWNC"))
        terms.append(jnp.transpose(hwno, (2, 0, 1, 3)))
    return y, sum(terms[1:], terms[0])


# symbolic zeros: no convolution for the tangent of an input nobody differentiates
_conv_canonical_grads.defjvp(_conv_jvp, symbolic_zeros=True)


def conv2d(x, w, strides, pads, dilation):
    """``lax.conv_general_dilated`` over NHWC/HWIO; on CPU with the gradient above.

    Args:
        x: ``(N, H, W, C)``.
        w: ``(kh, kw, C, O)``.
        strides, dilation: ``(sh, sw)``, ``(dh, dw)``.
        pads: ``((top, bottom), (left, right))``.

    Returns:
        ``(N, H_out, W_out, O)``, the same values and gradients on every platform.

    Examples:
        >>> x, w = jnp.ones((1, 4, 4, 1)), jnp.ones((3, 3, 1, 2))
        >>> conv2d(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1))[0, :, :, 0]
        Array([[4., 6., 6., 4.],
               [6., 9., 9., 6.],
               [6., 9., 9., 6.],
               [4., 6., 6., 4.]], dtype=float32)
    """
    return jax.lax.platform_dependent(
        x, w, cpu=lambda x, w: _conv_canonical_grads(x, w, strides, pads, dilation),
        default=lambda x, w: _conv_lax(x, w, strides, pads, dilation))



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

    Examples:
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
        y = conv2d(x.astype(dtype), w.astype(dtype), strides, tuple(pads), dilation)
        if use_bias:
            y = y + (params["b"] if compute_dtype is None else params["b"].astype(dtype))
        return y, state

    spec = {"type": "Conv2D", "features": features, "kernel_size": list(kernel_size),
            "strides": list(strides), "padding": _windows.padding_to_spec(padding),
            "dilation": list(dilation), "use_bias": use_bias}
    return Layer(init, apply, name="conv", spec=spec, needs_key=False)
