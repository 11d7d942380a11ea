"""Bad-input sweep over the whole public API.

One table, ``BAD``, of ``(id, bad call, expected exception, message regex)``: every
layer, loss, optimizer, schedule, data function, ``fit``/``evaluate``/``predict``/
``make_step`` and checkpoint call made with wrong ranks, widths, dtypes, empty arrays,
bad batch sizes, non-finite values, out-of-range hyperparameters, mismatched trees and
the wrong kind of key. Each must raise a clear error naming the function and the
argument. A second table, ``DOCUMENTED``, holds edge inputs with a documented, correct
result, and the result is checked.

Almost every call fails before anything is compiled; the few models are tiny and built
once.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import funcnet as fn
import reference
from funcnet import checkpoint, data, initializers, optim, plot

KEY = jax.random.key(0)


# ------------------------------------------------------------------ shared tiny objects


@functools.cache
def mlp():
    """Dense(3) on 2 features: ``(model, params, state)``."""
    model = fn.Sequential([fn.Dense(3)])
    return (model, *model.init(KEY, (2,)))


@functools.cache
def dense():
    layer = fn.Dense(3)
    return (layer, *layer.init(KEY, (2,)))


@functools.cache
def conv():
    layer = fn.Conv2D(2, 3)
    return (layer, *layer.init(KEY, (5, 5, 1)))


@functools.cache
def batchnorm():
    layer = fn.BatchNorm()
    return (layer, *layer.init(KEY, (3,)))


@functools.cache
def lstm():
    layer = fn.LSTM(3)
    return (layer, *layer.init(KEY, (4, 2)))


@functools.cache
def embedding():
    """Embedding(5, 3) on 4 ids per example."""
    layer = fn.Embedding(5, 3)
    return (layer, *layer.init(KEY, (4,)))


@functools.cache
def positional():
    """PositionalEmbedding(4) on sequences of 3 steps of 2 features."""
    layer = fn.PositionalEmbedding(4)
    return (layer, *layer.init(KEY, (3, 2)))


@functools.cache
def layernorm():
    layer = fn.LayerNorm()
    return (layer, *layer.init(KEY, (3,)))


@functools.cache
def attention():
    layer = fn.MultiHeadAttention(2)
    return (layer, *layer.init(KEY, (3, 4)))


PARAMS = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
# ids (N, 3) -> their vectors, flattened -> 2 logits: the first layer sees the raw ids
ID_MODEL = fn.Sequential([fn.Embedding(5, 2), fn.Flatten(), fn.Dense(2)])
X = np.ones((4, 2))
Y = np.array([0, 1, 2, 0], np.int32)
LOGITS = jnp.ones((4, 3))


def apply(layer_fn, x, **kwargs):
    layer, params, state = layer_fn()
    return layer.apply(params, state, x, **kwargs)


def fit(**overrides):
    """``fn.fit`` on the tiny MLP, with any argument replaced."""
    model, params, state = mlp()
    args = {"model": model, "params": params, "state": state, "optimizer": optim.sgd(0.1),
            "train_data": (X, Y), "epochs": 1, "batch_size": 2, "key": KEY}
    args.update(overrides)
    return fn.fit(args.pop("model"), args.pop("params"), args.pop("state"),
                  args.pop("optimizer"), args.pop("train_data"), **args)


def update(opt, grads, state=None, params=PARAMS):
    return opt.update(grads, opt.init(PARAMS) if state is None else state, params)


@functools.cache
def saved_checkpoint(directory):
    path = os.path.join(directory, "c.npz")
    checkpoint.save(path, {"w": jnp.ones((2, 3), jnp.float32),
                           "b": jnp.zeros(3, jnp.float32)}, {"epoch": 1})
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """Path of a small checkpoint, and a function writing damaged copies of it."""
    directory = tmp_path_factory.mktemp("ckpt")
    path = saved_checkpoint(str(directory))

    def damaged(name, edit):
        with open(path, "rb") as f:
            raw = bytearray(f.read())
        target = os.path.join(directory, name)
        with open(target, "wb") as f:
            f.write(edit(raw))
        return target

    return path, damaged


CKPT_LIKE = {"w": jnp.ones((2, 3), jnp.float32), "b": jnp.zeros(3, jnp.float32)}


def row(case_id, call, error, match, *marks):
    return pytest.param(call, error, match, id=case_id, marks=marks)


NOT_A_KEY = r"key must be a jax\.random key, got int 0; make one with jax\.random\.key"

# ------------------------------------------------------------------ the bad-input table
# (id, the bad call, the exception, a regex its message must match)

BAD = [
    # ---------------------------------------------------------------- Dense
    row("Dense/features=0", lambda: fn.Dense(0), ValueError,
        r"Dense: features must be a positive integer, got 0"),
    row("Dense/features=2.0", lambda: fn.Dense(2.0), ValueError,
        r"Dense: features must be a positive integer, got 2\.0"),
    row("Dense/use_bias=1", lambda: fn.Dense(2, use_bias=1), TypeError,
        r"Dense: use_bias must be True or False, got 1"),
    row("Dense/unknown w_init", lambda: fn.Dense(2, w_init="nope"), ValueError,
        r"unknown initializer 'nope'; expected one of"),
    row("Dense.init/int key", lambda: fn.Dense(3).init(0, (2,)), TypeError,
        r"Dense: " + NOT_A_KEY),
    row("Dense.init/None key", lambda: fn.Dense(3).init(None, (2,)), TypeError,
        r"Dense: key must be a jax\.random key, got NoneType None"),
    row("Dense.init/float array key", lambda: fn.Dense(3).init(jnp.zeros(2), (2,)), TypeError,
        r"key must be a jax\.random key, got an array of dtype float64 and shape \(2,\)"),
    row("Dense.init/batch of keys", lambda: fn.Dense(3).init(jax.random.split(KEY, 2), (2,)),
        ValueError, r"Dense: key must be a single jax\.random key, got a key "
                    r"array of shape \(2,\)"),
    row("Dense.init/input_shape int", lambda: fn.Dense(3).init(KEY, 2), ValueError,
        r"Dense: input_shape must be \(in_features,\) .* got 2$"),
    row("Dense.init/input_shape ()", lambda: fn.Dense(3).init(KEY, ()), ValueError,
        r"Dense: input_shape must be .* got \(\)"),
    row("Dense.init/zero width", lambda: fn.Dense(3).init(KEY, (0,)), ValueError,
        r"Dense: input_shape must be .*positive ints.* got \(0,\)"),
    row("Dense.init/negative width", lambda: fn.Dense(3).init(KEY, (-2,)), ValueError,
        r"input_shape must be .* got \(-2,\)"),
    row("Dense/rank 0 x", lambda: apply(dense, jnp.float32(1.0)), ValueError,
        r"Dense: x must have at least 1 dimension\(s\) \(batch, in_features\), got shape \(\)"),
    row("Dense/wrong width", lambda: apply(dense, jnp.ones((4, 5))), ValueError,
        r"Dense\(3\): x must have last dimension 2 \(the in_features of w \(2, 3\)\), "
        r"got x shape \(4, 5\)"),
    row("Dense/int x", lambda: apply(dense, jnp.ones((4, 2), jnp.int32)), TypeError,
        r"Dense: x must be a floating-point array, got dtype int32"),
    row("Dense/bool x", lambda: apply(dense, np.ones((4, 2), bool)), TypeError,
        r"Dense: x must be a floating-point array, got dtype bool"),
    row("Dense/list x", lambda: apply(dense, [[1.0, 2.0]]), TypeError,
        r"Dense: x must be an array \(jax or NumPy\), got list"),
    row("Dense/params of another layer", lambda: fn.Dense(3).apply({}, {}, jnp.ones((4, 2))),
        ValueError, r"Dense\(3\): params must be the dict with keys \['b', 'w'\] made by "
                    r"this layer's init, got keys \[\]"),
    row("Dense/params not a dict", lambda: fn.Dense(3).apply(jnp.ones((2, 3)), {}, X),
        ValueError, r"Dense\(3\): params must be the dict .* got ArrayImpl"),
    # ---------------------------------------------------------------- Conv2D
    row("Conv2D/features=0", lambda: fn.Conv2D(0, 3), ValueError,
        r"Conv2D: features must be a positive integer, got 0"),
    row("Conv2D/kernel_size=0", lambda: fn.Conv2D(2, 0), ValueError,
        r"Conv2D\(2\): kernel_size must be a positive int or a pair"),
    row("Conv2D/kernel_size 3-tuple", lambda: fn.Conv2D(2, (3, 3, 3)), ValueError,
        r"kernel_size must be a positive int or a pair .* got \(3, 3, 3\)"),
    row("Conv2D/strides=-1", lambda: fn.Conv2D(2, 3, strides=-1), ValueError,
        r"Conv2D\(2\): strides must be a positive int"),
    row("Conv2D/dilation=0", lambda: fn.Conv2D(2, 3, dilation=0), ValueError,
        r"Conv2D\(2\): dilation must be a positive int"),
    row("Conv2D/padding='FULL'", lambda: fn.Conv2D(2, 3, padding="FULL"), ValueError,
        r"Conv2D\(2\): padding must be 'SAME', 'VALID', an int >= 0 .* got 'FULL'"),
    row("Conv2D/padding=-1", lambda: fn.Conv2D(2, 3, padding=-1), ValueError,
        r"Conv2D\(2\): padding must be .* got -1"),
    row("Conv2D.init/int key", lambda: fn.Conv2D(2, 3).init(0, (5, 5, 1)), TypeError,
        r"Conv2D\(2\): " + NOT_A_KEY),
    row("Conv2D.init/rank-2 input_shape", lambda: fn.Conv2D(2, 3).init(KEY, (5, 5)),
        ValueError, r"Conv2D\(2\): input_shape must be \(height, width, channels\) "
                    r"per example .* got \(5, 5\)"),
    row("Conv2D.init/0 channels", lambda: fn.Conv2D(2, 3).init(KEY, (5, 5, 0)), ValueError,
        r"Conv2D\(2\): input_shape must be .* got \(5, 5, 0\)"),
    row("Conv2D/rank-3 x", lambda: apply(conv, jnp.ones((5, 5, 1))), ValueError,
        r"Conv2D\(2\): x must have 4 dimensions \(batch, height, width, channels\), "
        r"got shape \(5, 5, 1\)"),
    row("Conv2D/wrong channels", lambda: apply(conv, jnp.ones((1, 5, 5, 3))), ValueError,
        r"Conv2D\(2\): x must have 1 channels \(the in_channels of w \(3, 3, 1, 2\)\)"),
    row("Conv2D/int x", lambda: apply(conv, jnp.ones((1, 5, 5, 1), jnp.int32)), TypeError,
        r"Conv2D\(2\): x must be a floating-point array, got dtype int32"),
    row("Conv2D/kernel larger than input",
        lambda: fn.Conv2D(2, 7, padding="VALID").apply(
            fn.Conv2D(2, 7).init(KEY, (7, 7, 1))[0], {}, jnp.ones((1, 5, 5, 1))),
        ValueError, r"Conv2D\(2\): the dilated kernel \(7, 7\) .* is larger than the padded "
                    r"input \(5, 5\)"),
    row("Conv2D/params without bias", lambda: fn.Conv2D(2, 3).apply(
        {"w": conv()[1]["w"]}, {}, jnp.ones((1, 5, 5, 1))), ValueError,
        r"Conv2D\(2\): params must be the dict with keys \['b', 'w'\] .* got keys \['w'\]"),
    # ---------------------------------------------------------------- pooling
    row("MaxPool2D/window=0", lambda: fn.MaxPool2D(0), ValueError,
        r"MaxPool2D\(window=0\): window must be a positive int"),
    row("MaxPool2D/window=2.5", lambda: fn.MaxPool2D(2.5), ValueError,
        r"MaxPool2D\(window=2\.5\): window must be a positive int"),
    row("MaxPool2D/padding >= window", lambda: fn.MaxPool2D(2, padding=2), ValueError,
        r"MaxPool2D\(window=2\): padding \(2, 2\) on height must be smaller than the window"),
    row("MaxPool2D/rank-2 x", lambda: fn.MaxPool2D(2).apply({}, {}, jnp.ones((4, 4))),
        ValueError, r"MaxPool2D\(window=2\): x must have 4 dimensions"),
    row("MaxPool2D/int x",
        lambda: fn.MaxPool2D(2).apply({}, {}, jnp.ones((1, 4, 4, 1), jnp.int32)), TypeError,
        r"MaxPool2D\(window=2\): x must be a floating-point array, got dtype int32"),
    row("MaxPool2D/window larger than input",
        lambda: fn.MaxPool2D(5).apply({}, {}, jnp.ones((1, 4, 4, 1))), ValueError,
        r"MaxPool2D\(window=5\): the window \(5, 5\) .* is larger than the padded input"),
    row("AvgPool2D/strides=0", lambda: fn.AvgPool2D(2, strides=0), ValueError,
        r"AvgPool2D\(window=2\): strides must be a positive int"),
    row("AvgPool2D/int x",
        lambda: fn.AvgPool2D(2).apply({}, {}, jnp.ones((1, 4, 4, 1), jnp.int32)), TypeError,
        r"AvgPool2D\(window=2\): x must be a floating-point array"),
    row("AvgPool2D/rank-3 x", lambda: fn.AvgPool2D(2).apply({}, {}, jnp.ones((4, 4, 1))),
        ValueError, r"AvgPool2D\(window=2\): x must have 4 dimensions"),
    row("Flatten/rank-1 x", lambda: fn.Flatten().apply({}, {}, jnp.ones(4)), ValueError,
        r"Flatten: x must have at least 2 dimension\(s\) \(batch, \.\.\.\), got shape \(4,\)"),
    row("GlobalAvgPool/rank-3 x", lambda: fn.GlobalAvgPool().apply({}, {}, jnp.ones((4, 4, 1))),
        ValueError, r"GlobalAvgPool: x must have 4 dimensions"),
    row("GlobalAvgPool/int x",
        lambda: fn.GlobalAvgPool().apply({}, {}, jnp.ones((1, 4, 4, 1), jnp.int32)), TypeError,
        r"GlobalAvgPool: x must be a floating-point array"),
    row("GlobalAvgPool/empty spatial axes",
        lambda: fn.GlobalAvgPool().apply({}, {}, jnp.ones((1, 0, 3, 2))), ValueError,
        r"GlobalAvgPool: x must have at least one spatial cell to average, got shape "
        r"\(1, 0, 3, 2\)"),
    # ---------------------------------------------------------------- Dropout
    row("Dropout/rate=1", lambda: fn.Dropout(1.0), ValueError,
        r"Dropout\(rate=1\.0\): rate is the probability of dropping a unit and must be in "
        r"\[0, 1\), got 1\.0"),
    row("Dropout/rate=-0.1", lambda: fn.Dropout(-0.1), ValueError,
        r"Dropout\(rate=-0\.1\): rate .* must be in \[0, 1\)"),
    row("Dropout/rate=nan", lambda: fn.Dropout(float("nan")), ValueError,
        r"Dropout\(rate=nan\): rate .* must be in \[0, 1\), got nan"),
    row("Dropout/rate='0.5'", lambda: fn.Dropout("0.5"), TypeError,
        r"Dropout\(rate='0\.5'\): rate must be a real number, got str"),
    row("Dropout/train without key",
        lambda: fn.Dropout(0.5).apply({}, {}, jnp.ones((2, 3)), train=True), ValueError,
        r"Dropout\(rate=0\.5\): training mode draws a random mask and needs a key"),
    row("Dropout/train with int key",
        lambda: fn.Dropout(0.5).apply({}, {}, jnp.ones((2, 3)), train=True, key=0), TypeError,
        r"Dropout\(rate=0\.5\): " + NOT_A_KEY),
    row("Dropout/int x",
        lambda: fn.Dropout(0.5).apply({}, {}, jnp.ones((2, 3), jnp.int32), train=True, key=KEY),
        TypeError, r"Dropout\(rate=0\.5\): x must be a floating-point array, got dtype int32"),
    row("Sequential[Dropout]/train without key", lambda: fn.Sequential(
        [fn.Dense(3), fn.Dropout(0.5)]).apply(
            {"dense_0": PARAMS, "dropout_1": {}}, {"dense_0": {}, "dropout_1": {}},
            jnp.ones((2, 2)), train=True), ValueError,
        r"Dropout\(rate=0\.5\): training mode draws a random mask and needs a key"),
    row("dropout_mask/rate=1", lambda: fn.dropout_mask(KEY, 1.0, (2,)), ValueError,
        r"dropout_mask: rate .* must be in \[0, 1\)"),
    row("dropout_mask/int key", lambda: fn.dropout_mask(0, 0.5, (2,)), TypeError,
        r"dropout_mask: " + NOT_A_KEY),
    row("dropout_keys/spec None", lambda: fn.dropout_keys(None, KEY), TypeError,
        r"dropout_keys: model must be a funcnet Layer \(the model whose apply gets the key\), "
        r"got NoneType"),
    row("dropout_keys/int key",
        lambda: fn.dropout_keys(fn.Sequential([fn.Dropout(0.5)]), 0), TypeError,
        r"dropout_keys: " + NOT_A_KEY),
    # ---------------------------------------------------------------- BatchNorm
    row("BatchNorm/momentum=1", lambda: fn.BatchNorm(momentum=1.0), ValueError,
        r"BatchNorm: momentum must be in \[0, 1\), got 1\.0"),
    row("BatchNorm/momentum=-0.5", lambda: fn.BatchNorm(momentum=-0.5), ValueError,
        r"BatchNorm: momentum must be in \[0, 1\), got -0\.5"),
    row("BatchNorm/eps=0", lambda: fn.BatchNorm(eps=0), ValueError,
        r"BatchNorm: eps must be finite and > 0, got 0"),
    row("BatchNorm/eps=-1", lambda: fn.BatchNorm(eps=-1.0), ValueError,
        r"BatchNorm: eps must be finite and > 0, got -1\.0"),
    row("BatchNorm/eps='1e-5'", lambda: fn.BatchNorm(eps="1e-5"), TypeError,
        r"BatchNorm: eps must be a real number, got str"),
    row("BatchNorm.init/int key", lambda: fn.BatchNorm().init(0, (3,)), TypeError,
        r"BatchNorm\(momentum=0\.9, eps=1e-05\): " + NOT_A_KEY),
    row("BatchNorm.init/input_shape ()", lambda: fn.BatchNorm().init(KEY, ()), ValueError,
        r"BatchNorm\(.*\): input_shape must be \(features,\) or \(height, width, "
        r"channels\)"),
    row("BatchNorm/wrong width", lambda: apply(batchnorm, jnp.ones((4, 2))), ValueError,
        r"BatchNorm\(.*\): x must have 3 features on its last axis \(the size of scale\), "
        r"got x shape \(4, 2\)"),
    row("BatchNorm/rank-1 x", lambda: apply(batchnorm, jnp.ones(3)), ValueError,
        r"BatchNorm\(.*\): x must have at least 2 dimension\(s\)"),
    row("BatchNorm/int x", lambda: apply(batchnorm, jnp.ones((4, 3), jnp.int32)), TypeError,
        r"BatchNorm\(.*\): x must be a floating-point array, got dtype int32"),
    row("BatchNorm/train on batch of 1", lambda: apply(batchnorm, jnp.ones((1, 3)), train=True),
        ValueError, r"training needs more than one value per feature .* got x shape \(1, 3\)"),
    row("BatchNorm/train on empty batch",
        lambda: apply(batchnorm, jnp.ones((0, 3)), train=True), ValueError,
        r"training needs more than one value per feature .* got x shape \(0, 3\)"),
    row("BatchNorm/state missing", lambda: fn.BatchNorm().apply(
        batchnorm()[1], {}, jnp.ones((4, 3))), ValueError,
        r"BatchNorm\(.*\): state must be the running statistics \{'mean': \(3,\), "
        r"'var': \(3,\)\} made by init, got \{\}"),
    row("BatchNorm/params of a Dense", lambda: fn.BatchNorm().apply(
        PARAMS, batchnorm()[2], jnp.ones((4, 3))), ValueError,
        r"BatchNorm\(.*\): params must be the dict with keys \['bias', 'scale'\] .* got "
        r"keys \['b', 'w'\]"),
    # ---------------------------------------------------------------- Residual
    row("Residual/block changes width", lambda: fn.Residual(fn.Dense(4)).init(KEY, (3,)),
        ValueError, r"Residual\(dense\): the block must keep the shape of its input .* "
                    r"got input shape \(1, 3\) and block output shape \(1, 4\)"),
    row("Residual/block not a layer", lambda: fn.Residual(3), TypeError,
        r"Residual: block must be a Layer or a function of arrays, got int"),
    row("Residual/int key", lambda: fn.Residual(fn.Dense(2)).init(0, (2,)), TypeError,
        r"Dense: " + NOT_A_KEY),
    # ------------------------------------------- token ids, checked before compiling
    row("fit/ids out of range", lambda: fn.fit(
        ID_MODEL, *ID_MODEL.init(KEY, (3,)), optax.sgd(0.1),
        (np.array([[0, 1, 2], [4, 5, 1]]), np.array([0, 1])), epochs=1, batch_size=2,
        key=KEY), ValueError,
        r"fit: train_data x: Embedding\(5, 2\): ids must be in \[0, 5\), got id 5 at "
        r"index \(1, 1\)"),
    row("fit/eval ids out of range", lambda: fn.fit(
        ID_MODEL, *ID_MODEL.init(KEY, (3,)), optax.sgd(0.1),
        (np.zeros((2, 3), np.int32), np.array([0, 1])), epochs=1, batch_size=2, key=KEY,
        eval_data=(np.array([[0, -1, 2]]), np.array([0]))), ValueError,
        r"fit: eval_data x: Embedding\(5, 2\): ids must be in \[0, 5\), got id -1 at "
        r"index \(0, 1\)"),
    row("evaluate/ids out of range", lambda: fn.evaluate(
        ID_MODEL, *ID_MODEL.init(KEY, (3,)), (np.array([[9, 0, 0]]), np.array([0]))),
        ValueError, r"evaluate: data x: Embedding\(5, 2\): ids must be in \[0, 5\), got "
                    r"id 9 at index \(0, 0\)"),
    row("predict/ids out of range", lambda: fn.predict(
        ID_MODEL, *ID_MODEL.init(KEY, (3,)), np.array([[0, 0, 7]])), ValueError,
        r"predict: x: Embedding\(5, 2\): ids must be in \[0, 5\), got id 7 at "
        r"index \(0, 2\)"),
    # ---------------------------------------------------------------- RNN, LSTM, GRU
    row("LSTM/hidden=0", lambda: fn.LSTM(0), ValueError,
        r"LSTM: hidden must be a positive integer, got 0"),
    row("RNN/hidden=2.5", lambda: fn.RNN(2.5), ValueError,
        r"RNN: hidden must be a positive integer, got 2\.5"),
    row("GRU/return_sequences=1", lambda: fn.GRU(2, return_sequences=1), TypeError,
        r"GRU: return_sequences must be True or False, got 1"),
    row("LSTM/initial_state unknown", lambda: fn.LSTM(2, initial_state="random"), ValueError,
        r"LSTM: initial_state must be 'zeros' or 'learned', got 'random'"),
    row("LSTM/forget_bias str", lambda: fn.LSTM(2, forget_bias="1"), TypeError,
        r"LSTM: forget_bias must be a real number, got str"),
    row("RNN/unknown w_x_init", lambda: fn.RNN(2, w_x_init="nope"), ValueError,
        r"unknown initializer 'nope'; expected one of"),
    row("LSTM.init/int key", lambda: fn.LSTM(3).init(0, (4, 2)), TypeError,
        r"LSTM: " + NOT_A_KEY),
    row("GRU.init/input_shape without time", lambda: fn.GRU(3).init(KEY, (2,)), ValueError,
        r"GRU: input_shape must be \(time, features\) per example .* got \(2,\)"),
    row("LSTM/rank 2 x", lambda: apply(lstm, jnp.ones((4, 2))), ValueError,
        r"LSTM: x must have 3 dimensions \(batch, time, features\), got shape \(4, 2\)"),
    row("LSTM/int x", lambda: apply(lstm, jnp.ones((4, 5, 2), jnp.int32)), TypeError,
        r"LSTM: x must be a floating-point array, got dtype int32"),
    row("LSTM/wrong width", lambda: apply(lstm, jnp.ones((4, 5, 3))), ValueError,
        r"LSTM\(3\): x must have last dimension 2 \(the features of w_x \(2, 12\)\), got "
        r"x shape \(4, 5, 3\)"),
    row("LSTM/no time steps", lambda: apply(lstm, jnp.ones((4, 0, 2))), ValueError,
        r"LSTM\(3\): x must have at least one time step, got x shape \(4, 0, 2\)"),
    row("LSTM/params of a Dense", lambda: fn.LSTM(3).apply(PARAMS, {}, jnp.ones((4, 5, 2))),
        ValueError, r"LSTM\(3\): params must be the dict with keys \['b', 'w_h', 'w_x'\] "
                    r"made by this layer's init, got keys \['b', 'w'\]"),
    row("GRU/zeros params for a learned start", lambda: fn.GRU(3, initial_state="learned")
        .apply(fn.GRU(3).init(KEY, (4, 2))[0], {}, jnp.ones((4, 5, 2))), ValueError,
        r"GRU\(3\): params must be the dict with keys \['b_h', 'b_x', 'h0', 'w_h', 'w_x'\]"),
    row("hidden_gradients/a Dense", lambda: fn.diagnostics.hidden_gradients(
        *dense()[:2], jnp.ones((4, 2)), jnp.sum), TypeError,
        r"hidden_gradients: layer must be an RNN, LSTM or GRU layer, got 'dense'"),
    row("hidden_gradients/loss not callable", lambda: fn.diagnostics.hidden_gradients(
        *lstm()[:2], jnp.ones((4, 5, 2)), "mse"), TypeError,
        r"hidden_gradients: loss must be a function of the layer's output, got str"),
    row("hidden_gradients/wrong width", lambda: fn.diagnostics.hidden_gradients(
        *lstm()[:2], jnp.ones((4, 5, 3)), jnp.sum), ValueError,
        r"LSTM\(3\): x must have last dimension 2"),
    row("gradients_through_time/not a dict", lambda: plot.gradients_through_time(
        np.ones(5)), TypeError,
        r"gradients_through_time: norms must be a dict \{model name: \(T,\) norms\}, got "
        r"ndarray"),
    row("gradients_through_time/empty", lambda: plot.gradients_through_time({}),
        ValueError, r"gradients_through_time: norms is empty; expected at least one model"),
    row("gradients_through_time/(N, T) norms", lambda: plot.gradients_through_time(
        {"RNN": np.ones((4, 5))}), ValueError,
        r"gradients_through_time: norms\['RNN'\] must be a non-empty \(T,\) array of "
        r"numbers \(hidden_gradient_norms\), got shape \(4, 5\)"),
    row("gradients_through_time/NaN norm", lambda: plot.gradients_through_time(
        {"GRU": [1.0, np.nan, 2.0]}), ValueError,
        r"gradients_through_time: norms\['GRU'\] must be finite and >= 0, got nan at t=1"),
    row("gradients_through_time/negative norm", lambda: plot.gradients_through_time(
        {"GRU": [1.0, -2.0]}), ValueError,
        r"norms\['GRU'\] must be finite and >= 0, got -2.0 at t=1"),
    row("gradients_through_time/all zero on log", lambda: plot.gradients_through_time(
        {"LSTM": np.zeros(3)}), ValueError,
        r"gradients_through_time: every norm is 0, which has no log scale; pass "
        r"log_scale=False"),
    row("gradients_through_time/log_scale not bool", lambda: plot.gradients_through_time(
        {"LSTM": np.ones(3)}, log_scale="yes"), TypeError,
        r"gradients_through_time: log_scale must be True or False, got 'yes'"),
    row("gradients_through_time/ax not Axes", lambda: plot.gradients_through_time(
        {"LSTM": np.ones(3)}, ax=3), TypeError,
        r"gradients_through_time: ax must be a matplotlib Axes"),
    row("reference RNN/rank 2 x", lambda: reference.recurrent.rnn_forward(
        {"w_x": np.ones((2, 3)), "w_h": np.eye(3), "b": np.zeros(3)}, np.ones((4, 2))),
        ValueError, r"RNN: x must have 3 dimensions \(batch, time, features\), got shape "
                    r"\(4, 2\)"),
    row("reference LSTM/w_h shape", lambda: reference.recurrent.lstm_forward(
        {"w_x": np.ones((2, 12)), "w_h": np.ones((3, 8)), "b": np.zeros(12)},
        np.ones((4, 5, 2))), ValueError,
        r"LSTM: params\['w_h'\] must have shape \(3, 12\) for x \(4, 5, 2\) and H=3, "
        r"got \(3, 8\)"),
    row("reference LSTM/h0 without c0", lambda: reference.recurrent.lstm_forward(
        {"w_x": np.ones((2, 4)), "w_h": np.ones((1, 4)), "b": np.zeros(4), "h0": np.zeros(1)},
        np.ones((4, 5, 2))), ValueError,
        r"LSTM: params must have keys \['b', 'w_h', 'w_x'\] and optionally \['h0', 'c0'\]"),
    row("reference.build/GRU hidden=0", lambda: reference.build(
        {"type": "GRU", "hidden": 0}), ValueError, r"GRU: hidden must be a positive integer"),
    row("reference.build/LSTM unknown entry", lambda: reference.build(
        {"type": "LSTM", "hidden": 2, "units": 3}), TypeError,
        r"LSTM: unexpected spec entries \['units'\]"),
    # ---------------------------------------------------------------- Embedding
    row("Embedding/vocab_size=0", lambda: fn.Embedding(0, 3), ValueError,
        r"Embedding: vocab_size must be a positive integer, got 0"),
    row("Embedding/features=2.5", lambda: fn.Embedding(5, 2.5), ValueError,
        r"Embedding: features must be a positive integer, got 2\.5"),
    row("Embedding/int param_dtype", lambda: fn.Embedding(5, 3, param_dtype=jnp.int32),
        TypeError, r"Embedding\(5, 3\): param_dtype must be a floating dtype, got int32"),
    row("Embedding.init/int key", lambda: fn.Embedding(5, 3).init(0, (4,)), TypeError,
        r"Embedding\(5, 3\): " + NOT_A_KEY),
    row("Embedding/float ids", lambda: apply(embedding, jnp.ones((2, 4))), TypeError,
        r"Embedding\(5, 3\): ids must be an integer array, got dtype float64; convert it "
        r"first, e.g. ids\.astype\(jnp\.int32\)"),
    row("Embedding/bool ids", lambda: apply(embedding, np.ones((2, 4), bool)), TypeError,
        r"Embedding\(5, 3\): ids must be an integer array, got dtype bool"),
    row("Embedding/rank-0 ids", lambda: apply(embedding, jnp.int32(1)), ValueError,
        r"Embedding\(5, 3\): ids must have at least 1 dimension\(s\) \(batch, T\)"),
    row("Embedding/id = vocab_size", lambda: apply(embedding, np.array([[0, 1], [2, 5]])),
        ValueError, r"Embedding\(5, 3\): ids must be in \[0, 5\), got id 5 at index "
                    r"\(1, 1\); map unknown tokens"),
    row("Embedding/negative id", lambda: apply(embedding, np.array([[0, -1, 9]])),
        ValueError, r"ids must be in \[0, 5\), got id -1 at index \(0, 1\)"),
    row("Embedding/params of another size", lambda: fn.Embedding(6, 3).apply(
        embedding()[1], {}, np.zeros((1, 4), np.int32)), ValueError,
        r"Embedding\(6, 3\): params\['w'\] must have shape \(6, 3\), got \(5, 3\)"),
    row("Embedding/params of a Dense", lambda: fn.Embedding(5, 3).apply(
        PARAMS, {}, np.zeros((1, 4), np.int32)), ValueError,
        r"Embedding\(5, 3\): params must be the dict with keys \['w'\] .* got keys "
        r"\['b', 'w'\]"),
    # ---------------------------------------------------------------- PositionalEmbedding
    row("PositionalEmbedding/max_len=0", lambda: fn.PositionalEmbedding(0), ValueError,
        r"PositionalEmbedding: max_len must be a positive integer, got 0"),
    row("PositionalEmbedding.init/T > max_len",
        lambda: fn.PositionalEmbedding(4).init(KEY, (6, 2)), ValueError,
        r"PositionalEmbedding\(4\): input_shape has 6 time steps, more than max_len 4; "
        r"build the layer with max_len >= 6"),
    row("PositionalEmbedding.init/rank-1 input_shape",
        lambda: fn.PositionalEmbedding(4).init(KEY, (3,)), ValueError,
        r"PositionalEmbedding\(4\): input_shape must be \(T, features\) per example"),
    row("PositionalEmbedding/T > max_len", lambda: apply(positional, jnp.ones((2, 5, 2))),
        ValueError, r"PositionalEmbedding\(4\): x has 5 time steps, more than max_len 4"),
    row("PositionalEmbedding/rank-2 x", lambda: apply(positional, jnp.ones((3, 2))),
        ValueError, r"PositionalEmbedding\(4\): x must have 3 dimensions "
                    r"\(batch, T, features\), got shape \(3, 2\)"),
    row("PositionalEmbedding/wrong features", lambda: apply(positional, jnp.ones((2, 3, 5))),
        ValueError, r"PositionalEmbedding\(4\): x must have 2 features on its last axis "
                    r"\(those of params\['w'\] \(4, 2\)\), got x shape \(2, 3, 5\)"),
    row("PositionalEmbedding/int x",
        lambda: apply(positional, jnp.ones((2, 3, 2), jnp.int32)), TypeError,
        r"PositionalEmbedding\(4\): x must be a floating-point array, got dtype int32"),
    row("PositionalEmbedding/params of another max_len", lambda: fn.PositionalEmbedding(8)
        .apply(positional()[1], {}, jnp.ones((2, 3, 2))), ValueError,
        r"PositionalEmbedding\(8\): params\['w'\] must have shape \(8, features\), "
        r"got \(4, 2\)"),
    # ---------------------------------------------------------------- LayerNorm, RMSNorm
    row("LayerNorm/eps=0", lambda: fn.LayerNorm(eps=0), ValueError,
        r"LayerNorm: eps must be finite and > 0, got 0"),
    row("LayerNorm/eps rounds to 0 in float32", lambda: fn.LayerNorm(eps=1e-50), ValueError,
        r"LayerNorm: eps must stay > 0 in float32 \(the statistics' dtype\), got 1e-50, "
        r"which rounds to 0"),
    row("LayerNorm/use_bias=1", lambda: fn.LayerNorm(use_bias=1), TypeError,
        r"LayerNorm: use_bias must be True or False, got 1"),
    row("LayerNorm/use_scale=None", lambda: fn.LayerNorm(use_scale=None), TypeError,
        r"LayerNorm: use_scale must be True or False, got None"),
    row("LayerNorm.init/int key", lambda: fn.LayerNorm().init(0, (3,)), TypeError,
        r"LayerNorm\(eps=1e-05\): " + NOT_A_KEY),
    row("LayerNorm/wrong width", lambda: apply(layernorm, jnp.ones((4, 2))), ValueError,
        r"LayerNorm\(eps=1e-05\): x must have 3 features on its last axis \(the size of "
        r"its params\), got x shape \(4, 2\)"),
    row("LayerNorm/rank-1 x", lambda: apply(layernorm, jnp.ones(3)), ValueError,
        r"LayerNorm\(eps=1e-05\): x must have at least 2 dimension\(s\) "
        r"\(batch, \.\.\., features\)"),
    row("LayerNorm/int x", lambda: apply(layernorm, jnp.ones((4, 3), jnp.int32)), TypeError,
        r"LayerNorm\(eps=1e-05\): x must be a floating-point array, got dtype int32"),
    row("LayerNorm/params with no bias", lambda: fn.LayerNorm().apply(
        {"scale": jnp.ones(3)}, {}, jnp.ones((4, 3))), ValueError,
        r"LayerNorm\(eps=1e-05\): params must be the dict with keys \['bias', 'scale'\] "
        r".* got keys \['scale'\]"),
    row("RMSNorm/eps=-1", lambda: fn.RMSNorm(eps=-1.0), ValueError,
        r"RMSNorm: eps must be finite and > 0, got -1\.0"),
    row("RMSNorm/eps='1e-6'", lambda: fn.RMSNorm(eps="1e-6"), TypeError,
        r"RMSNorm: eps must be a real number, got str"),
    row("RMSNorm/wrong width", lambda: fn.RMSNorm().apply(
        {"scale": jnp.ones(3)}, {}, jnp.ones((2, 4, 5))), ValueError,
        r"RMSNorm\(eps=1e-06\): x must have 3 features on its last axis"),
    # ---------------------------------------------------------------- attention
    row("MultiHeadAttention/num_heads=0", lambda: fn.MultiHeadAttention(0), ValueError,
        r"MultiHeadAttention: num_heads must be a positive integer, got 0"),
    row("MultiHeadAttention/causal=1", lambda: fn.MultiHeadAttention(2, causal=1), TypeError,
        r"MultiHeadAttention\(num_heads=2\): causal must be True or False, got 1"),
    row("MultiHeadAttention/use_bias=None", lambda: fn.MultiHeadAttention(2, use_bias=None),
        TypeError, r"MultiHeadAttention\(num_heads=2\): use_bias must be True or False"),
    row("MultiHeadAttention.init/D not divisible by heads",
        lambda: fn.MultiHeadAttention(2).init(KEY, (4, 5)), ValueError,
        r"MultiHeadAttention\(num_heads=2\): the width D=5 \(the last axis of x\) must be "
        r"divisible by num_heads=2"),
    row("MultiHeadAttention.init/rank-1 input_shape",
        lambda: fn.MultiHeadAttention(2).init(KEY, (4,)), ValueError,
        r"MultiHeadAttention\(num_heads=2\): input_shape must be \(time, features\) per "
        r"example .* got \(4,\)"),
    row("MultiHeadAttention.init/int key", lambda: fn.MultiHeadAttention(2).init(0, (3, 4)),
        TypeError, r"MultiHeadAttention\(num_heads=2\): " + NOT_A_KEY),
    row("MultiHeadAttention/rank-2 x", lambda: apply(attention, jnp.ones((3, 4))), ValueError,
        r"MultiHeadAttention\(num_heads=2\): x must have 3 dimensions \(batch, time, "
        r"features\), got shape \(3, 4\)"),
    row("MultiHeadAttention/int x", lambda: apply(attention, jnp.ones((1, 3, 4), jnp.int32)),
        TypeError, r"MultiHeadAttention\(num_heads=2\): x must be a floating-point array, "
                   r"got dtype int32"),
    row("MultiHeadAttention/wrong width", lambda: apply(attention, jnp.ones((1, 3, 6))),
        ValueError, r"MultiHeadAttention\(num_heads=2\): x must have last dimension 4 \(the "
                    r"width of w_q \(4, 4\)\), got x shape \(1, 3, 6\)"),
    row("MultiHeadAttention/int mask", lambda: apply(
        attention, jnp.ones((1, 3, 4)), mask=jnp.ones((1, 3), jnp.int32)), TypeError,
        r"MultiHeadAttention\(num_heads=2\): mask must be a bool array \(True for real "
        r"tokens, False for padding\), got dtype int32"),
    row("MultiHeadAttention/mask of the wrong shape", lambda: apply(
        attention, jnp.ones((2, 3, 4)), mask=jnp.ones((2, 4), bool)), ValueError,
        r"MultiHeadAttention\(num_heads=2\): mask must have shape \(batch, time\) = "
        r"\(2, 3\) to match x \(2, 3, 4\), got \(2, 4\)"),
    row("MultiHeadAttention/params without biases", lambda: fn.MultiHeadAttention(2).apply(
        {k: v for k, v in attention()[1].items() if k.startswith("w")}, {},
        jnp.ones((1, 3, 4))), ValueError,
        r"MultiHeadAttention\(num_heads=2\): params must be the dict with keys \['b_o', "
        r"'b_q', 'b_v', 'w_k', 'w_o', 'w_q', 'w_v'\] made by this layer's init"),
    row("TransformerBlock/features missing", lambda: fn.TransformerBlock(2), TypeError,
        r"missing 1 required keyword-only argument: 'features'"),
    row("TransformerBlock/D not divisible by heads",
        lambda: fn.TransformerBlock(3, features=8), ValueError,
        r"TransformerBlock\(features=8\): the width D=8 .* must be divisible by "
        r"num_heads=3"),
    row("TransformerBlock/mlp_ratio=0", lambda: fn.TransformerBlock(2, 0, features=4),
        ValueError, r"TransformerBlock\(features=4\): mlp_ratio must be a positive integer"),
    row("TransformerBlock/dropout=1", lambda: fn.TransformerBlock(2, dropout=1.0, features=4),
        ValueError, r"TransformerBlock\(features=4\): dropout must be in \[0, 1\), got 1\.0"),
    row("TransformerBlock/causal='yes'",
        lambda: fn.TransformerBlock(2, causal="yes", features=4), TypeError,
        r"TransformerBlock\(features=4\): causal must be True or False, got 'yes'"),
    # ---------------------------------------------------------------- Activation
    row("Activation/gelu approximate='tanh'",
        lambda: fn.Activation("gelu", approximate="tanh"), TypeError,
        r"Activation\('gelu'\): approximate must be True or False, got 'tanh'"),
    row("Activation/silu takes no approximate",
        lambda: fn.Activation("silu", approximate=True), TypeError,
        r"Activation\('silu'\): unexpected hyperparameter\(s\) \['approximate'\]; silu "
        r"accepts none"),
    row("gelu/approximate=1", lambda: fn.gelu(jnp.ones(2), approximate=1), TypeError,
        r"gelu: approximate must be True or False, got 1"),
    row("Activation/unknown name", lambda: fn.Activation("swish"), ValueError,
        r"unknown activation 'swish'; expected one of"),
    row("Activation/unknown hyperparameter", lambda: fn.Activation("relu", alpha=1), TypeError,
        r"Activation\('relu'\): unexpected hyperparameter\(s\) \['alpha'\]; relu accepts none"),
    row("Activation/non-numeric slope", lambda: fn.Activation(
        "leaky_relu", negative_slope="0.2").apply({}, {}, jnp.ones((2, 2))), TypeError,
        r"Activation\('leaky_relu'\): negative_slope must be a real number"),
    # ---------------------------------------------------------------- Sequential
    row("Sequential/empty", lambda: fn.Sequential([]), ValueError,
        r"Sequential: layers must not be empty"),
    row("Sequential/a bare layer", lambda: fn.Sequential(fn.Dense(2)), TypeError,
        r"Sequential: layers must be a list of layers, got Layer"),
    row("Sequential/an int inside", lambda: fn.Sequential([fn.Dense(2), 3]), TypeError,
        r"Sequential: expected a Layer or a function of arrays, got int"),
    row("Sequential/wrong width",
        lambda: mlp()[0].apply(mlp()[1], mlp()[2], jnp.ones((2, 5))), ValueError,
        r"Dense\(3\): x must have last dimension 2 .* got x shape \(2, 5\)"),
    row("Sequential/params missing a child", lambda: mlp()[0].apply({}, {}, jnp.ones((2, 2))),
        ValueError, r"Sequential: params must .*dense_0"),
    row("Sequential.init/int key (model.init(0, ...))",
        lambda: fn.Sequential([fn.Dense(3)]).init(0, (2,)), TypeError,
        r"Sequential\.init: " + NOT_A_KEY),
    row("Sequential.apply/int key", lambda: mlp()[0].apply(
        mlp()[1], mlp()[2], jnp.ones((2, 2)), train=True, key=0), TypeError,
        r"Sequential\.apply: " + NOT_A_KEY),
    # ---------------------------------------------------------------- initializers
    row("he_normal/int key", lambda: initializers.he_normal(0, (2, 3)), TypeError,
        r"he_normal: " + NOT_A_KEY),
    row("glorot_uniform/fan 0", lambda: initializers.glorot_uniform(KEY, (0, 0)), ValueError,
        r"glorot_uniform: shape \(0, 0\) has fan_in \+ fan_out = 0"),
    row("lecun_normal/fan_in 0", lambda: initializers.lecun_normal(KEY, (0, 3)), ValueError,
        r"lecun_normal: shape \(0, 3\) has fan_in = 0"),
    row("normal/stddev=0", lambda: initializers.normal(0.0), ValueError,
        r"normal: stddev must be finite and > 0, got 0\.0"),
    row("uniform/scale=-1", lambda: initializers.uniform(-1.0), ValueError,
        r"uniform: scale must be finite and > 0, got -1\.0"),
    row("uniform/int key", lambda: initializers.uniform()(0, (2,)), TypeError,
        r"uniform: " + NOT_A_KEY),
    # ---------------------------------------------------------------- losses
    row("sce_int/float labels", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, Y.astype(float)), TypeError,
        r"softmax_cross_entropy_with_integer_labels: labels must be integer class indices, "
        r"got dtype float64; for one-hot or soft targets use softmax_cross_entropy"),
    row("sce_int/bool labels", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, np.array([True, False, True, False])), TypeError,
        r"labels must be integer class indices, got dtype bool"),
    row("sce_int/list labels",
        lambda: fn.softmax_cross_entropy_with_integer_labels(LOGITS, [0, 1, 2, 0]), TypeError,
        r"softmax_cross_entropy_with_integer_labels: labels must be an array \(jax or "
        r"NumPy\), got list"),
    row("sce_int/label = classes", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, jnp.array([0, 1, 3, 0])), ValueError,
        r"labels must be in \[0, 3\), got a label 3"),
    row("sce_int/negative label", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, jnp.array([0, 1, -1, 0])), ValueError,
        r"labels must be in \[0, 3\), got a label -1"),
    row("sce_int/labels (N, 1)", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, Y[:, None]), ValueError,
        r"labels must have shape \(4,\) \(one integer per row of logits\), got \(4, 1\)"),
    row("sce_int/rank-1 logits",
        lambda: fn.softmax_cross_entropy_with_integer_labels(jnp.ones(3), Y), ValueError,
        r"logits must have at least 2 dimension\(s\) \(batch, classes\), got shape \(3,\)"),
    row("sce_int/length mismatch",
        lambda: fn.softmax_cross_entropy_with_integer_labels(LOGITS, Y[:3]), ValueError,
        r"logits and labels must have the same number of samples"),
    row("sce_int/mean of empty batch", lambda: fn.softmax_cross_entropy_with_integer_labels(
        jnp.ones((0, 3)), jnp.zeros(0, jnp.int32)), ValueError,
        r"softmax_cross_entropy_with_integer_labels: the mean over an empty batch "
        r"\(0 samples\) is undefined"),
    row("sce_int/unknown reduction", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, Y, reduction="avg"), ValueError,
        r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"),
    row("sce_int/ignore=1.5", lambda: fn.softmax_cross_entropy_with_integer_labels(
        LOGITS, Y, ignore=1.5), TypeError,
        r"softmax_cross_entropy_with_integer_labels: ignore must be an int label id \(or "
        r"None\), got float 1\.5"),
    row("sce_int/label outside [0, K) and not ignore",
        lambda: fn.softmax_cross_entropy_with_integer_labels(
            LOGITS, jnp.array([0, -1, 5, 0]), ignore=-1), ValueError,
        r"softmax_cross_entropy_with_integer_labels: labels must be in \[0, 3\) or the "
        r"ignore id -1, got a label 5"),
    row("sce_int/every step ignored", lambda: fn.softmax_cross_entropy_with_integer_labels(
        jnp.ones((2, 3, 3)), jnp.full((2, 3), -1), ignore=-1), ValueError,
        r"softmax_cross_entropy_with_integer_labels: every step of every sample is "
        r"labelled ignore=-1"),
    row("sequence_cross_entropy/ignore=True", lambda: fn.sequence_cross_entropy(ignore=True),
        TypeError, r"sequence_cross_entropy: ignore must be an int label id \(or None\), "
        r"got bool True"),
    row("sequence_cross_entropy/positional", lambda: fn.sequence_cross_entropy(-1),
        TypeError, r"sequence_cross_entropy\(\) takes 0 positional arguments"),
    row("sce/int targets", lambda: fn.softmax_cross_entropy(
        LOGITS, jnp.eye(3, dtype=jnp.int32)[Y]), TypeError,
        r"softmax_cross_entropy: targets must be a floating-point array, got dtype int32"),
    row("sce/integer labels given", lambda: fn.softmax_cross_entropy(LOGITS, Y), ValueError,
        r"targets must be one-hot/soft with the shape of logits \(4, 3\), got \(4,\); for "
        r"integer class labels use softmax_cross_entropy_with_integer_labels"),
    row("sce/targets outside [0, 1]",
        lambda: fn.softmax_cross_entropy(LOGITS, 2 * jnp.eye(3)[Y]), ValueError,
        r"softmax_cross_entropy: targets must be in \[0, 1\] \(probabilities\), got 2\.0"),
    row("mse/shape mismatch", lambda: fn.mse(LOGITS, jnp.ones((4, 2))), ValueError,
        r"mse: targets must have the shape of predictions \(4, 3\), got \(4, 2\)"),
    row("mse/scalars", lambda: fn.mse(jnp.float32(1), jnp.float32(1)), ValueError,
        r"mse: predictions must have at least 1 dimension\(s\)"),
    row("mse/unknown reduction", lambda: fn.mse(LOGITS, LOGITS, reduction="max"), ValueError,
        r"mse: reduction must be one of"),
    row("mse/mean of empty batch", lambda: fn.mse(jnp.ones((0, 2)), jnp.ones((0, 2))),
        ValueError, r"mse: the mean over an empty batch"),
    row("bce_logits/int labels", lambda: fn.binary_cross_entropy_with_logits(
        LOGITS, jnp.ones((4, 3), jnp.int32)), TypeError,
        r"binary_cross_entropy_with_logits: labels must be a floating-point array"),
    row("bce_logits/labels = 2", lambda: fn.binary_cross_entropy_with_logits(
        LOGITS, 2 * LOGITS), ValueError,
        r"binary_cross_entropy_with_logits: labels must be in \[0, 1\] \(probabilities\), "
        r"got 2\.0 at index \(0, 0\)"),
    row("bce_logits/labels = -1", lambda: fn.binary_cross_entropy_with_logits(
        LOGITS, -LOGITS), ValueError, r"labels must be in \[0, 1\] .* got -1\.0"),
    row("bce/probabilities = 2 (not clipped)", lambda: fn.binary_cross_entropy(
        2 * LOGITS, LOGITS), ValueError,
        r"binary_cross_entropy: probabilities must be in \[0, 1\] \(probabilities\), got 2\.0"),
    row("bce/labels = 3", lambda: fn.binary_cross_entropy(0.5 * LOGITS, 3 * LOGITS),
        ValueError, r"binary_cross_entropy: labels must be in \[0, 1\]"),
    row("bce/eps=0", lambda: fn.binary_cross_entropy(0.5 * LOGITS, LOGITS, eps=0.0), ValueError,
        r"binary_cross_entropy: eps must be in \(0, 0\.5\), got 0\.0"),
    row("losses.get/unknown", lambda: fn.losses.get("hinge"), ValueError,
        r"unknown loss 'hinge'; expected one of"),
    # ---------------------------------------------------------------- optimizers: hyperparameters
    *[row(f"{name}/learning_rate={lr!r}", lambda name=name, lr=lr: getattr(optim, name)(lr),
          error, rf"{name}: learning_rate must be {text}")
      for name in ("sgd", "momentum", "rmsprop", "adam", "adamw")
      for lr, error, text in ((0.0, ValueError, r"finite and > 0, got 0\.0"),
                              (-0.1, ValueError, r"finite and > 0, got -0\.1"),
                              (float("nan"), ValueError, r"finite and > 0, got nan"),
                              (float("inf"), ValueError, r"finite and > 0, got inf"),
                              ("0.1", TypeError, r"a real number, got str"),
                              (None, TypeError, r"a real number, got NoneType"))],
    row("sgd/learning_rate array", lambda: optim.sgd(jnp.array([0.1, 0.2])), TypeError,
        r"sgd: learning_rate must be a real number, got ArrayImpl"),
    row("momentum/beta=1", lambda: optim.momentum(0.1, beta=1.0), ValueError,
        r"momentum: beta must be in \[0, 1\), got 1\.0"),
    row("momentum/beta=-0.1", lambda: optim.momentum(0.1, beta=-0.1), ValueError,
        r"momentum: beta must be in \[0, 1\), got -0\.1"),
    row("momentum/nesterov=1", lambda: optim.momentum(0.1, nesterov=1), TypeError,
        r"momentum: nesterov must be a bool, got int"),
    row("momentum/dampening=1", lambda: optim.momentum(0.1, dampening=1.0), ValueError,
        r"momentum: dampening must be in \[0, 1\), got 1\.0"),
    row("rmsprop/decay=1", lambda: optim.rmsprop(0.1, decay=1.0), ValueError,
        r"rmsprop: decay must be in \[0, 1\), got 1\.0"),
    row("rmsprop/eps=0", lambda: optim.rmsprop(0.1, eps=0.0), ValueError,
        r"rmsprop: eps must be finite and > 0, got 0\.0"),
    row("adam/b1=1", lambda: optim.adam(0.1, b1=1.0), ValueError,
        r"adam: b1 must be in \[0, 1\), got 1\.0"),
    row("adam/b2=-1", lambda: optim.adam(0.1, b2=-1.0), ValueError,
        r"adam: b2 must be in \[0, 1\), got -1\.0"),
    row("adam/eps<0", lambda: optim.adam(0.1, eps=-1e-8), ValueError,
        r"adam: eps must be finite and > 0, got -1e-08"),
    row("adam/eps_root<0", lambda: optim.adam(0.1, eps_root=-1.0), ValueError,
        r"adam: eps_root must be finite and >= 0, got -1\.0"),
    row("adamw/weight_decay<0", lambda: optim.adamw(0.1, weight_decay=-1.0), ValueError,
        r"adamw: weight_decay must be finite and >= 0, got -1\.0"),
    row("adamw/weight_decay=inf", lambda: optim.adamw(0.1, weight_decay=float("inf")),
        ValueError, r"adamw: weight_decay must be finite and >= 0, got inf"),
    row("clip/max_abs=0", lambda: optim.clip(0.0), ValueError,
        r"clip: max_abs must be finite and > 0, got 0\.0"),
    row("clip_by_global_norm/max_norm<0", lambda: optim.clip_by_global_norm(-1.0), ValueError,
        r"clip_by_global_norm: max_norm must be finite and > 0, got -1\.0"),
    row("trace/decay=1", lambda: optim.trace(1.0), ValueError,
        r"trace: beta must be in \[0, 1\), got 1\.0"),
    row("scale_by_rms/eps=0", lambda: optim.scale_by_rms(eps=0), ValueError,
        r"scale_by_rms: eps must be finite and > 0, got 0"),
    row("scale_by_adam/b1=2", lambda: optim.scale_by_adam(b1=2.0), ValueError,
        r"scale_by_adam: b1 must be in \[0, 1\), got 2\.0"),
    row("add_decayed_weights/weight_decay<0", lambda: optim.add_decayed_weights(-1.0),
        ValueError, r"add_decayed_weights: weight_decay must be finite and >= 0"),
    row("scale_by_learning_rate/schedule gives a negative rate",
        lambda: optim.sgd(lambda count: -0.1).init(PARAMS), ValueError,
        r"scale_by_learning_rate: the learning_rate schedule gives -0\.1 at step 0; a "
        r"learning rate must be finite and >= 0"),
    row("scale_by_learning_rate/schedule gives nan",
        lambda: optim.adam(lambda count: jnp.nan).init(PARAMS), ValueError,
        r"the learning_rate schedule gives nan at step 0"),
    # ---------------------------------------------------------------- optimizers: mismatched trees
    *[row(f"{name}.update/grads {what}", lambda name=name, grads=grads: update(
        getattr(optim, name)(0.1), grads), ValueError, rf"{where}: grads{text}")
      for name, where in (("sgd", "scale_by_learning_rate"), ("momentum", "trace"),
                          ("rmsprop", "scale_by_rms"), ("adam", "scale_by_adam"),
                          ("adamw", "scale_by_adam"))
      for what, grads, text in (
          ("missing a leaf", {"w": jnp.ones((2, 3))},
           r" must have the tree structure of .*, got missing \['b'\]; unexpected nothing"),
          ("with an extra leaf", {**PARAMS, "c": jnp.ones(1)},
           r" must have the tree structure of .*, got missing nothing; unexpected \['c'\]"),
          ("transposed", {"w": jnp.ones((3, 2)), "b": jnp.zeros(3)},
           r"\['w'\] has shape \(3, 2\), but .* has shape \(2, 3\) there"))],
    *[row(f"{name}.update/opt_state of another optimizer", lambda name=name, other=other:
          update(getattr(optim, name)(0.1), PARAMS, state=other.init(PARAMS)), ValueError,
          rf"{name}: opt_state must be the state made by this optimizer's init\(params\), "
          rf"a tuple of {n} transform state\(s\), got a tuple of {m}")
      for name, n, other, m in (("sgd", 1, optim.adam(0.1), 2),
                                ("adam", 2, optim.sgd(0.1), 1),
                                ("adamw", 3, optim.adam(0.1), 2))],
    row("momentum.update/adam's opt_state (same length)",
        lambda: update(optim.momentum(0.1), PARAMS, state=optim.adam(0.1).init(PARAMS)),
        TypeError, r"trace: opt_state holds a ScaleByAdamState where this optimizer keeps "
                   r"its TraceState"),
    row("adam.update/opt_state is a bare NamedTuple",
        lambda: update(optim.adam(0.1), PARAMS, state=optim.scale_by_adam().init(PARAMS)),
        ValueError, r"adam: opt_state must be the state .* got a ScaleByAdamState"),
    row("sgd.update/int grads", lambda: update(
        optim.sgd(0.1), {"w": jnp.ones((2, 3), jnp.int32), "b": jnp.zeros(3, jnp.int32)}),
        TypeError, r"scale_by_learning_rate: grads\['b'\] has dtype int32; gradients must be "
                   r"floating-point"),
    row("adamw.update/no params",
        lambda: update(optim.adamw(0.1), PARAMS, params=None), ValueError,
        r"add_decayed_weights: params are needed to decay them"),
    row("adamw.update/mask of ints", lambda: update(
        optim.adamw(0.1, mask={"w": 1, "b": 0}), PARAMS), TypeError,
        r"add_decayed_weights: mask leaves must be Python bools"),
    row("adamw.update/mask tree mismatch",
        lambda: update(optim.adamw(0.1, mask={"w": True}), PARAMS), ValueError,
        r"add_decayed_weights: mask must be a pytree of bools with the structure of params "
        r"or a prefix of it"),
    row("add_decayed_weights.update/grads missing a leaf", lambda: update(
        optim.add_decayed_weights(0.1), {"w": PARAMS["w"]}), ValueError,
        r"add_decayed_weights: grads must have the tree structure of params, got missing "
        r"\['b'\]"),
    row("apply_updates/missing leaf", lambda: optim.apply_updates(PARAMS, {"w": PARAMS["w"]}),
        ValueError, r"apply_updates: updates must have the tree structure of params, got "
                    r"missing \['b'\]"),
    row("apply_updates/transposed", lambda: optim.apply_updates(
        PARAMS, {"w": jnp.ones((3, 2)), "b": jnp.zeros(3)}), ValueError,
        r"apply_updates: updates\['w'\] has shape \(3, 2\), but params has shape \(2, 3\)"),
    row("current_learning_rate/optax state",
        lambda: optim.current_learning_rate(optax.adam(0.1).init(PARAMS)), ValueError,
        r"current_learning_rate: expected exactly one learning rate in opt_state, found 0"),
    # ---------------------------------------------------------------- schedules
    row("constant_schedule/value=0", lambda: optim.constant_schedule(0.0), ValueError,
        r"constant_schedule: value must be finite and > 0, got 0\.0"),
    row("linear_schedule/transition_steps=0", lambda: optim.linear_schedule(0.1, 0.0, 0),
        ValueError, r"linear_schedule: transition_steps must be a positive integer, got 0"),
    row("linear_schedule/transition_steps=10.0", lambda: optim.linear_schedule(0.1, 0.0, 10.0),
        ValueError, r"linear_schedule: transition_steps must be a positive integer, got 10\.0"),
    row("linear_schedule/init_value<0", lambda: optim.linear_schedule(-0.1, 0.0, 10),
        ValueError, r"linear_schedule: init_value must be finite and >= 0, got -0\.1"),
    row("linear_schedule/end_value=nan", lambda: optim.linear_schedule(0.1, float("nan"), 10),
        ValueError, r"linear_schedule: end_value must be finite and >= 0, got nan"),
    row("step_decay_schedule/factor=0", lambda: optim.step_decay_schedule(0.1, 10, 0.0),
        ValueError, r"step_decay_schedule: factor must be finite and > 0, got 0\.0"),
    row("step_decay_schedule/decay_every=0", lambda: optim.step_decay_schedule(0.1, 0),
        ValueError, r"step_decay_schedule: decay_every must be a positive integer, got 0"),
    row("exponential_decay/decay_rate=0", lambda: optim.exponential_decay(0.1, 10, 0.0),
        ValueError, r"exponential_decay: decay_rate must be in \(0, 1\], got 0\.0"),
    row("exponential_decay/decay_rate=1.5", lambda: optim.exponential_decay(0.1, 10, 1.5),
        ValueError, r"exponential_decay: decay_rate must be in \(0, 1\], got 1\.5"),
    row("exponential_decay/transition_steps=-1",
        lambda: optim.exponential_decay(0.1, -1, 0.5), ValueError,
        r"exponential_decay: transition_steps must be a positive integer, got -1"),
    row("cosine_decay_schedule/alpha=2", lambda: optim.cosine_decay_schedule(0.1, 10, alpha=2.0),
        ValueError, r"cosine_decay_schedule: alpha must be in \[0, 1\], got 2\.0"),
    row("cosine_decay_schedule/decay_steps=0", lambda: optim.cosine_decay_schedule(0.1, 0),
        ValueError, r"cosine_decay_schedule: decay_steps must be a positive integer, got 0"),
    row("join_schedules/boundary count", lambda: optim.join_schedules(
        [optim.constant_schedule(0.1)], [5]), ValueError,
        r"join_schedules: boundaries must have one entry fewer than schedules, got 1 "
        r"schedules and 1 boundaries"),
    row("join_schedules/boundaries not increasing", lambda: optim.join_schedules(
        [optim.constant_schedule(0.1)] * 3, [5, 5]), ValueError,
        r"join_schedules: boundaries must be strictly increasing, got \[5, 5\]"),
    row("join_schedules/boundary 0", lambda: optim.join_schedules(
        [optim.constant_schedule(0.1)] * 2, [0]), ValueError,
        r"join_schedules: boundaries must be a positive integer, got 0"),
    row("join_schedules/a float among schedules", lambda: optim.join_schedules([0.1, 0.2], [5]),
        TypeError, r"join_schedules: schedules\[0\] must be callable, got float"),
    row("join_schedules/empty", lambda: optim.join_schedules([], []), ValueError,
        r"join_schedules: boundaries must have one entry fewer than schedules, got 0"),
    row("warmup_cosine/decay_steps <= warmup_steps",
        lambda: optim.warmup_cosine_decay_schedule(0.0, 1.0, 10, 10), ValueError,
        r"warmup_cosine_decay_schedule: decay_steps counts the warm-up too, so it must be > "
        r"warmup_steps \(10\), got 10"),
    row("warmup_cosine/end_value > peak", lambda: optim.warmup_cosine_decay_schedule(
        0.0, 1.0, 10, 20, end_value=2.0), ValueError,
        r"warmup_cosine_decay_schedule: end_value must be <= peak_value \(1\.0\), got 2\.0"),
    row("warmup_cosine/peak_value=0",
        lambda: optim.warmup_cosine_decay_schedule(0.0, 0.0, 10, 20), ValueError,
        r"warmup_cosine_decay_schedule: peak_value must be finite and > 0, got 0\.0"),
    *[row(f"{name}/negative count (not clamped)", lambda make=make: make()(-5), ValueError,
          rf"{name}: the step count must be >= 0 \(steps count from 0\), got -5")
      for name, make in (
          ("constant_schedule", lambda: optim.constant_schedule(0.1)),
          ("linear_schedule", lambda: optim.linear_schedule(1.0, 0.0, 10)),
          ("step_decay_schedule", lambda: optim.step_decay_schedule(1.0, 2)),
          ("exponential_decay", lambda: optim.exponential_decay(1.0, 1, 0.5)),
          ("cosine_decay_schedule", lambda: optim.cosine_decay_schedule(1.0, 10)),
          ("join_schedules", lambda: optim.warmup_cosine_decay_schedule(0.0, 1.0, 2, 4)))],
    row("linear_schedule/negative entry in a count array",
        lambda: optim.linear_schedule(1.0, 0.0, 10)(jnp.array([3, -1, 2])), ValueError,
        r"linear_schedule: the step count must be >= 0 .* got -1"),
    # ---------------------------------------------------------------- data: generators
    row("xor/repeats=0", lambda: data.xor(0), ValueError,
        r"xor: repeats must be a positive integer, got 0"),
    row("xor/noise<0", lambda: data.xor(1, -1.0), ValueError,
        r"xor: noise must be finite and >= 0, got -1\.0"),
    row("xor/noise=nan", lambda: data.xor(1, float("nan")), ValueError,
        r"xor: noise must be finite and >= 0, got nan"),
    row("xor/seed<0", lambda: data.xor(1, 0.1, seed=-1), ValueError,
        r"xor: seed must be >= 0, got -1"),
    row("xor/jax key as seed", lambda: data.xor(1, 0.1, seed=KEY), TypeError,
        r"xor: seed must be a non-negative int or a np\.random\.Generator, got "
        r"PRNGKeyArray; to derive one from a jax key use"),
    row("xor/float seed", lambda: data.xor(1, 0.1, seed=1.5), TypeError,
        r"xor: seed must be a non-negative int or a np\.random\.Generator, got float"),
    row("spirals/classes=0", lambda: data.spirals(0), ValueError,
        r"spirals: classes must be a positive integer, got 0"),
    row("spirals/points<0", lambda: data.spirals(2, -1), ValueError,
        r"spirals: points must be a positive integer, got -1"),
    row("moons/samples=0", lambda: data.moons(0), ValueError,
        r"moons: samples must be a positive integer, got 0"),
    row("blobs/std<0", lambda: data.blobs(std=-1.0), ValueError,
        r"blobs: std must be finite and >= 0, got -1\.0"),
    row("blobs/center_box=inf", lambda: data.blobs(center_box=float("inf")), ValueError,
        r"blobs: center_box must be finite and >= 0, got inf"),
    row("make_classification/redundant<0", lambda: data.make_classification(redundant=-1),
        ValueError, r"make_classification: redundant must be an integer >= 0, got -1"),
    row("make_classification/flip_y=2", lambda: data.make_classification(flip_y=2.0),
        ValueError, r"make_classification: flip_y must be in \[0, 1\], got 2\.0"),
    row("make_classification/too many columns", lambda: data.make_classification(
        features=3, informative=2, redundant=2), ValueError,
        r"informative \+ redundant must be <= features, got 2 \+ 2 > 3"),
    row("make_classification/too many clusters", lambda: data.make_classification(
        informative=1, classes=3), ValueError,
        r"classes \* clusters_per_class must be <= 2 \*\* informative"),
    # ---------------------------------------------------------------- data: preprocessing
    row("fit_standardizer/nan", lambda: data.fit_standardizer(np.array([[1.0, np.nan]])),
        ValueError, r"fit_standardizer: x_train must be finite, got nan at index \(0, 1\)"),
    row("fit_standardizer/inf", lambda: data.fit_standardizer(np.array([[1.0], [np.inf]])),
        ValueError, r"fit_standardizer: x_train must be finite, got inf at index \(1, 0\)"),
    row("fit_standardizer/empty", lambda: data.fit_standardizer(np.zeros((0, 2))), ValueError,
        r"fit_standardizer: x_train must have at least one sample, got shape \(0, 2\)"),
    row("fit_standardizer/rank 1", lambda: data.fit_standardizer(np.zeros(3)), ValueError,
        r"fit_standardizer: x_train must have shape \(N, features\), got shape \(3,\)"),
    row("fit_standardizer/rank 3", lambda: data.fit_standardizer(np.zeros((2, 2, 2))),
        ValueError, r"x_train must have shape \(N, features\), got shape \(2, 2, 2\)"),
    row("fit_standardizer/strings", lambda: data.fit_standardizer(np.array([["a"]])), TypeError,
        r"fit_standardizer: x_train must be numeric, got dtype <U1"),
    row("apply_standardizer/wrong width", lambda: data.apply_standardizer(
        data.fit_standardizer(X), np.zeros((2, 3))), ValueError,
        r"apply_standardizer: x has 3 features but the statistics were fitted on 2"),
    row("apply_standardizer/nan", lambda: data.apply_standardizer(
        data.fit_standardizer(X), np.array([[np.nan, 1.0]])), ValueError,
        r"apply_standardizer: x must be finite, got nan at index \(0, 0\)"),
    row("apply_standardizer/stats as a tuple", lambda: data.apply_standardizer(
        tuple(data.fit_standardizer(X)), X), TypeError,
        r"apply_standardizer: stats must be the StandardizerStats from fit_standardizer, "
        r"got tuple"),
    row("standardize/test width", lambda: data.standardize(X, np.zeros((1, 3))), ValueError,
        r"apply_standardizer: x has 3 features but the statistics were fitted on 2"),
    row("standardize/inf in test", lambda: data.standardize(X, np.array([[0.0, -np.inf]])),
        ValueError, r"apply_standardizer: x must be finite, got -inf at index \(0, 1\)"),
    row("one_hot/float labels", lambda: data.one_hot(np.array([0.0, 1.0]), 2), TypeError,
        r"one_hot: labels must be integer class indices, got dtype float64"),
    row("one_hot/label = classes", lambda: data.one_hot(np.array([0, 2]), 2), ValueError,
        r"one_hot: labels must be in \[0, 2\), got 2 at index 1"),
    row("one_hot/negative label", lambda: data.one_hot(np.array([0, -1]), 2), ValueError,
        r"one_hot: labels must be in \[0, 2\), got -1 at index 1"),
    row("one_hot/num_classes=0", lambda: data.one_hot(np.array([0]), 0), ValueError,
        r"one_hot: num_classes must be a positive integer, got 0"),
    row("train_test_split/test_fraction=0", lambda: data.train_test_split(0, X, Y, 0.0),
        ValueError, r"test_fraction=0\.0 of 4 samples leaves 4 for training and 0 for testing"),
    row("train_test_split/test_fraction=1", lambda: data.train_test_split(0, X, Y, 1.0),
        ValueError, r"train_test_split: test_fraction must be in \[0, 1\), got 1\.0"),
    row("train_test_split/length mismatch", lambda: data.train_test_split(0, X, Y[:3]),
        ValueError, r"train_test_split: all arrays must have the same number of samples"),
    row("train_test_split/jax key as seed", lambda: data.train_test_split(KEY, X, Y),
        TypeError, r"train_test_split: seed must be a non-negative int"),
    row("train_test_split/empty", lambda: data.train_test_split(
        0, np.zeros((0, 2)), np.zeros(0)), ValueError,
        r"test_fraction=0\.2 of 0 samples leaves 0 for training and 0 for testing"),
    row("batches/batch_size=0", lambda: data.batches(0, (X, Y), 0), ValueError,
        r"batches: batch_size must be a positive integer, got 0"),
    row("batches/batch_size > N with drop_last", lambda: data.batches(
        0, (X, Y), 10, drop_last=True), ValueError,
        r"batches: drop_last=True with batch_size 10 > 4 samples would yield no batch"),
    row("batches/empty arrays", lambda: data.batches(0, (np.zeros((0, 2)), np.zeros(0)), 2),
        ValueError, r"batches: arrays are empty \(0 samples\)"),
    row("batches/length mismatch", lambda: data.batches(0, (X, Y[:3]), 2), ValueError,
        r"batches: all arrays must have the same number of samples"),
    row("batches/shuffle without seed", lambda: data.batches(None, (X, Y), 2), TypeError,
        r"batches: seed must be a non-negative int or a np\.random\.Generator, got NoneType"),
    row("batches/jax key as seed", lambda: data.batches(KEY, (X, Y), 2), TypeError,
        r"batches: seed must be a non-negative int"),
    row("images_to_float32/float images", lambda: data.images_to_float32(
        np.zeros((2, 28, 28), np.float32)), ValueError,
        r"images_to_float32: images must be uint8 of shape \(N, H, W\), got float32"),
    row("images_to_float32/rank 2", lambda: data.images_to_float32(
        np.zeros((28, 28), np.uint8)), ValueError,
        r"images must be uint8 of shape \(N, H, W\), got uint8 of shape \(28, 28\)"),
    row("images_to_float32/layout", lambda: data.images_to_float32(
        np.zeros((2, 28, 28), np.uint8), "nchw"), ValueError,
        r"images_to_float32: layout must be 'flat' or 'nhwc', got 'nchw'"),
    # ---------------------------------------------------------------- data: words
    row("char_vocab/end token in words", lambda: data.char_vocab(["a.b"]), ValueError,
        r"char_vocab: the end token '\.' appears in the words; it is reserved for id 0"),
    row("char_vocab/a str", lambda: data.char_vocab("emma"), TypeError,
        r"char_vocab: words must be a list of str, got str"),
    row("CharVocab/no end token", lambda: data.CharVocab(("a", "b")), ValueError,
        r"CharVocab: chars must be distinct single characters starting with the end token"),
    row("CharVocab.encode/unknown char", lambda: data.char_vocab(["ab"]).encode("abc"),
        ValueError, r"CharVocab\.encode: 'c' in 'abc' is not in the vocabulary '\.ab'"),
    row("CharVocab.decode/id out of range",
        lambda: data.char_vocab(["ab"]).decode(np.array([0, 3])), ValueError,
        r"CharVocab\.decode: ids must be in \[0, 3\), got 3"),
    row("CharVocab.decode/float ids",
        lambda: data.char_vocab(["ab"]).decode(np.array([0.0])), TypeError,
        r"CharVocab\.decode: ids must be a 1-D integer array, got float64"),
    row("word_splits/fractions", lambda: data.word_splits(["a", "b"], fractions=(0.5, 0.6, 0)),
        ValueError, r"word_splits: fractions must be three numbers in \[0, 1\] summing to 1"),
    row("word_splits/jax key as seed", lambda: data.word_splits(["a"], seed=KEY), TypeError,
        r"word_splits: seed must be a non-negative int or a np\.random\.Generator"),
    row("context_windows/block_size=0",
        lambda: data.context_windows(["ab"], data.char_vocab(["ab"]), 0), ValueError,
        r"context_windows: block_size must be a positive integer, got 0"),
    row("context_windows/no vocab", lambda: data.context_windows(["ab"], {"a": 1}, 3),
        TypeError, r"context_windows: vocab must be a CharVocab \(from char_vocab\(words\)\), "
        r"got dict"),
    row("padded_sequences/ignore is an id",
        lambda: data.padded_sequences(["ab"], data.char_vocab(["ab"]), ignore=0), ValueError,
        r"padded_sequences: ignore must not be a vocabulary id \(0\.\.2\), got 0"),
    row("padded_sequences/length too short",
        lambda: data.padded_sequences(["abab"], data.char_vocab(["ab"]), length=4), ValueError,
        r"padded_sequences: length must be an int of at least 5 \(the longest word \+ 1"),
    row("mnist/layout", lambda: data.mnist(layout="nchw"), ValueError,
        r"mnist: layout must be one of \('raw', 'flat', 'nhwc'\), got 'nchw'"),
    row("parse_idx/str", lambda: data.parse_idx("abc"), TypeError,
        r"parse_idx: IDX data must be bytes, got str"),
    row("parse_idx/ndarray", lambda: data.parse_idx(np.zeros(8, np.uint8)), TypeError,
        r"parse_idx: IDX data must be bytes, got ndarray"),
    row("parse_idx/huge declared shape", lambda: data.parse_idx(
        bytes([0, 0, 8, 3] + [255] * 12)), ValueError,
        r"parse_idx: IDX data is truncated: shape \(4294967295, 4294967295, 4294967295\)"),
    row("parse_idx/wrong magic", lambda: data.parse_idx(
        bytes([0, 0, 8, 1, 0, 0, 0, 1, 7]), expected_magic=2051), ValueError,
        r"parse_idx: IDX data has magic number 2049 \(0x00000801\), expected 2051"),
    # ---------------------------------------------------------------- fit
    row("fit/int key (fit(key=0))", lambda: fit(key=0), TypeError, r"fit: " + NOT_A_KEY),
    row("fit/key=None", lambda: fit(key=None), TypeError,
        r"fit: key must be a jax\.random key, got NoneType None"),
    row("fit/float labels", lambda: fit(train_data=(X, Y.astype(np.float64))), TypeError,
        r"fit: train_data y must be integer class indices, got dtype float64"),
    row("fit/label out of range", lambda: fit(train_data=(X, Y + 1)), ValueError,
        r"fit: train_data y must be in \[0, 3\), got a label 3"),
    row("fit/int x", lambda: fit(train_data=(X.astype(np.int32), Y)), TypeError,
        r"fit: train_data x has dtype int32, but the model's first layer takes "
        r"floating-point input; scale it to floats first"),
    row("fit/wrong width", lambda: fit(train_data=(np.ones((4, 5)), Y)), ValueError,
        r"Dense\(3\): x must have last dimension 2"),
    row("fit/scalar x", lambda: fit(train_data=(np.float64(1.0), Y)), ValueError,
        r"fit: train_data x must have at least 1 dimension\(s\)"),
    row("fit/length mismatch", lambda: fit(train_data=(X, Y[:3])), ValueError,
        r"fit: train_data x and train_data y must have the same number of samples"),
    row("fit/empty train_data", lambda: fit(train_data=(X[:0], Y[:0])), ValueError,
        r"fit: train_data is empty \(0 samples\)"),
    row("fit/nan in x", lambda: fit(train_data=(np.array([[0.0, 1], [np.nan, 0], [1, 1],
                                                          [0, 0]]), Y)), ValueError,
        r"fit: train_data x holds non-finite values \(NaN or inf\) in 1 row\(s\), first at "
        r"row 1"),
    row("fit/inf in mse targets", lambda: fit(
        train_data=(X, np.where(np.arange(12).reshape(4, 3) == 7, np.inf, 0.0)), loss="mse"),
        ValueError, r"fit: train_data y holds non-finite values .* first at row 2"),
    row("fit/nan in eval_data", lambda: fit(eval_data=(np.full((2, 2), np.nan), Y[:2])),
        ValueError, r"fit: eval_data x holds non-finite values"),
    row("fit/train_data not a pair", lambda: fit(train_data=X), TypeError,
        r"fit: train_data must be a tuple \(x, y\), got ndarray"),
    row("fit/train_data triple", lambda: fit(train_data=(X, Y, Y)), TypeError,
        r"fit: train_data must be a tuple \(x, y\), got tuple"),
    row("fit/batch_size=0", lambda: fit(batch_size=0), ValueError,
        r"fit: batch_size must be a positive integer, got 0"),
    row("fit/batch_size > N", lambda: fit(batch_size=5), ValueError,
        r"fit: batch_size must be at most the number of training samples \(4\), got 5"),
    row("fit/batch_size=2.0", lambda: fit(batch_size=2.0), ValueError,
        r"fit: batch_size must be a positive integer, got 2\.0"),
    row("fit/epochs<0", lambda: fit(epochs=-1), ValueError,
        r"fit: epochs must be an integer >= 0, got -1"),
    row("fit/epochs=1.5", lambda: fit(epochs=1.5), ValueError,
        r"fit: epochs must be an integer >= 0, got 1\.5"),
    row("fit/mode", lambda: fit(mode="fast"), ValueError,
        r"fit: mode must be 'auto', 'scan' or 'loop', got 'fast'"),
    row("fit/unknown loss", lambda: fit(loss="hinge"), ValueError,
        r"unknown loss 'hinge'; expected one of"),
    row("fit/eval_data width", lambda: fit(eval_data=(np.ones((2, 5)), Y[:2])), ValueError,
        r"fit: eval_data x must have per-sample shape \(2,\) like train_data x, got \(5,\)"),
    row("fit/empty eval_data", lambda: fit(eval_data=(X[:0], Y[:0])), ValueError,
        r"fit: eval_data is empty \(0 samples\)"),
    row("fit/early_stopping metric", lambda: fit(early_stopping=fn.EarlyStopping("val_loss")),
        ValueError, r"fit: early_stopping\.metric must be one of .* got 'val_loss'"),
    row("fit/checkpoint_every=0", lambda: fit(checkpoint_dir="unused", checkpoint_every=0),
        ValueError, r"fit: checkpoint_every must be a positive integer, got 0"),
    row("fit/keep=0", lambda: fit(checkpoint_dir="unused", keep=0), ValueError,
        r"fit: keep must be a positive integer, got 0"),
    row("fit/mesh not a Mesh", lambda: fit(mesh="cpu"), TypeError,
        r"fit: mesh must be a jax\.sharding\.Mesh, got str"),
    row("fit/params of another model", lambda: fit(params={"dense_0": {"w": jnp.ones((2, 3))}}),
        ValueError, r"Dense\(3\): params must be the dict with keys \['b', 'w'\] made by this "
                    r"layer's init, got keys \['w'\]"),
    row("fit/opt_state of another optimizer", lambda: fit(
        optimizer=optim.adam(0.1), opt_state=optim.sgd(0.1).init(mlp()[1])), ValueError,
        r"adam: opt_state must be the state made by this optimizer's init\(params\)"),
    row("fit/eval_batch_size=0", lambda: fit(eval_batch_size=0, eval_data=(X, Y)), ValueError,
        r"fit: eval_batch_size must be a positive integer, got 0"),
    row("fit/optimizer is a float", lambda: fit(optimizer=0.1), TypeError,
        r"fit: optimizer must be an optax\.GradientTransformation"),
    row("fit/model is a function", lambda: fit(model=lambda x: x), TypeError,
        r"fit: model must be a funcnet Layer"),
    row("fit/accuracy='top5'", lambda: fit(accuracy="top5"), TypeError,
        r"fit: accuracy must be 'auto', None or a function"),
    row("fit/callback=3", lambda: fit(callback=3), TypeError,
        r"fit: callback must be callable"),
    *[row(f"fit/EarlyStopping(patience={p})", lambda p=p: fit(
        early_stopping=fn.EarlyStopping("train_loss", patience=p)), ValueError,
        rf"fit: early_stopping\.patience must be a positive integer, got {p}")
      for p in (0, -1)],
    row("fit/EarlyStopping(mode='up')", lambda: fit(
        early_stopping=fn.EarlyStopping("train_loss", mode="up")), ValueError,
        r"fit: early_stopping\.mode must be 'min', 'max' or 'auto', got 'up'"),
    row("fit/EarlyStopping(min_delta=-1)", lambda: fit(
        early_stopping=fn.EarlyStopping("train_loss", min_delta=-1.0)), ValueError,
        r"fit: early_stopping\.min_delta must be finite and >= 0, got -1\.0"),
    # -------------------------------------------------------- evaluate / predict / make_step
    row("predict/batch_size=0", lambda: fn.predict(*mlp(), X, batch_size=0), ValueError,
        r"predict: batch_size must be a positive integer, got 0"),
    row("predict/empty x", lambda: fn.predict(*mlp(), X[:0]), ValueError,
        r"predict: x is empty \(0 rows\)"),
    row("predict/scalar x", lambda: fn.predict(*mlp(), 1.0), ValueError,
        r"predict: x must have at least 1 dimension\(s\)"),
    row("predict/int x", lambda: fn.predict(*mlp(), X.astype(np.int32)), TypeError,
        r"predict: x has dtype int32, but the model's first layer takes floating-point"),
    row("predict/wrong width", lambda: fn.predict(*mlp(), np.ones((4, 5))), ValueError,
        r"Dense\(3\): x must have last dimension 2"),
    row("evaluate/batch_size=0", lambda: fn.evaluate(*mlp(), (X, Y), batch_size=0),
        ValueError, r"evaluate: batch_size must be a positive integer, got 0"),
    row("evaluate/empty data", lambda: fn.evaluate(*mlp(), (X[:0], Y[:0])), ValueError,
        r"evaluate: data is empty \(0 rows\)"),
    row("evaluate/float labels", lambda: fn.evaluate(*mlp(), (X, Y.astype(np.float64))),
        TypeError, r"evaluate: y must be integer class indices, got dtype float64"),
    row("evaluate/length mismatch", lambda: fn.evaluate(*mlp(), (X, Y[:3])), ValueError,
        r"evaluate: x and y must have the same number of samples"),
    row("evaluate/data not a pair", lambda: fn.evaluate(*mlp(), X), TypeError,
        r"evaluate: data must be a tuple \(x, y\), got ndarray"),
    row("evaluate/label out of range", lambda: fn.evaluate(*mlp(), (X, Y + 5)), ValueError,
        r"evaluate: y must be in \[0, 3\), got a label 7"),
    row("make_step/unknown loss", lambda: fn.make_step(mlp()[0], "hinge", optim.sgd(0.1)),
        ValueError, r"unknown loss 'hinge'"),
    row("make_step/batch of 4", lambda: fn.make_step(
        mlp()[0], "mse", optim.sgd(0.1), donate=False)(
            mlp()[1], mlp()[2], optim.sgd(0.1).init(mlp()[1]), (X, Y, Y, Y), KEY), TypeError,
        r"step: batch must be a tuple \(x, y\) or \(x, y, mask\), got tuple of length 4"),
    row("make_step/int key", lambda: fn.make_step(
        mlp()[0], "softmax_cross_entropy_with_integer_labels", optim.sgd(0.1), donate=False)(
            mlp()[1], mlp()[2], optim.sgd(0.1).init(mlp()[1]), (X, Y), 0), TypeError,
        # checked inside the compiled step (free at run time), where the int is traced
        r"step: key must be a jax\.random key, got an array of dtype int64 and shape \(\)"),
    # ---------------------------------------------------------------- checkpoint
    row("checkpoint.save/metadata list", lambda: checkpoint.save("unused.npz", PARAMS, [1]),
        TypeError, r"checkpoint\.save: metadata must be a dict or None, got list"),
    row("checkpoint.save/metadata object", lambda: checkpoint.save(
        "unused.npz", PARAMS, {"f": object()}), TypeError,
        r"checkpoint\.save: metadata\['f'\] is a object, which JSON cannot hold"),
    row("checkpoint.save/metadata int key", lambda: checkpoint.save(
        "unused.npz", PARAMS, {1: 2}), TypeError,
        r"checkpoint\.save: metadata keys must be str \(JSON\), got int key 1"),
    row("checkpoint.save/str leaf", lambda: checkpoint.save("unused.npz", {"a": "x"}), TypeError,
        r"checkpoint\.save: leaf \['a'\] is a str; only arrays and numbers can be saved"),
    row("checkpoint.save/object array", lambda: checkpoint.save(
        "unused.npz", {"a": np.array([object()])}), TypeError,
        r"checkpoint\.save: leaf \['a'\] has dtype object"),
    row("checkpoint.save/path is an int", lambda: checkpoint.save(3, PARAMS), TypeError,
        r"checkpoint\.save: path must be a file path \(str or os\.PathLike\), got int 3"),
    row("checkpoint.load/path is None", lambda: checkpoint.load(None), TypeError,
        r"checkpoint\.load: path must be a file path .* got NoneType None"),
    row("checkpoint.save_step/step<0", lambda: checkpoint.save_step("unused", -1, PARAMS),
        ValueError, r"checkpoint\.save_step: step must be a non-negative int, got -1"),
    row("checkpoint.save_step/keep=0", lambda: checkpoint.save_step("unused", 1, PARAMS,
                                                                     keep=0),
        ValueError, r"checkpoint\.save_step: keep must be a positive int or None, got 0"),
    # ---------------------------------------------------------------- summary
    row("summary/model not a Layer", lambda: fn.summary([fn.Dense(2)], (3,)), TypeError,
        r"summary: model must be a funcnet Layer \(a Sequential, a Dense, \.\.\.\), got list"),
    row("summary/input_shape an int", lambda: fn.summary(fn.Dense(2), 784), TypeError,
        r"summary: input_shape must be a tuple of positive ints .* got the int 784; "
        r"write \(784,\)"),
    row("summary/input_shape a string", lambda: fn.summary(fn.Dense(2), "784"), TypeError,
        r"summary: input_shape must be a tuple of positive ints .* got str"),
    row("summary/input_shape negative", lambda: fn.summary(fn.Dense(2), (28, -1)), ValueError,
        r"summary: input_shape must be a tuple of positive ints .* got \(28, -1\)"),
]

# Rows that need the module's checkpoint file: (id, call(path, damaged), error, regex).
BAD_CHECKPOINT = [
    ("like missing a key", lambda p, d: checkpoint.load(p, like={"w": CKPT_LIKE["w"]}),
     checkpoint.CheckpointError,
     r"does not match like: the dict at the root has keys \['b', 'w'\] in the checkpoint "
     r"but \['w'\] in like \(missing from the checkpoint: \[\], not in like: \['b'\]\)"),
    ("like with an extra key", lambda p, d: checkpoint.load(
        p, like={**CKPT_LIKE, "c": CKPT_LIKE["b"]}), checkpoint.CheckpointError,
     r"missing from the checkpoint: \['c'\]"),
    ("like transposed", lambda p, d: checkpoint.load(
        p, like={**CKPT_LIKE, "w": jnp.ones((3, 2), jnp.float32)}), checkpoint.CheckpointError,
     r"does not match like at \['w'\]: the checkpoint has float32\(2, 3\), like has "
     r"float32\(3, 2\)"),
    ("like float64", lambda p, d: checkpoint.load(
        p, like={**CKPT_LIKE, "w": jnp.ones((2, 3), jnp.float64)}), checkpoint.CheckpointError,
     r"does not match like at \['w'\]: the checkpoint has float32\(2, 3\), like has "
     r"float64\(2, 3\)"),
    ("like a list", lambda p, d: checkpoint.load(p, like=[CKPT_LIKE["w"], CKPT_LIKE["b"]]),
     checkpoint.CheckpointError,
     r"does not match like: at the root the checkpoint has a dict but like has a list"),
    ("like with a str leaf", lambda p, d: checkpoint.load(p, like={**CKPT_LIKE, "w": "a"}),
     TypeError, r"^checkpoint\.load: like has a str leaf at \['w'\]; like must hold arrays"),
    ("missing file", lambda p, d: checkpoint.load(p + ".missing"), FileNotFoundError,
     r"No such file or directory"),
    ("truncated file", lambda p, d: checkpoint.load(d("cut.npz", lambda raw: raw[:-10])),
     checkpoint.CheckpointError, r"not a funcnet checkpoint or truncated"),
    ("empty file", lambda p, d: checkpoint.load(d("empty.npz", lambda raw: b"")),
     checkpoint.CheckpointError, r"not a funcnet checkpoint or truncated: .* \(0 bytes\)"),
    ("flipped byte", lambda p, d: checkpoint.load(d("flip.npz", lambda raw: bytes(
        raw[:100]) + bytes([raw[100] ^ 1]) + bytes(raw[101:]))), checkpoint.CheckpointError,
     r"checksum mismatch: the file is corrupted or truncated"),
    ("restore_latest like mismatch", lambda p, d: checkpoint.restore_latest(
        os.path.dirname(d("ckpt_000001.npz", bytes)), like={"w": CKPT_LIKE["w"]}),
     checkpoint.CheckpointError, r"does not match like"),
]


@pytest.mark.parametrize("call, error, match", BAD)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match",
                         [pytest.param(c, e, m, id=f"checkpoint/{i}")
                          for i, c, e, m in BAD_CHECKPOINT])
def test_bad_checkpoint_input_gets_a_clear_error(ckpt, call, error, match):
    path, damaged = ckpt
    with pytest.raises(error, match=match):
        call(path, damaged)


# ------------------------------------------------------------- documented, correct results


def _two_dropouts_differ():
    # One key for the model; Sequential splits it, so the two layers' masks differ.
    model = fn.Sequential([fn.Dropout(0.5), fn.Dropout(0.5)])
    x = jnp.ones((64, 16))
    empty = {"dropout_0": {}, "dropout_1": {}}
    y, _ = model.apply(empty, empty, x, train=True, key=KEY)
    masks = fn.dropout_masks(model, KEY)
    first, second = masks["dropout_0"](x.shape), masks["dropout_1"](x.shape)
    assert not np.array_equal(first, second), "the two layers drew the same mask"
    np.testing.assert_array_equal(y, np.where(first & second, 4.0, 0.0))
    return True


def _same_key_same_mask():
    layer = fn.Dropout(0.3)
    a, _ = layer.apply({}, {}, jnp.ones((8, 8)), train=True, key=KEY)
    b, _ = layer.apply({}, {}, jnp.ones((8, 8)), train=True, key=KEY)
    np.testing.assert_array_equal(a, b)  # reusing a key reuses its mask, by design
    return True


def _guarded_step_with_bad_labels():
    # Under jit labels are traced and cannot be range-checked; the guard skips the step.
    model, params, state = mlp()
    opt = optim.sgd(0.1)
    step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", opt, donate=False)
    new_params, _, _, metrics = step(params, state, opt.init(params), (X, Y + 5), KEY)
    assert not bool(metrics["finite"])
    jax.tree.map(np.testing.assert_array_equal, new_params, params)
    return True


def _jitted_embedding(ids):
    # the cached layer and params are made outside jit: a first call to the fixture
    # inside the trace would cache tracers
    layer, params, state = embedding()
    return jax.jit(lambda p, x: layer.apply(p, state, x)[0])(params, ids)


DOCUMENTED = [
    ("Dense/empty batch gives an empty output",
     lambda: apply(dense, jnp.ones((0, 2)))[0].shape, (0, 3)),
    ("Dense.init/raw uint32 PRNGKey is a key",
     lambda: jax.tree.map(jnp.shape, fn.Dense(3).init(jax.random.PRNGKey(0), (2,))[0]),
     {"w": (2, 3), "b": (3,)}),
    ("Flatten/int x is reshaped, not converted",
     lambda: fn.Flatten().apply({}, {}, jnp.ones((2, 3, 2), jnp.int32))[0].dtype,
     jnp.dtype(jnp.int32)),
    ("Dropout/rate 0 in training needs no key",
     lambda: fn.Dropout(0.0).apply({}, {}, jnp.arange(4.0)[None], train=True)[0].tolist(),
     [[0.0, 1.0, 2.0, 3.0]]),
    ("Dropout/evaluation needs no key",
     lambda: fn.Dropout(0.5).apply({}, {}, jnp.arange(4.0)[None])[0].tolist(),
     [[0.0, 1.0, 2.0, 3.0]]),
    ("Sequential/two Dropouts get different masks from one key", _two_dropouts_differ, True),
    ("Dropout/the same key gives the same mask", _same_key_same_mask, True),
    ("MultiHeadAttention/a query that sees no key outputs b_o (no NaN)",
     lambda: bool(jnp.all(apply(attention, jnp.ones((1, 3, 4)),
                                mask=jnp.zeros((1, 3), bool))[0] == attention()[1]["b_o"])),
     True),
    ("BatchNorm/evaluation accepts a batch of one",
     lambda: apply(batchnorm, jnp.ones((1, 3)))[0].shape, (1, 3)),
    ("sce_int/empty batch with reduction='none'",
     lambda: fn.softmax_cross_entropy_with_integer_labels(
         jnp.ones((0, 3)), jnp.zeros(0, jnp.int32), reduction="none").shape, (0,)),
    ("mse/empty batch with reduction='sum' is 0",
     lambda: float(fn.mse(jnp.ones((0, 2)), jnp.ones((0, 2)), reduction="sum")), 0.0),
    ("sce_int/int logits give the float logits' loss",
     lambda: float(fn.softmax_cross_entropy_with_integer_labels(
         jnp.array([[2, 0, 0]]), jnp.array([0]))),
     pytest.approx(float(fn.softmax_cross_entropy_with_integer_labels(
         jnp.array([[2.0, 0, 0]]), jnp.array([0]))), rel=1e-12)),
    ("bce/NaN probabilities propagate (not clipped, not hidden)",
     lambda: bool(np.isnan(fn.binary_cross_entropy(jnp.array([[np.nan]]), jnp.array([[1.0]])))),
     True),
    ("linear_schedule/count past the end stays at end_value (documented min(t, T))",
     lambda: float(optim.linear_schedule(1.0, 0.5, 10)(1000)), 0.5),
    ("step_decay_schedule/float count is floored",
     lambda: float(optim.step_decay_schedule(1.0, 2)(2.5)), pytest.approx(0.1)),
    ("batches/batch_size > N gives one batch of all N",
     lambda: [len(b) for b, _ in data.batches(0, (X, Y), 10)], [4]),
    ("one_hot/empty labels give (0, C)", lambda: data.one_hot(np.zeros(0, int), 2).shape,
     (0, 2)),
    ("apply_standardizer/no rows gives no rows", lambda: data.apply_standardizer(
        data.fit_standardizer(X), np.zeros((0, 2))).shape, (0, 2)),
    ("parse_idx/a zero-length dimension is an empty array",
     lambda: data.parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 0])).shape, (0,)),
    ("predict/batch_size > N", lambda: fn.predict(*mlp(), X, batch_size=100).shape, (4, 3)),
    ("evaluate/NaN inputs give a NaN loss, not a hidden one",
     lambda: bool(np.isnan(fn.evaluate(*mlp(), (np.full((4, 2), np.nan), Y))["loss"])), True),
    ("make_step/out-of-range labels under jit: the guard skips the step",
     _guarded_step_with_bad_labels, True),
    ("Embedding/out-of-range ids under jit give NaN rows, not clamped ones",
     lambda: np.isnan(_jitted_embedding(jnp.array([[0, 5, -1, 4]]))[0, :, 0]).tolist(),
     [False, True, True, False]),
    ("Embedding/any integer dtype of ids", lambda: apply(
        embedding, np.array([[0, 1, 2, 4]], np.uint8))[0].shape, (1, 4, 3)),
    ("PositionalEmbedding/a sequence shorter than max_len uses the first rows",
     lambda: bool((apply(positional, jnp.zeros((1, 2, 2)))[0][0]
                   == positional()[1]["w"][:2]).all()), True),
]


@pytest.mark.parametrize("call, expected", [pytest.param(c, e, id=i) for i, c, e in DOCUMENTED])
def test_edge_input_gives_the_documented_result(call, expected):
    assert call() == expected


def test_table_size():
    """The sweep's size, for the record (and so a shrinking table is noticed)."""
    assert len(BAD) + len(BAD_CHECKPOINT) >= 300
    assert len({p.id for p in BAD}) == len(BAD), "duplicate case ids"
