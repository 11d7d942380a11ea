"""Gradient checking: three ways to the same gradient, and the common bugs it catches.

``funcnet.check.check_gradients`` compares, per parameter array, the NumPy twin's
backprop (``reference``), ``jax.grad`` and central differences, in float64. This script

1. checks a small MLP and (not with --quick) a CNN with BatchNorm, Residual and Dropout in
   training mode; both pass;
2. plants the lessons' common backprop bugs in a copy of the NumPy twin, one at a time:
   a wrong transpose, a missing 1/m, a wrong activation derivative, a bias gradient
   not summed over the batch, and the derivative taken at the activation output
   instead of the pre-activation; and shows the check catching each (the global
   ``reference.REGISTRY`` is never touched: each buggy twin is built by hand);
3. checks a user function with ``check_function``, once with a wrong custom derivative.

    python examples/gradient_check.py            # full run
    python examples/gradient_check.py --quick    # the MLP and the bugs only (CI smoke test)
"""

from __future__ import annotations

import dataclasses
import types

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import funcnet as fn
import reference
from funcnet import plot
from funcnet.check import (
    JAX_NUMERICAL,
    NUMERICAL_TOL,
    REFERENCE_JAX,
    REFERENCE_NUMERICAL,
    check_function,
    check_gradients,
)

# --- a reference twin with replaceable pieces --------------------------------------------

def make_twin(builders=None, losses=None):
    """A stand-in for the ``reference`` package whose layer builders/losses can be swapped.

    ``reference.build`` always uses the global ``reference.REGISTRY``; here a fresh dict
    (the real builders, updated with ``builders``) builds the network, and Sequential is
    composed by hand from it, so a planted bug never leaks into the real twin.

    Returns:
        An object with ``build(spec)`` and ``value_and_grad(...)``, what
        ``check_gradients(reference=...)`` calls.
    """
    registry = {**reference.REGISTRY, **(builders or {})}
    loss_pairs = {**reference.LOSSES, **(losses or {})}

    def build_module(spec, path):
        if spec["type"] != "Sequential":
            return registry[spec["type"]](spec, path)
        keys = spec["keys"]
        children = tuple(build_module(s, reference.compose.join(path, k))
                         for k, s in zip(keys, spec["layers"], strict=True))

        def forward(params, state, x, ctx):
            new_state, caches = {}, []
            for key, child in zip(keys, children, strict=True):
                x, new_state[key], cache = child.forward(
                    params[key], None if state is None else state[key], x, ctx)
                caches.append(cache)
            return x, new_state, caches

        def backward(dy, caches):
            dparams = {}
            for key, child, cache in reversed(list(zip(keys, children, caches, strict=True))):
                dy, dparams[key] = child.backward(dy, cache)
            return dy, dparams

        return reference.Module(forward, backward, path, spec, children)

    def paths(module):
        yield module.path
        for child in module.children:
            yield from paths(child)

    def build(spec):
        root = build_module(spec, "")
        return reference.Network(spec, root, tuple(paths(root)))

    def value_and_grad(net, params, x, targets, loss, *, state=None, train=False, extras=None,
                       reduction="mean"):
        forward_loss, backward_loss = loss_pairs[loss]
        y, _, cache = net.forward(params, x, state=state, train=train, extras=extras)
        value, loss_cache = forward_loss(y, targets, reduction)
        dy = backward_loss(np.ones((), dtype=y.dtype), loss_cache)
        dx, dparams = net.backward(dy, cache)
        return value, dparams, dx

    return types.SimpleNamespace(build=build, value_and_grad=value_and_grad)


def with_backward(builder, backward, when=lambda spec: True):
    """A builder making the same Module as ``builder`` but with ``backward`` swapped in."""
    def build(spec, path):
        module = builder(spec, path)
        return dataclasses.replace(module, backward=backward) if when(spec) else module

    return build


# --- the planted bugs ----------------------------------------------------------------------

def dense_backward_wrong_transpose(dy, cache):
    """dW = dZ.T @ A_prev (should be A_prev.T @ dZ): the lessons' "missing transpose"."""
    x, w, has_bias = cache
    dparams = {"w": dy.T @ x}  # (out, in): the right shape only because w is square here
    if has_bias:
        dparams["b"] = dy.sum(axis=0)
    return dy @ w.T, dparams


def dense_backward_bias_not_summed(dy, cache):
    """db = mean(dZ) over the batch (should be sum(dZ)): the 1/m of the loss applied twice."""
    x, w, has_bias = cache
    return dy @ w.T, {"w": x.T @ dy, "b": dy.mean(axis=0)}


def tanh_backward_wrong_derivative(da, cache):
    """dz = da * (1 - a) (should be da * (1 - a**2)): a wrong activation derivative."""
    a = cache
    return da * (1 - a), {}


def sigmoid_backward_at_output(da, cache):
    """dz = da * s(a)(1 - s(a)) with a = s(z) the output (should be a(1 - a) = s'(z))."""
    a = cache
    s = 1 / (1 + np.exp(-a))
    return da * s * (1 - s), {}


def mse_backward_missing_one_over_m(dloss, cache):
    """d yhat = 2 (yhat - y) / D (should be / (m D)): the batch's 1/m forgotten."""
    grad = reference.losses.mse_backward(dloss, cache)
    return grad * grad.shape[0]


def activation_is(name):
    return lambda spec: spec.get("name") == name


BUGS = {
    "wrong transpose in dW": make_twin(builders={
        "Dense": with_backward(reference.REGISTRY["Dense"], dense_backward_wrong_transpose)}),
    "missing 1/m in the loss gradient": make_twin(losses={
        "mse": reference.activations.Pair(reference.losses.mse_forward,
                                          mse_backward_missing_one_over_m)}),
    "wrong tanh derivative (1 - a)": make_twin(builders={
        "Activation": with_backward(reference.REGISTRY["Activation"],
                                    tanh_backward_wrong_derivative, activation_is("tanh"))}),
    "bias gradient not summed over the batch": make_twin(builders={
        "Dense": with_backward(reference.REGISTRY["Dense"], dense_backward_bias_not_summed)}),
    "sigmoid derivative at the output, not the pre-activation": make_twin(builders={
        "Activation": with_backward(reference.REGISTRY["Activation"],
                                    sigmoid_backward_at_output, activation_is("sigmoid"))}),
}


# --- the checks ----------------------------------------------------------------------------

def mlp_case(width, batch, seed):
    """A square-layered MLP (so a transposed dW still has the right shape) and an mse batch."""
    model = fn.Sequential([fn.Dense(width), fn.tanh, fn.Dense(width), fn.sigmoid,
                           fn.Dense(width)])
    # Only the structure comes from init (traced, not run); the values are random, biases
    # included, so that every term of every gradient is exercised.
    abstract, state = jax.eval_shape(lambda k: model.init(k, (width,)), jax.random.key(seed))
    rng = np.random.default_rng(seed)
    params = jax.tree.map(lambda p: rng.normal(size=p.shape) * 0.5, abstract)
    x, y = rng.normal(size=(batch, width)), rng.normal(size=(batch, width))
    return model, params, state, (x, y)


def cnn_case(batch, seed):
    """A small CNN with BatchNorm and Dropout, checked in training mode."""
    model = fn.Sequential([
        fn.Conv2D(4, 3), fn.BatchNorm(), fn.relu, fn.MaxPool2D(2),
        fn.Residual(fn.Sequential([fn.Conv2D(4, 3), fn.tanh])), fn.Dropout(0.3),
        fn.GlobalAvgPool(), fn.Dense(3),
    ])
    params, state = jax.jit(model.init, static_argnums=1)(jax.random.key(seed), (6, 6, 2))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 6, 6, 2))
    labels = rng.integers(0, 3, size=batch)
    return model, params, state, (x, labels)


def softplus_with_wrong_derivative():
    """softplus(x) = log(1 + e^x) whose custom derivative is sigmoid(2x), not sigmoid(x)."""
    @jax.custom_jvp
    def softplus(x):
        return jnp.logaddexp(0.0, x)

    @softplus.defjvp
    def _jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        return softplus(x), jax.nn.sigmoid(2 * x) * dx

    return softplus


def summary_line(name, report):
    cells = []
    for pair in (REFERENCE_JAX, REFERENCE_NUMERICAL, JAX_NUMERICAL):
        if pair in report.pairs:
            worst = report.worst(pair)
            cells.append(f"{pair} {worst.error:.1e} at {worst.path}{list(worst.index)}")
    verdict = "PASSED" if report.passed else "CAUGHT" if name != "correct twin" else "FAILED"
    return f"{name:58s} {verdict:7s} " + "; ".join(cells)


def errors_figure(reports):
    """Largest reference/numerical error per planted bug, log scale, with the 1e-7 bar."""
    fig = Figure(figsize=(9, 4.5))
    ax = fig.add_subplot()
    names = list(reports)
    values = [reports[n].max_error(REFERENCE_NUMERICAL) for n in names]
    colors = ["tab:green" if reports[n].passed else "tab:red" for n in names]
    ax.barh(range(len(names)), values, color=colors)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(left=min(values) / 10)
    ax.axvline(NUMERICAL_TOL, color="k", linestyle="--", label="threshold 1e-7")
    ax.set_xlabel("largest relative error, reference backprop vs central differences")
    ax.set_title("gradient check: the correct twin passes, every planted bug is caught")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = _cli.parser(__doc__, "gradient_check",
                         "the MLP and the planted bugs only, width 3, batch 4 (CI smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the models and data")
    args = _cli.parse(parser, argv)
    width, batch = (3, 4) if args.quick else (6, 16)
    sections = []

    def show(title, report):
        text = f"== {title} ==\n{report}\n"
        print(text)
        sections.append(text)

    model, params, state, mlp_batch = mlp_case(width, batch, args.seed)
    reports = {"correct twin": check_gradients(model, params, mlp_batch, "mse",
                                               reference=reference)}
    show(f"MLP {width}-{width}-{width}-{width} (tanh, sigmoid), mse: the real twin",
         reports["correct twin"])

    cnn_report = None
    if not args.quick:  # the test suite checks every layer; the full run shows a CNN too
        cnn, cnn_params, cnn_state, cnn_batch = cnn_case(4, args.seed)
        cnn_report = check_gradients(cnn, cnn_params, cnn_batch,
                                     "softmax_cross_entropy_with_integer_labels", cnn_state,
                                     train=True, key=jax.random.key(args.seed + 1),
                                     reference=reference)
        show("CNN: Conv2D, BatchNorm, MaxPool2D, Residual, Dropout, GlobalAvgPool (train)",
             cnn_report)

    for name, twin in BUGS.items():
        reports[name] = check_gradients(model, params, mlp_batch, "mse", reference=twin)
        show(f"planted bug: {name}", reports[name])

    x = np.linspace(-3.0, 3.0, 7)
    function_reports = {
        "softplus (jax's own derivative)": check_function(lambda v: jnp.logaddexp(0.0, v), x),
        "softplus with derivative sigmoid(2x)": check_function(softplus_with_wrong_derivative(),
                                                               x),
    }
    for name, report in function_reports.items():
        show(f"check_function: {name}", report)

    print("summary (worst relative error per pair):")
    lines = [summary_line(name, report) for name, report in reports.items()]
    if cnn_report is not None:
        lines.append(summary_line("CNN (train mode)", cnn_report))
    lines += [summary_line(name, report) for name, report in function_reports.items()]
    print("\n".join(lines))

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.txt").write_text("\n".join(sections) + "\nsummary\n"
                                         + "\n".join(lines) + "\n")
    plot.save(errors_figure(reports), args.out / "planted_bugs.png")
    return {**reports, **function_reports, **({"cnn": cnn_report} if cnn_report else {})}


if __name__ == "__main__":
    _cli.run(main)
