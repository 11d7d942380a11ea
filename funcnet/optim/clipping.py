"""Clipping transforms: bound the gradients before they are scaled.

Updates ``u`` from gradients ``g``; both transforms keep an empty state:

* ``clip_by_global_norm``: ``u = g * max_norm / ||g||`` when ``||g|| >= max_norm``
* ``clip``: ``u = clip(g, -max_abs, max_abs)``
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from funcnet.optim import _validate


def global_norm(tree) -> jax.Array:
    """The L2 norm of all leaves together: ``sqrt(sum over leaves of sum(x**2))``.

    Examples:
        >>> global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])})
        Array(5., dtype=float32)
    """
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
    """Rescale the whole gradient tree so its global norm is at most ``max_norm``.

    ``u = g`` when ``||g|| < max_norm``, else ``u = (g / ||g||) * max_norm``, with
    ``||g||`` the :func:`global_norm` of the tree; the direction never changes. The
    seeds' ``gradient_clip`` scales by ``max_norm / (||g|| + 1e-6)``; this follows optax
    and omits the ``1e-6``, so a clipped tree has norm ``max_norm`` exactly.

    Args:
        max_norm: finite, > 0.

    Returns:
        An ``optax.GradientTransformation`` with an empty state.

    Examples:
        >>> tx = clip_by_global_norm(1.0)
        >>> tx.update({"a": jnp.array([3.0]), "b": jnp.array([4.0])}, tx.init(None))[0]
        {'a': Array([0.6], dtype=float32), 'b': Array([0.8], dtype=float32)}
    """
    max_norm = _validate.positive("clip_by_global_norm", "max_norm", max_norm)

    def update_fn(updates, state, params=None):
        del params
        norm = global_norm(updates)
        within = norm < max_norm
        updates = jax.tree.map(
            lambda g: jnp.where(within, g, (g / norm.astype(g.dtype)) * max_norm), updates
        )
        return updates, state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def clip(max_abs: float) -> optax.GradientTransformation:
    """Clip every element into ``[-max_abs, max_abs]``: ``u = min(max(g, -max_abs), max_abs)``.

    Args:
        max_abs: finite, > 0.

    Returns:
        An ``optax.GradientTransformation`` with an empty state.

    Examples:
        >>> tx = clip(1.0)
        >>> tx.update({"w": jnp.array([-3.0, 0.5, 2.0])}, tx.init(None))[0]
        {'w': Array([-1. ,  0.5,  1. ], dtype=float32)}
    """
    max_abs = _validate.positive("clip", "max_abs", max_abs)

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda g: jnp.clip(g, -max_abs, max_abs), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)
