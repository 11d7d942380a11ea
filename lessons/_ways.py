"""Plumbing the lessons' oracles share: float64 jax, central differences, random shapes."""

from __future__ import annotations

import functools

import jax
import numpy as np

import reference


def jax64(fn):
    """Run ``fn`` with float64 jax and hand back NumPy arrays (one or a tuple).

    Example::

        >>> import jax.numpy as jnp
        >>> jax64(lambda x: jnp.asarray(x) * 2)(np.ones(2)).dtype
        dtype('float64')
    """

    @functools.wraps(fn)
    def wrapped(*args):
        with jax.enable_x64(True):
            out = fn(*args)
            if isinstance(out, (tuple, list)):
                return tuple(np.asarray(o, dtype=np.float64) for o in out)
            return np.asarray(out, dtype=np.float64)

    return wrapped


def central_differences(f, *arrays, eps: float = 1e-3, order: int = 4):
    """``d f / d array`` for each array by central differences, as a tuple.

    ``f(*arrays) -> scalar`` is a NumPy forward pass. The default five-point stencil
    with eps 1e-3 keeps both its truncation error (~eps^4) and float64 rounding
    (~1e-16 |f| / eps) near 1e-13, well inside the checker's 1e-9; a function with
    kinks (ReLU) wants the seeds' two-point formula and a small step instead
    (``eps=1e-6, order=2``), so that no step crosses a kink.

    Example::

        >>> da, db = central_differences(lambda a, b: np.sum(a * b), np.ones(2), np.full(2, 3.0))
        >>> np.round(da, 8), np.round(db, 8)
        (array([3., 3.]), array([1., 1.]))
    """
    return tuple(reference.numerical_gradient(lambda tree: f(*tree), tuple(arrays), eps=eps,
                                              order=order))


def sizes(rng: np.random.Generator, count: int, low: int = 1, high: int = 5) -> list[int]:
    """``count`` random sizes in ``[low, high]``.

    Example::

        >>> len(sizes(np.random.default_rng(0), 3))
        3
    """
    return [int(n) for n in rng.integers(low, high + 1, size=count)]
