"""Pick the main job's learning rate with a range test, then train with it.

A learning-rate range test (``funcnet.diagnostics.lr_range_test``) trains the
784-512-512-10 MLP for a few hundred Adam steps while the rate grows from 1e-6 to 1,
records the loss at each rate, and suggests the geometric middle of the valley between
the rate where the smoothed loss falls fastest and the rate where it is lowest (the
"valley" rule, chosen over "min/10" with ``--validation``, which holds out 10,000
training images and never reads the test set). The main job's recipe (Adam with cosine
decay, batch 128, 5 epochs) is then run at the suggested peak rate instead of its
hand-picked 1e-3, from fresh params, and its test accuracy printed beside the main
job's (98.35% in the README). The range test sees only the training set.

    python examples/lr_range.py            # 300 sweep steps, then 5 epochs
    python examples/lr_range.py --quick    # a short sweep, 1 epoch on 5,000 images (CI)
"""

from __future__ import annotations

import pathlib
import time

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np

import funcnet as fn
from funcnet import data, diagnostics, optim, plot

MAIN_JOB_ACCURACY = 0.9835  # README: examples/mnist_mlp.py, Adam 1e-3 + cosine, 5 epochs


def build_model():
    """The main job's 784-512-512-10 ReLU MLP (examples/mnist_mlp.py)."""
    return fn.Sequential([fn.Dense(512, w_init="he_normal"), fn.relu,
                          fn.Dense(512, w_init="he_normal"), fn.relu, fn.Dense(10)])


def parse_args(argv=None):
    parser = _cli.parser(__doc__, "lr_range",
                         "60 sweep steps and one epoch on 5,000 images (smoke test)")
    parser.add_argument("--steps", type=int, default=300, help="rates in the sweep")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs at the pick")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of init and shuffling")
    parser.add_argument("--data-dir", type=pathlib.Path, default=None,
                        help="folder with the MNIST idx .gz files (default: data/mnist)")
    parser.add_argument("--rule", choices=diagnostics.RULES, default="valley",
                        help="how the range test picks its suggestion")
    parser.add_argument("--validation", action="store_true",
                        help="hold out the last 10,000 training images and report accuracy "
                             "on them (for choosing a rule without the test set)")
    return _cli.parse(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.mnist(args.data_dir, layout="flat")
    if args.validation:
        x_train, y_train, x_test, y_test = x_train[:-10000], y_train[:-10000], \
            x_train[-10000:], y_train[-10000:]
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:5000], y_train[:5000], x_test[:1000], \
            y_test[:1000]
        args.epochs, args.steps = 1, 60
    model = build_model()
    init_key, sweep_key, fit_key = jax.random.split(jax.random.key(args.seed), 3)
    params, state = model.init(init_key, (784,))

    result = diagnostics.lr_range_test(
        model, params, state, optim.adam, (x_train, y_train), batch_size=args.batch_size,
        key=sweep_key, min_lr=1e-6, max_lr=1.0, steps=args.steps, rule=args.rule)
    lowest = float(result.rates[np.argmin(result.smoothed)])
    print(f"range test: {len(result.rates)} of {args.steps} steps (stopped early: "
          f"{result.diverged}); smoothed loss lowest at rate {lowest:.3g}; suggested "
          f"learning rate ({result.rule}) {result.suggested:.3g}", flush=True)
    print("every rule on this curve: " + ", ".join(
        f"{rule} {diagnostics.suggest_learning_rate(result.rates, result.smoothed, rule):.3g}"
        for rule in diagnostics.RULES), flush=True)
    split = "validation" if args.validation else "test"

    steps = args.epochs * -(-len(x_train) // args.batch_size)
    optimizer = optim.adam(optim.cosine_decay_schedule(result.suggested, max(steps, 1)))
    params, state, _, history = fn.fit(
        model, params, state, optimizer, (x_train, y_train), epochs=args.epochs,
        batch_size=args.batch_size, key=fit_key, eval_data=(x_test, y_test))
    for epoch, loss, accuracy in zip(history["epoch"], history["train_loss"],
                                     history["eval_accuracy"], strict=True):
        print(f"epoch {epoch:2d}  train loss {loss:.4f}  {split} accuracy {accuracy:.4f}",
              flush=True)
    accuracy = float(history["eval_accuracy"][-1])

    args.out.mkdir(parents=True, exist_ok=True)
    plot.save(plot.lr_range(result, title=f"MNIST MLP, Adam: range test suggests "
                                         f"{result.suggested:.2g}"),
              args.out / "lr_range.png")
    print(f"{split} accuracy {accuracy:.4f} after {args.epochs} epochs at the suggested rate "
          f"{result.suggested:.3g} (main job at 1e-3: {MAIN_JOB_ACCURACY:.4f}); "
          f"{time.perf_counter() - start:.1f} s in all; picture in {args.out}/")
    return accuracy


if __name__ == "__main__":
    _cli.run(main)
