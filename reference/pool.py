"""Pooling and reshaping layers as forward/backward pairs: max/average pooling, flatten,
global average pooling. NHWC images; no parameters (``dparams`` is ``{}``).

Padded cells never take part: max pooling pads with ``-inf``; average pooling divides
each window's sum by the number of input cells under it (not the full window size).
Explicit padding must be smaller than the window on each side. Max-pool ties: the
gradient goes to the first maximum in row-major window order (``np.argmax``), which is
what JAX's ``reduce_window`` max gradient does on CPU.
"""

from __future__ import annotations

import numpy as np

from reference import _checks
from reference import _windows as _win


def _pool_setup(kind, x, window, strides, padding, pad_value):
    where = f"{kind}(window={window!r})"
    window = _win.int_pair(where, "window", window)
    strides = window if strides is None else _win.int_pair(where, "strides", strides)
    padding = _win.normalize_padding(where, padding)
    if not isinstance(padding, str):
        for axis, (k, pads) in enumerate(zip(window, padding, strict=True)):
            if max(pads) >= k:
                raise ValueError(
                    f"{where}: padding {pads} on {('height', 'width')[axis]} must be smaller "
                    f"than the window {k} on each side, so every window covers an input cell"
                )
    x = _checks.float_array(where, "x", x)
    if x.ndim != 4:
        raise ValueError(f"{where}: x must have 4 dimensions (batch, height, width, channels), "
                         f"got shape {x.shape}")
    in_hw = x.shape[1:3]
    pads = _win.explicit_pads(padding, in_hw, window, strides)
    out_hw = _win.output_hw(where, in_hw, pads, window, strides, "window")
    index = _win.window_index(out_hw, window, strides, (1, 1))
    xp = _win.pad_hw(x, pads, pad_value)
    return _win.im2col(xp, index), (xp.shape, index, pads, in_hw)


def max_pool_forward(x, *, window, strides=None, padding="VALID"):
    """Y[n,i,j,c] = max_{p,q} X_pad[n, i*sh + p, j*sw + q, c], X_pad padded with -inf.

    Args:
        x: ``(N, H, W, C)`` float array.
        window: ``k`` or ``(kh, kw)``.
        strides: ``s`` or ``(sh, sw)``; ``None`` means the window.
        padding: ``"VALID"``, ``"SAME"``, an int or ``((top, bottom), (left, right))``.

    Returns:
        ``(y, cache)`` with ``y: (N, H_out, W_out, C)``.

    Examples:
        >>> y, cache = max_pool_forward(np.arange(16.0).reshape(1, 4, 4, 1), window=2)
        >>> y[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    cols, geometry = _pool_setup("MaxPool2D", x, window, strides, padding, -np.inf)
    n, oh, ow, kh, kw, c = cols.shape
    flat = cols.reshape(n, oh, ow, kh * kw, c)
    argmax = np.argmax(flat, axis=3)[:, :, :, None, :]
    y = np.take_along_axis(flat, argmax, axis=3)[:, :, :, 0, :]
    return y, (argmax, cols.shape, geometry)


def max_pool_backward(dy, cache):
    """dX_pad[argmax of window (n,i,j,c)] += dY[n,i,j,c]; dX = dX_pad without padding.

    Args:
        dy: ``(N, H_out, W_out, C)`` upstream gradient.
        cache: from :func:`max_pool_forward`.

    Returns:
        ``(dx, {})`` with ``dx: (N, H, W, C)``.

    Examples:
        >>> y, cache = max_pool_forward(np.arange(16.0).reshape(1, 4, 4, 1), window=2)
        >>> dx, dparams = max_pool_backward(np.ones_like(y), cache)
        >>> dx[0, :, :, 0]
        array([[0., 0., 0., 0.],
               [0., 1., 0., 1.],
               [0., 0., 0., 0.],
               [0., 1., 0., 1.]])
    """
    argmax, cols_shape, (padded_shape, index, pads, in_hw) = cache
    n, oh, ow, kh, kw, c = cols_shape
    dy = _expect_shape("MaxPool2D", dy, (n, oh, ow, c))
    dflat = np.zeros((n, oh, ow, kh * kw, c), dtype=dy.dtype)
    np.put_along_axis(dflat, argmax, dy[:, :, :, None, :], axis=3)
    dxp = _win.col2im(dflat.reshape(cols_shape), padded_shape, index)
    return _win.crop_hw(dxp, pads, in_hw), {}


def avg_pool_forward(x, *, window, strides=None, padding="VALID"):
    """Y[n,i,j,c] = sum_{p,q} X_pad[n, i*sh + p, j*sw + q, c] / count[i,j].

    ``count[i, j]`` is the number of input (not padding) cells under window ``(i, j)``.

    Args:
        x: ``(N, H, W, C)`` float array.
        window: ``k`` or ``(kh, kw)``.
        strides: ``s`` or ``(sh, sw)``; ``None`` means the window.
        padding: ``"VALID"``, ``"SAME"``, an int or ``((top, bottom), (left, right))``.

    Returns:
        ``(y, cache)`` with ``y: (N, H_out, W_out, C)``.

    Examples:
        >>> y, cache = avg_pool_forward(np.arange(9.0).reshape(1, 3, 3, 1), window=2,
        ...                             padding="SAME")
        >>> y[0, :, :, 0]
        array([[2. , 3.5],
               [6.5, 8. ]])
    """
    cols, geometry = _pool_setup("AvgPool2D", x, window, strides, padding, 0.0)
    padded_shape, index, pads, in_hw = geometry
    inside = _win.im2col(_win.pad_hw(np.ones((1, *in_hw, 1)), pads), index)
    count = inside.sum(axis=(3, 4))
    return cols.sum(axis=(3, 4)) / count, (count, cols.shape, geometry)


def avg_pool_backward(dy, cache):
    """dX_pad[window cell of (n,i,j,c)] += dY[n,i,j,c] / count[i,j]; dX drops the padding.

    Args:
        dy: ``(N, H_out, W_out, C)`` upstream gradient.
        cache: from :func:`avg_pool_forward`.

    Returns:
        ``(dx, {})`` with ``dx: (N, H, W, C)``.

    Examples:
        >>> y, cache = avg_pool_forward(np.ones((1, 2, 2, 1)), window=2)
        >>> avg_pool_backward(np.ones_like(y), cache)[0][0, :, :, 0]
        array([[0.25, 0.25],
               [0.25, 0.25]])
    """
    count, cols_shape, (padded_shape, index, pads, in_hw) = cache
    n, oh, ow, kh, kw, c = cols_shape
    dy = _expect_shape("AvgPool2D", dy, (n, oh, ow, c))
    dcols = np.broadcast_to((dy / count)[:, :, :, None, None, :], cols_shape)
    dxp = _win.col2im(dcols, padded_shape, index)
    return _win.crop_hw(dxp, pads, in_hw), {}


def flatten_forward(x):
    """Y = X.reshape(N, -1), row-major (channel fastest for NHWC).

    Args:
        x: ``(N, d1, d2, ...)`` array.

    Returns:
        ``(y, cache)`` with ``y: (N, d1*d2*...)``.

    Examples:
        >>> flatten_forward(np.ones((2, 3, 4, 5)))[0].shape
        (2, 60)
    """
    x = np.asarray(x)
    _checks.min_rank("Flatten", "x", x, 2, "(batch, ...)")
    return x.reshape(x.shape[0], -1), x.shape


def flatten_backward(dy, cache):
    """dX = dY.reshape(shape of X). Returns ``(dx, {})``.

    Examples:
        >>> y, cache = flatten_forward(np.ones((2, 3, 4, 5)))
        >>> flatten_backward(np.ones_like(y), cache)[0].shape
        (2, 3, 4, 5)
    """
    return np.asarray(dy).reshape(cache), {}


def global_avg_pool_forward(x):
    """Y[n,c] = mean_{i,j} X[n,i,j,c].

    Args:
        x: ``(N, H, W, C)`` float array.

    Returns:
        ``(y, cache)`` with ``y: (N, C)``.

    Examples:
        >>> global_avg_pool_forward(np.ones((2, 3, 4, 5)))[0].shape
        (2, 5)
    """
    x = _checks.float_array("GlobalAvgPool", "x", x)
    if x.ndim != 4:
        raise ValueError(f"GlobalAvgPool: x must have 4 dimensions (batch, height, width, "
                         f"channels), got shape {x.shape}")
    return x.mean(axis=(1, 2)), x.shape


def global_avg_pool_backward(dy, cache):
    """dX[n,i,j,c] = dY[n,c] / (H*W). Returns ``(dx, {})``.

    Examples:
        >>> y, cache = global_avg_pool_forward(np.ones((1, 2, 2, 1)))
        >>> global_avg_pool_backward(np.ones_like(y), cache)[0][0, :, :, 0]
        array([[0.25, 0.25],
               [0.25, 0.25]])
    """
    n, h, w, c = cache
    dy = _expect_shape("GlobalAvgPool", dy, (n, c))
    return np.broadcast_to(dy[:, None, None, :] / (h * w), cache).copy(), {}


def _expect_shape(where, dy, shape):
    dy = np.asarray(dy)
    if dy.shape != tuple(shape):
        raise ValueError(f"{where} backward: dy must have the shape of y {tuple(shape)}, "
                         f"got {dy.shape}")
    return dy
