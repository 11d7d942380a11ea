"""funcnet: a functional JAX neural-network library with a NumPy twin (``reference``).

The public API, flat. Layers are :class:`Layer` pairs of pure ``init``/``apply``
functions over plain pytrees; see ``funcnet.core`` for the contract.
"""

from funcnet import (
    activations,
    check,
    checkpoint,
    data,
    diagnostics,
    initializers,
    losses,
    optim,
    plot,
)
from funcnet.activations import (
    identity,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from funcnet.batchnorm import BatchNorm
from funcnet.conv import Conv2D
from funcnet.core import Activation, Layer, Sequential, as_layer, output_shape
from funcnet.dense import Dense
from funcnet.dropout import Dropout, dropout_keys, dropout_mask, dropout_masks
from funcnet.evaluate import evaluate, predict
from funcnet.fit import EarlyStopping, FitResult, NonFiniteError, fit
from funcnet.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    mse,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
)
from funcnet.pool import AvgPool2D, Flatten, GlobalAvgPool, MaxPool2D
from funcnet.residual import Residual
from funcnet.step import make_step

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dropout",
    "Flatten",
    "GlobalAvgPool",
    "MaxPool2D",
    "Residual",
    "dropout_keys",
    "dropout_mask",
    "dropout_masks",
    "Dense",
    "EarlyStopping",
    "FitResult",
    "NonFiniteError",
    "evaluate",
    "fit",
    "make_step",
    "predict",
    "Layer",
    "Sequential",
    "activations",
    "data",
    "as_layer",
    "check",
    "checkpoint",
    "diagnostics",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "identity",
    "initializers",
    "leaky_relu",
    "log_softmax",
    "losses",
    "mse",
    "output_shape",
    "optim",
    "plot",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "tanh",
]
