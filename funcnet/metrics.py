"""Per-sample correctness for classification, chosen from the loss being trained.

Each function maps ``(outputs, targets) -> (N,)`` floats (1.0 correct, 0.0 wrong);
the training loop weights them by the batch mask, so padded samples never count.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcnet import losses as _losses


def correct_integer_labels(logits, labels):
    """1.0 where the label's logit is above every other, for ``(N, K)`` logits and
    ``(N,)`` integer labels.

    The same as ``argmax(logits) == labels`` except on an exact tie for the top, which
    counts as wrong (argmax would credit it to the lowest index). A max over the other
    logits is a plain reduction XLA fuses well; argmax's (value, index) reduction costs
    several more kernels per training step on GPU (``benchmarks/step_cost.py``).
    """
    own = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    is_label = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
    others = jnp.max(jnp.where(is_label, -jnp.inf, logits), axis=-1)
    return (own > others).astype(jnp.float32)


def correct_one_hot(logits, targets):
    """argmax(logits) == argmax(targets), for one-hot or soft ``(N, K)`` targets."""
    return (jnp.argmax(logits, axis=-1) == jnp.argmax(targets, axis=-1)).astype(jnp.float32)


def _all_but_batch(x):
    return x.reshape(x.shape[0], -1)


def correct_binary_logits(logits, labels):
    """(logits > 0) == (labels > 0.5) on every output; a sample counts if all agree."""
    agree = (_all_but_batch(logits) > 0) == (_all_but_batch(labels) > 0.5)
    return jnp.all(agree, axis=1).astype(jnp.float32)


def correct_binary_probabilities(probabilities, labels):
    """(p > 0.5) == (labels > 0.5) on every output; a sample counts if all agree."""
    agree = (_all_but_batch(probabilities) > 0.5) == (_all_but_batch(labels) > 0.5)
    return jnp.all(agree, axis=1).astype(jnp.float32)


_BY_LOSS = {
    _losses.softmax_cross_entropy_with_integer_labels: correct_integer_labels,
    _losses.softmax_cross_entropy: correct_one_hot,
    _losses.binary_cross_entropy_with_logits: correct_binary_logits,
    _losses.binary_cross_entropy: correct_binary_probabilities,
}


def for_loss(loss_fn):
    """Return the correctness function matching ``loss_fn``, or ``None`` (e.g. for mse)."""
    return _BY_LOSS.get(loss_fn)


def resolve(loss_fn, accuracy="auto"):
    """The correctness function to use: picked from ``loss_fn`` for ``"auto"``, else
    ``accuracy`` itself (a function, or ``None`` for no accuracy)."""
    return for_loss(loss_fn) if accuracy == "auto" else accuracy
