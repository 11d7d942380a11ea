"""Fuzzing the MNIST loader's IDX parser and its corrupted-file paths.

``parse_idx`` gets mutated valid files (cut short, extended, a byte flipped, a size
rewritten) and things that are not bytes at all: it must return an array whose size
matches the bytes exactly, or raise a ValueError (bad bytes) or TypeError (not bytes)
that starts with ``parse_idx:``; any other exception is a bug. ``mnist`` pointed at a
folder of corrupted files must raise a ValueError naming the file and write nothing to
the cache folder, whether it reads them (``download=False``) or "downloads" them from a
``file://`` mirror.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcnet import data
from funcnet.data import mnist_loader
from funcnet.data.idx import IDX_DTYPES, parse_idx

NAMES = [spec[0] for spec in data.MNIST_FILES.values()]
CODES = sorted(IDX_DTYPES)


@st.composite
def idx_files(draw):
    """A valid IDX file: any type code, 1 to 3 dimensions of 0 to 4, random values."""
    code = draw(st.sampled_from(CODES))
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    size = IDX_DTYPES[code].itemsize * int(np.prod(shape))
    header = bytes([0, 0, code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)
    return header + draw(st.binary(min_size=size, max_size=size))


@st.composite
def mutated(draw):
    raw = bytearray(draw(idx_files()))
    kind = draw(st.sampled_from(["truncate", "extend", "flip", "resize", "none"]))
    if kind == "truncate":
        del raw[draw(st.integers(0, len(raw) - 1)):]
    elif kind == "extend":
        raw += draw(st.binary(min_size=1, max_size=8))
    elif kind == "flip":
        i = draw(st.integers(0, len(raw) - 1))
        raw[i] ^= draw(st.integers(1, 255))
    elif kind == "resize":  # rewrite one declared size to anything a uint32 holds
        dim = draw(st.integers(0, raw[3] - 1))
        raw[4 + 4 * dim: 8 + 4 * dim] = draw(st.integers(0, 2**32 - 1)).to_bytes(4, "big")
    return kind, bytes(raw)


def _parse_or_clear_error(raw):
    """parse_idx(raw): an array exactly as long as the body, or a 'parse_idx:' ValueError."""
    try:
        out = parse_idx(raw)
    except ValueError as err:
        assert str(err).startswith("parse_idx: "), err
        return None
    header = 4 + 4 * out.ndim
    assert out.dtype.isnative and header + out.nbytes == len(raw)
    return out


@settings(max_examples=60)
@given(mutated())
def test_mutated_idx_gives_an_array_or_a_value_error(case):
    kind, raw = case
    out = _parse_or_clear_error(raw)
    if kind in ("truncate", "extend"):
        assert out is None, f"{kind}d file parsed as {out!r}"


@settings(max_examples=20)
@given(st.binary(max_size=48))
def test_random_bytes_bytearray_and_memoryview_agree(raw):
    results = []
    for wrapped in (raw, bytearray(raw), memoryview(raw)):
        out = _parse_or_clear_error(wrapped)
        results.append(None if out is None else (out.dtype, out.shape, out.tobytes()))
    assert results[0] == results[1] == results[2]


@settings(max_examples=20)
@given(st.one_of(st.text(max_size=8), st.integers(), st.none(), st.floats(),
                 st.lists(st.integers(0, 255), max_size=8),
                 st.binary(max_size=8).map(lambda b: np.frombuffer(b, np.uint8))))
def test_not_bytes_is_a_type_error(value):
    with pytest.raises(TypeError, match=r"^parse_idx: IDX data must be bytes, got "):
        parse_idx(value)


def _corrupt(raw: bytes, how: str) -> bytes:
    """A damaged .gz file from random bytes ``raw``."""
    if how == "raw":  # not gzip at all
        return raw
    if how == "gzip":  # a complete gzip of random content (wrong hash)
        return gzip.compress(raw, mtime=0)
    return gzip.compress(raw, mtime=0)[: max(len(raw) // 2, 1)]  # a cut gzip


@settings(max_examples=8)
@given(st.sampled_from(["raw", "gzip", "cut"]), st.binary(max_size=64))
def test_mnist_on_corrupted_files_raises_and_writes_no_cache(how, raw):
    with tempfile.TemporaryDirectory() as tmp:
        folder, cache = Path(tmp) / "mnist", Path(tmp) / "cache"
        folder.mkdir()
        for name in NAMES:
            (folder / name).write_bytes(_corrupt(raw, how))
        with pytest.raises(ValueError, match=r"^mnist: .*-ubyte\.gz: .*Delete the file"):
            data.mnist(data_dir=folder, download=False, cache_dir=cache)
        assert not cache.exists() or not any(cache.iterdir())
        assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)  # untouched


@pytest.mark.parametrize("how", ["raw", "gzip", "cut"])
def test_download_of_corrupted_files_leaves_no_partial_file(how, tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_loader, "_checkout_mnist_dir", lambda: None)
    monkeypatch.delenv("FUNCNET_DATA", raising=False)
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    mirror.mkdir()
    for name in NAMES:
        (mirror / name).write_bytes(_corrupt(bytes(range(256)) * 4, how))
    with pytest.raises(FileNotFoundError, match=r"could not download a correct "
                                                r"train-images-idx3-ubyte\.gz"):
        data.mnist(data_dir=tmp_path / "nothing", download=True,
                   mirrors=[mirror.as_uri() + "/"], cache_dir=cache)
    assert cache.is_dir() and list(cache.iterdir()) == []
