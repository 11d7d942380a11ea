"""XOR with the lessons' 2-4-1 network (tanh hidden layer, sigmoid output, binary
cross-entropy), trained by plain full-batch gradient descent twice: with funcnet's
jitted step, and with the NumPy ``reference`` twin alone, from the same initial weights.

    python examples/xor.py            # 2,000 steps each
    python examples/xor.py --quick    # CI smoke test
"""

from __future__ import annotations

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import jax.numpy as jnp
import numpy as np

import funcnet as fn
from funcnet import data, optim, plot
from reference import compose as ref_compose
from reference import optim as ref_optim

LOSS = "binary_cross_entropy_with_logits"  # sigmoid output fused with BCE


def build_model():
    """2-4-1: Dense(4) -> tanh -> Dense(1); the sigmoid lives in the loss."""
    return fn.Sequential([fn.Dense(4, w_init="he_normal"), fn.tanh, fn.Dense(1)])


def train_funcnet(model, params, state, x, y, steps, lr):
    optimizer = optim.sgd(lr)
    step = fn.make_step(model, LOSS, optimizer)
    opt_state = optimizer.init(params)
    params = jax.tree.map(jnp.array, params)  # the step donates its inputs
    losses = []
    key = jax.random.key(0)  # unused by this model (no dropout), required by the API
    for _ in range(steps):
        params, state, opt_state, metrics = step(params, state, opt_state, (x, y), key)
        losses.append(metrics["loss"])
    return params, [float(v) for v in losses]


def train_reference(spec, params, x, y, steps, lr):
    optimizer = ref_optim.sgd(lr)
    opt_state = optimizer.init(params)
    net = ref_compose.build(spec)
    losses = []
    for _ in range(steps):
        value, grads, _ = ref_compose.value_and_grad(net, params, x, y, LOSS)
        params, opt_state = optimizer.update(grads, opt_state, params)
        losses.append(float(value))
    return params, losses


def main(argv=None):
    parser = _cli.parser(__doc__, "xor",
                         "300 steps (CI smoke test)")
    parser.add_argument("--steps", type=int, default=2000, help="gradient-descent steps")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    args = _cli.parse(parser, argv)
    steps = 300 if args.quick else args.steps

    x, labels = data.xor()
    y = labels[:, None].astype(np.float32)
    model = build_model()
    params, state = model.init(jax.random.key(args.seed), (2,))
    start = jax.tree.map(np.asarray, params)

    fn_params, fn_losses = train_funcnet(model, params, state, x, y, steps, args.lr)
    ref_params, ref_losses = train_reference(model.spec, start, x, y, steps, args.lr)

    fn_logits = np.asarray(model.apply(fn_params, state, x)[0])[:, 0]
    ref_logits = ref_compose.build(model.spec).forward(ref_params, x)[0][:, 0]
    fn_acc = float(np.mean((fn_logits > 0) == (labels == 1)))
    ref_acc = float(np.mean((ref_logits > 0) == (labels == 1)))
    gap = max(float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))) for a, b in
              zip(jax.tree.leaves(fn_params), jax.tree.leaves(ref_params), strict=True))
    print(f"XOR 2-4-1 tanh/sigmoid, gradient descent lr {args.lr}, {steps} steps")
    print(f"{'input':>8} {'target':>6} {'funcnet p':>10} {'reference p':>12}")
    for xi, t, a, b in zip(x, labels, fn_logits, ref_logits, strict=True):
        sig = 1 / (1 + np.exp(-np.array([a, b])))
        print(f"{str(xi.astype(int).tolist()):>8} {t:>6d} {sig[0]:>10.4f} {sig[1]:>12.4f}")
    print(f"funcnet:   loss {fn_losses[-1]:.5f}, accuracy {fn_acc:.0%}")
    print(f"reference: loss {ref_losses[-1]:.5f}, accuracy {ref_acc:.0%}")
    print(f"largest parameter difference between the two runs, relative to the "
          f"parameter's scale: {gap:.1e} (float32 jit vs NumPy float32)")

    args.out.mkdir(parents=True, exist_ok=True)
    fig = plot.loss_curves(fn_losses, log_scale=True, label="funcnet (JAX)",
                           title="XOR: loss per step, funcnet and reference")
    # The two curves coincide to float32 rounding; the dashed one is drawn on top.
    fig.axes[0].plot(np.arange(len(ref_losses)), ref_losses, "--", color="tab:orange",
                     label="reference (NumPy)")
    fig.axes[0].legend()
    path = plot.save(fig, args.out / "loss.png")
    print(f"loss curve saved to {path}")
    return fn_acc, ref_acc


if __name__ == "__main__":
    _cli.run(main)
