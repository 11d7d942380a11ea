"""funcnet.data: the lessons' data sets and the preprocessing helpers."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcnet import data

# name -> a call with small sizes; every generator returns (x float32 (N, F), y int32 (N,)).
GENERATORS = {
    "xor": (lambda seed: data.xor(repeats=3, noise=0.1, seed=seed), 12, 2, 2),
    "spirals": (lambda seed: data.spirals(classes=4, points=25, seed=seed), 100, 2, 4),
    "moons": (lambda seed: data.moons(51, noise=0.1, seed=seed), 51, 2, 2),
    "blobs": (lambda seed: data.blobs(50, classes=5, features=3, seed=seed), 50, 3, 5),
    "make_classification": (
        lambda seed: data.make_classification(60, features=6, informative=3, classes=3, seed=seed),
        60, 6, 3,
    ),
    "iris": (lambda seed: data.iris(), 150, 4, 3),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_return_float32_features_and_int32_labels(name):
    make, n, f, classes = GENERATORS[name]
    x, y = make(0)
    assert x.shape == (n, f) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int32
    assert np.all(np.isfinite(x))
    assert set(np.unique(y).tolist()) == set(range(classes))


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_are_reproducible_from_the_seed(name):
    make = GENERATORS[name][0]
    x1, y1 = make(3)
    x2, y2 = make(3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    gen = np.random.default_rng(3)
    x3, _ = make(gen)
    np.testing.assert_array_equal(x1, x3)
    if name != "iris":
        assert not np.array_equal(make(4)[0], x1)
        assert not np.array_equal(make(gen)[0], x3), "a Generator must advance"


def test_xor_is_the_truth_table():
    x, y = data.xor()
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]
    x, y = data.xor(repeats=500, noise=0.2, seed=1)
    clean, _ = data.xor(repeats=500)
    assert y.tolist() == [0, 1, 1, 0] * 500
    assert abs(np.std(x - clean) - 0.2) < 0.01


def test_spirals_follow_their_arms():
    x, y = data.spirals(classes=3, points=100, noise=0.0)
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius, np.tile(np.linspace(0, 1, 100), 3), atol=1e-6)
    assert np.bincount(y).tolist() == [100, 100, 100]
    noisy, _ = data.spirals(classes=3, points=100, noise=0.5, seed=0)
    np.testing.assert_allclose(np.hypot(noisy[:, 0], noisy[:, 1]), radius, atol=1e-6)


def test_moons_lie_on_two_arcs_without_noise():
    x, y = data.moons(101)
    upper, lower = x[y == 0], x[y == 1]
    assert len(upper) == 50 and len(lower) == 51
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5 + 1e-6


def test_blobs_cluster_around_one_centre_per_class():
    x, y = data.blobs(3001, classes=3, features=4, std=0.5, seed=2)
    assert np.bincount(y).tolist() == [1001, 1000, 1000]
    for k in range(3):
        assert abs(np.std(x[y == k] - x[y == k].mean(0)) - 0.5) < 0.02
    assert np.all(np.abs(x) < 10 + 5 * 0.5)


def test_make_classification_structure():
    x, y = data.make_classification(
        400, features=7, informative=3, redundant=2, classes=4, clusters_per_class=2, seed=5
    )
    assert np.bincount(y).tolist() == [100] * 4
    informative, redundant = x[:, :3].astype(np.float64), x[:, 3:5].astype(np.float64)
    coef, *_ = np.linalg.lstsq(informative, redundant, rcond=None)
    np.testing.assert_allclose(informative @ coef, redundant, atol=1e-4)
    noise = x[:, 5:]
    assert abs(noise.mean()) < 0.2 and abs(noise.std() - 1) < 0.15


def test_make_classification_like_the_seeds_is_separable_with_large_class_sep():
    x, y = data.make_classification(1000, features=2, informative=2, redundant=0, classes=3,
                                    clusters_per_class=1, class_sep=4.0, seed=42)
    means = np.stack([x[y == k].mean(0) for k in range(3)])
    nearest = np.argmin(((x[:, None, :] - means) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == y) > 0.9
    assert len({tuple(np.sign(m).tolist()) for m in means}) == 3, "one hypercube vertex each"


def test_make_classification_flips_labels_when_asked():
    _, clean = data.make_classification(2000, seed=1)
    _, flipped = data.make_classification(2000, flip_y=0.5, seed=1)
    changed = np.mean(clean != flipped)
    assert 0.15 < changed < 0.35, changed  # half are redrawn, half of those land elsewhere


def test_iris_is_fishers_table():
    x, y = data.iris()
    assert x[0].tolist() == pytest.approx([5.1, 3.5, 1.4, 0.2])
    assert x[-1].tolist() == pytest.approx([5.9, 3.0, 5.1, 1.8])
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert (y[:50] == 0).all() and (y[100:] == 2).all()
    np.testing.assert_allclose(x.mean(0), [5.843, 3.057, 3.758, 1.199], atol=1e-3)
    assert data.IRIS_CLASSES[y[75]] == "versicolor" and len(data.IRIS_FEATURES) == 4


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: data.xor(repeats=0), ValueError, r"xor: repeats must be a positive integer"),
        (lambda: data.xor(noise=-0.1), ValueError, r"xor: noise must be finite and >= 0"),
        (lambda: data.spirals(points=2.5), ValueError, r"spirals: points must be a positive"),
        (lambda: data.spirals(noise=float("nan")), ValueError, r"noise must be finite"),
        (lambda: data.moons(0), ValueError, r"moons: samples must be a positive integer, got 0"),
        (lambda: data.moons(10, noise=0.1, seed=-1), ValueError, r"seed must be >= 0, got -1"),
        (lambda: data.moons(10, noise=0.1, seed=jax.random.key(0)), TypeError,
         r"moons: seed must be a non-negative int or a np.random.Generator.*jax.random"),
        (lambda: data.blobs(10, std="1"), TypeError, r"blobs: std must be a real number"),
        (lambda: data.make_classification(features=3, informative=2, redundant=2),
         ValueError, r"informative \+ redundant must be <= features, got 2 \+ 2 > 3"),
        (lambda: data.make_classification(classes=3, clusters_per_class=2, informative=2),
         ValueError, r"classes \* clusters_per_class must be <= 2 \*\* informative, got 3 \* 2"),
        (lambda: data.make_classification(redundant=-1), ValueError, r"redundant must be an"),
        (lambda: data.make_classification(flip_y=1.5), ValueError, r"flip_y must be in \[0, 1\]"),
    ],
)
def test_generator_arguments_are_checked(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------- standardize


def test_standardize_fits_on_train_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(3.0, 2.0, (200, 3)).astype(np.float32)
    x_test = rng.normal(-1.0, 5.0, (50, 3)).astype(np.float32)
    train_std, test_std, stats = data.standardize(x_train, x_test)
    assert train_std.dtype == test_std.dtype == np.float32
    np.testing.assert_allclose(train_std.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(train_std.std(0), 1, atol=1e-5)
    np.testing.assert_allclose(stats.mean, x_train.astype(np.float64).mean(0))
    expected = (x_test - x_train.mean(0)) / x_train.std(0)
    np.testing.assert_allclose(test_std, expected, rtol=1e-5, atol=1e-5)
    assert abs(test_std.mean(0)).max() > 0.5, "the test set must not be centred on itself"
    np.testing.assert_array_equal(data.apply_standardizer(stats, x_test), test_std)


def test_standardize_constant_feature_becomes_zero_not_nan():
    x_train = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    stats = data.fit_standardizer(x_train)
    assert stats.scale.tolist()[1] == 1.0
    out = data.apply_standardizer(stats, x_train)
    assert out.dtype == np.float64
    assert out[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert data.apply_standardizer(stats, np.array([[3.0, 9.0]])).tolist() == [[0.0, 2.0]]


def test_standardize_integer_input_gives_float32():
    train, test, _ = data.standardize(np.array([[0], [2]]), np.array([[4]]))
    assert train.dtype == test.dtype == np.float32 and test.tolist() == [[3.0]]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: data.standardize(np.ones((4, 3)), np.ones((2, 2))), ValueError,
         r"apply_standardizer: x has 2 features but the statistics were fitted on 3"),
        (lambda: data.fit_standardizer(np.ones(5)), ValueError,
         r"x_train must have shape \(N, features\), got shape \(5,\)"),
        (lambda: data.fit_standardizer(np.ones((0, 3))), ValueError, r"at least one sample"),
        (lambda: data.fit_standardizer(np.array([[1.0, np.nan]])), ValueError,
         r"x_train must be finite, got nan at index \(0, 1\)"),
        (lambda: data.fit_standardizer(np.array([["a"]])), TypeError, r"must be numeric"),
        (lambda: data.apply_standardizer((0.0, 1.0), np.ones((2, 1))), TypeError,
         r"stats must be the StandardizerStats from fit_standardizer, got tuple"),
    ],
)
def test_standardize_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------ one_hot


def test_one_hot_rows():
    out = data.one_hot(np.array([2, 0, 1, 2], np.int64), 3)
    assert out.dtype == np.float32
    assert out.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert data.one_hot(np.array([[1], [0]]), 2, dtype=np.int32).shape == (2, 1, 2)
    assert data.one_hot(np.array([], np.int32), 4).shape == (0, 4)


@pytest.mark.parametrize(
    "labels, classes, error, match",
    [
        (np.array([0, 3]), 3, ValueError, r"one_hot: labels must be in \[0, 3\), got 3 at index 1"),
        (np.array([-1, 0]), 3, ValueError, r"must be in \[0, 3\), got -1 at index 0"),
        (np.array([0.0, 1.0]), 3, TypeError,
         r"labels must be integer class indices, got dtype float64"),
        (np.array([True]), 2, TypeError, r"integer class indices, got dtype bool"),
        (np.array([0]), 0, ValueError, r"one_hot: num_classes must be a positive integer"),
    ],
)
def test_one_hot_rejects_bad_labels(labels, classes, error, match):
    with pytest.raises(error, match=match):
        data.one_hot(labels, classes)


# --------------------------------------------------------------------- train_test_split


def test_train_test_split_partitions_and_keeps_pairs():
    x = np.arange(50, dtype=np.float32).reshape(25, 2)
    y = np.arange(25, dtype=np.int32)
    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(7, x, y, test_fraction=0.3)
    assert len(x_te) == 8 and len(x_tr) == 17  # ceil(0.3 * 25)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(25))
    np.testing.assert_array_equal(x_tr[:, 0], 2 * y_tr)
    np.testing.assert_array_equal(x_te[:, 0], 2 * y_te)
    assert x_tr.dtype == np.float32 and y_te.dtype == np.int32
    again = data.train_test_split(7, x, y, test_fraction=0.3)
    np.testing.assert_array_equal(again[1][1], y_te)
    other = data.train_test_split(8, x, y, test_fraction=0.3)
    assert not np.array_equal(other[1][1], y_te)
    assert y_tr.tolist() != sorted(y_tr.tolist()), "rows must be shuffled"


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((5, 2)), np.ones(4)),
         r"same number of samples .*x shape \(5, 2\).*y shape \(4,\)"),
        ((np.ones((5, 2)), np.ones(5), 0.0), r"test_fraction=0.0 of 5 samples leaves 5 for"),
        ((np.ones((5, 2)), np.ones(5), 0.99), r"leaves 0 for training and 5 for testing"),
        ((np.ones((5, 2)), np.ones(5), 1.0), r"test_fraction must be in \[0, 1\)"),
    ],
)
def test_train_test_split_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        data.train_test_split(0, *args)


# ------------------------------------------------------------------------------ batches


@settings(max_examples=40)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), shuffle=st.booleans())
def test_batches_visit_every_sample_exactly_once(n, batch_size, shuffle):
    x = np.arange(n)[:, None] * np.ones((1, 3))
    y = np.arange(n)
    sizes, seen = [], []
    for xb, yb in data.batches(0, (x, y), batch_size, shuffle=shuffle):
        np.testing.assert_array_equal(xb[:, 0], yb)
        sizes.append(len(yb))
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(n))
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if not shuffle:
        assert seen == list(range(n))


def test_batches_shuffle_follows_the_seed():
    y = np.arange(100)
    order = lambda seed: np.concatenate(list(data.batches(seed, y, 32)))  # noqa: E731
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    assert not np.array_equal(order(1), y)
    gen = np.random.default_rng(1)
    first, second = order(gen), order(gen)
    np.testing.assert_array_equal(first, order(1))
    assert not np.array_equal(first, second), "one Generator gives a new order each epoch"


def test_batches_single_array_list_and_drop_last():
    out = list(data.batches(None, np.arange(10), 4, shuffle=False))
    assert [b.tolist() for b in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    pairs = list(data.batches(0, [np.arange(10), np.arange(10) * 2], 4, drop_last=True))
    assert [len(a) for a, _ in pairs] == [4, 4]
    assert all(isinstance(p, tuple) and (b == 2 * a).all() for p in pairs for a, b in [p])


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((np.ones(5), 0), {}, ValueError, r"batches: batch_size must be a positive integer, got 0"),
        ((np.ones(5), -2), {}, ValueError, r"batch_size must be a positive integer, got -2"),
        ((np.ones(5), 2.0), {}, ValueError, r"batch_size must be a positive integer, got 2.0"),
        (((np.ones(5), np.ones(6)), 2), {}, ValueError,
         r"same number of samples .*arrays\[0\] shape \(5,\), arrays\[1\] shape \(6,\)"),
        (((), 2), {}, ValueError, r"arrays must hold at least one array"),
        ((np.float32(1.0), 2), {}, ValueError, r"arrays\[0\] must have a leading sample axis"),
        ((np.ones(5), 2), {"shuffle": "yes"}, TypeError, r"shuffle and drop_last must be True"),
    ],
)
def test_batches_checks_arguments_when_called(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        data.batches(0, *args, **kwargs)
    with pytest.raises(TypeError, match=r"batches: seed must be a non-negative int"):
        data.batches(1.5, np.ones(4), 2)


def test_images_to_float32_gives_every_pixel_value_over_255_correctly_rounded():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    expected = np.arange(256, dtype=np.float32) / np.float32(255.0)
    got = data.images_to_float32(pixels)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.ravel(), expected)
