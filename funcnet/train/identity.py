"""A run's identity: what ``fit`` records in every checkpoint about the run that wrote
it, so that resuming continues that run and refuses another one.

A run is its training data (shapes, dtypes and a SHA-256 of the contents), its batch
size, its key, its model's description (``repr(model)``: the layer types and
hyperparameters) and its loss (by name). The optimizer is not part of it: its state's
structure is checked when the checkpoint is loaded, and a new learning rate for a
resumed run is the user's to choose. Neither are the epoch count (a resumed run may go
on for longer), ``mode`` (the scan and loop paths give the same params) or
``eval_data`` (it changes what is measured, not what is trained).
"""

from __future__ import annotations

import hashlib

import jax
import numpy as np

FIELDS = ("batch_size", "train_data", "key", "model", "loss")


def of(model, x, y, *, batch_size: int, key, loss_fn) -> dict:
    """The identity of the run ``fit`` is about to train, as JSON-able values."""
    return {"batch_size": int(batch_size), "train_data": data_fingerprint(x, y),
            "key": key_fingerprint(key), "model": repr(model), "loss": loss_name(loss_fn)}


def _array_words(a) -> str:
    return f"{a.dtype}{a.shape}"


def data_fingerprint(x, y) -> dict:
    """``{"x": "float32(60000, 784)", "y": ..., "sha256": ...}``: the digest covers each
    array's dtype, shape and bytes, so equal values of another dtype differ."""
    digest = hashlib.sha256()
    words = {}
    for name, a in (("x", x), ("y", y)):
        a = np.ascontiguousarray(np.asarray(a))
        words[name] = _array_words(a)
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.reshape(-1).view(np.uint8))
    return {**words, "sha256": digest.hexdigest()}


def key_fingerprint(key) -> str:
    """``"threefry2x32:[0, 1]"``: the key's implementation and its data. A raw uint32
    key (``jax.random.PRNGKey``) counts as the typed key it stands for."""
    if not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        try:
            key = jax.random.wrap_key_data(key)
        except (TypeError, ValueError):  # another implementation's raw data
            return f"raw uint32:{np.asarray(key).tolist()}"
    return f"{jax.random.key_impl(key)}:{np.asarray(jax.random.key_data(key)).tolist()}"


def loss_name(loss_fn) -> str:
    """The loss function's module and qualified name (``funcnet.losses.mse``)."""
    module = getattr(loss_fn, "__module__", None) or "?"
    name = getattr(loss_fn, "__qualname__", None) or type(loss_fn).__qualname__
    return f"{module}.{name}"


def differences(recorded, current: dict) -> list[str]:
    """Each way the checkpoint's run (``recorded``) differs from ``current``, as a
    sentence; ``["..."]`` naming the problem when ``recorded`` is missing or malformed."""
    if recorded is None:
        return ["the checkpoint records no run identity (it was not written by fit, or "
                "by a funcnet older than run identities)"]
    if not isinstance(recorded, dict) or set(recorded) != set(FIELDS):
        return [f"the checkpoint's run identity is malformed (expected the fields "
                f"{list(FIELDS)}, got {recorded!r:.200})"]
    found = []
    for field in FIELDS:
        before, now = recorded[field], current[field]
        if before == now:
            continue
        if field == "train_data":
            found.append(_data_difference(before, now))
        elif field == "model":
            found.append(_model_difference(before, now))
        else:
            found.append(f"{field}: the checkpoint's run used {before!r}, this call "
                         f"passes {now!r}")
    return found


def _data_difference(before, now) -> str:
    if not isinstance(before, dict):
        return f"train_data: the checkpoint records {before!r:.200} as its fingerprint"
    shapes = [f"x {d.get('x')}, y {d.get('y')}" for d in (before, now)]
    if shapes[0] != shapes[1]:
        return (f"train_data: the checkpoint's run trained on {shapes[0]}, this call "
                f"passes {shapes[1]}")
    return (f"train_data: the same shapes and dtypes ({shapes[0]}) but other values "
            f"(sha256 {str(before.get('sha256'))[:12]}... in the checkpoint, "
            f"{now['sha256'][:12]}... now)")


def _model_difference(before, now) -> str:
    old, new = str(before).splitlines(), now.splitlines()
    for i, (a, b) in enumerate(zip(old, new, strict=False)):  # may differ in length
        if a != b:
            return (f"model: line {i + 1} of its description is {a.strip()!r} in the "
                    f"checkpoint's run, {b.strip()!r} in this call's")
    return (f"model: the checkpoint's run had {len(old)} lines of description, this "
            f"call's model {len(new)} (checkpoint: {before!r:.300})")
