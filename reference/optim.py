"""NumPy optimizers written the seeds' way (lesson 000), as pure ``(init, update)`` pairs.

The seeds' ``MomentumOptimizer`` and ``AdamOptimizer`` keep their velocity and moments
on the object and mutate them; here the same arithmetic is split into

* ``init(params) -> state``: a plain dict of arrays shaped like ``params``;
* ``update(grads, state, params) -> (new_params, new_state)``: like the seeds'
  ``update(gradients, parameters)``, it returns the new parameters, not a step.

Nothing is held on an object and nothing is mutated. ``params`` and ``grads`` are the
same nested dicts/lists/tuples of arrays that funcnet uses; every leaf keeps its dtype.

=================  ==================================================================
optimizer          update, written as the seeds write it
=================  ==================================================================
sgd                p = p - lr * g
momentum           v = momentum * v + lr * g;  p = p - v
adam               m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g**2;  t += 1
                   p = p - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1**t)
=================  ==================================================================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Optimizer(NamedTuple):
    """A pair of pure functions: ``init(params) -> state`` and
    ``update(grads, state, params) -> (new_params, new_state)``."""

    init: Callable
    update: Callable


def tree_map(fn, tree, *rest):
    """Apply ``fn`` leafwise over nested dicts/lists/tuples with the structure of ``tree``.

    Raises ValueError naming the path where ``rest`` does not match ``tree``.
    """
    def same_node(a, b):
        if isinstance(a, dict):
            return isinstance(b, dict) and set(a) == set(b)
        if isinstance(a, list | tuple):
            return isinstance(b, list | tuple) and len(a) == len(b)
        return not isinstance(b, dict | list | tuple)

    def walk(path, node, others):
        if not all(same_node(node, other) for other in others):
            raise ValueError(f"tree_map: tree structures differ at {path or 'the root'}")
        if isinstance(node, dict):
            return {k: walk(f"{path}[{k!r}]", node[k], [o[k] for o in others]) for k in node}
        if isinstance(node, list | tuple):
            return type(node)(walk(f"{path}[{i}]", child, [o[i] for o in others])
                              for i, child in enumerate(node))
        return fn(node, *others)

    return walk("", tree, list(rest))


def _positive(where: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be finite and > 0, got {value!r}")
    return float(value)


def _unit_interval(where: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value!r}")
    return float(value)


def sgd(learning_rate: float = 0.1) -> Optimizer:
    """Gradient descent (lesson 000): ``p = p - lr * g``.

    Args:
        learning_rate: step size, finite and > 0.

    Examples:
        >>> opt = sgd(0.1)
        >>> params, state = opt.update({"x": np.array([-6.0])}, opt.init(None),
        ...                            {"x": np.array([-2.0])})
        >>> params
        {'x': array([-1.4])}
    """
    lr = _positive("sgd", "learning_rate", learning_rate)

    def init(params):
        del params
        return {}

    def update(grads, state, params):
        return tree_map(lambda p, g: p - lr * g, params, grads), state

    return Optimizer(init, update)


def momentum(learning_rate: float = 0.01, momentum: float = 0.9) -> Optimizer:
    """The seeds' ``MomentumOptimizer``: ``v = momentum * v + lr * g;  p = p - v``.

    The learning rate lives inside the velocity; with a constant rate this is
    ``funcnet.optim.momentum`` (``v = beta v + g;  p = p - lr v``) scaled by ``lr``.

    Args:
        learning_rate: step size, finite and > 0.
        momentum: velocity decay, in [0, 1).

    Returns:
        An :class:`Optimizer`; state ``{"velocity": tree of zeros like params}``.

    Examples:
        >>> opt = momentum(0.1, 0.9)
        >>> params = {"x": np.array([-2.0])}
        >>> state = opt.init(params)
        >>> for _ in range(2):
        ...     params, state = opt.update({"x": 2 * (params["x"] - 1)}, state, params)
        >>> params
        {'x': array([-0.38])}
    """
    lr = _positive("momentum", "learning_rate", learning_rate)
    beta = _unit_interval("momentum", "momentum", momentum)

    def init(params):
        return {"velocity": tree_map(np.zeros_like, params)}

    def update(grads, state, params):
        velocity = tree_map(lambda v, g: beta * v + lr * g, state["velocity"], grads)
        return tree_map(lambda p, v: p - v, params, velocity), {"velocity": velocity}

    return Optimizer(init, update)


def adam(learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
         epsilon: float = 1e-8) -> Optimizer:
    """The seeds' ``AdamOptimizer``: bias-corrected moments, ``eps`` outside the root.

    With ``t`` counting from 1::

        m = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g**2
        m_hat = m / (1 - beta1**t);   v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + epsilon)

    Args:
        learning_rate: step size, finite and > 0.
        beta1: first-moment decay, in [0, 1).
        beta2: second-moment decay, in [0, 1).
        epsilon: > 0, added to ``sqrt(v_hat)``.

    Returns:
        An :class:`Optimizer`; state ``{"t": int, "m": tree, "v": tree}``.

    Examples:
        >>> opt = adam(0.01)
        >>> params = {"w": np.zeros(2)}
        >>> params, state = opt.update({"w": np.array([0.5, -2.0])}, opt.init(params), params)
        >>> params["w"].round(6), state["t"]
        (array([-0.01,  0.01]), 1)
    """
    where = "adam"
    lr = _positive(where, "learning_rate", learning_rate)
    beta1 = _unit_interval(where, "beta1", beta1)
    beta2 = _unit_interval(where, "beta2", beta2)
    eps = _positive(where, "epsilon", epsilon)

    def init(params):
        return {"t": 0, "m": tree_map(np.zeros_like, params),
                "v": tree_map(np.zeros_like, params)}

    def update(grads, state, params):
        t = state["t"] + 1
        m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state["m"], grads)
        v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * (g**2), state["v"], grads)

        def step(p, m, v):
            m_hat = m / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)
            return p - lr * m_hat / (np.sqrt(v_hat) + eps)

        return tree_map(step, params, m, v), {"t": t, "m": m, "v": v}

    return Optimizer(init, update)
