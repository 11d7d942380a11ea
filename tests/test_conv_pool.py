"""Conv2D, pooling, Flatten, GlobalAvgPool and Residual: forward against lax called
directly, gradient truth against reference and central differences, and bad input."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_truth import check_layer

import reference
from funcnet import initializers
from funcnet.activations import tanh
from funcnet.core import Sequential
from funcnet.layers.conv import Conv2D
from funcnet.layers.dense import Dense
from funcnet.layers.pool import AvgPool2D, Flatten, GlobalAvgPool, MaxPool2D
from funcnet.layers.residual import Residual
from reference import conv as ref_conv
from reference import pool as ref_pool

F64 = jnp.float64


def _normal(seed, shape):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape))


@st.composite
def conv_cases(draw):
    """A Conv2D configuration and an input it fits (every padding kind, stride, dilation)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kind = draw(st.sampled_from(["SAME", "VALID", "explicit"]))
    pads = (((draw(st.integers(0, 2)), draw(st.integers(0, 2))),
             (draw(st.integers(0, 2)), draw(st.integers(0, 2))))
            if kind == "explicit" else ((0, 0), (0, 0)))
    hw = []
    for axis in range(2):
        span = (kernel[axis] - 1) * dilation[axis] + 1
        smallest = 1 if kind == "SAME" else max(1, span - sum(pads[axis]))
        hw.append(draw(st.integers(smallest, smallest + 3)))
    config = {"features": draw(st.integers(1, 3)), "kernel_size": kernel, "strides": strides,
              "dilation": dilation, "padding": pads if kind == "explicit" else kind,
              "use_bias": draw(st.booleans())}
    shape = (draw(st.integers(1, 2)), *hw, draw(st.integers(1, 3)))
    return config, shape, draw(st.integers(0, 2**16))


@st.composite
def pool_cases(draw):
    """A pooling configuration (window, strides or None, padding) and an input it fits."""
    window = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    kind = draw(st.sampled_from(["SAME", "VALID", "explicit"]))
    pads = tuple((draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))) for k in window)
    padding = pads if kind == "explicit" else kind
    hw = []
    for axis in range(2):
        smallest = 1 if kind == "SAME" else max(1, window[axis] - (sum(pads[axis])
                                                                   if kind == "explicit" else 0))
        hw.append(draw(st.integers(smallest, smallest + 3)))
    shape = (draw(st.integers(1, 2)), *hw, draw(st.integers(1, 3)))
    return window, strides, padding, shape, draw(st.integers(0, 2**16))


def _lax_padding(padding):
    return padding if isinstance(padding, str) else [tuple(p) for p in padding]


# --- forward against lax called directly, and gradient truth ---------------------------
# Each example checks both, so one jit compile per drawn shape serves the two.

def _lax_pool(kind, x, window, strides, padding):
    """The pool written directly with lax.reduce_window (average over input cells)."""
    steps = (1, *(window if strides is None else strides), 1)
    lax_padding = padding if isinstance(padding, str) else [(0, 0), *padding, (0, 0)]
    dims = (1, *window, 1)
    if kind == "MaxPool2D":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, dims, steps, lax_padding)
    sums = jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, steps, lax_padding)
    counts = jax.lax.reduce_window(jnp.ones_like(x), 0.0, jax.lax.add, dims, steps,
                                   lax_padding)
    return sums / counts


@given(conv_cases())
def test_conv2d_matches_lax_conv_and_its_gradients_are_true(case):
    config, shape, seed = case
    layer = Conv2D(**config, b_init=initializers.normal(1.0), param_dtype=F64)
    params, state = layer.init(jax.random.key(seed), shape[1:])
    x = _normal(seed, shape)
    y, _ = check_layer(layer, params, state, x, seed=seed)
    expected = jax.lax.conv_general_dilated(
        x, params["w"], window_strides=config["strides"], padding=_lax_padding(config["padding"]),
        rhs_dilation=config["dilation"], dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if config["use_bias"]:
        expected = expected + params["b"]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-14)


@given(pool_cases(), st.sampled_from(["MaxPool2D", "AvgPool2D"]))
def test_pools_match_lax_reduce_window_and_their_gradients_are_true(case, kind):
    window, strides, padding, shape, seed = case
    layer = {"MaxPool2D": MaxPool2D, "AvgPool2D": AvgPool2D}[kind](window, strides, padding)
    x = _normal(seed, shape)
    # Continuous random input: no ties in a max-pool window, almost surely.
    y, _ = check_layer(layer, {}, {}, x, seed=seed)
    np.testing.assert_allclose(y, _lax_pool(kind, x, window, strides, padding), rtol=1e-13)


def test_avg_pool_same_padding_leaves_padded_cells_out_of_the_count():
    x = jnp.arange(9.0, dtype=F64).reshape(1, 3, 3, 1)
    y, _ = AvgPool2D(2, padding="SAME").apply({}, {}, x)
    # Bottom-right window covers only x[2, 2] = 8: its mean is 8, not 8 / 4.
    np.testing.assert_array_equal(y[0, :, :, 0], [[2.0, 3.5], [6.5, 8.0]])
    y_ref, _ = ref_pool.avg_pool_forward(np.asarray(x), window=2, padding="SAME")
    np.testing.assert_array_equal(y_ref, y)


def test_flatten_and_global_avg_pool_forward():
    x = _normal(0, (2, 3, 4, 5))
    np.testing.assert_array_equal(Flatten().apply({}, {}, x)[0], np.asarray(x).reshape(2, 60))
    np.testing.assert_allclose(GlobalAvgPool().apply({}, {}, x)[0],
                               np.asarray(x).mean(axis=(1, 2)), rtol=1e-14)


# --- more gradient truth -----------------------------------------------------------------

@settings(max_examples=5)
@given(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)),
       st.sampled_from(["Flatten", "GlobalAvgPool"]), st.integers(0, 2**16))
def test_flatten_and_global_avg_pool_gradients(shape, kind, seed):
    layer = {"Flatten": Flatten, "GlobalAvgPool": GlobalAvgPool}[kind]()
    check_layer(layer, {}, {}, _normal(seed, shape), seed=seed)


@settings(max_examples=4)
@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 2]), st.integers(0, 2**16))
def test_residual_conv_block_gradients(channels, kernel, dilation, seed):
    block = Sequential([Conv2D(channels, kernel, dilation=dilation, param_dtype=F64),
                        tanh,
                        Conv2D(channels, kernel, b_init=initializers.normal(1.0),
                               param_dtype=F64)])
    layer = Residual(block)
    params, state = layer.init(jax.random.key(seed), (4, 5, channels))
    assert set(params) == {"block"} and set(state) == {"block"}
    check_layer(layer, params, state, _normal(seed, (2, 4, 5, channels)), seed=seed)


def test_max_pool_tie_goes_to_the_first_maximum_in_window_order():
    x = jnp.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 3.0]], F64).reshape(1, 2, 4, 1)
    jax_dx = jax.grad(lambda xx: jnp.sum(MaxPool2D(2).apply({}, {}, xx)[0]))(x)
    y, cache = ref_pool.max_pool_forward(np.asarray(x), window=2)
    dx, _ = ref_pool.max_pool_backward(np.ones_like(y), cache)
    expected = np.array([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]).reshape(1, 2, 4, 1)
    np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(jax_dx, expected)


# --- init, specs ----------------------------------------------------------------------------

def test_conv2d_params_are_hwio_and_initializers_use_conv_fans():
    layer = Conv2D(64, (3, 3), w_init="he_normal", param_dtype=F64)
    params, state = layer.init(jax.random.key(0), (5, 6, 16))
    assert jax.tree.map(jnp.shape, params) == {"w": (3, 3, 16, 64), "b": (64,)}
    assert state == {}
    assert initializers.fans((3, 3, 16, 64)) == (3 * 3 * 16, 3 * 3 * 64)
    np.testing.assert_allclose(np.std(params["w"]), np.sqrt(2 / (3 * 3 * 16)), rtol=0.05)
    glorot = Conv2D(8, 2, w_init="glorot_uniform", use_bias=False).init(jax.random.key(1),
                                                                       (4, 4, 4))[0]
    assert set(glorot) == {"w"}
    limit = np.sqrt(6 / (2 * 2 * 4 + 2 * 2 * 8))
    assert np.max(np.abs(glorot["w"])) <= limit


@pytest.mark.parametrize("layer, spec", [
    (Conv2D(4, 3, strides=(2, 1), padding=((1, 0), (2, 2)), dilation=2),
     {"type": "Conv2D", "features": 4, "kernel_size": [3, 3], "strides": [2, 1],
      "padding": [[1, 0], [2, 2]], "dilation": [2, 2], "use_bias": True}),
    (Conv2D(2, (1, 3), padding="same", use_bias=False),
     {"type": "Conv2D", "features": 2, "kernel_size": [1, 3], "strides": [1, 1],
      "padding": "SAME", "dilation": [1, 1], "use_bias": False}),
    (MaxPool2D(2), {"type": "MaxPool2D", "window": [2, 2], "strides": [2, 2],
                    "padding": "VALID"}),
    (AvgPool2D((2, 3), strides=1, padding=1),
     {"type": "AvgPool2D", "window": [2, 3], "strides": [1, 1], "padding": [[1, 1], [1, 1]]}),
    (Flatten(), {"type": "Flatten"}),
    (GlobalAvgPool(), {"type": "GlobalAvgPool"}),
    (Residual(Dense(3)), {"type": "Residual",
                          "block": {"type": "Dense", "features": 3, "use_bias": True}}),
])
def test_specs_are_plain_json(layer, spec):
    assert layer.spec == spec
    assert json.loads(json.dumps(layer.spec)) == spec
    reference.build(json.loads(json.dumps(layer.spec)))


def test_residual_of_a_user_layer_has_no_spec():
    assert Residual(lambda x: 2 * x).spec is None


# --- bad input ------------------------------------------------------------------------------

def test_conv2d_rejects_a_3d_input():
    layer = Conv2D(2, 3)
    params, state = layer.init(jax.random.key(0), (5, 6, 1))
    match = r"Conv2D\(2\): x must have 4 dimensions \(batch, height, width, channels\), got"
    with pytest.raises(ValueError, match=match + r" shape \(5, 6, 1\)"):
        layer.apply(params, state, jnp.ones((5, 6, 1)))
    with pytest.raises(ValueError, match=r"x must have 4 dimensions"):
        ref_conv.conv2d_forward(jax.tree.map(np.asarray, params), np.ones((5, 6, 1)))
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\)"):
        layer.init(jax.random.key(0), (5, 6))


def test_conv2d_rejects_a_channel_count_not_matching_the_kernel():
    layer = Conv2D(2, 3)
    params, state = layer.init(jax.random.key(0), (5, 6, 3))
    with pytest.raises(ValueError, match=r"x must have 3 channels \(the in_channels of w "
                                         r"\(3, 3, 3, 2\)\), got x shape \(1, 5, 6, 2\)"):
        layer.apply(params, state, jnp.ones((1, 5, 6, 2)))
    with pytest.raises(ValueError, match=r"x must have 3 channels"):
        ref_conv.conv2d_forward(jax.tree.map(np.asarray, params), np.ones((1, 5, 6, 2)))


@pytest.mark.parametrize("make, ref_forward", [
    (lambda: Conv2D(1, 3, padding="VALID"),
     lambda x: ref_conv.conv2d_forward({"w": np.ones((3, 3, 1, 1))}, x, padding="VALID")),
    (lambda: MaxPool2D(3), lambda x: ref_pool.max_pool_forward(x, window=3)),
    (lambda: AvgPool2D(3), lambda x: ref_pool.avg_pool_forward(x, window=3)),
])
def test_window_larger_than_a_valid_padded_input_raises(make, ref_forward):
    layer, x = make(), np.ones((1, 2, 6, 1))
    match = r"\(3, 3\) \(height, width\) is larger than the padded input \(2, 6\)"
    params, state = layer.init(jax.random.key(0), (5, 6, 1))
    with pytest.raises(ValueError, match=match):
        layer.apply(params, state, jnp.asarray(x))
    with pytest.raises(ValueError, match=match):
        Sequential([layer]).init(jax.random.key(0), x.shape[1:])
    with pytest.raises(ValueError, match=match):
        ref_forward(x)
    # Dilation grows the kernel: 2 taps 3 apart span 4 cells.
    with pytest.raises(ValueError, match=r"dilated kernel \(4, 4\)"):
        Sequential([Conv2D(1, 2, padding="VALID", dilation=3)]).init(jax.random.key(0), (3, 6, 1))


@pytest.mark.parametrize("call, match", [
    (lambda: Conv2D(0, 3), r"Conv2D: features must be a positive integer, got 0"),
    (lambda: Conv2D(2, 0), r"kernel_size must be a positive int or a pair"),
    (lambda: Conv2D(2, 3, strides=(1, 2, 3)), r"strides must be a positive int or a pair"),
    (lambda: Conv2D(2, 3, padding="FULL"), r"padding must be 'SAME', 'VALID', an int"),
    (lambda: Conv2D(2, 3, padding=((1, -1), (0, 0))), r"padding must be 'SAME'"),
    (lambda: MaxPool2D(2, padding=((2, 0), (0, 0))),
     r"padding \(2, 0\) on height must be smaller than the window 2"),
    (lambda: AvgPool2D((3, 1), padding=1), r"on width must be smaller than the window 1"),
])
def test_invalid_hyperparameters_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_global_avg_pool_and_pools_reject_non_image_input():
    with pytest.raises(ValueError, match=r"GlobalAvgPool: x must have 4 dimensions"):
        GlobalAvgPool().apply({}, {}, jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"MaxPool2D\(window=2\): x must have 4 dimensions"):
        MaxPool2D(2).apply({}, {}, jnp.ones((2, 4, 4)))


def test_residual_shape_mismatch_raises_a_clear_error():
    layer = Residual(Dense(3))
    with pytest.raises(ValueError, match=r"Residual\(dense\): the block must keep the shape of "
                                         r"its input.*input shape \(1, 4\) and block output "
                                         r"shape \(1, 3\)"):
        layer.init(jax.random.key(0), (4,))
    net = reference.build(layer.spec)
    params = {"block": {"w": np.ones((4, 3)), "b": np.zeros(3)}}
    with pytest.raises(ValueError, match=r"the block must keep the shape of its input"):
        net.forward(params, np.ones((2, 4)))
