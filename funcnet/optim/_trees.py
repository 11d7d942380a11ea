"""Tree plumbing shared by the transforms: structure, shape and state checks, zeroed
and dtype-cast copies of a tree, and :func:`apply_updates`.

The checks run on shapes and types only, so under ``jax.jit`` they run once, at trace
time, and cost nothing per step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def check_tree(where: str, name: str, tree, like, like_name: str) -> None:
    """Raise ValueError unless ``tree`` has the structure and leaf shapes of ``like``.

    Runs on shapes only, so it also works (once, at trace time) under ``jax.jit``.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    like_leaves, like_def = jax.tree_util.tree_flatten_with_path(like)
    if treedef != like_def:
        have = [jax.tree_util.keystr(p) for p, _ in leaves]
        want = [jax.tree_util.keystr(p) for p, _ in like_leaves]
        missing = [p for p in want if p not in have]
        extra = [p for p in have if p not in want]
        detail = (f"missing {', '.join(missing) or 'nothing'}; unexpected "
                  f"{', '.join(extra) or 'nothing'}" if missing or extra
                  else f"structure {treedef}, expected {like_def}")
        raise ValueError(
            f"{where}: {name} must have the tree structure of {like_name}, got {detail}; "
            f"pass the gradients of the params the optimizer state was made from "
            f"(opt_state = optimizer.init(params))"
        )
    for (path, leaf), (_, ref) in zip(leaves, like_leaves, strict=True):
        if jnp.shape(leaf) != jnp.shape(ref):
            raise ValueError(
                f"{where}: {name}{jax.tree_util.keystr(path)} has shape "
                f"{tuple(jnp.shape(leaf))}, but {like_name} has shape "
                f"{tuple(jnp.shape(ref))} there"
            )


def check_state(where: str, state, cls) -> None:
    """Raise TypeError unless ``state`` is this transform's own state ``cls``."""
    if not isinstance(state, cls):
        got, want = type(state).__name__, cls.__name__
        if got == want:
            # optax's states share funcnet's names (ScaleByAdamState): say whose it is
            got, want = (f"{c.__module__}.{c.__qualname__}" for c in (type(state), cls))
        raise TypeError(
            f"{where}: opt_state holds a {got} where this optimizer keeps its {want}; pass "
            f"the opt_state made by this optimizer's init(params) (was it made by another "
            f"optimizer?)"
        )


def zeros_like(params):
    """A tree of zeros with the structure, shapes and dtypes of ``params``."""
    return jax.tree.map(jnp.zeros_like, params)


def cast_like(tree, like):
    """``tree`` with each leaf cast to the dtype of the matching leaf of ``like``."""
    return jax.tree.map(lambda x, ref: x.astype(ref.dtype), tree, like)


def apply_updates(params, updates):
    """Return ``params + updates`` leaf by leaf, each result in its param's dtype.

    Args:
        params: the parameter pytree.
        updates: a pytree of the same structure (from an optimizer's ``update``).

    Examples:
        >>> apply_updates({"w": jnp.ones(2, jnp.float32)}, {"w": jnp.full(2, 0.5)})
        {'w': Array([1.5, 1.5], dtype=float32)}
    """
    def add(p, u):
        p = jnp.asarray(p)
        return (p + u).astype(p.dtype)

    check_tree("apply_updates", "updates", updates, params, "params")
    return jax.tree.map(add, params, updates)
