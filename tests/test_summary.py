"""fn.summary's table and Layer's repr: shapes, parameter counts, FLOPs against formulas."""

from __future__ import annotations

import pytest

import funcnet as fn


def mlp():
    return fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(512), fn.relu, fn.Dense(10)])


def test_mnist_mlp_counts_669706_parameters():
    table = fn.summary(mlp(), (784,))
    assert table.total_params == 669_706
    assert "669,706" in str(table).splitlines()[-1]
    assert [row.output_shape for row in table.rows] == [(512,)] * 4 + [(10,)]


def test_dense_flops_are_2_in_out_plus_the_bias_adds():
    rows = {row.path: row for row in fn.summary(mlp(), (784,)).rows}
    for path, (n_in, n_out) in {"dense_0": (784, 512), "dense_2": (512, 512),
                                "dense_4": (512, 10)}.items():
        # XLA counts a dot as 2*M*N*K (M = 1 example) and the bias as one add per output
        assert rows[path].flops == 2 * n_in * n_out + n_out
        assert rows[path].params == n_in * n_out + n_out


def test_container_rows_sum_their_subtree():
    model = fn.Sequential([fn.Dense(4), fn.Sequential([fn.Dense(3), fn.relu]), fn.Dense(1)])
    table = fn.summary(model, (2,))
    rows = {row.path: row for row in table.rows}
    assert list(rows) == ["dense_0", "sequential_1", "sequential_1/dense_0",
                          "sequential_1/relu_1", "dense_2"]
    assert rows["sequential_1"].depth == 0 and rows["sequential_1/dense_0"].depth == 1
    assert rows["sequential_1"].params == rows["sequential_1/dense_0"].params == 15
    assert rows["sequential_1"].flops == (rows["sequential_1/dense_0"].flops
                                          + rows["sequential_1/relu_1"].flops)
    assert table.total_params == 12 + 15 + 4
    assert table.total_flops == sum(rows[p].flops for p in rows if p != "sequential_1")


def test_cnn_shapes_and_twins():
    model = fn.Sequential([fn.Conv2D(16, 5), fn.relu, fn.MaxPool2D(2), fn.Flatten(),
                           fn.Dense(10)])
    table = fn.summary(model, (28, 28, 1))
    assert [row.output_shape for row in table.rows] == [
        (28, 28, 16), (28, 28, 16), (14, 14, 16), (3136,), (10,)]
    assert table.total_params == 5 * 5 * 16 + 16 + 3136 * 10 + 10
    assert all(row.twin for row in table.rows)
    # XLA counts only the taps inside the image under SAME padding: along each axis
    # 28 positions see 5 taps, less 2 + 1 at each edge; one bias add per output
    taps = (28 * 5 - 2 * (2 + 1)) ** 2
    assert table.rows[0].flops == 2 * taps * 1 * 16 + 28 * 28 * 16


def test_user_layer_has_no_twin_and_shows_its_name():
    table = fn.summary(fn.Sequential([fn.Dense(2), lambda x: 2 * x]), (3,))
    assert [(row.type, row.twin) for row in table.rows] == [("Dense", True), ("<lambda>", False)]


def test_mlp_repr_is_short_and_readable():
    text = repr(mlp())
    assert len(text) < 300
    assert "function" not in text and "0x" not in text
    assert text.splitlines()[1] == "  dense_0: Dense(features=512, use_bias=True),"
    scale = fn.Layer(lambda key, shape: ({}, {}), lambda p, s, x, **kw: (x, s), name="scale")
    assert repr(scale) == "Layer(name='scale')"
    assert "0x" not in repr(fn.Residual(fn.Sequential([fn.Dense(2), lambda x: x])))


@pytest.mark.parametrize(("model", "shape", "error", "match"), [
    ("dense", (3,), TypeError, r"summary: model must be a funcnet Layer .* got str"),
    (fn.Dense(2), 3, TypeError, r"summary: input_shape must be a tuple .* write \(3,\)"),
    (fn.Dense(2), (0,), ValueError, r"summary: input_shape must be .* got \(0,\)"),
])
def test_bad_input_names_the_argument(model, shape, error, match):
    with pytest.raises(error, match=match):
        fn.summary(model, shape)
