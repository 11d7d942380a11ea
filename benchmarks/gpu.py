"""The GPU run: the peers table, MNIST to 98%, and a large bf16 MLP against the matmul peak.

Meant for one accelerator (an H100) with funcnet's tree on ``PYTHONPATH`` and jax,
optax, flax, equinox (haiku optional) installed there. Three parts (``--parts``):

1. ``peers``: the table of ``peers.py`` (funcnet, plain jax, stax, Flax, Equinox, Haiku
   on the 784-512-512-10 MLP and the small CNN at batch 128, and again at
   ``--peers-big-batch``), with a float32 matmul as the yardstick;
2. ``recipes``: MNIST recipes (batch size, peak learning rate, epochs) tried with the
   hand-written scan loop on a validation split of the training set; the one reaching
   98% validation accuracy soonest is printed (``epoch.select_recipe``);
   ``mnist``: with a recipe fixed by ``--recipe`` (run it in a fresh process, so its
   compilation is cold), the MNIST MLP trained with ``fn.fit`` (scan) to 98% test
   accuracy, and the hand-written ``lax.scan`` loop with the same recipe: wall seconds
   for the whole job (data loading, compilation, training, per-epoch test evaluation),
   seconds of training after compilation, and (``--t0``) seconds from the process's
   start to the job's start (interpreter, imports, device start-up);
3. ``large``: a 4 x 8192 hidden ReLU MLP (8192 inputs, 1024 classes), batch 8192, bf16
   matmuls (``fn.Dense(compute_dtype=jnp.bfloat16)``) with float32 params and Adam,
   through ``fn.make_step`` (guard on and off) and the same step written in plain
   jax; achieved TFLOP/s against an 8192^3 bf16 matmul timed in the same rounds.

Writes ``gpu.json`` and ``gpu.md`` into ``--out``.

    PYTHONPATH=. python benchmarks/gpu.py --parts peers,recipes,large --out out/gpu
    PYTHONPATH=. python benchmarks/gpu.py --parts mnist --recipe 1024,0.003,10 \
        --t0 "$(date +%s.%N)" --out out/gpu-mnist            # a fresh process
    PYTHONPATH=. python benchmarks/gpu.py --cpu-smoke        # tiny sizes, any machine
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import time

import _common
import epoch
import jax
import jax.numpy as jnp
import numpy as np
import optax
import peers

import funcnet as fn
import funcnet.optim
from funcnet import data

PARTS = ("peers", "recipes", "mnist", "large")


def gpu_info() -> list:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=30, check=False)
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        return []


# --------------------------------------------------------------------------- large MLP

def large_sizes(width: int, depth: int, inputs: int, classes: int) -> tuple:
    return (inputs, *([width] * depth), classes)


def large_flops(sizes, batch) -> dict:
    """Matmul FLOPs of one step: the 3x convention, and what is actually computed.

    The 3x convention (forward, weight gradient, input gradient) counts an input
    gradient for the first layer that nobody asks for; XLA does not compute it.
    """
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return {"convention_3x": 2.0 * batch * sum(macs) * 3,
            "executed": 2.0 * batch * (2 * sum(macs) + sum(macs[1:]))}


def large_funcnet(sizes, x, y, guard):
    layers = []
    for width in sizes[1:-1]:
        layers += [fn.Dense(width, compute_dtype=jnp.bfloat16), fn.relu]
    layers.append(fn.Dense(sizes[-1], compute_dtype=jnp.bfloat16))
    net = fn.Sequential(layers)
    key = jax.random.key(0)
    params, state = net.init(key, (sizes[0],))
    optimizer = funcnet.optim.adam(1e-4)
    opt_state = optimizer.init(params)
    step = fn.make_step(net, "softmax_cross_entropy_with_integer_labels", optimizer,
                        guard=guard)
    carry = [params, state, opt_state]

    def run():
        *carry[:], metrics = step(*carry, (x, y), key)
        return metrics["loss"]

    return run


def large_plain(sizes, x, y):
    keys = jax.random.split(jax.random.key(0), len(sizes) - 1)
    params = [{"w": jax.random.normal(k, (a, b), jnp.float32) / np.sqrt(a),
               "b": jnp.zeros((b,), jnp.float32)}
              for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]

    # The usual mixed-precision policy (jmp, Flax's ``dtype``): params in float32, the
    # whole forward (and so backward) in bf16, the loss in float32.
    def dense(layer, h):
        return h @ layer["w"].astype(jnp.bfloat16) + layer["b"].astype(jnp.bfloat16)

    def loss_fn(params, x, y):
        h = x.astype(jnp.bfloat16)
        for layer in params[:-1]:
            h = jax.nn.relu(dense(layer, h))
        logits = dense(params[-1], h).astype(jnp.float32)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    tx = optax.adam(1e-4)

    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    step = jax.jit(step, donate_argnums=(0, 1))
    carry = [params, tx.init(params)]

    def run():
        *carry[:], loss = step(*carry, x, y)
        return loss

    return run


def run_large(width=8192, depth=4, batch=8192, inputs=8192, classes=1024, matmul=8192,
              rounds=20, reps=5, warmup=2, log=print) -> dict:
    sizes = large_sizes(width, depth, inputs, classes)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, inputs), dtype=np.float32))
    y = jnp.asarray(rng.integers(0, classes, batch).astype(np.int32))
    a = jnp.asarray(rng.standard_normal((matmul, matmul), dtype=np.float32), jnp.bfloat16)
    b = jnp.asarray(rng.standard_normal((matmul, matmul), dtype=np.float32), jnp.bfloat16)
    mm = jax.jit(jnp.matmul)
    builders = {"funcnet": lambda: large_funcnet(sizes, x, y, guard=True),
                "funcnet-noguard": lambda: large_funcnet(sizes, x, y, guard=False),
                "jax": lambda: large_plain(sizes, x, y)}
    cases, first = {}, {}
    for name, build in builders.items():
        cases[name] = build()
        first[name] = _common.time_first_call(cases[name])
        log(f"[large] {name}: first call {first[name]:.2f} s")
    mm_name = f"matmul bf16 {matmul}^3"
    cases[mm_name] = lambda: mm(a, b)
    samples = _common.interleaved(cases, rounds=rounds, reps=reps, warmup=warmup)
    mm_s = _common.summarize(samples[mm_name]["seconds"])
    mm_rate = 2.0 * matmul**3 / mm_s["median"]
    flops = large_flops(sizes, batch)
    results = []
    for name in builders:
        s = _common.summarize(samples[name]["seconds"])
        results.append({
            "impl": name, "step_s": s, "first_call_s": first[name],
            "ratio_to_jax": _common.paired_ratio(samples[name]["seconds"],
                                                 samples["jax"]["seconds"]),
            "dispatch_s": _common.summarize(samples[name]["dispatch"]),
            "tflops_3x": flops["convention_3x"] / s["median"] / 1e12,
            "tflops_executed": flops["executed"] / s["median"] / 1e12,
            "fraction_of_matmul_executed": flops["executed"] / s["median"] / mm_rate,
        })
    return {"sizes": list(sizes), "batch": batch, "flops": flops,
            "matmul": {"n": matmul, "seconds": mm_s, "tflops": mm_rate / 1e12},
            "results": results}


# --------------------------------------------------------------------------- MNIST

# (batch size, peak Adam learning rate, epochs of cosine decay): tried on a validation
# split; the one reaching 98% soonest is then timed on the test set.
RECIPES = ((128, 1e-3, 6), (256, 2e-3, 6), (512, 2e-3, 8), (512, 3e-3, 8),
           (1024, 3e-3, 10), (1024, 4e-3, 12), (2048, 4e-3, 12), (2048, 6e-3, 16))


def run_recipes(recipes=RECIPES, target=0.98, train_subset=None, data_dir=None,
                log=print) -> dict:
    """Choose the MNIST recipe on a validation split (``epoch.select_recipe``)."""
    (x_train, y_train), _ = data.mnist(data_dir, layout="flat")
    if train_subset:
        x_train, y_train = x_train[:train_subset], y_train[:train_subset]
    return epoch.select_recipe((x_train, y_train), recipes, target,
                               validation=len(x_train) // 6, log=log)


def run_mnist(recipe, target=0.98, train_subset=None, data_dir=None, startup_s=None,
              log=print) -> dict:
    """The job as a user runs it, with ``recipe = (batch, lr, epochs)`` fixed beforehand.

    Run it in a fresh process (not after ``run_recipes``), so its compilation is cold:
    data loading, compilation, training and per-epoch test evaluation, for fit (scan)
    and then the hand-written scan loop.
    """
    batch_size, lr, epochs = recipe
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.mnist(data_dir, layout="flat")
    if train_subset:
        x_train, y_train = x_train[:train_subset], y_train[:train_subset]
    load_s = time.perf_counter() - start
    rows = epoch.time_to_accuracy((x_train, y_train), (x_test, y_test), epochs,
                                  target=target, batch_size=batch_size, lr=lr, log=log)
    for row in rows:
        row["data_load_s"] = load_s
        row["job_s"] = load_s + row["wall_s"]
    return {"target": target, "train_samples": len(x_train),
            "recipe": {"batch_size": batch_size, "lr": lr, "epochs": epochs},
            "startup_s": startup_s, "results": rows}


# --------------------------------------------------------------------------- report

def markdown(payload) -> str:
    lines = []
    env = payload["environment"]
    if payload.get("peers"):
        for table in payload["peers"]:
            # peers.py records one batch size per model; gpu.py runs them all at one
            batches = sorted(set(table["settings"]["batch"].values()))
            lines += [f"### Peers, batch {', '.join(map(str, batches))}", "",
                      peers.markdown(table), ""]
    if payload.get("recipes"):
        r = payload["recipes"]
        lines += [f"### MNIST recipes on a validation split ({r['validation_images']} "
                  "training images held out)", "",
                  _common.markdown_table(
                      ["batch", "peak lr", "epochs (cosine)", "reached", "after epochs",
                       "val acc", "training s after compile"],
                      [[c["batch_size"], c["lr"], c["epochs_budget"],
                        "yes" if c["reached"] else "no", c["epochs"],
                        f"{c['final_test_accuracy']:.4f}",
                        _common.fmt(c.get("wall_after_compile_s"))]
                       for c in r["candidates"]]), "",
                  f"- chosen: batch {r['chosen']['batch_size']}, lr {r['chosen']['lr']}, "
                  f"{r['chosen']['epochs']} epochs", ""]
    if payload.get("mnist"):
        m = payload["mnist"]
        rec = m["recipe"]
        lines += [f"### MNIST MLP to {m['target']:.0%} test accuracy (batch "
                  f"{rec['batch_size']}, Adam {rec['lr']} cosine over {rec['epochs']} "
                  f"epochs)", "",
                  _common.markdown_table(
                      ["impl", "reached", "epochs", "test acc", "job s (load + compile + "
                       "train + eval)", "training s after compile", "first epoch s",
                       "later epoch s"],
                      [[r["impl"], "yes" if r["reached"] else "no", r["epochs"],
                        f"{r['final_test_accuracy']:.4f}", _common.fmt(r["job_s"]),
                        _common.fmt(r.get("wall_after_compile_s")),
                        _common.fmt(r["first_epoch_s"]),
                        _common.fmt(r["later_epoch_s_median"])] for r in m["results"]]),
                  ""]
        if m.get("startup_s") is not None:
            lines += [f"- before the job: {m['startup_s']:.2f} s from the process's start "
                      "(interpreter, imports of jax, funcnet and the benchmarks, GPU "
                      "start-up)", ""]
    if payload.get("large"):
        g = payload["large"]
        lines += [f"### Large MLP {'-'.join(map(str, g['sizes']))}, batch {g['batch']}, "
                  f"bf16 matmuls, float32 params, Adam", "",
                  _common.markdown_table(
                      ["impl", "step ms", "× jax (paired)", "TFLOP/s (executed)",
                       "TFLOP/s (3x convention)", "% of bf16 matmul", "first call s",
                       "dispatch µs"],
                      [[r["impl"], _common.fmt(r["step_s"]["median"] * 1e3),
                        f"{r['ratio_to_jax']['median']:.3f}",
                        _common.fmt(r["tflops_executed"]), _common.fmt(r["tflops_3x"]),
                        f"{100 * r['fraction_of_matmul_executed']:.0f}%",
                        _common.fmt(r["first_call_s"]),
                        _common.fmt(r["dispatch_s"]["median"] * 1e6)]
                       for r in g["results"]]), "",
                  f"- bf16 {g['matmul']['n']}^3 matmul: "
                  f"{_common.fmt(g['matmul']['tflops'])} TFLOP/s "
                  f"(median {g['matmul']['seconds']['median'] * 1e3:.3f} ms)",
                  "- executed FLOPs leave out the first layer's input gradient, which XLA "
                  "does not compute; the 3x convention counts it", ""]
    lines += [f"- {line}" for line in _common.environment_lines(env)]
    lines += [f"- GPU: {g}" for g in payload.get("gpu_info", [])]
    lines.append(f"- default matmul precision: {payload.get('matmul_precision')}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/gpu"))
    parser.add_argument("--impls", default=",".join(peers.IMPLS))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--peers-big-batch", type=int, default=4096,
                        help="also run the peers table at this batch (0: skip)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--recipe", default=None,
                        help="batch,lr,epochs for the mnist part (default: the first of "
                             "RECIPES)")
    parser.add_argument("--t0", type=float, default=None,
                        help="the process's start as seconds since the epoch "
                             "(e.g. $(date +%%s.%%N)): reports the start-up time")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="tiny sizes and few rounds: checks the script runs anywhere")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    startup_s = None if args.t0 is None else time.time() - args.t0
    parts = [p for p in args.parts.split(",") if p]
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    smoke = args.cpu_smoke
    if not smoke and jax.default_backend() == "cpu":
        log("gpu: no accelerator found (jax backend is cpu); use --cpu-smoke to try the "
            "script with tiny sizes")
    payload = {"peers": [], "recipes": None, "mnist": None, "large": None,
               "gpu_info": gpu_info(),
               "environment": _common.environment(),
               "matmul_precision": str(getattr(jax.config, "jax_default_matmul_precision",
                                                       None))}
    impls = [i for i in args.impls.split(",") if i]
    if "peers" in parts:
        batches = [128] + ([args.peers_big_batch] if args.peers_big_batch and not smoke
                           else [])
        for batch in batches:
            log(f"[peers] batch {batch}")
            payload["peers"].append(peers.run_peers(
                models=("mlp",) if smoke else peers.MODELS, impls=impls, batch=batch,
                rounds=2 if smoke else args.rounds, reps=1 if smoke else None,
                warmup=1 if smoke else 3,
                matmul=(128, 128, 128) if smoke else (4096, 4096, 4096), log=log))
    if "recipes" in parts:
        payload["recipes"] = run_recipes(
            recipes=((256, 2e-3, 2), (512, 2e-3, 2)) if smoke else RECIPES,
            target=0.5 if smoke else 0.98, train_subset=3072 if smoke else None,
            data_dir=args.data_dir, log=log)
    if "mnist" in parts:
        recipe = RECIPES[0] if args.recipe is None else tuple(
            t(v) for t, v in zip((int, float, int), args.recipe.split(","), strict=True))
        payload["mnist"] = run_mnist(recipe=(128, 1e-3, 2) if smoke else recipe,
                                     target=0.5 if smoke else 0.98,
                                     train_subset=2048 if smoke else None,
                                     data_dir=args.data_dir, startup_s=startup_s, log=log)
    if "large" in parts:
        payload["large"] = (
            run_large(width=64, depth=4, batch=32, inputs=64, classes=16, matmul=128,
                      rounds=2, reps=1, warmup=1, log=log) if smoke
            else run_large(rounds=args.rounds, log=log))
    _common.finish_environment(payload["environment"])
    args.out.mkdir(parents=True, exist_ok=True)
    _common.write_json(args.out / "gpu.json", payload)
    text = markdown(payload)
    (args.out / "gpu.md").write_text(text + "\n")
    print(text)
    return payload


if __name__ == "__main__":
    main()
