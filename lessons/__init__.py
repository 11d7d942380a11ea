"""The lessons' exercises that check themselves (``python -m lessons check N``).

A top-level package, not ``funcnet.lessons``: it joins funcnet and ``reference`` (its
oracles use both), and funcnet never imports ``reference``.

* ``checker``: :class:`Exercise` and :func:`check`, which compares a learner's function
  with three oracles (reference, jax, numerical) and names any wrong entry.
* ``lesson_00N``: each lesson's ``EXERCISES``.
* ``exercises/lesson_00N.py``: the learner's starter files; ``solutions/``: the answers.

Example::

    >>> import lessons
    >>> [ex.name for ex in lessons.exercises_of(1)]
    ['dense_backward', 'sigmoid_net_backward', 'batchnorm_backward']
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import sys
from pathlib import Path

from lessons.checker import WAYS, Exercise, Report, check

__all__ = ["WAYS", "Exercise", "Report", "available", "check", "check_module",
           "exercises_of", "load_file", "module_of"]


def available() -> list[int]:
    """The lesson numbers that have exercises (a ``lessons/lesson_00N.py`` each).

    Example::

        >>> 0 in available() and 1 in available()
        True
    """
    found = (re.fullmatch(r"lesson_(\d{3})", info.name) for info in pkgutil.iter_modules(__path__))
    return sorted(int(m.group(1)) for m in found if m)


def _lesson_number(lesson) -> int:
    numbers = available()
    if isinstance(lesson, bool) or not isinstance(lesson, int) or lesson not in numbers:
        raise ValueError(f"lessons: lesson must be one of {numbers}, got {lesson!r}")
    return lesson


def exercises_of(lesson: int) -> list[Exercise]:
    """Lesson ``lesson``'s ``EXERCISES`` list.

    Example::

        >>> exercises_of(0)[0].name
        'bowl_gradient'
    """
    return list(importlib.import_module(f"lessons.lesson_{_lesson_number(lesson):03d}").EXERCISES)


def module_of(lesson: int, *, solutions: bool = False):
    """The starter module ``lessons.exercises.lesson_00N`` (or the solutions' module).

    Example::

        >>> module_of(1, solutions=True).__name__
        'lessons.solutions.lesson_001'
    """
    folder = "solutions" if solutions else "exercises"
    return importlib.import_module(f"lessons.{folder}.lesson_{_lesson_number(lesson):03d}")


def load_file(path) -> object:
    """Import a learner's own file (a copy of a starter file) as a module.

    Example::

        >>> load_file(module_of(0).__file__).bowl_gradient.__name__
        'bowl_gradient'
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lessons: --file {str(path)!r} is not a file")
    name = f"_lessons_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"lessons: cannot import {str(path)!r} as Python (expected a .py file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def check_module(lesson: int, module, **options) -> list[Report]:
    """:func:`check` every exercise of ``lesson`` against the same-named function in
    ``module``; a missing function is a ``"fail"`` report saying so.

    Example::

        >>> [r.status for r in check_module(0, module_of(0))]
        ['not done', 'not done', 'not done']
    """
    reports = []
    for ex in exercises_of(lesson):
        fn = getattr(module, ex.name, None)
        if not callable(fn):
            where = getattr(module, "__file__", module)
            reports.append(Report(f"lesson {ex.lesson}, {ex.name}", "fail",
                                  (f"{where} defines no function {ex.name}",)))
        else:
            reports.append(check(ex, fn, **options))
    return reports
