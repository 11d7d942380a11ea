"""Input validation shared by the reference layers and losses (NumPy only).

Each helper raises a ValueError or TypeError naming where it was called from
(``where``), the argument, what was expected and what arrived, with the same wording
as ``funcnet._checks`` so an error reads the same in both worlds.
"""

from __future__ import annotations

import numpy as np


def float_array(where: str, name: str, x) -> np.ndarray:
    """Return ``x`` as a NumPy array after checking it has a floating-point dtype."""
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{where}: {name} must be a floating-point array, got dtype {arr.dtype}; "
            f"convert it first, e.g. {name}.astype(np.float64)"
        )
    return arr


def min_rank(where: str, name: str, x: np.ndarray, rank: int, layout: str) -> None:
    """Raise ValueError unless ``x.ndim >= rank``; ``layout`` describes the expected axes."""
    if x.ndim < rank:
        raise ValueError(
            f"{where}: {name} must have at least {rank} dimension(s) {layout}, "
            f"got shape {x.shape}"
        )


def same_shape(where: str, name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{where}: {name_b} must have the shape of {name_a} {a.shape}, got {b.shape}"
        )


def same_length(where: str, name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise ValueError unless the leading (batch) axes of ``a`` and ``b`` agree."""
    len_a = a.shape[0] if a.ndim else None
    len_b = b.shape[0] if b.ndim else None
    if len_a != len_b:
        raise ValueError(
            f"{where}: {name_a} and {name_b} must have the same number of samples "
            f"(leading axis), got {name_a} shape {a.shape} and {name_b} shape {b.shape}"
        )


def axis_in_range(where: str, axis, ndim: int) -> int:
    """Return ``axis`` as a non-negative int after checking it indexes an ``ndim`` array."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{where}: axis must be in [{-ndim}, {ndim}) for an input of rank {ndim}, "
            f"got {axis}"
        )
    return int(axis) % ndim
