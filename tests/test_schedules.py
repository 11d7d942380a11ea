"""funcnet.optim schedules against optax's schedules and against their written formulas."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcnet.optim as fo

COUNTS = np.arange(1500)  # int64: optax's schedules keep float64 only for 64-bit counts

# funcnet schedule, optax schedule with the same meaning
PAIRS = {
    "constant": (fo.constant_schedule(0.3), optax.constant_schedule(0.3)),
    "linear_warmup": (fo.linear_schedule(0.0, 0.1, 100), optax.linear_schedule(0.0, 0.1, 100)),
    "linear_decay": (fo.linear_schedule(0.1, 1e-3, 500), optax.linear_schedule(0.1, 1e-3, 500)),
    "step_decay": (fo.step_decay_schedule(0.1, decay_every=300, factor=10.0),
                   optax.exponential_decay(0.1, 300, 0.1, staircase=True)),
    "exponential": (fo.exponential_decay(0.1, 100, 0.5), optax.exponential_decay(0.1, 100, 0.5)),
    "exponential_staircase": (fo.exponential_decay(0.1, 100, 0.5, staircase=True),
                              optax.exponential_decay(0.1, 100, 0.5, staircase=True)),
    "cosine": (fo.cosine_decay_schedule(0.1, 1000, alpha=0.01),
               optax.cosine_decay_schedule(0.1, 1000, alpha=0.01)),
    "cosine_to_zero": (fo.cosine_decay_schedule(0.1, 1000), optax.cosine_decay_schedule(0.1, 1000)),
    "warmup_cosine": (fo.warmup_cosine_decay_schedule(0.0, 0.1, 100, 1000, end_value=1e-3),
                      optax.warmup_cosine_decay_schedule(0.0, 0.1, 100, 1000, end_value=1e-3)),
    "join": (fo.join_schedules([fo.constant_schedule(0.05), fo.exponential_decay(0.05, 50, 0.9),
                                fo.linear_schedule(0.01, 0.0, 100)], [200, 700]),
             optax.join_schedules([optax.constant_schedule(0.05),
                                   optax.exponential_decay(0.05, 50, 0.9),
                                   optax.linear_schedule(0.01, 0.0, 100)], [200, 700])),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_matches_optax(name):
    ours, theirs = PAIRS[name]
    expected = np.broadcast_to(np.asarray(theirs(jnp.asarray(COUNTS))), COUNTS.shape)
    np.testing.assert_allclose(ours(COUNTS), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(PAIRS))
def test_same_values_for_every_kind_of_count(name):
    schedule, _ = PAIRS[name]
    expected = np.asarray(schedule(COUNTS))
    assert expected.dtype == np.float64
    # the optimizer's int32 count, inside jit, keeps float64 accuracy (float32 would be
    # off by ~1e-8; jit may fuse and round the last bits differently from eager)
    counts32 = jnp.asarray(COUNTS, jnp.int32)
    np.testing.assert_allclose(jax.jit(schedule)(counts32), expected, rtol=1e-13)
    np.testing.assert_allclose(schedule(counts32), expected, rtol=1e-13)
    # a Python int gives a scalar
    for t in (0, 1, 299, 300, 1499):
        value = schedule(t)
        assert jnp.shape(value) == ()
        np.testing.assert_allclose(value, expected[t], rtol=1e-15)


def test_step_decay_divides_by_factor_every_n_steps():
    # lesson 004: "divide by 10 every N epochs"
    schedule = fo.step_decay_schedule(0.1, decay_every=30, factor=10.0)
    written = [0.1 / 10.0 ** (t // 30) for t in range(120)]
    np.testing.assert_allclose(schedule(np.arange(120)), written, rtol=1e-15)
    np.testing.assert_allclose(
        schedule(np.arange(120)),
        optax.piecewise_constant_schedule(0.1, {30: 0.1, 60: 0.1, 90: 0.1})(np.arange(120)),
        rtol=1e-12)


@given(init=st.floats(1e-5, 1.0), decay_every=st.integers(1, 40),
       factor=st.floats(1.0, 100.0))
def test_step_decay_is_exponential_staircase(init, decay_every, factor):
    counts = np.arange(200)  # one shape for every example: eager ops compile once
    ours = fo.step_decay_schedule(init, decay_every, factor)(counts)
    theirs = optax.exponential_decay(init, decay_every, 1 / factor, staircase=True)(counts)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert np.all(np.diff(ours) <= 0)


@given(init=st.floats(0.0, 0.01, allow_subnormal=False), peak=st.floats(0.01, 1.0),
       warmup=st.integers(1, 50), decay=st.integers(1, 200),
       end_fraction=st.floats(0.0, 1.0, allow_subnormal=False))
def test_warmup_cosine_properties_and_optax(init, peak, warmup, decay, end_fraction):
    # (XLA on CPU flushes subnormals to zero, so they are not drawn)
    end = peak * end_fraction
    total = warmup + decay
    ours = fo.warmup_cosine_decay_schedule(init, peak, warmup, total, end_value=end)
    counts = np.arange(260)  # one shape for every example: eager ops compile once
    values = np.asarray(ours(counts))
    theirs = optax.warmup_cosine_decay_schedule(init, peak, warmup, total, end_value=end)
    # optax's warm-up, (init - peak)(1 - t/W) + peak, cancels to within an ulp of the
    # peak, so the two agree to 1e-12 of each value or 1e-15 of the peak
    np.testing.assert_allclose(values, theirs(counts), rtol=1e-12, atol=1e-15 * peak)
    assert values[0] == init
    np.testing.assert_allclose(values[warmup], peak, rtol=1e-15)
    np.testing.assert_allclose(values[total:], end, rtol=1e-12, atol=1e-300)
    wiggle = 1e-15 * peak  # rounding of a flat stretch (init == peak, end == peak)
    assert np.all(np.diff(values[: warmup + 1]) >= -wiggle)  # warm-up rises to the peak
    assert np.all(np.diff(values[warmup:]) <= wiggle)  # then never rises


def test_cosine_matches_its_written_formula():
    init, steps, alpha = 0.1, 400, 0.05
    written = [init * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(t, steps) / steps))
                       + alpha) for t in range(600)]
    np.testing.assert_allclose(fo.cosine_decay_schedule(init, steps, alpha)(np.arange(600)),
                               written, rtol=1e-12)


def test_exponential_matches_its_written_formula():
    schedule = fo.exponential_decay(0.2, transition_steps=25, decay_rate=0.7)
    written = [0.2 * 0.7 ** (t / 25) for t in range(200)]
    np.testing.assert_allclose(schedule(np.arange(200)), written, rtol=1e-13)


def test_join_restarts_each_piece_at_its_boundary():
    up, down = fo.linear_schedule(0.0, 1.0, 10), fo.linear_schedule(1.0, 0.0, 10)
    triangle = fo.join_schedules([up, down], [10])
    written = [t / 10 if t < 10 else max(0.0, 1 - (t - 10) / 10) for t in range(25)]
    np.testing.assert_allclose(triangle(np.arange(25)), written, rtol=1e-15, atol=1e-300)
    # joins nest: a join is a schedule like any other
    nested = fo.join_schedules([triangle, fo.constant_schedule(0.5)], [20])
    np.testing.assert_allclose(nested(np.arange(25)), written[:20] + [0.5] * 5, rtol=1e-15)


def test_schedule_drives_an_optimizer_through_its_state():
    schedule = fo.step_decay_schedule(1.0, decay_every=2, factor=2.0)
    opt = fo.sgd(schedule)
    params = {"w": jnp.ones(3)}
    opt_state = opt.init(params)
    step = jax.jit(opt.update)
    for t in range(6):
        updates, opt_state = step({"w": jnp.ones(3)}, opt_state)
        np.testing.assert_allclose(updates["w"], -(0.5 ** (t // 2)), rtol=1e-15)
        assert float(fo.current_learning_rate(opt_state)) == 0.5 ** (t // 2)
    assert step._cache_size() == 1


BAD_SCHEDULES = [
    (lambda: fo.constant_schedule(0.0), ValueError,
     r"constant_schedule: value must be finite and > 0, got 0\.0"),
    (lambda: fo.constant_schedule(float("inf")), ValueError,
     r"constant_schedule: value must be finite and > 0"),
    (lambda: fo.linear_schedule(-0.1, 0.0, 10), ValueError,
     r"linear_schedule: init_value must be finite and >= 0"),
    (lambda: fo.linear_schedule(0.0, float("nan"), 10), ValueError,
     r"linear_schedule: end_value must be finite and >= 0"),
    (lambda: fo.linear_schedule(0.0, 0.1, 0), ValueError,
     r"linear_schedule: transition_steps must be a positive integer, got 0"),
    (lambda: fo.step_decay_schedule(-0.1, 10), ValueError,
     r"step_decay_schedule: init_value must be finite and > 0"),
    (lambda: fo.step_decay_schedule(0.1, 2.5), ValueError,
     r"step_decay_schedule: decay_every must be a positive integer, got 2\.5"),
    (lambda: fo.step_decay_schedule(0.1, 10, factor=0.0), ValueError,
     r"step_decay_schedule: factor must be finite and > 0"),
    (lambda: fo.exponential_decay(0.0, 10, 0.5), ValueError,
     r"exponential_decay: init_value must be finite and > 0"),
    (lambda: fo.exponential_decay(0.1, 10, 1.5), ValueError,
     r"exponential_decay: decay_rate must be in \(0, 1\], got 1\.5"),
    (lambda: fo.exponential_decay(0.1, 10, 0.0), ValueError,
     r"exponential_decay: decay_rate must be in \(0, 1\]"),
    (lambda: fo.exponential_decay(0.1, -5, 0.5), ValueError,
     r"exponential_decay: transition_steps must be a positive integer"),
    (lambda: fo.cosine_decay_schedule(0.1, 0), ValueError,
     r"cosine_decay_schedule: decay_steps must be a positive integer"),
    (lambda: fo.cosine_decay_schedule(0.1, 100, alpha=1.5), ValueError,
     r"cosine_decay_schedule: alpha must be in \[0, 1\]"),
    (lambda: fo.cosine_decay_schedule(-1.0, 100), ValueError,
     r"cosine_decay_schedule: init_value must be finite and > 0"),
    (lambda: fo.warmup_cosine_decay_schedule(0.0, 0.0, 10, 100), ValueError,
     r"warmup_cosine_decay_schedule: peak_value must be finite and > 0"),
    (lambda: fo.warmup_cosine_decay_schedule(-1.0, 0.1, 10, 100), ValueError,
     r"warmup_cosine_decay_schedule: init_value must be finite and >= 0"),
    (lambda: fo.warmup_cosine_decay_schedule(0.0, 0.1, 100, 100), ValueError,
     r"warmup_cosine_decay_schedule: decay_steps counts the warm-up too"),
    (lambda: fo.warmup_cosine_decay_schedule(0.0, 0.1, 10, 100, end_value=0.2), ValueError,
     r"warmup_cosine_decay_schedule: end_value must be <= peak_value"),
    (lambda: fo.warmup_cosine_decay_schedule(0.0, 0.1, 0, 100), ValueError,
     r"warmup_cosine_decay_schedule: warmup_steps must be a positive integer"),
    (lambda: fo.join_schedules([fo.constant_schedule(0.1)] * 2, []), ValueError,
     r"join_schedules: boundaries must have one entry fewer than schedules, got 2 schedules "
     r"and 0 boundaries"),
    (lambda: fo.join_schedules([], []), ValueError,
     r"join_schedules: boundaries must have one entry fewer than schedules"),
    (lambda: fo.join_schedules([fo.constant_schedule(0.1)] * 3, [20, 10]), ValueError,
     r"join_schedules: boundaries must be strictly increasing, got \[20, 10\]"),
    (lambda: fo.join_schedules([fo.constant_schedule(0.1)] * 2, [0]), ValueError,
     r"join_schedules: boundaries must be a positive integer, got 0"),
    (lambda: fo.join_schedules([fo.constant_schedule(0.1), 0.1], [5]), TypeError,
     r"join_schedules: schedules\[1\] must be callable, got float"),
]


@pytest.mark.parametrize("build,error,match", BAD_SCHEDULES)
def test_invalid_schedule_arguments_raise_naming_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()
