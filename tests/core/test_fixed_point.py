"""fixed_point: recurrent backpropagation (forward relaxation, then the error relaxation
`u <- g + J^T u`) against PyTorch through the unrolled iteration, central differences and
closed forms; its errors, its graph size and its statistics."""

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import FixedPointError, Value, dot, fixed_point, grad, no_grad
from autograd.engine import topological_order
from autograd.testing import check_grads

# --- contractive networks: x = tanh(W x + U p + b), |W| scaled so that the map contracts -------


@dataclass
class Net:
    n: int  # state size
    m: int  # input size
    W: list  # n * n, row by row
    U: list  # n * m, row by row
    b: list
    p: list  # the input
    c: list  # a readout, for a scalar loss
    drive_outside: bool  # U p + b recorded before fixed_point (as nn.SettlingLayer does)
    unroll: int  # steps that converge the unrolled iteration to rounding


@st.composite
def contractive_networks(draw):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    unit = st.floats(-1, 1, allow_nan=False)
    rows = [draw(st.lists(unit, min_size=n, max_size=n)) for _ in range(n)]
    contraction = draw(st.floats(0.05, 0.85))
    norm = max(sum(abs(w) for w in row) for row in rows)
    scale = contraction / norm if norm > 1e-9 else 0.0
    wide = st.floats(-2, 2, allow_nan=False)
    return Net(
        n, m,
        W=[w * scale for row in rows for w in row],
        U=draw(st.lists(wide, min_size=n * m, max_size=n * m)),
        b=draw(st.lists(wide, min_size=n, max_size=n)),
        p=draw(st.lists(wide, min_size=m, max_size=m)),
        c=draw(st.lists(unit, min_size=n, max_size=n)),
        drive_outside=draw(st.booleans()),
        unroll=math.ceil(math.log(1e-19) / math.log(max(contraction, 0.05))),
    )


def settle(net, W, U, b, p, *, tol=1e-13):
    """The loss `c . x + |x|^2 / 2` at the network's fixed point x, by recurrent backpropagation."""
    n, m = net.n, net.m

    def drive(i):
        return dot(U[i * m : (i + 1) * m], p) + b[i]

    outside = [drive(i) for i in range(n)] if net.drive_outside else None

    def f(x):
        return [
            (dot(W[i * n : (i + 1) * n], x) + (outside[i] if outside else drive(i))).tanh()
            for i in range(n)
        ]

    x = fixed_point(f, [0.0] * n, tol=tol, max_iter=5000)
    return dot(net.c, x) + sum(xi * xi for xi in x) / 2, x


def torch_unrolled(torch, net, W, U, b, p):
    """The same loss in PyTorch, through `net.unroll` recorded steps from zero."""
    W, U = W.reshape(net.n, net.n), U.reshape(net.n, net.m)
    x = torch.zeros(net.n, dtype=torch.float64)
    for _ in range(net.unroll):
        x = torch.tanh(W @ x + U @ p + b)
    c = torch.tensor(net.c, dtype=torch.float64)
    return c @ x + (x * x).sum() / 2


@settings(max_examples=40)
@given(contractive_networks())
def test_gradients_match_torch_through_the_unrolled_iteration(net):
    torch = pytest.importorskip("torch")
    params = [[Value(v) for v in vs] for vs in (net.W, net.U, net.b, net.p)]
    loss, _ = settle(net, *params)
    loss.backward()
    ts = [torch.tensor(vs, dtype=torch.float64, requires_grad=True)
          for vs in (net.W, net.U, net.b, net.p)]
    reference = torch_unrolled(torch, net, *ts)
    reference.backward()
    assert loss.data == pytest.approx(reference.item(), rel=1e-11, abs=1e-11)
    for name, ours, theirs in zip("WUbp", params, ts):
        for k, (v, g) in enumerate(zip(ours, theirs.grad.tolist())):
            assert v.grad == pytest.approx(g, rel=1e-8, abs=1e-9), f"d loss / d {name}[{k}]"


def scaled(net):
    """The loss as a function of three numbers: the scale of W, of the input, a bias shift."""
    def loss(s, a, beta):
        W = [w * s for w in net.W]
        p = [v * a for v in net.p]
        b = [v + beta for v in net.b]
        return settle(net, W, net.U, b, p)[0]
    return loss


@settings(max_examples=15)
@given(contractive_networks())
def test_second_derivatives_match_torch(net):
    torch = pytest.importorskip("torch")
    args = [0.9, 1.1, -0.2]
    loss = scaled(net)
    t = torch.tensor(args, dtype=torch.float64, requires_grad=True)
    W, p, b = (torch.tensor(vs, dtype=torch.float64) for vs in (net.W, net.p, net.b))
    U = torch.tensor(net.U, dtype=torch.float64)
    reference = torch_unrolled(torch, net, W * t[0], U, b + t[2], p * t[1])
    (first,) = torch.autograd.grad(reference, t, create_graph=True)
    for i in range(3):
        (row,) = torch.autograd.grad(first[i], t, retain_graph=True)
        for j in range(3):
            ours = grad(grad(loss, i), j)(*args)
            assert ours == pytest.approx(row[j].item(), rel=1e-7, abs=1e-8), (i, j)


@settings(max_examples=15)
@given(contractive_networks())
def test_gradients_match_central_differences_to_second_order(net):
    # The relaxations settle to tol=1e-13 (absolute), and the derivatives are that accurate:
    # check_grads, which otherwise allows for rounding only, is told so.
    check_grads(scaled(net), 0.9, 1.1, -0.2, order=2, atol=1e-11)


def test_third_order_matches_central_differences():
    def loss(w, a):
        x = fixed_point(lambda x: [0.5 * (w * x[0]).tanh() + a], [0.0], tol=1e-14)[0]
        return x * x

    check_grads(loss, 1.3, 0.4, order=3)


# --- closed forms ------------------------------------------------------------------------------


def solve(A, y):
    """A^-1 y by Gaussian elimination with partial pivoting (A small and well conditioned)."""
    n = len(A)
    rows = [list(r) + [v] for r, v in zip(A, y)]
    for k in range(n):
        pivot = max(range(k, n), key=lambda i: abs(rows[i][k]))
        rows[k], rows[pivot] = rows[pivot], rows[k]
        for i in range(k + 1, n):
            factor = rows[i][k] / rows[k][k]
            rows[i] = [a - factor * b for a, b in zip(rows[i], rows[k])]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (rows[i][n] - sum(rows[i][j] * x[j] for j in range(i + 1, n))) / rows[i][i]
    return x


M_AFFINE = [[0.3, -0.2, 0.1], [0.25, 0.1, -0.3], [-0.1, 0.35, 0.2]]
B_AFFINE = [1.0, -2.0, 0.5]
C_AFFINE = [0.7, -0.4, 1.3]


def test_affine_map_value_and_gradients_are_the_closed_form():
    M = [[Value(v) for v in row] for row in M_AFFINE]
    b = [Value(v) for v in B_AFFINE]
    x = fixed_point(lambda x: [dot(M[i], x) + b[i] for i in range(3)], [0.0] * 3, tol=1e-14)
    loss = dot(C_AFFINE, x)
    loss.backward()
    eye_minus_m = [[(i == j) - M_AFFINE[i][j] for j in range(3)] for i in range(3)]
    expected_x = solve(eye_minus_m, B_AFFINE)  # (I - M)^-1 b
    transposed = [list(col) for col in zip(*eye_minus_m)]
    u = solve(transposed, C_AFFINE)  # (I - M)^-T c: d loss / d b
    for i in range(3):
        assert x[i].data == pytest.approx(expected_x[i], rel=1e-12)
        assert b[i].grad == pytest.approx(u[i], rel=1e-12)
        for j in range(3):  # d loss / d M_ij = u_i x_j
            assert M[i][j].grad == pytest.approx(u[i] * expected_x[j], rel=1e-11)


@pytest.mark.parametrize("a", [0.5, 2.0, 4.0, 10.0])
def test_newton_square_root_to_third_order(a):
    def root(a):
        return fixed_point(lambda x: [(x[0] + a / x[0]) / 2], [1.0])[0]

    assert root(Value(a)).data == pytest.approx(math.sqrt(a), rel=1e-15)
    assert grad(root)(a) == pytest.approx(0.5 * a**-0.5, rel=1e-12)
    assert grad(grad(root))(a) == pytest.approx(-0.25 * a**-1.5, rel=1e-10)
    assert grad(grad(grad(root)))(a) == pytest.approx(0.375 * a**-2.5, rel=1e-9)


# --- maps that do not settle -------------------------------------------------------------------


def test_logistic_map_in_chaos_raises_naming_iterations_and_last_change():
    r = Value(3.95)
    with pytest.raises(FixedPointError, match=r"forward iteration did not settle in 300 "
                                              r"iterations \(last change [\d.e-]+, tol 1e-10\)"):
        fixed_point(lambda x: [r * x[0] * (1 - x[0])], [0.3], max_iter=300)
    assert issubclass(FixedPointError, ArithmeticError)
    # below r = 3 the same map settles, at 1 - 1/r
    r.data = 2.5
    assert fixed_point(lambda x: [r * x[0] * (1 - x[0])], [0.3])[0].data == pytest.approx(0.6)


def test_divergent_map_raises_naming_the_iteration_and_change():
    with pytest.raises(FixedPointError, match=r"diverged \(change inf at iteration \d+\)"):
        fixed_point(lambda x: [x[0] * x[0] + 1], [2.0])


def test_a_nan_never_settles():
    nan = Value(math.nan)
    with pytest.raises(FixedPointError, match=r"change nan at iteration 1"):
        fixed_point(lambda x: [x[0] * 0.5 + 1, x[1] * 0.5 + nan], [0.0, 0.0])


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (2.0, r"adjoint iteration did not settle in 1000 iterations"),  # an unstable fixed point
        (0.99, r"adjoint iteration did not settle in 50 iterations"),  # too slow for max_iter
    ],
)
def test_an_adjoint_that_does_not_settle_raises_and_adds_nothing(rate, message):
    # x <- rate x + (1 - rate) a has the fixed point a; started there, the forward is done at
    # once, while the error relaxation u <- g + rate u needs many steps or diverges.
    a, w, v = Value(4.0, label="a"), Value(3.0, label="w"), Value(-1.0, label="v")
    v.grad = 5.0  # a gradient left by an earlier pass stays as it was
    x = fixed_point(lambda x: [rate * x[0] + (1 - rate) * a], [4.0],
                    max_iter=1000 if rate > 1 else 50)
    assert x.forward.iterations == 1
    loss = x[0] * w + w * v
    with pytest.raises(FixedPointError, match=message):
        loss.backward()
    assert (a.grad, w.grad, v.grad, x[0].grad, loss.grad) == (0.0, 0.0, 5.0, 0.0, 0.0)
    with pytest.raises(FixedPointError, match=message):
        grad(lambda a: fixed_point(lambda x: [rate * x[0] + (1 - rate) * a], [4.0],
                                   max_iter=1000 if rate > 1 else 50)[0])(4.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fixed_point(lambda x: x, [1.0], tol=0), "tol must be a positive number"),
        (lambda: fixed_point(lambda x: x, [1.0], max_iter=0), "max_iter must be a positive int"),
        (lambda: fixed_point(lambda x: x, []), "x0 is empty"),
        (lambda: fixed_point(lambda x: [x[0], x[0]], [1.0]), "f returned 2 values for a state"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# --- the graph, the statistics -----------------------------------------------------------------


def contraction_loss(tol):
    w, a = Value(0.6, label="w"), Value(0.3, label="a")
    x = fixed_point(lambda x: [(w * x[0] + a).tanh(), (w * x[1] - a * x[0]).tanh()],
                    [0.0, 0.0], tol=tol)
    return x[0] * x[1] + x[1], x


def test_the_recorded_graph_does_not_grow_with_the_iterations():
    loose, x_loose = contraction_loss(1e-3)
    tight, x_tight = contraction_loss(1e-13)
    assert x_tight.forward.iterations > 3 * x_loose.forward.iterations
    assert len(topological_order(loose)) == len(topological_order(tight))
    loose.backward()
    tight.backward()
    assert x_tight.adjoint.iterations > 3 * x_loose.adjoint.iterations


def test_backward_under_no_grad_still_reaches_the_operands():
    a = Value(4.0)
    x = fixed_point(lambda x: [(x[0] + a / x[0]) / 2], [1.0])
    with no_grad():
        x[0].backward()
    assert a.grad == pytest.approx(0.25, rel=1e-12)


def test_statistics_of_both_relaxations():
    m, c = Value(0.5, label="m"), Value(1.0, label="c")
    x = fixed_point(lambda x: [m * x[0] + c], [0.0], tol=1e-12, trace=True)
    fwd = x.forward
    # the change halves at every step, from 1 at step 1, and is measured relative to |x| -> 2:
    # 2^-k at step k, first under 1e-12 at k = 40
    assert fwd.iterations == 40 and fwd.residual <= 1e-12
    assert fwd.spectral_radius == pytest.approx(0.5, rel=1e-9)
    assert len(fwd.trace) == fwd.iterations + 1
    assert fwd.trace[0] == [0.0] and fwd.trace[1] == [1.0] and fwd.trace[-1][0] == x[0].data
    assert x.adjoint is None
    (3 * x[0]).backward()
    adj = x.adjoint
    # u <- 3 + u / 2, solved as u / 4 (the upstream 3 scaled to under 1): changes 0.375 2^(1-k)
    # relative to |u / 4| -> 1.5, 2^-(k+1) at step k, first under 1e-12 at k = 39
    assert adj.iterations == 39 and adj.residual <= 1e-12
    assert adj.spectral_radius == pytest.approx(0.5, rel=1e-9)
    assert adj.trace[0] == [3.0] and adj.trace[-1][0] == pytest.approx(6.0, rel=1e-12)
    # each relaxation stops with a relative error of about its last change (rate 1/2): x and u
    # are each within 1e-12 of 2 and 6, relatively, and their product within twice that
    assert m.grad == pytest.approx(6.0 * 2.0, rel=2.5e-12) and c.grad == pytest.approx(6.0)


def test_a_map_of_nothing_outside_is_a_constant():
    x = fixed_point(lambda x: [x[0] * 0.5 + 1], [0.0])
    assert x[0].data == pytest.approx(2.0) and not x[0].parents


def test_graphs_through_fixed_point_and_custom_vjp_free_without_the_cycle_collector():
    import gc

    from autograd import custom_vjp

    w = Value(0.5, label="w")
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            x = fixed_point(lambda x: [(w * x[0] + 0.3).tanh()], [0.0])
            y = x[0] * 2
            y.backward()
            a = Value(2.0)
            s, p = custom_vjp("sp", [a, w], [a.data + w.data, a.data * w.data],
                              lambda g, a=a.data: [g[0] + g[1] * w.data, g[0] + g[1] * a])
            (s * p).backward()
            del x, y, a, s, p
        assert gc.collect() == 0  # nothing was left for the cycle collector
    finally:
        gc.enable()


def test_frames_and_manual_steps_through_a_fixed_point():
    from autograd import backward_frames

    w, b = Value(0.5, label="w"), Value(0.3, label="b")
    y = fixed_point(lambda x: [(w * x[0] + b).tanh()], [0.0])[0] * 2
    y.label = "y"
    frames = backward_frames(y)
    y.backward()
    last = frames[-1].source
    assert f"{w.grad:.4f}" in last and f"{b.grad:.4f}" in last and "nan" not in last
    group = y.parents[0].parents[0]
    with pytest.raises(RuntimeError, match="several outputs"):
        group._backward()


def test_f_must_return_a_list():
    with pytest.raises(TypeError, match="list of Values, got dict"):
        fixed_point(lambda x: {"a": x[0]}, [0.0])


# --- a relative criterion: the same digits at every scale ---------------------------------------


def tanh_root_gradient(scale):
    """d (scale * x*) / d a / scale at the fixed point x* = tanh(w x* + a), by fixed_point, and
    the implicit function theorem's closed form at the x* found: (1 - x*^2) / (1 - w (1 - x*^2))."""
    a, w = Value(0.3), Value(0.6)
    x = fixed_point(lambda x: [(w * x[0] + a).tanh()], [0.0])
    (scale * x[0]).backward()
    s = 1 - x[0].data ** 2
    return a.grad / scale, s / (1 - 0.6 * s)


@pytest.mark.parametrize("scale", [1e-8, 1e-10, 1e-12, 1e8])
def test_a_scaled_loss_gets_a_gradient_as_exact_as_at_scale_one(scale):
    # An absolute criterion stopped the adjoint after a few steps for a tiny loss (1e-10: 17%
    # too small) and never settled at the rounding floor of a large one.
    at_one, exact = tanh_root_gradient(1.0)
    got, _ = tanh_root_gradient(scale)
    assert at_one == pytest.approx(exact, rel=1e-9)
    assert got == pytest.approx(at_one, rel=1e-14)


@pytest.mark.parametrize("scale", [1e-10, 1e8])
def test_nested_grad_of_a_scaled_loss_is_as_exact_as_at_scale_one(scale):
    def loss(a, s):
        return s * fixed_point(lambda x: [(0.6 * x[0] + a).tanh()], [0.0], tol=1e-14)[0]

    first = grad(loss)(0.3, scale) / scale
    second = grad(grad(loss))(0.3, scale) / scale
    assert first == pytest.approx(grad(loss)(0.3, 1.0), rel=1e-13)
    assert second == pytest.approx(grad(grad(loss))(0.3, 1.0), rel=1e-12)


# a 2-d linear map whose iterates, started far away, cycle at the rounding floor instead of
# settling exactly: x = C x + d, so x* = (I - C)^-1 d and d (c . x*) / d d = (I - C)^-T c
C_FLOOR = [[-0.23, 0.21], [-0.34, -0.25]]


def linear_floor(d, c):
    ds = [Value(v) for v in d]
    x = fixed_point(lambda x: [dot(C_FLOOR[i], x) + ds[i] for i in range(2)], [0.0, 0.0])
    dot(c, x).backward()
    eye_minus_c = [[(i == j) - C_FLOOR[i][j] for j in range(2)] for i in range(2)]
    expected_x = solve(eye_minus_c, d)
    expected_grad = solve([list(col) for col in zip(*eye_minus_c)], c)
    return [v.data for v in x], expected_x, [v.grad for v in ds], expected_grad


def test_an_upstream_gradient_of_1e8_settles():
    x, expected_x, got, expected = linear_floor([0.4, -0.3], [1e8, 0.0])
    assert x == pytest.approx(expected_x, rel=1e-9)
    assert got == pytest.approx(expected, rel=1e-9)


def test_a_state_around_1e7_settles():
    x, expected_x, got, expected = linear_floor([1.7e7, -1.1e7], [1.0, 1.0])
    assert x == pytest.approx(expected_x, rel=1e-9)
    assert got == pytest.approx(expected, rel=1e-9)


def in_place(a):
    def f(x):  # the iteration written as an update of the state
        x[0] = 0.5 * x[0] + a * a
        x[1] = (0.3 * x[1] + x[0]).tanh()
        return x

    return f


def functional(a):
    def f(x):
        y0 = 0.5 * x[0] + a * a
        return [y0, (0.3 * x[1] + y0).tanh()]

    return f


@pytest.mark.parametrize("which", [0, 1])
def test_a_map_that_updates_its_state_in_place_gets_the_functional_forms_gradient(which):
    def loss(make, a):
        return fixed_point(make(a), [0.0, 0.0], tol=1e-14)[which]

    for order in (grad, lambda f: grad(grad(f))):
        got = order(lambda a: loss(in_place, a))(0.7)
        expected = order(lambda a: loss(functional, a))(0.7)
        assert got == expected != 0.0
    a = Value(0.7)
    loss(in_place, a).backward()
    # x0* = 2 a^2: d x0* / d a = 4 a (closed form, independent of either map)
    if which == 0:
        assert a.grad == pytest.approx(4 * 0.7, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tol": True}, TypeError, "tol must be a positive number, got bool"),
        ({"tol": "1e-3"}, TypeError, "tol must be a positive number, got str"),
        ({"tol": 1j}, TypeError, "tol must be a positive number, got complex"),
        ({"tol": math.nan}, ValueError, "tol must be a positive number, got nan"),
        ({"tol": math.inf}, ValueError, "tol must be a positive number, got inf"),
        ({"tol": -1e-3}, ValueError, "tol must be a positive number"),
        ({"max_iter": True}, TypeError, "max_iter must be a positive int, got bool"),
        ({"max_iter": 10.0}, TypeError, "max_iter must be a positive int, got float"),
        ({"max_iter": -5}, ValueError, "max_iter must be a positive int, got -5"),
    ],
)
def test_tol_and_max_iter_refuse_what_is_not_a_positive_number(kwargs, error, message):
    with pytest.raises(error, match=message):
        fixed_point(lambda x: [0.5 * x[0] + 1], [0.0], **kwargs)


def test_numpy_numbers_are_a_tol_and_a_max_iter():
    np = pytest.importorskip("numpy")
    x = fixed_point(lambda x: [0.5 * x[0] + 1], [0.0], tol=np.float32(1e-6), max_iter=np.int64(99))
    assert x[0].data == pytest.approx(2.0, abs=1e-5)
