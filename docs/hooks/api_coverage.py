"""mkdocs hook: the build fails if a public name is missing from the API reference.

"Public" means every name in the ``__all__`` of ``funcnet``, ``reference`` and their
subpackages, plus the public functions and classes defined in the modules that have no
``__all__``. After the build, mkdocstrings' inventory (``objects.inv``) lists every
object the API pages rendered; each public object must be one of them (by identity, or
by name for constants such as ``DEVICE_DATA_BUDGET``).
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import zlib

from mkdocs.exceptions import PluginError

PACKAGES = ["funcnet", "funcnet.core", "funcnet.layers", "funcnet.activations",
            "funcnet.losses", "funcnet.initializers", "funcnet.optim", "funcnet.train",
            "funcnet.train.fit", "funcnet.train.step", "funcnet.train.evaluate",
            "funcnet.train.early_stopping", "funcnet.train.guard", "funcnet.checkpoint",
            "funcnet.check", "funcnet.diagnostics", "funcnet.plot", "funcnet.data",
            "funcnet.summary", "reference"]


def public_names(module) -> list[str]:
    """``__all__``, or the public functions and classes the module itself defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module.__name__]


def inventory(path: pathlib.Path) -> list[str]:
    """The object names in a Sphinx-format ``objects.inv``."""
    raw = path.read_bytes()
    body = raw.split(b"\n", 4)[4]
    lines = zlib.decompress(body).decode().splitlines()
    return [line.split(" ", 1)[0] for line in lines if line.strip()]


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def on_post_build(config, **kwargs):
    names = inventory(pathlib.Path(config["site_dir"]) / "objects.inv")
    documented_ids = {id(obj) for obj in map(_resolve, names) if obj is not None}
    short = {name.rsplit(".", 1)[-1] for name in names}
    missing = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in public_names(module):
            obj = getattr(module, name)
            if id(obj) not in documented_ids and not (
                    not callable(obj) and not inspect.ismodule(obj) and name in short):
                if inspect.ismodule(obj):
                    continue  # a subpackage: its own names are checked on its own
                missing.append(f"{package}.{name}")
    if missing:
        raise PluginError(f"the API reference misses {len(missing)} public name(s): "
                          f"{', '.join(missing)}; add them to a page in docs/api/")
