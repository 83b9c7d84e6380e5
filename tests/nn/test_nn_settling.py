"""nn.SettlingLayer: a recurrent layer that settles to its fixed point, trained by recurrent
backpropagation (or unrolled), with nn's losses and optimizers, saved and loaded like the rest."""

import copy
import json
import pickle

import pytest

import nn
from autograd import FixedPointError, Value, grad
from autograd.engine import topological_order
from nn import SettlingLayer
from nn.losses import mse
from nn.optim import SGD, Adam

WEIGHTS = (  # nstate 2, nin 3
    [[0.2, -0.3], [0.1, 0.25]],
    [[0.5, -1.0, 0.3], [-0.2, 0.4, 0.9]],
    [0.1, -0.2],
)


def test_parameters_in_the_documented_order():
    layer = SettlingLayer(3, 2, weights=WEIGHTS)
    names = [name for name, _ in layer.named_parameters()]
    assert names == [f"W.{k}" for k in range(4)] + [f"U.{k}" for k in range(6)] + ["b.0", "b.1"]
    flat = [w for row in WEIGHTS[0] for w in row] + [u for row in WEIGHTS[1] for u in row]
    assert [p.data for p in layer.parameters()] == flat + WEIGHTS[2]
    assert [p.label for p in layer.parameters()] == names
    assert list(layer.state_dict()) == ["W", "U", "b"]


def test_the_settled_state_is_a_fixed_point_of_the_map():
    layer = SettlingLayer(3, 2, weights=WEIGHTS)
    p = [1.0, -0.5, 2.0]
    x = layer(p)
    again = layer.step([v.data for v in x], p)
    assert max(abs(a.data - b.data) for a, b in zip(x, again)) < 1e-10
    # by hand: W row 0 . x + U row 0 . p + b0
    s0 = 0.2 * x[0].data - 0.3 * x[1].data + 0.5 * 1.0 - 1.0 * -0.5 + 0.3 * 2.0 + 0.1
    assert again[0].data == pytest.approx(Value(s0).tanh().data, rel=1e-15)
    assert x.forward.iterations > 5 and x.forward.residual < 1e-10 and x.adjoint is None


@pytest.mark.parametrize(("activation", "slope"), [("tanh", 1), ("relu", 1), ("sigmoid", 0.25)])
def test_initial_weights_contract(activation, slope):
    for contraction in (0.0, 0.3, 0.9):
        layer = SettlingLayer(4, 5, activation, seed=3, contraction=contraction)
        assert layer.contraction_bound() == pytest.approx(contraction, abs=1e-15)
        norm = max(sum(abs(w.data) for w in layer.W[i * 5 : (i + 1) * 5]) for i in range(5))
        assert slope * norm == pytest.approx(contraction, abs=1e-15)
    assert SettlingLayer(4, 5, seed=1).contraction_bound() == pytest.approx(0.5)
    a, b = SettlingLayer(4, 5, seed=7), SettlingLayer(4, 5, seed=7)
    assert a.state_dict() == b.state_dict()


def test_recurrent_backpropagation_equals_backpropagation_through_the_iterations():
    layer = SettlingLayer(3, 4, seed=5)
    p = [Value(v) for v in (0.3, -1.2, 0.8)]
    target = [0.5, -0.5, 0.2, 0.0]

    def gradients(unroll):
        layer.zero_grad()
        for v in p:
            v.grad = 0.0
        loss = mse(layer(p, unroll=unroll), target)
        loss.backward()
        return [q.grad for q in layer.parameters() + p], len(topological_order(loss))

    implicit, implicit_nodes = gradients(None)
    unrolled, unrolled_nodes = gradients(80)  # 0.5 ** 80: converged to rounding
    assert max(abs(a - b) for a, b in zip(implicit, unrolled)) < 1e-10
    assert max(abs(g) for g in implicit) > 1e-3  # not vacuous
    assert unrolled_nodes > 10 * implicit_nodes
    few, _ = gradients(2)
    assert max(abs(a - b) for a, b in zip(implicit, few)) > 1e-3  # two steps are not enough


def test_gradients_match_torch():
    torch = pytest.importorskip("torch")
    layer = SettlingLayer(3, 2, weights=WEIGHTS, tol=1e-13)
    p = [1.0, -0.5, 2.0]
    loss = mse(layer(p), [0.3, -0.7])
    loss.backward()
    W, U, b = (torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in WEIGHTS)
    x = torch.zeros(2, dtype=torch.float64)
    for _ in range(200):
        x = torch.tanh(W @ x + U @ torch.tensor(p, dtype=torch.float64) + b)
    reference = ((x - torch.tensor([0.3, -0.7], dtype=torch.float64)) ** 2).mean()
    reference.backward()
    theirs = W.grad.flatten().tolist() + U.grad.flatten().tolist() + b.grad.tolist()
    assert loss.data == pytest.approx(reference.item(), rel=1e-12)
    for (name, q), g in zip(layer.named_parameters(), theirs):
        assert q.grad == pytest.approx(g, rel=1e-9, abs=1e-12), name


def test_second_derivative_through_the_layer():
    layer = SettlingLayer(1, 2, weights=([[0.3, -0.2], [0.4, 0.1]], [[1.0], [-0.5]], [0.0, 0.2]))

    def settled(a):
        x = layer([a])
        return x[0] * x[1]

    unrolled = SettlingLayer(1, 2, weights=([[0.3, -0.2], [0.4, 0.1]], [[1.0], [-0.5]], [0.0, 0.2]),
                             unroll=60)

    def stepped(a):
        x = unrolled([a])
        return x[0] * x[1]

    assert grad(grad(settled))(0.7) == pytest.approx(grad(grad(stepped))(0.7), rel=1e-9)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_trains_with_nn_losses_and_optimizers(optimizer):
    layer = SettlingLayer(2, 3, seed=0)
    data = [([1.0, 0.0], [0.5, -0.5, 0.0]), ([0.0, 1.0], [-0.5, 0.5, 0.3])]
    opt = SGD(layer.parameters(), lr=0.5) if optimizer == "sgd" else Adam(layer.parameters(), 0.05)
    losses = []
    for _ in range(40):
        loss = sum(mse(layer(p), t) for p, t in data) / len(data)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert layer.limit_contraction(0.9) <= 0.9 + 1e-12
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]


def test_limit_contraction_scales_only_the_rows_over_the_limit():
    layer = SettlingLayer(1, 2, "sigmoid", weights=([[4.0, -4.0], [0.5, 0.5]], [[1.0], [1.0]],
                                                    [0.0, 0.0]))
    assert layer.contraction_bound() == 2.0  # sigmoid's slope 1/4 times 8
    assert layer.limit_contraction(0.5) == pytest.approx(0.5)
    assert [w.data for w in layer.W] == pytest.approx([1.0, -1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"limit must be a number in \[0, 1\)"):
        layer.limit_contraction(1.0)


def test_not_settling_raises_a_clear_error():
    two_cycle = SettlingLayer(1, 1, weights=([[-2.0]], [[0.0]], [0.1]), max_iter=200)
    with pytest.raises(FixedPointError, match=r"SettlingLayer\(1 -> 1, tanh, settles\) did not "
                       r"settle: .*200 iterations \(last change .*contraction bound is 2"):
        two_cycle([1.0])
    growing = SettlingLayer(1, 2, "linear", weights=([[2.0, 0.0], [0.0, 2.0]], [[1.0], [1.0]],
                                                     [0.0, 0.0]))
    with pytest.raises(FixedPointError, match="did not settle"):
        growing([1.0])
    assert two_cycle([1.0], unroll=5)[0].data != 0.0  # a fixed number of steps always runs


def test_unrolled_graph_grows_with_the_steps():
    layer = SettlingLayer(2, 2, seed=1, unroll=10)
    assert repr(layer) == "SettlingLayer(2 -> 2, tanh, unrolled 10 steps)"
    short = len(topological_order(mse(layer([1.0, 2.0]), [0.0, 0.0])))
    long = len(topological_order(mse(layer([1.0, 2.0], unroll=20), [0.0, 0.0])))
    settles = len(topological_order(mse(SettlingLayer(2, 2, seed=1)([1.0, 2.0]), [0.0, 0.0])))
    assert long > short > settles


def test_save_load_round_trip(tmp_path):
    layer = SettlingLayer(3, 2, "sigmoid", weights=WEIGHTS, tol=1e-8, max_iter=77, unroll=None)
    path = tmp_path / "settling.json"
    nn.save(layer, path)
    document = json.loads(path.read_text())
    assert document["module"] == "SettlingLayer"
    assert document["config"] == {"nin": 3, "nstate": 2, "activation": "sigmoid", "tol": 1e-8,
                                  "max_iter": 77, "unroll": None, "inputs": "full"}
    loaded = nn.load(path)
    assert isinstance(loaded, SettlingLayer) and loaded.state_dict() == layer.state_dict()
    assert (loaded.tol, loaded.max_iter, loaded.unroll) == (1e-8, 77, None)
    assert [v.data for v in loaded([1.0, 2.0, 3.0])] == [v.data for v in layer([1.0, 2.0, 3.0])]
    unrolled = SettlingLayer(3, 2, seed=0, unroll=12)
    nn.save(unrolled, path)
    assert nn.load(path).unroll == 12
    fresh = SettlingLayer(3, 2, seed=9)
    fresh.load_state_dict(layer.state_dict())
    assert fresh.state_dict() == layer.state_dict()
    direct = SettlingLayer(2, 4, inputs="one_to_one", seed=3)
    nn.save(direct, path)
    loaded = nn.load(path)
    assert loaded.inputs == "one_to_one" and loaded.state_dict() == direct.state_dict()
    assert [v.data for v in loaded([0.5, -1.0])] == [v.data for v in direct([0.5, -1.0])]


def test_pickle_and_deepcopy():
    layer = SettlingLayer(3, 2, weights=WEIGHTS)
    for copied in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert copied.state_dict() == layer.state_dict()
        assert [v.data for v in copied([0.1, 0.2, 0.3])] == [v.data for v in layer([0.1, 0.2, 0.3])]


def saved(tmp_path, config, state=None):
    good = SettlingLayer(3, 2, weights=WEIGHTS)
    document = {"format": "gradwalk.nn", "version": 1, "module": "SettlingLayer",
                "config": config, "state": good.state_dict() if state is None else state}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"nin": 3, "nstate": 0}, "nstate must be a positive int"),
        ({"nin": 3, "nstate": 2, "tol": -1}, "tol must be a positive number"),
        ({"nin": 3, "nstate": 2, "tol": "small"}, "tol must be a positive number"),
        ({"nin": 3, "nstate": 2, "max_iter": 0}, "max_iter must be a positive int"),
        ({"nin": 3, "nstate": 2, "unroll": 2.5}, "unroll must be a positive int"),
        ({"nin": 3, "nstate": 2, "unroll": 10**7}, "unroll 10,000,000 is over 100,000"),
        ({"nin": 3, "nstate": 2, "max_iter": 10**12}, "max_iter .* is over 100,000"),
        ({"nin": 3, "nstate": 2, "activation": "swish"}, "unknown activation"),
        ({"nin": 3, "nstate": 2, "seed": 1}, "unknown entries 'seed'"),
        ({"nin": 3}, "missing 'nstate'"),
        ({"nin": 3, "nstate": 5}, "weights do not fit"),
        ({"nin": 3, "nstate": 10**6}, "needs 1,000,004,000,000 weights, the file holds 12"),
        ({"nin": 3, "nstate": 2, "inputs": "sparse"}, "inputs must be 'full' or 'one_to_one'"),
        ({"nin": 3, "nstate": 2, "inputs": "one_to_one"}, "one_to_one inputs need nin <= nstate"),
    ],
)
def test_load_refuses_a_bad_file(tmp_path, config, message):
    with pytest.raises(ValueError, match=message):
        nn.load(saved(tmp_path, config))


def test_the_architecture_table_counts_its_weights():
    from nn.serialize import _ARCHITECTURES

    required, optional, count = _ARCHITECTURES["SettlingLayer"]
    layer = SettlingLayer(4, 3, unroll=2)
    assert set(required) <= set(layer.config()) <= set(required) | set(optional)
    assert count(layer.config()) == len(layer.parameters()) == 3 * 3 + 3 * 4 + 3
    direct = SettlingLayer(3, 5, inputs="one_to_one")
    assert count(direct.config()) == len(direct.parameters()) == 5 * 5 + 3 + 5


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: SettlingLayer(0, 2), ValueError, "nin must be a positive int"),
        (lambda: SettlingLayer(2, 2, contraction=1.0), ValueError, r"contraction .* \[0, 1\)"),
        (lambda: SettlingLayer(2, 2, tol=0), ValueError, "tol must be a positive number"),
        (lambda: SettlingLayer(2, 2, unroll=0), ValueError, "unroll must be a positive int"),
        (lambda: SettlingLayer(2, 2, "swish"), ValueError, "unknown activation"),
        (lambda: SettlingLayer(3, 2, weights=WEIGHTS[:2]), ValueError, r"expected \(W, U, b\)"),
        (lambda: SettlingLayer(2, 2, weights=WEIGHTS), ValueError, "U must be 2 rows of 2"),
        (lambda: SettlingLayer(3, 2, weights=([[0, 0], [0, "x"]], *WEIGHTS[1:])), ValueError,
         r"W\[1\]\[1\]: expected a number"),
        (lambda: SettlingLayer(3, 2, weights=WEIGHTS)([1.0]), ValueError, "takes 3 inputs, got 1"),
        (lambda: SettlingLayer(3, 2, weights=WEIGHTS)("abc"), TypeError, "a list of 3 inputs"),
        (lambda: SettlingLayer(2, 2, inputs="sparse"), ValueError, "unknown inputs 'sparse'"),
        (lambda: SettlingLayer(3, 2, inputs="one_to_one"), ValueError, "need nin <= nstate"),
        (lambda: SettlingLayer(2, 2, weights=(WEIGHTS[0], [1.0, 2.0, 3.0], WEIGHTS[2]),
                               inputs="one_to_one"), ValueError, "U must be 2 numbers"),
    ],
)
def test_bad_arguments_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_hidden_units_outside_the_loss():
    layer = SettlingLayer(2, 4, seed=2)
    p = [0.4, -0.9]

    def gradients(unroll):
        layer.zero_grad()
        mse(layer(p, unroll=unroll)[:2], [0.5, -0.5]).backward()  # units 2 and 3 are hidden
        return [q.grad for q in layer.parameters()]

    implicit, unrolled = gradients(None), gradients(80)
    assert max(abs(a - b) for a, b in zip(implicit, unrolled)) < 1e-10
    assert max(abs(g) for g in implicit) > 1e-3


def test_one_to_one_inputs_feed_each_unit_its_own_input_only():
    w = [[0.0] * 4 for _ in range(4)]
    layer = SettlingLayer(2, 4, inputs="one_to_one", weights=(w, [2.0, -1.0], [0.1, 0.2, 0.3, 0.4]))
    assert [name for name, _ in layer.named_parameters()][16:] == ["U.0", "U.1", "b.0", "b.1",
                                                                  "b.2", "b.3"]
    x = layer([0.5, 3.0])
    expected = [Value(2.0 * 0.5 + 0.1).tanh(), Value(-3.0 + 0.2).tanh(), Value(0.3).tanh(),
                Value(0.4).tanh()]  # no W: each unit sees its own input, hidden units none
    assert [v.data for v in x] == [v.data for v in expected]
    assert repr(layer) == "SettlingLayer(2 -> 4, one to one, tanh, settles)"


def test_one_to_one_recurrent_backpropagation_equals_unrolled():
    layer = SettlingLayer(3, 5, inputs="one_to_one", seed=4, contraction=0.8)
    p = [Value(v) for v in (0.7, 0.0, -1.0)]

    def gradients(unroll):
        layer.zero_grad()
        for v in p:
            v.grad = 0.0
        mse(layer(p, unroll=unroll)[:3], [1.0, -1.0, 1.0]).backward()
        return [q.grad for q in layer.parameters() + p]

    implicit, unrolled = gradients(None), gradients(150)
    assert max(abs(a - b) for a, b in zip(implicit, unrolled)) < 1e-10
    assert implicit[-2] != 0.0  # the erased input's gradient: it reaches it through W
