"""Every example runs end to end with --quick and writes its pictures."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}",
                                                  ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, pictures", [
    ("mnist_mlp", ["curves.png", "confusion_matrix.png"]),
    ("spirals", ["decision_boundary.png", "curves.png"]),
    ("iris", ["curves.png", "confusion_matrix.png"]),
    ("vanishing_through_time", ["through_time.png", "exploding_through_time.png"]),
])
def test_example_quick_run(name, pictures, tmp_path, capsys):
    result = _load(name).main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "accuracy" in printed
    for picture in pictures:
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    accuracies = result if isinstance(result, tuple) else (result,)
    assert all(0.0 <= a <= 1.0 for a in accuracies)
