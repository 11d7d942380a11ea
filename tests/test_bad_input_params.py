"""Bad-input sweep, part two: what the optimizer makes, hyperparameters as float32 sees
them, and params that do not fit the layer they are given to.

The same table style as ``tests/test_bad_input.py`` (``(id, bad call, exception, message
regex)``), for issue 13's families 3, 4 and 5 and the unclear errors of family 8:

* hyperparameters are checked after rounding to float32, the dtype the compiled code
  uses them in (``adam(b1=1 - 1e-10)`` is 1.0 there);
* every built-in layer checks its params (and BatchNorm its state) against its
  configuration: keys, shapes, floating dtypes, arrays as leaves;
* a schedule gives one real number per step; an optimizer refuses another's state.

Below the table, the guard: a step whose update (not only its loss or gradient) is
non-finite is skipped, and ``NonFiniteError.result`` holds the last finite params and
optimizer state. The few compiled models are tiny; almost every row fails before
anything is compiled.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import funcnet as fn
from funcnet import optim

KEY = jax.random.key(0)
X = np.ones((4, 2), np.float32)
Y = np.array([0, 1, 2, 0], np.int32)
P32 = jnp.full((2, 1), 0.5, jnp.float32)  # probabilities in float32, labels alike


def row(case_id, call, error, match, *marks):
    return pytest.param(call, error, match, id=case_id, marks=marks)


def replaced(tree, path, value):
    """A copy of the dict tree ``tree`` with the leaf at ``path`` (keys) set to ``value``."""
    tree = dict(tree)
    head, *rest = path
    tree[head] = replaced(tree[head], rest, value) if rest else value
    return tree


def zeros(*shape):
    return jnp.zeros(shape, jnp.float32)


# Each built-in layer's own params, written out (init would cost a compile or an
# orthogonal draw per row; the checks under test read shapes and dtypes only).
PARAMS = {
    "dense": {"w": zeros(2, 3), "b": zeros(3)},
    "conv": {"w": zeros(3, 3, 1, 2), "b": zeros(2)},
    "batchnorm": {"scale": zeros(3), "bias": zeros(3)},
    "lstm": {"w_x": zeros(2, 12), "w_h": zeros(3, 12), "b": zeros(12)},
    "gru": {"w_x": zeros(2, 9), "w_h": zeros(3, 9), "b_x": zeros(9), "b_h": zeros(9)},
    "rnn_learned": {"w_x": zeros(2, 3), "w_h": zeros(3, 3), "b": zeros(3), "h0": zeros(3)},
    "attention": {**{f"w_{p}": zeros(2, 2) for p in "qkvo"},
                  **{f"b_{p}": zeros(2) for p in "qvo"}},
    "embedding": {"w": zeros(5, 2)},
    "positional": {"w": zeros(4, 2)},
    "layernorm": {"scale": zeros(3), "bias": zeros(3)},
    "rmsnorm": {"scale": zeros(3)},
}
LAYERS = {
    "dense": lambda: fn.Dense(3), "conv": lambda: fn.Conv2D(2, 3),
    "batchnorm": fn.BatchNorm, "lstm": lambda: fn.LSTM(3), "gru": lambda: fn.GRU(3),
    "rnn_learned": lambda: fn.RNN(3, initial_state="learned"),
    "attention": lambda: fn.MultiHeadAttention(2), "embedding": lambda: fn.Embedding(5, 2),
    "positional": lambda: fn.PositionalEmbedding(4), "layernorm": fn.LayerNorm,
    "rmsnorm": fn.RMSNorm,
}
BN_STATE = {"mean": zeros(3), "var": jnp.ones(3, jnp.float32)}


def apply_with(name, x, *, params=None, state=None, path=None, value=None, **kwargs):
    """Apply layer ``name`` to ``x`` with its own params (or ``params``), the leaf at
    ``path`` replaced by ``value`` when given."""
    params = PARAMS[name] if params is None else params
    if path is not None:
        params = replaced(params, path, value)
    default_state = BN_STATE if name == "batchnorm" else {}
    return LAYERS[name]().apply(params, default_state if state is None else state, x,
                                **kwargs)


def mlp():
    return fn.Sequential([fn.Dense(3)])


MLP_PARAMS, MLP_STATE = {"dense_0": PARAMS["dense"]}, {"dense_0": {}}


def fit(model, params, state, optimizer=None, **overrides):
    args = {"epochs": 1, "batch_size": 4, "key": KEY, "progress": False, **overrides}
    return fn.fit(model, params, state, optimizer or optim.sgd(0.1), (X, Y), **args)


IMAGES = jnp.ones((1, 5, 5, 1))
SEQ = jnp.ones((2, 4, 2))
USED = r"in float32 \(the dtype it is used in\), got "
ROUND_1 = r"must stay < 1 " + USED + r"0\.9999999999, which rounds to 1\.0"
ROUND_0 = r"must stay > 0 " + USED + r"1e-50, which rounds to 0"
ROUND_INF = r"must be finite " + USED + r"1e\+300, which rounds to inf"
NOT_FIT = r"these params do not fit this layer's configuration"


BAD = [
    # ------------------------------------------- family 4: hyperparameters as float32 sees them
    row("adam/b1 rounds to 1", lambda: optim.adam(1e-3, b1=1 - 1e-10), ValueError,
        r"adam: b1 " + ROUND_1 + r" there; use at most 0\.99999994"),
    row("adam/b2 rounds to 1", lambda: optim.adam(1e-3, b2=1 - 1e-10), ValueError,
        r"adam: b2 " + ROUND_1),
    row("adam/eps rounds to 0", lambda: optim.adam(1e-3, eps=1e-50), ValueError,
        r"adam: eps " + ROUND_0 + r"; use 1\.175e-38 or more"),
    row("adam/eps subnormal", lambda: optim.adam(1e-3, eps=1e-40), ValueError,
        r"adam: eps must stay > 0 in float32 .* got 1e-40, which rounds to the subnormal "
        r"1e-40, which XLA may flush to 0"),
    row("adam/eps_root overflows", lambda: optim.adam(1e-3, eps_root=1e300), ValueError,
        r"adam: eps_root " + ROUND_INF + r" there; use at most 3\.403e\+38"),
    row("adam/eps_root rounds to 0", lambda: optim.adam(1e-3, eps_root=1e-50), ValueError,
        r"adam: eps_root " + ROUND_0),
    row("adam/learning_rate overflows", lambda: optim.adam(1e300), ValueError,
        r"adam: learning_rate " + ROUND_INF),
    row("adam/learning_rate rounds to 0", lambda: optim.adam(1e-50), ValueError,
        r"adam: learning_rate " + ROUND_0),
    row("adamw/weight_decay overflows", lambda: optim.adamw(1e-3, weight_decay=1e300),
        ValueError, r"adamw: weight_decay " + ROUND_INF),
    row("adamw/weight_decay rounds to 0", lambda: optim.adamw(1e-3, weight_decay=1e-50),
        ValueError, r"adamw: weight_decay " + ROUND_0),
    row("adamw/b1 rounds to 1", lambda: optim.adamw(1e-3, b1=1 - 1e-10), ValueError,
        r"adamw: b1 " + ROUND_1),
    row("sgd/1e300", lambda: optim.sgd(1e300), ValueError, r"sgd: learning_rate " + ROUND_INF),
    row("sgd/subnormal rate", lambda: optim.sgd(1e-44), ValueError,
        r"sgd: learning_rate must stay > 0 in float32 .* which rounds to the subnormal"),
    row("sgd/negative rate points to maximize", lambda: optim.sgd(-0.1), ValueError,
        r"sgd: learning_rate must be finite and > 0, got -0\.1; for gradient ascent keep "
        r"it positive and pass maximize=True"),
    row("sgd/maximize not a bool", lambda: optim.sgd(0.1, maximize=1), TypeError,
        r"sgd: maximize must be True or False, got 1"),
    row("adam/maximize not a bool", lambda: optim.adam(0.1, maximize="yes"), TypeError,
        r"adam: maximize must be True or False, got 'yes'"),
    row("momentum/beta rounds to 1", lambda: optim.momentum(0.1, beta=1 - 1e-10), ValueError,
        r"momentum: beta " + ROUND_1),
    row("momentum/dampening rounds to 1",
        lambda: optim.momentum(0.1, dampening=1 - 1e-10), ValueError,
        r"momentum: dampening " + ROUND_1),
    row("rmsprop/decay rounds to 1", lambda: optim.rmsprop(0.1, decay=1 - 1e-10), ValueError,
        r"rmsprop: decay " + ROUND_1),
    row("rmsprop/eps rounds to 0", lambda: optim.rmsprop(0.1, eps=1e-50), ValueError,
        r"rmsprop: eps " + ROUND_0),
    row("clip_by_global_norm/rounds to 0", lambda: optim.clip_by_global_norm(1e-50),
        ValueError, r"clip_by_global_norm: max_norm " + ROUND_0),
    row("clip_by_global_norm/overflows", lambda: optim.clip_by_global_norm(1e300),
        ValueError, r"clip_by_global_norm: max_norm " + ROUND_INF),
    row("clip/rounds to 0", lambda: optim.clip(1e-50), ValueError, r"clip: max_abs " + ROUND_0),
    row("clip/overflows", lambda: optim.clip(1e300), ValueError, r"clip: max_abs " + ROUND_INF),
    row("add_decayed_weights/overflows", lambda: optim.add_decayed_weights(1e300), ValueError,
        r"add_decayed_weights: weight_decay " + ROUND_INF),
    row("scale_by_adam/b1 rounds to 1", lambda: optim.scale_by_adam(b1=1 - 1e-10), ValueError,
        r"scale_by_adam: b1 " + ROUND_1),
    row("scale_by_rms/eps rounds to 0", lambda: optim.scale_by_rms(eps=1e-50), ValueError,
        r"scale_by_rms: eps " + ROUND_0),
    row("trace/decay rounds to 1", lambda: optim.trace(1 - 1e-10), ValueError,
        r"trace: beta " + ROUND_1),
    row("scale_by_learning_rate/overflows", lambda: optim.scale_by_learning_rate(1e300),
        ValueError, r"scale_by_learning_rate: learning_rate " + ROUND_INF),
    row("constant_schedule/overflows", lambda: optim.constant_schedule(1e300), ValueError,
        r"constant_schedule: value " + ROUND_INF),
    row("linear_schedule/init overflows", lambda: optim.linear_schedule(1e300, 0.0, 10),
        ValueError, r"linear_schedule: init_value " + ROUND_INF),
    row("linear_schedule/end rounds to 0", lambda: optim.linear_schedule(0.0, 1e-50, 10),
        ValueError, r"linear_schedule: end_value " + ROUND_0),
    row("step_decay_schedule/factor overflows",
        lambda: optim.step_decay_schedule(1.0, 2, factor=1e300), ValueError,
        r"step_decay_schedule: factor " + ROUND_INF),
    row("exponential_decay/decay_rate rounds to 0",
        lambda: optim.exponential_decay(1.0, 10, decay_rate=1e-50), ValueError,
        r"exponential_decay: decay_rate " + ROUND_0),
    row("cosine_decay_schedule/init overflows",
        lambda: optim.cosine_decay_schedule(1e300, 10), ValueError,
        r"cosine_decay_schedule: init_value " + ROUND_INF),
    row("warmup_cosine/peak overflows",
        lambda: optim.warmup_cosine_decay_schedule(0.0, 1e300, 2, 4), ValueError,
        r"warmup_cosine_decay_schedule: peak_value " + ROUND_INF),
    row("BatchNorm/eps rounds to 0", lambda: fn.BatchNorm(eps=1e-50), ValueError,
        r"BatchNorm: eps " + ROUND_0),
    row("BatchNorm/momentum rounds to 1", lambda: fn.BatchNorm(momentum=1 - 1e-10),
        ValueError, r"BatchNorm: momentum " + ROUND_1),
    row("LayerNorm/eps subnormal", lambda: fn.LayerNorm(eps=1e-40), ValueError,
        r"LayerNorm: eps must stay > 0 in float32 \(the statistics' dtype\), got 1e-40, "
        r"which rounds to the subnormal"),
    row("RMSNorm/eps rounds to 0", lambda: fn.RMSNorm(eps=1e-50), ValueError,
        r"RMSNorm: eps must stay > 0 in float32 \(the statistics' dtype\)"),
    row("bce/eps rounds to 0 in float32",
        lambda: fn.binary_cross_entropy(P32, P32, eps=1e-50), ValueError,
        r"binary_cross_entropy: eps must stay > 0 in float32 \(the dtype the loss computes "
        r"in\), got 1e-50, which rounds to 0"),
    row("bce/1 - eps rounds to 1 in float32",
        lambda: fn.binary_cross_entropy(P32, P32, eps=1e-10), ValueError,
        r"binary_cross_entropy: 1 - eps must stay < 1 in float32 .* got eps=1e-10, so a "
        r"probability of 1 is not clipped and log\(1 - p\) is -inf; use eps >= 5\.96e-08"),
    row("bce/eps a string", lambda: fn.binary_cross_entropy(P32, P32, eps="1e-7"), TypeError,
        r"binary_cross_entropy: eps must be a real number, got str"),
    row("leaky_relu/slope overflows",
        lambda: fn.Activation("leaky_relu", negative_slope=1e300), ValueError,
        r"Activation\('leaky_relu'\): negative_slope " + ROUND_INF),
    row("LSTM/forget_bias overflows", lambda: fn.LSTM(3, forget_bias=1e300), ValueError,
        r"LSTM: forget_bias " + ROUND_INF),
    # ------------------------------------------- family 8: schedules and optimizer states
    row("schedule/returns a vector", lambda: optim.sgd(lambda c: jnp.ones(3)).init({}),
        ValueError, r"scale_by_learning_rate: the learning_rate schedule must return one rate "
                    r"\(shape \(\)\) for the scalar step count, got shape \(3,\)"),
    row("schedule/returns a string", lambda: optim.adam(lambda c: "1e-3").init({}), TypeError,
        r"scale_by_learning_rate: the learning_rate schedule must return a real number .* "
        r"got str"),
    row("schedule/returns None", lambda: optim.sgd(lambda c: None).init({}), TypeError,
        r"the learning_rate schedule must return a real number .* got NoneType"),
    row("schedule/returns a bool", lambda: optim.sgd(lambda c: True).init({}), TypeError,
        r"the learning_rate schedule must return a real number .* got bool"),
    row("schedule/returns complex",
        lambda: optim.sgd(lambda c: jnp.asarray(0.1 + 0j)).init({}), TypeError,
        r"the learning_rate schedule must return a real number, got an array of dtype complex"),
    row("schedule/negative at step 0 points to maximize",
        lambda: optim.sgd(lambda c: -0.1).init({}), ValueError,
        r"gives -0\.1 at step 0; .* for gradient ascent pass maximize=True"),
    row("adam/given sgd's state", lambda: optim.adam(0.1).update(
        {"w": jnp.ones(2)}, optim.sgd(0.1).init({"w": jnp.ones(2)})), ValueError,
        r"adam: opt_state must be the state made by this optimizer's init\(params\), a tuple "
        r"of 2 transform state\(s\), got a tuple of 1; was it made by another optimizer\?"),
    row("adam/given optax.adam's state", lambda: optim.adam(0.1).update(
        {"w": jnp.ones(2)}, optax.adam(0.1).init({"w": jnp.ones(2)})), TypeError,
        r"scale_by_adam: opt_state holds a optax\..*ScaleByAdamState where this optimizer "
        r"keeps its funcnet\.optim\.transforms\.ScaleByAdamState"),
    row("rmsprop/given momentum's state", lambda: optim.rmsprop(0.1).update(
        {"w": jnp.ones(2)}, optim.momentum(0.1).init({"w": jnp.ones(2)})), TypeError,
        r"scale_by_rms: opt_state holds a TraceState where this optimizer keeps its "
        r"ScaleByRmsState"),
    row("adam/given a dict", lambda: optim.adam(0.1).update({"w": jnp.ones(2)}, {"mu": 0}),
        ValueError, r"adam: opt_state must be the state made by this optimizer's init\(params\)"
                    r", a tuple of 2 transform state\(s\), got a dict"),
    # ------------------------------------------- family 5 (+8): params against configuration
    row("Dense(5)/given Dense(3)'s params",
        lambda: fn.Dense(5).apply(PARAMS["dense"], {}, X), ValueError,
        r"Dense\(5\): params\['w'\] must have shape \(in_features, 5\), got \(2, 3\); " + NOT_FIT),
    row("Dense/(3, 1) bias", lambda: apply_with("dense", X, path=["b"],
                                                value=jnp.zeros((3, 1))), ValueError,
        r"Dense\(3\): params\['b'\] must have shape \(3,\), got \(3, 1\)"),
    row("Dense/bias width mismatch", lambda: apply_with("dense", X, path=["b"],
                                                        value=jnp.zeros(2)), ValueError,
        r"Dense\(3\): params\['b'\] must have shape \(3,\), got \(2,\)"),
    row("Dense/int w", lambda: apply_with("dense", X, path=["w"],
                                          value=jnp.ones((2, 3), jnp.int32)), TypeError,
        r"Dense\(3\): params\['w'\] must be a floating-point array, got dtype int32"),
    row("Dense/complex w", lambda: apply_with("dense", X, path=["w"],
                                              value=jnp.ones((2, 3), jnp.complex64)),
        TypeError, r"Dense\(3\): params\['w'\] must be a floating-point array, got dtype "
                   r"complex64"),
    row("Dense/list as a params leaf", lambda: apply_with("dense", X, path=["w"],
                                                          value=[[1.0] * 3] * 2), TypeError,
        r"Dense\(3\): params\['w'\] must be an array \(jax or NumPy\), got list"),
    row("Dense/w of rank 1", lambda: apply_with("dense", X, path=["w"],
                                                value=jnp.ones(3)), ValueError,
        r"Dense\(3\): params\['w'\] must have shape \(in_features, 3\), got \(3,\)"),
    row("Conv2D(2, 3)/given a 5x5 kernel", lambda: apply_with(
        "conv", IMAGES, path=["w"], value=jnp.ones((5, 5, 1, 2))), ValueError,
        r"Conv2D\(2\): params\['w'\] must have shape \(3, 3, in_channels, 2\), got "
        r"\(5, 5, 1, 2\)"),
    row("Conv2D/(2, 1) bias", lambda: apply_with("conv", IMAGES, path=["b"],
                                                 value=jnp.zeros((2, 1))), ValueError,
        r"Conv2D\(2\): params\['b'\] must have shape \(2,\), got \(2, 1\)"),
    row("Conv2D/given Conv2D(4)'s params", lambda: fn.Conv2D(4, 3).apply(
        PARAMS["conv"], {}, IMAGES), ValueError,
        r"Conv2D\(4\): params\['w'\] must have shape \(3, 3, in_channels, 4\), got "
        r"\(3, 3, 1, 2\)"),
    row("BatchNorm/int32 state", lambda: apply_with(
        "batchnorm", jnp.ones((4, 3)), train=True,
        state={"mean": jnp.zeros(3, jnp.int32), "var": jnp.ones(3, jnp.int32)}), TypeError,
        r"BatchNorm\(.*\): state\['mean'\] must be a floating-point array, got dtype int32; "
        r"an integer or complex state leaf would truncate"),
    row("BatchNorm/bias narrower than scale", lambda: apply_with(
        "batchnorm", jnp.ones((4, 3)), path=["bias"], value=jnp.zeros(2)), ValueError,
        r"BatchNorm\(.*\): params\['bias'\] must have shape \(3,\), got \(2,\)"),
    row("BatchNorm/list state leaf", lambda: apply_with(
        "batchnorm", jnp.ones((4, 3)), state={"mean": [0.0] * 3, "var": jnp.ones(3)}),
        TypeError, r"BatchNorm\(.*\): state\['mean'\] must be an array \(jax or NumPy\), "
                   r"got list"),
    row("Embedding/int table", lambda: apply_with(
        "embedding", jnp.zeros((1, 3), jnp.int32), path=["w"],
        value=jnp.ones((5, 2), jnp.int32)), TypeError,
        r"Embedding\(5, 2\): params\['w'\] must be a floating-point array, got dtype int32"),
    row("PositionalEmbedding/list table", lambda: apply_with(
        "positional", SEQ, path=["w"], value=[[0.0] * 2] * 4),
        TypeError, r"PositionalEmbedding\(4\): params\['w'\] must be an array"),
    row("LayerNorm/bias narrower than scale", lambda: apply_with(
        "layernorm", jnp.ones((4, 3)), path=["bias"], value=jnp.zeros(2)), ValueError,
        r"LayerNorm\(eps=1e-05\): params\['bias'\] must have shape \(3,\), got \(2,\)"),
    row("RMSNorm/(3, 1) scale", lambda: apply_with(
        "rmsnorm", jnp.ones((4, 3)), path=["scale"], value=jnp.ones((3, 1))),
        ValueError, r"RMSNorm\(eps=1e-06\): params\['scale'\] must have shape \(features,\), "
                    r"got \(3, 1\)"),
    row("LSTM(4)/given LSTM(3)'s params", lambda: fn.LSTM(4).apply(
        PARAMS["lstm"], {}, SEQ), ValueError,
        r"LSTM\(4\): params\['w_x'\] must have shape \(in_features, 16\), got \(2, 12\)"),
    row("GRU/b_h of another width", lambda: apply_with("gru", SEQ, path=["b_h"],
                                                       value=jnp.zeros(6)), ValueError,
        r"GRU\(3\): params\['b_h'\] must have shape \(9,\), got \(6,\)"),
    row("RNN/learned h0 of another width", lambda: apply_with(
        "rnn_learned", SEQ, path=["h0"], value=jnp.zeros(4)), ValueError,
        r"RNN\(3\): params\['h0'\] must have shape \(3,\), got \(4,\)"),
    row("MultiHeadAttention/w_o not square", lambda: apply_with(
        "attention", SEQ, path=["w_o"], value=jnp.ones((2, 3))), ValueError,
        r"MultiHeadAttention\(num_heads=2\): params\['w_o'\] must have shape \(2, 2\), "
        r"got \(2, 3\)"),
    row("MultiHeadAttention/int bias", lambda: apply_with(
        "attention", SEQ, path=["b_q"], value=jnp.zeros(2, jnp.int32)), TypeError,
        r"MultiHeadAttention\(num_heads=2\): params\['b_q'\] must be a floating-point array"),
    row("Residual/given another model's params", lambda: fn.Residual(fn.Dense(2)).apply(
        {"dense_0": PARAMS["dense"]}, {"block": {}}, X), ValueError,
        r"Residual\(dense\): params must be the dict with keys \['block'\] made by this "
        r"layer's init, got keys \['dense_0'\]"),
    row("Residual/given another model's state", lambda: fn.Residual(fn.Dense(2)).apply(
        {"block": {"w": zeros(2, 2), "b": zeros(2)}}, {}, X), ValueError,
        r"Residual\(dense\): state must be the dict with keys \['block'\] made by init, "
        r"got \[\]"),
    row("Sequential/state of another model", lambda: mlp().apply(
        MLP_PARAMS, {"dense_7": {}}, X), ValueError,
        r"Sequential: state must be the dict with keys \['dense_0'\] made by init, got "
        r"\['dense_7'\]"),
    row("MaxPool2D/given a layer's params", lambda: fn.MaxPool2D(2).apply(
        PARAMS["dense"], {}, IMAGES), ValueError,
        r"MaxPool2D\(window=2\): params must be the dict with keys \[\] made by this "
        r"layer's init, got keys \['b', 'w'\]"),
    row("Flatten/given params", lambda: fn.Flatten().apply({"w": jnp.ones(2)}, {}, IMAGES),
        ValueError, r"Flatten: params must be the dict with keys \[\]"),
    row("Dropout/given params", lambda: fn.Dropout(0.5).apply({"w": jnp.ones(2)}, {}, X),
        ValueError, r"Dropout\(rate=0\.5\): params must be the dict with keys \[\]"),
    row("Activation/given params", lambda: fn.Activation("relu").apply(
        {"w": jnp.ones(2)}, {}, X), ValueError,
        r"Activation\('relu'\): params must be the dict with keys \[\]"),
    # ------------------------------------------- family 5 in fit and make_step
    row("fit/another model's params", lambda: fit(
        fn.Sequential([fn.Dense(5)]), MLP_PARAMS, MLP_STATE), ValueError,
        r"Dense\(5\): params\['w'\] must have shape \(in_features, 5\), got \(2, 3\)"),
    row("fit/a list as a params leaf", lambda: fit(
        mlp(), {"dense_0": {"w": [[0.1] * 3] * 2, "b": jnp.zeros(3)}}, {"dense_0": {}}),
        TypeError, r"Dense\(3\): params\['w'\] must be an array \(jax or NumPy\), got list"),
    row("make_step/another model's params", lambda: fn.make_step(
        fn.Sequential([fn.Dense(4)]), "softmax_cross_entropy_with_integer_labels",
        optim.sgd(0.1), donate=False)(MLP_PARAMS, MLP_STATE,
                                      optim.sgd(0.1).init(MLP_PARAMS), (X, Y), KEY),
        ValueError, r"Dense\(4\): params\['w'\] must have shape \(in_features, 4\)"),
]


@pytest.mark.parametrize("call, error, match", BAD)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_table_covers_at_least_sixty_bad_inputs():
    assert len(BAD) >= 60


# ------------------------------------------------------------------ family 3: the guard


def _same_trees(got, want):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


def _nan_from(step):
    """A schedule that is 0.05 before step count ``step`` and NaN from it on."""
    return lambda count: jnp.where(count < step, 0.05, jnp.nan)


def test_a_nan_schedule_at_the_last_step_stops_fit_with_the_last_good_state():
    # One full batch per epoch, 3 epochs: the rate goes NaN on the last step only. The
    # gradients stay finite there, so only the flag on what the update makes sees it.
    model = fn.Sequential([fn.Dense(3)])
    params, state = model.init(KEY, (2,))
    x = np.asarray(jax.random.normal(KEY, (4, 2)), np.float32)
    args = {"batch_size": 4, "key": KEY, "progress": False}
    good = fn.fit(model, params, state, optim.adam(_nan_from(2)), (x, Y), epochs=2, **args)
    with pytest.raises(fn.NonFiniteError, match=r"at epoch 3, step 0 \(first non-finite: "
                       r"opt_state\[1\]\.learning_rate") as info:
        fn.fit(model, params, state, optim.adam(_nan_from(2)), (x, Y), epochs=3, **args)
    result = info.value.result
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(result[:3]))
    _same_trees(result.params, good.params)
    _same_trees(result.opt_state, good.opt_state)
    assert int(result.opt_state[0].count) == 2
    assert info.value.paths[0] == "opt_state[1].learning_rate"


def _overflow_layer():
    """``y = 1e25 * s * x``: at ``s = 0`` the loss is finite and the gradient of ``s`` is
    about -1e25, finite in float32, but its square (Adam's second moment) is not."""

    def init(key, input_shape):
        return {"s": jnp.zeros(input_shape[-1:], jnp.float32)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["s"] * jnp.float32(1e25), state

    return fn.Layer(init, apply, name="overflow", needs_key=False)


@pytest.mark.parametrize("mode", ["scan", "loop"])
def test_an_overflowing_moment_is_caught_named_and_not_kept(mode):
    # fit's steps see finite gradients here: the moment is caught when the epoch ends and
    # named by the rerun with the skipping step, in both epoch runners
    model = fn.Sequential([_overflow_layer()])
    params, state = model.init(KEY, (2,))
    x, y = np.ones((4, 2), np.float32), np.ones((4, 2), np.float32)
    tx = optim.adam(1e-3)
    step = fn.make_step(model, "mse", tx, donate=False)
    opt_state = tx.init(params)
    new = step(params, state, opt_state, (x, y), KEY)
    assert not bool(new[3]["finite"]) and np.isfinite(float(new[3]["loss"]))
    _same_trees(new[:3], (params, state, opt_state))
    with pytest.raises(fn.NonFiniteError) as info:
        fn.fit(model, params, state, tx, (x, y), epochs=1, batch_size=4, key=KEY,
               loss="mse", progress=False, mode=mode)
    assert info.value.paths == ["opt_state[0].nu['overflow_0']['s']"]
    _same_trees(info.value.result.opt_state, opt_state)


def test_a_schedule_turning_negative_inside_the_step_is_stopped_not_climbed():
    # A negative rate cannot be read inside jit; the update turns NaN, so the guard skips
    # the step instead of silently running gradient ascent.
    model = fn.Sequential([fn.Dense(3)])
    params, state = model.init(KEY, (2,))
    tx = optim.sgd(lambda count: jnp.where(count < 1, 0.1, -0.1))
    step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", tx, donate=False)
    first = step(params, state, tx.init(params), (X, Y), KEY)
    assert bool(first[3]["finite"])
    second = step(*first[:3], (X, Y), KEY)
    assert not bool(second[3]["finite"])
    _same_trees(second[:3], first[:3])


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam", "adamw"])
def test_maximize_is_descent_on_the_negated_gradient(name):
    # Ascent is asked for explicitly; it equals descent on -f for every optimizer, and
    # AdamW's decay still pulls the weights towards 0 (not away, as flipping the final
    # step would).
    params = {"w": jnp.asarray([0.5, -1.0, 2.0]), "b": jnp.asarray([0.25])}
    grads = {"w": jnp.asarray([0.3, -0.2, 0.1]), "b": jnp.asarray([-0.4])}
    up, down = getattr(optim, name)(0.1, maximize=True), getattr(optim, name)(0.1)
    up_state, down_state = up.init(params), down.init(params)
    for _ in range(2):
        u, up_state = up.update(grads, up_state, params)
        d, down_state = down.update(jax.tree.map(jnp.negative, grads), down_state, params)
        _same_trees(u, d)
    _same_trees(up_state, down_state)


def test_bce_default_margin_keeps_the_float32_loss_finite():
    # 1 - 1e-15 is 1.0 in float32: the seeds' margin there would leave log(1 - p) = -inf.
    p, labels = jnp.asarray([[1.0], [0.0]], jnp.float32), jnp.asarray([[0.0], [1.0]], jnp.float32)
    loss = fn.binary_cross_entropy(p, labels, reduction="none")
    margin = np.finfo(np.float32).epsneg
    np.testing.assert_allclose(loss, [-np.log(margin)] * 2, rtol=1e-6)
    # in float64 the seeds' 1e-15 holds, as before
    p64, labels64 = p[1:].astype(jnp.float64), labels[1:].astype(jnp.float64)
    np.testing.assert_allclose(fn.binary_cross_entropy(p64, labels64), -np.log(1e-15),
                               rtol=1e-12)
