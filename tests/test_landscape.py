"""loss_landscape: slices of a quadratic against the analytic parabola / paraboloid, and
filter normalisation checked leaf by leaf (Dense, conv-shaped and 1-D leaves)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from funcnet import diagnostics, plot

RNG = np.random.default_rng(11)
PARAMS = {"conv": {"w": jnp.asarray(RNG.normal(size=(3, 3, 2, 4))),
                   "b": jnp.asarray(RNG.normal(size=4))},
          "dense": {"w": jnp.asarray(RNG.normal(size=(5, 3)) * np.array([0.1, 1.0, 10.0])),
                    "b": jnp.asarray(RNG.normal(size=3))}}
SIZE = ravel_pytree(PARAMS)[0].size
A = RNG.normal(size=(SIZE, SIZE)) / np.sqrt(SIZE)
A = A @ A.T + np.eye(SIZE)
G = RNG.normal(size=SIZE)


def quadratic(p):
    v = ravel_pytree(p)[0]
    return 0.5 * v @ jnp.asarray(A) @ v + jnp.asarray(G) @ v


def test_2d_slice_of_a_quadratic_is_the_analytic_paraboloid():
    scape = diagnostics.loss_landscape(quadratic, PARAMS, key=jax.random.key(2), dims=2,
                                       span=0.7, points=6, chunk_size=5,
                                       one_dimensional="copy")
    theta = np.asarray(ravel_pytree(PARAMS)[0])
    d1, d2 = (np.asarray(ravel_pytree(d)[0]) for d in scape.directions)
    a, b = scape.alphas[:, None], scape.betas[None, :]
    grad = A @ theta + G
    expected = (0.5 * theta @ A @ theta + G @ theta + a * (grad @ d1) + b * (grad @ d2)
                + 0.5 * a * a * (d1 @ A @ d1) + a * b * (d1 @ A @ d2)
                + 0.5 * b * b * (d2 @ A @ d2))
    np.testing.assert_allclose(scape.losses, expected, rtol=1e-12)
    np.testing.assert_allclose(scape.alphas, np.linspace(-0.7, 0.7, 6))
    assert scape.center == pytest.approx(float(quadratic(PARAMS)), rel=1e-14)


def test_1d_slice_along_a_given_direction_unnormalised():
    direction = jax.tree.map(lambda w: jnp.ones_like(w), PARAMS)
    scape = diagnostics.loss_landscape(quadratic, PARAMS, directions=[direction],
                                       normalize=None, points=5, span=2.0)
    assert scape.betas is None and scape.losses.shape == (5,)
    theta, d = np.asarray(ravel_pytree(PARAMS)[0]), np.ones(SIZE)
    a = scape.alphas
    expected = quadratic(PARAMS) + a * ((A @ theta + G) @ d) + 0.5 * a * a * (d @ A @ d)
    np.testing.assert_allclose(scape.losses, expected, rtol=1e-12)
    (ax,) = plot.loss_landscape(scape).axes
    curve, center = ax.get_lines()
    np.testing.assert_allclose(curve.get_ydata(), scape.losses)
    assert list(center.get_xdata()) == [0] and list(center.get_ydata()) == [scape.center]


@pytest.mark.parametrize("one_dimensional", ["zero", "copy"])
def test_filter_normalisation_leaf_by_leaf(one_dimensional):
    raw = jax.tree.map(lambda w: jnp.asarray(RNG.normal(size=w.shape)), PARAMS)
    d = diagnostics.filter_normalized_direction(raw, PARAMS, one_dimensional=one_dimensional)
    for layer in ("conv", "dense"):
        w, dw, rw = (np.asarray(t[layer]["w"]) for t in (PARAMS, d, raw))
        axes = tuple(range(w.ndim - 1))  # every filter (output unit): a last-axis slice
        np.testing.assert_allclose(np.linalg.norm(dw, axis=axes) if w.ndim == 2 else
                                   np.sqrt(np.sum(dw ** 2, axis=axes)),
                                   np.sqrt(np.sum(w ** 2, axis=axes)), rtol=1e-12)
        # only rescaled: each filter keeps its direction
        scale = np.sum(dw * rw, axis=axes) / np.sum(rw * rw, axis=axes)
        np.testing.assert_allclose(dw, rw * scale, rtol=1e-12)
        expected_b = np.zeros(w.shape[-1]) if one_dimensional == "zero" else PARAMS[layer]["b"]
        np.testing.assert_array_equal(d[layer]["b"], expected_b)


BAD = [
    ("dims 3", lambda: diagnostics.loss_landscape(quadratic, PARAMS, dims=3), ValueError,
     r"loss_landscape: dims must be 1 or 2, got 3"),
    ("one point", lambda: diagnostics.loss_landscape(quadratic, PARAMS, points=1), ValueError,
     r"points must be at least 2"),
    ("span", lambda: diagnostics.loss_landscape(quadratic, PARAMS, span=-1.0), ValueError,
     r"span must be finite and > 0"),
    ("normalize", lambda: diagnostics.loss_landscape(quadratic, PARAMS, normalize="layer"),
     ValueError, r"normalize must be 'filter' or None, got 'layer'"),
    ("three directions", lambda: diagnostics.loss_landscape(
        quadratic, PARAMS, directions=[PARAMS] * 3), ValueError,
     r"directions must be a list of 1 or 2 pytrees"),
    ("direction shape", lambda: diagnostics.filter_normalized_direction(
        {"conv": PARAMS["conv"], "dense": {"w": jnp.ones((3, 5)), "b": PARAMS["dense"]["b"]}},
        PARAMS), ValueError, r"direction\['dense'\]\['w'\] must have shape \(5, 3\) like "
     r"params, got \(3, 5\)"),
    ("one_dimensional", lambda: diagnostics.filter_normalized_direction(
        PARAMS, PARAMS, one_dimensional="scale"), ValueError,
     r"one_dimensional must be one of \('zero', 'copy'\), got 'scale'"),
    ("plot levels", lambda: plot.loss_landscape(diagnostics.LossLandscape(
        np.zeros(2), None, np.zeros(2), (), 0.0), levels=0), ValueError,
     r"loss_landscape: levels must be a positive integer, got 0"),
    ("plot shape", lambda: plot.loss_landscape(diagnostics.LossLandscape(
        np.zeros(3), np.zeros(3), np.zeros(3), (), 0.0)), ValueError,
     r"losses must have shape \(3, 3\) for the grid given, got \(3,\)"),
    ("plot of the wrong thing", lambda: plot.lr_range({"rates": []}), TypeError,
     r"lr_range: expected the result of funcnet.diagnostics.lr_range_test, got dict"),
]


@pytest.mark.parametrize("call, error, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
