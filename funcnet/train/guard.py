"""The non-finite guard: one flag per step, the skip it triggers, and, after a skipped
step, which arrays went bad.

The compiled step reduces the loss and every gradient to one flag (:func:`all_finite`)
and keeps params, state and optimizer state unchanged when it is False
(:func:`skip_unless`). Naming the bad arrays would cost a flag per leaf in every step,
so it is done only once a step has failed: :func:`non_finite_paths` reruns that one
step (same params, batch and key) with a flag per leaf. :class:`NonFiniteError` is
what ``fit`` raises then.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite loss or gradient; nothing learned is lost.

    Attributes:
        epoch: 1-based epoch of the first non-finite step.
        step: 0-based step within that epoch.
        paths: parameter paths whose gradient was non-finite at that step (``"loss"``
            when only the loss was), found by rerunning the step; a single note instead
            if the rerun came out finite (possible with non-deterministic GPU kernels).
        result: a ``FitResult`` with the last finite params, state, optimizer state and
            the history up to the failing epoch.
    """

    def __init__(self, epoch, step, paths, result):
        self.epoch, self.step, self.paths, self.result = epoch, step, paths, result
        shown = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
        super().__init__(
            f"fit: the loss or gradients became non-finite at epoch {epoch}, step {step} "
            f"(first non-finite: {shown}); training stopped and the last finite params, "
            f"state and optimizer state are in this error's .result. Lower the learning "
            f"rate or clip gradients (funcnet.optim.clip_by_global_norm)."
        )


def _leaf_flags(leaves):
    """``(L,)`` bools: every entry of leaf ``i`` is finite."""
    if not leaves:
        return jnp.ones((0,), bool)
    return jnp.stack([jnp.all(jnp.isfinite(g)) for g in leaves])


def _finite_per_leaf(*leaves):
    return jnp.all(_leaf_flags(leaves))


def _finite_one_pass(*leaves):
    return jnp.all(jnp.concatenate([jnp.isfinite(g).ravel() for g in leaves]))


def all_finite(loss_value, grads):
    """One flag: the loss and every gradient entry are finite.

    Same answer, two shapes of work. XLA:CPU keeps one small reduction per leaf cheap
    but copies a concatenation; on GPU one reduction over the (fused) concatenation is
    one kernel instead of one per leaf, and kernels are what a small step pays for.
    """
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        return jnp.isfinite(loss_value)
    return jnp.isfinite(loss_value) & jax.lax.platform_dependent(
        *leaves, cpu=_finite_per_leaf, default=_finite_one_pass)


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


def non_finite_paths(loss_and_grads, params, state, step_inputs) -> list:
    """Rerun a skipped step to name what went bad.

    Args:
        loss_and_grads: the step's own ``funcnet.train.step.loss_and_grads(model, loss)``.
        params, state: what the step started from (the guard kept them).
        step_inputs: ``(x, y, mask, key)`` of that step
            (``funcnet.train.epochs.step_inputs``).

    Returns:
        The ``keystr`` paths of the leaves whose gradient is not finite, in
        ``tree_leaves`` order; ``["loss"]`` when only the loss is not; a note when the
        rerun is finite throughout.
    """
    def check(params, state, x, y, mask, key):
        (loss_value, _), grads = loss_and_grads(params, state, x, y, mask, key)
        return jnp.isfinite(loss_value), _leaf_flags(jax.tree_util.tree_leaves(grads))

    loss_ok, leaf_ok = jax.jit(check)(params, state, *step_inputs)
    leaf_paths = [jax.tree_util.keystr(path)
                  for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    paths = [p for p, ok in zip(leaf_paths, np.asarray(leaf_ok), strict=True) if not ok]
    if paths:
        return paths
    return ["loss"] if not bool(loss_ok) else [
        "(not reproduced: the rerun of this step was finite)"]
