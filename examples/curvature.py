"""Gradient descent diverges just past 2 / lambda_max: measured, then shown.

On a quadratic, gradient descent multiplies the error along the Hessian's eigenvector
of eigenvalue ``lambda`` by ``1 - lr * lambda`` every step, so it converges exactly when
``lr < 2 / lambda_max``. Here ``lambda_max`` is measured with
``funcnet.diagnostics.hessian_top_eigenvalue`` (power iteration on Hessian-vector
products), on lesson 000's three bowls

* ``x^2 + y^2`` (lambda_max = 2), the gradient-field demo,
* ``x^2 + 2 y^2`` (lambda_max = 4), the gradient-properties demo,
* ``(x-1)^2 + (y-2)^2`` (lambda_max = 2), the gradient-descent demo,

and on a small network (2-16-1 tanh regression, mean squared error) at a minimum found
by training it. From each, gradient descent runs at 0.9 and at 1.1 times
``2 / lambda_max``: the first converges (the network stays in its minimum), the second
diverges (on the network: the loss grows geometrically and throws the params out of
the minimum, until they land somewhere flatter, where ``2 / lambda`` is larger: the
"catapult" of large-rate training). A second picture is the network's loss
landscape around that minimum (``funcnet.diagnostics.loss_landscape``, filter-normalised
directions as in Li et al. 2018).

    python examples/curvature.py            # 100 descent steps per run
    python examples/curvature.py --quick    # 40 (CI)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")  # files only, never a window

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import numpy as np  # noqa: E402

import funcnet as fn  # noqa: E402
from funcnet import diagnostics, optim, plot  # noqa: E402
from funcnet.plot._figures import new_figure  # noqa: E402

BOWLS = {  # lesson 000: name -> (f(p) with p = (x, y), start, lambda_max on paper)
    "x² + y²": (lambda p: p[0] ** 2 + p[1] ** 2, (3.0, -2.0), 2.0),
    "x² + 2y²": (lambda p: p[0] ** 2 + 2 * p[1] ** 2, (3.0, -2.0), 4.0),
    "(x-1)² + (y-2)²": (lambda p: (p[0] - 1) ** 2 + (p[1] - 2) ** 2, (-2.0, -1.0), 2.0),
}
FACTORS = (0.9, 1.1)


def descend(loss, params, rate: float, steps: int) -> np.ndarray:
    """``(steps + 1,)`` losses of plain gradient descent at ``rate``, one compiled scan."""
    grad = jax.value_and_grad(loss)

    def step(p, _):
        value, g = grad(p)
        return jax.tree.map(lambda w, d: w - rate * d, p, g), value

    final, values = jax.lax.scan(step, params, None, length=steps)
    return np.append(np.asarray(values), float(loss(final)))


def small_network(seed: int):
    """A 2-16-1 tanh net trained to a minimum: ``(loss(params) -> scalar, params)``."""
    key_x, key_init = jax.random.split(jax.random.key(seed))
    x = jax.random.uniform(key_x, (128, 2), minval=-2, maxval=2)
    y = jnp.sin(x[:, :1]) * jnp.cos(x[:, 1:])
    model = fn.Sequential([fn.Dense(16), fn.tanh, fn.Dense(1)])
    params, state = model.init(key_init, (2,))

    def loss(p):
        return fn.mse(model.apply(p, state, x)[0], y)

    # Adam to the bottom of a valley; the minimum is then where the test starts
    params, *_ = fn.fit(model, params, state, optim.adam(1e-2), (x, y), epochs=1500,
                        batch_size=128, key=jax.random.key(1), loss="mse", accuracy=None)
    return loss, params


def main(argv=None):
    parser = _cli.parser(__doc__, "curvature", "40 descent steps (CI smoke test)")
    parser.add_argument("--steps", type=int, default=100, help="gradient-descent steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the small network")
    args = _cli.parse(parser, argv)
    steps = 40 if args.quick else args.steps

    problems = {}
    for name, (f, start, on_paper) in BOWLS.items():
        params = jnp.array(start)
        problems[name] = (f, params, on_paper)
    loss, params = small_network(args.seed)
    problems["2-16-1 tanh net at a minimum"] = (loss, params, None)

    results = {}
    for name, (f, params, on_paper) in problems.items():
        top = diagnostics.hessian_top_eigenvalue(f, params, tol=1e-6, max_iterations=1000)
        paper = "" if on_paper is None else f" (on paper {on_paper:g})"
        curves = {factor: descend(f, params, factor * 2 / top.eigenvalue, steps)
                  for factor in FACTORS}
        results[name] = (top.eigenvalue, curves)
        verdicts = []
        for factor, values in curves.items():
            peak, last = values.max() / values[0], values[-1] / values[0]
            verdict = "never rises" if peak <= 1 else f"rises up to x{peak:.3g}"
            verdicts.append(f"lr = {factor} * 2/lambda: loss {verdict}, x{last:.3g} after "
                            f"{steps} steps")
        print(f"{name}: lambda_max {top.eigenvalue:.6g}{paper}, {top.iterations} "
              f"Hessian-vector products; " + "; ".join(verdicts))

    args.out.mkdir(parents=True, exist_ok=True)
    fig = new_figure((4.2 * len(results), 3.6))
    for ax, (name, (lam, curves)) in zip(fig.subplots(1, len(results)), results.items(),
                                         strict=True):
        for factor, color in zip(FACTORS, ("tab:blue", "tab:red"), strict=True):
            ax.plot(np.maximum(curves[factor], 1e-300), color=color,
                    label=f"lr = {factor} · 2/λ = {factor * 2 / lam:.3g}")
        ax.set_yscale("log")
        ax.set_xlabel("gradient-descent step")
        ax.set_ylabel("loss")
        ax.set_title(f"{name}\nλmax = {lam:.4g}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("gradient descent converges below 2/λmax and diverges just above it")
    plot.save(fig, args.out / "curvature.png")
    scape = diagnostics.loss_landscape(loss, params, dims=2, span=1.0,
                                       points=21 if args.quick else 41)
    plot.save(plot.loss_landscape(scape, log_scale=True,
                                  title="2-16-1 tanh net around its minimum\n"
                                        "(filter-normalised directions)"),
              args.out / "landscape.png")
    print(f"pictures in {args.out}/")
    return {name: lam for name, (lam, _) in results.items()}


if __name__ == "__main__":
    _cli.run(main)
