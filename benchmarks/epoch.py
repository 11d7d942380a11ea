"""Seconds per training epoch: ``funcnet.fit`` against the same loop written by hand.

Four implementations train the same model from the same initial params with the same
recipe (Adam, the same batch size, shuffled every epoch):

* ``fit-scan``: ``fn.fit(..., mode="scan")``: the epoch is one compiled ``lax.scan``;
* ``fit-loop``: ``fn.fit(..., mode="loop")``: a jitted step per batch, fed from the host;
* ``jax-scan``: a hand-written ``jax.jit`` epoch, ``lax.scan`` over a device permutation,
  optax Adam, buffers donated (drops the last partial batch, as such loops usually do;
  fit pads and masks it instead, so it may run one step more);
* ``jax-loop``: a hand-written Python loop over host batches calling a donated
  ``jax.jit`` step.

Every implementation runs as a real training loop in its own thread that pauses after
each epoch; the main thread lets them run one epoch at a time, round-robin with the
order rotated each round, so the four see the same machine. The first epoch (data
transfer, tracing, compilation) is reported apart and left out of the medians.

Tasks (``--tasks``):

* ``mnist``: the 784-512-512-10 ReLU MLP on MNIST (``data.mnist(layout="flat")``) at
  each of ``--batch-sizes`` (default 32, 128, 512);
* ``xor``: 2-4-1 tanh/sigmoid on ``data.xor(repeats=64)``, batch 4, binary
  cross-entropy: per-step Python cost dominates;
* ``spirals``: 2-100-3 ReLU on ``data.spirals(3, 100)``, batch 16;
* ``tta``: time to 98% MNIST test accuracy, fit (scan) against the hand-written scan
  loop, same recipe (Adam 1e-3 cosine-decayed over ``--tta-epochs`` epochs, batch 128,
  test accuracy checked after every epoch).

    python benchmarks/epoch.py --markdown
    python benchmarks/epoch.py --quick --tasks xor,spirals --markdown
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import NamedTuple

import _common
import jax
import jax.numpy as jnp
import numpy as np
import optax

import funcnet as fn
from funcnet import data, optim

IMPLS = ("fit-scan", "fit-loop", "jax-scan", "jax-loop")
BASELINE = "jax-scan"
TASKS = ("mnist", "xor", "spirals", "tta")


class Task(NamedTuple):
    """A model and its data: ``sizes`` of the Dense layers, hidden activation, head."""

    name: str
    sizes: tuple
    hidden: str          # "relu" or "tanh"
    head: str            # "logits" (softmax CE, integer labels) or "sigmoid" (BCE)
    lr: float
    batch_size: int
    x: np.ndarray
    y: np.ndarray


# --------------------------------------------------------------------------- models

def funcnet_model(task: Task):
    act = {"relu": fn.relu, "tanh": fn.tanh}[task.hidden]
    w_init = "he_normal" if task.hidden == "relu" else "lecun_normal"
    layers = []
    for width in task.sizes[1:-1]:
        layers += [fn.Dense(width, w_init=w_init), act]
    layers.append(fn.Dense(task.sizes[-1]))
    if task.head == "sigmoid":
        layers.append(fn.sigmoid)
    return fn.Sequential(layers)


def funcnet_loss(task: Task) -> str:
    return ("binary_cross_entropy" if task.head == "sigmoid"
            else "softmax_cross_entropy_with_integer_labels")


def plain_params(params) -> list:
    """funcnet's ``{"dense_0": {...}, "relu_1": {}, ...}`` as a list of Dense dicts."""
    return [params[k] for k in sorted(params, key=lambda k: int(k.rsplit("_", 1)[1]))
            if params[k]]


def plain_apply(task: Task, params, x):
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[task.hidden]
    for layer in params[:-1]:
        x = act(x @ layer["w"] + layer["b"])
    out = x @ params[-1]["w"] + params[-1]["b"]
    return jax.nn.sigmoid(out) if task.head == "sigmoid" else out


def plain_loss(task: Task, params, x, y):
    out = plain_apply(task, params, x)
    if task.head == "sigmoid":
        p = jnp.clip(out, 1e-15, 1 - 1e-15)
        return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))
    return optax.softmax_cross_entropy_with_integer_labels(out, y).mean()


def plain_step(task: Task, tx):
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(lambda p: plain_loss(task, p, x, y))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


# --------------------------------------------------------------------------- training loops
# Each ``train_*(task, params, tx, epochs, callback, ...)`` trains for up to ``epochs``
# epochs and calls ``callback(epoch, params)`` after each, with the epoch's work finished
# (blocked on); a True return stops training.

def train_fit(task, params, tx, epochs, callback, mode, eval_data=None):
    model = funcnet_model(task)

    def on_epoch(epoch, row, params, state):
        return callback(epoch, params, row)

    fn.fit(model, params, {k: {} for k in params}, tx, (task.x, task.y), epochs=epochs,
           batch_size=task.batch_size, key=jax.random.key(1), mode=mode, progress=False,
           eval_data=eval_data, loss=funcnet_loss(task), callback=on_epoch)


def train_jax_scan(task, params, tx, epochs, callback, evaluate=None):
    n, b = len(task.x), task.batch_size
    steps = n // b
    step = plain_step(task, tx)

    def epoch_fn(params, opt_state, x, y, key):
        order = jax.random.permutation(key, n)[: steps * b].reshape(steps, b)

        def body(carry, idx):
            params, opt_state, loss = step(*carry, x[idx], y[idx])
            return (params, opt_state), loss

        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), order)
        return params, opt_state, losses.mean()

    epoch_fn = jax.jit(epoch_fn, donate_argnums=(0, 1))
    params = plain_params(jax.tree.map(jnp.copy, params))
    opt_state = tx.init(params)
    x, y = jnp.asarray(task.x), jnp.asarray(task.y)
    key = jax.random.key(1)
    for epoch in range(epochs):
        params, opt_state, loss = epoch_fn(params, opt_state, x, y, jax.random.fold_in(key, epoch))
        row = {"train_loss": float(loss)}
        if evaluate is not None:
            row["eval_accuracy"] = evaluate(params)
        if callback(epoch + 1, params, row):
            return


def train_jax_loop(task, params, tx, epochs, callback):
    n, b = len(task.x), task.batch_size
    step = jax.jit(plain_step(task, tx), donate_argnums=(0, 1))
    params = plain_params(jax.tree.map(jnp.copy, params))
    opt_state = tx.init(params)
    rng = np.random.default_rng(1)
    for epoch in range(epochs):
        order = rng.permutation(n)
        for i in range(n // b):
            idx = order[i * b:(i + 1) * b]
            params, opt_state, loss = step(params, opt_state, task.x[idx], task.y[idx])
        if callback(epoch + 1, params, {"train_loss": float(loss)}):
            return


class Driver:
    """Runs a training loop in a thread, one epoch per :meth:`epoch` call.

    The loop's callback hands control back to the main thread after every epoch and
    waits for the next :meth:`epoch`; only one loop runs at any time.
    """

    def __init__(self, train, params, epochs):
        self._go, self._done = threading.Semaphore(0), threading.Semaphore(0)
        self._stop = False
        self.error = None
        self.rows = []

        def callback(epoch, params, row):
            self.rows.append(row)
            self._done.release()
            self._go.acquire()
            return self._stop

        def target():
            self._go.acquire()
            try:
                train(params, epochs, callback)
            except BaseException as err:  # handed to the main thread
                self.error = err
            finally:
                self.finished = True
                self._done.release()

        self.finished = False
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def epoch(self) -> float:
        """Run one epoch; returns its wall seconds."""
        if self.finished:
            raise RuntimeError("Driver: the training loop has already finished")
        start = time.perf_counter()
        self._go.release()
        self._done.acquire()
        if self.error is not None:
            raise self.error
        return time.perf_counter() - start

    def close(self):
        self._stop = True
        if not self.finished:
            self._go.release()
        self._thread.join()


def make_train(impl, task, tx):
    if impl == "fit-scan":
        return lambda p, e, cb: train_fit(task, p, tx, e, cb, "scan")
    if impl == "fit-loop":
        return lambda p, e, cb: train_fit(task, p, tx, e, cb, "loop")
    if impl == "jax-scan":
        return lambda p, e, cb: train_jax_scan(task, p, tx, e, cb)
    return lambda p, e, cb: train_jax_loop(task, p, tx, e, cb)


def round_robin(drivers: dict, rounds: int, warmup: int, progress: bool = False):
    """Run every driver's warm-up epochs, then ``rounds`` rounds of one epoch each, the
    order rotated each round so all see the same machine; close the drivers.

    Returns ``(first, seconds)``: each driver's first epoch, and its timed epochs.
    """
    first, seconds = {}, {impl: [] for impl in drivers}
    names = list(drivers)
    try:
        for impl, driver in drivers.items():
            first[impl] = driver.epoch()
            for _ in range(warmup - 1):
                driver.epoch()
        for r in range(rounds):
            shift = r % len(names)
            for impl in names[shift:] + names[:shift]:
                seconds[impl].append(drivers[impl].epoch())
            if progress:
                print(".", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
    finally:
        for driver in drivers.values():
            driver.close()
    return first, seconds


def time_epochs(task, impls, rounds, warmup, optimizer="optax", progress=False) -> dict:
    """Interleaved per-epoch seconds for each implementation on ``task``."""
    params, _ = funcnet_model(task).init(jax.random.key(0), task.x.shape[1:])
    drivers = {}
    for impl in impls:
        # fit takes funcnet.optim; the hand-written loops take optax (the same Adam).
        tx = optim.adam(task.lr) if impl.startswith("fit") else optax.adam(task.lr)
        drivers[impl] = Driver(make_train(impl, task, tx), params, warmup + rounds + 1)
    first, seconds = round_robin(drivers, rounds, warmup, progress)
    n, b = len(task.x), task.batch_size
    steps = {"fit-scan": -(-n // b), "fit-loop": -(-n // b), "jax-scan": n // b,
             "jax-loop": n // b}
    out = []
    for impl in drivers:
        s = _common.summarize(seconds[impl])
        out.append({
            "task": task.name, "batch_size": b, "impl": impl, "samples": n,
            "steps_per_epoch": steps[impl], "epoch_s": s,
            "step_us": s["median"] / steps[impl] * 1e6,
            "first_epoch_s": first[impl],
            "ratio_to_jax_scan": (_common.paired_ratio(seconds[impl], seconds[BASELINE])
                                  if BASELINE in seconds else None),
            "final_train_loss": drivers[impl].rows[-1].get("train_loss"),
        })
    return out


# --------------------------------------------------------------------------- time to accuracy

def time_to_accuracy(train_xy, test_xy, epochs, target=0.98, batch_size=128, lr=1e-3,
                     impls=("fit-scan", "jax-scan"), log=print) -> list:
    """Seconds until test accuracy >= ``target``: fit (scan) and the hand-written scan.

    The recipe: Adam at peak ``lr``, cosine-decayed to 0 over ``epochs`` epochs of
    ``batch_size``; test accuracy is checked after every epoch.
    """
    task = Task("mnist", (784, 512, 512, 10), "relu", "logits", lr, batch_size, *train_xy)
    params, _ = funcnet_model(task).init(jax.random.key(0), (784,))
    steps = epochs * -(-len(task.x) // task.batch_size)
    x_test, y_test = jnp.asarray(test_xy[0]), jnp.asarray(test_xy[1])

    @jax.jit
    def accuracy(params):
        return jnp.mean(jnp.argmax(plain_apply(task, params, x_test), -1) == y_test)

    results = []
    for impl in impls:
        marks = []

        def callback(epoch, params, row, marks=marks):
            acc = row["eval_accuracy"]
            marks.append((epoch, time.perf_counter(), acc))
            return acc >= target

        start = time.perf_counter()
        if impl == "fit-scan":
            tx = optim.adam(optim.cosine_decay_schedule(task.lr, steps))
            train_fit(task, params, tx, epochs, callback, "scan", eval_data=test_xy)
        else:
            tx = optax.adam(optax.cosine_decay_schedule(task.lr, steps))
            train_jax_scan(task, params, tx, epochs, callback,
                           evaluate=lambda p: float(accuracy(p)))
        times = [t - start for _, t, _ in marks]
        epoch_times = np.diff([0.0, *times])
        reached = marks[-1][2] >= target
        row = {
            "impl": impl, "target": target, "reached": bool(reached), "epochs": marks[-1][0],
            "batch_size": batch_size, "lr": lr, "epochs_budget": epochs,
            "final_test_accuracy": float(marks[-1][2]), "wall_s": times[-1],
            "first_epoch_s": float(epoch_times[0]),
            "later_epoch_s_median": (float(np.median(epoch_times[1:]))
                                     if len(epoch_times) > 1 else None),
        }
        # Training time after compilation: every epoch at the steady per-epoch pace.
        if row["later_epoch_s_median"] is not None:
            row["wall_after_compile_s"] = float(np.sum(epoch_times[1:])
                                                + row["later_epoch_s_median"])
        results.append(row)
        log(f"[tta] {impl}: {'reached' if reached else 'did not reach'} {target:.0%} "
            f"after {row['epochs']} epochs, {row['wall_s']:.1f} s "
            f"(test acc {row['final_test_accuracy']:.4f})")
    return results


def select_recipe(train_xy, recipes, target=0.98, validation=10_000, log=print) -> dict:
    """Pick the recipe that reaches ``target`` soonest on a validation split of train.

    ``recipes``: ``(batch_size, lr, epochs)`` triples. Each trains the hand-written scan
    loop on all but the last ``validation`` training images and is scored on those;
    the test set plays no part in the choice. The winner reaches the target with the
    least training time after compilation (ties: fewer epochs).
    """
    x, y = train_xy
    fit_xy, val_xy = (x[:-validation], y[:-validation]), (x[-validation:], y[-validation:])
    rows = []
    for batch_size, lr, epochs in recipes:
        row = time_to_accuracy(fit_xy, val_xy, epochs, target, batch_size, lr,
                               impls=("jax-scan",), log=lambda m: None)[0]
        rows.append(row)
        log(f"[recipe] batch {batch_size}, lr {lr}, {epochs} epochs: "
            f"{'reached' if row['reached'] else 'missed'} {target:.0%} validation accuracy "
            f"after {row['epochs']} epochs ({row['final_test_accuracy']:.4f}), "
            f"{_common.fmt(row.get('wall_after_compile_s'))} s after compile")
    reached = [r for r in rows if r["reached"]]
    if not reached:
        raise RuntimeError(f"select_recipe: no recipe reached {target} validation accuracy")
    best = min(reached, key=lambda r: (r.get("wall_after_compile_s") or r["wall_s"],
                                       r["epochs"]))
    return {"chosen": {"batch_size": best["batch_size"], "lr": best["lr"],
                       "epochs": best["epochs_budget"]},
            "validation_images": validation, "candidates": rows}


# --------------------------------------------------------------------------- main

def small_task(name, quick):
    if name == "xor":
        x, y = data.xor(repeats=16 if quick else 64)
        return Task("xor", (2, 4, 1), "tanh", "sigmoid", 1e-2, 4, x,
                    y[:, None].astype(np.float32))
    x, y = data.spirals(classes=3, points=100, seed=0)
    return Task("spirals", (2, 100, 3), "relu", "logits", 1e-2, 16, x, y)


def run_epochs(tasks=("mnist", "xor", "spirals"), impls=IMPLS, batch_sizes=(32, 128, 512),
               rounds=5, small_rounds=30, warmup=1, train_subset=None, data_dir=None,
               tta=False, tta_epochs=10, quick=False, progress=False, log=print) -> dict:
    payload = {"settings": {"tasks": list(tasks), "impls": list(impls),
                            "batch_sizes": list(batch_sizes), "rounds": rounds,
                            "small_rounds": small_rounds, "warmup": warmup,
                            "train_subset": train_subset, "baseline": BASELINE},
               "results": [], "time_to_accuracy": None, "environment": _common.environment()}
    mnist = None
    if "mnist" in tasks or tta:
        mnist = data.mnist(data_dir, layout="flat")
    if "mnist" in tasks:
        x, y = mnist[0]
        if train_subset:
            x, y = x[:train_subset], y[:train_subset]
        for b in batch_sizes:
            task = Task("mnist", (784, 512, 512, 10), "relu", "logits", 1e-3, b, x, y)
            log(f"[mnist] batch {b}: {len(x)} samples, {rounds} rounds")
            payload["results"] += time_epochs(task, impls, rounds, warmup, progress=progress)
    for name in ("xor", "spirals"):
        if name in tasks:
            task = small_task(name, quick)
            log(f"[{name}] batch {task.batch_size}: {len(task.x)} samples, "
                f"{small_rounds} rounds")
            payload["results"] += time_epochs(task, impls, small_rounds, warmup,
                                              progress=progress)
    if tta:
        payload["time_to_accuracy"] = time_to_accuracy(mnist[0], mnist[1], tta_epochs,
                                                       log=log)
    _common.finish_environment(payload["environment"])
    return payload


def markdown(payload) -> str:
    header = ["task", "batch", "impl", "steps/epoch", "epoch ms (median)", "IQR ms",
              "µs/step", "× jax-scan (paired)", "first epoch s"]
    rows = []
    for r in payload["results"]:
        s, ratio = r["epoch_s"], r["ratio_to_jax_scan"]
        rows.append([r["task"], r["batch_size"], r["impl"], r["steps_per_epoch"],
                     _common.fmt(s["median"] * 1e3),
                     f"{s['p25'] * 1e3:.3g}–{s['p75'] * 1e3:.3g}",
                     _common.fmt(r["step_us"]),
                     None if ratio is None else f"{ratio['median']:.3f}",
                     _common.fmt(r["first_epoch_s"])])
    lines = [_common.markdown_table(header, rows), ""] if rows else []
    tta = payload.get("time_to_accuracy")
    if tta:
        lines += [_common.markdown_table(
            ["impl", "reached 98%", "epochs", "test acc", "wall s (incl. compile)",
             "wall s (after compile)", "first epoch s", "later epoch s"],
            [[t["impl"], "yes" if t["reached"] else "no", t["epochs"],
              f"{t['final_test_accuracy']:.4f}", _common.fmt(t["wall_s"]),
              _common.fmt(t.get("wall_after_compile_s")), _common.fmt(t["first_epoch_s"]),
              _common.fmt(t["later_epoch_s_median"])] for t in tta]), ""]
    st = payload["settings"]
    lines.append(f"- {st['rounds']} rounds (MNIST), {st['small_rounds']} rounds (xor, "
                 f"spirals) after {st['warmup']} warm-up epoch(s); ratios are medians of "
                 f"per-round ratios to `{BASELINE}`"
                 + (f"; MNIST subset of {st['train_subset']} samples"
                    if st["train_subset"] else ""))
    lines += [f"- {line}" for line in _common.environment_lines(payload["environment"])]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="mnist,xor,spirals,tta",
                        help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--batch-sizes", default="32,128,512")
    parser.add_argument("--rounds", type=int, default=None, help="timed MNIST epochs")
    parser.add_argument("--small-rounds", type=int, default=None,
                        help="timed epochs for xor and spirals")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--train-subset", type=int, default=None,
                        help="use the first N MNIST training images")
    parser.add_argument("--tta-epochs", type=int, default=10,
                        help="epoch budget (and cosine length) for time-to-98%%")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds on 2,048 MNIST images at batch 128; no time-to-98%%")
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    impls = [i for i in args.impls.split(",") if i]
    bad = [t for t in tasks if t not in TASKS] + [i for i in impls if i not in IMPLS]
    if bad:
        raise SystemExit(f"epoch: unknown task/impl {bad}; tasks {list(TASKS)}, impls "
                         f"{list(IMPLS)}")
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.quick:
        batch_sizes = batch_sizes if args.batch_sizes != "32,128,512" else [128]
        tasks = [t for t in tasks if t != "tta"]
    payload = run_epochs(
        tasks=[t for t in tasks if t != "tta"], impls=impls, batch_sizes=batch_sizes,
        rounds=args.rounds or (2 if args.quick else 5),
        small_rounds=args.small_rounds or (3 if args.quick else 30),
        warmup=args.warmup,
        train_subset=args.train_subset or (2048 if args.quick else None),
        data_dir=args.data_dir, tta="tta" in tasks, tta_epochs=args.tta_epochs,
        quick=args.quick,
        progress=not args.quick, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        _common.write_json(args.json, payload)
    if args.markdown:
        print(markdown(payload))
    elif not args.json:
        for r in payload["results"]:
            print(f"{r['task']:8s} b={r['batch_size']:<4d} {r['impl']:9s} "
                  f"{r['epoch_s']['median'] * 1e3:10.2f} ms/epoch")
    return payload


if __name__ == "__main__":
    main()
