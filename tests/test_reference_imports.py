"""reference imports NumPy only: never jax, never funcnet (DESIGN: dependencies point one way).

The checks run in a fresh interpreter, since this test process has imported jax already.
"""

import ast
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
        cwd=REPO, capture_output=True, text=True, check=False)
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


FAMILIES = ["dense", "conv", "pool", "dropout", "batchnorm", "residual", "recurrent",
            "attention",
            "activations", "losses"]
BUILD_MACHINERY = {"reference.compose", "reference.modules", "reference.sequence_modules",
                   "reference._module"}


def test_family_files_match_funcnet_and_hold_pairs_only():
    """Each layer family has the same file name in both packages, and its reference file
    neither imports the build machinery nor registers anything when imported."""
    for name in FAMILIES:
        home = "layers/" if name not in ("activations", "losses") else ""
        assert (REPO / "funcnet" / f"{home}{name}.py").is_file(), name
        source = (REPO / "reference" / f"{name}.py").read_text()
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        assert not imported & BUILD_MACHINERY, (name, imported & BUILD_MACHINERY)
        assert "REGISTRY" not in source, name


def test_registry_is_one_table_in_compose():
    report = subprocess.run(
        [sys.executable, "-c", "import reference, reference.compose as c; "
         "print(reference.REGISTRY is c.REGISTRY, sorted(c.REGISTRY))"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert report.startswith("True ")
    for layer_type in ["Sequential", "Residual", "Dense", "Activation", "Conv2D", "MaxPool2D",
                       "AvgPool2D", "Flatten", "GlobalAvgPool", "Dropout", "BatchNorm",
                       "RNN", "LSTM", "GRU", "MultiHeadAttention"]:
        assert f"'{layer_type}'" in report, layer_type
