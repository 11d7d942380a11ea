"""Lesson 004, backprop and gradient descent: the exercises and their three oracles each.

1. ``softmax_ce_gradient``: the lesson's section 5.5, dL/dz = y_hat - y for softmax with
   cross-entropy (with the mean's 1/N).
2. ``relu_dense_backward``: the lesson's section 7.1, a dense layer with ReLU, from the
   upstream dA to dW, db and dA_prev.
3. ``sin_cos_gradient``: the derivative table's sin row, through the lesson's product
   rule: d/dx and d/dy of sin(x) cos(y) + x y.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import funcnet as fn
import reference
from lessons._ways import central_differences, jax64, sizes
from lessons.checker import Exercise

# --- 1. softmax_ce_gradient ---------------------------------------------------------------


def _softmax_inputs(rng):
    n, k = sizes(rng, 2, 1, 5)
    k += 1  # at least two classes
    return 2.0 * rng.standard_normal((n, k)), np.eye(k)[rng.integers(0, k, n)]


def _softmax_reference(logits, targets):
    _, cache = reference.losses.softmax_cross_entropy_forward(logits, targets)
    return reference.losses.softmax_cross_entropy_backward(1.0, cache)


@jax64
@jax.jit
def _softmax_jax(logits, targets):
    return jax.grad(lambda z: fn.softmax_cross_entropy(z, targets))(logits)


def _softmax_numerical(logits, targets):
    def loss(z):
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -np.mean(np.sum(targets * log_p, axis=1))

    return central_differences(loss, logits)[0]


SOFTMAX_CE = Exercise(
    lesson=4,
    name="softmax_ce_gradient",
    prompt=("Softmax + cross-entropy in funcnet's layout: y_hat = softmax(z) along each row, "
            "L = mean over the N rows of -sum_k y_k log y_hat_k. Given logits z: (N, K) and "
            "one-hot targets y: (N, K), return dL/dz: (N, K) = (y_hat - y) / N. Subtract "
            "each row's maximum before exp so large logits do not overflow."),
    make_inputs=_softmax_inputs,
    ways={"reference": _softmax_reference, "jax": _softmax_jax,
          "numerical": _softmax_numerical},
    outputs=("dz",),
)

# --- 2. relu_dense_backward ---------------------------------------------------------------


def _relu_dense_inputs(rng):
    n, d_in, d_out = sizes(rng, 3, 1, 5)
    while True:
        a_prev, w = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out))
        b = rng.standard_normal(d_out)
        # redrawn until every pre-activation is 0.05 away from ReLU's kink, where central
        # differences would straddle both sides
        if np.abs(a_prev @ w + b).min() > 0.05:
            return rng.standard_normal((n, d_out)), a_prev, w, b


def _relu_dense_reference(da, a_prev, w, b):
    z, dense_cache = reference.dense.dense_forward({"w": w, "b": b}, a_prev)
    _, relu_cache = reference.activations.relu_forward(z)
    dz = reference.activations.relu_backward(da, relu_cache)
    da_prev, grads = reference.dense.dense_backward(dz, dense_cache)
    return grads["w"], grads["b"], da_prev


@jax64
@jax.jit
def _relu_dense_jax(da, a_prev, w, b):
    model = fn.Sequential([fn.Dense(w.shape[1]), fn.relu])

    def forward(w, b, a_prev):
        return model.apply({"dense_0": {"w": w, "b": b}, "relu_1": {}},
                           {"dense_0": {}, "relu_1": {}}, a_prev)[0]

    return jax.vjp(forward, w, b, a_prev)[1](da)


def _relu_dense_numerical(da, a_prev, w, b):
    # ReLU's kink: the seeds' two-point formula with a step too small to cross it
    return central_differences(lambda w, b, a: np.sum(da * np.maximum(a @ w + b, 0.0)),
                               w, b, a_prev, eps=1e-6, order=2)


RELU_DENSE = Exercise(
    lesson=4,
    name="relu_dense_backward",
    prompt=("The lesson's dense layer with ReLU, in funcnet's layout: Z = A_prev @ W + b, "
            "A = relu(Z), with A_prev: (N, in), W: (in, out), b: (out,). Given the upstream "
            "da = dL/dA: (N, out), a_prev, w and b, recompute Z, then return "
            "(dw, db, da_prev): dZ = dA * 1[Z > 0], dw = A_prev^T dZ (in, out), "
            "db = dZ summed over rows (out,), da_prev = dZ W^T (N, in)."),
    make_inputs=_relu_dense_inputs,
    ways={"reference": _relu_dense_reference, "jax": _relu_dense_jax,
          "numerical": _relu_dense_numerical},
    outputs=("dw", "db", "da_prev"),
)

# --- 3. sin_cos_gradient ------------------------------------------------------------------


def _sin_cos_inputs(rng):
    shape = sizes(rng, int(rng.integers(1, 3)))
    return 2.0 * rng.standard_normal(shape), 2.0 * rng.standard_normal(shape)


def _sin_cos_reference(x, y):
    # the scalar Value engine, one graph per entry pair
    dx, dy = np.empty_like(x), np.empty_like(y)
    for idx in np.ndindex(x.shape):
        u, v = reference.Value(x[idx]), reference.Value(y[idx])
        f = u.sin() * v.cos() + u * v
        f.backward()
        dx[idx], dy[idx] = u.grad, v.grad
    return dx, dy


def _sin_cos(u, v):
    return jnp.sum(jnp.sin(u) * jnp.cos(v) + u * v)


@jax64
@jax.jit
def _sin_cos_jax(x, y):
    return jax.grad(_sin_cos, argnums=(0, 1))(x, y)


def _sin_cos_numerical(x, y):
    return central_differences(lambda u, v: np.sum(np.sin(u) * np.cos(v) + u * v), x, y)


SIN_COS = Exercise(
    lesson=4,
    name="sin_cos_gradient",
    prompt=("The derivative table's sin and cos rows with the product rule: "
            "f(x, y) = sin(x) cos(y) + x y, entry by entry. Given x and y of the same shape "
            "(any shape), return (df/dx, df/dy), each that shape: "
            "df/dx = cos(x) cos(y) + y, df/dy = -sin(x) sin(y) + x."),
    make_inputs=_sin_cos_inputs,
    ways={"reference": _sin_cos_reference, "jax": _sin_cos_jax,
          "numerical": _sin_cos_numerical},
    outputs=("dfdx", "dfdy"),
)

EXERCISES = [SOFTMAX_CE, RELU_DENSE, SIN_COS]
