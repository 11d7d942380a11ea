"""Layer-by-layer outputs of a Sequential: activations, their statistics, dead ReLU units."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import numpy as np

from funcnet.core import Layer, Sequential, map_layers
from funcnet.diagnostics._units import dead_fraction, units_of


def _model(where: str, model) -> Layer:
    """``model`` itself, or a Sequential of the list of layers given."""
    if isinstance(model, (list, tuple)):
        if not model:
            raise ValueError(f"{where}: the list of layers is empty")
        return Sequential(list(model))
    if not isinstance(model, Layer):
        raise TypeError(f"{where}: model must be a Layer or the list of layers given to "
                        f"Sequential, got {type(model).__name__}")
    return model


def reported_layers(model: Layer) -> list[tuple[str, Layer]]:
    """``[(path, layer)]`` for every layer below ``model``, containers after their
    children (the order they finish in); a model with no children is its own entry,
    under its name. Found without running anything, by the one walker (``map_layers``).

    Examples:
        >>> model = Sequential([Dense(4), Residual(Sequential([Dense(4), relu]))])
        >>> [path for path, _ in reported_layers(model)]
        ['dense_0', 'residual_1/block/dense_0', 'residual_1/block/relu_1', 'residual_1/block',
         'residual_1']
    """
    found = []

    def collect(path, layer):
        if path or not model.children:
            found.append((path or layer.name, layer))
        return layer

    map_layers(model, collect)
    return found


def apply_reporting_outputs(where: str, model: Layer):
    """``apply(params, state, x, *, train=False, key=None) -> (y, state, outputs)``: the
    model's own ``apply`` with every layer of :func:`reported_layers` made to hand its
    output out as it runs, so the keys, names and order are exactly the model's;
    ``outputs`` lists them in that order. Usable inside ``jit`` and ``grad``.

    Args:
        where: the caller's name, for the errors (a layer that runs twice, or never).
        model: a Layer.

    Examples:
        >>> model = Sequential([Dense(2), relu])
        >>> params, state = model.init(jax.random.key(0), (3,))
        >>> apply = apply_reporting_outputs("me", model)
        >>> y, state, outputs = apply(params, state, jnp.ones((5, 3)))
        >>> [o.shape for o in outputs], bool((outputs[1] == y).all())
        ([(5, 2), (5, 2)], True)
    """
    layers = reported_layers(model)
    paths = [path for path, _ in layers]
    ran: dict = {}

    def tap(path, layer):
        name = path or layer.name
        if name not in paths:
            return layer

        def apply(params, state, x, *, train=False, key=None):
            y, state = layer.apply(params, state, x, train=train, key=key)
            if name in ran:
                raise ValueError(f"{where}: the layer at {name!r} ran twice in one apply; "
                                 f"a layer shared between two places has no one output "
                                 f"to report")
            ran[name] = y
            return y, state

        return dataclasses.replace(layer, apply=apply)

    tapped = map_layers(model, tap)

    def apply(params, state, x, *, train=False, key=None):
        ran.clear()
        y, state = tapped.apply(params, state, x, train=train, key=key)
        missing = [p for p in paths if p not in ran]
        if missing:
            raise ValueError(f"{where}: the layers at {missing} did not run in the model's "
                             f"apply, so they have no output to report")
        outputs = [ran[p] for p in paths]
        ran.clear()
        return y, state, outputs

    return apply


def _walk(where: str, model, params, state, x, train, key):
    """``[(path, layer, output)]`` for every layer of :func:`reported_layers`, computed
    in one compiled call of the model's own ``apply``."""
    model = _model(where, model)
    apply = apply_reporting_outputs(where, model)

    def outputs(params, state, x, key):
        return apply(params, state, x, train=train, key=key)[2]

    values = jax.jit(outputs)(params, state, x, key)
    return [(path, layer, y) for (path, layer), y
            in zip(reported_layers(model), values, strict=True)]


def activations(model, params, state, x, *, train: bool = False, key=None) -> dict:
    """The output of every layer of a Sequential on ``x``, keyed by layer path.

    Runs the model's own ``apply`` with every layer made to report its output, so the
    keys are exactly those of a training step. Containers are entered
    (``"sequential_1/dense_0"``, ``"residual_2/block/relu_1"``) and report their own
    output after their children's, so the last entry is the model's output.

    Args:
        model: a Sequential (or any Layer; one without ``children`` gives one entry),
            or the list of layers given to Sequential.
        params: the Sequential's params (keys ``"dense_0"``, ...).
        state: its state.
        x: ``(N, ...)`` input batch.
        train: training mode.
        key: the key ``apply`` would get (Dropout in training).

    Returns:
        ``{path: (N, ...) array}`` in layer order.

    Examples:
        >>> model = Sequential([Dense(4), relu, Dense(1)])
        >>> params, state = model.init(jax.random.key(0), (3,))
        >>> {k: v.shape for k, v in activations(model, params, state, jnp.ones((2, 3))).items()}
        {'dense_0': (2, 4), 'relu_1': (2, 4), 'dense_2': (2, 1)}
    """
    return {path: y for path, _, y in _walk("activations", model, params, state, x, train, key)}


class ActivationStats(NamedTuple):
    """Summary of one layer's outputs over a batch.

    Attributes:
        mean: mean output.
        std: standard deviation of the outputs.
        fraction_zero: fraction of outputs exactly 0.
        fraction_saturated: sigmoid: fraction below ``1 - s`` or above ``s``; tanh:
            fraction with ``|a| > s`` (``s`` the saturation threshold); ``None`` for
            other layers.
    """

    mean: float
    std: float
    fraction_zero: float
    fraction_saturated: float | None


def activation_statistics(model, params, state, x, *, train: bool = False, key=None,
                          saturation: float = 0.99) -> dict[str, ActivationStats]:
    """Mean, std, zero fraction and (sigmoid/tanh) saturated fraction of every layer's output.

    A saturated unit passes almost no gradient (sigmoid' < 0.01 beyond 0.99); a layer
    whose outputs are mostly saturated is where gradients vanish.

    Args:
        model, params, state, x, train, key: as for :func:`activations`.
        saturation: threshold ``s`` in (0.5, 1) for sigmoid (and (0, 1) for tanh).

    Returns:
        ``{path: ActivationStats}`` in layer order.

    Examples:
        >>> layers = [Dense(4), tanh]
        >>> params, state = Sequential(layers).init(jax.random.key(0), (3,))
        >>> stats = activation_statistics(layers, params, state, 100 * jnp.ones((2, 3)))
        >>> stats["tanh_1"].fraction_saturated
        1.0
    """
    where = "activation_statistics"
    if not 0.5 < saturation < 1:
        raise ValueError(f"{where}: saturation must be in (0.5, 1), got {saturation!r}")
    stats = {}
    for path, layer, y in _walk(where, model, params, state, x, train, key):
        y = np.asarray(y, dtype=np.float64)
        units = units_of(layer)
        saturated = (None if units is None or units.saturated is None
                     else float(np.mean(units.saturated(y, saturation))))
        stats[path] = ActivationStats(float(np.mean(y)), float(np.std(y)),
                                      float(np.mean(y == 0)), saturated)
    return stats


def dead_relu_fraction(model, params, state, x, *, train: bool = False,
                       key=None) -> dict[str, float]:
    """Fraction of each ReLU layer's units that output 0 for every example of the batch.

    A unit is one entry of the layer's output beyond the batch axis (a feature of a
    dense layer; a position and channel of a conv layer). A dead unit passes no
    gradient, so it never recovers.

    Args:
        model, params, state, x, train, key: as for :func:`activations`.

    Returns:
        ``{path: fraction}`` for every ReLU layer, in layer order.

    Examples:
        >>> layers = [Dense(4), relu]
        >>> params, state = Sequential(layers).init(jax.random.key(0), (3,))
        >>> dead_relu_fraction(layers, params, state, jnp.zeros((5, 3)))
        {'relu_1': 1.0}
    """
    dead = {}
    for path, layer, y in _walk("dead_relu_fraction", model, params, state, x, train, key):
        units = units_of(layer)
        if units is not None and units.dies:
            y = np.asarray(y)
            dead[path] = float(dead_fraction(y, np.ones(y.shape[0], bool)))
    return dead
