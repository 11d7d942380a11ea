"""The benchmark scripts run end to end and print the tables they promise.

Only the implementations every test environment has (funcnet, plain jax) and tiny round
counts: these check that the scripts work, never how fast anything is.
"""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(script, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _table_rows(markdown):
    """The cells of each markdown table row, header and rule lines left out."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:] if rows else rows


def test_peers_quick_table_has_funcnet_and_plain_jax_rows():
    out = _run("peers.py", "--quick", "--models", "mlp", "--impls", "funcnet,jax",
               "--rounds", "2", "--matmul", "64,64,64", "--markdown")
    rows = _table_rows(out)
    assert [(r[0], r[1]) for r in rows] == [("mlp", "jax"), ("mlp", "funcnet")]
    jax_row = rows[0]
    assert jax_row[5] == "1.000"  # the baseline's paired ratio to itself
    assert "GFLOP/s" in out and "matmul 64x64 @ 64x64" in out


def test_epoch_quick_table_has_all_four_training_loops():
    out = _run("epoch.py", "--quick", "--tasks", "xor", "--small-rounds", "2",
               "--markdown")
    rows = _table_rows(out)
    assert [(r[0], r[2]) for r in rows] == [
        ("xor", "fit-scan"), ("xor", "fit-loop"), ("xor", "jax-scan"), ("xor", "jax-loop")]
    assert {r[1] for r in rows} == {"4"}


def test_step_cost_quick_ladder_starts_at_plain_jax_and_ends_at_funcnet():
    out = _run("step_cost.py", "--quick", "--markdown")
    rows = _table_rows(out)
    names = [r[0] for r in rows]
    assert names[0] == "jax" and rows[0][2] == "1.000" and rows[0][5] == "1.000"
    assert names[-2:] == ["funcnet", "funcnet-noguard"]
    assert all(int(r[3]) > 0 for r in rows)  # an HLO op count for every jitted step


def test_step_cost_times_only_the_named_rungs_against_the_baseline():
    out = _run("step_cost.py", "--quick", "--markdown",
               "--rung", "lean + funcnet-adam, rate in state", "--baseline", "lean + funcnet-adam")
    rows = _table_rows(out)
    assert [r[0] for r in rows] == ["jax", "lean + funcnet-adam",
                                    "lean + funcnet-adam, rate in state"]
    assert rows[1][2] == "1.000" and rows[1][5] == "1.000"
    assert "× lean + funcnet-adam" in out


def test_gpu_script_cpu_smoke_prints_every_part(tmp_path):
    out = _run("gpu.py", "--cpu-smoke", "--impls", "funcnet,jax", "--out", str(tmp_path))
    for heading in ("### Peers, batch 128", "### MNIST recipes on a validation split",
                    "### MNIST MLP to 50% test accuracy", "### Large MLP"):
        assert heading in out
    assert "chosen: batch" in out
    assert (tmp_path / "gpu.json").exists() and (tmp_path / "gpu.md").exists()
