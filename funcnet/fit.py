"""``fit``: the training loop, with a whole epoch as one compiled call.

Two paths run the same compiled update body (``funcnet.step.make_update``):

* ``mode="scan"``: the training set is put on the device once; each epoch is a single
  jitted call that draws the permutation on the device from the epoch key and runs
  ``lax.scan`` over the batches. No host work per step.
* ``mode="loop"``: for data that does not fit on the device, batches are gathered on
  the host and fed to a jitted step one at a time (no host sync per step either: the
  metrics stay on the device until the epoch ends).

``mode="auto"`` picks ``scan`` when the training arrays fit in the device budget.
Both paths visit the same samples in the same order with the same dropout keys, so they
give the same parameters.

Randomness: epoch ``e`` (0-based) uses ``jax.random.fold_in(key, e)``, split into a
permutation key and a step key; so a run resumed from a checkpoint after epoch ``k``
continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from funcnet import _checks, _epochs, _inputs, batching
from funcnet import checkpoint as _checkpoint
from funcnet import losses as _losses
from funcnet import metrics as _metrics
from funcnet import optim as _optim
from funcnet.core import Layer, spec_contains
from funcnet.evaluate import make_evaluator
from funcnet.step import make_leaf_check, make_update

#: Training sets larger than this (bytes) use the per-step loop under ``mode="auto"``.
DEVICE_DATA_BUDGET = 2 * 1024**3

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy",
                "learning_rate", "seconds")


class FitResult(NamedTuple):
    """What ``fit`` returns: unpack as ``params, state, opt_state, history = fit(...)``."""

    params: Any
    state: Any
    opt_state: Any
    history: dict


class EarlyStopping(NamedTuple):
    """Stop when ``metric`` has not improved by ``min_delta`` for ``patience`` epochs.

    Attributes:
        metric: a history key, e.g. ``"eval_loss"`` or ``"eval_accuracy"``.
        patience: epochs without improvement before stopping.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, else min).
        min_delta: the smallest change that counts as an improvement.
        restore_best: return the params/state of the best epoch (default True).
    """

    metric: str = "eval_loss"
    patience: int = 5
    mode: str = "auto"
    min_delta: float = 0.0
    restore_best: bool = True


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


def _learning_rate_or_none(opt_state):
    """The rate recorded in ``opt_state`` as a float, or ``None`` when it records none."""
    try:
        return float(_optim.current_learning_rate(opt_state))
    except ValueError:
        return None


def _progress_enabled(progress):
    if progress is not None:
        return bool(progress)
    return sys.stderr.isatty() and not os.environ.get("CI")


def _array(a):
    """A jax array as is (no round trip through the host); anything else (NumPy, lists)
    as one NumPy array, so ``device_put`` sees an array, not a tree of scalars."""
    return a if isinstance(a, jax.Array) else np.asarray(a)


def _copy(tree):
    return jax.tree.map(jnp.copy, tree)


# compiled: one program per tree structure instead of one per leaf shape
_snapshot = jax.jit(_copy)


def _start(where, optimizer, params, state, opt_state):
    """Own copies of params and state (the compiled epochs donate their inputs) and the
    optimizer state, in one compiled call. Run op by op, every copy and every op of the
    optimizer's init (a schedule's maths included) is compiled on its own first: about
    20 small compilations, which on a GPU took longer than the epoch's own."""
    def start(params, state, opt_state):
        opt_state = optimizer.init(params) if opt_state is None else _copy(opt_state)
        return _copy(params), _copy(state), opt_state

    params, state, opt_state = jax.jit(start)(params, state, opt_state)
    # A state made by an optimizer with another constant rate differs from this one's
    # only in its array-free ConstantLearningRate nodes; an update stamps this
    # optimizer's own, which would change the compiled epoch's carry. Stamp it now.
    stepped = jax.tree.structure(jax.eval_shape(
        lambda p, s: optimizer.update(p, s, p)[1], params, opt_state))
    if stepped != jax.tree.structure(opt_state) and \
            stepped.num_leaves == len(jax.tree.leaves(opt_state)):
        opt_state = jax.tree.unflatten(stepped, jax.tree.leaves(opt_state))
    # Under jit a schedule's first rate is not concrete for init to check; check it here.
    rate = _learning_rate_or_none(opt_state)
    if rate is not None and not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"{where}: the optimizer's learning rate at step 0 is {rate}; a "
                         f"learning rate must be finite and >= 0 (a negative one would "
                         f"climb the loss)")
    return params, state, opt_state


def fit(model, params, state, optimizer, train_data, *, epochs: int, batch_size: int, key,
        eval_data=None, loss="softmax_cross_entropy_with_integer_labels", accuracy="auto",
        opt_state=None, mode: str = "auto", progress: bool | None = None,
        early_stopping: EarlyStopping | None = None,
        callback: Callable | None = None, eval_batch_size: int = 1024,
        guard: bool = True, mesh: jax.sharding.Mesh | None = None,
        data_axis: str | None = None, checkpoint_dir=None, checkpoint_every: int = 1,
        keep: int = 3, record_gradients: bool = False) -> FitResult:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs.

    Every sample is seen exactly once per epoch, in an order drawn from ``key``; the
    last partial batch is padded and masked, never dropped. ``batch_size=len(x)`` is
    full-batch gradient descent, ``batch_size=1`` stochastic gradient descent.

    Args:
        model: a funcnet Layer.
        params, state: from ``model.init`` (copied, so the caller's arrays stay valid).
        optimizer: an ``optax.GradientTransformation`` (``funcnet.optim.adam(1e-3)``).
        train_data: ``(x, y)`` with ``x: (N, ...)`` and ``y: (N,)`` labels or ``(N, ...)``
            targets.
        epochs: number of passes over the data (0 returns the inputs unchanged).
        batch_size: samples per step, ``1 <= batch_size <= N``.
        key: a ``jax.random`` key for shuffling and dropout.
        eval_data: optional ``(x, y)`` evaluated after every epoch.
        loss: a loss accepting ``reduction="none"``, or its name.
        accuracy: ``"auto"`` (from the loss), a correctness function, or ``None``.
        opt_state: optimizer state to continue from (default ``optimizer.init(params)``).
        mode: ``"auto"``, ``"scan"`` (epoch as one compiled call) or ``"loop"``. Auto
            picks scan when the training arrays fit in ``DEVICE_DATA_BUDGET``, except for
            models with convolutions on the CPU backend, where XLA runs a convolution
            inside ``lax.scan`` several times slower than the per-step loop.
        progress: show tqdm bars (default: only on a terminal and when CI is unset).
        early_stopping: an :class:`EarlyStopping`, or ``None``.
        callback: ``callback(epoch, row, params, state)`` after each epoch, where ``row``
            is that epoch's history entry; returning ``True`` stops training.
        eval_batch_size: batch size for evaluation.
        guard: stop on a non-finite loss or gradient (raises :class:`NonFiniteError`).
        mesh: a ``jax.sharding.Mesh`` for data-parallel training: every batch is split
            over the mesh's ``data_axis`` (padded with masked fillers when the batch size
            does not divide evenly), params, state and optimizer state are replicated,
            and XLA inserts the gradient all-reduce. The update step is the same code.
        data_axis: the mesh axis to shard batches over (default: the mesh's first axis).
        checkpoint_dir: a folder for crash-safe checkpoints (``funcnet.checkpoint``):
            params, state, optimizer state and history are saved every
            ``checkpoint_every`` epochs and after the last, keeping the newest ``keep``.
            If the folder already holds a checkpoint, training resumes after its epoch,
            giving the same params, optimizer state and history (but for the
            wall-clock ``seconds``) as a run that was never interrupted. Early
            stopping's patience counter and best value resume too; its best params do
            not (the latest params are kept instead when the best came before the
            interruption).
        record_gradients: also record, per epoch, the mean over steps of each parameter
            leaf's gradient norm (``history["gradient_norms"]``, a dict path -> float per
            epoch) and update-to-weight ratio (``history["update_ratios"]``), computed
            inside the compiled step (no extra host round trip per step).

    Returns:
        :class:`FitResult` ``(params, state, opt_state, history)``; ``history`` maps
        each of ``HISTORY_KEYS`` to a list with one entry per epoch.

    Example:
        >>> params, state, opt_state, history = fit(
        ...     model, params, state, optim.adam(1e-3), (x_train, y_train),
        ...     epochs=5, batch_size=128, key=jax.random.key(0), eval_data=(x_test, y_test))
        >>> history["eval_accuracy"][-1]
        0.981
    """
    where = "fit"
    if not isinstance(model, Layer):
        raise TypeError(f"{where}: model must be a funcnet Layer (e.g. Sequential([...])), "
                        f"got {type(model).__name__}")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"{where}: optimizer must be an optax.GradientTransformation "
                        f"(e.g. funcnet.optim.adam(1e-3)), got {type(optimizer).__name__}")
    _checks.prng_key(where, "key", key)
    eval_batch_size = _checks.positive_int(where, "eval_batch_size", eval_batch_size)
    if not (accuracy is None or callable(accuracy)
            or (isinstance(accuracy, str) and accuracy == "auto")):
        raise TypeError(f"{where}: accuracy must be 'auto', None or a function "
                        f"(outputs, targets) -> (N,), got {accuracy!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: callback must be callable as callback(epoch, row, params, "
                        f"state), got {type(callback).__name__}")
    if early_stopping is not None:
        _checks.positive_int(where, "early_stopping.patience", early_stopping.patience)
        if early_stopping.mode not in ("min", "max", "auto"):
            raise ValueError(f"{where}: early_stopping.mode must be 'min', 'max' or 'auto', "
                             f"got {early_stopping.mode!r}")
        md = early_stopping.min_delta
        if isinstance(md, bool) or not isinstance(md, numbers.Real) or not math.isfinite(md) \
                or md < 0:
            raise ValueError(f"{where}: early_stopping.min_delta must be finite and >= 0, "
                             f"got {md!r}")
    x, y = _inputs.xy_pair(where, train_data, "train_data", prefix="train_data ",
                           finite=True)
    n = int(np.shape(x)[0])
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"{where}: epochs must be an integer >= 0, got {epochs!r}")
    batch_size = _checks.positive_int(where, "batch_size", batch_size)
    if batch_size > n:
        raise ValueError(
            f"{where}: batch_size must be at most the number of training samples ({n}), "
            f"got {batch_size}; use batch_size={n} for full-batch gradient descent"
        )
    if mode not in ("auto", "scan", "loop"):
        raise ValueError(f"{where}: mode must be 'auto', 'scan' or 'loop', got {mode!r}")
    loss_fn = _losses.get(loss)
    _inputs.labels_in_range(where, model, params, state, x, y, loss_fn, "train_data y")
    if eval_data is not None:
        x_eval, y_eval = _inputs.xy_pair(where, eval_data, "eval_data", prefix="eval_data ",
                                         finite=True)
        if np.shape(x_eval)[1:] != np.shape(x)[1:]:
            raise ValueError(
                f"{where}: eval_data x must have per-sample shape {np.shape(x)[1:]} like "
                f"train_data x, got {np.shape(x_eval)[1:]}"
            )
        _inputs.labels_in_range(where, model, params, state, x_eval, y_eval, loss_fn,
                                "eval_data y")
    if early_stopping is not None and early_stopping.metric not in HISTORY_KEYS:
        raise ValueError(f"{where}: early_stopping.metric must be one of {HISTORY_KEYS}, "
                         f"got {early_stopping.metric!r}")

    if mode == "auto":
        nbytes = np.asarray(x).nbytes + np.asarray(y).nbytes
        mode = "scan" if nbytes <= DEVICE_DATA_BUDGET else "loop"
        if (mode == "scan" and jax.default_backend() == "cpu"
                and spec_contains(model.spec, "Conv2D")):
            # XLA:CPU runs convolutions inside a while loop (lax.scan) several times
            # slower than at top level (measured 4x on the MNIST CNN, jax 0.10), while the
            # per-step overhead is small next to a conv step: the loop is faster there.
            mode = "loop"

    params, state, opt_state = _start(where, optimizer, params, state, opt_state)
    extra_keys = ("gradient_norms", "update_ratios") if record_gradients else ()
    history = {k: [] for k in (*HISTORY_KEYS, *extra_keys)}
    best = None
    waited = 0
    start_epoch = 0
    if checkpoint_dir is not None:
        checkpoint_every = _checks.positive_int(where, "checkpoint_every", checkpoint_every)
        keep = _checks.positive_int(where, "keep", keep)
        restored = _checkpoint.restore_latest(
            checkpoint_dir, like={"params": params, "state": state, "opt_state": opt_state})
        if restored is not None:
            tree, meta, start_epoch = restored
            params, state, opt_state = tree["params"], tree["state"], tree["opt_state"]
            history = {k: list(meta["history"].get(k, [])) for k in history}
            waited = meta.get("waited", 0)
            if meta.get("best") is not None:
                best = (meta["best"], params, state)
    if epochs == 0 or start_epoch >= epochs:
        return FitResult(params, state, opt_state, history)

    update = make_update(model, loss_fn, optimizer, accuracy, guard, record_gradients)
    has_accuracy = _metrics.resolve(loss_fn, accuracy) is not None
    nb = batching.num_batches(n, batch_size)
    leaf_paths = [jax.tree_util.keystr(p) for p, _ in
                  jax.tree_util.tree_flatten_with_path(params)[0]]
    layout = _epochs.DataLayout(mesh, data_axis, batch_size)
    params, state, opt_state = layout.replicate((params, state, opt_state))
    run_epoch = _epochs.make_scan_epoch(update, n, batch_size, layout) if mode == "scan" else \
        _epochs.make_loop_epoch(update, n, batch_size, layout)
    if mode == "scan":
        data = layout.replicate((_array(x), _array(y)))
    else:
        data = (np.asarray(x), np.asarray(y))
    evaluator = None
    if eval_data is not None:
        eval_arrays = layout.replicate((_array(x_eval), _array(y_eval)))
        evaluator = make_evaluator(model, loss_fn, min(eval_batch_size, len(x_eval)), accuracy)

    show = _progress_enabled(progress)
    stop_mode = None
    if early_stopping is not None:
        stop_mode = early_stopping.mode
        if stop_mode == "auto":
            stop_mode = "max" if "accuracy" in early_stopping.metric else "min"
    epoch_bar = tqdm(range(start_epoch, epochs), desc="fit", disable=not show or mode == "loop",
                     leave=False)
    for epoch in epoch_bar:
        start = time.perf_counter()
        params, state, opt_state, metrics = run_epoch(
            params, state, opt_state, data, key, epoch,
            progress_desc=f"epoch {epoch + 1}/{epochs}" if show else None)
        metrics = jax.device_get(metrics)
        finite = np.asarray(metrics.finite)
        good = nb if finite.all() else int(np.argmin(finite))
        count = float(np.sum(metrics.count[:good]))
        row = {
            "epoch": epoch + 1,
            "train_loss": float(np.sum(metrics.loss_sum[:good]) / count) if count else
            math.nan,
            "train_accuracy": (float(np.sum(metrics.correct[:good]) / count)
                               if count and has_accuracy else None),
            "eval_loss": None,
            "eval_accuracy": None,
            "learning_rate": _learning_rate_or_none(opt_state),
            "seconds": None,
        }
        if evaluator is not None and good == nb:
            result = jax.device_get(evaluator(params, state, *eval_arrays))
            row["eval_loss"] = float(result["loss"])
            row["eval_accuracy"] = (float(result["accuracy"])
                                    if has_accuracy else None)
        if record_gradients:
            steps_done = max(good, 1)
            for name, values in (("gradient_norms", metrics.grad_norms),
                                 ("update_ratios", metrics.update_ratios)):
                means = np.mean(np.asarray(values)[:steps_done], axis=0)
                row[name] = {p: float(v) for p, v in zip(leaf_paths, means, strict=True)}
        row["seconds"] = time.perf_counter() - start
        for k in history:
            history[k].append(row[k])
        if good < nb:
            # Rerun the skipped step (same params, batch and key) to name what went bad.
            inputs = _epochs.step_inputs(data, key, epoch, n, batch_size,
                                         layout.padded_size, good)
            loss_ok, leaf_ok = make_leaf_check(model, loss_fn)(params, state, *inputs)
            paths = [p for p, ok in zip(leaf_paths, np.asarray(leaf_ok), strict=True)
                     if not ok]
            if not paths:
                paths = ["loss"] if not bool(loss_ok) else [
                    "(not reproduced: the rerun of this step was finite)"]
            raise NonFiniteError(epoch + 1, good, paths,
                                 FitResult(params, state, opt_state, history))
        if show:
            epoch_bar.set_postfix(loss=f"{row['train_loss']:.4f}")
        if early_stopping is not None:
            value = row[early_stopping.metric]
            if value is None:
                raise ValueError(f"{where}: early_stopping.metric "
                                 f"{early_stopping.metric!r} has no value (no eval_data?)")
            better = best is None or (
                value < best[0] - early_stopping.min_delta if stop_mode == "min"
                else value > best[0] + early_stopping.min_delta)
            if better:
                best = (value, _snapshot(params), _snapshot(state))
                waited = 0
            else:
                waited += 1
        stop = callback is not None and bool(callback(epoch + 1, row, params, state))
        stop = stop or (early_stopping is not None and waited >= early_stopping.patience)
        if checkpoint_dir is not None and (
                (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs or stop):
            _checkpoint.save_step(
                checkpoint_dir, epoch + 1,
                {"params": params, "state": state, "opt_state": opt_state},
                {"history": history, "waited": waited,
                 "best": None if best is None else best[0]}, keep=keep)
        if stop:
            break
    epoch_bar.close()
    if early_stopping is not None and early_stopping.restore_best and best is not None:
        params, state = best[1], best[2]
    return FitResult(params, state, opt_state, history)
