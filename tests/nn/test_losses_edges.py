"""nn.losses at the edges: huge, saturated, infinite and nan inputs against PyTorch float64 and
against exact arithmetic, and graphs that do not depend on the numbers they were recorded at."""

import itertools
import math

import mpmath
import pytest

from autograd import Value
from autograd.engine import topological_order
from autograd.ops import OPS
from nn.losses import bce, bce_with_logits, cross_entropy, hinge, mse

inf, nan = math.inf, math.nan


def same(a, b, rel=1e-12, abs_tol=1e-15):
    """Equal as PyTorch results are compared here: nan with nan, inf exactly, else close."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) + abs_tol


# --- cross_entropy: exact, stable, PyTorch's infinities ------------------------------------------


@pytest.mark.parametrize("big", [1e12, 1e16, 1e300, -1e300])
def test_cross_entropy_of_equal_huge_logits_is_exactly_log_2(big):
    logits = [Value(big), Value(big)]
    loss = cross_entropy(logits, 0)
    assert loss.data == math.log(2)
    loss.backward()
    assert [v.grad for v in logits] == [-0.5, 0.5]


def _exact_cross_entropy(row, t):
    with mpmath.workdps(60):
        xs = [mpmath.mpf(x) for x in row]
        return float(mpmath.log(mpmath.fsum(mpmath.exp(x) for x in xs)) - xs[t])


@pytest.mark.parametrize("offset", [0.0, -7.5, 1e3, 1e8, 1e12, 1e15, -1e15])
@pytest.mark.parametrize(
    "spread", [[0.0, 1.0, -2.0], [40.0, 0.0, -3.0], [0.0, 0.5], [-30.0, 10.0, 9.5, 0.0]]
)
def test_cross_entropy_is_exact_to_a_few_ulps(offset, spread):
    row = [offset + s for s in spread]
    for t in range(len(row)):
        exact = _exact_cross_entropy(row, t)
        ours = cross_entropy(row, t).data
        assert abs(ours - exact) <= 4e-16 * abs(exact) + 1e-300, (row, t, ours, exact)


def test_a_confident_right_answer_keeps_its_tiny_loss():
    # log(1 + e^-40): log-sum-exp then minus the target rounds this to 0
    assert cross_entropy([40.0, 0.0], 0).data == pytest.approx(4.248354255291589e-18, rel=1e-15)


@pytest.mark.parametrize(
    ("row", "target", "loss", "grads"),
    [
        ([0.0, -inf], 0, 0.0, [0.0, 0.0]),  # -inf is a masked class
        ([0.0, -inf], 1, inf, [1.0, -1.0]),  # the target is masked: infinite loss
        ([-inf, 0.0, 5.0], 2, math.log1p(math.exp(-5.0)), None),
        ([inf, 0.0], 0, nan, [nan, nan]),  # PyTorch: a +inf logit makes the sample nan
        ([inf, 0.0], 1, nan, [nan, nan]),
        ([inf, inf], 0, nan, [nan, nan]),
        ([-inf, -inf], 0, nan, [nan, nan]),
        ([nan, 0.0], 1, nan, [nan, nan]),
        ([inf], 0, nan, [nan]),
        ([3.0], 0, 0.0, [0.0]),
        ([1e308, -1e308], 1, inf, [1.0, -1.0]),
    ],
)
def test_cross_entropy_infinities_are_pytorchs(row, target, loss, grads):
    logits = [Value(x) for x in row]
    out = cross_entropy(logits, target)  # no error: nan and inf are results, as in PyTorch
    out.backward()
    assert same(out.data, loss)
    if grads is not None:
        assert all(same(v.grad, g) for v, g in zip(logits, grads, strict=True))


CE_ROWS = [
    [1e12, 1e12], [1e16, 1e16], [inf, 0.0], [0.0, -inf], [-inf, -inf], [inf, inf], [nan, 0.0],
    [1000.0, -1000.0], [40.0, 0.0], [0.0, 40.0], [-inf, 0.0, 5.0], [1e308, -1e308],
    [-1e308, 1e308], [-inf], [inf], [3.0], [nan], [0.0, -inf, -inf], [2.0, inf, -inf],
    [1e15 + 1.0, 1e15, 1e15 - 3.0],
]


def test_cross_entropy_matches_torch_at_the_edges():
    torch = pytest.importorskip("torch")
    for row in CE_ROWS:
        for t in range(len(row)):
            logits = [Value(x) for x in row]
            loss = cross_entropy(logits, t)
            loss.backward()
            x = torch.tensor([row], dtype=torch.float64, requires_grad=True)
            theirs = torch.nn.functional.cross_entropy(x, torch.tensor([t]))
            theirs.backward()
            assert same(loss.data, theirs.item()), (row, t, loss.data, theirs.item())
            for v, g in zip(logits, x.grad[0].tolist(), strict=True):
                assert same(v.grad, g), (row, t, [v.grad for v in logits], x.grad.tolist())


# --- bce: PyTorch's clamp and PyTorch's gradient at a saturated probability -----------------------


@pytest.mark.parametrize(
    ("p", "t", "loss", "grad"),
    [
        # PyTorch: (p - t) / max(p (1 - p), eps), eps = 1e-12 held as a float32
        (1.0, 0.5, 50.0, 500000001997.9014),
        (0.0, 0.5, 50.0, -500000001997.9014),
        (1.0, 0.0, 100.0, 1000000003995.8029),
        (0.0, 1.0, 100.0, -1000000003995.8029),
        (1.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
    ],
)
def test_bce_gradient_at_a_saturated_probability_is_pytorchs(p, t, loss, grad):
    prob = Value(p)
    out = bce(prob, t)
    out.backward()
    assert out.data == loss
    assert prob.grad == pytest.approx(grad, rel=1e-15)


@pytest.mark.parametrize("p", [0.0, 1e-300, 1e-20, 1e-13, 1.0 - 1e-16, 1.0])
@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_bce_descent_pulls_a_saturated_probability_back_inside(p, t):
    prob = Value(p)
    bce(prob, t).backward()
    assert prob.grad * (p - t) > 0  # the gradient has the sign of p - t: descent moves p to t


def test_bce_keeps_the_tiny_loss_of_a_tiny_probability():
    # PyTorch takes log1p(-p): the loss of p = 1e-20 for target 0 is 1e-20, not 0
    assert bce(Value(1e-20), 0.0).data == pytest.approx(1e-20, rel=1e-15)


BCE_PROBS = [0.0, -0.0, 1e-300, 1e-50, 1e-13, 1e-12, 1e-11, 0.3, 0.5, 1 - 1e-12, 1 - 1e-16, 1.0]
BCE_TARGETS = [0.0, 0.25, 0.5, 1.0]


def _ours(loss_fn, x, t):
    xv, tv = Value(x), Value(t)
    loss = loss_fn(xv, tv)
    loss.backward()
    return loss.data, xv.grad, tv.grad


def _theirs(torch, loss_fn, x, t):
    xt = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    tt = torch.tensor([t], dtype=torch.float64, requires_grad=True)
    loss = loss_fn(xt, tt)
    loss.backward()
    return loss.item(), xt.grad.item(), tt.grad.item()


def _assert_matches_torch(torch, ours_fn, theirs_fn, xs, ts):
    for x, t in itertools.product(xs, ts):
        ours, theirs = _ours(ours_fn, x, t), _theirs(torch, theirs_fn, x, t)
        assert all(same(a, b) for a, b in zip(ours, theirs, strict=True)), (x, t, ours, theirs)


def test_bce_value_and_both_gradients_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    _assert_matches_torch(torch, bce, F.binary_cross_entropy, BCE_PROBS, BCE_TARGETS)


@pytest.mark.parametrize(
    ("p", "t", "message"),
    [
        (1.5, 0.0, r"bce\(1.5, 0.0\): the probability must lie in \[0, 1\]"),
        (-1e-300, 0.0, "the probability must lie in"),
        (nan, 0.0, "the probability must lie in"),
        (0.5, 2.0, r"targets must lie in \[0, 1\], got 2.0"),
        (0.5, -0.5, "targets must lie in"),
        (0.5, nan, "targets must lie in"),
        (0.5, Value(inf), "targets must lie in"),
    ],
)
def test_bce_refuses_what_pytorch_refuses(p, t, message):
    with pytest.raises(ValueError, match=message):
        bce(Value(p), t)


# --- bce_with_logits, mse, hinge: large, infinite, nan -------------------------------------------

EDGES = [0.0, 1.0, -1.0, 40.0, -40.0, 300.0, -300.0, 800.0, -800.0, 1e308, -1e308, inf, -inf, nan]


def test_bce_with_logits_matches_torch_for_any_logit():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    _assert_matches_torch(
        torch, bce_with_logits, F.binary_cross_entropy_with_logits, EDGES, [0.0, 0.3, 1.0]
    )


def test_bce_with_logits_is_exact_where_the_loss_is_tiny():
    # softplus(-40) = log1p(e^-40): log(1 + e^-40) rounds to 0
    assert bce_with_logits(Value(40.0), 1.0).data == pytest.approx(4.248354255291589e-18, rel=1e-15)


def test_mse_matches_torch_for_huge_and_infinite_values():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    _assert_matches_torch(torch, mse, F.mse_loss, EDGES, [0.0, 1e308, inf, nan])


def test_hinge_matches_torch_for_huge_infinite_and_nan_scores():
    torch = pytest.importorskip("torch")
    for target in (1.0, -1.0):
        def theirs(x, t, k=target):
            return torch.relu(1 - k * x).mean() + 0 * t.sum()

        _assert_matches_torch(torch, lambda s, t, k=target: hinge(s, k), theirs, EDGES, [target])


def test_hinge_of_a_nan_score_is_nan():
    assert math.isnan(hinge(Value(nan), 1).data)


def test_hinge_takes_a_value_target():
    s = Value(0.25)
    assert hinge(s, Value(-1.0)).data == 1.25
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.5"):
        hinge(s, Value(0.5))


# --- no loss decides anything on the numbers: a recorded graph is right for any numbers -----------


def replay(root, leaves, numbers):
    """Run the graph recorded under `root` again with `leaves` set to `numbers`, through the op
    table alone (as a recording replayed on new data would), and return the root's value and
    d root / d leaf for each leaf."""
    nodes = list(reversed(topological_order(root)))  # operands before their results
    data = {node: node.data for node in nodes}
    data.update(zip(leaves, numbers))
    local = {}
    for node in nodes:
        if not node.parents:
            continue
        op = OPS[node.op]
        xs = [data[p] for p in node.parents]
        extra = (node._arg,) if op.has_arg else ()
        if op.arity == 0:
            y = op.forward(xs, *extra)
            local[node] = list(op.derivatives[0](xs, y, *extra))
        else:
            y = op.forward(*xs, *extra)
            local[node] = [d(*xs, y, *extra) for d in op.derivatives]
        data[node] = y
    grads = {root: 1.0}
    for node in reversed(nodes):
        for p, d in zip(node.parents, local.get(node, ())):
            grads[p] = grads.get(p, 0.0) + d * grads.get(node, 0.0)
    return data[root], [grads.get(leaf, 0.0) for leaf in leaves]


def _fresh(loss_fn, numbers):
    leaves = [Value(x) for x in numbers]
    loss = loss_fn(leaves)
    loss.backward()
    return loss.data, [v.grad for v in leaves]


REPLAYS = [
    # (loss of the leaves, numbers to record at, numbers to replay at)
    (lambda v: bce(v[0], v[1]), [0.3, 0.5], [[1.0, 0.5], [0.0, 1.0], [1e-60, 0.0], [0.7, 1.0]]),
    (lambda v: bce(v[0], v[1]), [1.0, 0.5], [[0.3, 0.5], [0.999, 0.0]]),
    (lambda v: bce(v[0], 1.0), [0.0], [[0.25], [1.0]]),
    (lambda v: bce_with_logits(v[0], v[1]), [2.0, 1.0], [[-800.0, 1.0], [800.0, 0.0], [-3.0, 0.3]]),
    (lambda v: bce_with_logits(v[0], v[1]), [-2.0, 0.0], [[800.0, 1.0], [3.0, 0.3]]),
    (lambda v: cross_entropy(v, 1), [0.1, 0.2, -0.3], [[1000.0, -1000.0, 0.0], [1e16, 1e16, 0.0]]),
    (lambda v: cross_entropy([v[:2], v[2:]], [0, 1]), [0.0] * 4, [[-900.0, 900.0, 5.0, -5.0]]),
    (lambda v: mse(v[:2], v[2:]), [1.0, 2.0, 0.0, 0.0], [[1e100, -3.0, 2.0, 1.0]]),
    (lambda v: hinge(v[:2], [1, -1]), [2.0, 0.5], [[-2.0, -0.5], [0.5, 3.0]]),
    (lambda v: hinge(v[0], v[1]), [2.0, 1.0], [[0.5, 1.0]]),
]


@pytest.mark.parametrize(("loss_fn", "recorded", "replays"), REPLAYS)
def test_a_recorded_loss_replays_right_on_new_numbers(loss_fn, recorded, replays):
    leaves = [Value(x) for x in recorded]
    root = loss_fn(leaves)
    for numbers in replays:
        value, grads = replay(root, leaves, numbers)
        fresh_value, fresh_grads = _fresh(loss_fn, numbers)
        assert same(value, fresh_value), (numbers, value, fresh_value)
        for g, f in zip(grads, fresh_grads, strict=True):
            assert same(g, f), (numbers, grads, fresh_grads)


@pytest.mark.parametrize("logit", [-15.0, -40.0, -100.0, -700.0])
def test_bce_with_logits_gradient_keeps_its_digits_for_very_negative_logits(logit):
    # d/dx = sigmoid(x) - t: for t = 0 a tiny positive number, which (1 - t) - sigmoid(-x)
    # would round away (3.0590222699e-07 against 3.0590222692e-07 at x = -15; 0 at x = -40)
    x = Value(logit)
    bce_with_logits(x, 0.0).backward()
    exact = math.exp(logit) / (1.0 + math.exp(logit))
    assert x.grad == pytest.approx(exact, rel=1e-15, abs=0)
