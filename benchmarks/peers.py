"""One training step, written idiomatically in funcnet and its peers, timed side by side.

Four models, the same work in every implementation (float32, softmax cross-entropy with
integer labels, Adam lr 1e-3); ``mlp`` and ``cnn`` run by default, at batch 128:

* ``mlp``: 784-512-512-10 ReLU MLP on ``(B, 784)``;
* ``cnn``: conv3x3x32-relu, conv3x3x64-relu (SAME), maxpool 2, flatten, dense128-relu,
  dense10 on NHWC ``(B, 28, 28, 1)`` (Equinox takes per-example CHW, so its batch is
  transposed once, outside the clock);
* ``gpt`` (``--models gpt``, batch 64): a character GPT on ``(B, 16)`` ids, vocabulary
  27, width 64, 2 pre-LN blocks of 4-head causal attention and a 4x gelu MLP, final
  LayerNorm, logits ``(B, 16, 27)``, the loss averaged over every step;
* ``lstm`` (``--models lstm``, batch 64): Embedding(27, 64), LSTM(128) over the 16
  steps, Dense(27), the same loss (``_sequence_models.py`` holds both, per library).

stax and Haiku are written for ``mlp`` and ``cnn`` only. ``--batch`` sets one batch
size for every model chosen.

Implementations (``--impls``; a peer whose package is missing is skipped with a note):

=================  ==========================================================  =======
name               how the step is written                                     donates
=================  ==========================================================  =======
funcnet            ``fn.make_step(model, loss, funcnet.optim.adam(1e-3))``     yes
funcnet-noguard    the same with ``guard=False`` (no finiteness check)         yes
funcnet-bare       ``guard=False, accuracy=None``: the work plain jax does        yes
jax                hand-written params dict + optax, ``jax.jit(donate_argnums)``  yes
jax-nodonate       the same without donation                                   no
stax               ``jax.example_libraries.stax`` + ``example_libraries.optimizers``  no
linen              Flax linen ``TrainState`` + ``jax.jit`` (the Flax examples)  no
nnx                Flax NNX ``nnx.Optimizer`` + ``nnx.jit``                    no
nnx-split          NNX ``split``/``merge`` under ``jax.jit`` (Flax's fast path)  yes
equinox            ``eqx.filter_jit`` + optax, ``jax.vmap`` over the batch      no
haiku              ``hk.transform`` + optax + ``jax.jit``                       no
=================  ==========================================================  =======

Every step returns its loss; a sample runs ``--reps`` steps back to back and blocks on
the last loss (by default as many as make a sample of the baseline last about
``--sample-ms``, the same count for every implementation of a model). Timing: see
``_common.py`` (warm-up, round-robin, medians, paired ratios to ``jax``). The
achieved FLOP rate uses the model's matmul/conv FLOPs (``2 * B * MACs * 3`` for forward
+ backward; for the sequence models ``2 * B * T * MACs per token * 3``, the MACs
counted in ``_sequence_models.macs_per_token``) against a large float32 matmul timed
in the same rounds.

    python benchmarks/peers.py --markdown                      # everything available
    python benchmarks/peers.py --quick --models mlp --impls funcnet,jax --markdown
    python benchmarks/peers.py --json out/peers.json
    python benchmarks/peers.py --models gpt,lstm --markdown --json out/peers_seq.json
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
from typing import NamedTuple

import _common
import _sequence_models as seq
import jax
import jax.numpy as jnp
import numpy as np
import optax

MODELS = ("mlp", "cnn")  # the default set
SEQUENCE_MODELS = seq.MODELS
ALL_MODELS = MODELS + SEQUENCE_MODELS
DEFAULT_BATCH = {"mlp": 128, "cnn": 128, "gpt": 64, "lstm": 64}
MLP_SIZES = (784, 512, 512, 10)
IMAGE = (28, 28, 1)
CLASSES = 10
BASELINE = "jax"


class Case(NamedTuple):
    """A ready-to-time implementation: ``run()`` does one step and returns its loss."""

    run: object
    donates: bool


def _needs(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return missing


def _ce(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def model_flops(model: str, batch: int) -> float:
    """Matmul/conv FLOPs of one forward + backward step: ``2 * B * MACs * 3``."""
    if model in SEQUENCE_MODELS:
        return 2.0 * batch * seq.STEPS * seq.macs_per_token(model) * 3
    if model == "mlp":
        macs = sum(a * b for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:], strict=True))
    else:
        h, w, c = IMAGE
        macs = h * w * 9 * c * 32 + h * w * 9 * 32 * 64
        macs += (h // 2) * (w // 2) * 64 * 128 + 128 * CLASSES
    return 2.0 * batch * macs * 3


def make_batch(model: str, batch: int, seed: int = 0):
    """Random inputs and labels (timing does not depend on the values)."""
    if model in SEQUENCE_MODELS:
        return seq.make_batch(batch, seed)
    rng = np.random.default_rng(seed)
    shape = (batch, MLP_SIZES[0]) if model == "mlp" else (batch, *IMAGE)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, CLASSES, size=batch).astype(np.int32)
    return x, y


# --------------------------------------------------------------------------- funcnet

def _funcnet_model(model):
    import funcnet as fn

    if model in SEQUENCE_MODELS:
        return seq.funcnet_model(model)
    if model == "mlp":
        return fn.Sequential([fn.Dense(512), fn.relu, fn.Dense(512), fn.relu, fn.Dense(10)])
    conv2d = getattr(fn, "Conv2D", None)
    max_pool, flatten = getattr(fn, "MaxPool2D", None), getattr(fn, "Flatten", None)
    if conv2d is None:
        from funcnet.layers.conv import Conv2D as conv2d
    if max_pool is None or flatten is None:
        from funcnet.layers.pool import Flatten as flatten
        from funcnet.layers.pool import MaxPool2D as max_pool
    return fn.Sequential([
        conv2d(32, 3), fn.relu, conv2d(64, 3), fn.relu, max_pool(2), flatten(),
        fn.Dense(128), fn.relu, fn.Dense(10),
    ])


def build_funcnet(model, x, y, guard=True, accuracy="auto"):
    import funcnet as fn
    import funcnet.optim

    net = _funcnet_model(model)
    key = jax.random.key(0)
    params, state = net.init(key, x.shape[1:])
    optimizer = funcnet.optim.adam(1e-3)
    opt_state = optimizer.init(params)
    step = fn.make_step(net, "softmax_cross_entropy_with_integer_labels", optimizer,
                        guard=guard, accuracy=accuracy)
    x, y = jnp.asarray(x), jnp.asarray(y)
    carry = [params, state, opt_state]

    def run():
        *carry[:], metrics = step(*carry, (x, y), key)
        return metrics["loss"]

    return Case(run, donates=True)


# --------------------------------------------------------------------------- plain jax

def _plain_init(model, key):
    if model in SEQUENCE_MODELS:
        return seq.plain_init(model, key)

    def dense(k, n_in, n_out):
        return {"w": jax.random.normal(k, (n_in, n_out)) * np.sqrt(2.0 / n_in),
                "b": jnp.zeros((n_out,))}

    def conv(k, c_in, c_out):
        return {"w": jax.random.normal(k, (3, 3, c_in, c_out)) * np.sqrt(2.0 / (9 * c_in)),
                "b": jnp.zeros((c_out,))}

    keys = jax.random.split(key, 4)
    if model == "mlp":
        pairs = zip(keys[:3], MLP_SIZES[:-1], MLP_SIZES[1:], strict=True)
        return [dense(k, a, b) for k, a, b in pairs]
    h, w, c = IMAGE
    return [conv(keys[0], c, 32), conv(keys[1], 32, 64),
            dense(keys[2], (h // 2) * (w // 2) * 64, 128), dense(keys[3], 128, CLASSES)]


def _plain_apply(model, params, x):
    if model in SEQUENCE_MODELS:
        return seq.plain_apply(model, params, x)
    if model == "mlp":
        for layer in params[:-1]:
            x = jax.nn.relu(x @ layer["w"] + layer["b"])
        return x @ params[-1]["w"] + params[-1]["b"]
    for layer in params[:2]:
        x = jax.lax.conv_general_dilated(x, layer["w"], (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.nn.relu(x + layer["b"])
    x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    x = x.reshape(x.shape[0], -1)
    x = jax.nn.relu(x @ params[2]["w"] + params[2]["b"])
    return x @ params[3]["w"] + params[3]["b"]


def plain_step_fn(model, tx):
    """The hand-written update: ``(params, opt_state, x, y) -> (params, opt_state, loss)``."""
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(
            lambda p: _ce(_plain_apply(model, p, x), y))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def build_jax(model, x, y, donate=True):
    tx = optax.adam(1e-3)
    params = _plain_init(model, jax.random.key(0))
    step = jax.jit(plain_step_fn(model, tx), donate_argnums=(0, 1) if donate else ())
    x, y = jnp.asarray(x), jnp.asarray(y)
    carry = [params, tx.init(params)]

    def run():
        *carry[:], loss = step(*carry, x, y)
        return loss

    return Case(run, donates=donate)


# --------------------------------------------------------------------------- stax

def build_stax(model, x, y):
    from jax.example_libraries import optimizers, stax

    if model == "mlp":
        layers = [stax.Dense(512), stax.Relu, stax.Dense(512), stax.Relu, stax.Dense(10)]
    else:
        layers = [stax.Conv(32, (3, 3), padding="SAME"), stax.Relu,
                  stax.Conv(64, (3, 3), padding="SAME"), stax.Relu,
                  stax.MaxPool((2, 2), strides=(2, 2)), stax.Flatten,
                  stax.Dense(128), stax.Relu, stax.Dense(10)]
    init_fun, apply_fun = stax.serial(*layers)
    _, params = init_fun(jax.random.key(0), (-1, *x.shape[1:]))
    opt_init, opt_update, get_params = optimizers.adam(1e-3)

    @jax.jit
    def update(i, opt_state, x, y):
        loss, grads = jax.value_and_grad(lambda p: _ce(apply_fun(p, x), y))(
            get_params(opt_state))
        return opt_update(i, grads, opt_state), loss

    x, y = jnp.asarray(x), jnp.asarray(y)
    carry = [opt_init(params), 0]

    def run():
        carry[0], loss = update(carry[1], carry[0], x, y)
        carry[1] += 1
        return loss

    return Case(run, donates=False)


# --------------------------------------------------------------------------- Flax linen

def build_linen(model, x, y):
    import flax.linen as nn
    from flax.training import train_state

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.relu(nn.Dense(512)(x))
            x = nn.relu(nn.Dense(512)(x))
            return nn.Dense(10)(x)

    class CNN(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.relu(nn.Conv(32, (3, 3))(x))
            x = nn.relu(nn.Conv(64, (3, 3))(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
            x = x.reshape((x.shape[0], -1))
            x = nn.relu(nn.Dense(128)(x))
            return nn.Dense(10)(x)

    net = seq.linen_model(model) if model in SEQUENCE_MODELS else \
        MLP() if model == "mlp" else CNN()
    x, y = jnp.asarray(x), jnp.asarray(y)
    variables = net.init(jax.random.key(0), x[:1])
    state = train_state.TrainState.create(apply_fn=net.apply, params=variables["params"],
                                          tx=optax.adam(1e-3))

    @jax.jit
    def train_step(state, x, y):
        def loss_fn(params):
            return _ce(state.apply_fn({"params": params}, x), y)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    carry = [state]

    def run():
        carry[0], loss = train_step(carry[0], x, y)
        return loss

    return Case(run, donates=False)


# --------------------------------------------------------------------------- Flax NNX

def _nnx_model(model):
    from flax import nnx

    if model in SEQUENCE_MODELS:
        return seq.nnx_model(model)

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(784, 512, rngs=rngs)
            self.l2 = nnx.Linear(512, 512, rngs=rngs)
            self.l3 = nnx.Linear(512, 10, rngs=rngs)

        def __call__(self, x):
            return self.l3(nnx.relu(self.l2(nnx.relu(self.l1(x)))))

    class CNN(nnx.Module):
        def __init__(self, rngs):
            h, w, c = IMAGE
            self.c1 = nnx.Conv(c, 32, (3, 3), rngs=rngs)
            self.c2 = nnx.Conv(32, 64, (3, 3), rngs=rngs)
            self.l1 = nnx.Linear((h // 2) * (w // 2) * 64, 128, rngs=rngs)
            self.l2 = nnx.Linear(128, 10, rngs=rngs)

        def __call__(self, x):
            x = nnx.relu(self.c2(nnx.relu(self.c1(x))))
            x = nnx.max_pool(x, (2, 2), strides=(2, 2))
            x = x.reshape((x.shape[0], -1))
            return self.l2(nnx.relu(self.l1(x)))

    return (MLP if model == "mlp" else CNN)(nnx.Rngs(0))


def _nnx_loss(net, x, y):
    return _ce(net(x), y)


def _nnx_optimizer(net):
    """Adam for ``net``; Flax >= 0.11 wants ``wrt`` (older Flax has no such argument)."""
    from flax import nnx

    try:
        return nnx.Optimizer(net, optax.adam(1e-3), wrt=nnx.Param)
    except TypeError:
        return nnx.Optimizer(net, optax.adam(1e-3))


def _nnx_update(optimizer, net, grads):
    """``optimizer.update(net, grads)`` in Flax >= 0.11, ``update(grads)`` before."""
    if "wrt" in vars(optimizer):
        optimizer.update(net, grads)
    else:
        optimizer.update(grads)


def build_nnx(model, x, y):
    from flax import nnx

    net = _nnx_model(model)
    optimizer = _nnx_optimizer(net)

    @nnx.jit
    def train_step(net, optimizer, x, y):
        loss, grads = nnx.value_and_grad(_nnx_loss)(net, x, y)
        _nnx_update(optimizer, net, grads)
        return loss

    x, y = jnp.asarray(x), jnp.asarray(y)
    return Case(lambda: train_step(net, optimizer, x, y), donates=False)


def build_nnx_split(model, x, y):
    from flax import nnx

    net = _nnx_model(model)
    optimizer = _nnx_optimizer(net)
    graphdef, state = nnx.split((net, optimizer))

    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, x, y):
        net, optimizer = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(_nnx_loss)(net, x, y)
        _nnx_update(optimizer, net, grads)
        return nnx.state((net, optimizer)), loss

    x, y = jnp.asarray(x), jnp.asarray(y)
    carry = [state]

    def run():
        carry[0], loss = train_step(carry[0], x, y)
        return loss

    return Case(run, donates=True)


# --------------------------------------------------------------------------- Equinox

def build_equinox(model, x, y):
    import equinox as eqx

    keys = jax.random.split(jax.random.key(0), 4)
    if model in SEQUENCE_MODELS:
        net = seq.equinox_model(model, keys[0])
    elif model == "mlp":
        net = eqx.nn.MLP(784, 10, 512, depth=2, activation=jax.nn.relu, key=keys[0])
    else:
        h, w, c = IMAGE

        class CNN(eqx.Module):
            c1: eqx.nn.Conv2d
            c2: eqx.nn.Conv2d
            pool: eqx.nn.MaxPool2d
            l1: eqx.nn.Linear
            l2: eqx.nn.Linear

            def __init__(self, keys):
                self.c1 = eqx.nn.Conv2d(c, 32, 3, padding="SAME", key=keys[0])
                self.c2 = eqx.nn.Conv2d(32, 64, 3, padding="SAME", key=keys[1])
                self.pool = eqx.nn.MaxPool2d(2, stride=2)
                self.l1 = eqx.nn.Linear((h // 2) * (w // 2) * 64, 128, key=keys[2])
                self.l2 = eqx.nn.Linear(128, 10, key=keys[3])

            def __call__(self, x):  # one example, (C, H, W)
                x = jax.nn.relu(self.c2(jax.nn.relu(self.c1(x))))
                x = self.pool(x).ravel()
                return self.l2(jax.nn.relu(self.l1(x)))

        net = CNN(keys)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    tx = optax.adam(1e-3)
    opt_state = tx.init(eqx.filter(net, eqx.is_array))

    @eqx.filter_jit
    def train_step(net, opt_state, x, y):
        def loss_fn(net):
            return _ce(jax.vmap(net)(x), y)

        loss, grads = eqx.filter_value_and_grad(loss_fn)(net)
        updates, opt_state = tx.update(grads, opt_state, eqx.filter(net, eqx.is_array))
        return eqx.apply_updates(net, updates), opt_state, loss

    x, y = jnp.asarray(x), jnp.asarray(y)
    carry = [net, opt_state]

    def run():
        *carry[:], loss = train_step(*carry, x, y)
        return loss

    return Case(run, donates=False)


# --------------------------------------------------------------------------- Haiku

def build_haiku(model, x, y):
    import haiku as hk

    def forward(x):
        if model == "mlp":
            return hk.nets.MLP([512, 512, 10])(x)
        return hk.Sequential([
            hk.Conv2D(32, 3), jax.nn.relu, hk.Conv2D(64, 3), jax.nn.relu,
            lambda v: hk.max_pool(v, window_shape=2, strides=2, padding="VALID"),
            hk.Flatten(), hk.Linear(128), jax.nn.relu, hk.Linear(10),
        ])(x)

    net = hk.without_apply_rng(hk.transform(forward))
    x, y = jnp.asarray(x), jnp.asarray(y)
    params = net.init(jax.random.key(0), x)
    tx = optax.adam(1e-3)

    @jax.jit
    def update(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(lambda p: _ce(net.apply(p, x), y))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    carry = [params, tx.init(params)]

    def run():
        *carry[:], loss = update(*carry, x, y)
        return loss

    return Case(run, donates=False)


# name -> (builder, packages it needs, models it is written for)
IMPLS = {
    "funcnet": (build_funcnet, ("funcnet",), ALL_MODELS),
    "funcnet-noguard": (functools.partial(build_funcnet, guard=False), ("funcnet",),
                        ALL_MODELS),
    # what plain jax's step does and no more: no guard, no accuracy
    "funcnet-bare": (functools.partial(build_funcnet, guard=False, accuracy=None),
                     ("funcnet",), ALL_MODELS),
    "jax": (build_jax, (), ALL_MODELS),
    "jax-nodonate": (functools.partial(build_jax, donate=False), (), ALL_MODELS),
    "stax": (build_stax, (), MODELS),
    "linen": (build_linen, ("flax",), ALL_MODELS),
    "nnx": (build_nnx, ("flax",), ALL_MODELS),
    "nnx-split": (build_nnx_split, ("flax",), ALL_MODELS),
    "equinox": (build_equinox, ("equinox",), ALL_MODELS),
    "haiku": (build_haiku, ("haiku",), MODELS),
}


def make_matmul(m: int, k: int, n: int):
    """A jitted float32 ``(m, k) @ (k, n)`` and its FLOPs, the machine's yardstick."""
    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.standard_normal((m, k), dtype=np.float32))
    b = jnp.asarray(rng.standard_normal((k, n), dtype=np.float32))
    matmul = jax.jit(jnp.matmul)
    return (lambda: matmul(a, b)), 2.0 * m * k * n


def run_peers(models=MODELS, impls=tuple(IMPLS), batch=None, rounds=30, reps=None, warmup=2,
              matmul=(1024, 2048, 1024), sample_ms=50.0, progress=False, log=print) -> dict:
    """Build, warm up and time every implementation of every model; returns the payload.

    The baseline ``jax`` is always included. Each model's implementations and the
    matmul are interleaved in the same rounds. ``batch=None`` takes each model's
    default (:data:`DEFAULT_BATCH`). ``reps=None`` picks the steps per sample
    from the baseline's warm step time so that a sample lasts about ``sample_ms``.
    """
    impls = list(dict.fromkeys([BASELINE, *impls]))
    unknown = [i for i in impls if i not in IMPLS]
    if unknown:
        raise SystemExit(f"peers: unknown implementation(s) {unknown}; choose from "
                         f"{sorted(IMPLS)}")
    mm_run, mm_flops = make_matmul(*matmul)
    matmul_name = f"matmul {matmul[0]}x{matmul[1]} @ {matmul[1]}x{matmul[2]}"
    payload = {"environment": _common.environment(), "settings": {
        "batch": {}, "rounds": rounds, "reps": {}, "warmup": warmup,
        "matmul": list(matmul), "dtype": "float32", "baseline": BASELINE},
        "skipped": [], "results": [], "matmul": []}
    for model in models:
        model_batch = DEFAULT_BATCH[model] if batch is None else batch
        payload["settings"]["batch"][model] = model_batch
        x, y = make_batch(model, model_batch)
        cases, first_call = {}, {}
        for name in impls:
            builder, needs, written_for = IMPLS[name]
            if model not in written_for:
                payload["skipped"].append({"model": model, "impl": name,
                                           "reason": "not written for this model"})
                log(f"[{model}] skip {name}: not written for this model")
                continue
            missing = _needs(*needs)
            if missing:
                payload["skipped"].append({"model": model, "impl": name,
                                           "reason": f"not installed: {', '.join(missing)}"})
                log(f"[{model}] skip {name}: not installed ({', '.join(missing)})")
                continue
            try:
                case = builder(model, x, y)
                first_call[name] = _common.time_first_call(case.run)
            except Exception as err:  # a peer that breaks must not stop the table
                payload["skipped"].append({"model": model, "impl": name,
                                           "reason": f"{type(err).__name__}: {err}"})
                log(f"[{model}] skip {name}: {type(err).__name__}: {err}")
                continue
            cases[name] = case
            log(f"[{model}] {name}: first call {first_call[name]:.2f} s")
        timed = {name: case.run for name, case in cases.items()}
        timed[matmul_name] = mm_run
        model_reps = reps
        if model_reps is None and BASELINE not in cases:
            model_reps = 1
        if model_reps is None:
            warm = min(_common.time_first_call(cases[BASELINE].run) for _ in range(3))
            model_reps = max(1, min(50, round(sample_ms / 1e3 / warm)))
        payload["settings"]["reps"][model] = model_reps
        samples = _common.interleaved(timed, rounds=rounds, reps=model_reps, warmup=warmup,
                                      progress=progress)
        mm = _common.summarize(samples[matmul_name]["seconds"])
        mm_rate = mm_flops / mm["median"]
        payload["matmul"].append({"model": model, "name": matmul_name, "seconds": mm,
                                  "gflops": mm_rate / 1e9})
        flops = model_flops(model, model_batch)
        base = samples.get(BASELINE)
        for name, case in cases.items():
            s = _common.summarize(samples[name]["seconds"])
            rate = flops / s["median"]
            payload["results"].append({
                "model": model, "impl": name, "donates": case.donates,
                "step_s": s,
                "ratio_to_jax": (_common.paired_ratio(samples[name]["seconds"],
                                                      base["seconds"]) if base else None),
                "first_call_s": first_call[name],
                "compile_s_est": first_call[name] - s["median"],
                "dispatch_s": _common.summarize(samples[name]["dispatch"]),
                "model_gflop": flops / 1e9,
                "gflops": rate / 1e9,
                "fraction_of_matmul": rate / mm_rate,
            })
    _common.finish_environment(payload["environment"])
    return payload


def markdown(payload) -> str:
    """The results as a markdown table, one row per model and implementation."""
    header = ["model", "impl", "donates", "step ms (median)", "IQR ms", "× jax (paired)",
              "first call s", "dispatch µs", "GFLOP/s", "% of matmul"]
    rows = []
    for r in payload["results"]:
        s = r["step_s"]
        ratio = r["ratio_to_jax"]
        rows.append([
            r["model"], r["impl"], "yes" if r["donates"] else "no",
            _common.fmt(s["median"] * 1e3), f"{s['p25'] * 1e3:.3g}–{s['p75'] * 1e3:.3g}",
            None if ratio is None else f"{ratio['median']:.3f}",
            _common.fmt(r["first_call_s"]), _common.fmt(r["dispatch_s"]["median"] * 1e6),
            _common.fmt(r["gflops"]), f"{100 * r['fraction_of_matmul']:.0f}%",
        ])
    settings = payload["settings"]
    lines = [_common.markdown_table(header, rows), ""]
    for mm in payload["matmul"]:
        lines.append(f"- {mm['model']}: {mm['name']} float32 ran at {mm['gflops']:.1f} GFLOP/s "
                     f"(median {mm['seconds']['median'] * 1e3:.2f} ms)")
    reps = ", ".join(f"{m} {r}" for m, r in settings["reps"].items())
    batches = settings["batch"]
    if isinstance(batches, dict) and len(set(batches.values())) > 1:
        batch = ", ".join(f"{m} {b}" for m, b in batches.items())
    else:
        batch = next(iter(batches.values())) if isinstance(batches, dict) else batches
    lines.append(f"- batch {batch}, {settings['rounds']} rounds, steps per "
                 f"sample: {reps}; {settings['warmup']} warm-up calls; ratios are medians "
                 f"of per-round ratios to `jax` (donated)")
    for s in payload["skipped"]:
        lines.append(f"- skipped {s['impl']} ({s['model']}): {s['reason']}")
    lines += [f"- {line}" for line in _common.environment_lines(payload["environment"])]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of {','.join(ALL_MODELS)}")
    parser.add_argument("--impls", default=",".join(IMPLS),
                        help=f"comma-separated subset of {','.join(IMPLS)}")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size for every model (default: mlp and cnn 128, "
                             "gpt and lstm 64)")
    parser.add_argument("--rounds", type=int, default=None, help="samples per implementation")
    parser.add_argument("--reps", type=int, default=None,
                        help="steps per sample (default: from --sample-ms)")
    parser.add_argument("--sample-ms", type=float, default=50.0,
                        help="target duration of one sample when --reps is not given")
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--matmul", default=None, help="M,K,N of the yardstick matmul")
    parser.add_argument("--quick", action="store_true",
                        help="few rounds and a smaller matmul (smoke test)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    bad = [m for m in models if m not in ALL_MODELS]
    if bad:
        raise SystemExit(f"peers: unknown model(s) {bad}; choose from {list(ALL_MODELS)}")
    impls = [i for i in args.impls.split(",") if i]
    rounds = args.rounds or (3 if args.quick else 30)
    reps = args.reps or (1 if args.quick else None)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    matmul = tuple(int(v) for v in (args.matmul or
                                     ("256,512,256" if args.quick else "1024,2048,1024")
                                     ).split(","))
    payload = run_peers(models, impls, batch=args.batch, rounds=rounds, reps=reps,
                        warmup=warmup, matmul=matmul, sample_ms=args.sample_ms,
                        progress=not args.quick,
                        log=lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.json:
        _common.write_json(args.json, payload)
    if args.markdown:
        print(markdown(payload))
    elif not args.json:
        for r in payload["results"]:
            print(f"{r['model']:4s} {r['impl']:16s} {r['step_s']['median'] * 1e3:9.3f} ms  "
                  f"x{r['ratio_to_jax']['median']:.3f}")
    return payload


if __name__ == "__main__":
    main()
