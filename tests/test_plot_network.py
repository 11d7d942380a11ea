"""plot.network_diagram: one unit per circle, one edge per weight, bad input named."""

import numpy as np
import pytest

from funcnet import plot


def test_network_diagram_draws_every_unit_and_weight():
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((2, 3)), rng.standard_normal((3, 1))]
    fig = plot.network_diagram([2, 3, 1], layer_names=["in", "hidden", "out"],
                               unit_labels=[["x1", "x2"], ["h1", "h2", "h3"], ["y"]],
                               weights=weights, title="2-3-1")
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    assert len(ax.lines) == 2 * 3 + 3 * 1
    widths = [line.get_linewidth() for line in ax.lines]
    # the widest edge is the largest |w|, drawn blue when positive and red when negative
    flat = np.concatenate([w.ravel() for w in weights])
    widest = int(np.argmax(widths))
    assert widest == int(np.argmax(np.abs(flat)))
    assert ax.lines[widest].get_color() == ("tab:blue" if flat[widest] >= 0 else "tab:red")
    assert {t.get_text() for t in ax.texts} >= {"x1", "h3", "y", "in", "hidden", "out"}


def test_network_diagram_writes_weight_labels_on_their_edges():
    fig = plot.network_diagram([1, 2], weight_labels=[[["w1", ""]]])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("w1") == 1 and "" not in texts[:1]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"layer_sizes": [3]}, r"layer_sizes must be a list of at least two integers >= 1"),
    ({"layer_sizes": [2, 0]}, r"layer_sizes must be a list .* got \[2, 0\]"),
    ({"layer_sizes": [2, 40]}, r"wider than 32 units"),
    ({"layer_sizes": [2, 1], "layer_names": ["a"]}, r"layer_names must be 2 strings"),
    ({"layer_sizes": [2, 1], "unit_labels": [["a", "b"]]}, r"unit_labels must be 2 lists"),
    ({"layer_sizes": [2, 1], "weights": [np.ones((1, 2))]},
     r"weights must be 1 arrays of shapes \[\(2, 1\)\] .* got \[\(1, 2\)\]"),
    ({"layer_sizes": [2, 1], "weights": [np.full((2, 1), np.nan)]}, r"weights must be finite"),
    ({"layer_sizes": [2, 1], "weight_labels": [["w1", "w2"]]},
     r"weight_labels must be 1 nested lists of strings of shapes \[\(2, 1\)\]"),
], ids=["one-layer", "zero-units", "too-wide", "names", "labels", "weight-shape", "nan",
        "weight-labels"])
def test_network_diagram_bad_input(kwargs, match):
    sizes = kwargs.pop("layer_sizes")
    with pytest.raises(ValueError, match=match):
        plot.network_diagram(sizes, **kwargs)
