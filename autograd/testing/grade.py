"""`grade`: check your own scalar engine (a micrograd-style `Value` class) against this one.

It finds which operations your class has (operators with a Value or a number on either side,
unary `-`, `**`, `abs()`, and the methods `relu tanh exp log sigmoid sqrt sin cos`), runs each
on its own, then random expressions over them (hypothesis), on your class and on
`autograd.Value`, and compares the output's value and every input's gradient. A difference is
shrunk to the smallest program that shows it, and the report names the op first found wrong,
with the program, both values and both gradients, and a hint. Needs hypothesis.

    >>> from autograd.testing import grade
    >>> report = grade(MyValue)          # doctest: +SKIP
    >>> print(report)                    # doctest: +SKIP

From a shell, `python -m autograd.testing.grade MODULE:CLASS` (or `path/to/file.py:CLASS`)
prints the same report and exits 0 if all agree, 1 on a difference, 2 if the class cannot be
loaded or used (3 if the grader itself fails: a bug to report).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
import traceback
import types
from collections.abc import Callable, Sequence
from typing import Any

from .grading.compare import Comparison, compare
from .grading.diagnose import BACKWARD, CONSTRUCTOR, Finding, and_list, diagnose
from .grading.forms import FORMS, Program
from .grading.probe import built_from_others, probe
from .grading.reduce import reduce
from .grading.report import Failure, Report, ops_in_order
from .grading.small import HELPERS, order_programs, own_programs, pair_programs

__all__ = ["Failure", "Report", "grade", "main"]

ORDER_TRIES = 30
"""Memory layouts each small program is tried at when backward()'s order is wrong."""
REDUCE_TRIES = 3
"""Memory layouts a reduced program is tried at (see `ORDER_TRIES`)."""
TIME_LIMIT = 1.0
"""Seconds one expression may run on your class (a correct engine takes about a millisecond)."""


def grade(value_class: Any, *, max_examples: int = 200, seed: int = 0,
          time_limit: float = TIME_LIMIT) -> Report:
    """Check `value_class` (your `Value`: `Value(data)`, `.data`, `.grad`, `.backward()`,
    operators and methods) against `autograd.Value` and return a `Report`.

    Each form your class has is first run on its own at a few points, then `max_examples`
    random expressions (hypothesis, seeded by `seed`) run over all of them. A difference is
    shrunk to its smallest program, its op is set aside and the search goes on over the rest,
    so each op found wrong is one `Failure`. Each expression may run `time_limit` seconds on
    your class. Nothing your code raises, prints or loops on stops the grading.

    >>> from autograd import Value
    >>> report = grade(Value, max_examples=20)
    >>> report.ok, "tanh" in report.agreed
    (True, True)
    """
    if not callable(value_class):
        raise TypeError(f"grade() takes your Value class, got {type(value_class).__name__}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"grade(): max_examples must be an integer >= 1, got {max_examples!r}")
    if not (isinstance(time_limit, (int, float)) and 0 < time_limit < math.inf):
        raise ValueError(f"grade(): time_limit must be a number of seconds > 0, "
                         f"got {time_limit!r}")
    from .grading.search import search  # imports hypothesis

    name = getattr(value_class, "__name__", repr(value_class))
    report = Report(name, seed=seed)
    found = probe(value_class, time_limit)
    report.missing = found.missing
    if found.unusable is not None:
        report.unusable = found.unusable
        return report
    forms = found.found + list(found.plain)
    report.found = {op: [f for f in forms if FORMS[f].op == op]
                    for op in ops_in_order({FORMS[f].op for f in forms})}
    run = _Grading(value_class, time_limit, report, forms)
    run.small(own_programs)  # each form alone first: the smallest programs of all
    helpers = [h for h in HELPERS if h in run.active]
    run.small(lambda form: pair_programs(form, helpers))
    while run.going and run.active:
        c = search(value_class, run.active, max_examples=max_examples, seed=seed,
                   time_limit=time_limit, count=run.count)
        if c is None:
            break
        run.record(c, forms_checked=True)
    remaining = ops_in_order({FORMS[f].op for f in run.active})
    if run.going:
        report.agreed = remaining
    else:
        report.not_checked = remaining
    report.expressions = run.expressions
    return report


class _Grading:
    """The state of one grading: the forms still `active` (an op found wrong is set aside with
    all its forms), whether it is still `going` (not once backward() or the constructor is
    found wrong: then every op would look wrong), and how many programs ran."""

    def __init__(self, value_class: Any, time_limit: float, report: Report,
                 forms: list[str]) -> None:
        self.value_class = value_class
        self.time_limit = time_limit
        self.report = report
        self.active = list(forms)
        self.going = True
        self.expressions = 0

    def count(self) -> None:
        self.expressions += 1

    def small(self, programs_of: Callable[[str], list[Program]]) -> None:
        """Each active form's small programs, until one differs."""
        for form in list(self.active):
            if not self.going:
                return
            if form not in self.active:
                continue
            for program in programs_of(form):
                c = compare(program, self.value_class, self.time_limit)
                if c is None:
                    continue
                self.count()
                if not c.agrees():
                    self.record(c)
                    break

    def record(self, c: Comparison, forms_checked: bool = False) -> None:
        """Add the failure `c` shows and set its op aside."""
        finding = diagnose(c, self.value_class, self.time_limit, forms_checked)

        def same_mistake(program: Program) -> tuple[Comparison, Finding] | None:
            for shift in range(REDUCE_TRIES):
                d = compare(program, self.value_class, self.time_limit, shift)
                if d is None:
                    return None
                if not d.agrees():
                    f = diagnose(d, self.value_class, self.time_limit, forms_checked)
                    return (d, f) if (f.op, f.kind) == (finding.op, finding.kind) else None
            return None

        _, (c, finding) = reduce(c.program, (c, finding), same_mistake)
        if finding.kind == "order":
            smaller = self.smaller_order_example(len(c.program))
            if smaller is not None:
                c = smaller
                finding = diagnose(c, self.value_class, self.time_limit, forms_checked)
        failure = Failure.found(finding, c, self.report.class_name)
        failure.hint += _composite_note(failure, self.report.failures, self.value_class,
                                        self.time_limit)
        self.report.failures.append(failure)
        dropped = [f for f in self.active if FORMS[f].op == finding.op]
        for f in dropped:
            self.active.remove(f)
        self.going = bool(dropped) and finding.op not in (BACKWARD, CONSTRUCTOR)

    def smaller_order_example(self, size: int) -> Comparison | None:
        """A program of fewer than `size` operations where backward()'s order goes wrong
        (`small.order_programs`), or None. Whether it goes wrong may depend on where its nodes
        land in memory (a set of nodes is ordered by address), so each is tried at
        `ORDER_TRIES` layouts: hypothesis's smallest program may be larger only by luck."""
        for program in order_programs(self.active):
            if len(program) >= size:
                continue
            for shift in range(ORDER_TRIES):
                c = compare(program, self.value_class, self.time_limit, shift)
                if c is not None and not c.agrees():
                    return c
        return None


def _composite_note(failure: Failure, before: list[Failure], value_class: Any,
                    time_limit: float) -> str:
    """A note for a form your class builds from its other ops (`a / b` as `a * b**-1`): the
    ops found wrong before it may be the cause; inside it a value may be used twice."""
    if failure.kind == "order":
        forms = [f for f in dict.fromkeys(s.form for s in failure.program.steps)
                 if built_from_others(value_class, f, time_limit)]
        if forms:
            return (f" (Your {and_list(forms)} {'is' if len(forms) == 1 else 'are'} built from "
                    f"other operations of your class, so a value is used twice inside.)")
        return ""
    if before and failure.form and built_from_others(value_class, failure.form, time_limit):
        ops = list(dict.fromkeys(f.op for f in before))
        one = len(ops) == 1
        return (f" Your {failure.form} is built from other operations of your class, and "
                f"{and_list(ops)} (above) {'is' if one else 'are'} wrong: fix "
                f"{'that' if one else 'those'} first.")
    return ""


# --- command line ----------------------------------------------------------------------------


class UsageError(Exception):
    """The class named on the command line cannot be loaded."""


def load(spec: str) -> Any:
    """The class named by `MODULE:CLASS` or `path/to/file.py:CLASS`."""
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"expected MODULE:CLASS (or path/to/file.py:CLASS), got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            if not os.path.isfile(module_name):
                raise UsageError(f"no such file: {module_name}")
            name = os.path.splitext(os.path.basename(module_name))[0]
            if name in sys.modules:  # a file named like a module already loaded (random.py)
                name = f"{name}_graded"
            loader_spec = importlib.util.spec_from_file_location(name, module_name)
            if loader_spec is None or loader_spec.loader is None:
                raise UsageError(f"cannot load {module_name} as Python")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module  # so the class can find its own module
            loader_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())  # the learner's module sits where they are
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever importing the learner's code does
        if isinstance(exc, KeyboardInterrupt):
            raise
        message = " ".join(str(exc).split())  # one line, whatever the error says
        raise UsageError(f"cannot import {module_name}: {type(exc).__name__}: {message}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"{module_name} has no {attribute!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograd.testing.grade",
        description="Check your own scalar autograd engine (a micrograd-style Value class) "
                    "against gradwalk's on random expressions.",
    )
    parser.add_argument("target", metavar="MODULE:CLASS",
                        help="your class, e.g. engine:Value or path/to/engine.py:Value")
    parser.add_argument("--max-examples", type=int, default=200,
                        help="random expressions per search (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis's seed (default 0)")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                        help=f"seconds one expression may run (default {TIME_LIMIT:g})")
    args = parser.parse_args(argv)
    try:
        value_class = load(args.target)
        if not callable(value_class):
            raise UsageError(f"{args.target} is a {type(value_class).__name__}, not a class")
        from .grading import search  # noqa: F401 - hypothesis missing is a usage error
    except (UsageError, ImportError) as exc:
        print(f"grade: error: {exc}", file=sys.stderr)
        return 2
    try:
        report = grade(value_class, max_examples=args.max_examples, seed=args.seed,
                       time_limit=args.time_limit)
    except Exception:  # the grader's own fault, not a difference: not exit 1
        traceback.print_exc()
        print("grade: internal error (please report it with the class graded)", file=sys.stderr)
        return 3
    if report.unusable is not None:
        print(f"grade: error: {report.summary()}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.ok else 1


class _CallableModule(types.ModuleType):
    """`autograd.testing.grade` is this module once anything imports it by that name (the
    import system sets it on the package), and the function `grade` before: calling either
    grades, so `from autograd.testing import grade; grade(Value)` works both ways."""

    def __call__(self, value_class: Any, **options: Any) -> Report:
        return grade(value_class, **options)


if __name__ == "__main__":
    sys.exit(main())
else:
    sys.modules[__name__].__class__ = _CallableModule
