"""The training-health dashboard: one figure of what ``fit(record=Health())`` recorded."""

from __future__ import annotations

import re
from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.ticker import PercentFormatter

from funcnet.plot._figures import new_figure

_KEY = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\.(\w+)")
GUIDE = 1e-3  # the update:data ratio of a healthy step (makemore part 3)
# a fixed corner: loc="best" searches every point of every line, which takes seconds on
# a long record (and matplotlib warns, an error under the test suite's filters)
LEGEND = "upper right"


def _pretty(path: str) -> str:
    """``"['dense_0']['w']"`` as ``"dense_0/w"``; a layer path as it is."""
    parts = ["".join(groups) for groups in _KEY.findall(path)]
    return "/".join(parts) if parts else path


def _unit_kind(entry: Mapping) -> str | None:
    return "saturated" if "saturated" in entry else "dead" if "dead" in entry else None


def _colors(count: int):
    return matplotlib.colormaps["viridis"](np.linspace(0, 0.9, max(count, 1)))


def _histogram(ax, layers: Mapping, names: list, position: int, step: int) -> None:
    """Each layer's output distribution at one recorded step, as a density line."""
    for name, color in zip(names, _colors(len(names)), strict=True):
        entry = layers[name]
        fractions = entry["histogram"][position]
        low, high = entry["range"][position]
        edges = np.linspace(low, high, len(fractions) + 1)
        kind = _unit_kind(entry)
        label = (f"{name}: mean {entry['mean'][position]:+.2f}, std "
                 f"{entry['std'][position]:.2f}"
                 + (f", zeros {entry['zeros'][position]:.0%}" if "zeros" in entry else "")
                 + (f", {kind} {entry[kind][position]:.1%}" if kind else ""))
        ax.plot((edges[:-1] + edges[1:]) / 2, fractions / np.diff(edges), color=color,
                label=label)
    ax.set_title(f"activation distribution at step {step}")
    ax.set_xlabel("layer output")
    ax.set_ylabel("density")
    ax.legend(fontsize=7, loc=LEGEND)


def _over_steps(ax, steps, series: Mapping, names: list, *, log: bool, title: str,
                ylabel: str) -> None:
    for name, color in zip(names, _colors(len(names)), strict=True):
        values = np.asarray(series[name], dtype=float)
        if log:
            values = np.where(values > 0, values, np.nan)  # a zero has no place on a log axis
        ax.plot(steps, values, color=color, label=_pretty(name))
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncols=2 if len(names) > 6 else 1, loc=LEGEND)


def training_health(history: Mapping, *, layers=None, title: str | None = None):
    """The health of a training run, per layer, in one figure (makemore part 3's plots).

    Top row: every shown layer's output distribution at the first and the last recorded
    step (mean, std and saturated or dead share in the legend; a ReLU's exact zeros are
    left out of its curve and their share given there), and its saturated
    (tanh, sigmoid) or dead (ReLU) fraction over the steps. Bottom row, over the steps:
    each shown layer's output std (solid) and mean (dashed); and per parameter layer the
    gradient:data ratio and the update:data ratio (log scales; the grey line is the
    1e-3 of a healthy step: far above, the rate is too high; far below, the layer
    barely learns).

    Args:
        history: ``fit``'s history of a run with ``record=diagnostics.Health(...)``.
        layers: layer paths whose outputs to draw, in order; default the layers whose
            units can saturate or die (tanh, sigmoid, ReLU), or every layer if none can.
        title: figure title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> entry = {"step": [0, 10], "layers": {"tanh_1": {
        ...     "mean": [0.0, 0.1], "std": [0.9, 0.6], "saturated": [0.4, 0.1],
        ...     "histogram": [[0.4, 0.1, 0.1, 0.4], [0.1, 0.4, 0.4, 0.1]],
        ...     "range": [[-1, 1], [-1, 1]]}}, "params": {"['dense_0']": {
        ...     "gradient_norm": [0.5, 0.2], "gradient_data": [0.1, 0.04],
        ...     "update_data": [1e-2, 4e-3]}}}
        >>> fig = training_health({"health": [entry]})  # fit(..., record=Health()).history
        >>> [ax.get_title() for ax in fig.axes][2:4]
        ['saturated / dead units', 'activation std (solid) and mean (dashed)']
    """
    from funcnet import diagnostics

    where = "training_health"
    series = diagnostics.health_series(history)
    steps, recorded = series["step"], series["layers"]
    if steps.size == 0:
        raise ValueError(f"{where}: no step was recorded (every record.every steps): train "
                         f"longer or record more often")
    if layers is None:
        names = [p for p, e in recorded.items() if _unit_kind(e)] or list(recorded)
    else:
        if isinstance(layers, str) or not all(isinstance(p, str) for p in layers):
            raise TypeError(f"{where}: layers must be a list of layer paths, got {layers!r}")
        names = list(layers)
        unknown = [p for p in names if p not in recorded]
        if unknown or not names:
            raise ValueError(f"{where}: layers {unknown or names} are not recorded layers; "
                             f"the recorded ones are {list(recorded)}")
    fig = new_figure((17, 9))
    axes = fig.subplots(2, 3)
    _histogram(axes[0, 0], recorded, names, 0, int(steps[0]))
    _histogram(axes[0, 1], recorded, names, len(steps) - 1, int(steps[-1]))
    units = [p for p in names if _unit_kind(recorded[p])]
    ax = axes[0, 2]
    if units:
        _over_steps(ax, steps, {p: recorded[p][_unit_kind(recorded[p])] for p in units},
                    units, log=False, title="saturated / dead units", ylabel="share of units")
        for line, p in zip(ax.get_lines(), units, strict=True):
            line.set_label(f"{p} ({_unit_kind(recorded[p])})")
        ax.legend(fontsize=7, loc=LEGEND)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.set_title("saturated / dead units")
        ax.text(0.5, 0.5, "no tanh, sigmoid or ReLU layer", ha="center", va="center",
                transform=ax.transAxes)
    ax = axes[1, 0]
    _over_steps(ax, steps, {p: recorded[p]["std"] for p in names}, names, log=False,
                title="activation std (solid) and mean (dashed)", ylabel="output")
    for name, color in zip(names, _colors(len(names)), strict=True):
        ax.plot(steps, recorded[name]["mean"], color=color, linestyle="--", linewidth=0.8)
    params = series["params"]
    ratios = list(params)
    for ax, key, label in ((axes[1, 1], "gradient_data", "gradient:data ratio"),
                           (axes[1, 2], "update_data", "update:data ratio")):
        if not ratios:
            ax.set_title(label)
            ax.text(0.5, 0.5, "no parameters", ha="center", va="center",
                    transform=ax.transAxes)
            continue
        _over_steps(ax, steps, {p: params[p][key] for p in ratios}, ratios, log=True,
                    title=f"{label} per parameter layer", ylabel="||·|| / ||w||")
    if ratios:
        axes[1, 2].axhline(GUIDE, color="gray", linestyle=":", linewidth=2,
                           label="1e-3 guide")
        axes[1, 2].legend(fontsize=7, ncols=2 if len(ratios) > 6 else 1, loc=LEGEND)
    fig.suptitle(title or "training health")
    return fig
