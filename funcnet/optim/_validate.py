"""Hyperparameter checks shared by the transforms, optimizers and schedules.

Hyperparameters are Python numbers fixed when the optimizer is built, so they are
checked once, at construction, with a message that names the function and argument.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from funcnet import _checks


def as_python_number(value):
    """Return a concrete 0-d array (NumPy or JAX) as a Python scalar; anything else as is."""
    if hasattr(value, "ndim") and hasattr(value, "item") and np.ndim(value) == 0:
        if _checks.is_concrete(value):
            return value.item()
    return value


def learning_rate(where: str, value):
    """Return a schedule (any callable) unchanged, or a float checked finite and > 0."""
    if callable(value):
        return value
    return _checks.positive_float(where, "learning_rate", as_python_number(value))


def positive(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    return _checks.positive_float(where, name, as_python_number(value))


def non_negative(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    value = as_python_number(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {name} must be finite and >= 0, got {value!r}")
    return float(value)


def unit_interval(where: str, name: str, value, *, closed_right: bool = False) -> float:
    """Return ``value`` after checking 0 <= value < 1 (or <= 1 when ``closed_right``)."""
    return _checks.unit_interval(where, name, as_python_number(value), closed_right=closed_right)


def decay_rate(where: str, name: str, value) -> float:
    """Return ``value`` after checking 0 < value <= 1 (a multiplicative decay per period)."""
    value = as_python_number(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(f"{where}: {name} must be in (0, 1], got {value!r}")
    return float(value)


def positive_int(where: str, name: str, value) -> int:
    """Return ``value`` as an int after checking it is a positive integer."""
    return _checks.positive_int(where, name, as_python_number(value))


def check_trace_args(where: str, decay, nesterov, dampening) -> tuple[float, bool, float]:
    """Validate the hyperparameters of ``trace``, naming ``where`` in any error."""
    decay = unit_interval(where, "beta", decay)
    dampening = unit_interval(where, "dampening", dampening)
    if not isinstance(nesterov, bool):
        raise TypeError(f"{where}: nesterov must be a bool, got {type(nesterov).__name__}")
    return decay, nesterov, dampening


def check_rms_args(where: str, decay, eps) -> tuple[float, float]:
    """Validate the hyperparameters of ``scale_by_rms``, naming ``where`` in any error."""
    return unit_interval(where, "decay", decay), positive(where, "eps", eps)


def check_adam_args(where: str, b1, b2, eps, eps_root) -> tuple[float, float, float, float]:
    """Validate the hyperparameters of ``scale_by_adam``, naming ``where`` in any error."""
    return (
        unit_interval(where, "b1", b1),
        unit_interval(where, "b2", b2),
        positive(where, "eps", eps),
        non_negative(where, "eps_root", eps_root),
    )
