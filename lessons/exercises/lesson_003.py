"""Lesson 003: your exercises. Write each function, then check it with

    python -m lessons check 3

which runs it on random inputs and compares every output with three oracles
(reference, jax.grad, numerical differences), naming any wrong entry.
"""

import numpy as np  # noqa: F401 (you will need it)


def affine_square(x):
    """The lesson's graph x -> [*2] -> a -> [+3] -> b -> [^2] -> y. Given x of any shape
    (each entry its own graph), run the forward pass keeping a and b, then the backward
    pass from dy/dy = 1 using only those cached values: dy/db = 2b, dy/da = dy/db * 1,
    dy/dx = dy/da * 2. Return (y, dydx), both the shape of x. At x = 5 the lesson prints
    y = 169 and dy/dx = 52.
    """
    raise NotImplementedError("affine_square: not written yet")


def dense_backward(dz, a_prev, w):
    """One dense layer Z = A_prev @ W + b in funcnet's layout: A_prev: (N, in), W: (in,
    out), b: (out,), Z: (N, out). Given dz = dL/dZ: (N, out) (the loss's 1/N is already
    in it), a_prev and w, return (dw, db, da_prev): dw = A_prev^T dZ (in, out), db = the
    sum of dZ over the N rows (out,), da_prev = dZ W^T (N, in). The lesson's dW = dZ A^T
    / m, transposed.
    """
    raise NotImplementedError("dense_backward: not written yet")


def mse_sigmoid_gradient(z, y):
    """The gradient the lessons' MSE XOR network needed: a = sigmoid(z), L = mean over all
    N*D entries of (a - y)^2. Given logits z: (N, D) and targets y: (N, D), return dz =
    dL/dz: (N, D) = 2 (a - y) * a (1 - a) / (N D). It is not the y_hat - y of sigmoid +
    cross-entropy: the sigmoid's a (1 - a) stays.
    """
    raise NotImplementedError("mse_sigmoid_gradient: not written yet")
