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
    with pytest.raises(TypeError, match="seed takes a real number, got str"):
        (x * x).backward("a")
    assert x.grad == 0.0


def test_draw_dot_refuses_what_is_not_a_value():
    with pytest.raises(TypeError, match="expected a Value, got int"):
        draw_dot(3)


# --- found in review ---------------------------------------------------------------------------

import threading  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autograd import dot, is_recording, no_grad  # noqa: E402

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=4), st.data())
def test_dot_gradients_equal_the_chain_to_the_last_bit_with_repeated_operands(data, draw):
    # Operands drawn from a small pool, so the same Value appears several times on both sides.
    n = draw.draw(st.integers(1, 4))
    xi = draw.draw(st.lists(st.integers(0, len(data) - 1), min_size=n, max_size=n))
    wi = draw.draw(st.lists(st.integers(0, len(data) - 1), min_size=n, max_size=n))
    fused = [Value(v) for v in data]
    chain = [Value(v) for v in data]
    d = dot([fused[i] for i in xi], [fused[i] for i in wi])
    c = chain[xi[0]] * chain[wi[0]]
    for i, j in zip(xi[1:], wi[1:]):
        c = c + chain[i] * chain[j]
    d.backward()
    c.backward()
    assert d.data == c.data
    assert [v.grad for v in fused] == [v.grad for v in chain]
    assert d.parents == tuple(fused[i] for i in xi) + tuple(fused[i] for i in wi)


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_and_cos_of_infinity_name_the_op(name):
    with pytest.raises(ValueError, match=rf"^{name}\(inf\)"):
        getattr(Value(float("inf")), name)()


def test_grad_follows_only_the_paths_to_its_variables():
    # sqrt'(0) and d(x**k)/dk at x < 0 do not exist, but neither is needed here.
    assert grad(lambda x, c: x * c.sqrt())(1.0, Value(0.0)) == 0.0
    assert grad(lambda x, k: x**k)(-2.0, Value(2.0)) == -4.0


def test_mixed_second_derivative_of_power_at_exponent_zero():
    f = lambda a, b: a**b  # noqa: E731
    # d/db d/da a**b = a**(b-1) * (1 + b log a) = 0.5 at a = 2, b = 0, in either order
    assert grad(lambda b: grad(f, 0)(2.0, b))(0.0) == pytest.approx(0.5, rel=1e-15)
    assert grad(lambda a: grad(f, 1)(a, 0.0))(2.0) == pytest.approx(0.5, rel=1e-15)


def test_one_no_grad_object_shared_by_two_threads():
    # Each thread restores its own state: the first must record again after its block even
    # though the second, already inside another no_grad, entered the same object meanwhile.
    shared = no_grad()
    entered, second_inside, first_done = threading.Event(), threading.Event(), threading.Event()
    after = {}

    def first():
        with shared:
            entered.set()
            second_inside.wait(5)
        after["first"] = is_recording()
        first_done.set()

    def second():
        entered.wait(5)
        with no_grad(), shared:
            second_inside.set()
            first_done.wait(5)
            after["second inside"] = is_recording()
        after["second"] = is_recording()

    threads = [threading.Thread(target=f) for f in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert after == {"first": True, "second inside": False, "second": True}


def test_comparison_with_a_string_is_a_type_error_naming_value():
    with pytest.raises(TypeError, match="Value"):
        Value(1.0) < "a"  # noqa: B015


def test_grad_refuses_an_argument_named_twice():
    with pytest.raises(ValueError, match="twice"):
        grad(lambda x, y: x * y, (0, 0))(2.0, 3.0)


# --- found in the second review ----------------------------------------------------------------

from autograd import explain, sum_, value_and_grad  # noqa: E402

WEIGHTS = [1.0, 1e16, -1e16]  # the order of summation decides the result: 1.0 or 0.0


def _fused(y):
    return dot([y, y, y], WEIGHTS)


def _chain(y):
    return y * WEIGHTS[0] + y * WEIGHTS[1] + y * WEIGHTS[2]


def test_nested_gradients_through_dot_equal_the_chain_to_the_bit():
    assert grad(_fused)(2.0) == grad(_chain)(2.0) == 1.0
    assert value_and_grad(grad(_fused))(2.0)[0] == value_and_grad(grad(_chain))(2.0)[0]
    assert grad(lambda x: grad(_fused)(x) * x)(2.0) == grad(lambda x: grad(_chain)(x) * x)(2.0)


def test_explain_adds_in_backwards_order():
    x = Value(2.0, label="x")
    y = _fused(x)
    y.label = "y"
    text = explain(y)
    y.backward()
    assert x.grad == 1.0
    assert text.splitlines()[-1].strip() == "dy/dx = 1.0000"


def test_a_negative_argnum_naming_the_same_argument_is_refused():
    def f(x, y=2.0):
        return x * x * y

    with pytest.raises(ValueError, match="twice"):
        grad(f, argnums=(0, -1))(3.0)
    with pytest.raises(ValueError, match="twice"):
        grad(f, argnums=(0, -2))(3.0, 1.0)


def test_empty_dot_and_sum_are_constant_leaves():
    for v in (dot([], []), sum_([])):
        assert v.data == 0.0 and v.op == "" and v.parents == ()
