"""The compiled update step shared by every training path.

``make_step`` returns one ``jax.jit``-compiled pure function
``(params, state, opt_state, batch, key) -> (params, state, opt_state, metrics)``.
``batch`` is ``(x, y)`` or ``(x, y, mask)``: ``mask`` is an ``(B,)`` float vector of
sample weights, 1 for real samples and 0 for padding, so a last partial batch padded
to the full batch size trains exactly as the unpadded batch would (the loss is the
mask-weighted mean) and never triggers a second compilation.

The same body (:func:`make_update`) runs inside ``lax.scan`` for a whole epoch
(``funcnet.train.epochs``); the guard it applies lives in ``funcnet.train.guard``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from funcnet import _checks, _compile, diagnostics, losses
from funcnet.train import metrics
from funcnet.train.guard import all_finite, finite_by_sum, skip_unless


class StepMetrics(NamedTuple):
    """What one step reports; sums, so batches of any size combine exactly.

    Attributes:
        loss_sum: sum of per-sample losses over real samples.
        correct: number of correctly classified real samples (0 when not classifying).
        count: number of real samples (the sum of the mask).
        finite: with the guard on, whether the loss, every gradient and everything the
            step would keep (new params, state and optimizer state) were finite (if
            not, the step was skipped and params, state and opt_state are returned
            unchanged); with ``make_update(..., skip=False)``, whether the loss and
            every gradient were (nothing is skipped); ``None`` with the guard off,
            which computes no flag.
        health: with ``record=diagnostics.Health(...)``, the step's record (a dict of
            small arrays, :meth:`~funcnet.diagnostics.Health.measure`); else ``None``.
    """

    loss_sum: jax.Array
    correct: jax.Array
    count: jax.Array
    finite: jax.Array | None
    health: dict | None = None


def _split_batch(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise TypeError(
            f"step: batch must be a tuple (x, y) or (x, y, mask), got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    x, y = batch[:2]
    _checks.min_rank("step", "batch x", x, 1, "(batch, ...)")
    _checks.same_length("step", "batch x", x, "batch y", y)
    if len(batch) == 2:
        return x, y, jnp.ones((jnp.shape(x)[0],), jnp.float32)
    mask = batch[2]
    # a (B, 1) mask would broadcast a (B,) per-sample loss into (B, B)
    if jnp.shape(mask) != jnp.shape(x)[:1]:
        raise ValueError(
            f"step: batch mask must be a vector of one weight per sample, shape "
            f"{tuple(jnp.shape(x)[:1])} (x is {tuple(jnp.shape(x))}), got shape "
            f"{tuple(jnp.shape(mask))}")
    if jnp.issubdtype(_checks.dtype_of(mask), jnp.complexfloating):
        raise TypeError(f"step: batch mask must hold real sample weights, got dtype "
                        f"{_checks.dtype_of(mask)}")
    return x, y, mask


def loss_and_grads(model, loss_fn, layer_outputs: bool = False):
    """``(params, state, x, y, mask, key) -> ((loss, (new_state, outputs, count,
    layers)), grads)``.

    The loss is the mask-weighted mean of ``loss_fn(outputs, y, reduction="none")``.
    ``layers`` is every layer's output of this same forward pass
    (``diagnostics.reported_layers`` order) with ``layer_outputs``, else ``None``.
    """
    apply = (diagnostics.apply_reporting_outputs("fit", model) if layer_outputs
             else lambda *args, **kw: (*model.apply(*args, **kw), None))

    def objective(params, state, x, y, mask, key):
        outputs, new_state, layers = apply(params, state, x, train=True, key=key)
        count = jnp.sum(mask)
        # max(count, 1): a batch is never all padding, but keep the division safe.
        loss_value = metrics.masked_loss_sum(loss_fn, outputs, y, mask) / jnp.maximum(count, 1)
        return loss_value, (new_state, outputs, count, layers)

    return jax.value_and_grad(objective, has_aux=True)


def make_update(model, loss, optimizer, accuracy="auto", guard: bool = True,
                record=None, skip: bool = True):
    """The uncompiled update body:
    ``(params, state, opt_state, x, y, mask, key, active=True) -> ...``.

    Returns ``(params, state, opt_state, StepMetrics, grads)``. With ``guard`` on, a
    step whose loss, gradients, new params, new state or new optimizer state are not
    finite, or that runs with ``active=False``,
    leaves params, state and opt_state unchanged and reports ``finite=False``; with it
    off nothing is checked and ``finite`` is ``None``. With ``guard`` on and
    ``skip=False`` the step only reports: ``finite`` covers the loss and the gradients,
    and the update is always applied (``active`` is ignored). ``fit``'s epochs run that
    way and check what the updates made once, at the end of the epoch
    (``funcnet.train.fit`` says why and what happens when the check fails). With
    ``record`` (a ``diagnostics.Health``) this is the recorded step: its metrics carry
    the record, computed in the same compiled step from the same forward pass. The
    epochs run it on the steps the record measures and the plain body
    (``record=None``) on the others, so a step off the record costs exactly a plain
    one.
    """
    loss_fn = losses.get(loss)
    correct_fn = metrics.resolve(loss_fn, accuracy)
    recording = record is not None
    value_and_grads = loss_and_grads(model, loss_fn, layer_outputs=recording)

    def update(params, state, opt_state, x, y, mask, key, active=True):
        (loss_value, (new_state, outputs, count, layers)), grads = value_and_grads(
            params, state, x, y, mask, key)
        correct = metrics.masked_correct(correct_fn, outputs, y, mask)

        def apply():
            updates, new_opt_state = optimizer.update(grads, opt_state, params)
            # only the updates' norms leave the step, and only when recorded
            norms = record.update_norms(updates) if recording else None
            return optax.apply_updates(params, updates), new_state, new_opt_state, norms

        if guard and not skip:
            # the loss and gradients only: what the update makes is checked by the caller
            ok = finite_by_sum(loss_value, grads)
            new_params, new_state, new_opt_state, norms = apply()
        elif guard:
            # The flag covers what the step would keep, not only what it starts from: a
            # finite gradient can still become a NaN update (a schedule gone NaN, an
            # overflowing moment), and the last finite params must never be replaced.
            # Those outputs feed only the flag here: XLA fuses their elementwise
            # recomputation into its reductions, and the update kept below still runs in
            # place inside the skip (benchmarks/step_cost.py measures the difference).
            would_keep = apply()[:3]
            ok = all_finite(loss_value, grads, *would_keep) & active

            def keep():
                # a skipped step is not recorded
                zeros = (jnp.zeros_like(record.update_norms(params)) if recording
                         else None)
                return params, state, opt_state, zeros

            new_params, new_state, new_opt_state, norms = skip_unless(ok, apply, keep)
        else:
            ok = None
            new_params, new_state, new_opt_state, norms = apply()
        health = (record.measure(model, layers, mask, grads, norms, new_params)
                  if recording else None)
        step_metrics = StepMetrics(loss_value * count, correct, count, ok, health)
        return new_params, new_state, new_opt_state, step_metrics, grads

    return update


def make_step(model, loss, optimizer, *, accuracy="auto", guard: bool = True,
              donate: bool = True):
    """One jit-compiled update step for ``model`` under ``loss`` and ``optimizer``.

    Args:
        model: a funcnet Layer (``model.apply(params, state, x, train=True, key=key)``).
        loss: a loss function taking ``reduction="none"``, or its name.
        optimizer: an ``optax.GradientTransformation`` (funcnet.optim or optax).
        accuracy: ``"auto"`` (picked from the loss), a function
            ``(outputs, targets) -> (N,)`` of 0/1, or ``None``.
        guard: skip (and report) steps whose loss, gradients or results (new params,
            state, optimizer state) are not finite.
        donate: donate params, state and opt_state buffers to the step (the caller
            must not reuse the arrays it passed in).

    Returns:
        ``step(params, state, opt_state, batch, key) -> (params, state, opt_state,
        metrics)`` where ``batch = (x, y)`` or ``(x, y, mask)`` and ``metrics`` is a dict
        with ``loss`` (mask-weighted mean), ``accuracy`` (or NaN when not
        classifying), ``count`` and, with the guard on, ``finite``.

    Examples:
        >>> model = Sequential([Dense(8), relu, Dense(3)])
        >>> params, state = model.init(jax.random.key(0), (4,))
        >>> tx = optim.adam(1e-2)
        >>> step = make_step(model, "softmax_cross_entropy_with_integer_labels", tx)
        >>> x, y = jnp.ones((5, 4)), jnp.array([0, 1, 2, 0, 1])
        >>> params, state, opt_state, m = step(params, state, tx.init(params), (x, y),
        ...                                    jax.random.key(1))
        >>> sorted(m), bool(m["finite"]), int(m["count"])
        (['accuracy', 'count', 'finite', 'loss'], True, 5)
    """
    update = make_update(model, loss, optimizer, accuracy, guard)
    has_accuracy = metrics.resolve(losses.get(loss), accuracy) is not None

    def step(params, state, opt_state, batch, key):
        _checks.prng_key("step", "key", key)
        x, y, mask = _split_batch(batch)
        params, state, opt_state, m, _ = update(params, state, opt_state, x, y, mask, key)
        count = jnp.maximum(m.count, 1)
        reported = {
            "loss": m.loss_sum / count,
            "accuracy": m.correct / count if has_accuracy else jnp.nan,
            "count": m.count,
        }
        if guard:
            reported["finite"] = m.finite
        return params, state, opt_state, reported

    return _compile.jit(step, donate_argnums=(0, 1, 2) if donate else ())
