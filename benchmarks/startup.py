"""Where the seconds before training go: a breakdown of a cold MNIST job's start.

Times, in one fresh process: importing jax, starting the device, the first allocation,
importing funcnet, loading MNIST from the idx files, moving the training set to the
device, compiling ``fit``'s epoch and evaluator (ahead of time, through
``jax.jit(...).lower(...).compile()`` on the same functions), and then the first
``fit`` epoch itself. Run it under different ``XLA_FLAGS`` / ``XLA_PYTHON_CLIENT_*``
settings to see which part each one moves.

    PYTHONPATH=. python benchmarks/startup.py --batch-size 1024
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    marks = {}

    def mark(name, since):
        marks[name] = time.perf_counter() - since
        return time.perf_counter()

    t = time.perf_counter()
    import jax
    import jax.numpy as jnp
    t = mark("import jax", t)
    jax.devices()
    t = mark("device start-up (jax.devices)", t)
    jnp.zeros(1).block_until_ready()
    t = mark("first allocation", t)
    import funcnet as fn
    from funcnet import data, optim
    t = mark("import funcnet", t)
    (x, y), (x_test, y_test) = data.mnist(layout="flat")
    t = mark("load MNIST (idx.gz -> float32)", t)
    jax.device_put((x, y, x_test, y_test))
    jax.block_until_ready(jax.device_put(x))
    t = mark("move train + test to the device", t)
    model = fn.Sequential([fn.Dense(512, w_init="he_normal"), fn.relu,
                           fn.Dense(512, w_init="he_normal"), fn.relu, fn.Dense(10)])
    params, state = model.init(jax.random.key(0), (784,))
    steps = 1 * -(-len(x) // args.batch_size)
    tx = optim.adam(optim.cosine_decay_schedule(args.lr, steps))
    t = mark("build model + init", t)
    result = fn.fit(model, params, state, tx, (x, y), epochs=1, batch_size=args.batch_size,
                    key=jax.random.key(1), eval_data=(x_test, y_test), progress=False)
    t = mark("first fit epoch (compile + run + eval)", t)
    result = fn.fit(model, result.params, result.state, tx, (x, y), epochs=1,
                    batch_size=args.batch_size, key=jax.random.key(2),
                    eval_data=(x_test, y_test), progress=False)
    t = mark("a second fit call (new compile of the same shapes)", t)
    env = {k: os.environ.get(k) for k in ("XLA_FLAGS", "XLA_PYTHON_CLIENT_PREALLOCATE",
                                          "XLA_PYTHON_CLIENT_ALLOCATOR",
                                          "JAX_COMPILATION_CACHE_DIR") if os.environ.get(k)}
    print(json.dumps({"env": env, "seconds": {k: round(v, 3) for k, v in marks.items()},
                      "backend": jax.default_backend()}))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"env": env, "seconds": marks}) + "\n")


if __name__ == "__main__":
    main()
