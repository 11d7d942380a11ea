"""reference: funcnet's NumPy twin, every gradient written out (imports NumPy only).

Layers, activations and losses are ``forward -> (out, cache)`` /
``backward(dout, cache) -> grads`` pairs with the chain-rule step in a one-line
docstring. :func:`build` rebuilds a whole funcnet model from ``model.spec`` and takes
its params tree as is; :func:`check_model` gradient-checks it in one call; ``Value`` is
a scalar autograd engine; the seeds' gates are ``AddGate``, ``MultiplyGate`` and
``SigmoidGate``. The conv/pool/dropout/batchnorm/residual twins live in their modules
(``reference.conv.conv2d_forward``, ...); NumPy optimizers in ``reference.optim``.

Example:
    >>> import numpy as np, reference
    >>> spec = {"type": "Dense", "features": 1, "use_bias": True}
    >>> params = {"w": np.array([[0.5], [-1.0]]), "b": np.array([0.1])}
    >>> loss, dparams, dx = reference.value_and_grad(spec, params, np.ones((3, 2)),
    ...                                              np.zeros((3, 1)), "mse")
    >>> sorted(dparams)
    ['b', 'w']
"""

from reference import (
    activations,
    batchnorm,
    compose,
    conv,
    dense,
    dropout,
    engine,
    gates,
    gradcheck,
    losses,
    modules,
    pool,
    residual,
)
from reference.activations import (
    ACTIVATIONS,
    identity,
    identity_backward,
    identity_forward,
    leaky_relu,
    leaky_relu_backward,
    leaky_relu_forward,
    log_softmax,
    log_softmax_backward,
    log_softmax_forward,
    relu,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    softmax,
    softmax_backward,
    softmax_forward,
    tanh,
    tanh_backward,
    tanh_forward,
)
from reference.batchnorm import batchnorm_backward, batchnorm_forward
from reference.compose import (
    REGISTRY,
    Context,
    Module,
    Network,
    build,
    build_module,
    value_and_grad,
)
from reference.conv import conv2d_backward, conv2d_forward
from reference.dense import dense_backward, dense_forward
from reference.dropout import dropout_backward, dropout_forward, random_keep_mask
from reference.engine import Value
from reference.gates import AddGate, MultiplyGate, SigmoidGate
from reference.gradcheck import (
    check,
    check_model,
    flatten_with_paths,
    numerical_gradient,
    relative_error,
)
from reference.losses import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_backward,
    binary_cross_entropy_forward,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_backward,
    binary_cross_entropy_with_logits_forward,
    mse,
    mse_backward,
    mse_forward,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
    softmax_cross_entropy_with_integer_labels,
    softmax_cross_entropy_with_integer_labels_backward,
    softmax_cross_entropy_with_integer_labels_forward,
)
from reference.pool import (
    avg_pool_backward,
    avg_pool_forward,
    flatten_backward,
    flatten_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "REGISTRY",
    "AddGate",
    "Context",
    "Module",
    "MultiplyGate",
    "Network",
    "SigmoidGate",
    "Value",
    "activations",
    "batchnorm",
    "avg_pool_backward",
    "avg_pool_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "binary_cross_entropy",
    "binary_cross_entropy_backward",
    "binary_cross_entropy_forward",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_backward",
    "binary_cross_entropy_with_logits_forward",
    "build",
    "build_module",
    "check",
    "check_model",
    "compose",
    "conv",
    "conv2d_backward",
    "conv2d_forward",
    "dense_backward",
    "dense_forward",
    "dropout",
    "dropout_backward",
    "dropout_forward",
    "engine",
    "flatten_backward",
    "flatten_forward",
    "flatten_with_paths",
    "gates",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "gradcheck",
    "identity",
    "identity_backward",
    "identity_forward",
    "dense",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "log_softmax",
    "log_softmax_backward",
    "log_softmax_forward",
    "losses",
    "max_pool_backward",
    "max_pool_forward",
    "mse",
    "mse_backward",
    "mse_forward",
    "modules",
    "numerical_gradient",
    "pool",
    "random_keep_mask",
    "relative_error",
    "relu",
    "relu_backward",
    "relu_forward",
    "residual",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax",
    "softmax_backward",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_cross_entropy_with_integer_labels_backward",
    "softmax_cross_entropy_with_integer_labels_forward",
    "softmax_forward",
    "tanh",
    "tanh_backward",
    "tanh_forward",
    "value_and_grad",
]
