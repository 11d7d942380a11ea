"""The NumPy twin's forward + backward against ``jax.jit(jax.value_and_grad)``, same batch.

For each model (the 784-512-512-10 ReLU MLP, and the small CNN of ``peers.py`` when
funcnet's Conv2D/MaxPool2D/Flatten and their ``reference`` twins exist) and each dtype
(float32, float64), one batch of softmax cross-entropy with integer labels:

* ``numpy``: ``reference.value_and_grad(model.spec, params, x, y, loss)``, the
  hand-written chain rule rebuilt from the model's description;
* ``jax``: ``jax.jit(jax.value_and_grad(loss))`` of the funcnet model.

Both get the same params (funcnet init, cast to the dtype) and the same batch. Timing:
round-robin after warm-up, medians, and the paired ratio numpy / jax per dtype. NumPy's
speed depends on its BLAS and the environment: the table notes ``OPENBLAS_CORETYPE``
when it is set (it selects a slower kernel on this processor).

    python benchmarks/reference.py --markdown
    python benchmarks/reference.py --quick --models mlp --markdown
"""

from __future__ import annotations

import argparse
import os
import sys

# This script is benchmarks/reference.py: import the ``reference`` package, not itself.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
import reference  # noqa: E402

sys.path.insert(0, _HERE)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # float64 runs need it; float32 stays explicit

import _common  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from peers import _funcnet_model, make_batch  # noqa: E402

import funcnet as fn  # noqa: E402

LOSS = "softmax_cross_entropy_with_integer_labels"
MODELS = ("mlp", "cnn")
DTYPES = ("float32", "float64")


def blas_info() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def build_cases(model: str, dtype: str, batch: int):
    """``(numpy_fn, jax_fn)``: each returns ``(loss, grads)`` for the same batch."""
    net = _funcnet_model(model)
    x, y = make_batch(model, batch)
    params, state = net.init(jax.random.key(0), x.shape[1:])
    params_np = jax.tree.map(lambda a: np.asarray(a, dtype=dtype), params)
    x = x.astype(dtype)
    twin = reference.build(net.spec)  # raises for a layer without a twin

    def numpy_step():
        value, dparams, _ = reference.value_and_grad(twin, params_np, x, y, LOSS)
        return value, dparams

    loss_fn = fn.losses.get(LOSS)

    def objective(p, xb, yb):
        out, _ = net.apply(p, state, xb)
        return loss_fn(out, yb)

    grad_fn = jax.jit(jax.value_and_grad(objective))
    params_j = jax.tree.map(jnp.asarray, params_np)
    x_j, y_j = jnp.asarray(x), jnp.asarray(y)

    def jax_step():
        return grad_fn(params_j, x_j, y_j)

    # The two must agree before their speeds are worth comparing.
    value_np, grads_np = numpy_step()
    value_j, grads_j = jax.device_get(jax_step())
    tol = 1e-3 if dtype == "float32" else 1e-9
    if not np.isclose(value_np, value_j, rtol=tol):
        raise AssertionError(f"{model}/{dtype}: loss numpy {value_np} != jax {value_j}")
    for a, b in zip(jax.tree.leaves(grads_np), jax.tree.leaves(grads_j), strict=True):
        scale = max(float(np.max(np.abs(b))), 1e-12)
        if float(np.max(np.abs(a - b))) > 10 * tol * scale:
            raise AssertionError(f"{model}/{dtype}: gradients of numpy and jax differ")
    return numpy_step, jax_step


def run_reference(models=MODELS, dtypes=DTYPES, batch=128, rounds=20, cnn_rounds=5,
                  warmup=1, log=print) -> dict:
    payload = {"settings": {"batch": batch, "rounds": rounds, "cnn_rounds": cnn_rounds,
                            "warmup": warmup, "loss": LOSS},
               "blas": blas_info(), "results": [], "skipped": [],
               "environment": _common.environment()}
    for model in models:
        cases = {}
        for dtype in dtypes:
            try:
                numpy_step, jax_step = build_cases(model, dtype, batch)
            except Exception as err:  # a missing twin or layer skips the model
                reason = f"{type(err).__name__}: {err}"
                payload["skipped"].append({"model": model, "dtype": dtype, "reason": reason})
                log(f"[{model}/{dtype}] skipped: {reason}")
                continue
            cases[f"numpy {dtype}"] = numpy_step
            cases[f"jax {dtype}"] = jax_step
        if not cases:
            continue
        n = cnn_rounds if model == "cnn" else rounds
        log(f"[{model}] timing {list(cases)} for {n} rounds")
        samples = _common.interleaved(cases, rounds=n, reps=1, warmup=warmup)
        for name in cases:
            impl, dtype = name.split()
            s = _common.summarize(samples[name]["seconds"])
            payload["results"].append({
                "model": model, "impl": impl, "dtype": dtype, "seconds": s,
                "ratio_to_jax": _common.paired_ratio(samples[name]["seconds"],
                                                     samples[f"jax {dtype}"]["seconds"]),
            })
    _common.finish_environment(payload["environment"])
    return payload


def markdown(payload) -> str:
    header = ["model", "dtype", "impl", "fwd+bwd ms (median)", "IQR ms", "× jax (paired)"]
    rows = [[r["model"], r["dtype"], r["impl"], _common.fmt(r["seconds"]["median"] * 1e3),
             f"{r['seconds']['p25'] * 1e3:.3g}–{r['seconds']['p75'] * 1e3:.3g}",
             f"{r['ratio_to_jax']['median']:.2f}"] for r in payload["results"]]
    st = payload["settings"]
    lines = [_common.markdown_table(header, rows), "",
             f"- batch {st['batch']}, loss {st['loss']}; {st['rounds']} rounds (MLP), "
             f"{st['cnn_rounds']} rounds (CNN); NumPy BLAS: {payload['blas']}"]
    lines += [f"- skipped {s['model']}/{s['dtype']}: {s['reason']}" for s in payload["skipped"]]
    lines += [f"- {line}" for line in _common.environment_lines(payload["environment"])]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--dtypes", default=",".join(DTYPES))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--cnn-rounds", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="2 rounds (smoke test)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    payload = run_reference(
        models=[m for m in args.models.split(",") if m],
        dtypes=[d for d in args.dtypes.split(",") if d], batch=args.batch,
        rounds=args.rounds or (2 if args.quick else 20),
        cnn_rounds=args.cnn_rounds or (2 if args.quick else 5),
        log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        _common.write_json(args.json, payload)
    if args.markdown or not args.json:
        print(markdown(payload))
    return payload


if __name__ == "__main__":
    main()
