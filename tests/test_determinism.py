"""Same seed, same bits: two separate processes train to bit-identical params on CPU."""

import subprocess
import sys
import textwrap

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


def test_two_processes_give_bit_identical_params():
    first, second = _run(), _run()
    assert len(first) == 64
    assert first == second
