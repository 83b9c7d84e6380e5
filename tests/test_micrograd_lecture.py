"""Code written for micrograd runs here with only its imports changed: micrograd's own test
file, and the cells of the widely followed lecture that builds micrograd step by step (labels
and the constructor with children, stepping `_backward()` by hand, a topological sort written
over `_prev`, an op written as a `_backward` closure)."""

import math
import random

import pytest

from autograd import Value, draw_dot, explain, grad, text_tree
from autograd.testing import check_grads

# --- micrograd's test_engine.py, against PyTorch ------------------------------------------------


def _micrograd_sanity(V):
    x = V(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    return x, y


def _micrograd_more_ops(V):
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return a, b, g


def test_micrograd_more_ops_gives_its_readme_numbers():
    a, b, g = _micrograd_more_ops(Value)
    g.backward()
    # micrograd's README example: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773
    assert round(g.data, 4) == 24.7041
    assert round(a.grad, 4) == 138.8338
    assert round(b.grad, 4) == 645.5773
    assert {p for p in g._prev} <= set(g.parents) and g._op == g.op


def test_micrograd_sanity_check_against_torch():
    torch = pytest.importorskip("torch")
    xmg, ymg = _micrograd_sanity(Value)
    ymg.backward()

    def tensor(v):
        t = torch.tensor([v], dtype=torch.float64)
        t.requires_grad = True
        return t

    xpt, ypt = _micrograd_sanity(tensor)
    ypt.backward()
    assert ymg.data == ypt.data.item()
    assert xmg.grad == xpt.grad.item()


def test_micrograd_more_ops_against_torch():
    torch = pytest.importorskip("torch")
    amg, bmg, gmg = _micrograd_more_ops(Value)
    gmg.backward()

    def tensor(v):
        return torch.tensor([v], dtype=torch.float64, requires_grad=True)

    apt, bpt, gpt = _micrograd_more_ops(tensor)
    gpt.backward()
    tol = 1e-6
    assert abs(gmg.data - gpt.data.item()) < tol
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol


# --- the lecture's cells -----------------------------------------------------------------------


def _expression():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return a, b, c, e, d, f, L


def test_the_constructor_takes_children_and_an_op_as_micrograd_does():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = Value(a.data + b.data, (a, b), "+")
    assert c.data == -1.0 and c.label == "" and c._op == "+" and c.op == "+"
    assert c._prev == {a, b} and c.parents == (a, b)
    d = Value(5.0, label="d")
    assert d._prev == set() and d._op == ""
    with pytest.raises(TypeError, match="label"):
        Value(1.0, "x")  # the old positional label: now the children's place, said clearly


def test_lecture_expression_reads_back_through_prev_and_op():
    a, b, c, e, d, f, L = _expression()
    assert L.data == -8.0
    assert L._op == "*" and L._prev == {d, f}
    assert d._op == "+" and d._prev == {e, c}
    assert e._op == "*" and e._prev == {a, b}
    assert repr(L) == "Value(data=-8.0, grad=0.0, label='L', op='*')"
    assert "L" in draw_dot(L).source


def test_lecture_manual_backward_step_by_step():
    a, b, c, e, d, f, L = _expression()
    L.grad = 1.0
    L._backward()
    assert (d.grad, f.grad) == (-2.0, 4.0)
    d._backward()
    assert (e.grad, c.grad) == (-2.0, -2.0)
    e._backward()
    assert (a.grad, b.grad) == (6.0, -4.0)
    f._backward()  # a leaf's step does nothing
    a._backward()
    assert (a.grad, b.grad, f.grad) == (6.0, -4.0, 4.0)


def test_lecture_numerical_check_by_nudging_data():
    def lol(h_a):
        a, b, c, e, d, f, L = _expression()
        a.data += h_a
        e = a * b
        d = e + c
        return (d * f).data

    h = 0.0001
    slope = (lol(h) - lol(0.0)) / h
    a, b, c, e, d, f, L = _expression()
    L.backward()
    assert a.grad == 6.0 and abs(slope - 6.0) < 1e-6


def _neuron():
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o)


def test_lecture_neuron_stepped_node_by_node():
    x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o = _neuron()
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()
    x1w1x2w2._backward()
    x2w2._backward()
    x1w1._backward()
    assert n.grad == pytest.approx(0.5) and b.grad == pytest.approx(0.5)
    assert x1.grad == pytest.approx(-1.5) and w1.grad == pytest.approx(1.0)
    assert x2.grad == pytest.approx(0.5) and w2.grad == 0.0
    # the same numbers as backward() on a fresh copy
    fresh = _neuron()
    fresh[-1].backward()
    assert [v.grad for v in fresh] == [v.grad for v in (x1, x2, w1, w2, b, x1w1, x2w2,
                                                         x1w1x2w2, n, o)]


def test_lecture_topological_sort_written_over_prev():
    *_, o = _neuron()
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(o)
    assert len(topo) == 10 and topo[-1] is o
    o.grad = 1.0
    for node in reversed(topo):
        node._backward()
    by_hand = {v.label: v.grad for v in topo}
    *_, o2 = _neuron()
    o2.backward()
    *_, check = _neuron()
    assert by_hand["x1"] == pytest.approx(-1.5)
    assert by_hand == {v.label: v.grad for v in _all(o2)}
    assert check.grad == 0.0


def _all(root):
    seen, stack = {root}, [root]
    while stack:
        for p in stack.pop()._prev:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def test_lecture_a_plus_a_bug_is_fixed():
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    b.backward()
    assert a.grad == 2.0
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)


def test_lecture_tanh_from_exp_and_division():
    x1, x2, w1, w2, b, *_ = _neuron()
    n = x1 * w1 + x2 * w2 + b
    e = (2 * n).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert x1.grad == pytest.approx(-1.5) and w1.grad == pytest.approx(1.0)


class LectureNeuron:
    """The lecture's own nn classes, as users type them."""

    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self):
        return self.w + [self.b]


class LectureLayer:
    def __init__(self, nin, nout):
        self.neurons = [LectureNeuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class LectureMLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [LectureLayer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def test_lecture_training_loop_with_its_own_mlp():
    random.seed(42)
    n = LectureMLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    losses = []
    for _ in range(30):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]
    assert n.layers[0].neurons[0].w[0].grad != 0.0


# --- an op written micrograd's way: a node from the constructor plus a _backward closure -----


def closure_tanh(self):
    x = self.data
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def closure_mul(self, other):
    out = Value(self.data * other.data, (self, other), "mymul")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


def test_closure_op_takes_part_in_backward_beside_built_in_ops():
    x, w = Value(0.8, label="x"), Value(-1.3, label="w")
    y = closure_tanh(closure_mul(x, w) + 0.5) * x
    y.backward()
    x2, w2 = Value(0.8), Value(-1.3)
    z = (x2 * w2 + 0.5).tanh() * x2
    z.backward()
    assert y.data == pytest.approx(z.data, rel=1e-15)
    assert x.grad == pytest.approx(x2.grad, rel=1e-14)
    assert w.grad == pytest.approx(w2.grad, rel=1e-14)
    # backward twice adds the same again, and grad() gives the same first derivative
    y.backward()
    assert x.grad == pytest.approx(2 * x2.grad, rel=1e-14)
    assert grad(lambda x: closure_tanh(closure_mul(x, w) + 0.5) * x)(0.8) == pytest.approx(
        x2.grad, rel=1e-14)


def test_closure_op_is_checked_by_check_grads_and_a_wrong_one_is_caught():
    check_grads(lambda x, w: closure_tanh(closure_mul(x, w)), 0.3, 0.7)

    def wrong_square(self):
        out = Value(self.data**2, (self,), "square")

        def _backward():
            self.grad += 1.97 * self.data * out.grad  # 1.5% off

        out._backward = _backward
        return out

    with pytest.raises(AssertionError):
        check_grads(wrong_square, 1.2)


def test_closure_op_is_shown_by_every_view():
    x, w = Value(0.8, label="x"), Value(-1.3, label="w")
    y = closure_mul(x, w)
    y.label = "y"
    y.backward()
    assert "mymul" in draw_dot(y).source
    assert "y = mymul(x, w)" in text_tree(y)
    text = explain(y)
    assert "mymul" in text and "-1.3000" in text  # the local derivative dy/dx = w


def test_closure_without_backward_passes_no_gradient_as_in_micrograd():
    a = Value(2.0, label="a")
    b = Value(a.data * 3, (a,), "times3")  # the lecture's early cells: no _backward yet
    b.backward()
    assert (a.grad, b.grad) == (0.0, 1.0)


def test_closure_op_refuses_higher_orders_with_a_pointer_to_custom_op():
    with pytest.raises(RuntimeError, match="custom_op"):
        grad(grad(closure_tanh))(0.3)


def test_manual_backward_of_a_built_in_node_adds_into_its_operands():
    a, b = Value(2.0), Value(5.0)
    c = a * b
    c.grad = 3.0
    c._backward()
    assert (a.grad, b.grad) == (15.0, 6.0)
    c._backward()  # micrograd's step adds, like its closures
    assert (a.grad, b.grad) == (30.0, 12.0)


def test_a_closure_on_a_leaf_is_kept_and_numpy_gradients_are_numbers():
    np = pytest.importorskip("numpy")
    leaf = Value(1.0)
    calls = []
    leaf._backward = lambda: calls.append(1)  # micrograd gives every node a _backward
    leaf._backward()
    assert calls == [1]
    x = Value(0.5, label="x")
    out = Value(x.data * 2, (x,), "double")

    def _backward():
        x.grad += np.float32(2.0) * out.grad  # a NumPy number lands in .grad

    out._backward = _backward
    out.backward()
    assert x.grad == 2.0
