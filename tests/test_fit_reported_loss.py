"""``fit``'s reported ``train_loss`` is the true mean, or ``fit`` raises.

For random small float64 models, losses and target shapes chosen so that many of them
could broadcast against the model's output or the ``(B,)`` mask (``(N,)``, ``(N, 1)``,
``(N, K, 1)``, ...), one epoch of ``fit`` with an optimizer that changes nothing must
report exactly the mean per-sample loss computed by hand in NumPy, whatever the batch
size (the last batch padded and masked), or refuse with an error about shapes. A
silently broadcast ``(B, 1) * (B,)`` would report a different number and fail here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import funcnet as fn


def keepdims_loss(outputs, targets, reduction="mean"):
    """A user loss returning (B, 1): it must be refused, never broadcast to (B, B)."""
    return jnp.mean((outputs - targets) ** 2, axis=-1, keepdims=True)


def delegating_loss(outputs, targets, reduction="mean"):
    """A user loss that hands its work to a built-in one (which checks the shapes)."""
    return fn.mse(outputs, targets, reduction=reduction)


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _rows(per_element):
    return per_element.reshape(per_element.shape[0], -1).mean(axis=1)


def _bce(p, y, eps=1e-15):
    p = np.clip(p, eps, 1 - eps)
    return _rows(-(y * np.log(p) + (1 - y) * np.log(1 - p)))


# name: (the loss fit gets, what the model ends with, per-sample loss in NumPy or None
# when the loss can never be right, whether targets are class ids, the contract's
# per-sample target shape for a per-sample output of K)
CASES = {
    "mse": ("mse", None, lambda z, y: _rows((z - y) ** 2), False, lambda k: (k,)),
    "bce_logits": ("binary_cross_entropy_with_logits", None,
                   lambda z, y: _rows(np.logaddexp(0, z) - z * y), False, lambda k: (k,)),
    "bce": ("binary_cross_entropy", fn.sigmoid,
            lambda z, y: _bce(1 / (1 + np.exp(-z)), y), False, lambda k: (k,)),
    "sce": ("softmax_cross_entropy", None,
            lambda z, y: -(y * _log_softmax(z)).sum(axis=-1), False, lambda k: (k,)),
    "sce_int": ("softmax_cross_entropy_with_integer_labels", None,
                lambda z, y: -np.take_along_axis(_log_softmax(z), y[:, None], axis=1)[:, 0],
                True, lambda k: ()),
    "user_keepdims": (keepdims_loss, None, None, False, lambda k: (k,)),
    "user_delegating": (delegating_loss, None, lambda z, y: _rows((z - y) ** 2), False,
                        lambda k: (k,)),
}
SHAPES = ("contract", "contract", (), (1,), ("K",), ("K", 1), (1, "K"))


def _targets(rng, name, shape, k):
    if CASES[name][3]:
        return rng.integers(0, max(k, 2), size=shape).astype(np.int32)
    if name in ("bce", "bce_logits"):
        return rng.uniform(size=shape)
    if name == "sce":
        return (rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]) if len(shape) > 1
                else np.ones(shape))
    return rng.normal(size=shape)


@st.composite
def fits(draw, name):
    """(name, model, params, state, x, y, batch_size, right): ``right`` is whether fit must
    accept the targets (their per-sample shape is the loss's contract for this model)."""
    n, features, k = draw(st.integers(2, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    layout = draw(st.sampled_from(SHAPES))
    batch_size, seed = draw(st.integers(1, n)), draw(st.integers(0, 2**31 - 1))
    _, final, _, _, contract = CASES[name]
    sample = contract(k) if layout == "contract" else tuple(k if d == "K" else d
                                                            for d in layout)
    model = fn.Sequential([fn.Dense(k, param_dtype=jnp.float64)]
                          + ([final] if final is not None else []))
    rng = np.random.default_rng(seed)
    # the tree from init, abstractly (no compile per drawn shape); values drawn here
    shapes, state = jax.eval_shape(lambda key: model.init(key, (features,)),
                                   jax.random.key(0))
    params = {**shapes, "dense_0": {"w": rng.normal(size=(features, k)),
                                    "b": rng.normal(size=k)}}
    x = rng.normal(size=(n, features))
    y = _targets(rng, name, (n, *sample), k)
    softmax = name.startswith("sce")
    right = (CASES[name][2] is not None and sample == contract(k)
             and not (softmax and k < 2))
    return name, model, params, state, x, y, batch_size, right


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=4)  # per loss: one compile each that fits, the rest raise early
@given(data=st.data())
def test_reported_train_loss_is_the_true_mean_or_fit_raises(name, data):
    _, model, params, state, x, y, batch_size, right = data.draw(fits(name))
    loss, _, per_sample, _, _ = CASES[name]

    def run():
        return fn.fit(model, params, state, optax.set_to_zero(), (x, y), epochs=1,
                      batch_size=batch_size, key=jax.random.key(0), loss=loss,
                      accuracy=None).history["train_loss"][0]

    event("fits" if right else "raises")
    if not right:
        with pytest.raises((ValueError, TypeError), match="shape"):
            run()
        return
    logits = x @ params["dense_0"]["w"] + params["dense_0"]["b"]
    expected = float(np.mean(per_sample(logits, y)))
    np.testing.assert_allclose(run(), expected, rtol=1e-12, atol=0)
