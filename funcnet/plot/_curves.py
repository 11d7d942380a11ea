"""Training curves: loss and accuracy per epoch (or per step), per-layer gradient norms."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import PercentFormatter

from funcnet.diagnostics._paths import pretty_path
from funcnet.plot._figures import figure_and_axes, new_figure

_MARKERS_UP_TO = 60  # below this many points each one gets a marker: 1 epoch stays visible


def _float_series(where: str, name: str, values) -> np.ndarray:
    """A list that may hold ``None`` as a float array with NaN for the gaps."""
    if isinstance(values, str | bytes) or np.ndim(values) != 1:
        raise TypeError(
            f"{where}: {name} must be a list of numbers (None for a missing value), "
            f"got {type(values).__name__} of shape {np.shape(values)}"
        )
    if hasattr(values, "dtype") and np.issubdtype(values.dtype, np.number):
        out = np.asarray(values, dtype=np.float64)  # an array: no per-element loop
        return np.where(np.isfinite(out), out, np.nan)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        numeric = isinstance(v, numbers.Real) or (
            np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number))
        if isinstance(v, bool) or not numeric:
            raise TypeError(f"{where}: {name}[{i}] must be a number or None, got {v!r}")
        out[i] = float(v)
    return np.where(np.isfinite(out), out, np.nan)  # a diverged epoch shows as a gap


def _style(n: int) -> dict:
    return {"marker": "o", "markersize": 3} if n <= _MARKERS_UP_TO else {}


def _last(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else float("nan")


def _history_series(where: str, history: Mapping) -> tuple[np.ndarray, dict]:
    """``(epochs, {key: values})`` keeping only the series with at least one value."""
    keys = ("train_loss", "eval_loss", "train_accuracy", "eval_accuracy", "learning_rate")
    series = {}
    for key in keys:
        if history.get(key) is not None:
            values = _float_series(where, f"history[{key!r}]", history[key])
            if np.isfinite(values).any():
                series[key] = values
    if not any(k in series for k in keys[:4]):
        raise ValueError(
            f"{where}: history has no values under {list(keys[:4])}; got keys "
            f"{sorted(history)} (a fit history, or pass a plain list of losses)"
        )
    lengths = {len(v) for v in series.values()}
    if history.get("epoch") is not None:
        epochs = _float_series(where, "history['epoch']", history["epoch"])
        lengths.add(len(epochs))
    else:
        epochs = np.arange(1, max(lengths) + 1, dtype=float)
    if len(lengths) > 1:
        sizes = {k: len(v) for k, v in series.items()}
        raise ValueError(
            f"{where}: history lists must have one entry per epoch (same lengths), "
            f"got {sizes} and {len(epochs)} epochs; use None for a missing value"
        )
    return epochs, series


def _draw_pair(ax, epochs, series, kind: str, log_scale: bool) -> None:
    for split, color in (("train", "tab:blue"), ("eval", "tab:orange")):
        values = series.get(f"{split}_{kind}")
        if values is None:
            continue
        last = _last(values)
        shown = f"{last:.1%}" if kind == "accuracy" and last <= 1 else f"{last:.4g}"
        ax.plot(epochs, values, color=color, label=f"{split} (last {shown})",
                **_style(len(values)))
    ax.set_xlabel("epoch")
    ax.set_ylabel(kind)
    if kind == "loss" and log_scale:
        ax.set_yscale("log")
    if kind == "accuracy" and all(np.nanmax(v) <= 1 for k, v in series.items()
                                  if k.endswith("accuracy")):
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.grid(True, alpha=0.3)
    ax.legend()


def _check_log(where: str, values: np.ndarray, name: str) -> None:
    if np.nanmin(values) <= 0:
        raise ValueError(
            f"{where}: log_scale=True needs positive {name}, got a value "
            f"{np.nanmin(values):.4g}; pass log_scale=False"
        )


def loss_curves(history, *, log_scale: bool = False, smooth: int = 0, ax=None,
                title: str | None = None, label: str = "loss"):
    """Loss (and accuracy, and a learning-rate schedule) curves from a fit history.

    Args:
        history: either a fit history, a dict of per-epoch lists
            ``{"epoch", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy",
            "learning_rate", "seconds"}`` where any key may be missing and any entry may
            be ``None`` (drawn as a gap, like a non-finite value), or the
            ``FitResult`` of ``funcnet.fit`` holding one; or a plain sequence of per-step
            losses ``(T,)``.
        log_scale: logarithmic loss axis (losses must then be positive).
        smooth: for a plain sequence, also draw a moving average over ``smooth`` steps.
        ax: an Axes to draw into; there only the loss panel is drawn. Without it, a new
            figure gets one panel each for loss, accuracy (when present) and learning
            rate (when it changes over epochs).
        title: figure title (the Axes title when ``ax`` is given).
        label: for a plain sequence, the curve's legend label (so curves added to the
            same Axes afterwards share one legend).

    Returns:
        The matplotlib Figure.

    Examples:
        >>> history = {"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.3],
        ...            "eval_loss": [1.0, 0.6, None], "train_accuracy": [0.6, 0.8, 0.9]}
        >>> fig = loss_curves(history)
        >>> fig = loss_curves([2.3, 1.7, 1.2, 0.9, 0.8], smooth=2)
    """
    where = "loss_curves"
    history = getattr(history, "history", history)  # a FitResult carries its history
    if not isinstance(history, Mapping):
        return _step_losses(where, history, log_scale, smooth, ax, title, label)
    epochs, series = _history_series(where, history)
    losses = [series[k] for k in ("train_loss", "eval_loss") if k in series]
    if log_scale and losses:
        _check_log(where, np.concatenate(losses), "losses")
    panels = [kind for kind in ("loss", "accuracy")
              if any(k.endswith(kind) for k in series)]
    rates = series.get("learning_rate")
    if rates is not None and np.unique(rates[np.isfinite(rates)]).size > 1:
        panels.append("learning_rate")
    if ax is not None:
        panels = panels[:1]
        fig, ax = figure_and_axes(where, ax, (6, 4))
        axes = [ax]
    else:
        fig = new_figure((4.5 * len(panels), 3.8))
        axes = list(fig.subplots(1, len(panels), squeeze=False)[0])
    for panel_ax, kind in zip(axes, panels, strict=True):
        if kind == "learning_rate":
            panel_ax.plot(epochs, rates, color="tab:green", **_style(len(rates)))
            panel_ax.set_xlabel("epoch")
            panel_ax.set_ylabel("learning rate")
            panel_ax.grid(True, alpha=0.3)
        else:
            _draw_pair(panel_ax, epochs, series, kind, log_scale)
    if title and ax is not None:
        ax.set_title(title)
    elif title:
        fig.suptitle(title)
    return fig


def _step_losses(where, losses, log_scale, smooth, ax, title, label):
    values = _float_series(where, "history", losses)
    if not np.isfinite(values).any():
        raise ValueError(f"{where}: history has no finite loss values, got {len(values)}")
    if isinstance(smooth, bool) or not isinstance(smooth, numbers.Integral) or smooth < 0:
        raise ValueError(f"{where}: smooth must be an integer >= 0 (a window), got {smooth!r}")
    if log_scale:
        _check_log(where, values, "losses")
    fig, ax = figure_and_axes(where, ax, (6, 4))
    steps = np.arange(len(values))
    if smooth > 1 and len(values) >= smooth:
        ax.plot(steps, values, color="tab:blue", alpha=0.3, label=label)
        window = np.ones(smooth) / smooth
        ax.plot(steps[smooth - 1:], np.convolve(values, window, mode="valid"),
                color="tab:blue", label=f"moving average ({smooth} steps)")
        ax.legend()
    else:
        ax.plot(steps, values, color="tab:blue", label=label, **_style(len(values)))
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"loss (last {_last(values):.4g})")
    return fig


def _norm_table(where: str, norms, layer_names) -> tuple[list[str], np.ndarray, bool]:
    """``(names, values, per_epoch)``: values ``(layers,)`` or ``(epochs, layers)``."""
    if isinstance(norms, Mapping):
        if layer_names is not None:
            raise ValueError(f"{where}: layer_names is only for an array; a dict names "
                             f"its layers by its keys")
        if not norms:
            raise ValueError(f"{where}: norms is empty; expected at least one layer")
        names = [pretty_path(str(k)) for k in norms]
        ranks = {np.ndim(v) for v in norms.values()}
        if ranks == {0}:
            values = np.array([float(v) for v in norms.values()])
        elif ranks == {1} and len({len(v) for v in norms.values()}) == 1:
            values = np.stack([_float_series(where, f"norms[{k!r}]", v)
                               for k, v in norms.items()], axis=1)
        else:
            sizes = {k: np.shape(v) for k, v in norms.items()}
            raise ValueError(f"{where}: norms must map every layer to a number (one "
                             f"epoch) or to equally long lists (one per epoch), got {sizes}")
    else:
        values = np.asarray(norms, dtype=float)
        if values.ndim not in (1, 2) or values.size == 0:
            raise ValueError(f"{where}: norms must be a (layers,) or (epochs, layers) array "
                             f"or a dict, got shape {values.shape}")
        count = values.shape[-1]
        names = ([f"layer {i}" for i in range(count)] if layer_names is None
                 else [pretty_path(str(n)) for n in layer_names])
        if len(names) != count:
            raise ValueError(f"{where}: got {len(names)} layer_names for {count} layers "
                             f"(norms shape {values.shape})")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        index = np.argwhere(bad)[0]
        at = f"layer {names[index[-1]]!r}" + (f", epoch {index[0]}" if values.ndim == 2 else "")
        raise ValueError(f"{where}: gradient norms must be finite and >= 0, got "
                         f"{values[tuple(index)]} at {at}")
    return names, values, values.ndim == 2


def gradient_magnitudes(norms, layer_names=None, *, kind: str = "auto",
                        log_scale: bool = True, ax=None, title: str | None = None):
    """Per-layer gradient magnitudes: bars for one step, lines or a heat map over epochs.

    Vanishing gradients show as bars falling by orders of magnitude towards the input;
    exploding ones as bars (or lines) rising. With ``log_scale`` a zero norm (a dead
    layer) is left out of bars and lines and greyed in the heat map.

    Args:
        norms: ``{path: float}`` for one step; ``{path: [float per epoch]}``; or an array
            ``(layers,)`` or ``(epochs, layers)`` named by ``layer_names``. Layers are
            drawn in the given order (input first), keystr paths labelled pretty
            (``"dense_0/w"``, by ``funcnet.diagnostics.pretty_path``).
        layer_names: names of the array's layers (default ``"layer 0"``, ...).
        kind: ``"bars"``, ``"lines"``, ``"heatmap"`` or ``"auto"`` (bars for one step,
            lines up to 10 layers, else a heat map).
        log_scale: logarithmic magnitude axis.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = gradient_magnitudes({"['dense_0']['w']": 1e-6, "['dense_2']['w']": 3e-2})
        >>> fig = gradient_magnitudes(np.abs(np.random.randn(20, 4)), ["w1", "w2", "w3", "w4"])
    """
    where = "gradient_magnitudes"
    names, values, per_epoch = _norm_table(where, norms, layer_names)
    if kind == "auto":
        kind = "bars" if not per_epoch else ("lines" if len(names) <= 10 else "heatmap")
    if kind not in ("bars", "lines", "heatmap"):
        raise ValueError(f"{where}: kind must be 'auto', 'bars', 'lines' or 'heatmap', "
                         f"got {kind!r}")
    if per_epoch == (kind == "bars"):
        need = "one value per layer" if kind == "bars" else "values per epoch"
        raise ValueError(f"{where}: kind={kind!r} needs {need}, got shape {values.shape}")
    if log_scale and not (values > 0).any():
        raise ValueError(f"{where}: every gradient norm is 0, which has no log scale; "
                         f"pass log_scale=False")
    fig, ax = figure_and_axes(where, ax, (max(6.0, 0.45 * len(names) + 2), 4.5))
    shown = np.where(values > 0, values, np.nan) if log_scale else values
    if kind == "bars":
        positions = np.arange(len(names))
        drawn = np.isfinite(shown)
        bars = ax.bar(positions[drawn], shown[drawn], color="tab:blue")
        ax.bar_label(bars, labels=[f"{v:.2g}" for v in shown[drawn]], fontsize=7)
        for position in positions[~drawn]:  # a zero norm has no bar on a log axis
            ax.annotate("0", (position, 0.01), xycoords=("data", "axes fraction"),
                        ha="center", va="bottom", fontsize=8, color="tab:red")
        ax.set_xticks(positions, names, rotation=45 if len(names) > 3 else 0, ha="right"
                      if len(names) > 3 else "center", fontsize=8)
        ax.set_xlabel("layer (input → output)")
    elif kind == "lines":
        epochs = np.arange(1, values.shape[0] + 1)
        colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(names)))
        for column, (name, color) in enumerate(zip(names, colors, strict=True)):
            ax.plot(epochs, shown[:, column], color=color, label=name,
                    **_style(len(epochs)))
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8, title="input → output", title_fontsize=8)
    else:
        cmap = matplotlib.colormaps["magma"].with_extremes(bad="lightgray")
        positive = values[values > 0]
        norm = LogNorm(positive.min(), max(positive.max(), positive.min() * 10)) \
            if log_scale else None
        image = ax.imshow(np.ma.masked_invalid(shown.T), aspect="auto", cmap=cmap,
                          norm=norm, interpolation="nearest", origin="upper",
                          extent=(0.5, values.shape[0] + 0.5, len(names) - 0.5, -0.5))
        if len(names) <= 40:
            ax.set_yticks(np.arange(len(names)), names, fontsize=7)
        ax.set_xlabel("epoch")
        ax.set_ylabel("layer (input at top)")
        fig.colorbar(image, ax=ax, label="gradient norm")
    if kind != "heatmap":
        ax.set_ylabel("gradient norm")
        if log_scale:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    ax.set_title(title or "gradient magnitude per layer")
    return fig
