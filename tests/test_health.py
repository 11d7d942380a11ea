"""fit(record=Health()): the training-health record against hand-computed answers.

A hand-built network with fixed weights (a saturating tanh unit, two dead ReLU units, a
saturating sigmoid) trains two SGD steps, the second on a padded batch; every recorded
number is recomputed in NumPy (gradients from ``reference``, the NumPy twin), in both
epoch modes.
"""

import re

import jax
import numpy as np
import pytest

import funcnet as fn
import reference
from funcnet import diagnostics, plot
from funcnet.train import epochs

BINS = 8
LAYERS = [fn.Dense(4), fn.tanh, fn.Dense(4), fn.relu, fn.Dense(1), fn.sigmoid]


def _hand_built():
    rng = np.random.default_rng(0)
    params = {
        # unit 0's weights are large: its tanh saturates on most samples
        "dense_0": {"w": rng.normal(size=(3, 4)) * np.array([20.0, 1, 1, 0.5]),
                    "b": np.zeros(4)},
        "tanh_1": {},
        # |tanh| <= 1 and |w| < 5, so a bias of -100 keeps ReLU units 0 and 3 dead
        "dense_2": {"w": rng.uniform(-1, 1, (4, 4)), "b": np.array([-100.0, 0.1, 0.2, -100.0])},
        "relu_3": {},
        "dense_4": {"w": 10 * rng.normal(size=(4, 1)), "b": np.array([0.5])},
        "sigmoid_5": {},
    }
    x = rng.normal(size=(6, 3))
    y = rng.uniform(size=(6, 1))
    return params, x, y


def _numpy_record(params, x):
    """The outputs of every layer and their statistics, computed by hand."""
    z0 = x @ params["dense_0"]["w"] + params["dense_0"]["b"]
    a1 = np.tanh(z0)
    z2 = a1 @ params["dense_2"]["w"] + params["dense_2"]["b"]
    a3 = np.maximum(z2, 0)
    z4 = a3 @ params["dense_4"]["w"] + params["dense_4"]["b"]
    a5 = 1 / (1 + np.exp(-z4))
    outputs = {"dense_0": z0, "tanh_1": a1, "dense_2": z2, "relu_3": a3, "dense_4": z4,
               "sigmoid_5": a5}
    record = {}
    for path, a in outputs.items():
        bounds = {"tanh_1": (-1, 1), "sigmoid_5": (0, 1)}.get(path, (a.min(), a.max()))
        kept = a[a != 0] if path == "relu_3" else a
        counts, _ = np.histogram(kept, bins=BINS, range=bounds)
        record[path] = {"mean": a.mean(), "std": a.std(), "histogram": counts / a.size,
                        "range": np.array(bounds, dtype=float)}
    record["tanh_1"]["saturated"] = np.mean(np.abs(a1) > 0.99)
    record["sigmoid_5"]["saturated"] = np.mean((a5 < 0.01) | (a5 > 0.99))
    record["relu_3"]["dead"] = np.mean(np.all(a3 == 0, axis=0))
    record["relu_3"]["zeros"] = np.mean(a3 == 0)
    return record


@pytest.mark.parametrize("mode", ["scan", "loop"])
def test_health_record_is_the_hand_computed_one_on_a_padded_batch(mode):
    model = fn.Sequential(LAYERS)
    params, x, y = _hand_built()
    key, lr = jax.random.key(3), 0.1
    result = fn.fit(model, params, {name: {} for name in params}, fn.optim.sgd(lr), (x, y),
                    epochs=1, batch_size=4, key=key, loss="mse", mode=mode, progress=False,
                    record=diagnostics.Health(every=1, saturation=0.99, bins=BINS))
    (entry,) = result.history["health"]
    assert entry["step"] == [0, 1]
    assert list(entry["layers"]) == list(_numpy_record(params, x))
    assert list(entry["params"]) == ["['dense_0']", "['dense_2']", "['dense_4']"]
    for i in range(2):
        xb, yb, mask, _ = epochs.step_inputs((x, y), key, 0, 6, 4, None, i)
        real = np.asarray(mask) > 0
        assert real.sum() == (4 if i == 0 else 2)  # step 1: two samples of padding
        want = _numpy_record(params, xb[real])
        for path, stats in want.items():
            got = entry["layers"][path]
            assert sorted(got) == sorted(stats), path
            for name, value in stats.items():
                np.testing.assert_allclose(got[name][i], value, rtol=1e-10, atol=1e-15,
                                           err_msg=f"step {i} {path} {name}")
        _, grads, _ = reference.value_and_grad(model.spec, params, xb[real], yb[real], "mse")
        params = {k: {n: v - lr * grads[k][n] for n, v in p.items()} for k, p in params.items()}
        for layer in ("dense_0", "dense_2", "dense_4"):
            g = np.sqrt(sum(np.sum(v**2) for v in grads[layer].values()))
            # both ratios divide by the params after the step's update
            w = np.sqrt(sum(np.sum(v**2) for v in params[layer].values()))
            got = entry["params"][f"['{layer}']"]
            np.testing.assert_allclose(got["gradient_norm"][i], g, rtol=1e-10)
            np.testing.assert_allclose(got["gradient_data"][i], g / w, rtol=1e-10)
            np.testing.assert_allclose(got["update_data"][i], lr * g / w, rtol=1e-10)
    layers = entry["layers"]
    # the planted faults show: a saturated tanh unit, two dead ReLUs, saturated sigmoids
    assert layers["relu_3"]["dead"] == [0.5, 0.5]
    assert min(layers["tanh_1"]["saturated"]) > 0 and max(layers["sigmoid_5"]["saturated"]) > 0
    assert "saturated" not in layers["dense_0"] and "dead" not in layers["dense_0"]
    np.testing.assert_allclose(result.params["dense_0"]["w"], params["dense_0"]["w"],
                               rtol=1e-12)


@pytest.mark.parametrize("batch_size, every", [(2, 2), (5, 3)])
def test_a_recorded_scan_gives_the_params_of_a_run_that_records_nothing(batch_size, every):
    # 5 steps with a chunk of two then a lone recorded step, or 2 steps in a partial
    # chunk: shapes where XLA inlines a scan of one plain step beside a recorded one. Each
    # is kept apart (epochs._apart), so nothing fuses across them and no bit moves.
    model = fn.Sequential([fn.Dense(3), fn.tanh, fn.Dense(2)])
    params, state = model.init(jax.random.key(0), (4,))
    x = np.random.default_rng(1).normal(size=(10, 4))
    y = np.arange(10) % 2
    common = {"batch_size": batch_size, "key": jax.random.key(1), "progress": False,
              "epochs": 2}
    recorded = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), **common,
                      record=diagnostics.Health(every=every, per="leaf"))
    plain = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), **common)
    jax.tree.map(np.testing.assert_array_equal, recorded.params, plain.params)


def test_every_counts_steps_within_each_epoch_and_a_checkpoint_keeps_the_record(tmp_path):
    # three epochs of three steps (the last batch padded), every second step recorded:
    # steps 0 and 2 of each epoch (a chunk of two steps, then one step alone)
    model = fn.Sequential([fn.Dense(3), fn.tanh, fn.Dense(2)])
    params, state = model.init(jax.random.key(0), (4,))
    x = np.random.default_rng(1).normal(size=(10, 4))
    y = np.arange(10) % 2
    common = {"batch_size": 4, "key": jax.random.key(1), "progress": False,
              "record": diagnostics.Health(every=2, per="leaf"), "checkpoint_dir": tmp_path}
    full = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), epochs=3, **common)
    health = full.history["health"]
    assert [entry["step"] for entry in health] == [[0, 2], [3, 5], [6, 8]]
    # the steps off the record run the plain step: the params are those of a run that
    # records nothing, and the host loop records the same steps as the scan
    plain = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), epochs=3,
                   batch_size=4, key=jax.random.key(1), progress=False)
    np.testing.assert_array_equal(full.params["dense_0"]["w"], plain.params["dense_0"]["w"])
    looped = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), epochs=3,
                    **{**common, "checkpoint_dir": None}, mode="loop")
    # (the loop's reductions are compiled on their own, so equal to float64 rounding)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-13),
                 diagnostics.health_series(looped.history),
                 diagnostics.health_series(full.history))
    leaf = health[0]["params"]
    assert list(leaf) == ["['dense_0']['b']", "['dense_0']['w']", "['dense_2']['b']",
                          "['dense_2']['w']"]
    # biases start at 0, so after the first update a bias is its update: ratio 1
    np.testing.assert_allclose(leaf["['dense_0']['b']"]["update_data"][0], 1.0, rtol=1e-6)
    assert 0 < leaf["['dense_0']['b']"]["gradient_data"][0] < np.inf
    assert 0 < leaf["['dense_0']['w']"]["update_data"][0] < np.inf
    # a finished run returns its checkpoint: the record survives the file
    restored = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), epochs=3, **common)
    assert restored.history["health"] == health
    series = diagnostics.health_series(full.history)
    assert series["step"].tolist() == [0, 2, 3, 5, 6, 8]
    assert series["layers"]["tanh_1"]["histogram"].shape == (6, 40)
    np.testing.assert_allclose(series["layers"]["tanh_1"]["histogram"].sum(axis=1), 1.0)

    fig = plot.training_health(full.history, title="tanh run")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["activation distribution at step 0", "activation distribution at step 8",
                      "saturated / dead units", "activation std (solid) and mean (dashed)",
                      "gradient:data ratio per parameter layer",
                      "update:data ratio per parameter layer"]
    update_ax = fig.axes[5]
    assert update_ax.get_yscale() == "log"
    guide = [line for line in update_ax.get_lines() if line.get_label() == "1e-3 guide"]
    assert len(guide) == 1 and guide[0].get_ydata()[0] == 1e-3
    assert [line.get_label() for line in update_ax.get_lines()][:2] == ["dense_0/b", "dense_0/w"]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("tanh_1: mean") and "saturated" in legend[0]
    with pytest.raises(ValueError, match=r"layers \['relu_9'\] are not recorded layers; the "
                                         r"recorded ones are \['dense_0', 'tanh_1', 'dense_2'\]"):
        plot.training_health(full.history, layers=["relu_9"])


def _history_without_health():
    return {"train_loss": [1.0]}


BAD = [
    ("every-zero", lambda: diagnostics.Health(every=0), ValueError,
     r"Health: every must be an integer >= 1, got 0"),
    ("every-float", lambda: diagnostics.Health(every=2.5), ValueError,
     r"Health: every must be an integer >= 1, got 2.5"),
    ("bins-one", lambda: diagnostics.Health(bins=1), ValueError,
     r"Health: bins must be an integer >= 2, got 1"),
    ("saturation-one", lambda: diagnostics.Health(saturation=1.0), ValueError,
     r"Health: saturation must be a number in \(0.5, 1\), got 1.0"),
    ("per-unknown", lambda: diagnostics.Health(per="array"), ValueError,
     r"Health: per must be 'layer' or 'leaf', got 'array'"),
    ("fit-record-string", lambda: fn.fit(
        fn.Sequential([fn.Dense(2)]), {"dense_0": {"w": np.ones((1, 2)), "b": np.zeros(2)}},
        {"dense_0": {}}, fn.optim.sgd(0.1), (np.ones((2, 1)), np.array([0, 1])), epochs=1,
        batch_size=2, key=jax.random.key(0), record="health"), TypeError,
     r"fit: record must be None or a funcnet.diagnostics.Health \(e.g. "
     r"record=Health\(every=10\)\), got 'health'"),
    ("series-no-health", lambda: diagnostics.health_series(_history_without_health()),
     ValueError, r"health_series: history must be fit's history of a run with "
                 r"record=funcnet.diagnostics.Health\(...\) \(it has a 'health' key\), "
                 r"got \['train_loss'\]"),
    ("plot-no-health", lambda: plot.training_health(_history_without_health()), ValueError,
     re.escape("health_series: history must be fit's history")),
]


@pytest.mark.parametrize(("call", "exception", "match"), [row[1:] for row in BAD],
                         ids=[row[0] for row in BAD])
def test_bad_input_is_named(call, exception, match):
    with pytest.raises(exception, match=match):
        call()
