"""Classifier results: confusion counts and matrix, a grid of images with their labels."""

from __future__ import annotations

import math
import numbers

import numpy as np

from funcnet.plot._figures import axes_grid, figure_and_axes, integer_vector

_ANNOTATE_UP_TO = 30  # classes; beyond this the cell numbers no longer fit


def _counts(where: str, y_true, y_pred, num_classes) -> np.ndarray:
    true = integer_vector(where, "y_true", y_true)
    pred = integer_vector(where, "y_pred", y_pred)
    if len(true) != len(pred):
        raise ValueError(f"{where}: y_true and y_pred must have the same length, got "
                         f"{len(true)} and {len(pred)}")
    if num_classes is None:
        if not len(true):
            raise ValueError(f"{where}: with no labels, num_classes must be given")
        num_classes = int(max(true.max(), pred.max())) + 1
    elif (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
          or num_classes <= 0):
        raise ValueError(f"{where}: num_classes must be a positive integer, got "
                         f"{num_classes!r}")
    num_classes = int(num_classes)
    for name, labels in (("y_true", true), ("y_pred", pred)):
        outside = (labels < 0) | (labels >= num_classes)
        if outside.any():
            raise ValueError(f"{where}: {name} must be in [0, {num_classes}), got a label "
                             f"{labels[outside][0]}")
    flat = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def confusion_counts(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Count ``(true, predicted)`` label pairs: rows are true classes, columns predicted.

    Args:
        y_true: integer labels ``(N,)`` in ``[0, K)``.
        y_pred: integer predictions ``(N,)`` in ``[0, K)`` (argmax the scores first).
        num_classes: K; default ``max(y_true, y_pred) + 1``.

    Returns:
        ``(K, K)`` int64 counts; ``counts[t, p]`` is how many samples of class ``t`` were
        predicted as ``p``, so the diagonal holds the correct ones.

    Examples:
        >>> confusion_counts([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3)
        array([[1, 0, 0],
               [0, 1, 1],
               [0, 0, 1]])
    """
    return _counts("confusion_counts", y_true, y_pred, num_classes)


def confusion_matrix(y_true, y_pred, num_classes: int | None = None, class_names=None, *,
                     normalize: bool = False, cmap: str = "Blues", ax=None,
                     title: str | None = None):
    """Confusion matrix as a heat map with the count written in each cell.

    Args:
        y_true: integer labels ``(N,)`` in ``[0, K)``.
        y_pred: integer predictions ``(N,)`` in ``[0, K)``.
        num_classes: K; default ``max(y_true, y_pred) + 1``.
        class_names: K tick labels (default the class indices).
        normalize: colour each row by the fraction of its true class (recall), so rare
            classes are as readable as common ones; the cells still show counts.
        cmap: a matplotlib colormap name.
        ax: an Axes to draw into, or None for a new figure.
        title: axes title (default: accuracy and sample count).

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], class_names=["a", "b", "c"])
    """
    where = "confusion_matrix"
    counts = _counts(where, y_true, y_pred, num_classes)
    k = len(counts)
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"{where}: got {len(class_names)} class_names for {k} classes")
    names = [str(n) for n in class_names] if class_names is not None else \
        [str(i) for i in range(k)]
    rows = counts.sum(axis=1, keepdims=True)
    shade = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0) \
        if normalize else counts
    side = min(max(4.5, 0.55 * k + 2), 14)
    fig, ax = figure_and_axes(where, ax, (side + 1, side))
    image = ax.imshow(shade, cmap=cmap, vmin=0, vmax=max(shade.max(), 1e-12),
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count")
    if k <= _ANNOTATE_UP_TO:
        fontsize = 10 if k <= 10 else 7
        dark = shade > 0.5 * shade.max()
        for (t, p), count in np.ndenumerate(counts):
            ax.text(p, t, str(count), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark[t, p] else "black")
    ticks = np.arange(k)
    long_names = max(len(n) for n in names) > 3
    ax.set_xticks(ticks, names, rotation=45 if long_names else 0,
                  ha="right" if long_names else "center")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = int(counts.sum())
    accuracy = np.trace(counts) / total if total else float("nan")
    ax.set_title(title or f"confusion matrix (accuracy {accuracy:.1%} of {total})")
    return fig


def _image_stack(where: str, images, image_shape) -> np.ndarray:
    """``images`` as ``(N, H, W)`` or ``(N, H, W, 3|4)``."""
    array = np.asarray(images)
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if array.ndim < 2 or math.prod(array.shape[1:]) != math.prod(shape):
            raise ValueError(f"{where}: image_shape {shape} does not fit images of shape "
                             f"{array.shape} (N, ...)")
        array = array.reshape(len(array), *shape)
    elif array.ndim == 2:
        raise ValueError(f"{where}: flat images {array.shape} need image_shape, e.g. "
                         f"image_shape=(28, 28) for MNIST's (N, 784)")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] in (3, 4))):
        raise ValueError(f"{where}: images must be (N, H, W), (N, H, W, 1|3|4) or (N, D) "
                         f"with image_shape, got shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{where}: images is empty; expected at least one image")
    return array


def image_grid(images, predicted=None, true=None, *, image_shape=None, ncols: int = 8,
               class_names=None, cmap: str = "gray", title: str | None = None):
    """A grid of images titled with their labels; misclassified ones framed in red.

    Args:
        images: ``(N, H, W)``, ``(N, H, W, C)`` with C in 1, 3, 4, or flat ``(N, D)``
            together with ``image_shape``. Grey images share one intensity scale; RGB
            floats outside ``[0, 1]`` are rescaled together into it.
        predicted: optional predicted labels ``(N,)``.
        true: optional true labels ``(N,)``.
        image_shape: ``(H, W)`` or ``(H, W, C)`` of one image, for flat input.
        ncols: images per row.
        class_names: names to show instead of the label indices.
        cmap: colormap for grey images.
        title: figure title (default: how many are misclassified).

    Returns:
        The matplotlib Figure.

    Examples:
        >>> fig = image_grid(np.random.rand(6, 784), predicted=[1, 2, 3, 4, 5, 6],
        ...                  true=[1, 2, 0, 4, 5, 6], image_shape=(28, 28), ncols=3)
    """
    where = "image_grid"
    array = _image_stack(where, images, image_shape)
    n = len(array)
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols <= 0:
        raise ValueError(f"{where}: ncols must be a positive integer, got {ncols!r}")
    labels = {}
    for name, values in (("predicted", predicted), ("true", true)):
        if values is not None:
            labels[name] = integer_vector(where, name, values)
            if len(labels[name]) != n:
                raise ValueError(f"{where}: {name} must have one label per image, got "
                                 f"{len(labels[name])} labels for {n} images")
            if class_names is None:
                continue
            outside = (labels[name] < 0) | (labels[name] >= len(class_names))
            if outside.any():
                raise ValueError(f"{where}: {name} must be in [0, {len(class_names)}) to "
                                 f"index class_names, got a label {labels[name][outside][0]}")

    def label(value):
        return str(class_names[value]) if class_names is not None else str(value)

    finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if array.ndim == 4 and np.issubdtype(array.dtype, np.floating) and (low < 0 or high > 1):
        array = (array - low) / (high - low if high > low else 1.0)
    fig, axes = axes_grid(n, int(ncols), (1.5, 1.75))
    wrong = 0
    for i, ax in enumerate(axes):
        if array.ndim == 3:
            ax.imshow(array[i], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        else:
            ax.imshow(array[i], interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        parts = [f"{kind[:4]} {label(values[i])}" for kind, values in labels.items()]
        mistaken = len(labels) == 2 and labels["predicted"][i] != labels["true"][i]
        wrong += mistaken
        color = "red" if mistaken else "black"
        ax.set_title(" / ".join(parts), fontsize=8, color=color)
        for spine in ax.spines.values():
            spine.set_color("red" if mistaken else "0.7")
            spine.set_linewidth(2.5 if mistaken else 0.5)
    if title is None and len(labels) == 2:
        title = f"{wrong} of {n} misclassified (red)"
    if title:
        fig.suptitle(title)
    return fig

