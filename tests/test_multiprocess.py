"""``fit`` across processes: two processes on this machine, 2 CPU devices each, joined by
``jax.distributed`` over a localhost coordinator with gloo collectives, train over the
4-device data mesh and match one process on one device; checkpoints are written once
(by process 0) and resumed by both."""

import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

WORKER = pathlib.Path(__file__).with_name("multiprocess_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_like_one_and_write_each_checkpoint_once(tmp_path):
    port = str(_free_port())
    ckpt = tmp_path / "checkpoints"
    runs = {name: [sys.executable, str(WORKER), *args]
            for name, args in {
                "single": ["0", "1", port, "-", str(tmp_path / "single.npz")],
                "p0": ["0", "2", port, str(ckpt), str(tmp_path / "p0.npz")],
                "p1": ["1", "2", port, str(ckpt), str(tmp_path / "p1.npz")]}.items()}
    procs = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True) for name, cmd in runs.items()}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{name} failed:\n{out[-3000:]}"
    single, *parts = (np.load(tmp_path / f"{n}.npz") for n in ("single", "p0", "p1"))
    assert int(single["devices"]) == 2 and all(int(p["devices"]) == 4 for p in parts)
    names = sorted(k for k in single.files if k.startswith("param "))
    assert names == sorted(k for k in parts[0].files if k.startswith("param "))
    for part in parts:
        for name in names:
            # float32: the mesh sums each gradient in another order, nothing more
            np.testing.assert_allclose(part[name], single[name], rtol=2e-6, atol=2e-7,
                                       err_msg=name)
        np.testing.assert_allclose(part["losses"], single["losses"], rtol=2e-6)
        # the resumed run kept the first run's two epochs and added the third
        np.testing.assert_array_equal(part["losses"][:2], part["first_losses"])
    # process 0 wrote epochs 1, 2 and then 3; process 1 wrote nothing
    assert parts[0]["writes"].tolist() == [1, 2, 3]
    assert parts[1]["writes"].tolist() == []
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "ckpt_000001.npz", "ckpt_000002.npz", "ckpt_000003.npz"]
