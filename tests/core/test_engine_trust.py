"""Nothing leaves the graph silently, nothing comes back from the old point, copies are whole.

A Value never turns into a plain number behind the user's back (a `math` function on a Value
would drop it from the graph and give a silently wrong gradient); a graph whose data changed
after recording refuses to backpropagate; pickles and deep copies work at any depth and are
independent of their originals; passes from several threads add exactly what serial ones do.
"""

import copy
import math
import pickle
import sys
import threading

import pytest

from autograd import Value, explain, grad, value_and_grad
from nn import MLP
from nn.losses import mse
from nn.optim import SGD

# --- no silent float ---------------------------------------------------------------------------


@pytest.mark.parametrize("convert", [
    float, int, round, complex, math.trunc, math.floor, math.ceil,
    math.exp, math.log, math.sqrt, math.sin, math.cos, math.tanh, math.isfinite,
    lambda v: round(v, 2),
])
def test_conversions_that_leave_the_graph_raise_and_point_to_data_and_the_methods(convert):
    v = Value(0.5)
    with pytest.raises(TypeError) as info:
        convert(v)
    message = str(info.value)
    assert ".data" in message and ".item()" in message and "v.exp()" in message


def test_math_exp_would_have_been_a_silently_wrong_gradient():
    # x * math.exp(x) used to backpropagate as if exp(x) were a constant (2.718 instead of
    # 5.437); now the only way in is the recorded method, which gives the right number.
    x = Value(1.0)
    with pytest.raises(TypeError):
        x * math.exp(x)
    y = x * x.exp()
    y.backward()
    assert x.grad == pytest.approx(2 * math.e, rel=1e-15)


def test_item_and_format_give_the_number():
    v = Value(2.0 / 3.0, label="v")
    assert v.item() == v.data and type(v.item()) is float
    assert f"{v:.2f}" == "0.67" and format(v, ".3e") == "6.667e-01"
    assert f"{v}" == str(v) == repr(v)


def test_numpy_scalars_on_either_side_stay_in_the_graph():
    np = pytest.importorskip("numpy")
    for scalar in (np.float64(2.0), np.float32(2.0), np.int64(2)):
        x = Value(3.0)
        results = [scalar * x, x * scalar, scalar + x, x + scalar, scalar - x, x - scalar,
                   scalar / x, x / scalar, scalar ** x, x ** scalar]
        for r in results:
            assert type(r) is Value, (type(scalar), type(r))
        total = results[0]
        for r in results[1:]:
            total = total + r
        total.backward()
        expected = (2 + 2 + 1 + 1 - 1 + 1 - 2 / 9 + 1 / 2 + 8 * math.log(2) + 2 * 3)
        assert x.grad == pytest.approx(expected, rel=1e-6)


def test_numpy_data_and_int_data_become_floats_and_later_ops_work():
    np = pytest.importorskip("numpy")
    w = Value(1.0)
    w.grad = 0.5
    w.data -= np.float32(0.1) * w.grad  # micrograd's update with a NumPy learning rate
    assert type(w.data) is float
    assert w.cos().data == pytest.approx(math.cos(0.95), rel=1e-6)
    x = Value(2.0)
    x.data = 0
    assert type(x.data) is float and x.data == 0.0
    assert x.cos().data == 1.0
    assert Value(np.bool_(True)).data == 1.0 and Value(True).data == 1.0


@pytest.mark.parametrize("bad", ["1.0", None, 1j, [1.0], Value(1.0)])
def test_bad_data_is_a_type_error_naming_the_type_and_changes_nothing(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)
    x = Value(2.0, label="x")
    with pytest.raises(TypeError, match=type(bad).__name__):
        x.data = bad
    assert x.data == 2.0


def test_numbers_too_large_for_a_float_name_where_they_went():
    big = 10**400
    with pytest.raises(OverflowError, match="Value"):
        Value(big)
    with pytest.raises(OverflowError, match=r"^\+"):
        Value(1.0) + big
    with pytest.raises(OverflowError, match=r"^\*"):
        big * Value(1.0)
    with pytest.raises(OverflowError, match="seed"):
        (Value(1.0) * 2).backward(big)
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=123)


def test_comparisons_with_integers_too_large_for_a_float_give_the_exact_answer():
    # a comparison records nothing, so nothing needs the int as a float: Python's exact answer
    big = 10**400
    assert (Value(1.0) < big, Value(1.0) <= big, Value(1.0) > big, Value(1.0) >= big) == (
        True, True, False, False)
    assert (Value(math.inf) < big, Value(math.inf) > big, Value(-math.inf) < -big) == (
        False, True, True)
    assert (big > Value(1.0), -big < Value(-1e308)) == (True, True)  # reflected
    assert not (Value(math.nan) < big or Value(math.nan) > big)


def test_argnums_of_other_kinds_get_clear_errors_and_lists_work():
    f = lambda x, y: x * y  # noqa: E731
    assert grad(f, argnums=[0, 1])(2.0, 3.0) == (3.0, 2.0)
    for bad in (1.0, None, "0", (0, 1.5)):
        with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
            grad(f, argnums=bad)


def test_error_messages_format_values_inside_nested_grads():
    # The message used to crash formatting a Value ("unsupported format string").
    with pytest.raises(ValueError, match=r"0\.0 \*\* 0\.5"):
        grad(grad(lambda x: x ** 0.5))(0.0)
    with pytest.raises(ValueError, match="pow"):
        grad(grad(lambda x, y: x ** y, argnums=1))(0.0, 0.0)


def test_relu_keeps_nan_as_pytorch_and_micrograd_do():
    y = Value(float("nan")).relu()
    assert math.isnan(y.data)
    x = Value(float("nan"))
    z = x.relu() * 2
    z.backward()
    assert math.isnan(z.data)


# --- changing .data after recording -------------------------------------------------------------


def test_backward_after_data_changed_raises_and_says_what_changed():
    x = Value(2.0, label="x")
    y = x * x
    y.label = "y"
    x.data = 10.0
    with pytest.raises(RuntimeError, match=r"'x' had its \.data changed \(to 10\.0\)"):
        y.backward()
    assert x.grad == 0.0 and y.grad == 0.0
    with pytest.raises(RuntimeError, match="changed"):
        explain(y)
    # a fresh forward pass at the new point gives the new gradient
    y = x * x
    y.backward()
    assert x.grad == 20.0


def test_an_interior_node_written_by_hand_is_caught_too():
    x = Value(3.0)
    h = x.tanh()
    y = h * h
    h.data = 0.5
    with pytest.raises(RuntimeError, match="changed"):
        y.backward()


def test_the_training_loop_pattern_is_not_disturbed():
    model = MLP(2, [4, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        loss = mse([model([1.0, -1.0]), model([0.5, 2.0])], [1.0, 0.0])
        opt.zero_grad()
        loss.backward()
        opt.step()  # writes .data after backward: the next forward builds a new graph
    graph = model([1.0, 2.0])
    model.parameters()[0].data += 1.0  # written after this graph was recorded
    with pytest.raises(RuntimeError, match="layers.0.neurons.0.w.0"):
        graph.backward()


def test_grad_and_value_and_grad_see_changed_data_too():
    x = Value(2.0, label="x")
    y = x * x
    x.data = 3.0
    with pytest.raises(RuntimeError, match="changed"):
        value_and_grad(lambda t: y * t)(1.0)


# --- pickling and deep copies ------------------------------------------------------------------


def _chain(depth):
    x = Value(0.5, label="x")
    y = x
    for _ in range(depth):
        y = y * 1.0000001 + 1e-9
    return x, y


@pytest.mark.parametrize("clone", ["pickle", "deepcopy"])
def test_a_deep_graph_copies_without_recursion_and_is_independent(clone):
    x, y = _chain(50_000)  # 100,001 nodes, far past the recursion limit
    assert 100_000 > sys.getrecursionlimit()
    y.backward()
    y2 = pickle.loads(pickle.dumps(y)) if clone == "pickle" else copy.deepcopy(y)
    assert y2 is not y and y2.data == y.data and y2.grad == y.grad
    assert y2.op == "+" and y2.parents[0].op == "*"
    leaf = y2
    while leaf.parents:
        leaf = leaf.parents[0]
    assert leaf.label == "x" and leaf is not x and leaf.grad == x.grad
    y2.zero_grad()
    y2.backward()
    assert leaf.grad == x.grad  # the same gradient, computed on the copy
    y2.backward()
    assert leaf.grad == 2 * x.grad and y.grad == 1.0  # the original is untouched


def test_copies_keep_data_grad_label_op_and_shared_nodes():
    a = Value(1.5, label="a")
    b = a.tanh()
    c = b * b + a
    c.label = "c"
    c.backward()
    for clone in (lambda v: pickle.loads(pickle.dumps(v)), copy.deepcopy):
        c2 = clone(c)
        assert (c2.data, c2.grad, c2.label, c2.op) == (c.data, c.grad, c.label, c.op)
        mul, a2 = c2.parents
        assert mul.parents[0] is mul.parents[1]  # b * b: one node, still shared
        assert mul.parents[0].parents[0] is a2 and a2.label == "a"
        # a list holding both a graph and one of its leaves keeps them together
        both = clone([c, a])
        assert both[0].parents[1] is both[1]


def test_a_closure_node_copies_with_its_local_derivatives():
    x = Value(0.7, label="x")
    out = Value(x.data**3, (x,), "cube")

    def _backward():
        x.grad += 3 * x.data**2 * out.grad

    out._backward = _backward
    for clone in (lambda v: pickle.loads(pickle.dumps(v)), copy.deepcopy):
        out2 = clone(out)
        out2.backward()
        assert out2.parents[0].grad == pytest.approx(3 * 0.49)
        assert x.grad == 0.0  # the copy never calls the original's closure


def test_modules_pickle_and_deepcopy_and_a_copy_trains_alone():
    model = MLP(3, [4, 4, 1], seed=1)
    x = [0.5, -1.0, 2.0]
    for clone in (lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy):
        best = clone(model)
        assert best(x).data == model(x).data
        assert [p.label for p in best.parameters()] == [p.label for p in model.parameters()]
        before = [p.data for p in model.parameters()]
        opt = SGD(best.parameters(), lr=0.1)
        loss = mse(best(x), 1.0)
        loss.backward()
        opt.step()
        assert [p.data for p in model.parameters()] == before
        assert all(p.grad == 0.0 for p in model.parameters())
        assert best(x).data != model(x).data


def test_model_and_optimizer_copied_together_share_their_parameters():
    model = MLP(2, [3, 1], seed=2)
    opt = SGD(model.parameters(), lr=0.5)
    model2, opt2 = copy.deepcopy((model, opt))
    loss = mse(model2([1.0, 2.0]), 0.0)
    loss.backward()
    opt2.step()
    assert model2([1.0, 2.0]).data != model([1.0, 2.0]).data
    model3, params3 = pickle.loads(pickle.dumps((model, model.parameters())))
    assert all(p is q for p, q in zip(model3.parameters(), params3))


# --- threads -------------------------------------------------------------------------------------


def _after(barrier, fn):
    barrier.wait()
    fn()


@pytest.fixture
def racy():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so races show
    yield
    sys.setswitchinterval(before)


def test_concurrent_backward_passes_through_a_shared_parameter_add_what_serial_ones_do(racy):
    w = Value(0.7, label="w")
    xs = [Value(0.1 * k) for k in range(200)]

    def loss_a():
        return sum(((w * x).tanh() * x for x in xs), Value(0.0))

    def loss_b():
        return sum(((w + x).sigmoid() * w for x in xs), Value(0.0))

    la, lb = loss_a(), loss_b()
    la.backward()
    lb.backward()
    serial = w.grad
    wrong = 0
    for _ in range(20):
        la, lb = loss_a(), loss_b()
        w.grad = 0.0
        start = threading.Barrier(2)

        threads = [threading.Thread(target=_after, args=(start, loss.backward))
                   for loss in (la, lb)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        wrong += w.grad != serial
    assert wrong == 0


def test_a_shared_model_backpropagated_from_four_threads_matches_serial(racy):
    model = MLP(2, [8, 8, 1], seed=3)
    data = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]
    losses = [mse([model(x) for x in data], [1.0, -1.0, 0.5]) for _ in range(4)]
    losses[0].backward()
    once = [p.grad for p in model.parameters()]
    model.zero_grad()
    for _ in range(5):
        start = threading.Barrier(4)

        threads = [threading.Thread(target=_after, args=(start, loss.backward))
                   for loss in losses]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        # four equal passes: 0 + g + g + g + g, the same in any order
        expected = [((g + g) + g) + g for g in once]
        assert [p.grad for p in model.parameters()] == expected
        model.zero_grad()


def test_copies_and_manual_steps_of_a_stale_graph_are_refused_too():
    x, w = Value(2.0, label="x"), Value(1.0, label="w")
    y = x * w
    w.data = 5.0
    for clone in (copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))):
        with pytest.raises(RuntimeError, match="'w' had its .data changed"):
            clone(y)
    y.grad = 1.0
    with pytest.raises(RuntimeError, match="'w' had its .data changed"):
        y._backward()
    assert x.grad == 0.0
