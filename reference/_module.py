"""What a layer's NumPy twin is (:class:`Module`), what its forward sees (:class:`Context`),
and the small checks every builder shares. Imported by ``reference.modules`` (the leaf
adapters) and ``reference.compose`` (composition), so neither imports the other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class Context:
    """What every layer's forward sees besides params, state and x.

    Attributes:
        train: training mode (Dropout drops, BatchNorm uses batch statistics).
        extras: extra inputs keyed by layer path (``{"dropout_1": mask}``).

    Examples:
        >>> ctx = Context(train=True, extras={"dropout_1": "a mask"})
        >>> ctx.extra("dropout_1", "its keep-mask")
        'a mask'
    """

    train: bool = False
    extras: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def extra(self, path: str, what: str):
        """Return ``extras[path]``, or raise a ValueError saying ``what`` is missing."""
        if path not in self.extras:
            raise ValueError(
                f"layer {path!r} needs {what}: pass extras={{{path!r}: ...}} to forward "
                f"(got extras for {sorted(self.extras)})"
            )
        return self.extras[path]


@dataclasses.dataclass(frozen=True)
class Module:
    """One layer's NumPy twin: ``forward``/``backward`` plus where it sits.

    Attributes:
        forward: ``forward(params, state, x, ctx) -> (y, new_state, cache)``.
        backward: ``backward(dy, cache) -> (dx, dparams)``.
        path: the layer's params keys joined by ``"/"``.
        spec: the layer's plain description.
        children: sub-layers of a composite layer (Sequential, Residual).

    Examples:
        >>> double = Module(lambda params, state, x, ctx: (2 * x, {}, None),
        ...                 lambda dy, cache: (2 * dy, {}), "double_0", {"type": "Double"})
        >>> double.forward({}, None, 3.0, Context())[0]
        6.0
    """

    forward: Callable
    backward: Callable
    path: str
    spec: dict
    children: tuple = ()


def join(path: str, key: str) -> str:
    """The path of child ``key`` of the layer at ``path``: ``"a/b"`` (``"b"`` at the root).

    Examples:
        >>> join("sequential_0", "dense_1"), join("", "dense_1")
        ('sequential_0/dense_1', 'dense_1')
    """
    return f"{path}/{key}" if path else key


def _where(spec: dict, path: str) -> str:
    """The layer's name in messages: ``"Dense at 'dense_0'"`` (the type alone at the root)."""
    return f"{spec.get('type', 'layer')} at {path!r}" if path else str(spec.get("type"))


def _check_hyperparameters(spec: dict, path: str, allowed: set) -> None:
    """Raise TypeError for a spec entry that is neither ``"type"`` nor in ``allowed``."""
    unknown = set(spec) - allowed - {"type"}
    if unknown:
        raise TypeError(f"{_where(spec, path)}: unexpected spec entries {sorted(unknown)}; "
                        f"expected {sorted(allowed)}")


def _require_empty(where: str, name: str, tree) -> None:
    """Raise ValueError unless ``tree`` (params or state) is ``{}`` or ``None``."""
    if tree is not None and tree != {}:
        raise ValueError(f"{where}: expected {name} {{}} (the layer has none), got {tree!r}")
