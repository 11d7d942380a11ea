"""Preparing arrays for training: standardisation without leakage, one-hot labels,
train/test splits and shuffled mini-batches.

All functions take and return host NumPy arrays (jax arrays are accepted and
converted); pass the results to jitted functions as they are. Random ones take a
``seed`` first: a non-negative int or a ``np.random.Generator`` (see
``funcnet.data._common``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from funcnet import _checks
from funcnet.data._common import features, leading_length, rng


class StandardizerStats(NamedTuple):
    """Per-feature statistics fitted on training data.

    Attributes:
        mean: float64 ``(F,)``, the training mean of each feature.
        scale: float64 ``(F,)``, the training standard deviation of each feature, with
            0 replaced by 1 for constant features (they become exactly 0, not NaN).
    """

    mean: np.ndarray
    scale: np.ndarray


def fit_standardizer(x_train) -> StandardizerStats:
    """Fit per-feature mean and standard deviation on the training set only.

    A feature that is constant in ``x_train`` gets ``scale = 1``, so after
    :func:`apply_standardizer` it is ``x - mean`` (exactly 0 on the training set)
    instead of NaN or inf.

    Args:
        x_train: ``(N, F)`` finite numbers, ``N >= 1``.

    Returns:
        :class:`StandardizerStats` with float64 ``mean`` and ``scale`` of shape ``(F,)``.

    Examples:
        >>> stats = fit_standardizer(np.array([[1.0, 5.0], [3.0, 5.0]]))
        >>> stats.mean.tolist(), stats.scale.tolist()
        ([2.0, 5.0], [1.0, 1.0])
    """
    x = features("fit_standardizer", "x_train", x_train)
    if len(x) == 0:
        raise ValueError("fit_standardizer: x_train must have at least one sample, got shape "
                         f"{x.shape}")
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=0)
    std = x64.std(axis=0)
    return StandardizerStats(mean=mean, scale=np.where(std > 0, std, 1.0))


def apply_standardizer(stats: StandardizerStats, x) -> np.ndarray:
    """``(x - stats.mean) / stats.scale`` with statistics fitted by :func:`fit_standardizer`.

    Args:
        stats: from :func:`fit_standardizer` on the training data.
        x: ``(M, F)`` with the same ``F`` as the training data.

    Returns:
        ``(M, F)``: float64 if ``x`` is float64, else float32.

    Examples:
        >>> stats = fit_standardizer(np.array([[0.0], [2.0]]))
        >>> apply_standardizer(stats, np.array([[4.0]])).tolist()
        [[3.0]]
    """
    x = features("apply_standardizer", "x", x)
    if not isinstance(stats, StandardizerStats):
        raise TypeError(
            f"apply_standardizer: stats must be the StandardizerStats from "
            f"fit_standardizer, got {type(stats).__name__}"
        )
    if x.shape[1] != stats.mean.shape[0]:
        raise ValueError(
            f"apply_standardizer: x has {x.shape[1]} features but the statistics were "
            f"fitted on {stats.mean.shape[0]}"
        )
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    return ((x.astype(np.float64) - stats.mean) / stats.scale).astype(dtype)


def standardize(x_train, x_test):
    """Standardise both sets with statistics from ``x_train`` only (no test leakage).

    Args:
        x_train: ``(N, F)``; the statistics come from here.
        x_test: ``(M, F)``; transformed with the training statistics.

    Returns:
        ``(x_train_std, x_test_std, stats)``: arrays as in :func:`apply_standardizer`,
        and the :class:`StandardizerStats` to apply to later data.

    Examples:
        >>> x_tr, x_te, stats = standardize(np.array([[0.0], [2.0]]), np.array([[1.0]]))
        >>> x_tr.tolist(), x_te.tolist()
        ([[-1.0], [1.0]], [[0.0]])
    """
    stats = fit_standardizer(x_train)
    return apply_standardizer(stats, x_train), apply_standardizer(stats, x_test), stats


def one_hot(labels, num_classes: int, dtype=np.float32) -> np.ndarray:
    """One-hot rows from integer class indices.

    Args:
        labels: integer array of any shape ``S`` with values in ``[0, num_classes)``.
        num_classes: ``C``.
        dtype: floating or integer dtype of the result.

    Returns:
        ``(*S, C)`` array of ``dtype``, 1 at each label's index, 0 elsewhere.

    Examples:
        >>> one_hot(np.array([0, 2]), 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    num_classes = _checks.positive_int("one_hot", "num_classes", num_classes)
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"one_hot: labels must be integer class indices, got dtype {labels.dtype}; "
            f"convert with labels.astype(np.int32) if they hold whole numbers"
        )
    _check_label_range("one_hot", "labels", labels, num_classes)
    return (labels[..., None] == np.arange(num_classes)).astype(dtype)


def train_test_split(seed, x, y, test_fraction: float = 0.2):
    """Shuffle the samples and split them into a training and a test set.

    The test set gets ``ceil(test_fraction * N)`` samples; both sets must be non-empty.

    Args:
        seed: int or ``np.random.Generator`` for the shuffle.
        x: ``(N, ...)`` inputs.
        y: ``(N, ...)`` targets, row ``i`` belonging to ``x[i]``.
        test_fraction: in (0, 1).

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` (the layout :func:`mnist` returns),
        dtypes unchanged, rows shuffled.

    Examples:
        >>> x, y = iris()
        >>> (x_tr, y_tr), (x_te, y_te) = train_test_split(0, x, y, test_fraction=0.2)
        >>> x_tr.shape, x_te.shape
        ((120, 4), (30, 4))
    """
    where = "train_test_split"
    x, y = np.asarray(x), np.asarray(y)
    n = leading_length(where, {"x": x, "y": y})
    fraction = _checks.unit_interval(where, "test_fraction", test_fraction)
    n_test = math.ceil(fraction * n)
    if n_test == 0 or n_test == n:
        raise ValueError(
            f"{where}: test_fraction={test_fraction!r} of {n} samples leaves "
            f"{n - n_test} for training and {n_test} for testing; both must be >= 1"
        )
    order = rng(where, seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def batches(seed, arrays, batch_size: int, *, shuffle: bool = True,
            drop_last: bool = False) -> Iterator:
    """Iterate over one pass (epoch) of the data in mini-batches.

    Every sample appears exactly once per pass; the last batch is smaller when
    ``batch_size`` does not divide ``N`` (kept, unless ``drop_last=True``), so a
    ``batch_size`` above ``N`` gives one batch of all ``N`` samples (and is refused with
    ``drop_last=True``, which would yield nothing); empty arrays are refused. The
    arguments are checked when ``batches`` is called, not at the first ``next``.

    Args:
        seed: int or ``np.random.Generator`` for the shuffle (a Generator gives a new
            order on each call); may be None when ``shuffle=False``.
        arrays: one array ``(N, ...)`` or a tuple/list of arrays sharing ``N``.
        batch_size: positive int.
        shuffle: visit the samples in a random order.
        drop_last: skip the final partial batch.

    Yields:
        ``(batch_size, ...)`` slices: one array, or a tuple in the order of ``arrays``.

    Examples:
        >>> x, y = xor(repeats=2)
        >>> [xb.shape for xb, yb in batches(0, (x, y), batch_size=3)]
        [(3, 2), (3, 2), (2, 2)]
    """
    where = "batches"
    single = not isinstance(arrays, tuple | list)
    items = [np.asarray(arrays)] if single else [np.asarray(a) for a in arrays]
    if not items:
        raise ValueError(f"{where}: arrays must hold at least one array, got an empty sequence")
    n = leading_length(where, {f"arrays[{i}]": a for i, a in enumerate(items)})
    batch_size = _checks.positive_int(where, "batch_size", batch_size)
    if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
        raise TypeError(f"{where}: shuffle and drop_last must be True or False")
    if n == 0:
        raise ValueError(f"{where}: arrays are empty (0 samples); there is nothing to batch")
    if drop_last and batch_size > n:
        raise ValueError(
            f"{where}: drop_last=True with batch_size {batch_size} > {n} samples would "
            f"yield no batch at all; use batch_size <= {n} or drop_last=False"
        )
    order = rng(where, seed).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n

    def generate():
        for start in range(0, stop, batch_size):
            if order is None:
                picked = [a[start : start + batch_size] for a in items]
            else:
                index = order[start : start + batch_size]
                picked = [a[index] for a in items]
            yield picked[0] if single else tuple(picked)

    return generate()


def _check_label_range(where: str, name: str, labels: np.ndarray, num_classes: int) -> None:
    outside = (labels < 0) | (labels >= num_classes)
    if np.any(outside):
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{where}: {name} must be in [0, {num_classes}), got {int(labels[index])} "
            f"at index {index[0] if len(index) == 1 else index}"
        )
