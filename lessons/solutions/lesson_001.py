"""Lesson 001's reference solutions, in plain NumPy (check them: python -m lessons check 1
--solutions)."""

import numpy as np


def dense_backward(dz, a_prev, w):
    return dz @ w.T, a_prev.T @ dz, dz.sum(axis=0)


def sigmoid_net_backward(x, y, w1, b1, w2, b2):
    a1 = 1.0 / (1.0 + np.exp(-(x @ w1 + b1)))
    a2 = 1.0 / (1.0 + np.exp(-(a1 @ w2 + b2)))
    # J = 0.5 mean((a2 - y)^2) over all entries: dJ/da2 = (a2 - y) / y.size
    dz2 = (a2 - y) / y.size * a2 * (1.0 - a2)
    dz1 = (dz2 @ w2.T) * a1 * (1.0 - a1)
    return x.T @ dz1, dz1.sum(axis=0), a1.T @ dz2, dz2.sum(axis=0)


def batchnorm_backward(dy, x, gamma):
    mu = x.mean(axis=0)
    xc = x - mu
    inv_std = 1.0 / np.sqrt((xc**2).mean(axis=0) + 1e-5)
    x_hat = xc * inv_std
    dx_hat = dy * gamma
    # the compact form: the mean and variance paths fold into two column means
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)
