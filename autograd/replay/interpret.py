"""The reference replay: one node at a time through the op table, as the engine computes.

Slow, but it raises exactly the engine's errors (a forward rule's domain error naming the op, or
a local derivative that does not exist where backward multiplies it), so the fast replays hand
any exception over to it for the message. Tests also hold the fast replays against it.
"""

from __future__ import annotations

import operator
from typing import Any

from ..backward import chain, undefined
from .program import ARG, CONST, OP, PARAM, Program, operand_order

MISS = None  # a guard failed: the recording took another branch


_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
                "==": operator.eq, "!=": operator.ne}


def compare(cmp: str, a: float, b: Any) -> bool:
    return _COMPARISONS[cmp](a, b)


def forward(prog: Program, floats: list[float], data: list[float]) -> list[float] | None:
    """Every node's value, or MISS when a guard fails (checked as soon as it can be)."""
    at: dict[int, list[Any]] = {}
    for g in prog.guards:
        at.setdefault(g.after, []).append(g)
    vals: list[float] = [0.0] * len(prog)
    for n, kind in enumerate(prog.kind):
        if kind == OP:
            op, k = prog.op[n], prog.arg_at(n, vals)
            assert op is not None  # an OP node's entry (`Program.op_of`, inline: the hot loop)
            xs = [vals[p] for p in prog.operands[n]]
            if op.arity == 0:
                vals[n] = op.forward(xs, k) if op.has_arg else op.forward(xs)
            elif op.has_arg:
                vals[n] = op.forward(*xs, k)
            else:
                vals[n] = op.forward(*xs)
        elif kind == ARG:
            vals[n] = floats[prog.slot[n]]
        elif kind == PARAM:
            vals[n] = data[prog.slot[n]]
        else:
            assert kind == CONST
            vals[n] = prog.value[n]
        for g in at.get(n, ()):
            right = vals[g.right] if g.right_is_node else g.right
            if compare(g.cmp, vals[g.left], right) is not g.result:
                return MISS
    return vals


def local_derivatives(prog: Program, n: int, vals: list[float]) -> list[Any]:
    """Node n's local derivatives as floats, or the error for one that does not exist."""
    op, k = prog.op[n], prog.arg_at(n, vals)
    assert op is not None  # an OP node's entry (`Program.op_of`, inline: once per node)
    xs = [vals[p] for p in prog.operands[n]]
    y = vals[n]
    extra = (k,) if op.has_arg else ()
    if op.arity == 0:
        return list(op.derivatives[0](xs, y, *extra))
    out: list[Any] = []
    for i in range(op.arity):
        try:
            out.append(op.derivatives[i](*xs, y, *extra))
        except (ArithmeticError, ValueError) as exc:
            out.append(undefined(op, xs, i, exc, extra))
    return out


def run(prog: Program, floats: list[float], data: list[float],
        seed: float = 1.0) -> tuple[float, list[float], list[float]] | None:
    """(fn's value, the gradient of each output, every node's value), or MISS."""
    vals = forward(prog, floats, data)
    if vals is MISS:
        return MISS
    operands = prog.operands

    def send(n: int, g: float) -> list[tuple[int, float]]:
        ds = local_derivatives(prog, n, vals)
        out = []
        for i in operand_order(prog.op_of(n), len(operands[n])):
            d = ds[i]
            if isinstance(d, Exception):
                raise d
            out.append((operands[n][i], d * g))
        return out

    grads = chain(prog.backward_order(), {prog.root: seed}, send)
    return vals[prog.root], [grads.get(n, 0.0) for n, _ in prog.outputs], vals
