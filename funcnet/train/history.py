"""``fit``'s history: one row per epoch, made from that epoch's step metrics.

``history`` maps each of :data:`HISTORY_KEYS` (and, with ``record=Health(...)``,
``"health"``) to a list with one entry per epoch.
"""

from __future__ import annotations

import math

import numpy as np

from funcnet import diagnostics, optim

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy",
                "learning_rate", "seconds")


def check_record(where: str, record):
    """``record`` if it is ``None`` or a ``diagnostics.Health``, else a clear error."""
    if record is not None and not isinstance(record, diagnostics.Health):
        raise TypeError(f"{where}: record must be None or a funcnet.diagnostics.Health "
                        f"(e.g. record=Health(every=10)), got {record!r}")
    return record


RECORDED_KEYS = ("health",)


def empty(record) -> dict:
    """A history with no epochs yet (and a ``"health"`` list when ``record`` is given)."""
    return {k: [] for k in (*HISTORY_KEYS, *(RECORDED_KEYS if record is not None else ()))}


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


def train_row(metrics, good: int, has_accuracy: bool, record=None, model=None, params=None,
              first_step: int = 0) -> dict:
    """Train loss and accuracy over the ``good`` steps of an epoch (host metrics), and,
    with ``record``, the epoch's ``"health"`` entry (its steps numbered from
    ``first_step``)."""
    count = float(np.sum(metrics.count[:good]))
    row = {
        "train_loss": float(np.sum(metrics.loss_sum[:good]) / count) if count else math.nan,
        "train_accuracy": (float(np.sum(metrics.correct[:good]) / count)
                           if count and has_accuracy else None),
    }
    if record is not None:
        row["health"] = record.entry(model, params, metrics.health, first_step, good)
    return row


def append(history: dict, row: dict) -> None:
    """Add one epoch's row to every list of ``history``."""
    for k in history:
        history[k].append(row[k])
