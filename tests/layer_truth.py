"""Three-way gradient truth for one funcnet layer or model, rebuilt in reference from its spec.

``check_layer`` runs the funcnet layer and its ``reference.build`` twin on the same
params, state, input and (through ``dropout_masks``) the same dropout masks, then
compares, for the scalar ``L = sum(y * r)`` with a random ``r``:

* forward output and new state, reference vs funcnet;
* reference backward vs ``jax.grad`` (relative error <= 1e-10 per array);
* reference backward vs central differences of the reference forward (<= 1e-7).

Errors are the seeds' ``||a - b|| / (||a|| + ||b||)`` per array
(``reference.relative_error``); ``WORST`` keeps the largest seen in this process.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from helpers import leaf_pairs

import reference
from funcnet.layers.dropout import dropout_masks

JAX_TOL = 1e-10
NUMERICAL_TOL = 1e-7
FORWARD_TOL = 1e-12

WORST = {"forward": 0.0, "jax": 0.0, "numerical": 0.0}


def to_numpy(tree):
    """np.asarray on every leaf (what reference consumes)."""
    return jax.tree.map(np.asarray, tree)


def tree_errors(actual, expected) -> dict[str, float]:
    """Per-leaf relative error keyed by ``keystr`` path (structure and shapes first)."""
    return {name: reference.relative_error(np.asarray(a), np.asarray(e))
            for name, a, e in leaf_pairs(actual, expected)}


def assert_errors_below(kind: str, errors: dict[str, float], tol: float) -> None:
    """Record the worst error of ``kind`` and fail naming every array over ``tol``."""
    if errors:
        WORST[kind] = max(WORST[kind], max(errors.values()))
    bad = {path: f"{err:.2e}" for path, err in errors.items() if err > tol}
    assert not bad, f"{kind}: relative error above {tol:.0e}: {bad}"


def check_layer(layer, params, state, x, *, train=False, key=None, seed=0,
                check_numerical=True, check_input=True):
    """Forward, ``jax.grad`` and numerical agreement of ``layer`` with its reference twin.

    The funcnet side runs as one jitted value-and-grad (one compile per shape).
    ``check_input=False`` leaves ``x`` out (integer ids have no gradient): the
    reference backward's ``dx`` must then be ``None``.

    Returns:
        ``(y, new_state)`` from funcnet, for further checks by the caller.
    """
    net = reference.build(layer.spec)
    extras = None if key is None else dropout_masks(layer, key)
    np_params, np_state, np_x = to_numpy(params), to_numpy(state), np.asarray(x)

    def ref_forward(p, xx):
        return net.forward(p, xx, state=np_state, train=train, extras=extras)

    y_ref, state_ref, cache = ref_forward(np_params, np_x)
    r = np.random.default_rng(seed).normal(size=np.shape(y_ref))

    @jax.jit
    def funcnet_value_and_grad(p, xx, rr):
        def loss(p, xx):
            y, new_state = layer.apply(p, state, xx, train=train, key=key)
            return jnp.sum(y * rr), (y, new_state)

        argnums = (0, 1) if check_input else 0
        (_, (y, new_state)), grads = jax.value_and_grad(loss, argnums=argnums, has_aux=True)(p, xx)
        return y, new_state, grads if check_input else (grads, None)

    y, new_state, (jax_dparams, jax_dx) = funcnet_value_and_grad(params, x, r)
    forward_errors = {"y": reference.relative_error(y_ref, y)}
    forward_errors.update({f"state{p}": e for p, e in tree_errors(state_ref, new_state).items()})
    assert_errors_below("forward", forward_errors, FORWARD_TOL)

    dx, dparams = net.backward(r, cache)
    jax_errors = tree_errors(dparams, jax_dparams)
    if check_input:
        jax_errors["x"] = reference.relative_error(dx, jax_dx)
    else:
        assert dx is None, f"x has no gradient, yet reference backward gave dx {dx!r}"
    assert_errors_below("jax", jax_errors, JAX_TOL)

    if check_numerical:
        numerical = reference.check(lambda p: np.sum(ref_forward(p, np_x)[0] * r),
                                    np_params, dparams, tol=NUMERICAL_TOL)
        if check_input:
            numerical["x"] = reference.check(
                lambda xx: np.sum(ref_forward(np_params, xx)[0] * r), np_x, dx,
                tol=NUMERICAL_TOL)[""]
        assert_errors_below("numerical", numerical, NUMERICAL_TOL)
    return y, new_state
