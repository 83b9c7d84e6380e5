"""The small programs each form is checked with before any random one.

Each catches one kind of mistake with the form alone, so a failure here is already as small as
it gets and names its form for sure: the form alone (its value and local derivatives), with one
Value as both operands (`a * a`: an op that sets a gradient with `=` keeps one share), applied
to its own result (`(a * b) * c`: an op that forgets to multiply by out.grad shows once out.grad
is not 1), and with its operand also used directly by a form already found right
(`a = x0.tanh(); b = a + x0`: the same `=` mistake in an op of one operand).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from ..expression import well_conditioned
from .forms import FORMS, Program, Step

POINTS = (1.5, -0.5, 2.5, -1.25, 0.75, 2.0)
"""Where forms are tried: both signs, off the kinks, no two alike."""
HELPERS = ("a + b", "a * b")
"""The forms `pair_programs` combines others with, once they are found right on their own."""


def own_programs(key: str, per_constant: int = 2) -> list[Program]:
    """Form `key` alone at `per_constant` points for each of its constants (`x ** 0.5` may be
    wrong where `x ** 2` is right); with one Value as both operands; and applied to its own
    result (in each operand position)."""
    form = FORMS[key]
    n = form.arity
    ks = form.constants or (None,)
    out = []
    for k in ks:
        alone = (Program(p, (Step(key, tuple(range(n)), k),)) for p in _points(n))
        out += list(itertools.islice(_conditioned(alone), per_constant))
    k = ks[0]
    if n == 2:
        out += _first(Program((x,), (Step(key, (0, 0)),)) for x in POINTS)
        for chained in ((3, 2), (2, 3)):  # the first result as the second step's a, then b
            out += _first(Program(p, (Step(key, (0, 1)), Step(key, chained))) for p in _points(3))
    else:
        out += _first(Program(p, (Step(key, (0,), k), Step(key, (1,), k))) for p in _points(1))
    return out


def pair_programs(key: str, helpers: Sequence[str]) -> list[Program]:
    """Form `key`, then each of `helpers` on its result and its first operand."""
    form = FORMS[key]
    n = form.arity
    k = form.constants[0] if form.constants else None
    return [program for helper in helpers
            for program in _first(Program(p, (Step(key, tuple(range(n)), k), Step(helper, (n, 0))))
                                  for p in _points(n))]


def _points(n: int) -> list[tuple[float, ...]]:
    """Points of n distinct coordinates from `POINTS`, the first ones first."""
    return [tuple(POINTS[(i + j) % len(POINTS)] for j in range(n)) for i in range(len(POINTS))]


def _conditioned(programs: Iterable[Program]) -> Iterable[Program]:
    return (p for p in programs if well_conditioned(*p.expression()))


def _first(programs: Iterable[Program]) -> list[Program]:
    return list(itertools.islice(_conditioned(programs), 1))


def order_programs(forms: Sequence[str], most: int = 12) -> list[Program]:
    """The smallest programs where a backward() with no topological order can go wrong, from
    `forms` (at most `most`): `a = u(x0); b = v(a); c = h(b, a)`, `a` used by `b` and by `c`.
    Walking from `c`, a backward() that reaches `a` before `b` sends `a`'s gradient on before
    `b` has added its share."""
    unary = [f for f in forms if FORMS[f].arity == 1]
    binary = [f for f in forms if FORMS[f].arity == 2 and f in HELPERS] or [
        f for f in forms if FORMS[f].arity == 2]
    out: list[Program] = []
    for u, v, h in itertools.product(unary[:3], unary[:3], binary[:2]):
        ku, kv = (FORMS[f].constants[0] if FORMS[f].constants else None for f in (u, v))
        for last in ((2, 1), (1, 2)):
            shape = (Step(u, (0,), ku), Step(v, (1,), kv), Step(h, last))
            out += _first(Program(p, shape) for p in _points(1))
            if len(out) == most:
                return out
    return out
