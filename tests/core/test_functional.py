"""`grad` and `value_and_grad`: arguments, nesting to order 4, levels kept apart, no_grad."""

import math

import pytest

from autograd import Value, grad, no_grad, value_and_grad


def nth(f, n, argnums=0):
    for _ in range(n):
        f = grad(f, argnums=argnums)
    return f


def test_grad_returns_a_float_and_value_and_grad_a_pair():
    d = grad(lambda x: x * x * x)(2.0)
    assert type(d) is float and d == 12.0
    v, d = value_and_grad(lambda x: x.exp() + x)(0.0)
    assert (v, d) == (1.0, 2.0) and type(v) is float


def test_argnums_tuple_and_plain_number_arguments():
    def f(x, y, z):
        return x * y * y + z.sin()

    g = grad(f, argnums=(0, 2))(2, 3, 0.5)
    assert isinstance(g, tuple) and len(g) == 2
    assert g == pytest.approx((9.0, math.cos(0.5)), rel=1e-15)
    assert grad(f, argnums=1)(2, 3, Value(0.5)) == 12.0  # a Value that is not differentiated
    v, (dx, dy) = value_and_grad(f, argnums=(0, 1))(1.0, 2.0, Value(0.0))
    assert (v, dx, dy) == (4.0, 4.0, 4.0)


def test_gradient_of_an_unused_argument_is_zero():
    assert grad(lambda x, y: y * 2, argnums=0)(1.0, 3.0) == 0.0
    assert grad(lambda x: 5.0)(1.0) == 0.0


def test_bad_arguments_are_type_errors():
    with pytest.raises(TypeError, match="str"):
        grad(lambda x: x)("1.0")
    with pytest.raises(TypeError, match="list"):
        grad(lambda x: [x, x])(1.0)
    with pytest.raises(TypeError, match="argnums"):
        grad(lambda x: x, argnums=3)(1.0)


@pytest.mark.parametrize("x", [-1.2, 0.3, 2.0])
def test_sin_to_order_four(x):
    expected = [math.sin(x), math.cos(x), -math.sin(x), -math.cos(x), math.sin(x)]
    for n in range(1, 5):
        assert nth(lambda t: t.sin(), n)(x) == pytest.approx(expected[n], rel=1e-13, abs=1e-15)


def test_exp_to_order_four():
    for n in range(1, 5):
        assert nth(lambda t: t.exp(), n)(0.7) == pytest.approx(math.exp(0.7), rel=1e-14)


def test_polynomial_to_order_four_and_beyond():
    def p(x):
        return 3 * x ** 5 - 2 * x ** 3 + x - 7

    x = 1.5
    expected = [
        3 * x**5 - 2 * x**3 + x - 7,
        15 * x**4 - 6 * x**2 + 1,
        60 * x**3 - 12 * x,
        180 * x**2 - 12,
        360 * x,
        360.0,
        0.0,
    ]
    for n in range(1, 7):
        assert nth(p, n)(x) == pytest.approx(expected[n], rel=1e-13), n


def test_power_with_value_exponent_to_order_four():
    x, y = 1.7, 2.3
    falling = [1.0, y, y * (y - 1), y * (y - 1) * (y - 2), y * (y - 1) * (y - 2) * (y - 3)]
    for n in range(1, 5):
        d = nth(lambda a, b: a ** b, n, argnums=0)(x, y)
        assert d == pytest.approx(falling[n] * x ** (y - n), rel=1e-12), n
        d = nth(lambda a, b: a ** b, n, argnums=1)(x, y)
        assert d == pytest.approx(math.log(x) ** n * x ** y, rel=1e-12), n
    mixed = grad(grad(lambda a, b: a ** b, argnums=0), argnums=1)(x, y)
    assert mixed == pytest.approx(x ** (y - 1) * (1 + y * math.log(x)), rel=1e-13)


def test_no_perturbation_confusion():
    assert grad(lambda x: x * grad(lambda y: x * y)(x))(3.0) == 6.0
    # d/dx [x * d/dy (x + y)] = 1; a confused engine adds the inner x to the outer level.
    assert grad(lambda x: x * grad(lambda y: x + y)(x))(3.0) == 1.0


def test_inner_grad_returns_a_value_inside_an_outer_grad():
    seen = []

    def outer(x):
        d = grad(lambda y: y * y * x)(x)
        seen.append(type(d))
        return d

    assert grad(outer)(2.0) == 8.0  # the inner derivative is 2 y x at y = x: d/dx 2x^2 = 4x
    assert seen == [Value]


def test_grad_ignores_an_outer_no_grad():
    with no_grad():
        assert grad(lambda x: x * x)(4.0) == 8.0
        assert grad(grad(lambda x: x ** 3))(2.0) == 12.0


def test_no_grad_inside_f_stops_the_gradient():
    def f(x):
        with no_grad():
            c = x * x  # a constant as far as the gradient goes
        return c * x

    assert f(Value(2.0)).data == 8.0
    assert grad(f)(2.0) == 4.0  # c, not 3 x^2


def test_callers_grads_are_untouched():
    x = Value(2.0)
    y = x * x
    y.backward()
    assert x.grad == 4.0
    assert grad(lambda t: t * t * t)(x) == 12.0
    assert value_and_grad(lambda t: t * x)(x) == (4.0, 2.0)
    assert grad(grad(lambda t: t * t * t))(x) == 12.0
    assert x.grad == 4.0 and y.grad == 1.0


def test_grad_keeps_the_function_name():
    def loss(x):
        return x * x

    assert grad(loss).__name__ == "loss"
