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

Beside this module: ``_fit_start`` (the mode, the copies and optimizer state the run
starts from), ``_epochs`` (the two epoch runners), ``_fit_epoch`` (an epoch's metrics
into a history row; naming what went non-finite) and ``early_stopping``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from tqdm.auto import tqdm

from funcnet import _checks, _epochs, _inputs, batching
from funcnet import _fit_epoch as _rows
from funcnet import _fit_start as _begin
from funcnet import checkpoint as _checkpoint
from funcnet import early_stopping as _early
from funcnet import losses as _losses
from funcnet import metrics as _metrics
from funcnet._fit_epoch import NonFiniteError
from funcnet.core import Layer
from funcnet.early_stopping import EarlyStopping
from funcnet.evaluate import make_evaluator
from funcnet.step import make_update

__all__ = ["DEVICE_DATA_BUDGET", "HISTORY_KEYS", "EarlyStopping", "FitResult",
           "NonFiniteError", "fit"]

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


def _progress_enabled(progress):
    if progress is not None:
        return bool(progress)
    return sys.stderr.isatty() and not os.environ.get("CI")


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
        _early.check(where, early_stopping, HISTORY_KEYS)
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

    mode = _begin.pick_mode(mode, model, x, y, DEVICE_DATA_BUDGET)
    params, state, opt_state = _begin.start(where, optimizer, params, state, opt_state)
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
    leaf_paths = _rows.leaf_paths(params)
    layout = _epochs.DataLayout(mesh, data_axis, batch_size)
    params, state, opt_state = layout.replicate((params, state, opt_state))
    if mode == "scan":
        run_epoch = _epochs.make_scan_epoch(update, n, batch_size, layout)
        data = layout.replicate((_begin.as_array(x), _begin.as_array(y)))
    else:
        run_epoch = _epochs.make_loop_epoch(update, n, batch_size, layout)
        data = (np.asarray(x), np.asarray(y))
    evaluator = None
    if eval_data is not None:
        eval_arrays = layout.replicate((_begin.as_array(x_eval), _begin.as_array(y_eval)))
        evaluator = make_evaluator(model, loss_fn, min(eval_batch_size, len(x_eval)), accuracy)

    show = _progress_enabled(progress)
    watch = None if early_stopping is None else _early.Watch(early_stopping, best, waited)
    epoch_bar = tqdm(range(start_epoch, epochs), desc="fit", disable=not show or mode == "loop",
                     leave=False)
    for epoch in epoch_bar:
        start = time.perf_counter()
        params, state, opt_state, metrics = run_epoch(
            params, state, opt_state, data, key, epoch,
            progress_desc=f"epoch {epoch + 1}/{epochs}" if show else None)
        metrics = jax.device_get(metrics)
        good = _rows.finite_steps(metrics, nb)
        row = {"epoch": epoch + 1,
               **_rows.train_row(metrics, good, has_accuracy, leaf_paths, record_gradients),
               "eval_loss": None, "eval_accuracy": None,
               "learning_rate": _begin.learning_rate_or_none(opt_state)}
        if evaluator is not None and good == nb:
            result = jax.device_get(evaluator(params, state, *eval_arrays))
            row["eval_loss"] = float(result["loss"])
            row["eval_accuracy"] = float(result["accuracy"]) if has_accuracy else None
        row["seconds"] = time.perf_counter() - start
        for k in history:
            history[k].append(row[k])
        if good < nb:
            inputs = _epochs.step_inputs(data, key, epoch, n, batch_size,
                                         layout.padded_size, good)
            paths = _rows.non_finite_paths(model, loss_fn, params, state, leaf_paths, inputs)
            raise NonFiniteError(epoch + 1, good, paths,
                                 FitResult(params, state, opt_state, history))
        if show:
            epoch_bar.set_postfix(loss=f"{row['train_loss']:.4f}")
        stop = watch is not None and watch.update(where, row, params, state, _begin.snapshot)
        stop = bool(callback is not None and callback(epoch + 1, row, params, state)) or stop
        if watch is not None:
            best, waited = watch.best, watch.waited
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
