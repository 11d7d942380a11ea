"""check_function: jax.grad of any function of arrays against central differences."""

from __future__ import annotations

import contextlib
import inspect
import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from funcnet.check._dtypes import _cast_floating, _one_dtype, _require_floating, _x64
from funcnet.check._numerical import _differences, default_step
from funcnet.check._report import JAX_NUMERICAL, NUMERICAL_TOL, GradientReport, _compare, _scale


def _argument_names(f: Callable, count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= count:
        return positional[:count]
    return [f"args[{i}]" for i in range(count)]


def _projection(out, seed: int):
    """A fixed random vector for every output leaf (``None`` for a scalar output)."""
    leaves = jax.tree.leaves(out)
    if len(leaves) == 1 and len(leaves[0].shape) == 0:
        return None
    rng = np.random.default_rng(seed)
    return [rng.normal(size=leaf.shape) for leaf in leaves]


def check_function(f: Callable, *args, argnums=None, dtype=np.float64,
                   tol: float | None = None, step: float | None = None, seed: int = 0,
                   chunk_size: int = 64) -> GradientReport:
    """Check ``jax.grad`` of any function of arrays against central differences.

    A scalar output is differentiated as is; an array (or pytree) output is dotted
    with a fixed-seed random vector ``r`` first, ``sum(f(*args) * r)``, which tests
    the whole Jacobian in one gradient (a wrong entry shows unless ``r`` happens to be
    orthogonal to it, which has probability 0).

    Args:
        f: ``f(*args) -> array or pytree of arrays``, traceable by jax.
        *args: arrays or pytrees of arrays (params dicts work).
        argnums: which args to differentiate (int or tuple); default all. The others
            are passed unchanged (e.g. integer labels).
        dtype: the float dtype to check in (default float64, with x64 switched on for
            the check); ``None`` keeps the args' own dtype, which must be one.
        tol: bar for the relative error; default ``1e-7`` in float64 and
            ``sqrt(eps)`` of a lower precision (``3.5e-4`` in float32).
        step: relative finite-difference step; default ``cbrt(eps)`` of the dtype.
        seed: seed of the projection vector.
        chunk_size: finite-difference evaluations run together.

    Returns:
        A :class:`GradientReport` with the pair ``"jax/numerical"``, paths named after
        ``f``'s parameters (``"w"``, ``"params['b']"``).

    Examples:
        >>> report = check_function(lambda w, x: jnp.tanh(x @ w), np.ones((3, 2)),
        ...                         np.ones((4, 3)))
        >>> report.passed, list(report.shapes)
        (True, ['w', 'x'])
    """
    where = "check_function"
    if not callable(f):
        raise TypeError(f"{where}: f must be a function, got {type(f).__name__}")
    if not args:
        raise ValueError(f"{where}: pass the arguments to differentiate at, "
                         f"check_function(f, x, ...)")
    if argnums is None:
        argnums = tuple(range(len(args)))
    elif isinstance(argnums, numbers.Integral):
        argnums = (int(argnums),)
    argnums = tuple(argnums)
    if not argnums or len(set(argnums)) != len(argnums) or any(
            isinstance(i, bool) or not isinstance(i, numbers.Integral)
            or not 0 <= i < len(args) for i in argnums):
        raise ValueError(f"{where}: argnums must be distinct indices into the {len(args)} "
                         f"args, got {argnums!r}")
    names = _argument_names(f, len(args))
    for i in argnums:
        _require_floating(where, names[i], args[i])
    if dtype is None:
        check_dtype = _one_dtype(where, [leaf for i in argnums
                                         for leaf in jax.tree.leaves(args[i])])
    else:
        check_dtype = np.dtype(dtype)
        if not jnp.issubdtype(check_dtype, jnp.floating):
            raise TypeError(f"{where}: dtype must be a floating dtype, got {check_dtype}")
    # float64 needs x64 on; a lower precision is checked in the caller's own setting, so
    # that f's constants promote exactly as they do when the user runs it.
    context = _x64() if check_dtype == np.float64 else contextlib.nullcontext()

    with context:
        variables = tuple(_cast_floating(args[i], check_dtype) for i in argnums)

        def call(values):
            full = list(args)
            for i, value in zip(argnums, values, strict=True):
                full[i] = value
            return f(*full)

        projection = _projection(jax.eval_shape(call, variables), seed)

        def scalar(values, consts=None):
            out = call(values)
            if projection is None:
                return jnp.asarray(out).astype(check_dtype)
            return sum(jnp.sum(leaf.astype(check_dtype) * r.astype(check_dtype))
                       for leaf, r in zip(jax.tree.leaves(out), projection, strict=True))

        grads = jax.jit(jax.grad(scalar))(variables)
        batched = jax.jit(jax.vmap(scalar, in_axes=(0, None)))
        numerical = _differences(where, batched, variables, None, step, chunk_size)
        named = {}
        for kind, tree in (("jax", grads), ("numerical", numerical)):
            named[kind] = {}
            for i, sub in zip(argnums, tree, strict=True):
                named[kind].update({names[i] + jax.tree_util.keystr(path): np.asarray(leaf)
                                    for path, leaf in
                                    jax.tree_util.tree_flatten_with_path(sub)[0]})
    if tol is None:
        tol = (NUMERICAL_TOL if check_dtype == np.float64
               else float(jnp.finfo(check_dtype).eps) ** 0.5)
    scale = _scale(named["numerical"], named["jax"])
    comparisons = tuple(_compare(path, JAX_NUMERICAL, named["jax"][path],
                                 named["numerical"][path], tol, scale)
                        for path in named["jax"])
    notes = () if projection is None else (
        f"array output: checked sum(f(...) * r) with r ~ N(0, 1), seed {seed}",)
    used_step = default_step(check_dtype) if step is None else float(step)
    return GradientReport(comparisons, {p: np.shape(g) for p, g in named["jax"].items()},
                          str(check_dtype), used_step, scale, {}, notes)
