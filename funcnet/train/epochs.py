"""The two ways ``fit`` runs an epoch, and where its arrays live.

* :func:`make_scan_epoch`: the training set is on the device; the whole epoch is one
  jitted call that draws the permutation from the epoch key and runs ``lax.scan`` over
  the batches.
* :func:`make_loop_epoch`: batches are gathered on the host and fed to a jitted step
  one at a time; metrics stay on the device until the epoch ends.

Both run the same update body (``funcnet.train.step.make_update``) wrapped by
:func:`guarded_body`, visit the same samples in the same order with the same keys, and
return ``(params, state, opt_state, StepMetrics stacked over steps)``;
:func:`step_inputs` recovers what any one step of an epoch saw, from the same plan.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from funcnet import _compile
from funcnet.train import batching


class DataLayout:
    """Where arrays live: one device (no mesh) or a mesh with a data-parallel axis."""

    def __init__(self, mesh, data_axis, batch_size):
        self.mesh = mesh
        self.padded_size = None
        if mesh is None:
            return
        if not isinstance(mesh, jax.sharding.Mesh):
            raise TypeError(f"fit: mesh must be a jax.sharding.Mesh, got "
                            f"{type(mesh).__name__}")
        axis = mesh.axis_names[0] if data_axis is None else data_axis
        if axis not in mesh.axis_names:
            raise ValueError(f"fit: data_axis {axis!r} is not an axis of the mesh "
                             f"{mesh.axis_names}")
        # fit lets XLA place the computation (sharding "Auto" axes): a mesh made with
        # Explicit axes (jax.make_mesh's default) is re-made over the same devices.
        mesh = jax.sharding.Mesh(mesh.devices, mesh.axis_names,
                                 axis_types=(jax.sharding.AxisType.Auto,) * mesh.devices.ndim)
        self.mesh = mesh
        devices = mesh.shape[axis]
        self.padded_size = -(-batch_size // devices) * devices
        P = jax.sharding.PartitionSpec  # noqa: N806
        self._replicated = jax.sharding.NamedSharding(mesh, P())
        self._batch = jax.sharding.NamedSharding(mesh, P(axis))

    def replicate(self, tree):
        """Every device of the mesh holds ``tree`` whole (without a mesh: the default
        device). ``device_put``, not ``jnp.asarray``: the latter compiles a small
        program per array shape the first time."""
        if self.mesh is None:
            return jax.device_put(tree)
        return jax.device_put(tree, self._replicated)

    def constrain(self, batch):
        if self.mesh is None:
            return batch
        return jax.tree.map(
            lambda a: jax.lax.with_sharding_constraint(a, self._batch), batch)


def epoch_plan(epoch_key, n, batch_size, padded_size=None):
    """Batches of sample indices for one epoch, masks, and one dropout key per step.

    ``padded_size > batch_size`` widens every batch with masked fillers (so it divides
    evenly over the devices of a mesh) without changing which samples a batch holds.
    """
    perm_key, step_key = jax.random.split(epoch_key)
    idx, mask = batching.plan(jax.random.permutation(perm_key, n), batch_size)
    if padded_size is not None and padded_size > batch_size:
        fill = jnp.arange(padded_size - batch_size) % batch_size
        idx = jnp.concatenate([idx, idx[:, fill]], axis=1)
        mask = jnp.concatenate([mask, jnp.zeros((mask.shape[0], fill.shape[0]),
                                                mask.dtype)], axis=1)
    step_keys = jax.random.split(step_key, idx.shape[0])
    return idx, mask, step_keys


def step_inputs(data, key, epoch, n, batch_size, padded_size, i):
    """``(x, y, mask, key)`` of step ``i`` of epoch ``epoch`` (0-based) of a run keyed
    ``key``.

    The same plan the epoch ran, so a skipped step can be rerun exactly (to find which
    gradients were not finite).
    """
    epoch_key = jax.random.fold_in(key, np.int32(epoch))
    idx, mask, step_keys = epoch_plan(epoch_key, n, batch_size, padded_size)
    rows = np.asarray(idx[i])
    x, y = data
    return x[rows], y[rows], mask[i], step_keys[i]


def guarded_body(update):
    """One step of an epoch: once a step has gone non-finite, every later step of the
    epoch is frozen (with the guard off there is no flag, and nothing stops)."""
    def body(carry, inputs):
        params, state, opt_state, stopped = carry
        xb, yb, mask, step_key = inputs
        params, state, opt_state, m, _ = update(params, state, opt_state, xb, yb, mask,
                                                step_key, ~stopped)
        if m.finite is not None:
            stopped = stopped | ~m.finite
        return (params, state, opt_state, stopped), m

    return body


class Steps:
    """The update bodies of an epoch: ``plain`` on every step, or, with a ``record``
    (a ``diagnostics.Health``) and its ``recorded`` body (``make_update(...,
    record=record)``), that one on the steps ``record.records`` (``0, every, 2 * every,
    ...`` of the epoch) and ``plain`` on the others."""

    def __init__(self, plain, recorded=None, record=None):
        self.plain, self.recorded, self.record = plain, recorded, record
        self.every = 1 if record is None else record.every

    def body(self, i: int):
        """The update body of epoch step ``i``."""
        return self.recorded if self.record is not None and self.record.records(i) \
            else self.plain


def _apart(fun, carry, inputs):
    """``fun(carry, inputs)`` compiled as a computation of its own, so that none of it
    fuses with the steps beside it: a ``lax.cond`` on the carry's flag (a value only
    known at run time) whose two branches are both ``fun``.

    Inside a fusion XLA:CPU contracts ``a * b + c`` into one rounding, so a step fused
    with its neighbour (as XLA does when a scan of one plain step is inlined next to a
    recorded step) can differ in the last bit from the same step in the plain scan. Kept
    apart, a run that records gives the params of one that does not, bit for bit.
    """
    return jax.lax.cond(carry[-1], fun, fun, carry, inputs)


def _scan_recorded(steps: Steps, scan_body, carry, inputs, nb: int):
    """``lax.scan`` of the epoch's steps with the recorded body on steps ``0, every,
    ...``: a scan over chunks of ``every`` steps (the recorded one, then a scan of
    plain ones), then the last partial chunk. Each kind of step is its own code, so a
    step off the record runs exactly the plain step (no branch on the step number)."""
    recorded, plain = scan_body(steps.recorded), scan_body(steps.plain)
    every = steps.every

    def chunk(carry, inputs):
        carry, first = _apart(recorded, carry, jax.tree.map(lambda a: a[0], inputs))
        carry, rest = _apart(functools.partial(jax.lax.scan, plain), carry,
                             jax.tree.map(lambda a: a[1:], inputs))
        health, first = first.health, first._replace(health=None)
        joined = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
        return carry, (joined, health)

    full, tail = divmod(nb, every)
    parts = []
    if full:
        head = jax.tree.map(lambda a: a[:full * every].reshape(full, every, *a.shape[1:]),
                            inputs)
        carry, (metrics, health) = jax.lax.scan(chunk, carry, head)
        parts.append((jax.tree.map(lambda a: a.reshape(full * every, *a.shape[2:]), metrics),
                      health))
    if tail:
        carry, (metrics, health) = chunk(carry, jax.tree.map(lambda a: a[full * every:],
                                                             inputs))
        parts.append((metrics, jax.tree.map(lambda a: a[None], health)))
    metrics, health = jax.tree.map(lambda *a: jnp.concatenate(a), *parts)
    return carry, metrics._replace(health=health)


def make_scan_epoch(steps: Steps, n, batch_size, layout):
    nb = batching.num_batches(n, batch_size)

    def epoch_fn(params, state, opt_state, x, y, key, epoch):
        epoch_key = jax.random.fold_in(key, epoch)
        idx, mask, step_keys = epoch_plan(epoch_key, n, batch_size, layout.padded_size)

        def scan_body(update):
            body = guarded_body(update)

            def run(carry, inputs):
                batch_idx, batch_mask, step_key = inputs
                batch = layout.constrain((x[batch_idx], y[batch_idx], batch_mask))
                return body(carry, (*batch, step_key))

            return run

        carry = (params, state, opt_state, jnp.zeros((), bool))
        if steps.recorded is None or steps.every == 1:
            carry, metrics = jax.lax.scan(scan_body(steps.body(0)), carry,
                                          (idx, mask, step_keys))
        else:
            carry, metrics = _scan_recorded(steps, scan_body, carry, (idx, mask, step_keys),
                                            nb)
        params, state, opt_state, _ = carry
        return params, state, opt_state, metrics

    epoch_fn = _compile.jit(epoch_fn, donate_argnums=(0, 1, 2))

    def run(params, state, opt_state, data, key, epoch, progress_desc=None):
        return epoch_fn(params, state, opt_state, *data, key, np.int32(epoch))

    return run


def make_loop_epoch(steps: Steps, n, batch_size, layout):
    def compiled(update):
        body = guarded_body(update)

        def step(carry, inputs):
            # The epoch's step keys stay on the device and are indexed here, inside the
            # compiled step, so a step costs one dispatch, not three.
            xb, yb, mb, step_keys, i = inputs
            return body(carry, (*layout.constrain((xb, yb, mb)), step_keys[i]))

        return _compile.jit(step, donate_argnums=(0,))

    # one compiled step per kind (a recorded step, if any, and the plain one)
    step_fns = {id(update): compiled(update) for update in {steps.plain, steps.body(0)}}
    plan_fn = jax.jit(lambda key, epoch: epoch_plan(jax.random.fold_in(key, epoch), n,
                                                    batch_size, layout.padded_size))

    def run(params, state, opt_state, data, key, epoch, progress_desc=None):
        x, y = data
        idx, mask, step_keys = plan_fn(key, np.int32(epoch))
        idx, mask = np.asarray(idx), np.asarray(mask)
        carry = (params, state, opt_state, np.zeros((), bool))
        collected, health = [], []
        # Below fit's epoch bar (position 1), cleared when the epoch ends.
        bar = tqdm(range(idx.shape[0]), desc=progress_desc, leave=False, position=1,
                   disable=progress_desc is None)
        for i in bar:
            carry, m = step_fns[id(steps.body(i))](
                carry, (x[idx[i]], y[idx[i]], mask[i], step_keys, np.int32(i)))
            if m.health is not None:
                health.append(m.health)
            collected.append(m._replace(health=None))
            # Reading the loss syncs with the device, so only do it for the bar.
            if progress_desc is not None and i % 50 == 0:
                bar.set_postfix(loss=f"{float(m.loss_sum / m.count):.4f}")
        bar.close()
        # One transfer of every step's metrics at the end of the epoch.
        metrics, health = jax.device_get((collected, health))
        metrics = jax.tree.map(lambda *xs: np.stack(xs), *metrics)
        if health:
            metrics = metrics._replace(health=jax.tree.map(lambda *xs: np.stack(xs), *health))
        params, state, opt_state, _ = carry
        return params, state, opt_state, metrics

    return run
