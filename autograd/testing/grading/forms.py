"""The operations a learner's class may have, and straight-line programs over them.

A `Form` is one way code calls an op on a learner's `Value`: `a + b`, `a + 2` (`__add__` with a
number), `2 + a` (`__radd__`), `-a`, `a ** 2`, `a.tanh()`, `abs(a)`... Each is tried on its
own, since learners write (and get wrong) each dunder separately. A `Program` applies forms to
earlier results, so it runs unchanged on the learner's class and on ours, and prints as the
few lines of code a learner can paste to see the difference.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..expression import Expression
from ..expression import Step as TableStep

CONSTANTS = (2.0, 3.0, -1.0, 0.5)
"""The numbers drawn for `a + 2`, `2 - a`, `a * 2`... (the first is where shrinking goes)."""
EXPONENTS = (2.0, 3.0, -1.0, 0.5, 1.5, -2.0)
"""The constant exponents drawn for `a ** 2`."""
BASES = (2.0, 3.0, 0.5)
"""The constant bases drawn for `2 ** a` (positive: a negative base has no real power)."""


@dataclass(frozen=True)
class Form:
    """One way to call an op: `template` spells it (`{a} + {k}`), `apply` runs it on operands
    (Values of any class) and the constant `k`, `method` is what the learner writes for it.

    `table` says which op of `autograd.ops.OPS` this is and where its operands go there
    (`"a"`, `"b"`, `"k"` in the table's operand order; `"k"` as the op's constant argument when
    `table_arg`), so the op table's domains keep points where the op is well-conditioned.
    """

    key: str
    op: str
    method: str
    template: str
    apply: Callable[[Sequence[Any], float | None], Any]
    table: tuple[str, tuple[str, ...]]
    constants: tuple[float, ...] = ()
    table_arg: bool = False

    @property
    def arity(self) -> int:
        """How many Values it takes (the constant aside)."""
        return sum(1 for x in ("{a}", "{b}") if x in self.template)

    def spell(self, operands: Sequence[str], k: float | None = None) -> str:
        names = dict(zip("ab", operands))
        return self.template.format(k=_number(k) if k is not None else "k", **names)

    def describe(self) -> str:
        """How the report names it: `a + 2 (__add__ with a number)`."""
        extra = {"__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"}
        if "{k}" in self.template and self.method not in extra:
            return f"{self.key} ({self.method} with a number)"
        return f"{self.key} ({self.method})"


def _binary(symbol: str, fn: Callable[[Any, Any], Any], method: str, rmethod: str,
            name: str) -> list[Form]:
    return [
        Form(f"a {symbol} b", symbol, method, f"{{a}} {symbol} {{b}}",
             lambda xs, k: fn(xs[0], xs[1]), (name, ("a", "b"))),
        Form(f"a {symbol} 2", symbol, method, f"{{a}} {symbol} {{k}}",
             lambda xs, k: fn(xs[0], k), (name, ("a", "k")), CONSTANTS),
        Form(f"2 {symbol} a", symbol, rmethod, f"{{k}} {symbol} {{a}}",
             lambda xs, k: fn(k, xs[0]), (name, ("k", "a")), CONSTANTS),
    ]


def _method(name: str) -> Form:
    return Form(f"a.{name}()", name, name, f"{{a}}.{name}()",
                lambda xs, k: getattr(xs[0], name)(), (name, ("a",)))


METHODS = ("relu", "tanh", "exp", "log", "sigmoid", "sqrt", "sin", "cos")
"""The methods looked for, by the names micrograd and the lecture give them."""

# The lecture's primitives first (`-` and `/` are often built from them), so that a mistake
# in `*` or `**` is reported as theirs before it shows again in `a - b` or `a / b`.
_ALL = [
    *_binary("+", operator.add, "__add__", "__radd__", "+"),
    *_binary("*", operator.mul, "__mul__", "__rmul__", "*"),
    Form("a ** 2", "**", "__pow__", "{a} ** {k}", lambda xs, k: xs[0] ** k, ("**", ("a", "k")),
         EXPONENTS, table_arg=True),
    Form("a ** b", "**", "__pow__", "{a} ** {b}", lambda xs, k: xs[0] ** xs[1],
         ("pow", ("a", "b"))),
    Form("2 ** a", "**", "__rpow__", "{k} ** {a}", lambda xs, k: k ** xs[0], ("pow", ("k", "a")),
         BASES),
    Form("-a", "neg", "__neg__", "-{a}", lambda xs, k: -xs[0], ("neg", ("a",))),
    *_binary("-", operator.sub, "__sub__", "__rsub__", "-"),
    *_binary("/", operator.truediv, "__truediv__", "__rtruediv__", "/"),
    *(_method(name) for name in METHODS),
    Form("abs(a)", "abs", "__abs__", "abs({a})", lambda xs, k: abs(xs[0]), ("abs", ("a",))),
]
FORMS: dict[str, Form] = {form.key: form for form in _ALL}
"""Every form, simplest first (shrinking moves towards the first)."""

OPS_IN_ORDER = tuple(dict.fromkeys(form.op for form in _ALL))
"""The ops, as the report lists them."""


@dataclass(frozen=True)
class Step:
    """`form` applied to earlier slots (`operands`) and the constant `const`. Slots
    `0 .. n_inputs-1` are the inputs; slot `n_inputs + i` is step i's result."""

    form: str
    operands: tuple[int, ...]
    const: float | None = None


@dataclass(frozen=True)
class Program:
    """Inputs at `point`, then `steps`; the last step's result is the output.

    >>> p = Program((0.5,), (Step("a.tanh()", (0,)), Step("a + b", (1, 0))))
    >>> print(p.code())
    x0 = Value(0.5)
    a = x0.tanh()
    b = a + x0
    b.backward()
    """

    point: tuple[float, ...]
    steps: tuple[Step, ...]

    @property
    def n_inputs(self) -> int:
        return len(self.point)

    def __len__(self) -> int:
        """The number of operations."""
        return len(self.steps)

    def names(self) -> list[str]:
        """x0, x1, ... for the inputs, then a, b, c, ... for the results."""
        return [f"x{i}" for i in range(self.n_inputs)] + [_name(i) for i in range(len(self))]

    def forms(self) -> list[Form]:
        return [FORMS[s.form] for s in self.steps]

    def build(self, value_class: Any, slots: list[Any]) -> None:
        """Run the program on `value_class`, appending each slot's Value to `slots` as it goes
        (so a failure shows how far it got)."""
        for x in self.point:
            slots.append(value_class(x))
        for s in self.steps:
            slots.append(FORMS[s.form].apply([slots[i] for i in s.operands], s.const))

    def uses(self, slot: int) -> list[tuple[int, int]]:
        """(step, operand position) for each use of `slot` by a later step."""
        return [(j, p) for j, s in enumerate(self.steps) for p, i in enumerate(s.operands)
                if i == slot]

    def reaching_output(self) -> list[bool]:
        """For each slot, whether the output depends on it."""
        reach = [False] * (self.n_inputs + len(self))
        reach[-1] = True
        for j in reversed(range(len(self))):
            if reach[self.n_inputs + j]:
                for i in self.steps[j].operands:
                    reach[i] = True
        return reach

    def code(self, class_name: str = "Value") -> str:
        """The program as Python, ending with the backward pass."""
        names = self.names()
        lines = [f"{names[i]} = {class_name}({_number(x)})" for i, x in enumerate(self.point)]
        for j, s in enumerate(self.steps):
            spelled = FORMS[s.form].spell([names[i] for i in s.operands], s.const)
            lines.append(f"{names[self.n_inputs + j]} = {spelled}")
        lines.append(f"{names[-1]}.backward()")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.code()

    def expression(self) -> tuple[Expression, tuple[float, ...]]:
        """The same graph over the op table, each constant an extra input, with its point:
        for `autograd.testing.well_conditioned`."""
        constants = [s.const for s in self.steps
                     if s.const is not None and not FORMS[s.form].table_arg]
        n = self.n_inputs + len(constants)

        def slot(i: int) -> int:  # results move up past the constants, inputs stay
            return i if i < self.n_inputs else i + len(constants)

        table_steps = []
        next_constant = self.n_inputs
        for s in self.steps:
            form = FORMS[s.form]
            name, order = form.table
            given = {r: slot(i) for r, i in zip("ab", s.operands)}
            if form.table_arg:
                table_steps.append(TableStep(name, (given["a"],), s.const))
                continue
            if s.const is not None:
                given["k"] = next_constant
                next_constant += 1
            table_steps.append(TableStep(name, tuple(given[r] for r in order)))
        return Expression(n, tuple(table_steps)), (*self.point, *constants)


def _name(i: int) -> str:
    letter = "abcdefghijlmnopqrstuvwyz"[i % 24]  # no k (a number in forms) or x (the inputs)
    return letter if i < 24 else f"{letter}{i // 24}"


def _number(x: float) -> str:
    return repr(float(x))

