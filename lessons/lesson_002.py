"""Lesson 002, credit assignment and graphs: the exercises and their three oracles each.

1. ``relu_backward``: the gradient through ReLU, the indicator ``z > 0`` gating ``da``.
2. ``tanh_backward``: the lesson's Exercise 2, the hidden layer with tanh instead of ReLU.
3. ``two_layer_gradients``: the lesson's 2-3-1 network (ReLU hidden layer, sigmoid
   output, mean binary cross-entropy) backward, in funcnet's layout.
"""

from __future__ import annotations

import jax
import numpy as np

import funcnet as fn
import reference
from lessons._ways import central_differences, jax64, sizes
from lessons.checker import Exercise

# --- 1. relu_backward ---------------------------------------------------------------------


def _away_from_zero(rng, shape):
    # ReLU has a kink at 0 where central differences straddle both sides; keeping every
    # entry at least 0.1 away makes the three oracles answer the same question.
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


def _elementwise_inputs(rng):
    shape = sizes(rng, int(rng.integers(1, 4)))
    return rng.standard_normal(shape), _away_from_zero(rng, shape)


def _relu_reference(da, z):
    _, cache = reference.activations.relu_forward(z)
    return reference.activations.relu_backward(da, cache)


@jax64
@jax.jit
def _relu_jax(da, z):
    return jax.vjp(fn.relu, z)[1](da)[0]


def _relu_numerical(da, z):
    # the seeds' two-point formula with a small step: no step crosses ReLU's kink
    return central_differences(lambda u: np.sum(da * np.maximum(u, 0.0)), z, eps=1e-6,
                               order=2)[0]


RELU = Exercise(
    lesson=2,
    name="relu_backward",
    prompt=("The lesson's step 4, 'through ReLU': h = max(0, z) entry by entry. Given the "
            "upstream gradient da = dL/dh and the pre-activations z (both the same shape, "
            "any shape), return dz = dL/dz = da * 1[z > 0], the same shape as z."),
    make_inputs=_elementwise_inputs,
    ways={"reference": _relu_reference, "jax": _relu_jax, "numerical": _relu_numerical},
    outputs=("dz",),
)

# --- 2. tanh_backward ---------------------------------------------------------------------


def _tanh_reference(da, z):
    _, cache = reference.activations.tanh_forward(z)
    return reference.activations.tanh_backward(da, cache)


@jax64
@jax.jit
def _tanh_jax(da, z):
    return jax.vjp(fn.tanh, z)[1](da)[0]


def _tanh_numerical(da, z):
    return central_differences(lambda u: np.sum(da * np.tanh(u)), z)[0]


TANH = Exercise(
    lesson=2,
    name="tanh_backward",
    prompt=("The lesson's Exercise 2: a hidden layer h = tanh(z). Given the upstream "
            "gradient da = dL/dh and the pre-activations z (the same shape, any shape), "
            "return dz = da * (1 - tanh(z)^2), the same shape as z."),
    make_inputs=_elementwise_inputs,
    ways={"reference": _tanh_reference, "jax": _tanh_jax, "numerical": _tanh_numerical},
    outputs=("dz",),
)

# --- 3. two_layer_gradients ---------------------------------------------------------------


def _two_layer_inputs(rng):
    n, d, h = sizes(rng, 3, 1, 5)
    return (rng.standard_normal((n, d)), rng.integers(0, 2, (n, 1)).astype(np.float64),
            rng.standard_normal((d, h)), 0.1 * rng.standard_normal(h),
            rng.standard_normal((h, 1)), 0.1 * rng.standard_normal(1))


def _two_layer_model(w1):
    return fn.Sequential([fn.Dense(w1.shape[1]), fn.relu, fn.Dense(1)])


def _two_layer_params(w1, b1, w2, b2):
    return {"dense_0": {"w": w1, "b": b1}, "relu_1": {}, "dense_2": {"w": w2, "b": b2}}


def _two_layer_grads(tree):
    return tree["dense_0"]["w"], tree["dense_0"]["b"], tree["dense_2"]["w"], tree["dense_2"]["b"]


def _two_layer_reference(x, y, w1, b1, w2, b2):
    _, grads, _ = reference.value_and_grad(_two_layer_model(w1).spec,
                                           _two_layer_params(w1, b1, w2, b2), x, y,
                                           "binary_cross_entropy_with_logits")
    return _two_layer_grads(grads)


@jax64
@jax.jit  # one compile per shape; op-by-op dispatch is several times slower here
def _two_layer_jax(x, y, w1, b1, w2, b2):
    model = _two_layer_model(w1)

    def loss(params):
        logits, _ = model.apply(params, {k: {} for k in params}, x)
        return fn.binary_cross_entropy_with_logits(logits, y)

    return _two_layer_grads(jax.grad(loss)(_two_layer_params(w1, b1, w2, b2)))


def _two_layer_numerical(x, y, w1, b1, w2, b2):
    def loss(w1, b1, w2, b2):
        z2 = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
        # -[y log s(z) + (1 - y) log(1 - s(z))] written as log(1 + e^z) - y z
        return np.mean(np.logaddexp(0.0, z2) - y * z2)

    # ReLU's kink: the seeds' two-point formula with a step too small to cross it
    return central_differences(loss, w1, b1, w2, b2, eps=1e-6, order=2)


TWO_LAYER = Exercise(
    lesson=2,
    name="two_layer_gradients",
    prompt=("The lesson's 2-3-1 network in funcnet's layout (rows are samples): "
            "z1 = x @ w1 + b1, h = relu(z1), z2 = h @ w2 + b2, y_hat = sigmoid(z2), "
            "L = mean over the N rows of -[y log y_hat + (1 - y) log(1 - y_hat)]. Given "
            "x: (N, d), labels y: (N, 1) of 0.0/1.0, w1: (d, h), b1: (h,), w2: (h, 1), "
            "b2: (1,), return (dw1, db1, dw2, db2), each the shape of its parameter. "
            "Start from dz2 = (y_hat - y) / N: the lesson's y_hat - y with the mean's 1/N."),
    make_inputs=_two_layer_inputs,
    ways={"reference": _two_layer_reference, "jax": _two_layer_jax,
          "numerical": _two_layer_numerical},
    outputs=("dw1", "db1", "dw2", "db2"),
)

EXERCISES = [RELU, TANH, TWO_LAYER]
