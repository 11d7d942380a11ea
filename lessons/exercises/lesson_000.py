"""Lesson 000: your exercises. Write each function, then check it with

    python -m lessons check 0

which runs it on random inputs and compares every output with three oracles
(reference, jax.grad, numerical differences), naming any wrong entry.
"""

import numpy as np  # noqa: F401 (you will need it)


def bowl_gradient(p, c):
    """The lesson's bowl f(x, y) = (x - 1)^2 + (y - 2)^2 has its minimum at c = (1, 2). For
    any shape, f(p) = sum((p - c)^2) over every entry. Given p: (n, d) and c: (n, d),
    return grad f(p): (n, d), the array gradient descent steps against.
    """
    raise NotImplementedError("bowl_gradient: not written yet")


def sigmoid_derivative(z):
    """The lesson's sigmoid_derivative: given pre-activations z of any shape, return d
    sigma(z) / dz = sigma(z) * (1 - sigma(z)) entry by entry, the same shape as z, where
    sigma(z) = 1 / (1 + exp(-z)). Keep it finite for |z| up to 1000.
    """
    raise NotImplementedError("sigmoid_derivative: not written yet")


def mlp_backward(x, labels, w1, b1, w2, b2):
    """The lesson's MLP in funcnet's layout: a1 = relu(x @ w1 + b1), logits = a1 @ w2 + b2,
    loss = mean over the N rows of -log softmax(logits)[label]. Given x: (N, d), integer
    labels: (N,) in [0, k), w1: (d, h), b1: (h,), w2: (h, k), b2: (k,), return (dw1,
    db1, dw2, db2), the loss's gradients, each the shape of its parameter. The 1/N of
    the mean lives in dlogits = (softmax(logits) - onehot) / N.
    """
    raise NotImplementedError("mlp_backward: not written yet")
