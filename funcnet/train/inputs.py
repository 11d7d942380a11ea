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


def model_input(where: str, model, x, name: str) -> None:
    """Run the model's host-side input check (``Layer.check_input``) on concrete ``x``.

    Inside a compiled step a layer cannot read its input's values (an Embedding makes
    out-of-range ids NaN there, so the guard stops the step); up front they are
    refused with the argument named.
    """
    dtype = np.dtype(_checks.dtype_of(x))
    if (np.issubdtype(np.dtype(model.input_dtype), np.floating)
            and np.issubdtype(dtype, np.integer)):
        # The common case is raw pixels: astype alone would train on 0..255 unscaled.
        raise TypeError(
            f"{where}: {name} has dtype {dtype}, but the model's first layer takes "
            f"floating-point input; scale it to floats first, e.g. "
            f"x.astype(np.float32) / 255 for 8-bit pixels, or load MNIST as floats in "
            f"[0, 1] with data.mnist(layout='flat') (N, 784) or layout='nhwc' "
            f"(N, 28, 28, 1); a layer of your own that takes integers declares "
            f"fn.Layer(..., input_dtype=jnp.int32)")
    if model.check_input is not None:
        model.check_input(f"{where}: {name}", np.asarray(x))


def labels_in_range(where: str, model, params, state, x, y, loss_fn, label: str) -> None:
    """For integer-label cross-entropy, check ``y`` against the model's class count.

    Under ``jit`` the loss cannot inspect its labels, so callers check them up front;
    the class count comes from the model's output shape (abstract evaluation, no FLOPs).
    With an ``ignore`` id (``sequence_cross_entropy``) that id is allowed anywhere, even
    outside ``[0, classes)``, but a sample whose every step is ignored is refused: the
    reported loss and accuracy are means over samples, and it would count as one with
    nothing in it.
    """
    integer = _losses.integer_label_loss(loss_fn)
    if integer is None:
        return
    sample = jax.ShapeDtypeStruct((1, *np.shape(x)[1:]), _checks.dtype_of(x))
    out = jax.eval_shape(lambda p, s, xx: model.apply(p, s, xx, train=False)[0],
                         params, state, sample)
    labels = np.asarray(y)
    _checks.integer_labels(where, label, labels, out.shape[-1], ignore=integer.ignore)
    if integer.ignore is not None and labels.size:
        empty = np.all(labels.reshape(labels.shape[0], -1) == integer.ignore, axis=1)
        if empty.any():
            raise ValueError(
                f"{where}: {label} has {int(empty.sum())} sample(s) whose every step is "
                f"the ignore id {integer.ignore}, first at row {int(np.argmax(empty))}; "
                f"a sample needs at least one real label, so drop those rows"
            )
