"""Random programs over the forms a class has, drawn and shrunk by hypothesis.

Each program draws its operands from every earlier slot, favouring the latest, so deep chains,
a node used by two ops (a diamond) and a node used twice by one op (`a + a`, `a * a`) all
occur. Inputs lie on a grid of quarters in [-3, 3], so a counterexample reads `Value(1.5)`,
not `Value(1.4999999999999998)`; a point is kept only if every op is well-conditioned there
(inside its domain with a margin from kinks and domain edges, every value within 100, no tiny
derivative: `autograd.testing.well_conditioned`), where two correct engines agree to far more
digits than the tolerance asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

try:
    from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
    from hypothesis import seed as seeded
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
except ImportError as exc:  # a test extra, not a runtime dependency
    raise ImportError(
        "autograd.testing.grade needs hypothesis to draw its random expressions: "
        "pip install hypothesis"
    ) from exc

from ..expression import well_conditioned
from .compare import Comparison, compare
from .forms import FORMS, Program, Step

GRID = st.integers(-16, 8).map(lambda i: 1.0 + i / 4.0)
"""Input coordinates: quarters in [-3, 3], shrinking towards 1.0 (a readable number that is
no kink and inside every op's domain)."""
MAX_INPUTS = 3
"""Most inputs of a random program."""
MAX_STEPS = 8
"""Most operations of a random program."""
POINT_TRIES = 20
"""Points tried for a program before hypothesis is asked for another program."""
RERUNS = 10
"""Runs (at other memory layouts) a program must pass while shrinking to count as passing."""
SHRINK_BUDGET = 20.0
"""Seconds hypothesis may spend shrinking one difference before the smallest so far is
taken (shrinking a program that times out costs the time limit per try)."""


class _Differs(Exception):
    """Raised inside the property so hypothesis shrinks the program."""


class _OutOfTime(BaseException):
    """Stops hypothesis when shrinking has taken long enough (not an Exception, so hypothesis
    does not take it for a failure of the program)."""


@st.composite
def programs(draw: Any, forms: Sequence[str], max_inputs: int = MAX_INPUTS,
             max_steps: int = MAX_STEPS) -> Program:
    """A program over `forms` with a point where it is well-conditioned."""
    n = draw(st.integers(1, max_inputs))
    # The point first: deleting a step while shrinking then leaves it where it was.
    point = tuple(draw(GRID) for _ in range(n))
    steps: list[Step] = []
    # One more step with probability 4/5, asked before each step (rather than a length drawn
    # first), so that shrinking can delete any step, not only the last ones (the output).
    while not steps or (len(steps) < max_steps and draw(st.integers(0, 4))):
        form = FORMS[draw(st.sampled_from(list(forms)))]
        latest = n + len(steps) - 1
        # Counted back from the latest slot, so that deleting a step while shrinking keeps
        # the shape around it: the latest result (a chain), one just before it (a diamond,
        # `b = f(a); c = b + a`), or any earlier slot.
        back = st.one_of(st.just(0), st.integers(0, min(2, latest)), st.integers(0, latest))
        operands = tuple(latest - draw(back) for _ in range(form.arity))
        const = draw(st.sampled_from(form.constants)) if form.constants else None
        steps.append(Step(form.key, operands, const))
    for _ in range(POINT_TRIES):
        program = Program(point, tuple(steps))
        if well_conditioned(*program.expression()):
            return program
        point = tuple(draw(GRID) for _ in range(n))
    reject()  # no luck: let hypothesis draw another program


def search(
    value_class: Any,
    forms: Sequence[str],
    *,
    max_examples: int,
    seed: int,
    time_limit: float,
    count: Callable[[], None],
) -> Comparison | None:
    """Run random programs over `forms` on both engines; the smallest program that shows a
    difference (hypothesis shrinks it), or None if all agree. `count()` is called once per
    program run."""
    seen: list[Comparison] = []
    started: list[float] = []
    out_of_time = False

    @seeded(seed)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(programs(forms))
    def property_(program: Program) -> None:
        if started and time.monotonic() - started[0] > SHRINK_BUDGET:
            raise _OutOfTime
        # While shrinking, a program counts as passing only if it passes a few runs, its
        # nodes elsewhere in memory each time: a backward() that walks a set of nodes
        # (micrograd's `_prev`, ordered by address) may get a program right only by luck.
        for attempt in range(RERUNS if seen else 1):
            comparison = compare(program, value_class, time_limit, shift=attempt * 3)
            if comparison is None:
                reject()  # our engine cannot run it: no test
            if not comparison.agrees():
                break
        assert comparison is not None  # the loop runs at least once, and rejects None
        count()
        if not comparison.agrees():
            seen.append(comparison)
            if not started:
                started.append(time.monotonic())
            raise _Differs

    try:
        property_()
    except _Differs:
        pass
    except _OutOfTime:
        out_of_time = True
    except Unsatisfiable:  # no program over these forms fits the grid: nothing to run
        return None
    except Exception:  # hypothesis's own complaints (a flaky learner's engine, say)
        if not seen:
            raise
        out_of_time = True
    if not seen:
        return None
    # Hypothesis runs the smallest failing program last; if it was stopped, take the
    # smallest seen.
    return min(seen, key=_size) if out_of_time else seen[-1]


def _size(c: Comparison) -> tuple[int, int]:
    return len(c.program), c.program.n_inputs
