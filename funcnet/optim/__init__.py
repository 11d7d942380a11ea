"""funcnet.optim: optimizers as optax gradient transformations, and learning-rate schedules.

Every optimizer is an ``optax.GradientTransformation`` (``init(params) -> opt_state``,
``update(grads, opt_state, params=None) -> (updates, opt_state)``) built by chaining
small transforms; each one composes with optax's in ``optax.chain`` in either order and
gives the same numbers as its optax namesake. The state is a tuple of NamedTuples of
arrays with the step count as an int32 scalar, so the whole step compiles with
``jax.jit`` and runs under ``lax.scan``.

A training step::

    opt = funcnet.optim.adam(funcnet.optim.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000))
    opt_state = opt.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return funcnet.optim.apply_updates(params, updates), opt_state

    lr = funcnet.optim.current_learning_rate(opt_state)   # for logging
"""

from funcnet.optim import schedules, transforms
from funcnet.optim._trees import apply_updates
from funcnet.optim.alias import adam, adamw, momentum, rmsprop, sgd
from funcnet.optim.clipping import clip, clip_by_global_norm, global_norm
from funcnet.optim.learning_rate import current_learning_rate
from funcnet.optim.schedules import (
    constant_schedule,
    cosine_decay_schedule,
    exponential_decay,
    join_schedules,
    linear_schedule,
    step_decay_schedule,
    warmup_cosine_decay_schedule,
)
from funcnet.optim.transforms import (
    ScaleByAdamState,
    ScaleByLearningRateState,
    ScaleByRmsState,
    TraceState,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    trace,
)
from funcnet.optim.weight_decay import add_decayed_weights

__all__ = [
    "ScaleByAdamState",
    "ScaleByLearningRateState",
    "ScaleByRmsState",
    "TraceState",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "clip",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "current_learning_rate",
    "exponential_decay",
    "global_norm",
    "join_schedules",
    "linear_schedule",
    "momentum",
    "rmsprop",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "schedules",
    "sgd",
    "step_decay_schedule",
    "trace",
    "transforms",
    "warmup_cosine_decay_schedule",
]
