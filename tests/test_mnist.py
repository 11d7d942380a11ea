"""MNIST: the IDX parser, the verified loader, its search order and the download path.

The download is tested against a threaded ``http.server`` on 127.0.0.1 serving the
real files, plus a corrupted, a truncated and a non-gzip copy; nothing here touches the
internet.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcnet import data
from funcnet.data import mnist_loader as mnist_module
from funcnet.data.idx import IDX_DTYPES, parse_idx

REPO = Path(__file__).resolve().parents[1]
NAMES = [spec[0] for spec in data.MNIST_FILES.values()]


def _source_dir() -> Path:
    """The shared copy of the idx files (../shared beside the repo), else the repo's."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    if all((shared / name).is_file() for name in NAMES):
        return shared
    return REPO / "data" / "mnist"


SOURCE = _source_dir()


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an IDX file (the inverse of parse_idx)."""
    code = next(c for c, dt in IDX_DTYPES.items() if dt.newbyteorder("=") == array.dtype)
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(IDX_DTYPES[code]).tobytes()


# ----------------------------------------------------------------------------- parse_idx


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        np.array([-128, 0, 127], np.int8),
        np.array([[-300, 2], [7, 32000]], np.int16),
        np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 10**6,
        np.array([1.5, -0.25, np.inf], np.float32),
        np.array([[np.pi]], np.float64),
        np.zeros((0, 5), np.uint8),
    ],
    ids=lambda a: f"{a.dtype}{a.shape}",
)
def test_parse_idx_round_trips_every_type_code(array):
    parsed = parse_idx(idx_bytes(array))
    assert parsed.dtype == array.dtype and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def test_parse_idx_reads_big_endian():
    assert parse_idx(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 1, 0, 0xFF, 0xFE])).tolist() == [256, -2]


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"", r"truncated: an IDX file starts with a 4-byte magic number, got only 0"),
        (bytes([0, 0, 8]), r"truncated: .* got only 3 byte"),
        (bytes([0x1F, 0x8B, 8, 1, 0, 0, 0, 0]), r"bad magic number 0x1f8b0801.*gzip"),
        (bytes([0, 0, 0x07, 1, 0, 0, 0, 0]), r"unknown type code 0x07"),
        (bytes([0, 0, 8, 0]), r"declares 0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]), r"truncated: its header declares 3 dimension"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3]), r"truncated: shape \(4,\) .* needs 4 .* got 3"),
        (bytes([0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 0]), r"needs 4 data bytes, got 3"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 5, 6]), r"1 unexpected trailing byte"),
        (bytes([0, 0, 8, 2, 255, 255, 255, 255, 255, 255, 255, 255]), r"truncated: shape"),
    ],
)
def test_parse_idx_rejects_bad_input(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_idx(raw, name="f.idx")


def test_parse_idx_checks_expected_magic_and_type():
    labels = bytes([0, 0, 8, 1, 0, 0, 0, 1, 3])
    assert parse_idx(labels, expected_magic=2049).tolist() == [3]
    with pytest.raises(ValueError, match=r"magic number 2049 \(0x00000801\), expected 2051"):
        parse_idx(labels, expected_magic=2051)
    with pytest.raises(TypeError, match="must be bytes, got str"):
        parse_idx("0008")


idx_like = st.builds(
    lambda code, dims, body: bytes([0, 0, code, len(dims)])
    + b"".join(d.to_bytes(4, "big") for d in dims) + body,
    st.sampled_from([*IDX_DTYPES, 0x00, 0x0A]),
    st.lists(st.integers(0, 6) | st.integers(0, 2**32 - 1), max_size=4),
    st.binary(max_size=200),
)


@settings(max_examples=300)
@given(st.binary(max_size=64) | idx_like)
def test_parse_idx_random_bytes_give_an_array_or_a_value_error(raw):
    try:
        parsed = parse_idx(raw)
    except ValueError:
        return
    assert isinstance(parsed, np.ndarray)
    assert 4 + 4 * parsed.ndim + parsed.nbytes == len(raw)


@settings(max_examples=100)
@given(st.data())
def test_parse_idx_every_truncation_is_a_value_error(draw):
    shape = draw.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    dtype = draw.draw(st.sampled_from([dt.newbyteorder("=") for dt in IDX_DTYPES.values()]))
    raw = idx_bytes(np.ones(shape, dtype))
    cut = draw.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(ValueError, match="truncated"):
        parse_idx(raw[:cut])


# ------------------------------------------------------------------------------ loading


def test_mnist_loads_and_checks_the_classic_files():
    (x_train, y_train), (x_test, y_test) = data.mnist(SOURCE, download=False)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.int32
    assert y_test.shape == (10000,) and y_test.dtype == np.int32
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
    ]
    assert np.bincount(y_test, minlength=10).sum() == 10000
    assert x_train.max() == 255 and x_train.min() == 0
    assert abs(x_train.mean() - 33.318) < 1e-3


@pytest.mark.parametrize("layout, shape", [("flat", (784,)), ("nhwc", (28, 28, 1))])
def test_mnist_float_layouts_are_pixels_over_255(layout, shape):
    (x_raw, _), (t_raw, _) = data.mnist(SOURCE, download=False)
    (x, y), (t, _) = data.mnist(SOURCE, layout=layout, download=False)
    assert x.shape == (60000, *shape) and t.shape == (10000, *shape)
    assert x.dtype == t.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(x[:2000].reshape(2000, 28, 28), x_raw[:2000] / np.float32(255))
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(
        data.images_to_float32(t_raw, layout), t.reshape(10000, *shape)
    )


def test_mnist_returns_fresh_arrays_each_call():
    (x, y), _ = data.mnist(SOURCE, download=False)
    x[0] = 0
    y[0] = 7
    (x2, y2), _ = data.mnist(SOURCE, download=False)
    assert y2[0] == 5 and x2[0].max() == 255


def test_images_to_float32_rejects_other_input():
    with pytest.raises(ValueError, match=r"uint8 of shape \(N, H, W\), got float64"):
        data.images_to_float32(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="layout must be 'flat' or 'nhwc', got 'nchw'"):
        data.images_to_float32(np.zeros((2, 28, 28), np.uint8), "nchw")
    with pytest.raises(ValueError, match=r"layout must be one of .*got 'NHWC'"):
        data.mnist(SOURCE, layout="NHWC")


# ------------------------------------------------------------------------ search order


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No checkout, no $FUNCNET_DATA, an empty cache: only what a test sets up is found."""
    monkeypatch.setattr(mnist_module, "_checkout_mnist_dir", lambda: None)
    monkeypatch.delenv("FUNCNET_DATA", raising=False)
    monkeypatch.delenv("FUNCNET_MNIST_MIRRORS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _link_good(folder: Path, names=NAMES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.symlink(SOURCE / name, folder / name)
    return folder


def _corrupt_copy(folder: Path, name: str = "t10k-labels-idx1-ubyte.gz") -> Path:
    """A valid gzip of an IDX file whose content differs from the original in one byte."""
    raw = bytearray(gzip.decompress((SOURCE / name).read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10
    (folder / name).unlink(missing_ok=True)
    (folder / name).write_bytes(gzip.compress(bytes(raw)))
    return folder / name


def test_default_cache_dir_follows_xdg(isolated, monkeypatch):
    assert data.default_cache_dir() == isolated / "xdg" / "funcnet" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.default_cache_dir() == Path.home() / ".cache" / "funcnet" / "mnist"


def test_missing_files_error_lists_every_file_and_every_place(isolated, monkeypatch):
    empty = isolated / "empty"
    empty.mkdir()
    _link_good(isolated / "root" / "mnist", NAMES[:1])
    monkeypatch.setenv("FUNCNET_DATA", str(isolated / "root"))
    with pytest.raises(FileNotFoundError) as info:
        data.mnist(empty, download=False)
    message = str(info.value)
    for name in NAMES:
        assert name in message
    assert f"{empty} (data_dir argument): missing {', '.join(NAMES)}" in message
    assert f"{isolated / 'root' / 'mnist'} ($FUNCNET_DATA/mnist): missing {', '.join(NAMES[1:])}" \
        in message
    assert "repository checkout: not running from a checkout" in message
    assert f"{isolated / 'xdg' / 'funcnet' / 'mnist'} (user cache): no such folder" in message
    assert "download=False" in message and "What to do: put the four files in" in message


def test_data_dir_is_searched_before_funcnet_data(isolated, monkeypatch):
    monkeypatch.setenv("FUNCNET_DATA", str(isolated / "root"))
    _link_good(isolated / "root" / "mnist")
    mine = _link_good(isolated / "mine", NAMES[:3])
    bad = _corrupt_copy(mine)
    path = re.escape(str(bad.resolve()))
    with pytest.raises(ValueError, match=rf"{path}: .*SHA-256 .*Delete the file"):
        data.mnist(mine, download=False)
    (x, _), _ = data.mnist(isolated / "elsewhere", download=False)
    assert x.shape == (60000, 28, 28)


def test_funcnet_data_is_searched_before_the_checkout(isolated, monkeypatch):
    monkeypatch.setattr(mnist_module, "_checkout_mnist_dir", lambda: SOURCE)
    root = isolated / "root"
    bad = _corrupt_copy(_link_good(root / "mnist", NAMES[:3]))
    monkeypatch.setenv("FUNCNET_DATA", str(root))
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad.resolve()))}: .*wrong content"):
        data.mnist(download=False)
    monkeypatch.delenv("FUNCNET_DATA")
    assert data.mnist(download=False)[1][1].shape == (10000,)


def test_checkout_data_is_found_from_the_repository():
    # From a checkout (the editable install the README makes) the repository's
    # data/mnist is found; from an installed wheel there is no checkout to find.
    root = Path(mnist_module.__file__).resolve().parents[2]
    expected = REPO / "data" / "mnist" if root == REPO else None
    assert mnist_module._checkout_mnist_dir() == expected


# ---------------------------------------------------------------------------- download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Base URL of a local server: /good/ has the four files, /sha/, /truncated/ and
    /garbage/ a bad t10k-labels each, /empty/ nothing."""
    root = tmp_path_factory.mktemp("mirror")
    _link_good(root / "good")
    for sub in ("sha", "truncated", "garbage", "empty"):
        (root / sub).mkdir()
    name = "t10k-labels-idx1-ubyte.gz"
    _corrupt_copy(root / "sha", name)
    good = (SOURCE / name).read_bytes()
    (root / "truncated" / name).write_bytes(good[: len(good) // 2])
    (root / "garbage" / name).write_bytes(np.random.default_rng(0).bytes(len(good)))
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_fetches_verifies_and_loads(isolated, server):
    cache = isolated / "cache"
    folder = data.download_mnist(cache, mirrors=[f"{server}/empty", f"{server}/good/"])
    assert folder == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)
    (x, y), (t, u) = data.mnist(cache, download=False)
    (x0, y0), (t0, u0) = data.mnist(SOURCE, download=False)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(u, u0)


def test_mnist_downloads_into_the_cache_when_nothing_is_found(isolated, server):
    cache = _link_good(isolated / "cache", NAMES[:3])
    (_, _), (_, y_test) = data.mnist(cache_dir=cache, mirrors=[f"{server}/good"])
    assert y_test[:3].tolist() == [7, 2, 1]
    assert (cache / NAMES[3]).is_file() and not (cache / NAMES[3]).is_symlink()


def test_download_mirrors_come_from_the_environment(isolated, server, monkeypatch):
    cache = _link_good(isolated / "cache", NAMES[:3])
    monkeypatch.setenv("FUNCNET_MNIST_MIRRORS", f"{server}/empty, {server}/good")
    data.download_mnist(cache)
    assert (cache / NAMES[3]).is_file()


@pytest.mark.parametrize(
    "mirror, reason",
    [
        ("sha", r"wrong content: SHA-256 of the decompressed file is [0-9a-f]{64}, expected ff7b"),
        ("truncated", r"not a complete gzip file .*truncated or corrupted"),
        ("garbage", r"not a complete gzip file"),
    ],
)
def test_bad_download_raises_and_leaves_nothing(isolated, server, mirror, reason):
    cache = _link_good(isolated / "cache", NAMES[:3])
    with pytest.raises(FileNotFoundError) as info:
        data.download_mnist(cache, mirrors=[f"{server}/{mirror}", f"{server}/empty"])
    message = str(info.value)
    assert "could not download a correct t10k-labels-idx1-ubyte.gz" in message
    assert f"{server}/{mirror}/t10k-labels-idx1-ubyte.gz: " in message
    assert f"{server}/empty/t10k-labels-idx1-ubyte.gz: HTTP 404" in message
    assert f"put them in {cache}" in message
    assert len(re.findall(reason, message)) == 1
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES[:3])


def test_failed_download_in_mnist_says_where_it_looked(isolated, server):
    cache = isolated / "cache"
    with pytest.raises(FileNotFoundError) as info:
        data.mnist(cache_dir=cache, mirrors=[f"{server}/empty"])
    message = str(info.value)
    assert "Looked in:" in message and "$FUNCNET_DATA/mnist: not set" in message
    assert f"{cache} (user cache)" in message
    assert "Download failed: download_mnist: could not download a correct" in message
    assert "HTTP 404" in message
    assert [p for p in cache.iterdir()] == []


def test_download_reports_an_unreachable_mirror(isolated):
    cache = isolated / "cache"
    with pytest.raises(FileNotFoundError, match=r"http://127\.0\.0\.1:9/train-images"):
        data.download_mnist(cache, mirrors=["http://127.0.0.1:9"], timeout=2.0)
    assert list(cache.iterdir()) == []


def test_download_rejects_an_empty_mirror_list(isolated):
    with pytest.raises(ValueError, match=r"mirrors must be a non-empty list of base URLs"):
        data.download_mnist(isolated / "cache", mirrors=[])


def test_a_corrupted_cached_file_is_not_silently_used(isolated, server):
    cache = _link_good(isolated / "cache", NAMES[:3])
    shutil.copy(SOURCE / NAMES[3], cache / NAMES[3])
    bad = _corrupt_copy(cache, NAMES[3])
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad.resolve()))}: .*Delete the file"):
        data.download_mnist(cache, mirrors=[f"{server}/good"])
