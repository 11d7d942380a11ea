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
* ``add_decayed_weights``: ``u = g + weight_decay * params``  (empty)
* ``clip_by_global_norm``: ``u = g * max_norm / ||g||`` when ``||g|| >= max_norm``  (empty)
* ``clip``: ``u = clip(g, -max_abs, max_abs)``  (empty)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcnet import _checks
from funcnet.optim import _validate

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


def check_tree(where: str, name: str, tree, like, like_name: str) -> None:
    """Raise ValueError unless ``tree`` has the structure and leaf shapes of ``like``.

    Runs on shapes only, so it also works (once, at trace time) under ``jax.jit``.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    like_leaves, like_def = jax.tree_util.tree_flatten_with_path(like)
    if treedef != like_def:
        have = [jax.tree_util.keystr(p) for p, _ in leaves]
        want = [jax.tree_util.keystr(p) for p, _ in like_leaves]
        missing = [p for p in want if p not in have]
        extra = [p for p in have if p not in want]
        detail = (f"missing {', '.join(missing) or 'nothing'}; unexpected "
                  f"{', '.join(extra) or 'nothing'}" if missing or extra
                  else f"structure {treedef}, expected {like_def}")
        raise ValueError(
            f"{where}: {name} must have the tree structure of {like_name}, got {detail}; "
            f"pass the gradients of the params the optimizer state was made from "
            f"(opt_state = optimizer.init(params))"
        )
    for (path, leaf), (_, ref) in zip(leaves, like_leaves, strict=True):
        if jnp.shape(leaf) != jnp.shape(ref):
            raise ValueError(
                f"{where}: {name}{jax.tree_util.keystr(path)} has shape "
                f"{tuple(jnp.shape(leaf))}, but {like_name} has shape "
                f"{tuple(jnp.shape(ref))} there"
            )


def check_state(where: str, state, cls) -> None:
    """Raise TypeError unless ``state`` is this transform's own state ``cls``."""
    if not isinstance(state, cls):
        raise TypeError(
            f"{where}: opt_state holds a {type(state).__name__} where this optimizer keeps "
            f"its {cls.__name__}; pass the opt_state made by this optimizer's init(params)"
        )


def _zeros_like(params):
    return jax.tree.map(jnp.zeros_like, params)


def _cast_like(tree, like):
    return jax.tree.map(lambda x, ref: x.astype(ref.dtype), tree, like)


def scale_by_learning_rate(learning_rate: float | Schedule) -> optax.GradientTransformation:
    """Scale updates by minus the learning rate: ``u = -lr_t * g``.

    The learning rate at step ``t`` (``t = 0`` on the first update) is ``learning_rate``
    itself when it is a float, or ``learning_rate(t)`` when it is a schedule (see
    ``funcnet.optim.schedules``). The value used is recorded in the state, readable
    with :func:`current_learning_rate`.

    Args:
        learning_rate: a float > 0, or a function of the int32 step count.

    Returns:
        An ``optax.GradientTransformation`` with state :class:`ScaleByLearningRateState`.

    Example:
        >>> tx = scale_by_learning_rate(0.1)
        >>> updates, state = tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.zeros(2)}))
        >>> updates["w"], int(state.count), round(float(state.learning_rate), 6)
        (Array([-0.1, -0.1], dtype=float32), 1, 0.1)
    """
    learning_rate = _validate.learning_rate("scale_by_learning_rate", learning_rate)

    def value_at(count):
        value = learning_rate(count) if callable(learning_rate) else learning_rate
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
                f"climb the loss)"
            )
        return ScaleByLearningRateState(count=count, learning_rate=rate)

    def update_fn(updates, state, params=None):
        where = "scale_by_learning_rate"
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
        lr = value_at(state.count)
        updates = jax.tree.map(lambda g: jnp.asarray(-lr, g.dtype) * g, updates)
        return updates, ScaleByLearningRateState(count=_increment(state.count), learning_rate=lr)

    return optax.GradientTransformation(init_fn, update_fn)


def check_trace_args(where: str, decay, nesterov, dampening) -> tuple[float, bool, float]:
    """Validate :func:`trace`'s hyperparameters, naming ``where`` in any error."""
    decay = _validate.unit_interval(where, "beta", decay)
    dampening = _validate.unit_interval(where, "dampening", dampening)
    if not isinstance(nesterov, bool):
        raise TypeError(f"{where}: nesterov must be a bool, got {type(nesterov).__name__}")
    return decay, nesterov, dampening


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

    Example:
        >>> tx = trace(0.9)
        >>> state = tx.init({"w": jnp.zeros(2)})
        >>> updates, state = tx.update({"w": jnp.ones(2)}, state)
        >>> updates, state = tx.update({"w": jnp.ones(2)}, state)
        >>> updates["w"]  # 1 + 0.9 * 1
        Array([1.9, 1.9], dtype=float32)
    """
    decay, nesterov, dampening = check_trace_args("trace", decay, nesterov, dampening)

    def init_fn(params):
        return TraceState(trace=_zeros_like(params))

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
        return updates, TraceState(trace=_cast_like(velocity, state.trace))

    return optax.GradientTransformation(init_fn, update_fn)


def check_rms_args(where: str, decay, eps) -> tuple[float, float]:
    """Validate :func:`scale_by_rms`'s hyperparameters, naming ``where`` in any error."""
    return _validate.unit_interval(where, "decay", decay), _validate.positive(where, "eps", eps)


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

    Example:
        >>> tx = scale_by_rms(decay=0.9)
        >>> updates, _ = tx.update({"w": jnp.ones(1)}, tx.init({"w": jnp.zeros(1)}))
        >>> round(float(updates["w"][0]), 4)  # 1 / sqrt(0.1 + 1e-8)
        3.1623
    """
    decay, eps = check_rms_args("scale_by_rms", decay, eps)

    def init_fn(params):
        return ScaleByRmsState(nu=_zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        check_state("scale_by_rms", state, ScaleByRmsState)
        check_tree("scale_by_rms", "grads", updates, state.nu, "the moment nu in opt_state")
        nu = jax.tree.map(lambda g, n: (1 - decay) * g**2 + decay * n, updates, state.nu)
        updates = jax.tree.map(lambda g, n: jax.lax.rsqrt(n + eps) * g, updates, nu)
        return updates, ScaleByRmsState(nu=_cast_like(nu, state.nu))

    return optax.GradientTransformation(init_fn, update_fn)


def check_adam_args(where: str, b1, b2, eps, eps_root) -> tuple[float, float, float, float]:
    """Validate :func:`scale_by_adam`'s hyperparameters, naming ``where`` in any error."""
    return (
        _validate.unit_interval(where, "b1", b1),
        _validate.unit_interval(where, "b2", b2),
        _validate.positive(where, "eps", eps),
        _validate.non_negative(where, "eps_root", eps_root),
    )


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

    Example:
        >>> tx = scale_by_adam()
        >>> updates, state = tx.update({"w": jnp.full(2, 3.0)}, tx.init({"w": jnp.zeros(2)}))
        >>> jnp.round(updates["w"], 4), int(state.count)  # first step: ~ sign(g)
        (Array([1., 1.], dtype=float32), 1)
    """
    b1, b2, eps, eps_root = check_adam_args("scale_by_adam", b1, b2, eps, eps_root)

    def init_fn(params):
        return ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=_zeros_like(params),
                                nu=_zeros_like(params))

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
        return updates, ScaleByAdamState(count=count, mu=_cast_like(mu, state.mu),
                                         nu=_cast_like(nu, state.nu))

    return optax.GradientTransformation(init_fn, update_fn)


def _mask_leaf(where: str, keep) -> bool:
    if not isinstance(keep, bool | np.bool_):
        raise TypeError(
            f"{where}: mask leaves must be Python bools (True: decay this subtree), "
            f"got {type(keep).__name__}; build the mask from shapes or paths, not values"
        )
    return bool(keep)


def add_decayed_weights(weight_decay: float = 0.0, mask=None) -> optax.GradientTransformation:
    """Decoupled weight decay: ``u = g + weight_decay * params`` where ``mask`` is True.

    Placed before the learning-rate scaling (as in :func:`funcnet.optim.adamw`), the
    decay is multiplied by the learning rate, as in optax and PyTorch.

    Args:
        weight_decay: finite, >= 0.
        mask: ``None`` (decay every leaf), a pytree of bools with the structure of
            ``params`` or a prefix of it, or a function ``params -> such a pytree``.
            A ``False`` subtree passes its updates through unchanged.

    Returns:
        An ``optax.GradientTransformation`` with an empty state; its ``update`` needs
        ``params``.

    Example:
        >>> tx = add_decayed_weights(0.1, mask={"w": True, "b": False})
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
        >>> grads = {"w": jnp.zeros(2), "b": jnp.zeros(2)}
        >>> tx.update(grads, tx.init(params), params)[0]
        {'b': Array([0., 0.], dtype=float32), 'w': Array([0.1, 0.1], dtype=float32)}
    """
    where = "add_decayed_weights"
    weight_decay = _validate.non_negative(where, "weight_decay", weight_decay)

    def decay(g, p):
        return jax.tree.map(lambda gi, pi: gi + weight_decay * pi, g, p)

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(
                f"{where}: params are needed to decay them; call "
                f"update(grads, opt_state, params)"
            )
        check_tree(where, "grads", updates, params, "params")
        if weight_decay == 0.0:
            return updates, state
        tree_mask = mask(params) if callable(mask) else mask
        if tree_mask is None:
            return decay(updates, params), state
        try:
            jax.tree.map(lambda keep, p: None, tree_mask, params)
        except ValueError as err:
            raise ValueError(
                f"{where}: mask must be a pytree of bools with the structure of params or "
                f"a prefix of it, got {jax.tree_util.tree_structure(tree_mask)} for params "
                f"{jax.tree_util.tree_structure(params)} ({str(err).splitlines()[0]})"
            ) from None
        updates = jax.tree.map(
            lambda keep, g, p: decay(g, p) if _mask_leaf(where, keep) else g,
            tree_mask, updates, params,
        )
        return updates, state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def global_norm(tree) -> jax.Array:
    """The L2 norm of all leaves together: ``sqrt(sum over leaves of sum(x**2))``.

    Example:
        >>> global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])})
        Array(5., dtype=float32)
    """
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
    """Rescale the whole gradient tree so its global norm is at most ``max_norm``.

    ``u = g`` when ``||g|| < max_norm``, else ``u = (g / ||g||) * max_norm``, with
    ``||g||`` the :func:`global_norm` of the tree; the direction never changes. The
    seeds' ``gradient_clip`` scales by ``max_norm / (||g|| + 1e-6)``; this follows optax
    and omits the ``1e-6``, so a clipped tree has norm ``max_norm`` exactly.

    Args:
        max_norm: finite, > 0.

    Returns:
        An ``optax.GradientTransformation`` with an empty state.

    Example:
        >>> tx = clip_by_global_norm(1.0)
        >>> tx.update({"a": jnp.array([3.0]), "b": jnp.array([4.0])}, tx.init(None))[0]
        {'a': Array([0.6], dtype=float32), 'b': Array([0.8], dtype=float32)}
    """
    max_norm = _validate.positive("clip_by_global_norm", "max_norm", max_norm)

    def update_fn(updates, state, params=None):
        del params
        norm = global_norm(updates)
        within = norm < max_norm
        updates = jax.tree.map(
            lambda g: jnp.where(within, g, (g / norm.astype(g.dtype)) * max_norm), updates
        )
        return updates, state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def clip(max_abs: float) -> optax.GradientTransformation:
    """Clip every element into ``[-max_abs, max_abs]``: ``u = min(max(g, -max_abs), max_abs)``.

    Args:
        max_abs: finite, > 0.

    Returns:
        An ``optax.GradientTransformation`` with an empty state.

    Example:
        >>> tx = clip(1.0)
        >>> tx.update({"w": jnp.array([-3.0, 0.5, 2.0])}, tx.init(None))[0]
        {'w': Array([-1. ,  0.5,  1. ], dtype=float32)}
    """
    max_abs = _validate.positive("clip", "max_abs", max_abs)

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda g: jnp.clip(g, -max_abs, max_abs), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def apply_updates(params, updates):
    """Return ``params + updates`` leaf by leaf, each result in its param's dtype.

    Args:
        params: the parameter pytree.
        updates: a pytree of the same structure (from an optimizer's ``update``).

    Example:
        >>> apply_updates({"w": jnp.ones(2, jnp.float32)}, {"w": jnp.full(2, 0.5)})
        {'w': Array([1.5, 1.5], dtype=float32)}
    """
    def add(p, u):
        p = jnp.asarray(p)
        return (p + u).astype(p.dtype)

    check_tree("apply_updates", "updates", updates, params, "params")
    return jax.tree.map(add, params, updates)


def _recorded_rate(node):
    """The learning rate ``node`` records, or None: a funcnet ScaleByLearningRateState, or
    the state of ``optax.inject_hyperparams`` with a ``learning_rate`` hyperparameter."""
    if isinstance(node, ScaleByLearningRateState):
        return node.learning_rate
    if isinstance(node, tuple) and "hyperparams" in getattr(node, "_fields", ()):
        hyperparams = node.hyperparams
        if isinstance(hyperparams, dict) and "learning_rate" in hyperparams:
            return hyperparams["learning_rate"]
    return None


def current_learning_rate(opt_state) -> jax.Array:
    """The learning rate recorded in ``opt_state`` (see :class:`ScaleByLearningRateState`).

    Searches the whole state pytree, so it finds the value inside an ``optax.chain``,
    nested chains or wrappers; the state of an optax optimizer wrapped in
    ``optax.inject_hyperparams`` works too.

    Args:
        opt_state: the state of an optimizer holding exactly one funcnet
            :func:`scale_by_learning_rate` (every ``funcnet.optim`` optimizer does) or
            one injected ``learning_rate``.

    Returns:
        The float scalar array: the rate the last update used (after ``init``, the
        rate the first update will use).

    Example:
        >>> from funcnet import optim
        >>> opt = optax.chain(optax.clip_by_global_norm(1.0), optim.adam(1e-3))
        >>> round(float(current_learning_rate(opt.init({"w": jnp.zeros(2)}))), 6)
        0.001
    """
    def holds_rate(node):
        return _recorded_rate(node) is not None

    found = [_recorded_rate(node)
             for node in jax.tree.leaves(opt_state, is_leaf=holds_rate) if holds_rate(node)]
    if len(found) != 1:
        raise ValueError(
            f"current_learning_rate: expected exactly one learning rate in opt_state, "
            f"found {len(found)}; the optimizer must contain one funcnet "
            f"scale_by_learning_rate (every funcnet.optim optimizer does) or be wrapped "
            f"in optax.inject_hyperparams"
        )
    return found[0]
