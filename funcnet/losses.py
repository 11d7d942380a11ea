"""Losses: ``loss(predictions, targets, reduction="mean") -> scalar``.

Each loss first computes one value per sample (averaging over any non-batch axes),
then reduces over the batch: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the
``(N,)`` per-sample vector, used by the training loop to weight a padded last batch).
The mean of an empty batch is undefined and raises ValueError.

==========================================  =========================================
name                                        per-sample loss
==========================================  =========================================
mse                                         mean((y_hat - y)^2)
binary_cross_entropy_with_logits            mean(log(1 + exp(z)) - z*y), stably
binary_cross_entropy                        -mean(y log p + (1-y) log(1-p)), p clipped
softmax_cross_entropy                       -sum_k y_k log softmax(z)_k
softmax_cross_entropy_with_integer_labels   -log softmax(z)_label; (N, T, K) logits:
                                            the mean over the real (not ``ignore``)
                                            steps
==========================================  =========================================

``sequence_cross_entropy(ignore=...)`` fixes the padding id of the last one, as a loss
function ``fit`` and the metrics recognise.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers

import jax.numpy as jnp
import numpy as np

from funcnet import _checks
from funcnet._dtypes import at_least_float32
from funcnet.activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_sample, reduction: str, where: str):
    if reduction == "mean":
        if per_sample.shape[0] == 0:
            raise ValueError(
                f"{where}: the mean over an empty batch (0 samples) is undefined; pass at "
                f"least one sample, or reduction='sum' (0) or 'none' (an empty vector)"
            )
        return jnp.mean(per_sample)
    if reduction == "sum":
        return jnp.sum(per_sample)
    if reduction == "none":
        return per_sample
    raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _probabilities(where: str, name: str, values) -> None:
    """Raise ValueError if concrete ``values`` hold a number outside [0, 1] (NaN passes:
    it propagates to the loss). Traced values (under jit) cannot be inspected."""
    if _checks.is_concrete(values) and np.size(values):
        v = np.asarray(values)
        outside = (v < 0) | (v > 1)
        if outside.any():
            index = tuple(int(i) for i in np.argwhere(outside)[0])
            raise ValueError(
                f"{where}: {name} must be in [0, 1] (probabilities), got {v[index]} at "
                f"index {index}"
            )


def _per_sample_mean(x):
    """Mean over every axis but the first: (N, ...) -> (N,)."""
    # the explicit width (not -1) lets an empty batch (0, ...) reshape too
    return jnp.mean(x.reshape(x.shape[0], math.prod(x.shape[1:])), axis=1) if x.ndim > 1 else x


def _same_shape(where: str, pred_name: str, pred, target_name: str, target) -> None:
    _checks.array(where, pred_name, pred)
    _checks.array(where, target_name, target)
    _checks.min_rank(where, pred_name, pred, 1, "(batch, ...)")
    _checks.same_length(where, pred_name, pred, target_name, target)
    if jnp.shape(pred) != jnp.shape(target):
        raise ValueError(
            f"{where}: {target_name} must have the shape of {pred_name} "
            f"{tuple(jnp.shape(pred))}, got {tuple(jnp.shape(target))}"
        )


def mse(predictions, targets, reduction: str = "mean"):
    """Mean squared error: mean((predictions - targets)^2).

    Args:
        predictions: ``(N, ...)`` float array.
        targets: same shape as ``predictions``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.

    Example:
        >>> mse(jnp.array([[1.0], [3.0]]), jnp.array([[0.0], [1.0]]))
        Array(2.5, dtype=float32)
    """
    _same_shape("mse", "predictions", predictions, "targets", targets)
    predictions = at_least_float32(predictions)
    return _reduce(_per_sample_mean((predictions - targets) ** 2), reduction, "mse")


def binary_cross_entropy_with_logits(logits, labels, reduction: str = "mean"):
    """Sigmoid + binary cross-entropy on logits, stable for any |z|.

    Uses ``log(1 + exp(z)) - z*y`` (with ``log(1 + exp(z))`` as ``logaddexp(0, z)``),
    which equals ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` without overflow;
    its gradient is ``sigmoid(z) - y`` everywhere.

    Args:
        logits: ``(N, ...)`` float array.
        labels: same shape, values in [0, 1] (0/1 or soft labels); a value outside
            raises ValueError (checked when the labels are concrete).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> binary_cross_entropy_with_logits(jnp.array([[0.0]]), jnp.array([[1.0]]))
        Array(0.6931472, dtype=float32)
    """
    where = "binary_cross_entropy_with_logits"
    _same_shape(where, "logits", logits, "labels", labels)
    _checks.floating_array(where, "labels", labels)
    _probabilities(where, "labels", labels)
    # log(1 + e^z) as logaddexp(0, z): stable, and its gradient is sigmoid(z) at every z,
    # including z = 0 where max(z, 0) + log1p(exp(-|z|)) has two kinks whose jax
    # subgradients do not add up to sigmoid(0).
    logits = at_least_float32(logits)
    per_element = jnp.logaddexp(jnp.zeros_like(logits), logits) - logits * labels
    return _reduce(_per_sample_mean(per_element), reduction, where)


def binary_cross_entropy(probabilities, labels, reduction: str = "mean",
                         eps: float | None = None):
    """Binary cross-entropy on probabilities, as the seeds write it.

    ``p`` is clipped to ``[eps, 1 - eps]`` before the logs, exactly as the lessons do
    (``np.clip(y_pred, 1e-15, 1 - 1e-15)``), so a probability of exactly 0 or 1 gives a
    large finite loss instead of inf. Inside the clipped region the gradient is zero:
    prefer :func:`binary_cross_entropy_with_logits` for training.

    Args:
        probabilities: ``(N, ...)`` values in [0, 1] (e.g. sigmoid outputs); a value
            outside raises ValueError (checked when concrete, as is ``labels``).
        labels: same shape, values in [0, 1].
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        eps: clipping margin, in (0, 0.5), such that ``eps > 0`` and ``1 - eps < 1`` in
            the dtype the loss computes in (float32 at least); by default the seeds'
            ``1e-15`` where that dtype holds ``1 - 1e-15`` (float64), else the smallest
            that does (``5.96e-8`` in float32).

    Example:
        >>> binary_cross_entropy(jnp.array([[0.5]]), jnp.array([[1.0]]))
        Array(0.6931472, dtype=float32)
    """
    where = "binary_cross_entropy"
    _same_shape(where, "probabilities", probabilities, "labels", labels)
    _checks.floating_array(where, "labels", labels)
    _probabilities(where, "probabilities", probabilities)
    _probabilities(where, "labels", labels)
    p = at_least_float32(probabilities)
    eps = (max(1e-15, float(jnp.finfo(p.dtype).epsneg)) if eps is None
           else _checks.clip_margin(where, "eps", eps, p.dtype))
    p = jnp.clip(p, eps, 1 - eps)
    per_element = -(labels * jnp.log(p) + (1 - labels) * jnp.log(1 - p))
    return _reduce(_per_sample_mean(per_element), reduction, where)


def softmax_cross_entropy(logits, targets, reduction: str = "mean"):
    """Softmax cross-entropy with one-hot or soft targets: -sum_k y_k log softmax(z)_k.

    Args:
        logits: ``(N, K)`` float array.
        targets: ``(N, K)`` probabilities (one-hot or soft; each row sums to 1); a
            value outside [0, 1] raises ValueError (checked when concrete).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Example:
        >>> softmax_cross_entropy(jnp.array([[0.0, 0.0]]), jnp.array([[1.0, 0.0]]))
        Array(0.6931472, dtype=float32)
    """
    where = "softmax_cross_entropy"
    _checks.array(where, "logits", logits)
    _checks.array(where, "targets", targets)
    _checks.min_rank(where, "logits", logits, 2, "(batch, classes)")
    _checks.same_length(where, "logits", logits, "targets", targets)
    if jnp.shape(targets) != jnp.shape(logits):
        raise ValueError(
            f"{where}: targets must be one-hot/soft with the shape of logits "
            f"{tuple(jnp.shape(logits))}, got {tuple(jnp.shape(targets))}; for integer "
            f"class labels use softmax_cross_entropy_with_integer_labels"
        )
    _checks.floating_array(where, "targets", targets)
    _probabilities(where, "targets", targets)
    per_sample = -jnp.sum(targets * log_softmax(at_least_float32(logits)), axis=-1)
    return _reduce(_per_sample_mean(per_sample), reduction, where)


def softmax_cross_entropy_with_integer_labels(logits, labels, reduction: str = "mean", *,
                                              ignore: int | None = None):
    """Softmax cross-entropy with integer class labels: -log softmax(z)[label].

    With sequence logits ``(N, T, K)`` and labels ``(N, T)`` a sample's loss is the mean
    over its steps. ``ignore`` marks padding: steps whose label equals it count for
    nothing, so a sample's loss is the mean over its real steps only. A sample with no
    real step has loss 0 (and zero gradient) and carries no weight: ``"mean"`` divides
    by the number of samples holding at least one real step (a batch with none raises
    ValueError when the labels are concrete, and gives 0 under ``jit``); ``fit`` and
    ``evaluate`` refuse such samples up front, since their means are over samples.

    Args:
        logits: ``(N, K)`` float array, or ``(N, T, K)`` (any ``(N, ..., K)``).
        labels: ``logits.shape[:-1]`` integer array with values in ``[0, K)`` or equal
            to ``ignore`` (checked when the labels are concrete; under ``jit`` they
            cannot be inspected, and ``funcnet.fit`` checks them before training).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        ignore: the padding label id, or ``None`` (every step counts). It may lie
            outside ``[0, K)``. To train with it, pass ``loss=sequence_cross_entropy(
            ignore=...)`` to ``fit``.

    Example:
        >>> softmax_cross_entropy_with_integer_labels(jnp.array([[0.0, 0.0]]),
        ...                                           jnp.array([0]))
        Array(0.6931472, dtype=float32)
        >>> logits = jnp.zeros((1, 3, 4))  # one sequence of 3 steps, 4 classes
        >>> softmax_cross_entropy_with_integer_labels(logits, jnp.array([[1, 2, -1]]),
        ...                                           reduction="none", ignore=-1)
        Array([1.3862944], dtype=float32)
    """
    where = "softmax_cross_entropy_with_integer_labels"
    _checks.array(where, "logits", logits)
    _checks.array(where, "labels", labels)
    _checks.min_rank(where, "logits", logits, 2, "(batch, classes)")
    _checks.same_length(where, "logits", logits, "labels", labels)
    if jnp.shape(labels) != jnp.shape(logits)[:-1]:
        raise ValueError(
            f"{where}: labels must have shape {tuple(jnp.shape(logits)[:-1])} (one integer "
            f"per row of logits), got {tuple(jnp.shape(labels))}"
        )
    if ignore is not None:
        return _integer_labels_ignoring(where, logits, labels, reduction, ignore)
    _checks.integer_labels(where, "labels", labels, jnp.shape(logits)[-1])
    log_p = log_softmax(at_least_float32(logits))
    per_sample = -jnp.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
    return _reduce(_per_sample_mean(per_sample), reduction, where)


def _ignore_id(where: str, ignore) -> int:
    if isinstance(ignore, bool) or not isinstance(ignore, numbers.Integral):
        raise TypeError(f"{where}: ignore must be an int label id (or None), got "
                        f"{type(ignore).__name__} {ignore!r}")
    return int(ignore)


def _integer_labels_ignoring(where, logits, labels, reduction, ignore):
    """The integer-label loss where steps labelled ``ignore`` count for nothing."""
    ignore = _ignore_id(where, ignore)
    _checks.integer_labels(where, "labels", labels, jnp.shape(logits)[-1], ignore=ignore)
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    log_p = log_softmax(at_least_float32(logits))
    n = jnp.shape(labels)[0]
    real = (labels != ignore).reshape(n, math.prod(jnp.shape(labels)[1:]))
    # an ignored step may hold an id outside [0, K): gather at 0 there, then drop it
    safe = jnp.where(labels != ignore, labels, 0)
    nll = -jnp.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0].reshape(real.shape)
    steps = jnp.sum(real, axis=1).astype(log_p.dtype)
    per_sample = jnp.sum(jnp.where(real, nll, 0), axis=1) / jnp.maximum(steps, 1)
    if reduction != "mean":
        return _reduce(per_sample, reduction, where)
    if n == 0:
        return _reduce(per_sample, "mean", where)
    samples = jnp.sum(steps > 0)
    if _checks.is_concrete(labels) and int(samples) == 0:
        raise ValueError(
            f"{where}: every step of every sample is labelled ignore={ignore}, so the mean "
            f"over samples with a real step is undefined; pass at least one real label, "
            f"or reduction='sum' (0) or 'none'"
        )
    return jnp.sum(per_sample) / jnp.maximum(samples, 1).astype(per_sample.dtype)


@dataclasses.dataclass(frozen=True)
class SequenceCrossEntropy:
    """:func:`softmax_cross_entropy_with_integer_labels` with a fixed ``ignore`` id, as a
    loss ``(logits, labels, reduction="mean") -> loss`` that ``fit``, ``evaluate`` and
    the accuracy metrics recognise. Make one with :func:`sequence_cross_entropy`."""

    ignore: int | None = None

    def __post_init__(self):
        if self.ignore is not None:
            object.__setattr__(self, "ignore", _ignore_id("sequence_cross_entropy",
                                                          self.ignore))

    def __call__(self, logits, labels, reduction: str = "mean"):
        return softmax_cross_entropy_with_integer_labels(logits, labels, reduction,
                                                         ignore=self.ignore)


def sequence_cross_entropy(*, ignore: int | None = None) -> SequenceCrossEntropy:
    """The integer-label cross-entropy for ``(N, T, K)`` logits, padding id ``ignore``.

    Each sample's loss is the mean over its real steps (labels other than ``ignore``);
    accuracy is the fraction of those steps predicted right. Pass it as ``fit``'s or
    ``evaluate``'s ``loss``; ``functools.partial(softmax_cross_entropy_with_integer_labels,
    ignore=...)`` is recognised the same way.

    Args:
        ignore: the padding label id (any int, e.g. -1), or ``None``.

    Returns:
        A :class:`SequenceCrossEntropy`, a loss function.

    Example:
        >>> loss = sequence_cross_entropy(ignore=-1)
        >>> loss(jnp.zeros((2, 3, 4)), jnp.array([[1, 2, -1], [3, -1, -1]]))
        Array(1.3862944, dtype=float32)
    """
    return SequenceCrossEntropy(ignore)


def integer_label_loss(loss_fn) -> SequenceCrossEntropy | None:
    """``loss_fn`` as a :class:`SequenceCrossEntropy` when it is the integer-label
    cross-entropy (the function, ``sequence_cross_entropy(...)``, or a
    ``functools.partial`` of the function binding only ``ignore``), else ``None``."""
    if loss_fn is softmax_cross_entropy_with_integer_labels:
        return SequenceCrossEntropy(None)
    if isinstance(loss_fn, SequenceCrossEntropy):
        return loss_fn
    if (isinstance(loss_fn, functools.partial)
            and loss_fn.func is softmax_cross_entropy_with_integer_labels
            and not loss_fn.args and set(loss_fn.keywords) <= {"ignore"}):
        return SequenceCrossEntropy(loss_fn.keywords.get("ignore"))
    return None


LOSSES = {
    "mse": mse,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "binary_cross_entropy": binary_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "softmax_cross_entropy_with_integer_labels": softmax_cross_entropy_with_integer_labels,
}


def get(loss):
    """Return ``loss`` if callable, else the loss with that name from :data:`LOSSES`."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[loss]
