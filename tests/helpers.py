"""The one tree comparison used by every cross-check in the suite, and the one way a
test loads an example script (:func:`load_example`).

:func:`leaf_pairs` checks the structure first (node types included), then walks both
trees together, naming each leaf by its ``keystr`` path and checking its shape; every
assertion below is a measure applied to those pairs.
"""

from __future__ import annotations

import importlib.util
import pathlib

import jax
import numpy as np


def leaf_pairs(actual, expected, what: str = ""):
    """``[(path, actual_leaf, expected_leaf)]`` after checking both trees have one
    structure and each pair one shape; ``what`` prefixes the paths in messages."""
    struct_a = jax.tree_util.tree_structure(actual)
    struct_e = jax.tree_util.tree_structure(expected)
    assert struct_a == struct_e, f"{what}: tree structures differ:\n{struct_a}\nvs\n{struct_e}"
    pairs = []
    for (path, a), e in zip(jax.tree_util.tree_flatten_with_path(actual)[0],
                            jax.tree_util.tree_leaves(expected), strict=True):
        name = what + (jax.tree_util.keystr(path) or "<root>")
        assert np.shape(a) == np.shape(e), f"{name}: shape {np.shape(a)} != {np.shape(e)}"
        pairs.append((name, a, e))
    return pairs


def max_relative_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|, tiny): the seeds' relative error, elementwise."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    denom = np.maximum(np.abs(a) + np.abs(b), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / denom))


def assert_trees_close(actual, expected, *, rtol=1e-12, atol=0.0, rel_error=None,
                       check_dtype=False):
    """Every leaf close (``np.testing.assert_allclose``), or with ``rel_error`` set
    within that :func:`max_relative_error`; the message names the path that differs."""
    for name, leaf_a, leaf_e in leaf_pairs(actual, expected):
        a, e = np.asarray(leaf_a), np.asarray(leaf_e)
        if check_dtype:
            assert a.dtype == e.dtype, f"{name}: dtype {a.dtype} != {e.dtype}"
        if rel_error is not None:
            err = max_relative_error(a, e)
            assert err <= rel_error, f"{name}: relative error {err:.3e} > {rel_error:.1e}"
        else:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=name)


def assert_trees_identical(actual, expected):
    """Per path: both jax arrays of the same dtype (typed PRNG keys: the same
    implementation and key data) and the same bits."""
    for name, a, e in leaf_pairs(actual, expected):
        assert isinstance(a, jax.Array), f"{name}: a {type(a).__name__}, not a jax.Array"
        if jax.dtypes.issubdtype(getattr(e, "dtype", None), jax.dtypes.prng_key):
            assert a.dtype == e.dtype, f"{name}: {a.dtype} != {e.dtype}"
            assert jax.random.key_impl(a) == jax.random.key_impl(e), name
            a, e = jax.random.key_data(a), jax.random.key_data(e)
        a, e = np.asarray(a), np.asarray(e)
        assert a.dtype == e.dtype, f"{name}: dtype {a.dtype} != {e.dtype}"
        assert a.tobytes() == e.tobytes(), f"{name}: the bits differ"


EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    """``examples/<name>.py`` as a module (its ``main(argv)`` runs it), loaded by path:
    the examples are scripts, not a package."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
