"""Lessons 002-004: every exercise's three oracles agree with each other and with the
reference solution on random shapes, and the starter files are not shipped done.

The checker itself (``lessons.checker``) and its report are tested in test_lessons.py;
here the oracles are called directly, so a wrong oracle cannot hide behind the checker.
"""

import importlib

import numpy as np
import pytest

LESSONS = (2, 3, 4)
CASES = [(n, ex) for n in LESSONS
         for ex in importlib.import_module(f"lessons.lesson_00{n}").EXERCISES]


def _outputs(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


@pytest.mark.parametrize(("lesson", "exercise"), CASES, ids=[ex.name for _, ex in CASES])
def test_the_three_ways_and_the_solution_agree(lesson, exercise):
    solution = getattr(importlib.import_module(f"lessons.solutions.lesson_00{lesson}"),
                       exercise.name)
    rng = np.random.default_rng(lesson)
    shapes = set()
    for _ in range(3):
        args = exercise.make_inputs(rng)
        shapes.add(tuple(np.shape(a) for a in args))
        assert all(np.asarray(a).dtype == np.float64 for a in args)
        expected = _outputs(solution(*[np.copy(a) for a in args]))
        for way, oracle in exercise.ways.items():
            got = _outputs(oracle(*[np.copy(a) for a in args]))
            assert len(got) == len(expected), way
            for name, g, e in zip(exercise.outputs, got, expected, strict=True):
                assert np.shape(g) == np.shape(e), (way, name)
                np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-9, err_msg=f"{way} {name}")
    assert len(shapes) > 1, "make_inputs should draw random shapes"


@pytest.mark.parametrize(("lesson", "exercise"), CASES, ids=[ex.name for _, ex in CASES])
def test_the_starter_is_not_done(lesson, exercise):
    starter = getattr(importlib.import_module(f"lessons.exercises.lesson_00{lesson}"),
                      exercise.name)
    assert starter.__doc__.split() == exercise.prompt.split()
    with pytest.raises(NotImplementedError, match=exercise.name):
        starter(*exercise.make_inputs(np.random.default_rng(0)))
