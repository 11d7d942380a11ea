"""Three-class spirals (CS231n's classic) with a 2-100-3 ReLU network, its decision
boundary, and the lessons' make_classification demo.

    python examples/spirals.py            # full run
    python examples/spirals.py --quick    # fewer epochs (CI smoke test)
"""

from __future__ import annotations

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np

import funcnet as fn
from funcnet import data, optim, plot


def train(x, y, classes, hidden, epochs, batch_size, lr, seed):
    """Train a 2-layer ReLU classifier; returns (model, params, state, history)."""
    model = fn.Sequential([fn.Dense(hidden, w_init="he_normal"), fn.relu,
                           fn.Dense(classes)])
    init_key, fit_key = jax.random.split(jax.random.key(seed))
    params, state = model.init(init_key, x.shape[1:])
    params, state, _, history = fn.fit(model, params, state, optim.adam(lr), (x, y),
                                       epochs=epochs, batch_size=batch_size, key=fit_key)
    return model, params, state, history


def main(argv=None):
    parser = _cli.parser(__doc__, "spirals",
                         "20 epochs (CI smoke test)")
    parser.add_argument("--epochs", type=int, default=300, help="training epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and init")
    args = _cli.parse(parser, argv)
    epochs = 20 if args.quick else args.epochs

    x, y = data.spirals(classes=3, points=100, noise=0.2, seed=args.seed)
    model, params, state, history = train(x, y, 3, 100, epochs, 32, 1e-2, args.seed)
    logits = fn.predict(model, params, state, x)
    accuracy = float(np.mean(np.asarray(logits.argmax(-1)) == y))
    print(f"spirals: 3 classes x 100 points, 2-100-3 ReLU, Adam, {epochs} epochs: "
          f"train accuracy {accuracy:.3f}, final loss {history['train_loss'][-1]:.4f}")

    args.out.mkdir(parents=True, exist_ok=True)
    predict = jax.jit(lambda points: model.apply(params, state, points)[0])
    plot.save(plot.decision_boundary(predict, x, y, title=f"spirals: accuracy "
                                                        f"{accuracy:.3f}"),
              args.out / "decision_boundary.png")
    plot.save(plot.loss_curves(history), args.out / "curves.png")

    # The lessons' make_classification demo: 20 features, 5 informative, 3 classes.
    xc, yc = data.make_classification(samples=1000, features=20, informative=5,
                                      redundant=2, classes=3, seed=args.seed)
    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(args.seed, xc, yc, test_fraction=0.2)
    x_tr, x_te, _ = data.standardize(x_tr, x_te)
    model, params, state, _ = train(x_tr, y_tr, 3, 64, 10 if args.quick else 60, 32, 3e-3,
                                    args.seed)
    result = fn.evaluate(model, params, state, (x_te, y_te))
    print(f"make_classification: 1000 samples, 20 features (5 informative), 3 classes: "
          f"test accuracy {result['accuracy']:.3f}")
    print(f"pictures in {args.out}/")
    return accuracy, result["accuracy"]


if __name__ == "__main__":
    _cli.run(main)
