"""Where a checkpoint lands: the file a path names (through a symlink), its folder, and a
run's folder made and proven writable before anything is trained into it."""

from __future__ import annotations

import errno
import os
import secrets


def _fspath(where, path, name="path", what="a file path") -> str:
    """``path`` as a str; TypeError naming ``where`` for anything that is not a path."""
    if not isinstance(path, str | bytes | os.PathLike):
        raise TypeError(f"{where}: {name} must be {what} (str or os.PathLike), got "
                        f"{type(path).__name__} {path!r}")
    return os.fsdecode(path)


def write_target(where, path) -> str:
    """The file that saving to ``path`` replaces: ``path`` itself, or the file a symlink
    at ``path`` points to (so the link survives the save). Raises a clear error, naming
    ``where``, for a path that cannot be a checkpoint file."""
    if path == "":
        raise ValueError(f"{where}: path must name a file, got ''")
    target = os.path.realpath(path) if os.path.islink(path) else path
    via = "" if target == path else f" (a symlink to {target!r})"
    if os.path.islink(target):  # realpath stops where a chain of links loops
        raise OSError(errno.ELOOP, f"{where}: path {path!r} is a symlink that never reaches "
                                   f"a file (the links loop); point it at a file")
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, f"{where}: path {path!r}{via} is a folder; "
                                              f"give a file path inside it, e.g. "
                                              f"{os.path.join(path, 'ckpt.npz')!r}")
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.exists(directory):
        raise FileNotFoundError(errno.ENOENT, f"{where}: the folder {directory!r} of path "
                                              f"{path!r}{via} does not exist; create it first "
                                              f"(os.makedirs), or use checkpoint.save_step, "
                                              f"which creates its folder")
    if not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, f"{where}: {directory!r}, the folder of path "
                                                f"{path!r}{via}, is a file, not a folder")
    return target


def ensure_folder(directory, *, where="checkpoint.ensure_folder", name="directory") -> str:
    """Make the folder ``directory`` (and its parents) if it is missing, and check that a
    file can be written in it, so a run fails before it trains rather than at its first
    save.

    Args:
        directory: the folder (str, bytes or ``os.PathLike``).
        where, name: the function and argument named in an error (``fit`` passes
            ``"fit"`` and ``"checkpoint_dir"``).

    Returns:
        ``directory`` as a str.

    Raises:
        TypeError: ``directory`` is not a path.
        ValueError: ``directory`` is ``''``.
        NotADirectoryError: ``directory`` (or a folder above it) is a file.
        PermissionError (or another OSError): the folder cannot be made or written in;
            the message names it and the reason.

    Examples:
        >>> ensure_folder("runs/mnist")
        'runs/mnist'
        >>> os.listdir("runs/mnist")  # the write test leaves nothing behind
        []
        >>> with open("notes.txt", "w") as f:
        ...     _ = f.write("a file")
        >>> ensure_folder("notes.txt", where="fit", name="checkpoint_dir")
        Traceback (most recent call last):
        ...
        NotADirectoryError: [Errno 20] fit: checkpoint_dir 'notes.txt' is a file, not a folder
    """
    directory = _fspath(where, directory, name, "a folder path")
    if directory == "":
        raise ValueError(f"{where}: {name} must name a folder, got ''; use '.' for the "
                         f"current folder")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, f"{where}: {name} {directory!r} is a file, "
                                                f"not a folder")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"{where}: cannot create {name} {directory!r}: "
                               f"{e.strerror}") from e
    # The name a killed writer's temporary file has, so the next save cleans it up.
    probe = os.path.join(directory, f".probe.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.remove(probe)
    except OSError as e:
        raise OSError(e.errno, f"{where}: cannot write in {name} {directory!r}: "
                               f"{e.strerror}; pick a folder you can write to") from e
    return directory
