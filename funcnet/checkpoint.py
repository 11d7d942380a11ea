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
save in that folder once process PID has ended.

For a training loop, :func:`save_step` writes ``ckpt_{step:06d}.npz`` into a folder and
keeps the last ``keep``; :func:`latest` and :func:`restore_latest` find and read the
newest one.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import numbers
import os
import re
import secrets
import zipfile

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "CheckpointError",
    "latest",
    "list_steps",
    "load",
    "restore_latest",
    "save",
    "save_step",
]

FORMAT = "funcnet-checkpoint"
VERSION = 1
MANIFEST = "__manifest__"
ROOT = "<root>"
TRAILER_PREFIX = b"funcnet-sha256:"
_TRAILER_LEN = len(TRAILER_PREFIX) + 64
_CHUNK = 1 << 20
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed stamp: the same tree gives the same bytes
_ALLOWED_MODULES = ("optax", "funcnet")
_TEMP_RE = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]{16}\.tmp$")
_STEP_RE = re.compile(r"^ckpt_(?P<step>\d{6,})\.npz$")

# Dtypes that .npy cannot describe; stored as an unsigned-int view of the same width.
_EXTENDED_DTYPES = {
    np.dtype(getattr(jnp, name)).name: np.dtype(getattr(jnp, name))
    for name in (
        "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz",
        "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn",
        "int2", "int4", "uint2", "uint4",
    )
    if hasattr(jnp, name)
}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, is corrupted, or does not match ``like``."""


# ----------------------------------------------------------------------------- trees


def _encode(x, path, items):
    """Describe ``x`` as a JSON-able node; append ``(name, leaf)`` in jax's leaf order."""
    if x is None:
        return {"kind": "none"}
    kind = type(x)
    if kind is dict:
        try:
            keys = sorted(x)  # jax flattens dicts in sorted-key order
        except TypeError as e:
            raise TypeError(f"checkpoint: the keys of the dict at "
                            f"{_where(path)} cannot be sorted: {e}") from None
        for k in keys:
            if isinstance(k, bool) or not isinstance(k, str | int):
                raise TypeError(f"checkpoint: dict keys must be str or int, got "
                                f"{type(k).__name__} key {k!r} at {_where(path)}")
        return {"kind": "dict",
                "keys": [["str" if isinstance(k, str) else "int", k] for k in keys],
                "children": [_encode(x[k], path + (jax.tree_util.DictKey(k),), items)
                             for k in keys]}
    if kind is list or kind is tuple:
        return {"kind": kind.__name__,
                "children": [_encode(c, path + (jax.tree_util.SequenceKey(i),), items)
                             for i, c in enumerate(x)]}
    if isinstance(x, tuple) and hasattr(kind, "_fields"):
        return {"kind": "namedtuple", "module": kind.__module__, "qualname": kind.__qualname__,
                "fields": list(kind._fields),
                "children": [_encode(c, path + (jax.tree_util.GetAttrKey(f),), items)
                             for f, c in zip(kind._fields, x, strict=True)]}
    children, treedef = jax.tree_util.tree_flatten_with_path(x, is_leaf=lambda y: y is not x)
    if treedef.num_nodes == 1 and treedef.num_leaves == 1:
        items.append((jax.tree_util.keystr(path) or ROOT, x))
        return {"kind": "leaf"}
    return {"kind": "custom", "type": f"{kind.__module__}.{kind.__qualname__}",
            "keys": [jax.tree_util.keystr(p) for p, _ in children],
            "children": [_encode(c, path + p, items) for p, c in children]}


def _where(path) -> str:
    if isinstance(path, tuple):
        path = jax.tree_util.keystr(path)
    return path or "the root"


def _flatten(tree):
    items = []
    node = _encode(tree, (), items)
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise TypeError("checkpoint: two leaves of the tree have the same path name; "
                        f"rename them (names: {names})")
    return node, items


def _key(key) -> str:
    return jax.tree_util.keystr((key,))


def _decode(node, leaves, path):
    """Rebuild a tree from its manifest node alone; ``leaves`` is an iterator."""
    kind = node["kind"]
    if kind == "leaf":
        return next(leaves)
    if kind == "none":
        return None
    if kind == "dict":
        keys = [k for _, k in node["keys"]]
        return {k: _decode(c, leaves, path + _key(jax.tree_util.DictKey(k)))
                for k, c in zip(keys, node["children"], strict=True)}
    if kind in ("list", "tuple"):
        children = [_decode(c, leaves, path + _key(jax.tree_util.SequenceKey(i)))
                    for i, c in enumerate(node["children"])]
        return children if kind == "list" else tuple(children)
    if kind == "namedtuple":
        cls = _namedtuple_class(node, path)
        return cls(*[_decode(c, leaves, path + _key(jax.tree_util.GetAttrKey(f)))
                     for f, c in zip(node["fields"], node["children"], strict=True)])
    raise _NeedsLike(f"the {node['type']} node at {path or 'the root'} cannot be rebuilt "
                     f"from the file alone; pass like=<a tree of the same structure> to load it")


class _NeedsLike(Exception):
    pass


def _namedtuple_class(node, path):
    module, qualname = node["module"], node["qualname"]
    name = f"{module}.{qualname}"
    allowed = any(module == m or module.startswith(m + ".") for m in _ALLOWED_MODULES)
    parts = qualname.split(".")
    if not allowed or any(not p.isidentifier() or p.startswith("__") for p in parts):
        raise _NeedsLike(f"the NamedTuple {name} at {_where(path)} is not from an allowed "
                         f"module ({', '.join(_ALLOWED_MODULES)}), so it is not imported; "
                         f"pass like=<a tree of the same structure> to load it")
    try:
        cls = importlib.import_module(module)
        for p in parts:
            cls = getattr(cls, p)
    except (ImportError, AttributeError) as e:
        raise _NeedsLike(f"cannot import the NamedTuple {name} at {_where(path)} ({e}); "
                         f"pass like=<a tree of the same structure> to load it") from None
    if not (isinstance(cls, type) and issubclass(cls, tuple)
            and getattr(cls, "_fields", None) == tuple(node["fields"])
            and cls.__module__ == module and cls.__qualname__ == qualname):
        raise _NeedsLike(f"{name} at {_where(path)} is not a NamedTuple with fields "
                         f"{tuple(node['fields'])}; pass like=<a tree of the same structure>")
    return cls


def _first_difference(stored, wanted, path):
    """The first place where two manifest nodes differ, as a sentence, or None."""
    if stored["kind"] != wanted["kind"]:
        return (f"at {_where(path)} the checkpoint has a {_describe(stored)} "
                f"but like has a {_describe(wanted)}")
    kind = stored["kind"]
    if kind in ("leaf", "none"):
        return None
    if kind == "namedtuple" and (stored["module"], stored["qualname"], stored["fields"]) != (
            wanted["module"], wanted["qualname"], wanted["fields"]):
        return (f"at {_where(path)} the checkpoint has a {_describe(stored)} "
                f"but like has a {_describe(wanted)}")
    if kind == "custom" and (stored["type"], stored["keys"]) != (wanted["type"], wanted["keys"]):
        return (f"at {_where(path)} the checkpoint has a {stored['type']} with children "
                f"{stored['keys']} but like has a {wanted['type']} with {wanted['keys']}")
    if kind == "dict":
        have = [k for _, k in stored["keys"]]
        want = [k for _, k in wanted["keys"]]
        if have != want:
            missing = [k for k in want if k not in have]
            extra = [k for k in have if k not in want]
            return (f"the dict at {_where(path)} has keys {have} in the checkpoint but "
                    f"{want} in like (missing from the checkpoint: {missing}, "
                    f"not in like: {extra})")
        keys = [_key(jax.tree_util.DictKey(k)) for k in have]
    elif kind == "namedtuple":
        keys = [_key(jax.tree_util.GetAttrKey(f)) for f in stored["fields"]]
    elif kind == "custom":
        keys = stored["keys"]
    else:
        if len(stored["children"]) != len(wanted["children"]):
            return (f"the {kind} at {_where(path)} has {len(stored['children'])} items in "
                    f"the checkpoint but {len(wanted['children'])} in like")
        keys = [_key(jax.tree_util.SequenceKey(i)) for i in range(len(stored["children"]))]
    for key, s, w in zip(keys, stored["children"], wanted["children"], strict=True):
        found = _first_difference(s, w, path + key)
        if found:
            return found
    return None


def _describe(node) -> str:
    if node["kind"] == "namedtuple":
        return f"NamedTuple {node['module']}.{node['qualname']}{tuple(node['fields'])}"
    if node["kind"] == "custom":
        return node["type"]
    return {"leaf": "leaf (array)", "none": "None"}.get(node["kind"], node["kind"])


# ----------------------------------------------------------------------------- leaves


def _is_key_array(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _key_impl_name(x) -> str:
    if isinstance(x, jax.Array):
        return str(jax.random.key_impl(x))
    # An abstract template (jax.ShapeDtypeStruct) only has the dtype to ask.
    impl = getattr(x.dtype, "_impl", None)
    return getattr(impl, "name", str(x.dtype))


def _scalar_dtype(x):
    """The dtype jax gives a Python number (int32/float32 unless jax_enable_x64)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.result_type(x)))


def _to_storage(name, x):
    """``(record, array)``: the manifest entry of a leaf and the array written for it."""
    if _is_key_array(x):
        data = np.asarray(jax.random.key_data(x))
        logical, shape = f"key<{_key_impl_name(x)}>", tuple(x.shape)
    else:
        if isinstance(x, numbers.Number) and not isinstance(x, np.generic):
            if not isinstance(x, bool | int | float | complex):
                raise TypeError(f"checkpoint.save: leaf {name} is a "
                                f"{type(x).__name__}; convert it to an array")
            try:
                arr = np.asarray(x, dtype=_scalar_dtype(x))
            except OverflowError as e:
                raise ValueError(f"checkpoint.save: leaf {name} = {x!r}: {e}") from None
        elif isinstance(x, np.ndarray | np.generic | jax.Array):
            arr = np.asarray(x)
        else:
            raise TypeError(f"checkpoint.save: leaf {name} is a {type(x).__name__}; only "
                            f"arrays and numbers can be saved (put other values in metadata)")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        logical, shape = arr.dtype.name, arr.shape
        if logical in _EXTENDED_DTYPES:
            data = arr.view(np.dtype(f"u{arr.dtype.itemsize}"))
        elif arr.dtype.kind in "biufc":
            data = arr
        else:
            raise TypeError(f"checkpoint.save: leaf {name} has dtype {arr.dtype}; only "
                            f"bool, integer, floating and complex arrays can be saved")
    data = np.require(data, requirements="C")  # ascontiguousarray would make 0-d 1-d
    record = {"name": name, "dtype": logical, "shape": list(shape),
              "stored_dtype": data.dtype.str, "stored_shape": list(data.shape)}
    return record, data


def _spec(name, x):
    """``(dtype name, shape)`` of a ``like`` leaf, as the manifest records them."""
    if _is_key_array(x):
        return f"key<{_key_impl_name(x)}>", tuple(x.shape)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return np.dtype(x.dtype).name, tuple(x.shape)
    if isinstance(x, bool | int | float | complex):
        return _scalar_dtype(x).name, ()
    raise TypeError(f"checkpoint.load: like has a {type(x).__name__} leaf at {name}; "
                    f"like must hold arrays, jax.ShapeDtypeStruct or numbers")


def _from_storage(path, record, data):
    """The leaf as a jax array, after checking ``data`` is what ``record`` says."""
    name = record["name"]
    stored_dtype = np.dtype(record["stored_dtype"])
    if data.dtype != stored_dtype or list(data.shape) != record["stored_shape"]:
        raise CheckpointError(f"{path}: array {name} has dtype {data.dtype} and shape "
                              f"{data.shape}, but the manifest says {stored_dtype} and "
                              f"{tuple(record['stored_shape'])}")
    logical = record["dtype"]
    if logical.startswith("key<") and logical.endswith(">"):
        try:
            keys = jax.random.wrap_key_data(jnp.asarray(data), impl=logical[4:-1])
        except Exception as e:
            raise CheckpointError(f"{path}: cannot rebuild the PRNG key {name} "
                                  f"({logical}): {e}") from e
        if list(keys.shape) != record["shape"]:
            raise CheckpointError(f"{path}: key {name} has shape {keys.shape}, but the "
                                  f"manifest says {tuple(record['shape'])}")
        return keys
    dtype = _EXTENDED_DTYPES.get(logical)
    if dtype is None:
        try:
            dtype = np.dtype(logical)
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind not in "biufc" or dtype != stored_dtype:
            raise CheckpointError(f"{path}: leaf {name} has unsupported dtype {logical!r}")
    elif dtype.itemsize != stored_dtype.itemsize or stored_dtype.kind != "u":
        raise CheckpointError(f"{path}: leaf {name} ({logical}) is stored as {stored_dtype}")
    if list(data.shape) != record["shape"]:
        raise CheckpointError(f"{path}: leaf {name} has shape {data.shape}, but the "
                              f"manifest says {tuple(record['shape'])}")
    if np.dtype(jax.dtypes.canonicalize_dtype(dtype)) != dtype:
        raise CheckpointError(
            f"{path}: leaf {name} is {dtype}, which jax would narrow to "
            f"{np.dtype(jax.dtypes.canonicalize_dtype(dtype))} because jax_enable_x64 is "
            f"off; call jax.config.update('jax_enable_x64', True) before loading")
    return jnp.asarray(data.view(dtype))


# ----------------------------------------------------------------------------- metadata


def _json_ready(value, where):
    """``value`` with numpy/jax scalars made Python numbers, tuples made lists."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray | jax.Array)
                                         and value.shape == () and not _is_key_array(value)):
        return _json_ready(np.asarray(value).item(), where)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"checkpoint.save: metadata keys must be str (JSON), got "
                                f"{type(k).__name__} key {k!r} in metadata{where}")
            out[k] = _json_ready(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_json_ready(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"checkpoint.save: metadata{where} is a {type(value).__name__}, which "
                    f"JSON cannot hold; use numbers, strings, bools, None, lists and dicts")


# ----------------------------------------------------------------------------- files


def _fspath(where, path) -> str:
    """``path`` as a str; TypeError naming ``where`` for anything that is not a path."""
    if not isinstance(path, str | bytes | os.PathLike):
        raise TypeError(f"{where}: path must be a file path (str or os.PathLike), got "
                        f"{type(path).__name__} {path!r}")
    return os.fsdecode(path)


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

    Example:
        >>> params = {"dense": {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}}
        >>> opt_state = optax.adam(1e-3).init(params)
        >>> save("run.npz", {"params": params, "opt_state": opt_state}, {"epoch": 1})
        'run.npz'
        >>> sorted(np.load("run.npz"))[:2]
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

    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temps(directory)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                  f"{secrets.token_hex(8)}.tmp")
    try:
        with open(tmp, "xb+") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                members = [(MANIFEST, manifest_bytes)]
                members += [(record["name"], data) for record, data in stored]
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
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_directory(directory)
    return path


def _read(path):
    """``(manifest, {name: array})`` after checking the checksum; never unpickles."""
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
                for record in manifest["leaves"]:
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

    Example:
        >>> tree, meta = load("run.npz")
        >>> meta["epoch"], type(tree["opt_state"][0]).__name__
        (1, 'ScaleByAdamState')
        >>> tree, meta = load("run.npz", like={"params": params, "opt_state": opt_state})
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
    except _NeedsLike as e:
        raise CheckpointError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError, StopIteration) as e:
        raise CheckpointError(f"{path}: malformed manifest ({type(e).__name__}: {e})") from e
    return tree, metadata


# ----------------------------------------------------------------------------- folders


def list_steps(directory) -> list[int]:
    """The steps of the ``ckpt_{step:06d}.npz`` files in ``directory``, ascending.

    Example:
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
        >>> latest("runs/mnist")
        'runs/mnist/ckpt_000004.npz'
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
        >>> restored = restore_latest("runs/mnist", like={"params": params})
        >>> if restored is not None:
        ...     tree, metadata, step = restored
    """
    steps = list_steps(directory)
    if not steps:
        return None
    tree, metadata = load(_step_path(directory, steps[-1]), like)
    return tree, metadata, steps[-1]
