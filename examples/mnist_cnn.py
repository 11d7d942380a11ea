"""A small CNN on MNIST with funcnet's own training loop, past 99% test accuracy.

conv5x5x16-relu-maxpool2 -> conv5x5x32-relu-maxpool2 -> flatten -> dense128-relu ->
dense10, Adam with cosine decay. Prints one line per epoch and the final test accuracy;
saves curves, the confusion matrix and a grid of misclassified digits.

    python examples/mnist_cnn.py                      # full run
    python examples/mnist_cnn.py --quick              # one short epoch on a subset (CI)
    python examples/mnist_cnn.py --validation 10000   # score a recipe on held-out train

``--validation 10000`` scores a recipe (epochs, batch size, learning rate) on the last
10,000 training images, trained on the first 50,000, so the test set plays no part in
choosing it. Two epochs were not enough there: 98.83% (batch 128, lr 2e-3) and 98.72%
(batch 256, lr 3e-3). Three epochs at batch 128 gave 98.95% at lr 2e-3 and 99.14% at
lr 3e-3, the default.
"""

from __future__ import annotations

import pathlib
import time

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np

import funcnet as fn
from funcnet import data, optim, plot


def build_model():
    """The CNN; outputs logits for 10 classes from (N, 28, 28, 1) images."""
    return fn.Sequential([
        fn.Conv2D(16, 5, w_init="he_normal"), fn.relu, fn.MaxPool2D(2),
        fn.Conv2D(32, 5, w_init="he_normal"), fn.relu, fn.MaxPool2D(2),
        fn.Flatten(),
        fn.Dense(128, w_init="he_normal"), fn.relu,
        fn.Dense(10),
    ])


def main(argv=None):
    parser = _cli.parser(__doc__, "mnist_cnn",
                         "one epoch on 2,000 training images (smoke test)")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of init and shuffling")
    parser.add_argument("--data-dir", type=pathlib.Path, default=None,
                        help="folder with the MNIST idx .gz files (default: data/mnist)")
    parser.add_argument("--validation", type=int, default=0, metavar="N",
                        help="train on all but the last N training images and score on "
                             "those instead of the test set (to choose a recipe)")
    args = _cli.parse(parser, argv)
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.mnist(args.data_dir, layout="nhwc")
    split = "test"
    if args.validation:
        if not 0 < args.validation < len(x_train):
            parser.error(f"--validation must be in 1..{len(x_train) - 1}, got "
                         f"{args.validation}")
        x_train, y_train, x_test, y_test = (x_train[:-args.validation],
                                            y_train[:-args.validation],
                                            x_train[-args.validation:],
                                            y_train[-args.validation:])
        split = "validation"
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], \
            y_test[:500]
        args.epochs = 1
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    optimizer = optim.adam(optim.cosine_decay_schedule(args.lr, max(steps, 1)))
    model = build_model()
    init_key, fit_key = jax.random.split(jax.random.key(args.seed))
    params, state = model.init(init_key, (28, 28, 1))
    print(f"MNIST CNN: {len(x_train)} train / {len(x_test)} {split} images, batch "
          f"{args.batch_size}, Adam lr {args.lr} (cosine), {args.epochs} epochs")

    def report(epoch, row, params, state):
        print(f"epoch {epoch:2d}  train loss {row['train_loss']:.4f} "
              f"acc {row['train_accuracy']:.4f}  {split} loss {row['eval_loss']:.4f} "
              f"acc {row['eval_accuracy']:.4f}  ({row['seconds']:.1f} s)", flush=True)

    params, state, _, history = fn.fit(
        model, params, state, optimizer, (x_train, y_train), epochs=args.epochs,
        batch_size=args.batch_size, key=fit_key, eval_data=(x_test, y_test),
        eval_batch_size=500, callback=report)
    predicted = np.asarray(fn.predict(model, params, state, x_test, batch_size=500).argmax(-1))
    accuracy = float(np.mean(predicted == y_test))

    args.out.mkdir(parents=True, exist_ok=True)
    plot.save(plot.loss_curves(history), args.out / "curves.png")
    plot.save(plot.confusion_matrix(y_test, predicted, num_classes=10),
              args.out / "confusion_matrix.png")
    wrong = np.flatnonzero(predicted != y_test)[:32]
    if wrong.size:
        plot.save(plot.image_grid(x_test[wrong], predicted[wrong], y_test[wrong],
                                  title=f"{np.sum(predicted != y_test)} misclassified "
                                        f"test digits (first {wrong.size})"),
                  args.out / "misclassified.png")
    print(f"{split} accuracy {accuracy:.4f} after {args.epochs} epochs; "
          f"{time.perf_counter() - start:.1f} s in all; pictures in {args.out}/")
    return accuracy


if __name__ == "__main__":
    _cli.run(main)
