"""The non-finite guard's two shapes of work (one per platform) give the same answers.

The compiled step picks its finiteness check and its skip with
``jax.lax.platform_dependent``: per-shape reductions and a ``lax.cond`` on CPU, one fused
reduction and an elementwise select elsewhere. CI runs on CPU, so the GPU shapes are
checked here directly and, end to end, by making ``platform_dependent`` take its
``default`` branch.
"""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given

import funcnet as fn
from funcnet.train import guard as _guard


def _take_default(*args, default=None, **per_platform):
    return default(*args)


@pytest.fixture(params=["cpu", "default"])
def platform_branch(request, monkeypatch):
    """Run the test with CPU's branches, then with every other platform's."""
    if request.param == "default":
        monkeypatch.setattr(jax.lax, "platform_dependent", _take_default)
    return request.param


@given(shapes=st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1,
                       max_size=5),
       bad=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 63),
                              st.sampled_from([np.nan, np.inf, -np.inf])), max_size=3),
       dtype=st.sampled_from([np.float32, np.float64, jnp.bfloat16]))
def test_one_pass_and_per_shape_finiteness_agree(shapes, bad, dtype):
    leaves = [np.ones(shape, np.float64) for shape in shapes]
    for leaf_index, flat_index, value in bad:
        leaf = leaves[leaf_index % len(leaves)]
        leaf.reshape(-1)[flat_index % leaf.size] = value
    expected = all(np.isfinite(leaf).all() for leaf in leaves)
    arrays = [jnp.asarray(leaf, dtype) for leaf in leaves]
    assert bool(_guard._finite_per_shape(*arrays)) is expected
    assert bool(_guard._finite_one_pass(*arrays)) is expected
    # fit's report-only step: one float sum of x * 0 over every leaf (and the loss)
    assert bool(_guard.finite_by_sum(jnp.float32(0.5), arrays)) is expected
    assert not bool(_guard.finite_by_sum(jnp.float32(np.nan), arrays))


@pytest.mark.parametrize("ok", [True, False])
def test_skip_by_branch_and_by_select_return_the_same_trees(ok):
    new = ({"w": jnp.arange(6.0).reshape(2, 3), "n": jnp.int32(3)}, [jnp.ones(2)], None)
    old = ({"w": -jnp.ones((2, 3)), "n": jnp.int32(7)}, [jnp.zeros(2)], None)
    a = _guard._skip_by_branch(jnp.asarray(ok), lambda: new, lambda: old)
    b = _guard._skip_by_select(jnp.asarray(ok), lambda: new, lambda: old)
    want = new if ok else old
    for got in (a, b):
        assert jax.tree.structure(got) == jax.tree.structure(want)
        for x, y in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(x, y)
            assert x.dtype == y.dtype


def _sqrt_layer():
    """A layer whose ``s`` gradient is infinite while ``s`` is 0 (d sqrt(s)/ds at 0)."""

    def init(key, input_shape):
        return {"s": jnp.zeros(input_shape[-1])}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * jnp.sqrt(params["s"]) + x, state

    return fn.Layer(init, apply, name="sqrt")


def test_make_step_skips_a_non_finite_step_and_matches_no_guard_otherwise(platform_branch,
                                                                         key):
    model = fn.Sequential([fn.Dense(4), fn.tanh, fn.Dense(3)])
    params, state = model.init(key, (5,))
    x = jax.random.normal(key, (6, 5))
    y = jnp.array([0, 1, 2, 0, 1, 2])
    tx = fn.optim.adam(1e-2)
    guarded = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", tx,
                           donate=False)
    bare = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", tx,
                        guard=False, donate=False)
    opt_state = tx.init(params)
    a = guarded(params, state, opt_state, (x, y), key)
    b = bare(params, state, opt_state, (x, y), key)
    assert bool(a[3]["finite"])
    for u, v in zip(jax.tree.leaves(a[:3]), jax.tree.leaves(b[:3]), strict=True):
        np.testing.assert_array_equal(u, v)
    # One NaN input row poisons the loss and every gradient: the step changes nothing.
    x_bad = x.at[2, 1].set(jnp.nan)
    c = guarded(params, state, opt_state, (x_bad, y), key)
    assert not bool(c[3]["finite"])
    for u, v in zip(jax.tree.leaves(c[:3]), jax.tree.leaves((params, state, opt_state)),
                    strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("mode", ["scan", "loop"])
def test_fit_names_exactly_the_leaf_whose_gradient_went_non_finite(platform_branch, mode,
                                                                   key):
    # Only the sqrt layer's gradient is infinite (the loss stays finite), so the rerun
    # of the skipped step must name that one array and no other.
    model = fn.Sequential([fn.Dense(4), _sqrt_layer(), fn.Dense(3)])
    params, state = model.init(key, (5,))
    x = np.asarray(jax.random.normal(key, (12, 5)), np.float32)
    y = np.arange(12) % 3
    with pytest.raises(fn.NonFiniteError) as info:
        fn.fit(model, params, state, optax.sgd(0.1), (x, y), epochs=2, batch_size=4,
               key=key, mode=mode, progress=False)
    err = info.value
    assert (err.epoch, err.step) == (1, 0)
    assert err.paths == ["['sqrt_1']['s']"]
    for u, v in zip(jax.tree.leaves(err.result.params), jax.tree.leaves(params),
                    strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("mode", ["scan", "loop"])
def test_fit_without_guard_computes_no_flag_and_never_raises(mode, key):
    # guard=False trains on whatever comes: the NaN step goes through (no raise), and
    # make_step's metrics carry no "finite" flag at all.
    model = fn.Sequential([fn.Dense(4), _sqrt_layer(), fn.Dense(3)])
    params, state = model.init(key, (5,))
    x = np.asarray(jax.random.normal(key, (12, 5)), np.float32)
    y = np.arange(12) % 3
    result = fn.fit(model, params, state, optax.sgd(0.1), (x, y), epochs=2, batch_size=4,
                    key=key, mode=mode, progress=False, guard=False)
    assert len(result.history["train_loss"]) == 2
    assert not np.isfinite(np.asarray(result.params["sqrt_1"]["s"])).all()
    step = fn.make_step(model, "softmax_cross_entropy_with_integer_labels", optax.sgd(0.1),
                        guard=False, donate=False)
    *_, metrics = step(params, state, optax.sgd(0.1).init(params), (x[:4], y[:4]), key)
    assert sorted(metrics) == ["accuracy", "count", "loss"]
    update = fn.train.step.make_update(model, "softmax_cross_entropy_with_integer_labels",
                                       optax.sgd(0.1), guard=False)
    assert update(params, state, optax.sgd(0.1).init(params), x[:4], y[:4],
                  jnp.ones(4), key)[3].finite is None
