"""The small classification data sets of the lessons: XOR, spirals, blobs,
make_classification, moons and iris.

Every function returns ``(x, y)``: ``x`` float32 ``(N, F)`` and ``y`` int32 ``(N,)`` with
classes ``0..C-1``. Rows come grouped by class (split them with ``train_test_split``,
which shuffles). Random ones take a keyword ``seed`` (an int or a
``np.random.Generator``, see ``funcnet.data._common``); the same seed gives the same
data, and the default ``seed=0`` makes a bare call reproducible.
"""

from __future__ import annotations

import csv
import importlib.resources

import numpy as np

from funcnet import _checks
from funcnet.data._common import rng

IRIS_FEATURES = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")


def xor(repeats: int = 1, noise: float = 0.0, *, seed=0):
    """The four XOR points ``(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0``, optionally repeated
    with Gaussian noise.

    Args:
        repeats: how many copies of the four points (rows cycle through them).
        noise: standard deviation of the Gaussian noise added to ``x`` (0: exact points).
        seed: int or ``np.random.Generator``; used only when ``noise > 0``.

    Returns:
        ``x`` float32 ``(4 * repeats, 2)``, ``y`` int32 ``(4 * repeats,)``.

    Examples:
        >>> x, y = xor()
        >>> x.tolist(), y.tolist()
        ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    repeats = _checks.positive_int("xor", "repeats", repeats)
    noise = _checks.non_negative("xor", "noise", noise)
    x = np.tile(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64), (repeats, 1))
    y = np.tile(np.array([0, 1, 1, 0], np.int32), repeats)
    if noise > 0:
        x = x + noise * rng("xor", seed).standard_normal(x.shape)
    return x.astype(np.float32), y


def spirals(classes: int = 3, points: int = 100, noise: float = 0.2, *, seed=0):
    """Interleaved 2-D spirals, one arm per class (the CS231n toy problem).

    Arm ``k`` has radius ``r = linspace(0, 1, points)`` and angle
    ``t = linspace(4k, 4(k+1), points) + noise * N(0, 1)``; the point is
    ``(r sin t, r cos t)``.

    Args:
        classes: number of arms (classes).
        points: points per arm.
        noise: standard deviation of the angle noise (radians).
        seed: int or ``np.random.Generator``.

    Returns:
        ``x`` float32 ``(classes * points, 2)`` in the unit disc, ``y`` int32
        ``(classes * points,)``, ``points`` rows per class in class order.

    Examples:
        >>> x, y = spirals(classes=3, points=100)
        >>> x.shape, y.shape, np.bincount(y).tolist()
        ((300, 2), (300,), [100, 100, 100])
    """
    classes = _checks.positive_int("spirals", "classes", classes)
    points = _checks.positive_int("spirals", "points", points)
    noise = _checks.non_negative("spirals", "noise", noise)
    gen = rng("spirals", seed)
    radius = np.tile(np.linspace(0.0, 1.0, points), classes)
    arm = np.repeat(np.arange(classes), points)
    angle = (
        np.concatenate([np.linspace(4.0 * k, 4.0 * (k + 1), points) for k in range(classes)])
        + noise * gen.standard_normal(classes * points)
    )
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return x.astype(np.float32), arm.astype(np.int32)


def moons(samples: int = 100, noise: float = 0.0, *, seed=0):
    """Two interleaving half circles (like scikit-learn's ``make_moons``).

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower arc
    ``(1 - cos t, 0.5 - sin t)``, ``t`` evenly spaced in ``[0, pi]``; Gaussian noise of
    standard deviation ``noise`` is added to both coordinates.

    Args:
        samples: total number of points (class 0 gets ``samples // 2``).
        noise: standard deviation of the noise (0: points exactly on the arcs).
        seed: int or ``np.random.Generator``; used only when ``noise > 0``.

    Returns:
        ``x`` float32 ``(samples, 2)``, ``y`` int32 ``(samples,)``.

    Examples:
        >>> x, y = moons(200, noise=0.1, seed=1)
        >>> x.shape, np.bincount(y).tolist()
        ((200, 2), [100, 100])
    """
    samples = _checks.positive_int("moons", "samples", samples)
    noise = _checks.non_negative("moons", "noise", noise)
    n_upper = samples // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, samples - n_upper)
    x = np.concatenate(
        [
            np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1),
            np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n_upper, np.int32), np.ones(samples - n_upper, np.int32)])
    if noise > 0:
        x = x + noise * rng("moons", seed).standard_normal(x.shape)
    return x.astype(np.float32), y


def blobs(samples: int = 100, classes: int = 3, features: int = 2, std: float = 1.0, *,
          center_box: float = 10.0, seed=0):
    """Isotropic Gaussian blobs, one per class, centred uniformly in a box.

    Args:
        samples: total number of points, split as evenly as possible (the first
            ``samples % classes`` classes get one more).
        classes: number of blobs (classes).
        features: dimension of each point.
        std: standard deviation of every blob along every axis.
        center_box: centres are drawn uniformly from ``[-center_box, center_box]``.
        seed: int or ``np.random.Generator``.

    Returns:
        ``x`` float32 ``(samples, features)``, ``y`` int32 ``(samples,)``.

    Examples:
        >>> x, y = blobs(90, classes=3, features=4, seed=0)
        >>> x.shape, np.bincount(y).tolist()
        ((90, 4), [30, 30, 30])
    """
    samples = _checks.positive_int("blobs", "samples", samples)
    classes = _checks.positive_int("blobs", "classes", classes)
    features = _checks.positive_int("blobs", "features", features)
    std = _checks.non_negative("blobs", "std", std)
    center_box = _checks.non_negative("blobs", "center_box", center_box)
    gen = rng("blobs", seed)
    centers = gen.uniform(-center_box, center_box, (classes, features))
    y = _split_evenly(samples, classes)
    x = centers[y] + std * gen.standard_normal((samples, features))
    return x.astype(np.float32), y


def make_classification(
    samples: int = 100,
    features: int = 20,
    informative: int = 2,
    redundant: int = 2,
    classes: int = 2,
    clusters_per_class: int = 2,
    class_sep: float = 1.0,
    flip_y: float = 0.0,
    *,
    seed=0,
):
    """Gaussian clusters on the vertices of a hypercube (scikit-learn's
    ``make_classification`` algorithm, without its feature shuffling, shift and scale).

    Each of the ``classes * clusters_per_class`` clusters sits on a distinct vertex of
    the hypercube of side ``2 * class_sep`` in the ``informative`` dimensions; its points
    are standard normal draws mixed by a random matrix (so clusters are correlated
    ellipsoids). Columns are ordered: ``informative`` features, then ``redundant``
    random linear combinations of them, then pure-noise features N(0, 1). A fraction
    ``flip_y`` of the labels is then replaced by a random class (sklearn's default is
    0.01; ours is 0 so labels are clean unless asked).

    Args:
        samples: total number of points, split evenly over the clusters.
        features: total number of columns (>= informative + redundant).
        informative, redundant: as above.
        classes, clusters_per_class: ``classes * clusters_per_class`` must be at most
            ``2 ** informative`` (one hypercube vertex per cluster).
        class_sep: half the hypercube's side; larger is easier.
        flip_y: fraction in [0, 1] of labels replaced by a random class.
        seed: int or ``np.random.Generator``.

    Returns:
        ``x`` float32 ``(samples, features)``, ``y`` int32 ``(samples,)``.

    Examples:
        >>> x, y = make_classification(1000, features=2, informative=2, redundant=0,
        ...                            classes=3, clusters_per_class=1, seed=42)
        >>> x.shape, sorted(set(y.tolist()))
        ((1000, 2), [0, 1, 2])
    """
    where = "make_classification"
    samples = _checks.positive_int(where, "samples", samples)
    features = _checks.positive_int(where, "features", features)
    informative = _checks.positive_int(where, "informative", informative)
    classes = _checks.positive_int(where, "classes", classes)
    clusters_per_class = _checks.positive_int(where, "clusters_per_class", clusters_per_class)
    if isinstance(redundant, bool) or not isinstance(redundant, int) or redundant < 0:
        raise ValueError(f"{where}: redundant must be an integer >= 0, got {redundant!r}")
    class_sep = _checks.non_negative(where, "class_sep", class_sep)
    flip_y = _checks.unit_interval(where, "flip_y", flip_y, closed_right=True)
    if informative + redundant > features:
        raise ValueError(
            f"{where}: informative + redundant must be <= features, got "
            f"{informative} + {redundant} > {features}"
        )
    clusters = classes * clusters_per_class
    if clusters > 2**informative:
        raise ValueError(
            f"{where}: classes * clusters_per_class must be <= 2 ** informative, got "
            f"{classes} * {clusters_per_class} = {clusters} > 2 ** {informative}; "
            f"raise informative or lower classes/clusters_per_class"
        )
    gen = rng(where, seed)
    vertices = _distinct_vertices(gen, clusters, informative)
    centroids = (2.0 * vertices - 1.0) * class_sep
    cluster = _split_evenly(samples, clusters)
    y = (cluster % classes).astype(np.int32)
    mixing = 2.0 * gen.random((clusters, informative, informative)) - 1.0
    normal = gen.standard_normal((samples, informative))
    x_inf = np.einsum("ni,nij->nj", normal, mixing[cluster]) + centroids[cluster]
    combine = 2.0 * gen.random((informative, redundant)) - 1.0
    noise = gen.standard_normal((samples, features - informative - redundant))
    x = np.concatenate([x_inf, x_inf @ combine, noise], axis=1)
    if flip_y > 0:
        flip = gen.random(samples) < flip_y
        y[flip] = gen.integers(0, classes, int(flip.sum()))
    return x.astype(np.float32), y


def iris():
    """Fisher's iris flowers: 150 plants, 4 measurements in cm, 3 species (50 each).

    Columns are :data:`IRIS_FEATURES` (sepal length, sepal width, petal length, petal
    width); labels index :data:`IRIS_CLASSES` (setosa, versicolor, virginica). The
    table ships with funcnet (``funcnet/data/iris.csv``); see ``data/README.md``.

    Returns:
        ``x`` float32 ``(150, 4)``, ``y`` int32 ``(150,)``.

    Examples:
        >>> x, y = iris()
        >>> x.shape, np.bincount(y).tolist(), IRIS_CLASSES[y[0]]
        ((150, 4), [50, 50, 50], 'setosa')
    """
    table = importlib.resources.files("funcnet.data").joinpath("iris.csv")
    with table.open("r", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if tuple(header) != (*IRIS_FEATURES, "species") or len(body) != 150:
        raise ValueError(f"iris: {table} is damaged: header {header}, {len(body)} rows")
    x = np.array([row[:4] for row in body], dtype=np.float32)
    y = np.array([IRIS_CLASSES.index(row[4]) for row in body], dtype=np.int32)
    return x, y


def _split_evenly(samples: int, groups: int) -> np.ndarray:
    """Group index per row, ``samples // groups`` each, the first ``samples % groups`` +1."""
    counts = np.full(groups, samples // groups)
    counts[: samples % groups] += 1
    return np.repeat(np.arange(groups, dtype=np.int32), counts)


def _distinct_vertices(gen: np.random.Generator, count: int, dims: int) -> np.ndarray:
    """``count`` distinct random 0/1 vectors of length ``dims``, shape ``(count, dims)``."""
    if dims <= 20:
        codes = gen.choice(2**dims, size=count, replace=False)
        return ((codes[:, None] >> np.arange(dims)) & 1).astype(np.float64)
    while True:  # 2**dims > 1e6 vertices: collisions are rare, redraw on one
        bits = gen.integers(0, 2, (count, dims))
        if len(np.unique(bits, axis=0)) == count:
            return bits.astype(np.float64)
