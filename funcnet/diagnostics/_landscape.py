"""Loss-landscape slices: the loss along one or two random directions from ``params``.

A raw Gaussian direction means different things for different layers: a step of 1
along it is huge for a layer of small weights and nothing for one of large weights, and
a network whose ReLU layers are rescaled computes the same function with a different
landscape. Li et al. (2018, "Visualizing the Loss Landscape of Neural Nets") remove
that by filter normalisation: each filter of the direction is scaled to the norm of
the same filter of the params. In funcnet's layouts a filter (one output unit's
weights) is a slice along the last axis: ``w[:, j]`` of a Dense ``(in, out)`` kernel,
``w[..., j]`` of an HWIO convolution kernel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks
from funcnet.diagnostics._scalar_loss import check_params, check_scalar_loss, gaussian_like

ONE_DIMENSIONAL = ("zero", "copy")
NORMALIZE = ("filter", None)


class LossLandscape(NamedTuple):
    """What :func:`loss_landscape` returns.

    Attributes:
        alphas: ``(P,)`` coordinates along the first direction.
        betas: ``(Q,)`` coordinates along the second, or ``None`` for a 1-D slice.
        losses: ``(P,)``, or ``(P, Q)`` with ``losses[i, j]`` the loss at
            ``params + alphas[i] * d1 + betas[j] * d2``.
        directions: the directions used (after normalisation), pytrees like ``params``.
        center: the loss at ``params`` itself.
    """

    alphas: np.ndarray
    betas: np.ndarray | None
    losses: np.ndarray
    directions: tuple
    center: float


def filter_normalized_direction(direction, params, *, one_dimensional: str = "zero"):
    """``direction`` with each filter scaled to the norm of the same filter of ``params``.

    For a leaf with two or more axes, every slice ``d[..., j]`` along the last axis
    (one output unit's weights) becomes ``d[..., j] * ||w[..., j]|| / ||d[..., j]||``.
    Leaves with at most one axis (biases, normalisation scales and offsets) are handled
    as Li et al.'s code does: ``"zero"`` leaves them out of the direction (their
    figures' setting; the slice moves only the weights), ``"copy"`` makes the
    direction equal to the params there.

    Args:
        direction: a pytree with the structure and shapes of ``params``.
        params: the pytree of float arrays the slice starts from.
        one_dimensional: ``"zero"`` or ``"copy"``, for leaves of rank <= 1.

    Returns:
        The normalised direction, a pytree like ``params``.

    Examples:
        >>> params = {"w": jnp.array([[3.0, 0.0], [4.0, 1.0]]), "b": jnp.ones(2)}
        >>> d = filter_normalized_direction({"w": jnp.ones((2, 2)), "b": jnp.ones(2)}, params)
        >>> np.linalg.norm(d["w"], axis=0).round(4).tolist(), d["b"].tolist()
        ([5.0, 1.0], [0.0, 0.0])
    """
    where = "filter_normalized_direction"
    if one_dimensional not in ONE_DIMENSIONAL:
        raise ValueError(f"{where}: one_dimensional must be one of {ONE_DIMENSIONAL}, got "
                         f"{one_dimensional!r}")
    _same_layout(where, "direction", direction, params)
    return _normalized(direction, params, one_dimensional)


@functools.partial(jax.jit, static_argnums=2)
def _normalized(direction, params, one_dimensional: str):
    def normalize(d, w):
        d = d.astype(w.dtype)
        if w.ndim <= 1:
            return jnp.zeros_like(w) if one_dimensional == "zero" else w
        axes = tuple(range(w.ndim - 1))
        d_norm = jnp.sqrt(jnp.sum(d * d, axis=axes, keepdims=True))
        w_norm = jnp.sqrt(jnp.sum(w * w, axis=axes, keepdims=True))
        # a zero filter of the direction stays zero rather than dividing by zero
        return d * jnp.where(d_norm > 0, w_norm / jnp.where(d_norm > 0, d_norm, 1), 0)

    return jax.tree.map(normalize, direction, params)


def _same_layout(where: str, name: str, tree, params) -> None:
    want = jax.tree_util.tree_structure(params)
    if jax.tree_util.tree_structure(tree) != want:
        raise ValueError(f"{where}: {name} must have the tree structure of params "
                         f"({want}), got {jax.tree_util.tree_structure(tree)}")
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(tree)[0],
                            jax.tree_util.tree_leaves(params), strict=True):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"{where}: {name}{jax.tree_util.keystr(path)} must have shape "
                             f"{np.shape(b)} like params, got {np.shape(a)}")


# one compiled program draws and normalises the directions and evaluates the grid and
# the centre (op by op, those small steps cost more than the grid); the loss and the
# options are static, so the same loss again reuses it
@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _slice(loss: Callable, dims: int, normalize, one_dimensional: str, chunk_size: int,
           params, key, given, coords):
    """``(directions, (G,) losses, centre loss)`` at ``params + sum_k coords[:, k] d_k``,
    ``chunk_size`` grid points at a time (``vmap`` in a chunk, ``lax.map`` over them)."""
    directions = given if given is not None else tuple(gaussian_like(key, params, dims))
    directions = tuple(jax.tree.map(lambda d, w: d.astype(w.dtype), d, params)
                       for d in directions)
    if normalize == "filter":
        directions = tuple(_normalized(d, params, one_dimensional) for d in directions)

    def at(c):
        moved = jax.tree.map(
            lambda w, *ds: w + sum(ci.astype(w.dtype) * d for ci, d in zip(c, ds, strict=True)),
            params, *directions)
        return loss(moved)

    return directions, jax.lax.map(at, coords, batch_size=chunk_size), loss(params)


def loss_landscape(loss: Callable, params, *, key=None, dims: int = 1, span: float = 1.0,
                   points: int = 21, directions: Sequence | None = None,
                   normalize: str | None = "filter", one_dimensional: str = "zero",
                   chunk_size: int = 64) -> LossLandscape:
    """The loss on a line or a plane through ``params``, along random directions.

    Each direction is drawn from a standard normal (unless ``directions`` are given)
    and, with ``normalize="filter"``, scaled filter by filter to the params
    (:func:`filter_normalized_direction`), so a coordinate of 1 is a step as large as
    the weights themselves in every layer. The grid is ``points`` coordinates from
    ``-span`` to ``span`` along each direction; its losses are computed in one compiled
    call, ``chunk_size`` points at a time as a ``vmap`` batch.

    Args:
        loss: ``loss(params) -> scalar``, the data already bound.
        params: any pytree of float arrays: the centre of the slice.
        key: a ``jax.random`` key for the directions (default ``jax.random.key(0)``).
        dims: 1 (a line) or 2 (a plane); taken from ``directions`` when given.
        span: the grid reaches ``-span .. span``, > 0.
        points: grid points along each direction, >= 2.
        directions: optional list of 1 or 2 pytrees like ``params`` (for example the
            step from the initial to the trained params) instead of random ones.
        normalize: ``"filter"`` (Li et al.) or ``None`` (the directions as they are).
        one_dimensional: for leaves of rank <= 1 under filter normalisation: ``"zero"``
            (not moved, Li et al.'s figures) or ``"copy"`` (the direction is the params).
        chunk_size: grid points evaluated together, >= 1 (memory against speed).

    Returns:
        :class:`LossLandscape` ``(alphas, betas, losses, directions, center)``; draw it
        with ``funcnet.plot.loss_landscape``.

    Examples:
        >>> model = Sequential([Dense(8), tanh, Dense(1)])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> x = jax.random.normal(jax.random.key(1), (16, 2))
        >>> loss = lambda p: mse(model.apply(p, state, x)[0], jnp.sin(x[:, :1]))
        >>> scape = loss_landscape(loss, params, dims=2, points=5)
        >>> scape.losses.shape, bool(np.isclose(scape.losses[2, 2], scape.center))
        ((5, 5), True)
    """
    where = "loss_landscape"
    check_params(where, params)
    check_scalar_loss(where, loss, params)
    if normalize not in NORMALIZE:
        raise ValueError(f"{where}: normalize must be 'filter' or None, got {normalize!r}")
    if one_dimensional not in ONE_DIMENSIONAL:
        raise ValueError(f"{where}: one_dimensional must be one of {ONE_DIMENSIONAL}, got "
                         f"{one_dimensional!r}")
    span = _checks.positive_float(where, "span", span)
    points = _checks.positive_int(where, "points", points)
    if points < 2:
        raise ValueError(f"{where}: points must be at least 2 (both ends of the grid), "
                         f"got {points}")
    chunk_size = _checks.positive_int(where, "chunk_size", chunk_size)
    if directions is None:
        if dims not in (1, 2) or isinstance(dims, bool):
            raise ValueError(f"{where}: dims must be 1 or 2, got {dims!r}")
        if key is None:
            key = jax.random.key(0)
        _checks.prng_key(where, "key", key)
    else:
        if isinstance(directions, dict) or not isinstance(directions, Sequence) \
                or len(directions) not in (1, 2):
            raise ValueError(f"{where}: directions must be a list of 1 or 2 pytrees like "
                             f"params, got {type(directions).__name__}")
        for i, direction in enumerate(directions):
            _same_layout(where, f"directions[{i}]", direction, params)
        dims, key, directions = len(directions), None, tuple(directions)
    axis = np.linspace(-span, span, points)
    grids = np.meshgrid(*([axis] * dims), indexing="ij")
    coords = np.stack([g.ravel() for g in grids], axis=-1)
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(params))
    directions, losses, center = _slice(loss, dims, normalize, one_dimensional, chunk_size,
                                        params, key, directions, jnp.asarray(coords, dtype))
    losses = np.asarray(losses).reshape((points,) * dims)
    return LossLandscape(axis, axis.copy() if dims == 2 else None, losses, directions,
                         float(center))

