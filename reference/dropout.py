"""Inverted dropout as a forward/backward pair, driven by an explicit keep-mask.

``rate`` is the probability of dropping a unit. The mask is an input, not drawn here:
pass the one funcnet used (``funcnet.dropout_mask``, keys from
``funcnet.dropout_keys``) to replay a training step exactly, or draw one with a
``np.random.Generator`` (:func:`random_keep_mask`).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from reference import _checks


def check_rate(where: str, rate) -> float:
    """Return ``rate`` as a float after checking it is a drop probability in [0, 1).

    Examples:
        >>> check_rate("Dropout", 0.25)
        0.25
    """
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"{where}: rate must be a real number, got {type(rate).__name__}")
    if not (math.isfinite(rate) and 0 <= rate < 1):
        raise ValueError(
            f"{where}: rate is the probability of dropping a unit and must be in [0, 1), "
            f"got {rate!r}"
        )
    return float(rate)


def random_keep_mask(rng: np.random.Generator, rate: float, shape) -> np.ndarray:
    """A bool keep-mask, True with probability ``1 - rate``, drawn from ``rng``.

    Examples:
        >>> random_keep_mask(np.random.default_rng(0), 0.5, (2, 3)).shape
        (2, 3)
    """
    rate = check_rate("random_keep_mask", rate)
    return rng.random(shape) >= rate


def dropout_forward(x, keep, *, rate, train=True):
    """Y = X * keep / (1 - rate) in training; Y = X in evaluation.

    Args:
        x: ``(N, ...)`` float array.
        keep: bool array of the shape of ``x`` (True = kept); ignored when not training
            or when ``rate == 0``, and may then be ``None``.
        rate: drop probability in ``[0, 1)``.
        train: training (masked and scaled) or evaluation (identity).

    Returns:
        ``(y, cache)`` with ``y`` the shape of ``x``.

    Examples:
        >>> y, cache = dropout_forward(np.ones((1, 4)), np.array([[1, 0, 1, 0]], bool),
        ...                            rate=0.5)
        >>> y
        array([[2., 0., 2., 0.]])
    """
    where = f"Dropout(rate={rate!r})"
    rate = check_rate(where, rate)
    x = _checks.float_array(where, "x", x)
    if not train or rate == 0.0:
        return x, None
    if keep is None:
        raise ValueError(f"{where}: training mode needs the keep-mask; pass keep= (the "
                         f"mask funcnet.dropout_mask gives for the same key)")
    keep = np.asarray(keep)
    if keep.shape != x.shape or keep.dtype != np.bool_:
        raise ValueError(f"{where}: keep must be a bool array of the shape of x {x.shape}, "
                         f"got {keep.dtype} {keep.shape}")
    return x * keep / (1.0 - rate), (keep, rate)


def dropout_backward(dy, cache):
    """dX = dY * keep / (1 - rate) (dX = dY in evaluation). Returns ``(dx, {})``.

    Examples:
        >>> y, cache = dropout_forward(np.ones((1, 4)), np.array([[1, 0, 1, 0]], bool),
        ...                            rate=0.5)
        >>> dropout_backward(np.ones((1, 4)), cache)
        (array([[2., 0., 2., 0.]]), {})
    """
    dy = np.asarray(dy)
    if cache is None:
        return dy, {}
    keep, rate = cache
    if dy.shape != keep.shape:
        raise ValueError(f"Dropout backward: dy must have the shape of y {keep.shape}, "
                         f"got {dy.shape}")
    return dy * keep / (1.0 - rate), {}
