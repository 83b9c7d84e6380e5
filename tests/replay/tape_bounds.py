"""How far a correct `t.mean` may be from the eager mean: a bound carried through the eager
graph, and the comparisons that lie within it of their threshold (near ties).

NumPy's exp, log, log1p, tanh and pow differ from the math module's in the last bit on this
kind of machine, and a batch replay adds its sums and dots in its own order. So the batch
path is held to 1e-12 relative plus what such last-bit differences can grow into.

For each node of the eager graph, in creation order, a bound on its forward error: the
operands' bounds carried through the op (by moving each operand by its bound, at least one
ulp, and running the op's own forward rule again: kinks and cancellations count) plus
`SLACK` ulps of its own (times the operand count for a sum or a dot; none for `EXACT` ops).
Then, from the loss back, a bound on the error of each gradient: the consumer's gradient
error times the local derivative, plus the gradient times how far the local derivative
moves when its operands and result move within their bounds (the op's own derivative
rules, rerun), plus `SLACK` ulps per term.

A branch whose comparison lies within the bound of its threshold could go either way in a
correct replay: `near_tie` names it, and the oracle calls that call undecided.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from autograd import Value, sum_
from autograd.backward import gradients, local_derivatives
from autograd.engine import enable_grad, op_arg, rule, topological_order
from autograd.ops import DOT, SUM

ULP = 2.0**-52
SLACK = 16  # ulps per operation a correct batch replay may differ by (NumPy vs math, order)
MEAN_TOLERANCE = 1e-12
SUBNORMAL = 5e-324  # the step of floats below the normal range
UNDERFLOW = 1024 * SUBNORMAL  # below the normal range a rounding errs by up to half a subnormal,
# whatever the size: the absolute term of the standard model, for a mean's few hundred roundings
EXACT = frozenset({"+", "-", "*", "/", "neg", "abs", "relu", "sqrt", "identity"})
"""Ops whose result IEEE arithmetic rounds the same way in NumPy as in Python: a replay adds
no error of its own there (only what its operands carry)."""


class EagerMean:
    """The eager mean's loss node (over `n` samples) and the comparisons made computing it:
    of Values (`seen`) and of numbers read from `.data` (`reads`: the `_Read` and what it
    was compared with)."""

    def __init__(self, loss: Value, n: int, seen: list[Any],
                 reads: list[tuple[Any, Any]]) -> None:
        self.loss = loss
        self.n = n
        self.seen = seen
        self.reads = reads
        self._bounds: Bounds | None = None

    def bounds(self) -> Bounds:
        if self._bounds is None:
            self._bounds = Bounds(self)
        return self._bounds


class Bounds:
    """How far a correct batch replay may be from eager: for each node, a bound on the
    forward error (`fwd`) and on the error of d loss / d node (`back`)."""

    def __init__(self, eager: EagerMean) -> None:
        self.eager = eager
        loss = eager.loss
        roots = [loss]
        for left, _, right, _ in eager.seen:
            roots.append(left)
            if isinstance(right, Value):
                roots.append(right)
        for read, other in eager.reads:
            roots.append(read.node)
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
                # the standard model's two terms per rounding: relative, and absolute below the
                # normal range (a product the replay forms in another order can underflow in
                # eager and not in the replay; the terms after it scale that up)
                err = abs(d) * ge + _times(dd, abs(g) + ge) + SLACK * (samples + 1) * (
                    ULP * abs(d * g) + SUBNORMAL)
                self.back[id(p)] = self.back.get(id(p), 0.0) + _finite_or_inf(err)

    def value_tolerance(self, value: float) -> float:
        return self.fwd.get(id(self.eager.loss), 0.0) + MEAN_TOLERANCE * _size(value) + UNDERFLOW

    def grad_tolerance(self, v: Value, want: float, before: float) -> float:
        # the += into .grad rounds at the size of the sum: allow for it on both sides
        inc = want - before if math.isfinite(want - before) else 0.0
        return (self.back.get(id(v), 0.0) + MEAN_TOLERANCE * abs(inc)
                + 2 * ULP * (_size(want) + _size(before)) + UNDERFLOW)

    def near_tie(self) -> str:
        """A comparison (of Values, or of a .data read) as close to its threshold as the
        bound: a correct replay could take the other branch there."""
        halves = set()  # a Value compared with a .data read: the read's half of it
        for left, op, right, _ in self.eager.seen:
            e = self.fwd.get(id(left), 0.0)
            if isinstance(right, _Read):
                halves.add(id(right))
                if right.node is left:  # x <= x.data: the same either way
                    continue
                e += self.fwd.get(id(right.node), 0.0)
            elif isinstance(right, Value):
                if right is left:  # x > x: the same either way
                    continue
                e += self.fwd.get(id(right), 0.0)
            r = right.data if isinstance(right, Value) else float(right)
            if e > 0 and not abs(left.data - r) > e:
                return f"near tie: {left.data!r} {op} {r!r} (bound {e:.3g})"
        for read, other in self.eager.reads:
            if id(read) in halves:
                continue
            e = self.fwd.get(id(read.node), 0.0)
            if isinstance(other, _Read):
                if other.node is read.node:
                    continue
                e += self.fwd.get(id(other.node), 0.0)
            if e > 0 and not abs(float(read) - float(other)) > e:
                return f"near tie: .data {float(read)!r} against {float(other)!r} (bound {e:.3g})"
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
    elif op.name in EXACT:
        rounding = 0.0
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


def close(got: float, want: float, tol: float) -> bool:
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
    """A number read from `.data` or `.item()` while the eager mean runs: a float that
    remembers its node and notes what it is compared with (a branch on `.data` may be a near
    tie too)."""

    node: Value
    reads: list[tuple[Any, Any]]

    def _note(self, other: Any) -> None:
        if isinstance(other, (int, float)):
            self.reads.append((self, other))

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
def reading_data(reads: list[tuple[Any, Any]]) -> Iterator[None]:
    """`Value.data` and `Value.item()` return a `_Read` inside the block (the tape keeps its
    own getter)."""
    data, item = Value.data, Value.item

    def get(v: Value) -> float:
        r = _Read(data.fget(v))
        r.node, r.reads = v, reads
        return r

    Value.data, Value.item = property(get, data.fset, doc=data.__doc__), get
    try:
        yield
    finally:
        Value.data, Value.item = data, item
