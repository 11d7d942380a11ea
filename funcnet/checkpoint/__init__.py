"""Checkpoints: a pytree of arrays plus a JSON metadata dict in one crash-safe file.

A checkpoint is a NumPy ``.npz`` (a zip of ``.npy`` members) that ``np.load`` can read:

* one member per leaf, named by its path (``jax.tree_util.keystr``, e.g.
  ``['params']['w']``, or ``<root>`` when the whole tree is one array);
* ``__manifest__``: a ``uint8`` array holding UTF-8 JSON with the tree structure, each
  leaf's name, dtype and shape, and the metadata;
* the zip comment, which is the file's last bytes: ``funcnet-sha256:`` and the SHA-256
  (hex) of every byte before it. A flipped byte anywhere or a cut-short file fails it.

Nothing is pickled and loading never unpickles (``np.load(allow_pickle=False)``), so a
checkpoint from a stranger cannot run code. Leaves whose dtype ``.npy`` cannot hold
(``bfloat16`` and the other ``ml_dtypes``) are stored as a same-width unsigned-int view;
typed PRNG keys (``jax.random.key``) are stored as ``jax.random.key_data`` with the
implementation name, and raw ``uint32`` keys (``jax.random.PRNGKey``) as they are.

Rebuilding the tree without a template (``like=None``) uses the manifest alone: dicts
(``str``/``int`` keys), lists, tuples and ``None`` always work; a ``NamedTuple`` (optax
optimizer states) is rebuilt by importing its class by module and qualified name, but
only from ``optax`` and ``funcnet`` modules. Any other ``NamedTuple`` or registered
pytree node type (``OrderedDict``, a custom class) is saved fine but needs ``like`` to
load. With ``like`` the tree takes ``like``'s structure, after the structure, every
shape and every dtype have been checked against it.

Leaves come back as ``jax.Array`` (Python numbers as 0-d arrays). A 64-bit leaf is
refused, not silently narrowed, when ``jax_enable_x64`` is off.

Writes are atomic: the file is written to a temporary file in the same folder, flushed
and fsynced, then ``os.replace``-d over the old one and the folder fsynced, so a crash
at any moment leaves the previous checkpoint intact. Temporary files left by a killed
writer (``.NAME.PID.HEX.tmp``) are ignored by :func:`latest` and deleted by the next
save in that folder once process PID has ended. Saving to a symlink replaces the file
it points to and leaves the link in place. A path whose folder is missing, is a file or
cannot be written in gets an ``OSError`` of the matching kind that names the path.

For a training loop, :func:`save_step` writes ``ckpt_{step:06d}.npz`` into a folder and
keeps the last ``keep`` (deleting only lower steps, after the new file is safe);
:func:`latest` and :func:`restore_latest` find and read the newest one;
:func:`ensure_folder` makes a run's folder and proves it writable before a run starts;
:func:`load_metadata` reads a checkpoint's metadata without its arrays.
"""

from funcnet.checkpoint._folder import ensure_folder
from funcnet.checkpoint._format import FORMAT as FORMAT
from funcnet.checkpoint._format import MANIFEST as MANIFEST
from funcnet.checkpoint._format import ROOT as ROOT
from funcnet.checkpoint._format import TRAILER_PREFIX as TRAILER_PREFIX
from funcnet.checkpoint._format import VERSION as VERSION
from funcnet.checkpoint._format import CheckpointError
from funcnet.checkpoint._io import load, load_metadata, save
from funcnet.checkpoint._steps import latest, list_steps, restore_latest, save_step

__all__ = [
    "CheckpointError",
    "ensure_folder",
    "latest",
    "list_steps",
    "load",
    "load_metadata",
    "restore_latest",
    "save",
    "save_step",
]
