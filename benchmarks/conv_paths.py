"""The forms ``funcnet.layers.conv`` picks on XLA:CPU, each against Eigen's convolution.

1. A one-channel convolution's forward: ``lax.conv_general_dilated`` or one dot over the
   image's taps (where ``_taps_win`` says so).
2. The gradient with respect to ``x``: XLA's own convolution (funcnet's HWOI form) or one
   stride-2 convolution over both column phases (where ``_phases_win`` says so); rows
   ``N, k, C -> O, HW``.

Each row is one shape: batch ``N``, a ``k x k`` kernel over a one-channel ``HW x HW``
image (SAME padding, stride 1) into ``O`` channels. Both forms are compiled with the
options funcnet compiles with (``funcnet._compile``) and timed round-robin; the ratio
is the median of the per-round ratios of the taps' dot to the convolution, and the
last column says which form funcnet picks for that shape.

    python benchmarks/conv_paths.py --markdown
    python benchmarks/conv_paths.py --quick --markdown     # two small shapes
"""

from __future__ import annotations

import argparse

import _common
import jax
import jax.numpy as jnp
import numpy as np

from funcnet import _compile
from funcnet.layers import conv

# (N, k, O, HW): the MNIST CNN's first layer, then windows of 9 to 121 taps, few and
# many channels, a larger image
SHAPES = ((128, 5, 16, 28), (128, 3, 4, 28), (128, 3, 32, 28), (128, 5, 6, 32),
          (64, 5, 128, 28), (128, 7, 16, 28), (8, 7, 64, 112), (64, 9, 16, 28),
          (128, 11, 16, 28), (128, 11, 4, 28))
QUICK_SHAPES = ((8, 5, 16, 12), (4, 11, 4, 12))


def forms(k):
    pads, ones = (((k - 1) // 2, k // 2),) * 2, (1, 1)
    return {"conv": lambda x, w: conv._conv_lax(x, w, ones, pads, ones),
            "taps": lambda x, w: conv._conv_taps(x, w, ones, pads, ones)}


def _paired(forms, args, names, rounds, reps):
    """Compile the two ``forms`` (name -> function of ``args``), check they agree, time
    them round-robin; ratio of the second to the first."""
    compiled = {name: _compile.jit(f).lower(*args).compile() for name, f in forms.items()}
    first, second = names
    same = np.allclose(compiled[first](*args), compiled[second](*args), rtol=1e-4, atol=1e-3)
    timed = _common.interleaved({name: (lambda c=c: c(*args)) for name, c in compiled.items()},
                                rounds, reps)
    a, b = timed[first]["seconds"], timed[second]["seconds"]
    return {"same_values": bool(same), f"{first}_s": _common.summarize(a),
            f"{second}_s": _common.summarize(b),
            f"{second}_over_{first}": _common.paired_ratio(b, a)}


def time_shape(n, k, o, hw, rounds, reps):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n, hw, hw, 1)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(k, k, 1, o)), jnp.float32)
    return {"shape": {"N": n, "k": k, "O": o, "HW": hw},
            **_paired(forms(k), (x, w), ("conv", "taps"), rounds, reps),
            "funcnet_picks": "taps" if conv._taps_win(w) else "conv"}


GRAD_SHAPES = ((128, 5, 16, 32, 14), (128, 5, 8, 32, 14), (128, 3, 4, 16, 28),
               (32, 3, 16, 16, 32), (64, 3, 32, 64, 16), (128, 5, 32, 32, 14),
               (32, 3, 128, 128, 8))
QUICK_GRAD_SHAPES = ((4, 3, 4, 8, 8), (4, 3, 32, 8, 8))


def time_input_grad(n, k, c, o, hw, rounds, reps):
    rng = np.random.default_rng(0)
    pads, ones = (((k - 1) // 2, k // 2),) * 2, (1, 1)
    x = jnp.asarray(rng.normal(size=(n, hw, hw, c)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(k, k, c, o)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(n, hw, hw, o)), jnp.float32)
    fs = {"conv": lambda w, g: jax.linear_transpose(
              lambda dx: conv._input_tangent(dx, w, ones, pads, ones), x)(g)[0],
          "phases": lambda w, g: conv._input_grad_by_phases(w, g, pads, (hw, hw))}
    return {"shape": {"N": n, "k": k, "C": c, "O": o, "HW": hw},
            **_paired(fs, (w, g), ("conv", "phases"), rounds, reps),
            "funcnet_picks": "phases" if conv._phases_win(x, w, ones, pads, ones) else "conv"}


def markdown_grad(rows) -> str:
    header = ["N", "k", "C -> O", "HW", "conv ms", "phases ms", "phases / conv (paired)",
              "funcnet picks"]
    return _common.markdown_table(header, [
        [r["shape"]["N"], r["shape"]["k"], f"{r['shape']['C']} -> {r['shape']['O']}",
         r["shape"]["HW"], _common.fmt(r["conv_s"]["median"] * 1e3),
         _common.fmt(r["phases_s"]["median"] * 1e3), f"{r['phases_over_conv']['median']:.3f}",
         r["funcnet_picks"]] for r in rows])


def markdown(payload) -> str:
    header = ["N", "k", "O", "HW", "conv ms", "taps' dot ms", "taps / conv (paired)",
              "funcnet picks"]
    rows = [[r["shape"]["N"], r["shape"]["k"], r["shape"]["O"], r["shape"]["HW"],
             _common.fmt(r["conv_s"]["median"] * 1e3), _common.fmt(r["taps_s"]["median"] * 1e3),
             f"{r['taps_over_conv']['median']:.3f}", r["funcnet_picks"]]
            for r in payload["results"]]
    lines = ["One-channel forward:", "", _common.markdown_table(header, rows), "",
             "Input gradient (stride 1, SAME padding):", "",
             markdown_grad(payload["input_grad"]), "",
             f"- float32; {payload['settings']['rounds']} rounds of "
             f"{payload['settings']['reps']} calls"]
    lines += [f"- {line}" for line in _common.environment_lines(payload["environment"])]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="timed samples (default 9)")
    parser.add_argument("--reps", type=int, default=5, help="calls per sample")
    parser.add_argument("--quick", action="store_true", help="two small shapes, 2 rounds")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 9)
    reps = 1 if args.quick else args.reps
    payload = {"settings": {"rounds": rounds, "reps": reps}, "results": [],
               "input_grad": [], "environment": _common.environment()}
    for shape in QUICK_SHAPES if args.quick else SHAPES:
        payload["results"].append(time_shape(*shape, rounds, reps))
    for shape in QUICK_GRAD_SHAPES if args.quick else GRAD_SHAPES:
        payload["input_grad"].append(time_input_grad(*shape, rounds, reps))
    bad = [r["shape"] for r in payload["results"] + payload["input_grad"]
           if not r["same_values"]]
    if bad:
        raise SystemExit(f"conv_paths: the two forms disagree at {bad}")
    _common.finish_environment(payload["environment"])
    if args.json:
        _common.write_json(args.json, payload)
    print(markdown(payload) if args.markdown else payload)


if __name__ == "__main__":
    jax.config.update("jax_platforms", "cpu")
    main()
