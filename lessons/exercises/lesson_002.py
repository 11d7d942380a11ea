"""Lesson 002: your exercises. Write each function, then check it with

    python -m lessons check 2

which runs it on random inputs and compares every output with three oracles
(reference, jax.grad, numerical differences), naming any wrong entry.
"""

import numpy as np  # noqa: F401 (you will need it)


def relu_backward(da, z):
    """The lesson's step 4, 'through ReLU': h = max(0, z) entry by entry. Given the
    upstream gradient da = dL/dh and the pre-activations z (both the same shape, any
    shape), return dz = dL/dz = da * 1[z > 0], the same shape as z.
    """
    raise NotImplementedError("relu_backward: not written yet")


def tanh_backward(da, z):
    """The lesson's Exercise 2: a hidden layer h = tanh(z). Given the upstream gradient da
    = dL/dh and the pre-activations z (the same shape, any shape), return dz = da * (1 -
    tanh(z)^2), the same shape as z.
    """
    raise NotImplementedError("tanh_backward: not written yet")


def two_layer_gradients(x, y, w1, b1, w2, b2):
    """The lesson's 2-3-1 network in funcnet's layout (rows are samples): z1 = x @ w1 + b1,
    h = relu(z1), z2 = h @ w2 + b2, y_hat = sigmoid(z2), L = mean over the N rows of -[y
    log y_hat + (1 - y) log(1 - y_hat)]. Given x: (N, d), labels y: (N, 1) of 0.0/1.0,
    w1: (d, h), b1: (h,), w2: (h, 1), b2: (1,), return (dw1, db1, dw2, db2), each the
    shape of its parameter. Start from dz2 = (y_hat - y) / N: the lesson's y_hat - y
    with the mean's 1/N.
    """
    raise NotImplementedError("two_layer_gradients: not written yet")
