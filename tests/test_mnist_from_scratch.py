"""lessons/mnist_from_scratch.py: the NumPy-only training loop learns, and its arguments
are checked (the MNIST run itself is the script's, not the test suite's)."""

import numpy as np
import pytest

import reference
from lessons import mnist_from_scratch as scratch


def test_spec_is_funcnets_and_builds_in_reference():
    import funcnet as fn

    assert scratch.mlp_spec(32) == fn.Sequential([fn.Dense(32), fn.relu, fn.Dense(10)]).spec
    params = scratch.init_params(32, seed=0)
    y, _, _ = reference.build(scratch.mlp_spec(32)).forward(params, np.zeros((2, 784)))
    assert y.shape == (2, 10)
    # He initialisation: std sqrt(2 / fan_in)
    assert abs(params["dense_0"]["w"].std() - np.sqrt(2 / 784)) < 0.05 * np.sqrt(2 / 784)


def test_plain_gradient_descent_learns_a_learnable_task():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 784))  # balanced classes, linearly separable
    labels = np.argmax(x @ rng.standard_normal((784, 10)), axis=1)
    lines = []
    params, history = scratch.train((x[:300], labels[:300]), (x[300:], labels[300:]),
                                    hidden=16, epochs=8, batch_size=32, learning_rate=0.05,
                                    log=lines.append)
    assert len(history) == len(lines) == 8
    losses = [row["train_loss"] for row in history]
    assert losses[-1] < 0.5 * losses[0]
    net = reference.build(scratch.mlp_spec(16))
    assert scratch.accuracy(net, params, x[:300], labels[:300]) > 0.8
    assert history[-1]["test_accuracy"] == scratch.accuracy(net, params, x[300:], labels[300:])


def test_train_size_out_of_range_is_refused(capsys):
    with pytest.raises(SystemExit):
        scratch.main(["--train-size", "0"])
    assert "--train-size must be in 1..60000, got 0" in capsys.readouterr().err
