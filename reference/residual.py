"""The skip connection of a residual block, ``Y = X + F(X)``, as a forward/backward pair.

The pair is the addition alone: it takes the block's output ``F(X)`` as an input and
hands the block its gradient back. Running the block ``F`` (any layer or Sequential the
network can rebuild) around it is composition, done by the ``"Residual"`` builder in
``reference.compose``. Params and state sit under ``"block"``, as in ``funcnet.Residual``.
"""

from __future__ import annotations

import numpy as np


def residual_forward(x, fx):
    """Y = X + F(X).

    Args:
        x: ``(N, ...)`` array, the block's input.
        fx: the block's output ``F(X)``, the shape of ``x``.

    Returns:
        ``(y, cache)`` with ``y`` the shape of ``x``.

    Examples:
        >>> y, cache = residual_forward(np.ones((1, 2)), np.array([[0.5, -1.0]]))
        >>> y
        array([[1.5, 0. ]])
    """
    x, fx = np.asarray(x), np.asarray(fx)
    if fx.shape != x.shape:
        raise ValueError(
            f"Residual: the block must keep the shape of its input to be added to it, "
            f"got input shape {x.shape} and block output shape {fx.shape}"
        )
    return x + fx, x.shape


def residual_backward(dy, cache):
    """dX_skip = dY;  dF(X) = dY  (the block's backward turns dF(X) into its dX; dX adds both).

    Args:
        dy: upstream gradient, the shape of ``y``.
        cache: from :func:`residual_forward`.

    Returns:
        ``(dx_skip, dfx)``: the gradient along the skip and the one for the block's output.

    Examples:
        >>> _, cache = residual_forward(np.ones(2), np.zeros(2))
        >>> residual_backward(np.array([1.0, 2.0]), cache)
        (array([1., 2.]), array([1., 2.]))
    """
    dy = np.asarray(dy)
    if dy.shape != cache:
        raise ValueError(f"Residual backward: dy must have the shape of y {cache}, "
                         f"got {dy.shape}")
    return dy, dy
