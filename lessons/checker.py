"""Exercises that check themselves: a learner's function against three oracles.

An :class:`Exercise` names the function the learner writes, says what to write, draws
random float64 inputs of random shapes, and holds three independent ways of computing
the right answer: ``"reference"`` (the NumPy twin's hand-written backward),
``"jax"`` (``jax.grad``/``jax.vjp`` of funcnet's forward) and ``"numerical"`` (central
differences of a forward pass). :func:`check` runs the learner's function on a few
draws and compares every output with every oracle; its :class:`Report` names the first
wrong entry of each output and by how much it is off, so "your ``dw`` is wrong at
(2, 1)" replaces "the loss does not go down".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WAYS = ("reference", "jax", "numerical")


@dataclass(frozen=True)
class Exercise:
    """One function a learner writes, with its inputs and its three oracles.

    Attributes:
        lesson: the lesson number, 0..4.
        name: the function's name, e.g. ``"dense_backward"``.
        prompt: what to write, with shapes (the starter stub's docstring).
        make_inputs: ``make_inputs(rng) -> args``, random float64 arrays (random shapes)
            and any other arguments, drawn from a ``np.random.Generator``.
        ways: exactly the three oracles ``"reference"``, ``"jax"`` and ``"numerical"``,
            each ``way(*args) -> expected``: one array or a tuple of arrays.
        outputs: names of the outputs, for the report (default ``output 0``, ...).

    Example::

        >>> square = Exercise(0, "double", "Return 2 x for x: (n,).",
        ...                   lambda rng: (rng.standard_normal(3),),
        ...                   {way: (lambda x: 2 * x) for way in WAYS})
        >>> square.ways.keys() == set(WAYS)
        True
    """

    lesson: int
    name: str
    prompt: str
    make_inputs: Callable[[np.random.Generator], tuple]
    ways: dict[str, Callable]
    outputs: tuple[str, ...] = ()

    def __post_init__(self):
        if isinstance(self.lesson, bool) or not isinstance(self.lesson, int) \
                or not 0 <= self.lesson <= 4:
            raise ValueError(f"Exercise: lesson must be an integer in 0..4, got {self.lesson!r}")
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Exercise: name must be a Python identifier (the function the "
                             f"learner writes), got {self.name!r}")
        if not callable(self.make_inputs):
            raise TypeError(f"Exercise {self.name}: make_inputs must be callable, got "
                            f"{type(self.make_inputs).__name__}")
        if not isinstance(self.ways, dict) or set(self.ways) != set(WAYS):
            got = sorted(self.ways) if isinstance(self.ways, dict) else type(self.ways).__name__
            raise ValueError(f"Exercise {self.name}: ways must have exactly the keys "
                             f"{list(WAYS)}, got {got}")
        for way, oracle in self.ways.items():
            if not callable(oracle):
                raise TypeError(f"Exercise {self.name}: ways[{way!r}] must be callable, got "
                                f"{type(oracle).__name__}")


@dataclass(frozen=True)
class Report:
    """What :func:`check` found: ``status`` is ``"pass"``, ``"fail"``, ``"not done"``
    or ``"error"``; ``lines`` say it per trial, way and output; ``str()`` prints both.

    Example::

        >>> Report("lesson 0, double", "pass", ("trial 0: ok",)).ok
        True
    """

    title: str
    status: str
    lines: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        return "\n".join([f"{self.title}: {self.status}", *("  " + line for line in self.lines)])


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{value.shape}"
    return repr(value)


def _copied(args: tuple) -> tuple:
    # every caller gets its own arrays, so a function that writes into its inputs
    # cannot change what the oracles (or the next caller) see
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


def _as_outputs(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _compare(name: str, got, expected, rtol: float, atol: float) -> tuple[bool, str]:
    """Is one output right? The text says so, or names its worst entry."""
    expected = np.asarray(expected, dtype=np.float64)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as err:
        return False, f"{name} is not an array of numbers ({type(got).__name__}: {err})"
    if got.shape != expected.shape:
        return False, f"{name} has shape {got.shape}, expected {expected.shape}"
    if got.size == 0:
        return True, f"{name} ok (empty)"
    abs_err = np.abs(got - expected)
    allowed = atol + rtol * np.abs(expected)
    bad = ~(abs_err <= allowed)  # NaN compares False, so a NaN entry is bad
    if not bad.any():
        return True, f"{name} ok (largest abs error {float(abs_err.max()):.1e})"
    excess = np.where(np.isnan(abs_err), np.inf, abs_err - allowed)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), got.shape))
    g, e = float(got[idx]), float(expected[idx])
    rel = abs(g - e) / abs(e) if e != 0 else math.inf
    return False, (f"{name} wrong at index {idx}: got {g:.10g}, expected {e:.10g}, abs error "
                   f"{abs(g - e):.3e}, rel error {rel:.3e} ({int(bad.sum())} of {bad.size} "
                   f"entries off)")


def _check_options(trials, rtol, atol) -> None:
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"check: trials must be an integer >= 1, got {trials!r}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not 0 <= value < math.inf:
            raise ValueError(f"check: {name} must be a finite number >= 0, got {value!r}")


def check(exercise: Exercise, fn: Callable, *, trials: int = 5, seed: int = 0,
          rtol: float = 1e-7, atol: float = 1e-9) -> Report:
    """Run ``fn`` on ``trials`` random draws and compare it with all three oracles.

    An entry is right when ``|got - expected| <= atol + rtol * |expected|`` (float64).

    Args:
        exercise: the :class:`Exercise`.
        fn: the learner's function, called as ``fn(*args)`` with ``exercise.make_inputs``'s
            args; it returns one array or a tuple of arrays, like the oracles.
        trials: how many random draws (shapes change from draw to draw).
        seed: seed of the ``np.random.Generator`` the draws come from.
        rtol, atol: relative and absolute tolerance per entry.

    Returns:
        A :class:`Report`: ``"not done"`` when ``fn`` raises ``NotImplementedError``,
        ``"error"`` when it raises anything else, else ``"pass"`` or ``"fail"``.

    Example::

        >>> ex = Exercise(0, "double", "Return 2 x for x: (n,).",
        ...               lambda rng: (rng.standard_normal(3),),
        ...               {way: (lambda x: 2 * x) for way in WAYS})
        >>> check(ex, lambda x: 2 * x, trials=2).ok
        True
        >>> print(check(ex, lambda x: x + x * (x > 0), trials=1))  # doctest: +ELLIPSIS
        lesson 0, double: fail
          trial 0 [args float64(3,)]:
            reference: output wrong at index (1,): got -0.132..., expected -0.264..., abs ...
            jax: output wrong at index (1,): ...
            numerical: output wrong at index (1,): ...
    """
    if not isinstance(exercise, Exercise):
        raise TypeError(f"check: exercise must be an Exercise, got {type(exercise).__name__}")
    if not callable(fn):
        raise TypeError(f"check: fn must be the function to check, got {type(fn).__name__}")
    _check_options(trials, rtol, atol)
    title = f"lesson {exercise.lesson}, {exercise.name}"
    rng = np.random.default_rng(seed)
    lines, passed = [], True
    for trial in range(trials):
        args = exercise.make_inputs(rng)
        lines.append(f"trial {trial} [args {', '.join(_describe(a) for a in args)}]:")
        try:
            got = _as_outputs(fn(*_copied(args)))
        except NotImplementedError as err:
            return Report(title, "not done", (f"{exercise.name} raised NotImplementedError: "
                                              f"{err}; write it, then check again",))
        except Exception as err:  # noqa: BLE001 (the learner's bug is the report)
            lines.append(f"  {exercise.name} raised {type(err).__name__}: {err}")
            return Report(title, "error", tuple(lines))
        for way in WAYS:
            expected = _as_outputs(exercise.ways[way](*_copied(args)))
            names = exercise.outputs or tuple(
                "output" if len(expected) == 1 else f"output {i}" for i in range(len(expected)))
            if len(got) != len(expected):
                passed = False
                lines.append(f"  {way}: returned {len(got)} output(s), expected "
                             f"{len(expected)} ({', '.join(names)})")
                continue
            results = [_compare(n, g, e, rtol, atol)
                       for n, g, e in zip(names, got, expected, strict=True)]
            passed &= all(ok for ok, _ in results)
            lines.append(f"  {way}: " + "; ".join(text for _, text in results))
    return Report(title, "pass" if passed else "fail", tuple(lines))
