"""funcnet core: activations, initializers, Dense, Sequential, losses, under
jit/grad/vmap in float32 and float64, and their error messages."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcnet as fn
from funcnet import initializers as inits

ACTIVATIONS = sorted(fn.activations.ACTIVATIONS)
DTYPES = [jnp.float32, jnp.float64]


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_are_stable_at_extreme_inputs(name, dtype):
    f = fn.activations.get(name)
    z = jnp.array([[-1000.0, 0.5, 1000.0], [1000.0, -1000.0, 0.0]], dtype)
    a = f(z)
    grad = jax.grad(lambda zz: jnp.sum(f(zz) * jnp.arange(1.0, 4.0, dtype=dtype)))(z)
    assert a.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(grad))


def test_activation_values():
    z = jnp.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(fn.relu(z), [0, 0, 3])
    np.testing.assert_allclose(fn.leaky_relu(z, 0.1), [-0.2, 0, 3])
    np.testing.assert_allclose(fn.sigmoid(z), 1 / (1 + np.exp(-np.array([-2.0, 0, 3]))))
    np.testing.assert_allclose(fn.softmax(z).sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(fn.log_softmax(z), np.log(fn.softmax(z)), rtol=1e-12)
    np.testing.assert_allclose(fn.sigmoid(jnp.array([1000.0, -1000.0])), [1.0, 0.0])


def test_activation_as_function_and_as_layer_agree(key):
    x = jax.random.normal(key, (4, 3))
    for name in ACTIVATIONS:
        layer = fn.Activation(name)
        y, _ = layer.apply({}, {}, x)
        np.testing.assert_array_equal(y, fn.activations.get(name)(x))
    model = fn.Sequential([fn.relu])
    assert model.spec["layers"][0] == {"type": "Activation", "name": "relu"}


@pytest.mark.parametrize("shape, expected", [
    ((784, 512), (784, 512)),
    ((3, 3, 16, 32), (3 * 3 * 16, 3 * 3 * 32)),
    ((5, 7, 2), (5 * 7, 5 * 2)),
    ((10,), (10, 10)),
])
def test_fans_for_dense_and_conv_kernels(shape, expected):
    assert inits.fans(shape) == expected


@pytest.mark.parametrize("name, std_fn", [
    ("he_normal", lambda fi, fo: np.sqrt(2 / fi)),
    ("lecun_normal", lambda fi, fo: np.sqrt(1 / fi)),
    ("glorot_normal", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("he_uniform", lambda fi, fo: np.sqrt(6 / fi) / np.sqrt(3)),
    ("glorot_uniform", lambda fi, fo: np.sqrt(6 / (fi + fo)) / np.sqrt(3)),
    ("xavier_uniform", lambda fi, fo: np.sqrt(6 / (fi + fo)) / np.sqrt(3)),
    ("kaiming_normal", lambda fi, fo: np.sqrt(2 / fi)),
])
@pytest.mark.parametrize("shape", [(400, 300), (3, 3, 40, 60)])
def test_variance_scaling_initializers_have_the_textbook_spread(key, name, std_fn, shape):
    w = inits.get(name)(key, shape, jnp.float64)
    fan_in, fan_out = inits.fans(shape)
    assert w.dtype == jnp.float64 and w.shape == shape
    np.testing.assert_allclose(np.std(w), std_fn(fan_in, fan_out), rtol=0.03)
    assert abs(np.mean(w)) < 0.01


def test_simple_initializers(key):
    np.testing.assert_array_equal(inits.zeros(key, (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(inits.constant(0.5)(key, (2,)), [0.5, 0.5])
    u = inits.uniform(0.1)(key, (10000,))
    assert -0.1 <= float(u.min()) < -0.09 and 0.09 < float(u.max()) <= 0.1
    np.testing.assert_allclose(np.std(inits.normal(0.2)(key, (20000,))), 0.2, rtol=0.03)
    assert inits.he_normal(key, (4, 4)).dtype == jnp.float32


def test_params_paths_are_readable_and_nested(key):
    model = fn.Sequential([fn.Dense(4), fn.tanh, fn.Sequential([fn.Dense(3), fn.relu]),
                           fn.Dense(2, use_bias=False)])
    params, state = model.init(key, (5,))
    paths = {jax.tree_util.keystr(p): leaf.shape
             for p, leaf in jax.tree_util.tree_flatten_with_path(params)[0]}
    assert paths == {
        "['dense_0']['b']": (4,), "['dense_0']['w']": (5, 4),
        "['sequential_2']['dense_0']['b']": (3,), "['sequential_2']['dense_0']['w']": (4, 3),
        "['dense_3']['w']": (3, 2),
    }
    assert jax.tree_util.tree_leaves(state) == []
    assert model.spec["keys"] == ["dense_0", "tanh_1", "sequential_2", "dense_3"]


def test_same_key_gives_identical_params(key):
    model = fn.Sequential([fn.Dense(8), fn.relu, fn.Dense(3)])
    a, _ = model.init(key, (4,))
    b, _ = model.init(key, (4,))
    c, _ = model.init(jax.random.key(1), (4,))
    jax.tree.map(np.testing.assert_array_equal, a, b)
    assert not np.array_equal(a["dense_0"]["w"], c["dense_0"]["w"])


def test_custom_layer_written_as_two_functions_composes(key):
    def init(key, input_shape):
        return {"s": jnp.full(input_shape[-1:], 2.0)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["s"], state

    scale = fn.Layer(init, apply, name="scale")
    model = fn.Sequential([fn.Dense(3), scale, fn.relu, fn.Dense(1)])
    params, state = model.init(key, (2,))
    assert params["scale_1"]["s"].shape == (3,)
    assert model.spec is None  # no reference twin for a user layer
    y, _ = model.apply(params, state, jnp.ones((5, 2)))
    grads = jax.grad(lambda p: jnp.sum(model.apply(p, state, jnp.ones((5, 2)))[0]))(params)
    assert y.shape == (5, 1) and grads["scale_1"]["s"].shape == (3,)


LOSS_CASES = [
    ("mse", lambda k, n: jax.random.normal(k, (n, 3))),
    ("binary_cross_entropy_with_logits",
     lambda k, n: jax.random.bernoulli(k, 0.5, (n, 3)).astype(jnp.float64)),
    ("binary_cross_entropy",
     lambda k, n: jax.random.bernoulli(k, 0.5, (n, 3)).astype(jnp.float64)),
    ("softmax_cross_entropy", lambda k, n: jax.nn.one_hot(jax.random.randint(k, (n,), 0, 3), 3)),
    ("softmax_cross_entropy_with_integer_labels",
     lambda k, n: jax.random.randint(k, (n,), 0, 3)),
]


@pytest.mark.parametrize("loss_name, make_targets", LOSS_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_models_and_losses_under_jit_grad_vmap(key, loss_name, make_targets, dtype):
    last = fn.sigmoid if loss_name == "binary_cross_entropy" else fn.identity
    model = fn.Sequential([fn.Dense(6, param_dtype=dtype), fn.tanh,
                           fn.Dense(3, param_dtype=dtype), last])
    loss_fn = fn.losses.get(loss_name)
    kp, kx, ky = jax.random.split(key, 3)
    params, state = model.init(kp, (4,))
    x = jax.random.normal(kx, (7, 4), dtype)
    targets = make_targets(ky, 7)
    if jnp.issubdtype(targets.dtype, jnp.floating):
        targets = targets.astype(dtype)

    def objective(p, xx, tt):
        return loss_fn(model.apply(p, state, xx)[0], tt)

    value = objective(params, x, targets)
    value_jit = jax.jit(objective)(params, x, targets)
    grads = jax.jit(jax.grad(objective))(params, x, targets)
    assert value.dtype == dtype and value.shape == ()
    rtol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(value, value_jit, rtol=rtol)
    assert all(g.dtype == dtype for g in jax.tree_util.tree_leaves(grads))
    # vmap over samples: per-sample losses from batches of one agree with reduction="none"
    per_sample = jax.vmap(lambda xx, tt: objective(params, xx[None], tt[None]))(x, targets)
    np.testing.assert_allclose(
        per_sample, loss_fn(model.apply(params, state, x)[0], targets, reduction="none"),
        rtol=rtol)
    np.testing.assert_allclose(jnp.mean(per_sample), value, rtol=rtol)


def test_loss_values_against_hand_computation():
    logits = jnp.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    labels = jnp.array([0, 2])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.mean(np.log(p[[0, 1], [0, 2]]))
    np.testing.assert_allclose(
        fn.softmax_cross_entropy_with_integer_labels(logits, labels), expected, rtol=1e-12)
    np.testing.assert_allclose(
        fn.softmax_cross_entropy(logits, jax.nn.one_hot(labels, 3)), expected, rtol=1e-12)
    z, y = jnp.array([[1000.0], [-1000.0], [0.3]]), jnp.array([[0.0], [0.0], [1.0]])
    bce = fn.binary_cross_entropy_with_logits(z, y, reduction="none")
    np.testing.assert_allclose(bce, [1000.0, 0.0, np.log1p(np.exp(-0.3))], rtol=1e-12)
    # probabilities of exactly 0/1 are clipped to [1e-15, 1 - 1e-15], like the seeds
    clipped = fn.binary_cross_entropy(jnp.array([[0.0]]), jnp.array([[1.0]]))
    np.testing.assert_allclose(clipped, -np.log(1e-15), rtol=1e-12)
    np.testing.assert_allclose(fn.mse(jnp.ones((2, 2)), jnp.zeros((2, 2)), reduction="sum"), 2)


# ----------------------------------------------------------------------------- errors


def test_dense_rejects_wrong_width_rank_and_dtype(key):
    layer = fn.Dense(3)
    params, state = layer.init(key, (4,))
    with pytest.raises(ValueError, match=r"Dense\(3\): x must have last dimension 4.*got x "
                                         r"shape \(2, 5\)"):
        layer.apply(params, state, jnp.ones((2, 5)))
    with pytest.raises(ValueError, match=r"Dense: x must have at least 1 dimension.*got shape"
                                         r" \(\)"):
        layer.apply(params, state, jnp.float32(1.0))
    with pytest.raises(TypeError, match="Dense: x must be a floating-point array, got dtype "
                                        "uint8"):
        layer.apply(params, state, jnp.ones((2, 4), jnp.uint8))
    with pytest.raises(ValueError, match="Dense: features must be a positive integer, got 0"):
        fn.Dense(0)
    with pytest.raises(ValueError, match="Dense: input_shape must be"):
        layer.init(key, ())


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown activation 'relu6'; expected one of"):
        fn.Activation("relu6")
    with pytest.raises(ValueError, match="unknown loss 'hinge'; expected one of"):
        fn.losses.get("hinge")
    with pytest.raises(ValueError, match="unknown initializer 'orthogonal'"):
        fn.Dense(2, w_init="orthogonal")
    with pytest.raises(TypeError, match=r"Activation\('relu'\): unexpected hyperparameter"):
        fn.Activation("relu", negative_slope=0.1)
    with pytest.raises(TypeError, match="Sequential: layers must be a list of layers"):
        fn.Sequential(fn.Dense(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        fn.mse(jnp.ones((2, 1)), jnp.ones((2, 1)), reduction="avg")


def test_label_errors():
    logits = jnp.zeros((3, 4))
    ce = fn.softmax_cross_entropy_with_integer_labels
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\), got a label 4"):
        ce(logits, jnp.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\), got a label -1"):
        ce(logits, jnp.array([0, -1, 2]))
    with pytest.raises(TypeError, match="labels must be integer class indices, got dtype "
                                        "float"):
        ce(logits, jnp.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"logits and labels must have the same number of "
                                         r"samples.*\(3, 4\).*\(2,\)"):
        ce(logits, jnp.array([0, 1]))
    with pytest.raises(ValueError, match=r"targets must be one-hot/soft with the shape of "
                                         r"logits \(3, 4\), got \(3, 3\)"):
        fn.softmax_cross_entropy(logits, jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="predictions and targets must have the same number"):
        fn.mse(jnp.zeros((3, 1)), jnp.zeros((2, 1)))
    with pytest.raises(TypeError, match="labels must be a floating-point array"):
        fn.binary_cross_entropy_with_logits(jnp.zeros((2, 1)), jnp.ones((2, 1), jnp.int32))


def test_gradients_at_the_kinks_are_the_textbook_ones():
    # XOR's [0, 0] input with zero biases puts pre-activations exactly at 0; jax's
    # maximum/abs subgradients there would silently differ from the textbook derivative.
    zero = jnp.zeros((1, 1))
    assert float(jax.grad(lambda z: fn.relu(z).sum())(zero)[0, 0]) == 0.0
    assert float(jax.grad(lambda z: fn.leaky_relu(z, 0.2).sum())(zero)[0, 0]) == 0.2
    for label in (0.0, 1.0):
        g = jax.grad(lambda z, t=label: fn.binary_cross_entropy_with_logits(
            z, jnp.full((1, 1), t)))(zero)
        assert float(g[0, 0]) == 0.5 - label  # sigmoid(0) - y


def test_walk_gives_every_layer_its_path_and_the_key_its_apply_receives():
    inner = fn.Sequential([fn.Dense(3), fn.Dropout(0.5)])
    model = fn.Sequential([fn.Dense(3), fn.Dropout(0.5), fn.Residual(inner), fn.relu])
    key = jax.random.key(3)
    nodes = fn.walk(model, key)
    assert [n.path for n in nodes] == [
        "", "dense_0", "dropout_1", "residual_2", "residual_2/block",
        "residual_2/block/dense_0", "residual_2/block/dropout_1", "relu_3"]
    top = jax.random.split(key, 4)
    by_path = {n.path: n.key for n in nodes}
    np.testing.assert_array_equal(jax.random.key_data(by_path["dropout_1"]),
                                  jax.random.key_data(top[1]))
    # Residual hands its key to the block unchanged; the block splits it per child.
    np.testing.assert_array_equal(jax.random.key_data(by_path["residual_2/block"]),
                                  jax.random.key_data(top[2]))
    np.testing.assert_array_equal(
        jax.random.key_data(by_path["residual_2/block/dropout_1"]),
        jax.random.key_data(jax.random.split(top[2], 2)[1]))
    assert [n.path for n in fn.walk(model)] == [n.path for n in nodes]
    assert all(n.key is None for n in fn.walk(model))
    with pytest.raises(TypeError, match="walk: model must be a funcnet Layer, got list"):
        fn.walk([fn.Dense(2)])


def test_layers_declare_keys_and_scan_speed_and_containers_inherit_them():
    def user_init(key, input_shape):
        return {}, {}

    def user_apply(params, state, x, *, train=False, key=None):
        return x, state

    user = fn.Layer(user_init, user_apply, name="user")
    assert user.needs_key and user.scan_friendly  # unknown code gets a key
    for layer in (fn.Dense(2), fn.relu, fn.BatchNorm(), fn.MaxPool2D(2), fn.Flatten(),
                  fn.Conv2D(2, 3)):
        assert not fn.as_layer(layer).needs_key
    assert fn.Dropout(0.1).needs_key
    assert not fn.Sequential([fn.Dense(2), fn.relu]).needs_key
    assert fn.Sequential([fn.Dense(2), fn.Sequential([fn.Dropout(0.2)])]).needs_key
    assert fn.Residual(fn.Sequential([fn.Dense(2), user])).needs_key
    assert fn.Conv2D(2, 3).scan_friendly  # its CPU gradient runs fast inside lax.scan
    slow = fn.Layer(user_init, user_apply, name="slow", scan_friendly=False)
    assert not fn.Sequential([fn.Residual(fn.Sequential([fn.Conv2D(1, 3), slow])),
                              fn.Flatten()]).scan_friendly
    assert fn.Sequential([fn.Dense(2), fn.Dropout(0.5)]).scan_friendly
    # a container none of whose children needs a key hands them none
    assert fn.child_keys(fn.Sequential([fn.Dense(2), fn.relu]), jax.random.key(0)) == (
        None, None)


def test_map_layers_rebuilds_containers_around_mapped_children_with_the_same_keys():
    model = fn.Sequential([fn.Dense(3), fn.Residual(fn.Sequential([fn.Dense(3), fn.tanh])),
                           fn.Dense(2)])
    params, state = model.init(jax.random.key(0), (3,))
    seen = []
    same = fn.map_layers(model, lambda path, layer: seen.append(path) or layer)
    assert seen == ["dense_0", "residual_1/block/dense_0", "residual_1/block/tanh_1",
                    "residual_1/block", "residual_1", "dense_2", ""]
    x = jnp.ones((4, 3))
    np.testing.assert_array_equal(same.apply(params, state, x)[0],
                                  model.apply(params, state, x)[0])
