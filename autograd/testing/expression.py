"""A small random-expression program that builds itself on several number systems.

`Expression` is what `autograd.testing.strategies.expressions()` draws: a straight-line program
over the op table (each step names an op in `autograd.ops.OPS` and earlier slots as operands),
plus a point to evaluate it at. The same program builds on engine `Value`s, on sympy symbols (an
exact oracle) and on torch float64 tensors, so one drawn graph can be checked three ways. This
module imports neither hypothesis nor sympy nor torch at import time.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from .. import engine
from ..ops import OPS, Op

# Infix ops, by the `symbol` the op table gives them: they work the same on every number system.
_INFIX: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


@dataclass(frozen=True)
class Step:
    """One node of an expression: `op` (a name in `OPS`) applied to earlier slots.

    Slots `0 .. n_inputs-1` are the inputs; slot `n_inputs + i` is the result of step `i`.
    `arg` is the constant of an op that takes one (the exponent of `x ** k`).
    """

    op: str
    operands: tuple[int, ...]
    arg: float | None = None


class _Backend:
    """How to spell the ops that are no infix operator, on one number system."""

    def unary(self, name: str, x: Any, at: float | None) -> Any:
        raise NotImplementedError

    def binary(self, name: str, a: Any, b: Any) -> Any:
        """A binary op with no infix symbol."""
        if name == "bce":
            return -(b * self.log(a) + (1 - b) * self.log(1 - a))
        if name == "bce_with_logits":
            return (1 - b) * a + self.log(1 + self.exp(-a))
        raise NotImplementedError(f"no form for the binary op {name!r}: add one to {type(self)}")

    def nary(self, name: str, xs: Sequence[Any], arg: Any = None) -> Any:
        half = len(xs) // 2
        if name == "sum":
            return reduce(operator.add, xs)
        if name == "dot":
            return reduce(operator.add, map(operator.mul, xs[:half], xs[half:]))
        if name == "cross_entropy":  # the logits, and the target class as the argument
            return self.log(reduce(operator.add, [self.exp(x) for x in xs])) - xs[int(arg)]
        raise NotImplementedError(f"no form for the n-ary op {name!r}: add one to {type(self)}")

    def log(self, x: Any) -> Any:
        return self.unary("log", x, None)

    def exp(self, x: Any) -> Any:
        return self.unary("exp", x, None)

    def identity(self, x: Any) -> Any:
        return x


class _Values(_Backend):
    def unary(self, name: str, x: Any, at: float | None) -> Any:
        if name == "abs":
            return abs(x)
        return getattr(x, name)()

    def binary(self, name: str, a: Any, b: Any) -> Any:
        return engine.apply(OPS[name], a, b)

    def nary(self, name: str, xs: Sequence[Any], arg: Any = None) -> Any:
        if name == "sum":
            return engine.sum_(xs)
        if name == "dot":
            return engine.dot(xs[: len(xs) // 2], xs[len(xs) // 2 :])
        extra = () if arg is None else (arg,)
        return engine.apply(OPS[name], *xs, *extra)  # any other n-ary op of the table

    def identity(self, x: Any) -> Any:
        return engine.identity(x)


class _Sympy(_Backend):
    """Kinked ops take the branch the point lies on (`at`, the operand's value there): the
    result equals the op near the point, and sympy needs no Piecewise/Abs of expressions that
    are not provably real, which it differentiates poorly."""

    def unary(self, name: str, x: Any, at: float | None) -> Any:
        import sympy

        if name == "relu":
            if at is None:
                return sympy.Max(0, x)
            return x if at > 0 else sympy.Integer(0)
        if name == "abs":
            if at is None:
                return sympy.Abs(x)
            return x if at > 0 else (-x if at < 0 else sympy.Integer(0))
        if name == "sigmoid":
            return 1 / (1 + sympy.exp(-x))
        if name == "softplus":
            return sympy.log(1 + sympy.exp(x))
        return getattr(sympy, name)(x)


class _Torch(_Backend):
    def unary(self, name: str, x: Any, at: float | None) -> Any:
        import torch

        if name == "softplus":
            return torch.logaddexp(x, torch.zeros_like(x))
        return getattr(torch, name)(x)

    def binary(self, name: str, a: Any, b: Any) -> Any:
        import torch

        if name == "bce":  # PyTorch's own form of the unclamped terms
            return -(b * torch.log(a) + (1 - b) * torch.log1p(-a))
        if name == "bce_with_logits":
            return torch.nn.functional.binary_cross_entropy_with_logits(a, b, reduction="none")
        return super().binary(name, a, b)

    def nary(self, name: str, xs: Sequence[Any], arg: Any = None) -> Any:
        import torch

        if name == "cross_entropy":
            return torch.logsumexp(torch.stack(list(xs)), 0) - xs[int(arg)]
        return super().nary(name, xs, arg)


VALUES, SYMPY, TORCH = _Values(), _Sympy(), _Torch()


def apply_op(
    op: Op, operands: Sequence[Any], arg: float | None, backend: _Backend, at: float | None = None
) -> Any:
    """`op` on `operands` in the number system of `backend`, chosen by the op table's entry,
    so a new unary op with a method of the same name, and a sympy/torch function of that name,
    needs no change here. `at` is the float value of a unary op's operand, if known."""
    if op.arity == 0:
        return backend.nary(op.name, operands, arg)
    if op.has_arg:
        assert arg is not None  # an op with a constant argument is given one
        k = _exact(arg) if backend is SYMPY else arg
        return _INFIX[op.symbol](operands[0], k)
    if op.arity == 2:
        if not op.symbol:
            return backend.binary(op.name, *operands)
        return _INFIX[op.symbol](*operands)
    (x,) = operands
    if op.name == "identity":
        return backend.identity(x)
    if op.symbol == "-":
        return -x
    return backend.unary(op.name, x, at)


def _exact(k: float) -> Any:
    import sympy

    return sympy.Integer(int(k)) if float(k).is_integer() else sympy.Rational(k)


@dataclass(frozen=True)
class Expression:
    """A straight-line program over the op table, with the point it is meant to be evaluated at.

    Call it on Values (or plain numbers) like a function; `on_sympy` and `on_torch` build the
    same graph on sympy symbols and torch tensors.

    >>> e = Expression(1, (Step("*", (0, 0)), Step("sin", (1,)), Step("+", (1, 2))), (0.5,))
    >>> e
    f(x0) = c where a = x0 * x0, b = sin(a), c = a + b; at x0=0.5
    >>> round(e(*e.variables()).data, 6)
    0.497404
    """

    n_inputs: int
    steps: tuple[Step, ...]
    point: tuple[float, ...] = ()

    def build(self, inputs: Sequence[Any], backend: _Backend = VALUES) -> list[Any]:
        """Every slot's value (inputs first, then one per step) on `backend`'s numbers."""
        if len(inputs) != self.n_inputs:
            raise TypeError(f"expression takes {self.n_inputs} inputs, got {len(inputs)}")
        at = self.floats() if backend is SYMPY and self.point else None
        slots = list(inputs)
        for s in self.steps:
            here = at[s.operands[0]] if at is not None else None
            slots.append(apply_op(OPS[s.op], [slots[i] for i in s.operands], s.arg, backend, here))
        return slots

    def __call__(self, *inputs: Any) -> Any:
        """The root, built on engine Values (plain numbers become constant leaves)."""
        lifted = [x if isinstance(x, engine.Value) else engine.Value(x) for x in inputs]
        return self.build(lifted)[-1]

    def variables(self) -> list[engine.Value]:
        """Fresh leaves at `point`, labelled x0, x1, ..."""
        return [engine.Value(x, label=f"x{i}") for i, x in enumerate(self.point)]

    def on_sympy(self, *symbols: Any) -> Any:
        """The root on sympy symbols. With a `point`, `relu` and `abs` take the branch the
        point lies on, so the result equals f near the point (where derivatives live)."""
        return self.build(symbols, SYMPY)[-1]

    def on_torch(self, *tensors: Any) -> Any:
        return self.build(tensors, TORCH)[-1]

    def floats(self, point: Sequence[float] | None = None) -> list[float]:
        """Every slot as a float, by the op table's forward rules (no graph is recorded)."""
        slots = [float(x) for x in (self.point if point is None else point)]
        for s in self.steps:
            op = OPS[s.op]
            xs = [slots[i] for i in s.operands]
            extra = () if s.arg is None else (s.arg,)
            slots.append(op.forward(xs, *extra) if op.arity == 0 else op.forward(*xs, *extra))
        return slots

    def gradient_scale(self) -> list[float]:
        """For each input, the sum over all paths to the root of |product of local derivatives|.

        The gradient is the same sum without the absolute values, so this is the size that float
        rounding errors scale with: the natural yardstick for a relative tolerance (it equals
        |gradient| when no paths cancel). Computed from the op table's float derivatives.
        """
        slots = self.floats()
        n = self.n_inputs
        adjoint = [0.0] * len(slots)
        adjoint[-1] = 1.0
        for k in reversed(range(len(self.steps))):
            s = self.steps[k]
            op = OPS[s.op]
            xs = [slots[i] for i in s.operands]
            extra = () if s.arg is None else (s.arg,)
            y = slots[n + k]
            if op.arity == 0:
                ds = op.derivatives[0](xs, y, *extra)
            else:
                ds = [d(*xs, y, *extra) for d in op.derivatives]
            for i, d in zip(s.operands, ds):
                adjoint[i] += abs(d if isinstance(d, float) else d.data) * adjoint[n + k]
        return adjoint[:n]

    def symbolic_derivative(self, wrt: Sequence[int], digits: int = 30) -> float:
        """d^k f / dx[wrt[0]] ... dx[wrt[-1]] at `point`, by sympy, evaluated to `digits` digits."""
        import sympy

        xs = sympy.symbols(f"x0:{self.n_inputs}", real=True)
        d = self.on_sympy(*xs)
        for i in wrt:
            d = sympy.diff(d, xs[i])
        at = {x: sympy.Float(p, digits + 10) for x, p in zip(xs, self.point)}
        return float(sympy.N(d.subs(at), digits))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis (and IPython) print failing examples this way

    def __repr__(self) -> str:
        names = [f"x{i}" for i in range(self.n_inputs)] + [_name(i) for i in range(len(self.steps))]
        parts = []
        for i, s in enumerate(self.steps):
            operands = [names[j] for j in s.operands]
            parts.append(f"{names[self.n_inputs + i]} = {_spell(s, operands)}")
        inputs = ", ".join(names[: self.n_inputs])
        at = ", ".join(f"x{i}={p!r}" for i, p in enumerate(self.point))
        body = f"f({inputs}) = {names[-1]} where " + ", ".join(parts)
        return body + (f"; at {at}" if at else "")


def _name(i: int) -> str:
    """a, b, ..., z, a1, b1, ...: short names for intermediate results."""
    letter = "abcdefghijklmnopqrstuvwyz"[i % 25]  # no x: the inputs are x0, x1, ...
    return letter if i < 25 else f"{letter}{i // 25}"


def _spell(s: Step, args: list[str]) -> str:
    op = OPS[s.op]
    if op.has_arg and op.arity == 0:
        return f"{op.name}([{', '.join(args)}], {s.arg!r})"
    if op.has_arg:
        return f"{args[0]} {op.symbol} {s.arg!r}"
    if op.arity == 2 and op.symbol:
        return f"{args[0]} {op.symbol} {args[1]}"
    if op.arity == 2:
        return f"{op.name}({args[0]}, {args[1]})"
    if op.arity == 0 and op.name == "dot":
        h = len(args) // 2
        return f"dot([{', '.join(args[:h])}], [{', '.join(args[h:])}])"
    if op.arity == 0:
        return f"{op.name}([{', '.join(args)}])"
    if op.name == "neg":
        return f"-{args[0]}"
    return f"{op.name}({args[0]})"


def well_conditioned(
    expr: Expression, point: Sequence[float], bound: float = 100.0, min_slope: float = 1e-4
) -> bool:
    """Whether `expr` is well-conditioned at `point`, so that float results can be held to a
    tight relative tolerance. Every step must be inside its op's domain (`Op.domain`, which keeps
    a margin from kinks and domain edges), every intermediate value at most `bound` in size, and
    every local derivative that the rule computes with rounding (anything but a constant or an
    operand itself, as relu's 0/1 or mul's other factor) at least `min_slope` in size: a tiny
    one, like tanh'(20) = 1 - tanh(20)**2, has a large relative rounding error, or is even
    rounded to 0."""
    slots = [float(x) for x in point]
    for s in expr.steps:
        op = OPS[s.op]
        xs = [slots[i] for i in s.operands]
        extra = () if s.arg is None else (s.arg,)
        try:
            if not op.domain(*xs, *extra):
                return False
            y = op.forward(xs, *extra) if op.arity == 0 else op.forward(*xs, *extra)
            if not (math.isfinite(y) and abs(y) <= bound):
                return False
            if not all(exact or min_slope <= abs(d) < math.inf
                       for d, exact in _slopes(op, xs, y, extra)):
                return False
        except (ArithmeticError, ValueError):
            return False
        slots.append(y)
    return True


def _slopes(op: Op, xs: list[float], y: float, extra: tuple) -> list[tuple[float, bool]]:
    """Each local derivative as a float, and whether the rule computes it without rounding
    (its Value form, run on leaves, is a constant or one of the operands)."""
    leaves = [engine.Value(x) for x in xs]
    out = engine.Value(y)
    if op.arity == 0:
        floats = op.derivatives[0](xs, y, *extra)
        forms = op.derivatives[0](leaves, out, *extra)
    else:
        floats = [d(*xs, y, *extra) for d in op.derivatives]
        forms = [d(*leaves, out, *extra) for d in op.derivatives]
    exact = [not isinstance(f, engine.Value) or any(f is v for v in leaves) for f in forms]
    return [(float(d), e) for d, e in zip(floats, exact)]


GRID = (-2.3, -0.7, 0.45, 1.3, 2.6)
"""Coordinates that `op_examples` combines into candidate points."""


def _distinct_points(grid: Sequence[float], n: int) -> list[tuple[float, ...]]:
    """Points of grid^n whose coordinates all differ (so swapped operands show), in an order
    that sweeps the first coordinate from low to high."""
    points = [p for p in itertools.product(grid, repeat=n) if len(set(p)) == n]
    return points or list(itertools.product(grid, repeat=n))


def op_examples(op: Op, per_arg: int = 3, grid: Sequence[float] = GRID) -> list[Expression]:
    """`op` as a one-node expression at up to `per_arg` well-conditioned points of `grid`^n,
    spread over the grid, for each exponent it is tried with (`x ** k`: 2, 0.5 and -1).

    An n-ary op gets 3 operands (dot: 2 + 2). For tests that go over the op table one op at a
    time.
    """
    n = 4 if op.name == "dot" else (3 if op.arity == 0 else op.arity)
    out = []
    args = op.args(n) if op.has_arg and op.args else (None,)
    for arg in list(args)[:3]:
        graph = Expression(n, (Step(op.name, tuple(range(n)), arg),))
        found = [p for p in _distinct_points(grid, n) if well_conditioned(graph, p)]
        last = len(found) - 1
        picks = {round(k * last / max(1, per_arg - 1)) for k in range(per_arg)} if found else ()
        out += [Expression(n, graph.steps, found[i]) for i in sorted(picks)]
    return out
