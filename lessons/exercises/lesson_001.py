"""Lesson 001: your exercises. Write each function, then check it with

    python -m lessons check 1

which runs it on random inputs and compares every output with three oracles
(reference, jax.grad, numerical differences), naming any wrong entry.
"""

import numpy as np  # noqa: F401 (you will need it)


def dense_backward(dz, a_prev, w):
    """One dense layer z = a_prev @ w + b, in funcnet's layout (rows are examples). Given
    the upstream gradient dz: (N, out), the layer's input a_prev: (N, in) and w: (in,
    out), return (da_prev, dw, db) with shapes (N, in), (in, out), (out,). No 1/m here:
    the loss's gradient dz already holds it (the lesson's dW = dZ A^T / m, transposed).
    """
    raise NotImplementedError("dense_backward: not written yet")


def sigmoid_net_backward(x, y, w1, b1, w2, b2):
    """The lesson's 2-2-1 sigmoid network, any widths, funcnet's layout: a1 = sigmoid(x @
    w1 + b1), a2 = sigmoid(a1 @ w2 + b2), cost J = 0.5 * mean((a2 - y)^2) over all N*k
    entries (the lesson's 0.5 (a2 - y)^2 for one example). Given x: (N, d), y: (N, k),
    w1: (d, h), b1: (h,), w2: (h, k), b2: (k,), return (dw1, db1, dw2, db2), each the
    shape of its parameter.
    """
    raise NotImplementedError("sigmoid_net_backward: not written yet")


def batchnorm_backward(dy, x, gamma):
    """Batch normalization in training mode: mu and var (biased, divide by N) of each
    column of x over the batch, x_hat = (x - mu) / sqrt(var + 1e-5), y = gamma * x_hat +
    beta. Given dy: (N, F), x: (N, F) and gamma: (F,), return (dx, dgamma, dbeta) with
    shapes (N, F), (F,), (F,). dx goes through mu and var too: every example's x moves
    every x_hat in its column.
    """
    raise NotImplementedError("batchnorm_backward: not written yet")
