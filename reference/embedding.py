"""Token and position embeddings as forward/backward pairs, same layout as funcnet.

``Embedding``: ``params = {"w": (V, F)}``, integer ids ``(N, T)`` -> ``(N, T, F)``; ids
are not differentiable, so its backward returns ``dx = None``. ``PositionalEmbedding``:
``params = {"w": (max_len, F)}``, ``(N, T, F)`` -> the same, ``T <= max_len``. Ids out of
``[0, V)`` always raise here (NumPy sees every value).
"""

from __future__ import annotations

import numpy as np

from reference import _checks


def _table(where: str, params, rows: int | None = None) -> np.ndarray:
    if not isinstance(params, dict) or set(params) != {"w"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{where}: params must be {{'w': (rows, features)}}, got {got}")
    w = _checks.float_array(where, "params['w']", params["w"])
    if w.ndim != 2 or (rows is not None and w.shape[0] != rows):
        raise ValueError(f"{where}: params['w'] must have shape "
                         f"({'rows' if rows is None else rows}, features), got {w.shape}")
    return w


def embedding_forward(params, ids):
    """Y[n, t] = W[ids[n, t]]: row lookup.

    Args:
        params: ``{"w": (V, F)}``.
        ids: ``(N, T)`` integer array (any ``(N, ...)``) with values in ``[0, V)``.

    Returns:
        ``(y, cache)`` with ``y: (N, T, F)`` (``(*ids.shape, F)``).

    Examples:
        >>> params = {"w": np.arange(6.0).reshape(3, 2)}
        >>> y, cache = embedding_forward(params, np.array([[2, 0]]))
        >>> y
        array([[[4., 5.],
                [0., 1.]]])
    """
    w = _table("Embedding", params)
    where = f"Embedding({w.shape[0]}, {w.shape[1]})"
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{where}: ids must be an integer array, got dtype {ids.dtype}; "
                        f"convert it first, e.g. ids.astype(np.int64)")
    _checks.min_rank(where, "ids", ids, 1, "(batch, T)")
    bad = (ids < 0) | (ids >= w.shape[0])
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: ids must be in [0, {w.shape[0]}), got id "
                         f"{int(ids[index])} at index {index}; map unknown tokens to an "
                         f"id of their own (e.g. 0 for <unk>)")
    return w[ids], (ids, w.shape)


def embedding_backward(dy, cache):
    """dW[v] = sum of dY[n, t] over every (n, t) with ids[n, t] == v (np.add.at); no dx.

    A repeated id collects every one of its rows' gradients: ``np.add.at`` adds them
    one by one, where ``dw[ids] += dy`` would keep only the last.

    Args:
        dy: ``(N, T, F)`` upstream gradient, the shape of ``y``.
        cache: from :func:`embedding_forward`.

    Returns:
        ``(None, {"w": (V, F)})``: ids have no gradient.

    Examples:
        >>> params = {"w": np.zeros((3, 2))}
        >>> y, cache = embedding_forward(params, np.array([[2, 0, 2]]))
        >>> dx, dparams = embedding_backward(np.ones((1, 3, 2)), cache)
        >>> dx, dparams["w"]
        (None, array([[1., 1.],
               [0., 0.],
               [2., 2.]]))
    """
    ids, w_shape = cache
    dy = np.asarray(dy)
    if dy.shape != (*ids.shape, w_shape[1]):
        raise ValueError(f"Embedding backward: dy must have the shape of y "
                         f"{(*ids.shape, w_shape[1])}, got {dy.shape}")
    dw = np.zeros(w_shape, dtype=dy.dtype)
    np.add.at(dw, ids, dy)
    return None, {"w": dw}


def positional_embedding_forward(params, x):
    """Y[n, t] = X[n, t] + W[t] for t < T (the first T rows of W).

    Args:
        params: ``{"w": (max_len, F)}``.
        x: ``(N, T, F)`` float array, ``T <= max_len``.

    Returns:
        ``(y, cache)`` with ``y`` the shape of ``x``.

    Examples:
        >>> params = {"w": np.arange(8.0).reshape(4, 2)}
        >>> y, cache = positional_embedding_forward(params, np.zeros((1, 2, 2)))
        >>> y
        array([[[0., 1.],
                [2., 3.]]])
    """
    w = _table("PositionalEmbedding", params)
    where = f"PositionalEmbedding({w.shape[0]})"
    x = _checks.float_array(where, "x", x)
    if x.ndim != 3 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{where}: x must have shape (batch, T, {w.shape[1]}), got "
                         f"{x.shape}")
    if x.shape[1] > w.shape[0]:
        raise ValueError(f"{where}: x has {x.shape[1]} time steps, more than max_len "
                         f"{w.shape[0]}; build the layer with max_len >= {x.shape[1]}")
    return x + w[: x.shape[1]], (w.shape, x.shape)


def positional_embedding_backward(dy, cache):
    """dX = dY;  dW[t] = sum_n dY[n, t] for t < T, 0 for the rows not used.

    Args:
        dy: ``(N, T, F)`` upstream gradient.
        cache: from :func:`positional_embedding_forward`.

    Returns:
        ``(dx, {"w": (max_len, F)})``.

    Examples:
        >>> params = {"w": np.zeros((3, 1))}
        >>> y, cache = positional_embedding_forward(params, np.zeros((2, 2, 1)))
        >>> positional_embedding_backward(np.ones((2, 2, 1)), cache)[1]["w"]
        array([[2.],
               [2.],
               [0.]])
    """
    w_shape, x_shape = cache
    dy = np.asarray(dy)
    if dy.shape != x_shape:
        raise ValueError(f"PositionalEmbedding backward: dy must have the shape of y "
                         f"{x_shape}, got {dy.shape}")
    dw = np.zeros(w_shape, dtype=dy.dtype)
    dw[: dy.shape[1]] = dy.sum(axis=0)
    return dy, {"w": dw}
