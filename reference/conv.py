"""2-D convolution by im2col, as a forward/backward pair; NHWC images, HWIO kernels.

``params`` is funcnet's ``Conv2D`` init converted with ``np.asarray``:
``{"w": (kh, kw, C, O), "b": (O,)}`` (``"b"`` only with a bias). Strides, dilation and
padding follow ``reference._windows`` (the same rules as funcnet).
"""

from __future__ import annotations

import numpy as np

from reference import _checks
from reference import _windows as _win


def _conv_params(params) -> tuple[np.ndarray, np.ndarray | None]:
    if not isinstance(params, dict) or "w" not in params or set(params) - {"w", "b"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"Conv2D: params must be a dict with 'w' (and optionally 'b'), "
                         f"got {got}")
    w = _checks.float_array("Conv2D", "params['w']", params["w"])
    if w.ndim != 4:
        raise ValueError(f"Conv2D: params['w'] must have 4 dimensions (kh, kw, in, out), "
                         f"got shape {w.shape}")
    b = None
    if "b" in params:
        b = _checks.float_array("Conv2D", "params['b']", params["b"])
        if b.shape != (w.shape[3],):
            raise ValueError(f"Conv2D: params['b'] must have shape ({w.shape[3]},) to match "
                             f"w {w.shape}, got {b.shape}")
    return w, b


def conv2d_forward(params, x, *, strides=1, padding="SAME", dilation=1):
    """Z[n,i,j,o] = b[o] + sum_{p,q,c} X_pad[n, i*sh + p*dh, j*sw + q*dw, c] W[p,q,c,o].

    Computed as ``Z = im2col(X_pad) . W``: gather every window into
    ``cols: (N, H_out, W_out, kh, kw, C)``, then contract ``(kh, kw, C)`` with ``W``.

    Args:
        params: ``{"w": (kh, kw, C, O), "b": (O,)}``; ``"b"`` may be absent.
        x: ``(N, H, W, C)`` float array.
        strides: ``s`` or ``(sh, sw)``.
        padding: ``"SAME"``, ``"VALID"``, an int or ``((top, bottom), (left, right))``.
        dilation: ``d`` or ``(dh, dw)``.

    Returns:
        ``(y, cache)`` with ``y: (N, H_out, W_out, O)``.

    Examples:
        >>> params = {"w": np.ones((3, 3, 1, 2)), "b": np.zeros(2)}
        >>> y, cache = conv2d_forward(params, np.ones((1, 5, 6, 1)), strides=2)
        >>> y.shape
        (1, 3, 3, 2)
    """
    w, b = _conv_params(params)
    where = f"Conv2D({w.shape[3]})"
    strides = _win.int_pair(where, "strides", strides)
    dilation = _win.int_pair(where, "dilation", dilation)
    padding = _win.normalize_padding(where, padding)
    x = _checks.float_array(where, "x", x)
    if x.ndim != 4:
        raise ValueError(f"{where}: x must have 4 dimensions (batch, height, width, channels), "
                         f"got shape {x.shape}")
    if x.shape[-1] != w.shape[2]:
        raise ValueError(f"{where}: x must have {w.shape[2]} channels (the in_channels of w "
                         f"{w.shape}), got x shape {x.shape}")
    in_hw = x.shape[1:3]
    window = _win.effective_window(w.shape[:2], dilation)
    pads = _win.explicit_pads(padding, in_hw, window, strides)
    out_hw = _win.output_hw(where, in_hw, pads, window, strides, "dilated kernel")
    index = _win.window_index(out_hw, w.shape[:2], strides, dilation)
    xp = _win.pad_hw(x, pads)
    cols = _win.im2col(xp, index)
    y = np.tensordot(cols, w, axes=([3, 4, 5], [0, 1, 2]))
    if b is not None:
        y = y + b
    return y, (cols, w, b is not None, xp.shape, index, pads, in_hw)


def conv2d_backward(dy, cache):
    """dW = sum_{n,i,j} cols[n,i,j] (x) dZ[n,i,j];  db = sum_{n,i,j} dZ;  dX = col2im(dZ . W^T).

    Args:
        dy: ``(N, H_out, W_out, O)`` upstream gradient.
        cache: from :func:`conv2d_forward`.

    Returns:
        ``(dx, dparams)`` with ``dx: (N, H, W, C)`` and
        ``dparams = {"w": (kh, kw, C, O), "b": (O,)}`` (``"b"`` only with a bias).

    Examples:
        >>> params = {"w": np.ones((2, 2, 1, 1))}
        >>> y, cache = conv2d_forward(params, np.ones((1, 3, 3, 1)), padding="VALID")
        >>> dx, dparams = conv2d_backward(np.ones_like(y), cache)
        >>> dx[0, :, :, 0]
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    cols, w, has_bias, padded_shape, index, pads, in_hw = cache
    dy = np.asarray(dy)
    expected = (*cols.shape[:3], w.shape[3])
    if dy.shape != expected:
        raise ValueError(f"Conv2D backward: dy must have the shape of y {expected}, "
                         f"got {dy.shape}")
    dparams = {"w": np.tensordot(cols, dy, axes=([0, 1, 2], [0, 1, 2]))}
    if has_bias:
        dparams["b"] = np.sum(dy, axis=(0, 1, 2))
    dcols = np.tensordot(dy, w, axes=([3], [3]))
    dxp = _win.col2im(dcols, padded_shape, index)
    return _win.crop_hw(dxp, pads, in_hw), dparams
