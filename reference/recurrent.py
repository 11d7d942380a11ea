"""RNN, LSTM and GRU as forward/backward pairs: backprop through time written out step by step.

Same layout and gate order as funcnet (PyTorch's conventions): ``x: (N, T, F)``,
``w_x: (F, G*H)``, ``w_h: (H, G*H)``; RNN ``{"w_x", "w_h", "b"}``, LSTM gates i, f, g, o
with one bias ``b``, GRU gates r, z, n with ``b_x`` and ``b_h`` (``b_h``'s n slice sits
inside ``r * (...)``). Optional ``"h0"`` (and ``"c0"``) ``(H,)`` is a learned initial
state shared by the batch; without it the state starts at zero.

Each ``*_bptt(dy, cache) -> (dx, dparams, dh)`` is the algorithm: one reverse loop over
t, where ``dh_t`` (the whole gradient reaching ``h_t``) gathers the output's ``dy_t``
and what step t+1 sends back, ``dh_t = dy_t + da_{t+1} @ w_h.T``. ``dh: (N, T, H)``
holds every ``dh_t``, the vanishing/exploding gradient story; ``*_backward`` is the
pair's backward, the first two of those.
"""

from __future__ import annotations

import numpy as np

from reference import _checks

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _params(kind: str, params, x):
    """Checked float arrays of ``params`` and ``x``, and the start ``(h_0, c_0)``."""
    where = kind
    biases = ("b_x", "b_h") if kind == "GRU" else ("b",)
    starts = ("h0", "c0") if kind == "LSTM" else ("h0",)
    allowed = {"w_x", "w_h", *biases, *starts}
    # an LSTM's learned start is both h0 and c0, or neither
    paired = kind != "LSTM" or ("h0" in params) == ("c0" in params)
    if not isinstance(params, dict) or not {"w_x", "w_h", *biases} <= set(params) \
            or not set(params) <= allowed or not paired:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{where}: params must have keys {sorted({'w_x', 'w_h', *biases})} "
                         f"and optionally {list(starts)}, got {got}")
    p = {name: _checks.float_array(where, f"params[{name!r}]", value)
         for name, value in params.items()}
    x = _checks.float_array(where, "x", x)
    if x.ndim != 3:
        raise ValueError(f"{where}: x must have 3 dimensions (batch, time, features), "
                         f"got shape {x.shape}")
    hidden = p["w_h"].shape[0]
    width = GATES[kind] * hidden
    expected = {"w_x": (x.shape[2], width), "w_h": (hidden, width), "h0": (hidden,),
                "c0": (hidden,), **{b: (width,) for b in biases}}
    for name, array in p.items():
        if array.shape != expected[name]:
            raise ValueError(f"{where}: params[{name!r}] must have shape {expected[name]} "
                             f"for x {x.shape} and H={hidden}, got {array.shape}")
    if x.shape[1] == 0:
        raise ValueError(f"{where}: x must have at least one time step, got shape {x.shape}")
    n = x.shape[0]
    h0 = np.broadcast_to(p.get("h0", np.zeros(hidden)), (n, hidden))
    c0 = np.broadcast_to(p.get("c0", np.zeros(hidden)), (n, hidden))
    return p, x, h0, c0


def _output(hs, return_sequences):
    return hs if return_sequences else hs[:, -1]


def _output_gradient(dy, hs, return_sequences):
    """dy as ``(N, T, H)``: the last step's only (zeros before it) when only h_T was output."""
    dy = np.asarray(dy)
    expected = hs.shape if return_sequences else (hs.shape[0], hs.shape[2])
    if dy.shape != expected:
        raise ValueError(f"recurrent backward: dy must have the shape of y {expected}, "
                         f"got {dy.shape}")
    if return_sequences:
        return dy
    full = np.zeros(hs.shape)
    full[:, -1] = dy
    return full


def _start_gradients(p, dh_prev, dc_prev=None):
    """dh0 = sum over the batch of dh_0 (and dc0 of dc_0) when the start is learned."""
    grads = {}
    if "h0" in p:
        grads["h0"] = dh_prev.sum(axis=0)
    if "c0" in p:
        grads["c0"] = dc_prev.sum(axis=0)
    return grads


# ------------------------------------------------------------------------------- RNN

def rnn_forward(params, x, return_sequences=True):
    """h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b).

    Args:
        params: ``{"w_x": (F, H), "w_h": (H, H), "b": (H,)}``, optionally ``"h0": (H,)``.
        x: ``(N, T, F)``.
        return_sequences: ``y`` is every ``h_t`` ``(N, T, H)``, else ``h_T`` ``(N, H)``.

    Returns:
        ``(y, cache)``.

    Examples:
        >>> params = {"w_x": np.ones((1, 1)), "w_h": np.ones((1, 1)), "b": np.zeros(1)}
        >>> y, cache = rnn_forward(params, np.zeros((1, 2, 1)))
        >>> y
        array([[[0.],
                [0.]]])
    """
    p, x, h, _ = _params("RNN", params, x)
    hs = np.zeros((*x.shape[:2], h.shape[1]))
    h_prevs = np.zeros_like(hs)
    for t in range(x.shape[1]):
        h_prevs[:, t] = h
        h = np.tanh(x[:, t] @ p["w_x"] + h @ p["w_h"] + p["b"])
        hs[:, t] = h
    return _output(hs, return_sequences), (p, x, h_prevs, hs, return_sequences)


def rnn_bptt(dy, cache):
    """dh_t = dy_t + da_{t+1} @ W_h.T;  da_t = dh_t * (1 - h_t^2);  dW_x = sum_t x_t.T @ da_t.

    Also ``dW_h = sum_t h_{t-1}.T @ da_t``, ``db = sum_t sum_n da_t``,
    ``dx_t = da_t @ W_x.T``.

    Args:
        dy: ``(N, T, H)`` (or ``(N, H)`` when only h_T was output).
        cache: from :func:`rnn_forward`.

    Returns:
        ``(dx: (N, T, F), dparams, dh: (N, T, H))``.

    Examples:
        >>> params = {"w_x": np.ones((1, 1)), "w_h": np.full((1, 1), 0.5), "b": np.zeros(1)}
        >>> y, cache = rnn_forward(params, np.zeros((1, 3, 1)), return_sequences=False)
        >>> rnn_bptt(np.ones((1, 1)), cache)[2][0, :, 0]
        array([0.25, 0.5 , 1.  ])
    """
    p, x, h_prevs, hs, return_sequences = cache
    dy = _output_gradient(dy, hs, return_sequences)
    dparams = {name: np.zeros_like(p[name]) for name in ("w_x", "w_h", "b")}
    dx, dh_all = np.zeros_like(x), np.zeros_like(hs)
    dh_next = np.zeros_like(hs[:, 0])
    for t in reversed(range(x.shape[1])):
        dh = dy[:, t] + dh_next
        dh_all[:, t] = dh
        da = dh * (1.0 - hs[:, t] ** 2)
        dparams["w_x"] += x[:, t].T @ da
        dparams["w_h"] += h_prevs[:, t].T @ da
        dparams["b"] += da.sum(axis=0)
        dx[:, t] = da @ p["w_x"].T
        dh_next = da @ p["w_h"].T
    dparams.update(_start_gradients(p, dh_next))
    return dx, dparams, dh_all


def rnn_backward(dy, cache):
    """dX, dW_x, dW_h, db by backprop through time (:func:`rnn_bptt` without ``dh``).

    Examples:
        >>> params = {"w_x": np.ones((2, 3)), "w_h": np.eye(3), "b": np.zeros(3)}
        >>> y, cache = rnn_forward(params, np.zeros((4, 5, 2)))
        >>> dx, dparams = rnn_backward(np.ones_like(y), cache)
        >>> dx.shape, dparams["w_h"].shape
        ((4, 5, 2), (3, 3))
    """
    return rnn_bptt(dy, cache)[:2]


# ------------------------------------------------------------------------------ LSTM

def lstm_forward(params, x, return_sequences=True):
    """[i,f,g,o] = x_t @ W_x + h_{t-1} @ W_h + b;  c_t = f * c_{t-1} + i * g;  h_t = o tanh(c_t).

    ``i, f, o`` are sigmoids and ``g`` a tanh of their slices (PyTorch's order).

    Args:
        params: ``{"w_x": (F, 4H), "w_h": (H, 4H), "b": (4H,)}``, optionally
            ``"h0"`` and ``"c0"``, ``(H,)``.
        x: ``(N, T, F)``.
        return_sequences: ``y`` is every ``h_t`` ``(N, T, H)``, else ``h_T`` ``(N, H)``.

    Returns:
        ``(y, cache)``.

    Examples:
        >>> params = {"w_x": np.zeros((1, 4)), "w_h": np.zeros((1, 4)),
        ...           "b": np.array([0.0, 0.0, 1.0, 0.0])}
        >>> y, cache = lstm_forward(params, np.zeros((1, 1, 1)), return_sequences=False)
        >>> bool(np.isclose(y[0, 0], 0.5 * np.tanh(0.5 * np.tanh(1.0))))
        True
    """
    p, x, h, c = _params("LSTM", params, x)
    n, steps, hidden = x.shape[0], x.shape[1], h.shape[1]
    hs = np.zeros((n, steps, hidden))
    cs, h_prevs, c_prevs = np.zeros_like(hs), np.zeros_like(hs), np.zeros_like(hs)
    gates = np.zeros((n, steps, 4 * hidden))
    for t in range(steps):
        h_prevs[:, t], c_prevs[:, t] = h, c
        zi, zf, zg, zo = np.split(x[:, t] @ p["w_x"] + h @ p["w_h"] + p["b"], 4, axis=1)
        i, f, g, o = _sigmoid(zi), _sigmoid(zf), np.tanh(zg), _sigmoid(zo)
        c = f * c + i * g
        h = o * np.tanh(c)
        gates[:, t] = np.concatenate([i, f, g, o], axis=1)
        hs[:, t], cs[:, t] = h, c
    cache = (p, x, h_prevs, c_prevs, gates, cs, hs, return_sequences)
    return _output(hs, return_sequences), cache


def lstm_bptt(dy, cache):
    """dh_t = dy_t + dz_{t+1} @ W_h.T;  dc_t = dc_{t+1} * f_{t+1} + dh_t * o_t * (1 - tanh(c_t)^2).

    Then ``do = dh_t * tanh(c_t)``, ``di = dc_t * g``, ``dg = dc_t * i``,
    ``df = dc_t * c_{t-1}``; through the nonlinearities ``dz_{i,f,o} = d. * s (1 - s)``,
    ``dz_g = dg * (1 - g^2)``; ``dW_x = sum_t x_t.T @ dz_t``,
    ``dW_h = sum_t h_{t-1}.T @ dz_t``, ``db = sum dz_t``, ``dx_t = dz_t @ W_x.T``.

    Args:
        dy: ``(N, T, H)`` (or ``(N, H)`` when only h_T was output).
        cache: from :func:`lstm_forward`.

    Returns:
        ``(dx: (N, T, F), dparams, dh: (N, T, H))``.

    Examples:
        >>> params = {"w_x": np.ones((2, 12)), "w_h": np.zeros((3, 12)), "b": np.zeros(12)}
        >>> y, cache = lstm_forward(params, np.ones((1, 4, 2)))
        >>> lstm_bptt(np.ones_like(y), cache)[2].shape
        (1, 4, 3)
    """
    p, x, h_prevs, c_prevs, gates, cs, hs, return_sequences = cache
    dy = _output_gradient(dy, hs, return_sequences)
    dparams = {name: np.zeros_like(p[name]) for name in ("w_x", "w_h", "b")}
    dx, dh_all = np.zeros_like(x), np.zeros_like(hs)
    dh_next, dc_next = np.zeros_like(hs[:, 0]), np.zeros_like(hs[:, 0])
    for t in reversed(range(x.shape[1])):
        i, f, g, o = np.split(gates[:, t], 4, axis=1)
        dh = dy[:, t] + dh_next
        dh_all[:, t] = dh
        tanh_c = np.tanh(cs[:, t])
        # dc_next already carries the factor f_{t+1} from step t+1's c_t = f * c_{t-1} + ...
        dc = dc_next + dh * o * (1.0 - tanh_c ** 2)
        dz = np.concatenate([dc * g * i * (1.0 - i), dc * c_prevs[:, t] * f * (1.0 - f),
                             dc * i * (1.0 - g ** 2), dh * tanh_c * o * (1.0 - o)], axis=1)
        dparams["w_x"] += x[:, t].T @ dz
        dparams["w_h"] += h_prevs[:, t].T @ dz
        dparams["b"] += dz.sum(axis=0)
        dx[:, t] = dz @ p["w_x"].T
        dh_next = dz @ p["w_h"].T
        dc_next = dc * f
    dparams.update(_start_gradients(p, dh_next, dc_next))
    return dx, dparams, dh_all


def lstm_backward(dy, cache):
    """dX, dW_x, dW_h, db by backprop through time (:func:`lstm_bptt` without ``dh``).

    Examples:
        >>> params = {"w_x": np.ones((2, 8)), "w_h": np.zeros((2, 8)), "b": np.zeros(8)}
        >>> y, cache = lstm_forward(params, np.ones((3, 4, 2)))
        >>> sorted(lstm_backward(np.ones_like(y), cache)[1])
        ['b', 'w_h', 'w_x']
    """
    return lstm_bptt(dy, cache)[:2]


# ------------------------------------------------------------------------------- GRU

def gru_forward(params, x, return_sequences=True):
    """[r, z] = sigmoid(a + u);  n = tanh(a_n + r * u_n);  h_t = (1 - z) * n + z * h_{t-1}.

    ``a = x_t @ W_x + b_x`` and ``u = h_{t-1} @ W_h + b_h``, split r, z, n (PyTorch's order).

    Args:
        params: ``{"w_x": (F, 3H), "w_h": (H, 3H), "b_x": (3H,), "b_h": (3H,)}``,
            optionally ``"h0": (H,)``.
        x: ``(N, T, F)``.
        return_sequences: ``y`` is every ``h_t`` ``(N, T, H)``, else ``h_T`` ``(N, H)``.

    Returns:
        ``(y, cache)``.

    Examples:
        >>> params = {"w_x": np.zeros((1, 3)), "w_h": np.zeros((1, 3)), "b_x": np.zeros(3),
        ...           "b_h": np.array([0.0, 0.0, 2.0])}
        >>> y, cache = gru_forward(params, np.zeros((1, 1, 1)))
        >>> bool(np.isclose(y[0, 0, 0], 0.5 * np.tanh(0.5 * 2.0)))
        True
    """
    p, x, h, _ = _params("GRU", params, x)
    n, steps, hidden = x.shape[0], x.shape[1], h.shape[1]
    hs, h_prevs = np.zeros((n, steps, hidden)), np.zeros((n, steps, hidden))
    gates = np.zeros((n, steps, 3 * hidden))
    u_ns = np.zeros((n, steps, hidden))
    for t in range(steps):
        h_prevs[:, t] = h
        a_r, a_z, a_n = np.split(x[:, t] @ p["w_x"] + p["b_x"], 3, axis=1)
        u_r, u_z, u_n = np.split(h @ p["w_h"] + p["b_h"], 3, axis=1)
        r, z = _sigmoid(a_r + u_r), _sigmoid(a_z + u_z)
        nn = np.tanh(a_n + r * u_n)
        h = (1.0 - z) * nn + z * h
        gates[:, t] = np.concatenate([r, z, nn], axis=1)
        u_ns[:, t], hs[:, t] = u_n, h
    cache = (p, x, h_prevs, gates, u_ns, hs, return_sequences)
    return _output(hs, return_sequences), cache


def gru_bptt(dy, cache):
    """dh_t = dy_t + dh_{t+1} z_{t+1} + du_{t+1} @ W_h.T;  dn = dh_t (1-z);  dz = dh_t (h_{t-1}-n).

    Then ``dzn = dn * (1 - n^2)``; ``dr = dzn * u_n``; ``da = [dr r(1-r), dz z(1-z), dzn]``,
    ``du = [dr r(1-r), dz z(1-z), dzn * r]``; ``dW_x = sum_t x_t.T @ da``,
    ``db_x = sum da``, ``dW_h = sum_t h_{t-1}.T @ du``, ``db_h = sum du``,
    ``dx_t = da @ W_x.T``.

    Args:
        dy: ``(N, T, H)`` (or ``(N, H)`` when only h_T was output).
        cache: from :func:`gru_forward`.

    Returns:
        ``(dx: (N, T, F), dparams, dh: (N, T, H))``.

    Examples:
        >>> params = {"w_x": np.ones((2, 6)), "w_h": np.zeros((2, 6)), "b_x": np.zeros(6),
        ...           "b_h": np.zeros(6)}
        >>> y, cache = gru_forward(params, np.ones((1, 3, 2)), return_sequences=False)
        >>> gru_bptt(np.ones((1, 2)), cache)[2].shape
        (1, 3, 2)
    """
    p, x, h_prevs, gates, u_ns, hs, return_sequences = cache
    dy = _output_gradient(dy, hs, return_sequences)
    dparams = {name: np.zeros_like(p[name]) for name in ("w_x", "w_h", "b_x", "b_h")}
    dx, dh_all = np.zeros_like(x), np.zeros_like(hs)
    dh_next = np.zeros_like(hs[:, 0])
    for t in reversed(range(x.shape[1])):
        r, z, nn = np.split(gates[:, t], 3, axis=1)
        dh = dy[:, t] + dh_next
        dh_all[:, t] = dh
        dzn = dh * (1.0 - z) * (1.0 - nn ** 2)
        dr = dzn * u_ns[:, t] * r * (1.0 - r)
        dz = dh * (h_prevs[:, t] - nn) * z * (1.0 - z)
        da = np.concatenate([dr, dz, dzn], axis=1)
        du = np.concatenate([dr, dz, dzn * r], axis=1)
        dparams["w_x"] += x[:, t].T @ da
        dparams["b_x"] += da.sum(axis=0)
        dparams["w_h"] += h_prevs[:, t].T @ du
        dparams["b_h"] += du.sum(axis=0)
        dx[:, t] = da @ p["w_x"].T
        # h_{t-1} reaches h_t directly (z * h_{t-1}) and through u = h_{t-1} @ W_h + b_h
        dh_next = dh * z + du @ p["w_h"].T
    dparams.update(_start_gradients(p, dh_next))
    return dx, dparams, dh_all


def gru_backward(dy, cache):
    """dX, dW_x, dW_h, db_x, db_h by backprop through time (:func:`gru_bptt` without ``dh``).

    Examples:
        >>> params = {"w_x": np.ones((2, 6)), "w_h": np.zeros((2, 6)), "b_x": np.zeros(6),
        ...           "b_h": np.zeros(6)}
        >>> y, cache = gru_forward(params, np.ones((3, 4, 2)))
        >>> sorted(gru_backward(np.ones_like(y), cache)[1])
        ['b_h', 'b_x', 'w_h', 'w_x']
    """
    return gru_bptt(dy, cache)[:2]


PAIRS = {"RNN": (rnn_forward, rnn_bptt), "LSTM": (lstm_forward, lstm_bptt),
         "GRU": (gru_forward, gru_bptt)}
