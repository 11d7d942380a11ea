"""Losses as forward/backward pairs, the same names and semantics as ``funcnet.losses``.

Every loss ``name`` (the same name as in ``funcnet.losses``) is one pair:

* ``name_forward(predictions, targets, reduction="mean") -> (loss, cache)``;
  ``name_forward(...)[0]`` is the value alone;
* ``name_backward(dloss, cache) -> dpredictions``: ``dloss`` is a scalar for
  ``"mean"``/``"sum"`` (1.0 to get the gradient of the loss itself) and an ``(N,)``
  vector for ``"none"``.

Each loss first computes one value per sample (averaging over any non-batch axes),
then reduces over the batch: ``"mean"`` (default), ``"sum"`` or ``"none"``; the mean of
an empty batch is undefined and raises ValueError, as in funcnet. With
``"mean"`` over ``m`` samples the gradients are the textbook fused ones:

==========================================  =====================================
name                                        d loss / d predictions (one value per
                                            sample, ``"mean"``)
==========================================  =====================================
mse                                         2 (y_hat - y) / m
binary_cross_entropy_with_logits            (sigmoid(z) - y) / m
binary_cross_entropy                        (p - y) / (p (1 - p)) / m, 0 if clipped
softmax_cross_entropy                       (softmax(z) - y) / m
softmax_cross_entropy_with_integer_labels   (softmax(z) - onehot(label)) / m; with
                                            ``ignore``: / (T_real(n) m_real) at real
                                            steps, 0 at ignored ones
==========================================  =====================================

``LOSSES[name]`` holds the ``(forward, backward)`` pair.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from reference import _checks
from reference.activations import Pair

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(where: str, reduction) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(per_sample: np.ndarray, reduction: str, where: str):
    if reduction == "mean":
        if per_sample.shape[0] == 0:
            raise ValueError(
                f"{where}: the mean over an empty batch (0 samples) is undefined; pass at "
                f"least one sample, or reduction='sum' (0) or 'none' (an empty vector)"
            )
        return np.mean(per_sample)
    if reduction == "sum":
        return np.sum(per_sample)
    return per_sample


def _reduce_backward(where: str, dloss, n: int, reduction: str, dtype) -> np.ndarray:
    """d per_sample from d loss: dloss / m for "mean", dloss for "sum", as is for "none"."""
    dloss = np.asarray(dloss)
    if reduction == "none":
        if dloss.shape != (n,):
            raise ValueError(f"{where} backward: with reduction='none' dloss must have shape "
                             f"({n},) (one value per sample), got {dloss.shape}")
        return dloss.astype(dtype, copy=False)
    if dloss.shape != ():
        raise ValueError(f"{where} backward: with reduction={reduction!r} dloss must be a "
                         f"scalar, got shape {dloss.shape}")
    scale = dloss / n if reduction == "mean" else dloss
    return np.full(n, scale, dtype=dtype)


def _per_sample_mean(x: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first: (N, ...) -> (N,)."""
    # The explicit width (not -1) lets an empty batch (0, ...) reshape too.
    return np.mean(x.reshape(x.shape[0], math.prod(x.shape[1:])), axis=1) if x.ndim > 1 else x


def _probabilities(where: str, name: str, values: np.ndarray) -> None:
    """Raise ValueError if ``values`` hold a number outside [0, 1] (NaN passes through)."""
    outside = (values < 0) | (values > 1)
    if outside.any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(f"{where}: {name} must be in [0, 1] (probabilities), got "
                         f"{values[index]} at index {index}")


def _per_sample_mean_backward(d_per_sample: np.ndarray, shape: tuple) -> np.ndarray:
    """d x_{n,...} = d per_sample_n / D, with D the number of entries per sample."""
    per_sample_size = int(np.prod(shape[1:], dtype=np.int64))
    return np.broadcast_to(
        (d_per_sample / per_sample_size).reshape((shape[0],) + (1,) * (len(shape) - 1)), shape
    )


def _same_shape_inputs(where, pred_name, pred, target_name, target, reduction):
    _check_reduction(where, reduction)
    pred = _checks.float_array(where, pred_name, pred)
    target = np.asarray(target)
    _checks.min_rank(where, pred_name, pred, 1, "(batch, ...)")
    _checks.same_length(where, pred_name, pred, target_name, target)
    _checks.same_shape(where, pred_name, pred, target_name, target)
    return pred, target


def mse_forward(predictions, targets, reduction: str = "mean"):
    """loss = mean over samples of mean((y_hat - y)^2).

    Args:
        predictions: ``(N, ...)`` float array.
        targets: same shape as ``predictions``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.

    Returns:
        ``(loss, cache)``; ``loss`` is a scalar, or ``(N,)`` for ``"none"``.

    Examples:
        >>> loss, cache = mse_forward(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
        >>> float(loss), mse_backward(1.0, cache)
        (2.5, array([[1.],
               [2.]]))
    """
    predictions, targets = _same_shape_inputs("mse", "predictions", predictions, "targets",
                                              targets, reduction)
    diff = predictions - targets
    return _reduce(_per_sample_mean(diff**2), reduction, "mse"), (diff, reduction)


def mse_backward(dloss, cache):
    """dy_hat = 2 (y_hat - y) * dloss / (m * D), D the entries per sample."""
    diff, reduction = cache
    d_per_sample = _reduce_backward("mse", dloss, diff.shape[0], reduction, diff.dtype)
    return 2 * diff * _per_sample_mean_backward(d_per_sample, diff.shape)


def binary_cross_entropy_with_logits_forward(logits, labels, reduction: str = "mean"):
    """loss = mean of log(1 + exp(z)) - z*y (sigmoid + BCE, fused; stable for any z).

    Args:
        logits: ``(N, ...)`` float array.
        labels: same shape, values in [0, 1] (0/1 or soft labels); others raise.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, cache)``.

    Examples:
        >>> loss, cache = binary_cross_entropy_with_logits_forward(
        ...     np.array([[0.0]]), np.array([[1.0]]))
        >>> round(float(loss), 6), binary_cross_entropy_with_logits_backward(1.0, cache)
        (0.693147, array([[-0.5]]))
    """
    where = "binary_cross_entropy_with_logits"
    logits, labels = _same_shape_inputs(where, "logits", logits, "labels", labels, reduction)
    labels = _checks.float_array(where, "labels", labels)
    _probabilities(where, "labels", labels)
    # log(1 + e^z) as logaddexp(0, z): never overflows.
    per_element = np.logaddexp(0, logits) - logits * labels
    return _reduce(_per_sample_mean(per_element), reduction, where), (logits, labels, reduction)


def binary_cross_entropy_with_logits_backward(dloss, cache):
    """dz = (sigmoid(z) - y) * dloss / (m * D)."""
    logits, labels, reduction = cache
    e = np.exp(-np.abs(logits))
    p = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    d_per_sample = _reduce_backward("binary_cross_entropy_with_logits", dloss,
                                    logits.shape[0], reduction, logits.dtype)
    return (p - labels) * _per_sample_mean_backward(d_per_sample, logits.shape)


def binary_cross_entropy_forward(probabilities, labels, reduction: str = "mean",
                                 eps: float = 1e-15):
    """loss = -mean(y log p + (1 - y) log(1 - p)), with p clipped to [eps, 1 - eps].

    The clip is the seeds' ``np.clip(y_pred, 1e-15, 1 - 1e-15)`` and funcnet's: a
    probability of exactly 0 or 1 gives a large finite loss, and zero gradient.

    Args:
        probabilities: ``(N, ...)`` values in [0, 1] (e.g. sigmoid outputs); others raise.
        labels: same shape, values in [0, 1].
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        eps: clipping margin, in (0, 0.5).

    Returns:
        ``(loss, cache)``.

    Examples:
        >>> loss, cache = binary_cross_entropy_forward(np.array([[0.5]]), np.array([[1.0]]))
        >>> round(float(loss), 6), binary_cross_entropy_backward(1.0, cache)
        (0.693147, array([[-2.]]))
    """
    where = "binary_cross_entropy"
    probabilities, labels = _same_shape_inputs(where, "probabilities", probabilities,
                                               "labels", labels, reduction)
    labels = _checks.float_array(where, "labels", labels)
    _probabilities(where, "probabilities", probabilities)
    _probabilities(where, "labels", labels)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < 0.5:
        raise ValueError(f"{where}: eps must be in (0, 0.5), got {eps!r}")
    p = np.clip(probabilities, eps, 1 - eps)
    per_element = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    # Strictly outside [eps, 1 - eps] the clip is constant, so no gradient passes.
    inside = (probabilities >= eps) & (probabilities <= 1 - eps)
    return (_reduce(_per_sample_mean(per_element), reduction, where),
            (p, labels, inside, reduction))


def binary_cross_entropy_backward(dloss, cache):
    """dp = (p - y) / (p (1 - p)) * dloss / (m * D) where eps <= p <= 1 - eps, else 0."""
    p, labels, inside, reduction = cache
    d_per_sample = _reduce_backward("binary_cross_entropy", dloss, p.shape[0], reduction,
                                    p.dtype)
    dp = (p - labels) / (p * (1 - p)) * _per_sample_mean_backward(d_per_sample, p.shape)
    return np.where(inside, dp, np.zeros_like(dp))


def _softmax_rows(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(softmax, log_softmax) along the last axis, max-shifted."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = np.sum(e, axis=-1, keepdims=True)
    return e / total, shifted - np.log(total)


def softmax_cross_entropy_forward(logits, targets, reduction: str = "mean"):
    """loss = mean over samples of -sum_k y_k log softmax(z)_k.

    Args:
        logits: ``(N, K)`` float array (``(N, ..., K)``: extra axes are averaged).
        targets: ``(N, K)`` probabilities (one-hot or soft; each row sums to 1); a value
            outside [0, 1] raises.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, cache)``.

    Examples:
        >>> loss, cache = softmax_cross_entropy_forward(np.array([[0.0, 0.0]]),
        ...                                             np.array([[1.0, 0.0]]))
        >>> round(float(loss), 6), softmax_cross_entropy_backward(1.0, cache)
        (0.693147, array([[-0.5,  0.5]]))
    """
    where = "softmax_cross_entropy"
    _check_reduction(where, reduction)
    logits = _checks.float_array(where, "logits", logits)
    targets = np.asarray(targets)
    _checks.min_rank(where, "logits", logits, 2, "(batch, classes)")
    _checks.same_length(where, "logits", logits, "targets", targets)
    if targets.shape != logits.shape:
        raise ValueError(
            f"{where}: targets must be one-hot/soft with the shape of logits "
            f"{logits.shape}, got {targets.shape}; for integer class labels use "
            f"softmax_cross_entropy_with_integer_labels"
        )
    targets = _checks.float_array(where, "targets", targets)
    _probabilities(where, "targets", targets)
    p, log_p = _softmax_rows(logits)
    per_row = -np.sum(targets * log_p, axis=-1)
    return _reduce(_per_sample_mean(per_row), reduction, where), (p, targets, reduction)


def softmax_cross_entropy_backward(dloss, cache):
    """dz = (p * sum_k y_k - y) * dloss / m, which is (p - y) / m when rows sum to 1."""
    p, targets, reduction = cache
    d_per_sample = _reduce_backward("softmax_cross_entropy", dloss, p.shape[0], reduction,
                                    p.dtype)
    d_row = _per_sample_mean_backward(d_per_sample, p.shape[:-1])
    return (p * np.sum(targets, axis=-1, keepdims=True) - targets) * d_row[..., None]


def softmax_cross_entropy_with_integer_labels_forward(logits, labels, reduction: str = "mean",
                                                      *, ignore=None):
    """loss = mean over samples of -log softmax(z)[label] (over a sample's real steps).

    With ``ignore`` an id, steps labelled with it count for nothing: a sample's loss is
    the mean over its ``T_real`` other steps (0 when it has none), and ``"mean"`` is over
    the samples with ``T_real > 0`` (ValueError when there is none), as in funcnet.

    Args:
        logits: ``(N, K)`` float array, or ``(N, T, K)`` (``(N, ..., K)``).
        labels: ``logits.shape[:-1]`` integer array with values in ``[0, K)`` or equal
            to ``ignore``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        ignore: the padding label id (any int), or ``None``.

    Returns:
        ``(loss, cache)``.

    Examples:
        >>> loss, cache = softmax_cross_entropy_with_integer_labels_forward(
        ...     np.array([[0.0, 0.0]]), np.array([0]))
        >>> round(float(loss), 6), softmax_cross_entropy_with_integer_labels_backward(1.0, cache)
        (0.693147, array([[-0.5,  0.5]]))
        >>> loss, cache = softmax_cross_entropy_with_integer_labels_forward(
        ...     np.zeros((1, 2, 2)), np.array([[0, -1]]), ignore=-1)
        >>> round(float(loss), 6), softmax_cross_entropy_with_integer_labels_backward(1.0, cache)
        (0.693147, array([[[-0.5,  0.5],
                [ 0. ,  0. ]]]))
    """
    where = "softmax_cross_entropy_with_integer_labels"
    _check_reduction(where, reduction)
    logits = _checks.float_array(where, "logits", logits)
    labels = np.asarray(labels)
    _checks.min_rank(where, "logits", logits, 2, "(batch, classes)")
    _checks.same_length(where, "logits", logits, "labels", labels)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"{where}: labels must have shape {logits.shape[:-1]} (one integer per row of "
            f"logits), got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"{where}: labels must be integer class indices, got dtype {labels.dtype}; "
            f"for one-hot or soft targets use softmax_cross_entropy"
        )
    if ignore is not None and (isinstance(ignore, bool)
                               or not isinstance(ignore, numbers.Integral)):
        raise TypeError(f"{where}: ignore must be an int label id (or None), got "
                        f"{type(ignore).__name__} {ignore!r}")
    num_classes = logits.shape[-1]
    real = np.ones(labels.shape, bool) if ignore is None else labels != ignore
    checked = labels[real]
    if checked.size and (checked.min() < 0 or checked.max() >= num_classes):
        bad = int(checked.min()) if checked.min() < 0 else int(checked.max())
        padding = "" if ignore is None else f" or the ignore id {ignore}"
        raise ValueError(f"{where}: labels must be in [0, {num_classes}){padding}, got a "
                         f"label {bad}")
    p, log_p = _softmax_rows(logits)
    if ignore is None:
        per_row = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
        return (_reduce(_per_sample_mean(per_row), reduction, where),
                (p, labels, reduction, None))
    safe = np.where(real, labels, 0)
    per_row = -np.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0] * real
    steps = real.reshape(len(real), -1).sum(axis=1)
    per_sample = per_row.reshape(len(real), -1).sum(axis=1) / np.maximum(steps, 1)
    if reduction != "mean" or not len(real):
        value = _reduce(per_sample, reduction, where)
    elif not np.any(steps):
        raise ValueError(f"{where}: every step of every sample is labelled ignore={ignore}, "
                         f"so the mean over samples with a real step is undefined")
    else:
        value = np.sum(per_sample) / np.count_nonzero(steps)
    return value, (p, safe, reduction, (real, steps))


def softmax_cross_entropy_with_integer_labels_backward(dloss, cache):
    """dz = (p - onehot(label)) * dloss / m; with ``ignore``:
    dz = (p - onehot(label)) / T_real(n) * dloss / m_real at real steps, 0 at ignored."""
    p, labels, reduction, ignoring = cache
    where = "softmax_cross_entropy_with_integer_labels"
    onehot = np.arange(p.shape[-1]) == labels[..., None]
    if ignoring is None:
        d_per_sample = _reduce_backward(where, dloss, p.shape[0], reduction, p.dtype)
        d_row = _per_sample_mean_backward(d_per_sample, p.shape[:-1])
        return (p - onehot) * d_row[..., None]
    real, steps = ignoring
    n = p.shape[0]
    m_real = np.count_nonzero(steps)
    d_per_sample = _reduce_backward(where, dloss, n, reduction, p.dtype)
    if reduction == "mean":
        # dloss / m_real, not / n: "mean" is over the m_real samples with a real step
        # (a sample with none gets dz = 0 below, as every ignored step does)
        d_per_sample = np.full(n, np.asarray(dloss) / m_real, dtype=p.dtype)
    scale = (d_per_sample / np.maximum(steps, 1)).reshape((n,) + (1,) * real.ndim)
    return np.where(real[..., None], (p - onehot) * scale, 0.0)


LOSSES = {
    "mse": Pair(mse_forward, mse_backward),
    "binary_cross_entropy_with_logits": Pair(binary_cross_entropy_with_logits_forward,
                                             binary_cross_entropy_with_logits_backward),
    "binary_cross_entropy": Pair(binary_cross_entropy_forward, binary_cross_entropy_backward),
    "softmax_cross_entropy": Pair(softmax_cross_entropy_forward,
                                  softmax_cross_entropy_backward),
    "softmax_cross_entropy_with_integer_labels": Pair(
        softmax_cross_entropy_with_integer_labels_forward,
        softmax_cross_entropy_with_integer_labels_backward),
}


def get(name: str) -> Pair:
    """Return the ``(forward, backward)`` pair of the loss called ``name``.

    Raises:
        ValueError: if ``name`` is not one of :data:`LOSSES`.

    Examples:
        >>> forward, backward = get("mse")
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[name]
