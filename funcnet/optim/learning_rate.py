"""Reading the learning rate an optimizer's state records, for logging."""

from __future__ import annotations

import jax

from funcnet.optim.transforms import ScaleByLearningRateState


def _recorded_rate(node):
    """The learning rate ``node`` records, or None: a funcnet ScaleByLearningRateState, or
    the state of ``optax.inject_hyperparams`` with a ``learning_rate`` hyperparameter."""
    if isinstance(node, ScaleByLearningRateState):
        return node.learning_rate
    if isinstance(node, tuple) and "hyperparams" in getattr(node, "_fields", ()):
        hyperparams = node.hyperparams
        if isinstance(hyperparams, dict) and "learning_rate" in hyperparams:
            return hyperparams["learning_rate"]
    return None


def current_learning_rate(opt_state) -> jax.Array:
    """The learning rate recorded in ``opt_state`` (see :class:`ScaleByLearningRateState`).

    Searches the whole state pytree, so it finds the value inside an ``optax.chain``,
    nested chains or wrappers; the state of an optax optimizer wrapped in
    ``optax.inject_hyperparams`` works too.

    Args:
        opt_state: the state of an optimizer holding exactly one funcnet
            :func:`scale_by_learning_rate` (every ``funcnet.optim`` optimizer does) or
            one injected ``learning_rate``.

    Returns:
        The float scalar array: the rate the last update used (after ``init``, the
        rate the first update will use).

    Examples:
        >>> import jax.numpy as jnp
        >>> import optax
        >>> from funcnet import optim
        >>> opt = optax.chain(optax.clip_by_global_norm(1.0), optim.adam(1e-3))
        >>> round(float(current_learning_rate(opt.init({"w": jnp.zeros(2)}))), 6)
        0.001
    """
    def holds_rate(node):
        return _recorded_rate(node) is not None

    found = [_recorded_rate(node)
             for node in jax.tree.leaves(opt_state, is_leaf=holds_rate) if holds_rate(node)]
    if len(found) != 1:
        raise ValueError(
            f"current_learning_rate: expected exactly one learning rate in opt_state, "
            f"found {len(found)}; the optimizer must contain one funcnet "
            f"scale_by_learning_rate (every funcnet.optim optimizer does) or be wrapped "
            f"in optax.inject_hyperparams"
        )
    return found[0]
