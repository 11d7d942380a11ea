"""Token and position embeddings: integer ids to vectors, and learned position vectors.

``Embedding`` looks rows up in a table ``w: (vocab_size, features)`` (named ``w`` as
Dense's and Conv2D's weights are: the layer's key in the params tree,
``['embedding_0']['w']``, already says what it is, and a tied output layer reads as
``logits = h @ w.T``). Ids are not differentiable, so a model starting with an
Embedding has no gradient with respect to its input.

Ids outside ``[0, vocab_size)`` are refused when they can be read (a ValueError naming
the first bad id and where it is); inside a compiled function they cannot be, so each
bad id's output row is NaN and the training guard skips the step, never a clamped
(wrong) row, which is what ``jnp.take`` and indexing do by default.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from funcnet import _checks, initializers
from funcnet.core import Layer


def _check_ids(where: str, ids, vocab_size: int) -> None:
    """Refuse concrete ids outside ``[0, vocab_size)``, naming the first and its index."""
    if not _checks.is_concrete(ids) or not np.size(ids):
        return
    values = np.asarray(ids)
    bad = (values < 0) | (values >= vocab_size)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{where}: ids must be in [0, {vocab_size}), got id {int(values[index])} at "
            f"index {index}; map unknown tokens to an id of their own (e.g. 0 for <unk>)"
        )


def _in_range(ids, vocab_size: int):
    """Elementwise ``0 <= ids < vocab_size``, compared in the ids' own dtype."""
    in_range = ids >= 0
    # A vocab_size the dtype cannot hold (uint8 ids, 1000 tokens) bounds no id of it.
    if vocab_size <= jnp.iinfo(ids.dtype).max:
        in_range = in_range & (ids < jnp.asarray(vocab_size, ids.dtype))
    return in_range


def Embedding(  # noqa: N802 (a layer constructor)
    vocab_size: int,
    features: int,
    w_init=None,
    param_dtype=jnp.float32,
) -> Layer:
    """Token embedding ``y[n, t] = w[ids[n, t]]``.

    Args:
        vocab_size: number of ids ``V``; ids are in ``[0, V)``.
        features: width ``F`` of each vector.
        w_init: initializer (or its name) for ``w: (V, F)``; the default draws
            N(0, 1), as PyTorch's ``nn.Embedding`` does.
        param_dtype: dtype of ``w`` (a floating one).

    Shapes: ``ids: (N, T)`` of any integer dtype (any ``(N, ...)``) -> ``y: (N, T, F)``.

    Examples:
        >>> layer = Embedding(10, 3)
        >>> params, state = layer.init(jax.random.key(0), (4,))
        >>> jax.tree.map(jnp.shape, params)
        {'w': (10, 3)}
        >>> y, _ = layer.apply(params, state, jnp.array([[1, 2, 2, 9]]))
        >>> y.shape, bool((y[0, 1] == params["w"][2]).all())
        ((1, 4, 3), True)
    """
    vocab_size = _checks.positive_int("Embedding", "vocab_size", vocab_size)
    features = _checks.positive_int("Embedding", "features", features)
    where = f"Embedding({vocab_size}, {features})"
    w_init_fn = initializers.normal(1.0) if w_init is None else initializers.get(w_init)
    if not jnp.issubdtype(param_dtype, jnp.floating):
        raise TypeError(f"{where}: param_dtype must be a floating dtype, got "
                        f"{jnp.dtype(param_dtype)}")

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        _checks.input_shape(where, input_shape, "(T,) ids")
        return {"w": w_init_fn(key, (vocab_size, features), param_dtype)}, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params(where, params, {"w": (vocab_size, features)})
        w = params["w"]
        _checks.integer_array(where, "ids", x)
        _checks.min_rank(where, "ids", x, 1, "(batch, T)")
        _check_ids(where, x, vocab_size)
        ids = jnp.asarray(x)
        in_range = _in_range(ids, vocab_size)
        rows = jnp.take(w, jnp.where(in_range, ids, 0), axis=0)
        return jnp.where(in_range[..., None], rows, jnp.nan), state

    spec = {"type": "Embedding", "vocab_size": vocab_size, "features": features}
    def check_input(caller, ids):
        _check_ids(f"{caller}: {where}", ids, vocab_size)

    return Layer(init, apply, name="embedding", spec=spec, needs_key=False,
                 input_dtype=jnp.int32, check_input=check_input)


def PositionalEmbedding(  # noqa: N802 (a layer constructor)
    max_len: int,
    w_init=None,
    param_dtype=jnp.float32,
) -> Layer:
    """Learned position vectors added to a sequence: ``y[n, t] = x[n, t] + w[t]``.

    Args:
        max_len: the longest sequence ``T`` the layer accepts; ``w`` has ``max_len``
            rows, and a sequence of ``T`` steps uses the first ``T``.
        w_init: initializer (or its name) for ``w: (max_len, F)``; the default draws
            N(0, 0.02^2), as GPT-2 and BERT do.
        param_dtype: dtype of ``w``.

    Shapes: ``x: (N, T, F)`` with ``T <= max_len`` -> ``y`` the same.

    Examples:
        >>> layer = PositionalEmbedding(16)
        >>> params, state = layer.init(jax.random.key(0), (5, 3))
        >>> jax.tree.map(jnp.shape, params)
        {'w': (16, 3)}
        >>> y, _ = layer.apply(params, state, jnp.zeros((2, 5, 3)))
        >>> y.shape, bool((y[1] == params["w"][:5]).all())
        ((2, 5, 3), True)
    """
    max_len = _checks.positive_int("PositionalEmbedding", "max_len", max_len)
    where = f"PositionalEmbedding({max_len})"
    w_init_fn = initializers.normal(0.02) if w_init is None else initializers.get(w_init)

    def check_length(steps: int, what: str) -> None:
        if steps > max_len:
            raise ValueError(f"{where}: {what} has {steps} time steps, more than max_len "
                             f"{max_len}; build the layer with max_len >= {steps}")

    def init(key, input_shape):
        _checks.prng_key(where, "key", key)
        input_shape = _checks.input_shape(where, input_shape, "(T, features)", rank=2)
        check_length(input_shape[0], "input_shape")
        return {"w": w_init_fn(key, (max_len, input_shape[1]), param_dtype)}, {}

    def apply(params, state, x, *, train=False, key=None):
        del train, key
        _checks.layer_params(where, params, {"w": (max_len, "features")})
        w = params["w"]
        _checks.floating_array(where, "x", x)
        _checks.exact_rank(where, "x", x, 3, "(batch, T, features)")
        if x.shape[-1] != w.shape[1]:
            raise ValueError(f"{where}: x must have {w.shape[1]} features on its last axis "
                             f"(those of params['w'] {tuple(w.shape)}), got x shape "
                             f"{tuple(x.shape)}")
        check_length(x.shape[1], "x")
        return x + w[: x.shape[1]], state

    return Layer(init, apply, name="positional_embedding",
                 spec={"type": "PositionalEmbedding", "max_len": max_len}, needs_key=False)
