"""Tree-aware comparison used by every cross-check in the suite."""

from __future__ import annotations

import jax
import numpy as np


def max_relative_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|, tiny): the seeds' relative error, elementwise."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    denom = np.maximum(np.abs(a) + np.abs(b), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / denom))


def assert_trees_close(actual, expected, *, rtol=1e-12, atol=0.0, rel_error=None,
                       check_dtype=False):
    """Check tree structure first, then every leaf, naming the path that differs.

    With ``rel_error`` set, leaves are compared by :func:`max_relative_error` instead
    of ``np.testing.assert_allclose``.
    """
    paths_a = jax.tree_util.tree_flatten_with_path(actual)
    paths_e = jax.tree_util.tree_flatten_with_path(expected)
    struct_a = jax.tree_util.tree_structure(actual)
    struct_e = jax.tree_util.tree_structure(expected)
    assert struct_a == struct_e, f"tree structures differ:\n{struct_a}\nvs\n{struct_e}"
    for (path, leaf_a), (_, leaf_e) in zip(paths_a[0], paths_e[0], strict=True):
        name = jax.tree_util.keystr(path)
        a, e = np.asarray(leaf_a), np.asarray(leaf_e)
        assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
        if check_dtype:
            assert a.dtype == e.dtype, f"{name}: dtype {a.dtype} != {e.dtype}"
        if rel_error is not None:
            err = max_relative_error(a, e)
            assert err <= rel_error, f"{name}: relative error {err:.3e} > {rel_error:.1e}"
        else:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=name)
