"""bf16 compute: params stay float32, matmuls run in bfloat16, the loss in float32."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcnet as fn
from funcnet import data


def _mlp(compute_dtype, activation=fn.relu):
    return fn.Sequential([fn.Dense(64, w_init="he_normal", compute_dtype=compute_dtype),
                          activation, fn.Dense(10, compute_dtype=compute_dtype)])


def test_bf16_gradients_stay_within_bf16_tolerance_of_float32(key):
    x = jax.random.normal(key, (32, 20), jnp.float32)
    y = jax.random.randint(jax.random.key(1), (32,), 0, 10)
    # tanh, not relu: a pre-activation within bf16 rounding of 0 flips relu's mask and
    # changes that unit's gradient entirely, which says nothing about precision.
    params, state = _mlp(None, fn.tanh).init(key, (20,))

    def grads(compute_dtype):
        model = _mlp(compute_dtype, fn.tanh)
        return jax.grad(lambda p: fn.softmax_cross_entropy_with_integer_labels(
            model.apply(p, state, x)[0], y))(params)

    g32, g16 = grads(None), grads(jnp.bfloat16)
    for a, b in zip(jax.tree.leaves(g32), jax.tree.leaves(g16), strict=True):
        assert b.dtype == jnp.float32
        # bf16 keeps 8 significant bits (unit roundoff 2^-9); the forward and backward
        # matmuls round inputs, weights and products, so the gradient of each leaf is
        # compared norm-wise against a few units of 2^-8.
        error = float(np.linalg.norm(b - a) / np.linalg.norm(a))
        assert error < 4 * 2.0**-8, error


@pytest.mark.slow
def test_bf16_mnist_mlp_reaches_the_98_percent_target():
    # The main job's model with bf16 matmuls, on the full MNIST training set, with the
    # recipe benchmarks/gpu.py chose on a validation split (batch 1024, Adam 3e-3
    # cosine-decayed over 6 epochs); stops at the first epoch at or past 98%.
    (x_train, y_train), (x_test, y_test) = data.mnist(layout="flat")
    model = fn.Sequential([
        fn.Dense(512, w_init="he_normal", compute_dtype=jnp.bfloat16), fn.relu,
        fn.Dense(512, w_init="he_normal", compute_dtype=jnp.bfloat16), fn.relu,
        fn.Dense(10, compute_dtype=jnp.bfloat16)])
    params, state = model.init(jax.random.key(0), (784,))
    steps = 6 * -(-len(x_train) // 1024)
    optimizer = fn.optim.adam(fn.optim.cosine_decay_schedule(3e-3, steps))
    out = fn.fit(model, params, state, optimizer, (x_train, y_train), epochs=6,
                 batch_size=1024, key=jax.random.key(1), eval_data=(x_test, y_test),
                 callback=lambda epoch, row, *_: row["eval_accuracy"] >= 0.98)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(out.params))
    assert out.history["eval_accuracy"][-1] >= 0.98, out.history["eval_accuracy"]


def test_conv2d_bf16_compute_keeps_float32_params_and_tracks_float32(key):
    x = jax.random.normal(key, (4, 8, 8, 3), jnp.float32)
    layer32 = fn.Conv2D(5, 3)
    layer16 = fn.Conv2D(5, 3, compute_dtype=jnp.bfloat16)
    params, state = layer32.init(key, (8, 8, 3))
    y32, _ = layer32.apply(params, state, x)
    y16, _ = layer16.apply(params, state, x)
    assert y16.dtype == jnp.bfloat16  # the computation's dtype, as Flax's ``dtype``
    g = jax.grad(lambda p: jnp.sum(jnp.tanh(layer16.apply(p, state, x)[0])))(params)
    assert g["w"].dtype == jnp.float32
    # operands and result rounded to 8 significant bits, products summed in float32
    error = float(jnp.linalg.norm(y16.astype(jnp.float32) - y32) / jnp.linalg.norm(y32))
    assert error < 4 * 2.0**-8, error


def _dot_dtypes(lowered_text):
    """Operand dtypes of every dot_general / convolution in a lowered (StableHLO) program:
    what runs on this platform (lax.platform_dependent lowers only its branch)."""
    found = []
    for line in lowered_text.splitlines():
        if "stablehlo.dot_general" in line or "stablehlo.convolution" in line:
            operands = re.search(r":\s*\(tensor<([^>]*)>, tensor<([^>]*)>\)\s*->", line)
            found.append(tuple(t.rsplit("x", 1)[-1] for t in operands.groups()))
    return found


def test_bf16_forward_and_backward_matmuls_all_run_in_bfloat16_and_the_loss_in_float32(key):
    # A float32 result from a bf16 matmul would send a float32 cotangent back and make
    # both backward matmuls float32 ones: the whole point of bf16 compute would be lost.
    model = fn.Sequential([fn.Conv2D(4, 3, compute_dtype=jnp.bfloat16), fn.relu,
                           fn.Flatten(), fn.Dense(8, compute_dtype=jnp.bfloat16), fn.relu,
                           fn.Dense(3, compute_dtype=jnp.bfloat16)])
    params, state = model.init(key, (6, 6, 2))
    x = jax.random.normal(key, (5, 6, 6, 2), jnp.float32)
    y = jnp.array([0, 1, 2, 0, 1])

    def loss(p):
        logits, _ = model.apply(p, state, x)
        assert logits.dtype == jnp.bfloat16
        value = fn.softmax_cross_entropy_with_integer_labels(logits, y)
        assert value.dtype == jnp.float32
        return value

    dots = _dot_dtypes(jax.jit(jax.grad(loss)).lower(params).as_text())
    # 3 forward, 3 weight gradients, 2 input gradients (not the first layer's input)
    assert len(dots) == 8, dots
    assert all(d == ("bf16", "bf16") for d in dots), dots
    assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(jax.grad(loss)(params)))
