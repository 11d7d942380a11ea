"""Learning-rate schedules: functions of the step count ``t = 0, 1, 2, ...``.

A schedule maps an integer step count (a Python int, or an int array of any shape:
the values are computed elementwise) to a learning rate. Pass one as any optimizer's
``learning_rate``; the optimizer evaluates it at its int32 step count inside the
compiled update, so a changing rate never triggers a recompilation. Schedules follow
optax's conventions and can be passed to optax optimizers too.

==============================  =================================================================
schedule                        value at step t
==============================  =================================================================
constant_schedule               value
linear_schedule                 (1 - s) init + s end,  s = min(t, T) / T
step_decay_schedule             init / factor ** floor(t / decay_every)
exponential_decay               init * decay_rate ** (t / T)   (floor(t / T) if staircase)
cosine_decay_schedule           init ((1 - alpha) (1 + cos(pi min(t, T) / T)) / 2 + alpha)
warmup_cosine_decay_schedule    linear from init to peak for warmup_steps, then cosine to end
join_schedules                  schedules[i](t - boundaries[i-1]) between boundaries
==============================  =================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _checks
from funcnet.optim import _validate

Schedule = Callable[[jax.Array], jax.Array]


def _check_count(where: str, count) -> None:
    """Raise ValueError for a negative step count (checked when concrete; an optimizer's
    count inside jit is never negative). Nothing is clamped into range silently."""
    if _checks.is_concrete(count) and np.size(count):
        low = np.min(np.asarray(count))
        if low < 0:
            raise ValueError(
                f"{where}: the step count must be >= 0 (steps count from 0), got {low}"
            )


def _as_float(count):
    """The step count in the default float dtype: dividing an int32 count directly
    would give float32 even under ``jax_enable_x64``, and a large count times pi could
    overflow an int32."""
    return jnp.asarray(count, float)


def constant_schedule(value: float) -> Schedule:
    """The same rate at every step: ``lr(t) = value``.

    Args:
        value: the rate, finite and > 0.

    Examples:
        >>> constant_schedule(0.1)(jnp.arange(3))
        Array([0.1, 0.1, 0.1], dtype=float32)
    """
    value = _validate.positive("constant_schedule", "value", value)

    def schedule(count):
        _check_count("constant_schedule", count)
        return jnp.full(jnp.shape(count), value, dtype=float)

    return schedule


def linear_schedule(init_value: float, end_value: float, transition_steps: int) -> Schedule:
    """Straight line from ``init_value`` to ``end_value`` over ``transition_steps``, then flat.

    ``lr(t) = (1 - s) init + s end`` with ``s = min(t, T) / T`` and ``T =
    transition_steps``: exactly ``init`` at 0 and ``end`` from ``T`` on.

    Args:
        init_value: rate at step 0, finite and >= 0 (0 is the usual warm-up start).
        end_value: rate from step ``T`` on, finite and >= 0.
        transition_steps: ``T``, a positive int.

    Examples:
        >>> linear_schedule(0.0, 1.0, 4)(jnp.arange(6))
        Array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    where = "linear_schedule"
    init_value = _validate.non_negative(where, "init_value", init_value)
    end_value = _validate.non_negative(where, "end_value", end_value)
    transition_steps = _validate.positive_int(where, "transition_steps", transition_steps)
    low, high = min(init_value, end_value), max(init_value, end_value)

    def schedule(count):
        _check_count(where, count)
        s = jnp.clip(_as_float(count), 0, transition_steps) / transition_steps
        # The line never leaves [low, high], but compiled code may turn / T into
        # * (1 / T) and fuse multiply-adds, overshooting by an ulp: at end_value 0 that
        # would be a negative rate. Clamping removes only that rounding.
        return jnp.clip((1 - s) * init_value + s * end_value, low, high)

    return schedule


def step_decay_schedule(init_value: float, decay_every: int, factor: float = 10.0) -> Schedule:
    """Divide the rate by ``factor`` every ``decay_every`` steps (lesson 004's step decay).

    ``lr(t) = init_value / factor ** floor(t / decay_every)``.

    Args:
        init_value: rate for the first ``decay_every`` steps, finite and > 0.
        decay_every: steps between divisions, a positive int.
        factor: divisor, finite and > 0 (10: "divide by 10 every N epochs").

    Examples:
        >>> step_decay_schedule(1.0, decay_every=2, factor=10.0)(jnp.arange(6))
        Array([1.  , 1.  , 0.1 , 0.1 , 0.01, 0.01], dtype=float32)
    """
    where = "step_decay_schedule"
    init_value = _validate.positive(where, "init_value", init_value)
    decay_every = _validate.positive_int(where, "decay_every", decay_every)
    factor = _validate.positive(where, "factor", factor)

    def schedule(count):
        _check_count(where, count)
        return init_value / factor ** jnp.floor_divide(count, decay_every)

    return schedule


def exponential_decay(init_value: float, transition_steps: int, decay_rate: float,
                      staircase: bool = False) -> Schedule:
    """Multiply the rate by ``decay_rate`` every ``transition_steps`` steps, smoothly.

    ``lr(t) = init_value * decay_rate ** (t / T)``; with ``staircase=True`` the exponent
    is ``floor(t / T)``, which is :func:`step_decay_schedule` with ``factor = 1 /
    decay_rate``.

    Args:
        init_value: rate at step 0, finite and > 0.
        transition_steps: ``T``, a positive int.
        decay_rate: factor per ``T`` steps, in (0, 1].
        staircase: decay in whole steps of ``T``.

    Examples:
        >>> exponential_decay(1.0, transition_steps=1, decay_rate=0.5)(jnp.arange(3))
        Array([1.  , 0.5 , 0.25], dtype=float32)
    """
    where = "exponential_decay"
    init_value = _validate.positive(where, "init_value", init_value)
    transition_steps = _validate.positive_int(where, "transition_steps", transition_steps)
    decay_rate = _validate.decay_rate(where, "decay_rate", decay_rate)

    def schedule(count):
        _check_count(where, count)
        exponent = _as_float(count) / transition_steps
        if staircase:
            exponent = jnp.floor(exponent)
        return init_value * jnp.power(decay_rate, exponent)

    return schedule


def cosine_decay_schedule(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Half a cosine from ``init_value`` down to ``alpha * init_value`` over ``decay_steps``.

    ``lr(t) = init * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha)``.

    Args:
        init_value: rate at step 0, finite and > 0.
        decay_steps: ``T``, a positive int; the rate stays at ``alpha * init`` after.
        alpha: final rate as a fraction of ``init_value``, in [0, 1].

    Examples:
        >>> jnp.round(cosine_decay_schedule(1.0, decay_steps=2)(jnp.arange(4)), 6)
        Array([1. , 0.5, 0. , 0. ], dtype=float32)
    """
    where = "cosine_decay_schedule"
    init_value = _validate.positive(where, "init_value", init_value)
    decay_steps = _validate.positive_int(where, "decay_steps", decay_steps)
    alpha = _validate.unit_interval(where, "alpha", alpha, closed_right=True)

    def schedule(count):
        _check_count(where, count)
        t = jnp.minimum(_as_float(count), decay_steps)
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * t / decay_steps))
        return init_value * ((1 - alpha) * cosine + alpha)

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]``, and so on.

    Each schedule counts from 0 at its own start: between ``boundaries[i-1]`` and
    ``boundaries[i]`` the rate is ``schedules[i](t - boundaries[i-1])``, as in
    ``optax.join_schedules``.

    Args:
        schedules: n >= 1 schedules.
        boundaries: n - 1 strictly increasing positive ints, the steps where the next
            schedule takes over.

    Examples:
        >>> warm = linear_schedule(0.0, 1.0, 2)
        >>> join_schedules([warm, step_decay_schedule(1.0, 2, 2.0)], [2])(jnp.arange(6))
        Array([0. , 0.5, 1. , 1. , 0.5, 0.5], dtype=float32)
    """
    where = "join_schedules"
    schedules = list(schedules)
    boundaries = [_validate.positive_int(where, "boundaries", b) for b in boundaries]
    if not schedules or len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"{where}: boundaries must have one entry fewer than schedules, got "
            f"{len(schedules)} schedules and {len(boundaries)} boundaries"
        )
    if any(b <= a for a, b in zip(boundaries[:-1], boundaries[1:], strict=True)):
        raise ValueError(f"{where}: boundaries must be strictly increasing, got {boundaries}")
    for i, s in enumerate(schedules):
        if not callable(s):
            raise TypeError(f"{where}: schedules[{i}] must be callable, got {type(s).__name__}")

    def schedule(count):
        _check_count(where, count)
        value = schedules[0](count)
        for boundary, later in zip(boundaries, schedules[1:], strict=True):
            # later's own count is clamped at 0 only where count < boundary, where
            # jnp.where discards it: a schedule is never asked for a negative step.
            value = jnp.where(count < boundary, value,
                              later(jnp.maximum(count - boundary, 0)))
        return value

    return schedule


def warmup_cosine_decay_schedule(init_value: float, peak_value: float, warmup_steps: int,
                                 decay_steps: int, end_value: float = 0.0) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value``, then cosine decay to ``end_value``.

    The two pieces are joined with :func:`join_schedules` at ``warmup_steps``;
    ``decay_steps`` counts the whole schedule, warm-up included (optax's convention),
    so the rate reaches ``end_value`` at step ``decay_steps``.

    Args:
        init_value: rate at step 0, finite and >= 0.
        peak_value: rate at step ``warmup_steps``, finite and > 0.
        warmup_steps: length of the warm-up, a positive int.
        decay_steps: total length, an int > ``warmup_steps``.
        end_value: final rate, in [0, peak_value].

    Examples:
        >>> sched = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=4)
        >>> jnp.round(sched(jnp.arange(5)), 6)
        Array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    where = "warmup_cosine_decay_schedule"
    init_value = _validate.non_negative(where, "init_value", init_value)
    peak_value = _validate.positive(where, "peak_value", peak_value)
    warmup_steps = _validate.positive_int(where, "warmup_steps", warmup_steps)
    decay_steps = _validate.positive_int(where, "decay_steps", decay_steps)
    end_value = _validate.non_negative(where, "end_value", end_value)
    if decay_steps <= warmup_steps:
        raise ValueError(
            f"{where}: decay_steps counts the warm-up too, so it must be > warmup_steps "
            f"({warmup_steps}), got {decay_steps}"
        )
    if end_value > peak_value:
        raise ValueError(
            f"{where}: end_value must be <= peak_value ({peak_value}), got {end_value}"
        )
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            cosine_decay_schedule(peak_value, decay_steps - warmup_steps,
                                  alpha=end_value / peak_value),
        ],
        [warmup_steps],
    )
