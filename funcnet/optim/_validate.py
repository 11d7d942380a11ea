"""Hyperparameter checks shared by the transforms, optimizers and schedules.

Hyperparameters are Python numbers fixed when the optimizer is built, so they are
checked once, at construction, with a message that names the function and argument.
They are checked after rounding to float32 (``funcnet._checks.USED_DTYPE``), the
narrowest dtype the compiled update uses them in: ``b1 = 1 - 1e-10`` is 1.0 there and
``eps = 1e-50`` is 0, so both are refused although they are fine as Python floats.
The number checks themselves are ``funcnet._checks``'s, shared with the layers, the
training loop and the data helpers; what is here is the optimizers' own vocabulary.
"""

from __future__ import annotations

import functools
import math

from funcnet import _checks

_USED = _checks.USED_DTYPE


def learning_rate(where: str, value):
    """Return a schedule (any callable) unchanged, or a float checked finite and > 0."""
    if callable(value):
        return value
    if _checks.real_number(where, "learning_rate", value) < 0:
        raise ValueError(
            f"{where}: learning_rate must be finite and > 0, got {value!r}; for gradient "
            f"ascent keep it positive and pass maximize=True"
        )
    return _checks.positive_float(where, "learning_rate", value, dtype=_USED)


positive = functools.partial(_checks.positive_float, dtype=_USED)
non_negative = functools.partial(_checks.non_negative, dtype=_USED)
unit_interval = functools.partial(_checks.unit_interval, dtype=_USED)
positive_int = _checks.positive_int


def decay_rate(where: str, name: str, value) -> float:
    """Return ``value`` after checking 0 < value <= 1 (a multiplicative decay per period)."""
    value = _checks.real_number(where, name, value)
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(f"{where}: {name} must be in (0, 1], got {value!r}")
    return _checks.survives_rounding(where, name, value, _USED)


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
