"""Smoke check of the benchmark scripts: each runs end to end and prints its tables.

Not part of the test suite (benchmarks never are: a loaded machine must not fail a
test), but a step of ``.ci/run`` of its own, with no time limit. Only the
implementations every environment has (funcnet, plain jax) and tiny round counts:
this checks that the scripts work, never how fast anything is.

    python benchmarks/smoke.py            # every check
    python benchmarks/smoke.py peers      # one of them (peers: mlp, then gpt and lstm)
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


class SmokeFailure(AssertionError):
    pass


def _run(script, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SmokeFailure(f"{script} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


def _expect(condition, what, out):
    if not condition:
        raise SmokeFailure(f"expected {what}; the script printed:\n{out[-3000:]}")


def _table_rows(markdown):
    """The cells of each markdown table row, header and rule lines left out."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:] if rows else rows


def peers():
    out = _run("peers.py", "--quick", "--models", "mlp", "--impls", "funcnet,jax",
               "--rounds", "2", "--matmul", "64,64,64", "--markdown")
    rows = _table_rows(out)
    _expect([(r[0], r[1]) for r in rows] == [("mlp", "jax"), ("mlp", "funcnet")],
            "rows mlp/jax then mlp/funcnet", out)
    _expect(rows[0][5] == "1.000", "the baseline's paired ratio to itself, 1.000", out)
    _expect("GFLOP/s" in out and "matmul 64x64 @ 64x64" in out, "the FLOP-rate line", out)
    _peers_sequence()


def _peers_sequence():
    out = _run("peers.py", "--quick", "--models", "gpt,lstm", "--impls", "funcnet,jax",
               "--rounds", "2", "--matmul", "64,64,64", "--markdown")
    rows = _table_rows(out)
    _expect([(r[0], r[1]) for r in rows] == [("gpt", "jax"), ("gpt", "funcnet"),
                                             ("lstm", "jax"), ("lstm", "funcnet")],
            "rows gpt/jax, gpt/funcnet, lstm/jax, lstm/funcnet", out)
    _expect(rows[0][5] == "1.000" and rows[2][5] == "1.000",
            "each baseline's paired ratio to itself, 1.000", out)
    _expect(all(float(r[8]) > 0 for r in rows), "a FLOP rate in every row", out)
    _expect("- batch 64," in out, "the sequence models' batch, 64", out)


def epoch():
    out = _run("epoch.py", "--quick", "--tasks", "xor", "--small-rounds", "2", "--markdown")
    rows = _table_rows(out)
    _expect([(r[0], r[2]) for r in rows] == [("xor", "fit-scan"), ("xor", "fit-loop"),
                                             ("xor", "jax-scan"), ("xor", "jax-loop")],
            "the four training loops on xor", out)
    _expect({r[1] for r in rows} == {"4"}, "batch size 4 in every row", out)


def step_cost():
    out = _run("step_cost.py", "--quick", "--markdown")
    rows = _table_rows(out)
    names = [r[0] for r in rows]
    _expect(names[0] == "jax" and rows[0][2] == "1.000" and rows[0][5] == "1.000",
            "the ladder to start at plain jax with ratio 1.000", out)
    _expect(names[-5:] == ["funcnet", "funcnet-noguard", "funcnet, health off",
                           "funcnet, health every 10", "funcnet, health every 1"],
            "funcnet's rows, then the health record's, last", out)
    _expect(all(int(r[3]) > 0 for r in rows), "an HLO op count for every jitted step", out)


def step_cost_rungs():
    out = _run("step_cost.py", "--quick", "--markdown", "--rung",
               "lean + funcnet-adam, rate in state", "--baseline", "lean + funcnet-adam")
    rows = _table_rows(out)
    _expect([r[0] for r in rows] == ["jax", "lean + funcnet-adam",
                                     "lean + funcnet-adam, rate in state"],
            "only the named rungs after plain jax", out)
    _expect(rows[1][2] == "1.000" and rows[1][5] == "1.000", "the baseline rung at 1.000", out)
    _expect("× lean + funcnet-adam" in out, "ratios against the named baseline", out)


def cnn_torch():
    out = _run("cnn_torch.py", "--quick", "--impls", "fit-scan,fit-loop", "--samples", "256",
               "--markdown")
    rows = _table_rows(out)
    _expect([(r[0], r[1]) for r in rows] == [("cnn", "fit-scan"), ("cnn", "fit-loop"),
                                             ("mlp", "fit-scan"), ("mlp", "fit-loop")],
            "rows cnn then mlp, fit-scan then fit-loop", out)
    _expect(all(r[6] in ("scan", "loop") for r in rows), "the mode fit's auto picks", out)


def conv_paths():
    out = _run("conv_paths.py", "--quick", "--markdown")
    rows = [r for r in _table_rows(out) if r[0] != "N"]  # two tables, two header rows
    _expect([(r[1], r[2], r[7]) for r in rows] == [("5", "16", "taps"), ("11", "4", "conv"),
                                                   ("3", "4 -> 8", "phases"),
                                                   ("3", "32 -> 8", "conv")],
            "the quick shapes of both tables, each form picked where it wins", out)


def guard_cost():
    out = _run("guard_cost.py", "--quick", "--markdown")
    rows = _table_rows(out)
    forms = ["no guard", "fit", "per-step skip", "report-only, boolean flag"]
    _expect([(r[0], r[1]) for r in rows] == [(m, f) for m in ("cnn", "mlp") for f in forms],
            "the four guard forms for the cnn, then the mlp", out)
    _expect(rows[0][4] == "1.000" and rows[4][4] == "1.000",
            "each model's baseline (no guard) at 1.000", out)


def gpu():
    with tempfile.TemporaryDirectory() as tmp:
        out = _run("gpu.py", "--cpu-smoke", "--impls", "funcnet,jax", "--out", tmp)
        for heading in ("### Peers, batch 128", "### MNIST recipes on a validation split",
                        "### MNIST MLP to 50% test accuracy", "### Large MLP"):
            _expect(heading in out, f"the heading {heading!r}", out)
        _expect("chosen: batch" in out, "the chosen recipe", out)
        _expect((pathlib.Path(tmp) / "gpu.json").exists()
                and (pathlib.Path(tmp) / "gpu.md").exists(), "gpu.json and gpu.md", out)


CHECKS = {"peers": peers, "epoch": epoch, "step_cost": step_cost,
          "step_cost_rungs": step_cost_rungs, "cnn_torch": cnn_torch,
          "conv_paths": conv_paths, "guard_cost": guard_cost, "gpu": gpu}


def main(argv=None):
    names = (argv if argv is not None else sys.argv[1:]) or list(CHECKS)
    unknown = set(names) - set(CHECKS)
    if unknown:
        raise SystemExit(f"smoke: unknown check(s) {sorted(unknown)}; known: {list(CHECKS)}")
    failed = []
    for name in names:
        try:
            CHECKS[name]()
            print(f"smoke: {name} ok", flush=True)
        except SmokeFailure as error:
            failed.append(name)
            print(f"smoke: {name} FAILED: {error}", flush=True)
    print(f"smoke: {len(names) - len(failed)} of {len(names)} benchmark scripts ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
