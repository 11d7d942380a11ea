"""The precision a check runs in: float64 switched on, one floating dtype, casts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _x64():
    """A context with jax_enable_x64 on, restoring the caller's setting on exit."""
    if callable(getattr(jax, "enable_x64", None)):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # jax < 0.6

    return enable_x64()


def _one_dtype(where: str, leaves) -> np.dtype:
    dtypes = {np.asarray(leaf).dtype for leaf in leaves}
    if len(dtypes) != 1:
        raise TypeError(f"{where}: the differentiated arrays must share one dtype, got "
                        f"{sorted(map(str, dtypes))}")
    dtype = dtypes.pop()
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{where}: only floating-point arrays have gradients, got {dtype}")
    return dtype


def _cast_floating(tree, dtype):
    """NumPy copies of the leaves, floating ones cast to ``dtype`` (no device work)."""
    def cast(leaf):
        arr = np.asarray(leaf)
        return arr.astype(dtype) if jnp.issubdtype(arr.dtype, jnp.floating) else arr

    return jax.tree.map(cast, tree)


def _require_floating(where: str, what: str, tree) -> None:
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        dtype = np.asarray(leaf).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"{where}: {what}{jax.tree_util.keystr(path)} has dtype {dtype}; "
                            f"only floating-point arrays have gradients")
