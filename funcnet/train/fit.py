"""``fit``: the training loop, with a whole epoch as one compiled call.

Two paths run the same compiled update body (``funcnet.train.step.make_update``):

* ``mode="scan"``: the training set is put on the device once; each epoch is a single
  jitted call that draws the permutation on the device from the epoch key and runs
  ``lax.scan`` over the batches. No host work per step.
* ``mode="loop"``: for data that does not fit on the device, batches are gathered on
  the host and fed to a jitted step one at a time (no host sync per step either: the
  metrics stay on the device until the epoch ends).

``mode="auto"`` picks ``scan`` when the training arrays fit in the device budget.
Both paths visit the same samples in the same order with the same dropout keys, so they
give the same parameters.

The non-finite guard comes in two parts. Each step flags a non-finite loss or
gradient, and applies its update anyway; when the epoch ends, what the updates made
(the params, state and optimizer state) is checked once (``guard.epoch_finite``). An
epoch that fails either is rerun from a copy of its start with the step that skips
(``make_update(skip=True)``, also ``make_step``'s), which checks the new params, state
and optimizer state at every step as well and freezes the epoch at the first bad one;
``NonFiniteError`` then names it. So a run that stays finite pays for the guard one
float sum over its gradients per step, not a second pass over everything the update
touches and a branch around the update (``benchmarks/guard_cost.py`` times both).

Randomness: epoch ``e`` (0-based) uses ``jax.random.fold_in(key, e)``, split into a
permutation key and a step key; so a run resumed from a checkpoint after epoch ``k``
continues exactly as the uninterrupted run would. Each checkpoint records the run's
identity (``funcnet.train.identity``), and resuming refuses another run unless asked.

Beside this module in ``funcnet.train``: ``setup`` (argument checks, the mode, the
copies and optimizer state the run starts from, resume and save), ``epochs`` (the two
epoch runners), ``history`` (an epoch's metrics into a history row), ``guard`` (the
non-finite guard and naming what went bad), ``evaluate`` and ``early_stopping``.
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

from funcnet import diagnostics
from funcnet.train import batching, evaluate, history, identity, metrics, setup, step
from funcnet.train.early_stopping import EarlyStopping, Watch
from funcnet.train.epochs import DataLayout, Steps, make_loop_epoch, make_scan_epoch, step_inputs
from funcnet.train.guard import NonFiniteError, epoch_finite, non_finite_paths
from funcnet.train.history import HISTORY_KEYS

__all__ = ["DEVICE_DATA_BUDGET", "HISTORY_KEYS", "EarlyStopping", "FitResult",
           "NonFiniteError", "fit"]

#: Training sets larger than this (bytes) use the per-step loop under ``mode="auto"``.
DEVICE_DATA_BUDGET = 2 * 1024**3


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
        keep: int = 3, resume: str = "same_run",
        record: diagnostics.Health | None = None) -> FitResult:
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
        epochs: the total number of passes over the data, counting those a checkpoint
            in ``checkpoint_dir`` already holds (0 returns the inputs unchanged and
            reads no checkpoint).
        batch_size: samples per step, ``1 <= batch_size <= N``.
        key: a ``jax.random`` key for shuffling and dropout.
        eval_data: optional ``(x, y)`` evaluated after every epoch.
        loss: a loss accepting ``reduction="none"``, or its name.
        accuracy: ``"auto"`` (from the loss), a correctness function, or ``None``.
        opt_state: optimizer state to continue from (default ``optimizer.init(params)``).
        mode: ``"auto"``, ``"scan"`` (epoch as one compiled call) or ``"loop"``. Auto
            picks scan when the training arrays fit in ``DEVICE_DATA_BUDGET``, except on
            the CPU backend for a model with a layer made with ``scan_friendly=False``
            (a user's layer that XLA:CPU runs slower inside ``lax.scan``; no built-in
            layer is, convolutions included).
        progress: show tqdm bars (default: only on a terminal and when CI is unset).
        early_stopping: an :class:`EarlyStopping`, or ``None``.
        callback: ``callback(epoch, row, params, state)`` after each epoch, where ``row``
            is that epoch's history entry; returning ``True`` stops training.
        eval_batch_size: batch size for evaluation.
        guard: stop on a non-finite loss, gradient or update (raises
            :class:`NonFiniteError` with the state before the first bad step; an epoch
            that goes non-finite is rerun to find that step, see the module's note);
            ``False`` checks nothing, so nothing stops a run that goes non-finite.
        mesh: a ``jax.sharding.Mesh`` for data-parallel training: every batch is split
            over the mesh's ``data_axis`` (padded with masked fillers when the batch size
            does not divide evenly), params, state and optimizer state are replicated,
            and XLA inserts the gradient all-reduce. The update step is the same code.
        data_axis: the mesh axis to shard batches over (default: the mesh's first axis).
        checkpoint_dir: a folder for crash-safe checkpoints (``funcnet.checkpoint``),
            made if missing and checked writable before anything trains: params, state,
            optimizer state, history and the run's identity are saved every
            ``checkpoint_every`` epochs and after the last, keeping the newest ``keep``.
            If the folder already holds a checkpoint of this run, training resumes
            after its epoch, giving the same params, optimizer state and history (but
            for the wall-clock ``seconds``) as a run that was never interrupted, on the
            same machine (see the README on determinism). A checkpoint past ``epochs``
            is refused; one at ``epochs`` is returned as it is. Early stopping's
            patience counter and best value resume too; its best params do not (the
            latest params are kept instead when the best came before the interruption).
        resume: ``"same_run"`` (the default) resumes only a checkpoint written by the
            same run: the same training data (shapes, dtypes, contents), batch size,
            key, model description and loss; another run's checkpoint is refused with
            what differs. ``"any_run"`` continues from the newest checkpoint whatever
            run wrote it (fine-tuning on new data, another batch size), as long as its
            trees match; the checkpoints written after that record the new run.
        record: a :class:`funcnet.diagnostics.Health` to record the training's health
            on every ``record.every``-th step of each epoch, inside the compiled step
            from its own forward pass (no host round trip per step; the steps between
            run the plain step): each layer's activation mean, std,
            histogram and saturated (tanh, sigmoid) or dead (ReLU) fraction, and its
            gradient norm, gradient:data and update:data ratios, in
            ``history["health"]`` (one entry per epoch; ``diagnostics.health_series``
            joins them, ``plot.training_health`` draws them). ``None`` records nothing.

    Returns:
        :class:`FitResult` ``(params, state, opt_state, history)``; ``history`` maps
        each of ``HISTORY_KEYS`` to a list with one entry per epoch.

    Examples:
        >>> (x, y), (x_test, y_test) = data.spirals(seed=0), data.spirals(seed=1)
        >>> model = Sequential([Dense(32), relu, Dense(3)])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> params, state, opt_state, history = fit(
        ...     model, params, state, optim.adam(1e-2), (x, y), epochs=30, batch_size=32,
        ...     key=jax.random.key(1), eval_data=(x_test, y_test))
        >>> len(history["train_loss"]), history["train_loss"][-1] < history["train_loss"][0]
        (30, True)
    """
    where = "fit"
    checked = setup.check_arguments(
        where, model, optimizer, train_data, eval_data, epochs=epochs, batch_size=batch_size,
        key=key, eval_batch_size=eval_batch_size, loss=loss, accuracy=accuracy, mode=mode,
        callback=callback, rule=early_stopping, params=params, state=state)
    x, y, eval_data, loss_fn = checked
    n, nb = int(np.shape(x)[0]), batching.num_batches(int(np.shape(x)[0]), batch_size)
    checkpoint_dir, checkpoint_every, keep = setup.checkpointing(
        where, checkpoint_dir, checkpoint_every, keep, resume)
    mode = setup.pick_mode(mode, model, x, y, DEVICE_DATA_BUDGET)
    params, state, opt_state = setup.start(where, optimizer, params, state, opt_state)
    record = history.check_record(where, record)
    if epochs == 0:
        return FitResult(params, state, opt_state, history.empty(record))
    run_id = None if checkpoint_dir is None else identity.of(
        model, x, y, batch_size=batch_size, key=key, loss_fn=loss_fn)
    run = setup.resume(where, checkpoint_dir, resume, run_id, epochs, params, state,
                       opt_state, record)
    params, state, opt_state, history_ = run.params, run.state, run.opt_state, run.history
    if run.start_epoch == epochs:
        return FitResult(params, state, opt_state, history_)

    def steps(skip):
        return Steps(step.make_update(model, loss_fn, optimizer, accuracy, guard, skip=skip),
                     None if record is None else step.make_update(
                         model, loss_fn, optimizer, accuracy, guard, record, skip=skip),
                     record)

    has_accuracy = metrics.resolve(loss_fn, accuracy) is not None
    layout = DataLayout(mesh, data_axis, batch_size)
    params, state, opt_state = layout.replicate((params, state, opt_state))
    make_epoch = make_scan_epoch if mode == "scan" else make_loop_epoch
    # The guard in two parts (see the module's note): every epoch runs the report-only
    # step, and one that does not stand is rerun from its start with the skipping one
    # (compiled only then).
    run_epoch = make_epoch(steps(skip=False), n, batch_size, layout)
    rerun_epoch = make_epoch(steps(skip=True), n, batch_size, layout) if guard else None
    data = (layout.replicate((setup.as_array(x), setup.as_array(y))) if mode == "scan"
            else (np.asarray(x), np.asarray(y)))
    evaluator = None if eval_data is None else evaluate.epoch_evaluator(
        model, loss_fn, eval_batch_size, accuracy,
        layout.replicate(tuple(setup.as_array(a) for a in eval_data)))
    show = _progress_enabled(progress)
    watch = None if early_stopping is None else Watch(
        early_stopping, run.best, run.waited)
    # One bar for both modes, moved by hand after each epoch's work (so it never shows a
    # count the run has not reached) and left on screen at the end with the last loss.
    epoch_bar = tqdm(total=epochs, initial=run.start_epoch, desc="fit", unit="epoch",
                     leave=True, disable=not show)
    for epoch in range(run.start_epoch, epochs):
        start = time.perf_counter()
        desc = f"epoch {epoch + 1}/{epochs}" if show else None
        # the epoch's inputs are donated to it, so the rerun starts from a copy
        started = setup.snapshot((params, state, opt_state)) if guard else None
        params, state, opt_state, step_metrics = run_epoch(
            params, state, opt_state, data, key, epoch, progress_desc=desc)
        step_metrics = jax.device_get(step_metrics)
        if guard and not epoch_finite(step_metrics, params, state, opt_state):
            params, state, opt_state, step_metrics = rerun_epoch(
                *started, data, key, epoch, progress_desc=desc)
            step_metrics = jax.device_get(step_metrics)
        good = history.finite_steps(step_metrics, nb)
        row = {"epoch": epoch + 1, **history.train_row(
            step_metrics, good, has_accuracy, record, model, params, epoch * nb),
            "learning_rate": history.learning_rate_or_none(opt_state),
            **(evaluator(params, state) if evaluator is not None and good == nb
               else {"eval_loss": None, "eval_accuracy": None}),
            "seconds": time.perf_counter() - start}
        history.append(history_, row)
        if good < nb:
            inputs = step_inputs(data, key, epoch, n, batch_size, layout.padded_size, good)
            paths = non_finite_paths(
                step.make_update(model, loss_fn, optimizer, accuracy, guard=False),
                params, state, opt_state, inputs)
            raise NonFiniteError(epoch + 1, good, paths,
                                 FitResult(params, state, opt_state, history_))
        epoch_bar.set_postfix(loss=f"{row['train_loss']:.4f}", refresh=False)
        epoch_bar.update(1)
        stop = watch is not None and watch.update(where, row, params, state, setup.snapshot)
        stop = bool(callback is not None and callback(epoch + 1, row, params, state)) or stop
        if checkpoint_dir is not None and (
                (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs or stop):
            setup.save(checkpoint_dir, epoch + 1, params, state, opt_state, history_, watch,
                       keep, run_id)
        if stop:
            break
    epoch_bar.close()
    if watch is not None and early_stopping.restore_best and watch.best is not None:
        params, state = watch.best[1], watch.best[2]
    return FitResult(params, state, opt_state, history_)
