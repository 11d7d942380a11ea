"""The word list for character-level language models, makemore-style.

:func:`words` reads ``words.txt`` (63,875 lowercase English words, one a line) and
verifies it by SHA-256 before returning anything. It looks, in order, in:

1. ``data_dir``, when given (the folder holding ``words.txt``);
2. ``$FUNCNET_DATA/text``, when the ``FUNCNET_DATA`` environment variable is set;
3. ``<repository>/data/text``, when funcnet runs from a source checkout (an editable
   install finds it there, as it finds ``data/mnist``).

The file ships with the repository (with its licence, ``words-COPYRIGHT.txt``); it is
never downloaded. The rest turns words into model inputs: a character vocabulary whose
id 0 is the end token ``"."`` (:func:`char_vocab`), fixed-seed splits
(:func:`word_splits`), fixed-size context windows for an MLP (:func:`context_windows`)
and padded ``(N, T)`` next-character sequences for a sequence model trained with
``funcnet.sequence_cross_entropy(ignore=-1)`` (:func:`padded_sequences`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from funcnet.data import _common

WORDS_FILE = "words.txt"
#: SHA-256 of ``words.txt`` exactly as shipped (bytes on disk).
WORDS_SHA256 = "a43c50614fda43658df3e60aa07e8cc37f657d969fcf89938731bf059db16d16"
WORDS_COUNT = 63875
END = "."
DATA_ENV = "FUNCNET_DATA"


def _checkout_text_dir() -> Path | None:
    """``<repo>/data/text`` when this module sits in a source checkout, else None."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "data" / "text").is_dir():
        return root / "data" / "text"
    return None


def _search_dirs(data_dir) -> list[tuple[str, Path | None]]:
    env = os.environ.get(DATA_ENV)
    places: list[tuple[str, Path | None]] = []
    if data_dir is not None:
        places.append(("data_dir argument", Path(data_dir).expanduser()))
    places.append((f"${DATA_ENV}/text", Path(env).expanduser() / "text" if env else None))
    places.append(("repository checkout", _checkout_text_dir()))
    return places


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, size: int, mtime_ns: int) -> tuple[str, ...]:
    del size, mtime_ns  # part of the cache key only: a replaced file is read again
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != WORDS_SHA256:
        raise ValueError(
            f"words: {path} has the wrong content: its SHA-256 is {digest}, expected "
            f"{WORDS_SHA256}; restore the original from the repository's data/text"
        )
    return tuple(raw.decode("ascii").split())


def words(data_dir=None) -> list[str]:
    """The 63,875 lowercase words of ``words.txt``, in file (alphabetical) order.

    Args:
        data_dir: folder holding ``words.txt``; searched first (the module docstring
            gives the full order).

    Returns:
        A fresh list of ``str``, each of ``a``-``z`` only.

    Raises:
        FileNotFoundError: no folder holds ``words.txt``; the message lists each place.
        ValueError: the file found is not the original (its SHA-256 differs).

    Examples:
        >>> w = words()
        >>> len(w), w[:3]
        (63875, ['a', 'aardvark', 'aardvarks'])
    """
    places = _search_dirs(data_dir)
    for _, folder in places:
        if folder is not None and (folder / WORDS_FILE).is_file():
            path = (folder / WORDS_FILE).resolve()
            stat = path.stat()
            return list(_read_cached(str(path), stat.st_size, stat.st_mtime_ns))
    looked = "\n".join(
        f"  {what}: " + ("not set" if folder is None and what.startswith("$")
                         else "not running from a checkout" if folder is None
                         else f"{folder / WORDS_FILE} does not exist")
        for what, folder in places)
    raise FileNotFoundError(
        f"words: {WORDS_FILE} was not found. Looked in:\n{looked}\nWhat to do: copy "
        f"data/text/{WORDS_FILE} from the funcnet repository into one of these folders, "
        f"or pass data_dir=..."
    )


@dataclasses.dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: ``chars[i]`` is the character with id ``i``, and id 0
    is the end token ``"."`` (makemore's convention). Make one with :func:`char_vocab`.
    """

    chars: tuple[str, ...]

    def __post_init__(self):
        if not self.chars or self.chars[0] != END or len(set(self.chars)) != len(self.chars):
            raise ValueError(
                f"CharVocab: chars must be distinct single characters starting with the end "
                f"token {END!r}, got {self.chars[:5]!r}...; build one with char_vocab(words)"
            )

    @property
    def size(self) -> int:
        """The number of ids, end token included."""
        return len(self.chars)

    @functools.cached_property
    def ids(self) -> dict[str, int]:
        """Character -> id."""
        return {c: i for i, c in enumerate(self.chars)}

    def encode(self, word: str) -> np.ndarray:
        """``word``'s characters as ids, int32 ``(len(word),)`` (no end token added)."""
        try:
            return np.array([self.ids[c] for c in word], np.int32)
        except KeyError as err:
            raise ValueError(f"CharVocab.encode: {err.args[0]!r} in {word!r} is not in the "
                             f"vocabulary {''.join(self.chars)!r}") from None

    def decode(self, ids) -> str:
        """The characters of integer ``ids`` as one string (the end token shows as ".")."""
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1:
            raise TypeError(f"CharVocab.decode: ids must be a 1-D integer array, got "
                            f"{ids.dtype} of shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            bad = int(ids.min()) if ids.min() < 0 else int(ids.max())
            raise ValueError(f"CharVocab.decode: ids must be in [0, {self.size}), got {bad}")
        return "".join(self.chars[i] for i in ids.tolist())


def _word_list(where: str, words) -> list[str]:
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise TypeError(f"{where}: words must be a list of str, got {type(words).__name__}")
    return list(words)


def char_vocab(words) -> CharVocab:
    """The vocabulary of the characters in ``words``: ``"."`` (end) at id 0, then the
    others sorted, as makemore builds it.

    Examples:
        >>> vocab = char_vocab(["emma", "ava"])
        >>> vocab.chars, vocab.encode("emma"), vocab.decode(np.array([2, 3, 0]))
        (('.', 'a', 'e', 'm', 'v'), array([2, 3, 3, 1], dtype=int32), 'em.')
    """
    words = _word_list("char_vocab", words)
    chars = set("".join(words))
    if END in chars:
        raise ValueError(f"char_vocab: the end token {END!r} appears in the words; it is "
                         f"reserved for id 0")
    return CharVocab((END, *sorted(chars)))


def word_splits(words, *, seed=0, fractions=(0.8, 0.1, 0.1)):
    """Shuffle ``words`` by ``seed`` and cut it into train, validation and test lists.

    The cut points are ``int(f1 * N)`` and ``int((f1 + f2) * N)``, as makemore's; the
    same seed gives the same three lists, which are disjoint and together hold every word.

    Args:
        words: a list of str.
        seed: a non-negative int or a ``np.random.Generator``.
        fractions: three non-negative numbers summing to 1.

    Returns:
        ``(train, validation, test)``, three lists of str.

    Examples:
        >>> train, val, test = word_splits([f"w{i}" for i in range(10)], seed=0)
        >>> len(train), len(val), len(test)
        (8, 1, 1)
    """
    where = "word_splits"
    words = _word_list(where, words)
    fractions = tuple(fractions)
    if (len(fractions) != 3 or any(not 0 <= f <= 1 for f in fractions)
            or not np.isclose(sum(fractions), 1.0)):
        raise ValueError(f"{where}: fractions must be three numbers in [0, 1] summing to 1, "
                         f"got {fractions!r}")
    order = _common.rng(where, seed).permutation(len(words))
    n1 = int(fractions[0] * len(words))
    n2 = int((fractions[0] + fractions[1]) * len(words))
    shuffled = [words[i] for i in order]
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def _encoded(where: str, words, vocab) -> list[np.ndarray]:
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"{where}: vocab must be a CharVocab (from char_vocab(words)), got "
                        f"{type(vocab).__name__}")
    return [vocab.encode(w) for w in _word_list(where, words)]


def context_windows(words, vocab: CharVocab, block_size: int):
    """makemore's MLP data set: every ``block_size`` characters and the one that follows.

    Each word gives ``len(word) + 1`` rows: the context starts as ``block_size`` end
    tokens (id 0), and the targets are the word's characters then the end token.

    Args:
        words: a list of str.
        vocab: the :class:`CharVocab` to encode with.
        block_size: context length, a positive int.

    Returns:
        ``(x, y)``: int32 ``(M, block_size)`` contexts and int32 ``(M,)`` next ids, with
        ``M = sum(len(w) + 1)``.

    Examples:
        >>> vocab = char_vocab(["emma"])
        >>> x, y = context_windows(["emma"], vocab, 3)
        >>> [vocab.decode(row) + " -> " + vocab.chars[t] for row, t in zip(x, y)]
        ['... -> e', '..e -> m', '.em -> m', 'emm -> a', 'mma -> .']
    """
    where = "context_windows"
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size <= 0:
        raise ValueError(f"{where}: block_size must be a positive integer, got {block_size!r}")
    encoded = _encoded(where, words, vocab)
    if not encoded:
        return np.zeros((0, block_size), np.int32), np.zeros(0, np.int32)
    # per word: block_size end tokens, the word, the end token; every window of
    # block_size + 1 starting in the first len(word) + 1 places is (context, next)
    stream = np.concatenate([np.concatenate([np.zeros(block_size, np.int32), ids, [0]])
                             for ids in encoded]).astype(np.int32)
    rows = np.array([len(ids) + 1 for ids in encoded])  # windows per word
    offsets = np.cumsum(rows + block_size) - (rows + block_size)  # where each word starts
    first_row = np.cumsum(rows) - rows
    within = np.arange(rows.sum()) - np.repeat(first_row, rows)
    starts = np.repeat(offsets, rows) + within
    windows = np.lib.stride_tricks.sliding_window_view(stream, block_size + 1)[starts]
    return np.ascontiguousarray(windows[:, :block_size]), np.ascontiguousarray(
        windows[:, block_size])


def padded_sequences(words, vocab: CharVocab, *, length: int | None = None,
                     ignore: int = -1):
    """makemore's sequence data set: inputs ``"." + word`` and next-character targets
    ``word + "."``, padded to a common length.

    Inputs are padded with the end token (0), targets with ``ignore``, so the padding
    counts for nothing under ``funcnet.sequence_cross_entropy(ignore=ignore)``.

    Args:
        words: a list of str.
        vocab: the :class:`CharVocab` to encode with.
        length: ``T``, at least the longest word's length + 1 (the default).
        ignore: the padding id of the targets; must not be a vocabulary id.

    Returns:
        ``(x, y)``, both int32 ``(N, T)``.

    Examples:
        >>> vocab = char_vocab(["emma", "ava"])
        >>> x, y = padded_sequences(["emma", "ava"], vocab)
        >>> x
        array([[0, 2, 3, 3, 1],
               [0, 1, 4, 1, 0]], dtype=int32)
        >>> y
        array([[ 2,  3,  3,  1,  0],
               [ 1,  4,  1,  0, -1]], dtype=int32)
    """
    where = "padded_sequences"
    encoded = _encoded(where, words, vocab)
    if isinstance(ignore, bool) or not isinstance(ignore, (int, np.integer)):
        raise TypeError(f"{where}: ignore must be an int, got {type(ignore).__name__}")
    if 0 <= ignore < vocab.size:
        raise ValueError(f"{where}: ignore must not be a vocabulary id (0..{vocab.size - 1}), "
                         f"got {ignore}; use e.g. ignore=-1")
    longest = max((len(ids) for ids in encoded), default=0) + 1
    if length is None:
        length = longest
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) \
            or length < longest:
        raise ValueError(f"{where}: length must be an int of at least {longest} (the longest "
                         f"word + 1 for its end token), got {length!r}")
    x = np.zeros((len(encoded), length), np.int32)
    y = np.full((len(encoded), length), ignore, np.int32)
    for row, ids in enumerate(encoded):
        x[row, 1:len(ids) + 1] = ids
        y[row, :len(ids)] = ids
        y[row, len(ids)] = 0
    return x, y
