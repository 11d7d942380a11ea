"""Sequence cross-entropy: ``(N, T, V)`` logits, ``(N, T)`` labels and an ``ignore`` id.

Gradient truth three ways in float64 (reference backward vs ``jax.vjp`` of funcnet to
1e-10, reference vs central differences to 1e-7) on drawn shapes, ignore ids and
padding; the ``ignore=None`` path is the old formula bit for bit; accuracy counts only
real steps; and ``fit``/``evaluate``/``predict`` train a tiny sequence model with
``sequence_cross_entropy`` and report the loss the reference computes by hand.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import max_relative_error
from hypothesis import given
from hypothesis import strategies as st

import funcnet as fn
import reference
from funcnet import losses as fl
from funcnet import optim
from funcnet.activations import log_softmax
from funcnet.train import metrics
from reference import losses as rl

REDUCTIONS = ["mean", "sum", "none"]
SCE = fl.softmax_cross_entropy_with_integer_labels


@functools.cache
def jax_loss(ignore):
    """Compiled ``(logits, labels, dloss_per_sample, dloss) -> {reduction: (value, vjp)}``."""

    @jax.jit
    def run(logits, labels, dloss_per_sample, dloss):
        out = {}
        for reduction in REDUCTIONS:
            value, vjp = jax.vjp(lambda z, r=reduction: SCE(z, labels, r, ignore=ignore), logits)
            out[reduction] = (value, vjp(dloss_per_sample if reduction == "none" else dloss)[0])
        return out

    return run


def sequence_case(rng, batch, steps, classes, ignore):
    """(logits, labels): labels drawn in [0, classes), about a third set to ``ignore``,
    with sample 0 keeping at least one real step (so "mean" is defined)."""
    logits = rng.normal(size=(batch, steps, classes))
    labels = rng.integers(0, classes, size=(batch, steps))
    if ignore is not None:
        labels = np.where(rng.uniform(size=labels.shape) < 0.35, ignore, labels)
        labels[0, 0] = 0 if ignore != 0 else 1
    return logits, labels


IGNORES = st.sampled_from([None, -1, 0, 2, 7])


@given(batch=st.integers(1, 4), steps=st.integers(1, 4), classes=st.integers(2, 5),
       ignore=IGNORES, seed=st.integers(0, 2**32 - 1))
def test_reference_matches_funcnet_and_jax_vjp(batch, steps, classes, ignore, seed):
    rng = np.random.default_rng(seed)
    logits, labels = sequence_case(rng, batch, steps, classes, ignore)
    dloss_per_sample, dloss = rng.normal(size=(batch,)), np.float64(rng.normal())
    expected = jax_loss(ignore)(logits, labels, dloss_per_sample, dloss)
    for reduction in REDUCTIONS:
        value, cache = rl.softmax_cross_entropy_with_integer_labels_forward(
            logits, labels, reduction, ignore=ignore)
        expected_value, expected_dz = expected[reduction]
        np.testing.assert_allclose(value, expected_value, rtol=1e-13, err_msg=reduction)
        dz = rl.softmax_cross_entropy_with_integer_labels_backward(
            dloss_per_sample if reduction == "none" else dloss, cache)
        assert dz.shape == logits.shape
        assert max_relative_error(dz, expected_dz) <= 1e-10, reduction


@given(batch=st.integers(1, 4), steps=st.integers(1, 3), classes=st.integers(2, 4),
       ignore=IGNORES, seed=st.integers(0, 2**32 - 1))
def test_reference_backward_matches_central_differences(batch, steps, classes, ignore,
                                                        seed):
    rng = np.random.default_rng(seed)
    logits, labels = sequence_case(rng, batch, steps, classes, ignore)
    forward = functools.partial(rl.softmax_cross_entropy_with_integer_labels_forward,
                                ignore=ignore)
    for reduction in REDUCTIONS:
        dloss = rng.normal(size=(batch,)) if reduction == "none" else np.float64(1.0)
        dz = rl.softmax_cross_entropy_with_integer_labels_backward(
            dloss, forward(logits, labels, reduction)[1])

        def weighted_loss(z, r=reduction, d=dloss):
            return np.sum(d * forward(z, labels, r)[0])

        errors = reference.check(weighted_loss, logits, dz, tol=1e-7)
        assert errors[""] <= 1e-7, reduction


def test_backward_is_the_textbook_formula_per_real_step():
    """dz = (softmax(z) - onehot(y)) / (T_real(n) m_real) at real steps, 0 at ignored."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 4, 5))
    labels = np.array([[1, 2, -1, -1], [0, 4, 3, 2], [-1, -1, -1, -1]])
    value, cache = rl.softmax_cross_entropy_with_integer_labels_forward(logits, labels,
                                                                        ignore=-1)
    dz = rl.softmax_cross_entropy_with_integer_labels_backward(1.0, cache)
    p = np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True)
    real = labels != -1
    onehot = np.eye(5)[np.where(real, labels, 0)]
    t_real = real.sum(axis=1)[:, None, None]
    expected = (p - onehot) / (np.maximum(t_real, 1) * 2) * real[..., None]
    np.testing.assert_allclose(dz, expected, rtol=1e-12)
    per_step = -np.log(np.take_along_axis(p, np.where(real, labels, 0)[..., None], -1))[..., 0]
    hand = (per_step[0, :2].mean() + per_step[1].mean()) / 2  # sample 2 carries no weight
    np.testing.assert_allclose(value, hand, rtol=1e-13)
    np.testing.assert_array_equal(dz[2], 0.0)


def test_a_sample_with_every_step_ignored_has_loss_0_and_no_weight():
    logits = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3, 4)))
    labels = jnp.array([[1, 2, 3], [-1, -1, -1]])
    per_sample = SCE(logits, labels, "none", ignore=-1)
    assert float(per_sample[1]) == 0.0
    np.testing.assert_allclose(SCE(logits, labels, ignore=-1), per_sample[0], rtol=1e-15)
    np.testing.assert_allclose(SCE(logits, labels, ignore=-1),
                               SCE(logits[:1], labels[:1], ignore=-1), rtol=1e-15)
    grads = jax.grad(lambda z: SCE(z, labels, ignore=-1))(logits)
    np.testing.assert_array_equal(grads[1], 0.0)
    with pytest.raises(ValueError, match=r"every step of every sample is labelled ignore=-1"):
        SCE(logits[1:], labels[1:], ignore=-1)
    # under jit nothing can be raised: a batch with no real step has mean loss 0
    assert float(jax.jit(lambda z, y: SCE(z, y, ignore=-1))(logits[1:], labels[1:])) == 0.0


def test_ignore_none_is_the_old_formula_bit_for_bit():
    rng = np.random.default_rng(1)
    for shape in [(5, 4), (3, 6, 4)]:
        logits = jnp.asarray(rng.normal(size=shape), jnp.float32)
        labels = jnp.asarray(rng.integers(0, shape[-1], size=shape[:-1]))
        old = -jnp.take_along_axis(log_softmax(logits), labels[..., None], axis=-1)[..., 0]
        old = old.reshape(shape[0], -1).mean(axis=1)
        for reduction, reduce in [("none", lambda v: v), ("mean", jnp.mean),
                                  ("sum", jnp.sum)]:
            np.testing.assert_array_equal(SCE(logits, labels, reduction), reduce(old))
            np.testing.assert_array_equal(SCE(logits, labels, reduction, ignore=None),
                                          reduce(old))
        value, _ = rl.softmax_cross_entropy_with_integer_labels_forward(
            np.asarray(logits, np.float64), np.asarray(labels))
        np.testing.assert_allclose(value, np.float64(jnp.mean(old)), rtol=1e-6)


def test_every_form_of_the_loss_is_recognised_for_accuracy_and_label_checks():
    partial = functools.partial(SCE, ignore=-1)
    factory = fn.sequence_cross_entropy(ignore=-1)
    assert fl.integer_label_loss(SCE) == fl.SequenceCrossEntropy(None)
    assert fl.integer_label_loss(partial) == factory
    assert fl.integer_label_loss(factory) is factory
    assert fl.integer_label_loss(fl.mse) is None
    assert metrics.for_loss(SCE) is metrics.correct_integer_labels
    assert metrics.for_loss(partial) is metrics.for_loss(factory)
    logits = jnp.array([[[2.0, 0.0], [2.0, 0.0], [0.0, 2.0]],
                        [[0.0, 2.0], [2.0, 0.0], [2.0, 0.0]]])
    labels = jnp.array([[0, 1, -1], [1, -1, -1]])
    np.testing.assert_array_equal(metrics.for_loss(factory)(logits, labels), [0.5, 1.0])
    # without ignore, sequences score the fraction of all steps right
    np.testing.assert_allclose(metrics.correct_integer_labels(logits, jnp.array(
        [[0, 1, 1], [1, 0, 1]])), [2 / 3, 2 / 3])


def tiny_sequence_problem():
    """Dense(V) on (N, T, F) inputs; targets padded with -1 at the end of each row."""
    rng = np.random.default_rng(0)
    n, steps, features, classes = 10, 5, 3, 4
    x = rng.normal(size=(n, steps, features))
    lengths = rng.integers(1, steps + 1, size=n)
    y = np.where(np.arange(steps) < lengths[:, None],
                 rng.integers(0, classes, size=(n, steps)), -1).astype(np.int32)
    model = fn.Sequential([fn.Dense(classes)])
    params, state = model.init(jax.random.key(0), (steps, features))
    return model, params, state, x, y


def hand_loss_and_accuracy(params, x, y):
    """The reference's mean loss and the per-sample fraction of real steps right."""
    logits = np.asarray(x) @ np.asarray(params["dense_0"]["w"]) + np.asarray(params["dense_0"]["b"])
    loss, _ = rl.softmax_cross_entropy_with_integer_labels_forward(logits, y, ignore=-1)
    real = y != -1
    right = (np.argmax(logits, axis=-1) == y) & real
    return loss, np.mean(right.sum(axis=1) / real.sum(axis=1))


def test_fit_evaluate_and_predict_train_a_sequence_model():
    model, params, state, x, y = tiny_sequence_problem()
    loss = fn.sequence_cross_entropy(ignore=-1)
    hand_start, _ = hand_loss_and_accuracy(params, x, y)
    result = fn.fit(model, params, state, optim.sgd(0.5), (x, y), epochs=6,
                    batch_size=len(x), key=jax.random.key(1), loss=loss,
                    eval_data=(x, y), eval_batch_size=4)  # 10 = 4 + 4 + 2 padded
    history = result.history
    # full batch: an epoch's train loss is the loss at the params it started from
    np.testing.assert_allclose(history["train_loss"][0], hand_start, rtol=1e-12)
    assert history["train_loss"][-1] < history["train_loss"][0]
    hand_end, hand_accuracy = hand_loss_and_accuracy(result.params, x, y)
    np.testing.assert_allclose(history["eval_loss"][-1], hand_end, rtol=1e-12)
    # correctness is counted in float32 (metrics.py), so accuracy agrees to float32
    np.testing.assert_allclose(history["eval_accuracy"][-1], hand_accuracy, rtol=1e-6)
    scores = fn.evaluate(model, result.params, result.state, (x, y), loss=loss, batch_size=3)
    np.testing.assert_allclose(scores["loss"], hand_end, rtol=1e-12)
    np.testing.assert_allclose(scores["accuracy"], hand_accuracy, rtol=1e-6)
    assert fn.predict(model, result.params, result.state, x).shape == (10, 5, 4)
    partial = functools.partial(SCE, ignore=-1)
    np.testing.assert_allclose(fn.evaluate(model, result.params, result.state, (x, y),
                                           loss=partial)["loss"], hand_end, rtol=1e-12)


def test_fit_checks_sequence_labels_up_front():
    model, params, state, x, y = tiny_sequence_problem()
    loss = fn.sequence_cross_entropy(ignore=-1)
    bad = y.copy()
    bad[3] = -1
    with pytest.raises(ValueError, match=r"fit: train_data y has 1 sample\(s\) whose every "
                                         r"step is the ignore id -1, first at row 3"):
        fn.fit(model, params, state, optim.sgd(0.1), (x, bad), epochs=1, batch_size=2,
               key=jax.random.key(1), loss=loss)
    bad = np.where(y == -1, 4, y)
    with pytest.raises(ValueError, match=r"evaluate: y must be in \[0, 4\) or the ignore "
                                         r"id -1, got a label 4"):
        fn.evaluate(model, params, state, (x, bad), loss=loss)
