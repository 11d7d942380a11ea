"""The README's two commands and CI cannot drift apart."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_command(name: str) -> str:
    """The command in the ```bash block right after ``<!-- {name}-command -->``."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {name}-command -->\s*```bash\n(.*?)\n```", readme, re.S)
    assert match is not None, f"README.md has no <!-- {name}-command --> block"
    return match.group(1).strip()


def test_readme_has_both_commands_in_their_own_venv():
    main, test = _readme_command("main"), _readme_command("test")
    for text in (main, test):
        assert text.startswith("python3 -m venv .venv && ")
    assert "examples/" in main
    assert "pytest" in test and ".[test]" in test


def test_ci_runs_the_readme_test_command_verbatim_and_ruff():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_command("test") in ci_lines
    assert ".venv/bin/ruff check ." in ci_lines
    assert ".venv/bin/python benchmarks/smoke.py" in ci_lines
    # the end-to-end runs, which the test command leaves out, right after it
    examples = ".venv/bin/python -m pytest -m slow"
    assert ci_lines[ci_lines.index(_readme_command("test")) + 2] == examples
    assert examples in (ROOT / "README.md").read_text()
    # the site builds after the tests, strictly, with the command the README gives
    readme = (ROOT / "README.md").read_text()
    docs = '.venv/bin/pip install -q -e ".[docs]" && .venv/bin/mkdocs build --strict'
    assert docs in ci_lines and docs in readme
