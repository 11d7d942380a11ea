"""What ``fit`` makes of an epoch's step metrics: the history row, and, when a step was
skipped as non-finite, which arrays went bad."""

from __future__ import annotations

import math

import jax
import numpy as np

from funcnet.step import make_leaf_check


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite loss or gradient; nothing learned is lost.

    Attributes:
        epoch: 1-based epoch of the first non-finite step.
        step: 0-based step within that epoch.
        paths: parameter paths whose gradient was non-finite at that step (``"loss"``
            when only the loss was), found by rerunning the step; a single note instead
            if the rerun came out finite (possible with non-deterministic GPU kernels).
        result: a :class:`FitResult` with the last finite params, state, optimizer
            state and the history up to the failing epoch.
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


def finite_steps(metrics, steps: int) -> int:
    """How many steps ran before the first skipped one (``steps`` if none was)."""
    finite = np.asarray(metrics.finite)
    return steps if finite.all() else int(np.argmin(finite))


def train_row(metrics, good: int, has_accuracy: bool, leaf_paths, record_gradients) -> dict:
    """Train loss and accuracy over the ``good`` steps of an epoch (host metrics), and,
    when recorded, each leaf's mean gradient norm and update ratio."""
    count = float(np.sum(metrics.count[:good]))
    row = {
        "train_loss": float(np.sum(metrics.loss_sum[:good]) / count) if count else math.nan,
        "train_accuracy": (float(np.sum(metrics.correct[:good]) / count)
                           if count and has_accuracy else None),
    }
    if record_gradients:
        steps_done = max(good, 1)
        for name, values in (("gradient_norms", metrics.grad_norms),
                             ("update_ratios", metrics.update_ratios)):
            means = np.mean(np.asarray(values)[:steps_done], axis=0)
            row[name] = {p: float(v) for p, v in zip(leaf_paths, means, strict=True)}
    return row


def non_finite_paths(model, loss_fn, params, state, leaf_paths, step_inputs) -> list:
    """Rerun the skipped step (same params, batch and key) to name what went bad."""
    loss_ok, leaf_ok = make_leaf_check(model, loss_fn)(params, state, *step_inputs)
    paths = [p for p, ok in zip(leaf_paths, np.asarray(leaf_ok), strict=True) if not ok]
    if paths:
        return paths
    return ["loss"] if not bool(loss_ok) else [
        "(not reproduced: the rerun of this step was finite)"]


def leaf_paths(params) -> list:
    """``keystr`` of every leaf of ``params``, in ``tree_leaves`` order."""
    return [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]


