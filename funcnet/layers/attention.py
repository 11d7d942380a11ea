"""Multi-head self-attention over sequences ``(N, T, D)``, and the pre-LayerNorm
transformer block built from it.

Per head ``h`` (columns ``h*d:(h+1)*d`` of each projection, ``d = D / num_heads``)::

    Q = x @ w_q + b_q,  K = x @ w_k,  V = x @ w_v + b_v
    S = Q K^T / sqrt(d)                      (N, H, T, T) logits, query rows, key columns
    P = softmax(S) over the visible keys     (masked keys get weight exactly 0)
    y = concat_h(P V) @ w_o + b_o

A key is visible to a query when the padding mask marks it real and, with
``causal=True``, it is not after the query. A query that sees no key at all (every key
padding, or causal attention with left padding) attends to nothing: its weights are 0,
so its output is ``b_o``, finite, with zero gradient through the attention; no NaN.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks, initializers
from funcnet.core import Activation, Layer, Sequential
from funcnet.layers.dense import Dense
from funcnet.layers.dropout import Dropout
from funcnet.layers.norm import LayerNorm
from funcnet.layers.residual import Residual

PROJECTIONS = ("q", "k", "v", "o")
# No key bias: it adds q . b_k to every logit of a query's row, which softmax cancels,
# so it never changes the output and its gradient is identically 0 (Whisper omits it too).
BIASED = ("q", "v", "o")


def head_size(where: str, features: int, num_heads: int) -> int:
    """``D / num_heads``, after checking the heads split the width ``D`` evenly."""
    if features % num_heads:
        raise ValueError(
            f"{where}: the width D={features} (the last axis of x) must be divisible by "
            f"num_heads={num_heads} so each head gets D/num_heads features; choose "
            f"num_heads among the divisors of {features} or change D"
        )
    return features // num_heads


def visible_keys(n: int, t: int, causal: bool, mask) -> jax.Array | None:
    """``(N, 1, T, T)`` bool (or ``None`` when all is visible): key ``j`` visible to query ``i``.

    Args:
        n, t: batch size and sequence length.
        causal: hide keys after the query (``j > i``).
        mask: ``(N, T)`` bool, True for real tokens, or ``None``.
    """
    visible = None
    if causal:
        visible = jnp.tril(jnp.ones((t, t), bool))[None, None]
    if mask is not None:
        keys = mask[:, None, None, :]
        visible = keys if visible is None else visible & keys
    return None if visible is None else jnp.broadcast_to(visible, (n, 1, t, t))


def masked_softmax(s, visible):
    """Softmax of ``s`` over its last axis, restricted to ``visible`` entries (0 elsewhere).

    A row with no visible entry comes out all zeros. The masked logits become ``-inf``
    before ``exp`` (not after), so no gradient ever meets ``0 * inf``.
    """
    if visible is None:
        return jax.nn.softmax(s, axis=-1)
    z = jnp.where(visible, s, -jnp.inf)
    row_max = jnp.max(z, axis=-1, keepdims=True)
    # The shift only keeps exp in range (softmax ignores it); an all-hidden row has
    # max -inf, and shifting by it would give -inf - -inf = NaN.
    row_max = jax.lax.stop_gradient(jnp.where(jnp.isfinite(row_max), row_max, 0.0))
    e = jnp.exp(z - row_max)
    total = jnp.sum(e, axis=-1, keepdims=True)
    return e / jnp.where(total > 0, total, 1.0)


def _check_mask(where: str, mask, x) -> None:
    _checks.array(where, "mask", mask)
    if _checks.dtype_of(mask) != np.bool_:
        raise TypeError(
            f"{where}: mask must be a bool array (True for real tokens, False for "
            f"padding), got dtype {_checks.dtype_of(mask)}; e.g. mask = token_ids != pad_id"
        )
    if tuple(np.shape(mask)) != tuple(x.shape[:2]):
        raise ValueError(
            f"{where}: mask must have shape (batch, time) = {tuple(x.shape[:2])} to match "
            f"x {tuple(x.shape)}, got {tuple(np.shape(mask))}"
        )


def _project(params, x, p):
    """``x @ w_p (+ b_p)``: a projection, with its bias when the layer has one."""
    y = x @ params[f"w_{p}"]
    return y + params[f"b_{p}"] if f"b_{p}" in params else y


def _heads(a, num_heads):
    """``(N, T, D) -> (N, H, T, d)``: head ``h`` takes columns ``h*d:(h+1)*d``."""
    n, t, features = a.shape
    return a.reshape(n, t, num_heads, features // num_heads).transpose(0, 2, 1, 3)


def _weights(q, k, causal, mask):
    """``P = softmax(Q K^T / sqrt(d))`` over the visible keys: ``(N, H, T, T)``."""
    n, _, t, d = q.shape
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    return masked_softmax(s, visible_keys(n, t, causal, mask))


def attention_weights(layer: Layer, params, x, mask=None) -> jax.Array:
    """The attention weights ``P: (N, H, T, T)`` of a ``MultiHeadAttention`` layer on
    ``x: (N, T, D)`` (query rows, key columns), as its ``apply`` computes them.

    Examples:
        >>> layer = MultiHeadAttention(2, causal=True)
        >>> params, _ = layer.init(jax.random.key(0), (3, 4))
        >>> p = attention_weights(layer, params, jnp.ones((1, 3, 4)))
        >>> p.shape, bool(p[0, 0, 0, 1] == 0)   # causal: step 0 sees no later step
        ((1, 2, 3, 3), True)
    """
    spec = layer.spec if isinstance(layer, Layer) else None
    if not isinstance(spec, dict) or spec.get("type") != "MultiHeadAttention":
        raise TypeError(f"attention_weights: layer must be a MultiHeadAttention, got "
                        f"{getattr(layer, 'name', type(layer).__name__)!r}")
    # apply's own checks, on the same params and input
    layer.apply(params, {}, x, mask=mask)
    q, k = (_heads(_project(params, x, p), spec["num_heads"]) for p in "qk")
    return _weights(q, k, spec["causal"], mask)


def MultiHeadAttention(  # noqa: N802 (a layer constructor)
    num_heads: int,
    causal: bool = False,
    use_bias: bool = True,
    param_dtype=jnp.float32,
) -> Layer:
    """Multi-head scaled dot-product self-attention, ``softmax(Q K^T / sqrt(d) + mask) V``.

    Args:
        num_heads: number of heads ``H``; must divide the width ``D`` (checked at init).
        causal: each position attends only to itself and earlier positions (GPT).
        use_bias: whether the projections have biases ``b_q, b_v, b_o`` (never a key
            bias: softmax cancels it, so it would never train).
        param_dtype: dtype of the parameters.

    Params: ``w_q, w_k, w_v, w_o: (D, D)`` (lecun-normal) and, with ``use_bias``,
    ``b_q, b_v, b_o: (D,)`` (zeros); head ``h`` owns columns ``h*d:(h+1)*d`` of
    ``w_q``, ``w_k``, ``w_v`` and rows ``h*d:(h+1)*d`` of ``w_o``, ``d = D / H``.

    Padding: ``apply(params, state, x, mask=mask)`` with ``mask: (N, T)`` bool, True
    for real tokens, as Flax's ``mask=`` argument. Padded keys are hidden from every
    query; padded queries still attend to the real keys (their outputs are for the
    loss to ignore). A query that sees no key gets zero attention weights, so its
    output is ``b_o`` (see the module docstring). Inside a ``Sequential`` the layer
    gets no mask: with ``causal=True`` and right padding none is needed, as no real
    token sees a later pad.

    Shapes: ``x: (N, T, D)`` -> ``y: (N, T, D)``.

    Examples:
        >>> layer = MultiHeadAttention(2, causal=True)
        >>> params, state = layer.init(jax.random.key(0), (5, 4))
        >>> jax.tree.map(jnp.shape, params)
        {'b_o': (4,), 'b_q': (4,), 'b_v': (4,),
         'w_k': (4, 4), 'w_o': (4, 4), 'w_q': (4, 4), 'w_v': (4, 4)}
        >>> mask = jnp.array([[True, True, True, False, False]])
        >>> y, state = layer.apply(params, state, jnp.ones((1, 5, 4)), mask=mask)
        >>> y.shape
        (1, 5, 4)
    """
    num_heads = _checks.positive_int("MultiHeadAttention", "num_heads", num_heads)
    where = f"MultiHeadAttention(num_heads={num_heads})"
    for name, value in (("causal", causal), ("use_bias", use_bias)):
        if not isinstance(value, bool):
            raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    names = tuple(f"w_{p}" for p in PROJECTIONS) + (
        tuple(f"b_{p}" for p in BIASED) if use_bias else ())
    w_init = initializers.get("lecun_normal")

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        (_, features) = _checks.input_shape(where, input_shape, "(time, features)", rank=2)
        head_size(where, features, num_heads)
        keys = jax.random.split(key, len(PROJECTIONS))
        params = {f"w_{p}": w_init(k, (features, features), param_dtype)
                  for p, k in zip(PROJECTIONS, keys, strict=True)}
        if use_bias:
            params.update({f"b_{p}": jnp.zeros((features,), param_dtype) for p in BIASED})
        return params, {}

    def apply(params, state, x, *, train=False, key=None, mask=None):
        del train, key
        _checks.layer_params(where, params, {name: ("features", "features")
                                             if name.startswith("w_") else ("features",)
                                             for name in names})
        _checks.exact_rank(where, "x", x, 3, "(batch, time, features)")
        _checks.floating_array(where, "x", x)
        n, t, features = x.shape
        if params["w_q"].shape[0] != features:
            raise ValueError(
                f"{where}: x must have last dimension {params['w_q'].shape[0]} (the width "
                f"of w_q {tuple(params['w_q'].shape)}), got x shape {tuple(x.shape)}"
            )
        head_size(where, features, num_heads)
        if mask is not None:
            _check_mask(where, mask, x)

        q, k, v = (_heads(_project(params, x, p), num_heads) for p in "qkv")
        p = _weights(q, k, causal, mask)
        o = (p @ v).transpose(0, 2, 1, 3).reshape(n, t, features)
        return _project(params, o, "o"), state

    return Layer(init, apply, name="multi_head_attention",
                 spec={"type": "MultiHeadAttention", "num_heads": num_heads,
                       "causal": causal, "use_bias": use_bias},
                 needs_key=False)


def _block_layers(features, num_heads, mlp_ratio, dropout, causal, param_dtype):
    attention = Sequential([LayerNorm(), MultiHeadAttention(num_heads, causal=causal,
                                                            param_dtype=param_dtype),
                            Dropout(dropout)])
    mlp = Sequential([LayerNorm(), Dense(mlp_ratio * features, param_dtype=param_dtype),
                      Activation("gelu"), Dense(features, param_dtype=param_dtype),
                      Dropout(dropout)])
    return [Residual(attention), Residual(mlp)]


def _as_block(inner: Layer, features: int) -> Layer:
    """``inner`` (the block's Sequential) under the name ``"transformer_block"``."""
    where = f"TransformerBlock(features={features})"

    def init(key, input_shape):
        shape = _checks.input_shape(where, input_shape, "(time, features)", rank=2)
        if shape[-1] != features:
            raise ValueError(f"{where}: input_shape must be (time, {features}), got {shape}; "
                             f"features is the width D of the sequence it transforms")
        return inner.init(key, shape)

    return Layer(init, inner.apply, name="transformer_block", spec=inner.spec,
                 children=inner.children, split_key=inner.split_key,
                 needs_key=inner.needs_key, scan_friendly=inner.scan_friendly,
                 input_dtype=inner.input_dtype, check_input=inner.check_input,
                 rebuild=lambda children: _as_block(Sequential(children), features))


def TransformerBlock(  # noqa: N802 (a layer constructor)
    num_heads: int,
    mlp_ratio: int = 4,
    dropout: float = 0.0,
    causal: bool = True,
    *,
    features: int,
    param_dtype=jnp.float32,
) -> Layer:
    """Pre-LayerNorm (GPT-2) block: ``x + Dropout(MHA(LN(x)))``, then
    ``x + Dropout(MLP(LN(x)))`` with ``MLP = Dense(mlp_ratio * D) -> gelu -> Dense(D)``.

    Args:
        num_heads: attention heads; must divide ``features``.
        mlp_ratio: hidden width of the MLP in multiples of ``D``.
        dropout: drop probability after the attention and after the MLP, in ``[0, 1)``.
        causal: causal self-attention (GPT); ``False`` for an encoder block.
        features: the width ``D`` of the sequences (keyword-only, required: the MLP's
            Dense layers are sized at construction, so the description is complete
            before init).
        param_dtype: dtype of the attention and Dense parameters (the LayerNorms
            keep their own default).

    It is a ``Sequential`` of two ``Residual`` blocks named ``"transformer_block"``: its
    spec, children and params are that Sequential's, so ``walk``, ``dropout_masks`` and
    ``reference.build`` need nothing of their own for it.

    Shapes: ``x: (N, T, D)`` -> ``y: (N, T, D)``.

    Examples:
        >>> block = TransformerBlock(2, features=4)
        >>> params, state = block.init(jax.random.key(0), (3, 4))
        >>> jax.tree.map(jnp.shape, params["residual_1"]["block"])["dense_1"]
        {'b': (16,), 'w': (4, 16)}
        >>> y, state = block.apply(params, state, jnp.ones((2, 3, 4)))
        >>> y.shape
        (2, 3, 4)
    """
    features = _checks.positive_int("TransformerBlock", "features", features)
    where = f"TransformerBlock(features={features})"
    num_heads = _checks.positive_int(where, "num_heads", num_heads)
    mlp_ratio = _checks.positive_int(where, "mlp_ratio", mlp_ratio)
    dropout = _checks.unit_interval(where, "dropout", dropout)
    if not isinstance(causal, bool):
        raise TypeError(f"{where}: causal must be True or False, got {causal!r}")
    head_size(where, features, num_heads)
    inner = Sequential(_block_layers(features, num_heads, mlp_ratio, dropout, causal,
                                     param_dtype))
    return _as_block(inner, features)
