"""Losses: ``loss(predictions, targets, reduction="mean") -> scalar``.

Each loss first computes one value per sample (averaging over any non-batch axes),
then reduces over the batch: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the
``(N,)`` per-sample vector, used by the training loop to weight a padded last batch).
The mean of an empty batch is undefined and raises ValueError.

Each loss declares in :data:`TARGETS` what it accepts as targets (a
``funcnet._targets.Targets`` contract: real numbers, probabilities, distributions or
class ids). The loss checks that contract itself (dtypes and shapes always, values when
they are concrete), ``fit`` and ``evaluate`` check it up front against the model's
output, and inside compiled code a sample that breaks it gets a NaN loss, so a guarded
step is skipped rather than trained on. Predictions may be floats or integers (computed
as floats); bools and complex numbers are refused.

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

from funcnet import _checks, _targets
from funcnet._targets import CLASSES, DISTRIBUTION, PROBABILITIES, REAL, Targets
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


def _checked(where: str, name: str, targets, classes: int | None = None,
             contract: Targets | None = None):
    """Check ``targets`` against the loss's contract (``TARGETS[where]`` unless given):
    the dtype now, the values if concrete. Returns the ``(N,)`` validity flags that
    :func:`funcnet._targets.poison` needs under ``jit``."""
    contract = TARGETS[where] if contract is None else contract
    contract.check_dtype(where, name, targets)
    contract.check_values(where, name, targets, classes)
    return contract.valid(targets, classes)


def _per_sample_mean(x):
    """Mean over every axis but the first: (N, ...) -> (N,)."""
    # the explicit width (not -1) lets an empty batch (0, ...) reshape too
    return jnp.mean(x.reshape(x.shape[0], math.prod(x.shape[1:])), axis=1) if x.ndim > 1 else x


def mse(predictions, targets, reduction: str = "mean"):
    """Mean squared error: mean((predictions - targets)^2).

    Integer inputs are computed as floats (no integer overflow); bools and complex
    numbers are refused.

    Args:
        predictions: ``(N, ...)`` real array.
        targets: same shape as ``predictions``, real.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.

    Examples:
        >>> mse(jnp.array([[1.0], [3.0]]), jnp.array([[0.0], [1.0]]))
        Array(2.5, dtype=float32)
    """
    where = "mse"
    _targets.same_shape(where, "predictions", predictions, "targets", targets)
    predictions = _targets.scores(where, "predictions", predictions)
    _checked(where, "targets", targets)
    targets = _targets.scores(where, "targets", targets)
    return _reduce(_per_sample_mean((predictions - targets) ** 2), reduction, where)


def binary_cross_entropy_with_logits(logits, labels, reduction: str = "mean"):
    """Sigmoid + binary cross-entropy on logits, stable for any |z|.

    Uses ``log(1 + exp(z)) - z*y`` (with ``log(1 + exp(z))`` as ``logaddexp(0, z)``),
    which equals ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` without overflow;
    its gradient is ``sigmoid(z) - y`` everywhere.

    Args:
        logits: ``(N, ...)`` float array.
        labels: same shape, floats in [0, 1] (0/1 or soft labels); a value outside
            raises ValueError when the labels are concrete, and makes that sample's
            loss NaN under ``jit``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Examples:
        >>> binary_cross_entropy_with_logits(jnp.array([[0.0]]), jnp.array([[1.0]]))
        Array(0.6931472, dtype=float32)
    """
    where = "binary_cross_entropy_with_logits"
    _targets.same_shape(where, "logits", logits, "labels", labels)
    valid = _checked(where, "labels", labels)
    # log(1 + e^z) as logaddexp(0, z): stable, and its gradient is sigmoid(z) at every z,
    # including z = 0 where max(z, 0) + log1p(exp(-|z|)) has two kinks whose jax
    # subgradients do not add up to sigmoid(0).
    logits = _targets.scores(where, "logits", logits)
    per_element = jnp.logaddexp(jnp.zeros_like(logits), logits) - logits * labels
    return _reduce(_targets.poison(_per_sample_mean(per_element), valid), reduction, where)


def binary_cross_entropy(probabilities, labels, reduction: str = "mean",
                         eps: float | None = None):
    """Binary cross-entropy on probabilities, as the seeds write it.

    ``p`` is clipped to ``[eps, 1 - eps]`` before the logs, exactly as the lessons do
    (``np.clip(y_pred, 1e-15, 1 - 1e-15)``), so a probability of exactly 0 or 1 gives a
    large finite loss instead of inf. Inside the clipped region the gradient is zero:
    prefer :func:`binary_cross_entropy_with_logits` for training.

    Args:
        probabilities: ``(N, ...)`` values in [0, 1] (e.g. sigmoid outputs); a value
            outside raises ValueError when concrete (as does one of ``labels``) and
            makes that sample's loss NaN under ``jit``: it is never clipped into range.
        labels: same shape, floats in [0, 1].
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        eps: clipping margin, in (0, 0.5), such that ``eps > 0`` and ``1 - eps < 1`` in
            the dtype the loss computes in (float32 at least); by default the seeds'
            ``1e-15`` where that dtype holds ``1 - 1e-15`` (float64), else the smallest
            that does (``5.96e-8`` in float32).

    Examples:
        >>> binary_cross_entropy(jnp.array([[0.5]]), jnp.array([[1.0]]))
        Array(0.6931472, dtype=float32)
    """
    where = "binary_cross_entropy"
    _targets.same_shape(where, "probabilities", probabilities, "labels", labels)
    TARGETS[where].check_dtype(where, "labels", labels)
    p = _targets.scores(where, "probabilities", probabilities)
    # the predictions keep the same contract as the labels: probabilities
    in_range = _checked(where, "probabilities", p, contract=PROBABILITIES)
    valid = _checked(where, "labels", labels) & in_range
    eps = (max(1e-15, float(jnp.finfo(p.dtype).epsneg)) if eps is None
           else _checks.clip_margin(where, "eps", eps, p.dtype))
    p = jnp.clip(p, eps, 1 - eps)
    per_element = -(labels * jnp.log(p) + (1 - labels) * jnp.log(1 - p))
    return _reduce(_targets.poison(_per_sample_mean(per_element), valid), reduction, where)


def softmax_cross_entropy(logits, targets, reduction: str = "mean"):
    """Softmax cross-entropy with one-hot or soft targets: -sum_k y_k log softmax(z)_k.

    Args:
        logits: ``(N, K)`` float array, ``K >= 2`` (or ``(N, ..., K)``: the mean over
            the middle axes).
        targets: ``(N, K)`` floats, one-hot or soft: each in [0, 1], each row summing
            to 1 within ``K`` times the eps of their dtype (``funcnet._targets.
            sum_tolerance``). A row that does not raises ValueError when concrete and
            makes that sample's loss NaN under ``jit`` (where the sum itself rounds,
            beyond twice that tolerance).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Examples:
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
    _targets.class_count(where, logits)
    valid = _checked(where, "targets", targets)
    per_sample = -jnp.sum(targets * log_softmax(_targets.scores(where, "logits", logits)), axis=-1)
    return _reduce(_targets.poison(_per_sample_mean(per_sample), valid), reduction, where)


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
        logits: ``(N, K)`` float array, or ``(N, T, K)`` (any ``(N, ..., K)``); ``K >= 2``.
        labels: ``logits.shape[:-1]`` integer array with values in ``[0, K)`` or equal
            to ``ignore`` (checked when the labels are concrete; under ``jit`` a
            sample with a label out of range gets a NaN loss, never another class's,
            and ``funcnet.fit`` checks the labels before training).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        ignore: the padding label id, or ``None`` (every step counts). It may lie
            outside ``[0, K)``. To train with it, pass ``loss=sequence_cross_entropy(
            ignore=...)`` to ``fit``.

    Examples:
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
    classes = _targets.class_count(where, logits)
    if ignore is not None:
        return _integer_labels_ignoring(where, logits, labels, reduction, ignore)
    valid = _checked(where, "labels", labels, classes)
    nll = _label_nll(where, logits, labels, classes)
    return _reduce(_targets.poison(_per_sample_mean(nll), valid), reduction, where)


def _label_nll(where, logits, labels, classes):
    """``-log softmax(logits)[label]`` per step; 0 where the label is out of range (the
    caller poisons those samples): a gather there would read another class (-1 is the
    last) or NaN."""
    log_p = log_softmax(_targets.scores(where, "logits", logits))
    safe = jnp.where((labels >= 0) & (labels < classes), labels, 0)
    return -jnp.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0]


def _ignore_id(where: str, ignore) -> int:
    if isinstance(ignore, bool) or not isinstance(ignore, numbers.Integral):
        raise TypeError(f"{where}: ignore must be an int label id (or None), got "
                        f"{type(ignore).__name__} {ignore!r}")
    return int(ignore)


def _integer_labels_ignoring(where, logits, labels, reduction, ignore):
    """The integer-label loss where steps labelled ``ignore`` count for nothing."""
    ignore = _ignore_id(where, ignore)
    classes = jnp.shape(logits)[-1]
    valid = _checked(where, "labels", labels, classes, dataclasses.replace(CLASSES,
                                                                          ignore=ignore))
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    n = jnp.shape(labels)[0]
    real = (labels != ignore).reshape(n, math.prod(jnp.shape(labels)[1:]))
    # an ignored step may hold an id outside [0, K): its loss is dropped here
    nll = _label_nll(where, logits, labels, classes).reshape(real.shape)
    steps = jnp.sum(real, axis=1).astype(nll.dtype)
    per_sample = _targets.poison(
        jnp.sum(jnp.where(real, nll, 0), axis=1) / jnp.maximum(steps, 1), valid)
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

    Examples:
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


#: Each loss's target contract, declared once: the loss, ``fit`` and ``evaluate`` check it.
TARGETS = {
    "mse": REAL,
    "binary_cross_entropy_with_logits": PROBABILITIES,
    "binary_cross_entropy": PROBABILITIES,
    "softmax_cross_entropy": DISTRIBUTION,
    "softmax_cross_entropy_with_integer_labels": CLASSES,
}

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


def targets_of(loss_fn) -> Targets | None:
    """The target contract of ``loss_fn`` if it is a built-in loss (also as
    ``sequence_cross_entropy(...)`` or a ``functools.partial`` binding only keywords),
    else ``None``: a loss of your own checks its targets itself.

    Examples:
        >>> targets_of(mse).kind, targets_of(sequence_cross_entropy(ignore=-1)).ignore
        ('real', -1)
    """
    integer = integer_label_loss(loss_fn)
    if integer is not None:
        return dataclasses.replace(CLASSES, ignore=integer.ignore)
    if isinstance(loss_fn, functools.partial) and not loss_fn.args:
        loss_fn = loss_fn.func
    return next((TARGETS[name] for name, f in LOSSES.items() if f is loss_fn), None)
