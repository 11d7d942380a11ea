"""The optimizers: ``optax.chain`` s of the small transforms in ``funcnet.optim``.

Each returns an ``optax.GradientTransformation`` whose state is a tuple with one entry
per transform, the learning-rate state last. A training step is::

    updates, opt_state = opt.update(grads, opt_state, params)
    params = apply_updates(params, updates)

``learning_rate`` is a float > 0 or a schedule (``funcnet.optim.schedules``); the
value in use is in the state, read with ``current_learning_rate(opt_state)``: a
``ScaleByLearningRateState`` (step count and last rate, scalar arrays) for a float and a
schedule alike.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from funcnet.optim import _validate
from funcnet.optim.transforms import (
    Schedule,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    trace,
)
from funcnet.optim.weight_decay import add_decayed_weights


def _chain(where: str, *transforms, maximize: bool = False) -> optax.GradientTransformation:
    """``optax.chain`` whose ``update`` first checks ``opt_state`` is this chain's state,
    and with ``maximize`` negates the gradients before any transform sees them."""
    if not isinstance(maximize, bool):
        raise TypeError(f"{where}: maximize must be True or False, got {maximize!r}")
    chained = optax.chain(*transforms)
    n = len(transforms)

    def update(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or hasattr(state, "_fields") or len(state) != n:
            got = (f"a tuple of {len(state)}" if isinstance(state, tuple)
                   and not hasattr(state, "_fields") else f"a {type(state).__name__}")
            raise ValueError(
                f"{where}: opt_state must be the state made by this optimizer's "
                f"init(params), a tuple of {n} transform state(s), got {got}; was it made "
                f"by another optimizer?"
            )
        if maximize:
            # Ascent on f is descent on -f: negating first (not flipping the final step)
            # keeps weight decay shrinking the weights, as PyTorch's maximize does.
            updates = jax.tree.map(jnp.negative, updates)
        return chained.update(updates, state, params, **extra_args)

    return chained._replace(update=update)


def sgd(learning_rate: float | Schedule, *, maximize: bool = False
        ) -> optax.GradientTransformation:
    """Plain gradient descent: ``p <- p - lr_t g``.

    Args:
        learning_rate: a float > 0 or a schedule.
        maximize: climb the objective instead (gradient ascent, ``p <- p + lr_t g``).
            The learning rate stays > 0: ascent is asked for here, never by a sign.

    Returns:
        An ``optax.GradientTransformation``; state ``(ScaleByLearningRateState,)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from funcnet.optim import apply_updates
        >>> opt = sgd(0.1)
        >>> params = {"x": jnp.array([-2.0])}
        >>> grads = {"x": 2 * (params["x"] - 1)}          # f(x) = (x - 1)^2
        >>> updates, opt_state = opt.update(grads, opt.init(params))
        >>> apply_updates(params, updates)
        {'x': Array([-1.4], dtype=float32)}
    """
    learning_rate = _validate.learning_rate("sgd", learning_rate)
    return _chain("sgd", scale_by_learning_rate(learning_rate), maximize=maximize)


def momentum(learning_rate: float | Schedule, beta: float = 0.9, nesterov: bool = False,
             dampening: float = 0.0, *, maximize: bool = False
             ) -> optax.GradientTransformation:
    """Gradient descent with momentum, heavy-ball or Nesterov; ``optax.sgd(lr, momentum=beta)``.

    With ``v_0 = 0`` and ``d = dampening``::

        v_t = beta v_{t-1} + (1 - d) g_t
        p  <- p - lr_t v_t                        (heavy ball)
        p  <- p - lr_t ((1 - d) g_t + beta v_t)   (nesterov=True)

    The seeds' ``MomentumOptimizer`` (lesson 000) keeps the learning rate inside the
    velocity instead: ``v = beta v + lr g;  p <- p - v``. Unrolled, that velocity is
    ``sum_k beta^(t-k) lr_k g_k`` against ``lr_t sum_k beta^(t-k) g_k`` here, so the two
    agree exactly while the learning rate is constant and differ under a schedule
    (here a new rate acts on the whole velocity at once, there only on new gradients).

    ``dampening = beta`` gives lesson 003's moving average ``v = beta v + (1 - beta) g``,
    ``W <- W - alpha v``: the same direction with a step ``1 - beta`` times smaller.
    Unlike PyTorch's ``dampening``, it applies from the first step on.

    Args:
        learning_rate: a float > 0 or a schedule.
        beta: momentum coefficient in [0, 1); 0 gives :func:`sgd`.
        nesterov: use Nesterov's look-ahead update.
        dampening: fraction of each gradient held out of the velocity, in [0, 1).
        maximize: gradient ascent, as in :func:`sgd` (the gradients are negated first).

    Returns:
        An ``optax.GradientTransformation``; state ``(TraceState,
        ScaleByLearningRateState)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from funcnet.optim import apply_updates
        >>> opt = momentum(0.1, beta=0.9)
        >>> params = {"x": jnp.array([-2.0])}
        >>> opt_state = opt.init(params)
        >>> for _ in range(2):
        ...     grads = {"x": 2 * (params["x"] - 1)}
        ...     updates, opt_state = opt.update(grads, opt_state)
        ...     params = apply_updates(params, updates)
        >>> params  # -2 + 0.6, then + 0.48 + 0.9 * 0.6
        {'x': Array([-0.38], dtype=float32)}
    """
    where = "momentum"
    learning_rate = _validate.learning_rate(where, learning_rate)
    beta, nesterov, dampening = _validate.check_trace_args(where, beta, nesterov, dampening)
    return _chain(
        where,
        trace(beta, nesterov=nesterov, dampening=dampening),
        scale_by_learning_rate(learning_rate),
        maximize=maximize,
    )


def rmsprop(learning_rate: float | Schedule, decay: float = 0.9, eps: float = 1e-8, *,
            maximize: bool = False) -> optax.GradientTransformation:
    """RMSprop, as ``optax.rmsprop`` with its defaults (eps inside the root, no bias correction).

    With ``nu_0 = 0``::

        nu_t = decay nu_{t-1} + (1 - decay) g_t^2
        p   <- p - lr_t g_t / sqrt(nu_t + eps)

    Args:
        learning_rate: a float > 0 or a schedule.
        decay: decay rate of the running mean of ``g**2``, in [0, 1).
        eps: > 0, added to ``nu`` inside the square root.
        maximize: gradient ascent, as in :func:`sgd` (the gradients are negated first).

    Returns:
        An ``optax.GradientTransformation``; state ``(ScaleByRmsState,
        ScaleByLearningRateState)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = rmsprop(0.01)
        >>> params = {"w": jnp.zeros(3)}
        >>> updates, opt_state = opt.update({"w": jnp.ones(3)}, opt.init(params))
        >>> jnp.round(updates["w"], 5)  # -0.01 / sqrt(0.1 + 1e-8)
        Array([-0.03162, -0.03162, -0.03162], dtype=float32)
    """
    where = "rmsprop"
    learning_rate = _validate.learning_rate(where, learning_rate)
    decay, eps = _validate.check_rms_args(where, decay, eps)
    return _chain(where, scale_by_rms(decay, eps), scale_by_learning_rate(learning_rate),
                  maximize=maximize)


def adam(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8, eps_root: float = 0.0, *, maximize: bool = False
         ) -> optax.GradientTransformation:
    """Adam, as ``optax.adam`` and the seeds' ``AdamOptimizer`` (lesson 000).

    With ``t`` counting from 1 and ``m_0 = v_0 = 0``::

        m_t = b1 m_{t-1} + (1 - b1) g_t
        v_t = b2 v_{t-1} + (1 - b2) g_t^2
        m_hat = m_t / (1 - b1^t);   v_hat = v_t / (1 - b2^t)
        p  <- p - lr_t m_hat / (sqrt(v_hat + eps_root) + eps)

    Args:
        learning_rate: a float > 0 or a schedule.
        b1: decay rate of the first moment, in [0, 1).
        b2: decay rate of the second moment, in [0, 1).
        eps: > 0, added outside the square root.
        eps_root: >= 0, added inside the square root.
        maximize: gradient ascent, as in :func:`sgd` (the gradients are negated first).

    All four are checked as float32 uses them: ``b1 = 1 - 1e-10`` (1.0 there) or
    ``eps = 1e-50`` (0 there) is refused.

    Returns:
        An ``optax.GradientTransformation``; state ``(ScaleByAdamState,
        ScaleByLearningRateState)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from funcnet.optim import current_learning_rate
        >>> opt = adam(1e-3)
        >>> params = {"w": jnp.zeros(2)}
        >>> opt_state = opt.init(params)
        >>> updates, opt_state = opt.update({"w": jnp.array([0.5, -2.0])}, opt_state)
        >>> jnp.round(updates["w"], 6)  # the first step is -lr * sign(g)
        Array([-0.001,  0.001], dtype=float32)
        >>> int(opt_state[0].count), round(float(current_learning_rate(opt_state)), 6)
        (1, 0.001)
    """
    where = "adam"
    learning_rate = _validate.learning_rate(where, learning_rate)
    b1, b2, eps, eps_root = _validate.check_adam_args(where, b1, b2, eps, eps_root)
    return _chain(where, scale_by_adam(b1, b2, eps, eps_root),
                  scale_by_learning_rate(learning_rate), maximize=maximize)


def adamw(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999,
          eps: float = 1e-8, eps_root: float = 0.0, weight_decay: float = 1e-4,
          mask=None, *, maximize: bool = False) -> optax.GradientTransformation:
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``optax.adamw``.

    With ``m_hat``, ``v_hat`` as in :func:`adam` and ``lambda = weight_decay``::

        p <- p - lr_t (m_hat / (sqrt(v_hat + eps_root) + eps) + lambda p)

    The decay is multiplied by the learning rate, as in optax and PyTorch.

    Args:
        learning_rate: a float > 0 or a schedule.
        b1, b2, eps, eps_root: as in :func:`adam`.
        weight_decay: finite, >= 0.
        mask: which leaves to decay: ``None`` (all), a pytree of bools with the
            structure of ``params`` (or a prefix of it), or a function returning one
            from ``params``. The Adam scaling applies to every leaf regardless.
        maximize: gradient ascent, as in :func:`sgd`; the gradients are negated before
            Adam, so the decay still pulls the weights towards 0.

    Returns:
        An ``optax.GradientTransformation``; state ``(ScaleByAdamState, EmptyState,
        ScaleByLearningRateState)``. Its ``update`` needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> no_bias_decay = lambda params: {"w": True, "b": False}
        >>> opt = adamw(1e-3, weight_decay=1e-2, mask=no_bias_decay)
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
        >>> grads = {"w": jnp.ones(2), "b": jnp.ones(2)}
        >>> updates, opt_state = opt.update(grads, opt.init(params), params)
        >>> jnp.round(updates["w"], 6), jnp.round(updates["b"], 6)  # -lr (1 + 0.01 w); -lr
        (Array([-0.00101, -0.00101], dtype=float32), Array([-0.001, -0.001], dtype=float32))
    """
    where = "adamw"
    learning_rate = _validate.learning_rate(where, learning_rate)
    b1, b2, eps, eps_root = _validate.check_adam_args(where, b1, b2, eps, eps_root)
    weight_decay = _validate.non_negative(where, "weight_decay", weight_decay)
    return _chain(
        where,
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
        maximize=maximize,
    )
