"""Lesson 004: your exercises. Write each function, then check it with

    python -m lessons check 4

which runs it on random inputs and compares every output with three oracles
(reference, jax.grad, numerical differences), naming any wrong entry.
"""

import numpy as np  # noqa: F401 (you will need it)


def softmax_ce_gradient(logits, targets):
    """Softmax + cross-entropy in funcnet's layout: y_hat = softmax(z) along each row, L =
    mean over the N rows of -sum_k y_k log y_hat_k. Given logits z: (N, K) and one-hot
    targets y: (N, K), return dL/dz: (N, K) = (y_hat - y) / N. Subtract each row's
    maximum before exp so large logits do not overflow.
    """
    raise NotImplementedError("softmax_ce_gradient: not written yet")


def relu_dense_backward(da, a_prev, w, b):
    """The lesson's dense layer with ReLU, in funcnet's layout: Z = A_prev @ W + b, A =
    relu(Z), with A_prev: (N, in), W: (in, out), b: (out,). Given the upstream da =
    dL/dA: (N, out), a_prev, w and b, recompute Z, then return (dw, db, da_prev): dZ =
    dA * 1[Z > 0], dw = A_prev^T dZ (in, out), db = dZ summed over rows (out,), da_prev
    = dZ W^T (N, in).
    """
    raise NotImplementedError("relu_dense_backward: not written yet")


def sin_cos_gradient(x, y):
    """The derivative table's sin and cos rows with the product rule: f(x, y) = sin(x)
    cos(y) + x y, entry by entry. Given x and y of the same shape (any shape), return
    (df/dx, df/dy), each that shape: df/dx = cos(x) cos(y) + y, df/dy = -sin(x) sin(y) +
    x.
    """
    raise NotImplementedError("sin_cos_gradient: not written yet")
