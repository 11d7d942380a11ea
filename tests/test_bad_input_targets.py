"""Bad targets, shapes that would broadcast, and loss inputs of the wrong kind.

The table ``BAD`` (same style as ``tests/test_bad_input.py``: id, the bad call, the
exception, a regex its message must match) covers issue 13's families 1, 2 and 6:

1. target values a loss refuses, given to ``fit`` (train and eval data) and
   ``evaluate``: refused up front, with the loss's own contract;
2. shapes that would broadcast into a wrong mean: a per-sample loss, mask or
   correctness that is not exactly ``(B,)``, targets shaped unlike the model's output
   (the message names the model's output too), a softmax over one class;
6. losses given complex, bool or integer inputs where those are wrong, and softmax
   targets whose rows do not sum to 1.

``UNDER_JIT`` holds what cannot be refused because the values are traced: inside a
compiled step a sample whose targets break the contract gets a NaN loss, so the guard
skips the step, and valid samples keep their loss.

Almost every call fails before anything is compiled; the models are tiny and built once.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcnet as fn
from funcnet import optim

KEY = jax.random.key(0)
X = np.ones((4, 2))
Y = np.array([0, 1, 2, 0], np.int32)
ONE_HOT = np.eye(3)[Y]
LOGITS = jnp.ones((4, 3))
INT_LOSS = "softmax_cross_entropy_with_integer_labels"


@functools.cache
def mlp(features=3):
    """Dense(features) on 2 inputs: ``(model, params, state)``."""
    model = fn.Sequential([fn.Dense(features)])
    return (model, *model.init(KEY, (2,)))


def fit(features=3, **overrides):
    """``fn.fit`` on the tiny model, with any argument replaced."""
    model, params, state = mlp(features)
    args = {"optimizer": optim.sgd(0.1), "train_data": (X, Y), "epochs": 1,
            "batch_size": 2, "key": KEY}
    args.update(overrides)
    return fn.fit(model, params, state, args.pop("optimizer"), args.pop("train_data"),
                  **args)


def evaluate(y, loss=INT_LOSS, features=3, **kwargs):
    return fn.evaluate(*mlp(features), (X, y), loss=loss, **kwargs)


def step(batch, loss=INT_LOSS, **kwargs):
    """One ``make_step`` call on the tiny model."""
    model, params, state = mlp()
    tx = optim.sgd(0.1)
    run = fn.make_step(model, loss, tx, donate=False, **kwargs)
    return run(params, state, tx.init(params), batch, KEY)


def keepdims_loss(outputs, targets, reduction="mean"):
    """A user loss whose per-sample vector is (N, 1): it would broadcast to (B, B)."""
    return jnp.mean((outputs - targets) ** 2, axis=-1, keepdims=True)


def scalar_loss(outputs, targets, reduction="mean"):
    """A user loss that ignores ``reduction`` and always returns the mean."""
    return jnp.mean((outputs - targets) ** 2)


def per_element_loss(outputs, targets, reduction="mean"):
    """A user loss that forgot to average over the outputs: (N, K)."""
    return (outputs - targets) ** 2


def column_accuracy(outputs, labels):
    return (jnp.argmax(outputs, -1) == labels)[:, None].astype(jnp.float32)


def batch_accuracy(outputs, labels):
    return jnp.mean(jnp.argmax(outputs, -1) == labels)


def row(case_id, call, error, match):
    return pytest.param(call, error, match, id=case_id)


F32 = np.float32
PROB = r"must be in \[0, 1\] \(probabilities\), got "
SUM = r"each row of {} \(its last axis\) must sum to 1, a one-hot or probability distribution"
PER_SAMPLE = r"must return one value per sample, shape \({},\), got shape {}"
TWO_CLASSES = (r"logits must have at least 2 classes on the last axis \(a softmax over one "
               r"class is 1 whatever the logit, so the loss would always be 0\), got shape ")
MODEL_CLASSES = (r"fit: {} needs at least 2 class scores per sample on the model output's "
                 r"last axis .* but the model outputs per-sample shape \(1,\)")
REAL = r"must be a real \(floating-point or integer\) array, got dtype "


def model_shape(label, got, output, loss, expected):
    return (rf"{label} has per-sample shape {got}, but the model outputs per-sample shape "
            rf"{output}, for which {loss} needs targets of per-sample shape {expected}; fix "
            rf"the targets or the model's last layer")


BAD = [
    # ------------------------------------------- 1. values refused up front in fit/evaluate
    row("fit/bce_logits labels 2", lambda: fit(
        train_data=(X, np.full((4, 3), 2.0)), loss="binary_cross_entropy_with_logits"),
        ValueError, r"fit: train_data y " + PROB + r"2\.0 at index \(0, 0\)"),
    row("fit/bce_logits labels -1", lambda: fit(
        train_data=(X, -ONE_HOT), loss="binary_cross_entropy_with_logits"),
        ValueError, r"fit: train_data y " + PROB + r"-1\.0 at index \(0, 0\)"),
    row("fit/bce labels 1.5", lambda: fit(
        train_data=(X, 1.5 * ONE_HOT), loss="binary_cross_entropy"),
        ValueError, r"fit: train_data y " + PROB + r"1\.5"),
    row("fit/partial(bce, eps) labels 2 (the contract survives a partial)", lambda: fit(
        train_data=(X, 2 * ONE_HOT), loss=functools.partial(fn.binary_cross_entropy,
                                                            eps=1e-7)),
        ValueError, r"fit: train_data y " + PROB + r"2\.0"),
    row("fit/sce targets 2 * one_hot", lambda: fit(
        train_data=(X, 2 * ONE_HOT), loss="softmax_cross_entropy"),
        ValueError, r"fit: train_data y " + PROB + r"2\.0 at index \(0, 0\)"),
    row("fit/sce rows summing to 2", lambda: fit(
        train_data=(X, np.array([[1.0, 1.0, 0.0]] * 4)), loss="softmax_cross_entropy"),
        ValueError, r"fit: " + SUM.format("train_data y") + r".* got a row summing to 2 at "
                    r"index \(0,\)"),
    row("fit/sce rows summing to 0.5", lambda: fit(
        train_data=(X, 0.5 * ONE_HOT), loss="softmax_cross_entropy"),
        ValueError, r"fit: " + SUM.format("train_data y") + r".* summing to 0\.5"),
    row("fit/sce rows of zeros", lambda: fit(
        train_data=(X, np.zeros((4, 3))), loss="softmax_cross_entropy"),
        ValueError, r"fit: " + SUM.format("train_data y") + r".* summing to 0 at index"),
    row("fit/sce one bad row, named", lambda: fit(
        train_data=(X, np.vstack([ONE_HOT[:2], [[0.2, 0.2, 0.2]], ONE_HOT[3:]])),
        loss="softmax_cross_entropy"),
        ValueError, r"summing to 0\.6 at index \(2,\)"),
    row("fit/integer label -1", lambda: fit(train_data=(X, Y - 1)), ValueError,
        r"fit: train_data y must be in \[0, 3\), got a label -1"),
    row("fit/sequence_cross_entropy label out of range", lambda: fn.fit(
        *_ids_model(), optim.sgd(0.1), (IDS, np.array([[0, 1, -1]] * 3 + [[7, 1, -1]])),
        epochs=1, batch_size=2, key=KEY, loss=fn.sequence_cross_entropy(ignore=-1)),
        ValueError, r"fit: train_data y must be in \[0, 4\) or the ignore id -1, got a "
                    r"label 7"),
    row("fit/eval_data bce labels 2", lambda: fit(
        train_data=(X, ONE_HOT), eval_data=(X, 2 * ONE_HOT),
        loss="binary_cross_entropy_with_logits"),
        ValueError, r"fit: eval_data y " + PROB + r"2\.0"),
    row("fit/eval_data sce rows summing to 2", lambda: fit(
        train_data=(X, ONE_HOT), eval_data=(X, np.ones((4, 3)) * [1, 1, 0]),
        loss="softmax_cross_entropy"),
        ValueError, r"fit: " + SUM.format("eval_data y")),
    row("fit/eval_data label -1", lambda: fit(eval_data=(X, Y - 1)), ValueError,
        r"fit: eval_data y must be in \[0, 3\), got a label -1"),
    row("fit/eval_data label 3", lambda: fit(eval_data=(X, Y + 1)), ValueError,
        r"fit: eval_data y must be in \[0, 3\), got a label 3"),
    row("evaluate/bce labels 2", lambda: evaluate(2 * ONE_HOT, "binary_cross_entropy"),
        ValueError, r"evaluate: y " + PROB + r"2\.0"),
    row("evaluate/bce_logits labels -0.5", lambda: evaluate(
        -0.5 * ONE_HOT, "binary_cross_entropy_with_logits"),
        ValueError, r"evaluate: y " + PROB + r"-0\.5"),
    row("evaluate/sce rows summing to 2", lambda: evaluate(
        np.ones((4, 3)) * [1, 0, 1], "softmax_cross_entropy"),
        ValueError, r"evaluate: " + SUM.format("y") + r".* summing to 2"),
    row("evaluate/label -1", lambda: evaluate(Y - 1), ValueError,
        r"evaluate: y must be in \[0, 3\), got a label -1"),
    row("fit/sce int targets", lambda: fit(
        train_data=(X, ONE_HOT.astype(np.int32)), loss="softmax_cross_entropy"),
        TypeError, r"fit: train_data y must be a floating-point array, got dtype int32"),
    row("fit/bce_logits int labels", lambda: fit(
        train_data=(X, ONE_HOT.astype(np.int64)), loss="binary_cross_entropy_with_logits"),
        TypeError, r"fit: train_data y must be a floating-point array, got dtype int64"),
    row("evaluate/bce bool labels", lambda: evaluate(ONE_HOT > 0, "binary_cross_entropy"),
        TypeError, r"evaluate: y must be a floating-point array, got dtype bool"),
    row("fit/mse complex targets", lambda: fit(
        train_data=(X, ONE_HOT + 1j), loss="mse"),
        TypeError, r"fit: train_data y " + REAL + r"complex128; .* take jnp\.abs"),
    row("fit/mse bool targets", lambda: fit(train_data=(X, ONE_HOT > 0), loss="mse"),
        TypeError, r"fit: train_data y " + REAL + r"bool"),
    row("evaluate/one-hot floats for the integer-label loss", lambda: evaluate(ONE_HOT),
        TypeError, r"evaluate: y must be integer class indices, got dtype float64; for "
                   r"one-hot or soft targets use softmax_cross_entropy"),
    # ------------------------------- 8. the model's output shape, named beside the targets
    row("fit/label 3 for a 3-output model names the model", lambda: fit(
        train_data=(X, Y + 1)), ValueError,
        r"got a label 3 \(the model outputs 3 class scores per sample; if the labels are "
        r"right, its last layer needs more outputs\)"),
    row("evaluate/label 5 for a 3-output model names the model", lambda: evaluate(Y + 5),
        ValueError, r"evaluate: y must be in \[0, 3\), got a label 7 \(the model outputs 3 "
                    r"class scores"),
    row("fit/mse targets (N, 1) for a (N, 3) model", lambda: fit(
        train_data=(X, np.ones((4, 1))), loss="mse"),
        ValueError, "fit: " + model_shape("train_data y", r"\(1,\)", r"\(3,\)", "mse",
                                          r"\(3,\)")),
    row("fit/mse targets (N,) for a (N, 3) model", lambda: fit(
        train_data=(X, np.ones(4)), loss="mse"),
        ValueError, model_shape("train_data y", r"\(\)", r"\(3,\)", "mse", r"\(3,\)")),
    row("fit/bce_logits labels (N,) for a one-logit model", lambda: fit(
        1, train_data=(X, np.ones(4)), loss="binary_cross_entropy_with_logits"),
        ValueError, model_shape("train_data y", r"\(\)", r"\(1,\)",
                                "binary_cross_entropy_with_logits", r"\(1,\)")),
    row("fit/sce targets (N, 3, 1)", lambda: fit(
        train_data=(X, ONE_HOT[..., None]), loss="softmax_cross_entropy"),
        ValueError, model_shape("train_data y", r"\(3, 1\)", r"\(3,\)",
                                "softmax_cross_entropy", r"\(3,\)")),
    row("fit/integer labels (N, 1)", lambda: fit(train_data=(X, Y[:, None])), ValueError,
        model_shape("train_data y", r"\(1,\)", r"\(3,\)", INT_LOSS, r"\(\)")),
    row("fit/eval_data targets shaped unlike the model", lambda: fit(
        train_data=(X, ONE_HOT), eval_data=(X, ONE_HOT[:, :2]), loss="mse"),
        ValueError, "fit: " + model_shape("eval_data y", r"\(2,\)", r"\(3,\)", "mse",
                                          r"\(3,\)")),
    row("evaluate/mse targets (N, 3, 1)", lambda: evaluate(ONE_HOT[..., None], "mse"),
        ValueError, "evaluate: " + model_shape("y", r"\(3, 1\)", r"\(3,\)", "mse",
                                               r"\(3,\)")),
    row("fit/integer labels for a one-output model", lambda: fit(
        1, train_data=(X, Y % 2)), ValueError, MODEL_CLASSES.format(INT_LOSS)),
    row("fit/sce for a one-output model", lambda: fit(
        1, train_data=(X, np.ones((4, 1))), loss="softmax_cross_entropy"), ValueError,
        MODEL_CLASSES.format("softmax_cross_entropy")),
    row("evaluate/integer labels for a one-output model", lambda: evaluate(
        Y % 2, features=1), ValueError,
        r"evaluate: softmax_cross_entropy_with_integer_labels needs at least 2 class scores"),
    # -------------------------------------- 2. per-sample vectors that are not exactly (B,)
    row("fit/user loss returns (B, 1)", lambda: fit(
        train_data=(X, ONE_HOT), loss=keepdims_loss), ValueError,
        r"the loss keepdims_loss\(outputs, targets, reduction='none'\) "
        + PER_SAMPLE.format(2, r"\(2, 1\)") + r"; average or sum every other axis"),
    row("fit/user loss returns a scalar", lambda: fit(
        train_data=(X, ONE_HOT), loss=scalar_loss), ValueError,
        r"the loss scalar_loss" + r".*" + PER_SAMPLE.format(2, r"\(\)")),
    row("fit/user loss returns (B, K)", lambda: fit(
        train_data=(X, ONE_HOT), loss=per_element_loss), ValueError,
        r"the loss per_element_loss.*" + PER_SAMPLE.format(2, r"\(2, 3\)")),
    row("fit/user loss as a partial, named", lambda: fit(
        train_data=(X, ONE_HOT), loss=functools.partial(keepdims_loss)), ValueError,
        r"the loss partial\(keepdims_loss\)"),
    row("fit/full batch, user loss (B, 1)", lambda: fit(
        train_data=(X, ONE_HOT), loss=keepdims_loss, batch_size=4), ValueError,
        PER_SAMPLE.format(4, r"\(4, 1\)")),
    row("fit/eval with a user loss (B, 1)", lambda: fn.evaluate(
        *mlp(), (X, ONE_HOT), loss=keepdims_loss, batch_size=3), ValueError,
        r"the loss keepdims_loss.*" + PER_SAMPLE.format(3, r"\(3, 1\)")),
    row("fit/user accuracy returns (B, 1)", lambda: fit(accuracy=column_accuracy),
        ValueError, r"the accuracy function column_accuracy\(outputs, targets\) "
                    + PER_SAMPLE.format(2, r"\(2, 1\)") + r"; give 1\.0 \(right\) or 0\.0"),
    row("fit/user accuracy returns a scalar", lambda: fit(accuracy=batch_accuracy),
        ValueError, r"the accuracy function batch_accuracy.*" + PER_SAMPLE.format(2, r"\(\)")),
    row("evaluate/user accuracy returns (B, 1)", lambda: evaluate(
        Y, accuracy=column_accuracy), ValueError,
        r"the accuracy function column_accuracy.*" + PER_SAMPLE.format(4, r"\(4, 1\)")),
    row("make_step/user loss returns (B, 1)", lambda: step(
        (X, ONE_HOT), loss=keepdims_loss), ValueError,
        r"the loss keepdims_loss.*" + PER_SAMPLE.format(4, r"\(4, 1\)")),
    row("make_step/user accuracy returns (B, 1)", lambda: step(
        (X, Y), accuracy=column_accuracy), ValueError,
        r"the accuracy function column_accuracy.*" + PER_SAMPLE.format(4, r"\(4, 1\)")),
    row("make_step/mask (B, 1)", lambda: step((X, Y, np.ones((4, 1)))), ValueError,
        r"step: batch mask must be a vector of one weight per sample, shape \(4,\) \(x is "
        r"\(4, 2\)\), got shape \(4, 1\)"),
    row("make_step/mask (1, B)", lambda: step((X, Y, np.ones((1, 4)))), ValueError,
        r"step: batch mask must be .* shape \(4,\) .* got shape \(1, 4\)"),
    row("make_step/mask too long", lambda: step((X, Y, np.ones(5))), ValueError,
        r"step: batch mask must be .* got shape \(5,\)"),
    row("make_step/scalar mask", lambda: step((X, Y, np.float32(1.0))), ValueError,
        r"step: batch mask must be .* got shape \(\)"),
    row("make_step/complex mask", lambda: step((X, Y, np.ones(4, np.complex64))), TypeError,
        r"step: batch mask must hold real sample weights, got dtype complex64"),
    row("make_step/y shorter than x", lambda: step((X, Y[:3]))[3], ValueError,
        r"step: batch x and batch y must have the same number of samples .* batch y shape "
        r"\(3,\)"),
    row("make_step/one y for the whole batch", lambda: step(
        (X, ONE_HOT[:1]), loss=per_element_loss), ValueError,
        r"step: batch x and batch y must have the same number of samples"),
    row("masked_loss_sum/(B, 1) mask", lambda: fn.train.metrics.masked_loss_sum(
        fn.mse, LOGITS, LOGITS, jnp.ones((4, 1))), ValueError,
        r"the batch mask must be a \(batch,\) vector of sample weights, got shape \(4, 1\)"),
    # ------------------------------------------ 6. loss inputs of the wrong kind or value
    row("mse/complex predictions", lambda: fn.mse(LOGITS.astype(jnp.complex64), LOGITS),
        TypeError, r"mse: predictions " + REAL + r"complex64; convert it first"),
    row("mse/complex targets", lambda: fn.mse(LOGITS, LOGITS * 1j), TypeError,
        r"mse: targets " + REAL + r"complex128"),
    row("mse/bool predictions", lambda: fn.mse(LOGITS > 0, LOGITS), TypeError,
        r"mse: predictions " + REAL + r"bool"),
    row("mse/bool targets", lambda: fn.mse(LOGITS, LOGITS > 0), TypeError,
        r"mse: targets " + REAL + r"bool"),
    row("bce_logits/complex logits", lambda: fn.binary_cross_entropy_with_logits(
        LOGITS + 0j, ONE_HOT), TypeError,
        r"binary_cross_entropy_with_logits: logits " + REAL + r"complex128"),
    row("bce_logits/bool logits", lambda: fn.binary_cross_entropy_with_logits(
        LOGITS > 0, ONE_HOT), TypeError,
        r"binary_cross_entropy_with_logits: logits " + REAL + r"bool"),
    row("bce/complex probabilities", lambda: fn.binary_cross_entropy(
        0.5 * LOGITS + 0j, ONE_HOT), TypeError,
        r"binary_cross_entropy: probabilities " + REAL + r"complex128"),
    row("bce/probabilities -0.1 (not clipped)", lambda: fn.binary_cross_entropy(
        -0.1 * LOGITS, ONE_HOT), ValueError,
        r"binary_cross_entropy: probabilities " + PROB + r"-0\.1"),
    row("sce/complex logits", lambda: fn.softmax_cross_entropy(LOGITS * 1j, ONE_HOT),
        TypeError, r"softmax_cross_entropy: logits " + REAL + r"complex128"),
    row("sce_int/complex logits", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS * 1j, Y), TypeError,
        r"softmax_cross_entropy_with_integer_labels: logits " + REAL + r"complex128"),
    row("sce/bool targets", lambda: fn.softmax_cross_entropy(LOGITS, ONE_HOT > 0),
        TypeError, r"softmax_cross_entropy: targets must be a floating-point array, got "
                   r"dtype bool"),
    row("sce/rows summing to 2", lambda: fn.softmax_cross_entropy(
        LOGITS, jnp.ones((4, 3)) * jnp.array([1.0, 1.0, 0.0])), ValueError,
        r"softmax_cross_entropy: " + SUM.format("targets") + r".* summing to 2 at index "
                                                             r"\(0,\)"),
    row("sce/rows summing to 0.5", lambda: fn.softmax_cross_entropy(LOGITS, 0.5 * ONE_HOT),
        ValueError, r"summing to 0\.5"),
    row("sce/rows of zeros", lambda: fn.softmax_cross_entropy(LOGITS, 0 * ONE_HOT),
        ValueError, r"summing to 0 at index \(0,\)"),
    row("sce/float32 row off by 1e-4: the tolerance is said", lambda: fn.softmax_cross_entropy(
        LOGITS, (ONE_HOT * F32(1 - 1e-4)).astype(F32)), ValueError,
        r"within 3\.58e-07 \(3 x the eps of float32\), got a row summing to 0\.9999 at"),
    row("sce/float64 row off by 1e-12", lambda: fn.softmax_cross_entropy(
        LOGITS, ONE_HOT * (1 - 1e-12)), ValueError,
        r"within 6\.66e-16 \(3 x the eps of float64\)"),
    row("sce/bfloat16 rows: the tolerance in bfloat16", lambda: fn.softmax_cross_entropy(
        LOGITS, jnp.asarray(ONE_HOT * 0.9, jnp.bfloat16)), ValueError,
        r"within 0\.0234 \(3 x the eps of bfloat16\), got a row summing to 0\.898438"),
    row("sce/float16 rows", lambda: fn.softmax_cross_entropy(
        LOGITS, jnp.asarray(ONE_HOT * 0.99, jnp.float16)), ValueError,
        r"\(3 x the eps of float16\)"),
    row("sce/sequence rows (N, T, K)", lambda: fn.softmax_cross_entropy(
        jnp.ones((2, 3, 4)), jnp.full((2, 3, 4), 0.3)), ValueError,
        r"got a row summing to 1\.2 at index \(0, 0\)"),
    row("sce/one class (N, 1)", lambda: fn.softmax_cross_entropy(
        jnp.ones((4, 1)), jnp.ones((4, 1))), ValueError,
        r"softmax_cross_entropy: " + TWO_CLASSES + r"\(4, 1\)"),
    row("sce/(N, K, 1) logits", lambda: fn.softmax_cross_entropy(
        jnp.ones((4, 3, 1)), jnp.ones((4, 3, 1))), ValueError,
        TWO_CLASSES + r"\(4, 3, 1\); for one logit per sample use "
                      r"binary_cross_entropy_with_logits"),
    row("sce_int/one class (N, 1)", lambda: fn.softmax_cross_entropy_with_integer_labels(
        jnp.ones((4, 1)), jnp.zeros(4, jnp.int32)), ValueError,
        r"softmax_cross_entropy_with_integer_labels: " + TWO_CLASSES + r"\(4, 1\)"),
    row("sce_int/sequence of one class", lambda: fn.sequence_cross_entropy(ignore=-1)(
        jnp.ones((2, 3, 1)), jnp.zeros((2, 3), jnp.int32)), ValueError,
        TWO_CLASSES + r"\(2, 3, 1\)"),
    row("sequence_cross_entropy/label = classes", lambda: fn.sequence_cross_entropy(
        ignore=-1)(jnp.zeros((1, 3, 4)), jnp.array([[1, 4, -1]])), ValueError,
        r"labels must be in \[0, 4\) or the ignore id -1, got a label 4"),
]


IDS = np.array([[0, 1, 2], [2, 3, 4], [4, 0, 1], [1, 1, 1]], np.int32)


@functools.cache
def _ids_model():
    """Token ids (N, 3) -> (N, 3, 4) logits."""
    model = fn.Sequential([fn.Embedding(5, 4)])
    return (model, *model.init(KEY, (3,)))


@pytest.mark.parametrize("call, error, match", BAD)
def test_bad_target_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_table_size():
    assert len(BAD) >= 60
    assert len({p.id for p in BAD}) == len(BAD), "duplicate case ids"


# ---------------------------------------------------------------- under jit: NaN, not wrong


@functools.cache
def _steps():
    """One compiled step per loss, shared by the rows (one compile each)."""
    model, params, state = mlp()
    tx = optim.sgd(0.1)
    made = {name: fn.make_step(model, name, tx, donate=False)
            for name in (INT_LOSS, "binary_cross_entropy_with_logits",
                         "softmax_cross_entropy")}
    return params, state, tx.init(params), made


def _guarded(loss, y):
    """make_step on targets the host never saw: the step must be skipped, unchanged."""
    params, state, opt_state, made = _steps()
    new_params, _, _, metrics = made[loss](params, state, opt_state, (X, y), KEY)
    unchanged = all(jax.tree.leaves(jax.tree.map(np.array_equal, new_params, params)))
    return bool(metrics["finite"]), bool(np.isnan(metrics["loss"])), unchanged


def _per_sample_under_jit(loss, logits, targets):
    """``reduction="none"`` of ``loss`` under jit: NaN exactly where targets are bad."""
    values = jax.jit(lambda z, t: loss(z, t, reduction="none"))(logits, targets)
    return np.isnan(np.asarray(values)).tolist()


def _softmax32():
    """Rows of a float32 softmax, rounded as float32 leaves them (sums off by an ulp)."""
    z = np.random.default_rng(0).normal(size=(3, 7)).astype(F32)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


SKIPPED = (False, True, True)  # finite, loss is NaN, params unchanged

UNDER_JIT = [
    ("make_step/label -1 is not the last class", lambda: _guarded(INT_LOSS, Y - 1), SKIPPED),
    ("make_step/label = classes", lambda: _guarded(INT_LOSS, Y + 1), SKIPPED),
    ("make_step/good labels train", lambda: _guarded(INT_LOSS, Y), (True, False, False)),
    ("make_step/bce_logits labels 2", lambda: _guarded(
        "binary_cross_entropy_with_logits", 2 * ONE_HOT), SKIPPED),
    ("make_step/bce_logits labels -1", lambda: _guarded(
        "binary_cross_entropy_with_logits", -ONE_HOT), SKIPPED),
    ("make_step/sce rows summing to 2", lambda: _guarded(
        "softmax_cross_entropy", ONE_HOT + np.roll(ONE_HOT, 1, axis=1)), SKIPPED),
    ("make_step/sce rows summing to 0.5", lambda: _guarded(
        "softmax_cross_entropy", 0.5 * ONE_HOT), SKIPPED),
    ("make_step/sce soft rows train", lambda: _guarded(
        "softmax_cross_entropy", np.full((4, 3), 1 / 3)), (True, False, False)),
    ("jit/sce_int: only the bad samples are NaN", lambda: _per_sample_under_jit(
        fn.softmax_cross_entropy_with_integer_labels, LOGITS, jnp.array([0, -1, 3, 2])),
     [False, True, True, False]),
    ("jit/bce probabilities outside [0, 1] are NaN, not clipped", lambda: _per_sample_under_jit(
        fn.binary_cross_entropy, jnp.array([[0.5], [1.5], [0.0], [-1e-3]]),
        jnp.full((4, 1), 0.5)), [False, True, False, True]),
    ("jit/sequence_cross_entropy: a bad step poisons its sample", lambda: _per_sample_under_jit(
        fn.sequence_cross_entropy(ignore=-1), jnp.zeros((2, 3, 4)),
        jnp.array([[1, 2, -1], [3, -1, 7]])), [False, True]),
    ("jit/a float32 softmax row is a distribution", lambda: _per_sample_under_jit(
        fn.softmax_cross_entropy, jnp.zeros((3, 7), F32), _softmax32()),
     [False, False, False]),
]


@pytest.mark.parametrize("call, expected", [pytest.param(c, e, id=i) for i, c, e in UNDER_JIT])
def test_bad_targets_under_jit_make_the_step_non_finite(call, expected):
    assert call() == expected


def test_valid_samples_keep_their_loss_beside_a_bad_one():
    """Poisoning is per sample: the others' losses are the eager ones, bit for bit."""
    labels = jnp.array([0, 5, 2, 1])
    under_jit = jax.jit(lambda z, y: fn.softmax_cross_entropy_with_integer_labels(
        z, y, reduction="none"))(LOGITS * jnp.arange(3.0), labels)
    eager = fn.softmax_cross_entropy_with_integer_labels(
        LOGITS * jnp.arange(3.0), jnp.array([0, 0, 2, 1]), reduction="none")
    np.testing.assert_array_equal(np.asarray(under_jit)[[0, 2, 3]],
                                  np.asarray(eager)[[0, 2, 3]])
    assert np.isnan(under_jit[1])
