"""Sanity checks in the spirit of micrograd's own tests: mixed `+ * ** / relu` expressions with
reused nodes, checked against sympy (the same Python function runs on sympy symbols) and
against derivatives worked out by hand."""

import pytest

from autograd import Value, grad

sympy = pytest.importorskip("sympy")


def tangle(a, b, relu):
    """Written once, run on Values and on sympy symbols: `s`, `t` and `a` are used repeatedly."""
    s = a * b + a
    t = relu(s) * 2 + b ** 2
    u = t * s - relu(3 * a - t) + (-b)
    v = (u + t) ** 2 / (1 + b * b)
    w = relu(v - 2.0 * s) + 10.0 / (v + 1)
    return w * t + s ** 3


def sym_relu(e):
    return sympy.Max(0, e)


@pytest.mark.parametrize("a, b", [(-1.5, 2.25), (0.75, -1.25), (2.0, 0.5), (-0.3, -0.8)])
def test_tangle_against_sympy(a, b):
    A, B = sympy.symbols("a b", real=True)
    exact = tangle(A, B, sym_relu)
    at = {A: sympy.Float(a, 40), B: sympy.Float(b, 40)}
    x, y = Value(a), Value(b)
    out = tangle(x, y, Value.relu)
    out.backward()
    for got, want in [(out.data, exact), (x.grad, exact.diff(A)), (y.grad, exact.diff(B))]:
        want = float(want.subs(at).evalf(30))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    hessian = [[grad(grad(lambda p, q: tangle(p, q, Value.relu), i), j)(a, b) for j in (0, 1)]
               for i in (0, 1)]
    for i, P in enumerate((A, B)):
        for j, Q in enumerate((A, B)):
            want = float(exact.diff(P).diff(Q).subs(at).evalf(30))
            assert hessian[i][j] == pytest.approx(want, rel=1e-10, abs=1e-10), (i, j)


def test_a_node_reused_many_times_by_hand():
    x = Value(3.0)
    s = x * x  # interior node used three times
    y = s + s * 3.0 + (s + x).relu()
    y.backward()
    # y = 5 x^2 + x (relu active): dy/dx = 10x + 1; dy/ds = 1 + 3 + 1
    assert y.data == 5 * 9 + 3
    assert x.grad == 31.0
    assert s.grad == 5.0


def test_micrograd_style_neuron_by_hand():
    x1, x2, w1, w2, b = (Value(v) for v in (2.0, 0.0, -3.0, 1.0, 6.8813735870195432))
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.backward()
    # o = tanh(n), n = 0.8813...: o = 1/sqrt(2), do/dn = 1 - o^2 = 0.5
    assert o.data == pytest.approx(2 ** -0.5, rel=1e-12)
    assert n.grad == pytest.approx(0.5, rel=1e-12)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0), rel=1e-12)


def test_relu_chain_with_a_dead_branch():
    x = Value(-2.0)
    off, on = x * 3, x * -1
    y = off.relu() + on.relu() ** 2
    y.backward()
    # first relu is off; second: (-x)^2, derivative 2x = -4
    assert y.data == 4.0
    assert x.grad == -4.0
    assert off.grad == 0.0 and on.grad == 4.0
