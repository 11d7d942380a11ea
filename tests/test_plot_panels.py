"""funcnet.plot's lesson panels: matrices, layer_panels, gradient_check."""

from __future__ import annotations

import numpy as np
import pytest

from funcnet import plot


def test_matrices_draw_each_value_signed_and_centred():
    w = np.array([[0.5, 0.3], [0.2, 0.8]])
    dw = np.array([[-0.01, 0.02], [0.0, -0.03]])
    fig = plot.matrices({"W1": w, "dW1": dw, "mask": np.array([True, False, True])})
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["W1 (2, 2)", "dW1 (2, 2)", "mask (1, 3)"]
    assert [t.get_text() for t in panels[0].texts] == ["0.5", "0.3", "0.2", "0.8"]
    signed = panels[1].images[0]
    assert signed.get_cmap().name == "RdBu_r" and signed.get_clim() == (-0.03, 0.03)
    assert panels[0].images[0].get_cmap().name == "viridis"
    np.testing.assert_array_equal(panels[2].images[0].get_array(), [[1.0, 0.0, 1.0]])


def test_matrices_centre_any_negative_matrix_at_zero_and_keep_text_readable():
    fig = plot.matrices({"dW": np.array([[-0.4, -0.1]])})
    (panel,) = (ax for ax in fig.axes if ax.get_title())
    assert panel.images[0].get_clim() == (-0.4, 0.4)
    # the strongly coloured cell gets white text, the pale one black
    assert [t.get_color() for t in panel.texts] == ["white", "black"]


def test_matrices_annotate_auto_skips_large_matrices():
    fig = plot.matrices({"big": np.ones((20, 10)), "small": np.ones((2, 2))})
    big, small = (ax for ax in fig.axes if ax.get_title())
    assert not big.texts and len(small.texts) == 4


def test_layer_panels_plot_values_in_order():
    fig = plot.layer_panels({"||dz||": {"dense_0": 1e-5, "dense_2": 1e-1},
                             "mean |a|": [0.5, 0.4]}, ncols=2)
    first, second = fig.axes
    np.testing.assert_array_equal(first.lines[0].get_ydata(), [1e-5, 1e-1])
    assert [t.get_text() for t in first.get_xticklabels()] == ["dense_0", "dense_2"]
    assert first.get_yscale() == "log"
    np.testing.assert_array_equal(second.lines[0].get_ydata(), [0.5, 0.4])


def test_gradient_check_scatter_and_relative_error():
    a = np.array([0.1, -0.2, 0.05, 0.3])
    n = a + np.array([0.0, 1e-3, 0.0, 0.0])
    fig = plot.gradient_check(a, n)
    scatter = fig.axes[2].collections[0].get_offsets()
    np.testing.assert_array_equal(scatter, np.stack([n, a], axis=1))
    expected = np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))
    assert fig.axes[2].get_title().endswith(f"relative error {expected:.1e}")


BAD = [
    ("matrices-not-dict", lambda: plot.matrices([np.ones((2, 2))]), TypeError,
     r"matrices: named must be a dict name -> values, got list"),
    ("matrices-empty", lambda: plot.matrices({}), ValueError, r"matrices: named is empty"),
    ("matrices-3d", lambda: plot.matrices({"x": np.ones((2, 2, 2))}), ValueError,
     r"named\['x'\] must be a non-empty \(rows, cols\) matrix or \(n,\) vector, "
     r"got shape \(2, 2, 2\)"),
    ("matrices-strings", lambda: plot.matrices({"x": np.array([["a"]])}), TypeError,
     r"named\['x'\] must hold real numbers, got dtype <U1"),
    ("matrices-annotate", lambda: plot.matrices({"x": np.ones((2, 2))}, annotate="yes"),
     ValueError, r"annotate must be True, False or 'auto', got 'yes'"),
    ("panels-zero-on-log", lambda: plot.layer_panels({"g": [1.0, 0.0]}), ValueError,
     r"panels\['g'\] has values <= 0 or non-finite \(\[1\.0, 0\.0\]\).*log_scale=False"),
    ("panels-2d", lambda: plot.layer_panels({"g": np.ones((2, 2))}), ValueError,
     r"panels\['g'\] must be one value per layer \(L,\), got shape \(2, 2\)"),
    ("panels-ncols", lambda: plot.layer_panels({"g": [1.0]}, ncols=0), ValueError,
     r"layer_panels: ncols must be a positive integer, got 0"),
    ("check-shapes", lambda: plot.gradient_check(np.ones(3), np.ones(4)), ValueError,
     r"analytic and numerical must be non-empty arrays of the same shape, got \(3,\) and "
     r"\(4,\)"),
]


@pytest.mark.parametrize(("call", "exc", "match"), [pytest.param(*r[1:], id=r[0]) for r in BAD])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
