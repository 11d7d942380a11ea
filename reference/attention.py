"""Multi-head self-attention as forward/backward pairs, same layout as funcnet.

``params`` is the dict funcnet's ``MultiHeadAttention`` init produces:
``{"w_q", "w_k", "w_v", "w_o": (D, D)}`` plus ``{"b_q", "b_v", "b_o": (D,)}`` with a
bias (no key bias: softmax cancels it). Head ``h`` owns columns ``h*d:(h+1)*d`` of
``w_q, w_k, w_v`` (and rows of ``w_o``), ``d = D / num_heads``. The four projections
are :mod:`reference.dense`'s pair; what is new here is the scaled dot-product attention
between them.

``visible`` (``(N, 1, T, T)`` bool, key ``j`` visible to query ``i``) hides keys: their
weight in ``P`` is exactly 0, and a query row with no visible key has ``P = 0`` (its
attention output is 0; no NaN).
"""

from __future__ import annotations

import numpy as np

from reference import _checks
from reference.dense import dense_backward, dense_forward

PROJECTIONS = ("q", "k", "v", "o")
BIASED = ("q", "v", "o")


def visible_keys(n: int, t: int, causal: bool, mask=None):
    """visible[i, j] = (j <= i if causal) and mask[j]; ``None`` when every key is visible.

    Args:
        n, t: batch size ``N`` and sequence length ``T``.
        causal: hide the keys after each query (lower-triangular).
        mask: ``(N, T)`` bool, True for real tokens, or ``None``.

    Returns:
        ``(N, 1, T, T)`` bool (one mask for every head), or ``None``.

    Examples:
        >>> visible_keys(1, 3, True, np.array([[True, True, False]]))[0, 0].astype(int)
        array([[1, 0, 0],
               [1, 1, 0],
               [1, 1, 0]])
    """
    visible = np.tril(np.ones((t, t), bool))[None, None] if causal else None
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (n, t):
            raise ValueError(f"MultiHeadAttention: mask must be a bool array of shape "
                             f"(batch, time) = {(n, t)}, got {mask.dtype} {mask.shape}")
        keys = mask[:, None, None, :]
        visible = keys if visible is None else visible & keys
    return None if visible is None else np.broadcast_to(visible, (n, 1, t, t))


def masked_softmax(s, visible=None):
    """P = exp(S - max S) / sum exp(S - max S) over the visible keys; P = 0 elsewhere.

    Args:
        s: ``(..., T_q, T_k)`` logits.
        visible: bool broadcastable to ``s``, or ``None``.

    Returns:
        ``p`` the shape of ``s``; a row with no visible key is all zeros.

    Examples:
        >>> masked_softmax(np.zeros((2, 2)), np.array([[True, True], [False, False]]))
        array([[0.5, 0.5],
               [0. , 0. ]])
    """
    z = s if visible is None else np.where(visible, s, -np.inf)
    row_max = np.max(z, axis=-1, keepdims=True)
    e = np.exp(z - np.where(np.isfinite(row_max), row_max, 0.0))
    total = np.sum(e, axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def dot_product_attention_forward(q, k, v, visible=None):
    """S = Q K^T / sqrt(d);  P = softmax(S) over visible keys;  O = P V.

    Args:
        q, k, v: ``(N, H, T, d)`` queries, keys and values, one slice per head.
        visible: ``(N, 1, T, T)`` bool from :func:`visible_keys`, or ``None``.

    Returns:
        ``(o, cache)`` with ``o: (N, H, T, d)``.

    Examples:
        >>> q = k = v = np.eye(2)[None, None]
        >>> o, cache = dot_product_attention_forward(q, k, v)
        >>> bool(np.allclose(o.sum(-1), 1.0))
        True
    """
    scale = 1.0 / np.sqrt(q.shape[-1])
    p = masked_softmax(q @ np.swapaxes(k, -1, -2) * scale, visible)
    return p @ v, (q, k, v, p, scale)


def dot_product_attention_backward(do, cache):
    """dV = P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dP * P));  dQ = dS K / sqrt(d);
    dK = dS^T Q / sqrt(d).

    Hidden keys have ``P = 0``, so their ``dS`` is 0: nothing flows back through them.

    Args:
        do: ``(N, H, T, d)`` gradient of ``o``.
        cache: from :func:`dot_product_attention_forward`.

    Returns:
        ``(dq, dk, dv)``, each ``(N, H, T, d)``.

    Examples:
        >>> q = k = v = np.eye(2)[None, None]
        >>> o, cache = dot_product_attention_forward(q, k, v)
        >>> dq, dk, dv = dot_product_attention_backward(np.ones_like(o), cache)
        >>> dv.sum(-1)
        array([[[2., 2.]]])
    """
    q, k, v, p, scale = cache
    dv = np.swapaxes(p, -1, -2) @ do
    dp = do @ np.swapaxes(v, -1, -2)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    return ds @ k * scale, np.swapaxes(ds, -1, -2) @ q * scale, dv


def _split_heads(a, num_heads):
    n, t, features = a.shape
    return a.reshape(n, t, num_heads, features // num_heads).transpose(0, 2, 1, 3)


def _merge_heads(a):
    n, h, t, d = a.shape
    return a.transpose(0, 2, 1, 3).reshape(n, t, h * d)


def _projection_params(params, features: int) -> dict:
    """``{"q": {"w", "b"}, ...}``: the four Dense params, after checking names and shapes."""
    names = {f"w_{p}" for p in PROJECTIONS}
    with_bias = names | {f"b_{p}" for p in BIASED}
    if not isinstance(params, dict) or set(params) not in (names, with_bias):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"MultiHeadAttention: params must have keys {sorted(names)} "
                         f"(and {sorted(with_bias - names)} with a bias), got {got}")
    dense = {}
    for p in PROJECTIONS:
        w = _checks.float_array("MultiHeadAttention", f"params['w_{p}']", params[f"w_{p}"])
        if w.shape != (features, features):
            raise ValueError(f"MultiHeadAttention: params['w_{p}'] must have shape "
                             f"{(features, features)} (D, D) for x of width {features}, "
                             f"got {w.shape}")
        dense[p] = {"w": w, **({"b": params[f"b_{p}"]} if f"b_{p}" in params else {})}
    return dense


def multi_head_attention_forward(params, x, *, num_heads: int, causal: bool = False,
                                 mask=None):
    """Y = concat_h(softmax(Q_h K_h^T / sqrt(d) + mask) V_h) W_o + b_o;  Q = X W_q + b_q, ...

    Args:
        params: ``{"w_q", "w_k", "w_v", "w_o": (D, D)}`` and, with a bias,
            ``{"b_q", "b_v", "b_o": (D,)}``.
        x: ``(N, T, D)`` float array.
        num_heads: ``H``, dividing ``D``.
        causal: each query sees only itself and earlier keys.
        mask: ``(N, T)`` bool, True for real tokens (padded keys are hidden), or ``None``.

    Returns:
        ``(y, cache)`` with ``y: (N, T, D)``.

    Examples:
        >>> params = {f"w_{p}": np.eye(2) for p in "qkvo"}
        >>> y, cache = multi_head_attention_forward(params, np.ones((1, 3, 2)), num_heads=2)
        >>> y
        array([[[1., 1.],
                [1., 1.],
                [1., 1.]]])
    """
    x = _checks.float_array("MultiHeadAttention", "x", x)
    if x.ndim != 3:
        raise ValueError(f"MultiHeadAttention: x must have 3 dimensions (batch, time, "
                         f"features), got shape {x.shape}")
    n, t, features = x.shape
    if features % num_heads:
        raise ValueError(f"MultiHeadAttention: the width D={features} must be divisible by "
                         f"num_heads={num_heads}")
    dense = _projection_params(params, features)
    projected = {p: dense_forward(dense[p], x) for p in "qkv"}
    q, k, v = (_split_heads(projected[p][0], num_heads) for p in "qkv")
    o, attention_cache = dot_product_attention_forward(q, k, v,
                                                       visible_keys(n, t, causal, mask))
    y, out_cache = dense_forward(dense["o"], _merge_heads(o))
    caches = {p: projected[p][1] for p in "qkv"}
    return y, (caches, attention_cache, out_cache, num_heads)


def multi_head_attention_backward(dy, cache):
    """dO = dY W_o^T (dW_o = O^T dY);  dQ, dK, dV per head;  dX = dQ W_q^T + dK W_k^T + dV W_v^T.

    Args:
        dy: ``(N, T, D)`` gradient of ``y``.
        cache: from :func:`multi_head_attention_forward`.

    Returns:
        ``(dx, dparams)`` with ``dx: (N, T, D)`` and ``dparams`` keyed as ``params``.

    Examples:
        >>> params = {f"w_{p}": np.eye(2) for p in "qkvo"}
        >>> y, cache = multi_head_attention_forward(params, np.ones((1, 3, 2)), num_heads=1)
        >>> dx, dparams = multi_head_attention_backward(np.ones_like(y), cache)
        >>> dx.shape, sorted(dparams)
        ((1, 3, 2), ['w_k', 'w_o', 'w_q', 'w_v'])
    """
    caches, attention_cache, out_cache, num_heads = cache
    do, dparams_o = dense_backward(dy, out_cache)
    d_heads = dot_product_attention_backward(_split_heads(do, num_heads), attention_cache)
    dx, dparams = 0.0, {"o": dparams_o}
    for p, d_head in zip("qkv", d_heads, strict=True):
        dx_p, dparams[p] = dense_backward(_merge_heads(d_head), caches[p])
        dx = dx + dx_p
    flat = {f"{leaf}_{p}": value for p, grads in dparams.items() for leaf, value in grads.items()}
    return dx, {name: flat[name] for name in sorted(flat)}
