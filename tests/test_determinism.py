"""Same seed, same bits: two separate processes train to bit-identical params on CPU,
and, with the XLA flag the README gives, on another core count, resumed or not."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import hashlib
    import jax, numpy as np
    import funcnet as fn
    from funcnet import data, optim
    x, y = data.spirals(classes=3, points=40, seed=1)
    model = fn.Sequential([fn.Dense(32), fn.relu, fn.Dropout(0.2), fn.Dense(32),
                           fn.BatchNorm(), fn.relu, fn.Dense(3)])
    params, state = model.init(jax.random.key(0), (2,))
    out = fn.fit(model, params, state, optim.adam(1e-2), (x, y), epochs=3, batch_size=16,
                 key=jax.random.key(1))
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves((out.params, out.state, out.opt_state)):
        digest.update(np.asarray(leaf).tobytes())
    print(digest.hexdigest())
""")


def _run():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


@pytest.mark.slow
def test_two_processes_give_bit_identical_params():
    first, second = _run(), _run()
    assert len(first) == 64
    assert first == second


# XLA:CPU lets YNNPACK split some reductions (a bias gradient's column sum) over a thread
# pool as large as the cores the process may use, so the last bits follow the core count;
# this flag leaves the reductions to XLA's own code, in one order (README, determinism).
CORE_COUNT_FLAGS = "--xla_cpu_experimental_ynn_fusion_type=individual_dot,individual_convolution"

CORES_SCRIPT = textwrap.dedent("""
    import hashlib, os, sys
    cores, folder = int(sys.argv[1]), sys.argv[2]
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))  # before jax
    import jax, numpy as np
    import funcnet as fn
    from funcnet import optim
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = rng.integers(0, 3, 256).astype(np.int32)
    # Dense(512) at batch 128: its bias gradient is a reduction YNNPACK would split
    model = fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(3)])
    params, state = model.init(jax.random.key(0), (8,))
    out = fn.fit(model, params, state, optim.adam(1e-3), (x, y), epochs=2, batch_size=128,
                 key=jax.random.key(1), checkpoint_dir=folder)
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves((out.params, out.state, out.opt_state)):
        digest.update(np.asarray(leaf).tobytes())
    print(len(os.sched_getaffinity(0)), digest.hexdigest())
""")


def _run_on(cores, folder, flags):
    env = {**os.environ, "XLA_FLAGS": flags}
    result = subprocess.run([sys.executable, "-c", CORES_SCRIPT, str(cores), str(folder)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    threads, digest = result.stdout.split()
    assert int(threads) == cores
    return digest


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity")
                    or len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores to pin to")
@pytest.mark.slow
def test_with_the_flag_a_run_resumed_on_another_core_count_is_bit_identical(tmp_path):
    # 2 epochs on 2 cores, checkpointed after each; the epoch-2 checkpoint removed, the
    # run resumed on 1 core: its epoch 2 must give the 2-core run's bits. (Without the
    # flag, on jax 0.10.2, the two differ.)
    on_two = _run_on(2, tmp_path, CORE_COUNT_FLAGS)
    (tmp_path / "ckpt_000002.npz").unlink()
    assert _run_on(1, tmp_path, CORE_COUNT_FLAGS) == on_two
