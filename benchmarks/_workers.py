"""One implementation per process: :class:`ProcessDriver` runs a benchmark's training
loop in a child process, one epoch per call, with the interface of ``epoch.Driver``.

Why: a user runs one framework per process, and two in one process share it with
each other's thread pools (PyTorch's OpenMP workers, XLA's Eigen pool). Measured on the
2-core dev VM a few minutes apart (``cnn_torch.py --models cnn --samples 12800``), the
CNN epochs took 2561 ms (torch) and 3054 ms (``fit`` scan, 1.209x) with both in one
process, and 2364 and 2668 ms (1.149x) in processes of their own. With
``OMP_WAIT_POLICY=PASSIVE`` (PyTorch's idle workers sleep instead of spinning) in one
process: 2671 and 2475 ms.

The child (``serve``) answers each ``epoch`` line on its stdin with one JSON line:
``{"seconds": ..., "row": {...}, "finished": ...}`` (or ``{"error": ...}``). Anything
else the training loop prints goes to stderr.
"""

from __future__ import annotations

import json
import numbers
import subprocess
import sys


class ProcessDriver:
    """``epoch.Driver``'s interface over a child started with ``argv``, which runs
    :func:`serve`."""

    def __init__(self, argv):
        self.rows = []
        self.finished = False
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)

    def epoch(self) -> float:
        """Run one epoch in the child; returns its wall seconds, timed there."""
        if self.finished:
            raise RuntimeError("ProcessDriver: the training loop has already finished")
        self._proc.stdin.write("epoch\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"ProcessDriver: the worker exited with code "
                               f"{self._proc.wait()} (its stderr is above)")
        message = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"ProcessDriver: the worker failed: {message['error']}")
        self.rows.append(message["row"])
        self.finished = message["finished"]
        return message["seconds"]

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.write("close\n")
            self._proc.stdin.close()
        self._proc.wait()


def _plain(row) -> dict:
    return {k: float(v) for k, v in (row or {}).items() if isinstance(v, numbers.Real)}


def serve(driver) -> None:
    """The child's side: one ``driver.epoch()`` per ``epoch`` line on stdin."""
    protocol, sys.stdout = sys.stdout, sys.stderr  # the loop's own prints stay off it
    try:
        for line in sys.stdin:
            if line.strip() != "epoch":
                break
            try:
                seconds = driver.epoch()
                message = {"seconds": seconds, "row": _plain(driver.rows[-1]),
                           "finished": driver.finished}
            except BaseException as err:  # noqa: BLE001 (handed to the parent)
                message = {"error": repr(err)}
            protocol.write(json.dumps(message) + "\n")
            protocol.flush()
    finally:
        driver.close()
