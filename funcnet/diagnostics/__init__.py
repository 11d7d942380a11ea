"""Gradient-flow diagnostics: per-layer gradient norms, update ratios, activation health.

Vanishing gradients show as gradient norms falling by orders of magnitude from the
output layer to the input layer; exploding ones as norms rising. Saturated sigmoid/tanh
units and dead ReLU units (zero for every example) are the usual cause, and
:func:`activation_statistics` / :func:`dead_relu_fraction` find them.

Paths are ``jax.tree_util.keystr`` names (``"['dense_0']['w']"``), listed in layer
order: ``dense_2`` before ``dense_10`` (jax itself sorts dict keys as strings).

While training: ``fit(..., record=Health(every=10))`` records, inside the compiled
epoch, every layer's activation mean, std, histogram and saturated (tanh, sigmoid) or
dead (ReLU) fraction, and each layer's gradient norm and gradient:data and update:data
ratios; :func:`health_series` joins the epochs and ``funcnet.plot.training_health``
draws them.

Through time, for a recurrent layer: :func:`hidden_gradients` gives ``dL/dh_t`` at
every step and :func:`hidden_gradient_norms` its norm per step, which falls
geometrically back through a plain RNN and much less through an LSTM or GRU.

Curvature and the loss around the params, each one compiled program:
:func:`hessian_top_eigenvalue` (power iteration on Hessian-vector products; gradient
descent diverges past ``2 / lambda_max``), :func:`lr_range_test` (the rate swept
exponentially over a short run, with a suggested rate) and :func:`loss_landscape`
(1-D and 2-D slices along filter-normalised random directions). Plot labels write
paths as :func:`pretty_path` does (``"dense_0/w"``).

Two forms of each per-path measure:

* ``gradient_norms(grads) -> {path: norm}``: for printing and
  :func:`funcnet.plot.gradient_magnitudes`;
* ``gradient_norm_vector(grads) -> (norms, paths)``: a ``(paths,)`` array and the
  static list of names, usable inside ``jax.jit`` and ``lax.scan`` (stack the arrays
  over steps; :func:`parameter_paths` gives the names on the host).

Examples:
    >>> model = Sequential([Dense(4), relu, Dense(1)])
    >>> params, state = model.init(jax.random.key(0), (3,))
    >>> grads = jax.grad(lambda p: jnp.sum(model.apply(p, state, jnp.ones((2, 3)))[0]))(params)
    >>> list(gradient_norms(grads, per="layer"))
    ["['dense_0']", "['dense_2']"]
"""

from funcnet.diagnostics._activations import (
    ActivationStats,
    activation_statistics,
    activations,
    apply_reporting_outputs,
    dead_relu_fraction,
    reported_layers,
)
from funcnet.diagnostics._health import Health, health_series
from funcnet.diagnostics._hessian import (
    HessianEigen,
    hessian_top_eigenvalue,
    hessian_vector_product,
)
from funcnet.diagnostics._landscape import (
    LossLandscape,
    filter_normalized_direction,
    loss_landscape,
)
from funcnet.diagnostics._lr_range import (
    RULES,
    LRRangeResult,
    lr_range_test,
    suggest_learning_rate,
)
from funcnet.diagnostics._norms import (
    gradient_norm_vector,
    gradient_norms,
    gradient_ratio,
    update_ratio_vector,
    update_ratios,
)
from funcnet.diagnostics._paths import (
    PER,
    natural_order,
    parameter_paths,
    path_order_key,
    pretty_path,
)
from funcnet.diagnostics._through_time import hidden_gradient_norms, hidden_gradients

__all__ = [
    "PER",
    "RULES",
    "ActivationStats",
    "Health",
    "HessianEigen",
    "LRRangeResult",
    "LossLandscape",
    "activation_statistics",
    "activations",
    "apply_reporting_outputs",
    "dead_relu_fraction",
    "filter_normalized_direction",
    "gradient_norm_vector",
    "gradient_norms",
    "gradient_ratio",
    "health_series",
    "hidden_gradient_norms",
    "hessian_top_eigenvalue",
    "hessian_vector_product",
    "hidden_gradients",
    "loss_landscape",
    "lr_range_test",
    "natural_order",
    "parameter_paths",
    "path_order_key",
    "reported_layers",
    "pretty_path",
    "suggest_learning_rate",
    "update_ratio_vector",
    "update_ratios",
]
