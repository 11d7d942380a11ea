"""The reference leg: what the caller's NumPy twin must offer, and its Dropout masks."""

from __future__ import annotations

import jax
import numpy as np

from funcnet.layers.dropout import dropout_masks


def _check_reference(reference) -> None:
    missing = [name for name in ("build", "value_and_grad")
               if not callable(getattr(reference, name, None))]
    if missing:
        raise TypeError(
            f"check_gradients: reference must be the reference package (the caller's own "
            f"reference module, passed as reference=...), its compose module, or an object "
            f"with build(spec) and value_and_grad(net, params, x, targets, loss, ...); got "
            f"{type(reference).__name__} without {missing}"
        )


def _replayed_masks(model, key) -> dict:
    """``funcnet.dropout_masks`` with each mask drawn by one compiled call."""
    def compiled(mask_for):
        draw = jax.jit(mask_for, static_argnums=0)
        return lambda shape: np.asarray(draw(tuple(shape)))

    return {path: compiled(mask_for) for path, mask_for in dropout_masks(model, key).items()}
