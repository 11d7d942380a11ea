"""Five optimizers on three surfaces: their paths over the contours, loss against step.

Gradient descent, momentum, Nesterov, RMSprop and Adam (``funcnet.optim``) minimise

* a round bowl, ``(x-1)^2 + (y-2)^2`` from (-2, -1) (lesson 000's gradient descent demo),
* an elongated bowl, ``(x-1)^2 + 50 (y-2)^2`` from (-2, -1): curvature 50 times larger
  across the valley than along it,
* Rosenbrock's valley, ``(1-x)^2 + 100 (y-x^2)^2`` from (-1, 1) (lesson 000's Adam demo),

each with a learning rate tuned for it on a sweep from 3e-4 to 0.3 (the table prints
them; the round bowl keeps lesson 000's 0.1 for all, and Adam on Rosenbrock the lesson's
0.01). Gradient descent must stay below 2 / (largest curvature): 0.02 on the elongated
bowl, which is why it crawls along the valley. Every run is one compiled ``lax.scan``
(all five optimizers of a surface in one call). Prints the step
at which each first reaches loss < 1e-6, or its loss when the budget runs out, and
saves one picture per surface (paths left, loss right) to ``--out``.

    python examples/optimizers.py                 # 3,000 steps per run
    python examples/optimizers.py --quick         # 300 steps (CI smoke test)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.colors

matplotlib.use("Agg")  # files only, never a window

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from funcnet import optim, plot  # noqa: E402

TARGET = 1e-6
OPTIMIZERS = {
    "gd": lambda lr: optim.sgd(lr),
    "momentum": lambda lr: optim.momentum(lr, beta=0.9),
    "nesterov": lambda lr: optim.momentum(lr, beta=0.9, nesterov=True),
    "rmsprop": lambda lr: optim.rmsprop(lr, decay=0.9),
    "adam": lambda lr: optim.adam(lr),
}


class Surface(NamedTuple):
    name: str
    f: Callable  # f(xy) -> scalar, xy of shape (2,)
    start: tuple[float, float]
    minimum: tuple[float, float]
    learning_rates: dict[str, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


SURFACES = [
    Surface("round_bowl", lambda p: (p[0] - 1) ** 2 + (p[1] - 2) ** 2, (-2.0, -1.0), (1.0, 2.0),
            {"gd": 0.1, "momentum": 0.1, "nesterov": 0.1, "rmsprop": 0.1, "adam": 0.1},
            (-2.5, 3.7), (-1.5, 4.7)),
    Surface("elongated_bowl", lambda p: (p[0] - 1) ** 2 + 50 * (p[1] - 2) ** 2, (-2.0, -1.0),
            (1.0, 2.0),
            {"gd": 0.019, "momentum": 0.005, "nesterov": 0.012, "rmsprop": 0.1, "adam": 0.1},
            (-2.5, 3.5), (-1.5, 5.0)),
    Surface("rosenbrock", lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
            (-1.0, 1.0), (1.0, 1.0),
            {"gd": 2e-3, "momentum": 2e-3, "nesterov": 1e-3, "rmsprop": 2e-3, "adam": 0.01},
            (-1.6, 1.6), (-0.6, 1.6)),
]


def descend(surface: Surface, steps: int) -> dict[str, np.ndarray]:
    """Every optimizer's path on ``surface``: ``{name: (steps + 1, 2)}``, start included."""
    grad_f = jax.grad(surface.f)

    def path(opt):
        def step(carry, _):
            xy, opt_state = carry
            updates, opt_state = opt.update(grad_f(xy), opt_state, xy)
            xy = optim.apply_updates(xy, updates)
            return (xy, opt_state), xy

        xy0 = jnp.asarray(surface.start)
        _, xys = jax.lax.scan(step, (xy0, opt.init(xy0)), None, length=steps)
        return jnp.concatenate([xy0[None], xys])

    optimizers = {name: make(surface.learning_rates[name]) for name, make in OPTIMIZERS.items()}
    paths = jax.jit(lambda: {name: path(opt) for name, opt in optimizers.items()})()
    return {name: np.asarray(paths[name], dtype=np.float64) for name in OPTIMIZERS}


def losses_along(surface: Surface, path: np.ndarray) -> np.ndarray:
    return np.asarray(jax.vmap(surface.f)(jnp.asarray(path)), dtype=np.float64)


def steps_to_target(losses: np.ndarray) -> int | None:
    """The first step whose loss is below TARGET (0 is the start), or None."""
    below = np.flatnonzero(losses < TARGET)
    return int(below[0]) if below.size else None


def draw(surface: Surface, paths: dict, losses: dict) -> Figure:
    """One small path panel per optimizer (their paths overlap when drawn together),
    each in the colour of its curve in the loss panel below."""
    fig = Figure(figsize=(15, 8), layout="constrained")
    grid = fig.add_gridspec(2, len(paths), height_ratios=[1, 1.1])
    for i, (name, path) in enumerate(paths.items()):
        ax = fig.add_subplot(grid[0, i])
        plot.optimizer_paths(surface.f, {name: path}, xlim=surface.xlim, ylim=surface.ylim,
                             log_levels=True, minimum=surface.minimum, ax=ax,
                             colors={name: f"C{i}"},
                             title=f"{name} (lr {surface.learning_rates[name]:g})")
        ax.legend(fontsize=7, loc="upper left")
        if i:
            ax.set_ylabel("")
    loss_ax = fig.add_subplot(grid[1, :])
    for i, (name, loss) in enumerate(losses.items()):
        # an exact 0 (the float32 minimum reached) has no place on a log axis
        loss_ax.plot(np.arange(len(loss)), np.where(loss > 0, loss, np.nan), color=f"C{i}",
                     label=f"{name} (lr {surface.learning_rates[name]:g})")
    loss_ax.axhline(TARGET, color="0.4", linestyle="--", linewidth=1, label="loss 1e-6")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title(f"{surface.name}: loss against step")
    loss_ax.grid(True, alpha=0.3)
    loss_ax.legend(fontsize=8)
    fig.suptitle(f"{surface.name}: each optimizer's path (top), and its loss (bottom)")
    return fig


def main(argv=None) -> dict:
    parser = _cli.parser(__doc__, "optimizers",
                         "300 steps per run (CI smoke test)")
    parser.add_argument("--steps", type=int, default=3000, help="budget per run")
    args = _cli.parse(parser, argv)
    steps = 300 if args.quick else args.steps

    results = {}
    print(f"steps to reach loss < {TARGET:g} (budget {steps}; '-' = not reached)")
    print(f"{'surface':16s} {'optimizer':10s} {'lr':>7s} {'steps':>6s} {'final loss':>11s}")
    for surface in SURFACES:
        paths = descend(surface, steps)
        losses = {name: losses_along(surface, path) for name, path in paths.items()}
        for name, loss in losses.items():
            reached = steps_to_target(loss)
            results[surface.name, name] = {"steps": reached, "final_loss": float(loss[-1])}
            shown = "-" if reached is None else str(reached)
            print(f"{surface.name:16s} {name:10s} {surface.learning_rates[name]:7g} "
                  f"{shown:>6s} {loss[-1]:11.3g}")
        saved = plot.save(draw(surface, paths, losses), args.out / f"{surface.name}.png")
        print(f"  -> {saved}")
    return results


if __name__ == "__main__":
    _cli.run(main)
