"""Gradient checks for users: reference backprop vs ``jax.grad`` vs central differences.

:func:`check_gradients` checks a whole model on a batch and :func:`check_function` any
function of arrays. Both run in float64 whatever ``jax_enable_x64`` says (the flag is
switched on for the check and restored after it), and both return a
:class:`GradientReport` whose ``str`` is a table: one row per parameter path, one
column per pair of gradients, the seeds' relative error
``||a - b|| / (||a|| + ||b||)`` in each cell, and where the worst element sits.

The bars are the textbook ones (DESIGN.md, "Gradient truth"): two exact backprops,
the NumPy twin's and ``jax.grad``, agree to ``1e-10``; either against central
differences to ``1e-7``. One exception keeps a true zero from failing: an array whose
gradient is 0 (a conv bias right before BatchNorm) compares rounding noise with
rounding noise, a relative error near 1; such a row passes when its largest gap is
below the pair's threshold times the largest gradient entry of the whole check
(``report.scale``), and the table marks it ``~0``.

funcnet never imports ``reference``: the caller passes the package in to add its leg.
Below, ``twin`` is the caller's own ``reference`` package (funcnet holds no import of
it). Without it the check is ``jax.grad`` against central differences alone::

    report = check_gradients(model, params, (x, y), "mse", reference=twin)
    print(report)            # the table
    report.raise_if_failed()
"""

from funcnet.check._function import check_function
from funcnet.check._model import check_gradients
from funcnet.check._numerical import central_differences, default_step
from funcnet.check._report import (
    EXACT_TOL,
    JAX_NUMERICAL,
    NUMERICAL_TOL,
    PAIRS,
    REFERENCE_JAX,
    REFERENCE_NUMERICAL,
    Comparison,
    GradientCheckError,
    GradientReport,
)

__all__ = [
    "EXACT_TOL",
    "JAX_NUMERICAL",
    "NUMERICAL_TOL",
    "PAIRS",
    "REFERENCE_JAX",
    "REFERENCE_NUMERICAL",
    "Comparison",
    "GradientCheckError",
    "GradientReport",
    "central_differences",
    "check_function",
    "check_gradients",
    "default_step",
]
