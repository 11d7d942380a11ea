"""reference: funcnet's NumPy twin, every gradient written out (imports NumPy only).

One file per layer family, with the same name as funcnet's, holding its
``forward -> (out, cache)`` / ``backward(dout, cache) -> grads`` pairs, each with the
chain-rule step in a one-line docstring:

* ``dense``: ``dense_forward``/``dense_backward``, Z = A_prev @ W + b.
* ``conv``: ``conv2d_forward``/``conv2d_backward`` by im2col, NHWC images, HWIO kernels.
* ``pool``: max and average pooling, ``flatten``, ``global_avg_pool``.
* ``dropout``: inverted dropout driven by an explicit keep-mask.
* ``batchnorm``: batch normalization over the last axis, with running state.
* ``residual``: the skip connection Y = X + F(X).
* ``recurrent``: ``rnn_forward``/``rnn_backward``, LSTM and GRU; backprop through time
  step by step, with every ``dh_t`` from ``rnn_bptt``/``lstm_bptt``/``gru_bptt``.
* ``embedding``: token ids to rows of a table (backward by ``np.add.at``), and learned
  position vectors.
* ``norm``: LayerNorm and RMSNorm over the last axis, each example's statistics.
* ``attention``: scaled dot-product and multi-head self-attention,
  softmax(Q K^T / sqrt(d) + mask) V, with the softmax backward written out.
* ``activations``: ``relu_forward``/``relu_backward``, ...; the table ``ACTIVATIONS``.
* ``losses``: ``mse_forward``/``mse_backward``, ...; the table ``LOSSES``.

Composition, apart from the pairs:

* ``compose``: :func:`build` (a whole network from ``model.spec``), :class:`Network`,
  :func:`value_and_grad`, the Sequential/Residual builders and the one ``REGISTRY``
  of layer types.
* ``modules``: the leaf adapters, a spec to a :class:`Module` around a family's pair;
  ``sequence_modules``: the same for the sequence layers.
* ``_module``: :class:`Module`, :class:`Context` and the checks builders share.

And the rest of the lessons:

* ``gradcheck``: :func:`numerical_gradient`, :func:`relative_error`, :func:`check`,
  :func:`check_model` (a whole model in one call).
* ``optim``: NumPy optimizers written the textbook way.
* ``engine``: ``Value``, a scalar autograd engine.
* ``gates``: the seeds' ``AddGate``, ``MultiplyGate`` and ``SigmoidGate``.

Examples:
    >>> import numpy as np, reference
    >>> spec = {"type": "Dense", "features": 1, "use_bias": True}
    >>> params = {"w": np.array([[0.5], [-1.0]]), "b": np.array([0.1])}
    >>> loss, dparams, dx = reference.value_and_grad(spec, params, np.ones((3, 2)),
    ...                                              np.zeros((3, 1)), "mse")
    >>> sorted(dparams)
    ['b', 'w']
    >>> a, cache = reference.activations.relu_forward(np.array([-1.0, 2.0]))
    >>> a
    array([0., 2.])
"""

from reference import (
    activations,
    attention,
    batchnorm,
    compose,
    conv,
    dense,
    dropout,
    embedding,
    engine,
    gates,
    gradcheck,
    losses,
    modules,
    norm,
    optim,
    pool,
    recurrent,
    residual,
    sequence_modules,
)
from reference._module import Context, Module
from reference.activations import ACTIVATIONS
from reference.compose import REGISTRY, Network, build, build_module, value_and_grad
from reference.engine import Value
from reference.gates import AddGate, MultiplyGate, SigmoidGate
from reference.gradcheck import (
    check,
    check_model,
    flatten_with_paths,
    numerical_gradient,
    relative_error,
)
from reference.losses import LOSSES

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
    "attention",
    "batchnorm",
    "build",
    "build_module",
    "check",
    "check_model",
    "compose",
    "conv",
    "dense",
    "dropout",
    "embedding",
    "engine",
    "flatten_with_paths",
    "gates",
    "gradcheck",
    "losses",
    "modules",
    "sequence_modules",
    "norm",
    "numerical_gradient",
    "optim",
    "pool",
    "recurrent",
    "relative_error",
    "residual",
    "value_and_grad",
]
