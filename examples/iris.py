"""Iris: a 4-16-3 tanh network on Fisher's 150 flowers, standardized features,
a held-out test split, loss curves and the confusion matrix.

    python examples/iris.py            # full run
    python examples/iris.py --quick    # fewer epochs (CI smoke test)
"""

from __future__ import annotations

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np

import funcnet as fn
from funcnet import data, optim, plot


def main(argv=None):
    parser = _cli.parser(__doc__, "iris",
                         "10 epochs (CI smoke test)")
    parser.add_argument("--epochs", type=int, default=200, help="training epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and init")
    args = _cli.parse(parser, argv)
    epochs = 10 if args.quick else args.epochs

    x, y = data.iris()
    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(args.seed, x, y, test_fraction=0.3)
    x_tr, x_te, _ = data.standardize(x_tr, x_te)  # statistics from the training rows only
    model = fn.Sequential([fn.Dense(16), fn.tanh, fn.Dense(3)])
    init_key, fit_key = jax.random.split(jax.random.key(args.seed))
    params, state = model.init(init_key, (4,))
    params, state, _, history = fn.fit(model, params, state, optim.adam(1e-2), (x_tr, y_tr),
                                       epochs=epochs, batch_size=16, key=fit_key,
                                       eval_data=(x_te, y_te))
    predicted = np.asarray(fn.predict(model, params, state, x_te).argmax(-1))
    accuracy = float(np.mean(predicted == y_te))
    print(f"iris: {len(x_tr)} train / {len(x_te)} test flowers, 4-16-3 tanh, Adam, "
          f"{epochs} epochs: test accuracy {accuracy:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    plot.save(plot.loss_curves(history), args.out / "curves.png")
    plot.save(plot.confusion_matrix(y_te, predicted, num_classes=3,
                                    class_names=list(data.IRIS_CLASSES)),
              args.out / "confusion_matrix.png")
    print(f"pictures in {args.out}/")
    return accuracy


if __name__ == "__main__":
    _cli.run(main)
