"""Sliding-window bookkeeping for convolution and pooling: padding, im2col, col2im.

A window of size ``k`` dilated by ``d`` spans ``k_eff = (k - 1) * d + 1`` cells; over an
axis of length ``n`` padded by ``(lo, hi)`` with stride ``s`` it makes
``(n + lo + hi - k_eff) // s + 1`` outputs. ``"SAME"`` pads
``total = max((ceil(n / s) - 1) * s + k_eff - n, 0)`` split ``lo = total // 2``,
``hi = total - lo``; ``"VALID"`` pads nothing (the same rule as ``funcnet``).

``im2col`` gathers every window into a ``(N, H_out, W_out, kh, kw, C)`` array with one
fancy-indexing step (no loop over pixels); ``col2im`` is its adjoint, scatter-adding
window gradients back with ``np.add.at`` so overlapping windows accumulate.
"""

from __future__ import annotations

import numbers

import numpy as np


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def int_pair(where: str, name: str, value) -> tuple[int, int]:
    """Return ``value`` as ``(height, width)`` positive ints; an int means both."""
    if _is_int(value):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(_is_int(v) and v > 0 for v in value)):
        raise ValueError(
            f"{where}: {name} must be a positive int or a pair (height, width) of "
            f"positive ints, got {value!r}"
        )
    return int(value[0]), int(value[1])


def normalize_padding(where: str, padding):
    """Return ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))`` of ints >= 0."""
    if isinstance(padding, str):
        if padding.upper() in ("SAME", "VALID"):
            return padding.upper()
    elif _is_int(padding) and padding >= 0:
        return ((int(padding),) * 2,) * 2
    elif (isinstance(padding, (tuple, list)) and len(padding) == 2
          and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in padding)
          and all(_is_int(v) and v >= 0 for p in padding for v in p)):
        return tuple((int(p[0]), int(p[1])) for p in padding)
    raise ValueError(
        f"{where}: padding must be 'SAME', 'VALID', an int >= 0 or "
        f"((top, bottom), (left, right)) of ints >= 0, got {padding!r}"
    )


def effective_window(window, dilation) -> tuple[int, int]:
    """k_eff = (k - 1) * d + 1 per axis."""
    return tuple((k - 1) * d + 1 for k, d in zip(window, dilation, strict=True))


def explicit_pads(padding, in_hw, window_eff, strides) -> tuple[tuple[int, int], ...]:
    """Resolve a normalized padding to ``((top, bottom), (left, right))`` for this input."""
    if padding == "VALID":
        return ((0, 0), (0, 0))
    if padding == "SAME":
        pads = []
        for n, k, s in zip(in_hw, window_eff, strides, strict=True):
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    return tuple(padding)


def output_hw(where: str, in_hw, pads, window_eff, strides, what: str) -> tuple[int, int]:
    """Output ``(height, width)``; raise if the window is larger than the padded input."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_hw, pads, strict=True))
    if any(p < k for p, k in zip(padded, window_eff, strict=True)):
        raise ValueError(
            f"{where}: the {what} {tuple(window_eff)} (height, width) is larger than the "
            f"padded input {padded} (input {tuple(in_hw)} + padding {tuple(pads)}); use "
            f"padding='SAME', a smaller {what}, or a larger input"
        )
    return tuple((p - k) // s + 1 for p, k, s in zip(padded, window_eff, strides, strict=True))


def window_index(out_hw, window, strides, dilation) -> tuple[np.ndarray, np.ndarray]:
    """Padded-input row and column of every window cell.

    Returns:
        ``(rows, cols)`` broadcasting to ``(H_out, W_out, kh, kw)``:
        ``rows[i, :, p, :] = i*sh + p*dh`` and ``cols[:, j, :, q] = j*sw + q*dw``.
    """
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = out_hw, window, strides, dilation
    rows = np.arange(oh)[:, None] * sh + np.arange(kh)[None, :] * dh
    cols = np.arange(ow)[:, None] * sw + np.arange(kw)[None, :] * dw
    return rows[:, None, :, None], cols[None, :, None, :]


def pad_hw(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the height and width axes of an NHWC array with ``value``."""
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def crop_hw(xp: np.ndarray, pads, in_hw) -> np.ndarray:
    """Undo :func:`pad_hw`: the ``in_hw`` block of ``xp`` past the top/left padding."""
    (top, _), (left, _) = pads
    return xp[:, top:top + in_hw[0], left:left + in_hw[1], :]


def im2col(xp: np.ndarray, index) -> np.ndarray:
    """Windows of a padded NHWC array: ``(N, Hp, Wp, C) -> (N, H_out, W_out, kh, kw, C)``."""
    rows, cols = index
    return xp[:, rows, cols, :]


def col2im(dcols: np.ndarray, padded_shape, index) -> np.ndarray:
    """Adjoint of :func:`im2col`: sum each window cell's gradient into its input cell."""
    rows, cols = index
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    np.add.at(dxp, (slice(None), rows, cols, slice(None)), dcols)
    return dxp
