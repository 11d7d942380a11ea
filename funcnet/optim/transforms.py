"""Gradient transformations: the small pieces every optimizer is chained from.

Each function returns an ``optax.GradientTransformation``: ``init(params) -> state``
and ``update(grads, state, params=None) -> (updates, state)``. State is a NamedTuple
of arrays (moments shaped like ``params``; step counts as int32 scalars), so it is a
pytree that ``jax.jit``, ``lax.scan`` and ``optax.chain`` handle as is. The maths
and the order of floating-point operations follow optax, so a funcnet transform and
its optax namesake give the same numbers.

Updates ``u`` from gradients ``g`` (state in brackets):

* ``scale_by_learning_rate``: ``u = -lr_t g``  (count, learning_rate)
* ``trace``: ``v = (1 - d) g + beta v``; ``u = v``, or ``(1 - d) g + beta v`` for
  Nesterov  (trace)
* ``scale_by_rms``: ``nu = decay nu + (1 - decay) g^2``; ``u = g / sqrt(nu + eps)``  (nu)
* ``scale_by_adam``: bias-corrected moments;
  ``u = m_hat / (sqrt(v_hat + eps_root) + eps)``  (count, mu, nu)

The stateless transforms live beside this module: ``clip`` and ``clip_by_global_norm``
in ``funcnet.optim.clipping``, ``add_decayed_weights`` in ``funcnet.optim.weight_decay``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcnet import _checks
from funcnet.optim import _validate
from funcnet.optim._trees import cast_like, check_state, check_tree, zeros_like

Params = Any
Schedule = Callable[[jax.Array], jax.Array]


class ScaleByLearningRateState(NamedTuple):
    """State of :func:`scale_by_learning_rate`.

    Attributes:
        count: int32 scalar, the number of updates applied so far (the step count ``t``
            the schedule is evaluated at on the next update).
        learning_rate: float scalar; after an update, the learning rate that update
            used; right after ``init``, the one the first update will use. It is data,
            not a constant baked into the compiled step, so logging it costs nothing
            and a schedule that changes it never triggers a recompilation.
    """

    count: jax.Array
    learning_rate: jax.Array


class TraceState(NamedTuple):
    """State of :func:`trace`: the velocity ``trace``, shaped like ``params``."""

    trace: Params


class ScaleByRmsState(NamedTuple):
    """State of :func:`scale_by_rms`: ``nu``, the running mean of ``g**2``."""

    nu: Params


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`: step ``count`` (int32), moments ``mu`` and ``nu``."""

    count: jax.Array
    mu: Params
    nu: Params


def _increment(count):
    """count + 1, saturating at the dtype's maximum instead of wrapping to negative."""
    top = jnp.iinfo(count.dtype).max
    return jnp.where(count < top, count + 1, count)


def _float_dtype():
    """The default float dtype: float64 under ``jax_enable_x64``, float32 otherwise."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)



def _check_rate(where: str, value) -> None:
    """Refuse (at trace time) a schedule value that is not one real number per step."""
    dtype = getattr(value, "dtype", None)
    if dtype is None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(
            f"{where}: the learning_rate schedule must return a real number (a float or a "
            f"0-d float array) for each step count, got {type(value).__name__}"
        )
    if dtype is not None and not (jnp.issubdtype(dtype, jnp.floating)
                                  or jnp.issubdtype(dtype, jnp.integer)):
        raise TypeError(
            f"{where}: the learning_rate schedule must return a real number, got an array "
            f"of dtype {dtype}"
        )
    if np.shape(value) != ():
        raise ValueError(
            f"{where}: the learning_rate schedule must return one rate (shape ()) for the "
            f"scalar step count, got shape {tuple(np.shape(value))}; a rate per leaf or per "
            f"element would be broadcast into the updates"
        )


def scale_by_learning_rate(learning_rate: float | Schedule) -> optax.GradientTransformation:
    """Scale updates by minus the learning rate: ``u = -lr_t * g``.

    The learning rate at step ``t`` (``t = 0`` on the first update) is ``learning_rate``
    itself when it is a float, or ``learning_rate(t)`` when it is a schedule (see
    ``funcnet.optim.schedules``). The value used is recorded in the state as a scalar
    array, readable with :func:`current_learning_rate`; a float is a schedule that
    returns it at every step, so both take the same path and the compiled step
    multiplies by the same float32 (or float64) number.

    A schedule must return one real number per step; one that gives a negative or
    non-finite rate inside the compiled step makes the update NaN, so ``fit``'s guard
    stops there and names the learning rate (ascent is ``maximize=True`` on the
    optimizers, never a negative rate).

    Args:
        learning_rate: a float > 0, or a function of the int32 step count.

    Returns:
        An ``optax.GradientTransformation`` with state :class:`ScaleByLearningRateState`.

    Examples:
        >>> tx = scale_by_learning_rate(0.1)
        >>> updates, state = tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.zeros(2)}))
        >>> updates["w"], int(state.count), round(float(state.learning_rate), 6)
        (Array([-0.1, -0.1], dtype=float32), 1, 0.1)
    """
    where = "scale_by_learning_rate"
    learning_rate = _validate.learning_rate(where, learning_rate)

    def value_at(count):
        value = learning_rate(count) if callable(learning_rate) else learning_rate
        _check_rate(where, value)
        return jnp.asarray(value, _float_dtype())

    def init_fn(params):
        del params
        count = jnp.zeros([], jnp.int32)
        rate = value_at(count)
        # A schedule's rate at step 0 is concrete here (unless init runs under jit).
        if _checks.is_concrete(rate) and not (np.isfinite(rate) and rate >= 0):
            raise ValueError(
                f"scale_by_learning_rate: the learning_rate schedule gives {float(rate)} at "
                f"step 0; a learning rate must be finite and >= 0 (a negative one would "
                f"climb the loss: for gradient ascent pass maximize=True to the optimizer)"
            )
        return ScaleByLearningRateState(count=count, learning_rate=rate)

    def update_fn(updates, state, params=None):
        check_state(where, state, ScaleByLearningRateState)
        if params is not None:
            check_tree(where, "grads", updates, params, "params")
        for path, g in jax.tree_util.tree_flatten_with_path(updates)[0]:
            if not jnp.issubdtype(jnp.result_type(g), jnp.inexact):
                raise TypeError(
                    f"{where}: grads{jax.tree_util.keystr(path)} has dtype "
                    f"{jnp.result_type(g)}; gradients must be floating-point (an integer "
                    f"update would truncate -learning_rate * g to 0)"
                )
        # Inside the compiled step a schedule's rate cannot be read: a negative one would
        # climb the loss without a word, so it becomes NaN, as a non-finite one already
        # is, and the guard skips the step and names this state's learning_rate.
        lr = value_at(state.count)
        lr = jnp.where(lr >= 0, lr, jnp.nan)
        updates = jax.tree.map(lambda g: jnp.asarray(-lr, g.dtype) * g, updates)
        return updates, ScaleByLearningRateState(count=_increment(state.count), learning_rate=lr)

    return optax.GradientTransformation(init_fn, update_fn)


def trace(decay: float, nesterov: bool = False, dampening: float = 0.0
          ) -> optax.GradientTransformation:
    """Momentum velocity: ``v_t = (1 - dampening) g_t + decay v_{t-1}``, ``v_0 = 0``.

    Returns ``u_t = v_t``, or with ``nesterov=True`` ``u_t = (1 - dampening) g_t +
    decay v_t`` (the gradient step taken from the looked-ahead point). With
    ``dampening = 0`` this is ``optax.trace``; with ``dampening = decay`` the velocity
    is the moving average ``v = decay v + (1 - decay) g``.

    Args:
        decay: momentum coefficient ``beta`` in [0, 1).
        nesterov: use Nesterov's look-ahead update.
        dampening: fraction of the gradient held back, in [0, 1).

    Returns:
        An ``optax.GradientTransformation`` with state :class:`TraceState`.

    Examples:
        >>> tx = trace(0.9)
        >>> state = tx.init({"w": jnp.zeros(2)})
        >>> updates, state = tx.update({"w": jnp.ones(2)}, state)
        >>> updates, state = tx.update({"w": jnp.ones(2)}, state)
        >>> updates["w"]  # 1 + 0.9 * 1
        Array([1.9, 1.9], dtype=float32)
    """
    decay, nesterov, dampening = _validate.check_trace_args("trace", decay, nesterov, dampening)

    def init_fn(params):
        return TraceState(trace=zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        check_state("trace", state, TraceState)
        check_tree("trace", "grads", updates, state.trace, "the velocity in opt_state")
        velocity = jax.tree.map(lambda g, v: (1 - dampening) * g + decay * v,
                                updates, state.trace)
        if nesterov:
            updates = jax.tree.map(lambda g, v: (1 - dampening) * g + decay * v,
                                   updates, velocity)
        else:
            updates = velocity
        return updates, TraceState(trace=cast_like(velocity, state.trace))

    return optax.GradientTransformation(init_fn, update_fn)

def scale_by_rms(decay: float = 0.9, eps: float = 1e-8) -> optax.GradientTransformation:
    """RMSprop scaling: ``u_t = g_t / sqrt(nu_t + eps)``, ``nu_t`` the running mean of ``g^2``.

    ``nu_t = decay nu_{t-1} + (1 - decay) g_t^2`` with ``nu_0 = 0`` and no bias
    correction; ``eps`` sits inside the square root, as in optax (PyTorch puts it
    outside: ``g / (sqrt(nu) + eps)``).

    Args:
        decay: decay rate of the running mean of ``g**2``, in [0, 1).
        eps: > 0, added to ``nu`` under the square root.

    Returns:
        An ``optax.GradientTransformation`` with state :class:`ScaleByRmsState`.

    Examples:
        >>> tx = scale_by_rms(decay=0.9)
        >>> updates, _ = tx.update({"w": jnp.ones(1)}, tx.init({"w": jnp.zeros(1)}))
        >>> round(float(updates["w"][0]), 4)  # 1 / sqrt(0.1 + 1e-8)
        3.1623
    """
    decay, eps = _validate.check_rms_args("scale_by_rms", decay, eps)

    def init_fn(params):
        return ScaleByRmsState(nu=zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        check_state("scale_by_rms", state, ScaleByRmsState)
        check_tree("scale_by_rms", "grads", updates, state.nu, "the moment nu in opt_state")
        nu = jax.tree.map(lambda g, n: (1 - decay) * g**2 + decay * n, updates, state.nu)
        updates = jax.tree.map(lambda g, n: jax.lax.rsqrt(n + eps) * g, updates, nu)
        return updates, ScaleByRmsState(nu=cast_like(nu, state.nu))

    return optax.GradientTransformation(init_fn, update_fn)

def _bias_corrected(moment, decay: float, count):
    """moment / (1 - decay**count), the correction computed in the default float dtype."""
    correction = 1 - decay**count
    return jax.tree.map(lambda m: m / correction.astype(m.dtype), moment)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                  eps_root: float = 0.0) -> optax.GradientTransformation:
    """Adam scaling (Kingma & Ba, Algorithm 1), with optax's epsilon placement.

    With ``t`` counting from 1 and ``m_0 = v_0 = 0``::

        m_t = b1 m_{t-1} + (1 - b1) g_t
        v_t = b2 v_{t-1} + (1 - b2) g_t^2
        m_hat = m_t / (1 - b1^t);   v_hat = v_t / (1 - b2^t)
        u_t = m_hat / (sqrt(v_hat + eps_root) + eps)

    Args:
        b1: decay rate of the first moment, in [0, 1).
        b2: decay rate of the second moment, in [0, 1).
        eps: > 0, added outside the square root (as in the paper).
        eps_root: >= 0, added inside the square root (keeps meta-gradients finite).

    Returns:
        An ``optax.GradientTransformation`` with state :class:`ScaleByAdamState`.

    Examples:
        >>> tx = scale_by_adam()
        >>> updates, state = tx.update({"w": jnp.full(2, 3.0)}, tx.init({"w": jnp.zeros(2)}))
        >>> jnp.round(updates["w"], 4), int(state.count)  # first step: ~ sign(g)
        (Array([1., 1.], dtype=float32), 1)
    """
    b1, b2, eps, eps_root = _validate.check_adam_args("scale_by_adam", b1, b2, eps, eps_root)

    def init_fn(params):
        return ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=zeros_like(params),
                                nu=zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        check_state("scale_by_adam", state, ScaleByAdamState)
        check_tree("scale_by_adam", "grads", updates, state.mu, "the moment mu in opt_state")
        mu = jax.tree.map(lambda g, m: (1 - b1) * g + b1 * m, updates, state.mu)
        nu = jax.tree.map(lambda g, v: (1 - b2) * g**2 + b2 * v, updates, state.nu)
        count = _increment(state.count)
        mu_hat = _bias_corrected(mu, b1, count)
        nu_hat = _bias_corrected(nu, b2, count)
        updates = jax.tree.map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return updates, ScaleByAdamState(count=count, mu=cast_like(mu, state.mu),
                                         nu=cast_like(nu, state.nu))

    return optax.GradientTransformation(init_fn, update_fn)
