"""A run's checkpoint folder: ``ckpt_{step:06d}.npz`` files, the newest ``keep`` kept."""

from __future__ import annotations

import errno
import numbers
import os
import re

from funcnet.checkpoint._folder import _fspath, ensure_folder
from funcnet.checkpoint._io import load, save

_STEP_RE = re.compile(r"^ckpt_(?P<step>\d{6,})\.npz$")


def list_steps(directory) -> list[int]:
    """The steps of the ``ckpt_{step:06d}.npz`` files in ``directory``, ascending.

    Examples:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(1, 6):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> list_steps("runs/mnist")
        [3, 4, 5]
    """
    return _steps("checkpoint.list_steps", directory)


def _steps(where, directory) -> list[int]:
    directory = _fspath(where, directory, "directory", "a folder path")
    if not os.path.exists(directory):
        return []
    if not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, f"{where}: directory {directory!r} is a "
                                                f"file, not a checkpoint folder")
    return sorted(int(m["step"]) for m in map(_STEP_RE.match, os.listdir(directory)) if m)


def _step_path(directory, step) -> str:
    return os.path.join(os.fspath(directory), f"ckpt_{step:06d}.npz")


def save_step(directory, step, tree, metadata=None, *, keep=None) -> str:
    """Save ``tree`` as ``directory/ckpt_{step:06d}.npz`` and keep only the newest ``keep``.

    The new file is complete on disk before any old one is deleted, and a save deletes
    only checkpoints of lower steps than its own: two writers sharing a folder (or a
    crash between the write and the clean-up) can leave an extra file, never an empty
    folder.

    Args:
        directory: the run's checkpoint folder (created if missing).
        step: a non-negative int, e.g. the epoch or optimizer step; at least the newest
            step already in ``directory`` (saving that step again replaces it).
        tree, metadata: as for :func:`save`.
        keep: how many checkpoints to keep (a positive int), or None to keep all. The
            oldest (lowest step) ones are deleted after the new one is safe.

    Returns:
        The path written.

    Raises:
        ValueError: a bad ``step`` or ``keep``, or a ``step`` below the newest one in
            ``directory`` (:func:`latest` would go on finding the newer one).
        NotADirectoryError, PermissionError: ``directory`` is a file or cannot be
            written in (see :func:`ensure_folder`).

    Examples:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(5):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> path
        'runs/mnist/ckpt_000004.npz'
        >>> list_steps("runs/mnist")
        [2, 3, 4]
    """
    where = "checkpoint.save_step"
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"{where}: step must be a non-negative int, got {step!r}")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, numbers.Integral)
                             or keep <= 0):
        raise ValueError(f"{where}: keep must be a positive int or None, got {keep!r}")
    step = int(step)
    directory = ensure_folder(directory, where=where, name="directory")
    newer = [s for s in _steps(where, directory) if s > step]
    if newer:
        raise ValueError(
            f"{where}: directory {directory!r} already holds step {newer[-1]} "
            f"({os.path.basename(_step_path(directory, newer[-1]))}), newer than step {step}; "
            f"latest() would go on returning it. Save into another folder, or delete the "
            f"newer checkpoints first")
    path = save(_step_path(directory, step), tree, metadata)
    if keep is not None:
        # Only lower steps: a newer file is another writer's, and deleting it could
        # leave the folder empty if that writer deletes this one.
        older = [s for s in _steps(where, directory) if s < step]
        for old in older[:max(len(older) + 1 - int(keep), 0)]:
            try:
                os.remove(_step_path(directory, old))
            except FileNotFoundError:  # another writer's clean-up got there first
                pass
            except OSError as e:
                raise OSError(e.errno, f"{where}: saved {path!r}, but cannot delete the "
                                       f"old checkpoint {_step_path(directory, old)!r} "
                                       f"(keep={keep}): {e.strerror}") from e
    return path


def latest(directory) -> str | None:
    """The path of the highest-step checkpoint in ``directory``, or None if there is none.

    Examples:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(1, 6):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> latest("runs/mnist")
        'runs/mnist/ckpt_000005.npz'
    """
    steps = _steps("checkpoint.latest", directory)
    return _step_path(directory, steps[-1]) if steps else None


def restore_latest(directory, like=None):
    """Load the highest-step checkpoint in ``directory``.

    A corrupted newest checkpoint raises :class:`CheckpointError` rather than falling
    back silently to an older one.

    Returns:
        ``(tree, metadata, step)``, or None when ``directory`` has no checkpoint.

    Examples:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(1, 6):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> restored = restore_latest("runs/mnist", like={"params": params})
        >>> if restored is not None:
        ...     tree, metadata, step = restored
        >>> step, metadata
        (5, {'epoch': 5})
    """
    steps = _steps("checkpoint.restore_latest", directory)
    if not steps:
        return None
    tree, metadata = load(_step_path(directory, steps[-1]), like)
    return tree, metadata, steps[-1]
