"""Random expression graphs over the whole op table against sympy's exact derivatives.

The graphs come from `autograd.testing.strategies.expressions()`: shared subexpressions, `a + a`,
n-ary sum/dot nodes, and a point a margin away from kinks and domain edges where every local
derivative is well-conditioned. Tolerances are relative, 1e-9, measured against the natural
scale of the rounding error (see `Expression.gradient_scale`): the exact value itself whenever
the paths through the graph do not cancel. Measured errors are below 1e-12.
"""

import itertools

from hypothesis import assume, given, settings

from autograd import grad, value_and_grad
from autograd.testing import check_grads, well_conditioned
from autograd.testing.strategies import expressions

RTOL = 1e-9


@settings(max_examples=80)
@given(expressions())
def test_value_matches_sympy(expr):
    root = expr(*expr.variables())
    exact = expr.symbolic_derivative(())
    assert abs(root.data - exact) <= 1e-12 * max(1.0, abs(exact)), expr


@settings(max_examples=80)
@given(expressions())
def test_gradient_matches_sympy(expr):
    n = expr.n_inputs
    gradient = grad(expr, argnums=tuple(range(n)))(*expr.point)
    scale = expr.gradient_scale()
    for i in range(n):
        exact = expr.symbolic_derivative((i,))
        assert abs(gradient[i] - exact) <= RTOL * scale[i], (i, gradient[i], exact)


@settings(max_examples=80)
@given(expressions())
def test_backward_fills_the_same_gradient(expr):
    xs = expr.variables()
    root = expr(*xs)
    root.backward()
    scale = expr.gradient_scale()
    for i, x in enumerate(xs):
        exact = expr.symbolic_derivative((i,))
        assert abs(x.grad - exact) <= RTOL * scale[i], (i, x.grad, exact)


@settings(max_examples=50)
@given(expressions(max_steps=5))
def test_hessian_matches_sympy(expr):
    n = expr.n_inputs
    exact = {ij: expr.symbolic_derivative(ij) for ij in itertools.product(range(n), repeat=2)}
    # An entry that cancels to 0 is held to the size of its neighbours and of the gradient.
    scale = max([*map(abs, exact.values()), *expr.gradient_scale()])
    for (i, j), h in exact.items():
        engine = grad(grad(expr, argnums=i), argnums=j)(*expr.point)
        assert abs(engine - h) <= RTOL * max(abs(h), scale), ((i, j), engine, h)


@settings(max_examples=30)
@given(expressions(max_inputs=2, max_steps=4))
def test_third_derivative_matches_sympy(expr):
    wrt = (0,) * 3
    exact = expr.symbolic_derivative(wrt)
    engine = grad(grad(grad(expr)))(*expr.point)
    scale = max(abs(exact), *map(abs, (expr.symbolic_derivative((0,) * k) for k in (1, 2))),
                *expr.gradient_scale())
    assert abs(engine - exact) <= 1e-8 * scale, (engine, exact)


@settings(max_examples=40)
@given(expressions())
def test_nested_first_derivative_has_the_same_value(expr):
    """Inside an outer grad the gradient is recorded as Values; its value must not change."""
    n = expr.n_inputs
    for i in range(n):
        alone = grad(expr, argnums=i)(*expr.point)
        nested, _ = value_and_grad(grad(expr, argnums=i), argnums=i)(*expr.point)
        assert abs(nested - alone) <= RTOL * expr.gradient_scale()[i], (i, nested, alone)


def _steps_stay_well_conditioned(expr, eps):
    """Whether every point central differences visit (steps h and h/2 either way along each
    axis) is as well-conditioned as the point itself, on the same side of every kink."""
    for i in range(expr.n_inputs):
        for a in (1.0, -1.0, 0.5, -0.5):
            p = list(expr.point)
            p[i] += a * eps * max(1.0, abs(p[i]))
            if not well_conditioned(expr, p) or _branches(expr, p) != _branches(expr, expr.point):
                return False
    return True


def _branches(expr, point):
    """Which side of its kink each relu/abs operand lies on."""
    slots = expr.floats(point)
    return [slots[s.operands[0]] > 0 for s in expr.steps if s.op in ("relu", "abs")]


@settings(max_examples=30)
@given(expressions(max_inputs=2, max_steps=5))
def test_check_grads_accepts_random_graphs(expr):
    eps = 1e-4
    assume(_steps_stay_well_conditioned(expr, eps))
    check_grads(expr, *expr.point, order=2, eps=eps, rtol=1e-5, atol=1e-6)
