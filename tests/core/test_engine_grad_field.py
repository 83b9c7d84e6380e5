"""`.grad` is always a float: checked where it is assigned, and never half-written by a backward
pass that raises.

PyTorch's habit `p.grad = None` (or any other non-number) is a TypeError at the assignment that
names the Value and says how to reset a gradient; NumPy numbers are stored as floats. Every way a
backward step can fail (a derivative that does not exist, a user's derivative, vector-Jacobian
product or `_backward` closure that raises) leaves every `.grad` as it was, and the functional
transforms never change a `.grad` at all.
"""

import math

import pytest

from autograd import Value, custom_op, custom_vjp, grad, value_and_grad
from autograd.engine import walk
from nn import MLP
from nn.optim import SGD


@pytest.mark.parametrize("bad", [None, "0.0", 1j, [0.0], Value(0.0), object()])
def test_a_grad_that_is_not_a_real_number_is_refused_where_it_is_assigned(bad):
    w = Value(0.5, label="w")
    w.grad = 2.5
    kind = "None" if bad is None else type(bad).__name__
    with pytest.raises(TypeError, match=r"Value 'w': \.grad takes a real number, got "
                                        rf"{kind}.*\.grad = 0\.0 or call zero_grad"):
        w.grad = bad
    assert w.grad == 2.5 and repr(w) == "Value(data=0.5, grad=2.5, label='w')"
    unnamed = Value(1.0)
    with pytest.raises(TypeError, match=r"^a Value: \.grad takes a real number, got None"):
        unnamed.grad = None


def test_numpy_numbers_and_ints_are_stored_as_floats():
    np = pytest.importorskip("numpy")
    w = Value(0.5)
    for number in (np.float32(0.25), np.float64(-1.5), np.int64(3), 7):
        w.grad = number
        assert type(w.grad) is float and w.grad == float(number)
    (w * 2).backward()
    assert w.grad == 9.0
    with pytest.raises(OverflowError, match="grad"):
        w.grad = 10**400
    assert w.grad == 9.0


def test_a_grad_set_to_none_no_longer_breaks_a_later_backward_halfway():
    # `.grad = None` was accepted; the next backward then raised a bare TypeError after adding
    # into some nodes and not others
    model = MLP(2, [3, 1], seed=0)
    params = model.parameters()
    with pytest.raises(TypeError):
        params[4].grad = None
    model([0.5, -1.0]).backward()
    assert all(type(p.grad) is float for p in params)
    assert any(p.grad != 0.0 for p in params)


def grads(root):
    return {node: node.grad for node in walk(root)}


def seeded(root):
    """Give every node of the graph a distinct nonzero .grad, as earlier passes would."""
    for k, node in enumerate(walk(root)):
        node.grad = 0.125 * (k + 1)
    return grads(root)


def failing_custom_op():
    def d_first(x, y, out):
        return y

    def d_second(x, y, out):
        raise ValueError("no slope in y here")

    return custom_op("picky", lambda x, y: x * y, [d_first, d_second])


def failing_vjp(a, b):
    def vjp(g):
        raise ArithmeticError("no product here")

    return custom_vjp("fails", [a, b], [a.data + b.data, a.data * b.data], vjp)


def micrograd_style_failing(x):
    out = Value(2 * x.data, (x,), "double")

    def _backward():
        x.grad += 2 * out.grad
        raise RuntimeError("the closure failed after adding")

    out._backward = _backward
    return out


GRAPHS = {
    "sqrt at 0": lambda a, b: (a * 0).sqrt() * b + b * b,
    "pow in the exponent at a negative base": lambda a, b: (a - 2) ** (b + 0.5) + a * b,
    "a custom op's derivative": lambda a, b: failing_custom_op()(a, b) + a * b,
    "a vector-Jacobian product": lambda a, b: failing_vjp(a, b)[1] * a + b,
    "a micrograd-style closure": lambda a, b: micrograd_style_failing(a * b) + a,
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_every_backward_that_raises_leaves_every_grad_as_it_was(name):
    a, b = Value(0.5, label="a"), Value(1.5, label="b")
    root = GRAPHS[name](a, b)
    before = seeded(root)
    with pytest.raises(Exception):  # noqa: B017 (each graph fails its own way)
        root.backward()
    assert grads(root) == before
    for fn in (grad(lambda a, b: GRAPHS[name](a, b), (0, 1)),
               value_and_grad(lambda a, b: GRAPHS[name](a, b), (0, 1))):
        with pytest.raises(Exception):  # noqa: B017
            fn(a, b)
        assert grads(root) == before


def test_a_step_by_hand_that_raises_adds_into_no_operand():
    # x ** y: d/dx exists at x = -2, d/dy does not; the step used to add into x, then raise
    x, y = Value(-2.0, label="x"), Value(3.0, label="y")
    z = x**y
    z.grad = 1.0
    x.grad, y.grad = 0.25, 0.5
    with pytest.raises(ValueError, match=r"-2 pow 3|pow\(-2, 3\)|operand 2"):
        z._backward()
    assert (x.grad, y.grad, z.grad) == (0.25, 0.5, 1.0)
    w = Value(3.0)
    v = x * w
    v.grad = 2.0
    v._backward()  # a step that can be taken adds as before: d(xw)/dx = w, d/dw = x
    assert (x.grad, w.grad) == (0.25 + 6.0, -4.0)


def test_grad_and_value_and_grad_touch_no_grad_even_through_closures():
    a, b = Value(0.5, label="a"), Value(1.5, label="b")

    def f(a, b):
        out = Value(a.data * b.data, (a, b), "*")

        def _backward():
            a.grad += b.data * out.grad
            b.grad += a.data * out.grad

        out._backward = _backward
        return out * b

    root = f(a, b)
    before = seeded(root)
    assert grad(f, (0, 1))(a, b) == (1.5 * 1.5, 2 * 0.5 * 1.5)
    assert value_and_grad(f)(a, b) == (0.5 * 1.5 * 1.5, 1.5 * 1.5)
    assert grads(root) == before


def test_the_optimizer_and_the_module_reset_and_read_grad_as_floats():
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.5)
    model([1.0, 2.0]).backward()
    expected = [p.data - 0.5 * p.grad for p in model.parameters()]
    opt.step()
    assert [p.data for p in model.parameters()] == expected
    opt.zero_grad()
    assert all(p.grad == 0.0 and type(p.grad) is float for p in model.parameters())
    model([1.0, 2.0]).backward()
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert not math.isnan(sum(p.data for p in model.parameters()))
