"""Data-parallel fit on 4 (simulated) CPU devices equals the 1-device run.

The device count is fixed when jax starts, so the check runs in a fresh interpreter
with XLA_FLAGS=--xla_force_host_platform_device_count=4.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import jax, numpy as np, optax
    import funcnet as fn
    jax.config.update("jax_enable_x64", True)
    assert jax.device_count() == 4, jax.devices()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    model = fn.Sequential([fn.Dense(8, param_dtype=np.float64), fn.tanh,
                           fn.Dense(2, param_dtype=np.float64)])
    params, state = model.init(jax.random.key(0), (3,))
    mesh = jax.make_mesh((4,), ("data",))
    # batch 10 does not divide over 4 devices: each batch is widened with masked fillers
    for mode in ("scan", "loop"):
        one = fn.fit(model, params, state, optax.adam(0.01), (x, y), epochs=1,
                     batch_size=10, key=jax.random.key(1), mode=mode)
        four = fn.fit(model, params, state, optax.adam(0.01), (x, y), epochs=1,
                      batch_size=10, key=jax.random.key(1), mode=mode, mesh=mesh)
        leaf = four.params["dense_0"]["w"]
        assert len(leaf.sharding.device_set) == 4, leaf.sharding
        for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        assert abs(one.history["train_loss"][0] - four.history["train_loss"][0]) < 1e-12
    print("OK")
""")


@pytest.mark.slow
def test_four_devices_match_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
