"""The adapters of the sequence layers: LayerNorm, RMSNorm, Embedding,
PositionalEmbedding, RNN/LSTM/GRU and MultiHeadAttention, from a spec to a
:class:`Module` around their family's pair (the rest are in ``reference.modules``).

Examples:
    >>> import numpy as np
    >>> from reference import Context
    >>> module = rmsnorm({"type": "RMSNorm", "eps": 1e-6}, "rms_norm_0")
    >>> y, state, cache = module.forward({"scale": np.ones(2)}, None,
    ...                                  np.array([[3.0, 4.0]]), Context())
    >>> y.round(4), state
    (array([[0.8485, 1.1314]]), {})
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from reference._module import Module, _check_hyperparameters, _require_empty, _where
from reference.attention import multi_head_attention_backward, multi_head_attention_forward
from reference.embedding import (
    embedding_backward,
    embedding_forward,
    positional_embedding_backward,
    positional_embedding_forward,
)
from reference.norm import (
    check_eps,
    layernorm_backward,
    layernorm_forward,
    rmsnorm_backward,
    rmsnorm_forward,
)
from reference.recurrent import PAIRS as RECURRENT_PAIRS


def layernorm(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.LayerNorm``: :func:`reference.norm.layernorm_forward` and backward.

    Examples:
        >>> from reference import Context
        >>> module = layernorm({"type": "LayerNorm", "eps": 1e-5, "use_bias": False}, "ln_0")
        >>> module.forward({"scale": np.ones(2)}, None, np.array([[1.0, 3.0]]),
        ...                Context())[0].round(4)
        array([[-1.,  1.]])
    """
    _check_hyperparameters(spec, path, {"eps", "use_bias", "use_scale"})
    where = _where(spec, path)
    eps = check_eps(where, spec.get("eps", 1e-5))
    flags = {name: spec.get(name, True) for name in ("use_scale", "use_bias")}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    names = [n for n, flag in (("scale", "use_scale"), ("bias", "use_bias")) if flags[flag]]

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        if not isinstance(params, Mapping) or set(params) != set(names):
            got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(f"{where}: params must have keys {names} ({flags}), got {got}")
        y, cache = layernorm_forward(dict(params), x, eps=eps)
        return y, {}, cache

    return Module(forward, layernorm_backward, path, spec)


def rmsnorm(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.RMSNorm``: :func:`reference.norm.rmsnorm_forward` and backward."""
    _check_hyperparameters(spec, path, {"eps"})
    where = _where(spec, path)
    eps = check_eps(where, spec.get("eps", 1e-6))

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        y, cache = rmsnorm_forward(dict(params), x, eps=eps)
        return y, {}, cache

    return Module(forward, rmsnorm_backward, path, spec)


def _positive(where: str, spec: dict, name: str) -> int:
    value = spec.get(name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def embedding(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.Embedding``: :func:`reference.embedding.embedding_forward`.

    Its backward's ``dx`` is ``None`` (ids have no gradient), so it must come first.

    Examples:
        >>> from reference import Context
        >>> module = embedding({"type": "Embedding", "vocab_size": 3, "features": 2}, "e_0")
        >>> module.forward({"w": np.eye(3, 2)}, None, np.array([[1]]), Context())[0]
        array([[[0., 1.]]])
    """
    _check_hyperparameters(spec, path, {"vocab_size", "features"})
    where = _where(spec, path)
    shape = (_positive(where, spec, "vocab_size"), _positive(where, spec, "features"))

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        if isinstance(params, Mapping) and np.shape(params.get("w")) != shape:
            raise ValueError(f"{where}: params['w'] must have shape {shape}, got "
                             f"{np.shape(params.get('w'))}")
        y, cache = embedding_forward(dict(params), x)
        return y, {}, cache

    return Module(forward, embedding_backward, path, spec)


def positional_embedding(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.PositionalEmbedding``: positional_embedding_forward/backward."""
    _check_hyperparameters(spec, path, {"max_len"})
    where = _where(spec, path)
    max_len = _positive(where, spec, "max_len")

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        if isinstance(params, Mapping) and np.shape(params.get("w"))[:1] != (max_len,):
            raise ValueError(f"{where}: params['w'] must have shape ({max_len}, features), "
                             f"got {np.shape(params.get('w'))}")
        y, cache = positional_embedding_forward(dict(params), x)
        return y, {}, cache

    return Module(forward, positional_embedding_backward, path, spec)


def recurrent(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.RNN``/``LSTM``/``GRU``: :mod:`reference.recurrent`'s BPTT pairs.

    Examples:
        >>> from reference import Context
        >>> spec = {"type": "RNN", "hidden": 2, "return_sequences": False,
        ...         "initial_state": "zeros"}
        >>> params = {"w_x": np.ones((3, 2)), "w_h": np.eye(2), "b": np.zeros(2)}
        >>> recurrent(spec, "rnn_0").forward(params, None, np.zeros((4, 5, 3)),
        ...                                  Context())[0].shape
        (4, 2)
    """
    kind = spec.get("type")
    _check_hyperparameters(spec, path, {"hidden", "return_sequences", "initial_state"})
    where = _where(spec, path)
    hidden = spec.get("hidden")
    if isinstance(hidden, bool) or not isinstance(hidden, numbers.Integral) or hidden <= 0:
        raise ValueError(f"{where}: hidden must be a positive integer, got {hidden!r}")
    return_sequences = spec.get("return_sequences", True)
    if not isinstance(return_sequences, bool):
        raise TypeError(f"{where}: return_sequences must be True or False, "
                        f"got {return_sequences!r}")
    initial_state = spec.get("initial_state", "zeros")
    if initial_state not in ("zeros", "learned"):
        raise ValueError(f"{where}: initial_state must be 'zeros' or 'learned', "
                         f"got {initial_state!r}")
    biases = ["b_x", "b_h"] if kind == "GRU" else ["b"]
    starts = (["h0", "c0"] if kind == "LSTM" else ["h0"]) if initial_state == "learned" else []
    names = {"w_x", "w_h", *biases, *starts}
    forward_pair, bptt = RECURRENT_PAIRS[kind]

    def forward(params, state, x, ctx):
        del ctx
        _require_empty(where, "state", state)
        if not isinstance(params, Mapping) or set(params) != names:
            got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(f"{where}: params must have keys {sorted(names)} "
                             f"(initial_state={initial_state!r}), got {got}")
        if np.shape(params["w_h"])[:1] != (hidden,):
            raise ValueError(f"{where}: params['w_h'] must have shape ({hidden}, G*{hidden}), "
                             f"got {np.shape(params['w_h'])}")
        y, cache = forward_pair(dict(params), x, return_sequences)
        return y, {}, cache

    def backward(dy, cache):
        return bptt(dy, cache)[:2]

    return Module(forward, backward, path, spec)


def multi_head_attention(spec: dict, path: str) -> Module:
    """The twin of ``funcnet.MultiHeadAttention``: reference.attention's pair.

    A padding mask (what funcnet's ``apply`` takes as ``mask=``) comes from
    ``extras[path]``: ``(N, T)`` bool, True for real tokens; without one every key is
    real.

    Examples:
        >>> from reference import Context
        >>> spec = {"type": "MultiHeadAttention", "num_heads": 1, "causal": True,
        ...         "use_bias": False}
        >>> params = {f"w_{p}": np.eye(2) for p in "qkvo"}
        >>> ctx = Context(extras={"mha": np.array([[True, False]])})
        >>> multi_head_attention(spec, "mha").forward(params, None, np.ones((1, 2, 2)),
        ...                                           ctx)[0]
        array([[[1., 1.],
                [1., 1.]]])
    """
    _check_hyperparameters(spec, path, {"num_heads", "causal", "use_bias"})
    where = _where(spec, path)
    num_heads, causal = spec.get("num_heads"), spec.get("causal", False)
    use_bias = spec.get("use_bias", True)
    if isinstance(num_heads, bool) or not isinstance(num_heads, numbers.Integral) \
            or num_heads <= 0:
        raise ValueError(f"{where}: num_heads must be a positive integer, got {num_heads!r}")
    for name, value in (("causal", causal), ("use_bias", use_bias)):
        if not isinstance(value, bool):
            raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    names = {f"w_{p}" for p in "qkvo"} | ({f"b_{p}" for p in "qvo"} if use_bias else set())

    def forward(params, state, x, ctx):
        _require_empty(where, "state", state)
        if not isinstance(params, Mapping) or set(params) != names:
            got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(f"{where}: params must have keys {sorted(names)} "
                             f"(use_bias={use_bias}), got {got}")
        y, cache = multi_head_attention_forward(dict(params), x, num_heads=num_heads,
                                                causal=causal, mask=ctx.extras.get(path))
        return y, {}, cache

    return Module(forward, multi_head_attention_backward, path, spec)
