"""The scalar engine and the seeds' gates: random expressions vs jax.grad, and the
worked numbers of seed 002 (f = (a+b)(b+c), sigmoid(x*y + z), the 2-3-1 network)."""

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import funcnet as fn
import reference
from funcnet import losses as fl
from reference import AddGate, MultiplyGate, SigmoidGate, Value

# ---------------------------------------------------------------- random expressions

# Each op reads one or two earlier nodes (a, b) and a constant c; the forms keep every
# op inside its domain (log of a positive number, division by 1 + b^2 >= 1).
OPS = {
    "add": lambda a, b, c, lib: a + b,
    "sub": lambda a, b, c, lib: a - b,
    "mul": lambda a, b, c, lib: a * b,
    "div": lambda a, b, c, lib: a / (1 + b**2),
    "neg": lambda a, b, c, lib: -a,
    "exp": lambda a, b, c, lib: lib.exp(lib.tanh(a)),
    "log": lambda a, b, c, lib: lib.log(1 + a**2),
    "tanh": lambda a, b, c, lib: lib.tanh(a),
    "sin": lambda a, b, c, lib: lib.sin(a),
    "cos": lambda a, b, c, lib: lib.cos(a),
    "relu": lambda a, b, c, lib: lib.relu(a),
    "sigmoid": lambda a, b, c, lib: lib.sigmoid(a),
    "square": lambda a, b, c, lib: a**2,
    "cube": lambda a, b, c, lib: a**3,
    "sqrt": lambda a, b, c, lib: (1 + a**2) ** 0.5,
    "radd": lambda a, b, c, lib: c + a,
    "rmul": lambda a, b, c, lib: c * a,
    "rsub": lambda a, b, c, lib: c - a,
    "rdiv": lambda a, b, c, lib: c / (1 + a**2),
    "add_const": lambda a, b, c, lib: a + c,
    "sub_const": lambda a, b, c, lib: a - c,
    "div_const": lambda a, b, c, lib: a / (abs(c) + 0.5),
}


class ValueLib:
    exp = staticmethod(lambda v: v.exp())
    log = staticmethod(lambda v: v.log())
    tanh = staticmethod(lambda v: v.tanh())
    sin = staticmethod(lambda v: v.sin())
    cos = staticmethod(lambda v: v.cos())
    relu = staticmethod(lambda v: v.relu())
    sigmoid = staticmethod(lambda v: v.sigmoid())


class JaxLib:
    exp = staticmethod(jnp.exp)
    log = staticmethod(jnp.log)
    tanh = staticmethod(jnp.tanh)
    sin = staticmethod(jnp.sin)
    cos = staticmethod(jnp.cos)
    # The engine's convention: relu'(0) = 0 (jnp.maximum would give 0.5 at a tie).
    relu = staticmethod(lambda v: jnp.where(v > 0, v, 0.0))
    sigmoid = staticmethod(jax.nn.sigmoid)


@st.composite
def programs(draw):
    """(inputs, ops): ops are (name, i, j, c) reading nodes i, j among those before them."""
    # No subnormals: XLA on CPU flushes them to zero, so jax would see relu(1e-309) at 0.
    numbers = st.floats(-2, 2, allow_subnormal=False)
    inputs = draw(st.lists(numbers, min_size=3, max_size=3))
    n_ops = draw(st.integers(1, 12))
    ops = []
    for k in range(n_ops):
        n_nodes = len(inputs) + k
        ops.append((draw(st.sampled_from(sorted(OPS))), draw(st.integers(0, n_nodes - 1)),
                    draw(st.integers(0, n_nodes - 1)), 1.5 * draw(numbers)))
    return inputs, ops


def run_program(inputs, ops, lib):
    """Output = last node + every input (so each input is reached, some nodes twice)."""
    nodes = list(inputs)
    for name, i, j, c in ops:
        nodes.append(OPS[name](nodes[i], nodes[j], c, lib))
    out = nodes[-1]
    for x in inputs:
        out = out + x
    return out, nodes


@given(programs())
def test_value_matches_jax_grad_on_random_expressions(program):
    inputs, ops = program
    xs = [Value(v) for v in inputs]
    try:
        out, nodes = run_program(xs, ops, ValueLib)
    except OverflowError:
        assume(False)
    # Bounded, and no node in the subnormal range that XLA would flush to zero.
    assume(all(abs(n.data) < 1e8 and (n.data == 0 or abs(n.data) > 1e-300) for n in nodes))
    out.backward()

    def f(args):
        return run_program(list(args), ops, JaxLib)[0]

    args = jnp.asarray(inputs, dtype=jnp.float64)
    expected_value = f(args)
    expected_grads = np.asarray(jax.grad(f)(args))
    np.testing.assert_allclose(out.data, expected_value, rtol=1e-12, atol=1e-12)
    grads = np.array([x.grad for x in xs])
    # Gradients sum contributions along every path; when they cancel, the result
    # carries the rounding of the terms, so the absolute floor is set by the largest.
    np.testing.assert_allclose(grads, expected_grads, rtol=1e-10,
                               atol=1e-12 * max(1.0, np.abs(expected_grads).max()))


def test_reused_node_accumulates_gradient_along_every_path():
    x = Value(3.0)
    f = x * x + x * x * x + x  # df/dx = 2x + 3x^2 + 1
    f.backward()
    assert f.data == 9 + 27 + 3
    assert x.grad == 6 + 27 + 1
    a = Value(2.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0


def test_backward_twice_gives_the_same_gradients():
    a, b = Value(1.5), Value(-0.5)
    f = (a * b).tanh() + a.exp() / b.sigmoid()
    f.backward()
    first = (a.grad, b.grad)
    f.backward()
    assert (a.grad, b.grad) == first


def test_backward_on_a_chain_deeper_than_the_recursion_limit():
    x = Value(0.5)
    y = x
    depth = 2 * sys.getrecursionlimit()
    for _ in range(depth):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


UNARY_DERIVATIVES = [
    (lambda v: v.exp(), math.exp),
    (lambda v: v.tanh(), lambda z: 1 - math.tanh(z) ** 2),
    (lambda v: v.relu(), lambda z: float(z > 0)),
    (lambda v: v.sigmoid(), lambda z: math.exp(-z) / (1 + math.exp(-z)) ** 2),
    (lambda v: v**3, lambda z: 3 * z**2),
    (lambda v: 1 / v, lambda z: -1 / z**2),
    (lambda v: 2 - v, lambda z: -1.0),
    (lambda v: v / 4, lambda z: 0.25),
    (lambda v: (v * v).log(), lambda z: 2 / z),
]


@pytest.mark.parametrize("z", [-1.3, 0.4, 2.0])
@pytest.mark.parametrize(("op", "derivative"), UNARY_DERIVATIVES)
def test_ops_have_their_textbook_derivatives(op, derivative, z):
    v = Value(z)
    op(v).backward()
    assert v.grad == pytest.approx(derivative(z), rel=1e-14)


def test_relu_derivative_at_zero_is_zero_and_sigmoid_is_stable():
    v = Value(0.0)
    v.relu().backward()
    assert v.grad == 0.0
    big = Value(1000.0)
    s = big.sigmoid()
    s.backward()
    assert (s.data, big.grad) == (1.0, 0.0)
    assert Value(-1000.0).sigmoid().data == 0.0


def test_value_errors_name_the_problem():
    with pytest.raises(TypeError, match=r"exponent must be an int or float constant, got Value"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match=r"Value.log: input must be > 0, got -1.0"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match=r"negative base -2.0 needs an integer exponent"):
        Value(-2.0) ** 0.5


# ---------------------------------------------------------------- seed 002's numbers


def test_exercise_one_gradients_of_a_plus_b_times_b_plus_c():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    f = (a + b) * (b + c)
    f.backward()
    assert f.data == 15.0
    assert (a.grad, b.grad, c.grad) == (5.0, 8.0, 3.0)
    expected = jax.grad(lambda v: (v[0] + v[1]) * (v[1] + v[2]))(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(expected, [5.0, 8.0, 3.0])


def test_gates_sigmoid_of_x_times_y_plus_z():
    x, y, z = 2.0, -3.0, 1.0
    mult_out, mult_cache = MultiplyGate.forward(x, y)
    add_out, add_cache = AddGate.forward(mult_out, z)
    f, sig_cache = SigmoidGate.forward(add_out)
    grad_add = SigmoidGate.backward(1.0, sig_cache)
    grad_mult, grad_z = AddGate.backward(grad_add, add_cache)
    grad_x, grad_y = MultiplyGate.backward(grad_mult, mult_cache)
    # What the seed prints.
    assert (mult_out, add_out) == (-6.0, -5.0)
    assert f"{f:.6f}" == "0.006693"
    assert [f"{g:.6f}" for g in (grad_add, grad_mult, grad_z, grad_x, grad_y)] == [
        "0.006648", "0.006648", "0.006648", "-0.019944", "0.013296"]
    # The closed form, the engine and jax.grad agree with the gates.
    s = 1 / (1 + math.exp(5.0))
    assert f == pytest.approx(s, rel=1e-15)
    assert (grad_x, grad_y, grad_z) == pytest.approx((y * s * (1 - s), x * s * (1 - s),
                                                      s * (1 - s)), rel=1e-15)
    vx, vy, vz = Value(x), Value(y), Value(z)
    (vx * vy + vz).sigmoid().backward()
    assert (vx.grad, vy.grad, vz.grad) == pytest.approx((grad_x, grad_y, grad_z), rel=1e-14)
    expected = jax.grad(lambda v: jax.nn.sigmoid(v[0] * v[1] + v[2]))(jnp.array([x, y, z]))
    np.testing.assert_allclose([grad_x, grad_y, grad_z], expected, rtol=1e-13)
    # The seed's own check: a central difference with h = 1e-5.
    h = 1e-5

    def f_func(x, y, z):
        return 1 / (1 + np.exp(-(x * y + z)))

    assert np.isclose(grad_x, (f_func(x + h, y, z) - f_func(x - h, y, z)) / (2 * h))


def test_gates_work_elementwise_on_arrays():
    rng = np.random.default_rng(0)
    x, y, z, dout = (rng.normal(size=4) for _ in range(4))
    m, m_cache = MultiplyGate.forward(x, y)
    s, s_cache = AddGate.forward(m, z)
    f, f_cache = SigmoidGate.forward(s)
    dm, dz = AddGate.backward(SigmoidGate.backward(dout, f_cache), s_cache)
    dx, dy = MultiplyGate.backward(dm, m_cache)
    _, vjp = jax.vjp(lambda a, b, c: jax.nn.sigmoid(a * b + c), x, y, z)
    for got, expected in zip((dx, dy, dz), vjp(dout), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-13)


# The 2-3-1 walkthrough of seed 002, in the seed's (out, in) layout.
W1 = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
B1 = np.array([0.1, 0.1, 0.1])
W2 = np.array([[0.7, 0.8, 0.9]])
B2 = np.array([0.1])
X = np.array([[1.0, 2.0]])
Y = np.array([[1.0]])


def walkthrough_model():
    """funcnet's twin of the seed's network; Dense stores w as (in, out) = W.T."""
    model = fn.Sequential([fn.Dense(3, param_dtype=jnp.float64), fn.relu,
                           fn.Dense(1, param_dtype=jnp.float64)])
    params = {"dense_0": {"w": W1.T, "b": B1}, "relu_1": {}, "dense_2": {"w": W2.T, "b": B2}}
    return model, params


def test_two_three_one_walkthrough_forward_prints_the_seeds_numbers():
    z1, cache1 = reference.dense.dense_forward({"w": W1.T, "b": B1}, X)
    h, _ = reference.activations.relu_forward(z1)
    z2, _ = reference.dense.dense_forward({"w": W2.T, "b": B2}, h)
    y_pred = reference.activations.sigmoid_forward(z2)[0]
    np.testing.assert_allclose(X @ W1.T, [[0.5, 1.1, 1.7]], rtol=1e-15)
    np.testing.assert_allclose(z1, [[0.6, 1.2, 1.8]], rtol=1e-15)
    np.testing.assert_array_equal(h, z1)
    assert f"{z2[0, 0]:.4f}" == "3.1000"
    assert f"{y_pred[0, 0]:.4f}" == "0.9569"
    seed_loss = -(Y * np.log(y_pred + 1e-7) + (1 - Y) * np.log(1 - y_pred + 1e-7))
    assert f"{seed_loss[0, 0]:.4f}" == "0.0441"
    bce_with_logits, _ = reference.losses.binary_cross_entropy_with_logits_forward(z2, Y)
    bce, _ = reference.losses.binary_cross_entropy_forward(y_pred, Y)
    assert f"{bce_with_logits:.4f}" == "0.0441"
    assert f"{bce:.4f}" == "0.0441"


@pytest.mark.parametrize("head", ["logits", "sigmoid"])
def test_two_three_one_walkthrough_gradients(head):
    """Backprop by reference (fused BCE on logits, or sigmoid then BCE on probabilities)."""
    model, params = walkthrough_model()
    spec, loss = model.spec, "binary_cross_entropy_with_logits"
    if head == "sigmoid":
        spec = {**spec, "keys": [*spec["keys"], "sigmoid_3"],
                "layers": [*spec["layers"], {"type": "Activation", "name": "sigmoid"}]}
        params = {**params, "sigmoid_3": {}}
        loss = "binary_cross_entropy"
    value, grads, _ = reference.value_and_grad(spec, params, X, Y, loss)
    y_pred = 1 / (1 + math.exp(-3.1))
    assert value == pytest.approx(-math.log(y_pred), rel=1e-12)
    dz2 = y_pred - 1.0
    # The seed's prints: :.4f for scalars, NumPy's 8 decimals for arrays.
    assert f"{dz2:.4f}" == "-0.0431" and f"{grads['dense_2']['b'][0]:.4f}" == "-0.0431"
    np.testing.assert_allclose(grads["dense_2"]["w"].T,
                               [[-0.02586435, -0.05172871, -0.07759306]], atol=5e-9, rtol=0)
    dh = np.array([[-0.03017508], [-0.0344858], [-0.03879653]])
    np.testing.assert_allclose(grads["dense_0"]["b"], dh[:, 0], atol=5e-9, rtol=0)
    np.testing.assert_allclose(grads["dense_0"]["w"].T,
                               [[-0.03017508, -0.06035016], [-0.0344858, -0.06897161],
                                [-0.03879653, -0.07759306]], atol=5e-9, rtol=0)
    # And exactly the seed's formulas: dW2 = dz2 h^T, dh = W2^T dz2, dW1 = dz1 x^T.
    h = np.array([0.6, 1.2, 1.8])
    np.testing.assert_allclose(grads["dense_2"]["w"][:, 0], dz2 * h, rtol=1e-12)
    np.testing.assert_allclose(grads["dense_0"]["w"].T, np.outer(W2[0] * dz2, X[0]), rtol=1e-12)
    np.testing.assert_allclose(grads["dense_2"]["b"], [dz2], rtol=1e-12)


def test_two_three_one_walkthrough_matches_jax_grad_the_engine_and_the_seeds_check():
    model, params = walkthrough_model()
    _, grads, dx = reference.value_and_grad(model.spec, params, X, Y,
                                            "binary_cross_entropy_with_logits")

    def objective(p, x):
        state = {"dense_0": {}, "relu_1": {}, "dense_2": {}}
        return fl.binary_cross_entropy_with_logits(model.apply(p, state, x)[0], jnp.asarray(Y))

    jax_params = jax.tree.map(jnp.asarray, params)
    expected, expected_dx = jax.grad(objective, argnums=(0, 1))(jax_params, jnp.asarray(X))
    for layer in ("dense_0", "dense_2"):
        for name in ("w", "b"):
            np.testing.assert_allclose(grads[layer][name], expected[layer][name], rtol=1e-12)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-12)

    # The same network built from scalar Values.
    w1 = [[Value(v) for v in row] for row in W1]
    b1 = [Value(v) for v in B1]
    w2 = [Value(v) for v in W2[0]]
    b2 = Value(B2[0])
    hidden = [(sum(w * xi for w, xi in zip(row, X[0], strict=True)) + b).relu()
              for row, b in zip(w1, b1, strict=True)]
    z2 = sum(w * hv for w, hv in zip(w2, hidden, strict=True)) + b2
    loss = -(z2.sigmoid().log())  # y = 1
    loss.backward()
    np.testing.assert_allclose([[v.grad for v in row] for row in w1], grads["dense_0"]["w"].T,
                               rtol=1e-12)
    np.testing.assert_allclose([v.grad for v in w2], grads["dense_2"]["w"][:, 0], rtol=1e-12)
    np.testing.assert_allclose(b2.grad, grads["dense_2"]["b"][0], rtol=1e-12)

    # The seed's verification: W2[0,0] by a central difference of its loss (h = 1e-5).
    def compute_loss(W2):
        h = np.maximum(0, W1 @ X.T + B1[:, None])
        y_pred = 1 / (1 + np.exp(-(W2 @ h + B2[:, None])))
        return -(Y * np.log(y_pred + 1e-7) + (1 - Y) * np.log(1 - y_pred + 1e-7))[0, 0]

    step = np.zeros_like(W2)
    step[0, 0] = 1e-5
    numerical = (compute_loss(W2 + step) - compute_loss(W2 - step)) / 2e-5
    assert np.isclose(grads["dense_2"]["w"][0, 0], numerical)
    errors = reference.check_model(model.spec, params, X, Y, "binary_cross_entropy_with_logits")
    assert max(errors.values()) <= 1e-7
