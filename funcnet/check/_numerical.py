"""Central differences: the default step and every entry's derivative, in chunks."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from funcnet.check._dtypes import _one_dtype


def default_step(dtype) -> float:
    """The relative central-difference step for ``dtype``: ``cbrt(machine epsilon)``.

    It balances truncation error (``O(h^2)``) against rounding error (``O(eps / h)``);
    the step for an entry ``x`` is ``default_step(dtype) * max(|x|, 1)``.

    Examples:
        >>> round(default_step(np.float64), 8), round(default_step(np.float32), 5)
        (6.06e-06, 0.00492)
    """
    return float(jnp.finfo(dtype).eps) ** (1.0 / 3.0)


def _differences(where: str, batched: Callable, tree, consts, step, chunk_size):
    """Central differences of ``batched(stacked_tree, consts) -> (chunk,)``, built on the host.

    Perturbed copies are made in NumPy and sent ``chunk_size`` at a time (the last chunk
    padded, so ``batched`` compiles once).
    """
    leaves, treedef = jax.tree.flatten(tree)
    if not leaves:
        return tree
    arrays = [np.asarray(leaf) for leaf in leaves]
    dtype = _one_dtype(where, arrays)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) \
            or chunk_size < 1:
        raise ValueError(f"{where}: chunk_size must be a positive integer, got {chunk_size!r}")
    step = default_step(dtype) if step is None else step
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not 0 < step < 1:
        raise ValueError(f"{where}: step must be a number in (0, 1), got {step!r}")
    base = np.concatenate([a.ravel() for a in arrays])
    h = (step * np.maximum(np.abs(base), 1)).astype(dtype)
    up, down = base + h, base - h
    n, chunk = base.size, min(int(chunk_size), base.size)

    def unflatten(flat, lead=()):
        out, offset = [], 0
        for a in arrays:
            out.append(flat[..., offset:offset + a.size].reshape(lead + a.shape))
            offset += a.size
        return treedef.unflatten(out)

    values = {}
    for name, moved in (("up", up), ("down", down)):
        parts = []
        for start in range(0, n, chunk):
            rows = np.arange(start, min(start + chunk, n))
            copies = np.repeat(base[None, :], chunk, axis=0)
            copies[np.arange(rows.size), rows] = moved[rows]
            out = batched(unflatten(copies, (chunk,)), consts)
            parts.append(np.asarray(out, dtype=np.float64)[: rows.size])
        values[name] = np.concatenate(parts)
    # Divide by the step as represented, (x + h) - (x - h), not by 2h.
    grads = (values["up"] - values["down"]) / (up.astype(np.float64) - down.astype(np.float64))
    return unflatten(grads.astype(dtype))


def central_differences(f: Callable, tree, *, step: float | None = None,
                        chunk_size: int = 64):
    """``df/dtree`` by central differences, every entry, ``chunk_size`` entries per call.

    Entry ``t`` of ``tree`` moves to ``t + h`` and ``t - h`` with
    ``h = step * max(|t|, 1)``; the derivative is ``(f(t+h) - f(t-h)) / (t+h - (t-h))``,
    dividing by the step as actually represented. ``f`` is compiled once, under
    ``jax.vmap``, and evaluated on ``chunk_size`` perturbed copies at a time.

    Args:
        f: ``f(tree) -> scalar``, traceable by jax.
        tree: a pytree of floating arrays of one dtype (or one array).
        step: relative step; default :func:`default_step` of the dtype.
        chunk_size: perturbed copies evaluated together (memory grows with it).

    Returns:
        A tree like ``tree`` of NumPy arrays holding ``df/dleaf``.

    Examples:
        >>> g = central_differences(lambda p: jnp.sum(p["w"] ** 3),
        ...                         {"w": np.array([1.0, 2.0], np.float32)})
        >>> np.round(g["w"], 2)
        array([ 3., 12.], dtype=float32)
    """
    batched = jax.jit(jax.vmap(lambda t, consts: f(t), in_axes=(0, None)))
    return _differences("central_differences", batched, tree, None, step, chunk_size)
