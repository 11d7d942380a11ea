"""Batched evaluation and prediction, each compiled once per dataset shape."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks, _compile, losses
from funcnet.train import batching, inputs, metrics


def _batched_outputs_fn(model, batch_size):
    """jit: (params, state, x_all) -> outputs for every sample, in eval mode."""

    def run(params, state, x):
        n = x.shape[0]
        idx, _ = batching.plan(jnp.arange(n), batch_size)

        def one(batch_idx):
            out, _ = model.apply(params, state, x[batch_idx], train=False)
            return out

        outs = jax.lax.map(one, idx)
        return outs.reshape(-1, *outs.shape[2:])[:n]

    return _compile.jit(run)


def predict(model, params, state, x, batch_size: int = 1024):
    """Model outputs in eval mode for every row of ``x``, computed in batches.

    Args:
        model: a funcnet Layer.
        params, state: its parameters and state.
        x: ``(N, ...)`` inputs.
        batch_size: rows per compiled batch (the last batch is padded, not dropped).

    Returns:
        ``(N, ...)`` outputs (logits for a classifier).

    Examples:
        >>> model = Sequential([Dense(8), relu, Dense(3)])
        >>> params, state = model.init(jax.random.key(0), (4,))
        >>> logits = predict(model, params, state, jnp.ones((10, 4)), batch_size=4)
        >>> logits.shape, logits.argmax(-1).shape
        ((10, 3), (10,))
    """
    batch_size = _checks.positive_int("predict", "batch_size", batch_size)
    _checks.min_rank("predict", "x", x, 1, "(batch, ...)")
    if np.shape(x)[0] == 0:
        raise ValueError("predict: x is empty (0 rows)")
    inputs.model_input("predict", model, x, "x")
    batch_size = min(batch_size, np.shape(x)[0])
    return _batched_outputs_fn(model, batch_size)(params, state, jnp.asarray(x))


def make_evaluator(model, loss, batch_size: int, accuracy="auto"):
    """Compiled ``(params, state, x, y) -> {"loss", "accuracy"}`` over a whole dataset."""
    loss_fn = losses.get(loss)
    correct_fn = metrics.resolve(loss_fn, accuracy)

    def run(params, state, x, y):
        n = x.shape[0]
        idx, mask = batching.plan(jnp.arange(n), batch_size)

        def one(carry, batch):
            batch_idx, batch_mask = batch
            out, _ = model.apply(params, state, x[batch_idx], train=False)
            yb = y[batch_idx]
            loss_sum = metrics.masked_loss_sum(loss_fn, out, yb, batch_mask)
            correct = metrics.masked_correct(correct_fn, out, yb, batch_mask)
            return (carry[0] + loss_sum, carry[1] + correct), None

        zero = jnp.zeros((), jnp.result_type(float))
        (loss_sum, correct), _ = jax.lax.scan(one, (zero, zero), (idx, mask))
        return {"loss": loss_sum / n,
                "accuracy": correct / n if correct_fn is not None else jnp.nan}

    return _compile.jit(run)


def epoch_evaluator(model, loss, batch_size: int, accuracy, data):
    """``fit``'s evaluation after an epoch: ``(params, state) -> {"eval_loss",
    "eval_accuracy"}`` over ``data = (x, y)`` (arrays already on the device), with
    ``eval_accuracy`` ``None`` when not classifying."""
    x, y = data
    has_accuracy = metrics.resolve(losses.get(loss), accuracy) is not None
    run = make_evaluator(model, loss, min(batch_size, x.shape[0]), accuracy)

    def row(params, state):
        result = jax.device_get(run(params, state, x, y))
        return {"eval_loss": float(result["loss"]),
                "eval_accuracy": float(result["accuracy"]) if has_accuracy else None}

    return row


def evaluate(model, params, state, data, loss="softmax_cross_entropy_with_integer_labels",
             batch_size: int = 1024, accuracy="auto"):
    """Mean loss and accuracy of ``model`` over ``data = (x, y)``, in eval mode.

    Args:
        model: a funcnet Layer.
        params, state: its parameters and state.
        data: ``(x, y)`` with ``x: (N, ...)`` and ``y: (N, ...)``.
        loss: a loss function accepting ``reduction="none"``, or its name.
        batch_size: rows per compiled batch (the last batch is padded and masked).
        accuracy: ``"auto"`` (from the loss), a correctness function, or ``None``.

    Returns:
        ``{"loss": float, "accuracy": float}`` (accuracy NaN when not classifying).

    Examples:
        >>> model = Sequential([Dense(3, w_init="zeros")])  # uniform logits: loss log 3
        >>> params, state = model.init(jax.random.key(0), (4,))
        >>> result = evaluate(model, params, state, (jnp.ones((6, 4)), jnp.arange(6) % 3))
        >>> sorted(result), round(result["loss"], 4)
        (['accuracy', 'loss'], 1.0986)
    """
    x, y = inputs.xy_pair("evaluate", data, "data", unit="rows")
    inputs.model_input("evaluate", model, x, "data x")
    x, y = jnp.asarray(x), jnp.asarray(y)
    inputs.targets_fit_model("evaluate", model, params, state, x, y, losses.get(loss), "y")
    batch_size = min(_checks.positive_int("evaluate", "batch_size", batch_size), x.shape[0])
    result = make_evaluator(model, loss, batch_size, accuracy)(params, state, x, y)
    return {k: float(v) for k, v in result.items()}
