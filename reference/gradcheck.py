"""Numerical gradient checking by central differences, as the seeds teach it.

    dJ/dtheta_i ~ (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)

and the seeds' relative error between an analytic gradient ``a`` and a numerical one
``n`` (one parameter array at a time)::

    relative_error = ||a - n|| / (||a|| + ||n||)

Below 1e-7 is excellent, below 1e-5 is usually fine, above that backprop has a bug.
The default step ``eps = 1e-5`` (the seeds' ``h``) balances the truncation error of
central differences (~eps^2) against float64 rounding in ``f`` (~1e-16 |f| / eps); check
in float64, since float32 rounding swamps any step.
Parameter paths are written as ``jax.tree_util.keystr`` writes them
(``"['dense_0']['w']"``), so a path in an error reads the same in both worlds.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from reference import compose as _compose
from reference import losses as _losses


def _keystr(keys: tuple) -> str:
    return "".join(f"[{k!r}]" for k in keys)


def flatten_with_paths(tree, _keys: tuple = ()) -> list[tuple[str, np.ndarray]]:
    """The leaves of a tree of dicts/lists/tuples with their paths, in jax's order.

    Dict keys are visited sorted (as ``jax.tree_util`` does); ``None`` is an empty
    subtree.

    Args:
        tree: nested dicts/lists/tuples of arrays.

    Returns:
        ``[(path, leaf), ...]``.

    Examples:
        >>> flatten_with_paths({"dense_0": {"w": np.ones(2), "b": np.zeros(1)}, "relu_1": {}})
        [("['dense_0']['b']", array([0.])), ("['dense_0']['w']", array([1., 1.]))]
    """
    if isinstance(tree, dict):
        return [item for key in sorted(tree)
                for item in flatten_with_paths(tree[key], (*_keys, key))]
    if isinstance(tree, (list, tuple)):
        return [item for i, sub in enumerate(tree)
                for item in flatten_with_paths(sub, (*_keys, i))]
    if tree is None:
        return []
    return [(_keystr(_keys), tree)]


def _map(fn: Callable, tree, _keys: tuple = ()):
    """``fn(path, leaf)`` on every leaf, keeping the containers."""
    if isinstance(tree, dict):
        return {key: _map(fn, sub, (*_keys, key)) for key, sub in tree.items()}
    if isinstance(tree, (list, tuple)):
        mapped = [_map(fn, sub, (*_keys, i)) for i, sub in enumerate(tree)]
        return type(tree)(mapped) if type(tree) in (list, tuple) else type(tree)(*mapped)
    if tree is None:
        return None
    return fn(_keystr(_keys), tree)


def relative_error(analytic, numerical) -> float:
    """||a - n|| / (||a|| + ||n||), and 0.0 when both are exactly zero.

    Args:
        analytic: gradient array from backprop.
        numerical: gradient array of the same shape from finite differences.

    Examples:
        >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
        0.0
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"relative_error: analytic and numerical must have the same shape, "
                         f"got {a.shape} and {n.shape}")
    denominator = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - n) / denominator)


def _check_eps(where: str, eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < np.inf:
        raise ValueError(f"{where}: eps must be a finite number > 0, got {eps!r}")
    return float(eps)


_STENCILS = {
    # order: ((k, weight), ...), divisor: df = sum(weight (f(t + k h) - f(t - k h))) / (divisor h).
    # Pairing f(t + kh) with f(t - kh) keeps a flat f's derivative exactly 0.
    2: (((1, 1),), 2),
    4: (((1, 8), (2, -1)), 12),
}


def numerical_gradient(f: Callable, tree, eps: float = 1e-5, order: int = 2):
    """Central differences of the scalar ``f(tree)`` with respect to every leaf entry.

    ``order=2`` is the seeds' formula, ``(f(t + h) - f(t - h)) / (2h)``, exact up to
    O(h^2); ``order=4`` is the five-point stencil
    ``(-f(t + 2h) + 8 f(t + h) - 8 f(t - h) + f(t - 2h)) / (12h)``, exact up to O(h^4),
    which allows a larger step and so loses less to rounding in ``f``.

    ``tree`` is copied; the caller's arrays are never modified. An array is a tree of
    one leaf, so this also differentiates with respect to an input ``x``.

    Args:
        f: ``f(tree) -> scalar``.
        tree: params tree (dicts/lists/tuples of float arrays) or one float array.
        eps: the step ``h``.
        order: 2 or 4, the order of the central difference.

    Returns:
        A tree like ``tree`` holding ``df/dleaf``.

    Examples:
        >>> g = numerical_gradient(lambda p: np.sum(p["w"] ** 2), {"w": np.array([1.0, -2.0])})
        >>> np.round(g["w"], 6)
        array([ 2., -4.])
    """
    eps = _check_eps("numerical_gradient", eps)
    if order not in _STENCILS:
        raise ValueError(f"numerical_gradient: order must be one of {sorted(_STENCILS)}, "
                         f"got {order!r}")
    pairs, divisor = _STENCILS[order]

    def copy_leaf(path, leaf):
        arr = np.array(leaf, copy=True)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"numerical_gradient: leaf {path or 'tree'} must be a floating-point "
                            f"array, got dtype {arr.dtype}")
        return arr

    work = _map(copy_leaf, tree)
    grads = _map(lambda path, leaf: np.zeros_like(leaf), work)
    leaves = [leaf for _, leaf in flatten_with_paths(work)]
    outs = [leaf for _, leaf in flatten_with_paths(grads)]
    for arr, out in zip(leaves, outs, strict=True):
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            total = 0.0
            for k, weight in pairs:
                arr[idx] = old + k * eps
                f_plus = float(f(work))
                arr[idx] = old - k * eps
                f_minus = float(f(work))
                total += weight * (f_plus - f_minus)
            arr[idx] = old
            out[idx] = total / (divisor * eps)
    return grads


def _compare(analytic, numerical, prefix: str = "") -> dict[str, tuple[float, tuple, float, float]]:
    """Per path: (relative error, index of the worst entry, analytic and numerical there)."""
    pairs_a = flatten_with_paths(analytic)
    pairs_n = flatten_with_paths(numerical)
    paths_a, paths_n = [p for p, _ in pairs_a], [p for p, _ in pairs_n]
    if paths_a != paths_n:
        raise ValueError(f"gradcheck: the gradient tree's paths {paths_a} differ from the "
                         f"parameter tree's {paths_n}")
    report = {}
    for (path, a), (_, n) in zip(pairs_a, pairs_n, strict=True):
        a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        if a.shape != n.shape:
            raise ValueError(f"gradcheck: gradient {prefix}{path} has shape {a.shape}, the "
                             f"parameter has {n.shape}")
        idx = np.unravel_index(int(np.argmax(np.abs(a - n))), a.shape) if a.size else ()
        idx = tuple(int(i) for i in idx)
        err = relative_error(a, n)
        # A NaN or inf gradient fails any tolerance, and must sort as the worst.
        report[prefix + path] = (err if np.isfinite(err) else np.inf, idx,
                                 float(a[idx]) if a.size else 0.0,
                                 float(n[idx]) if a.size else 0.0)
    return report


def _raise_or_summarise(report: dict, tol: float) -> dict[str, float]:
    if not report:
        return {}
    worst = max(report, key=lambda p: report[p][0])
    err, idx, a, n = report[worst]
    if err > tol:
        raise ValueError(
            f"gradient check failed: {worst or 'the array'} at index {idx} has relative error "
            f"{err:.3e} > tol {tol:.1e} (analytic {a:.10g}, numerical {n:.10g}); "
            f"all errors: {({p: f'{v[0]:.1e}' for p, v in report.items()})}"
        )
    return {path: value[0] for path, value in report.items()}


def check(f: Callable, params, grads, *, tol: float = 1e-7, eps: float = 1e-5,
          order: int = 2) -> dict[str, float]:
    """Compare analytic ``grads`` of ``f`` at ``params`` with central differences.

    Args:
        f: ``f(params) -> scalar loss``.
        params: params tree (or one array) at which to check.
        grads: analytic gradient, same tree structure and shapes as ``params``.
        tol: largest acceptable relative error per parameter array.
        eps: finite-difference step.
        order: 2 (the seeds' central difference) or 4 (five-point stencil).

    Returns:
        ``{path: relative_error}`` for every leaf.

    Raises:
        ValueError: naming the worst path, its index and error when it exceeds ``tol``.

    Examples:
        >>> params = {"w": np.array([1.0, -2.0])}
        >>> check(lambda p: np.sum(p["w"] ** 2), params, {"w": 2 * params["w"]})["['w']"] < 1e-7
        True
    """
    numerical = numerical_gradient(f, params, eps, order)
    return _raise_or_summarise(_compare(grads, numerical), tol)


def check_model(spec, params, x, targets, loss: str, *, state=None, train: bool = False,
                extras=None, reduction: str = "mean", tol: float = 1e-7, eps: float = 1e-5,
                order: int = 2, check_input: bool = True) -> dict[str, float]:
    """Gradient-check a whole model from its spec in one call (params, and x).

    The analytic gradients come from :func:`reference.compose.value_and_grad`, the
    numerical ones from central differences of the same NumPy forward pass.

    Args:
        spec: ``model.spec`` (or a built :class:`reference.compose.Network`).
        params: the model's params tree.
        x: ``(N, ...)`` input batch.
        targets: the loss's targets/labels.
        loss: a loss name (``"mse"``, ``"softmax_cross_entropy"``, ...).
        state, train, extras, reduction: as for ``value_and_grad``.
        tol: largest acceptable relative error per array.
        eps: finite-difference step.
        order: 2 (the seeds' central difference) or 4 (five-point stencil).
        check_input: also check ``d loss / d x`` (reported under the path ``"x"``).

    Returns:
        ``{path: relative_error}`` for every parameter array (and ``"x"``).

    Raises:
        ValueError: naming the worst path, its index and error when it exceeds ``tol``.

    Examples:
        >>> spec = {"type": "Dense", "features": 1, "use_bias": True}
        >>> params = {"w": np.array([[0.5], [-1.0]]), "b": np.array([0.1])}
        >>> errors = check_model(spec, params, np.ones((3, 2)), np.zeros((3, 1)), "mse")
        >>> sorted(errors)
        ["['b']", "['w']", 'x']
    """
    net = spec if isinstance(spec, _compose.Network) else _compose.build(spec)
    forward_loss = _losses.get(loss).forward

    def loss_at(p, xx):
        y, _, _ = net.forward(p, xx, state=state, train=train, extras=extras)
        return forward_loss(y, targets, reduction)[0]

    _, dparams, dx = _compose.value_and_grad(net, params, x, targets, loss, state=state,
                                             train=train, extras=extras, reduction=reduction)
    report = _compare(dparams, numerical_gradient(lambda p: loss_at(p, x), params, eps, order))
    if check_input:
        x_numerical = numerical_gradient(lambda xx: loss_at(params, xx), np.asarray(x), eps,
                                         order)
        report.update(_compare(dx, x_numerical, prefix="x"))
    return _raise_or_summarise(report, tol)
