"""Dropout and BatchNorm: semantics, masks shared with reference, running statistics
against the textbook formulas, gradient truth, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_truth import check_layer

import reference
from funcnet import initializers
from funcnet.core import Sequential
from funcnet.layers.batchnorm import BatchNorm
from funcnet.layers.dense import Dense
from funcnet.layers.dropout import Dropout, dropout_keys, dropout_mask, dropout_masks
from reference import batchnorm as ref_bn
from reference import dropout as ref_dropout

F64 = jnp.float64


def _normal(seed, shape):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape))


# --- Dropout ----------------------------------------------------------------------------

def test_dropout_rate_is_the_drop_probability_and_kept_units_are_scaled():
    x = jnp.ones((100, 100), F64)
    y, state = Dropout(0.3).apply({}, {}, x, train=True, key=jax.random.key(0))
    assert state == {}
    dropped = float(jnp.mean(y == 0))
    assert abs(dropped - 0.3) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-15)


def test_dropout_is_the_identity_in_evaluation_and_at_rate_zero():
    x = _normal(0, (3, 4))
    assert Dropout(0.5).apply({}, {}, x, train=False)[0] is x
    assert Dropout(0.0).apply({}, {}, x, train=True)[0] is x


def test_dropout_uses_dropout_mask_and_keys_decide_the_mask():
    x = _normal(1, (4, 8))
    layer = Dropout(0.5)
    k1, k2 = jax.random.split(jax.random.key(0))
    y1, _ = layer.apply({}, {}, x, train=True, key=k1)
    y1_again, _ = layer.apply({}, {}, x, train=True, key=k1)
    y2, _ = layer.apply({}, {}, x, train=True, key=k2)
    np.testing.assert_array_equal(y1, y1_again)
    assert not np.array_equal(y1 != 0, y2 != 0)
    keep = dropout_mask(k1, 0.5, x.shape)
    assert keep.dtype == jnp.bool_
    np.testing.assert_array_equal(y1, np.where(keep, np.asarray(x) / 0.5, 0.0))


def test_sequential_gives_each_dropout_its_own_mask():
    model = Sequential([Dropout(0.5), Dropout(0.5)])
    key = jax.random.key(3)
    x = jnp.ones((64, 64), F64)
    y, _ = model.apply({"dropout_0": {}, "dropout_1": {}}, {"dropout_0": {}, "dropout_1": {}},
                       x, train=True, key=key)
    masks = dropout_masks(model, key)
    m0, m1 = (np.asarray(masks[p](x.shape)) for p in ("dropout_0", "dropout_1"))
    assert not np.array_equal(m0, m1)
    np.testing.assert_array_equal(y, m0 * m1 * 4.0)
    # A shared mask would keep half the units; independent masks keep a quarter.
    assert abs(float(jnp.mean(y != 0)) - 0.25) < 0.03


def test_dropout_keys_follow_sequential_and_residual():
    from funcnet.layers.residual import Residual
    model = Sequential([Dense(4), Dropout(0.1), Residual(Sequential([Dense(4), Dropout(0.2)]))])
    key = jax.random.key(7)
    keys = dropout_keys(model, key)
    assert sorted(keys) == ["dropout_1", "residual_2/block/dropout_1"]
    top = jax.random.split(key, 3)
    assert np.array_equal(jax.random.key_data(keys["dropout_1"]), jax.random.key_data(top[1]))
    inner = jax.random.split(top[2], 2)[1]
    assert np.array_equal(jax.random.key_data(keys["residual_2/block/dropout_1"]),
                          jax.random.key_data(inner))
    assert list(dropout_keys(Dropout(0.5), key)) == [""]


@settings(max_examples=5)
@given(st.tuples(st.integers(1, 4), st.integers(1, 5)) | st.tuples(
       st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2)),
       st.sampled_from([0.0, 0.1, 0.5, 0.9]), st.integers(0, 2**16))
def test_dropout_gradients_with_the_mask_funcnet_drew(shape, rate, seed):
    check_layer(Dropout(rate), {}, {}, _normal(seed, shape), train=True,
                key=jax.random.key(seed), seed=seed)


def test_dropout_in_a_jitted_step_is_reproducible_by_key():
    layer = Dropout(0.5)
    step = jax.jit(lambda x, key: layer.apply({}, {}, x, train=True, key=key)[0])
    x = _normal(2, (3, 5))
    np.testing.assert_array_equal(step(x, jax.random.key(1)), step(x, jax.random.key(1)))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan")])
def test_dropout_rate_outside_unit_interval_raises(rate):
    match = r"rate is the probability of dropping a unit and must be in \[0, 1\)"
    with pytest.raises(ValueError, match=match):
        Dropout(rate)
    with pytest.raises(ValueError, match=match):
        ref_dropout.dropout_forward(np.ones((2, 2)), np.ones((2, 2), bool), rate=rate)
    with pytest.raises(ValueError, match=match):
        dropout_mask(jax.random.key(0), rate, (2,))


def test_dropout_rate_of_the_wrong_type_raises():
    with pytest.raises(TypeError, match=r"rate must be a real number, got str"):
        Dropout("0.5")


def test_dropout_training_without_a_key_shows_the_right_call():
    with pytest.raises(ValueError, match=r"Dropout\(rate=0.5\): training mode draws a random mask "
                                         r"and needs a key: call apply\(params, state, x, "
                                         r"train=True, key=jax.random.key\(step\)\)"):
        Dropout(0.5).apply({}, {}, jnp.ones((2, 3)), train=True)
    model = Sequential([Dense(3), Dropout(0.5)])
    params, state = model.init(jax.random.key(0), (2,))
    with pytest.raises(ValueError, match=r"needs a key"):
        model.apply(params, state, jnp.ones((4, 2)), train=True)


def test_reference_dropout_needs_its_mask_in_training():
    net = reference.build(Sequential([Dropout(0.5)]).spec)
    with pytest.raises(ValueError, match=r"layer 'dropout_0' needs the keep-mask of this "
                                         r"training step"):
        net.forward({"dropout_0": {}}, np.ones((2, 3)), train=True)
    y, _, _ = net.forward({"dropout_0": {}}, np.ones((2, 3)), train=False)
    np.testing.assert_array_equal(y, np.ones((2, 3)))


# --- BatchNorm ------------------------------------------------------------------------------

def _textbook_batchnorm(xs, scale, bias, momentum, eps):
    """Training steps on batches ``xs``, then evaluation, written out with NumPy."""
    axes = tuple(range(xs[0].ndim - 1))
    running_mean, running_var = np.zeros(xs[0].shape[-1]), np.ones(xs[0].shape[-1])
    outputs = []
    for x in xs:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased: divide by the count
        outputs.append(scale * (x - mean) / np.sqrt(var + eps) + bias)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    return outputs, running_mean, running_var


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 3)])
def test_batchnorm_train_eval_and_running_statistics_match_the_textbook(shape):
    momentum, eps = 0.8, 1e-3
    layer = BatchNorm(momentum=momentum, eps=eps, scale_init=initializers.normal(1.0),
                      bias_init=initializers.normal(1.0), param_dtype=F64)
    params, state = layer.init(jax.random.key(0), shape[1:])
    xs = [np.random.default_rng(i).normal(loc=i, scale=1 + i, size=shape) for i in range(4)]
    scale, bias = np.asarray(params["scale"]), np.asarray(params["bias"])
    expected, mean, var = _textbook_batchnorm(xs, scale, bias, momentum, eps)
    step = jax.jit(lambda p, s, x: layer.apply(p, s, x, train=True))
    for x, y_expected in zip(xs, expected, strict=True):
        y, state = step(params, state, jnp.asarray(x))
        np.testing.assert_allclose(y, y_expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state["mean"], mean, rtol=1e-13)
    np.testing.assert_allclose(state["var"], var, rtol=1e-13)
    x_eval = np.random.default_rng(9).normal(size=shape)
    y_eval, state_after = layer.apply(params, state, jnp.asarray(x_eval), train=False)
    np.testing.assert_allclose(y_eval, scale * (x_eval - mean) / np.sqrt(var + eps) + bias,
                               rtol=1e-12, atol=1e-12)
    assert state_after is state


def test_batchnorm_evaluation_before_training_uses_mean_zero_var_one():
    layer = BatchNorm(param_dtype=F64)
    params, state = layer.init(jax.random.key(0), (3,))
    assert jax.tree.map(lambda a: a.tolist(), state) == {"mean": [0.0] * 3, "var": [1.0] * 3}
    x = _normal(0, (4, 3))
    y, _ = layer.apply(params, state, x)
    np.testing.assert_allclose(y, np.asarray(x) / np.sqrt(1 + 1e-5), rtol=1e-15)


def test_batchnorm_keeps_state_structure_and_dtype_through_a_step():
    layer = BatchNorm()
    params, state = layer.init(jax.random.key(0), (2, 2, 3))
    _, new_state = layer.apply(params, state, jnp.ones((2, 2, 2, 3), jnp.float32), train=True)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert all(a.dtype == jnp.float32 and a.shape == (3,) for a in jax.tree.leaves(new_state))


# At least 3 values per feature: with 2, x_hat is +-1 whatever x is, so dx is O(eps) and
# a central difference of an O(1) loss cannot resolve it to 1e-7.
@given(st.sampled_from([(3, 2), (5, 1), (3, 2, 2, 2), (1, 2, 2, 3), (2, 1, 2, 2)]),
       st.booleans(), st.integers(0, 2**16))
def test_batchnorm_gradients_full_formula(shape, train, seed):
    layer = BatchNorm(momentum=0.7, eps=1e-3, scale_init=initializers.normal(1.0),
                      bias_init=initializers.normal(1.0), param_dtype=F64)
    params, _ = layer.init(jax.random.key(seed), shape[1:])
    rng = np.random.default_rng(seed)
    state = {"mean": jnp.asarray(rng.normal(size=shape[-1:])),
             "var": jnp.asarray(rng.uniform(0.5, 2.0, size=shape[-1:]))}
    x = jnp.asarray(rng.normal(loc=1.0, scale=2.0, size=shape))
    _, new_state = check_layer(layer, params, state, x, train=train, seed=seed)
    if not train:
        np.testing.assert_array_equal(new_state["mean"], state["mean"])


@pytest.mark.parametrize("shape", [(1, 3), (1, 1, 1, 3)])
def test_batchnorm_training_on_one_value_per_feature_raises(shape):
    layer = BatchNorm()
    params, state = layer.init(jax.random.key(0), shape[1:])
    match = r"training needs more than one value per feature to compute a variance"
    with pytest.raises(ValueError, match=match):
        layer.apply(params, state, jnp.ones(shape), train=True)
    with pytest.raises(ValueError, match=match):
        ref_bn.batchnorm_forward(jax.tree.map(np.asarray, params),
                                 jax.tree.map(np.asarray, state), np.ones(shape), train=True)
    # Evaluation, and an image batch of 1 with several pixels, are fine.
    layer.apply(params, state, jnp.ones(shape))
    layer.apply(params, state, jnp.ones((1, 2, 1, shape[-1])), train=True)


def test_batchnorm_without_its_state_raises():
    model = Sequential([Dense(3), BatchNorm()])
    params, state = model.init(jax.random.key(0), (2,))
    with pytest.raises(ValueError, match=r"state must be the running statistics "
                                         r"\{'mean': \(3,\), 'var': \(3,\)\} made by init"):
        model.apply(params, {"dense_0": {}, "batch_norm_1": {}}, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"state must be the running statistics"):
        BatchNorm().apply(params["batch_norm_1"], None, jnp.ones((4, 3)))
    net = reference.build(model.spec)
    with pytest.raises(ValueError, match=r"BatchNorm needs its running statistics; pass state="):
        net.forward(jax.tree.map(np.asarray, params), np.ones((4, 2)))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"momentum": 1.0}, ValueError, r"BatchNorm: momentum must be in \[0, 1\), got 1.0"),
    ({"momentum": -0.5}, ValueError, r"momentum must be in \[0, 1\)"),
    ({"eps": 0.0}, ValueError, r"BatchNorm: eps must be finite and > 0, got 0.0"),
    ({"eps": "small"}, TypeError, r"eps must be a real number"),
])
def test_batchnorm_invalid_hyperparameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNorm(**kwargs)


def test_batchnorm_rejects_a_feature_count_not_matching_its_params():
    layer = BatchNorm()
    params, state = layer.init(jax.random.key(0), (3,))
    with pytest.raises(ValueError, match=r"x must have 3 features on its last axis \(the size "
                                         r"of scale\), got x shape \(2, 4\)"):
        layer.apply(params, state, jnp.ones((2, 4)))
