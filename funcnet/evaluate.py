"""Batched evaluation and prediction, each compiled once per dataset shape."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks, _inputs, batching
from funcnet import losses as _losses
from funcnet import metrics as _metrics


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

    return jax.jit(run)


def predict(model, params, state, x, batch_size: int = 1024):
    """Model outputs in eval mode for every row of ``x``, computed in batches.

    Args:
        model: a funcnet Layer.
        params, state: its parameters and state.
        x: ``(N, ...)`` inputs.
        batch_size: rows per compiled batch (the last batch is padded, not dropped).

    Returns:
        ``(N, ...)`` outputs (logits for a classifier).

    Example:
        >>> logits = predict(model, params, state, x_test)
        >>> labels = logits.argmax(-1)
    """
    batch_size = _checks.positive_int("predict", "batch_size", batch_size)
    _checks.min_rank("predict", "x", x, 1, "(batch, ...)")
    if np.shape(x)[0] == 0:
        raise ValueError("predict: x is empty (0 rows)")
    batch_size = min(batch_size, np.shape(x)[0])
    return _batched_outputs_fn(model, batch_size)(params, state, jnp.asarray(x))


def make_evaluator(model, loss, batch_size: int, accuracy="auto"):
    """Compiled ``(params, state, x, y) -> {"loss", "accuracy"}`` over a whole dataset."""
    loss_fn = _losses.get(loss)
    correct_fn = _metrics.resolve(loss_fn, accuracy)

    def run(params, state, x, y):
        n = x.shape[0]
        idx, mask = batching.plan(jnp.arange(n), batch_size)

        def one(carry, batch):
            batch_idx, batch_mask = batch
            out, _ = model.apply(params, state, x[batch_idx], train=False)
            yb = y[batch_idx]
            loss_sum = jnp.sum(loss_fn(out, yb, reduction="none") * batch_mask)
            correct = (jnp.sum(correct_fn(out, yb) * batch_mask) if correct_fn is not None
                       else jnp.zeros(()))
            return (carry[0] + loss_sum, carry[1] + correct), None

        zero = jnp.zeros((), jnp.result_type(float))
        (loss_sum, correct), _ = jax.lax.scan(one, (zero, zero), (idx, mask))
        return {"loss": loss_sum / n,
                "accuracy": correct / n if correct_fn is not None else jnp.nan}

    return jax.jit(run)


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

    Example:
        >>> evaluate(model, params, state, (x_test, y_test))
        {'loss': 0.07, 'accuracy': 0.981}
    """
    x, y = _inputs.xy_pair("evaluate", data, "data", unit="rows")
    x, y = jnp.asarray(x), jnp.asarray(y)
    _inputs.labels_in_range("evaluate", model, params, state, x, y, _losses.get(loss), "y")
    batch_size = min(_checks.positive_int("evaluate", "batch_size", batch_size), x.shape[0])
    result = make_evaluator(model, loss, batch_size, accuracy)(params, state, x, y)
    return {k: float(v) for k, v in result.items()}
