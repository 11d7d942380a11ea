"""RNN, LSTM and GRU: gradient truth three ways (reference BPTT, jax.grad, central
differences), the PyTorch conventions against one step computed by hand from the
written formulas, the cells and options, and dL/dh_t through time."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from layer_truth import JAX_TOL, WORST, check_layer, to_numpy

import reference
from funcnet import check, diagnostics
from funcnet.core import Sequential
from funcnet.layers.dense import Dense
from funcnet.layers.recurrent import GRU, LSTM, RNN, gru_cell, lstm_cell, rnn_cell
from reference import recurrent as ref_recurrent

F64 = jnp.float64
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def random_params(params, seed, scale=0.7):
    """The init's tree with every leaf redrawn from N(0, scale^2): no zero biases or
    starts, so every term of the backward carries weight in the check."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda a: jnp.asarray(scale * rng.normal(size=a.shape)), params)


def make(kind, hidden, features, seed, **options):
    layer = LAYERS[kind](hidden, param_dtype=F64, **options)
    params, state = layer.init(jax.random.key(seed), (3, features))
    return layer, random_params(params, seed), state


@given(kind=st.sampled_from(sorted(LAYERS)), n=st.integers(1, 3), t=st.integers(1, 5),
       f=st.integers(1, 5), h=st.integers(1, 5), return_sequences=st.booleans(),
       initial_state=st.sampled_from(["zeros", "learned"]), seed=st.integers(0, 2**16))
def test_gradient_truth_three_ways(kind, n, t, f, h, return_sequences, initial_state, seed):
    layer, params, state = make(kind, h, f, seed, return_sequences=return_sequences,
                                initial_state=initial_state)
    x = jnp.asarray(np.random.default_rng(seed + 1).normal(size=(n, t, f)))
    y, _ = check_layer(layer, params, state, x, seed=seed)
    assert y.shape == ((n, t, h) if return_sequences else (n, h))


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_every_kind_and_option_once(kind):
    """The drawn test may miss a kind; this pins each one, learned start and last step."""
    layer, params, state = make(kind, 3, 2, 7, return_sequences=False,
                                initial_state="learned")
    check_layer(layer, params, state, jnp.asarray(np.random.default_rng(8).normal(
        size=(2, 4, 2))), seed=9)


# --- the conventions, one step by hand -------------------------------------------------
# PyTorch's formulas (torch.nn.LSTM / GRU docs) on scalars, F = H = 1, with a distinct
# weight per gate so a swapped gate order changes the answer.

def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


W_X = [0.3, -0.5, 0.8, 0.2]
W_H = [0.6, 0.1, -0.4, 0.9]
B = [0.05, -0.2, 0.1, 0.3]
X0, H0, C0 = 0.7, -0.4, 0.25


def one_step(kind, params, h0, c0=None):
    """funcnet's layer and reference's forward on one step from a given start."""
    params = dict(params, h0=np.array([h0]))
    if c0 is not None:
        params["c0"] = np.array([c0])
    layer = LAYERS[kind](1, initial_state="learned", param_dtype=F64)
    x = np.full((1, 1, 1), X0)
    y = layer.apply(jax.tree.map(jnp.asarray, params), {}, jnp.asarray(x))[0]
    y_ref = ref_recurrent.PAIRS[kind][0](params, x)[0]
    return float(y[0, 0, 0]), float(y_ref[0, 0, 0])


def test_rnn_step_by_hand():
    params = {"w_x": np.array([[W_X[0]]]), "w_h": np.array([[W_H[0]]]), "b": np.array(B[:1])}
    expected = math.tanh(W_X[0] * X0 + W_H[0] * H0 + B[0])
    assert one_step("RNN", params, H0) == pytest.approx((expected, expected), abs=1e-14)


def test_lstm_step_by_hand_gates_i_f_g_o():
    params = {"w_x": np.array([W_X]), "w_h": np.array([W_H]), "b": np.array(B)}
    pre = [wx * X0 + wh * H0 + b for wx, wh, b in zip(W_X, W_H, B, strict=True)]
    i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), math.tanh(pre[2]), sigmoid(pre[3])
    expected = o * math.tanh(f * C0 + i * g)
    assert one_step("LSTM", params, H0, C0) == pytest.approx((expected, expected), abs=1e-14)


def test_gru_step_by_hand_gates_r_z_n_with_b_hn_inside_the_reset():
    b_x, b_h = [0.05, -0.2, 0.1], [0.4, 0.15, -0.35]
    params = {"w_x": np.array([W_X[:3]]), "w_h": np.array([W_H[:3]]), "b_x": np.array(b_x),
              "b_h": np.array(b_h)}
    r = sigmoid(W_X[0] * X0 + b_x[0] + W_H[0] * H0 + b_h[0])
    z = sigmoid(W_X[1] * X0 + b_x[1] + W_H[1] * H0 + b_h[1])
    n = math.tanh(W_X[2] * X0 + b_x[2] + r * (W_H[2] * H0 + b_h[2]))
    expected = (1 - z) * n + z * H0
    assert one_step("GRU", params, H0) == pytest.approx((expected, expected), abs=1e-14)


# --- cells, options, composition -------------------------------------------------------

@pytest.mark.parametrize(("kind", "cell"), [("RNN", rnn_cell), ("LSTM", lstm_cell),
                                            ("GRU", gru_cell)])
def test_cells_under_scan_are_the_layer(kind, cell):
    """An explicit carry through the public cell gives the layer's output."""
    layer, params, state = make(kind, 3, 2, 1)
    x = jnp.asarray(np.random.default_rng(2).normal(size=(2, 4, 2)))
    zeros = jnp.zeros((2, 3), F64)
    carry = (zeros, zeros) if kind == "LSTM" else zeros
    _, ys = jax.lax.scan(lambda c, x_t: cell(params, c, x_t), carry, jnp.swapaxes(x, 0, 1))
    y, _ = layer.apply(params, state, x)
    np.testing.assert_allclose(jnp.swapaxes(ys, 0, 1), y, rtol=1e-13, atol=1e-14)
    last = LAYERS[kind](3, return_sequences=False, param_dtype=F64)
    np.testing.assert_array_equal(last.apply(params, state, x)[0], y[:, -1])


def test_lstm_forget_bias_and_orthogonal_recurrent_kernel():
    params, _ = LSTM(3, forget_bias=2.0, param_dtype=F64).init(jax.random.key(0), (4, 2))
    np.testing.assert_array_equal(params["b"], [0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0])
    for block in jnp.split(params["w_h"], 4, axis=1):
        np.testing.assert_allclose(block.T @ block, np.eye(3), atol=1e-12)


def test_model_with_an_lstm_checks_in_one_call():
    """reference.build(model.spec) rebuilds it, so check_gradients has all three legs."""
    model = Sequential([LSTM(3, return_sequences=False, param_dtype=F64), Dense(2)])
    params, state = model.init(jax.random.key(3), (4, 2))
    params = random_params(params, 3)
    x = np.random.default_rng(4).normal(size=(2, 4, 2))
    y = np.random.default_rng(5).normal(size=(2, 2))
    report = check.check_gradients(model, params, (x, y), "mse", state, reference=reference)
    report.raise_if_failed()


# --- dL/dh_t through time --------------------------------------------------------------

# Each kind once, the output of every step for the LSTM and of the last step only for the
# others (where all of dL/dh_t for t < T comes back through the recurrence).
@pytest.mark.parametrize(("kind", "return_sequences"), [("RNN", False), ("LSTM", True),
                                                        ("GRU", False)])
def test_hidden_gradients_are_the_bptt_dh(kind, return_sequences):
    layer, params, _ = make(kind, 3, 2, 11, return_sequences=return_sequences)
    x = np.random.default_rng(12).normal(size=(2, 5, 2))
    y_ref, cache = ref_recurrent.PAIRS[kind][0](to_numpy(params), x, return_sequences)
    r = np.random.default_rng(13).normal(size=y_ref.shape)
    dh_ref = ref_recurrent.PAIRS[kind][1](r, cache)[2]
    dh = diagnostics.hidden_gradients(layer, params, jnp.asarray(x), lambda y: jnp.sum(y * r))
    error = reference.relative_error(np.asarray(dh), dh_ref)
    WORST["jax"] = max(WORST["jax"], error)
    assert error <= JAX_TOL


def test_rnn_gradient_vanishes_back_through_time():
    """A contracting recurrence (w_h orthogonal times 0.3) shrinks ||dL/dh_t|| by at least
    0.3 per step back (|tanh'| <= 1); the norms are the reference BPTT's."""
    layer = RNN(3, return_sequences=False, param_dtype=F64)
    params, _ = layer.init(jax.random.key(0), (6, 2))
    params = dict(params, w_h=0.3 * params["w_h"])
    x = np.ones((2, 6, 2))
    norms = diagnostics.hidden_gradient_norms(layer, params, jnp.asarray(x), jnp.sum)
    _, cache = ref_recurrent.rnn_forward(to_numpy(params), x, return_sequences=False)
    dh_ref = ref_recurrent.rnn_bptt(np.ones((2, 3)), cache)[2]
    np.testing.assert_allclose(norms, np.linalg.norm(dh_ref, axis=(0, 2)), rtol=1e-10)
    assert np.all(norms[:-1] <= 0.3 * norms[1:] * (1 + 1e-12)), norms
