"""Layer-by-layer outputs of a Sequential: activations, their statistics, dead ReLU units."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import numpy as np

from funcnet.core import Layer, Sequential, map_layers


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


def _walk(where: str, model, params, state, x, train, key):
    """``[(path, layer, output)]`` for every layer below the model (containers after
    their children), computed in one compiled call of the model's own ``apply``.

    Every layer is wrapped (``map_layers``) to hand its output out as it runs, so the
    keys, names and order are exactly the model's; a model with no children reports
    its own output under its name.
    """
    model = _model(where, model)
    found = []

    def tap(path, layer):
        def apply(params, state, x, *, train=False, key=None):
            y, state = layer.apply(params, state, x, train=train, key=key)
            if path or not model.children:
                found.append((path or layer.name, layer, y))
            return y, state

        return dataclasses.replace(layer, apply=apply)

    tapped = map_layers(model, tap)

    def outputs(params, state, x, key):
        found.clear()
        tapped.apply(params, state, x, train=train, key=key)
        return [y for _, _, y in found]

    values = jax.jit(outputs)(params, state, x, key)
    return [(path, layer, y) for (path, layer, _), y in zip(found, values, strict=True)]


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

    Example:
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


def _activation_name(layer: Layer) -> str | None:
    spec = layer.spec
    if isinstance(spec, dict) and spec.get("type") == "Activation":
        return spec.get("name")
    return None


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

    Example:
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
        name = _activation_name(layer)
        if name == "sigmoid":
            saturated = float(np.mean((y < 1 - saturation) | (y > saturation)))
        elif name == "tanh":
            saturated = float(np.mean(np.abs(y) > saturation))
        else:
            saturated = None
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

    Example:
        >>> layers = [Dense(4), relu]
        >>> params, state = Sequential(layers).init(jax.random.key(0), (3,))
        >>> dead_relu_fraction(layers, params, state, jnp.zeros((5, 3)))
        {'relu_1': 1.0}
    """
    dead = {}
    for path, layer, y in _walk("dead_relu_fraction", model, params, state, x, train, key):
        if _activation_name(layer) == "relu":
            y = np.asarray(y)
            dead[path] = float(np.mean(np.all(y.reshape(y.shape[0], -1) == 0, axis=0)))
    return dead
