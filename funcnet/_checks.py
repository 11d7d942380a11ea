"""Input validation shared by the layers, losses and training loop.

Every helper raises a ValueError or TypeError that names where it was called from
(``where``), the argument, what was expected and what arrived. Shape and dtype checks
are static, so they also run under ``jax.jit``; value checks (ranges, finiteness) run
only when the array is concrete, because a traced value cannot be inspected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

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


def real_number(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is a real number (not a bool).

    A concrete 0-d array (NumPy or jax) counts as its Python scalar; a traced one (a
    hyperparameter built inside ``jit``) cannot be checked and is refused.
    """
    if hasattr(value, "ndim") and hasattr(value, "item") and np.ndim(value) == 0 \
            and is_concrete(value):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    return float(value)


def positive_float(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    value = real_number(where, name, value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be finite and > 0, got {value!r}")
    return value


def non_negative(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    value = real_number(where, name, value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {name} must be finite and >= 0, got {value!r}")
    return value


def unit_interval(where: str, name: str, value, *, closed_right: bool = False) -> float:
    """Return ``value`` after checking 0 <= value < 1 (or <= 1 when ``closed_right``)."""
    value = real_number(where, name, value)
    upper_ok = value <= 1 if closed_right else value < 1
    if not (math.isfinite(value) and value >= 0 and upper_ok):
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")
    return value


def dtype_of(x) -> np.dtype:
    """The dtype of an array-like, without converting a jax array to NumPy."""
    dtype = getattr(x, "dtype", None)
    # np.result_type would read a list such as [[1.0, 2.0]] as a structured-dtype spec.
    return np.dtype(dtype) if dtype is not None else np.asarray(x).dtype


def array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array or a scalar (not a list, tuple or None)."""
    if not hasattr(x, "dtype") and not isinstance(x, numbers.Number):
        raise TypeError(
            f"{where}: {name} must be an array (jax or NumPy), got {type(x).__name__}; "
            f"convert it first, e.g. jnp.asarray({name})"
        )


def floating_array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array with a floating-point dtype."""
    array(where, name, x)
    dtype = dtype_of(x)
    if not np.issubdtype(dtype, np.floating) and dtype != jax.numpy.bfloat16:
        raise TypeError(
            f"{where}: {name} must be a floating-point array, got dtype {dtype}; "
            f"convert it first, e.g. {name}.astype(jnp.float32)"
        )


def integer_array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array with an integer dtype (ids, not floats)."""
    array(where, name, x)
    dtype = dtype_of(x)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"{where}: {name} must be an integer array, got dtype {dtype}; "
            f"convert it first, e.g. {name}.astype(jnp.int32)"
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


def prng_key(where: str, name: str, key) -> None:
    """Raise unless ``key`` is one ``jax.random`` key: a typed key (``jax.random.key``)
    of shape ``()``, or a raw ``uint32`` key (``jax.random.PRNGKey``) of shape ``(2,)``
    (or another implementation's ``(k,)``). Works on traced keys (dtype and shape only).
    """
    dtype = getattr(key, "dtype", None)
    shape = tuple(np.shape(key)) if dtype is not None else None
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape == ():
            return
        raise ValueError(
            f"{where}: {name} must be a single jax.random key, got a key array of shape "
            f"{shape}; pass one key (e.g. keys[0]) or split it with jax.random.split"
        )
    if dtype is not None and np.dtype(dtype) == np.uint32 and len(shape) == 1:
        return
    got = (f"{type(key).__name__} {key!r}" if dtype is None
           else f"an array of dtype {np.dtype(dtype)} and shape {shape}")
    raise TypeError(
        f"{where}: {name} must be a jax.random key, got {got}; make one with "
        f"jax.random.key(seed), e.g. {name}=jax.random.key(0)"
    )


def param_dict(where: str, params, names) -> None:
    """Raise ValueError unless ``params`` is a dict (mapping) with exactly the keys ``names``."""
    if not isinstance(params, Mapping) or set(params) != set(names):
        got = (f"keys {sorted(map(str, params))}" if isinstance(params, Mapping)
               else type(params).__name__)
        raise ValueError(
            f"{where}: params must be the dict with keys {sorted(names)} made by this "
            f"layer's init, got {got}; pass the params from model.init (or from fit)"
        )


def input_shape(where: str, shape, layout: str, *, rank: int | None = None) -> tuple:
    """Return ``shape`` as a tuple after checking it is a tuple of positive ints (one
    example, no batch axis), of length ``rank`` when given, else at least 1."""
    ok = (isinstance(shape, tuple | list)
          and all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                  for d in shape)
          and (len(shape) == rank if rank is not None else len(shape) >= 1))
    if not ok:
        raise ValueError(
            f"{where}: input_shape must be {layout} per example (positive ints, without "
            f"the batch axis), got {shape!r}"
        )
    return tuple(int(d) for d in shape)
