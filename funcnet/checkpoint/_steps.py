"""A run's checkpoint folder: ``ckpt_{step:06d}.npz`` files, the newest ``keep`` kept."""

from __future__ import annotations

import contextlib
import numbers
import os
import re

from funcnet.checkpoint._io import load, save

_STEP_RE = re.compile(r"^ckpt_(?P<step>\d{6,})\.npz$")


def list_steps(directory) -> list[int]:
    """The steps of the ``ckpt_{step:06d}.npz`` files in ``directory``, ascending.

    Example:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(1, 6):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> list_steps("runs/mnist")
        [3, 4, 5]
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return []
    return sorted(int(m["step"]) for m in map(_STEP_RE.match, os.listdir(directory)) if m)


def _step_path(directory, step) -> str:
    return os.path.join(os.fspath(directory), f"ckpt_{step:06d}.npz")


def save_step(directory, step, tree, metadata=None, *, keep=None) -> str:
    """Save ``tree`` as ``directory/ckpt_{step:06d}.npz`` and keep only the newest ``keep``.

    Args:
        directory: the run's checkpoint folder (created if missing).
        step: a non-negative int, e.g. the epoch or optimizer step.
        tree, metadata: as for :func:`save`.
        keep: how many checkpoints to keep (a positive int), or None to keep all. The
            oldest (lowest step) other checkpoints are deleted after the new one is safe.

    Returns:
        The path written.

    Example:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(5):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> path
        'runs/mnist/ckpt_000004.npz'
        >>> list_steps("runs/mnist")
        [2, 3, 4]
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"checkpoint.save_step: step must be a non-negative int, got {step!r}")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, numbers.Integral)
                             or keep <= 0):
        raise ValueError(f"checkpoint.save_step: keep must be a positive int or None, "
                         f"got {keep!r}")
    os.makedirs(directory, exist_ok=True)
    path = save(_step_path(directory, int(step)), tree, metadata)
    if keep is not None:
        others = [s for s in list_steps(directory) if s != int(step)]
        for old in others[:max(len(others) + 1 - int(keep), 0)]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(_step_path(directory, old))
    return path


def latest(directory) -> str | None:
    """The path of the highest-step checkpoint in ``directory``, or None if there is none.

    Example:
        >>> params = {"w": jnp.ones((2, 3))}
        >>> for epoch in range(1, 6):
        ...     path = save_step("runs/mnist", epoch, {"params": params}, {"epoch": epoch},
        ...                      keep=3)
        >>> latest("runs/mnist")
        'runs/mnist/ckpt_000005.npz'
    """
    steps = list_steps(directory)
    return _step_path(directory, steps[-1]) if steps else None


def restore_latest(directory, like=None):
    """Load the highest-step checkpoint in ``directory``.

    A corrupted newest checkpoint raises :class:`CheckpointError` rather than falling
    back silently to an older one.

    Returns:
        ``(tree, metadata, step)``, or None when ``directory`` has no checkpoint.

    Example:
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
    steps = list_steps(directory)
    if not steps:
        return None
    tree, metadata = load(_step_path(directory, steps[-1]), like)
    return tree, metadata, steps[-1]
