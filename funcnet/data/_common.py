"""Argument checks shared by the data generators and the preprocessing helpers.

Randomness convention for all of ``funcnet.data``: a ``seed`` argument is either a
non-negative int, turned into ``np.random.default_rng(seed)`` (same int, same data),
or a ``np.random.Generator``, which is used and advanced (so one Generator passed to
successive calls, e.g. one per epoch to ``batches``, gives fresh draws each time).
Data preparation is host-side NumPy; jax keys belong to initialisation and dropout.
"""

from __future__ import annotations

import numbers

import numpy as np


def rng(where: str, seed) -> np.random.Generator:
    """A NumPy Generator from ``seed`` (non-negative int or Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{where}: seed must be a non-negative int or a np.random.Generator, got "
            f"{type(seed).__name__}; to derive one from a jax key use "
            f"int(jax.random.randint(key, (), 0, 2**31 - 1))"
        )
    if seed < 0:
        raise ValueError(f"{where}: seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def features(where: str, name: str, x) -> np.ndarray:
    """``x`` as a finite floating 2-D NumPy array ``(N, F)``; integer input becomes float32."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{where}: {name} must have shape (N, features), got shape {x.shape}")
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        x = x.astype(np.float32)
    elif not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{where}: {name} must be numeric, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ValueError(
            f"{where}: {name} must be finite, got {x[bad]} at index {bad}; "
            f"remove or impute missing values first"
        )
    return x


def leading_length(where: str, arrays: dict) -> int:
    """The common length of the leading axes of named arrays (ValueError if they differ)."""
    lengths = {}
    for name, a in arrays.items():
        if np.ndim(a) == 0:
            raise ValueError(f"{where}: {name} must have a leading sample axis, got a scalar")
        lengths[name] = np.shape(a)[0]
    if len(set(lengths.values())) > 1:
        shapes = ", ".join(f"{name} shape {tuple(np.shape(a))}" for name, a in arrays.items())
        raise ValueError(
            f"{where}: all arrays must have the same number of samples (leading axis), "
            f"got {shapes}"
        )
    return next(iter(lengths.values()))
