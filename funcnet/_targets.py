"""What a loss accepts: its target contract, declared once and checked at every depth,
and the dtype and shape checks of its predictions.

Each built-in loss names one :class:`Targets` contract (``funcnet.losses.TARGETS``).
The same contract is used three ways, so a value refused in one place is refused in all:

* by the loss itself: dtypes and shapes at trace time, values when they are concrete;
* by ``fit`` and ``evaluate``, up front on the host, against the model's output shape,
  before anything is compiled;
* inside compiled code, where values cannot be read: :meth:`Targets.valid` marks the
  samples whose targets break the contract, and the loss makes their loss NaN, so the
  training guard skips the step instead of training on a wrong answer.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from funcnet import _checks
from funcnet._dtypes import at_least_float32

KINDS = ("real", "probabilities", "distribution", "classes")


def _first(bad) -> tuple:
    return tuple(int(i) for i in np.argwhere(bad)[0])


def real_array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array of real numbers: floats or integers (a
    loss computes in floats either way), not bools and not complex numbers."""
    _checks.array(where, name, x)
    dtype = _checks.dtype_of(x)
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
            or dtype == jnp.bfloat16):
        raise TypeError(
            f"{where}: {name} must be a real (floating-point or integer) array, got dtype "
            f"{dtype}; convert it first, e.g. {name}.astype(jnp.float32)"
            + ("; for complex values take jnp.abs or the real part yourself"
               if np.issubdtype(dtype, np.complexfloating) else ""))


def class_ids(where: str, name: str, labels, classes: int | None, *,
              ignore: int | None = None, note: str = "") -> None:
    """Raise unless ``labels`` is an integer array whose concrete values lie in
    ``[0, classes)`` or equal ``ignore`` (a padding id, which may lie outside that
    range); ``note`` ends the range message."""
    _checks.array(where, name, labels)
    dtype = _checks.dtype_of(labels)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"{where}: {name} must be integer class indices, got dtype {dtype}; "
            f"for one-hot or soft targets use softmax_cross_entropy"
        )
    if classes is None or not _checks.is_concrete(labels) or not np.size(labels):
        return
    values = np.asarray(labels)
    if ignore is not None:
        values = values[values != ignore]
        if not values.size:
            return
    low, high = values.min(), values.max()
    if low < 0 or high >= classes:
        bad = int(low) if low < 0 else int(high)
        padding = "" if ignore is None else f" or the ignore id {ignore}"
        raise ValueError(
            f"{where}: {name} must be in [0, {classes}){padding}, got a label {bad}{note}")


def _per_sample_all(ok):
    """``(N, ...)`` bools -> ``(N,)``: every entry of the sample holds."""
    # the explicit width (not -1) lets an empty batch (0, ...) reshape too
    return (jnp.all(ok.reshape(ok.shape[0], math.prod(ok.shape[1:])), axis=1)
            if ok.ndim > 1 else ok)


def sum_tolerance(dtype, classes: int) -> float:
    """How far a row of ``classes`` targets of ``dtype`` may sum from 1: ``classes``
    roundings of one unit in the last place (``classes * eps``), the most that a
    distribution computed in that dtype (a softmax, a normalisation) can be off by.

    Examples:
        >>> sum_tolerance(np.float32, 10)
        1.1920928955078125e-06
    """
    return float(classes * jnp.finfo(dtype).eps)


def scores(where: str, name: str, x):
    """Predictions as floats: integers in the default float dtype, a float narrower than
    float32 in float32 (``at_least_float32``); bools and complex numbers refused."""
    real_array(where, name, x)
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer):
        return x.astype(jnp.result_type(float))
    return at_least_float32(x)


def class_count(where: str, logits) -> int:
    """The class count, the last axis of ``logits``: at least 2."""
    classes = np.shape(logits)[-1]
    if classes < 2:
        raise ValueError(
            f"{where}: logits must have at least 2 classes on the last axis (a softmax "
            f"over one class is 1 whatever the logit, so the loss would always be 0), got "
            f"shape {tuple(np.shape(logits))}; for one logit per sample use "
            f"binary_cross_entropy_with_logits, or drop a trailing axis of size 1")
    return classes


def same_shape(where: str, pred_name: str, pred, target_name: str, target) -> None:
    """Raise unless ``pred`` and ``target`` are arrays of one shape ``(batch, ...)``."""
    _checks.array(where, pred_name, pred)
    _checks.array(where, target_name, target)
    _checks.min_rank(where, pred_name, pred, 1, "(batch, ...)")
    _checks.same_length(where, pred_name, pred, target_name, target)
    if np.shape(pred) != np.shape(target):
        raise ValueError(
            f"{where}: {target_name} must have the shape of {pred_name} "
            f"{tuple(np.shape(pred))}, got {tuple(np.shape(target))}"
        )


@dataclasses.dataclass(frozen=True)
class Targets:
    """A loss's target contract.

    Attributes:
        kind: ``"real"`` (any real numbers, integers included: mse), ``"probabilities"``
            (floats in [0, 1]: the binary cross-entropies), ``"distribution"`` (floats
            in [0, 1] whose rows over the last axis sum to 1: softmax cross-entropy) or
            ``"classes"`` (integer class ids in ``[0, K)``).
        ignore: for ``"classes"``, a padding id allowed anywhere (``None``: none).
    """

    kind: str
    ignore: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Targets: kind must be one of {KINDS}, got {self.kind!r}")

    def sample_shape(self, output_shape: tuple) -> tuple:
        """The per-sample target shape for a per-sample output shape (no batch axis)."""
        return tuple(output_shape[:-1]) if self.kind == "classes" else tuple(output_shape)

    def needs_classes(self) -> bool:
        """Whether the output's last axis is a softmax over classes (at least 2)."""
        return self.kind in ("distribution", "classes")

    def check_dtype(self, where: str, name: str, targets) -> None:
        """Raise TypeError unless ``targets`` has a dtype this contract accepts."""
        if self.kind == "classes":
            class_ids(where, name, targets, None)
        elif self.kind == "real":
            real_array(where, name, targets)
        else:
            _checks.floating_array(where, name, targets)

    def check_values(self, where: str, name: str, targets, classes: int | None = None,
                     note: str = "") -> None:
        """Raise ValueError for the first value of concrete ``targets`` that breaks the
        contract; ``classes`` is the size of the output's last axis, ``note`` is added
        to a class-range message (``fit`` says what the model outputs). Traced targets
        pass: :meth:`valid` covers them."""
        if not _checks.is_concrete(targets) or not np.size(targets):
            return
        if self.kind == "classes":
            class_ids(where, name, targets, classes, ignore=self.ignore, note=note)
            return
        if self.kind == "real":
            return
        values = np.asarray(targets)
        outside = (values < 0) | (values > 1)
        if outside.any():
            index = _first(outside)
            raise ValueError(f"{where}: {name} must be in [0, 1] (probabilities), got "
                             f"{values[index]} at index {index}")
        if self.kind == "distribution":
            tol = sum_tolerance(values.dtype, values.shape[-1])
            sums = values.astype(np.float64).sum(axis=-1)
            off = np.abs(sums - 1) > tol
            if off.any():
                index = _first(off)
                raise ValueError(
                    f"{where}: each row of {name} (its last axis) must sum to 1, a one-hot "
                    f"or probability distribution, within {tol:.3g} ({values.shape[-1]} "
                    f"x the eps of {values.dtype}), got a row summing to {sums[index]:.6g} "
                    f"at index {index}; for integer class ids use "
                    f"softmax_cross_entropy_with_integer_labels")

    def valid(self, targets, classes: int | None = None):
        """``(N,)`` bools, traceable: the sample's targets keep the contract (True for
        every sample of ``"real"``). NaN targets count as valid: they propagate."""
        if self.kind == "real":
            return jnp.ones(jnp.shape(targets)[:1], bool)
        if self.kind == "classes":
            ok = (targets >= 0) & (targets < classes)
            if self.ignore is not None:
                ok = ok | (targets == self.ignore)
            return _per_sample_all(ok)
        t = jnp.asarray(targets)
        ok = ~((t < 0) | (t > 1))
        if self.kind == "distribution":
            tol = sum_tolerance(t.dtype, t.shape[-1])
            total = jnp.sum(t.astype(jnp.promote_types(t.dtype, jnp.float32)), axis=-1)
            # the sum rounds here too (by up to tol): twice the host's tolerance never
            # refuses a row that check_values accepted
            ok = ok & ~(jnp.abs(total - 1) > 2 * tol)[..., None]
        return _per_sample_all(ok)


REAL = Targets("real")
PROBABILITIES = Targets("probabilities")
DISTRIBUTION = Targets("distribution")
CLASSES = Targets("classes")


def poison(per_sample, valid):
    """``per_sample`` with NaN where ``valid`` is False: a sample whose targets break its
    loss's contract inside compiled code makes the step non-finite (the guard skips it)
    instead of giving a finite, wrong loss. Its gradient is zero, not NaN, so the guard
    names the loss."""
    return jnp.where(valid, per_sample, jnp.nan)
