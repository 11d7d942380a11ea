"""Every docstring example in funcnet and reference runs, as written, in the suite.

Examples see their own module's names plus the public ``funcnet`` names, ``jax``,
``jnp`` and ``np``, so a page of documentation reads like a session after
``import funcnet as fn; from funcnet import *``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import funcnet
import reference


def _modules(package):
    yield package.__name__
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        yield info.name


MODULES = [*_modules(funcnet), *_modules(reference)]
FINDER = doctest.DocTestFinder(exclude_empty=True)


def _examples():
    for name in MODULES:
        module = importlib.import_module(name)
        for test in FINDER.find(module, name, globs={}):
            # re-exported objects are found again under their package: keep one copy
            source = name.replace(".", "/")
            if test.filename and test.filename.endswith((f"{source}.py",
                                                         f"{source}/__init__.py")):
                yield pytest.param(name, test.name, id=test.name)


@pytest.mark.parametrize(("module_name", "test_name"), list(_examples()))
def test_docstring_example_runs(module_name, test_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    module = importlib.import_module(module_name)
    (test,) = [t for t in FINDER.find(module, module_name, globs={}) if t.name == test_name]
    # a module inside a subpackage (funcnet.data.preprocessing) also sees that
    # subpackage's public names (funcnet.data.xor), as its users do
    package = importlib.import_module(".".join(module_name.split(".")[:2]))
    test.globs = {**{k: getattr(funcnet, k) for k in funcnet.__all__},
                  "fn": funcnet, "jax": jax, "jnp": jnp, "np": np, "optax": optax,
                  "optim": funcnet.optim, "data": funcnet.data,
                  **{k: getattr(package, k) for k in getattr(package, "__all__", ())},
                  **vars(module)}
    # float32 as a user gets it (the suite turns float64 on for gradient checks)
    with jax.enable_x64(False):
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=lambda text: pytest.fail(text, pytrace=False))
    assert runner.failures == 0
