"""The examples' shared command line: full help text with defaults, ``--out`` and ``--quick``.

Every example builds its parser here, so ``--help`` prints the example's whole docstring
and every option's default, and a ``--quick`` smoke run writes into ``out/<name>_quick``
instead of overwriting the full run's pictures in ``out/<name>``.
"""

from __future__ import annotations

import argparse
import pathlib


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
