"""The oracle: each call of a tape against the eager program, on the same state.

At every `t(*args)`: snapshot the `.grad` of every Value the program holds; run `fn` eagerly
on fresh Values for the floats (ints stay ints, lists stay lists, tuples stay tuples) and
`.backward()` the result if it is a Value; keep its value and the grads it left; put the
grads back; call the tape. The tape must give the same value and the same grads, bit for bit
(-0.0 apart from 0.0, nan equal to nan), or raise `TapeError`. Where eager raises, the tape
raises the same kind of error or a `TapeError`; a raise adds nothing to any `.grad`.

At every `t.mean(*batch)`: the eager mean is `sum_(fn(sample) for each sample) / n`, then
`.backward()`; the tape's value and grads must be within 1e-12 relative of it, plus what
last-bit differences (NumPy's exp against math's, another order of a sum) can grow into
(`tape_bounds`), nan only as nan. Where a branch lies within that bound of its threshold a
correct replay could take the other one: such a call is "undecided", never a failure. Where
some samples raise, the tape raises the kind one of them raises, or a `TapeError`.

Nothing in a program draws random numbers or changes state inside fn: the script changes the
state between calls, so eager is deterministic and the two runs see the same world.
"""

from __future__ import annotations

import ast
import re
import struct
import textwrap
import traceback
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tape_bounds import EagerMean, close, reading_data
from tape_programs import Scenario

from autograd import Value, sum_
from autograd.backward import gradients
from autograd.engine import observe
from autograd.replay import TapeError
from nn import Module

EQUAL = "equal"  # same value and grads (or the same kind of error, nothing added)
REFUSED = "refused"  # an honest TapeError, nothing added
SILENT = "silent"  # a different number, or grads changed by a raise, with no error
CRASH = "crash"  # another exception than eager's, or a refusal that blames itself (below)
UNDECIDED = "undecided"  # t.mean off by more than the bound, but a branch was a near tie
FAILURES = (SILENT, CRASH)
PROGRAM = "<tape program>"  # the file name of the program's code
FALSE_CLAIMS = ("internal check failed", "does not compare the same way twice",
                "differently on the same arguments")
"""TapeErrors that blame the tape itself or a fn that draws random numbers: on these
programs (deterministic, and eager runs them) each is the tape's own failure."""


@dataclass
class Outcome:
    """What one step of a scenario gave."""

    step: int
    call: str  # "tape", "t()" or "t.mean()"
    category: str  # EQUAL, REFUSED, SILENT, CRASH, UNDECIDED
    kind: str  # a short, number-free description, to group outcomes by
    detail: str = ""  # the numbers
    trigger: str = ""  # what the script changed since the previous call

    @property
    def failed(self) -> bool:
        return self.category in FAILURES


# --- running a scenario --------------------------------------------------------------------


class Run:
    """A scenario's module, executed, and its script run step by step against eager."""

    def __init__(self, scenario: Scenario, make_tape: Any = None) -> None:
        if make_tape is None:
            from autograd import tape as make_tape
        self.make_tape = make_tape  # `autograd.tape`, or a stand-in that checks the oracle
        self.scenario = scenario
        self.ns: dict[str, Any] = {"__name__": "tape_program"}
        source = scenario.program.source
        exec(compile(source, PROGRAM, "exec"), self.ns)  # our own generated text
        self.tracked: dict[int, Value] = {}
        self.names: dict[int, str] = {}
        self.t: Any = None

    @property
    def fn(self) -> Any:
        # Python reads identifiers NFKC-normalised: `def ﬁ` defines `fi`
        return self.ns[unicodedata.normalize("NFKC", self.scenario.program.fn_name)]

    def outcomes(self, stop_at_failure: bool = False) -> Iterator[Outcome]:
        """One Outcome per tape construction and call (actions run in between)."""
        trigger: list[str] = []
        for i, step in enumerate(self.scenario.steps):
            if step.kind == "action":
                exec(step.code, self.ns)  # our own generated text
                trigger.append(step.trigger)
                continue
            self._track()
            if step.kind == "tape":
                out = self._record(i, step.args)
            elif step.kind == "call":
                out = self._call(i, step.args)
            else:
                out = self._mean(i, step.args)
            out.trigger = ", ".join(dict.fromkeys(trigger)) or "new arguments"
            trigger = []
            yield out
            if self.t is None or (stop_at_failure and out.failed):
                return

    def _args(self, text: str) -> tuple[Any, ...]:
        return eval(f"({text},)", self.ns)  # our own generated text

    def _track(self) -> None:
        """Every Value the program holds now (kept: an old model's parameters still count)."""
        found: list[tuple[str, Any]] = list(self.ns.items())
        fn = self.fn
        for cell, name in zip(getattr(fn, "__closure__", None) or (),
                              getattr(getattr(fn, "__code__", None), "co_freevars", ())):
            found.append((name, cell.cell_contents))
        for name, obj in found:
            if isinstance(obj, Value):
                self._keep(obj, name)
            elif isinstance(obj, Module):
                for pname, p in obj.named_parameters():
                    self._keep(p, f"{name}.{pname}")
            elif isinstance(obj, list) and obj and all(isinstance(v, Value) for v in obj):
                for j, v in enumerate(obj):
                    self._keep(v, f"{name}[{j}]")

    def _keep(self, v: Value, name: str) -> None:
        if id(v) not in self.tracked:
            self.tracked[id(v)] = v
            self.names[id(v)] = f"{name} (label {v.label!r})" if v.label else name

    def _values(self) -> list[Value]:
        return list(self.tracked.values())

    # -- the three kinds of step ------------------------------------------------------------

    def _record(self, i: int, text: str) -> Outcome:
        """`tape(fn, *args)`: it records (adding nothing) or raises as fn's forward pass does
        (a backward pass that would raise at these arguments is the first call's business)."""
        args = self._args(text)
        values = self._values()
        before = _grads(values)
        try:
            eager: Any = self.fn(*lift(args))
        except Exception as e:  # noqa: BLE001
            eager = e
        try:
            self.t = self.make_tape(self.fn, *args)
        except TapeError as e:
            return self._raised(i, "tape", e, eager, values, before, refused=True)
        except Exception as e:  # noqa: BLE001 - every other error is compared with eager's
            return self._raised(i, "tape", e, eager, values, before, refused=False)
        changed = _changed(values, before, _grads(values))
        if changed:
            return Outcome(i, "tape", SILENT, "recording changed .grad",
                           self._show_changes(values, changed, before))
        if isinstance(eager, BaseException):
            return Outcome(i, "tape", SILENT, f"recorded where eager raises "
                           f"{type(eager).__name__}", _message(eager))
        return Outcome(i, "tape", EQUAL, "recorded")

    def _call(self, i: int, text: str) -> Outcome:
        args = self._args(text)
        return self._judged(i, "t()", args, self._eager, self.t,
                            lambda *common: self._compare_exact(*common, args))

    def _mean(self, i: int, text: str) -> Outcome:
        return self._judged(i, "t.mean()", self._args(text), self._eager_mean, self.t.mean,
                            self._compare_mean)

    def _judged(self, i: int, what: str, args: tuple[Any, ...], eager_of: Any, replay: Any,
                compare: Any) -> Outcome:
        """`replay(*args)` against `eager_of(args, values)`, both from the same .grad."""
        values = self._values()
        before = _grads(values)
        eager = eager_of(args, values)
        want = before if isinstance(eager, BaseException) else _grads(values)
        _set_grads(values, before)
        try:
            got = replay(*args)
        except TapeError as e:
            out = self._raised(i, what, e, eager, values, before, refused=True)
        except Exception as e:  # noqa: BLE001
            out = self._raised(i, what, e, eager, values, before, refused=False)
        else:
            out = compare(i, got, eager, values, before, want)
        _set_grads(values, want)  # the next call starts from eager's state, whatever happened
        return out

    # -- eager ----------------------------------------------------------------------------

    def _eager(self, args: tuple[Any, ...], values: list[Value]) -> Any:
        """fn on fresh Values, backward: its value as a float (grads left in place), or the
        exception it raised (grads untouched: a backward that raises adds nothing)."""
        try:
            out = self.fn(*lift(args))
            if isinstance(out, Value):
                out.backward()
                return out.data
            return float(out)
        except Exception as e:  # noqa: BLE001
            return e

    def _eager_mean(self, batched: tuple[Any, ...], values: list[Value]) -> Any:
        """The eager mean (grads left in place) as an `EagerMean`, or a `MeanError` with
        every error some sample raises (a batch replay may meet them in any order)."""
        n = len(batched[0])
        samples = [tuple(arg[s] for arg in batched) for s in range(n)]
        outs: list[tuple[Any, tuple[Any, ...]]] = []
        errors: list[tuple[Exception, tuple[Any, ...]]] = []
        reads: list[tuple[Any, Any]] = []
        with observe() as observed, reading_data(reads):
            seen = observed.comparisons
            for sample in samples:
                try:
                    outs.append((self.fn(*lift(sample)), sample))
                except Exception as e:  # noqa: BLE001
                    errors.append((e, sample))
        if not errors:
            loss = sum_([out for out, _ in outs]) / n
            try:
                loss.backward()
            except Exception as e:  # noqa: BLE001 - and what each sample raises, below
                errors.append((e, ()))
            else:
                return EagerMean(loss, n, seen, reads)
        for out, sample in outs:  # what each sample's backward raises (no .grad touched)
            try:
                if isinstance(out, Value):
                    gradients(out)
            except Exception as e:  # noqa: BLE001
                errors.append((e, sample))
        return MeanError(errors)

    # -- verdicts ---------------------------------------------------------------------------

    def _raised(self, i: int, call: str, e: BaseException, eager: Any, values: list[Value],
                before: list[float], refused: bool) -> Outcome:
        changed = _changed(values, before, _grads(values))
        name = type(e).__name__
        if changed:
            return Outcome(i, call, SILENT, f"raised {name} and changed .grad",
                           _message(e) + "\n" + self._show_changes(values, changed, before))
        if refused:
            false = next((claim for claim in FALSE_CLAIMS if claim in str(e)), None)
            if false and not isinstance(eager, BaseException):
                return Outcome(i, call, CRASH, f"TapeError: {false}", _message(e))
            return Outcome(i, call, REFUSED, f"TapeError: {_gist(e)}", _message(e))
        if isinstance(eager, BaseException):
            if isinstance(e, _kinds(eager)):
                return Outcome(i, call, EQUAL, f"raised {name} as eager does", _message(e))
            return Outcome(i, call, CRASH, f"{name}: {_gist(e)}",
                           f"tape: {_message(e)}\neager raises {_message(eager)}")
        return Outcome(i, call, CRASH, f"{name}: {_gist(e)}",
                       f"tape: {_message(e)}\neager returns a number")

    def _compare_exact(self, i: int, got: Any, eager: Any, values: list[Value],
                       before: list[float], want: list[float],
                       args: tuple[Any, ...]) -> Outcome:
        after = _grads(values)
        if isinstance(eager, BaseException):
            return self._returned(i, "t()", got, eager, args)
        problems = []
        if not isinstance(got, float) or _bits(got) != _bits(eager):
            problems.append(f"value: tape {got!r}, eager {eager!r}")
        wrong = [j for j, (a, b) in enumerate(zip(after, want)) if _bits(a) != _bits(b)]
        for j in wrong[:4]:
            problems.append(f"{self.names[id(values[j])]}.grad: tape {after[j]!r}, eager "
                            f"{want[j]!r} (was {before[j]!r})")
        if not problems:
            return Outcome(i, "t()", EQUAL, "equal")
        what = ("value" if problems[0].startswith("value") else "") + (
            " and grads" if wrong and problems[0].startswith("value") else "grads" if wrong
            else "")
        return Outcome(i, "t()", SILENT, f"different {what}", "\n".join(problems))

    def _compare_mean(self, i: int, got: Any, eager: Any, values: list[Value],
                      before: list[float], want: list[float]) -> Outcome:
        after = _grads(values)
        if isinstance(eager, BaseException):
            return self._returned(i, "t.mean()", got, eager)
        bounds = eager.bounds()
        problems = []
        value = eager.loss.data
        if not isinstance(got, float) or not close(got, value, bounds.value_tolerance(value)):
            problems.append(f"value: tape {got!r}, eager {value!r}")
        wrong = []
        for j, v in enumerate(values):
            tol = bounds.grad_tolerance(v, want[j], before[j])
            if not close(after[j], want[j], tol):
                wrong.append(j)
                if len(wrong) <= 4:
                    problems.append(f"{self.names[id(v)]}.grad: tape {after[j]!r}, eager "
                                    f"{want[j]!r} (was {before[j]!r}, tolerance {tol:.3g})")
        if not problems:
            return Outcome(i, "t.mean()", EQUAL, "equal")
        tie = bounds.near_tie()
        if tie:
            return Outcome(i, "t.mean()", UNDECIDED, "a branch within rounding of its "
                           "threshold", tie + "\n" + "\n".join(problems))
        what = ("value" if problems[0].startswith("value") else "") + (
            " and grads" if wrong and problems[0].startswith("value") else "grads" if wrong
            else "")
        return Outcome(i, "t.mean()", SILENT, f"different {what}", "\n".join(problems))

    def _returned(self, i: int, call: str, got: Any, eager: BaseException,
                  args: tuple[Any, ...] = ()) -> Outcome:
        """The tape returned a number where eager raises: a kind of its own where the error
        comes from a statement whose result fn does not use (a tape may skip dead code)."""
        if isinstance(eager, MeanError):
            pairs = list(zip(eager.errors, eager.samples))
        else:
            pairs = [(eager, args)]
        dead = all(self._unused(e, sample) for e, sample in pairs)
        where = " in a statement whose result fn does not use" if dead else ""
        return Outcome(i, call, SILENT, f"returned where eager raises "
                       f"{type(pairs[0][0]).__name__}{where}",
                       f"tape gave {got!r}; eager: {_message(eager)}")

    def _unused(self, e: BaseException, args: tuple[Any, ...]) -> bool:
        """Whether the statement of fn that raised `e` at these arguments assigns a local
        that fn does not go on to use, but in other such statements: fn, run again with
        those locals set to a bare `object()` (any use of which raises), returns and
        differentiates without error."""
        lines = {_line(e)}
        while True:
            variant = _without(self.scenario.program.source, self.fn, lines, self.ns)
            if variant is None:
                return False
            try:
                out = variant(*lift(args))
                if isinstance(out, Value):
                    gradients(out)  # no .grad touched
                else:
                    float(out)
            except Exception as used:  # noqa: BLE001 - raised where? perhaps dead too
                if _line(used) in lines:
                    return False
                lines.add(_line(used))
                continue
            return True

    def _show_changes(self, values: list[Value], changed: list[int], before: list[float]) -> str:
        return "\n".join(f"{self.names[id(values[j])]}.grad: {before[j]!r} -> "
                         f"{values[j].grad!r}" for j in changed[:4])


class MeanError(Exception):
    """The errors the samples of an eager mean raise (shown as the first), each with the
    sample's arguments."""

    def __init__(self, errors: list[tuple[Exception, tuple[Any, ...]]]) -> None:
        super().__init__(str(errors[0][0]))
        self.errors = [e for e, _ in errors]
        self.samples = [args for _, args in errors]


def _kinds(eager: BaseException) -> tuple[type, ...]:
    errors = eager.errors if isinstance(eager, MeanError) else [eager]
    return tuple(type(e) for e in errors)


def _line(e: BaseException) -> int:
    """The line of the program that raised `e` (0 if none did)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == PROGRAM]
    return frames[-1].lineno or 0 if frames else 0


def _without(source: str, fn: Any, lines: set[int], ns: dict[str, Any]) -> Any:
    """fn (same globals, same closure values) with each assignment at `lines` replaced by
    `name = object()`; None if one of those lines assigns no local of fn."""
    node = next((n for n in ast.walk(ast.parse(source))
                 if isinstance(n, ast.FunctionDef) and n.name == fn.__name__), None)
    if node is None:  # a lambda: no statements
        return None
    assigns = {st.lineno: st for st in ast.walk(node)
               if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)}
    text = source.splitlines()
    for line in lines:
        if line not in assigns:
            return None
        st = assigns[line]
        text[line - 1] = " " * st.col_offset + f"{st.targets[0].id} = _NOT_USED()"
    # the def alone, at its own line numbers (errors name the module's lines)
    body = "\n" * (node.lineno - 1) + textwrap.dedent(
        "\n".join(text[node.lineno - 1:node.end_lineno]))
    scope = dict(ns)
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        scope[var] = cell.cell_contents  # the closure's values, as globals of the variant
    scope["_NOT_USED"] = object
    exec(compile(body, PROGRAM, "exec"), scope)  # our own generated text, lines changed
    return scope[fn.__name__]


# --- small helpers ----------------------------------------------------------------------------


def lift(x: Any) -> Any:
    """The arguments as eager sees them, by the tape's own rules: floats (NumPy's too) become
    fresh Values, ints (NumPy's too, any size) stay Python ints, lists and tuples keep their
    kind, a NumPy array is a list."""
    if isinstance(x, bool):
        return x
    if isinstance(x, float):
        return Value(x)
    if isinstance(x, int):
        return x
    if isinstance(x, list):
        return [lift(v) for v in x]
    if isinstance(x, tuple):
        return tuple(lift(v) for v in x)
    if type(x).__module__ == "numpy":
        if getattr(x, "ndim", 0) > 0:
            return [lift(v) for v in x.tolist()]
        return lift(x.item())
    raise TypeError(f"no eager form for {type(x).__name__}")


def _grads(values: list[Value]) -> list[float]:
    return [v.grad for v in values]


def _set_grads(values: list[Value], grads: list[float]) -> None:
    for v, g in zip(values, grads):
        v.grad = g


def _changed(values: list[Value], before: list[float], after: list[float]) -> list[int]:
    return [j for j, (a, b) in enumerate(zip(before, after)) if _bits(a) != _bits(b)]


def _bits(x: Any) -> Any:
    """Equal bits: -0.0 apart from 0.0; every nan alike."""
    if isinstance(x, float):
        return b"nan" if x != x else struct.pack("<d", x)
    return ("not a float", x)


def _message(e: BaseException) -> str:
    if isinstance(e, MeanError):
        e = e.errors[0]
    return f"{type(e).__name__}: {e}"


def _gist(e: BaseException) -> str:
    """The error's message without its numbers and names in quotes: what kind it is."""
    text = re.sub(r"\(<[^>]*>[^)]*\)", "", str(e).split("\n")[0])
    text = re.sub(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?|nan|inf", "N", text)
    return text[:90]
