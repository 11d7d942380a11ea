"""Child process for the SIGKILL test of ``funcnet.checkpoint.save`` (not a test module).

Run as ``python checkpoint_writer.py PATH``. It imports funcnet once, then obeys lines
on stdin, so that each trial costs a fork rather than a fresh interpreter:

* ``spawn GEN``: fork a writer that saves ``tree_for(g)`` with metadata ``{"gen": g}``
  to PATH for g = GEN + 1, GEN + 2, ... until it is killed; print its pid.
* ``reap PID``: wait for that writer and print how it ended (``signal N`` or ``exit N``).
* ``quit``: exit.

The writer only handles numpy arrays, so jax never starts its (threaded) backend here
and forking is safe.
"""

from __future__ import annotations

import os
import sys

import numpy as np

LEAF_SIZE = 1 << 18  # float32 elements: 1 MiB per leaf, 4 MiB per checkpoint


def tree_for(gen: int) -> dict:
    """The tree saved as generation ``gen``: every element differs between generations."""
    base = np.arange(LEAF_SIZE, dtype=np.float32)
    return {
        "params": {f"w{i}": (base * (i + 1) + np.float32(gen)).reshape(512, 512)
                   for i in range(4)},
        "step": np.asarray(gen, dtype=np.int32),
        "key": np.asarray([gen, gen + 1], dtype=np.uint32),
    }


def _write_forever(path: str, gen: int) -> None:
    from funcnet import checkpoint

    while True:
        gen += 1
        checkpoint.save(path, tree_for(gen), {"gen": gen})


def main(path: str) -> None:
    from funcnet import checkpoint  # noqa: F401  (imported once, before any fork)

    print("ready", flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "spawn":
            pid = os.fork()
            if pid == 0:
                try:
                    _write_forever(path, int(arg))
                finally:
                    os._exit(1)
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(arg), 0)
            if os.WIFSIGNALED(status):
                print(f"signal {os.WTERMSIG(status)}", flush=True)
            else:
                print(f"exit {os.WEXITSTATUS(status)}", flush=True)
        elif command == "quit":
            return


if __name__ == "__main__":
    main(sys.argv[1])
