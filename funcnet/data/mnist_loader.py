"""MNIST from the four classic IDX files: found locally or downloaded, always verified.

Where :func:`mnist` looks, in order (the first folder holding all four files wins):

1. ``data_dir``, when given (the folder holding the four ``.gz`` files);
2. ``$FUNCNET_DATA/mnist``, when the ``FUNCNET_DATA`` environment variable is set;
3. ``<repository>/data/mnist``, when funcnet runs from a source checkout;
4. the user cache, ``$XDG_CACHE_HOME/funcnet/mnist`` (default ``~/.cache/funcnet/mnist``),
   or ``cache_dir`` when given.

When none has them and ``download=True``, the missing files are downloaded into the
cache folder from the first mirror that serves a correct copy. Each download goes to a
temporary file in that folder, is decompressed and checked against the SHA-256 of the
decompressed file, and only then renamed into place, so a failed, truncated or
corrupted download leaves nothing behind. Every file that is read is checked the same
way (hash, IDX magic number, dimensions, counts, label range), and parsed arrays are
kept in memory for the process, keyed by file path, size and modification time.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from funcnet.data.idx import parse_idx

#: role -> (file name, SHA-256 of the decompressed file, IDX magic, shape).
MNIST_FILES = {
    "train_images": (
        "train-images-idx3-ubyte.gz",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        2051,
        (60000, 28, 28),
    ),
    "train_labels": (
        "train-labels-idx1-ubyte.gz",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        2049,
        (60000,),
    ),
    "test_images": (
        "t10k-images-idx3-ubyte.gz",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        2051,
        (10000, 28, 28),
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte.gz",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        2049,
        (10000,),
    ),
}

#: Base URLs tried in order; each must serve the four ``.gz`` files by name.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

DATA_ENV = "FUNCNET_DATA"
MIRRORS_ENV = "FUNCNET_MNIST_MIRRORS"
LAYOUTS = ("raw", "flat", "nhwc")

_FILE_NAMES = tuple(spec[0] for spec in MNIST_FILES.values())


def default_cache_dir() -> Path:
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/funcnet/mnist`` or
    ``~/.cache/funcnet/mnist``.

    Examples:
        >>> default_cache_dir().name
        'mnist'
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "funcnet" / "mnist"


def _checkout_mnist_dir() -> Path | None:
    """``<repo>/data/mnist`` when this module sits in a source checkout, else None."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "data" / "mnist").is_dir():
        return root / "data" / "mnist"
    return None


def _search_dirs(data_dir, cache_dir) -> list[tuple[str, Path | None]]:
    """(description, folder or None when that source is not configured), in search order."""
    places: list[tuple[str, Path | None]] = []
    if data_dir is not None:
        places.append(("data_dir argument", Path(data_dir).expanduser()))
    env = os.environ.get(DATA_ENV)
    places.append((f"${DATA_ENV}/mnist", Path(env).expanduser() / "mnist" if env else None))
    places.append(("repository checkout", _checkout_mnist_dir()))
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    places.append(("user cache", cache))
    return places


def _mirror_list(mirrors) -> list[str]:
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV)
        mirrors = env.replace(",", " ").split() if env else DEFAULT_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    mirrors = list(mirrors)
    if not mirrors or not all(isinstance(m, str) and m for m in mirrors):
        raise ValueError(f"mnist: mirrors must be a non-empty list of base URLs, got {mirrors!r}")
    return mirrors


def _decode(raw: bytes, role: str) -> np.ndarray:
    """Decompress, hash-check and parse one MNIST file's bytes (ValueError if anything is off)."""
    filename, sha256, magic, shape = MNIST_FILES[role]
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{filename} is not a complete gzip file ({type(err).__name__}: {err}); "
            f"it is truncated or corrupted"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ValueError(
            f"{filename} has the wrong content: SHA-256 of the decompressed file is "
            f"{digest}, expected {sha256}"
        )
    array = parse_idx(data, expected_magic=magic, name=filename)
    if array.shape != shape:
        raise ValueError(f"{filename} has shape {array.shape}, expected {shape}")
    if role.endswith("labels"):
        if array.size and array.max() > 9:
            raise ValueError(f"{filename} has a label {int(array.max())}, expected 0..9")
        array = array.astype(np.int32)
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, size: int, mtime_ns: int, role: str) -> np.ndarray:
    del size, mtime_ns  # part of the cache key only: a replaced file is read again
    try:
        return _decode(Path(path).read_bytes(), role)
    except ValueError as err:
        raise ValueError(
            f"mnist: {path}: {err}. Delete the file and run again to download a fresh "
            f"copy, or replace it with the original from one of {list(DEFAULT_MIRRORS)}"
        ) from None


def _read(folder: Path, role: str) -> np.ndarray:
    path = (folder / MNIST_FILES[role][0]).resolve()
    stat = path.stat()
    return _read_cached(str(path), stat.st_size, stat.st_mtime_ns, role)


def _fetch(role: str, cache: Path, mirrors: list[str], timeout: float) -> None:
    """Download one file into ``cache`` from the first mirror serving a correct copy."""
    filename = MNIST_FILES[role][0]
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                shutil.copyfileobj(resp, out, 1 << 20)
            _decode(Path(tmp).read_bytes(), role)
            os.replace(tmp, cache / filename)
            return
        except urllib.error.HTTPError as err:
            err.close()
            failures.append(f"{url}: HTTP {err.code} {err.reason}")
        except urllib.error.URLError as err:
            failures.append(f"{url}: {err.reason}")
        except (OSError, ValueError, http.client.HTTPException) as err:
            failures.append(f"{url}: {err}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    raise _DownloadError(filename, failures)


class _DownloadError(Exception):
    def __init__(self, filename: str, failures: list[str]):
        super().__init__(filename)
        self.filename, self.failures = filename, failures


def download_mnist(
    cache_dir=None, *, mirrors: Sequence[str] | None = None, timeout: float = 60.0
) -> Path:
    """Make sure ``cache_dir`` holds the four verified MNIST files, downloading what is missing.

    Files already there are verified, not downloaded again. Each download is written to
    a temporary file in ``cache_dir``, checked (gzip, SHA-256 of the decompressed
    bytes, IDX header) and only then renamed into place; on failure nothing is left.

    Args:
        cache_dir: target folder (created if needed); default :func:`default_cache_dir`.
        mirrors: base URLs to try in order; default ``$FUNCNET_MNIST_MIRRORS``
            (space- or comma-separated) or :data:`DEFAULT_MIRRORS`.
        timeout: seconds to wait on each connection.

    Returns:
        The folder holding the four files.

    Raises:
        FileNotFoundError: no mirror served a correct copy of some file; the message
            lists each URL tried and why it failed, and where to put the files by hand.

    Examples:
        >>> folder = download_mnist()  # doctest: +SKIP
        >>> sorted(p.name for p in folder.glob("*.gz"))[:1]  # doctest: +SKIP
        ['t10k-images-idx3-ubyte.gz']
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    mirror_list = _mirror_list(mirrors)
    cache.mkdir(parents=True, exist_ok=True)
    for role, (filename, *_) in MNIST_FILES.items():
        if (cache / filename).is_file():
            _read(cache, role)
            continue
        try:
            _fetch(role, cache, mirror_list, timeout)
        except _DownloadError as err:
            tried = "\n".join(f"  {line}" for line in err.failures)
            raise FileNotFoundError(
                f"download_mnist: could not download a correct {err.filename}; nothing "
                f"was written for it. Tried:\n{tried}\n"
                f"What to do: check the connection or pass other mirrors "
                f"(mirrors=[...] or ${MIRRORS_ENV}), or download the four files "
                f"{', '.join(_FILE_NAMES)} by hand and put them in {cache}"
            ) from None
    return cache


def images_to_float32(images, layout: str = "flat") -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1], flattened or with a channel axis.

    Args:
        images: uint8 array ``(N, H, W)``.
        layout: ``"flat"`` for ``(N, H*W)`` (Dense input) or ``"nhwc"`` for
            ``(N, H, W, 1)`` (Conv input).

    Returns:
        float32 array ``(N, H*W)`` or ``(N, H, W, 1)``, values ``pixel / 255``.

    Examples:
        >>> images_to_float32(np.full((2, 28, 28), 255, np.uint8)).shape
        (2, 784)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"images_to_float32: images must be uint8 of shape (N, H, W), got "
            f"{images.dtype} of shape {images.shape}"
        )
    # One float32 division per pixel: exact integers over 255, correctly rounded, so the
    # same values as a 256-entry table, three times faster than indexing into one.
    scaled = np.divide(images, np.float32(255.0), dtype=np.float32)
    if layout == "flat":
        return scaled.reshape(len(images), -1)
    if layout == "nhwc":
        return scaled[..., None]
    raise ValueError(f"images_to_float32: layout must be 'flat' or 'nhwc', got {layout!r}")


def mnist(
    data_dir=None,
    *,
    layout: str = "raw",
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    cache_dir=None,
):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images with labels.

    Args:
        data_dir: folder holding the four ``.gz`` files; searched first (see the
            module docstring for the full search order).
        layout: ``"raw"``: images uint8 ``(N, 28, 28)`` in 0..255; ``"flat"``: float32
            ``(N, 784)`` in [0, 1]; ``"nhwc"``: float32 ``(N, 28, 28, 1)`` in [0, 1].
        download: fetch missing files into the cache folder when no folder has them.
        mirrors: base URLs for the download (see :func:`download_mnist`).
        cache_dir: the cache folder; default :func:`default_cache_dir`.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` with images as set by ``layout``
        (N = 60000 and 10000) and labels int32 ``(N,)`` in 0..9. The arrays are fresh
        copies the caller may modify.

    Raises:
        FileNotFoundError: the files are nowhere and could not be downloaded; the
            message lists every file, every place looked and what to do.
        ValueError: a file was found but is corrupted (the message names it).

    Examples:
        >>> (x_train, y_train), (x_test, y_test) = mnist(layout="flat")
        >>> x_train.shape, x_train.dtype, y_train.dtype
        ((60000, 784), dtype('float32'), dtype('int32'))
    """
    if layout not in LAYOUTS:
        raise ValueError(f"mnist: layout must be one of {LAYOUTS}, got {layout!r}")
    places = _search_dirs(data_dir, cache_dir)
    folder = next(
        (path for _, path in places if path is not None and _has_all(path)),
        None,
    )
    if folder is None:
        cache = places[-1][1]
        if not download:
            raise FileNotFoundError(_not_found_message(places, cache, None))
        try:
            folder = download_mnist(cache, mirrors=mirrors)
        except FileNotFoundError as err:
            raise FileNotFoundError(_not_found_message(places, cache, str(err))) from None
    arrays = {role: _read(folder, role) for role in MNIST_FILES}
    if layout == "raw":
        x_train, x_test = arrays["train_images"].copy(), arrays["test_images"].copy()
    else:
        x_train = images_to_float32(arrays["train_images"], layout)
        x_test = images_to_float32(arrays["test_images"], layout)
    return (x_train, arrays["train_labels"].copy()), (x_test, arrays["test_labels"].copy())


def _has_all(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _FILE_NAMES)


def _not_found_message(places, cache: Path, download_error: str | None) -> str:
    lines = ["mnist: the MNIST files were not found. Needed, all four, gzip-compressed:"]
    lines += [f"  {name}" for name in _FILE_NAMES]
    lines.append("Looked in:")
    for what, path in places:
        if path is None:
            state = "not set" if what.startswith("$") else "not running from a checkout"
            lines.append(f"  {what}: {state}")
        elif not path.is_dir():
            lines.append(f"  {path} ({what}): no such folder")
        else:
            missing = [name for name in _FILE_NAMES if not (path / name).is_file()]
            lines.append(f"  {path} ({what}): missing {', '.join(missing)}")
    if download_error is None:
        lines.append("Download was off (download=False).")
    else:
        lines.append(f"Download failed: {download_error}")
    lines.append(
        f"What to do: put the four files in {cache} (or any folder above, or pass "
        f"data_dir=...), or run with download=True and a working mirror."
    )
    return "\n".join(lines)
