"""``fit``'s history: one row per epoch, made from that epoch's step metrics.

``history`` maps each of :data:`HISTORY_KEYS` (and, when recording gradients,
``"gradient_norms"`` and ``"update_ratios"``) to a list with one entry per epoch.
"""

from __future__ import annotations

import math

import numpy as np

from funcnet import diagnostics, optim

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy",
                "learning_rate", "seconds")
RECORDED_KEYS = ("gradient_norms", "update_ratios")


def empty(record_gradients: bool) -> dict:
    """A history with no epochs yet."""
    return {k: [] for k in (*HISTORY_KEYS, *(RECORDED_KEYS if record_gradients else ()))}


def finite_steps(metrics, steps: int) -> int:
    """How many steps ran before the first skipped one (``steps`` if none was, or if
    the guard was off and computed no flag)."""
    if metrics.finite is None:
        return steps
    finite = np.asarray(metrics.finite)
    return steps if finite.all() else int(np.argmin(finite))


def learning_rate_or_none(opt_state):
    """The rate recorded in ``opt_state`` as a float, or ``None`` when it records none."""
    try:
        return float(optim.current_learning_rate(opt_state))
    except ValueError:
        return None


def train_row(metrics, good: int, has_accuracy: bool, params, record_gradients) -> dict:
    """Train loss and accuracy over the ``good`` steps of an epoch (host metrics), and,
    when recorded, each leaf's mean gradient norm and update ratio."""
    count = float(np.sum(metrics.count[:good]))
    row = {
        "train_loss": float(np.sum(metrics.loss_sum[:good]) / count) if count else math.nan,
        "train_accuracy": (float(np.sum(metrics.correct[:good]) / count)
                           if count and has_accuracy else None),
    }
    if record_gradients:
        paths = diagnostics.parameter_paths(params) if np.size(metrics.grad_norms) else []
        steps_done = max(good, 1)
        for name, values in (("gradient_norms", metrics.grad_norms),
                             ("update_ratios", metrics.update_ratios)):
            means = np.mean(np.asarray(values)[:steps_done], axis=0)
            row[name] = {p: float(v) for p, v in zip(paths, means, strict=True)}
    return row


def append(history: dict, row: dict) -> None:
    """Add one epoch's row to every list of ``history``."""
    for k in history:
        history[k].append(row[k])
