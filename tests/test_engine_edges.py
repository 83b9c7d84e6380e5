"""Edges found by trying the engine as a newcomer would."""

import pytest

from autograd import Value, draw_dot, grad


def test_x_to_the_zero_has_derivative_zero_everywhere():
    # x ** 0 is the constant 1, so every derivative is 0, at x = 0 too (as in PyTorch).
    for x in (0.0, -2.0, 3.0):
        assert grad(lambda v: v**0)(x) == 0.0
        assert grad(grad(lambda v: v**0))(x) == 0.0


def test_x_to_a_zero_value_exponent_has_base_derivative_zero_at_zero():
    x, k = Value(0.0), Value(0.0)
    y = x**k
    assert y.data == 1.0
    with pytest.raises(ValueError, match="pow"):
        y.backward()  # d/dk needs log(0): it does not exist
    assert x.grad == 0.0 and k.grad == 0.0


def test_backward_takes_none_as_the_default_seed():
    x = Value(3.0)
    (x * x).backward(None)
    assert x.grad == 6.0


def test_backward_refuses_a_seed_that_is_not_a_number():
    x = Value(3.0)
    with pytest.raises(TypeError, match="seed must be a real number, got str"):
        (x * x).backward("a")
    assert x.grad == 0.0


def test_draw_dot_refuses_what_is_not_a_value():
    with pytest.raises(TypeError, match="expected a Value, got int"):
        draw_dot(3)
