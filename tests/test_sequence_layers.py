"""Embedding, PositionalEmbedding, LayerNorm, RMSNorm, gelu and silu: gradient truth
three ways on drawn shapes and hyperparameters, the closed-form backward identities the
twins' docstrings state, and what out-of-range ids do with and without jit."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from layer_truth import JAX_TOL, NUMERICAL_TOL, check_layer

import funcnet as fn
import reference
from funcnet import optim
from reference import activations as ref_act
from reference import embedding as ref_emb
from reference import norm as ref_norm

F64 = jnp.float64
INT_DTYPES = [np.int8, np.uint8, np.int32, np.int64]


def _normal(rng, shape, mean=0.0, scale=1.0):
    return jnp.asarray(mean + scale * rng.normal(size=shape))


def _other_seed(rng):
    """A seed for check_layer's random cotangent r, drawn from ``rng``: reusing the
    inputs' own seed would make r a copy of (x - mean) / std, which LayerNorm's backward
    projects out exactly (dx ~ 0, a test of rounding only)."""
    return int(rng.integers(2**63))


def _sequence_shape(draw, min_features=1, min_rows=1):
    """``(N, T, F)`` or ``(N, F)`` within the suite's small-shape budget, with at least
    ``min_rows`` rows (N * T, or N) of ``min_features`` or more features."""
    features = draw(st.integers(min_features, 6))
    if draw(st.booleans()):
        batch = draw(st.integers(1, 4))
        return (batch, draw(st.integers(max(1, -(-min_rows // batch)), 5)), features)
    return (draw(st.integers(min_rows, 4)), features)


# A norm layer's dx is each row's dy projected away from the directions its statistics
# remove (1 and x_hat for LayerNorm, x_hat for RMSNorm): with F = 2 (1 for RMSNorm) that
# leaves nothing, y = +-1 up to eps and dx = O(eps) is rounding of O(1) terms; with one
# more feature a single row's dx is one projection, tiny now and then (norm 1e-4 in about
# 1 of 2,000 draws), below what central differences resolve to 1e-7. So: one feature
# more than the statistics take, and two rows, so dx as a whole is never that small.
# The step is absolute (1e-5) and the layers are scale-free, so the differences'
# truncation error grows as (step / spread of a row)^2: inputs spread wide (std 4) keep
# it small (worst of 9,000 such draws per layer, at the suite's bar 1e-7: 3.5e-8).
NORM_ROWS = 2
NORM_INPUT_STD = 4.0


# ---------------------------------------------------------------- embeddings


@given(vocab=st.integers(1, 6), features=st.integers(1, 6), batch=st.integers(1, 4),
       steps=st.integers(1, 5), dtype=st.sampled_from(INT_DTYPES),
       seed=st.integers(0, 2**32 - 1))
def test_embedding_gradient_truth_three_ways(vocab, features, batch, steps, dtype, seed):
    rng = np.random.default_rng(seed)
    layer = fn.Embedding(vocab, features, param_dtype=F64)
    # few ids over many positions: repeated ids are the case np.add.at exists for
    ids = rng.integers(0, vocab, size=(batch, steps)).astype(dtype)
    params = {"w": _normal(rng, (vocab, features))}
    y, _ = check_layer(layer, params, {}, ids, seed=_other_seed(rng), check_input=False)
    np.testing.assert_array_equal(y, np.asarray(params["w"])[ids.astype(np.int64)])


@given(max_len=st.integers(1, 5), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_positional_embedding_gradient_truth_three_ways(max_len, data, seed):
    rng = np.random.default_rng(seed)
    steps = data.draw(st.integers(1, max_len))
    shape = (data.draw(st.integers(1, 4)), steps, data.draw(st.integers(1, 6)))
    layer = fn.PositionalEmbedding(max_len, param_dtype=F64)
    params = {"w": _normal(rng, (max_len, shape[2]))}
    x = _normal(rng, shape)
    check_layer(layer, params, {}, x, seed=_other_seed(rng))


def test_embedding_backward_sums_repeated_ids_and_returns_no_dx():
    ids = np.array([[1, 1, 0], [1, 2, 1]])
    dy = np.random.default_rng(0).normal(size=(2, 3, 2))
    _, cache = ref_emb.embedding_forward({"w": np.zeros((4, 2))}, ids)
    dx, dparams = ref_emb.embedding_backward(dy, cache)
    expected = np.stack([dy[ids == v].sum(axis=0) for v in range(4)])
    assert dx is None
    np.testing.assert_array_equal(dparams["w"], expected)


def test_out_of_range_ids_under_jit_give_nan_rows_never_clamped_ones(key):
    layer = fn.Embedding(4, 3)
    params, state = layer.init(key, (4,))
    ids = jnp.array([[0, -1, 4, 3], [255, 2, -128, 1]], jnp.int32)
    y = jax.jit(lambda i: layer.apply(params, state, i)[0])(ids)
    bad = np.asarray((ids < 0) | (ids >= 4))
    assert np.isnan(np.asarray(y)[bad]).all()
    np.testing.assert_array_equal(np.asarray(y)[~bad], np.asarray(params["w"])[ids[~bad]])
    # a uint8 id can never reach a vocabulary larger than 255: nothing is out of range
    wide = fn.Embedding(300, 2)
    wide_params, _ = wide.init(key, (1,))
    y = jax.jit(lambda i: wide.apply(wide_params, {}, i)[0])(jnp.array([[255]], jnp.uint8))
    np.testing.assert_array_equal(y[0, 0], wide_params["w"][255])


def test_bad_ids_in_a_compiled_step_are_skipped_by_the_guard(key):
    model = fn.Sequential([fn.Embedding(5, 4), fn.Flatten(), fn.Dense(3)])
    params, state = model.init(key, (2,))
    opt = optim.sgd(0.1)
    step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", opt, donate=False)
    x, y = np.array([[0, 1], [2, 7]], np.int32), np.array([0, 1], np.int32)
    new_params, _, _, metrics = step(params, state, opt.init(params), (x, y), key)
    assert not bool(metrics["finite"])
    jax.tree.map(np.testing.assert_array_equal, new_params, params)


# ---------------------------------------------------------------- normalization


@given(data=st.data(), use_bias=st.booleans(), use_scale=st.booleans(),
       eps=st.sampled_from([1e-5, 1e-3, 0.5]), seed=st.integers(0, 2**32 - 1))
def test_layernorm_gradient_truth_three_ways(data, use_bias, use_scale, eps, seed):
    rng = np.random.default_rng(seed)
    shape = _sequence_shape(data.draw, min_features=3, min_rows=NORM_ROWS)
    layer = fn.LayerNorm(eps=eps, use_bias=use_bias, use_scale=use_scale, param_dtype=F64)
    params = {}
    if use_scale:
        params["scale"] = _normal(rng, shape[-1:], 1.0, 0.5)
    if use_bias:
        params["bias"] = _normal(rng, shape[-1:], 0.0, 0.5)
    x = _normal(rng, shape, 0.3, NORM_INPUT_STD)
    y, _ = check_layer(layer, params, {}, x, seed=_other_seed(rng))
    if not use_scale and not use_bias:
        np.testing.assert_allclose(np.mean(y, axis=-1), 0.0, atol=1e-12)


@given(data=st.data(), eps=st.sampled_from([1e-6, 1e-3, 0.5]),
       seed=st.integers(0, 2**32 - 1))
def test_rmsnorm_gradient_truth_three_ways(data, eps, seed):
    rng = np.random.default_rng(seed)
    shape = _sequence_shape(data.draw, min_features=2, min_rows=NORM_ROWS)
    layer = fn.RMSNorm(eps=eps, param_dtype=F64)
    params = {"scale": _normal(rng, shape[-1:], 1.0, 0.5)}
    x = _normal(rng, shape, 0.3, NORM_INPUT_STD)
    check_layer(layer, params, {}, x, seed=_other_seed(rng))


def test_norm_backwards_equal_their_one_line_forms():
    """The simplified forms the docstrings state, against the full chain rule."""
    rng = np.random.default_rng(1)
    x, dy, scale = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5)), rng.normal(size=5)
    eps = 1e-3
    dx, _ = ref_norm.layernorm_backward(dy, ref_norm.layernorm_forward(
        {"scale": scale}, x, eps=eps)[1])
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat, dx_hat = (x - x.mean(axis=-1, keepdims=True)) / sigma, dy * scale
    one_line = (dx_hat - dx_hat.mean(-1, keepdims=True)
                - x_hat * (dx_hat * x_hat).mean(-1, keepdims=True)) / sigma
    assert reference.relative_error(dx, one_line) < 1e-14
    dx, _ = ref_norm.rmsnorm_backward(dy, ref_norm.rmsnorm_forward(
        {"scale": scale}, x, eps=eps)[1])
    rms = np.sqrt((x**2).mean(axis=-1, keepdims=True) + eps)
    x_hat = x / rms
    one_line = (dx_hat - x_hat * (dx_hat * x_hat).mean(-1, keepdims=True)) / rms
    assert reference.relative_error(dx, one_line) < 1e-14


@pytest.mark.parametrize("layer", [fn.LayerNorm(), fn.RMSNorm()], ids=["LayerNorm", "RMSNorm"])
def test_norm_statistics_of_bf16_input_are_float32(layer, key):
    params, state = layer.init(key, (3, 8))
    x = (3.0 + jax.random.normal(key, (2, 3, 8))).astype(jnp.bfloat16)
    y, _ = layer.apply(params, state, x)
    expected, _ = layer.apply(params, state, x.astype(jnp.float32))
    assert y.dtype == jnp.float32
    np.testing.assert_array_equal(y, expected)


# ---------------------------------------------------------------- gelu and silu

ACTIVATION_CASES = {"gelu": ("gelu", {}), "gelu_tanh": ("gelu", {"approximate": True}),
                    "silu": ("silu", {})}


@pytest.mark.parametrize("case", sorted(ACTIVATION_CASES))
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_gelu_and_silu_layers_gradient_truth_three_ways(case, data, seed):
    name, hyperparameters = ACTIVATION_CASES[case]
    rng = np.random.default_rng(seed)
    layer = fn.Activation(name, **hyperparameters)
    x = _normal(rng, _sequence_shape(data.draw), 0.0, 2.0)
    check_layer(layer, {}, {}, x, seed=_other_seed(rng))


def test_gelu_and_silu_match_jax_nn():
    z = jnp.linspace(-9.0, 9.0, 181, dtype=F64)
    for approximate in (False, True):
        # jax.nn.gelu forms 1 + erf (or 1 + tanh), which loses the left tail to
        # cancellation (it is exactly -0.0 at z = -9): agreement to a few ulp of |z| there
        expected = jax.nn.gelu(z, approximate=approximate)
        np.testing.assert_allclose(fn.gelu(z, approximate=approximate), expected,
                                   rtol=1e-13, atol=4e-15)
        a, _ = ref_act.gelu_forward(np.asarray(z), approximate=approximate)
        np.testing.assert_allclose(a, expected, rtol=1e-13, atol=4e-15)
    np.testing.assert_allclose(fn.silu(z), jax.nn.silu(z), rtol=1e-13)
    assert fn.Activation("gelu").spec == {"type": "Activation", "name": "gelu"}
    assert fn.as_layer(fn.silu).spec == {"type": "Activation", "name": "silu"}


def test_gelu_keeps_its_relative_precision_far_in_the_left_tail():
    """erfc(-z / sqrt 2) and sigmoid(2u) carry no 1 + (-1 + tiny) cancellation."""
    z = np.array([-6.0, -8.0, -10.0])
    exact = z * 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in z])
    np.testing.assert_allclose(fn.gelu(jnp.asarray(z)), exact, rtol=1e-13)
    np.testing.assert_allclose(ref_act.gelu_forward(z)[0], exact, rtol=1e-13)
    u = math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)
    tanh_form = z / (1 + np.exp(-2 * u))
    np.testing.assert_allclose(fn.gelu(jnp.asarray(z), approximate=True), tanh_form,
                               rtol=1e-13)


# ---------------------------------------------------------------- a whole model


def test_a_sequence_model_checks_three_ways_in_one_call(key):
    model = fn.Sequential([
        fn.Embedding(7, 6, param_dtype=F64), fn.PositionalEmbedding(5, param_dtype=F64),
        fn.LayerNorm(param_dtype=F64), fn.Dense(4, param_dtype=F64),
        fn.Activation("gelu", approximate=True), fn.RMSNorm(param_dtype=F64), fn.silu,
        fn.Flatten(), fn.Dense(3, param_dtype=F64)])
    params, state = model.init(key, (4,))
    rng = np.random.default_rng(2)
    # nonzero biases and unequal scales, so every parameter's gradient carries signal
    params = jax.tree.map(lambda leaf: jnp.asarray(rng.normal(size=leaf.shape)), params)
    ids = rng.integers(0, 7, size=(3, 4)).astype(np.int32)
    labels = rng.integers(0, 3, size=3)
    report = fn.check.check_gradients(model, params, (ids, labels),
                                      "softmax_cross_entropy_with_integer_labels",
                                      reference=reference, exact_tol=JAX_TOL,
                                      numerical_tol=NUMERICAL_TOL)
    report.raise_if_failed()
    assert "x" not in report.shapes
