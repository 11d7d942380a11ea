"""Index plans that cover every sample exactly once in fixed-size batches.

A dataset of ``n`` samples in batches of ``b`` becomes ``ceil(n / b)`` batches of
exactly ``b`` indices. The last batch is filled up by wrapping around to the start of
the order, and those filler positions get mask 0: they are real samples (so layers that
look at the whole batch, like BatchNorm, see real data) but carry no weight in the loss,
the metrics or the gradient. Every batch has the same shape, so one compilation serves
the whole run.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def num_batches(n: int, batch_size: int) -> int:
    """ceil(n / batch_size)."""
    return -(-n // batch_size)


def plan(order, batch_size: int):
    """Split an index order ``(n,)`` into ``(nb, batch_size)`` indices and a 0/1 mask.

    Works on NumPy and jax arrays alike (``order`` may be a device permutation).

    Examples:
        >>> idx, mask = plan(np.arange(5), 2)
        >>> idx.tolist(), mask.tolist()
        ([[0, 1], [2, 3], [4, 0]], [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    """
    xp = jnp if not isinstance(order, np.ndarray) else np
    n = order.shape[0]
    nb = num_batches(n, batch_size)
    positions = xp.arange(nb * batch_size)
    idx = order[positions % n].reshape(nb, batch_size)
    mask = (positions < n).astype(xp.float32).reshape(nb, batch_size)
    return idx, mask
