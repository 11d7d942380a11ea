"""Lesson 003, a two-layer network by hand: the exercises and their three oracles each.

1. ``affine_square``: the lesson's first graph, y = (2x + 3)^2, forward and backward
   with the intermediate values cached.
2. ``dense_backward``: one dense layer's backward in funcnet's layout, the three
   products the lesson writes as dW = dZ A^T / m, db, dA_prev = W^T dZ.
3. ``mse_sigmoid_gradient``: the gradient the lessons' MSE XOR network should have used,
   mean squared error through a sigmoid output.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import funcnet as fn
import reference
from lessons._ways import central_differences, jax64, sizes
from lessons.checker import Exercise

# --- 1. affine_square ---------------------------------------------------------------------


def _affine_inputs(rng):
    return (3.0 * rng.standard_normal(sizes(rng, int(rng.integers(1, 3)))),)


def _affine_reference(x):
    # the scalar Value engine, one graph per entry: the lesson's nodes a = 2x, b = a + 3
    y, dydx = np.empty_like(x), np.empty_like(x)
    for idx in np.ndindex(x.shape):
        v = reference.Value(x[idx])
        out = (2 * v + 3) ** 2
        out.backward()
        y[idx], dydx[idx] = out.data, v.grad
    return y, dydx


def _affine(u):
    return (2 * u + 3) ** 2


@jax64
@jax.jit
def _affine_jax(x):
    return _affine(x), jnp.vectorize(jax.grad(_affine))(x)


def _affine_numerical(x):
    return (2 * x + 3) ** 2, central_differences(lambda u: np.sum((2 * u + 3) ** 2), x)[0]


AFFINE_SQUARE = Exercise(
    lesson=3,
    name="affine_square",
    prompt=("The lesson's graph x -> [*2] -> a -> [+3] -> b -> [^2] -> y. Given x of any "
            "shape (each entry its own graph), run the forward pass keeping a and b, then "
            "the backward pass from dy/dy = 1 using only those cached values: "
            "dy/db = 2b, dy/da = dy/db * 1, dy/dx = dy/da * 2. Return (y, dydx), both the "
            "shape of x. At x = 5 the lesson prints y = 169 and dy/dx = 52."),
    make_inputs=_affine_inputs,
    ways={"reference": _affine_reference, "jax": _affine_jax, "numerical": _affine_numerical},
    outputs=("y", "dydx"),
)

# --- 2. dense_backward --------------------------------------------------------------------


def _dense_inputs(rng):
    n, d_in, d_out = sizes(rng, 3, 1, 5)
    return (rng.standard_normal((n, d_out)), rng.standard_normal((n, d_in)),
            rng.standard_normal((d_in, d_out)))


def _dense_reference(dz, a_prev, w):
    _, cache = reference.dense.dense_forward({"w": w, "b": np.zeros(w.shape[1])}, a_prev)
    da_prev, grads = reference.dense.dense_backward(dz, cache)
    return grads["w"], grads["b"], da_prev


@jax64
@jax.jit
def _dense_jax(dz, a_prev, w):
    layer = fn.Dense(w.shape[1])

    def forward(w, b, a_prev):
        return layer.apply({"w": w, "b": b}, {}, a_prev)[0]

    return jax.vjp(forward, w, jnp.zeros(w.shape[1], w.dtype), a_prev)[1](dz)


def _dense_numerical(dz, a_prev, w):
    # dz is dL/dZ, so L changes like sum(dz * Z) for a small change of w, b or a_prev
    return central_differences(lambda w, b, a: np.sum(dz * (a @ w + b)), w,
                               np.zeros(w.shape[1]), a_prev)


DENSE = Exercise(
    lesson=3,
    name="dense_backward",
    prompt=("One dense layer Z = A_prev @ W + b in funcnet's layout: A_prev: (N, in), "
            "W: (in, out), b: (out,), Z: (N, out). Given dz = dL/dZ: (N, out) (the loss's "
            "1/N is already in it), a_prev and w, return (dw, db, da_prev): "
            "dw = A_prev^T dZ (in, out), db = the sum of dZ over the N rows (out,), "
            "da_prev = dZ W^T (N, in). The lesson's dW = dZ A^T / m, transposed."),
    make_inputs=_dense_inputs,
    ways={"reference": _dense_reference, "jax": _dense_jax, "numerical": _dense_numerical},
    outputs=("dw", "db", "da_prev"),
)

# --- 3. mse_sigmoid_gradient --------------------------------------------------------------


def _mse_inputs(rng):
    n, d = sizes(rng, 2)
    return 2.0 * rng.standard_normal((n, d)), rng.integers(0, 2, (n, d)).astype(np.float64)


def _mse_reference(z, y):
    a, sig_cache = reference.activations.sigmoid_forward(z)
    _, mse_cache = reference.losses.mse_forward(a, y)
    return reference.activations.sigmoid_backward(reference.losses.mse_backward(1.0, mse_cache),
                                                  sig_cache)


@jax64
@jax.jit
def _mse_jax(z, y):
    return jax.grad(lambda u: fn.mse(fn.sigmoid(u), y))(z)


def _mse_numerical(z, y):
    return central_differences(lambda u: np.mean((1 / (1 + np.exp(-u)) - y) ** 2), z)[0]


MSE_SIGMOID = Exercise(
    lesson=3,
    name="mse_sigmoid_gradient",
    prompt=("The gradient the lessons' MSE XOR network needed: a = sigmoid(z), "
            "L = mean over all N*D entries of (a - y)^2. Given logits z: (N, D) and targets "
            "y: (N, D), return dz = dL/dz: (N, D) = 2 (a - y) * a (1 - a) / (N D). It is "
            "not the y_hat - y of sigmoid + cross-entropy: the sigmoid's a (1 - a) stays."),
    make_inputs=_mse_inputs,
    ways={"reference": _mse_reference, "jax": _mse_jax, "numerical": _mse_numerical},
    outputs=("dz",),
)

EXERCISES = [AFFINE_SQUARE, DENSE, MSE_SIGMOID]
