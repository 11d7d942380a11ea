"""Seconds per MNIST training epoch: ``funcnet.fit`` against eager PyTorch, side by side.

The two MNIST models of the README, Adam lr 1e-3, batch 128, float32, every epoch
shuffled, the last partial batch kept (fit pads and masks it; PyTorch runs it short):

* ``cnn``: conv5x5x16 (SAME)-relu-maxpool2, conv5x5x32 (SAME)-relu-maxpool2, flatten,
  dense128-relu, dense10;
* ``mlp``: 784-512-512-10 ReLU.

Implementations (``--impls``):

* ``torch``: eager PyTorch (``torch.set_num_threads(--threads)``, NCHW tensors, the
  usual ``zero_grad / backward / step`` loop over a tensor already in memory);
  left out, with a note, when torch is not installed (``pip install torch``);
* ``fit-scan``, ``fit-loop``: ``fn.fit(..., mode="scan")`` (the epoch is one compiled
  call) and ``mode="loop"`` (a compiled step per batch fed from the host);
* ``fit-scan-ynn-conv``: ``fit-scan`` compiled as plain ``jax.jit`` would, with XLA:CPU's
  YNNPACK doing the convolutions (``FUNCNET_YNN_CONVOLUTIONS=1``; ``funcnet._compile``
  says why funcnet leaves them to XLA's own kernels);
* the ``auto`` column says which of the two ``fit(mode="auto")`` picks.

Every implementation is a real training loop in a process of its own (``_workers.py``
says why) that pauses after each epoch (``epoch.Driver``); the epochs run round-robin
with the order rotated each round, so all see the same machine, and only one runs at
a time. The first epoch (compilation for funcnet) is reported apart and left out of the
medians; ratios are medians of per-round ratios to torch. ``--same-process`` runs them
all in this process instead, in threads (as this script did before).

    python benchmarks/cnn_torch.py --markdown
    python benchmarks/cnn_torch.py --quick --markdown      # tiny smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import _common
import _workers
import epoch as epoch_bench
import jax
import numpy as np

import funcnet as fn
from funcnet import data, optim
from funcnet.train import fit as fit_module
from funcnet.train import setup

MODELS = ("cnn", "mlp")
IMPLS = ("torch", "fit-scan", "fit-loop", "fit-scan-ynn-conv")
BASELINE = "torch"


def funcnet_model(model):
    if model == "cnn":
        return fn.Sequential([
            fn.Conv2D(16, 5), fn.relu, fn.MaxPool2D(2),
            fn.Conv2D(32, 5), fn.relu, fn.MaxPool2D(2),
            fn.Flatten(), fn.Dense(128), fn.relu, fn.Dense(10)])
    return fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(512), fn.relu, fn.Dense(10)])


def torch_model(model):
    import torch.nn as nn

    if model == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(7 * 7 * 32, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def train_torch(model, x, y, batch_size, lr, epochs, callback, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = torch_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    # NCHW, torch's native image layout; the MLP's images are already flat.
    xt = torch.from_numpy(np.ascontiguousarray(
        np.transpose(x, (0, 3, 1, 2)) if x.ndim == 4 else x))
    yt = torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(1)
    loss_fn = torch.nn.CrossEntropyLoss()
    for e in range(epochs):
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(xt), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item()
        if callback(e + 1, None, {"train_loss": total / -(-len(xt) // batch_size)}):
            return


def train_fit(model, x, y, batch_size, lr, epochs, callback, mode, ynn_convolutions=False):
    # read when fit compiles, which happens in this trainer's own turn of the round robin
    if ynn_convolutions:
        os.environ["FUNCNET_YNN_CONVOLUTIONS"] = "1"
    else:
        os.environ.pop("FUNCNET_YNN_CONVOLUTIONS", None)
    net = funcnet_model(model)
    params, state = net.init(jax.random.key(0), x.shape[1:])
    fn.fit(net, params, state, optim.adam(lr), (x, y), epochs=epochs, batch_size=batch_size,
           key=jax.random.key(1), mode=mode, progress=False,
           callback=lambda e, row, p, s: callback(e, p, row))


def trainer(impl, model, x, y, batch_size, lr, threads):
    """``train(params, epochs, callback)`` of one implementation, for ``epoch.Driver``."""
    if impl == "torch":
        return lambda p, e, cb: train_torch(model, x, y, batch_size, lr, e, cb, threads)
    mode = "loop" if impl == "fit-loop" else "scan"
    return lambda p, e, cb: train_fit(model, x, y, batch_size, lr, e, cb, mode,
                                      ynn_convolutions=impl == "fit-scan-ynn-conv")


def load(model, data_dir, samples):
    (x, y), _ = data.mnist(data_dir, layout="nhwc" if model == "cnn" else "flat")
    return (x[:samples], y[:samples]) if samples else (x, y)


def worker_argv(impl, model, samples, batch_size, lr, threads, data_dir, epochs):
    """The command of a child process that trains ``impl`` (see ``_workers``)."""
    argv = [sys.executable, __file__, "--worker", impl, "--models", model,
            "--batch-size", str(batch_size), "--lr", repr(lr), "--threads", str(threads),
            "--epochs", str(epochs)]
    argv += ["--samples", str(samples)] if samples else []
    return argv + (["--data-dir", str(data_dir)] if data_dir else [])


def time_model(model, x, y, impls, rounds, warmup, batch_size, lr, threads, progress,
               samples=None, data_dir=None, same_process=False):
    """Interleaved per-epoch seconds of each implementation on one model, each in a
    process of its own (``same_process``: all in this one, in threads)."""
    epochs = warmup + rounds + 1
    if same_process:
        drivers = {impl: epoch_bench.Driver(trainer(impl, model, x, y, batch_size, lr,
                                                    threads), None, epochs)
                   for impl in impls}
    else:
        drivers = {impl: _workers.ProcessDriver(worker_argv(impl, model, samples, batch_size,
                                                            lr, threads, data_dir, epochs))
                   for impl in impls}
    first, seconds = epoch_bench.round_robin(drivers, rounds, warmup, progress)
    auto = setup.pick_mode("auto", funcnet_model(model), x, y, fit_module.DEVICE_DATA_BUDGET)
    return [{"model": model, "impl": impl, "samples": len(x), "batch_size": batch_size,
             "epoch_s": _common.summarize(seconds[impl]), "first_epoch_s": first[impl],
             "ratio_to_torch": (_common.paired_ratio(seconds[impl], seconds[BASELINE])
                                if BASELINE in seconds else None),
             "final_train_loss": drivers[impl].rows[-1]["train_loss"],
             "auto_picks": auto if impl.startswith("fit") else None} for impl in impls]


def run(models=MODELS, impls=IMPLS, rounds=5, warmup=1, samples=None, batch_size=128,
        lr=1e-3, threads=2, data_dir=None, progress=False, log=print,
        same_process=False) -> dict:
    impls = list(impls)
    note = None
    if "torch" in impls and importlib.util.find_spec("torch") is None:
        impls.remove("torch")
        note = "torch is not installed: its column is left out (pip install torch)"
        log(f"[cnn_torch] {note}")
    payload = {"settings": {"models": list(models), "impls": impls, "rounds": rounds,
                            "warmup": warmup, "batch_size": batch_size, "lr": lr,
                            "torch_threads": threads, "samples": samples,
                            "same_process": same_process},
               "note": note, "results": [], "environment": _common.environment()}
    if "torch" in impls:
        import torch

        payload["environment"]["torch"] = torch.__version__
    for model in models:
        x, y = load(model, data_dir, samples)
        log(f"[{model}] {len(x)} samples, batch {batch_size}, {rounds} rounds: "
            f"{', '.join(impls)}")
        payload["results"] += time_model(model, x, y, impls, rounds, warmup, batch_size, lr,
                                         threads, progress, samples, data_dir, same_process)
    _common.finish_environment(payload["environment"])
    return payload


def markdown(payload) -> str:
    header = ["model", "impl", "epoch ms (median)", "IQR ms", "× torch (paired)",
              "first epoch s", "fit auto picks"]
    rows = []
    for r in payload["results"]:
        s, ratio = r["epoch_s"], r["ratio_to_torch"]
        rows.append([r["model"], r["impl"], _common.fmt(s["median"] * 1e3),
                     f"{s['p25'] * 1e3:.4g}–{s['p75'] * 1e3:.4g}",
                     None if ratio is None else f"{ratio['median']:.3f}",
                     _common.fmt(r["first_epoch_s"]), r["auto_picks"]])
    st = payload["settings"]
    first = payload["results"][0] if payload["results"] else {}
    lines = [_common.markdown_table(header, rows), "",
             f"- {first.get('samples')} MNIST training images an epoch, batch "
             f"{st['batch_size']}, Adam lr {st['lr']}; {st['rounds']} rounds after "
             f"{st['warmup']} warm-up epoch(s); torch threads {st['torch_threads']}; "
             + ("all implementations in one process" if st.get("same_process")
                else "each implementation in a process of its own")
             + (f", torch {payload['environment']['torch']}"
                if "torch" in payload["environment"] else "")]
    if payload["note"]:
        lines.append(f"- {payload['note']}")
    lines += [f"- {line}" for line in _common.environment_lines(payload["environment"])]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--rounds", type=int, default=None, help="timed epochs (default 5)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--samples", type=int, default=None,
                        help="use the first N MNIST training images (default all 60,000)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds on 1,024 images: checks that the script runs")
    parser.add_argument("--same-process", action="store_true",
                        help="run every implementation in this process, in threads "
                             "(by default each gets a process of its own: _workers.py)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default=None, help="write the results to this file")
    # a child process's own arguments (_workers.ProcessDriver starts it)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lr", type=float, default=1e-3, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"--models: unknown model {name!r}; known: {', '.join(MODELS)}")
    for name in args.impls.split(","):
        if name not in IMPLS:
            parser.error(f"--impls: unknown implementation {name!r}; known: {', '.join(IMPLS)}")
    if args.quick:
        args.rounds = args.rounds or 2
        args.samples = args.samples or 1024
    args.rounds = args.rounds or 5
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        x, y = load(args.models, args.data_dir, args.samples)
        train = trainer(args.worker, args.models, x, y, args.batch_size, args.lr, args.threads)
        return _workers.serve(epoch_bench.Driver(train, None, args.epochs))
    payload = run(args.models.split(","), args.impls.split(","), args.rounds, args.warmup,
                  args.samples, args.batch_size, threads=args.threads,
                  data_dir=args.data_dir, progress=True, log=lambda m: print(m, flush=True),
                  same_process=args.same_process)
    if args.json:
        _common.write_json(args.json, payload)
    if args.markdown:
        print(markdown(payload))
    return payload


if __name__ == "__main__":
    main()
