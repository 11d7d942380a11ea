"""Data for funcnet: MNIST, the word list, the lessons' small data sets, preprocessing.

Everything here is host-side NumPy: arrays come back as NumPy (features float32
``(N, F)``, labels int32 ``(N,)``), ready to hand to jitted funcnet functions.
Randomness takes a ``seed``: a non-negative int (same int, same result) or a
``np.random.Generator`` (advanced by each call).

Examples:
    >>> from funcnet import data
    >>> x, y = data.spirals(classes=3, points=100, seed=0)
    >>> (x_tr, y_tr), (x_te, y_te) = data.train_test_split(0, x, y, test_fraction=0.2)
    >>> x_tr, x_te, stats = data.standardize(x_tr, x_te)
    >>> for xb, yb in data.batches(1, (x_tr, y_tr), batch_size=32):
    ...     pass
"""

from funcnet.data.datasets import (
    IRIS_CLASSES,
    IRIS_FEATURES,
    blobs,
    iris,
    make_classification,
    moons,
    spirals,
    xor,
)
from funcnet.data.idx import parse_idx
from funcnet.data.mnist_loader import (
    DEFAULT_MIRRORS,
    MNIST_FILES,
    default_cache_dir,
    download_mnist,
    images_to_float32,
    mnist,
)
from funcnet.data.preprocessing import (
    StandardizerStats,
    apply_standardizer,
    batches,
    fit_standardizer,
    one_hot,
    standardize,
    train_test_split,
)
from funcnet.data.words_loader import (
    WORDS_SHA256,
    CharVocab,
    char_vocab,
    context_windows,
    padded_sequences,
    word_splits,
    words,
)

__all__ = [
    "CharVocab",
    "DEFAULT_MIRRORS",
    "IRIS_CLASSES",
    "IRIS_FEATURES",
    "MNIST_FILES",
    "StandardizerStats",
    "WORDS_SHA256",
    "apply_standardizer",
    "batches",
    "blobs",
    "char_vocab",
    "context_windows",
    "default_cache_dir",
    "download_mnist",
    "fit_standardizer",
    "images_to_float32",
    "iris",
    "make_classification",
    "mnist",
    "moons",
    "one_hot",
    "padded_sequences",
    "parse_idx",
    "spirals",
    "standardize",
    "train_test_split",
    "word_splits",
    "words",
    "xor",
]
