"""nn.optim: SGD and Adam follow PyTorch's update rules step for step (float64, 1e-9)."""

import math

import pytest

from autograd import Value
from nn import MLP
from nn.losses import mse
from nn.optim import SGD, Adam

TOL = 1e-9
X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, -2.0, 0.75], [0.0, 1.0, 1.0]]
Y = [1.0, -0.5, 0.25, 2.0]


def test_sgd_by_hand():
    w = Value(2.0)
    opt = SGD([w], lr=0.1, momentum=0.5)
    steps = []
    for _ in range(3):
        opt.zero_grad()
        (w * w).backward()  # gradient 2w
        opt.step()
        steps.append(w.data)
    # buffer: b1 = g1, then b = 0.5 b + g; w -= 0.1 b
    w1 = 2.0 - 0.1 * 4.0
    b2 = 0.5 * 4.0 + 2 * w1
    w2 = w1 - 0.1 * b2
    b3 = 0.5 * b2 + 2 * w2
    assert steps == pytest.approx([w1, w2, w2 - 0.1 * b3], rel=1e-15)


def test_adam_first_step_moves_each_parameter_by_about_lr():
    # bias correction makes the first step lr * g / (|g| + eps'): lr in the gradient's direction
    params = [Value(1.0), Value(-3.0)]
    opt = Adam(params, lr=0.01)
    (params[0] * 5 - params[1] * 0.001).backward()
    opt.step()
    assert params[0].data == pytest.approx(1.0 - 0.01, rel=1e-6)
    assert params[1].data == pytest.approx(-3.0 + 0.01, rel=1e-4)


def test_lr_can_be_changed_between_steps():
    w = Value(1.0)
    opt = SGD([w], lr=0.5)
    w.grad = 1.0
    opt.step()
    opt.lr = 0.25
    opt.step()
    assert w.data == 1.0 - 0.5 - 0.25


def test_zero_grad_and_module_as_params():
    model = MLP(3, [2, 1], seed=0)
    opt = SGD(model, lr=0.1)
    mse([model(x) for x in X], Y).backward()
    assert any(p.grad for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SGD(p, lr=-0.1), "SGD: lr must be a finite number >= 0, got -0.1"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "Nesterov momentum needs momentum > 0"),
        (lambda p: SGD(p, lr=0.1, momentum=-1), "momentum"),
        (lambda p: SGD([], lr=0.1), "empty parameter list"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), r"beta2 must be a number in \[0, 1\)"),
        (lambda p: Adam(p, betas=0.9), "pair of numbers"),
        (lambda p: Adam(p, eps=-1.0), "eps"),
    ],
)
def test_bad_hyperparameters_name_the_problem(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: Adam(p, eps=0), r"Adam: eps must be a number > 0, got 0"),
        (lambda p: Adam(p, eps=0.0), r"Adam: eps must be a number > 0"),
        (lambda p: SGD(p, lr=10**400), r"SGD: lr .* integer of 401 digits \(too large"),
        (lambda p: Adam(p, lr=-(10**400)), r"Adam: lr .* integer of 401 digits"),
        (lambda p: SGD(p, lr=math.inf), r"SGD: lr must be a finite number >= 0, got inf"),
        (lambda p: SGD(p, lr=math.nan), r"SGD: lr must be a finite number >= 0, got nan"),
        (lambda p: SGD(p, lr="0.1"), r"SGD: lr must be .* got str '0.1'"),
        (lambda p: SGD(p, lr=0.1, momentum=math.inf), r"SGD: momentum must be a finite"),
        (lambda p: SGD(p, lr=0.1, weight_decay=10**400), r"SGD: weight_decay .* 401 digits"),
        (lambda p: Adam(p, weight_decay=math.nan), r"Adam: weight_decay must be a finite"),
        (lambda p: Adam(p, betas=(math.nan, 0.9)), r"Adam: beta1 must be a number in \[0, 1\)"),
        (lambda p: Adam(p, betas=(0.9, 10**400)), r"Adam: beta2 .* 401 digits"),
        (lambda p: Adam(p, eps=math.inf), r"Adam: eps must be a number > 0, got inf"),
    ],
)
def test_every_hyperparameter_is_a_finite_number_in_its_range(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


def test_a_schedule_cannot_set_a_bad_learning_rate():
    opt = Adam([Value(1.0)], lr=0.1)
    for bad in (-1.0, math.nan, math.inf, 10**400, None):
        with pytest.raises(ValueError, match="Adam: lr must be"):
            opt.lr = bad
    assert opt.lr == 0.1
    opt.lr = 3  # an int is a number
    assert opt.lr == 3.0 and isinstance(opt.lr, float)


def test_adam_with_a_tiny_eps_never_divides_by_zero():
    w = Value(1.0)
    opt = Adam([w], eps=5e-324)
    w.grad = 0.0
    opt.step()  # a zero gradient: m = v = 0, the step is 0 / eps
    assert w.data == 1.0


def test_parameters_must_be_values():
    with pytest.raises(TypeError, match="got float"):
        SGD([1.0], lr=0.1)


# --- parity with torch.optim ---------------------------------------------------------------------


def _train_ours(make_opt, steps, schedule=None):
    model = MLP(3, [4, 4, 1], activation="tanh", seed=7, init="torch")
    start = model.state_dict()
    opt = make_opt(model.parameters())
    losses = []
    for k in range(steps):
        if schedule:
            opt.lr = schedule(k)
        loss = mse([model(x) for x in X], Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    return start, losses, [p.data for p in model.parameters()]


def _train_torch(torch, start, make_opt, steps, schedule=None):
    f64 = torch.float64
    layers = []
    for i, (nin, nout) in enumerate([(3, 4), (4, 4), (4, 1)]):
        lin = torch.nn.Linear(nin, nout).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(
                [start[f"layers.{i}.neurons.{j}.w"] for j in range(nout)], dtype=f64))
            lin.bias.copy_(torch.tensor(
                [start[f"layers.{i}.neurons.{j}.b"] for j in range(nout)], dtype=f64))
        layers.append(lin)
    net = torch.nn.Sequential(layers[0], torch.nn.Tanh(), layers[1], torch.nn.Tanh(), layers[2])
    opt = make_opt(net.parameters())
    x, y = torch.tensor(X, dtype=f64), torch.tensor(Y, dtype=f64)
    losses = []
    for k in range(steps):
        if schedule:
            for group in opt.param_groups:
                group["lr"] = schedule(k)
        loss = torch.nn.functional.mse_loss(net(x).squeeze(1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # back to micrograd order: per neuron its weights, then its bias
    params = []
    for lin in layers:
        for row, b in zip(lin.weight.tolist(), lin.bias.tolist(), strict=True):
            params.extend([*row, b])
    return losses, params


CONFIGS = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd", dict(lr=0.05, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("adam", dict(lr=0.01, weight_decay=0.05)),
]


@pytest.mark.parametrize(("kind", "kwargs"), CONFIGS)
def test_optimizer_matches_torch_over_several_steps(kind, kwargs):
    torch = pytest.importorskip("torch")
    ours_cls, theirs_cls = (SGD, torch.optim.SGD) if kind == "sgd" else (Adam, torch.optim.Adam)
    steps = 12
    start, ours_losses, ours_params = _train_ours(lambda p: ours_cls(p, **kwargs), steps)
    theirs_losses, theirs_params = _train_torch(
        torch, start, lambda p: theirs_cls(p, **kwargs), steps
    )
    assert ours_losses[-1] < ours_losses[0]  # it trains at all
    assert max(abs(a - b) for a, b in zip(ours_losses, theirs_losses, strict=True)) < TOL
    assert max(abs(a - b) for a, b in zip(ours_params, theirs_params, strict=True)) < TOL


def test_a_learning_rate_schedule_matches_torch():
    torch = pytest.importorskip("torch")

    def schedule(k):
        return 0.1 * math.cos(k / 10)

    start, ours, _ = _train_ours(lambda p: SGD(p, lr=0.1, momentum=0.5), 10, schedule)
    theirs, _ = _train_torch(torch, start, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5),
                             10, schedule)
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < TOL
