"""Recurrent layers RNN, LSTM and GRU over batch-first sequences, compiled with lax.scan.

Shapes: ``x: (N, T, F)`` -> ``y: (N, T, H)`` (``return_sequences=True``, every step's
``h_t``) or ``(N, H)`` (``False``, the last step's ``h_T`` only).

The gate conventions are PyTorch's (``torch.nn.RNN``/``LSTM``/``GRU``), in funcnet's
layout: input kernel ``w_x: (F, G*H)``, recurrent kernel ``w_h: (H, G*H)``, with the
``G`` gates side by side in the order given (PyTorch's ``weight_ih_l0`` is ``w_x.T``):

* RNN (G=1): ``h_t = tanh(x_t @ w_x + h_{t-1} @ w_h + b)``.
* LSTM (G=4, gates i, f, g, o): ``[i, f, g, o] = x_t @ w_x + h_{t-1} @ w_h + b``;
  ``i, f, o = sigmoid(.)``, ``g = tanh(.)``; ``c_t = f * c_{t-1} + i * g``;
  ``h_t = o * tanh(c_t)``.
* GRU (G=3, gates r, z, n): ``a = x_t @ w_x + b_x``, ``u = h_{t-1} @ w_h + b_h``;
  ``r = sigmoid(a_r + u_r)``, ``z = sigmoid(a_z + u_z)``, ``n = tanh(a_n + r * u_n)``;
  ``h_t = (1 - z) * n + z * h_{t-1}``.

Biases: PyTorch has two, ``b_ih`` and ``b_hh``. Where they only ever appear summed (RNN,
LSTM) one ``b = b_ih + b_hh`` is the same model with no redundant parameter. GRU keeps
both (``b_x = b_ih``, ``b_h = b_hh``) because ``b_hn`` sits inside ``r * (...)``.

The initial state. ``initial_state="zeros"`` starts from ``h_0 = 0`` (and ``c_0 = 0``);
``"learned"`` adds trained params ``h0: (H,)`` (and ``c0: (H,)`` for the LSTM), the same
for every sequence of the batch. A layer's ``apply`` takes one array, so a carry handed
in from outside (an encoder's state, a stream cut into chunks) goes through the cells
instead, as in Flax and Equinox: :func:`rnn_cell`, :func:`lstm_cell` and
:func:`gru_cell` are plain functions ``cell(params, carry, x_t) -> (carry, h_t)``, ready
for ``lax.scan``, with the same params as the layers.

Initialisation: ``w_x`` glorot_uniform, ``w_h`` orthogonal per gate (each ``(H, H)``
block, so repeated multiplication neither grows nor shrinks a state at the start),
biases zero, except the LSTM forget gate's ``forget_bias`` (1.0: remember by default,
Jozefowicz et al., 2015).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from funcnet import _checks, initializers
from funcnet.core import Layer

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _split(a, gates: int):
    return jnp.split(a, gates, axis=-1)


def rnn_cell(params, h, x_t):
    """One RNN step, ``h_t = tanh(x_t @ w_x + h_{t-1} @ w_h + b)``.

    Args:
        params: ``{"w_x": (F, H), "w_h": (H, H), "b": (H,)}`` (an RNN layer's params).
        h: ``(N, H)`` the carry ``h_{t-1}``.
        x_t: ``(N, F)`` the input at step t.

    Returns:
        ``(h_t, h_t)``: the new carry and the step's output, as ``lax.scan`` wants.

    Examples:
        >>> params, _ = RNN(2).init(jax.random.key(0), (5, 3))
        >>> h, y = rnn_cell(params, jnp.zeros((4, 2)), jnp.ones((4, 3)))
        >>> h.shape
        (4, 2)
    """
    return _rnn_step(params, h, x_t @ params["w_x"] + params["b"])


def lstm_cell(params, carry, x_t):
    """One LSTM step (gates i, f, g, o): ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.

    Args:
        params: ``{"w_x": (F, 4H), "w_h": (H, 4H), "b": (4H,)}`` (an LSTM layer's params).
        carry: ``(h, c)``, each ``(N, H)``.
        x_t: ``(N, F)``.

    Returns:
        ``((h_t, c_t), h_t)``.

    Examples:
        >>> params, _ = LSTM(2).init(jax.random.key(0), (5, 3))
        >>> (h, c), y = lstm_cell(params, (jnp.zeros((4, 2)), jnp.zeros((4, 2))),
        ...                       jnp.ones((4, 3)))
        >>> c.shape
        (4, 2)
    """
    return _lstm_step(params, carry, x_t @ params["w_x"] + params["b"])


def gru_cell(params, h, x_t):
    """One GRU step (gates r, z, n): ``h_t = (1 - z) * n + z * h_{t-1}``.

    ``n = tanh(x_t @ w_x_n + b_x_n + r * (h_{t-1} @ w_h_n + b_h_n))``, PyTorch's form.

    Args:
        params: ``{"w_x": (F, 3H), "w_h": (H, 3H), "b_x": (3H,), "b_h": (3H,)}``.
        h: ``(N, H)``.
        x_t: ``(N, F)``.

    Returns:
        ``(h_t, h_t)``.

    Examples:
        >>> params, _ = GRU(2).init(jax.random.key(0), (5, 3))
        >>> h, y = gru_cell(params, jnp.zeros((4, 2)), jnp.ones((4, 3)))
        >>> y.shape
        (4, 2)
    """
    return _gru_step(params, h, x_t @ params["w_x"] + params["b_x"])


# The steps take the input projection ``a_t = x_t @ w_x + b`` already made, so the cells
# and unroll share them. unroll makes a_t inside the scan, step by step, as the cells
# do: on XLA:CPU that measured 15% faster per LSTM training step (Embedding(27, 64),
# LSTM(128), T=16, batch 64, benchmarks/peers.py --models lstm) than one (N*T, F)
# product before the scan, whose (T, N, G*H) result and its gradient are each
# materialised and transposed.

def _rnn_step(params, h, a_t):
    h = jnp.tanh(a_t + h @ params["w_h"])
    return h, h


def _lstm_step(params, carry, a_t):
    h, c = carry
    i, f, g, o = _split(a_t + h @ params["w_h"], 4)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


def _gru_step(params, h, a_t):
    a_r, a_z, a_n = _split(a_t, 3)
    u_r, u_z, u_n = _split(h @ params["w_h"] + params["b_h"], 3)
    r = jax.nn.sigmoid(a_r + u_r)
    z = jax.nn.sigmoid(a_z + u_z)
    n = jnp.tanh(a_n + r * u_n)
    h = (1 - z) * n + z * h
    return h, h


_STEPS = {"RNN": _rnn_step, "LSTM": _lstm_step, "GRU": _gru_step}


def _carry_h(kind, carry):
    return carry[0] if kind == "LSTM" else carry


def _with_h(kind, carry, h):
    return (h, carry[1]) if kind == "LSTM" else h


def initial_carry(kind: str, params, batch: int, dtype):
    """The carry a layer of type ``kind`` starts from: learned ``h0``/``c0`` or zeros.

    Returns ``h_0: (N, H)``, or ``(h_0, c_0)`` for ``"LSTM"``.

    Examples:
        >>> params, _ = LSTM(3, initial_state="learned").init(jax.random.key(0), (5, 2))
        >>> [a.shape for a in initial_carry("LSTM", params, 4, jnp.float32)]
        [(4, 3), (4, 3)]
    """
    hidden = params["w_h"].shape[0]

    def start(name):
        if name in params:
            return jnp.broadcast_to(params[name], (batch, hidden)).astype(dtype)
        return jnp.zeros((batch, hidden), dtype)

    return (start("h0"), start("c0")) if kind == "LSTM" else start("h0")


def unroll(kind: str, params, x, *, offsets=None):
    """Every hidden state ``h_1 .. h_T`` of a layer of type ``kind`` on ``x``, by lax.scan.

    Args:
        kind: ``"RNN"``, ``"LSTM"`` or ``"GRU"`` (a layer's ``spec["type"]``).
        params: that layer's params.
        x: ``(N, T, F)``.
        offsets: optional ``(N, T, H)`` added to each ``h_t`` as it is made, before it
            is output and carried on. Zeros change nothing; the gradient of a loss
            with respect to them is ``dL/dh_t`` for every t (what
            :func:`funcnet.diagnostics.hidden_gradients` reads).

    Returns:
        ``hs: (N, T, H)``.

    Examples:
        >>> params, _ = GRU(2).init(jax.random.key(0), (5, 3))
        >>> unroll("GRU", params, jnp.ones((4, 5, 3))).shape
        (4, 5, 2)
    """
    step = _STEPS[kind]
    bias = params["b_x"] if kind == "GRU" else params["b"]
    xs = jnp.swapaxes(x, 0, 1)  # time-major for the scan, (T, N, F)
    dtype = jnp.result_type(x.dtype, params["w_x"].dtype, bias.dtype)
    carry = initial_carry(kind, params, x.shape[0], dtype)

    def body(carry, inputs):
        x_t, offset = inputs
        carry, h = step(params, carry, x_t @ params["w_x"] + bias)
        if offset is not None:
            h = h + offset
            carry = _with_h(kind, carry, h)
        return carry, h

    scanned = None if offsets is None else jnp.swapaxes(offsets, 0, 1)
    _, hs = lax.scan(body, carry, (xs, scanned))
    return jnp.swapaxes(hs, 0, 1)


def _orthogonal_per_gate(key, shape, dtype=jnp.float32):
    hidden, width = shape
    keys = jax.random.split(key, width // hidden)
    block = jax.nn.initializers.orthogonal()
    return jnp.concatenate([block(k, (hidden, hidden), dtype) for k in keys], axis=1)


def _recurrent(kind: str, hidden, *, return_sequences, initial_state, w_x_init, w_h_init,
               forget_bias, param_dtype) -> Layer:
    where = kind
    hidden = _checks.positive_int(where, "hidden", hidden)
    if not isinstance(return_sequences, bool):
        raise TypeError(f"{where}: return_sequences must be True or False, "
                        f"got {return_sequences!r}")
    if initial_state not in ("zeros", "learned"):
        raise ValueError(f"{where}: initial_state must be 'zeros' or 'learned', "
                         f"got {initial_state!r}")
    forget_bias = _checks.survives_rounding(
        where, "forget_bias", _checks.real_number(where, "forget_bias", forget_bias),
        may_vanish=True)
    w_x_fn = initializers.get(w_x_init)
    w_h_fn = _orthogonal_per_gate if w_h_init == "orthogonal" else initializers.get(w_h_init)
    gates = GATES[kind]
    bias_names = ("b_x", "b_h") if kind == "GRU" else ("b",)
    start_names = (("h0", "c0") if kind == "LSTM" else ("h0",)) \
        if initial_state == "learned" else ()
    width = gates * hidden
    shapes = {"w_x": ("in_features", width), "w_h": (hidden, width),
              **{name: (width,) for name in bias_names},
              **{name: (hidden,) for name in start_names}}
    label = f"{kind}({hidden})"

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        input_shape = _checks.input_shape(where, input_shape, "(time, features)", rank=2)
        x_key, h_key = jax.random.split(key)
        params = {"w_x": w_x_fn(x_key, (input_shape[-1], width), param_dtype),
                  "w_h": w_h_fn(h_key, (hidden, width), param_dtype)}
        for name in bias_names:
            params[name] = jnp.zeros((width,), param_dtype)
        if kind == "LSTM":
            params["b"] = params["b"].at[hidden:2 * hidden].set(forget_bias)
        for name in start_names:
            params[name] = jnp.zeros((hidden,), param_dtype)
        return params, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params(label, params, shapes)
        _checks.exact_rank(where, "x", x, 3, "(batch, time, features)")
        _checks.floating_array(where, "x", x)
        w_x_shape = params["w_x"].shape
        if x.shape[-1] != w_x_shape[0]:
            raise ValueError(f"{label}: x must have last dimension {w_x_shape[0]} (the "
                             f"features of w_x {tuple(w_x_shape)}), got x shape "
                             f"{tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError(f"{label}: x must have at least one time step, got x shape "
                             f"{tuple(x.shape)}")
        hs = unroll(kind, params, x)
        return (hs if return_sequences else hs[:, -1]), state

    spec = {"type": kind, "hidden": hidden, "return_sequences": return_sequences,
            "initial_state": initial_state}
    return Layer(init, apply, name=kind.lower(), spec=spec, needs_key=False)


def RNN(hidden: int, *, return_sequences: bool = True, initial_state: str = "zeros",  # noqa: N802
        w_x_init="glorot_uniform", w_h_init="orthogonal", param_dtype=jnp.float32) -> Layer:
    """Elman RNN, ``h_t = tanh(x_t @ w_x + h_{t-1} @ w_h + b)`` (PyTorch's ``nn.RNN``).

    Args:
        hidden: state width ``H``.
        return_sequences: output every ``h_t`` ``(N, T, H)``, or only ``h_T`` ``(N, H)``.
        initial_state: ``"zeros"`` or ``"learned"`` (a trained ``h0: (H,)`` param).
        w_x_init: initializer (or its name) for ``w_x: (F, H)``.
        w_h_init: ``"orthogonal"`` or an initializer for ``w_h: (H, H)``.
        param_dtype: dtype of the parameters.

    Examples:
        >>> layer = RNN(4)
        >>> params, state = layer.init(jax.random.key(0), (7, 3))
        >>> jax.tree.map(jnp.shape, params)
        {'b': (4,), 'w_h': (4, 4), 'w_x': (3, 4)}
        >>> layer.apply(params, state, jnp.ones((2, 7, 3)))[0].shape
        (2, 7, 4)
    """
    return _recurrent("RNN", hidden, return_sequences=return_sequences,
                      initial_state=initial_state, w_x_init=w_x_init, w_h_init=w_h_init,
                      forget_bias=0.0, param_dtype=param_dtype)


def LSTM(hidden: int, *, return_sequences: bool = True, initial_state: str = "zeros",  # noqa: N802
         forget_bias: float = 1.0, w_x_init="glorot_uniform", w_h_init="orthogonal",
         param_dtype=jnp.float32) -> Layer:
    """LSTM with PyTorch's gate order i, f, g, o (``nn.LSTM``); ``h_t = o * tanh(c_t)``.

    Args:
        hidden: state width ``H``.
        return_sequences: output every ``h_t`` ``(N, T, H)``, or only ``h_T`` ``(N, H)``.
        initial_state: ``"zeros"`` or ``"learned"`` (trained ``h0`` and ``c0``, ``(H,)``).
        forget_bias: initial value of the forget gate's slice ``b[H:2H]``.
        w_x_init: initializer (or its name) for ``w_x: (F, 4H)``.
        w_h_init: ``"orthogonal"`` (per gate) or an initializer for ``w_h: (H, 4H)``.
        param_dtype: dtype of the parameters.

    Examples:
        >>> layer = LSTM(2, return_sequences=False)
        >>> params, state = layer.init(jax.random.key(0), (7, 3))
        >>> jax.tree.map(jnp.shape, params)
        {'b': (8,), 'w_h': (2, 8), 'w_x': (3, 8)}
        >>> params["b"]
        Array([0., 0., 1., 1., 0., 0., 0., 0.], dtype=float32)
        >>> layer.apply(params, state, jnp.ones((5, 7, 3)))[0].shape
        (5, 2)
    """
    return _recurrent("LSTM", hidden, return_sequences=return_sequences,
                      initial_state=initial_state, w_x_init=w_x_init, w_h_init=w_h_init,
                      forget_bias=forget_bias, param_dtype=param_dtype)


def GRU(hidden: int, *, return_sequences: bool = True, initial_state: str = "zeros",  # noqa: N802
        w_x_init="glorot_uniform", w_h_init="orthogonal", param_dtype=jnp.float32) -> Layer:
    """GRU with PyTorch's gates r, z, n (``nn.GRU``): ``h_t = (1 - z) * n + z * h_{t-1}``.

    Two biases, as PyTorch: ``b_x`` (``b_ih``) and ``b_h`` (``b_hh``), since ``b_h``'s
    n slice is scaled by the reset gate, ``n = tanh(a_n + r * (h @ w_h_n + b_h_n))``.

    Args:
        hidden: state width ``H``.
        return_sequences: output every ``h_t`` ``(N, T, H)``, or only ``h_T`` ``(N, H)``.
        initial_state: ``"zeros"`` or ``"learned"`` (a trained ``h0: (H,)`` param).
        w_x_init: initializer (or its name) for ``w_x: (F, 3H)``.
        w_h_init: ``"orthogonal"`` (per gate) or an initializer for ``w_h: (H, 3H)``.
        param_dtype: dtype of the parameters.

    Examples:
        >>> layer = GRU(2, initial_state="learned")
        >>> params, state = layer.init(jax.random.key(0), (7, 3))
        >>> jax.tree.map(jnp.shape, params)
        {'b_h': (6,), 'b_x': (6,), 'h0': (2,), 'w_h': (2, 6), 'w_x': (3, 6)}
    """
    return _recurrent("GRU", hidden, return_sequences=return_sequences,
                      initial_state=initial_state, w_x_init=w_x_init, w_h_init=w_h_init,
                      forget_bias=0.0, param_dtype=param_dtype)
