"""MNIST trained from scratch in NumPy: the lessons' stated goal, with ``reference`` alone.

A 784-128-10 ReLU network, softmax cross-entropy, plain mini-batch gradient descent
(``p = p - lr * g``, no momentum, a constant learning rate), every gradient from the
NumPy twin's hand-written backward (``reference.value_and_grad``). funcnet only loads
the digits (``funcnet.data.mnist``, SHA-256 checked); no jax runs in training.

    python -m lessons.mnist_from_scratch                  # the full run: 60,000 images
    python -m lessons.mnist_from_scratch --train-size 5000 --epochs 3   # a quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import reference

# The model as a plain description (the same dict funcnet's
# Sequential([Dense(hidden), relu, Dense(10)]).spec gives), rebuilt by reference.build.


def mlp_spec(hidden: int) -> dict:
    """The 784-hidden-10 ReLU network's description, in funcnet's spec format.

    Example::

        >>> mlp_spec(128)["keys"]
        ['dense_0', 'relu_1', 'dense_2']
    """
    return {"type": "Sequential", "keys": ["dense_0", "relu_1", "dense_2"],
            "layers": [{"type": "Dense", "features": hidden, "use_bias": True},
                       {"type": "Activation", "name": "relu"},
                       {"type": "Dense", "features": 10, "use_bias": True}]}


def init_params(hidden: int, seed: int) -> dict:
    """He-initialised weights ``w: (in, out)`` (std sqrt(2 / fan_in)), zero biases.

    Example::

        >>> params = init_params(16, seed=0)
        >>> params["dense_0"]["w"].shape, params["dense_2"]["b"].shape
        ((784, 16), (10,))
    """
    rng = np.random.default_rng(seed)
    return {"dense_0": {"w": rng.standard_normal((784, hidden)) * np.sqrt(2 / 784),
                        "b": np.zeros(hidden)},
            "relu_1": {},
            "dense_2": {"w": rng.standard_normal((hidden, 10)) * np.sqrt(2 / hidden),
                        "b": np.zeros(10)}}


def accuracy(net, params, x, labels, batch: int = 2000) -> float:
    """The fraction of rows of ``x: (N, 784)`` whose argmax logit is ``labels: (N,)``.

    Example::

        >>> net = reference.build(mlp_spec(4))
        >>> 0.0 <= accuracy(net, init_params(4, 0), np.zeros((3, 784)), np.arange(3)) <= 1.0
        True
    """
    hits = 0
    for start in range(0, len(x), batch):
        logits = net.forward(params, x[start:start + batch])[0]
        hits += int(np.sum(np.argmax(logits, axis=1) == labels[start:start + batch]))
    return hits / len(x)


def train(train_data, test_data, *, hidden: int = 128, epochs: int = 10, batch_size: int = 64,
          learning_rate: float = 0.1, seed: int = 0, log=print) -> tuple[dict, list[dict]]:
    """Plain mini-batch gradient descent on ``(x: (N, 784) float, labels: (N,) int)``.

    Returns:
        ``(params, history)``, one history row per epoch: ``epoch``, ``train_loss`` (the
        mean of the epoch's batch losses), ``test_accuracy``, ``seconds``.

    Example::

        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.random((32, 784)), rng.integers(0, 10, 32)
        >>> _, history = train((x, y), (x, y), hidden=8, epochs=1, batch_size=16,
        ...                    log=lambda line: None)
        >>> sorted(history[0])
        ['epoch', 'seconds', 'test_accuracy', 'train_loss']
    """
    spec = mlp_spec(hidden)
    net = reference.build(spec)
    params = init_params(hidden, seed)
    x, labels = train_data
    order_rng = np.random.default_rng(seed + 1)
    history = []
    for epoch in range(1, epochs + 1):
        start_time = time.perf_counter()
        order = order_rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss, grads, _ = reference.value_and_grad(
                spec, params, x[idx], labels[idx], "softmax_cross_entropy_with_integer_labels")
            params = reference.optim.tree_map(lambda p, g: p - learning_rate * g, params, grads)
            losses.append(float(loss))
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)),
               "test_accuracy": accuracy(net, params, *test_data),
               "seconds": time.perf_counter() - start_time}
        history.append(row)
        log(f"epoch {epoch:2d}  train loss {row['train_loss']:.4f}  "
            f"test accuracy {row['test_accuracy']:.2%}  ({row['seconds']:.1f} s)")
    return params, history


def main(argv=None):
    """Load MNIST, train, print one line per epoch and the final test accuracy."""
    parser = argparse.ArgumentParser(
        description="Train a 784-128-10 MLP on MNIST in NumPy (reference alone, plain "
                    "mini-batch gradient descent).")
    parser.add_argument("--train-size", type=int, default=60000,
                        help="training images used, the first N (default: all 60000)")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the data "
                        "(default: 10)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step "
                        "(default: 64)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default: 0.1)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden units (default: 128)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and shuffling "
                        "seed (default: 0)")
    args = parser.parse_args(argv)
    from funcnet.data import mnist

    (x_train, y_train), (x_test, y_test) = mnist(layout="flat")
    if not 1 <= args.train_size <= len(x_train):
        parser.error(f"--train-size must be in 1..{len(x_train)}, got {args.train_size}")
    train_data = (x_train[:args.train_size].astype(np.float64), y_train[:args.train_size])
    test_data = (x_test.astype(np.float64), y_test)
    _, history = train(train_data, test_data, hidden=args.hidden, epochs=args.epochs,
                       batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed)
    print(f"final test accuracy {history[-1]['test_accuracy']:.2%} "
          f"({sum(row['seconds'] for row in history):.0f} s of training)")
    return history


if __name__ == "__main__":
    main()
