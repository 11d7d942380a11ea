"""Gradient truth: reference backward vs jax.grad of funcnet vs central differences.

Random Sequential MLPs (depth, widths, activations, losses, batch drawn by hypothesis)
are built with funcnet, rebuilt by ``reference.build`` from ``model.spec`` alone, and
their gradients compared in float64: reference vs ``jax.grad`` to 1e-10 relative error
per leaf, reference vs numerical central differences to 1e-7 (the seeds' bar).

The jax side of each comparison is one ``jax.jit``-compiled function: compiling once
per shape is far cheaper than running op by op, which compiles every op separately.
Where an elementwise relative error is not the right measure (entries that are the
difference of much larger terms; saturated activations), the test says why and which
measure it uses instead.
"""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import leaf_pairs, max_relative_error
from hypothesis import assume, given
from hypothesis import strategies as st

import funcnet as fn
import reference
from funcnet import activations as fa
from funcnet import losses as fl
from reference import activations as ra
from reference import losses as rl

ACTIVATION_NAMES = list(fa.ACTIVATIONS)
LOSS_NAMES = list(fl.LOSSES)
REDUCTIONS = ["mean", "sum", "none"]

# The final activation each loss makes sense after (None: raw Dense output).
FINAL_ACTIVATIONS = {
    "mse": [None, *ACTIVATION_NAMES],
    "binary_cross_entropy": ["sigmoid", "softmax"],
    "binary_cross_entropy_with_logits": [None, "identity", "tanh", "log_softmax"],
    "softmax_cross_entropy": [None, "identity", "tanh", "log_softmax"],
    "softmax_cross_entropy_with_integer_labels": [None, "identity", "tanh", "log_softmax"],
}


def activation_layer(name, slope):
    if name == "leaky_relu":
        return fn.Activation("leaky_relu", negative_slope=slope)
    return fn.Activation(name)


def make_targets(loss, rng, shape):
    """Targets of the right kind for ``loss`` and an output of ``shape`` (N, K)."""
    if loss == "mse":
        return rng.normal(size=shape)
    if loss in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        return rng.uniform(size=shape)
    if loss == "softmax_cross_entropy":
        return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    return rng.integers(0, shape[-1], size=shape[:-1])


@st.composite
def mlp_cases(draw, max_depth=6, max_width=64, max_batch=32, max_in=16):
    """(model, params, state, x, targets, loss) for a random funcnet MLP, all float64.

    Depth 1..max_depth Dense layers of widths 1..max_width (the last 1..8, 2..8 before a
    softmax loss), each followed by a drawn activation (leaky_relu with a drawn slope;
    softmax and log_softmax too), a drawn loss with a final activation that suits it,
    batch 1..max_batch.
    """
    depth = draw(st.integers(1, max_depth))
    loss = draw(st.sampled_from(LOSS_NAMES))
    in_features = draw(st.integers(1, max_in))
    batch = draw(st.integers(1, max_batch))
    seed = draw(st.integers(0, 2**32 - 1))
    layers = []
    for i in range(depth):
        last = i == depth - 1
        # a softmax needs two classes (over one, its loss is always 0 and is refused)
        softmax = last and loss.startswith("softmax")
        width = draw(st.integers(2 if softmax else 1, 8 if last else max_width))
        layers.append(fn.Dense(width, use_bias=draw(st.booleans()), param_dtype=jnp.float64))
        name = draw(st.sampled_from(FINAL_ACTIVATIONS[loss] if last else ACTIVATION_NAMES))
        if name is not None:
            layers.append(activation_layer(name, draw(st.floats(0.001, 0.9))))
    model = fn.Sequential(layers)
    rng = np.random.default_rng(seed)
    # funcnet's init gives the tree (abstractly: no compile per drawn shape); the values
    # are drawn here, LeCun-scaled weights and nonzero biases so every path carries signal.
    shapes, state = jax.eval_shape(lambda key: model.init(key, (in_features,)),
                                   jax.random.key(0))
    params = jax.tree_util.tree_map_with_path(
        lambda path, leaf: rng.normal(0, 0.5 if path[-1].key == "b" else leaf.shape[0] ** -0.5,
                                      leaf.shape), shapes)
    state = jax.tree.map(lambda leaf: np.zeros(leaf.shape, leaf.dtype), state)
    x = rng.normal(size=(batch, in_features))
    out_features = layers[-1].spec.get("features") or layers[-2].spec["features"]
    targets = make_targets(loss, rng, (batch, out_features))
    return model, params, state, x, targets, loss


def to_numpy(tree):
    return jax.tree.map(np.asarray, tree)


def assert_floored_close(actual, expected, rel_error=1e-10, floor=1e-2):
    """Tree structure first, then every leaf to ``rel_error``, naming the path that differs.

    Each entry is compared relative to itself, |a - e| / (|a| + |e|), except that the
    denominator is at least ``floor`` times the largest |a| + |e| in its array (an
    absolute tolerance of ``rel_error * floor`` times the array's scale). An entry far
    smaller than its array's largest is the difference of larger terms and carries
    their rounding, ~1e-16 of those terms rather than of itself: on 600 drawn deep
    networks the plain elementwise ratio exceeded 1e-10 ten times (worst 6e-3, on such
    an entry) while this measure stayed below 2e-12. Entries exactly 0 in both count as
    equal. The seeds' norm ratio ||a - e|| / (||a|| + ||e||) must also be within
    ``rel_error`` (worst seen: 3e-14).
    """
    for name, leaf_a, leaf_e in leaf_pairs(actual, expected):
        a, e = np.asarray(leaf_a, np.float64), np.asarray(leaf_e, np.float64)
        if a.size == 0:
            continue
        size = np.abs(a) + np.abs(e)
        denominator = np.maximum(size, floor * size.max())
        ratio = np.divide(np.abs(a - e), denominator, out=np.zeros_like(size),
                          where=denominator > 0)
        worst = np.unravel_index(int(np.argmax(ratio)), a.shape)
        assert ratio[worst] <= rel_error, (
            f"{name}{list(worst)}: relative error {ratio[worst]:.3e} > {rel_error:.1e} "
            f"(got {a[worst]!r}, expected {e[worst]!r})")
        norm_error = reference.relative_error(a, e)
        assert norm_error <= rel_error, f"{name}: norm relative error {norm_error:.3e}"


def compiled(fun, *args):
    """``fun`` compiled for ``args`` with XLA's backend optimisations off.

    Every drawn network is a new program; at level 0 it compiles about four times
    faster, and the arithmetic is the same float64 operations.
    """
    return jax.jit(fun).lower(*args).compile(
        compiler_options={"xla_backend_optimization_level": 0})


def jax_model_run(model, params, state, x, targets, loss):
    """funcnet's (loss, y, new_state, (dparams, dx)) in one compiled call."""
    loss_fn = fl.get(loss)

    def run(p, s, xx, t):
        def objective(p, xx):
            y, new_state = model.apply(p, s, xx)
            return loss_fn(y, t), (y, new_state)

        (value, (y, new_state)), grads = jax.value_and_grad(
            objective, argnums=(0, 1), has_aux=True)(p, xx)
        return value, y, new_state, grads

    args = (jax.tree.map(jnp.asarray, params), jax.tree.map(jnp.asarray, state),
            jnp.asarray(x), jnp.asarray(targets))
    return compiled(run, *args)(*args)


# ---------------------------------------------------------------- whole networks


@given(mlp_cases())
def test_random_mlp_matches_funcnet_and_jax_grad(case):
    model, params, state, x, targets, loss = case
    value, y, new_state, (grad_params, grad_x) = jax_model_run(model, params, state, x,
                                                               targets, loss)
    net = reference.build(model.spec)
    ref_y, ref_state, _ = net.forward(to_numpy(params), x, state=to_numpy(state))
    assert_floored_close(ref_y, y, rel_error=1e-12)
    assert jax.tree_util.tree_structure(ref_state) == jax.tree_util.tree_structure(new_state)
    ref_value, ref_params, ref_x = reference.value_and_grad(net, to_numpy(params), x, targets,
                                                            loss)
    np.testing.assert_allclose(ref_value, value, rtol=1e-12)
    assert_floored_close(ref_params, grad_params)
    assert_floored_close(ref_x, grad_x)


def distance_to_kinks(spec, params, x):
    """Smallest |z| entering a relu/leaky_relu layer of a flat Sequential (inf if none)."""
    distance = np.inf
    for i, layer in enumerate(spec["layers"]):
        if layer.get("name") in ("relu", "leaky_relu"):
            prefix = {"type": "Sequential", "keys": spec["keys"][:i], "layers": spec["layers"][:i]}
            z, _, _ = reference.build(prefix).forward({k: params[k] for k in prefix["keys"]}, x)
            distance = min(distance, float(np.abs(z).min()))
    return distance


@given(mlp_cases(max_depth=3, max_width=8, max_batch=6, max_in=4))
def test_random_mlp_gradients_match_central_differences(case):
    """Five-point central differences (error O(h^4)) with h = 2e-4.

    The seeds' two-point formula needs h ~ 1e-5 to keep its O(h^2) error small, and then
    float64 rounding in the loss, ~1e-16 |loss| / h, is what it measures on a leaf whose
    gradient is small: about one drawn network in a few hundred lands above 1e-7 for that
    reason alone. The five-point stencil allows a 20x larger step, so rounding costs
    20x less and the comparison is a sharper test of the backward pass. A step that
    large could cross a relu kink, which makes the numerical gradient wrong, not the
    analytic one; such draws (a pre-activation within 1e-2 of 0, a few percent) are
    skipped.
    """
    model, params, _, x, targets, loss = case
    params = to_numpy(params)
    assume(distance_to_kinks(model.spec, params, x) > 1e-2)
    errors = reference.check_model(model.spec, params, x, targets, loss, tol=1e-7, eps=2e-4,
                                   order=4)
    expected_paths = {path for path, _ in reference.flatten_with_paths(params)}
    assert set(errors) == expected_paths | {"x"}
    assert max(errors.values()) <= 1e-7


def test_seed_formula_check_on_a_small_network(key):
    """The seeds' two-point formula and step (the defaults) on a tanh/sigmoid network."""
    model = fn.Sequential([fn.Dense(4, param_dtype=jnp.float64), fn.tanh,
                           fn.Dense(2, param_dtype=jnp.float64), fn.sigmoid])
    params = to_numpy(model.init(key, (3,))[0])
    rng = np.random.default_rng(7)
    x, targets = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    errors = reference.check_model(model.spec, params, x, targets, "binary_cross_entropy")
    assert set(errors) == {"['dense_0']['b']", "['dense_0']['w']", "['dense_2']['b']",
                           "['dense_2']['w']", "x"}
    assert max(errors.values()) <= 1e-7


def test_nested_sequential_gradients_match_jax_grad(key):
    inner = fn.Sequential([fn.Dense(5, param_dtype=jnp.float64), fn.tanh])
    model = fn.Sequential([inner, fn.Activation("leaky_relu", negative_slope=0.3),
                           fn.Dense(3, param_dtype=jnp.float64)])
    params, state = model.init(key, (4,))
    rng = np.random.default_rng(1)
    x, targets = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7)
    loss = "softmax_cross_entropy_with_integer_labels"
    value, _, _, (grad_params, grad_x) = jax_model_run(model, params, state, x, targets, loss)
    ref_value, ref_params, ref_x = reference.value_and_grad(model.spec, to_numpy(params), x,
                                                            targets, loss)
    assert set(ref_params["sequential_0"]) == {"dense_0", "tanh_1"}
    np.testing.assert_allclose(ref_value, value, rtol=1e-12)
    assert_floored_close(ref_params, grad_params)
    assert_floored_close(ref_x, grad_x)


def test_sum_reduction_gradient_is_batch_size_times_mean(key):
    model = fn.Sequential([fn.Dense(3, param_dtype=jnp.float64), fn.sigmoid])
    params = to_numpy(model.init(key, (2,))[0])
    rng = np.random.default_rng(2)
    x, targets = rng.normal(size=(6, 2)), rng.uniform(size=(6, 3))
    mean_value, mean_grads, _ = reference.value_and_grad(model.spec, params, x, targets,
                                                         "binary_cross_entropy")
    sum_value, sum_grads, _ = reference.value_and_grad(model.spec, params, x, targets,
                                                       "binary_cross_entropy", reduction="sum")
    np.testing.assert_allclose(sum_value, 6 * mean_value, rtol=1e-13)
    assert_floored_close(sum_grads, jax.tree.map(lambda g: 6 * g, mean_grads), rel_error=1e-13)


# ---------------------------------------------------------------- activations

ACTIVATION_SHAPES = [(1,), (5,), (3, 4), (2, 3, 2)]


def activation_kwargs(name, slope):
    return {"negative_slope": slope} if name == "leaky_relu" else {}


@functools.cache
def jax_activation(name, axis=-1):
    """Compiled ``(z, da, slope) -> (a, vjp(da))`` of funcnet's activation ``name``."""
    activation = fa.get(name)

    @jax.jit
    def run(z, da, slope):
        def f(zz):
            if name == "leaky_relu":
                return activation(zz, negative_slope=slope)
            if name in ("softmax", "log_softmax"):
                return activation(zz, axis=axis)
            return activation(zz)

        a, vjp = jax.vjp(f, z)
        return a, vjp(da)[0]

    return run


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@given(shape=st.sampled_from(ACTIVATION_SHAPES), seed=st.integers(0, 2**32 - 1),
       slope=st.floats(0.001, 0.9), scale=st.sampled_from([0.1, 1.0]))
def test_activation_matches_funcnet_and_jax_vjp(name, shape, seed, slope, scale):
    rng = np.random.default_rng(seed)
    z, da = scale * rng.normal(size=shape), rng.normal(size=shape)
    kwargs = activation_kwargs(name, slope)
    a, cache = reference.ACTIVATIONS[name].forward(z, **kwargs)
    expected, expected_dz = jax_activation(name)(z, da, slope)
    np.testing.assert_allclose(a, expected, rtol=1e-13, atol=1e-300)
    dz = reference.ACTIVATIONS[name].backward(da, cache)
    assert max_relative_error(dz, expected_dz) <= 1e-10


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturated_derivatives_agree_with_jax_to_rounding_of_da(name):
    """Where sigmoid/tanh saturate, a' = a(1-a) or (1-a)(1+a) is a difference of numbers
    near 1: numpy's and XLA's forward values differ by an ulp or two, so the derivatives
    agree to a few ulp of da, not of themselves."""
    z = np.linspace(-40.0, 40.0, 81)
    da = np.random.default_rng(6).normal(size=z.shape)
    a, cache = reference.ACTIVATIONS[name].forward(z)
    expected, expected_dz = jax_activation(name)(z, da, 0.0)
    dz = reference.ACTIVATIONS[name].backward(da, cache)
    np.testing.assert_allclose(dz, expected_dz, rtol=1e-10,
                               atol=8 * np.finfo(np.float64).eps * np.abs(da).max())


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1), slope=st.floats(0.001, 0.9))
def test_activation_backward_matches_central_differences(name, shape, seed, slope):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape)
    z = z + np.sign(z) * 1e-3  # keep relu/leaky_relu's kink out of the finite-difference step
    da = rng.normal(size=shape)
    forward, backward = reference.ACTIVATIONS[name]
    kwargs = activation_kwargs(name, slope)
    dz = backward(da, forward(z, **kwargs)[1])
    errors = reference.check(lambda zz: np.sum(da * forward(zz, **kwargs)[0]), z, dz, tol=1e-7)
    assert errors[""] <= 1e-7


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_axis_matches_jax_vjp(name, axis):
    rng = np.random.default_rng(3)
    z, da = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    a, cache = reference.ACTIVATIONS[name].forward(z, axis=axis)
    expected, expected_dz = jax_activation(name, axis)(z, da, 0.0)
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    dz = reference.ACTIVATIONS[name].backward(da, cache)
    assert max_relative_error(dz, expected_dz) <= 1e-10


def test_softmax_backward_is_the_full_jacobian_vector_product():
    z, da = np.array([0.3, -1.2, 2.0]), np.array([0.5, -0.1, 0.7])
    a, cache = ra.softmax_forward(z)
    jacobian = np.diag(a) - np.outer(a, a)
    np.testing.assert_allclose(ra.softmax_backward(da, cache), jacobian @ da, rtol=1e-14)


def test_sigmoid_is_exact_and_finite_at_extremes():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    a, cache = ra.sigmoid_forward(z)  # an overflow warning would fail (warnings = errors)
    np.testing.assert_array_equal(a[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(a, fa.sigmoid(jnp.asarray(z)), rtol=1e-15, atol=1e-300)
    np.testing.assert_array_equal(ra.sigmoid_backward(np.ones(5), cache)[[0, 4]], 0.0)


def test_softmax_and_log_softmax_are_stable_at_extremes():
    z = np.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_array_equal(ra.softmax_forward(z)[0], [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ra.log_softmax_forward(z)[0], [[0.0, -1000.0, -2000.0]])


def test_relu_derivative_at_zero_is_zero():
    _, cache = ra.relu_forward(np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(ra.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])
    _, cache = ra.leaky_relu_forward(np.array([-1.0, 0.0, 1.0]), negative_slope=0.2)
    np.testing.assert_array_equal(ra.leaky_relu_backward(np.ones(3), cache),
                                  [0.2, 0.2, 1.0])


# ---------------------------------------------------------------- losses


def loss_inputs(loss, rng, batch, extra, margin=0.01):
    """(predictions, targets) for ``loss``; ``extra`` are non-batch axes before the last.

    Probabilities for binary_cross_entropy lie in [margin, 1 - margin].
    """
    shape = (batch, *extra, 3)
    if loss == "binary_cross_entropy":
        return rng.uniform(margin, 1 - margin, size=shape), rng.uniform(size=shape)
    return rng.normal(size=shape), make_targets(loss, rng, shape)


@functools.cache
def jax_loss(name):
    """Compiled ``(predictions, targets, dloss) -> {reduction: (value, vjp(dloss))}``."""
    loss_fn = fl.get(name)

    @jax.jit
    def run(predictions, targets, dloss_per_sample, dloss):
        out = {}
        for reduction in REDUCTIONS:
            value, vjp = jax.vjp(lambda p, r=reduction: loss_fn(p, targets, r), predictions)
            out[reduction] = (value, vjp(dloss_per_sample if reduction == "none" else dloss)[0])
        return out

    return run


@pytest.mark.parametrize("loss", LOSS_NAMES)
@given(batch=st.sampled_from([1, 4]), extra=st.sampled_from([[], [2]]),
       seed=st.integers(0, 2**32 - 1))
def test_loss_matches_funcnet_and_jax_vjp(loss, batch, extra, seed):
    rng = np.random.default_rng(seed)
    predictions, targets = loss_inputs(loss, rng, batch, extra)
    dloss_per_sample, dloss = rng.normal(size=(batch,)), np.float64(rng.normal())
    expected = jax_loss(loss)(predictions, targets, dloss_per_sample, dloss)
    forward, backward = reference.LOSSES[loss]
    for reduction in REDUCTIONS:
        value, cache = forward(predictions, targets, reduction)
        expected_value, expected_dpred = expected[reduction]
        np.testing.assert_allclose(value, expected_value, rtol=1e-13, err_msg=reduction)
        dpred = backward(dloss_per_sample if reduction == "none" else dloss, cache)
        assert dpred.shape == predictions.shape
        assert max_relative_error(dpred, expected_dpred) <= 1e-10, reduction


@pytest.mark.parametrize("loss", LOSS_NAMES)
@given(batch=st.integers(1, 5), extra=st.lists(st.integers(1, 2), max_size=1),
       seed=st.integers(0, 2**32 - 1))
def test_loss_backward_matches_central_differences(loss, batch, extra, seed):
    rng = np.random.default_rng(seed)
    # log p curves on the scale of p: keep p >= 0.1 so the O(eps^2 / p^2) truncation
    # error of central differences stays far below the 1e-7 bar.
    predictions, targets = loss_inputs(loss, rng, batch, extra, margin=0.1)
    forward, backward = reference.LOSSES[loss]
    for reduction in REDUCTIONS:
        dloss = rng.normal(size=(batch,)) if reduction == "none" else np.float64(1.0)
        dpred = backward(dloss, forward(predictions, targets, reduction)[1])

        def weighted_loss(p, r=reduction, d=dloss):
            return np.sum(d * forward(p, targets, r)[0])

        errors = reference.check(weighted_loss, predictions, dpred, tol=1e-7)
        assert errors[""] <= 1e-7, reduction


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_fused_loss_gradients_are_the_textbook_formulas(loss):
    rng = np.random.default_rng(4)
    m = 5
    predictions, targets = loss_inputs(loss, rng, m, [])
    forward, backward = reference.LOSSES[loss]
    dpred = backward(1.0, forward(predictions, targets)[1])
    if loss == "mse":
        expected = 2 * (predictions - targets) / (m * 3)
    elif loss == "binary_cross_entropy_with_logits":
        expected = (1 / (1 + np.exp(-predictions)) - targets) / (m * 3)
    elif loss == "binary_cross_entropy":
        p = predictions
        expected = (p - targets) / (p * (1 - p)) / (m * 3)
    else:
        p = np.exp(predictions) / np.sum(np.exp(predictions), axis=1, keepdims=True)
        onehot = targets if loss == "softmax_cross_entropy" else np.eye(3)[targets]
        expected = (p - onehot) / m
    np.testing.assert_allclose(dpred, expected, rtol=1e-12)


def test_binary_cross_entropy_clips_like_funcnet_with_zero_gradient_where_clipped():
    probabilities = np.array([[0.0, 1.0, 0.3]])
    labels = np.array([[1.0, 0.0, 1.0]])
    value, cache = rl.binary_cross_entropy_forward(probabilities, labels)
    expected, expected_dp = jax_loss("binary_cross_entropy")(
        probabilities, labels, np.ones(1), np.float64(1.0))["mean"]
    assert np.isfinite(value)
    np.testing.assert_allclose(value, expected, rtol=1e-13)
    dp = rl.binary_cross_entropy_backward(1.0, cache)
    np.testing.assert_array_equal(dp[0, :2], 0.0)
    np.testing.assert_allclose(dp, expected_dp, rtol=1e-13)
    assert rl.binary_cross_entropy_forward.__defaults__[-1] == 1e-15


def test_binary_cross_entropy_with_logits_is_stable_at_extremes():
    logits = np.array([[1000.0, -1000.0]])
    labels = np.array([[0.0, 1.0]])
    value, cache = rl.binary_cross_entropy_with_logits_forward(logits, labels)
    np.testing.assert_allclose(value, 1000.0, rtol=1e-15)
    np.testing.assert_array_equal(rl.binary_cross_entropy_with_logits_backward(1.0, cache),
                                  [[0.5, -0.5]])


# ---------------------------------------------------------------- gradcheck and errors


def test_check_names_the_worst_path_index_and_error():
    params = {"dense_0": {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, 0.5])}}
    grads = {"dense_0": {"w": 2 * params["dense_0"]["w"], "b": 2 * params["dense_0"]["b"]}}
    grads["dense_0"]["w"][1, 0] += 1e-3

    def f(p):
        return np.sum(p["dense_0"]["w"] ** 2) + np.sum(p["dense_0"]["b"] ** 2)

    with pytest.raises(ValueError, match=r"\['dense_0'\]\['w'\] at index \(1, 0\) has relative "
                                         r"error 4\.56\de-05 > tol 1\.0e-07"):
        reference.check(f, params, grads)
    grads["dense_0"]["w"][1, 0] -= 1e-3
    errors = reference.check(f, params, grads)
    assert set(errors) == {"['dense_0']['b']", "['dense_0']['w']"}
    assert max(errors.values()) <= 1e-9


def test_check_fails_on_a_nan_gradient():
    with pytest.raises(ValueError, match=r"\['w'\] at index \(0,\) has relative error inf"):
        reference.check(lambda p: np.sum(p["w"] ** 2), {"w": np.ones(2)},
                        {"w": np.array([np.nan, 2.0])})


def test_check_rejects_a_gradient_tree_of_another_structure():
    with pytest.raises(ValueError, match=r"paths \[\"\['v'\]\"\] differ"):
        reference.check(lambda p: np.sum(p["w"]), {"w": np.ones(2)}, {"v": np.ones(2)})


def test_numerical_gradient_leaves_the_callers_arrays_unchanged():
    w = np.array([1.0, 2.0])
    reference.numerical_gradient(lambda p: np.sum(p["w"] ** 3), {"w": w})
    np.testing.assert_array_equal(w, [1.0, 2.0])


def test_relative_error_is_the_seeds_norm_ratio():
    a, n = np.array([1.0, 2.0]), np.array([1.0, 2.5])
    assert reference.relative_error(a, n) == pytest.approx(
        0.5 / (np.linalg.norm(a) + np.linalg.norm(n)), rel=1e-15)
    assert reference.relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_build_rejects_unknown_layer_type():
    spec = {"type": "Sequential", "keys": ["conv3d_0"], "layers": [{"type": "Conv3D"}]}
    with pytest.raises(ValueError, match=r"unknown layer type 'Conv3D' at 'conv3d_0'"):
        reference.build(spec)


def test_build_rejects_a_user_layer_without_spec(key):
    model = fn.Sequential([fn.Dense(2), lambda x: 2 * x])
    assert model.spec is None
    with pytest.raises(TypeError, match=r"spec None: it is a user-written layer"):
        reference.build(model.spec)


def test_build_rejects_unexpected_hyperparameters():
    with pytest.raises(TypeError, match=r"unexpected spec entries \['units'\]"):
        reference.build({"type": "Dense", "features": 2, "use_bias": True, "units": 3})
    with pytest.raises(ValueError, match=r"features must be a positive integer, got 0"):
        reference.build({"type": "Dense", "features": 0, "use_bias": True})


def test_forward_rejects_params_that_do_not_match_the_spec(key):
    model = fn.Sequential([fn.Dense(2, use_bias=False), fn.relu])
    params = to_numpy(model.init(key, (3,))[0])
    net = reference.build(model.spec)
    with pytest.raises(ValueError, match=r"params must be a dict with keys \['dense_0', "
                                         r"'relu_1'\]"):
        net.forward({"dense_0": params["dense_0"]}, np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"Dense at 'dense_0': params must have keys \['w'\] "
                                         r"\(use_bias=False\)"):
        net.forward({**params, "dense_0": {**params["dense_0"], "b": np.zeros(2)}},
                    np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"x must have last dimension 3 .* got x shape \(1, 4\)"):
        net.forward(params, np.ones((1, 4)))
    with pytest.raises(TypeError, match=r"x must be a floating-point array, got dtype int64"):
        net.forward(params, np.ones((1, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"extras has keys \['dropout_9'\] that name no layer"):
        net.forward(params, np.ones((1, 3)), extras={"dropout_9": np.ones(3)})


def test_losses_reject_bad_inputs_like_funcnet():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got a label 3"):
        rl.softmax_cross_entropy_with_integer_labels_forward(logits, np.array([0, 3]))
    with pytest.raises(TypeError, match=r"labels must be integer class indices"):
        rl.softmax_cross_entropy_with_integer_labels_forward(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        rl.mse_forward(logits, logits, reduction="avg")
    with pytest.raises(ValueError, match=r"targets must have the shape of predictions \(2, 3\)"):
        rl.mse_forward(logits, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"must have the same number of samples"):
        rl.softmax_cross_entropy_forward(logits, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"with reduction='none' dloss must have shape \(2,\)"):
        rl.mse_backward(1.0, rl.mse_forward(logits, logits, "none")[1])
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'"):
        reference.value_and_grad({"type": "Dense", "features": 3, "use_bias": False},
                                 {"w": np.zeros((2, 3))}, np.ones((2, 2)), logits, "hinge")


BAD_LOSS_CALLS = [
    ("softmax_cross_entropy_with_integer_labels", np.zeros((2, 3)), np.array([0, 3]), "mean"),
    ("mse", np.zeros((0, 3)), np.zeros((0, 3)), "mean"),
    ("binary_cross_entropy", np.array([[0.5, 1.5]]), np.array([[1.0, 0.0]]), "mean"),
    ("binary_cross_entropy_with_logits", np.zeros((1, 2)), np.array([[1.0, -0.5]]), "sum"),
    ("softmax_cross_entropy", np.zeros((1, 2)), np.array([[1.2, -0.2]]), "mean"),
    ("mse", np.zeros((2, 3)), np.zeros((2, 3)), "avg"),
    ("mse", np.zeros((2, 3)), np.zeros((2, 2)), "mean"),
]


@pytest.mark.parametrize(("loss", "predictions", "targets", "reduction"), BAD_LOSS_CALLS)
def test_loss_errors_read_the_same_as_funcnets(loss, predictions, targets, reduction):
    with pytest.raises((ValueError, TypeError)) as expected:
        fl.get(loss)(jnp.asarray(predictions), jnp.asarray(targets), reduction)
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        rl.get(loss).forward(predictions, targets, reduction)


def test_empty_batch_sums_to_zero_with_an_empty_gradient():
    value, cache = rl.mse_forward(np.zeros((0, 3)), np.zeros((0, 3)), "sum")
    assert value == 0.0
    assert rl.mse_backward(1.0, cache).shape == (0, 3)
    value, cache = rl.softmax_cross_entropy_forward(np.zeros((0, 3)), np.zeros((0, 3)), "none")
    assert value.shape == (0,)
    assert rl.softmax_cross_entropy_backward(np.zeros(0), cache).shape == (0, 3)


# ---------------------------------------------------------------- the adapter interface


def test_registry_adapter_with_params_state_and_extras(key, monkeypatch):
    """A new layer type plugs in through REGISTRY with params, state, train and extras."""
    gate = np.array([1.0, 0.0, 2.0])  # what a Dropout twin would receive as its mask

    def scale_init(key, input_shape):
        del key
        return {"s": jnp.linspace(0.5, 1.5, input_shape[-1])}, {"calls": jnp.zeros(())}

    def scale_apply(params, state, x, *, train=False, key=None):
        del key
        new_state = {"calls": state["calls"] + 1} if train else state
        return x * params["s"] * gate, new_state

    scale = fn.Layer(scale_init, scale_apply, name="scale", spec={"type": "Scale"})

    def build_scale(spec, path):
        def forward(params, state, x, ctx):
            mask = ctx.extra(path, "its gate")
            new_state = {"calls": state["calls"] + 1} if ctx.train else state
            return x * params["s"] * mask, new_state, (x, params["s"], mask)

        def backward(dy, cache):
            x, s, mask = cache
            return dy * s * mask, {"s": np.sum(dy * x * mask, axis=0)}

        return reference.Module(forward, backward, path, spec)

    monkeypatch.setitem(reference.REGISTRY, "Scale", build_scale)
    model = fn.Sequential([fn.Dense(3, param_dtype=jnp.float64), scale, fn.tanh])
    params, state = model.init(key, (2,))
    rng = np.random.default_rng(5)
    x, targets = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))

    def objective(p, xx):
        return fl.mse(model.apply(p, state, xx, train=True)[0], jnp.asarray(targets))

    grad_params, grad_x = jax.jit(jax.grad(objective, argnums=(0, 1)))(params, jnp.asarray(x))
    net = reference.build(model.spec)
    assert net.paths == ("", "dense_0", "scale_1", "tanh_2")
    with pytest.raises(ValueError, match=r"layer 'scale_1' needs its gate: pass extras="):
        net.forward(to_numpy(params), x, state=to_numpy(state))
    extras = {"scale_1": gate}
    y, new_state, cache = net.forward(to_numpy(params), x, state=to_numpy(state), train=True,
                                      extras=extras)
    _, expected_state = model.apply(params, state, jnp.asarray(x), train=True)
    assert jax.tree_util.tree_structure(new_state) == jax.tree_util.tree_structure(expected_state)
    np.testing.assert_array_equal(new_state["scale_1"]["calls"], expected_state["scale_1"]["calls"])
    _, ref_params, ref_x = reference.value_and_grad(model.spec, to_numpy(params), x, targets,
                                                    "mse", state=to_numpy(state), train=True,
                                                    extras=extras)
    assert_floored_close(ref_params, grad_params)
    assert_floored_close(ref_x, grad_x)
    errors = reference.check_model(model.spec, to_numpy(params), x, targets, "mse",
                                   state=to_numpy(state), train=True, extras=extras)
    assert max(errors.values()) <= 1e-7
