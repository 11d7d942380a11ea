"""Shared by the benchmark scripts: interleaved timing, medians, paired ratios, tables.

Timing discipline (every script follows it):

* everything is compiled and run once before any clock starts (warm-up);
* the implementations are timed round-robin, one sample each per round, with the order
  rotated every round, so a slow spell of the machine hits every implementation alike;
* a sample runs ``reps`` calls back to back and then blocks on the last result
  (``jax.block_until_ready``), so it measures throughput as a training loop sees it;
  the time for the *first* call of a sample to return (before blocking) is recorded
  as the host dispatch time;
* the summary is the median over rounds, and each implementation's ratio to the
  baseline is the median of its per-round ratios (paired: both from the same round).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import numpy as np


def block(tree):
    """Wait for every array in ``tree`` (imported lazily so NumPy-only callers work)."""
    import jax

    return jax.block_until_ready(tree)


def time_first_call(fn):
    """Seconds for ``fn()`` to return and its result to be ready (trace + compile + run)."""
    start = time.perf_counter()
    block(fn())
    return time.perf_counter() - start


def interleaved(cases: dict, rounds: int, reps: int = 1, warmup: int = 1,
                blocker=block, progress: bool = False) -> dict:
    """Time each zero-argument callable in ``cases`` round-robin.

    Args:
        cases: name -> ``fn()`` returning something to block on (it may advance a state
            it keeps itself, like a training step).
        rounds: samples per case.
        reps: calls per sample; the sample is the mean seconds per call.
        warmup: untimed calls per case before the first round.
        blocker: waits for a result (``jax.block_until_ready``; identity for NumPy).
        progress: print a dot per round to stderr.

    Returns:
        name -> ``{"seconds": [per-call seconds per round], "dispatch": [seconds for the
        first call of each sample to return]}``.
    """
    names = list(cases)
    for name in names:
        for _ in range(warmup):
            blocker(cases[name]())
    out = {name: {"seconds": [], "dispatch": []} for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = cases[name]
            start = time.perf_counter()
            result = fn()
            returned = time.perf_counter()
            for _ in range(reps - 1):
                result = fn()
            blocker(result)
            end = time.perf_counter()
            out[name]["seconds"].append((end - start) / reps)
            out[name]["dispatch"].append(returned - start)
        if progress:
            print(".", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return out


def summarize(samples: list) -> dict:
    """Median and quartiles of a list of seconds."""
    arr = np.asarray(samples, dtype=float)
    return {"median": float(np.median(arr)), "p25": float(np.percentile(arr, 25)),
            "p75": float(np.percentile(arr, 75)), "n": int(arr.size)}


def paired_ratio(samples: list, baseline: list) -> dict:
    """Median (and quartiles) of the per-round ratios ``samples[r] / baseline[r]``."""
    ratios = np.asarray(samples, dtype=float) / np.asarray(baseline, dtype=float)
    return {"median": float(np.median(ratios)), "p25": float(np.percentile(ratios, 25)),
            "p75": float(np.percentile(ratios, 75))}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def environment() -> dict:
    """What the numbers depend on: versions, device, CPU, cores, load, BLAS env vars."""
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
    }
    if "jax" in sys.modules:
        import jax

        env["jax"] = jax.__version__
        env["backend"] = jax.default_backend()
        env["devices"] = [str(d.device_kind) for d in jax.devices()]
    return env


def finish_environment(env: dict) -> dict:
    """Add the load average at the end of the run to ``env`` (from :func:`environment`)."""
    env["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return env


def environment_lines(env: dict) -> list:
    lines = [f"{env['date']}, {env['cpu']} ({env['cores']} cores), python {env['python']}, "
             f"numpy {env['numpy']}" + (f", jax {env['jax']} on {env['backend']} "
                                        f"({', '.join(sorted(set(env['devices'])))})"
                                        if "jax" in env else "")]
    for when in ("start", "end"):
        if env.get(f"loadavg_at_{when}"):
            load = ", ".join(f"{v:.2f}" for v in env[f"loadavg_at_{when}"])
            lines.append(f"load average (1, 5, 15 min) at the {when}: {load}")
    if env.get("OPENBLAS_CORETYPE") or env.get("OPENBLAS_L2_SIZE"):
        lines.append(f"note: OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE')} "
                     f"OPENBLAS_L2_SIZE={env.get('OPENBLAS_L2_SIZE')} are set; they slow "
                     f"NumPy's BLAS on this processor")
    threads = {k: env.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if env.get(k)}
    if threads:
        lines.append("thread settings: " + ", ".join(f"{k}={v}" for k, v in threads.items()))
    return lines


def markdown_table(header: list, rows: list) -> str:
    """A GitHub markdown table; ``None`` cells print as an en dash."""
    def cell(v):
        return "–" if v is None else str(v)

    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value, digits=3):
    """Round to ``digits`` significant figures for a table (``None`` stays ``None``)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"


def write_json(path, payload) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def median(values):
    return statistics.median(values) if values else None
