"""reference imports NumPy only: never jax, never funcnet (DESIGN: dependencies point one way).

The checks run in a fresh interpreter, since this test process has imported jax already.
"""

import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = ["jax", "jaxlib", "funcnet", "optax"]

# Imports each module in turn and records which forbidden packages are loaded after it,
# so an offender is named even when a later import would pull the same package in.
SCRIPT = """
import importlib, json, sys
forbidden = set(json.loads(sys.argv[1]))
report = {}
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
    report[name] = sorted(forbidden & {m.split('.')[0] for m in sys.modules})
print(json.dumps(report))
"""


def forbidden_after_import(names):
    """{module: forbidden packages in sys.modules after importing it} in a clean interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(FORBIDDEN), json.dumps(names)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_importing_reference_does_not_import_jax_or_funcnet():
    report = forbidden_after_import(["numpy", "reference"])
    assert report == {"numpy": [], "reference": []}


def test_no_reference_submodule_imports_jax_or_funcnet():
    names = sorted(f"reference.{p.stem}" for p in (REPO / "reference").glob("*.py")
                   if p.stem != "__init__")
    assert "reference.compose" in names and "reference.engine" in names
    report = forbidden_after_import(names)
    offenders = {name: found for name, found in report.items() if found}
    assert not offenders, f"these reference modules import forbidden packages: {offenders}"
