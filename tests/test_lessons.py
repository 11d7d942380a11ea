"""The lessons' exercises: every solution passes all three oracles, every starter stub
reports "not done", and a planted wrong entry is named with its index by every oracle.

Parametrized over every ``lessons/lesson_00N.py`` found, so a new lesson's exercises are
covered when they land. The planted check reuses the solution check's draw (same seed),
so each exercise's jitted oracle compiles once.
"""

from __future__ import annotations

import doctest
import inspect
import shutil

import numpy as np
import pytest

import lessons
import lessons._ways
import lessons.checker
from lessons.__main__ import main
from lessons.checker import WAYS, Exercise, check

CASES = [pytest.param(ex, id=f"lesson_{ex.lesson:03d}-{ex.name}")
         for n in lessons.available() for ex in lessons.exercises_of(n)]


def _solution(ex):
    return getattr(lessons.module_of(ex.lesson, solutions=True), ex.name)


@pytest.mark.parametrize("ex", CASES)
def test_solution_passes_all_three_ways(ex):
    # one draw keeps the suite inside its budget (each new shape compiles the jax
    # oracle); `python -m lessons check N --solutions` runs five
    report = check(ex, _solution(ex), trials=1)
    assert report.ok, str(report)
    assert str(report).count(" ok (") == len(WAYS) * len(ex.outputs or ("output",))


@pytest.mark.parametrize("ex", CASES)
def test_starter_stub_reports_not_done(ex):
    stub = getattr(lessons.module_of(ex.lesson), ex.name)
    report = check(ex, stub)
    assert report.status == "not done" and not report.ok
    assert " ".join(inspect.getdoc(stub).split()) == " ".join(ex.prompt.split())


@pytest.mark.parametrize("ex", CASES)
def test_planted_wrong_entry_is_named(ex):
    solution = _solution(ex)
    outputs = lessons.checker._as_outputs(solution(*ex.make_inputs(np.random.default_rng(0))))
    first = np.asarray(outputs[0])
    idx = tuple(int(i) for i in np.unravel_index(first.size - 1, first.shape))

    def planted(*args):
        outputs = [np.array(o, dtype=np.float64) for o in
                   lessons.checker._as_outputs(solution(*args))]
        outputs[0][idx] += 1e-3 * (1.0 + abs(outputs[0][idx]))
        return tuple(outputs) if len(outputs) > 1 else outputs[0]

    report = check(ex, planted, trials=1)
    assert report.status == "fail"
    assert str(report).count(f"wrong at index {idx}:") == len(WAYS), str(report)


def test_every_lesson_module_has_its_stub_and_solution_files():
    for n in lessons.available():
        names = {ex.name for ex in lessons.exercises_of(n)}
        for solutions in (False, True):
            module = lessons.module_of(n, solutions=solutions)
            defined = {name for name, f in vars(module).items()
                       if inspect.isfunction(f) and f.__module__ == module.__name__}
            assert defined == names, (module.__name__, defined ^ names)


def test_cli_exit_status_and_file(tmp_path, capsys):
    assert main(["check", "0", "--solutions", "--trials", "1"]) == 0
    assert main(["check", "0", "--trials", "1"]) == 1
    assert "not done" in capsys.readouterr().out
    mine = tmp_path / "mine.py"
    shutil.copy(lessons.module_of(1, solutions=True).__file__, mine)
    assert main(["check", "1", "--file", str(mine), "--trials", "1"]) == 0
    mine.write_text(mine.read_text().replace("def dense_backward", "def dense_backward_old"))
    assert main(["check", "1", "--file", str(mine), "--trials", "1"]) == 1
    assert "defines no function dense_backward" in capsys.readouterr().out
    for argv, text in ((["check", "0", "--trials", "0"], "must be an integer >= 1, got 0"),
                       (["check", "0", "--file", str(tmp_path / "no.py")], "is not a file")):
        with pytest.raises(SystemExit):
            main(argv)
        assert text in capsys.readouterr().err


def _double():
    return Exercise(0, "double", "Return 2 x.", lambda rng: (rng.standard_normal((2, 3)),),
                    {way: (lambda x: 2 * x) for way in WAYS})


@pytest.mark.parametrize(("fn", "status", "text"), [
    (lambda x: x.missing, "error", "raised AttributeError"),
    (lambda x: 2 * x[:1], "fail", "has shape (1, 3), expected (2, 3)"),
    (lambda x: (2 * x, x), "fail", "returned 2 output(s), expected 1"),
    (lambda x: np.full_like(x, np.nan), "fail", "got nan"),
    (lambda x: "two x", "fail", "is not an array of numbers"),
])
def test_report_names_each_kind_of_wrong(fn, status, text):
    report = check(_double(), fn, trials=1)
    assert report.status == status and text in str(report), str(report)


def test_check_does_not_let_fn_change_the_oracles_inputs():
    def doubles_in_place(x):
        x *= 2
        return x

    assert check(_double(), doubles_in_place, trials=2).ok


BAD = [
    ("lesson-out-of-range", lambda: Exercise(5, "f", "p", lambda r: (), {w: abs for w in WAYS}),
     ValueError, r"lesson must be an integer in 0\.\.4, got 5"),
    ("name-not-identifier", lambda: Exercise(0, "my f", "p", lambda r: (),
                                             {w: abs for w in WAYS}),
     ValueError, r"name must be a Python identifier.*'my f'"),
    ("ways-missing-one", lambda: Exercise(0, "f", "p", lambda r: (),
                                          {"reference": abs, "jax": abs}),
     ValueError, r"ways must have exactly the keys \['reference', 'jax', 'numerical'\], "
                 r"got \['jax', 'reference'\]"),
    ("way-not-callable", lambda: Exercise(0, "f", "p", lambda r: (),
                                          {**{w: abs for w in WAYS}, "jax": 3}),
     TypeError, r"ways\['jax'\] must be callable, got int"),
    ("trials-zero", lambda: check(_double(), abs, trials=0), ValueError,
     r"trials must be an integer >= 1, got 0"),
    ("rtol-negative", lambda: check(_double(), abs, rtol=-1.0), ValueError,
     r"rtol must be a finite number >= 0, got -1\.0"),
    ("fn-not-callable", lambda: check(_double(), "abs"), TypeError,
     r"fn must be the function to check, got str"),
    ("unknown-lesson", lambda: lessons.exercises_of(9), ValueError,
     r"lesson must be one of \[0, 1.*\], got 9"),
    ("file-missing", lambda: lessons.load_file("/no/such/file.py"), FileNotFoundError,
     r"--file '/no/such/file\.py' is not a file"),
]


@pytest.mark.parametrize(("call", "exc", "match"), [pytest.param(*r[1:], id=r[0]) for r in BAD])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("module", [lessons, lessons.checker, lessons._ways],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
