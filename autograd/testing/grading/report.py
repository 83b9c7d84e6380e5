"""What `grade` returns: a report a learner can read, in a notebook or on the command line."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from ... import engine
from .compare import Comparison, Reading, Run
from .diagnose import Finding
from .forms import FORMS, OPS_IN_ORDER, Program

WIDTH = 88
"""Where the report's prose wraps."""
TITLES = {
    "forward": "wrong value",
    "derivative": "wrong local derivative",
    "overwrite": "gradient overwritten (`=` where `+=` belongs)",
    "chain rule": "chain rule missing (not multiplied by out.grad)",
    "order": "backward() without a topological order",
    "seed": "backward() does not start from grad 1.0",
    "no gradient": "backward() passes no gradient on",
    "plain number": "returns a plain number, not a Value",
    "gradient type": ".grad is not a number",
    "raised": "raises an exception",
    "timeout": "does not finish (time limit)",
    "recursion": "recursion without end",
}


@dataclass(repr=False)
class Failure:
    """One mistake: `op` (the op first found wrong: "+", "tanh", "**", or "backward" when
    backward() itself is), `kind` (see `TITLES`), `program` (the smallest program that shows
    it), both engines' runs of it (`yours`, `ours`), and a `hint`. `values` and `gradients`
    give the output's value and the inputs' gradients, yours then ours."""

    op: str
    kind: str
    hint: str
    program: Program
    yours: Run
    ours: Run
    form: str | None = None
    node: str | None = None
    class_name: str = "Value"
    _comparison: Comparison | None = field(default=None, repr=False)

    @classmethod
    def found(cls, finding: Finding, c: Comparison, class_name: str) -> Failure:
        return cls(finding.op, finding.kind, finding.hint, c.program, c.yours, c.ours,
                   finding.form, finding.node, class_name, c)

    @property
    def values(self) -> tuple[Reading | None, Reading | None]:
        """The output's value: (yours, ours); yours is None if your run stopped before it."""
        return self.yours.value, self.ours.value

    @property
    def gradients(self) -> tuple[tuple[Reading, ...] | None, tuple[Reading, ...]]:
        """Each input's gradient: (yours, ours); yours is None if backward() did not finish."""
        n = self.program.n_inputs
        yours = tuple(self.yours.grads[:n]) if self.yours.stage == "done" else None
        return yours, tuple(self.ours.grads[:n])

    def title(self) -> str:
        shown = self.form and self.form not in (self.op, f"a.{self.op}()")
        where = f", in {self.form}" if shown else ""
        return f"{self.op}: {TITLES.get(self.kind, self.kind)}{where}"

    def table(self) -> str:
        """Each node's data and gradient, yours beside ours, in the order the code runs."""
        names = self.program.names()
        rows = [("", "your data", "our data", "your grad", "our grad", "")]
        c = self._comparison
        for i, name in enumerate(names):
            yd = _at(self.yours.data, i)
            yg = _at(self.yours.grads, i) if self.yours.stage == "done" else None
            od, og = self.ours.data[i], self.ours.grads[i]
            mark = []
            if c is not None and yd is not None and c.data_differs(i):
                mark.append("value differs")
            if c is not None and yg is not None and c.grad_differs(i):
                first = " (first, walking backward)" if name == self.node else ""
                mark.append(f"gradient differs{first}")
            rows.append((name, *_pair(yd, od), *_pair(yg, og),
                         "<- " + ", ".join(mark) if mark else ""))
        widths = [max(len(r[k]) for r in rows) for k in range(5)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
                         + ("   " + r[5] if r[5] else "") for r in rows)

    def __str__(self) -> str:
        steps = len(self.program)
        lines = [
            self.title(),
            f"The smallest program that shows it ({_count(steps, 'operation')}):",
            "",
            _indent(self.program.code(self.class_name), 4),
            "",
            _indent(self.table(), 4),
            "",
            _wrap(self.hint, WIDTH),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<grade failure {self.title()} ({_count(len(self.program), 'operation')})>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def draw(self) -> Any:
        """The program's graph on our engine (`autograd.draw_dot`), each node labelled with
        its name and your gradient beside ours (the number drawn as grad)."""
        from ...views import draw_dot

        slots: list[engine.Value] = []
        with engine.enable_grad():
            self.program.build(engine.Value, slots)
            slots[-1].backward()
        for i, (node, name) in enumerate(zip(slots, self.program.names())):
            yours = _at(self.yours.grads, i) if self.yours.stage == "done" else None
            node.label = name if yours is None else f"{name} (your grad {_show(yours, 4)})"
        return draw_dot(slots[-1])


@dataclass(repr=False)
class Report:
    """What `grade` found. `ok` is True when every op checked agrees with this engine.

    `found` maps each op to the forms of it your class has (`"+"`: `["a + b", "a + 2",
    "2 + a"]`), `missing` each form looked for and not usable to why, `agreed` the ops that
    agree, `failures` one `Failure` per op found wrong, `not_checked` the ops left unchecked
    once backward() itself was found wrong, `expressions` how many programs ran on both
    engines. `unusable` says why the class could not be graded at all (then nothing was
    checked).
    """

    class_name: str
    found: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    agreed: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    expressions: int = 0
    seed: int = 0
    unusable: str | None = None

    @property
    def ok(self) -> bool:
        return self.unusable is None and not self.failures

    def summary(self) -> str:
        if self.unusable is not None:
            return f"Cannot grade {self.class_name}: {self.unusable}"
        if self.ok:
            return (f"{self.class_name} agrees with gradwalk's engine: values and gradients, "
                    f"all {len(self.agreed)} ops checked.")
        n = len(self.failures)
        return (f"{self.class_name} differs from gradwalk's engine: {_count(n, 'mistake')} "
                f"found ({', '.join(f.op for f in self.failures)}).")

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.unusable is not None:
            return lines[0]
        lines += ["", _wrap(f"Ran {_count(self.expressions, 'expression')} on your class and on "
                            f"gradwalk's (each operation alone, with a value used twice, then "
                            f"random ones; seed {self.seed}). Your class has:", WIDTH)]
        width = max((len(op) for op in self.found), default=0)
        lines += [f"  {op.ljust(width)}  {', '.join(forms)}" for op, forms in self.found.items()]
        undefined: dict[str, list[str]] = {}
        for form, why in self.missing.items():
            if why == "not defined":
                undefined.setdefault(FORMS[form].method, []).append(form)
        if undefined:
            named = ", ".join(_unbroken(m if forms == [f"a.{m}()"] else f"{m} ({', '.join(forms)})")
                              for m, forms in undefined.items())
            lines += [_wrap(f"Not defined, so not checked: {named}", WIDTH, "  ")]
        failing = {f: why for f, why in self.missing.items() if why != "not defined"}
        if failing:
            lines += ["Not supported, so not checked:"]
            lines += [f"  {form}  ({FORMS[form].method}) {why}" for form, why in failing.items()]
        lines += ["", f"Agree:       {' '.join(self.agreed) or '(none)'}"]
        if self.failures:
            lines += [f"Differ:      {' '.join(f.op for f in self.failures)}"]
        if self.not_checked:
            lines += [f"Not checked: {' '.join(self.not_checked)} (once backward() is wrong, "
                      f"every op looks wrong: fix it first)"]
        for i, failure in enumerate(self.failures, 1):
            lines += ["", _numbered(i, str(failure))]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<grade report: {self.summary()}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))  # a notebook shows the same text as the command line


def ops_in_order(ops: set[str] | list[str]) -> list[str]:
    return [op for op in OPS_IN_ORDER if op in ops]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _at(readings: list[Reading], i: int) -> Reading | None:
    return readings[i] if i < len(readings) else None


def _show(x: Reading | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    return x if isinstance(x, str) else f"{x:.{digits}g}"


def _pair(yours: Reading | None, ours: Reading | None) -> tuple[str, str]:
    """Both numbers with as many digits as it takes to tell them apart (6 at least)."""
    for digits in range(6, 18):
        a, b = _show(yours, digits), _show(ours, digits)
        if a != b or yours == ours or isinstance(yours, str) or yours is None:
            return a, b
    return a, b


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line if line else line for line in text.splitlines())


def _numbered(i: int, text: str) -> str:
    first, *rest = text.splitlines()
    return "\n".join([f"{i}. {first}", *(_indent(line, 3) if line else line for line in rest)])


def _wrap(text: str, width: int, indent: str = "") -> str:
    wrapped = textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)
    return wrapped.replace(_GLUE, " ")


_GLUE = "\x00"


def _unbroken(text: str) -> str:
    """`text` kept on one line by `_wrap`."""
    return text.replace(" ", _GLUE)
