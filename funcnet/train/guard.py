"""The non-finite guard: one flag per step, the skip it triggers, and, after a skipped
step, which arrays went bad.

The compiled step reduces the loss, every gradient and everything it would keep (new
params, state and optimizer state) to one flag (:func:`all_finite`) and keeps params,
state and optimizer state unchanged when it is False (:func:`skip_unless`). ``fit``'s
epochs flag only the loss and gradients per step and check the rest once, when the
epoch ends (:func:`epoch_finite`); an epoch that fails is rerun with the skip. Naming
the bad arrays would cost a flag per leaf in every step, so it is done only once a
step has failed: :func:`non_finite_paths` reruns that one step (same params, optimizer
state, batch and key) with a flag per leaf. :class:`NonFiniteError` is what ``fit``
raises then.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite loss, gradient or update; nothing learned is lost.

    Attributes:
        epoch: 1-based epoch of the first non-finite step.
        step: 0-based step within that epoch.
        paths: what went non-finite at that step, found by rerunning it: the parameter
            paths whose gradient did (``"['dense_0']['w']"``); else ``"loss"``; else
            what the update would have kept (``"opt_state[1].learning_rate"``,
            ``"state[...]"``, ``"params[...] after the update"``); a single note
            instead if the rerun came out finite (possible with non-deterministic GPU
            kernels).
        result: a ``FitResult`` with the last finite params, state, optimizer state
            (those the failing step started from) and the history up to the failing
            epoch.
    """

    def __init__(self, epoch, step, paths, result):
        self.epoch, self.step, self.paths, self.result = epoch, step, paths, result
        shown = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
        super().__init__(
            f"fit: the loss, gradients or update became non-finite at epoch {epoch}, step {step} "
            f"(first non-finite: {shown}); training stopped and the last finite params, "
            f"state and optimizer state are in this error's .result. Lower the learning "
            f"rate or clip gradients (funcnet.optim.clip_by_global_norm)."
        )


def _finite_per_shape(*leaves):
    """One reduction per distinct leaf shape: ``x * 0`` is 0 where ``x`` is finite and NaN
    where it is not, so summing a shape's leaves that way is finite exactly when all are.
    A gradient, its param and the optimizer's moments for it share a shape, so XLA:CPU
    reads each of them once, in one loop, instead of once per leaf."""
    groups = {}
    for leaf in leaves:
        groups.setdefault(jnp.shape(leaf), []).append(leaf)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(sum(x * jnp.zeros((), x.dtype)
                                                       for x in group)))
                              for group in groups.values()]))


def finite_by_sum(loss_value, *trees):
    """One flag, the loss and every floating-point entry of ``trees`` finite, as a single
    sum: ``x * 0`` is 0 where ``x`` is finite and NaN where it is not, so the sum of
    every leaf's ``x * 0`` (in float32, exact: it adds zeros) is finite exactly when all
    entries are. The report-only step flags its gradients this way: a reduction of
    ``isfinite``'s booleans per leaf (:func:`all_finite`) in its place made the MNIST
    CNN's scan epoch slower on XLA:CPU (``benchmarks/guard_cost.py``).

    Examples:
        >>> bool(finite_by_sum(jnp.float32(1), {"w": jnp.ones(3)}))
        True
        >>> bool(finite_by_sum(jnp.float32(1), {"w": jnp.array([1.0, jnp.inf])}))
        False
    """
    total = jnp.sum(jnp.asarray(loss_value) * 0, dtype=jnp.float32)
    for leaf in _float_leaves(*trees):
        total = total + jnp.sum(leaf * jnp.zeros((), jnp.result_type(leaf)), dtype=jnp.float32)
    return jnp.isfinite(total)


def _finite_one_pass(*leaves):
    return jnp.all(jnp.concatenate([jnp.isfinite(g).ravel() for g in leaves]))


def _float_leaves(*trees):
    """The floating-point leaves of ``trees`` (an integer step count is always finite)."""
    return [leaf for leaf in jax.tree_util.tree_leaves(trees)
            if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)]


def all_finite(loss_value, *trees):
    """One flag: the loss and every floating-point entry of ``trees`` are finite.

    The step passes its gradients and what it would keep: the new params, state and
    optimizer state, so a NaN made by the optimizer (a schedule gone NaN, a moment
    overflowing) is caught as surely as a NaN gradient.

    Same answer, two shapes of work. XLA:CPU keeps one small reduction per leaf shape
    cheap but copies a concatenation; on GPU one reduction over the (fused)
    concatenation is one kernel instead of one per shape, and kernels are what a small
    step pays for.
    """
    leaves = _float_leaves(*trees)
    if not leaves:
        return jnp.isfinite(loss_value)
    return jnp.isfinite(loss_value) & jax.lax.platform_dependent(
        *leaves, cpu=_finite_per_shape, default=_finite_one_pass)


# compiled: one program per tree structure, one reduction per leaf shape
_trees_finite = jax.jit(lambda *trees: all_finite(jnp.zeros(()), *trees))


def epoch_finite(step_metrics, *trees) -> bool:
    """Whether an epoch run by the report-only step (``make_update(..., skip=False)``)
    can stand: every step reported a finite loss and finite gradients, and ``trees``
    (the params, state and optimizer state the epoch ends with) are finite.

    A non-finite value that an update makes from finite gradients (a rate gone NaN,
    an overflowing Adam moment) lands in what the step keeps, and NaN and infinity
    stay there through later updates' arithmetic (moments, momentum, the params
    themselves), so it is still there when the epoch ends; only an update rule that
    replaces such values by finite ones itself could hide one. ``fit`` reruns an epoch
    that fails this with the skipping guard, which finds its first bad step.

    Examples:
        >>> from funcnet.train.step import StepMetrics
        >>> m = StepMetrics(jnp.ones(3), jnp.zeros(3), jnp.ones(3), jnp.array([True] * 3))
        >>> epoch_finite(m, {"w": jnp.ones(2)}), epoch_finite(m, {"w": jnp.array([1, jnp.nan])})
        (True, False)
    """
    return bool(np.all(step_metrics.finite)) and bool(_trees_finite(*trees))


def _skip_by_branch(ok, apply, keep):
    return jax.lax.cond(ok, lambda _: apply(), lambda _: keep(), None)


def _skip_by_select(ok, apply, keep):
    return jax.tree.map(lambda new, old: jnp.where(ok, new, old), apply(), keep())


def skip_unless(ok, apply, keep):
    """``apply()`` if ``ok`` else ``keep()``: the guard's skip of a non-finite step.

    On CPU one ``lax.cond`` branch: an elementwise select there makes XLA keep old and
    new optimizer moments alive together (extra copies per step). On GPU a conditional
    costs a round of host work per step, while a select fuses into the update's own
    elementwise kernels (``benchmarks/step_cost.py`` measures both).
    """
    return jax.lax.platform_dependent(
        cpu=lambda: _skip_by_branch(ok, apply, keep),
        default=lambda: _skip_by_select(ok, apply, keep))


def _bad_paths(tree, prefix: str = "", suffix: str = "") -> list:
    """``keystr`` paths (with ``prefix``/``suffix``) of the non-finite float leaves."""
    return [f"{prefix}{jax.tree_util.keystr(path)}{suffix}"
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
            if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)
            and not np.isfinite(np.asarray(leaf)).all()]


def non_finite_paths(update, params, state, opt_state, step_inputs) -> list:
    """Rerun a skipped step without its guard to name what went bad.

    Args:
        update: the step's own body without the guard
            (``funcnet.train.step.make_update(model, loss, optimizer, guard=False)``).
        params, state, opt_state: what the step started from (the guard kept them).
        step_inputs: ``(x, y, mask, key)`` of that step
            (``funcnet.train.epochs.step_inputs``).

    Returns:
        The first of these that is not empty, each in ``tree_leaves`` order: the
        ``keystr`` paths of the leaves whose gradient is not finite; ``["loss"]``; the
        non-finite leaves of what the update made, the optimizer state first (where a
        schedule's rate or a moment goes bad), then the state, then the params; a
        note when the rerun is finite throughout.
    """
    new_params, new_state, new_opt_state, step_metrics, grads = jax.jit(update)(
        params, state, opt_state, *step_inputs)
    paths = _bad_paths(jax.device_get(grads))
    if paths:
        return paths
    if not np.isfinite(np.asarray(step_metrics.loss_sum)):
        return ["loss"]
    made = (_bad_paths(jax.device_get(new_opt_state), "opt_state")
            + _bad_paths(jax.device_get(new_state), "state")
            + _bad_paths(jax.device_get(new_params), "params", " after the update"))
    return made or ["(not reproduced: the rerun of this step was finite)"]
