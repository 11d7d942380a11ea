"""Per-sample correctness for classification, chosen from the loss being trained, and
the mask-weighted sums that training and evaluation both report.

Each correctness function maps ``(outputs, targets) -> (N,)`` floats (1.0 correct,
0.0 wrong; for a sequence, the fraction of its steps right); :func:`masked_correct`
weights them by the batch mask, so padded samples never count.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from funcnet import losses


def _all_but_batch(x):
    return x.reshape(x.shape[0], -1)


def correct_integer_labels(logits, labels):
    """argmax(logits) == labels, for ``(N, K)`` logits and ``(N,)`` integer labels.

    A tie for the top goes to the lowest index, as ``argmax`` does (ties are common with
    bf16 logits). A "label's logit beats every other" rule is a few kernels cheaper per
    step on GPU, but it counts every tie as wrong, so it is not used
    (``benchmarks/step_cost.py`` measures both). Sequence logits ``(N, T, K)`` with
    labels ``(N, T)`` give each sample the fraction of its steps predicted right.
    """
    right = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
    return jnp.mean(_all_but_batch(right), axis=1) if right.ndim > 1 else right


@functools.cache
def correct_labels_ignoring(ignore: int):
    """The correctness for integer labels with padding id ``ignore``: per sample, the
    fraction of its real (not ``ignore``) steps where argmax(logits) == labels; 0 for
    a sample with no real step (``fit`` and ``evaluate`` refuse those).

    Examples:
        >>> logits = jnp.array([[[2.0, 0.0], [2.0, 0.0], [0.0, 2.0]]])  # (1, 3, 2)
        >>> correct_labels_ignoring(-1)(logits, jnp.array([[0, 1, -1]]))
        Array([0.5], dtype=float32)
    """

    def correct(logits, labels):
        real = _all_but_batch(labels != ignore)
        right = _all_but_batch(jnp.argmax(logits, axis=-1) == labels) & real
        steps = jnp.sum(real, axis=1).astype(jnp.float32)
        return jnp.sum(right, axis=1).astype(jnp.float32) / jnp.maximum(steps, 1)

    return correct


def correct_one_hot(logits, targets):
    """argmax(logits) == argmax(targets), for one-hot or soft ``(N, K)`` targets."""
    return (jnp.argmax(logits, axis=-1) == jnp.argmax(targets, axis=-1)).astype(jnp.float32)


def correct_binary_logits(logits, labels):
    """(logits > 0) == (labels > 0.5) on every output; a sample counts if all agree."""
    agree = (_all_but_batch(logits) > 0) == (_all_but_batch(labels) > 0.5)
    return jnp.all(agree, axis=1).astype(jnp.float32)


def correct_binary_probabilities(probabilities, labels):
    """(p > 0.5) == (labels > 0.5) on every output; a sample counts if all agree."""
    agree = (_all_but_batch(probabilities) > 0.5) == (_all_but_batch(labels) > 0.5)
    return jnp.all(agree, axis=1).astype(jnp.float32)


_BY_LOSS = {
    losses.softmax_cross_entropy_with_integer_labels: correct_integer_labels,
    losses.softmax_cross_entropy: correct_one_hot,
    losses.binary_cross_entropy_with_logits: correct_binary_logits,
    losses.binary_cross_entropy: correct_binary_probabilities,
}


def for_loss(loss_fn):
    """Return the correctness function matching ``loss_fn``, or ``None`` (e.g. for mse).

    The integer-label cross-entropy with an ``ignore`` id (``sequence_cross_entropy``)
    gets :func:`correct_labels_ignoring` for that id.
    """
    integer = losses.integer_label_loss(loss_fn)
    if integer is not None and integer.ignore is not None:
        return correct_labels_ignoring(integer.ignore)
    if integer is not None:
        return correct_integer_labels
    return _BY_LOSS.get(loss_fn)


def resolve(loss_fn, accuracy="auto"):
    """The correctness function to use: picked from ``loss_fn`` for ``"auto"``, else
    ``accuracy`` itself (a function, or ``None`` for no accuracy)."""
    return for_loss(loss_fn) if accuracy == "auto" else accuracy


def function_name(fn) -> str:
    """What messages call ``fn``: its ``__name__``, else (a partial, a callable object)
    the name of what it wraps or its type."""
    name = getattr(fn, "__name__", None)
    if name is None and isinstance(fn, functools.partial):
        return f"partial({function_name(fn.func)})"
    return name or type(fn).__name__


def _weights(mask):
    """``mask`` after checking it is a ``(B,)`` vector; returns ``B``."""
    if jnp.ndim(mask) != 1:
        raise ValueError(
            f"the batch mask must be a (batch,) vector of sample weights, got shape "
            f"{tuple(jnp.shape(mask))}; pass one weight per sample, e.g. mask.reshape(-1)")
    return jnp.shape(mask)[0]


def one_per_sample(what: str, value, batch: int, fix: str) -> None:
    """Raise ValueError unless ``value`` has shape exactly ``(batch,)``: a per-sample
    vector of another shape would broadcast against the ``(B,)`` mask into a wrong
    mean (``(B, 1) * (B,)`` is ``(B, B)``). Free under ``jit`` (shapes are static)."""
    if jnp.shape(value) != (batch,):
        raise ValueError(
            f"{what} must return one value per sample, shape ({batch},), got shape "
            f"{tuple(jnp.shape(value))}; {fix}")


def masked_loss_sum(loss_fn, outputs, targets, mask):
    """``sum_i mask_i * loss_i``: the loss of the real samples of a padded batch.

    Args:
        loss_fn: a loss taking ``reduction="none"``, returning ``(B,)`` (any other
            shape raises ValueError, naming the loss and the shape it returned).
        outputs: ``(B, ...)`` model outputs.
        targets: ``(B, ...)`` labels or targets.
        mask: ``(B,)`` sample weights (1 real, 0 padding).

    Examples:
        >>> float(masked_loss_sum(mse, jnp.ones((3, 2)), jnp.zeros((3, 2)),
        ...                       jnp.array([1.0, 1.0, 0.0])))
        2.0
    """
    batch = _weights(mask)
    per_sample = loss_fn(outputs, targets, reduction="none")
    one_per_sample(f"the loss {function_name(loss_fn)}(outputs, targets, reduction='none')",
                   per_sample, batch, "average or sum every other axis inside the loss")
    return jnp.sum(per_sample * mask)


def masked_correct(correct_fn, outputs, targets, mask):
    """``sum_i mask_i * correct_i``, or 0 when ``correct_fn`` is ``None``.

    ``correct_fn(outputs, targets)`` must return ``(B,)``; any other shape raises
    ValueError naming the function and the shape it returned.

    Examples:
        >>> logits = jnp.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
        >>> float(masked_correct(correct_integer_labels, logits, jnp.array([0, 0, 0]),
        ...                      jnp.array([1.0, 1.0, 0.0])))
        1.0
    """
    if correct_fn is None:
        return jnp.zeros((), jnp.float32)
    batch = _weights(mask)
    correct = correct_fn(outputs, targets)
    one_per_sample(f"the accuracy function {function_name(correct_fn)}(outputs, targets)",
                   correct, batch, "give 1.0 (right) or 0.0 (wrong) for each sample")
    return jnp.sum(correct * mask)
