"""The two sequence models of ``peers.py``, written once per library.

* ``gpt``: a tiny character GPT on ``(B, T)`` int ids, vocabulary 27, ``T = 16``,
  width ``D = 64``: token embedding + learned positions, 2 pre-LayerNorm blocks
  (4-head causal self-attention, MLP ``D -> 4D -> D`` with the exact (erf) gelu),
  final LayerNorm, Dense to the vocabulary; logits ``(B, T, 27)``.
* ``lstm``: Embedding(27, 64) -> LSTM(128) over the 16 steps -> Dense(27), logits
  ``(B, T, 27)``.

Both train on the integer-label cross-entropy averaged over every ``(b, t)``. The
maths is funcnet's in the plain-jax version (pre-LN, no key bias, LayerNorm eps 1e-5,
gelu ``0.5 z erfc(-z / sqrt 2)``, PyTorch's LSTM gates i, f, g, o with one bias, each
step's ``x_t @ w_x + b + h @ w_h`` inside the scan). The peers use their own layers
the way their documentation does, with the same sizes; where their maths differs it
is by a term no FLOP count notices: Flax's attention has a key bias (softmax cancels
it), Flax's and Equinox's attention mask with the dtype's most negative number instead
of ``-inf``, and Flax's ``LSTMCell`` makes one small Dense per gate (same FLOPs, more,
smaller matmuls).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

MODELS = ("gpt", "lstm")
VOCAB = 27
STEPS = 16
WIDTH = 64
HEADS = 4
BLOCKS = 2
MLP_RATIO = 4
HIDDEN = 128
EPS = 1e-5


def macs_per_token(model: str) -> int:
    """Multiply-adds of the forward pass per token, matmuls only.

    GPT: per block ``4 D^2`` (q, k, v, o projections) + ``2 * 4 D^2`` (the MLP) +
    ``2 T D`` (``Q K^T`` and ``P V``, computed over all ``T`` keys, the causal half
    included, as every implementation here does); then ``D V`` for the logits.
    LSTM: ``F * 4H`` (input projection) + ``H * 4H`` (recurrent) + ``H V`` (logits).
    The embedding lookups are gathers, no MACs.
    """
    if model == "gpt":
        d = WIDTH
        per_block = 4 * d * d + 2 * MLP_RATIO * d * d + 2 * STEPS * d
        return BLOCKS * per_block + d * VOCAB
    return WIDTH * 4 * HIDDEN + HIDDEN * 4 * HIDDEN + HIDDEN * VOCAB


def make_batch(batch: int, seed: int = 0):
    """Random ids ``(B, T)`` and next-token labels ``(B, T)``, int32 in ``[0, 27)``."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, size=(batch, STEPS)).astype(np.int32)
    labels = rng.integers(0, VOCAB, size=(batch, STEPS)).astype(np.int32)
    return ids, labels


def causal_mask(t: int):
    """``(T, T)`` bool: query ``i`` sees key ``j <= i``."""
    return jnp.tril(jnp.ones((t, t), bool))


# --------------------------------------------------------------------------- funcnet

def funcnet_model(model: str):
    import funcnet as fn

    if model == "gpt":
        return fn.Sequential([
            fn.Embedding(VOCAB, WIDTH), fn.PositionalEmbedding(STEPS),
            *[fn.TransformerBlock(HEADS, features=WIDTH) for _ in range(BLOCKS)],
            fn.LayerNorm(), fn.Dense(VOCAB),
        ])
    return fn.Sequential([fn.Embedding(VOCAB, WIDTH), fn.LSTM(HIDDEN), fn.Dense(VOCAB)])


# --------------------------------------------------------------------------- plain jax

def plain_init(model: str, key):
    keys = iter(jax.random.split(key, 32))

    def dense(n_in, n_out, bias=True):
        layer = {"w": jax.random.normal(next(keys), (n_in, n_out)) / np.sqrt(n_in)}
        if bias:
            layer["b"] = jnp.zeros((n_out,))
        return layer

    def norm():
        return {"scale": jnp.ones((WIDTH,)), "bias": jnp.zeros((WIDTH,))}

    embed = jax.random.normal(next(keys), (VOCAB, WIDTH))
    if model == "lstm":
        return {"embed": embed,
                "lstm": {"w_x": dense(WIDTH, 4 * HIDDEN, bias=False)["w"],
                         "w_h": dense(HIDDEN, 4 * HIDDEN, bias=False)["w"],
                         "b": jnp.zeros((4 * HIDDEN,))},
                "out": dense(HIDDEN, VOCAB)}
    blocks = [{"ln1": norm(), "q": dense(WIDTH, WIDTH), "k": dense(WIDTH, WIDTH, bias=False),
               "v": dense(WIDTH, WIDTH), "o": dense(WIDTH, WIDTH), "ln2": norm(),
               "fc1": dense(WIDTH, MLP_RATIO * WIDTH), "fc2": dense(MLP_RATIO * WIDTH, WIDTH)}
              for _ in range(BLOCKS)]
    return {"embed": embed, "pos": 0.02 * jax.random.normal(next(keys), (STEPS, WIDTH)),
            "blocks": blocks, "ln": norm(), "out": dense(WIDTH, VOCAB)}


def _layer_norm(p, x):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + EPS) * p["scale"] + p["bias"]


def _linear(p, x):
    y = x @ p["w"]
    return y + p["b"] if "b" in p else y


def _gelu(z):
    return 0.5 * z * jax.lax.erfc(-z / math.sqrt(2))


def _attention(p, x):
    n, t, d_model = x.shape
    d = d_model // HEADS

    def heads(a):  # (N, T, D) -> (N, H, T, d)
        return a.reshape(n, t, HEADS, d).transpose(0, 2, 1, 3)

    q, k, v = (heads(_linear(p[name], x)) for name in "qkv")
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    weights = jax.nn.softmax(jnp.where(causal_mask(t), s, -jnp.inf), axis=-1)
    o = (weights @ v).transpose(0, 2, 1, 3).reshape(n, t, d_model)
    return _linear(p["o"], o)


def _lstm(p, x):
    zeros = jnp.zeros((x.shape[0], HIDDEN), x.dtype)

    def cell(carry, x_t):
        h, c = carry
        i, f, g, o = jnp.split(x_t @ p["w_x"] + p["b"] + h @ p["w_h"], 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    _, hs = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


def plain_apply(model: str, params, ids):
    x = jnp.take(params["embed"], ids, axis=0)
    if model == "lstm":
        return _linear(params["out"], _lstm(params["lstm"], x))
    x = x + params["pos"][: ids.shape[1]]
    for p in params["blocks"]:
        x = x + _attention(p, _layer_norm(p["ln1"], x))
        x = x + _linear(p["fc2"], _gelu(_linear(p["fc1"], _layer_norm(p["ln2"], x))))
    return _linear(params["out"], _layer_norm(params["ln"], x))


# --------------------------------------------------------------------------- Flax linen

def linen_model(model: str):
    import flax.linen as nn

    class Block(nn.Module):
        @nn.compact
        def __call__(self, x, mask):
            h = nn.LayerNorm(epsilon=EPS)(x)
            x = x + nn.MultiHeadDotProductAttention(num_heads=HEADS)(h, mask=mask)
            h = nn.LayerNorm(epsilon=EPS)(x)
            h = nn.Dense(MLP_RATIO * WIDTH)(h)
            return x + nn.Dense(WIDTH)(nn.gelu(h, approximate=False))

    class GPT(nn.Module):
        @nn.compact
        def __call__(self, ids):
            x = nn.Embed(VOCAB, WIDTH)(ids)
            pos = self.param("pos", nn.initializers.normal(0.02), (STEPS, WIDTH))
            x = x + pos[: ids.shape[1]]
            mask = nn.make_causal_mask(ids)
            for _ in range(BLOCKS):
                x = Block()(x, mask)
            return nn.Dense(VOCAB)(nn.LayerNorm(epsilon=EPS)(x))

    class CharLSTM(nn.Module):
        @nn.compact
        def __call__(self, ids):
            x = nn.Embed(VOCAB, WIDTH)(ids)
            x = nn.RNN(nn.LSTMCell(HIDDEN))(x)
            return nn.Dense(VOCAB)(x)

    return GPT() if model == "gpt" else CharLSTM()


# --------------------------------------------------------------------------- Flax NNX

def nnx_model(model: str):
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs):
            self.ln1 = nnx.LayerNorm(WIDTH, epsilon=EPS, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(HEADS, WIDTH, decode=False, rngs=rngs)
            self.ln2 = nnx.LayerNorm(WIDTH, epsilon=EPS, rngs=rngs)
            self.fc1 = nnx.Linear(WIDTH, MLP_RATIO * WIDTH, rngs=rngs)
            self.fc2 = nnx.Linear(MLP_RATIO * WIDTH, WIDTH, rngs=rngs)

        def __call__(self, x, mask):
            x = x + self.attn(self.ln1(x), mask=mask)
            return x + self.fc2(nnx.gelu(self.fc1(self.ln2(x)), approximate=False))

    class GPT(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(VOCAB, WIDTH, rngs=rngs)
            self.pos = nnx.Param(0.02 * jax.random.normal(rngs.params(), (STEPS, WIDTH)))
            self.blocks = nnx.List([Block(rngs) for _ in range(BLOCKS)]) \
                if hasattr(nnx, "List") else [Block(rngs) for _ in range(BLOCKS)]
            self.ln = nnx.LayerNorm(WIDTH, epsilon=EPS, rngs=rngs)
            self.out = nnx.Linear(WIDTH, VOCAB, rngs=rngs)

        def __call__(self, ids):
            x = self.embed(ids) + self.pos[: ids.shape[1]]
            mask = nnx.make_causal_mask(ids)
            for block in self.blocks:
                x = block(x, mask)
            return self.out(self.ln(x))

    class CharLSTM(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(VOCAB, WIDTH, rngs=rngs)
            self.rnn = nnx.RNN(nnx.LSTMCell(WIDTH, HIDDEN, rngs=rngs))
            self.out = nnx.Linear(HIDDEN, VOCAB, rngs=rngs)

        def __call__(self, ids):
            return self.out(self.rnn(self.embed(ids)))

    return (GPT if model == "gpt" else CharLSTM)(nnx.Rngs(0))


# --------------------------------------------------------------------------- Equinox

def equinox_model(model: str, key):
    """A per-example model ``(T,) ids -> (T, V) logits``, for ``jax.vmap`` over the batch."""
    import equinox as eqx

    keys = iter(jax.random.split(key, 16))

    class Block(eqx.Module):
        ln1: eqx.nn.LayerNorm
        attn: eqx.nn.MultiheadAttention
        ln2: eqx.nn.LayerNorm
        fc1: eqx.nn.Linear
        fc2: eqx.nn.Linear

        def __init__(self):
            self.ln1 = eqx.nn.LayerNorm(WIDTH, eps=EPS)
            self.attn = eqx.nn.MultiheadAttention(
                HEADS, WIDTH, use_query_bias=True, use_value_bias=True,
                use_output_bias=True, key=next(keys))
            self.ln2 = eqx.nn.LayerNorm(WIDTH, eps=EPS)
            self.fc1 = eqx.nn.Linear(WIDTH, MLP_RATIO * WIDTH, key=next(keys))
            self.fc2 = eqx.nn.Linear(MLP_RATIO * WIDTH, WIDTH, key=next(keys))

        def __call__(self, x):  # (T, D)
            h = jax.vmap(self.ln1)(x)
            x = x + self.attn(h, h, h, mask=causal_mask(x.shape[0]))
            h = jax.nn.gelu(jax.vmap(self.fc1)(jax.vmap(self.ln2)(x)), approximate=False)
            return x + jax.vmap(self.fc2)(h)

    class GPT(eqx.Module):
        embed: eqx.nn.Embedding
        pos: jax.Array
        blocks: list
        ln: eqx.nn.LayerNorm
        out: eqx.nn.Linear

        def __init__(self):
            self.embed = eqx.nn.Embedding(VOCAB, WIDTH, key=next(keys))
            self.pos = 0.02 * jax.random.normal(next(keys), (STEPS, WIDTH))
            self.blocks = [Block() for _ in range(BLOCKS)]
            self.ln = eqx.nn.LayerNorm(WIDTH, eps=EPS)
            self.out = eqx.nn.Linear(WIDTH, VOCAB, key=next(keys))

        def __call__(self, ids):  # (T,)
            x = jax.vmap(self.embed)(ids) + self.pos[: ids.shape[0]]
            for block in self.blocks:
                x = block(x)
            return jax.vmap(self.out)(jax.vmap(self.ln)(x))

    class CharLSTM(eqx.Module):
        embed: eqx.nn.Embedding
        cell: eqx.nn.LSTMCell
        out: eqx.nn.Linear

        def __init__(self):
            self.embed = eqx.nn.Embedding(VOCAB, WIDTH, key=next(keys))
            self.cell = eqx.nn.LSTMCell(WIDTH, HIDDEN, key=next(keys))
            self.out = eqx.nn.Linear(HIDDEN, VOCAB, key=next(keys))

        def __call__(self, ids):  # (T,)
            def step(carry, x_t):
                carry = self.cell(x_t, carry)
                return carry, carry[0]

            zeros = jnp.zeros((HIDDEN,))
            _, hs = jax.lax.scan(step, (zeros, zeros), jax.vmap(self.embed)(ids))
            return jax.vmap(self.out)(hs)

    return GPT() if model == "gpt" else CharLSTM()
