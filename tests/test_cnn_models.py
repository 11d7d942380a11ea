"""Whole models checked end to end in one call each: funcnet's loss and jax.grad against the
model rebuilt from ``model.spec`` by ``reference`` (value_and_grad, check_model), with
the same dropout masks and the BatchNorm state carried through."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_truth import JAX_TOL, NUMERICAL_TOL, WORST, to_numpy, tree_errors

import reference
from funcnet import losses
from funcnet.activations import relu, tanh
from funcnet.core import Sequential
from funcnet.layers.batchnorm import BatchNorm
from funcnet.layers.conv import Conv2D
from funcnet.layers.dense import Dense
from funcnet.layers.dropout import Dropout, dropout_masks
from funcnet.layers.pool import AvgPool2D, Flatten, GlobalAvgPool, MaxPool2D
from funcnet.layers.residual import Residual

F64 = jnp.float64


def cnn():
    """conv-relu-pool-conv-relu-pool-flatten-dense, the seeds' SimpleCNN grown up."""
    return Sequential([
        Conv2D(2, 3, param_dtype=F64), relu, MaxPool2D(2),
        Conv2D(3, (2, 3), strides=1, param_dtype=F64), relu, MaxPool2D(2, padding="SAME"),
        Flatten(), Dense(4, param_dtype=F64),
    ])


def mlp_with_batchnorm_and_dropout():
    return Sequential([
        Dense(6, use_bias=False, param_dtype=F64), BatchNorm(param_dtype=F64), relu,
        Dropout(0.3),
        Dense(5, use_bias=False, param_dtype=F64), BatchNorm(momentum=0.5, param_dtype=F64),
        tanh, Dropout(0.2),
        Dense(3, param_dtype=F64),
    ])


def residual_cnn():
    """Every image layer at once: strided and dilated convs, BatchNorm on images, a
    residual block, average pooling, dropout and global average pooling."""
    block = Sequential([Conv2D(3, 3, use_bias=False, dilation=2, param_dtype=F64),
                        BatchNorm(param_dtype=F64), relu, Conv2D(3, 3, param_dtype=F64)])
    return Sequential([
        Conv2D(3, 3, use_bias=False, param_dtype=F64), BatchNorm(param_dtype=F64), relu,
        Residual(block), AvgPool2D(2, strides=1, padding="SAME"), Dropout(0.25),
        Conv2D(4, 2, strides=2, padding="VALID", param_dtype=F64), GlobalAvgPool(),
        Dense(2, param_dtype=F64),
    ])


def check_model_end_to_end(model, params, state, x, targets, loss, *, train, key=None):
    """Loss and gradients: funcnet + jax.grad vs reference.value_and_grad vs check_model."""
    extras = None if key is None else dropout_masks(model, key)
    loss_fn = losses.get(loss)

    @jax.jit
    def funcnet_value_and_grad(p, xx):
        def objective(p, xx):
            y, new_state = model.apply(p, state, xx, train=train, key=key)
            return loss_fn(y, targets), new_state

        return jax.value_and_grad(objective, argnums=(0, 1), has_aux=True)(p, xx)

    (value, new_state), (jax_dparams, jax_dx) = funcnet_value_and_grad(params, x)
    np_params, np_state, np_x = to_numpy(params), to_numpy(state), np.asarray(x)
    np_targets = np.asarray(targets)
    ref_value, dparams, dx = reference.value_and_grad(model.spec, np_params, np_x, np_targets,
                                                      loss, state=np_state, train=train,
                                                      extras=extras)
    np.testing.assert_allclose(ref_value, value, rtol=1e-12)
    errors = tree_errors(dparams, jax_dparams)
    errors["x"] = reference.relative_error(dx, jax_dx)
    WORST["jax"] = max(WORST["jax"], *errors.values())
    assert max(errors.values()) <= JAX_TOL, errors

    _, ref_state, _ = reference.build(model.spec).forward(np_params, np_x, state=np_state,
                                                          train=train, extras=extras)
    state_errors = tree_errors(ref_state, new_state)
    assert all(e <= 1e-12 for e in state_errors.values()), state_errors

    numerical = reference.check_model(model.spec, np_params, np_x, np_targets, loss,
                                      state=np_state, train=train, extras=extras,
                                      tol=NUMERICAL_TOL)
    WORST["numerical"] = max(WORST["numerical"], *numerical.values())
    return new_state


def test_cnn_end_to_end():
    model = cnn()
    params, state = model.init(jax.random.key(0), (6, 7, 1))
    assert jax.tree.map(jnp.shape, params)["dense_7"] == {"w": (12, 4), "b": (4,)}
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 6, 7, 1)))
    labels = jnp.array([0, 3, 1])
    check_model_end_to_end(model, params, state, x, labels,
                           "softmax_cross_entropy_with_integer_labels", train=False)


def test_mlp_with_batchnorm_and_dropout_end_to_end():
    model = mlp_with_batchnorm_and_dropout()
    params, state = model.init(jax.random.key(1), (4,))
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(loc=0.5, size=(8, 4)))
    targets = jnp.asarray(rng.normal(size=(8, 3)))
    new_state = check_model_end_to_end(model, params, state, x, targets, "mse", train=True,
                                       key=jax.random.key(2))
    assert not np.allclose(new_state["batch_norm_1"]["mean"], 0.0)
    # Evaluation with the running statistics that training step left behind.
    eval_state = check_model_end_to_end(model, params, new_state, x, targets, "mse",
                                        train=False)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), eval_state, new_state))


def test_residual_cnn_with_batchnorm_and_dropout_end_to_end():
    model = residual_cnn()
    params, state = model.init(jax.random.key(3), (5, 6, 2))
    assert set(params["residual_3"]["block"]) == {"conv_0", "batch_norm_1", "relu_2", "conv_3"}
    x = jnp.asarray(np.random.default_rng(3).normal(size=(2, 5, 6, 2)))
    check_model_end_to_end(model, params, state, x, jnp.array([1, 0]),
                           "softmax_cross_entropy_with_integer_labels", train=True,
                           key=jax.random.key(4))


def test_a_model_with_a_user_layer_cannot_be_rebuilt():
    model = Sequential([Conv2D(2, 3), lambda x: x * 2.0, Flatten()])
    assert model.spec is None
    with pytest.raises(TypeError, match=r"has spec None"):
        reference.build(model.spec)
