"""Every op in `autograd.ops.OPS`, one at a time: derivatives to order 3 against sympy, the float
and Value forms of each local derivative against each other, and a wrong derivative caught.

The cases are generated from the table, so a new op is tested as soon as it is declared (and
fails here if `autograd.testing` cannot spell it on Values, sympy or torch).
"""

import contextlib
import itertools
import math

import pytest

from autograd import Value, grad
from autograd.engine import local_derivatives, value_partials
from autograd.ops import OPS
from autograd.testing import Expression, Step, check_grads, op_examples

CASES = [pytest.param(e, id=f"{e.steps[0].op}-{e.steps[0].arg}-{e.point}")
         for op in OPS.values() for e in op_examples(op)]


def _paths(n, order):
    """The partial derivatives of one order: all of them for up to two inputs, else the
    distinct ones (mixed partials commute)."""
    if n <= 2:
        return itertools.product(range(n), repeat=order)
    return itertools.combinations_with_replacement(range(n), order)


def _nested_grad(f, wrt):
    for i in wrt:
        f = grad(f, argnums=i)
    return f


def test_every_op_has_examples():
    for op in OPS.values():
        assert op_examples(op), f"no well-conditioned point found for {op.name}"


@pytest.mark.parametrize("expr", CASES)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_derivatives_match_sympy(expr, order):
    for wrt in _paths(expr.n_inputs, order):
        exact = expr.symbolic_derivative(wrt)
        engine = _nested_grad(expr, wrt)(*expr.point)
        assert abs(engine - exact) <= 1e-12 * max(1.0, abs(exact)), (wrt, engine, exact)


def _number(d):
    """A local derivative's number: a float, or a recorded Value's data."""
    return d.data if isinstance(d, Value) else float(d)


@pytest.mark.parametrize("expr", CASES)
def test_float_and_value_forms_agree(expr):
    """The engine records first-order local derivatives as floats and builds the Value form
    for higher orders: both must be the table's rule, at the same numbers."""
    node = expr(*expr.variables())
    op = OPS[node.op]
    floats = local_derivatives(node)
    values = [_number(v) for v in value_partials(node)]
    xs = [p.data for p in node.parents]
    extra = () if expr.steps[0].arg is None else (expr.steps[0].arg,)
    if op.arity == 0:
        table = op.derivatives[0](xs, node.data, *extra)
    else:
        table = [d(*xs, node.data, *extra) for d in op.derivatives]
    assert len(floats) == len(values) == len(table) == len(node.parents)
    for f, v, t in zip(floats, values, table):
        assert math.isclose(f, v, rel_tol=1e-15, abs_tol=1e-300), (f, v)
        assert math.isclose(f, _number(t), rel_tol=1e-15, abs_tol=1e-300), (f, t)


@pytest.mark.parametrize("x", [0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0])
@pytest.mark.parametrize("name", [n for n, op in OPS.items() if op.arity == 1 and not op.has_arg])
def test_float_and_value_forms_agree_at_kinks_and_edges(name, x):
    """Outside the strategies' margins too: at a kink both forms must pick the same
    subgradient (PyTorch's), or first and higher orders would disagree there."""
    v = Value(x)
    try:
        node = _one_op(OPS[name], v)
        values = [_number(d) for d in value_partials(node)]
    except (ArithmeticError, ValueError):
        return  # outside the op's domain: the error tests cover that
    floats = local_derivatives(node)
    assert floats == pytest.approx(values, rel=1e-15, nan_ok=True), (name, x)


def _one_op(op, v):
    return Expression(1, (Step(op.name, (0,)),))(v)


@contextlib.contextmanager
def wrong_derivative(op, index):
    """The op's derivative for operand `index` replaced by 1.5 * d + 0.25 (on floats and
    Values alike), for the duration of the block."""
    original = op.derivatives
    if op.arity == 0:
        def wrong(xs, y, *arg, d=original[0]):
            ds = list(d(xs, y, *arg))
            ds[index] = ds[index] * 1.5 + 0.25
            return ds

        patched = (wrong,)
    else:
        def wrong(*args, d=original[index]):
            return d(*args) * 1.5 + 0.25

        patched = original[:index] + (wrong,) + original[index + 1:]
    object.__setattr__(op, "derivatives", patched)  # Op is a frozen dataclass
    try:
        yield
    finally:
        object.__setattr__(op, "derivatives", original)


def _operand_count(expr):
    return len(expr.steps[0].operands)


@pytest.mark.parametrize("name", list(OPS))
def test_check_grads_catches_a_wrong_derivative(name):
    op = OPS[name]
    examples = op_examples(op)
    expr = examples[len(examples) // 2]
    check_grads(expr, *expr.point, order=2)  # passes with the real rule
    for index in range(_operand_count(expr)):
        with wrong_derivative(op, index):
            with pytest.raises(AssertionError, match=r"check_grads: order [12] derivative"):
                check_grads(expr, *expr.point, order=2)
    check_grads(expr, *expr.point, order=2)  # and passes again once restored


@contextlib.contextmanager
def detached_derivative(op, index):
    """The op's derivative for operand `index` computed as a plain float even on Values: right
    at first order, but a constant to every higher order (a classic higher-order bug)."""
    original = op.derivatives

    def plain(x):
        return x.data if hasattr(x, "data") else x

    if op.arity == 0:
        def detached(xs, y, *arg, d=original[0]):
            ds = list(d(xs, y, *arg))
            ds[index] = plain(ds[index])
            return ds

        patched = (detached,)
    else:
        def detached(*args, d=original[index]):
            return plain(d(*args))

        patched = original[:index] + (detached,) + original[index + 1:]
    object.__setattr__(op, "derivatives", patched)
    try:
        yield
    finally:
        object.__setattr__(op, "derivatives", original)


@pytest.mark.parametrize("name", list(OPS))
def test_check_grads_catches_a_derivative_that_stops_higher_orders(name):
    op = OPS[name]
    caught = 0
    for expr in op_examples(op):
        node = expr(*expr.variables())
        for index, d in enumerate(value_partials(node)):
            if not hasattr(d, "parents"):
                continue  # a constant derivative (+, relu, ...): nothing to stop
            with detached_derivative(op, index):
                with pytest.raises(AssertionError, match=r"check_grads: order 2 derivative"):
                    check_grads(expr, *expr.point, order=2)
            caught += 1
    has_curvature = any(expr.symbolic_derivative((i, j)) != 0 for expr in op_examples(op)
                        for i in range(expr.n_inputs) for j in range(expr.n_inputs))
    assert caught or not has_curvature, f"{name} has second derivatives but none was checked"
