"""Gradients through time: ``||dL/dh_t||`` against the step t, one line per model."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from funcnet.plot._figures import figure_and_axes

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def _norm_series(where: str, norms) -> dict[str, np.ndarray]:
    if not isinstance(norms, Mapping):
        raise TypeError(f"{where}: norms must be a dict {{model name: (T,) norms}}, got "
                        f"{type(norms).__name__}; wrap one model as {{'RNN': norms}}")
    if not norms:
        raise ValueError(f"{where}: norms is empty; expected at least one model")
    series = {}
    for name, values in norms.items():
        array = np.asarray(values)
        if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{where}: norms[{name!r}] must be a non-empty (T,) array of "
                             f"numbers (hidden_gradient_norms), got shape {array.shape} and "
                             f"dtype {array.dtype}")
        array = array.astype(np.float64)
        bad = ~np.isfinite(array) | (array < 0)
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{where}: norms[{name!r}] must be finite and >= 0, got "
                             f"{array[t]} at t={t}")
        series[str(name)] = array
    return series


def gradients_through_time(norms, *, log_scale: bool = True, ax=None,
                           title: str | None = None):
    """``||dL/dh_t||`` against t, one line per model: vanishing (exploding) through time.

    A loss read at the last step reaches ``h_{T-1}`` directly and ``h_0`` only through
    the whole recurrence, so a line falling to the left is a vanishing gradient through
    time and one rising to the left an exploding one. Each legend entry gives the ratio
    ``||dL/dh_0|| / ||dL/dh_{T-1}||``. With ``log_scale`` a zero norm is left out (a gap).

    Args:
        norms: ``{model name: (T,) norms}``, entry t being ``||dL/dh_t||`` (t = 0 is the
            first step), as :func:`funcnet.diagnostics.hidden_gradient_norms` returns.
            Models may have different lengths T.
        log_scale: logarithmic norm axis.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = gradients_through_time({"RNN": 0.9 ** np.arange(50)[::-1],
        ...                               "LSTM": 0.99 ** np.arange(50)[::-1]})
        >>> [line.get_label() for line in fig.axes[0].get_lines()]
        ['RNN (h_0/h_49 5.7e-03)', 'LSTM (h_0/h_49 6.1e-01)']
    """
    where = "gradients_through_time"
    series = _norm_series(where, norms)
    if not isinstance(log_scale, bool):
        raise TypeError(f"{where}: log_scale must be True or False, got {log_scale!r}")
    if log_scale and not any((v > 0).any() for v in series.values()):
        raise ValueError(f"{where}: every norm is 0, which has no log scale; "
                         f"pass log_scale=False")
    fig, ax = figure_and_axes(where, ax, (7, 4.5))
    for i, (name, values) in enumerate(series.items()):
        last = len(values) - 1
        ratio = values[0] / values[-1] if values[-1] > 0 else float("inf")
        shown = np.where(values > 0, values, np.nan) if log_scale else values
        ax.plot(np.arange(len(values)), shown, color=_COLORS[i % len(_COLORS)],
                label=f"{name} (h_0/h_{last} {ratio:.1e})",
                **({"marker": "o", "markersize": 3} if len(values) <= 30 else {}))
    ax.set_xlabel("time step t (0 = first input; the loss reads the last)")
    ax.set_ylabel("||dL/dh_t||")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "gradient norm through time")
    return fig
