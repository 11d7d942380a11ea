"""funcnet.check: the user-facing gradient check on every built-in layer and loss.

Every case runs all three legs (reference backprop, jax.grad, central differences) in
float64 and must pass the textbook bars: 1e-10 between the two backprops, 1e-7 against
central differences. Planted bugs, user layers without a twin, and the x64 switch are
tested too, and the example script runs end to end.
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import load_example

import funcnet as fn
import reference
from funcnet import check
from funcnet.diagnostics import path_order_key

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALL_PAIRS = (check.REFERENCE_JAX, check.REFERENCE_NUMERICAL, check.JAX_NUMERICAL)


def random_params_and_state(model, input_shape, seed):
    """Params with random values (biases included) and state with random running stats.

    Only the structure comes from ``model.init`` (abstractly evaluated, no compile).
    """
    params, state = jax.eval_shape(lambda k: model.init(k, tuple(input_shape)),
                                   jax.random.key(0))
    rng = np.random.default_rng(seed)

    def state_leaf(path, leaf):
        if jax.tree_util.keystr(path).endswith("['var']"):
            return rng.uniform(0.5, 2.0, size=leaf.shape)
        return rng.normal(size=leaf.shape) * 0.3

    params = jax.tree.map(lambda leaf: rng.normal(size=leaf.shape) * 0.6, params)
    return params, jax.tree_util.tree_map_with_path(state_leaf, state)


def assert_three_way_pass(report, expected_paths):
    assert report.passed, f"\n{report}"
    assert report.pairs == ALL_PAIRS
    assert list(report.shapes) == expected_paths
    assert report.max_error(check.REFERENCE_JAX) <= check.EXACT_TOL
    assert report.max_error(check.REFERENCE_NUMERICAL) <= check.NUMERICAL_TOL
    assert report.max_error(check.JAX_NUMERICAL) <= check.NUMERICAL_TOL
    assert not any(c.zero for c in report.comparisons), "no layer here has a zero gradient"
    assert report.loss_error <= check.EXACT_TOL


def param_paths(params):
    """Leaf paths in layer order (dense_2 before dense_10), as the report lists them."""
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    return sorted(paths, key=path_order_key)


ACTIVATIONS = [fn.identity, fn.sigmoid, fn.tanh, fn.relu,
               fn.Activation("leaky_relu", negative_slope=0.2), fn.softmax, fn.log_softmax]

# (name, layers, input shape, train, needs key)
LAYER_CASES = [
    ("dense", [fn.Dense(4), fn.Dense(3)], (5,), False),
    ("dense_no_bias", [fn.Dense(4, use_bias=False), fn.tanh, fn.Dense(3)], (5,), False),
    *[(f"activation_{fn.as_layer(a).name}", [fn.Dense(4), a, fn.Dense(3)], (5,), False)
      for a in ACTIVATIONS],
    ("conv_maxpool_avgpool_flatten",
     [fn.Conv2D(3, 3, padding="SAME"), fn.relu, fn.MaxPool2D(2),
      fn.Conv2D(2, 2, strides=1, padding="VALID"), fn.AvgPool2D(2, strides=1),
      fn.Flatten(), fn.Dense(3)], (6, 6, 1), False),
    ("conv_strided_global_avg_pool",
     [fn.Conv2D(3, (3, 2), strides=2, padding=1), fn.tanh, fn.GlobalAvgPool(), fn.Dense(2)],
     (5, 6, 1), False),
    ("dropout_train", [fn.Dense(6), fn.relu, fn.Dropout(0.4), fn.Dense(3)], (5,), True),
    # No bias right before BatchNorm in training: its gradient would be exactly 0 (see
    # test_zero_gradient_rows_pass_as_rounding_noise_and_are_marked).
    ("batchnorm_train", [fn.Dense(4, use_bias=False), fn.BatchNorm(), fn.relu, fn.Dense(3)],
     (5,), True),
    ("batchnorm_eval", [fn.Dense(4), fn.BatchNorm(), fn.relu, fn.Dense(3)], (5,), False),
    ("batchnorm_conv_train", [fn.Conv2D(3, 2, use_bias=False), fn.BatchNorm(momentum=0.8),
                              fn.Flatten(), fn.Dense(2)], (3, 3, 2), True),
    ("residual", [fn.Dense(4), fn.Residual(fn.Sequential([fn.Dense(4), fn.tanh, fn.Dense(4)])),
                  fn.Residual(fn.relu), fn.Dense(3)], (5,), False),
]


@pytest.mark.parametrize("name, layers, input_shape, train", LAYER_CASES,
                         ids=[case[0] for case in LAYER_CASES])
def test_every_layer_three_ways(name, layers, input_shape, train):
    model = fn.Sequential(layers)
    params, state = random_params_and_state(model, input_shape, seed=len(name))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, *input_shape))
    out_shape = jax.eval_shape(lambda p, s: model.apply(p, s, x)[0], params, state).shape
    y = rng.normal(size=out_shape)
    key = jax.random.key(3) if train else None
    report = check.check_gradients(model, params, (x, y), "mse", state, train=train, key=key,
                                   reference=reference)
    assert_three_way_pass(report, [*param_paths(params), "x"])


# (loss, final activation, targets for a (6, 3) output)
LOSS_CASES = [
    ("mse", None, lambda rng: rng.normal(size=(6, 3))),
    ("binary_cross_entropy", fn.sigmoid, lambda rng: rng.uniform(size=(6, 3))),
    ("binary_cross_entropy_with_logits", None, lambda rng: rng.uniform(size=(6, 3))),
    ("softmax_cross_entropy", None, lambda rng: rng.dirichlet(np.ones(3), size=6)),
    ("softmax_cross_entropy_with_integer_labels", None, lambda rng: rng.integers(0, 3, size=6)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss, final, targets", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_every_loss_three_ways(loss, final, targets, reduction):
    layers = [fn.Dense(5), fn.tanh, fn.Dense(3)] + ([final] if final is not None else [])
    model = fn.Sequential(layers)
    params, state = random_params_and_state(model, (4,), seed=7)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 4)), targets(rng)
    report = check.check_gradients(model, params, (x, y), getattr(fn.losses, loss), state,
                                   reference=reference, reduction=reduction)
    assert_three_way_pass(report, [*param_paths(params), "x"])


def mlp(seed=0):
    model = fn.Sequential([fn.Dense(3), fn.tanh, fn.Dense(3), fn.sigmoid, fn.Dense(3)])
    params, state = random_params_and_state(model, (3,), seed)
    rng = np.random.default_rng(seed)
    return model, params, state, (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))


def test_without_reference_checks_jax_against_numerical_only():
    model, params, state, batch = mlp()
    report = check.check_gradients(model, params, batch, "mse")
    assert report.passed, f"\n{report}"
    assert report.pairs == (check.JAX_NUMERICAL,)
    assert "reference" not in report.loss
    assert report.loss_error is None
    assert any("reference leg skipped" in note for note in report.notes)
    assert report.max_error() <= check.NUMERICAL_TOL


def test_report_table_and_accessors():
    model, params, state, batch = mlp()
    report = check.check_gradients(model, params, batch, "mse", reference=reference)
    text = str(report)
    for column in ("path", "shape", *ALL_PAIRS, "largest gap"):
        assert column in text
    for path in report.shapes:
        assert path in text
    assert text.splitlines()[-1] == "PASSED"
    assert set(report.errors(check.REFERENCE_NUMERICAL)) == set(report.shapes)
    worst = report.worst(check.JAX_NUMERICAL)
    assert worst.error == report.max_error(check.JAX_NUMERICAL)
    assert np.shape(np.zeros(report.shapes[worst.path]))[0] > worst.index[0]
    assert report.raise_if_failed() is report
    with pytest.raises(ValueError, match="was not compared"):
        check.check_gradients(model, params, batch, "mse").errors(check.REFERENCE_JAX)


def test_layer_order_of_rows_is_the_model_order():
    model = fn.Sequential([fn.Dense(2)] + [fn.tanh, fn.Dense(2)] * 6)
    params, state = random_params_and_state(model, (2,), seed=3)
    batch = (np.ones((3, 2)), np.zeros((3, 2)))
    report = check.check_gradients(model, params, batch, "mse", check_input=False)
    indices = [int(path.split("_")[1].split("'")[0]) for path in report.shapes]
    assert indices == sorted(indices) and indices[-1] == 12


def tanh_twin_with_wrong_derivative():
    """A stand-in twin whose tanh backward forgets the square: da * (1 - a)."""
    registry = dict(reference.REGISTRY)

    def activation(spec, path):
        module = registry["Activation"](spec, path)
        if spec["name"] != "tanh":
            return module
        return reference.Module(module.forward, lambda da, a: (da * (1 - a), {}), path, spec)

    def build(spec):
        keys, specs = spec["keys"], spec["layers"]
        children = [activation(s, k) if s["type"] == "Activation" else registry[s["type"]](s, k)
                    for k, s in zip(keys, specs, strict=True)]

        def forward(params, state, x, ctx):
            caches = []
            for key, child in zip(keys, children, strict=True):
                x, _, cache = child.forward(params[key], state[key], x, ctx)
                caches.append(cache)
            return x, {k: {} for k in keys}, caches

        def backward(dy, caches):
            dparams = {}
            for key, child, cache in reversed(list(zip(keys, children, caches, strict=True))):
                dy, dparams[key] = child.backward(dy, cache)
            return dy, dparams

        root = reference.Module(forward, backward, "", spec, tuple(children))
        return reference.Network(spec, root, ("", *keys))

    class Twin:
        pass

    twin = Twin()
    twin.build, twin.value_and_grad = build, reference.value_and_grad
    return twin


def test_a_planted_backward_bug_is_caught_and_located():
    model, params, state, batch = mlp()
    report = check.check_gradients(model, params, batch, "mse",
                                   reference=tanh_twin_with_wrong_derivative())
    assert not report.passed
    failing = {c.path for c in report.failures}
    # tanh_1 sits after dense_0: only dense_0's gradients and x's pass through it.
    assert failing == {"['dense_0']['b']", "['dense_0']['w']", "x"}
    assert {c.pair for c in report.failures} == {check.REFERENCE_JAX, check.REFERENCE_NUMERICAL}
    assert report.max_error(check.REFERENCE_NUMERICAL) > 1e-2
    assert report.max_error(check.JAX_NUMERICAL) <= check.NUMERICAL_TOL
    assert "FAIL" in str(report) and str(report).splitlines()[-1].startswith("FAILED: 3 of 7")
    with pytest.raises(check.GradientCheckError, match="gradient check failed") as info:
        report.raise_if_failed()
    assert info.value.report is report


def test_check_runs_in_float64_and_restores_x64_off():
    model, params, state, batch = mlp()
    params32 = jax.tree.map(lambda p: np.asarray(p, np.float32), params)
    jax.config.update("jax_enable_x64", False)
    try:
        report = check.check_gradients(model, params32, batch, "mse", reference=reference)
        assert not jax.config.jax_enable_x64
        assert jnp.ones(1).dtype == jnp.float32
    finally:
        jax.config.update("jax_enable_x64", True)
    assert report.dtype == "float64"
    assert report.passed, f"\n{report}"
    assert report.max_error(check.REFERENCE_JAX) <= check.EXACT_TOL


def test_zero_gradient_rows_pass_as_rounding_noise_and_are_marked():
    # A conv bias right before BatchNorm has gradient exactly 0 (BN removes the mean).
    model = fn.Sequential([fn.Dense(3), fn.BatchNorm(), fn.tanh, fn.Dense(2)])
    params, state = random_params_and_state(model, (4,), seed=5)
    rng = np.random.default_rng(5)
    batch = (rng.normal(size=(6, 4)), rng.normal(size=(6, 2)))
    report = check.check_gradients(model, params, batch, "mse", state, train=True,
                                   reference=reference)
    assert report.passed, f"\n{report}"
    bias_rows = [c for c in report.comparisons if c.path == "['dense_0']['b']"]
    assert all(c.gap <= c.atol and abs(c.first) < 1e-9 for c in bias_rows)
    assert all(c.atol == c.tol * report.scale for c in bias_rows)
    others = [c for c in report.comparisons if c.path != "['dense_0']['b']"]
    assert not any(c.zero for c in others)
    assert report.max_error(check.REFERENCE_NUMERICAL) <= check.NUMERICAL_TOL
    assert "~0" in str(report)


def test_user_layer_without_twin():
    def scale_init(key, input_shape):
        return {"s": jnp.ones(input_shape[-1:])}, {}

    def scale_apply(params, state, x, *, train=False, key=None):
        return x * params["s"] ** 2, state

    model = fn.Sequential([fn.Dense(3), fn.Layer(scale_init, scale_apply, name="scale"),
                           fn.Dense(2)])
    params, state = random_params_and_state(model, (4,), seed=1)
    batch = (np.random.default_rng(0).normal(size=(5, 4)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="layer 'scale_1' has no reference twin.*"
                                         "or pass reference=None"):
        check.check_gradients(model, params, batch, "mse", reference=reference)
    report = check.check_gradients(model, params, batch, "mse")
    assert report.passed, f"\n{report}"
    # the note names the layer, and does not recommend the argument that just failed
    assert "reference leg skipped: layer 'scale_1' has no reference twin" in report.notes
    assert "['scale_1']['s']" in report.shapes


def test_unregistered_layer_type_raises_only_with_reference():
    def init(key, input_shape):
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.sin(x), state

    mystery = fn.Layer(init, apply, name="mystery", spec={"type": "Mystery"})
    model = fn.Sequential([fn.Dense(3), mystery])
    params, state = random_params_and_state(model, (2,), seed=2)
    batch = (np.ones((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="unknown layer type 'Mystery'"):
        check.check_gradients(model, params, batch, "mse", reference=reference)
    assert check.check_gradients(model, params, batch, "mse").passed


def test_custom_loss_function_and_its_limits():
    model, params, state, batch = mlp()

    def huber(predictions, targets):
        r = predictions - targets
        return jnp.mean(jnp.where(jnp.abs(r) < 1, 0.5 * r**2, jnp.abs(r) - 0.5))

    assert check.check_gradients(model, params, batch, huber).passed
    with pytest.raises(ValueError, match="needs a named loss"):
        check.check_gradients(model, params, batch, huber, reference=reference)


def test_argument_errors():
    model, params, state, batch = mlp()
    with pytest.raises(TypeError, match="batch must be a tuple"):
        check.check_gradients(model, params, batch[0], "mse")
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        check.check_gradients(model, params, batch, "mse", reduction="none")
    with pytest.raises(TypeError, match="reference must be the reference package"):
        check.check_gradients(model, params, batch, "mse", reference=np)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        check.check_gradients(model, params, batch, "hinge")
    bn = fn.Sequential([fn.Dense(3), fn.BatchNorm()])
    bn_params, _ = random_params_and_state(bn, (3,), seed=0)
    with pytest.raises(ValueError, match="has state"):
        check.check_gradients(bn, bn_params, batch, "mse")
    int_params = {k: {n: np.ones(np.shape(v), np.int32) for n, v in p.items()}
                  for k, p in params.items()}
    with pytest.raises(TypeError, match=r"params\['dense_0'\]\['b'\] has dtype int32"):
        check.check_gradients(model, int_params, batch, "mse")


# --- check_function ----------------------------------------------------------------------

def test_check_function_scalar_output_is_differentiated_as_is():
    report = check.check_function(lambda w: jnp.sum(jnp.sin(w) * w**2),
                                  np.linspace(-2, 2, 9))
    assert report.passed, f"\n{report}"
    assert report.notes == ()
    w = np.linspace(-2, 2, 9)
    worst = report.worst()
    assert worst.first == pytest.approx((np.cos(w) * w**2 + 2 * w * np.sin(w))[worst.index],
                                        rel=1e-12)


def test_check_function_array_output_pytree_args_and_argnums():
    rng = np.random.default_rng(0)

    def layer(params, x, labels):
        logits = jnp.tanh(x @ params["w"] + params["b"])
        return {"logits": logits, "picked": jnp.take_along_axis(logits, labels[:, None], 1)}

    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    x, labels = rng.normal(size=(5, 3)), rng.integers(0, 4, size=5)
    report = check.check_function(layer, params, x, labels, argnums=(0, 1))
    assert report.passed, f"\n{report}"
    assert list(report.shapes) == ["params['b']", "params['w']", "x"]
    assert "array output" in report.notes[0]
    assert report.max_error() <= check.NUMERICAL_TOL


def test_check_function_catches_a_wrong_custom_derivative():
    @jax.custom_jvp
    def softplus(x):
        return jnp.logaddexp(0.0, x)

    @softplus.defjvp
    def _jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        return softplus(x), jax.nn.sigmoid(2 * x) * dx  # should be sigmoid(x)

    report = check.check_function(softplus, np.linspace(-3, 3, 7))
    assert not report.passed
    assert report.max_error() > 1e-2
    assert report.worst().index != (3,)  # at x = 0 both derivatives are 1/2


def test_check_function_float32_uses_a_float32_step_and_bar():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 2)).astype(np.float32)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    report = check.check_function(lambda w, x: jnp.sin(x @ w) ** 2, w, x, dtype=None)
    assert report.dtype == "float32"
    assert report.step == pytest.approx(np.finfo(np.float32).eps ** (1 / 3))
    assert report.comparisons[0].tol == pytest.approx(np.finfo(np.float32).eps ** 0.5)
    assert report.passed, f"\n{report}"
    wrong = check.check_function(
        lambda w, x: jnp.sin(x @ w) ** 2 + jax.lax.stop_gradient(jnp.cos(x @ w)), w, x,
        dtype=None)
    assert not wrong.passed
    with pytest.raises(TypeError, match="share one dtype"):
        check.check_function(lambda w, x: jnp.sum(x @ w), w, x.astype(np.float64), dtype=None)


def test_check_function_argument_errors():
    with pytest.raises(TypeError, match="f must be a function"):
        check.check_function(3.0, np.ones(2))
    with pytest.raises(ValueError, match="pass the arguments"):
        check.check_function(jnp.sin)
    with pytest.raises(ValueError, match="argnums must be distinct indices"):
        check.check_function(jnp.add, np.ones(2), np.ones(2), argnums=(0, 2))
    with pytest.raises(TypeError, match="only floating-point arrays have gradients"):
        check.check_function(jnp.sin, np.arange(3))


def test_central_differences_and_default_step():
    assert check.default_step(np.float64) == pytest.approx(6.055e-6, rel=1e-3)
    tree = {"a": np.array([0.5, -2.0, 3.0]), "b": np.array([[1.5]])}
    grads = check.central_differences(lambda t: jnp.sum(t["a"] ** 3) + 3 * jnp.sum(t["b"]),
                                      tree, chunk_size=2)
    # Truncation (h^2 for a cubic, h = 6e-6 max(|a|, 1)) is below 1e-9; rounding of f
    # (|f| ~ 30) over 2h is about 1e-9 too.
    np.testing.assert_allclose(grads["a"], 3 * tree["a"] ** 2, rtol=1e-8)
    np.testing.assert_allclose(grads["b"], [[3.0]], rtol=1e-8)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        check.central_differences(jnp.sum, np.ones(2), chunk_size=0)
    with pytest.raises(ValueError, match=r"step must be a number in \(0, 1\)"):
        check.central_differences(jnp.sum, np.ones(2), step=2.0)


# --- the example ---------------------------------------------------------------------------

@pytest.mark.slow
def test_gradient_check_example_catches_every_planted_bug(tmp_path, capsys):
    module = load_example("gradient_check")
    reports = module.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert reports["correct twin"].passed
    for bug in module.BUGS:
        assert not reports[bug].passed, bug
        assert reports[bug].max_error(check.JAX_NUMERICAL) <= check.NUMERICAL_TOL
        assert f"planted bug: {bug}" in printed
    assert not reports["softplus with derivative sigmoid(2x)"].passed
    assert (tmp_path / "planted_bugs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "CAUGHT" in (tmp_path / "report.txt").read_text()
