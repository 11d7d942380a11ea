"""Gradients through time: ``dL/dh_t`` at every step of a recurrent layer, and their norms."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcnet.core import Layer
from funcnet.layers import recurrent


def hidden_gradients(layer: Layer, params, x, loss: Callable) -> jax.Array:
    """``dL/dh_t`` for every step t: the whole gradient reaching each hidden state.

    ``dL/dh_t`` gathers the loss's direct gradient at step t (when every step is
    output) and all that flows back from steps t+1 .. T through the recurrence; it is
    the ``dh_t`` of backprop through time. For an RNN it shrinks (or grows) roughly
    geometrically as t moves away from where the loss reads the sequence: the
    vanishing (exploding) gradient through time.

    Args:
        layer: an ``RNN``, ``LSTM`` or ``GRU`` layer.
        params: its params.
        x: ``(N, T, F)`` a batch of sequences.
        loss: ``loss(y) -> scalar`` of the layer's output ``y`` (``(N, T, H)``, or
            ``(N, H)`` with ``return_sequences=False``).

    Returns:
        ``(N, T, H)``.

    Examples:
        >>> layer = RNN(3, return_sequences=False)
        >>> params, _ = layer.init(jax.random.key(0), (6, 2))
        >>> hidden_gradients(layer, params, jnp.ones((4, 6, 2)), jnp.sum).shape
        (4, 6, 3)
    """
    spec = layer.spec if isinstance(layer, Layer) else None
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in recurrent.GATES:
        raise TypeError(f"hidden_gradients: layer must be an RNN, LSTM or GRU layer, got "
                        f"{getattr(layer, 'name', type(layer).__name__)!r}")
    if not callable(loss):
        raise TypeError(f"hidden_gradients: loss must be a function of the layer's output, "
                        f"got {type(loss).__name__}")
    # the layer's own apply checks params and x (at trace time only: no FLOPs)
    jax.eval_shape(lambda p, xx: layer.apply(p, {}, xx), params, x)
    return_sequences = layer.spec["return_sequences"]
    hidden = params["w_h"].shape[0]
    offsets = jnp.zeros((*jnp.shape(x)[:2], hidden), jnp.result_type(x, params["w_h"]))

    def loss_of_offsets(offsets):
        hs = recurrent.unroll(kind, params, x, offsets=offsets)
        return loss(hs if return_sequences else hs[:, -1])

    return jax.grad(loss_of_offsets)(offsets)


def hidden_gradient_norms(layer: Layer, params, x, loss: Callable) -> jax.Array:
    """``||dL/dh_t||`` for every t, over the batch and the hidden units together.

    Args:
        layer: an ``RNN``, ``LSTM`` or ``GRU`` layer.
        params: its params.
        x: ``(N, T, F)``.
        loss: ``loss(y) -> scalar`` of the layer's output.

    Returns:
        ``(T,)``: entry t is the L2 norm of :func:`hidden_gradients` at step t.

    Examples:
        >>> layer = RNN(3, return_sequences=False)
        >>> params, _ = layer.init(jax.random.key(0), (6, 2))
        >>> norms = hidden_gradient_norms(layer, params, jnp.ones((4, 6, 2)), jnp.sum)
        >>> norms.shape
        (6,)
    """
    dh = hidden_gradients(layer, params, x, loss)
    return jnp.sqrt(jnp.sum(jnp.square(dh), axis=(0, 2)))
