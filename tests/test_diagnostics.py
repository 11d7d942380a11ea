"""funcnet.diagnostics: gradient norms, update ratios, activation health; the example runs."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import load_example

import funcnet as fn
from funcnet import diagnostics

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_paths_sort_in_layer_order():
    paths = ["['dense_10']['w']", "['dense_2']['b']", "['batch_norm_3']['scale']",
             "['dense_2']['w']", "['residual_11']['block']['dense_0']['w']", "['dense_0']['w']"]
    assert sorted(paths, key=diagnostics.path_order_key) == [
        "['dense_0']['w']", "['dense_2']['b']", "['dense_2']['w']",
        "['batch_norm_3']['scale']", "['dense_10']['w']",
        "['residual_11']['block']['dense_0']['w']"]
    assert sorted(["[10]", "[9]", "[0]"], key=diagnostics.path_order_key) == ["[0]", "[9]", "[10]"]


def twelve_layer_grads():
    names = [f"dense_{i}" for i in range(0, 12, 2)]
    return {name: {"w": jnp.full((2, 2), float(i + 1)), "b": jnp.full((2,), -1.0)}
            for i, name in enumerate(names)}


def test_gradient_norms_per_leaf_and_per_layer():
    grads = twelve_layer_grads()
    leaf = diagnostics.gradient_norms(grads)
    assert list(leaf)[:2] == ["['dense_0']['b']", "['dense_0']['w']"]
    assert list(leaf)[-1] == "['dense_10']['w']"
    assert float(leaf["['dense_4']['w']"]) == pytest.approx(np.linalg.norm(np.full((2, 2), 3.0)))
    layer = diagnostics.gradient_norms(grads, per="layer")
    assert list(layer) == [f"['dense_{i}']" for i in range(0, 12, 2)]
    assert float(layer["['dense_10']"]) == pytest.approx(np.sqrt(4 * 36 + 2 * 1))
    assert diagnostics.parameter_paths(grads, per="layer") == list(layer)
    assert diagnostics.gradient_norms({"w": jnp.array([3.0, 4.0])}, per="layer") == \
        {"<root>": pytest.approx(5.0)}
    with pytest.raises(ValueError, match="per must be 'leaf'"):
        diagnostics.gradient_norms(grads, per="array")
    with pytest.raises(ValueError, match="has no arrays"):
        diagnostics.gradient_norms({"relu_1": {}})


def test_gradient_norm_vector_inside_jit_and_scan():
    grads = twelve_layer_grads()

    @jax.jit
    def recorded(g):
        def step(carry, scale):
            norms, _ = diagnostics.gradient_norm_vector(jax.tree.map(lambda a: a * scale, g),
                                                        per="layer")
            return carry, norms
        return jax.lax.scan(step, 0, jnp.array([1.0, 2.0, 3.0]))[1]

    history = recorded(grads)
    names = diagnostics.parameter_paths(grads, per="layer")
    assert history.shape == (3, len(names))
    expected = np.array([float(v) for v in diagnostics.gradient_norms(grads, per="layer").values()])
    np.testing.assert_allclose(history, np.outer([1, 2, 3], expected), rtol=1e-6)
    vector, vector_names = diagnostics.gradient_norm_vector(grads)
    assert vector_names == diagnostics.parameter_paths(grads) and vector.shape == (12,)


def test_update_ratios():
    params = {"dense_0": {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(2)},
              "dense_2": {"w": jnp.array([1.0]), "b": jnp.zeros(1)}}
    updates = {"dense_0": {"w": jnp.array([0.03, 0.04]), "b": jnp.array([0.1, 0.0])},
               "dense_2": {"w": jnp.array([-0.5]), "b": jnp.zeros(1)}}
    ratios = diagnostics.update_ratios(updates, params)
    assert float(ratios["['dense_0']['w']"]) == pytest.approx(0.01)
    assert float(ratios["['dense_2']['w']"]) == pytest.approx(0.5)
    assert float(ratios["['dense_0']['b']"]) == np.inf  # a zero param that moves
    assert float(ratios["['dense_2']['b']"]) == 0.0  # a zero param that stays
    per_layer = diagnostics.update_ratios(updates, params, per="layer")
    assert float(per_layer["['dense_0']"]) == pytest.approx(np.sqrt(0.0025 + 0.01) / 5)
    vector, names = jax.jit(lambda u, p: diagnostics.update_ratio_vector(u, p)[0])(
        updates, params), diagnostics.parameter_paths(params)
    np.testing.assert_allclose(vector, [float(ratios[n]) for n in names], rtol=1e-6)
    with pytest.raises(ValueError, match="same tree structure"):
        diagnostics.update_ratios({"dense_0": updates["dense_0"]}, params)


def test_gradient_ratio():
    assert diagnostics.gradient_ratio({"a": 1e-6, "b": 1.0, "c": 1e-2}) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="at least two layers"):
        diagnostics.gradient_ratio({"a": 1.0})
    with pytest.raises(ValueError, match="last layer's norm is 0"):
        diagnostics.gradient_ratio({"a": 1.0, "b": 0.0})


LAYERS = [fn.Dense(6), fn.relu, fn.Dropout(0.5),
          fn.Sequential([fn.Dense(5), fn.tanh]), fn.Dense(4), fn.sigmoid]


def random_params(model, input_shape, seed=0):
    """Random params and the (empty) state, structure from init without running it."""
    params, state = jax.eval_shape(lambda k: model.init(k, input_shape), jax.random.key(0))
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda leaf: rng.normal(size=leaf.shape), params), state


def test_activations_follow_apply_exactly_including_dropout_keys():
    model = fn.Sequential(LAYERS)
    params, state = random_params(model, (3,))
    x = np.random.default_rng(1).normal(size=(7, 3))
    key = jax.random.key(2)
    outs = diagnostics.activations(model, params, state, x, train=True, key=key)
    assert list(outs) == ["dense_0", "relu_1", "dropout_2", "sequential_3/dense_0",
                          "sequential_3/tanh_1", "sequential_3", "dense_4", "sigmoid_5"]
    np.testing.assert_array_equal(outs["sequential_3"], outs["sequential_3/tanh_1"])
    y, _ = jax.jit(lambda p, s, xx, k: model.apply(p, s, xx, train=True, key=k))(
        params, state, x, key)
    np.testing.assert_array_equal(outs["sigmoid_5"], y)
    dropped = np.asarray(outs["dropout_2"])
    assert ((dropped == 0) | np.isclose(dropped, 2 * np.asarray(outs["relu_1"]))).all()
    from_list = diagnostics.activations(LAYERS, params, state, x)
    assert list(from_list) == list(outs)
    np.testing.assert_array_equal(from_list["dropout_2"], outs["relu_1"])  # eval: identity
    np.testing.assert_allclose(from_list["dense_0"], outs["dense_0"], rtol=1e-12)
    single = diagnostics.activations(fn.Dense(2), {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)},
                                     {}, x)
    assert list(single) == ["dense"] and single["dense"].shape == (7, 2)
    with pytest.raises(ValueError, match=r"Sequential: params must be the dict with keys "
                                         r"\['dense_0', .*, got \[\]"):
        diagnostics.activations(model, {}, state, x)
    with pytest.raises(TypeError, match="model must be a Layer or the list of layers"):
        diagnostics.activations("mlp", params, state, x)
    with pytest.raises(ValueError, match="the list of layers is empty"):
        diagnostics.activations([], params, state, x)


def test_activation_statistics():
    layers = [fn.Dense(4), fn.tanh, fn.Dense(4), fn.sigmoid, fn.Dense(4), fn.relu]
    model = fn.Sequential(layers)
    params, state = random_params(model, (3,))
    x = 50 * np.random.default_rng(1).normal(size=(64, 3))
    stats = diagnostics.activation_statistics(model, params, state, x, saturation=0.95)
    outs = diagnostics.activations(model, params, state, x)
    for path, s in stats.items():
        y = np.asarray(outs[path], dtype=np.float64)
        assert s.mean == pytest.approx(y.mean()) and s.std == pytest.approx(y.std())
        assert s.fraction_zero == pytest.approx(np.mean(y == 0))
    tanh = np.asarray(outs["tanh_1"])
    assert stats["tanh_1"].fraction_saturated == pytest.approx(np.mean(np.abs(tanh) > 0.95))
    assert stats["tanh_1"].fraction_saturated > 0.5  # inputs of size 50 saturate tanh
    sig = np.asarray(outs["sigmoid_3"])
    assert stats["sigmoid_3"].fraction_saturated == pytest.approx(
        np.mean((sig < 0.05) | (sig > 0.95)))
    assert stats["dense_0"].fraction_saturated is None
    assert stats["relu_5"].fraction_saturated is None and stats["relu_5"].fraction_zero > 0
    with pytest.raises(ValueError, match=r"saturation must be in \(0.5, 1\)"):
        diagnostics.activation_statistics(model, params, state, x, saturation=1.0)


def test_dead_relu_fraction_counts_units_dead_on_every_sample():
    # Units 0 and 2 get a bias so negative that no input in [-1, 1] reaches zero; unit 3
    # (bias 0) is zero for x <= 0 only, so it is alive.
    params = {"dense_0": {"w": jnp.ones((1, 4)), "b": jnp.array([-10.0, 0.5, -10.0, 0.0])},
              "relu_1": {}}
    x = jnp.linspace(-1, 1, 6).reshape(6, 1)
    dense = diagnostics.dead_relu_fraction([fn.Dense(4), fn.relu], params,
                                           {"dense_0": {}, "relu_1": {}}, x)
    assert dense == {"relu_1": 0.5}
    # Conv: channel 0 is dead at every position (9 of 18 units), channel 1 alive everywhere.
    images = jnp.linspace(-1, 1, 2 * 3 * 3 * 4).reshape(2, 3, 3, 4)
    conv_model = fn.Sequential([fn.Conv2D(2, 1), fn.relu, fn.Flatten(), fn.Dense(1), fn.relu])
    conv_params = {"conv_0": {"w": jnp.ones((1, 1, 4, 2)), "b": jnp.array([-100.0, 0.0])},
                   "relu_1": {}, "flatten_2": {},
                   "dense_3": {"w": -jnp.ones((18, 1)), "b": jnp.zeros(1)}, "relu_4": {}}
    conv = diagnostics.dead_relu_fraction(conv_model, conv_params,
                                          {name: {} for name in conv_params}, images)
    assert conv == {"relu_1": 0.5, "relu_4": 1.0}


@pytest.mark.slow
def test_vanishing_gradients_example_quick_run(tmp_path, capsys):
    module = load_example("vanishing_gradients")
    vanishing, exploding = module.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "ratio input/output" in printed and "non-finite from step" in printed
    sigmoid, relu, tanh = (vanishing[name] for name in module.CONFIGS)
    assert sigmoid["ratio"] < 1e-4  # vanished: 0.25 per sigmoid times 0.1-scale weights
    assert relu["ratio"] > 1e-2 and tanh["ratio"] > 1e-2
    assert list(sigmoid["norms"]) == [f"['dense_{i}']" for i in range(0, 19, 2)]
    sgd, clipped = exploding.values()
    assert not np.isfinite(sgd["losses"]).all()
    assert np.isfinite(clipped["losses"]).all()
    assert clipped["losses"][-1] < clipped["losses"][0] / 2
    for picture in ("gradient_magnitudes.png", "gradient_norms_training.png", "exploding.png",
                    "health_sigmoid.png", "health_relu.png", "health_tanh.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_activations_enter_residual_blocks_and_report_the_sum_after_them():
    model = fn.Sequential([fn.Dense(3), fn.Residual(fn.Sequential([fn.Dense(3), fn.relu])),
                           fn.tanh])
    params, state = random_params(model, (3,))
    x = np.random.default_rng(0).normal(size=(5, 3))
    outs = diagnostics.activations(model, params, state, x)
    assert list(outs) == ["dense_0", "residual_1/block/dense_0", "residual_1/block/relu_1",
                          "residual_1/block", "residual_1", "tanh_2"]
    np.testing.assert_allclose(outs["residual_1"],
                               outs["dense_0"] + outs["residual_1/block/relu_1"], rtol=1e-12)
