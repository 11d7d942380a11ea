"""``save`` and ``load``: a tree and its metadata to one checkpoint file and back."""

from __future__ import annotations

import json

import jax
import numpy as np

from funcnet.checkpoint._file import _read, _write_sealed
from funcnet.checkpoint._folder import _fspath
from funcnet.checkpoint._format import FORMAT, MANIFEST, VERSION, CheckpointError
from funcnet.checkpoint._leaves import _from_storage, _json_ready, _spec, _to_storage
from funcnet.checkpoint._tree import (
    _decode,
    _first_difference,
    _flatten,
    _NeedsLike,
    _Unreadable,
)


def save(path, tree, metadata=None) -> str:
    """Write ``tree`` and ``metadata`` to the checkpoint file ``path``, atomically.

    Args:
        path: the file to write (by convention ending in ``.npz``); its folder must exist.
            An existing file is replaced only once the new one is complete on disk.
        tree: a pytree of arrays: dicts, lists, tuples, None, NamedTuples (optax states)
            or other registered nodes, with jax/numpy arrays (any bool, int, float,
            complex or ml_dtypes dtype such as bfloat16), Python numbers, typed
            (``jax.random.key``) or raw (``jax.random.PRNGKey``) keys as leaves.
        metadata: a JSON-able dict (str keys), e.g. ``{"epoch": 3, "history": [...]}``.
            numpy/jax scalars become Python numbers and tuples become lists.

    Returns:
        ``path`` as a string.

    Raises:
        TypeError: a leaf, dict key or metadata value that cannot be stored.

    Examples:
        >>> import os, tempfile
        >>> import jax.numpy as jnp, optax
        >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
        >>> params = {"dense": {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}}
        >>> opt_state = optax.adam(1e-3).init(params)
        >>> save(path, {"params": params, "opt_state": opt_state}, {"epoch": 1}) == path
        True
        >>> sorted(np.load(path))[:2]
        ["['opt_state'][0].count", "['opt_state'][0].mu['dense']['b']"]
    """
    path = _fspath("checkpoint.save", path)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"checkpoint.save: metadata must be a dict or None, "
                        f"got {type(metadata).__name__}")
    node, items = _flatten(tree)
    stored = [_to_storage(name, leaf) for name, leaf in items]
    manifest = {"format": FORMAT, "version": VERSION, "tree": node,
                "leaves": [record for record, _ in stored],
                "metadata": _json_ready(metadata or {}, "")}
    manifest_bytes = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    members = [(MANIFEST, manifest_bytes)]
    members += [(record["name"], data) for record, data in stored]
    _write_sealed("checkpoint.save", path, members)
    return path


def load(path, like=None):
    """Read a checkpoint written by :func:`save`.

    Args:
        path: the checkpoint file.
        like: optional template tree (arrays, ``jax.ShapeDtypeStruct`` or numbers as
            leaves). When given, the checkpoint must have the same structure, shapes and
            dtypes, and the tree is rebuilt with ``like``'s node types. Without it the
            tree is rebuilt from the file: dicts, lists, tuples, None and optax/funcnet
            NamedTuples.

    Returns:
        ``(tree, metadata)``: leaves as ``jax.Array`` (typed keys as key arrays), and
        the metadata dict (``{}`` when none was saved).

    Raises:
        CheckpointError (a ValueError): the file is truncated, corrupted, not a funcnet
            checkpoint, holds pickled objects, or does not match ``like`` (the message
            names the first differing path); or a node needs ``like`` to be rebuilt.
        FileNotFoundError: there is no file at ``path``.

    Examples:
        >>> params = {"dense": {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}}
        >>> opt_state = optax.adam(1e-3).init(params)
        >>> save("run.npz", {"params": params, "opt_state": opt_state}, {"epoch": 1})
        'run.npz'
        >>> tree, meta = load("run.npz")
        >>> meta["epoch"], type(tree["opt_state"][0]).__name__
        (1, 'ScaleByAdamState')
        >>> tree, meta = load("run.npz", like={"params": params, "opt_state": opt_state})
        >>> tree["params"]["dense"]["w"].shape
        (2, 3)
    """
    path = _fspath("checkpoint.load", path)
    if like is not None:  # a bad template is the caller's TypeError, not a bad file
        like_node, like_items = _flatten(like)
        like_specs = [(name, _spec(name, leaf)) for name, leaf in like_items]
    manifest, arrays = _read(path)
    try:
        records, node = manifest["leaves"], manifest["tree"]
        if like is not None:
            problem = _first_difference(node, like_node, "")
            if problem:
                raise CheckpointError(f"{path}: does not match like: {problem}")
            for record, (name, (dtype, shape)) in zip(records, like_specs, strict=True):
                if record["name"] != name:
                    raise CheckpointError(f"{path}: malformed manifest: leaf {record['name']} "
                                          f"is listed where its tree has {name}")
                if (record["dtype"], tuple(record["shape"])) != (dtype, shape):
                    raise CheckpointError(
                        f"{path}: does not match like at {name}: the checkpoint has "
                        f"{record['dtype']}{tuple(record['shape'])}, like has {dtype}{shape}")
        leaves = (_from_storage(path, record, arrays[record["name"]]) for record in records)
        if like is not None:
            tree = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), list(leaves))
        else:
            remaining = iter(leaves)
            tree = _decode(node, remaining, "")
            if next(remaining, None) is not None:
                raise CheckpointError(f"{path}: the manifest lists more leaves than its tree")
        metadata = manifest["metadata"]
    except CheckpointError:
        raise
    except (_NeedsLike, _Unreadable) as e:
        raise CheckpointError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError, StopIteration) as e:
        raise CheckpointError(f"{path}: malformed manifest ({type(e).__name__}: {e})") from e
    return tree, metadata


def load_metadata(path) -> dict:
    """The metadata dict of the checkpoint file ``path``, without reading its arrays.

    The whole file's SHA-256 seal is still checked, so a corrupted file is refused here
    as :func:`load` refuses it.

    Raises:
        CheckpointError (a ValueError): the file is truncated, corrupted or not a funcnet
            checkpoint.
        FileNotFoundError: there is no file at ``path``.

    Examples:
        >>> save("run.npz", {"w": jnp.ones((2, 3))}, {"epoch": 3, "note": "warm-up"})
        'run.npz'
        >>> load_metadata("run.npz")
        {'epoch': 3, 'note': 'warm-up'}
    """
    path = _fspath("checkpoint.load_metadata", path)
    manifest, _ = _read(path, with_arrays=False)
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: malformed manifest: its metadata is a "
                              f"{type(metadata).__name__}, not a dict")
    return metadata
