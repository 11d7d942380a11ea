"""Residual connection ``Y = X + F(X)`` around any block the network can rebuild.

The block is itself a :class:`reference.network.Module` (a layer or a Sequential), so
this twin exists only as a ``reference.build`` adapter; importing this module registers
``"Residual"`` in ``reference.network.REGISTRY``. Params and state sit under
``"block"``, as in ``funcnet.Residual``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from reference import network as _network


def _residual_module(spec: dict, path: str) -> _network.Module:
    """Y = X + F(X);  dX = dY + F'(X)^T dY;  dparams = the block's, under ``"block"``."""
    _network._check_hyperparameters(spec, path, {"block"})
    where = _network._where(spec, path)
    block = _network.build_module(spec.get("block"), _network.join(path, "block"))

    def subtree(tree, name):
        if not isinstance(tree, Mapping) or set(tree) != {"block"}:
            got = sorted(tree) if isinstance(tree, Mapping) else type(tree).__name__
            raise ValueError(f"{where}: {name} must be {{'block': ...}} (as funcnet init "
                             f"made it), got {got}")
        return tree["block"]

    def forward(params, state, x, ctx):
        block_state = None if state is None else subtree(state, "state")
        fx, new_block_state, cache = block.forward(subtree(params, "params"), block_state,
                                                   x, ctx)
        x = np.asarray(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"{where}: the block must keep the shape of its input to be added to it, "
                f"got input shape {x.shape} and block output shape {fx.shape}"
            )
        return x + fx, {"block": new_block_state}, cache

    def backward(dy, cache):
        dx_block, dparams = block.backward(dy, cache)
        return np.asarray(dy) + dx_block, {"block": dparams}

    return _network.Module(forward, backward, path, spec, (block,))


_network.REGISTRY["Residual"] = _residual_module
