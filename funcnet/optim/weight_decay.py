"""Decoupled weight decay: ``u = g + weight_decay * params`` (empty state)."""

from __future__ import annotations

import jax
import numpy as np
import optax

from funcnet.optim import _validate
from funcnet.optim._trees import check_tree


def _mask_leaf(where: str, keep) -> bool:
    if not isinstance(keep, bool | np.bool_):
        raise TypeError(
            f"{where}: mask leaves must be Python bools (True: decay this subtree), "
            f"got {type(keep).__name__}; build the mask from shapes or paths, not values"
        )
    return bool(keep)


def add_decayed_weights(weight_decay: float = 0.0, mask=None) -> optax.GradientTransformation:
    """Decoupled weight decay: ``u = g + weight_decay * params`` where ``mask`` is True.

    Placed before the learning-rate scaling (as in :func:`funcnet.optim.adamw`), the
    decay is multiplied by the learning rate, as in optax and PyTorch.

    Args:
        weight_decay: finite, >= 0.
        mask: ``None`` (decay every leaf), a pytree of bools with the structure of
            ``params`` or a prefix of it, or a function ``params -> such a pytree``.
            A ``False`` subtree passes its updates through unchanged.

    Returns:
        An ``optax.GradientTransformation`` with an empty state; its ``update`` needs
        ``params``.

    Examples:
        >>> tx = add_decayed_weights(0.1, mask={"w": True, "b": False})
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
        >>> grads = {"w": jnp.zeros(2), "b": jnp.zeros(2)}
        >>> tx.update(grads, tx.init(params), params)[0]
        {'b': Array([0., 0.], dtype=float32), 'w': Array([0.1, 0.1], dtype=float32)}
    """
    where = "add_decayed_weights"
    weight_decay = _validate.non_negative(where, "weight_decay", weight_decay)

    def decay(g, p):
        return jax.tree.map(lambda gi, pi: gi + weight_decay * pi, g, p)

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(
                f"{where}: params are needed to decay them; call "
                f"update(grads, opt_state, params)"
            )
        check_tree(where, "grads", updates, params, "params")
        if weight_decay == 0.0:
            return updates, state
        tree_mask = mask(params) if callable(mask) else mask
        if tree_mask is None:
            return decay(updates, params), state
        try:
            jax.tree.map(lambda keep, p: None, tree_mask, params)
        except ValueError as err:
            raise ValueError(
                f"{where}: mask must be a pytree of bools with the structure of params or "
                f"a prefix of it, got {jax.tree_util.tree_structure(tree_mask)} for params "
                f"{jax.tree_util.tree_structure(params)} ({str(err).splitlines()[0]})"
            ) from None
        updates = jax.tree.map(
            lambda keep, g, p: decay(g, p) if _mask_leaf(where, keep) else g,
            tree_mask, updates, params,
        )
        return updates, state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)
