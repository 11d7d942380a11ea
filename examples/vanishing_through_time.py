"""Vanishing and exploding gradients through time: ||dL/dh_t|| against t for RNN, LSTM, GRU.

The lessons' depth experiment turned into time: a recurrent layer unrolled over T steps
is a T-layer network sharing one weight matrix, so the gradient reaching the hidden
state h_t can shrink (or grow) geometrically as t moves away from where the loss reads.

1. Vanishing. The task is "remember the first input": x_0 is +1 or -1, the next T-1
   inputs are noise N(0, 0.5^2), and the label is the sign of x_0, read from the last
   hidden state only (binary cross-entropy on a Dense head over h_{T-1}). For RNN, LSTM
   and GRU with the same hidden size: ||dL/dh_t|| for every t at initialisation and after
   training with Adam (``funcnet.fit``), the ratio ||dL/dh_0|| / ||dL/dh_{T-1}||, and the
   accuracy reached.
2. Exploding. The same RNN with its orthogonal recurrent weights scaled by 3. tanh
   saturates, so the states stay bounded, but the network is chaotic: a small change to
   h_0 grows as it travels forward, and dL/dh_t grows as it travels back. Trained with
   plain SGD at a large learning rate, once as is and once with
   ``funcnet.optim.clip_by_global_norm`` chained before it: the loss per epoch and the
   full-batch gradient norm before clipping. A run that turns non-finite stops with
   ``funcnet.NonFiniteError``, which is caught and reported.

    python examples/vanishing_through_time.py            # full run
    python examples/vanishing_through_time.py --quick    # fewer samples and epochs (CI)
"""

from __future__ import annotations

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np
import optax
from matplotlib.figure import Figure

import funcnet as fn
from funcnet import diagnostics, optim, plot

LAYERS = {"RNN": fn.RNN, "LSTM": fn.LSTM, "GRU": fn.GRU}
LOSS = "binary_cross_entropy_with_logits"


def remember_first(samples: int, steps: int, seed: int, noise: float = 0.5):
    """``x: (N, T, 1)`` float32 with ``x_0 = +-1`` then noise; ``y: (N, 1)`` is ``x_0 > 0``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=noise, size=(samples, steps, 1)).astype(np.float32)
    sign = rng.choice(np.array([-1.0, 1.0], np.float32), size=samples)
    x[:, 0, 0] = sign
    return x, (sign > 0).astype(np.float32)[:, None]


def recurrent_classifier(kind: str, hidden: int, steps: int, seed: int, gain: float = 1.0):
    """``(model, params, state)``: ``kind`` over the sequence, a Dense(1) logit on h_{T-1}.

    ``gain`` multiplies the recurrent kernel ``w_h`` after its orthogonal initialisation.
    """
    model = fn.Sequential([LAYERS[kind](hidden, return_sequences=False), fn.Dense(1)])
    params, state = model.init(jax.random.key(seed), (steps, 1))
    recurrent = next(iter(params))
    params[recurrent] = {**params[recurrent], "w_h": params[recurrent]["w_h"] * gain}
    return model, params, state


def through_time(model, params, x, y) -> np.ndarray:
    """``(T,)`` ``||dL/dh_t||`` of the model's recurrent layer, L the head's mean BCE."""
    (recurrent, layer), (dense, head) = model.children

    def loss(h_last):
        logits, _ = head.apply(params[dense], {}, h_last)
        return fn.losses.binary_cross_entropy_with_logits(logits, y)

    norms = jax.jit(lambda p: diagnostics.hidden_gradient_norms(layer, p, x, loss))
    return np.asarray(norms(params[recurrent]))


def gradient_norm_of(model, state, x, y):
    """A compiled ``params -> float``: the full-batch gradient's global norm (what clipping
    sees)."""
    def loss(p):
        return fn.losses.binary_cross_entropy_with_logits(model.apply(p, state, x)[0], y)

    norm = jax.jit(lambda p: optim.global_norm(jax.grad(loss)(p)))
    return lambda params: float(norm(params))


def ratio(norms: np.ndarray) -> float:
    return float(norms[0] / norms[-1])


def vanishing_experiment(hidden: int, steps: int, samples: int, epochs: int, seed: int = 0,
                         learning_rate: float = 1e-2) -> dict:
    """For each of RNN, LSTM, GRU: norms at init and after Adam, loss and accuracy.

    Returns:
        ``{kind: {"init": (T,), "trained": (T,), "history": fit history}}``.
    """
    x, y = remember_first(samples, steps, seed)
    results = {}
    for kind in LAYERS:
        model, params, state = recurrent_classifier(kind, hidden, steps, seed)
        result = fn.fit(model, params, state, optim.adam(learning_rate), (x, y),
                        epochs=epochs, batch_size=64, key=jax.random.key(seed + 1),
                        loss=LOSS, progress=False)
        results[kind] = {"init": through_time(model, params, x, y),
                         "trained": through_time(model, result.params, x, y),
                         "history": result.history}
    return results


def exploding_experiment(hidden: int, steps: int, samples: int, epochs: int, seed: int = 0,
                         gain: float = 3.0, learning_rate: float = 1.0,
                         max_norm: float = 1.0) -> dict:
    """The RNN with ``w_h`` scaled by ``gain``, SGD with and without global-norm clipping.

    Returns:
        ``{"init": (T,) norms through time, "init_gradient_norm": float, "runs": {name:
        {"losses": [...], "accuracy": [...], "gradient_norms": [...], "error": str or
        None}}}``; ``gradient_norms`` is the full-batch gradient norm (before clipping)
        at the initial params and after every epoch.
    """
    x, y = remember_first(samples, steps, seed)
    model, params, state = recurrent_classifier("RNN", hidden, steps, seed, gain)
    gradient_norm = gradient_norm_of(model, state, x, y)
    start_norm = gradient_norm(params)
    optimizers = {f"SGD {learning_rate:g}": optim.sgd(learning_rate),
                  f"clip {max_norm:g} + SGD {learning_rate:g}": optax.chain(
                      optim.clip_by_global_norm(max_norm), optim.sgd(learning_rate))}
    runs = {}
    for name, optimizer in optimizers.items():
        norms = [start_norm]

        def record(epoch, row, params, state, norms=norms):
            norms.append(gradient_norm(params))

        error = None
        try:
            history = fn.fit(model, params, state, optimizer, (x, y), epochs=epochs,
                             batch_size=64, key=jax.random.key(seed + 1), loss=LOSS,
                             progress=False, callback=record).history
        except fn.NonFiniteError as caught:
            error, history = str(caught), caught.result.history
        runs[name] = {"losses": history["train_loss"], "accuracy": history["train_accuracy"],
                      "gradient_norms": norms, "error": error}
    return {"init": through_time(model, params, x, y), "init_gradient_norm": start_norm,
            "runs": runs}


def vanishing_figure(results, steps: int, hidden: int) -> Figure:
    """||dL/dh_t|| against t, at initialisation and after training, one line per model."""
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    init_ax, trained_ax = fig.subplots(1, 2, sharey=True)
    plot.gradients_through_time({k: r["init"] for k, r in results.items()}, ax=init_ax,
                                title="at initialisation")
    plot.gradients_through_time({k: r["trained"] for k, r in results.items()},
                                ax=trained_ax, title="after training (Adam)")
    trained_ax.tick_params(labelleft=True)
    fig.suptitle(f"remember the first input over T={steps} steps, hidden size {hidden}: "
                 f"gradient reaching each hidden state")
    return fig


def exploding_figure(vanishing_rnn, exploding, steps: int, gain: float) -> Figure:
    """Norms through time for gain 1 and ``gain``; loss and gradient norm per epoch."""
    fig = Figure(figsize=(16, 4.6), layout="constrained")
    time_ax, loss_ax, norm_ax = fig.subplots(1, 3)
    plot.gradients_through_time({"RNN, orthogonal w_h": vanishing_rnn,
                                 f"RNN, {gain:g} x orthogonal w_h": exploding["init"]},
                                ax=time_ax, title=f"at initialisation (T={steps})")
    for (name, run), color in zip(exploding["runs"].items(), ("tab:red", "tab:blue"),
                                  strict=True):
        losses = np.asarray(run["losses"], dtype=float)
        loss_ax.plot(np.arange(1, len(losses) + 1), losses, color=color, marker="o",
                     markersize=3, label=f"{name} (last {losses[-1]:.3g})")
        norms = np.asarray(run["gradient_norms"], dtype=float)
        norm_ax.plot(np.arange(len(norms)), norms, color=color, marker="o", markersize=3,
                     label=name)
        if run["error"] is not None:
            loss_ax.axvline(len(losses) + 1, color=color, linestyle=":",
                            label=f"{name}: non-finite")
    loss_ax.set_ylabel("training loss (BCE)")
    loss_ax.set_xlabel("epoch")
    norm_ax.set_ylabel("full-batch gradient norm (before clipping)")
    norm_ax.set_xlabel("epoch (0 = initialisation)")
    norm_ax.set_yscale("log")
    for ax, title in ((loss_ax, "loss per epoch"), (norm_ax, "gradient norm")):
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"exploding gradients through time: RNN with {gain:g} x orthogonal "
                 f"recurrent weights, with and without clipping")
    return fig


def main(argv=None):
    parser = _cli.parser(__doc__, "vanishing_through_time",
                         "128 samples, 2 epochs, T=20 (a CI smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="data and init seed")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size of every model")
    parser.add_argument("--steps", type=int, default=50, help="sequence length T")
    parser.add_argument("--samples", type=int, default=1024, help="training sequences")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs")
    parser.add_argument("--gain", type=float, default=3.0,
                        help="scale of the exploding RNN's orthogonal recurrent weights")
    args = _cli.parse(parser, argv)
    samples, epochs, steps = ((128, 2, 20) if args.quick
                              else (args.samples, args.epochs, args.steps))
    out = args.out

    vanishing = vanishing_experiment(args.hidden, steps, samples, epochs, args.seed)
    last = steps - 1
    print(f"remember the first input: T={steps}, hidden {args.hidden}, {samples} "
          f"sequences, Adam 0.01 for {epochs} epochs; ratio ||dL/dh_0|| / ||dL/dh_{last}||")
    for kind, result in vanishing.items():
        history = result["history"]
        print(f"  {kind:4s} at init {ratio(result['init']):.2e}  after training "
              f"{ratio(result['trained']):.2e}  loss {history['train_loss'][0]:.4f} -> "
              f"{history['train_loss'][-1]:.4f}  train accuracy "
              f"{history['train_accuracy'][-1]:.1%}")

    exploding = exploding_experiment(args.hidden, steps, samples, epochs, args.seed,
                                     args.gain)
    print(f"exploding: RNN with {args.gain:g} x orthogonal w_h, ratio ||dL/dh_0|| / "
          f"||dL/dh_{last}|| {ratio(exploding['init']):.2e} at init, full-batch gradient "
          f"norm {exploding['init_gradient_norm']:.3g}")
    for name, run in exploding["runs"].items():
        norms = run["gradient_norms"]
        end = (f"stopped: {run['error']}" if run["error"] is not None else
               f"loss {run['losses'][0]:.4f} -> {run['losses'][-1]:.4f}, train accuracy "
               f"{run['accuracy'][-1]:.1%}")
        print(f"  {name:18s} gradient norm before clipping {norms[0]:.3g} at init, "
              f"{max(norms):.3g} at most, {norms[-1]:.3g} at the end; {end}")

    out.mkdir(parents=True, exist_ok=True)
    dpi = 72 if args.quick else 120
    plot.save(vanishing_figure(vanishing, steps, args.hidden), out / "through_time.png",
              dpi=dpi)
    plot.save(exploding_figure(vanishing["RNN"]["init"], exploding, steps, args.gain),
              out / "exploding_through_time.png", dpi=dpi)
    return tuple(r["history"]["train_accuracy"][-1] for r in vanishing.values())


if __name__ == "__main__":
    _cli.run(main)
