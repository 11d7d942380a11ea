"""Lesson 000, gradients: the exercises and their three oracles each.

1. ``bowl_gradient``: the gradient of the lesson's bowl ``(x - 1)^2 + (y - 2)^2``, for
   any number of coordinates.
2. ``sigmoid_derivative``: the lesson's ``sigmoid_derivative``, sigma(z) (1 - sigma(z)).
3. ``mlp_backward``: the lesson's MLP (ReLU hidden layer, softmax output, mean
   cross-entropy) backward, in funcnet's layout.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import funcnet as fn
import reference
from lessons._ways import central_differences, jax64, sizes
from lessons.checker import Exercise

# --- 1. bowl_gradient -------------------------------------------------------------------


def _bowl_inputs(rng):
    n, d = sizes(rng, 2)
    return rng.standard_normal((n, d)), rng.standard_normal((n, d))


def _bowl_reference(p, c):
    # as one column the "sum" MSE is sum((p - c)^2): the pair's backward is the gradient
    _, cache = reference.losses.mse_forward(p.reshape(-1, 1), c.reshape(-1, 1), "sum")
    return reference.losses.mse_backward(1.0, cache).reshape(p.shape)


# jitted once at import: a trial's shapes compile once, and a second check of the same
# draws (the same seed) reuses the compiled function
_bowl_jax = jax64(jax.jit(jax.grad(lambda p, c: jnp.sum((p - c) ** 2))))


def _bowl_numerical(p, c):
    return central_differences(lambda q: np.sum((q - c) ** 2), p)[0]


BOWL = Exercise(
    lesson=0,
    name="bowl_gradient",
    prompt=("The lesson's bowl f(x, y) = (x - 1)^2 + (y - 2)^2 has its minimum at c = (1, 2). "
            "For any shape, f(p) = sum((p - c)^2) over every entry. Given p: (n, d) and "
            "c: (n, d), return grad f(p): (n, d), the array gradient descent steps against."),
    make_inputs=_bowl_inputs,
    ways={"reference": _bowl_reference, "jax": _bowl_jax, "numerical": _bowl_numerical},
)

# --- 2. sigmoid_derivative ----------------------------------------------------------------


def _sigmoid_inputs(rng):
    shape = sizes(rng, int(rng.integers(1, 4)))
    return (3.0 * rng.standard_normal(shape),)


def _sigmoid_reference(z):
    _, cache = reference.activations.sigmoid_forward(z)
    return reference.activations.sigmoid_backward(np.ones_like(z), cache)


# sigmoid acts entry by entry, so the gradient of the sum is each entry's derivative
_sigmoid_jax = jax64(jax.jit(jax.grad(lambda z: jnp.sum(fn.sigmoid(z)))))


def _sigmoid_numerical(z):
    return central_differences(lambda u: np.sum(1.0 / (1.0 + np.exp(-u))), z)[0]


SIGMOID = Exercise(
    lesson=0,
    name="sigmoid_derivative",
    prompt=("The lesson's sigmoid_derivative: given pre-activations z of any shape, return "
            "d sigma(z) / dz = sigma(z) * (1 - sigma(z)) entry by entry, the same shape as z, "
            "where sigma(z) = 1 / (1 + exp(-z)). Keep it finite for |z| up to 1000."),
    make_inputs=_sigmoid_inputs,
    ways={"reference": _sigmoid_reference, "jax": _sigmoid_jax,
          "numerical": _sigmoid_numerical},
)

# --- 3. mlp_backward ----------------------------------------------------------------------


def _mlp_inputs(rng):
    n, d, h = sizes(rng, 3, 2, 6)
    k = int(rng.integers(2, 5))
    return (rng.standard_normal((n, d)), rng.integers(0, k, n),
            rng.standard_normal((d, h)), 0.1 * rng.standard_normal(h),
            rng.standard_normal((h, k)), 0.1 * rng.standard_normal(k))


def _mlp_model(w2):
    return fn.Sequential([fn.Dense(w2.shape[0]), fn.relu, fn.Dense(w2.shape[1])])


def _mlp_params(w1, b1, w2, b2):
    return {"dense_0": {"w": w1, "b": b1}, "relu_1": {}, "dense_2": {"w": w2, "b": b2}}


def _mlp_grads(tree):
    return tree["dense_0"]["w"], tree["dense_0"]["b"], tree["dense_2"]["w"], tree["dense_2"]["b"]


def _mlp_reference(x, labels, w1, b1, w2, b2):
    _, grads, _ = reference.value_and_grad(_mlp_model(w2).spec, _mlp_params(w1, b1, w2, b2), x,
                                           labels, "softmax_cross_entropy_with_integer_labels")
    return _mlp_grads(grads)


def _mlp_loss(params, x, labels):
    logits, _ = _mlp_model(params["dense_2"]["w"]).apply(params, {name: {} for name in params}, x)
    return fn.softmax_cross_entropy_with_integer_labels(logits, labels)


_mlp_grad = jax.jit(jax.grad(_mlp_loss))


@jax64
def _mlp_jax(x, labels, w1, b1, w2, b2):
    return _mlp_grads(_mlp_grad(_mlp_params(w1, b1, w2, b2), x, labels))


def _mlp_numerical(x, labels, w1, b1, w2, b2):
    def loss(w1, b1, w2, b2):
        logits = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -np.mean(log_p[np.arange(len(labels)), labels])

    # ReLU has kinks: the two-point formula with a step too small to cross one
    return central_differences(loss, w1, b1, w2, b2, eps=1e-6, order=2)


MLP = Exercise(
    lesson=0,
    name="mlp_backward",
    prompt=("The lesson's MLP in funcnet's layout: a1 = relu(x @ w1 + b1), logits = a1 @ w2 + b2, "
            "loss = mean over the N rows of -log softmax(logits)[label]. Given x: (N, d), "
            "integer labels: (N,) in [0, k), w1: (d, h), b1: (h,), w2: (h, k), b2: (k,), "
            "return (dw1, db1, dw2, db2), the loss's gradients, each the shape of its "
            "parameter. The 1/N of the mean lives in dlogits = (softmax(logits) - onehot) / N."),
    make_inputs=_mlp_inputs,
    ways={"reference": _mlp_reference, "jax": _mlp_jax, "numerical": _mlp_numerical},
    outputs=("dw1", "db1", "dw2", "db2"),
)

EXERCISES = [BOWL, SIGMOID, MLP]
