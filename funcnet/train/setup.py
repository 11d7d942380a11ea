"""What ``fit`` does before its first epoch: check its arguments, pick where the epoch
runs, make the state it starts from, and pick up where a checkpoint of the same run left
off (``identity`` says what makes a run the same)."""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from funcnet import _checks, checkpoint, losses
from funcnet.core import Layer
from funcnet.train import early_stopping, history, identity, inputs

RESUME_MODES = ("same_run", "any_run")


class FitData(NamedTuple):
    """``fit``'s data after its checks: arrays as given, the loss as a function."""

    x: object
    y: object
    eval_data: tuple | None
    loss_fn: object


def check_arguments(where, model, optimizer, train_data, eval_data, *, epochs, batch_size,
                    key, eval_batch_size, loss, accuracy, mode, callback, rule,
                    params, state) -> FitData:
    """Raise a clear error for any argument of ``fit`` that cannot work."""
    if not isinstance(model, Layer):
        raise TypeError(f"{where}: model must be a funcnet Layer (e.g. Sequential([...])), "
                        f"got {type(model).__name__}")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"{where}: optimizer must be an optax.GradientTransformation "
                        f"(e.g. funcnet.optim.adam(1e-3)), got {type(optimizer).__name__}")
    _checks.prng_key(where, "key", key)
    _checks.positive_int(where, "eval_batch_size", eval_batch_size)
    if not (accuracy is None or callable(accuracy)
            or (isinstance(accuracy, str) and accuracy == "auto")):
        raise TypeError(f"{where}: accuracy must be 'auto', None or a function "
                        f"(outputs, targets) -> (N,), got {accuracy!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: callback must be callable as callback(epoch, row, params, "
                        f"state), got {type(callback).__name__}")
    if rule is not None:
        early_stopping.check(where, rule, history.HISTORY_KEYS)
    x, y = inputs.xy_pair(where, train_data, "train_data", prefix="train_data ", finite=True)
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
    loss_fn = losses.get(loss)
    inputs.model_input(where, model, x, "train_data x")
    inputs.targets_fit_model(where, model, params, state, x, y, loss_fn, "train_data y")
    if eval_data is not None:
        x_eval, y_eval = inputs.xy_pair(where, eval_data, "eval_data", prefix="eval_data ",
                                        finite=True)
        if np.shape(x_eval)[1:] != np.shape(x)[1:]:
            raise ValueError(
                f"{where}: eval_data x must have per-sample shape {np.shape(x)[1:]} like "
                f"train_data x, got {np.shape(x_eval)[1:]}"
            )
        inputs.model_input(where, model, x_eval, "eval_data x")
        inputs.targets_fit_model(where, model, params, state, x_eval, y_eval, loss_fn,
                                 "eval_data y")
        eval_data = (x_eval, y_eval)
    return FitData(x, y, eval_data, loss_fn)


def pick_mode(mode: str, model, x, y, budget: int) -> str:
    """``"scan"`` or ``"loop"`` for ``mode="auto"`` (any other mode is returned as is)."""
    if mode != "auto":
        return mode
    nbytes = np.asarray(x).nbytes + np.asarray(y).nbytes
    if nbytes > budget:
        return "loop"
    if jax.default_backend() == "cpu" and not model.scan_friendly:
        # A layer that says XLA:CPU runs it slower inside a while loop: the per-step
        # overhead is small next to such a step, so the loop is faster there. (Conv2D
        # was one until its gradient came out in the form XLA:CPU's loops run fast.)
        return "loop"
    return "scan"


def as_array(a):
    """A jax array as is (no round trip through the host); anything else (NumPy, lists)
    as one NumPy array, so ``device_put`` sees an array, not a tree of scalars."""
    return a if isinstance(a, jax.Array) else np.asarray(a)


def _copy(tree):
    return jax.tree.map(jnp.copy, tree)


# compiled: one program per tree structure instead of one per leaf shape
snapshot = jax.jit(_copy)


def start(where, optimizer, params, state, opt_state):
    """Own copies of params and state (the compiled epochs donate their inputs) and the
    optimizer state, in one compiled call. Run op by op, every copy and every op of the
    optimizer's init (a schedule's maths included) is compiled on its own first: about
    20 small compilations, which on a GPU took longer than the epoch's own."""
    def begin(params, state, opt_state):
        opt_state = optimizer.init(params) if opt_state is None else _copy(opt_state)
        return _copy(params), _copy(state), opt_state

    params, state, opt_state = jax.jit(begin)(params, state, opt_state)
    # Under jit a schedule's first rate is not concrete for init to check; check it here.
    rate = history.learning_rate_or_none(opt_state)
    if rate is not None and not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"{where}: the optimizer's learning rate at step 0 is {rate}; a "
                         f"learning rate must be finite and >= 0 (a negative one would "
                         f"climb the loss)")
    return params, state, opt_state


def checkpointing(where, checkpoint_dir, checkpoint_every, keep, resume):
    """``(checkpoint_dir, checkpoint_every, keep)`` checked, with the folder made and
    proven writable, so a bad folder fails before anything is compiled or trained."""
    if not (isinstance(resume, str) and resume in RESUME_MODES):
        raise ValueError(f"{where}: resume must be one of {RESUME_MODES}, got {resume!r}")
    if checkpoint_dir is None:
        if resume != "same_run":
            raise ValueError(f"{where}: resume={resume!r} needs a checkpoint_dir to resume "
                             f"from, got checkpoint_dir=None")
        return None, checkpoint_every, keep
    checkpoint_every = _checks.positive_int(where, "checkpoint_every", checkpoint_every)
    keep = _checks.positive_int(where, "keep", keep)
    checkpoint_dir = checkpoint.ensure_folder(checkpoint_dir, where=where,
                                              name="checkpoint_dir")
    return checkpoint_dir, checkpoint_every, keep


class Resumed(NamedTuple):
    """Where a run picks up: its trees, history, early-stopping watch and next epoch."""

    params: object
    state: object
    opt_state: object
    history: dict
    best: tuple | None
    waited: int
    start_epoch: int


def resume(where, checkpoint_dir, resume_mode, run, epochs, params, state, opt_state,
           record) -> Resumed:
    """The newest checkpoint in ``checkpoint_dir``, or a fresh start when there is none.

    With ``resume_mode="same_run"`` the checkpoint must have been written by the run
    ``run`` (see ``identity``); ``"any_run"`` takes it whatever run wrote it. Either
    way its epoch must not be past ``epochs`` (the total, counting the epochs already
    trained), its history must hold what this call records, and its trees must match
    the ones given (structure, shapes and dtypes)."""
    fresh = Resumed(params, state, opt_state, history.empty(record), None, 0, 0)
    steps = [] if checkpoint_dir is None else checkpoint.list_steps(checkpoint_dir)
    if not steps:
        return fresh
    start_epoch = steps[-1]
    path = checkpoint.latest(checkpoint_dir)
    found = (f"the checkpoint in checkpoint_dir {checkpoint_dir!r} "
             f"({os.path.basename(path)}, epoch {start_epoch})")
    meta = checkpoint.load_metadata(path)
    problems = identity.differences(meta.get("run"), run)
    if problems and resume_mode == "same_run":
        raise checkpoint.CheckpointError(
            f"{where}: {found} was written by another run: {'; '.join(problems)}. Resuming "
            f"it would continue that run with this call's settings. Pass resume='any_run' "
            f"to continue from it anyway, or another checkpoint_dir to start this run afresh")
    if start_epoch > epochs:
        raise ValueError(
            f"{where}: epochs={epochs}, but {found} is past it: epochs is the total number "
            f"of epochs, counting those already trained. Pass epochs >= {start_epoch} "
            f"(epochs={start_epoch} returns that checkpoint's result), or another "
            f"checkpoint_dir to start afresh")
    saved = meta.get("history")
    if not (isinstance(saved, dict) and set(fresh.history) <= set(saved)):
        missing = sorted(set(fresh.history) - set(saved if isinstance(saved, dict) else ()))
        hint = (" (record=diagnostics.Health(...) needs a run that recorded it from the "
                "start)"
                if set(missing) <= set(history.RECORDED_KEYS) else "")
        raise checkpoint.CheckpointError(
            f"{where}: {found} has no history of {missing} in its metadata{hint}; it was "
            f"not written by a fit call like this one")
    dropped = sorted(set(saved) - set(fresh.history))
    if dropped:
        raise ValueError(f"{where}: {found} has a history of {dropped}; pass "
                         f"record=diagnostics.Health(...) to go on recording it")
    try:
        tree, meta = checkpoint.load(
            path, like={"params": params, "state": state, "opt_state": opt_state})
    except checkpoint.CheckpointError as e:
        raise checkpoint.CheckpointError(
            f"{where}: cannot resume from {found}: its params, state and opt_state must "
            f"have the structure, shapes and dtypes of this call's: {e}") from e
    params, state = tree["params"], tree["state"]
    best = None if meta.get("best") is None else (meta["best"], params, state)
    return Resumed(params, state, tree["opt_state"],
                   {k: list(saved[k]) for k in fresh.history},
                   best, meta.get("waited", 0), start_epoch)


def save(checkpoint_dir, epoch, params, state, opt_state, history_, watch, keep,
         run) -> None:
    """Write epoch ``epoch``'s checkpoint: trees, history, early-stopping progress, and
    the identity ``run`` of the run that wrote it.

    Under ``jax.distributed`` every process holds the same replicated trees, so only
    process 0 writes; the others wait at a barrier until the file is on disk, so that
    any process may resume from it as soon as ``fit`` returns.
    """
    best = None if watch is None or watch.best is None else watch.best[0]
    if jax.process_index() == 0:
        checkpoint.save_step(checkpoint_dir, epoch,
                             {"params": params, "state": state, "opt_state": opt_state},
                             {"history": history_,
                              "waited": 0 if watch is None else watch.waited,
                              "best": best, "run": run}, keep=keep)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(f"funcnet checkpoint {epoch}")
