"""Every example runs end to end with --quick and writes its pictures."""

import pathlib

import numpy as np
import pytest
from helpers import load_example

ROOT = pathlib.Path(__file__).resolve().parents[1]



@pytest.mark.slow
@pytest.mark.parametrize("name, pictures", [
    ("mnist_mlp", ["curves.png", "confusion_matrix.png"]),
    ("spirals", ["decision_boundary.png", "curves.png"]),
    ("iris", ["curves.png", "confusion_matrix.png"]),
    ("vanishing_through_time", ["through_time.png", "exploding_through_time.png"]),
])
def test_example_quick_run(name, pictures, tmp_path, capsys):
    result = load_example(name).main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "accuracy" in printed
    for picture in pictures:
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    accuracies = result if isinstance(result, tuple) else (result,)
    assert all(0.0 <= a <= 1.0 for a in accuracies)


@pytest.mark.slow
def test_tiny_gpt_quick_run_reports_every_model_and_samples_words(tmp_path, capsys):
    losses = load_example("tiny_gpt").main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    for name in ("bigram", "lstm", "gpt"):
        assert f"test loss {name}: {losses[name]:.4f}" in printed
    # the count table is the bigram's exact fit: far better than guessing uniformly
    assert losses["bigram"] < np.log(27) - 0.5
    assert all(np.isfinite(v) and v > 0 for v in losses.values())
    (samples,) = [line for line in printed.splitlines() if line.startswith("gpt samples:")]
    assert len(samples.split(":", 1)[1].split(" ")) == 21  # 20 words after a space
    for picture in ("curves.png", "attention.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py") if not p.stem.startswith("_"))
# the examples whose quick runs the tests above and in test_check, test_diagnostics and
# test_examples_optimizers check in detail
CHECKED = {"mnist_mlp", "spirals", "iris", "vanishing_through_time", "tiny_gpt",
           "gradient_check", "vanishing_gradients", "optimizers"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - CHECKED))
def test_every_other_example_runs_quick_and_writes_its_pictures(name, tmp_path, capsys):
    load_example(name).main(["--quick", "--out", str(tmp_path)])
    assert capsys.readouterr().out
    pictures = sorted(tmp_path.glob("*.png"))
    assert pictures, f"{name} --quick wrote no picture"
    for picture in pictures:
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", EXAMPLES)
def test_help_prints_the_whole_docstring_and_every_default(name, capsys, monkeypatch):
    import _cli
    seen = []
    real_parse = _cli.parse
    monkeypatch.setattr(_cli, "parse", lambda p, argv=None: seen.append(p) or real_parse(p, argv))
    module = load_example(name)
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    # the docstring's first paragraph, whole (it used to stop at its first line break)
    first = module.__doc__.strip().split("\n\n")[0]
    assert " ".join(first.split()) in text
    assert f"out/{name}_quick" in text
    (parser,) = seen
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
            assert action.help, f"{name}: {action.option_strings[0]} has no help text"
            assert f"(default: {action.default})" in text, (name, action.option_strings)


def test_quick_runs_write_beside_the_full_runs_pictures():
    import _cli
    p = _cli.parser("doc", "demo", "smoke")
    assert str(_cli.parse(p, []).out) == "out/demo"
    assert str(_cli.parse(p, ["--quick"]).out) == "out/demo_quick"
    assert str(_cli.parse(p, ["--quick", "--out", "x"]).out) == "x"


def test_scripts_keep_the_compile_cache_where_jax_or_xdg_say(monkeypatch, tmp_path):
    import _cli
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _cli.compile_cache_dir() == tmp_path / "funcnet" / "jax"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "mine"))
    assert _cli.compile_cache_dir() == tmp_path / "mine"
