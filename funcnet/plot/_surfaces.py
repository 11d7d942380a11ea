"""Pictures over a 2-D plane: gradient fields, optimizer paths, decision boundaries."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.lines import Line2D

from funcnet.plot._figures import class_colors, figure_and_axes, integer_vector


def _limits(where: str, name: str, lim) -> tuple[float, float]:
    if np.shape(lim) != (2,):
        raise ValueError(f"{where}: {name} must be a pair (low, high), got {lim!r}")
    low, high = (float(v) for v in lim)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"{where}: {name} must be finite with low < high, got {lim!r}")
    return low, high


def _resolution(where: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
        raise ValueError(f"{where}: resolution must be an integer >= 2, got {value!r}")
    return int(value)


def _mesh(xlim, ylim, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, points)``: a ``(R, R)`` mesh and its ``(R * R, 2)`` points, row-major."""
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return grid_x, grid_y, np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)


def _scalar_values(where: str, fn, points: np.ndarray) -> np.ndarray:
    """``fn`` applied to each row of ``points`` with jax.vmap; one scalar per point."""
    out = np.asarray(jax.jit(jax.vmap(fn))(jnp.asarray(points)))
    if out.shape != (len(points),):
        raise ValueError(
            f"{where}: f must map one (2,) point to a scalar, got an output of shape "
            f"{out.shape[1:]} per point"
        )
    return out.astype(np.float64)


def _levels(where: str, z: np.ndarray, levels, log_levels: bool, xlim, ylim):
    """Contour levels over the finite values of ``z``; None when ``z`` is constant."""
    if not isinstance(levels, numbers.Integral):
        return np.asarray(levels, dtype=float)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError(f"{where}: f is not finite anywhere on the region x in {xlim}, "
                         f"y in {ylim}; pass xlim and ylim where f is finite")
    if finite.max() <= finite.min():
        return None
    if log_levels:
        positive = finite[finite > 0]
        if positive.size == 0 or positive.max() <= positive.min():
            raise ValueError(
                f"{where}: log_levels=True needs f > 0 somewhere on the region, got values "
                f"in [{finite.min():.4g}, {finite.max():.4g}]; pass log_levels=False"
            )
        return np.geomspace(positive.min(), positive.max(), int(levels))
    return np.linspace(finite.min(), finite.max(), int(levels) + 2)[1:-1]


def _contours(where, ax, f, xlim, ylim, resolution, levels, log_levels):
    grid_x, grid_y, points = _mesh(xlim, ylim, resolution)
    z = _scalar_values(where, f, points).reshape(grid_x.shape)
    chosen = _levels(where, z, levels, log_levels, xlim, ylim)
    if chosen is None:
        return
    lines = ax.contour(grid_x, grid_y, np.ma.masked_invalid(z), levels=chosen, colors="0.55",
                       linewidths=0.7)
    ax.clabel(lines, lines.levels[::3], inline=True, fontsize=7, fmt="%.3g")


def gradient_field(f, xlim, ylim, *, resolution: int = 20, levels=15,
                   log_levels: bool = False, descent: bool = True, normalize: bool = True,
                   ax=None, title: str | None = None):
    """Contours of a 2-D scalar function and a quiver of its gradient (by ``jax.grad``).

    Arrows point along ``-grad f`` (the way gradient descent steps) when ``descent``,
    else along ``grad f`` (steepest ascent). Their colour is ``|grad f|`` (on a log
    colour scale when it spans more than two orders of magnitude).

    Args:
        f: ``f(xy) -> scalar`` for one point ``xy`` of shape ``(2,)``, written with
            ``jax.numpy``; it is vectorized and compiled as ``jax.jit(jax.vmap(f))``.
        xlim, ylim: ``(low, high)`` of the region.
        resolution: arrows per axis (the contours use 8x as many points).
        levels: number of contour levels, or the levels themselves.
        log_levels: log-spaced levels (for valleys like Rosenbrock's; needs f > 0).
        descent: draw ``-grad f`` (True) or ``grad f`` (False).
        normalize: equal-length arrows showing only direction (colour keeps the
            magnitude); False scales arrow length by ``|grad f|``.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = gradient_field(lambda p: p[0] ** 2 + 3 * p[1] ** 2, (-3, 3), (-3, 3))
    """
    where = "gradient_field"
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of a (2,) point, got "
                        f"{type(f).__name__}")
    xlim, ylim = _limits(where, "xlim", xlim), _limits(where, "ylim", ylim)
    resolution = _resolution(where, resolution)
    fig, ax = figure_and_axes(where, ax, (6.5, 5.5))
    _contours(where, ax, f, xlim, ylim, 8 * resolution, levels, log_levels)
    grid_x, grid_y, points = _mesh(xlim, ylim, resolution)
    grads = np.asarray(jax.jit(jax.vmap(jax.grad(f)))(jnp.asarray(points)), dtype=np.float64)
    grads = -grads if descent else grads
    magnitude = np.hypot(grads[:, 0], grads[:, 1])
    finite = np.isfinite(magnitude)
    if not finite.any():
        raise ValueError(f"{where}: grad f is not finite anywhere on the region")
    top = float(magnitude[finite].max())
    # Arrows are measured in data units: the longest spans 80% of a grid cell.
    cell = 0.8 * min(xlim[1] - xlim[0], ylim[1] - ylim[0]) / (resolution - 1)
    if normalize:
        length = np.divide(cell, magnitude, out=np.zeros_like(magnitude),
                           where=magnitude > 0)
    else:
        length = np.full_like(magnitude, cell / top if top > 0 else 0.0)
    u, v = (np.ma.masked_invalid(grads[:, i] * length) for i in (0, 1))
    positive = magnitude[finite & (magnitude > 0)]
    norm = (LogNorm(positive.min(), top) if positive.size and top > 100 * positive.min()
            else Normalize(0, top if top > 0 else 1))
    arrows = ax.quiver(grid_x.ravel(), grid_y.ravel(), u, v, np.ma.masked_invalid(magnitude),
                       cmap="viridis", norm=norm, angles="xy", scale_units="xy", scale=1,
                       pivot="mid", width=0.004)
    fig.colorbar(arrows, ax=ax, label="|∇f|")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or ("-∇f (descent direction)" if descent else "∇f (ascent direction)"))
    return fig


def _path_array(where: str, name, path) -> np.ndarray:
    array = np.asarray(path, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(f"{where}: paths[{name!r}] must have shape (T, 2) with T >= 1, "
                         f"got shape {array.shape}")
    if not np.isfinite(array[0]).all():
        raise ValueError(f"{where}: paths[{name!r}] must start at a finite point, "
                         f"got {array[0]}")
    return array


def _padded(values: np.ndarray, fraction: float) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = fraction * (high - low) if high > low else max(abs(low), 1.0) * 0.5
    return low - pad, high + pad


def optimizer_paths(f, paths, *, xlim=None, ylim=None, levels=25, log_levels: bool = False,
                    resolution: int = 200, minimum=None, ax=None, title: str | None = None,
                    colors: dict | None = None):
    """Optimizer trajectories drawn over the contours of the function they minimize.

    Each path gets a start marker (circle) and an end marker (star, or a cross when the
    path turned non-finite, i.e. diverged), and its legend entry gives the number of
    steps and the final value of ``f``.

    Args:
        f: ``f(xy) -> scalar`` for one point ``xy`` of shape ``(2,)`` (jax.numpy).
        paths: ``{name: (T, 2) array}`` of iterates, the start point first.
        xlim, ylim: the region; default the box around all paths, padded by 15%.
        levels: number of contour levels, or the levels themselves.
        log_levels: log-spaced levels (for Rosenbrock-like valleys; needs f > 0).
        resolution: grid points per axis for the contours.
        minimum: optional ``(2,)`` location of the known minimum, marked with a ``+``.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title.
        colors: optional ``{name: matplotlib colour}`` for some or all paths (to match
            other panels of a figure); the rest get the default palette's colours.

    Returns:
        The matplotlib Figure.

    Examples:
        >>> rosenbrock = lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        >>> path = np.array([[-1.5, 2.0], [-1.0, 1.2], [0.2, 0.1], [0.9, 0.8]])
        >>> fig = optimizer_paths(rosenbrock, {"adam": path}, log_levels=True,
        ...                       minimum=(1.0, 1.0))
    """
    where = "optimizer_paths"
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of a (2,) point, got "
                        f"{type(f).__name__}")
    if not isinstance(paths, dict) or not paths:
        raise TypeError(f"{where}: paths must be a non-empty dict name -> (T, 2) array, "
                        f"got {type(paths).__name__}")
    arrays = {name: _path_array(where, name, path) for name, path in paths.items()}
    resolution = _resolution(where, resolution)
    points = np.concatenate(list(arrays.values()))
    if minimum is not None:
        minimum = np.asarray(minimum, dtype=np.float64)
        if minimum.shape != (2,):
            raise ValueError(f"{where}: minimum must be a (2,) point, got shape "
                             f"{minimum.shape}")
        points = np.concatenate([points, minimum[None]])
    points = points[np.isfinite(points).all(axis=1)]
    xlim = _padded(points[:, 0], 0.15) if xlim is None else _limits(where, "xlim", xlim)
    ylim = _padded(points[:, 1], 0.15) if ylim is None else _limits(where, "ylim", ylim)
    fig, ax = figure_and_axes(where, ax, (7, 5.5))
    _contours(where, ax, f, xlim, ylim, resolution, levels, log_levels)
    ends = np.stack([a[np.isfinite(a).all(axis=1)][-1] for a in arrays.values()])
    end_values = _scalar_values(where, f, ends)
    handles = []
    if colors is not None and not isinstance(colors, dict):
        raise TypeError(f"{where}: colors must be a dict name -> colour, got "
                        f"{type(colors).__name__}")
    unknown = sorted(set(colors or {}) - set(arrays))
    if unknown:
        raise ValueError(f"{where}: colors names paths that are not in paths: {unknown}")
    colors = [(colors or {}).get(name, default) for name, default
              in zip(arrays, class_colors(len(arrays)).colors, strict=True)]
    for (name, array), end, value, color in zip(arrays.items(), ends, end_values, colors,
                                                strict=True):
        diverged = not np.isfinite(array[-1]).all()
        outcome = "diverged" if diverged else f"f={value:.3g}"
        small = {"marker": ".", "markersize": 4} if len(array) <= 200 else {}
        (line,) = ax.plot(array[:, 0], array[:, 1], color=color, linewidth=1.5,
                          label=f"{name} ({len(array) - 1} steps, {outcome})", **small)
        ax.plot(*array[0], "o", color=color, markeredgecolor="k", markersize=8, zorder=3)
        ax.plot(*end, "X" if diverged else "*", color=color, markeredgecolor="k",
                markersize=13, zorder=3)
        handles.append(line)
    marker = {"linestyle": "", "color": "white", "markeredgecolor": "k"}
    handles += [Line2D([], [], marker="o", markersize=7, label="start", **marker),
                Line2D([], [], marker="*", markersize=11, label="end", **marker)]
    if minimum is not None:
        ax.plot(*minimum, "+", color="k", markersize=14, markeredgewidth=2)
        handles.append(Line2D([], [], marker="+", linestyle="", color="k", markersize=10,
                              markeredgewidth=2, label="minimum"))
    ax.legend(handles=handles, fontsize=8)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or "optimizer paths")
    return fig


def _predicted_labels(where: str, predict_fn, points: np.ndarray, threshold: float):
    """``(labels, margins, num_outputs)`` from one batch of predictions.

    ``margins`` ``(M, C)`` has one column per boundary to draw, positive on one side:
    per class, its score minus the best other score (a smooth boundary at 0); for one
    binary score, ``score - threshold``; for labels, the class indicators minus 1/2.
    """
    out = np.asarray(predict_fn(points))
    if out.ndim == 0 or out.shape[0] != len(points) or out.ndim > 2:
        raise ValueError(
            f"{where}: predict_fn must map ({len(points)}, 2) points to ({len(points)}, K) "
            f"scores or ({len(points)},) labels, got shape {out.shape}"
        )
    if np.issubdtype(out.dtype, np.integer) and out.ndim == 1:
        labels = out.astype(np.int64)
        present = np.unique(labels)
        return labels, (labels[:, None] == present[None]) - 0.5, None
    out = out.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{where}: predict_fn returned non-finite scores")
    if out.ndim == 1 or out.shape[1] == 1:
        score = out.reshape(-1)
        return (score > threshold).astype(np.int64), (score - threshold)[:, None], 2
    top_two = np.sort(out, axis=1)[:, -2:]
    best_other = np.where(out == top_two[:, 1:], top_two[:, :1], top_two[:, 1:])
    return np.argmax(out, axis=1), out - best_other, out.shape[1]


def decision_boundary(predict_fn, x, y, *, resolution: int = 200, padding: float = 0.1,
                      threshold: float = 0.5, class_names=None, ax=None,
                      title: str | None = None):
    """Class regions of a 2-D classifier, its boundaries, and the labelled data on top.

    Args:
        predict_fn: maps points ``(M, 2)`` to scores or probabilities ``(M, K)`` (the
            class is the argmax), to integer labels ``(M,)``, or, for a binary model,
            to one score ``(M,)`` or ``(M, 1)``: class 1 where ``score > threshold``.
        x: data points ``(N, 2)``.
        y: integer labels ``(N,)`` in ``[0, K)``.
        resolution: grid points per axis.
        padding: margin around the data, as a fraction of its extent.
        threshold: for a single binary score: 0.5 for probabilities, 0.0 for logits.
        class_names: K names for the legend (default the class indices).
        ax: an Axes to draw into, or None for a new figure.
        title: axes title (default: the accuracy of ``predict_fn`` on ``x``).

    Returns:
        The matplotlib Figure.

    Examples:
        >>> x = np.random.default_rng(0).normal(size=(100, 2))
        >>> y = (x[:, 0] * x[:, 1] > 0).astype(int)
        >>> fig = decision_boundary(lambda p: (p[:, 0] * p[:, 1] > 0).astype(int), x, y)
    """
    where = "decision_boundary"
    if not callable(predict_fn):
        raise TypeError(f"{where}: predict_fn must be a function of (M, 2) points, got "
                        f"{type(predict_fn).__name__}")
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{where}: x must have shape (N, 2), two features per point, got "
                         f"shape {x.shape}; project higher-dimensional data to 2-D first")
    if len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"{where}: x must hold at least one point, all finite")
    y = integer_vector(where, "y", y)
    if len(y) != len(x):
        raise ValueError(f"{where}: x and y must have the same number of samples, got "
                         f"x shape {x.shape} and y shape {y.shape}")
    if y.min() < 0:
        raise ValueError(f"{where}: y must be class labels >= 0, got a label {y.min()}")
    resolution = _resolution(where, resolution)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    xlim, ylim = (_padded(x[:, i], padding) for i in (0, 1))
    grid_x, grid_y, points = _mesh(xlim, ylim, resolution)
    labels, margins, outputs = _predicted_labels(where, predict_fn, points.astype(dtype),
                                               threshold)
    on_data = _predicted_labels(where, predict_fn, x.astype(dtype), threshold)[0]
    top = max(int(y.max()), int(labels.max()))
    if outputs is not None and top >= outputs:
        raise ValueError(f"{where}: labels must be in [0, {outputs}) for a predict_fn with "
                         f"{outputs} classes, got a label {top}")
    if labels.min() < 0:
        raise ValueError(f"{where}: predict_fn returned a negative label {labels.min()}")
    num_classes = outputs or top + 1
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"{where}: got {len(class_names)} class_names for {num_classes} "
                         f"classes")
    names = [str(n) for n in class_names] if class_names is not None else \
        [str(k) for k in range(num_classes)]
    cmap = class_colors(num_classes)
    fig, ax = figure_and_axes(where, ax, (6.5, 5.5))
    region = labels.reshape(grid_x.shape)
    ax.imshow(region, origin="lower", extent=(*xlim, *ylim), cmap=cmap, alpha=0.3,
              vmin=-0.5, vmax=num_classes - 0.5, interpolation="nearest", aspect="auto")
    for margin in margins.T:
        if margin.min() < 0 < margin.max():
            ax.contour(grid_x, grid_y, margin.reshape(grid_x.shape), levels=[0.0],
                       colors="k", linewidths=1.0)
    size = 36 if len(x) <= 300 else 12
    for k in np.unique(y):
        chosen = y == k
        ax.scatter(x[chosen, 0], x[chosen, 1], color=cmap.colors[k], edgecolor="k",
                   linewidth=0.5, s=size, label=names[k])
    ax.legend(fontsize=8, title="class", title_fontsize=8)
    accuracy = float(np.mean(on_data == y))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("feature 0")
    ax.set_ylabel("feature 1")
    ax.set_title(title or f"decision boundary (accuracy {accuracy:.1%} on {len(x)} points)")
    return fig
