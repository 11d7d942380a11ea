"""What ``fit`` does before its first epoch: where the epoch runs, and the state it
starts from (own copies, the optimizer state, its first learning rate)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import optim as _optim
from funcnet.core import spec_contains


def pick_mode(mode: str, model, x, y, budget: int) -> str:
    """``"scan"`` or ``"loop"`` for ``mode="auto"`` (any other mode is returned as is)."""
    if mode != "auto":
        return mode
    nbytes = np.asarray(x).nbytes + np.asarray(y).nbytes
    if nbytes > budget:
        return "loop"
    if jax.default_backend() == "cpu" and spec_contains(model.spec, "Conv2D"):
        # XLA:CPU runs convolutions inside a while loop (lax.scan) several times slower
        # than at top level (measured 4x on the MNIST CNN, jax 0.10), while the per-step
        # overhead is small next to a conv step: the loop is faster there.
        return "loop"
    return "scan"


def as_array(a):
    """A jax array as is (no round trip through the host); anything else (NumPy, lists)
    as one NumPy array, so ``device_put`` sees an array, not a tree of scalars."""
    return a if isinstance(a, jax.Array) else np.asarray(a)


def _copy(tree):
    return jax.tree.map(jnp.copy, tree)


# compiled: one program per tree structure instead of one per leaf shape
snapshot = jax.jit(_copy)


def learning_rate_or_none(opt_state):
    """The rate recorded in ``opt_state`` as a float, or ``None`` when it records none."""
    try:
        return float(_optim.current_learning_rate(opt_state))
    except ValueError:
        return None


def start(where, optimizer, params, state, opt_state):
    """Own copies of params and state (the compiled epochs donate their inputs) and the
    optimizer state, in one compiled call. Run op by op, every copy and every op of the
    optimizer's init (a schedule's maths included) is compiled on its own first: about
    20 small compilations, which on a GPU took longer than the epoch's own."""
    def begin(params, state, opt_state):
        opt_state = optimizer.init(params) if opt_state is None else _copy(opt_state)
        return _copy(params), _copy(state), opt_state

    params, state, opt_state = jax.jit(begin)(params, state, opt_state)
    # Under jit a schedule's first rate is not concrete for init to check; check it here.
    rate = learning_rate_or_none(opt_state)
    if rate is not None and not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"{where}: the optimizer's learning rate at step 0 is {rate}; a "
                         f"learning rate must be finite and >= 0 (a negative one would "
                         f"climb the loss)")
    return params, state, opt_state
