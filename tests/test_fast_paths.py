"""The XLA:CPU fast paths of Conv2D (its gradient's layouts, a one-channel forward as a
dot) and of the non-overlapping pools give the values and gradients of the
straightforward lax version (1e-12 relative in float64, 1e-6 in float32), a max pool's
ties included; the CPU program holds only the fast kernels and every other platform
keeps lax's (checked on the lowered programs)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcnet.core import Sequential
from funcnet.layers.conv import Conv2D
from funcnet.layers.pool import AvgPool2D, MaxPool2D

TOLERANCE = {jnp.float64: 1e-12, jnp.float32: 1e-6}


def _assert_close(actual, expected, dtype):
    """Relative to the largest entry of ``expected`` (a gradient may be 0 in places)."""
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        assert a.dtype == e.dtype == dtype and a.shape == e.shape
        scale = max(float(jnp.max(jnp.abs(e))), np.finfo(dtype).tiny)
        error = float(jnp.max(jnp.abs(a - e))) / scale
        assert error <= TOLERANCE[dtype], error


def _values_and_grads(f, seed, *args):
    """``f(*args)`` and its gradients for a random cotangent (each output cell's differs),
    in one compiled call."""
    out = jax.eval_shape(f, *args)
    cotangent = np.random.default_rng(seed + 1).normal(size=out.shape).astype(out.dtype)

    def run(*args):
        y, vjp = jax.vjp(f, *args)
        return y, vjp(cotangent)

    return jax.jit(run)(*args)


@st.composite
def conv_cases(draw, channels=None, phases=False):
    """A Conv2D case. ``channels``: that many input channels (1: the taps' forward);
    ``phases``: stride 1, no dilation, an even width and no side padded past the window
    (the input gradient by column phases)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (1, 1) if phases else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1) if phases else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # pads up to 4 cells: more than a window's span, so the gradient's pads go negative
    pads = tuple((draw(st.integers(0, k - 1 if phases else 4)),
                  draw(st.integers(0, k - 1 if phases else 4))) for k in kernel)
    hw = [draw(st.integers(max(1, (k - 1) * d + 1 - sum(p)), 7))
          for k, d, p in zip(kernel, dilation, pads, strict=True)]
    if phases:
        hw[1] = 2 * draw(st.integers(max(1, -(-(kernel[1] - sum(pads[1])) // 2)), 4))
    shape = (draw(st.integers(1, 3)), *hw, channels or draw(st.integers(1, 3)))
    dtype = draw(st.sampled_from([jnp.float64, jnp.float32]))
    features = draw(st.integers(1, 4)) if channels or phases else 2
    return kernel, strides, dilation, pads, shape, dtype, features, draw(st.integers(0, 2**16))


def _check_conv_against_lax(case):
    """Values and gradients against lax's convolution in float64, rounded to the case's
    dtype: in float32, XLA:CPU's own gradient of a padding past the window can be
    garbage (``funcnet.layers.conv._conv_cpu``)."""
    kernel, strides, dilation, pads, shape, dtype, features, seed = case
    layer = Conv2D(features, kernel, strides=strides, padding=pads, dilation=dilation,
                   use_bias=False, param_dtype=dtype)
    params, _ = layer.init(jax.random.key(seed), shape[1:])
    x = jnp.asarray(np.random.default_rng(seed).normal(size=shape), dtype)

    def lax_conv(w, x):
        return jax.lax.conv_general_dilated(x, w, strides, pads, rhs_dilation=dilation,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def funcnet_conv(w, x):
        return layer.apply({"w": w}, {}, x)[0]

    exact = _values_and_grads(lax_conv, seed, params["w"].astype(jnp.float64),
                              x.astype(jnp.float64))
    _assert_close(_values_and_grads(funcnet_conv, seed, params["w"], x),
                  jax.tree.map(lambda a: a.astype(dtype), exact), dtype)
    out = jax.eval_shape(funcnet_conv, params["w"], x)

    def gradients(w, x, cotangent):
        return jax.vjp(funcnet_conv, w, x)[1](cotangent)

    return (jax.jit(funcnet_conv).lower(params["w"], x).as_text(),
            jax.jit(gradients).lower(params["w"], x, jnp.zeros(out.shape, out.dtype)).as_text())


@settings(max_examples=3)
@given(conv_cases())
def test_conv2d_values_and_gradients_equal_lax_conv(case):
    _check_conv_against_lax(case)


@settings(max_examples=3)
@given(conv_cases(channels=1))
def test_one_channel_forward_is_the_taps_dot_with_lax_conv_values_and_gradients(case):
    forward, _ = _check_conv_against_lax(case)
    # on CPU the taps' dot replaced the forward convolution (GPU keeps it)
    if jax.default_backend() == "cpu":
        assert "stablehlo.dot_general" in forward and "stablehlo.convolution" not in forward


@settings(max_examples=3)
@given(conv_cases(phases=True))
def test_input_gradient_by_column_phases_equals_lax_conv(case):
    _, gradients = _check_conv_against_lax(case)
    if jax.default_backend() == "cpu":
        # the gradient with respect to x is one convolution of stride 2 along the width
        assert "stride = [1, 2]" in gradients


def test_a_float32_padding_past_the_window_has_the_exact_gradient():
    # cases where XLA:CPU's own gradient of lax's convolution read garbage in float32
    for kernel, pads, shape, features in [((3, 1), ((5, 0), (1, 1)), (2, 2, 1, 3), 3),
                                          ((1, 3), ((1, 1), (5, 0)), (1, 4, 8, 3), 3),
                                          ((3, 1), ((4, 1), (3, 2)), (3, 5, 2, 1), 7),
                                          ((2, 3), ((2, 0), (5, 5)), (1, 1, 5, 3), 6)]:
        _check_conv_against_lax((kernel, (1, 1), (1, 1), pads, shape, jnp.float32,
                                 features, 0))


@st.composite
def pool_cases(draw):
    window = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple((draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))) for k in window)
    # any size, so some inputs end in a partial window (VALID drops it)
    hw = tuple(draw(st.integers(max(1, k - sum(p)), 3 * k + 1))
               for k, p in zip(window, pads, strict=True))
    shape = (draw(st.integers(1, 2)), *hw, draw(st.integers(1, 3)))
    dtype = draw(st.sampled_from([jnp.float64, jnp.float32]))
    return window, pads, shape, dtype, draw(st.integers(0, 2**16))


@settings(max_examples=5)
@given(pool_cases(), st.sampled_from(["MaxPool2D", "AvgPool2D"]))
def test_non_overlapping_pools_equal_reduce_window_ties_included(case, kind):
    window, pads, shape, dtype, seed = case
    layer = {"MaxPool2D": MaxPool2D, "AvgPool2D": AvgPool2D}[kind](window, padding=pads)
    # Values on a grid of 5, so most max-pool windows hold ties: the gradient must go
    # to the first maximum in row-major window order, as select-and-scatter sends it.
    x = jnp.asarray(np.random.default_rng(seed).integers(-2, 3, size=shape), dtype)
    dims, full_pads = (1, *window, 1), ((0, 0), *pads, (0, 0))

    def lax_pool(x):
        if kind == "MaxPool2D":
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, dims, dims, full_pads)
        sums = jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, dims, full_pads)
        ones = jnp.ones_like(x)
        return sums / jax.lax.reduce_window(ones, 0.0, jax.lax.add, dims, dims, full_pads)

    def funcnet_pool(x):
        return layer.apply({}, {}, x)[0]

    (y, (dx,)), (y_lax, (dx_lax,)) = (_values_and_grads(funcnet_pool, seed, x),
                                      _values_and_grads(lax_pool, seed, x))
    _assert_close((y, dx), (y_lax, dx_lax), dtype)
    if kind == "MaxPool2D":
        # the same cell gets the gradient, not a share of it: exact, not only close
        np.testing.assert_array_equal(dx, dx_lax)


def test_conv2d_forward_mode_and_second_derivatives_equal_lax_conv():
    layer = Conv2D(2, (2, 3), strides=(2, 1), padding="SAME", use_bias=False,
                   param_dtype=jnp.float64)
    params, _ = layer.init(jax.random.key(1), (5, 4, 3))
    x, tangent = (jnp.asarray(np.random.default_rng(seed).normal(size=(2, 5, 4, 3)))
                  for seed in (1, 2))

    def lax_conv(w, x):
        return jax.lax.conv_general_dilated(x, w, (2, 1), ((0, 1), (1, 1)),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def funcnet_conv(w, x):
        return layer.apply({"w": w}, {}, x)[0]

    def jvp_and_hessian(conv):
        def loss(w):
            return jnp.sum(jnp.sin(conv(w, x)))

        return (jax.jvp(conv, (params["w"], x), (2.0 * params["w"], tangent)),
                jax.jit(jax.hessian(loss))(params["w"]))

    _assert_close(jvp_and_hessian(funcnet_conv), jvp_and_hessian(lax_conv), jnp.float64)


def test_max_pool_forward_mode_gives_the_first_maximum_its_tangent():
    x = jnp.zeros((1, 2, 2, 1))  # one window, four tied cells
    tangent = jnp.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    _, dy = jax.jvp(lambda x: MaxPool2D(2).apply({}, {}, x)[0], (x,), (tangent,))
    np.testing.assert_array_equal(dy.ravel(), [1.0])


def _lowered_step(platform):
    """The gradient of a small CNN inside lax.scan, lowered for ``platform``."""
    model = Sequential([Conv2D(3, 3, strides=2), MaxPool2D(2), AvgPool2D(2)])
    params, state = model.init(jax.random.key(0), (9, 9, 2))
    xs = jnp.ones((2, 2, 9, 9, 2), jnp.float32)

    def epoch(params, xs):
        def body(params, x):
            g, dx = jax.grad(lambda p, x: jnp.sum(model.apply(p, state, x)[0] ** 2),
                             (0, 1))(params, x)
            return jax.tree.map(lambda p, g: p - 0.1 * g, params, g), dx

        return jax.lax.scan(body, params, xs)

    return jax.export.export(jax.jit(epoch), platforms=[platform])(params, xs).mlir_module()


def _conv_dimension_numbers(text):
    return [line.split("dim_numbers = ")[1].split(", window")[0]
            for line in text.splitlines() if "stablehlo.convolution" in line]


def test_cpu_program_has_only_fast_kernels_and_gpu_keeps_lax_kernels():
    cpu, gpu = _lowered_step("cpu"), _lowered_step("cuda")
    canonical = "[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]"
    # XLA:CPU's fast convolution is NHWC/HWIO; others inside a loop run as naive loops.
    assert _conv_dimension_numbers(cpu) == [canonical] * 3
    assert "select_and_scatter" not in cpu and "reduce_window" not in cpu
    # forward, then the kernel's and the input's gradients as JAX's autodiff writes them
    assert _conv_dimension_numbers(gpu) == [canonical,
                                            "[f, 0, 1, b]x[i, 0, 1, o]->[0, 1, b, f]",
                                            "[b, 0, 1, f]x[0, 1, o, i]->[b, 0, 1, f]"]
    assert "select_and_scatter" in gpu and "reduce_window" in gpu


def _ynn_fusions_of_a_conv_step():
    import funcnet as fn

    # YNNPACK takes a convolution of this size (not every small one)
    model = Sequential([Conv2D(32, 5), fn.relu, fn.Flatten(), fn.Dense(2)])
    params, state = model.init(jax.random.key(0), (14, 14, 16))
    tx = fn.optim.sgd(0.1)
    step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", tx, donate=False)
    compiled = step.lower(params, state, tx.init(params),
                          (jnp.ones((8, 14, 14, 16)), jnp.zeros(8, jnp.int32)),
                          jax.random.key(1)).compile()
    return compiled.as_text().count('"kind":"__ynn_fusion"')


def test_on_cpu_funcnet_leaves_convolutions_to_xla_unless_told_otherwise(monkeypatch):
    from funcnet import _compile

    option = "xla_cpu_experimental_ynn_fusion_type"
    monkeypatch.delenv("FUNCNET_YNN_CONVOLUTIONS", raising=False)
    if not _compile.compiler_options():
        pytest.skip("this jaxlib's XLA:CPU has no YNNPACK option: funcnet compiles as "
                    "jax.jit does")
    assert "CONVOLUTION" not in _compile.compiler_options()[option]
    without = _ynn_fusions_of_a_conv_step()
    monkeypatch.setenv("FUNCNET_YNN_CONVOLUTIONS", "1")
    assert _compile.compiler_options() == {}
    # XLA's default hands the convolution and its two gradients to YNNPACK as well
    assert _ynn_fusions_of_a_conv_step() > without
    monkeypatch.delenv("FUNCNET_YNN_CONVOLUTIONS")
    # a setting of the user's own is theirs: funcnet adds nothing
    monkeypatch.setenv("XLA_FLAGS", f"--{option}=individual_dot")
    assert _compile.compiler_options() == {}
