"""``python -m lessons check N [--solutions | --file PATH]``: check a lesson's exercises.

Exit status 0 if and only if every exercise passes.
"""

from __future__ import annotations

import argparse
import sys

import lessons


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lessons",
        description="Check your answers to a lesson's exercises three ways: against "
                    "reference (NumPy backprop), jax.grad and numerical differences.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("check", help="check lesson N's exercises (exit 0 iff all pass)")
    run.add_argument("lesson", type=int, choices=lessons.available(),
                     help="the lesson number")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--solutions", action="store_true",
                        help="check the reference solutions instead of your starter file")
    source.add_argument("--file", metavar="PATH",
                        help="check your own copy of the starter file (default: "
                             "lessons/exercises/lesson_00N.py)")
    run.add_argument("--trials", type=_positive, default=5,
                     help="random draws per exercise (default: 5)")
    run.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    args = parser.parse_args(argv)

    if args.file:
        try:
            module = lessons.load_file(args.file)
        except (FileNotFoundError, ValueError) as err:
            parser.error(str(err))
    else:
        module = lessons.module_of(args.lesson, solutions=args.solutions)
    reports = lessons.check_module(args.lesson, module, trials=args.trials, seed=args.seed)
    for report in reports:
        print(report)
    passed = sum(r.ok for r in reports)
    print(f"{passed} of {len(reports)} exercises pass ({module.__file__})")
    return 0 if passed == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
