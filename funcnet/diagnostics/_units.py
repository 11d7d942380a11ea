"""Which layers' units can saturate or die, and how that is measured: decided here, once.

An activation layer passes almost no gradient where its units are *saturated* (tanh
near ±1, sigmoid near 0 or 1) or *dead* (a ReLU unit that outputs 0 for every example).
Every diagnostic that reports either (``activation_statistics``, ``dead_relu_fraction``,
``fit(record=Health())``) asks :func:`units_of`, so the list of such activations and
their formulas live in this one table, keyed by the activation's name in the layer's
spec. The formulas use only array methods and operators, so the same function runs on
NumPy arrays on the host and on jax arrays inside a compiled step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Units(NamedTuple):
    """What can go wrong with an activation layer's units.

    Attributes:
        saturated: ``saturated(a, s) -> bool array``: where an output ``a`` is within
            the threshold ``s`` of a flat end (``None`` when the function has none).
        dies: whether a unit can die (output 0 for every input, so 0 gradient).
        bounds: ``(low, high)``, the range of the outputs when it is bounded (histograms
            are drawn over it), else ``None``.
    """

    saturated: Callable | None
    dies: bool
    bounds: tuple[float, float] | None


UNITS = {
    # tanh' = 1 - a^2 < 2 (1 - s) beyond |a| > s
    "tanh": Units(lambda a, s: abs(a) > s, False, (-1.0, 1.0)),
    # sigmoid' = a (1 - a) < 1 - s beyond a > s (and below 1 - s)
    "sigmoid": Units(lambda a, s: (a < 1 - s) | (a > s), False, (0.0, 1.0)),
    "relu": Units(None, True, None),
}


def units_of(layer) -> Units | None:
    """The :data:`UNITS` entry of an ``Activation`` layer, ``None`` for any other layer.

    Examples:
        >>> units_of(Activation("relu")).dies, units_of(Dense(3))
        (True, None)
    """
    spec = layer.spec
    if isinstance(spec, dict) and spec.get("type") == "Activation":
        return UNITS.get(spec.get("name"))
    return None


def dead_fraction(a, real):
    """Fraction of units that are 0 on every real sample (NumPy or jax arrays).

    Args:
        a: ``(N, ...)`` a layer's outputs; a unit is one entry past the batch axis.
        real: ``(N,)`` bools, False for padding samples (which do not count).

    Examples:
        >>> float(dead_fraction(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([True, True])))
        0.5
    """
    flat = a.reshape(a.shape[0], -1)
    return ((flat == 0) | ~real[:, None]).all(axis=0).mean()
