"""Lesson 001, backpropagation: the exercises and their three oracles each.

1. ``dense_backward``: one dense layer's backward in funcnet's layout.
2. ``sigmoid_net_backward``: the lesson's 2-2-1 sigmoid network with the cost
   0.5 (a2 - y)^2, for any widths and batch.
3. ``batchnorm_backward``: batch normalization's backward in training mode, through the
   batch mean and variance.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import funcnet as fn
import reference
from lessons._ways import central_differences, jax64, sizes
from lessons.checker import Exercise

# --- 1. dense_backward --------------------------------------------------------------------


def _dense_inputs(rng):
    n, d_in, d_out = sizes(rng, 3)
    return (rng.standard_normal((n, d_out)), rng.standard_normal((n, d_in)),
            rng.standard_normal((d_in, d_out)))


def _dense_reference(dz, a_prev, w):
    _, cache = reference.dense.dense_forward({"w": w, "b": np.zeros(w.shape[1])}, a_prev)
    da_prev, grads = reference.dense.dense_backward(dz, cache)
    return da_prev, grads["w"], grads["b"]


def _dense_vjp(dz, a_prev, w):
    def forward(a, w, b):
        return fn.Dense(w.shape[1]).apply({"w": w, "b": b}, {}, a)[0]

    return jax.vjp(forward, a_prev, w, jnp.zeros(w.shape[1], w.dtype))[1](dz)


# jitted once at import, so a second check of the same draws reuses the compiled code
_dense_jax = jax64(jax.jit(_dense_vjp))


def _dense_numerical(dz, a_prev, w):
    # the vector-Jacobian product is the gradient of <dz, z>: z's gradient is dz
    return central_differences(lambda a, w, b: np.sum(dz * (a @ w + b)),
                               a_prev, w, np.zeros(w.shape[1]))


DENSE = Exercise(
    lesson=1,
    name="dense_backward",
    prompt=("One dense layer z = a_prev @ w + b, in funcnet's layout (rows are examples). "
            "Given the upstream gradient dz: (N, out), the layer's input a_prev: (N, in) and "
            "w: (in, out), return (da_prev, dw, db) with shapes (N, in), (in, out), (out,). "
            "No 1/m here: the loss's gradient dz already holds it (the lesson's "
            "dW = dZ A^T / m, transposed)."),
    make_inputs=_dense_inputs,
    ways={"reference": _dense_reference, "jax": _dense_jax, "numerical": _dense_numerical},
    outputs=("da_prev", "dw", "db"),
)

# --- 2. sigmoid_net_backward ----------------------------------------------------------------


def _net_inputs(rng):
    n, d, h, k = sizes(rng, 4, 1, 4)
    return (rng.standard_normal((n, d)), rng.random((n, k)),
            rng.standard_normal((d, h)), 0.3 * rng.standard_normal(h),
            rng.standard_normal((h, k)), 0.3 * rng.standard_normal(k))


def _net_model(w1, w2):
    return fn.Sequential([fn.Dense(w1.shape[1]), fn.sigmoid, fn.Dense(w2.shape[1]), fn.sigmoid])


def _net_params(w1, b1, w2, b2):
    return {"dense_0": {"w": w1, "b": b1}, "sigmoid_1": {},
            "dense_2": {"w": w2, "b": b2}, "sigmoid_3": {}}


def _net_grads(tree):
    return tree["dense_0"]["w"], tree["dense_0"]["b"], tree["dense_2"]["w"], tree["dense_2"]["b"]


def _net_reference(x, y, w1, b1, w2, b2):
    # funcnet's "mse" is the mean of (a2 - y)^2 over every entry; the lesson's cost halves it
    _, grads, _ = reference.value_and_grad(_net_model(w1, w2).spec,
                                           _net_params(w1, b1, w2, b2), x, y, "mse")
    return tuple(0.5 * g for g in _net_grads(grads))


def _net_cost(params, x, y):
    model = _net_model(params["dense_0"]["w"], params["dense_2"]["w"])
    return 0.5 * fn.mse(model.apply(params, {name: {} for name in params}, x)[0], y)


_net_grad = jax.jit(jax.grad(_net_cost))


@jax64
def _net_jax(x, y, w1, b1, w2, b2):
    return _net_grads(_net_grad(_net_params(w1, b1, w2, b2), x, y))


def _net_numerical(x, y, w1, b1, w2, b2):
    def cost(w1, b1, w2, b2):
        a1 = 1.0 / (1.0 + np.exp(-(x @ w1 + b1)))
        a2 = 1.0 / (1.0 + np.exp(-(a1 @ w2 + b2)))
        return 0.5 * np.mean((a2 - y) ** 2)

    return central_differences(cost, w1, b1, w2, b2)


SIGMOID_NET = Exercise(
    lesson=1,
    name="sigmoid_net_backward",
    prompt=("The lesson's 2-2-1 sigmoid network, any widths, funcnet's layout: "
            "a1 = sigmoid(x @ w1 + b1), a2 = sigmoid(a1 @ w2 + b2), cost "
            "J = 0.5 * mean((a2 - y)^2) over all N*k entries (the lesson's 0.5 (a2 - y)^2 "
            "for one example). Given x: (N, d), y: (N, k), w1: (d, h), b1: (h,), w2: (h, k), "
            "b2: (k,), return (dw1, db1, dw2, db2), each the shape of its parameter."),
    make_inputs=_net_inputs,
    ways={"reference": _net_reference, "jax": _net_jax, "numerical": _net_numerical},
    outputs=("dw1", "db1", "dw2", "db2"),
)

# --- 3. batchnorm_backward ------------------------------------------------------------------

EPS = 1e-5


def _bn_inputs(rng):
    n = int(rng.integers(2, 7))
    (f,) = sizes(rng, 1)
    x = 2.0 * rng.standard_normal((n, f)) + rng.standard_normal(f)
    return rng.standard_normal((n, f)), x, 1.0 + 0.5 * rng.standard_normal(f)


def _bn_reference(dy, x, gamma):
    params = {"scale": gamma, "bias": np.zeros_like(gamma)}
    state = {"mean": np.zeros_like(gamma), "var": np.ones_like(gamma)}
    _, _, cache = reference.batchnorm.batchnorm_forward(params, state, x, train=True, eps=EPS)
    dx, grads = reference.batchnorm.batchnorm_backward(dy, cache)
    return dx, grads["scale"], grads["bias"]


def _bn_vjp(dy, x, gamma):
    state = {"mean": jnp.zeros_like(gamma), "var": jnp.ones_like(gamma)}

    def forward(x, scale, bias):
        return fn.BatchNorm(eps=EPS).apply({"scale": scale, "bias": bias}, state, x,
                                           train=True)[0]

    return jax.vjp(forward, x, gamma, jnp.zeros_like(gamma))[1](dy)


_bn_jax = jax64(jax.jit(_bn_vjp))


def _bn_numerical(dy, x, gamma):
    def inner(x, gamma, beta):
        mu = x.mean(axis=0)
        var = ((x - mu) ** 2).mean(axis=0)
        return np.sum(dy * (gamma * (x - mu) / np.sqrt(var + EPS) + beta))

    return central_differences(inner, x, gamma, np.zeros_like(gamma))


BATCHNORM = Exercise(
    lesson=1,
    name="batchnorm_backward",
    prompt=("Batch normalization in training mode: mu and var (biased, divide by N) of each "
            "column of x over the batch, x_hat = (x - mu) / sqrt(var + 1e-5), "
            "y = gamma * x_hat + beta. Given dy: (N, F), x: (N, F) and gamma: (F,), return "
            "(dx, dgamma, dbeta) with shapes (N, F), (F,), (F,). dx goes through mu and var "
            "too: every example's x moves every x_hat in its column."),
    make_inputs=_bn_inputs,
    ways={"reference": _bn_reference, "jax": _bn_jax, "numerical": _bn_numerical},
    outputs=("dx", "dgamma", "dbeta"),
)

EXERCISES = [DENSE, SIGMOID_NET, BATCHNORM]
