"""The word list: checksum, search order, vocabulary, splits, context windows and padded
sequences (checked against makemore's loops and hand-worked words)."""

import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

import funcnet as fn
from funcnet import data, optim
from funcnet.data import words_loader

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "text" / "words.txt"


@pytest.fixture(scope="module")
def all_words():
    return data.words()


@pytest.fixture(scope="module")
def vocab(all_words):
    return data.char_vocab(all_words)


def test_the_shipped_list_has_63875_lowercase_words_and_its_licence(all_words):
    assert len(all_words) == words_loader.WORDS_COUNT == 63875
    assert all(w.isascii() and w.isalpha() and w.islower() for w in all_words)
    assert len(set(all_words)) == len(all_words)
    assert all_words[:2] == ["a", "aardvark"] and all_words[-1] == "zygotes"
    assert (SHIPPED.parent / "words-COPYRIGHT.txt").is_file()
    assert words_loader._checkout_text_dir() == SHIPPED.parent
    mine = data.words()
    mine.append("not kept")
    assert len(data.words()) == 63875  # a fresh list each call


def test_an_altered_copy_is_refused_and_a_missing_one_named(tmp_path, monkeypatch):
    raw = bytearray(SHIPPED.read_bytes())
    raw[0:1] = b"b"  # "a" -> "b": same size, other content
    (tmp_path / "words.txt").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"words: .*words\.txt has the wrong content: its "
                                         r"SHA-256 is [0-9a-f]{64}, expected a43c5061"):
        data.words(tmp_path)
    monkeypatch.delenv("FUNCNET_DATA", raising=False)
    monkeypatch.setattr(words_loader, "_checkout_text_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"(?s)words: words\.txt was not found.*"
                                                r"\$FUNCNET_DATA/text: not set.*"
                                                r"repository checkout: not running"):
        data.words(tmp_path / "empty")


def test_funcnet_data_env_is_searched(tmp_path, monkeypatch):
    (tmp_path / "text").mkdir()
    shutil.copy(SHIPPED, tmp_path / "text" / "words.txt")
    monkeypatch.setenv("FUNCNET_DATA", str(tmp_path))
    monkeypatch.setattr(words_loader, "_checkout_text_dir", lambda: None)
    assert len(data.words()) == 63875


def test_vocab_is_end_token_then_letters_and_round_trips(all_words, vocab):
    assert vocab.chars == (".", *"abcdefghijklmnopqrstuvwxyz") and vocab.size == 27
    assert vocab.ids["."] == 0 and vocab.ids["a"] == 1 and vocab.ids["z"] == 26
    assert all(vocab.decode(vocab.encode(w)) == w for w in all_words)
    assert vocab.encode("emma").dtype == np.int32


def test_windows_of_emma_with_block_3_by_hand(vocab):
    x, y = data.context_windows(["emma"], vocab, 3)
    e, m, a = 5, 13, 1
    np.testing.assert_array_equal(x, [[0, 0, 0], [0, 0, e], [0, e, m], [e, m, m], [m, m, a]])
    np.testing.assert_array_equal(y, [e, m, m, a, 0])
    assert x.dtype == y.dtype == np.int32


def test_windows_match_makemores_loop(all_words, vocab):
    sample = all_words[::50]
    x, y = data.context_windows(sample, vocab, 4)
    expected_x, expected_y = [], []
    for word in sample:
        context = [0] * 4
        for ch in word + ".":
            expected_x.append(context)
            expected_y.append(vocab.ids[ch])
            context = context[1:] + [vocab.ids[ch]]
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)
    x_all, _ = data.context_windows(all_words, vocab, 3)
    assert x_all.shape == (sum(len(w) + 1 for w in all_words), 3)


def test_splits_are_disjoint_complete_and_fixed_by_the_seed(all_words):
    train, val, test = data.word_splits(all_words, seed=0)
    assert (len(train), len(val), len(test)) == (51100, 6387, 6388)
    assert set(train).isdisjoint(val) and set(train).isdisjoint(test)
    assert set(val).isdisjoint(test)
    assert sorted(train + val + test) == sorted(all_words)
    assert data.word_splits(all_words, seed=0) == (train, val, test)
    assert data.word_splits(all_words, seed=1)[0] != train


def test_padded_sequences_of_emma_and_ava(vocab):
    x, y = data.padded_sequences(["emma", "ava"], vocab, length=6)
    np.testing.assert_array_equal(x, [[0, 5, 13, 13, 1, 0], [0, 1, 22, 1, 0, 0]])
    np.testing.assert_array_equal(y, [[5, 13, 13, 1, 0, -1], [1, 22, 1, 0, -1, -1]])


def test_padded_sequences_train_with_the_sequence_loss(all_words, vocab):
    x, y = data.padded_sequences(all_words[::400], vocab)
    assert x.shape == y.shape and x.shape[1] == max(map(len, all_words[::400])) + 1
    inputs = np.eye(vocab.size, dtype=np.float32)[x]  # one-hot: (N, T, 27)
    model = fn.Sequential([fn.Dense(vocab.size)])
    params, state = model.init(jax.random.key(0), inputs.shape[1:])
    result = fn.fit(model, params, state, optim.adam(0.05), (inputs, y), epochs=3,
                    batch_size=32, key=jax.random.key(1),
                    loss=fn.sequence_cross_entropy(ignore=-1))
    losses = result.history["train_loss"]
    assert losses[0] < np.log(27) + 0.1 and losses[-1] < losses[0]
