"""The training loop: compiled steps, scan epochs vs the per-step loop, padding that
keeps every sample's weight, the classic GD/SGD modes, early stopping, the non-finite
guard, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close

import funcnet as fn
from funcnet.train.epochs import epoch_plan


def _problem(n=30, features=3, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(dtype)
    y = (np.abs(x[:, 0] * 2 + x[:, 1]) * 1.3).astype(np.int32) % classes
    return x, y


def _model(dtype=jnp.float64, classes=3):
    return fn.Sequential([fn.Dense(8, param_dtype=dtype), fn.tanh,
                          fn.Dense(classes, param_dtype=dtype)])


def _loss(model, params, state, x, y):
    logits = model.apply(params, state, x)[0]
    return fn.softmax_cross_entropy_with_integer_labels(logits, y)


def test_scan_and_loop_paths_give_identical_params(key):
    x, y = _problem()
    model = _model()
    params, state = model.init(key, (3,))
    runs = [fn.fit(model, params, state, optax.adam(0.05), (x, y), epochs=3, batch_size=7,
                   key=jax.random.key(3), mode=mode) for mode in ("scan", "loop")]
    assert_trees_close(runs[0].params, runs[1].params, rtol=0, atol=0)
    assert runs[0].history["train_loss"] == runs[1].history["train_loss"]


def test_padded_last_batch_trains_like_the_unpadded_batch(key):
    # 10 samples in batches of 4: the last batch holds 2 real samples and 2 masked fillers.
    x, y = _problem(n=10)
    model = _model()
    params, state = model.init(key, (3,))
    lr = 0.3
    result = fn.fit(model, params, state, optax.sgd(lr), (x, y), epochs=2, batch_size=4,
                    key=jax.random.key(7))
    expected = params
    grad_fn = jax.grad(lambda p, xb, yb: _loss(model, p, state, xb, yb))
    for epoch in range(2):
        idx, mask, _ = epoch_plan(jax.random.fold_in(jax.random.key(7), epoch), 10, 4)
        order = np.asarray(idx).reshape(-1)[np.asarray(mask).reshape(-1) > 0]
        assert sorted(order.tolist()) == list(range(10))  # every sample exactly once
        for start in range(0, 10, 4):
            batch = order[start:start + 4]
            g = grad_fn(expected, x[batch], y[batch])
            expected = jax.tree.map(lambda p, gg: p - lr * gg, expected, g)
    assert_trees_close(result.params, expected, rtol=1e-12, atol=1e-14)


def test_full_batch_mode_is_plain_gradient_descent(key):
    x, y = _problem(n=12)
    model = _model()
    params, state = model.init(key, (3,))
    result = fn.fit(model, params, state, optax.sgd(0.5), (x, y), epochs=4, batch_size=12,
                    key=key)
    expected = params
    for _ in range(4):
        g = jax.grad(lambda p: _loss(model, p, state, x, y))(expected)
        expected = jax.tree.map(lambda p, gg: p - 0.5 * gg, expected, g)
    assert_trees_close(result.params, expected, rtol=1e-12, atol=1e-14)
    losses = result.history["train_loss"]
    assert losses == sorted(losses, reverse=True)


def test_stochastic_mode_batch_size_one_sees_every_sample(key):
    x, y = _problem(n=9)
    model = _model()
    params, state = model.init(key, (3,))
    result = fn.fit(model, params, state, optax.sgd(0.1), (x, y), epochs=1, batch_size=1,
                    key=key)
    assert len(result.history["train_loss"]) == 1
    assert np.isfinite(result.history["train_loss"][0])


def test_make_step_compiles_once_and_masks_padding(key):
    x, y = _problem(n=8)
    model = _model()
    params, state = model.init(key, (3,))
    optimizer = optax.sgd(0.1)
    step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", optimizer,
                        donate=False)
    opt_state = optimizer.init(params)
    full_mask = jnp.ones(4)
    _, _, _, m_full = step(params, state, opt_state, (x[:4], y[:4], full_mask), key)
    padded_x = np.concatenate([x[4:6], x[:2]])
    padded_y = np.concatenate([y[4:6], y[:2]])
    p_pad, _, _, m_pad = step(params, state, opt_state,
                              (padded_x, padded_y, jnp.array([1.0, 1, 0, 0])), key)
    assert step._cache_size() == 1
    np.testing.assert_allclose(m_full["loss"], _loss(model, params, state, x[:4], y[:4]),
                               rtol=1e-12)
    np.testing.assert_allclose(m_pad["loss"], _loss(model, params, state, x[4:6], y[4:6]),
                               rtol=1e-12)
    assert float(m_pad["count"]) == 2.0
    g = jax.grad(lambda p: _loss(model, p, state, x[4:6], y[4:6]))(params)
    assert_trees_close(p_pad, jax.tree.map(lambda p, gg: p - 0.1 * gg, params, g),
                       rtol=1e-12, atol=1e-14)


def test_fit_keeps_the_callers_arrays_valid_and_is_deterministic(key):
    x, y = _problem()
    model = _model()
    params, state = model.init(key, (3,))
    a = fn.fit(model, params, state, optax.adam(0.01), (x, y), epochs=2, batch_size=8,
               key=jax.random.key(1))
    b = fn.fit(model, params, state, optax.adam(0.01), (x, y), epochs=2, batch_size=8,
               key=jax.random.key(1))
    assert_trees_close(a.params, b.params, rtol=0, atol=0)
    assert np.all(np.isfinite(params["dense_0"]["w"]))  # not donated away


def test_history_evaluation_and_learning_rate(key):
    x, y = _problem(n=40)
    model = _model()
    params, state = model.init(key, (3,))
    optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=0.2)
    result = fn.fit(model, params, state, optimizer, (x, y), epochs=3, batch_size=16,
                    key=key, eval_data=(x[:20], y[:20]), eval_batch_size=6)
    history = result.history
    assert set(history) == set(fn.fit.__globals__["HISTORY_KEYS"])
    assert history["epoch"] == [1, 2, 3]
    assert history["learning_rate"] == pytest.approx([0.2] * 3)
    direct = fn.evaluate(model, result.params, result.state, (x[:20], y[:20]), batch_size=7)
    assert history["eval_loss"][-1] == pytest.approx(direct["loss"], rel=1e-12)
    logits = fn.predict(model, result.params, result.state, x[:20], batch_size=6)
    np.testing.assert_allclose(direct["accuracy"], np.mean(np.argmax(logits, -1) == y[:20]))
    np.testing.assert_allclose(
        direct["loss"],
        fn.softmax_cross_entropy_with_integer_labels(logits, jnp.asarray(y[:20])), rtol=1e-12)


def test_early_stopping_restores_the_best_params_and_callback_can_stop(key):
    x, y = _problem(n=20)
    model = _model()
    params, state = model.init(key, (3,))
    seen = []

    def callback(epoch, row, params, state):
        seen.append((epoch, row["eval_loss"]))
        return False

    # A learning rate this large makes eval loss bounce, so patience runs out.
    result = fn.fit(model, params, state, optax.sgd(20.0), (x, y), epochs=30, batch_size=20,
                    key=key, eval_data=(x, y), callback=callback,
                    early_stopping=fn.EarlyStopping("eval_loss", patience=2))
    losses = result.history["eval_loss"]
    assert len(losses) < 30 and len(seen) == len(losses)
    best = fn.evaluate(model, result.params, result.state, (x, y))["loss"]
    assert best == pytest.approx(min(losses), rel=1e-12)
    stopped = fn.fit(model, params, state, optax.sgd(0.1), (x, y), epochs=10, batch_size=20,
                     key=key, callback=lambda epoch, *_: epoch == 2)
    assert stopped.history["epoch"] == [1, 2]


def test_non_finite_guard_stops_and_keeps_the_last_finite_state(key):
    x, y = _problem(n=32)
    model = fn.Sequential([fn.Dense(16), fn.relu, fn.Dense(16), fn.relu, fn.Dense(3)])
    params, state = model.init(key, (3,))
    x = (x * 100).astype(np.float32)
    with pytest.raises(fn.NonFiniteError, match=r"non-finite at epoch \d+, step \d+") as info:
        fn.fit(model, params, state, optax.sgd(1e6), (x, y), epochs=20, batch_size=8,
               key=key)
    err = info.value
    assert err.epoch >= 1 and err.paths
    assert all(p.startswith("['dense_") or p == "loss" for p in err.paths)
    leaves = jax.tree_util.tree_leaves(err.result.params)
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves)
    assert len(err.result.history["epoch"]) == err.epoch


@pytest.mark.parametrize("kwargs, error, match", [
    ({"train_data": (np.zeros((4, 3)), np.zeros(3, np.int32))}, ValueError,
     r"train_data x and train_data y must have the same number of samples"),
    ({"train_data": (np.zeros((4, 3)), np.array([0, 1, 2, 3], np.int32))}, ValueError,
     r"train_data y must be in \[0, 3\), got a label 3"),
    ({"train_data": (np.zeros((4, 3)), np.zeros(4))}, TypeError,
     r"train_data y must be integer class indices"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ({"batch_size": 5}, ValueError, r"batch_size must be at most the number of training "
                                    r"samples \(4\), got 5"),
    ({"epochs": -1}, ValueError, "epochs must be an integer >= 0, got -1"),
    ({"eval_data": (np.zeros((2, 5)), np.zeros(2, np.int32))}, ValueError,
     r"eval_data x must have per-sample shape \(3,\)"),
    ({"train_data": (np.array([[0.0, 1, 2], [0, np.nan, 1], [1, 1, 1], [0, 0, 0]]),
                     np.zeros(4, np.int32))}, ValueError,
     r"train_data x holds non-finite values .* first at row 1"),
    ({"mode": "fast"}, ValueError, "mode must be 'auto', 'scan' or 'loop'"),
    ({"train_data": (np.zeros((0, 3)), np.zeros(0, np.int32))}, ValueError,
     "train_data is empty"),
])
def test_fit_rejects_bad_input(key, kwargs, error, match):
    model = _model()
    params, state = model.init(key, (3,))
    args = {"train_data": (np.zeros((4, 3)), np.zeros(4, np.int32)), "epochs": 1,
            "batch_size": 2}
    args.update(kwargs)
    train_data = args.pop("train_data")
    with pytest.raises(error, match=match):
        fn.fit(model, params, state, optax.sgd(0.1), train_data, key=key, **args)


def test_resume_from_checkpoint_is_bit_identical(key, tmp_path):
    x, y = _problem(n=40)
    model = fn.Sequential([fn.Dense(8, param_dtype=jnp.float64), fn.relu,
                           fn.Dense(3, param_dtype=jnp.float64)])
    params, state = model.init(key, (3,))
    optimizer = optax.adam(0.02)
    common = dict(batch_size=7, key=jax.random.key(5), eval_data=(x[:10], y[:10]))
    full = fn.fit(model, params, state, optimizer, (x, y), epochs=5, **common)
    # "Interrupted" after epoch 2: a run of 2 epochs writes its checkpoint, then a new
    # call with the full epoch count finds it and continues.
    fn.fit(model, params, state, optimizer, (x, y), epochs=2, checkpoint_dir=tmp_path,
           **common)
    resumed = fn.fit(model, params, state, optimizer, (x, y), epochs=5,
                     checkpoint_dir=tmp_path, keep=2, **common)
    assert_trees_close(resumed.params, full.params, rtol=0, atol=0)
    assert_trees_close(resumed.opt_state, full.opt_state, rtol=0, atol=0)
    for k, values in full.history.items():
        if k != "seconds":  # wall-clock time is the one thing that differs
            assert resumed.history[k] == values, k
    assert sorted(p.name for p in tmp_path.glob("ckpt_*.npz")) == [
        "ckpt_000004.npz", "ckpt_000005.npz"]
    again = fn.fit(model, params, state, optimizer, (x, y), epochs=5,
                   checkpoint_dir=tmp_path, **common)  # already done: returns the result
    assert_trees_close(again.params, full.params, rtol=0, atol=0)


def test_fit_refuses_a_schedule_whose_first_rate_is_negative(key):
    # fit builds the optimizer state inside one compiled call, where the schedule's
    # first rate is not concrete for init's own check; fit checks it instead.
    x, y = _problem(n=16)
    model = fn.Sequential([fn.Dense(3)])
    params, state = model.init(key, (3,))
    bad = fn.optim.adam(lambda count: -0.1 + 0.0 * count)
    with pytest.raises(ValueError, match=r"fit: the optimizer's learning rate at step 0 is "
                                         r"-0\.1; a learning rate must be finite and >= 0"):
        fn.fit(model, params, state, bad, (x, y), epochs=1, batch_size=8, key=key)


def test_resuming_with_another_constant_rate_records_and_uses_the_new_rate(key):
    # A state made with another rate must not go on reporting (or be taken for) the old
    # one: the optimizer's own rate is used and recorded.
    x, y = _problem(n=16)
    model = fn.Sequential([fn.Dense(3)])
    params, state = model.init(key, (3,))
    first = fn.fit(model, params, state, fn.optim.adam(1e-2), (x, y), epochs=1,
                   batch_size=8, key=key)
    assert first.history["learning_rate"] == [1e-2]
    second = fn.fit(model, first.params, first.state, fn.optim.adam(1e-4), (x, y),
                    epochs=2, batch_size=8, key=key, opt_state=first.opt_state)
    assert second.history["learning_rate"] == [1e-4, 1e-4]
    assert float(fn.optim.current_learning_rate(second.opt_state)) == 1e-4
    # the same run from the same state with 1e-4 recorded in it in the first place
    recorded = first.opt_state[:-1] + (first.opt_state[-1]._replace(
        learning_rate=jnp.asarray(1e-4, first.opt_state[-1].learning_rate.dtype)),)
    third = fn.fit(model, first.params, first.state, fn.optim.adam(1e-4), (x, y),
                   epochs=2, batch_size=8, key=key, opt_state=recorded)
    for a, b in zip(jax.tree.leaves(second.params), jax.tree.leaves(third.params),
                    strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["scan", "loop"])
def test_fit_takes_python_lists_as_data(mode, key):
    x, y = _problem(n=16)
    model = fn.Sequential([fn.Dense(3)])
    params, state = model.init(key, (3,))
    as_lists = fn.fit(model, params, state, fn.optim.sgd(0.1), (x.tolist(), y.tolist()),
                      epochs=1, batch_size=8, key=key, mode=mode,
                      eval_data=(x.tolist(), y.tolist()))
    as_arrays = fn.fit(model, params, state, fn.optim.sgd(0.1), (x, y), epochs=1,
                       batch_size=8, key=key, mode=mode, eval_data=(x, y))
    assert as_lists.history["eval_loss"] == as_arrays.history["eval_loss"]


def test_fit_on_raw_integer_pixels_says_how_to_scale_them():
    model = fn.Sequential([fn.Flatten(), fn.Dense(3)])
    params, state = model.init(jax.random.key(0), (4, 4))
    x = np.zeros((8, 4, 4), np.uint8)
    y = np.zeros(8, np.int32)
    with pytest.raises(TypeError, match=r"fit: train_data x has dtype uint8.*"
                                        r"astype\(np.float32\) / 255.*layout='flat'"):
        fn.fit(model, params, state, fn.optim.sgd(0.1), (x, y), epochs=1, batch_size=4,
               key=jax.random.key(1))


@pytest.mark.parametrize("mode", ["scan", "loop"])
def test_progress_bar_reaches_the_last_epoch_and_stays(mode, capsys):
    model = fn.Sequential([fn.Dense(2)])
    params, state = model.init(jax.random.key(0), (3,))
    x, y = np.ones((8, 3), np.float32), np.zeros(8, np.int32)
    fn.fit(model, params, state, fn.optim.sgd(0.1), (x, y), epochs=3, batch_size=4,
           key=jax.random.key(1), mode=mode, progress=True)
    err = capsys.readouterr().err
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "fit: 100%" in last and "3/3" in last and "loss=" in last, err
