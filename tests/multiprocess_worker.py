"""One process of tests/test_multiprocess.py: ``fit`` under ``jax.distributed``.

    python tests/multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT CHECKPOINT_DIR OUT

With NUM_PROCESSES 1 it trains without a mesh on one device (the single-process truth).
Otherwise it joins the coordinator on localhost:PORT, sees 2 CPU devices of its own and
all processes' devices through gloo collectives, and trains over the global data mesh:
first 2 epochs with checkpoints, then again to 3 epochs, which resumes from the
checkpoint of epoch 2. It writes its final params, both histories and how many
checkpoints it wrote itself to OUT (an .npz).
"""

import os
import sys

process_id, processes, port, checkpoint_dir, out = sys.argv[1:6]
process_id, processes = int(process_id), int(processes)
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402

if processes > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}",
                               num_processes=processes, process_id=process_id)

import numpy as np  # noqa: E402

import funcnet as fn  # noqa: E402
from funcnet import checkpoint, data, optim  # noqa: E402

writes = []
real_save_step = checkpoint.save_step


def counting_save_step(*args, **kwargs):
    writes.append(args[1])
    return real_save_step(*args, **kwargs)


checkpoint.save_step = counting_save_step

x, y = data.spirals(classes=3, points=40, seed=0)
model = fn.Sequential([fn.Dense(8), fn.relu, fn.Dense(3)])
params, state = model.init(jax.random.key(0), (2,))
mesh = jax.make_mesh((jax.device_count(),), ("data",)) if processes > 1 else None
# batch 30 over 4 devices does not divide evenly: masked fillers widen it to 32
common = dict(batch_size=30, key=jax.random.key(1), mesh=mesh, mode="scan")
if processes > 1:
    first = fn.fit(model, params, state, optim.adam(1e-2), (x, y), epochs=2,
                   checkpoint_dir=checkpoint_dir, **common)
    result = fn.fit(model, params, state, optim.adam(1e-2), (x, y), epochs=3,
                    checkpoint_dir=checkpoint_dir, **common)
    first_losses = first.history["train_loss"]
else:
    result = fn.fit(model, params, state, optim.adam(1e-2), (x, y), epochs=3, **common)
    first_losses = result.history["train_loss"][:2]
leaves = {jax.tree_util.keystr(path): np.asarray(leaf)
          for path, leaf in jax.tree_util.tree_leaves_with_path(result.params)}
np.savez(out, devices=jax.device_count(), writes=np.asarray(writes, np.int64),
         first_losses=np.asarray(first_losses), losses=np.asarray(result.history["train_loss"]),
         **{f"param {k}": v for k, v in leaves.items()})
