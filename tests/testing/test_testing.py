"""`autograd.testing`: check_grads reports what it should, the strategies draw what they promise."""

import contextlib
import doctest
import math
import subprocess
import sys

import pytest
from hypothesis import find, given, settings

import autograd.testing
import autograd.testing.check
import autograd.testing.expression
import autograd.testing.strategies
from autograd import Value, custom_op, dot, grad, ops
from autograd.ops import OPS
from autograd.testing import Expression, Step, check_grads, well_conditioned
from autograd.testing.strategies import expression_graphs, expressions, values

# -- check_grads -----------------------------------------------------------------------------


def test_check_grads_passes_on_right_derivatives_to_order_three():
    check_grads(lambda x, y: (x * y).tanh() + y.exp() / x, 0.8, -0.3, order=3)
    check_grads(lambda x: x ** 2.5 - 2 ** x, 1.7, order=3)
    check_grads(lambda x: 3.0, 1.0, order=2)  # a constant function


def test_check_grads_names_the_argument_order_numbers_and_tolerance():
    # The engine's d/dy of x * detach(y) is 0; finite differences see x = 2.
    with pytest.raises(AssertionError) as info:
        check_grads(lambda x, y: x * y.detach() + x, 2.0, 0.5)
    message = str(info.value)
    assert "order 1" in message and "argument 1" in message
    assert "engine 0.0" in message and "finite differences 1.99999" in message
    assert "tolerance" in message


def test_a_mismatch_in_a_users_op_suggests_rtol_and_atol():
    from autograd import fixed_point

    # A solver stopped early: its gradient is as exact as its tolerance, and the message says
    # which op it is and that rtol/atol are the way to allow for it.
    def root(a):
        return fixed_point(lambda x: [(x[0] + a / x[0]) / 2], [1.0], tol=1e-3)[0] * a
    with pytest.raises(AssertionError, match=r"f uses ops of your own \('fixed_point'\).*"
                                             r"rtol=\.\.\., atol=\.\.\."):
        check_grads(root, 3.0)
    check_grads(root, 3.0, atol=1e-3)

    scaled_erf = custom_op("erf_ish", math.erf,  # a derivative 1% off
                           [lambda x, y: 1.01 * 2 / math.sqrt(math.pi) * math.exp(-x * x)])
    with pytest.raises(AssertionError, match=r"\('erf_ish'\).*rtol"):
        check_grads(lambda x: scaled_erf(x) + x, 0.4)

    # Built-in ops only: no such hint (the fault is the engine's, not a tolerance).
    with pytest.raises(AssertionError) as info:
        check_grads(lambda x, y: x * y.detach() + x, 2.0, 0.5)
    assert "ops of your own" not in str(info.value)


@contextlib.contextmanager
def _derivatives_as_plain_floats(name):
    """The op's derivatives computed as floats even on Values: right at first order, constants
    to higher orders, so only order 2 can see the fault."""
    op = OPS[name]
    original = op.derivatives
    plain = tuple(lambda *a, d=d: getattr(d(*a), "data", d(*a)) for d in original)
    object.__setattr__(op, "derivatives", plain)
    try:
        yield
    finally:
        object.__setattr__(op, "derivatives", original)


def test_check_grads_finds_a_second_order_error_only_at_order_two():
    with _derivatives_as_plain_floats("sin"):
        check_grads(lambda x: x.sin(), 0.7, order=1)
        with pytest.raises(AssertionError, match=r"order 2 .*argument 0 \(d2/dx0 dx0\)"):
            check_grads(lambda x: x.sin(), 0.7, order=2)


def test_check_grads_names_both_arguments_of_a_mixed_partial():
    # d2(x y)/dx2 = 0 either way; only the mixed partial (1) needs the recorded derivative.
    with _derivatives_as_plain_floats("*"):
        with pytest.raises(AssertionError, match=r"order 2 .*arguments 0, 1 \(d2/dx0 dx1\)"):
            check_grads(lambda x, y: x * y, 0.7, 0.2, order=2)


def test_check_grads_takes_values_and_leaves_their_grads_alone():
    x = Value(0.4)
    x.grad = 7.0
    check_grads(lambda t: t * t.sin(), x, order=2)
    assert x.grad == 7.0


def test_check_grads_refuses_bad_input():
    with pytest.raises(TypeError, match="str"):
        check_grads(lambda x: x, "1.0")
    with pytest.raises(ValueError, match="order"):
        check_grads(lambda x: x, 1.0, order=0)
    with pytest.raises(TypeError, match="argument"):
        check_grads(lambda: Value(1.0))


def test_check_grads_halves_steps_that_leave_the_domain():
    check_grads(lambda x: x.log(), 1e-5, order=2)  # the largest step, 1e-3, leaves it
    # A drawn expression, well inside every op's domain, whose d/dx2 at 0.628 +- 1e-3 is not:
    # e = sin(exp(exp(exp(x2 ** 2.5)))) turns negative there, and e ** e is undefined.
    steep = Expression(3, (Step("**", (2,), 2.5), Step("exp", (3,)), Step("exp", (4,)),
                           Step("exp", (5,)), Step("sin", (6,)), Step("pow", (7, 7))),
                       (-1.0260050949758743e-147, 1.1311419878911773e-221, 0.62790400982907))
    check_grads(steep, *steep.point, order=2)
    with pytest.raises(AssertionError):
        check_grads(_off_by(lambda x: x.log(), lambda x: 1 / x, 0.03), 1e-5)


def test_check_grads_says_when_every_step_leaves_the_domain():
    with pytest.raises(ValueError, match="finite-difference step of 5.96e-11 .* domain"):
        check_grads(lambda x: x.log(), 1e-12)


def test_check_grads_steps_over_a_kink_closer_than_its_largest_step():
    # relu's kink is 1e-4 from the point, inside the largest step (1e-3): finer steps clear it.
    check_grads(lambda x: x.relu() + x.sin(), 1e-4, order=2)
    check_grads(lambda x: 3 * abs(x), -2e-5, order=2)


def test_check_grads_accepts_derivatives_that_underflow():
    # Results below the smallest normal float have fewer bits than ulps suggest.
    check_grads(lambda x, y, z: x * (z * z), 2.6426513015875325e-162, -0.0,
                2.6426513015875325e-162)
    check_grads(lambda x, y: (y * x ** 2) ** 8, -0.11988032568087181, 1.1754943508222875e-38)
    check_grads(lambda x, y, z: (x * z).sin() * (x * z), -2.3, -2.3, 1.5311216452948172e-160)


def test_finite_differences_are_taken_about_the_point_itself():
    # 1 +- 1e-3 round to floats whose midpoint is not 1: the slope there is 2e-13, not 0.
    from autograd.testing.check import finite_difference

    def f(x):
        return 1000.0 * (x - 1.0) ** 2

    estimate = finite_difference(f, [1.0], 0)
    assert abs(estimate.value) <= 1e-15 and estimate.error < 1e-12


def test_check_grads_allows_for_the_engines_own_rounding():
    # d/dx is y = 2.55e-26, but the engine adds y to a (y - 1) that a later term takes away
    # again: the y is lost to rounding, 0.0 is as right as floats allow, and is accepted.
    def f(x, y):
        a = x - x
        return dot([y, a, a], [x, a, y]) - a

    x, y = 1.5167764644540314e-232, 2.550054311787798e-26
    assert grad(f)(x, y) == 0.0
    check_grads(f, x, y, order=2)


def test_check_grads_never_converts_a_value_with_float(monkeypatch):
    def refuse(self):
        raise TypeError("float() of a Value")

    monkeypatch.setattr(Value, "__float__", refuse)
    check_grads(lambda x, y: (x * y).tanh() + y.exp() / x, 0.8, -0.3, order=3)
    check_grads(lambda x: 3.0, 1.0, order=2)


def test_check_grads_tolerance_options():
    wrong = _off_by(lambda x: x.sin(), lambda x: x.cos(), 0.03)  # slope off by 3%
    with pytest.raises(AssertionError):
        check_grads(wrong, 0.7)
    check_grads(wrong, 0.7, rtol=0.05)  # rtol and atol widen the tolerance
    check_grads(wrong, 0.7, atol=0.05)
    with pytest.raises(AssertionError):
        check_grads(wrong, 0.7, eps=1e-2)  # eps is the largest step, not a tolerance
    for bad in ({"eps": 0.0}, {"eps": math.inf}, {"rtol": -1.0}, {"atol": math.nan}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            check_grads(lambda x: x, 1.0, **bad)


# Smooth functions that are hard to difference (steep, fast, large, tiny, at a domain edge),
# with their derivative: check_grads must accept the engine's derivatives, and catch the
# derivative made 3% wrong.
HARD = [
    # The engine's d2/dx2 is sympy's to 1e-13; one fixed step was 8e-6 off.
    ("cos(x^x)^2", lambda x: (x ** x).cos() * (x ** x).cos(),
     lambda x: -2 * (x ** x).cos() * (x ** x).sin() * x ** x * (x.log() + 1), 2.0, 2),
    # d/dx 68.0279 (right); one fixed step gave 68.0262.
    ("cos(x^4)", lambda x: ((x * x) * (x * x)).cos(),
     lambda x: -4 * x ** 3 * ((x * x) * (x * x)).sin(), 3.0, 2),
    ("sin(x^5), f'' about 4e4", lambda x: (x ** 5).sin(),
     lambda x: 5 * x ** 4 * (x ** 5).cos(), 2.5, 2),
    ("1e6 sin(200x)", lambda x: 1e6 * (200 * x).sin(),
     lambda x: 2e8 * (200 * x).cos(), 0.3, 2),
    ("x^2 cos(x) near 1e6", lambda x: x * x * x.cos(),
     lambda x: 2 * x * x.cos() - x * x * x.sin(), 1000.0, 2),
    ("exp(x^3) near 1e6", lambda x: (x ** 3).exp(),
     lambda x: 3 * x * x * (x ** 3).exp(), 2.4, 3),
    ("exp(exp(x))", lambda x: x.exp().exp(),
     lambda x: x.exp() * x.exp().exp(), 2.6, 2),
    ("sin(1000x)", lambda x: (1000 * x).sin(),
     lambda x: 1000 * (1000 * x).cos(), 1.0, 3),
    ("1e-30 sin(x^2)", lambda x: 1e-30 * (x * x).sin(),
     lambda x: 2e-30 * x * (x * x).cos(), 1.5, 2),
    ("x^3 at 1e-3", lambda x: x ** 3, lambda x: 3 * x * x, 1e-3, 3),
    ("log(x) near 0", lambda x: x.log(), lambda x: 1 / x, 0.01, 3),
    ("sqrt(x) near 0", lambda x: x.sqrt(), lambda x: 0.5 / x.sqrt(), 0.01, 3),
    ("sin(x) - x at 6e-8", lambda x: x.sin() - x, None, 5.960464477539063e-08, 3),
]


def _off_by(f, df, error):
    """f whose engine derivative is off by `error` (relative), made with public API only:
    x - x.detach() is 0 everywhere, so the extra term changes no value (nor the true slope),
    but the engine differentiates x and not x.detach(), and adds error * df(x)."""
    return lambda x: f(x) + error * (x - x.detach()) * df(x)


@pytest.mark.parametrize(("f", "x", "order"), [pytest.param(f, x, order, id=name)
                                               for name, f, _, x, order in HARD])
def test_check_grads_accepts_right_derivatives_of_hard_functions(f, x, order):
    check_grads(f, x, order=order)


@pytest.mark.parametrize(("f", "df", "x"), [pytest.param(f, df, x, id=name)
                                            for name, f, df, x, _ in HARD if df is not None])
@pytest.mark.parametrize("error", [0.03, -0.03])
def test_check_grads_catches_a_three_percent_error(f, df, x, error):
    with pytest.raises(AssertionError, match=r"order 1 derivative .* argument 0"):
        check_grads(_off_by(f, df, error), x)


def _softplus(x, slope):
    """A custom op the way a user can write one: its value log(1 + e^x), its derivative given
    by hand as `slope` (the value is detached, so the engine sees only the slope term)."""
    return (1 + x.exp()).log().detach() + (x - x.detach()) * slope(x)


@pytest.mark.parametrize("x", [-2.0, 0.3, 1.7])
def test_check_grads_catches_a_detached_slope_three_percent_off(x):
    check_grads(lambda x: _softplus(x, lambda x: x.sigmoid()), x)
    with pytest.raises(AssertionError, match=r"order 1 derivative .* argument 0 .*engine"):
        check_grads(lambda x: _softplus(x, lambda x: 1.03 * x.sigmoid()), x)


def _softplus_op(name, error):
    return custom_op(name, lambda x: math.log1p(math.exp(x)),
                     [lambda x, y: (1 + error) / (1 + ops.exp(-x))])


@pytest.mark.parametrize("x", [-2.0, 0.3, 1.7])
def test_check_grads_catches_a_custom_op_with_a_derivative_three_percent_off(x):
    check_grads(_softplus_op("softplus_as_written", 0.0), x, order=2)
    for error in (0.03, -0.03):
        with pytest.raises(AssertionError, match=r"order 1 derivative .* argument 0"):
            check_grads(_softplus_op(f"softplus_off_by_{error}", error), x)


def test_importing_autograd_testing_does_not_import_hypothesis():
    code = "import sys, autograd.testing; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "module",
    [autograd.testing, autograd.testing.check, autograd.testing.expression,
     autograd.testing.strategies],
    ids=lambda m: m.__name__,
)
def test_documented_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- Expression ------------------------------------------------------------------------------


def test_expression_prints_as_a_small_program():
    e = Expression(2, (Step("*", (0, 1)), Step("tanh", (2,)), Step("+", (2, 3)),
                       Step("**", (4,), 2.0), Step("dot", (0, 4, 1, 5))), (0.5, -1.0))
    assert repr(e) == ("f(x0, x1) = e where a = x0 * x1, b = tanh(a), c = a + b, d = c ** 2.0, "
                       "e = dot([x0, c], [x1, d]); at x0=0.5, x1=-1.0")


MIXED = Expression(2, (Step("*", (0, 1)), Step("sigmoid", (2,)), Step("sum", (2, 3, 3)),
                       Step("relu", (4,)), Step("pow", (5, 0))), (0.9, 1.1))


def test_expression_builds_the_same_function_on_values_and_sympy():
    sympy = pytest.importorskip("sympy")
    engine = MIXED(*MIXED.variables()).data
    xs = sympy.symbols("x0 x1", real=True)
    exact = float(MIXED.on_sympy(*xs).subs(dict(zip(xs, MIXED.point))).evalf(30))
    assert engine == pytest.approx(exact, rel=1e-14)


def test_expression_builds_the_same_function_on_torch():
    torch = pytest.importorskip("torch")
    engine = MIXED(*MIXED.variables()).data
    t = MIXED.on_torch(*(torch.tensor(p, dtype=torch.float64) for p in MIXED.point))
    assert engine == pytest.approx(t.item(), rel=1e-14)


def test_well_conditioned_keeps_margins():
    relu = Expression(1, (Step("relu", (0,)),))
    assert well_conditioned(relu, (0.5,)) and well_conditioned(relu, (-0.5,))
    assert not well_conditioned(relu, (0.001,))  # too close to the kink
    log = Expression(1, (Step("log", (0,)),))
    assert not well_conditioned(log, (0.01,)) and not well_conditioned(log, (-1.0,))
    tanh = Expression(1, (Step("tanh", (0,)),))
    assert well_conditioned(tanh, (2.0,))
    assert not well_conditioned(tanh, (30.0,))  # tanh' rounds to 0 there
    exp = Expression(1, (Step("exp", (0,)),))
    assert not well_conditioned(exp, (10.0,))  # e^10 is over the default bound of 100


# -- strategies ------------------------------------------------------------------------------


@settings(max_examples=100)
@given(expressions())
def test_drawn_points_are_well_conditioned(expr):
    assert len(expr.point) == expr.n_inputs
    assert well_conditioned(expr, expr.point)
    root = expr(*expr.variables())
    assert isinstance(root, Value) and math.isfinite(root.data)


def _consumers(expr):
    counts = {}
    for s in expr.steps:
        for i in set(s.operands):
            counts[i] = counts.get(i, 0) + 1
    return counts


def test_graphs_have_diamonds_and_repeated_operands():
    diamond = find(expression_graphs(), lambda e: any(
        c >= 2 for i, c in _consumers(e).items() if i >= e.n_inputs))
    assert any(c >= 2 for c in _consumers(diamond).values())
    repeated = find(expression_graphs(), lambda e: any(
        len(set(s.operands)) < len(s.operands) for s in e.steps))
    assert any(len(set(s.operands)) < len(s.operands) for s in repeated.steps)


@pytest.mark.parametrize("name", sorted(set(OPS) - {"identity"}))
def test_every_op_of_the_table_is_drawn(name):
    e = find(expressions(max_steps=2), lambda e: any(s.op == name for s in e.steps))
    assert well_conditioned(e, e.point)


def test_ops_can_be_restricted():
    e = find(expression_graphs(ops=["sin", "+"]), lambda e: len(e.steps) >= 3)
    assert {s.op for s in e.steps} <= {"sin", "+"}
    with pytest.raises(ValueError, match="nope"):
        find(expression_graphs(ops=["nope"]), lambda e: True)


@settings(max_examples=20)
@given(values(-1.0, 1.0))
def test_values_draws_leaves(v):
    assert isinstance(v, Value) and v.parents == () and -1.0 <= v.data <= 1.0
