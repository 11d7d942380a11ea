"""hessian_top_eigenvalue against known spectra and against eigvalsh of the dense Hessian.

Power iteration returns the eigenvalue of largest magnitude with its sign: checked on
quadratics whose spectra are set by hand (the dominant one positive, then negative, then
a +/- tie that cannot converge) and on a small tanh network, whose dense Hessian comes
from ``jax.hessian`` over the flattened params. All in float64.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import funcnet as fn
from funcnet import diagnostics

RNG = np.random.default_rng(17)


def quadratic(eigenvalues):
    """``(loss, params)``: 0.5 (p - c)^T A (p - c) over a two-leaf tree, A = Q diag Q^T."""
    q, _ = np.linalg.qr(RNG.normal(size=(len(eigenvalues),) * 2))
    a = jnp.asarray(q @ np.diag(eigenvalues) @ q.T)
    params = {"w": jnp.asarray(RNG.normal(size=(2, 3))), "b": jnp.asarray(RNG.normal(size=3))}
    center = ravel_pytree(params)[0] + 0.5

    def loss(p):
        e = ravel_pytree(p)[0] - center
        return 0.5 * e @ a @ e

    return loss, params


def test_quadratic_with_a_negative_dominant_eigenvalue():
    # the largest lambda is 3, the largest |lambda| is -5: power iteration finds -5
    # (a positive dominant one is the docstring's example and the network's below)
    expected = -5.0
    loss, params = quadratic([3.0, 2.0, 1.0, 0.5, -5.0, -1.0, 0.2, 0.0, 1.5])
    result = diagnostics.hessian_top_eigenvalue(loss, params, tol=1e-10, max_iterations=2000,
                                                key=jax.random.key(3))
    assert result.converged and result.residual <= 1e-10
    assert result.eigenvalue == pytest.approx(expected, rel=1e-12)
    hv = diagnostics.hessian_vector_product(loss, params, result.eigenvector)
    np.testing.assert_allclose(ravel_pytree(hv)[0],
                               expected * ravel_pytree(result.eigenvector)[0], atol=1e-9)
    assert jax.tree.structure(result.eigenvector) == jax.tree.structure(params)


def test_plus_minus_tie_is_reported_unconverged_and_flat_loss_gives_zero():
    loss, params = quadratic([2.0, -2.0, 1.0, 0.5, 0.0, 0.0, 0.1, -0.1, 0.3])
    result = diagnostics.hessian_top_eigenvalue(loss, params, tol=1e-8, max_iterations=300)
    assert not result.converged and result.iterations == 300
    assert abs(result.eigenvalue) <= 2.0 + 1e-9  # a Rayleigh quotient inside the spectrum
    linear = diagnostics.hessian_top_eigenvalue(lambda p: jnp.sum(3.0 * p["w"]),
                                                {"w": jnp.ones((2, 2))})
    assert linear.eigenvalue == 0.0 and linear.converged


def test_small_network_against_eigvalsh_of_the_dense_hessian():
    model = fn.Sequential([fn.Dense(5), fn.tanh, fn.Dense(2)])
    params, state = model.init(jax.random.key(1), (3,))
    params = jax.tree.map(lambda a: a.astype(jnp.float64), params)
    x = jnp.asarray(RNG.normal(size=(12, 3)))
    y = jnp.asarray(RNG.normal(size=(12, 2)))

    def loss(p):
        return fn.mse(model.apply(p, state, x)[0], y)

    flat, unravel = ravel_pytree(params)
    dense = np.asarray(jax.jit(jax.hessian(lambda v: loss(unravel(v))))(flat))
    eigenvalues = np.linalg.eigvalsh(dense)
    dominant = eigenvalues[np.argmax(np.abs(eigenvalues))]
    result = diagnostics.hessian_top_eigenvalue(loss, params, tol=1e-9, max_iterations=5000)
    assert result.converged
    assert result.eigenvalue == pytest.approx(dominant, rel=1e-10)
    v = np.asarray(ravel_pytree(result.eigenvector)[0])
    np.testing.assert_allclose(dense @ v, dominant * v, atol=1e-7 * abs(dominant))


LOSS = lambda p: jnp.sum(p["w"] ** 2)  # noqa: E731
PARAMS = {"w": jnp.ones(3)}
BAD = [
    ("loss not callable", lambda: diagnostics.hessian_top_eigenvalue(3.0, PARAMS), TypeError,
     r"hessian_top_eigenvalue: loss must be a function params -> scalar, got float"),
    ("loss not scalar", lambda: diagnostics.hessian_top_eigenvalue(lambda p: p["w"], PARAMS),
     ValueError, r"loss\(params\) must return a float scalar .* got shape \(3,\)"),
    ("integer leaf", lambda: diagnostics.hessian_top_eigenvalue(LOSS, {"w": jnp.arange(3)}),
     TypeError, r"params\['w'\] must be a float array .* got dtype int"),
    ("empty params", lambda: diagnostics.hessian_top_eigenvalue(LOSS, {}), ValueError,
     r"hessian_top_eigenvalue: params has no arrays"),
    ("tol zero", lambda: diagnostics.hessian_top_eigenvalue(LOSS, PARAMS, tol=0.0),
     ValueError, r"tol must be a finite number > 0 .* got 0.0"),
    ("no iterations", lambda: diagnostics.hessian_top_eigenvalue(LOSS, PARAMS,
                                                                 max_iterations=0),
     ValueError, r"max_iterations must be a positive integer, got 0"),
    ("one iteration", lambda: diagnostics.hessian_top_eigenvalue(LOSS, PARAMS,
                                                                 max_iterations=1),
     ValueError, r"max_iterations must be at least 2 \(the first product only sets"),
    ("raw key", lambda: diagnostics.hessian_top_eigenvalue(LOSS, PARAMS, key=1), TypeError,
     r"hessian_top_eigenvalue: key"),
    ("non-finite", lambda: diagnostics.hessian_top_eigenvalue(
        lambda p: jnp.sum(jnp.log(p["w"]) ** 2), {"w": -jnp.ones(2)}), ValueError,
     r"Hessian-vector product is not finite"),
]


@pytest.mark.parametrize("call, error, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
