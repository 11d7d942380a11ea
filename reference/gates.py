"""The seeds' gates (AddGate, MultiplyGate, SigmoidGate) as pure forward/backward pairs.

A gate's forward returns its output and a cache holding what its local derivative
needs; its backward multiplies the upstream gradient by that local derivative. Nothing
is stored on an object, so one gate can appear any number of times in a graph.
Inputs are numbers or NumPy arrays of the same shape.

    >>> m, m_cache = MultiplyGate.forward(2.0, -3.0)       # x * y = -6
    >>> s, s_cache = AddGate.forward(m, 1.0)                 # -6 + 1 = -5
    >>> f, f_cache = SigmoidGate.forward(s)                  # sigmoid(-5)
    >>> ds = SigmoidGate.backward(1.0, f_cache)
    >>> dm, dz = AddGate.backward(ds, s_cache)
    >>> dx, dy = MultiplyGate.backward(dm, m_cache)
    >>> round(dx, 6), round(dy, 6)
    (-0.019944, 0.013296)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Gate(NamedTuple):
    """A gate: ``forward(*inputs) -> (out, cache)``, ``backward(dout, cache) -> dinputs``."""

    forward: object
    backward: object


def add_forward(a, b):
    """c = a + b.

    Examples:
        >>> add_forward(2.0, 3.0)
        (5.0, None)
    """
    return a + b, None


def add_backward(dc, cache):
    """da = dc * 1;  db = dc * 1 (addition routes the gradient to both inputs)."""
    del cache
    return dc * 1, dc * 1


def multiply_forward(a, b):
    """c = a * b.

    Examples:
        >>> multiply_forward(2.0, -3.0)
        (-6.0, (2.0, -3.0))
    """
    return a * b, (a, b)


def multiply_backward(dc, cache):
    """da = dc * b;  db = dc * a (each input gets the other input as local gradient)."""
    a, b = cache
    return dc * b, dc * a


def sigmoid_forward(a):
    """c = 1 / (1 + exp(-a)), computed from exp(-|a|) so it never overflows.

    Examples:
        >>> c, cache = sigmoid_forward(0.0)
        >>> c
        0.5
    """
    e = np.exp(-np.abs(a))
    c = np.where(np.asarray(a) >= 0, 1 / (1 + e), e / (1 + e))
    c = c.item() if np.ndim(c) == 0 else c
    return c, c


def sigmoid_backward(dc, cache):
    """da = dc * c * (1 - c)."""
    c = cache
    return dc * c * (1 - c)


AddGate = Gate(add_forward, add_backward)
MultiplyGate = Gate(multiply_forward, multiply_backward)
SigmoidGate = Gate(sigmoid_forward, sigmoid_backward)
