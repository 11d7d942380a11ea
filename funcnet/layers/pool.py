"""Pooling and reshaping layers for NHWC images: max/average pooling, Flatten, GlobalAvgPool.

Padded cells never take part in a pool: max pooling pads with ``-inf``, and average
pooling divides each window's sum by the number of *input* cells it covers (the
TensorFlow/Keras convention; PyTorch's ``count_include_pad=True`` would divide by the
full window size instead). Explicit padding must be smaller than the window on each
side, so every window covers at least one input cell.

On XLA:CPU, non-overlapping windows (strides equal to the window, the default) are
pooled as blocks: the image is reshaped to ``(N, H_out, kh, W_out, kw, C)`` and reduced
over the two window axes. ``lax.reduce_window``'s gradient is a select-and-scatter
(max) or a padded window sum (average), which XLA:CPU runs as slow loops: they took
about half of the MNIST CNN's gradient. The blocks give the same values and gradients
(the max's gradient goes to the first maximum of a window, as select-and-scatter's
does); other platforms keep ``reduce_window`` (``lax.platform_dependent``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks
from funcnet.core import Layer
from funcnet.layers import _windows


def _no_params(key, input_shape):
    del key, input_shape
    return {}, {}


def _pool_geometry(where, window, strides, padding):
    window = _windows.int_pair(where, "window", window)
    strides = window if strides is None else _windows.int_pair(where, "strides", strides)
    padding = _windows.normalize_padding(where, padding)
    if not isinstance(padding, str):
        for axis, (k, pads) in enumerate(zip(window, padding, strict=True)):
            if max(pads) >= k:
                raise ValueError(
                    f"{where}: padding {pads} on {('height', 'width')[axis]} must be smaller "
                    f"than the window {k} on each side, so every window covers an input cell"
                )
    return window, strides, padding


def _window_counts(in_hw, pads, window, strides, out_hw) -> np.ndarray:
    """Number of input (unpadded) cells under each window: ``(H_out, W_out)``."""
    per_axis = []
    for n, (lo, _), k, s, m in zip(in_hw, pads, window, strides, out_hw, strict=True):
        start = np.arange(m) * s - lo
        per_axis.append(np.minimum(start + k, n) - np.maximum(start, 0))
    return np.outer(*per_axis)


def _first_max_mask(blocks, y):
    """``blocks: (N, H_out, kh, W_out, kw, C)``, ``y`` their maxima ``(N, H_out, W_out, C)``:
    True at the first maximum of each window in row-major window order, the cell
    ``lax.reduce_window``'s gradient (select-and-scatter with ``>=``) picks."""
    kh, kw = blocks.shape[2], blocks.shape[4]
    order = jnp.arange(kh * kw).reshape(1, 1, kh, 1, kw, 1)
    at_max = blocks == y[:, :, None, :, None, :]
    first = jnp.min(jnp.where(at_max, order, kh * kw), axis=(2, 4), keepdims=True)
    return order == first


@jax.custom_jvp
def _block_max(blocks):
    return jnp.max(blocks, axis=(2, 4))


@_block_max.defjvp
def _block_max_jvp(primals, tangents):
    # jnp.max's own derivative shares a tie between the tied cells; reduce_window's
    # gives it all to the first one. This one is linear in the tangent, so reverse mode
    # follows by transposition (a where and a reshape, no scatter).
    (blocks,), (tangent,) = primals, tangents
    y = _block_max(blocks)
    mask = _first_max_mask(blocks, y)
    return y, jnp.sum(jnp.where(mask, tangent, jnp.zeros_like(tangent)), axis=(2, 4))


def _blocks(x, pads, window, out_hw, fill):
    """``x`` padded with ``fill``, cut to whole windows, as ``(N, H_out, kh, W_out, kw, C)``."""
    x = jax.lax.pad(x, jnp.asarray(fill, x.dtype), ((0, 0, 0), *((lo, hi, 0) for lo, hi in pads),
                                                   (0, 0, 0)))
    (ho, wo), (kh, kw) = out_hw, window
    x = x[:, :ho * kh, :wo * kw]
    return x.reshape(x.shape[0], ho, kh, wo, kw, x.shape[3])


def _pool_layer(kind, window, strides, padding) -> Layer:
    where = f"{kind}(window={window!r})"
    window, strides, padding = _pool_geometry(where, window, strides, padding)

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params(where, params, {})
        _checks.exact_rank(where, "x", x, 4, "(batch, height, width, channels)")
        _checks.floating_array(where, "x", x)
        in_hw = x.shape[1:3]
        pads = _windows.explicit_pads(padding, in_hw, window, strides)
        out_hw = _windows.output_hw(where, in_hw, pads, window, strides, "window")
        dims, steps = (1, *window, 1), (1, *strides, 1)
        full_pads = ((0, 0), *pads, (0, 0))
        if kind == "MaxPool2D":
            def by_window(x):
                return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, dims, steps, full_pads)

            def by_block(x):
                return _block_max(_blocks(x, pads, window, out_hw, -jnp.inf))
        else:
            counts = jnp.asarray(_window_counts(in_hw, pads, window, strides, out_hw)
                                 [None, :, :, None], x.dtype)

            def by_window(x):
                return jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, steps,
                                             full_pads) / counts

            def by_block(x):
                return jnp.sum(_blocks(x, pads, window, out_hw, 0.0), axis=(2, 4)) / counts
        if strides != window:
            return by_window(x), state
        return jax.lax.platform_dependent(x, cpu=by_block, default=by_window), state

    spec = {"type": kind, "window": list(window), "strides": list(strides),
            "padding": _windows.padding_to_spec(padding)}
    name = "max_pool" if kind == "MaxPool2D" else "avg_pool"
    return Layer(_no_params, apply, name=name, spec=spec, needs_key=False)


def MaxPool2D(window, strides=None, padding="VALID") -> Layer:  # noqa: N802
    """Max pooling: ``y[n, i, j, c] = max over the window at (i*sh, j*sw) of x_pad[n, ., ., c]``.

    Args:
        window: ``k`` or ``(kh, kw)``.
        strides: ``s`` or ``(sh, sw)``; ``None`` means the window (non-overlapping).
        padding: ``"VALID"``, ``"SAME"``, an int or ``((top, bottom), (left, right))``;
            padded cells are ``-inf`` and never the maximum.

    Shapes: ``x: (N, H, W, C)`` -> ``y: (N, H_out, W_out, C)``.

    The gradient goes to the maximum of each window; on a tie JAX on CPU picks the first
    maximum in row-major window order, and ``reference`` does the same.

    Examples:
        >>> layer = MaxPool2D(2)
        >>> y, _ = layer.apply({}, {}, jnp.arange(16.0).reshape(1, 4, 4, 1))
        >>> y[0, :, :, 0]
        Array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    return _pool_layer("MaxPool2D", window, strides, padding)


def AvgPool2D(window, strides=None, padding="VALID") -> Layer:  # noqa: N802
    """Average pooling: each window's sum over input cells / the number of input cells.

    Args:
        window: ``k`` or ``(kh, kw)``.
        strides: ``s`` or ``(sh, sw)``; ``None`` means the window (non-overlapping).
        padding: ``"VALID"``, ``"SAME"``, an int or ``((top, bottom), (left, right))``;
            padded cells are left out of both the sum and the count.

    Shapes: ``x: (N, H, W, C)`` -> ``y: (N, H_out, W_out, C)``.

    Examples:
        >>> layer = AvgPool2D(2, padding="SAME")
        >>> y, _ = layer.apply({}, {}, jnp.arange(9.0).reshape(1, 3, 3, 1))
        >>> y[0, :, :, 0]
        Array([[2. , 3.5],
               [6.5, 8. ]], dtype=float32)
    """
    return _pool_layer("AvgPool2D", window, strides, padding)


def Flatten() -> Layer:  # noqa: N802
    """Flatten every axis but the batch axis: ``(N, d1, d2, ...) -> (N, d1*d2*...)``.

    Row-major (C) order, so an NHWC image flattens channel fastest.

    Examples:
        >>> y, _ = Flatten().apply({}, {}, jnp.ones((2, 3, 4, 5)))
        >>> y.shape
        (2, 60)
    """

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params("Flatten", params, {})
        _checks.min_rank("Flatten", "x", x, 2, "(batch, ...)")
        return jnp.reshape(x, (x.shape[0], -1)), state

    return Layer(_no_params, apply, name="flatten", spec={"type": "Flatten"}, needs_key=False)


def GlobalAvgPool() -> Layer:  # noqa: N802
    """Mean over the spatial axes: ``y[n, c] = mean_{i, j} x[n, i, j, c]``.

    Shapes: ``x: (N, H, W, C)`` -> ``y: (N, C)``.

    Examples:
        >>> y, _ = GlobalAvgPool().apply({}, {}, jnp.ones((2, 3, 4, 5)))
        >>> y.shape
        (2, 5)
    """

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params("GlobalAvgPool", params, {})
        _checks.exact_rank("GlobalAvgPool", "x", x, 4, "(batch, height, width, channels)")
        _checks.floating_array("GlobalAvgPool", "x", x)
        if x.shape[1] == 0 or x.shape[2] == 0:
            raise ValueError(
                f"GlobalAvgPool: x must have at least one spatial cell to average, got "
                f"shape {tuple(x.shape)} (height or width 0)"
            )
        return jnp.mean(x, axis=(1, 2)), state

    return Layer(_no_params, apply, name="global_avg_pool", spec={"type": "GlobalAvgPool"},
                 needs_key=False)
