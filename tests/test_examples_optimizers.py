"""Smoke test: examples/optimizers.py --quick runs, prints its table and writes its PNGs."""

from __future__ import annotations

import pytest
from helpers import load_example


@pytest.mark.slow
def test_quick_run_writes_one_picture_per_surface(tmp_path, capsys):
    example = load_example("optimizers")
    results = example.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out

    surfaces = [surface.name for surface in example.SURFACES]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s}.png" for s in surfaces)
    for surface in surfaces:
        png = (tmp_path / f"{surface}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert set(results) == {(s, o) for s in surfaces for o in example.OPTIMIZERS}
    for (surface, name), row in results.items():
        line = next(ln for ln in printed.splitlines() if ln.split()[:2] == [surface, name])
        assert f"{row['final_loss']:.3g}" in line
    # 300 steps are enough for the easy bowls: every optimizer gets below 1e-6 there,
    # and the budget shows in the table.
    assert all(results["round_bowl", name]["steps"] is not None for name in example.OPTIMIZERS)
    assert "budget 300" in printed
