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
    layers,
    losses,
    optim,
    plot,
    train,
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
from funcnet.core import (
    Activation,
    Layer,
    Node,
    Sequential,
    as_layer,
    child_keys,
    map_layers,
    output_shape,
    walk,
)
from funcnet.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
    MultiHeadAttention,
    Residual,
    TransformerBlock,
    dropout_keys,
    dropout_mask,
    dropout_masks,
)
from funcnet.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    mse,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
)
from funcnet.train.evaluate import evaluate, predict
from funcnet.train.fit import EarlyStopping, FitResult, NonFiniteError, fit
from funcnet.train.step import make_step

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
    "MultiHeadAttention",
    "Residual",
    "TransformerBlock",
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
    "Node",
    "Sequential",
    "child_keys",
    "map_layers",
    "walk",
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
    "layers",
    "train",
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
