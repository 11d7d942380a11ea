"""Window geometry shared by the convolution and pooling layers.

A window of size ``k`` (after dilation ``k_eff = (k - 1) * d + 1``) slides over an axis
of length ``n`` with stride ``s`` over the input padded by ``(lo, hi)``; it produces
``(n + lo + hi - k_eff) // s + 1`` outputs.

``"VALID"`` pads nothing. ``"SAME"`` pads so that there are ``ceil(n / s)`` outputs,
with ``pad_total = max((ceil(n / s) - 1) * s + k_eff - n, 0)``, ``lo = pad_total // 2``
and ``hi = pad_total - lo`` (the extra cell, when odd, goes at the bottom/right; the
XLA and TensorFlow convention). ``reference`` uses the same formula.
"""

from __future__ import annotations

import numbers


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


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
    """Return ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))`` of ints >= 0.

    Accepts the two strings (any case), one int ``p`` (``p`` on every side) or the
    explicit pair of pairs.
    """
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


def padding_to_spec(padding):
    """The JSON-able form of a normalized padding: the string, or ``[[t, b], [l, r]]``."""
    return padding if isinstance(padding, str) else [list(p) for p in padding]


def effective_window(window, dilation) -> tuple[int, int]:
    """Size of a dilated window: ``(k - 1) * d + 1`` per axis."""
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
