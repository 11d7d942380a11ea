"""The Hessian's dominant eigenvalue by power iteration on Hessian-vector products.

Gradient descent with rate ``lr`` on a quadratic multiplies the error along the
eigenvector of eigenvalue ``lambda`` by ``1 - lr * lambda`` each step, so it diverges
once ``lr > 2 / lambda_max``: the "learning rate too large" of the lessons, measured.
The Hessian is never formed: each iteration is one Hessian-vector product, the
forward-mode derivative (``jax.jvp``) of the reverse-mode gradient (``jax.grad``),
which costs a small multiple of one gradient.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks
from funcnet.diagnostics._scalar_loss import (
    check_params,
    check_scalar_loss,
    gaussian_like,
    tree_dot,
)


class HessianEigen(NamedTuple):
    """What :func:`hessian_top_eigenvalue` returns.

    Attributes:
        eigenvalue: the eigenvalue of largest magnitude, with its sign.
        eigenvector: its unit eigenvector, a pytree shaped like ``params``.
        iterations: Hessian-vector products used.
        residual: ``||H v - eigenvalue v|| / |eigenvalue|`` at the end.
        converged: whether ``residual <= tol`` was reached within ``max_iterations``.
    """

    eigenvalue: float
    eigenvector: Any
    iterations: int
    residual: float
    converged: bool


def hessian_vector_product(loss: Callable, params, vector):
    """``H v`` for the Hessian ``H`` of ``loss`` at ``params``, never forming ``H``.

    Forward-over-reverse: the directional derivative (``jax.jvp``) of ``jax.grad(loss)``
    along ``vector``; one call costs about as much as two or three gradients.

    Args:
        loss: ``loss(params) -> scalar``.
        params: any pytree of float arrays.
        vector: a pytree with the structure and shapes of ``params``.

    Returns:
        ``H v``, a pytree like ``params``.

    Examples:
        >>> loss = lambda p: 1.5 * p["a"] ** 2 + p["a"] * p["b"]   # H = [[3, 1], [1, 0]]
        >>> hv = hessian_vector_product(loss, {"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 0.0})
        >>> float(hv["a"]), float(hv["b"])
        (3.0, 1.0)
    """
    return _hvp(loss, params, vector)


def _forward_over_reverse(loss, params, vector):
    return jax.jvp(jax.grad(loss), (params,), (vector,))[1]


# compiled (op by op, a product runs each of its many small steps on its own); the loss
# is static, so the same function again reuses the program
_hvp = jax.jit(_forward_over_reverse, static_argnums=0)


def _scaled(tree, scale):
    return jax.tree.map(lambda x: (x * scale).astype(x.dtype), tree)


# loss is static: calling again with the same function (and tree shapes) reuses the
# compiled loop; max_iterations and tol are traced, so changing them compiles nothing
@functools.partial(jax.jit, static_argnums=0)
def _power_iteration(loss, params, key, max_iterations, tol):
    (start,) = gaussian_like(key, params)
    start = _scaled(start, 1 / jnp.sqrt(tree_dot(start, start)))

    def hvp(v):
        return _forward_over_reverse(loss, params, v)

    def body(carry):
        i, v, hv, _, _ = carry
        norm = jnp.sqrt(tree_dot(hv, hv))
        # a zero product means v lies in the null space: 0 is then the eigenvalue
        v = jax.tree.map(lambda a, b: jnp.where(norm > 0, a, b),
                         _scaled(hv, 1 / jnp.where(norm > 0, norm, 1)), v)
        hv = hvp(v)
        value = tree_dot(v, hv)
        difference = jax.tree.map(lambda h, x: h - value * x, hv, v)
        residual = jnp.sqrt(tree_dot(difference, difference))
        relative = residual / jnp.maximum(jnp.abs(value), jnp.finfo(value.dtype).tiny)
        return i + 1, v, hv, value, relative

    def cond(carry):
        i, _, _, value, relative = carry
        return (i < max_iterations) & ~(relative <= tol) & jnp.isfinite(value)

    hv = hvp(start)
    value = tree_dot(start, hv)
    init = (jnp.int32(1), start, hv, value, jnp.asarray(jnp.inf, value.dtype))
    # the first product only sets the direction; the loop measures from the second
    i, v, _, value, relative = jax.lax.while_loop(cond, body, body(init))
    return value, v, i, relative


def hessian_top_eigenvalue(loss: Callable, params, *, max_iterations: int = 100,
                           tol: float = 1e-4, key=None) -> HessianEigen:
    """The Hessian eigenvalue of largest magnitude of ``loss`` at ``params``.

    Power iteration ``v <- H v / ||H v||`` on Hessian-vector products
    (:func:`hessian_vector_product`), the whole loop one compiled
    ``lax.while_loop``. It stops when the relative residual
    ``||H v - lambda v|| / |lambda|`` is at most ``tol``, or after ``max_iterations``
    products. Power iteration converges to the eigenvalue of largest ``|lambda|``: it is
    returned with its sign, so where the most negative eigenvalue outweighs the most
    positive one (near a saddle) the result is that negative eigenvalue, not the
    largest ``lambda``. At a minimum every eigenvalue is ``>= 0`` and the two agree;
    gradient descent there diverges for rates above ``2 / eigenvalue``. When
    ``lambda`` and ``-lambda`` are both eigenvalues of the largest magnitude, the
    iteration oscillates between them and reports ``converged=False``.

    Args:
        loss: ``loss(params) -> scalar``, the data already bound (a closure over a batch).
        params: any pytree of float arrays; the Hessian is over all its leaves together.
        max_iterations: at most this many Hessian-vector products, >= 2.
        tol: relative residual at which to stop, > 0.
        key: a ``jax.random`` key for the random start (default ``jax.random.key(0)``).

    Returns:
        :class:`HessianEigen` ``(eigenvalue, eigenvector, iterations, residual,
        converged)``.

    Examples:
        >>> loss = lambda p: p["w"] @ jnp.diag(jnp.array([1.0, 4.0, 0.5])) @ p["w"] / 2
        >>> result = hessian_top_eigenvalue(loss, {"w": jnp.ones(3)})
        >>> round(result.eigenvalue, 4), result.converged
        (4.0, True)
    """
    where = "hessian_top_eigenvalue"
    check_params(where, params)
    check_scalar_loss(where, loss, params)
    max_iterations = _checks.positive_int(where, "max_iterations", max_iterations)
    if max_iterations < 2:
        raise ValueError(f"{where}: max_iterations must be at least 2 (the first product "
                         f"only sets the direction), got {max_iterations}")
    if (isinstance(tol, bool) or not isinstance(tol, numbers.Real)
            or not (math.isfinite(tol) and tol > 0)):
        raise ValueError(f"{where}: tol must be a finite number > 0 (a relative residual), "
                         f"got {tol!r}")
    if key is None:
        key = jax.random.key(0)
    _checks.prng_key(where, "key", key)
    value, vector, iterations, residual = _power_iteration(loss, params, key,
                                                           max_iterations, tol)
    value, residual = float(value), float(residual)
    if not np.isfinite(value):
        raise ValueError(f"{where}: the Hessian-vector product is not finite (eigenvalue "
                         f"estimate {value}); check that loss(params) and its gradient are "
                         f"finite at these params")
    return HessianEigen(value, vector, int(iterations), residual, bool(residual <= tol))
