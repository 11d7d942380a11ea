"""The file: an atomic, fsynced write sealed by a SHA-256 trailer; reading it back with the
seal and the manifest checked; and cleanup of temporary files left by killed writers.
Where the file lands (symlinks, missing or unwritable folders) is ``_folder``'s concern."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import zipfile

import numpy as np

from funcnet.checkpoint._folder import write_target
from funcnet.checkpoint._format import FORMAT, MANIFEST, TRAILER_PREFIX, VERSION, CheckpointError

_TRAILER_LEN = len(TRAILER_PREFIX) + 64
_CHUNK = 1 << 20
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed stamp: the same tree gives the same bytes
_TEMP_RE = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]{16}\.tmp$")


def _hash_prefix(f, length):
    digest = hashlib.sha256()
    f.seek(0)
    remaining = length
    while remaining:
        chunk = f.read(min(_CHUNK, remaining))
        if not chunk:
            break
        digest.update(chunk)
        remaining -= len(chunk)
    return digest.hexdigest().encode("ascii")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # off POSIX, signal 0 is not a harmless probe: never delete there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale_temps(directory):
    with os.scandir(directory) as entries:
        for entry in entries:
            match = _TEMP_RE.match(entry.name)
            if match and not _pid_alive(int(match["pid"])):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(entry.path)


def _fsync_directory(directory):
    # Makes the rename durable on POSIX; directories cannot be opened on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_sealed(where, path, members):
    """Write ``(name, array)`` members as a sealed ``.npz`` at ``path``, atomically. A
    symlink at ``path`` stays a link: the file it points to is the one replaced."""
    target = write_target(where, path)
    directory = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}."
                                  f"{secrets.token_hex(8)}.tmp")
    try:
        _remove_stale_temps(directory)
        # os.open, as ensure_folder's probe: one way this package creates files; O_EXCL
        # so it is never another writer's file
        with os.fdopen(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666), "wb+") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name, data in members:
                    info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_TIME)
                    with zf.open(info, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, data, allow_pickle=False)
                zf.comment = TRAILER_PREFIX + b"0" * 64  # placeholder, sealed below
            size = f.tell()
            digest = _hash_prefix(f, size - 64)
            f.seek(size - 64)
            f.write(digest)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno is not None:
            # the same errno (so the same OSError subclass), with what failed named
            raise OSError(e.errno, f"{where}: cannot write {path!r} in the folder "
                                   f"{directory!r}: {e.strerror}") from e
        raise
    _fsync_directory(directory)


def _read(path, with_arrays=True):
    """``(manifest, {name: array})`` after checking the checksum; never unpickles. With
    ``with_arrays=False`` only the manifest is read (the arrays dict is empty)."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(size - _TRAILER_LEN, 0))
        trailer = f.read()
        if size < _TRAILER_LEN or not trailer.startswith(TRAILER_PREFIX):
            raise CheckpointError(
                f"{path}: not a funcnet checkpoint or truncated: it does not end with the "
                f"{TRAILER_PREFIX.decode()} checksum ({size} bytes)")
        if _hash_prefix(f, size - 64) != trailer[len(TRAILER_PREFIX):]:
            raise CheckpointError(f"{path}: checksum mismatch: the file is corrupted or "
                                  f"truncated; restore an older checkpoint")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as npz:
                manifest = json.loads(npz[MANIFEST].tobytes().decode("utf-8"))
                if not (isinstance(manifest, dict) and manifest.get("format") == FORMAT):
                    raise CheckpointError(f"{path}: the manifest is not a {FORMAT} manifest")
                if manifest.get("version") != VERSION:
                    raise CheckpointError(f"{path}: format version {manifest.get('version')!r}"
                                          f" is not supported (this funcnet reads {VERSION})")
                arrays = {}
                for record in manifest["leaves"] if with_arrays else ():
                    try:
                        data = npz[record["name"]]
                    except ValueError as e:
                        raise CheckpointError(
                            f"{path}: cannot read array {record['name']}: {e} (funcnet never "
                            f"unpickles; this file was not written by checkpoint.save)") from e
                    if not isinstance(data, np.ndarray):
                        raise CheckpointError(f"{path}: member {record['name']} is not a "
                                              f".npy array")
                    arrays[record["name"]] = data
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"{path}: cannot read the checkpoint "
                                  f"({type(e).__name__}: {e})") from e
    return manifest, arrays
