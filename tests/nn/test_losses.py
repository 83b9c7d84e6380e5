"""nn.losses: values and gradients equal to PyTorch's (float64, reduction="mean"), stability,
and errors."""

import math
import random

import pytest

from autograd import Value
from autograd.engine import op_arg, walk
from nn.losses import bce, bce_with_logits, cross_entropy, hinge, mse

TOL = 1e-9


def values(xs):
    return [Value(x) for x in xs]


# --- without torch: small cases worked out by hand ----------------------------------------------


def test_mse_by_hand():
    pred = values([1.0, 3.0, -2.0])
    loss = mse(pred, [0.0, 1.0, -2.0])
    assert loss.data == pytest.approx((1 + 4 + 0) / 3)
    loss.backward()
    assert [p.grad for p in pred] == pytest.approx([2 * 1 / 3, 2 * 2 / 3, 0.0])


def test_single_items_are_a_mean_over_one():
    assert mse(Value(3.0), 1.0).data == 4.0
    assert hinge(Value(0.25), -1).data == 1.25
    assert bce(Value(0.5), 1.0).data == pytest.approx(math.log(2))


def test_hinge_by_hand_and_its_kink_has_zero_gradient():
    s = values([2.0, 0.5, 1.0, -3.0])
    loss = hinge(s, [1, 1, 1, -1])
    assert loss.data == pytest.approx((0 + 0.5 + 0 + 0) / 4)
    loss.backward()
    assert [v.grad for v in s] == [0.0, -0.25, 0.0, 0.0]  # 1 - 1*1 = 0: relu'(0) = 0


def test_cross_entropy_is_log_sum_exp_minus_target_logit():
    row = [0.5, -1.0, 2.0]
    expected = math.log(sum(math.exp(v) for v in row)) - row[2]
    assert cross_entropy(row, 2).data == pytest.approx(expected, rel=1e-14)
    logits = values(row)
    cross_entropy(logits, 0).backward()
    z = sum(math.exp(v) for v in row)
    softmax = [math.exp(v) / z for v in row]
    assert [v.grad for v in logits] == pytest.approx([softmax[0] - 1, softmax[1], softmax[2]])


def test_cross_entropy_is_one_fused_node_per_sample():
    loss = cross_entropy(values([0.1 * k for k in range(10)]), 3)
    ops = [v.op for v in walk(loss)]
    assert ops.count("cross_entropy") == 1  # every class in one node, in class order
    assert ops.count("exp") == ops.count("+") == 0
    node = next(v for v in walk(loss) if v.op == "cross_entropy")
    assert [p.data for p in node.parents] == [0.1 * k for k in range(10)]
    assert op_arg(node) == 3  # the target class is the op's argument


def test_extreme_logits_stay_finite():
    big = cross_entropy([Value(1000.0), Value(-1000.0), Value(0.0)], 1)
    assert big.data == pytest.approx(2000.0)
    for x, t in [(1000.0, 0.0), (-1000.0, 1.0), (800.0, 1.0), (-800.0, 0.0)]:
        v = Value(x)
        loss = bce_with_logits(v, t)
        loss.backward()
        assert math.isfinite(loss.data) and math.isfinite(v.grad)
        assert loss.data == pytest.approx(max(x, 0) - x * t)
        assert v.grad == pytest.approx((1.0 if x > 0 else 0.0) - t)


def test_bce_of_a_saturated_probability_is_clamped_not_an_error():
    assert bce(Value(1.0), 0.0).data == 100.0
    assert bce(Value(0.0), 1.0).data == 100.0
    assert bce(Value(0.0), 0.0).data == 0.0
    assert bce(Value(1e-60), 1.0).data == 100.0  # log(1e-60) = -138 is clamped at -100


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: mse([1.0, 2.0], [1.0]), ValueError, "2 predictions but 1 targets"),
        (lambda: mse([], []), ValueError, "no items"),
        (lambda: mse(["a"], [1.0]), TypeError, "got str"),
        (lambda: bce(Value(1.5), 1.0), ValueError, r"in \[0, 1\], got 1.5"),
        (lambda: hinge(Value(1.0), 0), ValueError, "-1 or \\+1, got 0.0"),
        (lambda: cross_entropy([1.0, 2.0], 2), ValueError, "class index from 0 to 1, got 2"),
        (lambda: cross_entropy([1.0, 2.0], 1.0), TypeError, "class index"),
        (lambda: cross_entropy([[1.0, 2.0]], 1), ValueError, "list of target indices"),
        (lambda: cross_entropy([[1.0], [2.0]], [0]), ValueError, "2 samples but 1 targets"),
        (lambda: cross_entropy([], 0), ValueError, "non-empty"),
    ],
)
def test_bad_input_names_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- parity with PyTorch ------------------------------------------------------------------------


def _ours_and_grads(loss_fn, xs, target):
    inputs = values(xs)
    loss = loss_fn(inputs, target)
    loss.backward()
    return loss.data, [v.grad for v in inputs]


def _torch_and_grads(torch, loss_fn, xs, target):
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(x, target)
    loss.backward()
    return loss.item(), x.grad.tolist()


def _close(a, b):
    return all(abs(p - q) <= TOL for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_losses_match_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(seed)
    n = 7
    logits = [rng.uniform(-6, 6) for _ in range(n)] + [0.0, 40.0, -40.0, 300.0, -300.0]
    targets = [float(rng.random() < 0.5) for _ in range(len(logits))]
    soft_targets = [rng.random() for _ in range(len(logits))]
    probs = [rng.uniform(0.01, 0.99) for _ in range(n)]
    t_targets = torch.tensor(targets, dtype=torch.float64)
    cases = [
        (mse, probs, targets[:n], lambda x: F.mse_loss(x, t_targets[:n])),
        (bce, probs, targets[:n], lambda x: F.binary_cross_entropy(x, t_targets[:n])),
        (bce, probs, soft_targets[:n],
         lambda x: F.binary_cross_entropy(x, torch.tensor(soft_targets[:n], dtype=torch.float64))),
        (bce_with_logits, logits, targets,
         lambda x: F.binary_cross_entropy_with_logits(x, t_targets)),
        (bce_with_logits, logits, soft_targets,
         lambda x: F.binary_cross_entropy_with_logits(
             x, torch.tensor(soft_targets, dtype=torch.float64))),
    ]
    for ours_fn, xs, target, theirs_fn in cases:
        ours, ours_grad = _ours_and_grads(ours_fn, xs, target)
        theirs, theirs_grad = _torch_and_grads(torch, lambda x, _t, f=theirs_fn: f(x), xs, target)
        assert abs(ours - theirs) <= TOL, ours_fn.__name__
        assert _close(ours_grad, theirs_grad), ours_fn.__name__


def test_bce_saturated_values_match_torch_clamp():
    torch = pytest.importorskip("torch")
    probs, targets = [0.0, 1.0, 1e-60, 1.0 - 1e-17, 0.3], [1.0, 0.0, 1.0, 0.0, 1.0]
    ours = bce(values(probs), targets).data
    theirs = torch.nn.functional.binary_cross_entropy(
        torch.tensor(probs, dtype=torch.float64), torch.tensor(targets, dtype=torch.float64)
    ).item()
    assert abs(ours - theirs) <= TOL


def test_hinge_matches_torch_relu_formula():
    torch = pytest.importorskip("torch")
    rng = random.Random(4)
    scores = [rng.uniform(-3, 3) for _ in range(9)]
    targets = [rng.choice([-1, 1]) for _ in range(9)]
    t = torch.tensor(targets, dtype=torch.float64)
    ours, ours_grad = _ours_and_grads(hinge, scores, targets)
    theirs, theirs_grad = _torch_and_grads(
        torch, lambda x, _t: torch.relu(1 - t * x).mean(), scores, targets
    )
    assert abs(ours - theirs) <= TOL and _close(ours_grad, theirs_grad)


@pytest.mark.parametrize("scale", [1.0, 50.0, 1000.0])
def test_cross_entropy_matches_torch_single_and_batch(scale):
    torch = pytest.importorskip("torch")
    rng = random.Random(int(scale))
    rows = [[rng.uniform(-1, 1) * scale for _ in range(5)] for _ in range(4)]
    targets = [rng.randrange(5) for _ in rows]
    ours_rows = [values(r) for r in rows]
    loss = cross_entropy(ours_rows, targets)
    loss.backward()
    x = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(x, torch.tensor(targets))
    theirs.backward()
    assert abs(loss.data - theirs.item()) <= TOL * max(1.0, abs(theirs.item()))
    for ours_row, grad_row in zip(ours_rows, x.grad.tolist(), strict=True):
        assert _close([v.grad for v in ours_row], grad_row)
    # one sample: logits a flat list, target an index
    single = cross_entropy(values(rows[0]), targets[0]).data
    theirs_single = torch.nn.functional.cross_entropy(
        torch.tensor([rows[0]], dtype=torch.float64), torch.tensor([targets[0]])
    ).item()
    assert abs(single - theirs_single) <= TOL * max(1.0, abs(theirs_single))


def test_numpy_arrays_work_as_predictions_and_targets():
    np = pytest.importorskip("numpy")
    assert mse(np.array([1.0, 3.0]), np.array([0.0, 1.0])).data == 2.5
    batch = cross_entropy(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([1, 0]))
    assert batch.data == pytest.approx(math.log(2))
    assert hinge(values([0.5]), np.array([-1])).data == 1.5
