"""Per-path gradient norms, update-to-parameter ratios and the first/last gradient ratio."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from funcnet._dtypes import at_least_float32
from funcnet.diagnostics._paths import _groups


def _norm(leaves) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(jnp.square(at_least_float32(leaf))) for leaf in leaves))


def gradient_norm_vector(grads, *, per: str = "leaf") -> tuple[jax.Array, list[str]]:
    """L2 norm of every gradient array (or layer) as one array, for use inside ``jit``.

    Args:
        grads: gradient tree (same structure as params).
        per: ``"leaf"`` or ``"layer"`` (the norm of a layer's arrays together).

    Returns:
        ``(norms, paths)``: a ``(len(paths),)`` array and the names of its entries.

    Examples:
        >>> @jax.jit
        ... def norms(g):
        ...     return gradient_norm_vector(g)[0]
        >>> norms({"dense_0": {"w": jnp.array([3.0, 4.0])}})
        Array([5.], dtype=float32)
    """
    groups = _groups("gradient_norm_vector", grads, per)
    return jnp.stack([_norm(leaves) for _, leaves in groups]), [name for name, _ in groups]


def gradient_norms(grads, *, per: str = "leaf") -> dict[str, jax.Array]:
    """``{path: ||grad||}`` in layer order (0-d arrays; ``float()`` them to print).

    Works under ``jit`` too, but a dict leaving ``jit`` comes back with its keys sorted
    as strings; use :func:`gradient_norm_vector` there to keep layer order.

    Args:
        grads: gradient tree.
        per: ``"leaf"`` (one norm per array) or ``"layer"`` (a layer's arrays together).

    Examples:
        >>> gradient_norms({"dense_0": {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(2)}})
        {"['dense_0']['b']": Array(0., dtype=float32), "['dense_0']['w']": Array(5., dtype=float32)}
    """
    return {name: _norm(leaves) for name, leaves in _groups("gradient_norms", grads, per)}


def update_ratio_vector(updates, params, *, per: str = "leaf") -> tuple[jax.Array, list[str]]:
    """``||update|| / ||param||`` per array (or layer) as one array, for use inside ``jit``.

    A healthy step moves weights by about ``1e-3`` of their size; far above means the
    learning rate is too high, far below that the layer barely learns. A parameter of
    norm 0 gives ``inf`` (or 0 when its update is 0 too).

    Args:
        updates: the optimizer's updates (``params_new - params``), params' structure.
        params: the params before the update.
        per: ``"leaf"`` or ``"layer"``.

    Returns:
        ``(ratios, paths)``.

    Examples:
        >>> update_ratio_vector({"w": jnp.array([0.003, 0.004])}, {"w": jnp.array([3.0, 4.0])})[0]
        Array([0.001], dtype=float32)
    """
    where = "update_ratio_vector"
    if jax.tree_util.tree_structure(updates) != jax.tree_util.tree_structure(params):
        raise ValueError(f"{where}: updates and params must have the same tree structure, got "
                         f"{jax.tree_util.tree_structure(updates)} and "
                         f"{jax.tree_util.tree_structure(params)}")
    update_groups = _groups(where, updates, per)
    param_groups = dict(_groups(where, params, per))
    u = jnp.stack([_norm(leaves) for _, leaves in update_groups])
    p = jnp.stack([_norm(param_groups[name]) for name, _ in update_groups])
    return norm_ratio(u, p), [name for name, _ in update_groups]


def norm_ratio(numerator, norms):
    """``numerator / norms`` elementwise, with ``x / 0`` as ``inf`` and ``0 / 0`` as 0:
    the ratio of :func:`update_ratio_vector`, for norms already computed.

    Examples:
        >>> norm_ratio(jnp.array([1.0, 1.0, 0.0]), jnp.array([4.0, 0.0, 0.0]))
        Array([0.25,  inf, 0.  ], dtype=float32)
    """
    return jnp.where(norms > 0, numerator / jnp.where(norms > 0, norms, 1),
                     jnp.where(numerator > 0, jnp.inf, 0.0))


def update_ratios(updates, params, *, per: str = "leaf") -> dict[str, jax.Array]:
    """``{path: ||update|| / ||param||}`` in layer order; see :func:`update_ratio_vector`.

    Examples:
        >>> update_ratios({"w": jnp.array([0.003, 0.004])}, {"w": jnp.array([3.0, 4.0])})
        {"['w']": Array(0.001, dtype=float32)}
    """
    ratios, names = update_ratio_vector(updates, params, per=per)
    return {name: ratios[i] for i, name in enumerate(names)}


def gradient_ratio(norms: Mapping) -> float:
    """The seeds' "gradient ratio": first (input-side) norm over last (output-side) norm.

    Far below 1 means vanishing gradients, far above 1 exploding ones.

    Args:
        norms: ``{path: norm}`` in layer order, input first (from :func:`gradient_norms`).

    Examples:
        >>> gradient_ratio({"['dense_0']['w']": 1e-6, "['dense_2']['w']": 0.5})
        2e-06
    """
    if not isinstance(norms, Mapping) or len(norms) < 2:
        raise ValueError(f"gradient_ratio: norms must be a dict of at least two layers, got "
                         f"{norms!r}")
    values = [float(v) for v in norms.values()]
    if values[-1] == 0:
        raise ValueError(f"gradient_ratio: the last layer's norm is 0 (no gradient reaches "
                         f"{list(norms)[-1]}), so the ratio is undefined")
    return values[0] / values[-1]
