"""Early stopping for ``fit``: the rule, its checks, and the watch kept over epochs."""

from __future__ import annotations

from typing import NamedTuple

from funcnet import _checks


class EarlyStopping(NamedTuple):
    """Stop when ``metric`` has not improved by ``min_delta`` for ``patience`` epochs.

    Attributes:
        metric: a history key, e.g. ``"eval_loss"`` or ``"eval_accuracy"``.
        patience: epochs without improvement before stopping.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, else min).
        min_delta: the smallest change that counts as an improvement.
        restore_best: return the params/state of the best epoch (default True).

    Examples:
        >>> rule = EarlyStopping("eval_accuracy", patience=3)
        >>> rule.mode
        'auto'
    """

    metric: str = "eval_loss"
    patience: int = 5
    mode: str = "auto"
    min_delta: float = 0.0
    restore_best: bool = True


def check(where: str, rule: EarlyStopping, history_keys) -> None:
    """Raise ValueError naming the field of ``rule`` that cannot work."""
    _checks.positive_int(where, "early_stopping.patience", rule.patience)
    if rule.mode not in ("min", "max", "auto"):
        raise ValueError(f"{where}: early_stopping.mode must be 'min', 'max' or 'auto', "
                         f"got {rule.mode!r}")
    _checks.non_negative(where, "early_stopping.min_delta", rule.min_delta)
    if rule.metric not in history_keys:
        raise ValueError(f"{where}: early_stopping.metric must be one of {history_keys}, "
                         f"got {rule.metric!r}")


class Watch:
    """The best value seen (with a snapshot of params and state) and epochs since.

    ``best`` is ``None`` or ``(value, params, state)``; ``waited`` counts epochs without
    an improvement. Both resume from a checkpoint (the best params do not: see ``fit``).
    """

    def __init__(self, rule: EarlyStopping, best=None, waited: int = 0):
        self.rule, self.best, self.waited = rule, best, waited
        self.mode = rule.mode
        if self.mode == "auto":
            self.mode = "max" if "accuracy" in rule.metric else "min"

    def update(self, where: str, row: dict, params, state, snapshot) -> bool:
        """Record epoch ``row``; return True when patience has run out."""
        value = row[self.rule.metric]
        if value is None:
            raise ValueError(f"{where}: early_stopping.metric {self.rule.metric!r} has no "
                             f"value (no eval_data?)")
        best = self.best
        better = best is None or (value < best[0] - self.rule.min_delta if self.mode == "min"
                                  else value > best[0] + self.rule.min_delta)
        if better:
            self.best = (value, snapshot(params), snapshot(state))
            self.waited = 0
        else:
            self.waited += 1
        return self.waited >= self.rule.patience
