"""What fit's non-finite guard costs an epoch: the MNIST CNN and MLP, scan epochs side by side.

Four forms of the same epoch (``fit``'s own epoch function, ``mode="scan"``, Adam lr
1e-3, batch 128), each compiled once and timed round-robin with the order rotated
each round:

* ``no guard``: ``fit(guard=False)``: nothing checked (the baseline);
* ``fit``: what ``fit`` runs with the guard on: the report-only step
  (``make_update(skip=False)``: a flag on the loss and gradients, one float sum), a
  copy of the epoch's start and ``guard.epoch_finite`` on what the epoch ends with;
* ``per-step skip``: the step that checks everything it would keep and skips through a
  ``lax.cond`` (``make_update(skip=True)``, ``make_step``'s guard), in every step: what
  ``fit`` ran before, and now runs only to rerun an epoch that failed the check;
* ``report-only, boolean flag``: ``fit``'s form with the flag written the obvious way, a
  reduction of ``isfinite`` per leaf (``guard.all_finite``) instead of one float sum.

    PYTHONPATH=. python benchmarks/guard_cost.py --markdown
    PYTHONPATH=. python benchmarks/guard_cost.py --quick --markdown    # smoke run
"""

from __future__ import annotations

import argparse

import _common
import cnn_torch
import jax

from funcnet import losses, optim
from funcnet.train import epochs, guard, setup, step

MODELS = ("cnn", "mlp")
FORMS = ("no guard", "fit", "per-step skip", "report-only, boolean flag")
BASELINE = "no guard"
LOSS = "softmax_cross_entropy_with_integer_labels"


def epoch_runner(form, model, x, y, batch_size):
    """``run()``: one more epoch of ``form`` from the state it keeps (compiled at the first
    call)."""
    net = cnn_torch.funcnet_model(model)
    params, state = net.init(jax.random.key(0), x.shape[1:])
    tx = optim.adam(1e-3)
    guarded = form != "no guard"
    update = step.make_update(net, losses.get(LOSS), tx, "auto", guarded,
                              skip=form == "per-step skip")
    if form == "report-only, boolean flag":
        # the same step with all_finite's flag in place of the float sum (traced here,
        # at this function's first call, and compiled with it)
        plain_update = update

        def update(*args, **kw):
            original, step.finite_by_sum = step.finite_by_sum, guard.all_finite
            try:
                return plain_update(*args, **kw)
            finally:
                step.finite_by_sum = original

    n = len(x)
    run_epoch = epochs.make_scan_epoch(epochs.Steps(update), n, batch_size,
                                       epochs.DataLayout(None, None, batch_size))
    data = jax.device_put((x, y))
    carry = {"state": (params, state, tx.init(params)), "epoch": 0}

    def run():
        started = setup.snapshot(carry["state"]) if form == "fit" else None
        *kept, metrics = run_epoch(*carry["state"], data, jax.random.key(1), carry["epoch"])
        if form == "fit" and not guard.epoch_finite(jax.device_get(metrics), *kept):
            raise FloatingPointError("guard_cost: an epoch went non-finite")
        del started
        carry["state"], carry["epoch"] = tuple(kept), carry["epoch"] + 1
        return kept[0]

    return run


def run(models=MODELS, rounds=7, samples=12800, batch_size=128, data_dir=None,
        progress=False) -> dict:
    payload = {"settings": {"models": list(models), "rounds": rounds, "samples": samples,
                            "batch_size": batch_size},
               "results": [], "environment": _common.environment()}
    for model in models:
        x, y = cnn_torch.load(model, data_dir, samples)
        cases = {form: epoch_runner(form, model, x, y, batch_size) for form in FORMS}
        first = {form: _common.time_first_call(fn) for form, fn in cases.items()}
        times = _common.interleaved(cases, rounds, warmup=0, progress=progress)
        base = times[BASELINE]["seconds"]
        for form in FORMS:
            payload["results"].append({
                "model": model, "form": form, "samples": len(x),
                "epoch_s": _common.summarize(times[form]["seconds"]),
                "ratio": _common.paired_ratio(times[form]["seconds"], base),
                "first_epoch_s": first[form]})
    _common.finish_environment(payload["environment"])
    return payload


def markdown(payload) -> str:
    header = ["model", "guard", "epoch ms (median)", "IQR ms", f"× {BASELINE} (paired)",
              "ratio IQR", "first epoch s"]
    rows = [[r["model"], r["form"], _common.fmt(r["epoch_s"]["median"] * 1e3),
             f"{r['epoch_s']['p25'] * 1e3:.4g}–{r['epoch_s']['p75'] * 1e3:.4g}",
             f"{r['ratio']['median']:.3f}",
             f"{r['ratio']['p25']:.3f}–{r['ratio']['p75']:.3f}",
             _common.fmt(r["first_epoch_s"])] for r in payload["results"]]
    st = payload["settings"]
    first = payload["results"][0] if payload["results"] else {}
    lines = [_common.markdown_table(header, rows), "",
             f"- {first.get('samples')} MNIST training images an epoch, batch "
             f"{st['batch_size']}, Adam lr 0.001, fit's scan epoch; {st['rounds']} rounds "
             f"after the first (compiling) epoch, order rotated each round"]
    lines += [f"- {line}" for line in _common.environment_lines(payload["environment"])]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=12800)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds on 512 images: checks that the script runs")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"--models: unknown model {name!r}; known: {', '.join(MODELS)}")
    if args.quick:
        args.rounds, args.samples = 2, 512
    payload = run(args.models.split(","), args.rounds, args.samples, args.batch_size,
                  args.data_dir, progress=True)
    if args.json:
        _common.write_json(args.json, payload)
    if args.markdown:
        print(markdown(payload))
    return payload


if __name__ == "__main__":
    main()
