"""The main sequence example: a bigram, an LSTM and a tiny GPT learn to spell English words.

Data: the 63,875 lowercase words of ``data/text/words.txt`` (SCOWL), split 80/10/10 by a
fixed seed, each word a sequence ``"." + word`` -> ``word + "."`` of character ids (the
end token ``"."`` is id 0), padded to one length with the ignore id -1.

Three models, each trained with ``funcnet.fit`` on the sequence cross-entropy:

* a bigram: one table of next-character logits. Its maximum-likelihood solution is the
  table of counts (``log P(b | a)``, add-one smoothed); the script builds that exactly,
  and also trains the same ``Embedding(27, 27)`` with ``fit`` to show it gets there;
* an LSTM: ``Embedding -> LSTM -> Dense``;
* a tiny GPT: ``Embedding + PositionalEmbedding -> TransformerBlock x 2 -> LayerNorm ->
  Dense`` with causal attention.

It prints each model's test loss in nats per character (over every real character of
the test words), samples 20 new words from the GPT, and saves the loss curves and the
attention maps of each head for one word.

    python examples/tiny_gpt.py              # the full run
    python examples/tiny_gpt.py --quick      # a smoke run on 300 words, small models (CI)
"""

from __future__ import annotations

import time

import _cli  # examples/_cli.py: --help with defaults, --out, --quick
import jax
import numpy as np

import funcnet as fn
from funcnet import data, optim, plot

IGNORE = -1


def parse_args(argv=None):
    parser = _cli.parser(__doc__, "tiny_gpt",
                         "one epoch each on 300 training words, width and hidden "
                         "size 16 (a smoke test)")
    parser.add_argument("--epochs-lstm", type=int, default=4, help="LSTM epochs")
    parser.add_argument("--epochs-gpt", type=int, default=6, help="GPT epochs")
    parser.add_argument("--batch-size", type=int, default=128, help="words per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak Adam learning rate")
    parser.add_argument("--width", type=int, default=64, help="GPT width D (4 heads)")
    parser.add_argument("--hidden", type=int, default=128, help="LSTM hidden size")
    parser.add_argument("--seed", type=int, default=0, help="seed of splits, init, sampling")
    args = _cli.parse(parser, argv)
    return args


def nats_per_char(model, params, state, x, y) -> float:
    """Mean of -log p(target) over every real (not ignored) target character."""
    logits = np.asarray(fn.predict(model, params, state, x), np.float64)
    log_p = logits - logits.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    real = y != IGNORE
    return float(-np.take_along_axis(log_p, np.where(real, y, 0)[..., None], -1)[..., 0][
        real].mean())


def bigram_from_counts(x, y, vocab_size: int):
    """``{"w": log P(next | current)}`` from add-one smoothed counts of the pairs."""
    real = y != IGNORE
    counts = np.ones((vocab_size, vocab_size))
    np.add.at(counts, (x[real], y[real]), 1.0)
    return {"w": np.log(counts / counts.sum(axis=1, keepdims=True)).astype(np.float32)}


def gpt(vocab_size: int, length: int, width: int):
    return fn.Sequential([
        fn.Embedding(vocab_size, width), fn.PositionalEmbedding(length),
        fn.TransformerBlock(4, features=width), fn.TransformerBlock(4, features=width),
        fn.LayerNorm(), fn.Dense(vocab_size)])


def train(name, model, key, x, y, val, epochs, args, lr=None):
    """``fit`` with Adam on a cosine schedule; returns params, state and history."""
    init_key, fit_key = jax.random.split(key)
    params, state = model.init(init_key, x.shape[1:])
    steps = max(epochs * -(-len(x) // args.batch_size), 1)
    start = time.perf_counter()
    params, state, _, history = fn.fit(
        model, params, state, optim.adam(optim.cosine_decay_schedule(lr or args.lr, steps)),
        (x, y), epochs=epochs, batch_size=min(args.batch_size, len(x)), key=fit_key,
        eval_data=val, loss=fn.sequence_cross_entropy(ignore=IGNORE), accuracy=None)
    print(f"{name}: {epochs} epochs in {time.perf_counter() - start:.1f} s, validation "
          f"loss {history['eval_loss'][-1]:.4f}", flush=True)
    return params, state, history


def sample_words(model, params, state, vocab, key, count: int, length: int) -> list[str]:
    """Draw ``count`` words one character at a time; causal attention means position
    ``t`` of a padded buffer sees only the characters drawn so far."""
    logits_at = jax.jit(lambda p, ids, t: model.apply(p, state, ids)[0][:, t])
    ids = np.zeros((count, length), np.int32)
    for t in range(length - 1):
        key, draw = jax.random.split(key)
        ids[:, t + 1] = np.asarray(jax.random.categorical(draw, logits_at(params, ids, t)))
    words = []
    for row in ids[:, 1:]:
        end = np.flatnonzero(row == 0)
        words.append(vocab.decode(row[: end[0] if end.size else len(row)]))
    return words


def attention_figure(model, params, state, vocab, word: str, length: int):
    """The attention maps of the first block's heads on ``"." + word``."""
    ids = np.zeros((1, length), np.int32)
    ids[0, : len(word) + 1] = vocab.encode("." + word)
    nodes = {node.path: node.layer for node in fn.walk(model)}
    (path,) = [p for p, layer in nodes.items()
               if p.startswith("transformer_block_2/") and p.endswith("multi_head_attention_1")]
    inputs = fn.diagnostics.activations(model, params, state, ids)
    x = inputs[path.rsplit("/", 1)[0] + "/layer_norm_0"]
    layer_params = params
    for part in path.split("/"):
        layer_params = layer_params[part]
    weights = fn.layers.attention_weights(nodes[path], layer_params, x)
    steps = len(word) + 1
    tokens = list("." + word)
    return plot.attention_maps(np.asarray(weights[0, :, :steps, :steps]), tokens,
                               title=f"first block's attention heads on '.{word}'")


def loss_figure(histories: dict, bigram_loss: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.add_subplot()
    for (name, history), color in zip(histories.items(), ("tab:orange", "tab:green"),
                                      strict=True):
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        ax.plot(epochs, history["train_loss"], "--", color=color, label=f"{name} train")
        ax.plot(epochs, history["eval_loss"], "-o", color=color, label=f"{name} validation")
    ax.axhline(bigram_loss, color="tab:blue", label="bigram (counts), validation, per character")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per character, mean per word)")
    ax.set_title("next-character loss on English words")
    ax.legend(fontsize=8)
    return fig


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    words = data.words()
    vocab = data.char_vocab(words)
    train_words, val_words, test_words = data.word_splits(words, seed=args.seed)
    if args.quick:
        train_words, val_words, test_words = train_words[:300], val_words[:100], \
            test_words[:100]
        args.epochs_lstm = args.epochs_gpt = 1
        args.width, args.hidden = 16, 16
    length = max(len(w) for w in words) + 1
    x, y = data.padded_sequences(train_words, vocab, length=length, ignore=IGNORE)
    val = data.padded_sequences(val_words, vocab, length=length, ignore=IGNORE)
    x_test, y_test = data.padded_sequences(test_words, vocab, length=length, ignore=IGNORE)
    print(f"{len(train_words)} train / {len(val_words)} validation / {len(test_words)} test "
          f"words, {vocab.size} characters, sequences of {length}", flush=True)
    keys = jax.random.split(jax.random.key(args.seed), 4)

    bigram = fn.Sequential([fn.Embedding(vocab.size, vocab.size)])
    exact = bigram_from_counts(x, y, vocab.size)
    fitted, _, _ = train("bigram (fit)", bigram, keys[0], x, y, val, 1 if args.quick else 2,
                         args, lr=0.5)
    lstm = fn.Sequential([fn.Embedding(vocab.size, 32), fn.LSTM(args.hidden),
                          fn.Dense(vocab.size)])
    lstm_params, lstm_state, lstm_history = train("lstm", lstm, keys[1], x, y, val,
                                                  args.epochs_lstm, args)
    model = gpt(vocab.size, length, args.width)
    gpt_params, gpt_state, gpt_history = train("gpt", model, keys[2], x, y, val,
                                               args.epochs_gpt, args)

    losses = {
        "bigram": nats_per_char(bigram, {"embedding_0": exact}, {"embedding_0": {}},
                                x_test, y_test),
        "bigram (fit)": nats_per_char(bigram, fitted, {"embedding_0": {}}, x_test, y_test),
        "lstm": nats_per_char(lstm, lstm_params, lstm_state, x_test, y_test),
        "gpt": nats_per_char(model, gpt_params, gpt_state, x_test, y_test),
    }
    for name, value in losses.items():
        print(f"test loss {name}: {value:.4f}")
    print(f"gpt / bigram: {losses['gpt'] / losses['bigram']:.3f}")
    samples = sample_words(model, gpt_params, gpt_state, vocab, keys[3], 20, length)
    print("gpt samples:", " ".join(samples))

    args.out.mkdir(parents=True, exist_ok=True)
    val_bigram = nats_per_char(bigram, {"embedding_0": exact}, {"embedding_0": {}}, *val)
    plot.save(loss_figure({"lstm": lstm_history, "gpt": gpt_history}, val_bigram),
              args.out / "curves.png")
    word = next(w for w in test_words if 6 <= len(w) <= 9) if not args.quick else \
        test_words[0]
    plot.save(attention_figure(model, gpt_params, gpt_state, vocab, word, length),
              args.out / "attention.png")
    print(f"{time.perf_counter() - start:.1f} s in all; pictures in {args.out}/")
    return losses


if __name__ == "__main__":
    _cli.run(main)
