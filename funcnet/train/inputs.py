"""Checks of a dataset ``(x, y)`` shared by ``fit``, ``evaluate`` and ``predict``."""

from __future__ import annotations

import jax
import numpy as np

from funcnet import _checks
from funcnet import losses as _losses


def xy_pair(where: str, data, name: str, *, prefix: str = "", unit: str = "samples",
            finite: bool = False):
    """Return ``(x, y)`` from ``data`` after checking it is a pair of equal-length arrays.

    Args:
        where: the calling function, for messages.
        data: ``(x, y)`` with ``x: (N, ...)`` and ``y: (N, ...)``.
        name: what the pair is called in messages (``"train_data"``).
        prefix: put before ``x``/``y`` in messages (``"train_data "``).
        unit: what a row is called in the empty-data message.
        finite: also refuse NaN/inf in floating ``x`` or ``y``, naming the first bad row.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{where}: {name} must be a tuple (x, y), got {type(data).__name__}")
    x, y = data
    layout = "(samples, ...)" if unit == "samples" else "(batch, ...)"
    _checks.min_rank(where, f"{prefix}x", x, 1, layout)
    _checks.min_rank(where, f"{prefix}y", y, 1, layout)
    _checks.same_length(where, f"{prefix}x", x, f"{prefix}y", y)
    if np.shape(x)[0] == 0:
        raise ValueError(f"{where}: {name} is empty (0 {unit})")
    if finite:
        for label, arr in ((f"{prefix}x", x), (f"{prefix}y", y)):
            arr = np.asarray(arr)
            if np.issubdtype(arr.dtype, np.floating):
                bad_rows = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
                if bad_rows.any():
                    raise ValueError(
                        f"{where}: {label} holds non-finite values (NaN or inf) in "
                        f"{int(bad_rows.sum())} row(s), first at row "
                        f"{int(np.argmax(bad_rows))}; clean the data first"
                    )
    return x, y


def labels_in_range(where: str, model, params, state, x, y, loss_fn, label: str) -> None:
    """For integer-label cross-entropy, check ``y`` against the model's class count.

    Under ``jit`` the loss cannot inspect its labels, so callers check them up front;
    the class count comes from the model's output shape (abstract evaluation, no FLOPs).
    """
    if loss_fn is not _losses.softmax_cross_entropy_with_integer_labels:
        return
    sample = jax.ShapeDtypeStruct((1, *np.shape(x)[1:]), _checks.dtype_of(x))
    out = jax.eval_shape(lambda p, s, xx: model.apply(p, s, xx, train=False)[0],
                         params, state, sample)
    _checks.integer_labels(where, label, np.asarray(y), out.shape[-1])
