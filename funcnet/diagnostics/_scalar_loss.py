"""What the curvature and landscape tools share: a ``loss(params) -> scalar`` checked
up front, its params pytree checked, and pytree vector maths (dot, random direction)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks


def check_params(where: str, params) -> None:
    """Refuse a params tree with no arrays or with a non-float leaf, naming the leaf."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    if not leaves:
        raise ValueError(f"{where}: params has no arrays (got "
                         f"{jax.tree_util.tree_structure(params)})")
    for path, leaf in leaves:
        if not jnp.issubdtype(_checks.dtype_of(leaf), jnp.floating):
            raise TypeError(f"{where}: params{jax.tree_util.keystr(path)} must be a float "
                            f"array (the loss is differentiated or moved along it), got "
                            f"dtype {_checks.dtype_of(leaf)}")


def check_scalar_loss(where: str, loss, params) -> None:
    """Refuse a ``loss`` that is not a function of ``params`` giving a float scalar
    (checked by tracing, nothing is computed)."""
    if not callable(loss):
        raise TypeError(f"{where}: loss must be a function params -> scalar, got "
                        f"{type(loss).__name__}")
    out = jax.eval_shape(loss, params)
    if not (hasattr(out, "shape") and out.shape == ()
            and jnp.issubdtype(out.dtype, jnp.floating)):
        got = f"shape {out.shape}, dtype {out.dtype}" if hasattr(out, "shape") else repr(out)
        raise ValueError(f"{where}: loss(params) must return a float scalar (the mean "
                         f"loss), got {got}")


def tree_dot(a, b):
    """The inner product of two pytrees of one structure, over all leaves."""
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree_util.tree_leaves(a),
                                              jax.tree_util.tree_leaves(b), strict=True))


def gaussian_like(key, params, count: int = 1) -> list:
    """``count`` standard-normal pytrees with the structure, shapes and dtypes of ``params``.

    One draw of ``(count, total size)`` split into the leaves: under ``jit`` a draw per
    leaf compiles one random-bits program each, several times slower to compile.
    """
    leaves, treedef = jax.tree_util.tree_flatten(params)
    sizes = [int(np.prod(np.shape(leaf))) for leaf in leaves]
    widest = jnp.result_type(*[_checks.dtype_of(leaf) for leaf in leaves])
    draws = jax.random.normal(key, (count, sum(sizes)), widest)
    cuts = np.cumsum(sizes)[:-1]
    return [jax.tree_util.tree_unflatten(treedef, [
        part.reshape(np.shape(leaf)).astype(_checks.dtype_of(leaf))
        for part, leaf in zip(jnp.split(row, cuts), leaves, strict=True)]) for row in draws]
