"""Hypothesis strategies for testing code built on the engine (needs `hypothesis`).

>>> from hypothesis import given, settings
>>> from autograd.testing import check_grads
>>> from autograd.testing.strategies import expressions
>>> @settings(max_examples=5, deadline=None)
... @given(expressions(max_steps=4))
... def test_gradients(expr):
...     check_grads(expr, *expr.point)
>>> test_gradients()
"""

from __future__ import annotations

from collections.abc import Iterable

try:
    from hypothesis import reject
    from hypothesis import strategies as st
except ImportError as exc:  # a test extra, not a runtime dependency
    raise ImportError(
        "autograd.testing.strategies needs hypothesis: pip install hypothesis "
        "(or this project's test extra: pip install 'gradwalk[test]')"
    ) from exc

from ..engine import Value
from ..ops import OPS
from .expression import Expression, Step, well_conditioned

EXCLUDED_OPS = frozenset({"identity"})
"""Ops left out by default: `identity` is the node `grad` inserts for each variable of a
nested level; no public operation builds it (the op-table tests cover it directly)."""


def default_ops() -> tuple[str, ...]:
    """Every op in the op table except `EXCLUDED_OPS`, so a new op is drawn automatically."""
    return tuple(name for name in OPS if name not in EXCLUDED_OPS)


def reals(low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[float]:
    """Finite floats in [low, high], no subnormals."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def values(low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[Value]:
    """Fresh leaf `Value`s with data in [low, high]."""
    return reals(low, high).map(Value)


@st.composite
def expression_graphs(
    draw: st.DrawFn,
    max_inputs: int = 3,
    max_steps: int = 6,
    ops: Iterable[str] | None = None,
    max_nary: int = 3,
) -> Expression:
    """An expression graph with no point yet (`Expression.point` is empty).

    Each step draws an op from `ops` (default: `default_ops()`) and its operands from every
    earlier slot, favouring the latest step, so chains, diamonds (a node with two consumers)
    and a node used twice by one op (`a + a`) all occur. The last step is the root.
    """
    names = sorted(default_ops() if ops is None else ops)
    unknown = [n for n in names if n not in OPS]
    if unknown or not names:
        raise ValueError(f"expression_graphs: no such ops in autograd.ops.OPS: {unknown}")
    n_inputs = draw(st.integers(1, max_inputs))
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = OPS[draw(st.sampled_from(names))]
        n_slots = n_inputs + len(steps)
        latest = n_slots - 1
        operand = st.one_of(st.just(latest), st.integers(0, latest))
        if op.arity == 0:
            count = draw(st.integers(1, max_nary))
            count *= 2 if op.name == "dot" else 1  # dot(xs, ws): xs and ws side by side
            operands = tuple(draw(operand) for _ in range(count))
        else:
            operands = tuple(draw(operand) for _ in range(op.arity))
        arg = None
        if op.has_arg:
            if op.args is None:
                raise ValueError(f"expression_graphs: op {op.name!r} takes a constant argument, "
                                 "but its entry lists none to draw (Op.args)")
            arg = draw(st.sampled_from(op.args(len(operands))))
        steps.append(Step(op.name, operands, arg))
    return Expression(n_inputs, tuple(steps))


@st.composite
def points(
    draw: st.DrawFn,
    expr: Expression,
    low: float = -3.0,
    high: float = 3.0,
    bound: float = 100.0,
    min_slope: float = 1e-4,
    tries: int = 20,
) -> tuple[float, ...]:
    """A point in [low, high]^n where `expr` is well-conditioned (see `well_conditioned`:
    inside every op's `Op.domain`, intermediate values within `bound`, no tiny nonzero local
    derivative). Tries `tries` points, then rejects the example."""
    coordinate = reals(low, high)
    for _ in range(tries):
        point = tuple(draw(coordinate) for _ in range(expr.n_inputs))
        if well_conditioned(expr, point, bound, min_slope):
            return point
    reject()  # no luck: let hypothesis draw another graph


@st.composite
def expressions(
    draw: st.DrawFn,
    max_inputs: int = 3,
    max_steps: int = 6,
    ops: Iterable[str] | None = None,
    low: float = -3.0,
    high: float = 3.0,
    bound: float = 100.0,
    min_slope: float = 1e-4,
) -> Expression:
    """A random expression graph over the op table together with a point inside every op's
    domain (`Expression.point`). Call it like a function: `expr(*expr.variables())`.

    See `expression_graphs` for the graph and `points` for the point and its margins.
    """
    graph = draw(expression_graphs(max_inputs, max_steps, ops))
    point = draw(points(graph, low, high, bound, min_slope))
    return Expression(graph.n_inputs, graph.steps, point)
