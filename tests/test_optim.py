"""funcnet.optim against optax, against reference.optim, and against the seeds' own code.

One table of optimizers drives the cross-checks: each row builds the funcnet optimizer,
its optax namesake and (where the seeds have it) its reference twin for a given learning
rate. 1,000-step runs go through ``lax.scan`` so each is one compiled call.

Run as a script (``python tests/test_optim.py``) to print the worst relative difference
against optax and reference per optimizer and dtype.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, leaf_pairs, max_relative_error

import funcnet.optim as fo
import reference.optim as ro

STEPS = 1000
LR = 0.01
SCHEDULE = fo.warmup_cosine_decay_schedule(0.0, 0.05, warmup_steps=100, decay_steps=STEPS,
                                           end_value=1e-3)
# Tolerances by leaf dtype; integer leaves (step counts) must match exactly.
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}


def decay_matrices(params):
    """adamw's mask: decay the weight matrices, not vectors or scalars."""
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    funcnet: Callable  # learning_rate -> GradientTransformation
    optax: Callable
    reference: Callable | None = None  # learning_rate -> reference.optim.Optimizer


TABLE = [
    Row("sgd", fo.sgd, optax.sgd, ro.sgd),
    Row("momentum", lambda lr: fo.momentum(lr, beta=0.9),
        lambda lr: optax.sgd(lr, momentum=0.9), lambda lr: ro.momentum(lr, momentum=0.9)),
    Row("nesterov", lambda lr: fo.momentum(lr, beta=0.9, nesterov=True),
        lambda lr: optax.sgd(lr, momentum=0.9, nesterov=True)),
    Row("rmsprop", lambda lr: fo.rmsprop(lr, decay=0.95, eps=1e-6),
        lambda lr: optax.rmsprop(lr, decay=0.95, eps=1e-6)),
    Row("adam", fo.adam, optax.adam, ro.adam),
    Row("adamw", lambda lr: fo.adamw(lr, b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-10,
                                     weight_decay=1e-2, mask=decay_matrices),
        lambda lr: optax.adamw(lr, b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-10,
                               weight_decay=1e-2, mask=decay_matrices)),
    Row("clip_by_global_norm", lambda lr: optax.chain(fo.clip_by_global_norm(1.0), fo.sgd(lr)),
        lambda lr: optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(lr))),
    Row("clip", lambda lr: optax.chain(fo.clip(0.5), fo.momentum(lr)),
        lambda lr: optax.chain(optax.clip(0.5), optax.sgd(lr, momentum=0.9))),
    Row("add_decayed_weights",
        lambda lr: optax.chain(fo.add_decayed_weights(1e-3), fo.sgd(lr)),
        lambda lr: optax.chain(optax.add_decayed_weights(1e-3), optax.sgd(lr))),
]
ROWS = {row.name: row for row in TABLE}

# (leaf dtypes, learning rate); the reference twin runs only with a constant rate, and
# the mixed tree (float64 and float32 leaves) runs both precisions under a schedule.
VARIANTS = [("float64", "constant"), ("float32", "constant"), ("mixed", "schedule")]


# ---------------------------------------------------------------------------- fixtures


def random_params(seed: int, kind: str):
    """A small nested dict/list tree of random shapes (ranks 0 to 3)."""
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(n) for n in rng.integers(1, 6, size=rank)) for rank in (2, 1, 0, 3)]
    dtypes = {"float64": [np.float64] * 4, "float32": [np.float32] * 4,
              "mixed": [np.float64, np.float32, np.float32, np.float64]}[kind]
    w, b, s, k = (jnp.asarray(rng.normal(size=shape), dtype)
                  for shape, dtype in zip(shapes, dtypes, strict=True))
    return {"dense": {"w": w, "b": b}, "extra": [s, {"kernel": k}]}


def random_grads(seed: int, params, steps: int = STEPS):
    """``steps`` gradients per leaf, with a per-step scale spanning ~e^-2..e^2 so the
    global norm crosses clipping thresholds in both directions."""
    rng = np.random.default_rng(seed + 10_000)
    scale = np.exp(rng.normal(size=steps))

    def leaf(p):
        g = rng.normal(size=(steps, *jnp.shape(p))) * scale.reshape((steps,) + (1,) * p.ndim)
        return jnp.asarray(g, p.dtype)

    return jax.tree.map(leaf, params)


def scan_runs(runs):
    """Run optimizers side by side for one update per leading index of their gradients,
    all in one compiled ``lax.scan`` (one compilation for the lot).

    Args:
        runs: ``[(optimizer, apply_updates, params, grads), ...]``; every ``grads`` tree
            holds the same number of steps on its leading axis.

    Returns:
        Per run: the per-step updates and params (stacked on a leading axis) and the
        final optimizer state.
    """
    def body(carry, grads):
        carry_out, per_step = [], []
        for (opt, apply_updates, _, _), (p, state), g in zip(runs, carry, grads, strict=True):
            updates, state = opt.update(g, state, p)
            p = apply_updates(p, updates)
            carry_out.append((p, state))
            per_step.append((updates, p))
        return carry_out, per_step

    @jax.jit
    def run(params, grads):
        init = [(p, opt.init(p)) for (opt, *_), p in zip(runs, params, strict=True)]
        final, per_step = jax.lax.scan(body, init, grads)
        return [(updates, path, state)
                for (updates, path), (_, state) in zip(per_step, final, strict=True)]

    return run([params for *_, params, _ in runs], [grads for *_, grads in runs])


def scan_run(opt, params, grads):
    """:func:`scan_runs` for one funcnet-style optimizer."""
    return scan_runs([(opt, fo.apply_updates, params, grads)])[0]


def reference_run(opt: ro.Optimizer, params, grads):
    """The NumPy twin, one update per step; returns the params path stacked per leaf."""
    params = ro.tree_map(np.asarray, params)
    grads = ro.tree_map(np.asarray, grads)
    state = opt.init(params)
    path = []
    for t in range(len(jax.tree.leaves(grads)[0])):
        params, state = opt.update(ro.tree_map(lambda g, t=t: g[t], grads), state, params)
        path.append(params)
    return ro.tree_map(lambda *xs: np.stack(xs), *path)


def assert_close_by_dtype(actual, expected, what: str, *, normwise: bool = False
                          ) -> dict[str, float]:
    """Structure first, then each leaf at its own dtype's tolerance; returns the worst
    relative error seen per float dtype (0 when bit-identical).

    Elementwise by default: ``|a - e| <= rtol |e|``. With ``normwise``, the error is
    measured against the leaf's scale, ``|a - e| <= rtol max|e|``: the right measure
    when the two sides round in a different order (the same maths written another
    way), since a path that crosses zero makes the elementwise ratio meaningless there.
    """
    worst: dict[str, float] = {}
    for name, a, e in leaf_pairs(actual, expected, what):
        a, e = np.asarray(a), np.asarray(e)
        assert a.dtype == e.dtype, f"{name}: dtype {a.dtype} != {e.dtype}"
        rtol = RTOL.get(a.dtype, 0.0)
        if normwise and a.size:
            scale = np.max(np.abs(e))
            np.testing.assert_allclose(a, e, rtol=0, atol=rtol * scale, err_msg=name)
            error = float(np.max(np.abs(a - e)) / scale)
        else:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=0, err_msg=name)
            error = max_relative_error(a, e)
        if np.issubdtype(a.dtype, np.floating):
            worst[a.dtype.name] = max(worst.get(a.dtype.name, 0.0), error)
    return worst


def merge_worst(*tables: dict[str, float]) -> dict[str, float]:
    merged: dict[str, float] = {}
    for table in tables:
        for dtype, error in table.items():
            merged[dtype] = max(merged.get(dtype, 0.0), error)
    return merged


def assert_same_maths(actual, expected, rtol: float = 1e-12) -> None:
    """The same algorithm with another operation order: ``|a - e| <= rtol max|e|``.

    Rounding differs at the last bit from one formulation to the other, and a path that
    crosses zero turns that into an arbitrary elementwise ratio, so the error is
    measured against the path's scale.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * np.max(np.abs(expected)))


LR_STATES = (fo.ScaleByLearningRateState, optax.ScaleByScheduleState)


def moment_states(opt_state) -> list[dict]:
    """The transform states that hold arrays, in chain order, as ``{field: value}``.

    NamedTuple types are dropped (funcnet's and optax's are different classes with the
    same fields); learning-rate states are left out (checked apart): for a schedule
    funcnet also records the rate it used.
    """
    found = []

    def visit(node):
        if isinstance(node, LR_STATES):
            return
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            if jax.tree.leaves(node):
                found.append({field: getattr(node, field) for field in node._fields})
        elif isinstance(node, tuple | list):
            for child in node:
                visit(child)

    visit(opt_state)
    return found


def _is_lr_state(node) -> bool:
    return isinstance(node, fo.ScaleByLearningRateState)


def compare_row(row: Row, seed: int = 0) -> dict[str, dict[str, float]]:
    """Run ``row`` for STEPS steps on every variant in funcnet, optax and (constant rate)
    the reference; assert they agree; return the worst relative differences per dtype."""
    cases, runs = [], []
    for kind, lr_kind in VARIANTS:
        lr = LR if lr_kind == "constant" else SCHEDULE
        params = random_params(seed, kind)
        grads = random_grads(seed, params)
        cases.append((kind, lr_kind, lr, params, grads))
        runs += [(row.funcnet(lr), fo.apply_updates, params, grads),
                 (row.optax(lr), optax.apply_updates, params, grads)]
    results = scan_runs(runs)

    worst = {"optax": {}, "reference": {}}
    for i, (kind, lr_kind, lr, params, grads) in enumerate(cases):
        (updates, path, state), (ox_updates, ox_path, ox_state) = results[2 * i: 2 * i + 2]
        what = f"{row.name} ({kind}, {lr_kind} rate)"
        worst["optax"] = merge_worst(
            worst["optax"],
            assert_close_by_dtype(updates, ox_updates, f"{what} updates"),
            assert_close_by_dtype(path, ox_path, f"{what} params"),
            assert_close_by_dtype(moment_states(state), moment_states(ox_state), f"{what} state"),
        )
        # the learning-rate state, a float's as a schedule's: STEPS updates counted and
        # the last one's rate recorded, as scalar arrays
        lr_state = [s for s in jax.tree.leaves(state, is_leaf=_is_lr_state)
                    if _is_lr_state(s)]
        assert len(lr_state) == 1 and int(lr_state[0].count) == STEPS
        assert lr_state[0].learning_rate.shape == ()
        expected_lr = LR if lr_kind == "constant" else SCHEDULE(STEPS - 1)
        # (compiled and eager schedules may round the last bits differently)
        np.testing.assert_allclose(fo.current_learning_rate(state), expected_lr, rtol=1e-13)

        if row.reference is not None and lr_kind == "constant":
            ref_path = reference_run(row.reference(lr), params, grads)
            # the seeds' operation order (lr inside the velocity; lr * m_hat / (...))
            # differs, so the paths are compared against their scale
            worst["reference"] = merge_worst(worst["reference"], assert_close_by_dtype(
                path, ref_path, f"{what} vs reference", normwise=True))
    return worst


# ------------------------------------------------------------------- table-driven tests


@pytest.mark.parametrize("name", list(ROWS))
def test_matches_optax_and_reference_over_1000_steps(name):
    compare_row(ROWS[name], seed=len(name))


def quadratic_loss(params):
    return sum(jnp.sum(jnp.square(x - 0.5)) for x in jax.tree.leaves(params))


@pytest.mark.parametrize("name", list(ROWS))
def test_jitted_step_compiles_once_and_keeps_state_types(name):
    # A schedule that changes every step and switches pieces at step 3.
    schedule = fo.warmup_cosine_decay_schedule(0.0, 0.1, warmup_steps=3, decay_steps=8)
    opt = ROWS[name].funcnet(schedule)
    params = random_params(1, "mixed")
    traces = 0

    @jax.jit
    def step(params, opt_state):
        nonlocal traces
        traces += 1
        loss, grads = jax.value_and_grad(quadratic_loss)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return fo.apply_updates(params, updates), opt_state, loss

    opt_state = opt.init(params)
    state_types = jax.tree.map(lambda x: (x.shape, x.dtype), opt_state)
    param_types = jax.tree.map(lambda x: (x.shape, x.dtype), params)
    losses, rates = [], []
    for _ in range(10):
        params, opt_state, loss = step(params, opt_state)
        losses.append(float(loss))
        rates.append(float(fo.current_learning_rate(opt_state)))
        assert jax.tree.map(lambda x: (x.shape, x.dtype), opt_state) == state_types
        assert jax.tree.map(lambda x: (x.shape, x.dtype), params) == param_types
    assert traces == 1
    assert step._cache_size() == 1
    np.testing.assert_allclose(rates, schedule(np.arange(10)), rtol=1e-13)  # jit vs eager
    assert len(set(rates)) > 5  # the rate really changed while the step stayed compiled
    assert losses[-1] < losses[0]


# ------------------------------------------------------------------------ equivalences


def test_momentum_with_beta_zero_is_sgd():
    params = random_params(2, "float64")
    grads = random_grads(2, params)
    (sgd_updates, sgd_path, _), *momentum_runs = scan_runs(
        [(fo.sgd(SCHEDULE), fo.apply_updates, params, grads)]
        + [(fo.momentum(SCHEDULE, beta=0.0, nesterov=nesterov), fo.apply_updates, params, grads)
           for nesterov in (False, True)])
    for updates, path, _ in momentum_runs:
        assert_trees_close(updates, sgd_updates, rtol=0)
        assert_trees_close(path, sgd_path, rtol=0)


def written_momentum(x0, grads, lrs, *, beta, form, dampening=0.0):
    """Momentum as written in a textbook, one float64 vector, one step per row of grads.

    form "heavy_ball":  v = beta v + (1-d) g;   x -= lr_t v          (optax / funcnet)
    form "seed":        v = beta v + lr_t g;    x -= v               (lesson 000)
    form "nesterov":    v = beta v + (1-d) g;   x -= lr_t ((1-d) g + beta v)
    """
    x, v, path = np.array(x0, np.float64), np.zeros_like(x0), []
    for g, lr in zip(grads, lrs, strict=True):
        if form == "seed":
            v = beta * v + lr * g
            x = x - v
        else:
            v = beta * v + (1 - dampening) * g
            x = x - lr * (v if form == "heavy_ball" else (1 - dampening) * g + beta * v)
        path.append(x)
    return np.stack(path)


@pytest.fixture(scope="module")
def vector_problem():
    """One float64 vector parameter and 1,000 random gradients for it."""
    rng = np.random.default_rng(3)
    return rng.normal(size=5), rng.normal(size=(STEPS, 5))


def funcnet_path(opt, x0, grads):
    _, path, _ = scan_run(opt, {"x": jnp.asarray(x0)}, {"x": jnp.asarray(grads)})
    return np.asarray(path["x"])


def test_heavy_ball_equals_seed_form_only_while_lr_is_constant(vector_problem):
    x0, grads = vector_problem
    # constant rate: the seeds' v = beta v + lr g;  p -= v  is the same algorithm
    path = funcnet_path(fo.momentum(LR, beta=0.9), x0, grads)
    lrs = np.full(STEPS, LR)
    assert_same_maths(path, written_momentum(x0, grads, lrs, beta=0.9, form="seed"))
    assert_same_maths(path, written_momentum(x0, grads, lrs, beta=0.9, form="heavy_ball"))

    # a schedule: funcnet is the heavy-ball form, and the seeds' form is a different path
    schedule = fo.step_decay_schedule(0.1, decay_every=100, factor=2.0)
    lrs = np.asarray(schedule(np.arange(STEPS)))
    path = funcnet_path(fo.momentum(schedule, beta=0.9), x0, grads)
    assert_same_maths(path, written_momentum(x0, grads, lrs, beta=0.9, form="heavy_ball"))
    seed_form = written_momentum(x0, grads, lrs, beta=0.9, form="seed")
    assert max_relative_error(path, seed_form) > 1e-3


@pytest.mark.parametrize("dampening", [0.0, 0.5])
def test_nesterov_matches_its_written_formula(vector_problem, dampening):
    x0, grads = vector_problem
    lrs = np.asarray(SCHEDULE(np.arange(STEPS)))
    path = funcnet_path(fo.momentum(SCHEDULE, beta=0.9, nesterov=True, dampening=dampening),
                        x0, grads)
    written = written_momentum(x0, grads, lrs, beta=0.9, form="nesterov", dampening=dampening)
    assert_same_maths(path, written)


def test_dampening_beta_is_lesson_003_moving_average(vector_problem):
    x0, grads = vector_problem
    alpha, beta = 0.05, 0.9
    path = funcnet_path(fo.momentum(alpha, beta=beta, dampening=beta), x0, grads)
    # lesson 003, problem 4:  v = beta v + (1 - beta) dW;   W = W - alpha v
    w, v, written = x0.copy(), np.zeros_like(x0), []
    for dw in grads:
        v = beta * v + (1 - beta) * dw
        w = w - alpha * v
        written.append(w)
    assert_same_maths(path, np.stack(written))


def test_rmsprop_and_adamw_match_their_docstring_formulas(vector_problem):
    x0, grads = vector_problem
    lrs = np.asarray(SCHEDULE(np.arange(STEPS)))
    decay, eps = 0.9, 1e-8
    x, nu, written = x0.copy(), np.zeros_like(x0), []
    for g, lr in zip(grads, lrs, strict=True):
        nu = decay * nu + (1 - decay) * g**2
        x = x - lr * g / np.sqrt(nu + eps)
        written.append(x)
    assert_same_maths(funcnet_path(fo.rmsprop(SCHEDULE, decay, eps), x0, grads),
                      np.stack(written))

    b1, b2, eps, eps_root, wd = 0.9, 0.999, 1e-8, 1e-12, 0.1
    x, m, v, written = x0.copy(), np.zeros_like(x0), np.zeros_like(x0), []
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        x = x - lr * (m_hat / (np.sqrt(v_hat + eps_root) + eps) + wd * x)
        written.append(x)
    opt = fo.adamw(SCHEDULE, b1, b2, eps, eps_root, weight_decay=wd)
    assert_same_maths(funcnet_path(opt, x0, grads), np.stack(written))


def test_clip_by_global_norm_is_the_seeds_gradient_clip_without_its_1e_6():
    def gradient_clip(gradients, max_norm):  # lesson 002, as written
        total_norm = np.sqrt(sum(np.sum(g**2) for g in gradients))
        clip_coef = max_norm / (total_norm + 1e-6)
        if clip_coef < 1:
            return [g * clip_coef for g in gradients]
        return gradients

    rng = np.random.default_rng(42)
    grads = [rng.normal(size=(10, 5)) * 100, rng.normal(size=(3, 10)) * 100]
    tx = fo.clip_by_global_norm(5.0)
    clipped, _ = tx.update([jnp.asarray(g) for g in grads], tx.init(None))
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    seed = gradient_clip(grads, max_norm=5.0)
    for ours, theirs in zip(clipped, seed, strict=True):
        np.testing.assert_allclose(np.asarray(ours) * norm / (norm + 1e-6), theirs, rtol=1e-12)
    np.testing.assert_allclose(fo.global_norm(clipped), 5.0, rtol=1e-12)
    small = [g / norm for g in grads]  # norm 1 < 5: passed through untouched
    unclipped, _ = tx.update([jnp.asarray(g) for g in small], tx.init(None))
    assert_trees_close(unclipped, small, rtol=0)


# ------------------------------------------------------------------------ composition


def test_chains_mix_funcnet_and_optax_both_ways():
    params = random_params(4, "float64")
    grads = random_grads(4, params, steps=300)
    norms = np.sqrt(sum(np.sum(np.square(g), axis=tuple(range(1, g.ndim)))
                        for g in jax.tree.leaves(grads)))
    assert (norms > 1).any() and (norms < 1).any()  # clipping both triggers and not

    optax_clip_funcnet_adam = optax.chain(optax.clip_by_global_norm(1.0), fo.adam(1e-3))
    funcnet_clip_optax_adam = optax.chain(fo.clip_by_global_norm(1.0), optax.adam(1e-3))
    all_optax = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
    (u1, p1, s1), (u2, p2, s2), (u3, p3, _) = scan_runs(
        [(optax_clip_funcnet_adam, fo.apply_updates, params, grads),
         (funcnet_clip_optax_adam, optax.apply_updates, params, grads),
         (all_optax, optax.apply_updates, params, grads)])
    for updates, path in ((u1, p1), (u2, p2)):
        assert_trees_close(updates, u3, rtol=1e-12)
        assert_trees_close(path, p3, rtol=1e-12)
    assert_trees_close(moment_states(s1), moment_states(s2), rtol=1e-12)
    assert float(fo.current_learning_rate(s1)) == 1e-3


def test_current_learning_rate_matches_optax_inject_hyperparams():
    schedule = fo.join_schedules(
        [fo.linear_schedule(0.0, 0.1, 5), fo.step_decay_schedule(0.1, decay_every=4)], [5])
    params = random_params(5, "float64")
    ours, theirs = fo.adam(schedule), optax.inject_hyperparams(optax.adam)(learning_rate=schedule)

    @jax.jit
    def both(params, s1, s2, grads):
        u1, s1 = ours.update(grads, s1, params)
        u2, s2 = theirs.update(grads, s2, params)
        return u1, u2, s1, s2

    s1, s2 = ours.init(params), theirs.init(params)
    assert fo.current_learning_rate(s2) is s2.hyperparams["learning_rate"]
    np.testing.assert_allclose(fo.current_learning_rate(s1), fo.current_learning_rate(s2))
    grads = random_grads(5, params, steps=16)
    for t in range(16):
        u1, u2, s1, s2 = both(params, s1, s2, jax.tree.map(lambda g, t=t: g[t], grads))
        assert_trees_close(u1, u2, rtol=1e-12)
        np.testing.assert_allclose(fo.current_learning_rate(s1), fo.current_learning_rate(s2),
                                   rtol=1e-15)
        np.testing.assert_allclose(fo.current_learning_rate(s1), schedule(t), rtol=1e-13)


def test_apply_updates_keeps_each_leaf_dtype():
    params = {"a": jnp.ones(3, jnp.float32), "b": [jnp.ones(2, jnp.bfloat16), np.ones(2)]}
    updates = {"a": jnp.full(3, 0.25, jnp.float64), "b": [jnp.full(2, 0.5), jnp.full(2, 0.5)]}
    new = fo.apply_updates(params, updates)
    assert [x.dtype for x in jax.tree.leaves(new)] == [
        jnp.float32, jnp.bfloat16, jnp.float64]
    assert_trees_close(new, optax.apply_updates(params, updates), rtol=0, check_dtype=True)


def test_add_decayed_weights_mask_forms_agree():
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2), "layers": [jnp.ones(3), jnp.ones(3)]}
    grads = jax.tree.map(jnp.zeros_like, params)
    prefix = {"w": True, "b": False, "layers": False}  # a prefix of the params tree
    full = {"w": True, "b": False, "layers": [False, False]}
    expected = {"w": jnp.full((2, 2), 0.1), "b": jnp.zeros(2), "layers": [jnp.zeros(3)] * 2}
    for mask in (prefix, full, lambda p: prefix):
        tx = fo.add_decayed_weights(0.1, mask)
        assert_trees_close(tx.update(grads, tx.init(params), params)[0], expected, rtol=0)


# ------------------------------------------------------------------- the seeds' runs


class SeedMomentumOptimizer:
    """Lesson 000's MomentumOptimizer, as written (a mutable object, on purpose)."""

    def __init__(self, learning_rate=0.01, momentum=0.9):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocity = None

    def update(self, gradients, parameters):
        if self.velocity is None:
            self.velocity = [np.zeros_like(p) for p in parameters]
        updated_params = []
        for i, (param, grad) in enumerate(zip(parameters, gradients, strict=True)):
            self.velocity[i] = self.momentum * self.velocity[i] + self.learning_rate * grad
            updated_params.append(param - self.velocity[i])
        return updated_params


class SeedAdamOptimizer:
    """Lesson 000's AdamOptimizer, as written."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.m = None
        self.v = None
        self.t = 0

    def update(self, gradients, parameters):
        self.t += 1
        if self.m is None:
            self.m = [np.zeros_like(p) for p in parameters]
            self.v = [np.zeros_like(p) for p in parameters]
        updated_params = []
        for i, (param, grad) in enumerate(zip(parameters, gradients, strict=True)):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * grad
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * (grad**2)
            m_hat = self.m[i] / (1 - self.beta1**self.t)
            v_hat = self.v[i] / (1 - self.beta2**self.t)
            updated_params.append(
                param - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon))
        return updated_params


def seed_parabola_runs():
    """test_momentum_optimizer from lesson 000: (x-1)^2 from x = -2, 20 steps."""
    def gradient_f(x):
        return 2 * (x - 1)

    x_standard = np.array([-2.0])
    x_momentum = np.array([-2.0])
    optimizer = SeedMomentumOptimizer(learning_rate=0.1, momentum=0.9)
    standard_path = [x_standard.copy()]
    momentum_path = [x_momentum.copy()]
    for _ in range(20):
        grad_standard = gradient_f(x_standard[0])
        x_standard = x_standard - 0.1 * grad_standard
        standard_path.append(x_standard.copy())
        grad_momentum = gradient_f(x_momentum[0])
        x_momentum = optimizer.update([grad_momentum], [x_momentum])[0]
        momentum_path.append(x_momentum.copy())
    return np.stack(standard_path), np.stack(momentum_path)


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_gradient(x, y):
    """The seeds' hand-written gradient (lesson 000)."""
    dx = -2 * (1 - x) - 400 * x * (y - x**2)
    dy = 200 * (y - x**2)
    return np.array([dx, dy])


def seed_rosenbrock_run():
    """test_adam_optimizer from lesson 000: Adam(lr=0.01) from (-1, 1), 1,000 steps."""
    x = np.array([-1.0, 1.0])
    optimizer = SeedAdamOptimizer(learning_rate=0.01)
    path = [x.copy()]
    for _ in range(1000):
        grad = rosenbrock_gradient(x[0], x[1])
        x = optimizer.update([grad], [x])[0]
        path.append(x.copy())
    return np.stack(path)


def funcnet_descent(opt, loss, x0, steps):
    """Minimise ``loss(params)`` with ``jax.grad`` in one scan; the path includes x0."""
    def body(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(loss)(params), state, params)
        params = fo.apply_updates(params, updates)
        return (params, state), params["x"]

    @jax.jit
    def run(x0):
        params = {"x": x0}
        _, path = jax.lax.scan(body, (params, opt.init(params)), None, length=steps)
        return jnp.concatenate([x0[None], path])

    return np.asarray(run(jnp.asarray(x0)))


def reference_descent(opt, gradient, x0, steps):
    params, path = {"x": np.asarray(x0)}, [np.asarray(x0)]
    state = opt.init(params)
    for _ in range(steps):
        params, state = opt.update({"x": gradient(params["x"])}, state, params)
        path.append(params["x"])
    return np.stack(path)


def test_seed_gd_vs_momentum_on_parabola():
    seed_gd, seed_momentum = seed_parabola_runs()

    def loss(params):
        return jnp.sum((params["x"] - 1) ** 2)

    def gradient(x):
        return 2 * (x - 1)

    x0 = np.array([-2.0])
    assert_same_maths(funcnet_descent(fo.sgd(0.1), loss, x0, 20), seed_gd)
    assert_same_maths(funcnet_descent(fo.momentum(0.1, beta=0.9), loss, x0, 20), seed_momentum)
    # the reference twin is the seeds' arithmetic, operation for operation
    np.testing.assert_array_equal(reference_descent(ro.sgd(0.1), gradient, x0, 20), seed_gd)
    np.testing.assert_array_equal(
        reference_descent(ro.momentum(0.1, momentum=0.9), gradient, x0, 20), seed_momentum)
    # what the lesson's plot shows: GD creeps up to 1 monotonically; momentum overshoots
    # to past 3 and swings back below 0
    assert np.all(np.diff(seed_gd[:, 0]) > 0) and 0.96 < seed_gd[-1, 0] < 1
    assert seed_momentum[:, 0].max() > 3 and seed_momentum[5:, 0].min() < 0


def test_seed_adam_on_rosenbrock():
    seed_path = seed_rosenbrock_run()

    def loss(params):
        x, y = params["x"]
        return rosenbrock(x, y)

    x0 = np.array([-1.0, 1.0])
    ref_path = reference_descent(ro.adam(0.01), lambda xy: rosenbrock_gradient(*xy), x0, 1000)
    np.testing.assert_array_equal(ref_path, seed_path)
    path = funcnet_descent(fo.adam(0.01), loss, x0, 1000)
    assert_same_maths(path, seed_path)
    np.testing.assert_allclose(seed_path[-1], [1.0, 1.0], atol=3e-3)  # the valley's end


# --------------------------------------------------------------- invalid hyperparameters


BAD_HYPERPARAMETERS = [
    (lambda: fo.sgd(0.0), ValueError, r"sgd: learning_rate must be finite and > 0, got 0\.0"),
    (lambda: fo.sgd(-1e-3), ValueError, r"sgd: learning_rate must be finite and > 0"),
    (lambda: fo.sgd(float("nan")), ValueError, r"sgd: learning_rate must be finite and > 0"),
    (lambda: fo.adam(float("inf")), ValueError, r"adam: learning_rate must be finite and > 0"),
    (lambda: fo.sgd("0.1"), TypeError, r"sgd: learning_rate must be a real number, got str"),
    (lambda: fo.sgd(jnp.array(-0.1)), ValueError, r"sgd: learning_rate must be finite and > 0"),
    (lambda: fo.momentum(0.1, beta=1.0), ValueError, r"momentum: beta must be in \[0, 1\)"),
    (lambda: fo.momentum(0.1, beta=-0.1), ValueError, r"momentum: beta must be in \[0, 1\)"),
    (lambda: fo.momentum(0.1, dampening=1.0), ValueError,
     r"momentum: dampening must be in \[0, 1\)"),
    (lambda: fo.momentum(0.1, nesterov=1), TypeError, r"momentum: nesterov must be a bool"),
    (lambda: fo.momentum(-0.1), ValueError, r"momentum: learning_rate must be finite and > 0"),
    (lambda: fo.rmsprop(0.1, decay=1.0), ValueError, r"rmsprop: decay must be in \[0, 1\)"),
    (lambda: fo.rmsprop(0.1, eps=0.0), ValueError, r"rmsprop: eps must be finite and > 0"),
    (lambda: fo.rmsprop(0.0), ValueError, r"rmsprop: learning_rate must be finite and > 0"),
    (lambda: fo.adam(1e-3, b1=1.0), ValueError, r"adam: b1 must be in \[0, 1\)"),
    (lambda: fo.adam(1e-3, b2=1.5), ValueError, r"adam: b2 must be in \[0, 1\)"),
    (lambda: fo.adam(1e-3, b2=float("nan")), ValueError, r"adam: b2 must be in \[0, 1\)"),
    (lambda: fo.adam(1e-3, eps=0.0), ValueError, r"adam: eps must be finite and > 0"),
    (lambda: fo.adam(1e-3, eps_root=-1e-9), ValueError, r"adam: eps_root must be finite and >= 0"),
    (lambda: fo.adamw(1e-3, b1=-0.5), ValueError, r"adamw: b1 must be in \[0, 1\)"),
    (lambda: fo.adamw(1e-3, weight_decay=-1e-4), ValueError,
     r"adamw: weight_decay must be finite and >= 0"),
    (lambda: fo.adamw(0.0), ValueError, r"adamw: learning_rate must be finite and > 0"),
    (lambda: fo.clip_by_global_norm(0.0), ValueError,
     r"clip_by_global_norm: max_norm must be finite and > 0"),
    (lambda: fo.clip_by_global_norm(float("inf")), ValueError,
     r"clip_by_global_norm: max_norm must be finite and > 0"),
    (lambda: fo.clip(-1.0), ValueError, r"clip: max_abs must be finite and > 0"),
    (lambda: fo.add_decayed_weights(-0.1), ValueError,
     r"add_decayed_weights: weight_decay must be finite and >= 0"),
    (lambda: fo.scale_by_learning_rate(0.0), ValueError,
     r"scale_by_learning_rate: learning_rate must be finite and > 0"),
    (lambda: fo.trace(1.0), ValueError, r"trace: beta must be in \[0, 1\)"),
    (lambda: fo.scale_by_rms(decay=-0.1), ValueError, r"scale_by_rms: decay must be in \[0, 1\)"),
    (lambda: fo.scale_by_adam(eps=-1.0), ValueError, r"scale_by_adam: eps must be finite and > 0"),
    (lambda: ro.sgd(0.0), ValueError, r"sgd: learning_rate must be finite and > 0"),
    (lambda: ro.momentum(0.1, momentum=1.0), ValueError, r"momentum: momentum must be in \[0, 1\)"),
    (lambda: ro.adam(0.1, beta1=1.0), ValueError, r"adam: beta1 must be in \[0, 1\)"),
    (lambda: ro.adam(0.1, beta2=-0.1), ValueError, r"adam: beta2 must be in \[0, 1\)"),
    (lambda: ro.adam(0.1, epsilon=0.0), ValueError, r"adam: epsilon must be finite and > 0"),
    (lambda: ro.adam(float("nan")), ValueError, r"adam: learning_rate must be finite and > 0"),
]


@pytest.mark.parametrize("build,error,match", BAD_HYPERPARAMETERS)
def test_invalid_hyperparameters_raise_naming_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_misuse_raises_clear_errors():
    params = {"w": jnp.ones(2), "b": jnp.ones(2)}
    tx = fo.adamw(1e-3)
    with pytest.raises(ValueError, match=r"add_decayed_weights: params are needed"):
        tx.update(params, tx.init(params))
    tx = fo.add_decayed_weights(0.1, mask={"w": jnp.array(True), "b": False})
    with pytest.raises(TypeError, match=r"add_decayed_weights: mask leaves must be Python bools"):
        tx.update(params, tx.init(params), params)
    with pytest.raises(ValueError, match=r"current_learning_rate: expected exactly one learning "
                                         r"rate in opt_state, found 0"):
        fo.current_learning_rate(optax.adam(1e-3).init(params))
    two = optax.chain(fo.sgd(0.1), fo.sgd(0.2))
    with pytest.raises(ValueError, match=r"current_learning_rate: expected exactly one learning "
                                         r"rate in opt_state, found 2"):
        fo.current_learning_rate(two.init(params))
    with pytest.raises(ValueError, match=r"tree_map: tree structures differ at \['b'\]"):
        ro.sgd(0.1).update({"w": np.ones(2), "b": [np.ones(2)]}, {},
                           {"w": np.ones(2), "b": np.ones(2)})


# ------------------------------------------------------------------------------ script


def main() -> None:
    """Print the worst relative difference against optax / reference per optimizer."""
    jax.config.update("jax_enable_x64", True)
    print(f"worst relative difference over {STEPS} steps (updates, params and state vs "
          f"optax: elementwise |a-b|/(|a|+|b|); params vs reference: max|a-b| / max|b|)")
    print(f"{'optimizer':20s} {'optax f64':>10s} {'optax f32':>10s} {'ref f64':>10s} "
          f"{'ref f32':>10s}")
    for row in TABLE:
        worst = compare_row(row, seed=len(row.name))
        cells = [worst[against].get(dtype) for against in ("optax", "reference")
                 for dtype in ("float64", "float32")]
        print(f"{row.name:20s} " + " ".join("         -" if c is None else f"{c:10.2e}"
                                             for c in cells))


if __name__ == "__main__":
    main()


def test_a_constant_rate_update_records_its_own_rate_not_the_states():
    params = {"w": jnp.ones(3)}
    updates, state = fo.sgd(0.1).update({"w": jnp.ones(3)}, fo.sgd(0.5).init(params))
    np.testing.assert_allclose(updates["w"], -0.1)
    assert float(fo.current_learning_rate(state)) == 0.1
