"""Checks of a dataset ``(x, y)`` shared by ``fit``, ``evaluate`` and ``predict``."""

from __future__ import annotations

import jax
import numpy as np

from funcnet import _checks
from funcnet import losses as _losses
from funcnet.train import metrics


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


def targets_fit_model(where: str, model, params, state, x, y, loss_fn, label: str) -> None:
    """Check ``y`` against the target contract of a built-in ``loss_fn`` and the model.

    The loss cannot read traced targets, so ``fit`` and ``evaluate`` check them here, up
    front, with the one contract the loss itself checks (``funcnet.losses.TARGETS``):
    dtype, per-sample shape against the model's output (abstract evaluation, no FLOPs),
    and values (probabilities in [0, 1], rows of a distribution summing to 1, class ids
    in ``[0, K)`` where ``K`` is the model's output width). A mismatch names the
    model's output too, since either side may be the one that is wrong. With an
    ``ignore`` id (``sequence_cross_entropy``) a sample whose every step is ignored is
    refused: the reported loss and accuracy are means over samples, and it would count
    as one with nothing in it. A loss of your own checks its targets itself.
    """
    contract = _losses.targets_of(loss_fn)
    if contract is None:
        return
    sample = jax.ShapeDtypeStruct((1, *np.shape(x)[1:]), _checks.dtype_of(x))
    out = jax.eval_shape(lambda p, s, xx: model.apply(p, s, xx, train=False)[0],
                         params, state, sample)
    output, name = tuple(out.shape[1:]), metrics.function_name(loss_fn)
    labels = np.asarray(y)  # fit takes lists as data too
    contract.check_dtype(where, label, labels)
    if contract.needs_classes() and (not output or output[-1] < 2):
        raise ValueError(
            f"{where}: {name} needs at least 2 class scores per sample on the model "
            f"output's last axis (a softmax over one class is always 1: the loss would be "
            f"0), but the model outputs per-sample shape {output}; give its last layer one "
            f"output per class, or with one logit use binary_cross_entropy_with_logits")
    expected = contract.sample_shape(output)
    if labels.shape[1:] != expected:
        raise ValueError(
            f"{where}: {label} has per-sample shape {labels.shape[1:]}, but the model "
            f"outputs per-sample shape {output}, for which {name} needs targets of "
            f"per-sample shape {expected}; fix the targets or the model's last layer")
    classes = output[-1] if contract.needs_classes() else None
    contract.check_values(where, label, labels, classes, note=(
        f" (the model outputs {classes} class scores per sample; if the labels are right, "
        f"its last layer needs more outputs)" if contract.kind == "classes" else ""))
    if contract.ignore is not None and labels.size:
        empty = np.all(labels.reshape(labels.shape[0], -1) == contract.ignore, axis=1)
        if empty.any():
            raise ValueError(
                f"{where}: {label} has {int(empty.sum())} sample(s) whose every step is "
                f"the ignore id {contract.ignore}, first at row {int(np.argmax(empty))}; "
                f"a sample needs at least one real label, so drop those rows"
            )
