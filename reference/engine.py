"""A scalar autograd engine: every operation records how to send gradient back.

Each :class:`Value` holds a number, its gradient, the values it was computed from and
a ``_backward`` closure applying the local derivative (each operation's docstring is
its row of the derivative table: ``exp``, ``log``, ``sin``, ``cos``, ``tanh``, ...).
:meth:`Value.backward` orders the graph without recursion and walks it from the output
back. A node used twice (``b`` in ``(a + b) * (b + c)``) receives gradient along both
paths, which is why every ``_backward`` adds into ``.grad`` with ``+=`` instead of assigning.
"""

from __future__ import annotations

import math


class Value:
    """A scalar in a computation graph.

    Examples:
        >>> a, b, c = Value(1.0), Value(2.0), Value(3.0)
        >>> f = (a + b) * (b + c)
        >>> f.backward()
        >>> (f.data, a.grad, b.grad, c.grad)
        (15.0, 5.0, 8.0, 3.0)
    """

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Value) else Value(other)

    def _unary(self, data, local_derivative, op):
        """A node ``data = op(self)`` whose derivative with respect to self is given."""
        out = Value(data, (self,), op)

        def _backward():
            self.grad += local_derivative * out.grad

        out._backward = _backward
        return out

    def __add__(self, other):
        other = self._lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if not isinstance(exponent, (int, float)) or isinstance(exponent, bool):
            raise TypeError(f"Value ** exponent: exponent must be an int or float constant, "
                            f"got {type(exponent).__name__}")
        if self.data < 0 and not float(exponent).is_integer():
            raise ValueError(f"Value ** {exponent}: a negative base {self.data} needs an "
                             f"integer exponent (the result would be complex)")
        return self._unary(self.data**exponent, exponent * self.data ** (exponent - 1),
                           f"**{exponent}")

    def exp(self):
        """e ** x; d/dx = e ** x."""
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self):
        """ln x for x > 0; d/dx = 1 / x."""
        if self.data <= 0:
            raise ValueError(f"Value.log: input must be > 0, got {self.data}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def sin(self):
        """sin x; d/dx = cos x.

        Examples:
            >>> x = Value(0.0)
            >>> y = x.sin()
            >>> y.backward()
            >>> (y.data, x.grad)
            (0.0, 1.0)
        """
        return self._unary(math.sin(self.data), math.cos(self.data), "sin")

    def cos(self):
        """cos x; d/dx = -sin x.

        Examples:
            >>> x = Value(0.0)
            >>> y = x.cos()
            >>> y.backward()
            >>> (y.data, x.grad)
            (1.0, 0.0)
        """
        return self._unary(math.cos(self.data), -math.sin(self.data), "cos")

    def tanh(self):
        """tanh x; d/dx = 1 - tanh(x)^2."""
        t = math.tanh(self.data)
        return self._unary(t, 1 - t * t, "tanh")

    def relu(self):
        """max(x, 0); d/dx = 1 if x > 0 else 0."""
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def sigmoid(self):
        """1 / (1 + e^-x), without overflow; d/dx = s (1 - s)."""
        e = math.exp(-abs(self.data))
        s = 1 / (1 + e) if self.data >= 0 else e / (1 + e)
        return self._unary(s, s * (1 - s), "sigmoid")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def backward(self):
        """Fill ``.grad`` of every node this value depends on with d self / d node.

        Gradients left by an earlier ``backward`` on these nodes are reset first.
        """
        # Iterative depth-first search: a node is appended once all its inputs are.
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev if child not in visited)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
