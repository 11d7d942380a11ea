"""The compiled update step shared by every training path.

``make_step`` returns one ``jax.jit``-compiled pure function
``(params, state, opt_state, batch, key) -> (params, state, opt_state, metrics)``.
``batch`` is ``(x, y)`` or ``(x, y, mask)``: ``mask`` is an ``(B,)`` float vector of
sample weights, 1 for real samples and 0 for padding, so a last partial batch padded
to the full batch size trains exactly as the unpadded batch would (the loss is the
mask-weighted mean) and never triggers a second compilation.

The same body runs inside ``lax.scan`` for a whole epoch (``funcnet.fit``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from funcnet import _checks
from funcnet import losses as _losses
from funcnet import metrics as _metrics
from funcnet.core import spec_contains


class StepMetrics(NamedTuple):
    """What one step reports; sums, so batches of any size combine exactly.

    Attributes:
        loss_sum: sum of per-sample losses over real samples.
        correct: number of correctly classified real samples (0 when not classifying).
        count: number of real samples (the sum of the mask).
        finite: whether the loss and every gradient were finite (if not, the step
            was skipped and params, state and opt_state are returned unchanged).
            Which leaves were not is found afterwards (``make_leaf_check``), so the
            step itself reduces every gradient to this one flag.
        grad_norms: ``(L,)`` L2 norm of each leaf's gradient (``(0,)`` unless recording).
        update_ratios: ``(L,)`` ||update|| / ||param|| per leaf (``(0,)`` unless
            recording).
    """

    loss_sum: jax.Array
    correct: jax.Array
    count: jax.Array
    finite: jax.Array
    grad_norms: jax.Array
    update_ratios: jax.Array


def _split_batch(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise TypeError(
            f"step: batch must be a tuple (x, y) or (x, y, mask), got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    if len(batch) == 2:
        x, y = batch
        return x, y, jnp.ones((jnp.shape(x)[0],), jnp.float32)
    return tuple(batch)


def _leaf_norms(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return jnp.zeros((0,), jnp.float32)
    # at least float32, so bf16 leaves do not square-and-sum in 8 bits of mantissa
    return jnp.stack([jnp.sqrt(jnp.sum(jnp.square(
        leaf.astype(jnp.promote_types(leaf.dtype, jnp.float32))))) for leaf in leaves])


def _leaf_flags(leaves):
    """``(L,)`` bools: every entry of leaf ``i`` is finite."""
    if not leaves:
        return jnp.ones((0,), bool)
    return jnp.stack([jnp.all(jnp.isfinite(g)) for g in leaves])


def _finite_per_leaf(*leaves):
    return jnp.all(_leaf_flags(leaves))


def _finite_one_pass(*leaves):
    return jnp.all(jnp.concatenate([jnp.isfinite(g).ravel() for g in leaves]))


def _all_finite(loss_value, grads):
    """One flag: the loss and every gradient entry are finite.

    Same answer, two shapes of work. XLA:CPU keeps one small reduction per leaf cheap
    but copies a concatenation; on GPU one reduction over the (fused) concatenation is
    one kernel instead of one per leaf, and kernels are what a small step pays for.
    """
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        return jnp.isfinite(loss_value)
    return jnp.isfinite(loss_value) & jax.lax.platform_dependent(
        *leaves, cpu=_finite_per_leaf, default=_finite_one_pass)


def _skip_by_branch(ok, apply, keep):
    return jax.lax.cond(ok, lambda _: apply(), lambda _: keep(), None)


def _skip_by_select(ok, apply, keep):
    return jax.tree.map(lambda new, old: jnp.where(ok, new, old), apply(), keep())


def _skip_unless(ok, apply, keep):
    """``apply()`` if ``ok`` else ``keep()``: the guard's skip of a non-finite step.

    On CPU one ``lax.cond`` branch: an elementwise select there makes XLA keep old and
    new optimizer moments alive together (extra copies per step). On GPU a conditional
    costs a round of host work per step, while a select fuses into the update's own
    elementwise kernels (``benchmarks/step_cost.py`` measures both).
    """
    return jax.lax.platform_dependent(
        cpu=lambda: _skip_by_branch(ok, apply, keep),
        default=lambda: _skip_by_select(ok, apply, keep))


def _loss_and_grads(model, loss_fn):
    """``(params, state, x, y, mask, key) -> ((loss, (new_state, outputs, count)), grads)``.
    """
    # Built-in layers other than Dropout ignore the key; when the model's description
    # shows no Dropout, skip the per-step key splitting inside every Sequential.
    needs_key = model.spec is None or spec_contains(model.spec, "Dropout")

    def objective(params, state, x, y, mask, key):
        outputs, new_state = model.apply(params, state, x, train=True,
                                         key=key if needs_key else None)
        per_sample = loss_fn(outputs, y, reduction="none")
        count = jnp.sum(mask)
        # max(count, 1): a batch is never all padding, but keep the division safe.
        loss_value = jnp.sum(per_sample * mask) / jnp.maximum(count, 1)
        return loss_value, (new_state, outputs, count)

    return jax.value_and_grad(objective, has_aux=True)


def make_leaf_check(model, loss):
    """Which gradients of one step are not finite: the diagnosis behind a skipped step.

    Returns a jitted ``check(params, state, x, y, mask, key) -> (loss_finite, (L,) bools)``
    with one flag per parameter leaf (in ``tree_leaves`` order). ``fit`` reruns the
    step it skipped through this, with the same params, batch and key, to name the
    arrays that went bad, so the compiled step itself only reduces to one flag.
    """
    loss_and_grads = _loss_and_grads(model, _losses.get(loss))

    def check(params, state, x, y, mask, key):
        (loss_value, _), grads = loss_and_grads(params, state, x, y, mask, key)
        return jnp.isfinite(loss_value), _leaf_flags(jax.tree_util.tree_leaves(grads))

    return jax.jit(check)


def make_update(model, loss, optimizer, accuracy="auto", guard: bool = True,
                record_gradients: bool = False):
    """The uncompiled update body: ``(params, state, opt_state, x, y, mask, key) -> ...``.

    Returns ``(params, state, opt_state, StepMetrics, grads)``. With ``guard`` on, a
    step whose loss or gradients are not finite, or that runs with ``active=False``,
    leaves params, state and opt_state unchanged and reports ``finite=False``. With
    ``record_gradients`` on, the metrics carry per-leaf gradient norms and
    update-to-weight ratios, computed in the same compiled step.
    """
    loss_fn = _losses.get(loss)
    correct_fn = _metrics.resolve(loss_fn, accuracy)
    loss_and_grads = _loss_and_grads(model, loss_fn)

    def update(params, state, opt_state, x, y, mask, key, active=True):
        (loss_value, (new_state, outputs, count)), grads = loss_and_grads(
            params, state, x, y, mask, key)
        if correct_fn is None:
            correct = jnp.zeros((), jnp.float32)
        else:
            correct = jnp.sum(correct_fn(outputs, y) * mask)
        ok = _all_finite(loss_value, grads) & active

        def apply():
            updates, new_opt_state = optimizer.update(grads, opt_state, params)
            # the updates leave the step only when they are recorded
            kept = updates if record_gradients else None
            return optax.apply_updates(params, updates), new_state, new_opt_state, kept

        if guard:
            def keep():
                zeros = jax.tree.map(jnp.zeros_like, params) if record_gradients else None
                return params, state, opt_state, zeros

            new_params, new_state, new_opt_state, updates = _skip_unless(ok, apply, keep)
        else:
            new_params, new_state, new_opt_state, updates = apply()
        if record_gradients:
            grad_norms = _leaf_norms(grads)
            # tiny floor: a parameter that is exactly zero has an undefined ratio
            update_ratios = _leaf_norms(updates) / jnp.maximum(_leaf_norms(params), 1e-12)
        else:
            grad_norms = update_ratios = jnp.zeros((0,), jnp.float32)
        metrics = StepMetrics(loss_value * count, correct, count, ok, grad_norms,
                              update_ratios)
        return new_params, new_state, new_opt_state, metrics, grads

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
        guard: skip (and report) steps whose loss or gradients are not finite.
        donate: donate params, state and opt_state buffers to the step (the caller
            must not reuse the arrays it passed in).

    Returns:
        ``step(params, state, opt_state, batch, key) -> (params, state, opt_state,
        metrics)`` where ``batch = (x, y)`` or ``(x, y, mask)`` and ``metrics`` is a dict
        with ``loss`` (mask-weighted mean), ``accuracy`` (or NaN when not
        classifying), ``count`` and ``finite``.

    Example:
        >>> step = make_step(model, "softmax_cross_entropy_with_integer_labels",
        ...                  optim.adam(1e-3))
        >>> params, state, opt_state, m = step(params, state, opt_state, (x, y), key)
    """
    update = make_update(model, loss, optimizer, accuracy, guard)
    has_accuracy = _metrics.resolve(_losses.get(loss), accuracy) is not None

    def step(params, state, opt_state, batch, key):
        _checks.prng_key("step", "key", key)
        x, y, mask = _split_batch(batch)
        params, state, opt_state, m, _ = update(params, state, opt_state, x, y, mask, key)
        count = jnp.maximum(m.count, 1)
        metrics = {
            "loss": m.loss_sum / count,
            "accuracy": m.correct / count if has_accuracy else jnp.nan,
            "count": m.count,
            "finite": m.finite,
        }
        return params, state, opt_state, metrics

    return jax.jit(step, donate_argnums=(0, 1, 2) if donate else ())
