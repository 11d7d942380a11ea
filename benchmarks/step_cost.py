"""What each part of a training step costs: a ladder from plain jax up to funcnet's step.

Every rung is the 784-512-512-10 ReLU MLP with Adam at batch 128 written in plain jax,
with one more of the things funcnet's step does than the rung before it:

* ``jax``: mean cross-entropy, optax Adam, buffers donated;
* ``+mask``: the loss as a mask-weighted mean (how fit trains a padded last batch);
* ``+accuracy``: the number of correct predictions, reported;
* ``+finite``: one finiteness flag per gradient leaf, reported;
* ``+guard-cond``: the update skipped through ``lax.cond`` when something is not finite;
* ``+guard-select``: the same skip as an elementwise ``where`` over params and state;
* ``+funcnet-adam``: ``funcnet.optim.adam`` in place of ``optax.adam``;
* ``+funcnet-adam, rate in state``: the same constant rate given as a schedule
  (``lambda count: 1e-3``), so it is a scalar array carried in the optimizer state (as
  optax's ``inject_hyperparams`` keeps it) rather than a float the step is compiled with;

and then funcnet itself: ``fn.make_step`` (guard on and off), and funcnet's update
recording ``fit(record=diagnostics.Health(every=k))`` for k = 10 and 1 (each layer's
activation statistics and histogram, gradient and update ratios) next to the same step
recording nothing (compare them with ``--baseline "funcnet, health off"``). Each rung
is timed as a jitted step (one call per step) and as a whole epoch in one ``lax.scan``
(the way ``fit`` trains), where ``fit``'s own epoch function is the last rung. Next to
each time: the number of HLO operations XLA left after fusion (outside fused computations), a
rough count of the kernels a step launches.

    PYTHONPATH=. python benchmarks/step_cost.py --markdown

``--rung NAME`` (repeatable) times only the named rungs (``jax`` and the ratio baseline
are always kept) and ``--baseline NAME`` puts the ratios against another rung, e.g. the
learning-rate comparison alone::

    python benchmarks/step_cost.py --rung "lean + funcnet-adam" \
        --rung "lean + funcnet-adam, rate in state" --baseline "lean + funcnet-adam"
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NamedTuple

import _common
import jax
import jax.numpy as jnp
import numpy as np
import optax

import funcnet as fn
import funcnet.optim
from funcnet import diagnostics
from funcnet.train import epochs, step

SIZES = (784, 512, 512, 10)
#: the Health rungs: name -> how often a step is recorded (None: the same update body
#: and epoch, recording nothing: the baseline to compare them with)
HEALTH = {"funcnet, health off": None, "funcnet, health every 10": 10,
          "funcnet, health every 1": 1}


class Rung(NamedTuple):
    name: str
    mask: bool = False
    accuracy: str | None = None  # None, "argmax" or "max" (label's logit beats the rest)
    finite: str | None = None  # None, "leaves" (a flag per leaf) or "flag" (one flag)
    guard: str | None = None  # None, "cond" or "select"
    funcnet_adam: bool = False
    rate_in_state: bool = False  # funcnet-adam's constant rate given as a schedule


RUNGS = (
    Rung("jax"),
    Rung("+mask", mask=True),
    Rung("+accuracy", mask=True, accuracy="argmax"),
    Rung("+accuracy (max rule)", mask=True, accuracy="max"),
    Rung("+finite per leaf", mask=True, accuracy="argmax", finite="leaves"),
    Rung("+finite one flag", mask=True, accuracy="argmax", finite="flag"),
    Rung("+guard-cond", mask=True, accuracy="argmax", finite="leaves", guard="cond"),
    Rung("+guard-select", mask=True, accuracy="argmax", finite="leaves", guard="select"),
    Rung("lean (max rule, one flag, select)", mask=True, accuracy="max", finite="flag",
         guard="select"),
    Rung("lean + funcnet-adam", mask=True, accuracy="max", finite="flag", guard="select",
         funcnet_adam=True),
    Rung("lean + funcnet-adam, rate in state", mask=True, accuracy="max", finite="flag",
         guard="select", funcnet_adam=True, rate_in_state=True),
)


def rung_optimizer(rung: Rung):
    if rung.rate_in_state:
        return funcnet.optim.adam(lambda count: 1e-3)
    return funcnet.optim.adam(1e-3) if rung.funcnet_adam else optax.adam(1e-3)


def init_params(key):
    keys = jax.random.split(key, len(SIZES) - 1)
    return [{"w": jax.random.normal(k, (a, b), jnp.float32) / np.sqrt(a),
             "b": jnp.zeros((b,), jnp.float32)}
            for k, a, b in zip(keys, SIZES[:-1], SIZES[1:], strict=True)]


def apply(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def make_body(rung: Rung, tx):
    """``(params, opt_state, x, y, mask) -> (params, opt_state, metrics)`` for a rung."""

    def objective(params, x, y, mask):
        logits = apply(params, x)
        per_sample = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        if rung.mask:
            loss = jnp.sum(per_sample * mask) / jnp.maximum(jnp.sum(mask), 1)
        else:
            loss = jnp.mean(per_sample)
        return loss, logits

    def body(params, opt_state, x, y, mask):
        (loss, logits), grads = jax.value_and_grad(objective, has_aux=True)(
            params, x, y, mask)
        metrics = {"loss": loss}
        if rung.accuracy == "argmax":
            metrics["correct"] = jnp.sum((jnp.argmax(logits, -1) == y) * mask)
        elif rung.accuracy == "max":
            own = jnp.take_along_axis(logits, y[:, None], -1)[:, 0]
            rest = jnp.max(jnp.where(jax.nn.one_hot(y, logits.shape[-1], dtype=bool),
                                     -jnp.inf, logits), -1)
            metrics["correct"] = jnp.sum((own > rest) * mask)
        ok = None
        if rung.finite == "leaves":
            leaves = jnp.stack([jnp.all(jnp.isfinite(g))
                                for g in jax.tree_util.tree_leaves(grads)])
            ok = jnp.isfinite(loss) & jnp.all(leaves)
            metrics["finite_leaves"] = leaves
        elif rung.finite == "flag":
            flat = jnp.concatenate([g.ravel() for g in jax.tree_util.tree_leaves(grads)])
            ok = jnp.isfinite(loss) & jnp.all(jnp.isfinite(flat))
            metrics["finite"] = ok

        def update(_=None):
            updates, new_opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), new_opt_state

        if rung.guard == "cond":
            params, opt_state = jax.lax.cond(ok, update, lambda _: (params, opt_state), None)
        elif rung.guard == "select":
            new = update()
            params, opt_state = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new,
                                             (params, opt_state))
        else:
            params, opt_state = update()
        return params, opt_state, metrics

    return body


def kernel_count(compiled) -> int:
    """HLO operations outside fused computations: about the kernels a call launches."""
    count, skipping = 0, False
    for line in compiled.as_text().splitlines():
        head = re.match(r"^(ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$", line)
        if head:
            skipping = "fused" in head.group(2) or head.group(2).startswith("fusion")
            continue
        m = re.match(r"^\s+(ROOT\s+)?%?[\w.\-]+ = \S+ ([\w\-]+)\(", line)
        if m and not skipping and m.group(2) not in (
                "parameter", "get-tuple-element", "tuple", "constant", "bitcast"):
            count += 1
    return count


def data(batch, n, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal((n, SIZES[0]), dtype=np.float32))
    y = jnp.asarray(rng.integers(0, SIZES[-1], n).astype(np.int32))
    return x, y


def _stepper(jitted, carry, *args):
    """``run()`` advancing ``carry`` through ``jitted(*carry, *args)``, and the HLO op
    count of the compiled program."""
    kernels = kernel_count(jitted.lower(*carry, *args).compile())
    carry = list(carry)

    def run():
        *carry[:], metrics = jitted(*carry, *args)
        return metrics["loss"]

    return run, kernels


def step_case(body, params, opt_state, x, y, mask):
    return _stepper(jax.jit(body, donate_argnums=(0, 1)), (params, opt_state), x, y, mask)


def epoch_case(body, params, opt_state, x_all, y_all, batch, sums=False):
    """A hand-written scan epoch around ``body`` (fit's recipe: permutation on device).

    ``sums``: the step metrics are added up in the scan's carry instead of stacked as
    its per-step outputs.
    """
    steps = len(x_all) // batch
    x0, y0 = x_all[:batch], y_all[:batch]
    shapes = jax.eval_shape(body, params, opt_state, x0, y0, jnp.ones((batch,)))[2]
    zero = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def epoch(params, opt_state, x_all, y_all, key):
        idx = jax.random.permutation(key, len(x_all))[: steps * batch].reshape(steps, batch)

        def scan_body(carry, batch_idx):
            params, opt_state, total = carry
            params, opt_state, metrics = body(params, opt_state, x_all[batch_idx],
                                              y_all[batch_idx], jnp.ones((batch,)))
            if not sums:
                return (params, opt_state, total), metrics
            total = jax.tree.map(lambda t, m: t & m if t.dtype == bool else t + m,
                                 total, metrics)
            return (params, opt_state, total), None

        (params, opt_state, total), metrics = jax.lax.scan(
            scan_body, (params, opt_state, zero), idx)
        return params, opt_state, total if sums else metrics

    return _stepper(jax.jit(epoch, donate_argnums=(0, 1)), (params, opt_state), x_all, y_all,
                    jax.random.key(1))


def funcnet_net():
    return fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(512), fn.relu, fn.Dense(10)])


def funcnet_step_case(guard, x, y):
    net = funcnet_net()
    key = jax.random.key(0)
    params, state = net.init(key, (SIZES[0],))
    tx = funcnet.optim.adam(1e-3)
    jitted = fn.make_step(net, "softmax_cross_entropy_with_integer_labels", tx, guard=guard)
    return _stepper(jitted, (params, state, tx.init(params)), (x, y), key)


def funcnet_health_step_case(every, x, y):
    """fit's jitted steps with ``Health(every=every)``: the recorded step on one call in
    ``every`` and the plain step on the others, as an epoch runs them (or only the
    plain step with ``every=None``). The HLO count is the recorded step's."""
    net = funcnet_net()
    key = jax.random.key(0)
    params, state = net.init(key, (SIZES[0],))
    tx = funcnet.optim.adam(1e-3)
    loss = "softmax_cross_entropy_with_integer_labels"
    mask = jnp.ones((x.shape[0],), jnp.float32)

    def jitted(record):
        body = epochs.guarded_body(step.make_update(net, loss, tx, record=record, skip=False))

        def one(params, state, opt_state):
            (params, state, opt_state, _), m = body(
                (params, state, opt_state, jnp.zeros((), bool)), (x, y, mask, key))
            # the record is returned, as fit's epoch returns it (else XLA drops its work)
            return params, state, opt_state, {"loss": m.loss_sum, "health": m.health}

        return jax.jit(one, donate_argnums=(0, 1, 2))

    record = None if every is None else diagnostics.Health(every=every)
    plain, recorded = jitted(None), jitted(record) if record is not None else None
    carry = [params, state, tx.init(params)]
    kernels = kernel_count((recorded or plain).lower(*carry).compile())
    calls = [0]

    def run():
        fn_ = recorded if record is not None and calls[0] % every == 0 else plain
        calls[0] += 1
        *carry[:], metrics = fn_(*carry)
        return metrics["loss"]

    return run, kernels


def funcnet_epoch_case(guard, x_all, y_all, batch, record=None):
    """fit's scan epoch, with ``record`` run as fit runs it."""
    net = funcnet_net()
    key = jax.random.key(0)
    params, state = net.init(key, (SIZES[0],))
    tx = funcnet.optim.adam(1e-3)
    loss = "softmax_cross_entropy_with_integer_labels"
    steps = epochs.Steps(
        step.make_update(net, loss, tx, guard=guard, skip=False),
        None if record is None else step.make_update(net, loss, tx, guard=guard,
                                                     record=record, skip=False),
        record)
    layout = epochs.DataLayout(None, None, batch)
    run_epoch = epochs.make_scan_epoch(steps, len(x_all), batch, layout)
    carry = [params, state, tx.init(params)]

    def run():
        *carry[:], metrics = run_epoch(*carry, (x_all, y_all), key, 0)
        return metrics.loss_sum

    return run, None


def run_ladder(batch=128, n=60_000, rounds=10, reps=20, epoch_rounds=5, log=print,
               only=None, baseline="jax") -> dict:
    """Time the rungs (all, or those named in ``only`` plus ``jax`` and ``baseline``);
    ratios are against ``baseline``."""
    def wanted(name):
        return only is None or name in (*only, "jax", baseline)

    x, y = data(batch, batch)
    mask = jnp.ones((batch,), jnp.float32)
    x_all, y_all = data(batch, n, seed=1)
    steps, epochs, kernels = {}, {}, {}
    for rung in (r for r in RUNGS if wanted(r.name)):
        tx = rung_optimizer(rung)
        body = make_body(rung, tx)
        params = init_params(jax.random.key(0))
        steps[rung.name], k_step = step_case(body, params, tx.init(params), x, y, mask)
        params = init_params(jax.random.key(0))
        epochs[rung.name], k_epoch = epoch_case(body, params, tx.init(params), x_all, y_all,
                                                batch)
        kernels[rung.name] = (k_step, k_epoch)
        log(f"[step_cost] built {rung.name}: {k_step} / {k_epoch} HLO ops")
        if rung.name.startswith("lean") and wanted(rung.name + ", carried sums"):
            params = init_params(jax.random.key(0))
            name = rung.name + ", carried sums"
            steps[name], epochs[name] = steps[rung.name], None
            epochs[name], k_epoch = epoch_case(body, params, tx.init(params), x_all, y_all,
                                               batch, sums=True)
            kernels[name] = (k_step, k_epoch)
    for guard in (True, False):
        name = "funcnet" + ("" if guard else "-noguard")
        if not wanted(name):
            continue
        steps[name], k_step = funcnet_step_case(guard, x, y)
        epochs[name], _ = funcnet_epoch_case(guard, x_all, y_all, batch)
        kernels[name] = (k_step, None)
    for name, every in HEALTH.items():
        if not wanted(name):
            continue
        steps[name], k_step = funcnet_health_step_case(every, x, y)
        epochs[name], _ = funcnet_epoch_case(
            True, x_all, y_all, batch, None if every is None else diagnostics.Health(every))
        kernels[name] = (k_step, None)
        log(f"[step_cost] built {name}: {k_step} HLO ops per step")
    step_samples = _common.interleaved({k: v for k, v in steps.items()
                                        if "carried" not in k}, rounds=rounds, reps=reps,
                                       warmup=3)
    step_samples.update({k: step_samples[k.rsplit(", carried", 1)[0]]
                         for k in steps if "carried" in k})
    epoch_samples = _common.interleaved(epochs, rounds=epoch_rounds, reps=1, warmup=1)
    rows = []
    for name in steps:
        s = _common.summarize(step_samples[name]["seconds"])
        e = _common.summarize(epoch_samples[name]["seconds"])
        rows.append({
            "rung": name, "step_s": s, "epoch_s": e,
            "step_ratio": _common.paired_ratio(step_samples[name]["seconds"],
                                               step_samples[baseline]["seconds"]),
            "epoch_ratio": _common.paired_ratio(epoch_samples[name]["seconds"],
                                                epoch_samples[baseline]["seconds"]),
            "step_ops": kernels[name][0], "epoch_ops": kernels[name][1],
        })
    return {"settings": {"batch": batch, "n": n, "rounds": rounds, "reps": reps,
                         "epoch_rounds": epoch_rounds, "baseline": baseline},
            "results": rows, "environment": _common.environment()}


def markdown(payload) -> str:
    rows = [[r["rung"], f"{r['step_s']['median'] * 1e6:.1f}", f"{r['step_ratio']['median']:.3f}",
             _common.fmt(r["step_ops"]), f"{r['epoch_s']['median'] * 1e3:.2f}",
             f"{r['epoch_ratio']['median']:.3f}", _common.fmt(r["epoch_ops"])]
            for r in payload["results"]]
    s = payload["settings"]
    times = f"× {s.get('baseline', 'jax')}"
    return "\n".join([
        _common.markdown_table(["rung", "step µs", times, "HLO ops (step)",
                                "scan epoch ms", times, "HLO ops (epoch)"], rows), "",
        f"- batch {s['batch']}, {s['n']} samples per epoch; {s['rounds']} rounds of "
        f"{s['reps']} steps, {s['epoch_rounds']} rounds of one epoch; ratios are medians "
        f"of per-round ratios",
        *[f"- {line}" for line in _common.environment_lines(payload["environment"])]])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epoch-rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default=None)
    names = [r.name for r in RUNGS] + ["funcnet", "funcnet-noguard", *HEALTH]
    names += [r.name + ", carried sums" for r in RUNGS if r.name.startswith("lean")]
    parser.add_argument("--rung", action="append", choices=names, default=None,
                        help="time only this rung (repeatable; jax and --baseline are kept)")
    parser.add_argument("--baseline", default="jax", choices=names,
                        help="the rung the ratios are against")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rounds, args.epoch_rounds = 2048, 2, 1
    payload = run_ladder(args.batch, args.n, args.rounds, epoch_rounds=args.epoch_rounds,
                         log=lambda m: print(m, file=sys.stderr, flush=True),
                         only=args.rung, baseline=args.baseline)
    _common.finish_environment(payload["environment"])
    if args.json:
        _common.write_json(args.json, payload)
    print(markdown(payload) if args.markdown else payload)


if __name__ == "__main__":
    main()
