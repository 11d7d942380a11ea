"""The examples' shared command line: full help text with defaults, ``--out`` and ``--quick``.

Every example builds its parser here, so ``--help`` prints the example's whole docstring
and every option's default, and a ``--quick`` smoke run writes into ``out/<name>_quick``
instead of overwriting the full run's pictures in ``out/<name>``.
"""

from __future__ import annotations

import argparse
import os
import pathlib

# NumPy asks the kernel for transparent huge pages on every large array (madvise). Where
# the kernel then compacts memory synchronously to find them (THP defrag "madvise", as on
# this project's 2-core VMs), a fresh 188 MB array, MNIST's training images as float32,
# took 0.9-2.0 s to allocate instead of 0.07 s. The examples import this module before
# NumPy, so this turns it off for their own process; NUMPY_MADVISE_HUGEPAGE=1 keeps
# NumPy's default.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the docstring's own line breaks; append ``(default: ...)`` to each option.

    Flags (``store_true``) and options whose help already says their default (those
    defaulting to ``None``) get no suffix.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.default is None or action.default is False
                or action.default == argparse.SUPPRESS or "%(default)" in text):
            return text
        return text + " (default: %(default)s)"


def parser(doc: str, name: str, quick: str) -> argparse.ArgumentParser:
    """A parser whose description is ``doc`` with ``--out`` and ``--quick`` already added.

    ``name`` is the example's output folder name; ``quick`` says what ``--quick`` does.
    """
    p = argparse.ArgumentParser(description=doc, formatter_class=_Formatter)
    p.add_argument("--out", type=pathlib.Path, default=None,
                   help=f"folder for the pictures (default: out/{name}, or out/{name}_quick "
                        f"with --quick, so a smoke run never overwrites a full run's pictures)")
    p.add_argument("--quick", action="store_true", help=quick)
    p.set_defaults(_name=name)
    return p


def parse(p: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` and fill in the default ``--out`` from ``--quick``."""
    args = p.parse_args(argv)
    if args.out is None:
        args.out = pathlib.Path("out") / (args._name + ("_quick" if args.quick else ""))
    return args


def compile_cache_dir() -> pathlib.Path:
    """Where the examples keep JAX's persistent compilation cache.

    ``$JAX_COMPILATION_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/funcnet/jax`` (by default
    ``~/.cache/funcnet/jax``).
    """
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return pathlib.Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "funcnet" / "jax"


def run(main) -> None:
    """Run an example as a script, with JAX's persistent compilation cache on.

    A second run of the same example loads its compiled steps from disk instead of
    compiling them again (on this project's 2-core machine the main job's first epoch
    drops from compile-bound to run-bound). The cache holds only XLA executables keyed by
    the program, the jax version and the machine; delete the folder to clear it, or set
    ``FUNCNET_NO_COMPILE_CACHE=1`` to run without it. Tests call ``main`` directly and
    never touch this cache (the suite keeps one of its own, ``tests/conftest.py``).
    """
    if not os.environ.get("FUNCNET_NO_COMPILE_CACHE"):
        import jax

        jax.config.update("jax_compilation_cache_dir", str(compile_cache_dir()))
        # cache every step, not only those that took over a second to compile
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    main()
