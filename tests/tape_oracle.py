"""The oracle: each call of a tape against the eager program, on the same state.

At every `t(*args)`: snapshot the `.grad` of every Value the program holds; run `fn` eagerly
on fresh Values for the floats (ints stay ints, lists stay lists, tuples stay tuples) and
`.backward()` the result if it is a Value; keep its value and the grads it left; put the
grads back; call the tape. The tape must give the same value and the same grads, bit for bit
(-0.0 apart from 0.0, nan equal to nan), or raise `TapeError`. Where eager raises, the tape
raises the same kind of error or a `TapeError`; a raise adds nothing to any `.grad`.

At every `t.mean(*batch)`: the eager mean is `sum_(fn(sample) for each sample) / n`, then
`.backward()`. NumPy's exp, log, tanh and pow differ from the math module's in the last bit
and a matrix product adds in its own order, so the batch path is held to 1e-12 relative plus
what those last-bit differences can grow into: a bound carried through the eager graph, each
node's error from its operands' errors (by moving the operands and rerunning the op's own
forward rule and derivatives, so kinks and cancellations count) plus a few ulps of its own.
A branch whose comparison lies within that bound of its threshold could go either way in a
correct replay: such a call is "undecided", never a failure. Anything else counts.

Nothing in a program draws random numbers or changes state inside fn: the script changes the
state between calls, so eager is deterministic and the two runs see the same world.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tape_programs import Scenario

from autograd import Value, sum_
from autograd.backward import gradients, local_derivatives
from autograd.engine import enable_grad, op_arg, rule, topological_order, watch_comparisons
from autograd.ops import DOT, SUM
from autograd.replay import TapeError
from nn import Module

EQUAL = "equal"  # same value and grads (or the same kind of error, nothing added)
REFUSED = "refused"  # an honest TapeError, nothing added
SILENT = "silent"  # a different number, or grads changed by a raise, with no error
CRASH = "crash"  # another exception than eager's, or an "internal check failed" refusal
UNDECIDED = "undecided"  # t.mean off by more than the bound, but a branch was a near tie
FAILURES = (SILENT, CRASH)

ULP = 2.0**-52
SLACK = 16  # ulps per operation a correct batch replay may differ by (NumPy vs math, order)
MEAN_TOLERANCE = 1e-12


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
        exec(compile(source, "<tape program>", "exec"), self.ns)  # our own generated text
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
        values = self._values()
        before = _grads(values)
        eager = self._eager(args, values)
        want = before if isinstance(eager, BaseException) else _grads(values)
        _set_grads(values, before)
        try:
            got = self.t(*args)
        except TapeError as e:
            out = self._raised(i, "t()", e, eager, values, before, refused=True)
        except Exception as e:  # noqa: BLE001
            out = self._raised(i, "t()", e, eager, values, before, refused=False)
        else:
            out = self._compare_exact(i, got, eager, values, before, want)
        _set_grads(values, want)  # the next call starts from eager's state, whatever happened
        return out

    def _mean(self, i: int, text: str) -> Outcome:
        batched = self._args(text)
        values = self._values()
        before = _grads(values)
        eager = self._eager_mean(batched, values)
        want = before if isinstance(eager, BaseException) else _grads(values)
        _set_grads(values, before)
        try:
            got = self.t.mean(*batched)
        except TapeError as e:
            out = self._raised(i, "t.mean()", e, eager, values, before, refused=True)
        except Exception as e:  # noqa: BLE001
            out = self._raised(i, "t.mean()", e, eager, values, before, refused=False)
        else:
            out = self._compare_mean(i, got, eager, values, before, want)
        _set_grads(values, want)
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
        """The eager mean (grads left in place) as an `_EagerMean`, or a `MeanError` with
        every error some sample raises (a batch replay may meet them in any order)."""
        n = len(batched[0])
        samples = [tuple(arg[s] for arg in batched) for s in range(n)]
        outs: list[Any] = []
        errors: list[Exception] = []
        reads: list[tuple[Value, Any]] = []
        with watch_comparisons() as seen, _reading_data(reads):
            for sample in samples:
                try:
                    outs.append(self.fn(*lift(sample)))
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
        if errors:
            return MeanError(errors)
        loss = sum_(outs) / n
        try:
            loss.backward()
        except Exception as e:  # noqa: BLE001
            errors = [e]
            for out in outs:
                try:
                    if isinstance(out, Value):
                        gradients(out)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
            return MeanError(errors)
        return _EagerMean(loss, n, seen, reads)

    # -- verdicts ---------------------------------------------------------------------------

    def _raised(self, i: int, call: str, e: BaseException, eager: Any, values: list[Value],
                before: list[float], refused: bool) -> Outcome:
        changed = _changed(values, before, _grads(values))
        name = type(e).__name__
        if changed:
            return Outcome(i, call, SILENT, f"raised {name} and changed .grad",
                           _message(e) + "\n" + self._show_changes(values, changed, before))
        if refused:
            if "internal check failed" in str(e) and not isinstance(eager, BaseException):
                return Outcome(i, call, CRASH, "TapeError: internal check failed",
                               _message(e))
            return Outcome(i, call, REFUSED, f"TapeError: {_gist(e)}", _message(e))
        if isinstance(eager, BaseException):
            if isinstance(e, _kinds(eager)):
                return Outcome(i, call, EQUAL, f"raised {name} as eager does", _message(e))
            return Outcome(i, call, CRASH, f"{name}: {_gist(e)}",
                           f"tape: {_message(e)}\neager raises {_message(eager)}")
        return Outcome(i, call, CRASH, f"{name}: {_gist(e)}",
                       f"tape: {_message(e)}\neager returns a number")

    def _compare_exact(self, i: int, got: Any, eager: Any, values: list[Value],
                       before: list[float], want: list[float]) -> Outcome:
        after = _grads(values)
        if isinstance(eager, BaseException):
            return Outcome(i, "t()", SILENT, f"returned where eager raises "
                           f"{type(eager).__name__}", f"tape gave {got!r}; eager: "
                           f"{_message(eager)}")
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
            return Outcome(i, "t.mean()", SILENT, f"returned where eager raises "
                           f"{_kinds(eager)[0].__name__}", f"tape gave {got!r}; eager: "
                           f"{_message(eager)}")
        bounds = eager.bounds()
        problems = []
        value = eager.loss.data
        if not isinstance(got, float) or not _close(got, value, bounds.value_tolerance(value)):
            problems.append(f"value: tape {got!r}, eager {value!r}")
        wrong = []
        for j, v in enumerate(values):
            tol = bounds.grad_tolerance(v, want[j], before[j])
            if not _close(after[j], want[j], tol):
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

    def _show_changes(self, values: list[Value], changed: list[int], before: list[float]) -> str:
        return "\n".join(f"{self.names[id(values[j])]}.grad: {before[j]!r} -> "
                         f"{values[j].grad!r}" for j in changed[:4])


class MeanError(Exception):
    """The errors the samples of an eager mean raise (shown as the first)."""

    def __init__(self, errors: list[Exception]) -> None:
        super().__init__(str(errors[0]))
        self.errors = errors


def _kinds(eager: BaseException) -> tuple[type, ...]:
    errors = eager.errors if isinstance(eager, MeanError) else [eager]
    return tuple(type(e) for e in errors)


# --- the eager mean and its error bound ------------------------------------------------------


class _EagerMean:
    """The eager mean's loss node (over `n` samples) and the comparisons made computing it:
    of Values (`seen`) and of numbers read from `.data` (`reads`)."""

    def __init__(self, loss: Value, n: int, seen: list[Any],
                 reads: list[tuple[Value, Any]]) -> None:
        self.loss = loss
        self.n = n
        self.seen = seen
        self.reads = reads
        self._bounds: _Bounds | None = None

    def bounds(self) -> _Bounds:
        if self._bounds is None:
            self._bounds = _Bounds(self)
        return self._bounds


class _Bounds:
    """How far a correct batch replay may be from eager: for each node, a bound on the
    forward error (`fwd`) and on the error of d loss / d node (`back`)."""

    def __init__(self, eager: _EagerMean) -> None:
        self.eager = eager
        loss = eager.loss
        roots = [loss]
        for left, _, right, _ in eager.seen:
            roots.append(left)
            if isinstance(right, Value):
                roots.append(right)
        for node, other in eager.reads:
            roots.append(node)
            if isinstance(other, _Read):
                roots.append(other.node)
        unique = list({id(v): v for v in roots}.values())
        with enable_grad():
            joint = sum_(unique)  # one node over them all, left out below
        interior = [v for v in topological_order(joint) if v.parents and v is not joint]
        self.fwd: dict[int, float] = {}
        for v in reversed(interior):  # operands before their results
            self.fwd[id(v)] = _forward_error(v, self.fwd)
        self.back: dict[int, float] = {}
        try:
            grads = gradients(loss)
        except (ArithmeticError, ValueError, RuntimeError):
            grads = {}
        samples = eager.n
        for v in interior:  # results before their operands
            g = grads.get(v)
            if g is None:
                continue
            ge = self.back.get(id(v), 0.0)
            for k, (p, d) in enumerate(zip(v.parents, local_derivatives(v))):
                dd = _derivative_error(v, k, self.fwd)
                err = abs(d) * ge + _times(dd, abs(g) + ge) + SLACK * ULP * (samples + 1) * abs(
                    d * g)
                self.back[id(p)] = self.back.get(id(p), 0.0) + _finite_or_inf(err)

    def value_tolerance(self, value: float) -> float:
        return self.fwd.get(id(self.eager.loss), 0.0) + MEAN_TOLERANCE * _size(value)

    def grad_tolerance(self, v: Value, want: float, before: float) -> float:
        # the += into .grad rounds at the size of the sum: allow for it on both sides
        inc = want - before if math.isfinite(want - before) else 0.0
        return (self.back.get(id(v), 0.0) + MEAN_TOLERANCE * abs(inc)
                + 2 * ULP * (_size(want) + _size(before)))

    def near_tie(self) -> str:
        """A comparison (of Values, or of a .data read) as close to its threshold as the
        bound: a correct replay could take the other branch there."""
        for left, op, right, _ in self.eager.seen:
            if left is right:  # x > x: the same either way
                continue
            e = self.fwd.get(id(left), 0.0) + (
                self.fwd.get(id(right), 0.0) if isinstance(right, Value) else 0.0)
            r = right.data if isinstance(right, Value) else float(right)
            if e > 0 and not abs(left.data - r) > e:
                return f"near tie: {left.data!r} {op} {r!r} (bound {e:.3g})"
        for node, other in self.eager.reads:
            e = self.fwd.get(id(node), 0.0)
            if isinstance(other, _Read):
                if other.node is node:
                    continue
                e += self.fwd.get(id(other.node), 0.0)
            if e > 0 and not abs(float(node.data) - float(other)) > e:
                return f"near tie: .data {node.data!r} against {float(other)!r} (bound {e:.3g})"
        return ""


def _forward(op: Any, arg: Any) -> Any:
    if op.arity == 0:
        return lambda xs: op.forward(list(xs))
    if op.has_arg:
        return lambda xs: op.forward(*xs, arg)
    return lambda xs: op.forward(*xs)


def _derivative(op: Any, arg: Any, k: int) -> Any:
    if op.arity == 0:
        return lambda xs, y: op.derivatives[0](list(xs), y)[k]
    if op.has_arg:
        return lambda xs, y: op.derivatives[k](*xs, y, arg)
    return lambda xs, y: op.derivatives[k](*xs, y)


def _moved(x: float, e: float) -> tuple[float, float]:
    """x moved down and up by its error bound (at least one ulp: a float that differs at all
    differs by that much)."""
    step = max(e, math.ulp(x)) if math.isfinite(x) else e
    return x - step, x + step


def _forward_error(v: Value, fwd: dict[int, float]) -> float:
    op, arg = rule(v), op_arg(v)
    if op.external or op.vjp:
        return math.inf
    xs = [p.data for p in v.parents]
    es = [fwd.get(id(p), 0.0) for p in v.parents]
    f = _forward(op, arg)
    try:
        base = f(xs)
        total = 0.0
        slopes = local_derivatives(v)
        for i, e in enumerate(es):
            if e == 0.0:
                continue
            if not math.isfinite(e):
                return math.inf
            worst = abs(slopes[i]) * e if math.isfinite(slopes[i]) else math.inf
            for x in _moved(xs[i], e):
                moved = list(xs)
                moved[i] = x
                worst = max(worst, _distance(f(moved), base))
            total += worst
    except (ArithmeticError, ValueError, TypeError):
        return math.inf
    if op.arity == 0:
        terms = ([a * b for a, b in zip(xs[: len(xs) // 2], xs[len(xs) // 2:])]
                 if op is DOT else xs)
        rounding = SLACK * ULP * len(xs) * sum(map(_size, terms))
    else:
        rounding = SLACK * ULP * _size(base)
    return _finite_or_inf(total + rounding)


def _derivative_error(v: Value, k: int, fwd: dict[int, float]) -> float:
    """How far d v / d operand k moves when the operands and v move within their bounds."""
    op, arg = rule(v), op_arg(v)
    if op is SUM:
        return 0.0
    xs = [p.data for p in v.parents]
    es = [fwd.get(id(p), 0.0) for p in v.parents]
    if op is DOT:
        j = (k + len(xs) // 2) % len(xs)  # d/dx_i is w_i and back
        return max(es[j], math.ulp(xs[j])) if es[j] else 0.0
    if op.external or op.vjp:
        return math.inf
    d = _derivative(op, arg, k)
    y, ey = v.data, fwd.get(id(v), 0.0)
    try:
        base = float(d(xs, y))
        total = 0.0
        for i, e in enumerate(es):
            if e == 0.0:
                continue
            for x in _moved(xs[i], e):
                moved = list(xs)
                moved[i] = x
                total += _distance(float(d(moved, y)), base)
        if ey:
            for z in _moved(y, ey):
                total += _distance(float(d(xs, z)), base)
    except (ArithmeticError, ValueError, TypeError):
        return math.inf
    return _finite_or_inf(total + SLACK * ULP * _size(base))


def _distance(a: float, b: float) -> float:
    if a == b or (a != a and b != b):
        return 0.0
    if math.isfinite(a) and math.isfinite(b):
        return abs(a - b)
    return math.inf


def _times(a: float, b: float) -> float:
    return 0.0 if a == 0.0 or b == 0.0 else a * b


def _size(x: float) -> float:
    return abs(x) if math.isfinite(x) else 0.0


def _finite_or_inf(x: float) -> float:
    return x if x == x else math.inf


def _close(got: float, want: float, tol: float) -> bool:
    """Within `tol`; nan only as nan, an infinity only as itself (unless tol is unbounded)."""
    if not tol < math.inf:
        return True
    if want != want:
        return got != got
    if math.isinf(want):
        return got == want
    return abs(got - want) <= tol


# --- watching .data reads during the eager mean ----------------------------------------------


class _Read(float):
    """A number read from `.data` while the eager mean runs: a float that remembers its node
    and notes what it is compared with (a branch on `.data` may be a near tie too)."""

    node: Value
    reads: list[tuple[Value, Any]]

    def _note(self, other: Any) -> None:
        if isinstance(other, (int, float)):
            self.reads.append((self.node, other))

    def __lt__(self, other: Any) -> bool:
        self._note(other)
        return float.__lt__(self, other)

    def __le__(self, other: Any) -> bool:
        self._note(other)
        return float.__le__(self, other)

    def __gt__(self, other: Any) -> bool:
        self._note(other)
        return float.__gt__(self, other)

    def __ge__(self, other: Any) -> bool:
        self._note(other)
        return float.__ge__(self, other)


@contextmanager
def _reading_data(reads: list[tuple[Value, Any]]) -> Iterator[None]:
    """`Value.data` returns a `_Read` inside the block (the tape keeps its own getter)."""
    original = Value.data

    def get(v: Value) -> float:
        r = _Read(original.fget(v))
        r.node, r.reads = v, reads
        return r

    Value.data = property(get, original.fset, doc=original.__doc__)
    try:
        yield
    finally:
        Value.data = original


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
