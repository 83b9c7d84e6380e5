"""Recording: run the function once on Values and keep its graph as a `Program`.

The function runs twice, the second time at arguments moved a little. Both runs must record the
same graph: a leaf that is the same object both times is something fn closes over (a parameter),
one made afresh holds a fixed number, and a number that moved with the arguments without being
recorded (read from `.data`, or drawn at random) is refused, since a replay could not follow it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from keyword import iskeyword
from numbers import Real
from typing import Any

from ..backward import gradients
from ..engine import (
    Value,
    enable_grad,
    is_constant,
    op_arg,
    rule,
    sum_,
    topological_order,
    watch_comparisons,
)
from .arguments import unflatten
from .program import ARG, CONST, OP, PARAM, Guard, Program


class TapeError(RuntimeError):
    """The function cannot be recorded for replay (the message says what and why)."""


class _Branched(Exception):
    """The second run compared differently: it took another branch (fine, but no check)."""


class _Run:
    """One call of fn on Values: the result, the argument Values and the comparisons made."""

    def __init__(self, fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float]) -> None:
        self.inputs = [Value(x) for x in floats]
        args = unflatten(key, self.inputs)
        with enable_grad(), watch_comparisons() as seen:
            out = fn(*args)
        if not isinstance(out, Value):
            if isinstance(out, bool) or not isinstance(out, Real):
                raise TypeError(f"tape: fn must return a scalar (a Value or a number), got "
                                f"{type(out).__name__} {out!r:.40}")
            out = float(out)
        self.out = out
        self.seen = list(seen)
        roots = [out] if isinstance(out, Value) else []
        for left, _, right, _ in self.seen:
            roots.append(left)
            if isinstance(right, Value):
                roots.append(right)
        if len(roots) > 1:
            # one node over everything read, so a single creation order covers it all
            with enable_grad():
                joint = sum_(roots)
            order = topological_order(joint)[1:]
        else:
            order = topological_order(roots[0]) if roots else []
        interior = [v for v in order if v.parents][::-1]  # creation order
        # leaves in order of first use, so the generated code reads them as fn does
        first_use = {id(p): p for v in interior for p in v.parents if not p.parents}
        for v in order:
            if not v.parents:
                first_use.setdefault(id(v), v)
        self.nodes = list(first_use.values()) + interior
        self.index = {id(v): i for i, v in enumerate(self.nodes)}


def record(fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
           slot_names: list[str]) -> Program:
    """Run fn on Values made from `floats` (in the structure `key`) and return its program."""
    first = _Run(fn, key, floats)
    for op in {id(rule(v)): rule(v) for v in first.nodes if v.parents}.values():
        _check_replayable(op)
    second = None
    for moved in (True, False):
        try:
            again = _Run(fn, key, _nearby(floats) if moved else floats)
        except Exception:
            if moved:
                continue  # the moved point is outside some domain: compare at the same point
            raise
        try:
            _compare(first, again, moved)
        except _Branched:
            if moved:
                continue
            raise TapeError("tape: fn compared Values differently on the same arguments "
                            "twice (does it draw random numbers?); it cannot be replayed") from None
        second = again
        break
    assert second is not None
    prog = _program(first, second, slot_names)
    prog.reference = _reference(first, prog)
    return prog


def _reference(run: _Run, prog: Program) -> tuple[float, list[float]] | None:
    """fn's value and each output's gradient as the engine's backward pass computes them at
    the recorded point (None where that pass raises): what every replay is checked against."""
    if not isinstance(run.out, Value):
        return (prog.value[prog.root], [])
    try:
        grads = gradients(run.out)
    except (ArithmeticError, ValueError):
        return None
    return run.out.data, [grads[v] for _, v in prog.outputs]


def _nearby(floats: list[float]) -> list[float]:
    return [x + (abs(x) + 1.0) * 2.0**-20 if math.isfinite(x) else x for x in floats]


def _check_replayable(op: Any) -> None:
    if op.external:
        raise TapeError(
            f"tape: fn uses the op {op.name!r}, defined micrograd's way (a Value built with "
            "_children and a _backward closure). A closure only adds into .grad by hand, so the "
            "tape has no forward rule to replay it and no local derivatives to chain. Define it "
            "with autograd.custom_op (a forward and one derivative per operand) instead"
        )
    if getattr(op, "vjp", False):
        raise TapeError(
            f"tape: fn uses {op.name!r}, a vector-Jacobian-product node (custom_vjp, "
            "fixed_point): its backward is a Python function of all its outputs' gradients "
            "and its forward ran outside the op table, so the tape has nothing to replay. "
            "Differentiate such a function eagerly (fn(*args).backward())"
        )
    if not callable(op.forward) or (op.arity and len(op.derivatives) != op.arity):
        raise TapeError(f"tape: the op {op.name!r} has no forward rule and derivatives a replay "
                        "could call")


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _describe(run: _Run, leaf: Any) -> str:
    """Where a leaf is used: 'operand 2 of `*`' (its first consumer)."""
    for v in run.nodes:
        for i, p in enumerate(v.parents):
            if p is leaf:
                return f"operand {i + 1} of the op {v.op!r}"
    return "a comparison"


def _compare(a: _Run, b: _Run, moved: bool) -> None:
    """Raise `_Branched` if b compared differently, TapeError if it recorded something else."""
    if len(a.seen) != len(b.seen) or any(
        x[1] != y[1] or x[3] != y[3] for x, y in zip(a.seen, b.seen)
    ):
        raise _Branched
    hidden = (
        "fn computes it from a Value's .data (or under no_grad, or at random), where the tape "
        "cannot see it: compute it with Value operations (comparisons of Values are fine; "
        "the tape checks them on every replay)"
    )
    if len(a.nodes) != len(b.nodes):
        raise TapeError(
            "tape: fn recorded a different graph at nearby arguments without comparing Values "
            f"differently ({len(a.nodes)} nodes, then {len(b.nodes)}): it branches on numbers "
            "the tape cannot see. " + hidden
        )
    inputs_a = {id(v): i for i, v in enumerate(a.inputs)}
    inputs_b = {id(v): i for i, v in enumerate(b.inputs)}
    for i, (x, y) in enumerate(zip(a.nodes, b.nodes)):
        if x.parents:
            same = (
                y.parents and rule(x) is rule(y) and op_arg(x) == op_arg(y)
                and [a.index[id(p)] for p in x.parents] == [b.index[id(p)] for p in y.parents]
            )
            if not same:
                raise TapeError(
                    f"tape: at nearby arguments fn recorded {y.op or 'a leaf'!r} where it had "
                    f"recorded {x.op!r} (node {i}): it branches on numbers the tape cannot "
                    "see. " + hidden
                )
            continue
        if id(x) in inputs_a or id(y) in inputs_b:
            if inputs_a.get(id(x)) != inputs_b.get(id(y)):
                raise TapeError("tape: fn used its arguments in a different order at nearby "
                                "arguments. " + hidden)
            continue
        if x is y or _same(x.data, y.data):
            continue
        what = "the constant" if is_constant(x) else "the Value made inside fn"
        raise TapeError(
            f"tape: {what} {x.data!r} used as {_describe(a, x)} changed to {y.data!r} "
            f"when {'the arguments moved slightly' if moved else 'fn ran again'}: " + hidden
        )
    for x, y in zip(a.seen, b.seen):
        right_a, right_b = x[2], y[2]
        if a.index[id(x[0])] != b.index[id(y[0])]:
            raise _Branched
        if isinstance(right_a, Value) != isinstance(right_b, Value):
            raise _Branched
        if isinstance(right_a, Value):
            if a.index[id(right_a)] != b.index[id(right_b)]:
                raise _Branched
        elif not _same(_number(right_a), _number(right_b)):
            raise TapeError(
                f"tape: fn compared a Value with {_number(right_a)!r}, then with "
                f"{_number(right_b)!r} at nearby arguments: that number " + hidden
            )


def _number(x: Any) -> Any:
    return x if isinstance(x, (int, float)) else float(x)


_RESERVED = {"args", "params", "seed", "abs", "tanh", "exp", "log", "sqrt", "sin", "cos",
             "power", "e", "INF", "NAN", "_log", "_sqrt", "None", "True", "False"}


class _Names:
    """Distinct Python identifiers from labels: 'layers.0.w.1' -> 'layers_0_w_1'."""

    def __init__(self) -> None:
        self.taken = set(_RESERVED)

    def __call__(self, wanted: str, fallback: str) -> str:
        name = re.sub(r"\W", "_", wanted) if wanted else ""
        if not name or not name.isidentifier() or iskeyword(name) or name.startswith("g_"):
            name = fallback if not name or name[0].isdigit() else "p_" + name
            name = re.sub(r"\W", "_", name)
        base, k = name, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def _program(a: _Run, b: _Run, slot_names: list[str]) -> Program:
    prog = Program(n_args=len(a.inputs))
    names = _Names()
    inputs = {id(v): i for i, v in enumerate(a.inputs)}
    externals: list[tuple[int, Any]] = []
    for x, y in zip(a.nodes, b.nodes):
        n = len(prog)
        if x.parents:
            operands = tuple(a.index[id(p)] for p in x.parents)
            prog.add(OP, x.data, f"v{n}", rule(x), operands, op_arg(x))
            if x is y:  # computed before the recording: fn reads it, it gets a gradient
                externals.append((n, x))
        elif id(x) in inputs:
            slot = inputs[id(x)]
            prog.add(ARG, x.data, names(slot_names[slot], f"x{slot}"), slot=slot)
        elif x is y and not is_constant(x):
            prog.add(PARAM, x.data, names(x.label, f"p{len(prog.params)}"),
                     slot=len(prog.params))
            prog.params.append(x)
            externals.append((n, x))
        else:  # a constant, or a Value fn makes from a fixed number every time
            prog.add(CONST, x.data, "")
    if a.out is None or isinstance(a.out, float):
        prog.root = prog.add(CONST, 0.0 if a.out is None else a.out, "")
    else:
        prog.root = a.index[id(a.out)]
    for left, cmp, right, result in a.seen:
        i = a.index[id(left)]
        if isinstance(right, Value):
            j = a.index[id(right)]
            prog.guards.append(Guard(i, cmp, j, True, result, max(i, j)))
        else:
            prog.guards.append(Guard(i, cmp, _number(right), False, result, i))
    prog.finish(externals)
    return prog
