"""The checkpoint format's fixed names and its one error type."""

FORMAT = "funcnet-checkpoint"
VERSION = 1
MANIFEST = "__manifest__"
ROOT = "<root>"
TRAILER_PREFIX = b"funcnet-sha256:"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, is corrupted, or does not match ``like``
    (or, for ``fit``, was written by another run)."""


# Raised from the private modules; report it under the package that exports it.
CheckpointError.__module__ = "funcnet.checkpoint"
