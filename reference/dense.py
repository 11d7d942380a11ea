"""Dense layer as a forward/backward pair (CS231n style), same layout as funcnet.

``params`` is the dict funcnet's ``Dense`` init produces, converted with
``np.asarray``: ``{"w": (in, out), "b": (out,)}`` (``"b"`` only with a bias).
The ``1/m`` of a mean over the batch lives in the loss gradient, not here.
"""

from __future__ import annotations

import numpy as np

from reference import _checks


def _dense_params(params) -> tuple[np.ndarray, np.ndarray | None]:
    if not isinstance(params, dict) or "w" not in params:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"Dense: params must be a dict with 'w' (and optionally 'b'), got {got}")
    unknown = set(params) - {"w", "b"}
    if unknown:
        raise ValueError(f"Dense: params has unexpected entries {sorted(unknown)}; "
                         f"expected 'w' and optionally 'b'")
    w = _checks.float_array("Dense", "params['w']", params["w"])
    if w.ndim != 2:
        raise ValueError(f"Dense: params['w'] must have 2 dimensions (in, out), "
                         f"got shape {w.shape}")
    b = None
    if "b" in params:
        b = _checks.float_array("Dense", "params['b']", params["b"])
        if b.shape != (w.shape[1],):
            raise ValueError(f"Dense: params['b'] must have shape ({w.shape[1]},) to match "
                             f"w {w.shape}, got {b.shape}")
    return w, b


def dense_forward(params, x):
    """Z = A_prev @ W + b.

    Args:
        params: ``{"w": (in, out), "b": (out,)}``; ``"b"`` may be absent.
        x: ``(N, in)`` float array (or any ``(..., in)``).

    Returns:
        ``(y, cache)`` with ``y: (N, out)`` (``(..., out)``).

    Examples:
        >>> params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
        >>> y, cache = dense_forward(params, np.ones((4, 2)))
        >>> y.shape
        (4, 3)
    """
    w, b = _dense_params(params)
    x = _checks.float_array("Dense", "x", x)
    _checks.min_rank("Dense", "x", x, 1, "(batch, in_features)")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"Dense({w.shape[1]}): x must have last dimension {w.shape[0]} "
            f"(the in_features of w {w.shape}), got x shape {x.shape}"
        )
    y = x @ w
    if b is not None:
        y = y + b
    return y, (x, w, b is not None)


def dense_backward(dy, cache):
    """dW = A_prev.T @ dZ;  db = sum(dZ, axis=0);  dA_prev = dZ @ W.T.

    Args:
        dy: ``(N, out)`` upstream gradient (``(..., out)``, the shape of ``y``).
        cache: from :func:`dense_forward`.

    Returns:
        ``(dx, dparams)`` with ``dx: (N, in)`` and ``dparams = {"w": (in, out),
        "b": (out,)}`` (``"b"`` only when the layer has a bias).

    Examples:
        >>> params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
        >>> y, cache = dense_forward(params, np.ones((4, 2)))
        >>> dx, dparams = dense_backward(np.ones((4, 3)), cache)
        >>> dparams["w"]
        array([[4., 4., 4.],
               [4., 4., 4.]])
    """
    x, w, has_bias = cache
    dy = np.asarray(dy)
    expected = (*x.shape[:-1], w.shape[1])
    if dy.shape != expected:
        raise ValueError(f"Dense backward: dy must have the shape of y {expected}, got {dy.shape}")
    # Leading axes beyond the batch are more rows of the same matrix product.
    x_rows = x.reshape(-1, w.shape[0])
    dy_rows = dy.reshape(-1, w.shape[1])
    dparams = {"w": x_rows.T @ dy_rows}
    if has_bias:
        dparams["b"] = np.sum(dy_rows, axis=0)
    return dy @ w.T, dparams
