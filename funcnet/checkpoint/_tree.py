"""Pytree <-> JSON manifest node: flattening, NamedTuple rebuild (allow-listed modules),
and the first difference between a checkpoint's tree and a ``like`` template."""

from __future__ import annotations

import importlib

import jax

from funcnet.checkpoint._format import ROOT

_ALLOWED_MODULES = ("optax", "funcnet")


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
    if kind != "custom":
        raise _Unreadable(f"the checkpoint has a {_describe(node)} at {_where(path)}, a kind "
                          f"of node this version of funcnet does not read (written by an "
                          f"older version?); its arrays are still in the file, named by "
                          f"path (numpy.load lists them)")
    raise _NeedsLike(f"the {node['type']} node at {path or 'the root'} cannot be rebuilt "
                     f"from the file alone; pass like=<a tree of the same structure> to load it")


class _NeedsLike(Exception):
    pass


class _Unreadable(Exception):
    """A node this version cannot rebuild, with or without ``like``."""


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
    if "qualname" in node:  # a kind not written any more, e.g. an older version's "static"
        return f"{node['kind']} node {node['module']}.{node['qualname']}"
    return {"leaf": "leaf (array)", "none": "None"}.get(node["kind"], node["kind"])
