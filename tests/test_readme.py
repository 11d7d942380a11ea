"""The README's two commands and CI cannot drift apart."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_command():
    spec = importlib.util.spec_from_file_location("readme_command",
                                                  ROOT / ".ci" / "readme_command.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.command


def test_readme_has_both_commands_in_their_own_venv():
    readme = (ROOT / "README.md").read_text()
    command = _readme_command()
    main, test = command("main", readme), command("test", readme)
    for text in (main, test):
        assert text.startswith("python3 -m venv .venv && ")
    assert "examples/" in main
    assert "pytest" in test and ".[test]" in test


def test_ci_runs_the_readme_test_command_and_ruff():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command.py test" in ci
    assert 'bash -c "$test_command"' in ci
    assert "ruff check" in ci
