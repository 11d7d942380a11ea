"""The training-health record: what ``fit(record=Health(...))`` measures at every
``every``-th step, inside the compiled epoch.

Per layer (every layer :func:`reported_layers` lists, on the training forward pass
itself): the outputs' mean and standard deviation, their saturated fraction (tanh,
sigmoid) or dead fraction (ReLU), as the one table in ``_units`` decides, and a
histogram. Per parameter array or layer: the gradient's norm, and the gradient:data and
update:data ratios ``||g|| / ||w||`` and ``||u|| / ||w||``, ``w`` the params after the
update as makemore takes them (for arrays of mean about 0
these equal the ratios of standard deviations that makemore plots; a healthy update is
about 1e-3 of its weights). Padding samples of a last partial batch count nowhere.

Everything is reduced to a few small arrays in the step (no host callback) and turned
into the history's lists once per epoch. Only the recorded steps measure anything:
the epoch runs the recorded step there and the plain step everywhere else, so a step
off the record costs exactly what it costs without one (``benchmarks/step_cost.py``
measures the difference).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from funcnet._dtypes import at_least_float32
from funcnet.diagnostics._activations import reported_layers
from funcnet.diagnostics._norms import gradient_norm_vector, norm_ratio
from funcnet.diagnostics._paths import PER, parameter_paths
from funcnet.diagnostics._units import dead_fraction, units_of

_PARAM_KEYS = ("gradient_norm", "gradient_data", "update_data")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"Health: {name} must be an integer >= 1, got {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class Health:
    """Record the health of every layer while ``fit`` trains: ``fit(..., record=Health())``.

    ``history["health"]`` then holds one entry per epoch (see :func:`health_series`
    to join them, :func:`funcnet.plot.training_health` to draw them)::

        {"step": [s, ...],                        # global 0-based step numbers
         "layers": {path: {"mean": [...], "std": [...],
                           "saturated": [...] (tanh, sigmoid),
                           "dead": [...], "zeros": [...] (relu),
                           "histogram": [[bins fractions], ...], "range": [[lo, hi], ...]}},
         "params": {path: {"gradient_norm": [...], "gradient_data": [...],
                           "update_data": [...]}}}

    Step ``s`` describes the ``s + 1``-th update: the activations of its forward pass
    (the params before it), its gradient and the update it made (0 for a step the guard
    skipped; such a step and those after it are not recorded); both ratios divide by
    the norm of the params after that update.

    Attributes:
        every: record steps ``0, every, 2 * every, ...`` of each epoch (counted from
            the epoch's first step, so every epoch's first step is recorded).
        saturation: threshold ``s`` in (0.5, 1): tanh is saturated beyond ``|a| > s``,
            sigmoid beyond ``a > s`` or ``a < 1 - s``.
        bins: histogram bins per layer, over the layer's bounds (tanh ``[-1, 1]``,
            sigmoid ``[0, 1]``) or else the step's smallest to largest output; each bin
            holds its share of the layer's outputs. A ReLU's exact zeros are left out
            of its histogram and recorded as ``"zeros"`` (their share) beside ``"dead"``
            (the share of units that are 0 on every sample of the batch).
        per: ``"layer"`` (a layer's arrays together) or ``"leaf"`` (each array) for the
            gradient and update ratios.

    Examples:
        >>> (x, y) = data.spirals(seed=0)
        >>> model = Sequential([Dense(16), tanh, Dense(3)])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> history = fit(model, params, state, optim.sgd(0.1), (x, y), epochs=2,
        ...               batch_size=100, key=jax.random.key(1), record=Health(every=2)).history
        >>> series = health_series(history)
        >>> series["step"].tolist(), sorted(series["layers"]["tanh_1"])  # 3 steps an epoch
        ([0, 2, 3, 5], ['histogram', 'mean', 'range', 'saturated', 'std'])
        >>> list(series["params"]), series["params"]["['dense_0']"]["update_data"].shape
        (["['dense_0']", "['dense_2']"], (4,))
    """

    every: int = 10
    saturation: float = 0.99
    bins: int = 40
    per: str = "layer"

    def __post_init__(self):
        _positive_int("every", self.every)
        if _positive_int("bins", self.bins) < 2:
            raise ValueError(f"Health: bins must be an integer >= 2, got {self.bins!r}")
        if (isinstance(self.saturation, bool) or not isinstance(self.saturation, numbers.Real)
                or not 0.5 < self.saturation < 1):
            raise ValueError(f"Health: saturation must be a number in (0.5, 1), got "
                             f"{self.saturation!r}")
        if self.per not in PER:
            raise ValueError(f"Health: per must be 'layer' or 'leaf', got {self.per!r}")

    def records(self, step: int) -> bool:
        """Whether step ``step`` of an epoch (0-based) is recorded: the epoch's first and
        every ``every``-th after it.

        Examples:
            >>> [Health(every=3).records(s) for s in range(5)]
            [True, False, False, True, False]
        """
        return step % self.every == 0

    def update_norms(self, updates) -> jax.Array:
        """The norms of the step's updates per parameter group, ``(P,)``: all the record
        needs of them. The recorded step computes them inside its skip branch, where the
        optimizer makes the updates, so the updates themselves never leave it.

        Examples:
            >>> Health(per="leaf").update_norms({"b": jnp.zeros(2), "w": jnp.full(4, 0.5)})
            Array([0., 1.], dtype=float32)
        """
        if not jax.tree_util.tree_leaves(updates):
            return jnp.zeros((0,), jnp.float32)
        return gradient_norm_vector(updates, per=self.per)[0]

    def measure(self, model, outputs, mask, grads, update_norms, new_params) -> dict:
        """The step's record, inside the compiled step: a dict of small arrays.

        Args:
            model: the model trained.
            outputs: its layers' outputs in :func:`reported_layers` order, each ``(B, ...)``.
            mask: ``(B,)`` sample weights (0 for padding).
            grads: the step's gradient.
            update_norms: ``(P,)``, :meth:`update_norms` of the step's update.
            new_params: the params after the update, the "data" of both ratios.

        Returns:
            ``mean``, ``std``, ``units`` (saturated or dead share, NaN for other
            layers), ``zeros``: ``(L,)``; ``range``: ``(L, 2)``; ``histogram``:
            ``(L, bins)``; ``gradient_norm``, ``gradient_data``, ``update_data``:
            ``(P,)``, for the ``L`` reported layers and ``P`` parameter groups.

        Examples:
            >>> model = Sequential([Dense(2), relu])
            >>> params, state = model.init(jax.random.key(0), (3,))
            >>> _, _, outputs = apply_reporting_outputs("me", model)(params, state,
            ...                                                      jnp.ones((4, 3)))
            >>> health = Health(every=1)
            >>> record = health.measure(model, outputs, jnp.ones(4), params,
            ...                         health.update_norms(params), params)
            >>> {k: v.shape for k, v in record.items()}["histogram"], record["update_data"]
            ((2, 40), Array([1.], dtype=float32))
        """
        layers = reported_layers(model)

        per_layer = [self._layer(layer, y, mask) for (_, layer), y
                     in zip(layers, outputs, strict=True)]
        # every layer's histogram in one scatter: layer j's bins are j * bins + k
        bins, counted = zip(*(m.pop("bins") for m in per_layer), strict=True)
        offsets = [j * self.bins + b for j, b in enumerate(bins)]
        counts = jnp.zeros(len(layers) * self.bins, counted[0].dtype).at[
            jnp.concatenate(offsets)].add(jnp.concatenate(counted))
        record = {k: jnp.stack([m[k] for m in per_layer]) for k in per_layer[0]}
        record["histogram"] = (counts.reshape(len(layers), self.bins)
                               / record.pop("total")[:, None])
        return {**record, **self._params(grads, update_norms, new_params)}

    def _layer(self, layer, y, mask) -> dict:
        if not isinstance(y, jax.Array) or jnp.ndim(y) < 1 or y.shape[0] != mask.shape[0]:
            raise ValueError(f"Health: a layer's output must be one array (B, ...) with the "
                             f"batch's {mask.shape[0]} rows; layer {layer.name!r} gave "
                             f"{jax.tree.map(jnp.shape, y)}")
        flat = at_least_float32(y).reshape(y.shape[0], -1)
        weight = mask.astype(flat.dtype)[:, None]
        real = mask > 0
        total = jnp.maximum(jnp.sum(mask), 1) * flat.shape[1]
        mean = jnp.sum(weight * flat) / total
        std = jnp.sqrt(jnp.sum(weight * jnp.square(flat - mean)) / total)
        units = units_of(layer)
        if units is None:
            fraction = jnp.asarray(jnp.nan, flat.dtype)
        elif units.dies:
            fraction = dead_fraction(flat, real).astype(flat.dtype)
        else:
            fraction = jnp.sum(weight * units.saturated(flat, self.saturation)) / total
        if units is not None and units.bounds is not None:
            low, high = (jnp.asarray(b, flat.dtype) for b in units.bounds)
        else:
            low = jnp.min(jnp.where(real[:, None], flat, jnp.inf))
            high = jnp.max(jnp.where(real[:, None], flat, -jnp.inf))
            # all outputs equal (a dead layer): one bin of width 1 starting at them
            high = jnp.where(high > low, high, low + 1)
        inside = (flat >= low) & (flat <= high)
        zeros = jnp.sum(weight * (flat == 0)) / total
        if units is not None and units.dies:
            # a ReLU's exact zeros are a spike that would dwarf the rest: they are
            # recorded as their own share, and the histogram is of the other outputs
            inside = inside & (flat != 0)
        # values equal to `high` (and any that round up to `bins`) are in the last,
        # closed bin; values outside [low, high] (only NaN can be) count in none
        index = jnp.clip(jnp.floor((flat - low) * (self.bins / (high - low))), 0,
                         self.bins - 1).astype(jnp.int32)
        return {"mean": mean, "std": std, "units": fraction, "zeros": zeros,
                "range": jnp.stack([low, high]), "total": total,
                "bins": (jnp.where(inside, index, 0).ravel(), (weight * inside).ravel())}

    def _params(self, grads, update, new_params) -> dict:
        if not jax.tree_util.tree_leaves(grads):
            return {k: jnp.zeros((0,), jnp.float32) for k in _PARAM_KEYS}
        # each norm once; the ratios are norm_ratio's (inf for a zero array that
        # moves). The data is the params after the update, as makemore measures it:
        # reading the params before it, which the update overwrites in place, made
        # XLA:CPU copy them on every step.
        grad, weight = (gradient_norm_vector(tree, per=self.per)[0]
                        for tree in (grads, new_params))
        return {"gradient_norm": grad, "gradient_data": norm_ratio(grad, weight),
                "update_data": norm_ratio(update, weight)}

    def entry(self, model, params, record, first_step: int, good: int) -> dict:
        """One epoch's ``history["health"]`` entry, on the host, from its stacked
        ``record`` (each array ``(R, ...)``, one row per recorded step: epoch steps
        ``0, every, 2 * every, ...``), keeping those before ``good`` (the first skipped
        step); ``first_step`` is the epoch's first global step number.

        Examples:
            >>> model = Sequential([Dense(2), relu])
            >>> params = {"dense_0": {"w": -jnp.ones((3, 2)), "b": jnp.zeros(2)}, "relu_1": {}}
            >>> state = {"dense_0": {}, "relu_1": {}}
            >>> _, _, outputs = apply_reporting_outputs("me", model)(params, state,
            ...                                                      jnp.ones((4, 3)))
            >>> health = Health(every=1)
            >>> record = health.measure(model, outputs, jnp.ones(4), params,
            ...                         health.update_norms(params), params)
            >>> stacked = jax.tree.map(lambda a: a[None], record)  # one step
            >>> entry = health.entry(model, params, stacked, first_step=0, good=1)
            >>> entry["step"], entry["layers"]["relu_1"]["dead"], entry["layers"]["dense_0"]["mean"]
            ([0], [1.0], [-3.0])
        """
        recorded = len(np.asarray(record["mean"]))
        kept = [r for r in range(recorded) if r * self.every < good]
        picked = {k: np.asarray(v)[kept] for k, v in record.items()}
        layers = {}
        for j, (path, layer) in enumerate(reported_layers(model)):
            entry = {"mean": picked["mean"][:, j].tolist(), "std": picked["std"][:, j].tolist()}
            units = units_of(layer)
            if units is not None and units.dies:
                entry["dead"] = picked["units"][:, j].tolist()
                entry["zeros"] = picked["zeros"][:, j].tolist()
            elif units is not None:
                entry["saturated"] = picked["units"][:, j].tolist()
            entry["histogram"] = picked["histogram"][:, j].tolist()
            entry["range"] = picked["range"][:, j].tolist()
            layers[path] = entry
        names = parameter_paths(params, per=self.per) if jax.tree_util.tree_leaves(params) \
            else []
        recorded_params = {name: {k: picked[k][:, j].tolist() for k in _PARAM_KEYS}
                           for j, name in enumerate(names)}
        return {"step": [first_step + r * self.every for r in kept], "layers": layers,
                "params": recorded_params}


def _join(entries: list):
    """Lists of the same nested dict keys joined end to end, as NumPy arrays."""
    first = entries[0]
    if isinstance(first, Mapping):
        return {k: _join([e[k] for e in entries]) for k in first}
    joined = [v for e in entries for v in e]
    return np.asarray(joined, dtype=np.int64 if all(isinstance(v, int) for v in joined)
                      and joined else np.float64)


def health_series(history: Mapping) -> dict:
    """``history["health"]``'s epochs joined into one series per measure, as arrays.

    Args:
        history: ``fit``'s history, trained with ``record=Health(...)``.

    Returns:
        The :class:`Health` entry layout with each list a NumPy array over every
        recorded step of the run: ``step (S,)``, per layer ``mean (S,)``, ...,
        ``histogram (S, bins)``, ``range (S, 2)``, per parameter ``update_data (S,)``.

    Examples:
        >>> entry = {"step": [0], "layers": {"relu_1": {"mean": [0.5]}}, "params": {}}
        >>> health_series({"health": [entry, {**entry, "step": [10]}]})["step"]
        array([ 0, 10])
    """
    if not isinstance(history, Mapping) or "health" not in history:
        raise ValueError("health_series: history must be fit's history of a run with "
                         "record=funcnet.diagnostics.Health(...) (it has a 'health' key), "
                         f"got {sorted(history) if isinstance(history, Mapping) else history!r}")
    entries = history["health"]
    if not entries:
        raise ValueError("health_series: history['health'] is empty (no epoch has run)")
    return _join(list(entries))
