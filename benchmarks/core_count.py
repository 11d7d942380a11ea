"""Does the number of CPU cores change fit's bits, and what does the flag that stops it cost?

XLA:CPU hands some reductions (a column sum such as a bias gradient, a large total) to
YNNPACK, which splits them over a thread pool as large as the cores the process may use,
so the order of the floating-point sums, and the last bits, follow the core count. With
``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=individual_dot,individual_convolution``
YNNPACK keeps the matmuls and convolutions (whose results did not depend on the core
count here) and XLA's own code does the reductions, in one order.

Bits: each setting runs in processes of its own (XLA reads its flags once), pinned to
the first 1 or all of the cores this process may use. Every child trains three jobs with
``fit`` from the same seeds and saves every leaf of params, state and optimizer state:

* ``spirals``: the model of ``tests/test_determinism.py``;
* ``mlp``: 784-512-512-10 ReLU, Adam, batch 128, 2,048 random samples, one epoch;
* ``cnn``: conv3x3x8-pool-dense10, Adam, batch 64, 256 random 28x28 images, one epoch;

and the table counts the leaves that differ between 1 core and all cores.

Cost: the same option can be given to one compilation
(``jitted.lower(...).compile({"xla_cpu_experimental_ynn_fusion_type": ...})``), so this
process (all cores) compiles ``make_step`` for the MLP and a small CNN both ways and
times them round-robin (``_common.interleaved``): medians and paired ratios.

    PYTHONPATH=. python benchmarks/core_count.py --markdown [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

FLAG = "--xla_cpu_experimental_ynn_fusion_type=individual_dot,individual_convolution"
# the same setting as a compiler option of one compilation
OPTION = {"xla_cpu_experimental_ynn_fusion_type":
          "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"}


def _child(cores: int, out: str) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, set(allowed[:cores]))  # before jax makes its thread pool
    import jax
    import numpy as np

    import funcnet as fn
    from funcnet import data, optim

    leaves = {}
    x, y = data.spirals(classes=3, points=40, seed=1)
    model = fn.Sequential([fn.Dense(32), fn.relu, fn.Dropout(0.2), fn.Dense(32),
                           fn.BatchNorm(), fn.relu, fn.Dense(3)])
    jobs = [("spirals", model, (2,), (x, y), 3, 16)]
    rng = np.random.default_rng(0)
    mlp = fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(512), fn.relu, fn.Dense(10)])
    xm = rng.normal(size=(2048, 784)).astype(np.float32)
    ym = rng.integers(0, 10, 2048).astype(np.int32)
    jobs.append(("mlp", mlp, (784,), (xm, ym), 1, 128))
    cnn = fn.Sequential([fn.Conv2D(8, 3), fn.relu, fn.MaxPool2D(2), fn.Flatten(),
                         fn.Dense(10)])
    xc = rng.normal(size=(256, 28, 28, 1)).astype(np.float32)
    jobs.append(("cnn", cnn, (28, 28, 1), (xc, ym[:256]), 1, 64))
    for name, net, shape, train, epochs, batch in jobs:
        params, state = net.init(jax.random.key(0), shape)
        result = fn.fit(net, params, state, optim.adam(1e-3), train, epochs=epochs,
                        batch_size=batch, key=jax.random.key(1))
        for i, leaf in enumerate(jax.tree.leaves(result[:3])):
            leaves[f"{name}/{i}"] = np.asarray(leaf)
    np.savez(out, **leaves)
    print(json.dumps({"threads": len(os.sched_getaffinity(0))}))


def _spawn(cores, flags, out):
    env = dict(os.environ, XLA_FLAGS=flags)
    result = subprocess.run([sys.executable, __file__, "--child", str(cores), out],
                            env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"child (cores={cores}, XLA_FLAGS={flags!r}) failed:\n"
                         f"{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _compare(a_path, b_path):
    import numpy as np

    with np.load(a_path) as a, np.load(b_path) as b:
        jobs = sorted({k.split("/")[0] for k in a.files})
        out = {}
        for job in jobs:
            keys = [k for k in a.files if k.startswith(job + "/")]
            differ = [k for k in keys if a[k].tobytes() != b[k].tobytes()]
            worst = max((float(np.max(np.abs(a[k].astype(float) - b[k].astype(float))))
                         for k in differ), default=0.0)
            out[job] = (len(differ), len(keys), worst)
    return out


def _steps(rounds):
    """Per-step seconds of make_step compiled with and without OPTION, round-robin."""
    import _common
    import jax
    import numpy as np

    import funcnet as fn
    from funcnet import optim

    rng = np.random.default_rng(0)
    models = {
        "MLP 784-512-512-10, batch 128": (
            fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(512), fn.relu, fn.Dense(10)]),
            rng.normal(size=(128, 784)).astype(np.float32)),
        "CNN conv3x3x8-pool-dense10, batch 64": (
            fn.Sequential([fn.Conv2D(8, 3), fn.relu, fn.MaxPool2D(2), fn.Flatten(),
                           fn.Dense(10)]),
            rng.normal(size=(64, 28, 28, 1)).astype(np.float32))}
    cases = {}
    for name, (model, x) in models.items():
        batch = (x, rng.integers(0, 10, len(x)).astype(np.int32))
        opt = optim.adam(1e-3)
        step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", opt)
        for setting, options in (("default", None), ("flag", OPTION)):
            params, state = model.init(jax.random.key(0), x.shape[1:])
            carry = [params, state, opt.init(params)]
            key = jax.random.key(1)
            compiled = step.lower(*carry, batch, key).compile(options)

            def run(compiled=compiled, carry=carry, batch=batch, key=key):
                out = compiled(*carry, batch, key)
                carry[:] = out[:3]  # the step donated the old buffers
                return out[3]

            cases[name, setting] = run
    samples = _common.interleaved(cases, rounds=rounds, reps=10, warmup=3)
    rows = []
    for name in models:
        base, flag = samples[name, "default"]["seconds"], samples[name, "flag"]["seconds"]
        ratio = _common.paired_ratio(flag, base)
        rows.append([name, _common.fmt(1e3 * _common.median(base)),
                     _common.fmt(1e3 * _common.median(flag)),
                     f"{ratio['median']:.3f} ({ratio['p25']:.3f}-{ratio['p75']:.3f})"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timing rounds")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("CORES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(int(args.child[0]), args.child[1])
    import _common
    import jax  # noqa: F401  (so the environment line names its version)

    env = _common.environment()
    most = len(os.sched_getaffinity(0))
    if most < 2:
        raise SystemExit("core_count.py needs at least 2 cores to compare 1 with more")
    settings = {"default": "", "flag": FLAG}
    with tempfile.TemporaryDirectory() as tmp:
        compared = {}
        for setting, flags in settings.items():
            paths = [os.path.join(tmp, f"{setting}-{cores}.npz") for cores in (1, most)]
            for cores, path in zip((1, most), paths, strict=True):
                _spawn(cores, flags, path)
            compared[setting] = _compare(*paths)
    steps = _steps(args.rounds)
    rows = [[s, job, f"{differ} of {total}", _common.fmt(worst)]
            for s in settings for job, (differ, total, worst) in compared[s].items()]
    lines = [f"1 core against {most} cores; the flag is `XLA_FLAGS={FLAG}`", "",
             _common.markdown_table(["XLA_FLAGS", "job", "leaves that differ",
                                     "largest difference"], rows), "",
             f"make_step, Adam, {most} cores, {args.rounds} rounds of 10 steps:", "",
             _common.markdown_table(["step", "default ms", "flag ms",
                                     "flag / default (paired, IQR)"], steps),
             "", *_common.environment_lines(_common.finish_environment(env))]
    print("\n".join(lines) if args.markdown else json.dumps(
        {"compared": compared, "steps": steps, "env": env}, indent=2))


if __name__ == "__main__":
    main()
