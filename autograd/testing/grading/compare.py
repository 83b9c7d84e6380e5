"""One program on the learner's class and on ours, and whether the two agree.

Both engines see the same program: the learner's inside `guard.guarded` (with a time limit),
ours directly. Each run keeps every slot's data and gradient, the interior ones included (the
learner's engine keeps them, as micrograd does), which is what lets `diagnose` find where the
gradients first part. What decides agreement is what the engine promises: the output's value
and every input's gradient.

Two correct engines differ in the last bits (a learner's tanh written with exp, a division
written as `a * b**-1`), so numbers are compared with a tolerance of `ROUNDING_SLACK` times the
first-order bound of our own rounding (`autograd.testing.check.rounding_bounds`, which grows
with cancellation). That leaves room for millions of ulps per operation, while every mistake a
learner makes is off by far more at the points drawn (`Program`s keep away from kinks and
domain edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from ... import engine
from ..check import rounding_bounds
from .forms import Program
from .guard import Trouble, guarded

ROUNDING_SLACK = 1e7
"""How many times our rounding bound two correct engines may differ by (about 2e-9 relative)."""
FLOOR = 1e-12
"""The smallest tolerance: for exact zeros and for the output's own gradient (1.0)."""

Reading = float | str
"""A number read from a node, or a description of what was there instead (`"None"`,
`"a Value"`, `"missing"`)."""


@dataclass
class Run:
    """One engine's run of a program: each slot's data and gradient (read after backward),
    and what went wrong if something did. `stage` is where it stopped: "forward" (while
    building slot `len(data)`), "backward", or "done"."""

    data: list[Reading] = field(default_factory=list)
    grads: list[Reading] = field(default_factory=list)
    plain: list[bool] = field(default_factory=list)  # slot is a plain number, not a node
    trouble: Trouble | None = None
    stage: str = "forward"

    @property
    def value(self) -> Reading | None:
        """The output's data."""
        return self.data[-1] if self.stage != "forward" else None


def read(node: Any, attribute: str) -> Reading:
    """`node.<attribute>` as a float, or what it is instead."""
    if isinstance(node, Real):
        return "a plain number" if attribute == "data" else "missing"
    x = getattr(node, attribute, _MISSING)  # under `guarded`: it may be a property
    if x is _MISSING:
        return "missing"
    if isinstance(x, Real) and not isinstance(x, bool):
        return float(x)
    return "None" if x is None else f"a {type(x).__name__}"


_MISSING = object()


def run_learner(program: Program, value_class: Any, time_limit: float, shift: int = 0) -> Run:
    """The learner's run of `program`. `shift` Values are made first and kept while it runs,
    so that its nodes land elsewhere in memory: a set of nodes (micrograd's `_prev`) is
    ordered by address, so a backward() that depends on that order goes another way."""
    run = Run()
    slots: list[Any] = []

    def body() -> None:
        ballast = [value_class(0.0) for _ in range(shift)]
        program.build(value_class, slots)
        del ballast
        run.data = [read(s, "data") for s in slots]
        run.plain = [isinstance(s, Real) for s in slots]
        run.stage = "backward"
        slots[-1].backward()
        run.grads = [read(s, "grad") for s in slots]
        run.stage = "done"

    _, run.trouble = guarded(body, time_limit)
    if run.stage == "forward":  # how far it got (`.data` may be a property: guarded too)
        data, trouble = guarded(lambda: [read(s, "data") for s in slots], time_limit)
        run.data = data if trouble is None else ["unreadable"] * len(slots)
    return run


def run_ours(program: Program) -> tuple[Run, list[engine.Value]] | None:
    """Our run and our nodes, or None where our engine cannot run the program (a point
    outside an op's domain): such a program is no test."""
    slots: list[Any] = []
    try:
        with engine.enable_grad():
            program.build(engine.Value, slots)
            slots[-1].backward()
    except (ArithmeticError, ValueError):
        return None
    run = Run([s.data for s in slots], [s.grad for s in slots], [False] * len(slots),
              None, "done")
    return run, slots


@dataclass
class Comparison:
    """A program run on both engines, with a tolerance for each slot's data and gradient."""

    program: Program
    yours: Run
    ours: Run
    nodes: list[engine.Value]  # ours, slot by slot
    data_tolerance: list[float]
    grad_tolerance: list[float]

    def data_differs(self, slot: int) -> bool:
        return _differ(self.yours.data[slot], self.ours.data[slot], self.data_tolerance[slot])

    def grad_differs(self, slot: int) -> bool:
        return _differ(self.yours.grads[slot], self.ours.grads[slot], self.grad_tolerance[slot])

    def grad_close(self, slot: int, x: float) -> bool:
        """Whether the learner's gradient of `slot` is `x`, to the slot's tolerance."""
        return not _differ(self.yours.grads[slot], x, self.grad_tolerance[slot])

    def agrees(self) -> bool:
        """The output's value and every input's gradient agree, and nothing went wrong."""
        if self.yours.trouble is not None or self.yours.stage != "done":
            return False
        if any(self.yours.plain):
            return False
        if self.data_differs(len(self.ours.data) - 1):
            return False
        return not any(self.grad_differs(i) for i in range(self.program.n_inputs))


def compare(program: Program, value_class: Any, time_limit: float,
            shift: int = 0) -> Comparison | None:
    """Run `program` on both engines; None if ours cannot run it. (`shift`: see
    `run_learner`.)"""
    ours = run_ours(program)
    if ours is None:
        return None
    run, nodes = ours
    yours = run_learner(program, value_class, time_limit, shift)
    grads = rounding_bounds(nodes[-1], nodes).gradients
    return Comparison(
        program, yours, run, nodes,
        [ROUNDING_SLACK * rounding_bounds(node).value + FLOOR for node in nodes],
        [ROUNDING_SLACK * g + FLOOR for g in grads],
    )


def _differ(yours: Reading, ours: Reading, tolerance: float) -> bool:
    if isinstance(yours, str) or isinstance(ours, str):
        return yours != ours
    if math.isnan(yours) or math.isnan(ours):
        return not (math.isnan(yours) and math.isnan(ours))
    return not abs(yours - ours) <= tolerance
