"""Vanishing and exploding gradients, measured on the lessons' 10-layer networks.

1. Vanishing: the same 10-layer network three ways: sigmoid with small weights
   N(0, 0.1^2) (the lessons' ``randn * 0.1``), ReLU with He init, tanh with Xavier
   init. For each: the gradient norm of every layer at initialisation (bars, log
   scale), the ratio input layer / output layer, how the layer norms move over a
   short full-batch training run, and the activations' health (saturated sigmoid/tanh
   units, dead ReLUs): all recorded by ``fit(record=diagnostics.Health())`` inside
   the compiled steps, and drawn per network by ``plot.training_health``
   (``health_sigmoid.png``, ``health_relu.png``, ``health_tanh.png``).
2. Exploding: a 10-layer ReLU network with weights 1.5 times He's scale (each layer
   multiplies the signal by about 1.5, so 1.5^10 ~ 58 overall) trained with SGD, once as
   is (it turns NaN within a few steps) and once with global-norm clipping
   (``funcnet.optim.clip_by_global_norm`` chained before SGD), which trains: loss and
   gradient norm per step.

    python examples/vanishing_gradients.py            # full run
    python examples/vanishing_gradients.py --quick    # fewer steps (CI smoke test)
"""

from __future__ import annotations

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np
import optax
from matplotlib.figure import Figure

import funcnet as fn
from funcnet import diagnostics, optim, plot

DEPTH = 10

#: The three vanishing-gradient configurations: (activation, weight initializer).
CONFIGS = {
    "sigmoid, N(0, 0.1^2)": (fn.sigmoid, fn.initializers.normal(0.1)),
    "relu, He": (fn.relu, "he_normal"),
    "tanh, Xavier": (fn.tanh, "xavier_normal"),
}


#: The health dashboard's file for each of CONFIGS: health_<name>.png.
HEALTH_FILES = ("sigmoid", "relu", "tanh")


def deep_mlp(activation, w_init, width: int, depth: int = DEPTH, outputs: int = 1):
    """``depth`` Dense layers, ``activation`` after each but the last (a linear output)."""
    layers = []
    for _ in range(depth - 1):
        layers += [fn.Dense(width, w_init=w_init), activation]
    layers.append(fn.Dense(outputs, w_init=w_init))
    return fn.Sequential(layers)


def regression_data(samples: int, features: int, seed: int):
    """Inputs N(0, 1) and a smooth target of them, float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features)).astype(np.float32)
    direction = rng.normal(size=(features, 1)) / np.sqrt(features)
    y = np.sin(2 * x @ direction).astype(np.float32)
    return x, y


def train_recording(model, params, state, x, y, optimizer, steps: int, guard: bool = True):
    """Full-batch training with ``fit``, one step per epoch, recording every step's health.

    Returns:
        ``(losses (steps,), history)``: the loss at each step's params (step 0 at the
        initial ones) and fit's history, whose ``"health"`` holds every step's record
        (per layer: gradient norms, update ratios, activation statistics).
        ``guard=False`` trains on through a non-finite step (its values are NaN from
        there on) instead of stopping.
    """
    result = fn.fit(model, params, state, optimizer, (x, y), epochs=steps,
                    batch_size=len(x), key=jax.random.key(0), loss="mse", guard=guard,
                    progress=False, record=diagnostics.Health(every=1))
    return np.asarray(result.history["train_loss"], dtype=float), result.history


def layer_norms(series) -> tuple[np.ndarray, list[str]]:
    """``(steps, layers)`` gradient norms of every parameter layer, and the layers."""
    names = list(series["params"])
    return np.stack([series["params"][p]["gradient_norm"] for p in names], axis=1), names


def vanishing_gradients_experiment(width: int, samples: int, steps: int, seed: int = 0,
                                   learning_rate: float = 0.05) -> dict:
    """The lessons' vanishing-gradient experiment for every entry of :data:`CONFIGS`.

    Returns:
        ``{config: result}`` with ``result`` a dict: ``norms`` (``{layer: norm}`` at
        init, input layer first), ``ratio`` (input / output layer), ``history``
        (``(steps, layers)`` norms) and its layer ``names``, ``losses`` (``(steps,)``),
        ``health`` (the whole record, ``diagnostics.health_series``), ``fit_history``
        (fit's history, for ``plot.training_health``) and ``units``: the
        mean share of saturated (sigmoid, tanh) or dead (ReLU) units at initialisation.
    """
    x, y = regression_data(samples, width, seed)
    results = {}
    for name, (activation, w_init) in CONFIGS.items():
        model = deep_mlp(activation, w_init, width)
        # Initialised op by op: the layers share shapes, so the random draws compile once.
        params, state = model.init(jax.random.key(seed), (width,))
        losses, fit_history = train_recording(model, params, state, x, y,
                                              optim.sgd(learning_rate), steps)
        health = diagnostics.health_series(fit_history)
        history, names = layer_norms(health)
        norms = dict(zip(names, history[0].tolist(), strict=True))
        kind = "dead" if activation is fn.relu else "saturated"
        units = float(np.mean([layer[kind][0] for layer in health["layers"].values()
                               if kind in layer]))
        results[name] = {"norms": norms, "ratio": diagnostics.gradient_ratio(norms),
                         "history": history, "names": names, "losses": losses,
                         "health": health, "fit_history": fit_history,
                         "units": (kind, units)}
    return results


def exploding_gradients_experiment(width: int, samples: int, steps: int, seed: int = 0,
                                   learning_rate: float = 1e-2, max_norm: float = 1.0,
                                   gain: float = 1.5) -> dict:
    """A 10-layer ReLU network, weights ``gain`` x He's std, trained with and without clipping.

    Returns:
        ``{run: {"losses": (steps,), "grad_norms": (steps,)}}`` for ``"SGD"`` and
        ``f"clip {max_norm} + SGD"`` (same initial params); ``grad_norms`` is the
        gradient's global norm before the optimizer (so before any clipping); a run that
        overflowed holds non-finite values from that step on.
    """
    x, y = regression_data(samples, width, seed)
    model = deep_mlp(fn.relu, fn.initializers.normal(gain * np.sqrt(2 / width)), width)
    runs = {"SGD": optim.sgd(learning_rate),
            f"clip {max_norm:g} + SGD": optax.chain(optim.clip_by_global_norm(max_norm),
                                                    optim.sgd(learning_rate))}
    params, state = model.init(jax.random.key(seed), (width,))
    results = {}
    for name, optimizer in runs.items():
        losses, history = train_recording(model, params, state, x, y, optimizer, steps,
                                          guard=False)
        norms, _ = layer_norms(diagnostics.health_series(history))
        results[name] = {"losses": losses, "grad_norms": np.sqrt(np.sum(norms**2, axis=1))}
    return results


def first_non_finite(values) -> int | None:
    bad = np.flatnonzero(~np.isfinite(values))
    return int(bad[0]) if bad.size else None


def vanishing_figures(results) -> tuple[Figure, Figure]:
    """Bars of the per-layer norms at init, and lines of them over training, per config."""
    bars = Figure(figsize=(6 * len(results), 4.8), layout="constrained")
    lines = Figure(figsize=(6 * len(results), 4.8), layout="constrained")
    for bar_ax, line_ax, (name, result) in zip(bars.subplots(1, len(results)),
                                               lines.subplots(1, len(results)),
                                               results.items(), strict=True):
        plot.gradient_magnitudes(result["norms"], ax=bar_ax,
                                 title=f"{name}: input/output {result['ratio']:.1e}")
        plot.gradient_magnitudes(result["history"], result["names"], kind="lines",
                                 ax=line_ax, title=f"{name}: during training")
        line_ax.set_xlabel("step")
    bars.suptitle("gradient norm per layer at initialisation (10 Dense layers)")
    lines.suptitle("gradient norm per layer over full-batch SGD")
    return bars, lines


def exploding_figure(results, steps: int) -> Figure:
    """Loss and gradient norm per step, with and without clipping (log scale)."""
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    loss_ax, norm_ax = fig.subplots(1, 2)
    for (name, result), color in zip(results.items(), ("tab:red", "tab:blue"), strict=True):
        for ax, key in ((loss_ax, "losses"), (norm_ax, "grad_norms")):
            values = result[key]
            ax.plot(np.arange(len(values)), values, color=color, label=name)
            broke = first_non_finite(values)
            if broke is not None:
                ax.axvline(broke, color=color, linestyle=":",
                           label=f"{name}: non-finite from step {broke}")
    for ax, label in ((loss_ax, "loss (mse)"), (norm_ax, "gradient norm (before clipping)")):
        ax.set_yscale("log")
        ax.set_xlim(0, steps)
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("exploding gradients: 10-layer ReLU network, weights 1.5 x He's std")
    return fig


def main(argv=None):
    parser = _cli.parser(__doc__, "vanishing_gradients",
                         "15 steps on 64 samples (CI smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and init")
    parser.add_argument("--width", type=int, default=32, help="width of every hidden layer")
    parser.add_argument("--steps", type=int, default=300, help="training steps per network")
    args = _cli.parse(parser, argv)
    steps, samples = (15, 64) if args.quick else (args.steps, 512)

    vanishing = vanishing_gradients_experiment(args.width, samples, steps, args.seed)
    print(f"vanishing gradients: {DEPTH} Dense layers of width {args.width}, mse, "
          f"gradient norm per layer at initialisation")
    for name, result in vanishing.items():
        norms = list(result["norms"].values())
        kind, share = result["units"]
        state_of_units = f"{kind} units {share:.1%}"
        print(f"  {name:22s} input layer {norms[0]:.2e}  output layer {norms[-1]:.2e}  "
              f"ratio input/output {result['ratio']:.2e}  {state_of_units}  "
              f"loss {result['losses'][0]:.4f} -> {result['losses'][-1]:.4f} "
              f"after {steps} steps")

    exploding = exploding_gradients_experiment(args.width, samples, steps, args.seed)
    print(f"exploding gradients: {DEPTH}-layer ReLU, weights 1.5 x He's std, SGD lr 0.01, "
          f"{steps} steps")
    for name, result in exploding.items():
        broke = first_non_finite(result["losses"])
        finite = result["losses"][np.isfinite(result["losses"])]
        end = (f"non-finite from step {broke}" if broke is not None
               else f"final loss {result['losses'][-1]:.4g}")
        print(f"  {name:14s} first gradient norm {result['grad_norms'][0]:.3g}, loss "
              f"{finite[0]:.4g} at step 0, lowest {finite.min():.4g}; {end}")

    args.out.mkdir(parents=True, exist_ok=True)
    bars, lines = vanishing_figures(vanishing)
    dpi = 72 if args.quick else 150
    plot.save(bars, args.out / "gradient_magnitudes.png", dpi=dpi)
    plot.save(lines, args.out / "gradient_norms_training.png", dpi=dpi)
    plot.save(exploding_figure(exploding, steps), args.out / "exploding.png", dpi=dpi)
    print("training health (fit's record, every step): update:data ratio at the last step")
    for (name, result), short in zip(vanishing.items(), HEALTH_FILES, strict=True):
        update = [ratios["update_data"][-1] for ratios in result["health"]["params"].values()]
        print(f"  {name:22s} input layer {update[0]:.1e}  output layer {update[-1]:.1e}  "
              f"(healthy: about 1e-3)")
        title = f"training health: {DEPTH} Dense layers, {name}, full-batch SGD"
        plot.save(plot.training_health(result["fit_history"], title=title),
                  args.out / f"health_{short}.png", dpi=dpi)
    return vanishing, exploding


if __name__ == "__main__":
    _cli.run(main)
