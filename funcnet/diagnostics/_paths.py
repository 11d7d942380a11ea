"""Path names for parameter trees: layer order, and grouping leaves per leaf or per layer."""

from __future__ import annotations

import re
from collections.abc import Sequence

import jax

_COMPONENT = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\.(\w+)|\[([^\]]*)\]")
_INDEXED = re.compile(r"^(.*)_(\d+)$")
PER = ("leaf", "layer")


def _component_key(text: str, index: str) -> tuple:
    if index:
        return (0, int(index), "")
    match = _INDEXED.match(text)
    return (0, int(match.group(2)), match.group(1)) if match else (1, 0, text)


def path_order_key(path: str) -> tuple:
    """Sort key putting keystr paths in layer order (``dense_2`` before ``dense_10``).

    Sequential names its children ``f"{name}_{i}"``; each such component sorts by ``i``,
    list indices by number, anything else by name.

    Examples:
        >>> sorted(["['dense_10']['w']", "['batch_norm_3']['scale']", "['dense_0']['w']"],
        ...        key=path_order_key)
        ["['dense_0']['w']", "['batch_norm_3']['scale']", "['dense_10']['w']"]
    """
    return tuple(_component_key(quoted or attr or other or "", index)
                 for quoted, index, attr, other in _COMPONENT.findall(path))


def natural_order(pairs: Sequence[tuple[str, object]]) -> list[tuple[str, object]]:
    """``(path, value)`` pairs sorted into layer order by :func:`path_order_key`."""
    return sorted(pairs, key=lambda pair: path_order_key(pair[0]))


def _check_per(where: str, per: str) -> None:
    if per not in PER:
        raise ValueError(f"{where}: per must be 'leaf' (one norm per array) or 'layer' (one "
                         f"per layer, its arrays together), got {per!r}")


def _groups(where: str, tree, per: str) -> list[tuple[str, list]]:
    """``[(name, [leaves])]`` in layer order: one per leaf, or one per layer."""
    _check_per(where, per)
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    if not leaves:
        raise ValueError(f"{where}: the tree has no arrays (got "
                         f"{jax.tree_util.tree_structure(tree)})")
    groups: dict[str, list] = {}
    for path, leaf in leaves:
        owner = path if per == "leaf" else path[:-1]
        name = jax.tree_util.keystr(owner) or "<root>"
        groups.setdefault(name, []).append(leaf)
    return natural_order(list(groups.items()))


def parameter_paths(tree, *, per: str = "leaf") -> list[str]:
    """The names, in layer order, that the ``*_vector`` functions give their entries.

    Args:
        tree: params (or grads) tree; only its structure is used.
        per: ``"leaf"`` (one path per array) or ``"layer"`` (one per layer).

    Examples:
        >>> parameter_paths({"dense_0": {"w": 1.0, "b": 0.0}, "dense_2": {"w": 1.0}})
        ["['dense_0']['b']", "['dense_0']['w']", "['dense_2']['w']"]
    """
    return [name for name, _ in _groups("parameter_paths", tree, per)]


def pretty_path(path) -> str:
    """A parameter path as a plot label: ``"dense_2/w"`` for ``"['dense_2']['w']"``.

    Takes a ``jax.tree_util.keystr`` string or a key path (from
    ``jax.tree_util.tree_flatten_with_path``). Each dict key, list index or attribute
    becomes one ``/``-separated part; a string that is not a keystr path (``"layer 0"``,
    an already pretty ``"dense_0/w"``) is returned unchanged, so labels of any origin
    pass through it.

    Examples:
        >>> pretty_path("['residual_1']['block']['dense_0']['w']")
        'residual_1/block/dense_0/w'
        >>> pretty_path("[2]"), pretty_path("layer 0"), pretty_path("<root>")
        ('2', 'layer 0', '<root>')
    """
    if not isinstance(path, str):
        path = jax.tree_util.keystr(tuple(path))
    parts = _COMPONENT.findall(path)
    if not parts or "".join(_COMPONENT.sub("", path).split()):
        return path  # not (only) keystr components: a label already
    return "/".join(quoted or index or attr or other for quoted, index, attr, other in parts)
