"""The main job: a 784-512-512-10 ReLU MLP trained with Adam on MNIST, past 98%.

Each epoch runs as one compiled call (``lax.scan`` over the shuffled batches, data on
the device). Prints one line per epoch and the final test accuracy, and saves the
loss/accuracy curves and the confusion matrix to the output folder.

    python examples/mnist_mlp.py                 # the full run (5 epochs)
    python examples/mnist_mlp.py --quick         # one short epoch on a subset (CI)
    python examples/mnist_mlp.py --health 10     # also record the training's health every
                                                 # 10 steps and draw it (health.png)
"""

from __future__ import annotations

import pathlib
import time

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import jax.numpy as jnp
import numpy as np

import funcnet as fn
from funcnet import data, diagnostics, optim, plot


def build_model(compute_dtype=None):
    """784-512-512-10 ReLU MLP with He initialization; outputs logits.

    ``compute_dtype`` (e.g. ``jnp.bfloat16``): the matmuls and activations run in it,
    params stay float32 and the loss is computed in float32.
    """
    return fn.Sequential([
        fn.Dense(512, w_init="he_normal", compute_dtype=compute_dtype), fn.relu,
        fn.Dense(512, w_init="he_normal", compute_dtype=compute_dtype), fn.relu,
        fn.Dense(10, compute_dtype=compute_dtype),
    ])


def parse_args(argv=None):
    parser = _cli.parser(__doc__, "mnist_mlp",
                         "one epoch on 5,000 training images (smoke test)")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of init and shuffling")
    parser.add_argument("--compute-dtype", choices=("float32", "bfloat16"), default="float32",
                        help="dtype of the matmuls (params stay float32)")
    parser.add_argument("--data-dir", type=pathlib.Path, default=None,
                        help="folder with the MNIST idx .gz files (default: data/mnist)")
    parser.add_argument("--health", type=int, default=None, metavar="EVERY",
                        help="record each layer's health every EVERY steps inside the "
                             "compiled epoch (fit(record=diagnostics.Health)) and save "
                             "health.png")
    return _cli.parse(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.mnist(args.data_dir, layout="flat")
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:5000], y_train[:5000], x_test[:1000], \
            y_test[:1000]
        args.epochs = 1
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    # Cosine decay to zero over the run: the last epochs polish at a small step size.
    optimizer = optim.adam(optim.cosine_decay_schedule(args.lr, max(steps, 1)))
    model = build_model(None if args.compute_dtype == "float32" else jnp.bfloat16)
    init_key, fit_key = jax.random.split(jax.random.key(args.seed))
    params, state = model.init(init_key, (784,))

    print(f"MNIST MLP 784-512-512-10: {len(x_train)} train / {len(x_test)} test images, "
          f"batch {args.batch_size}, Adam lr {args.lr} (cosine), {args.epochs} epochs, "
          f"{args.compute_dtype} compute")

    def report(epoch, row, params, state):
        print(f"epoch {epoch:2d}  train loss {row['train_loss']:.4f} "
              f"acc {row['train_accuracy']:.4f}  test loss {row['eval_loss']:.4f} "
              f"acc {row['eval_accuracy']:.4f}  ({row['seconds']:.2f} s)", flush=True)

    params, state, _, history = fn.fit(
        model, params, state, optimizer, (x_train, y_train), epochs=args.epochs,
        batch_size=args.batch_size, key=fit_key, eval_data=(x_test, y_test),
        callback=report,
        record=None if args.health is None else diagnostics.Health(every=args.health))
    logits = fn.predict(model, params, state, x_test)
    predicted = np.asarray(logits.argmax(-1))
    accuracy = float(np.mean(predicted == y_test))

    args.out.mkdir(parents=True, exist_ok=True)
    plot.save(plot.loss_curves(history), args.out / "curves.png")
    plot.save(plot.confusion_matrix(y_test, predicted, num_classes=10),
              args.out / "confusion_matrix.png")
    if args.health is not None:
        title = (f"training health: MNIST MLP 784-512-512-10, Adam, batch {args.batch_size}, "
                 f"recorded every {args.health} steps")
        plot.save(plot.training_health(history, title=title), args.out / "health.png")
    print(f"test accuracy {accuracy:.4f} after {args.epochs} epochs; "
          f"{time.perf_counter() - start:.1f} s in all; pictures in {args.out}/")
    return accuracy


if __name__ == "__main__":
    _cli.run(main)
