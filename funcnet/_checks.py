"""Input validation shared by the layers, losses and training loop.

Every helper raises a ValueError or TypeError that names where it was called from
(``where``), the argument, what was expected and what arrived. Shape and dtype checks
are static, so they also run under ``jax.jit``; value checks (ranges, finiteness) run
only when the array is concrete, because a traced value cannot be inspected.
"""

from __future__ import annotations

import math
import numbers

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values that can be read now (not a tracer under jit/grad)."""
    return not isinstance(x, jax.core.Tracer)


def positive_int(where: str, name: str, value) -> int:
    """Return ``value`` as an int after checking it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be finite and > 0, got {value!r}")
    return float(value)


def unit_interval(where: str, name: str, value, *, closed_right: bool = False) -> float:
    """Return ``value`` after checking 0 <= value < 1 (or <= 1 when ``closed_right``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    upper_ok = value <= 1 if closed_right else value < 1
    if not (math.isfinite(value) and value >= 0 and upper_ok):
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")
    return float(value)


def dtype_of(x) -> np.dtype:
    """The dtype of an array-like, without converting a jax array to NumPy."""
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.result_type(x)


def floating_array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` has a floating-point dtype."""
    dtype = dtype_of(x)
    if not np.issubdtype(dtype, np.floating) and dtype != jax.numpy.bfloat16:
        raise TypeError(
            f"{where}: {name} must be a floating-point array, got dtype {dtype}; "
            f"convert it first, e.g. {name}.astype(jnp.float32)"
        )


def min_rank(where: str, name: str, x, rank: int, layout: str) -> None:
    """Raise ValueError unless ``x.ndim >= rank``; ``layout`` describes the expected axes."""
    if np.ndim(x) < rank:
        raise ValueError(
            f"{where}: {name} must have at least {rank} dimension(s) {layout}, "
            f"got shape {tuple(np.shape(x))}"
        )


def exact_rank(where: str, name: str, x, rank: int, layout: str) -> None:
    """Raise ValueError unless ``x.ndim == rank``; ``layout`` describes the expected axes."""
    if np.ndim(x) != rank:
        raise ValueError(
            f"{where}: {name} must have {rank} dimensions {layout}, got shape {tuple(np.shape(x))}"
        )


def same_length(where: str, name_a: str, a, name_b: str, b) -> None:
    """Raise ValueError unless the leading (batch) axes of ``a`` and ``b`` agree."""
    len_a = np.shape(a)[0] if np.ndim(a) else None
    len_b = np.shape(b)[0] if np.ndim(b) else None
    if len_a != len_b:
        raise ValueError(
            f"{where}: {name_a} and {name_b} must have the same number of samples "
            f"(leading axis), got {name_a} shape {tuple(np.shape(a))} and "
            f"{name_b} shape {tuple(np.shape(b))}"
        )


def integer_labels(where: str, name: str, labels, num_classes: int | None) -> None:
    """Raise unless ``labels`` is an integer array with values in ``[0, num_classes)``."""
    dtype = dtype_of(labels)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"{where}: {name} must be integer class indices, got dtype {dtype}; "
            f"for one-hot or soft targets use softmax_cross_entropy"
        )
    if num_classes is not None and is_concrete(labels) and np.size(labels):
        values = np.asarray(labels)
        low, high = values.min(), values.max()
        if low < 0 or high >= num_classes:
            bad = int(low) if low < 0 else int(high)
            raise ValueError(
                f"{where}: {name} must be in [0, {num_classes}), got a label {bad}"
            )
