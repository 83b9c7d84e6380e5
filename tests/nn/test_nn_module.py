"""nn.Module, Neuron, Layer, MLP: parameters, initialisation, state_dict, errors."""

import math
import random

import pytest

from autograd import Value
from autograd.engine import walk
from nn import MLP, Layer, Module, Neuron


def test_default_mlp_draws_like_micrograd_from_global_random():
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    random.seed(1337)
    expected_weights = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):
            expected_weights.append([random.uniform(-1, 1) for _ in range(nin)])
    neurons = [n for layer in model.layers for n in layer.neurons]
    assert [[w.data for w in n.w] for n in neurons] == expected_weights
    assert all(n.b.data == 0.0 for n in neurons)
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1


def test_parameter_order_is_layer_neuron_weights_then_bias():
    model = MLP(3, [2, 1], seed=0)
    expected = []
    for layer in model.layers:
        for n in layer.neurons:
            expected.extend(n.w)
            expected.append(n.b)
    assert all(a is b for a, b in zip(model.parameters(), expected, strict=True))
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.w.2",
        "layers.0.neurons.0.b",
    ]
    assert names[-1] == "layers.1.neurons.0.b"
    assert len(set(names)) == len(names)


def test_seed_uses_a_private_generator():
    random.seed(5)
    before = random.random()
    random.seed(5)
    a = MLP(4, [3, 2], seed=11)
    assert random.random() == before  # the global generator was not advanced
    b = MLP(4, [3, 2], seed=11)
    c = MLP(4, [3, 2], seed=12)
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()


def test_torch_style_init_stays_within_one_over_sqrt_nin():
    model = MLP(16, [8], seed=3, init="torch")
    bound = 1 / math.sqrt(16)
    values = [p.data for p in model.parameters()]
    assert all(-bound <= v <= bound for v in values)
    assert any(n.b.data != 0.0 for n in model.layers[0].neurons)


@pytest.mark.parametrize(
    ("activation", "fn"),
    [
        ("relu", lambda s: max(s, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda s: 1 / (1 + math.exp(-s))),
        ("linear", lambda s: s),
    ],
)
def test_neuron_computes_activation_of_weighted_sum(activation, fn):
    w, b = [0.5, -1.5, 2.0], 0.25
    n = Neuron(3, activation, weights=(w, b))
    for x in ([1.0, 2.0, 0.5], [-1.0, 0.0, -2.0]):
        s = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b
        assert n(x).data == pytest.approx(fn(s), rel=1e-15, abs=1e-15)


def test_neuron_is_a_few_nodes_not_two_per_input():
    n = Neuron(50, "tanh", seed=0)
    out = n([Value(float(i)) for i in range(50)])
    inner = [v for v in walk(out) if v.parents]
    assert [v.op for v in inner] == ["tanh", "+", "dot"]


def test_neuron_gradient_matches_hand_derivative():
    w, b = [0.3, -0.7], 0.1
    n = Neuron(2, "tanh", weights=(w, b))
    x = [Value(1.5), Value(-2.0)]
    out = n(x)
    out.backward()
    local = 1 - out.data**2
    assert n.w[0].grad == pytest.approx(local * 1.5)
    assert n.w[1].grad == pytest.approx(local * -2.0)
    assert n.b.grad == pytest.approx(local)
    assert x[0].grad == pytest.approx(local * 0.3)


def test_layer_and_mlp_weights_argument_in_torch_layout():
    W0, b0 = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0.1, 0.2, 0.3]
    W1, b1 = [[-1.0, 0.5, 2.0]], [0.0]
    model = MLP(2, [3, 1], weights=[(W0, b0), (W1, b1)])
    assert [[w.data for w in n.w] for n in model.layers[0].neurons] == W0
    assert [n.b.data for n in model.layers[0].neurons] == b0
    x = [1.0, -1.0]
    hidden = [max(r[0] * x[0] + r[1] * x[1] + b, 0.0) for r, b in zip(W0, b0, strict=True)]
    expected = sum(w * h for w, h in zip(W1[0], hidden, strict=True)) + b1[0]
    assert model(x).data == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": [([[1.0, 2.0]], [0.0])]}, r"got 1 \(W, b\) pairs for 2 layers"),
        ({"weights": [([[1.0]], [0.0]), ([[1.0]], [0.0])]}, "expected 2 weights"),
        ({"weights": [([[1.0, "x"]], [0.0]), ([[1.0]], [0.0])]}, "expected a number"),
        ({"weights": [([[1.0, 2.0]], [0.0, 1.0]), ([[1.0]], [0.0])]}, "1 rows and b 2"),
        ({"activation": "gelu"}, "unknown activation 'gelu'"),
        ({"init": "zeros"}, "unknown init 'zeros'"),
    ],
)
def test_bad_construction_arguments_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLP(2, [1, 1], **kwargs)


def test_bad_sizes_and_inputs():
    with pytest.raises(ValueError, match="nouts"):
        MLP(2, 3)
    with pytest.raises(ValueError, match="positive int"):
        Layer(0, 2)
    with pytest.raises(TypeError, match="seed"):
        Neuron(2, seed="abc")
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        MLP(2, [2, 1], seed=0)([1.0, 2.0, 3.0])


def test_layer_returns_one_value_when_nout_is_one_and_a_list_otherwise():
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    out = Layer(2, 3, seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3
    assert isinstance(MLP(2, [1, 2], seed=0)([1.0, 2.0]), list)  # a width-1 hidden layer works


def test_micrograd_nonlin_spelling():
    assert Neuron(2, nonlin=False, seed=0).activation == "linear"
    assert Layer(2, 2, nonlin=True, seed=0).activation == "relu"
    assert Neuron(3, seed=0).nonlin is True


def test_reprs_say_what_the_model_is():
    model = MLP(2, [16, 16, 1], seed=0)
    assert repr(model) == "MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)"
    assert repr(model.layers[0]) == "Layer(2 -> 16, relu)"
    assert repr(model.layers[0].neurons[0]) == "ReLUNeuron(2)"
    assert repr(Neuron(3, "sigmoid", seed=0)) == "SigmoidNeuron(3)"


def test_zero_grad_resets_every_parameter():
    model = MLP(3, [4, 1], seed=0)
    model([1.0, 2.0, 3.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trips_and_groups_weights():
    a, b = MLP(3, [4, 2], seed=1), MLP(3, [4, 2], seed=2)
    state = a.state_dict()
    assert state["layers.0.neurons.1.w"] == [w.data for w in a.layers[0].neurons[1].w]
    assert state["layers.1.neurons.0.b"] == a.layers[1].neurons[0].b.data
    b.load_state_dict(state)
    assert b.state_dict() == state
    x = [0.5, -1.0, 2.0]
    assert [v.data for v in a(x)] == [v.data for v in b(x)]
    # the loaded model owns its numbers: changing a does not change b
    a.layers[0].neurons[0].w[0].data += 1.0
    assert b.state_dict() == state


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), "missing 1 entries"),
        (lambda s: s.update({"layers.9.neurons.0.b": 0.0}), "1 unexpected entries"),
        (lambda s: s["layers.0.neurons.0.w"].append(1.0), "has 4 numbers, the model has 3"),
        (lambda s: s.update({"layers.0.neurons.0.w": 1.0}), "expected a list of 3 numbers"),
        (lambda s: s.update({"layers.0.neurons.0.b": "1.0"}), "expected a number, got str"),
        (lambda s: s.update({"layers.0.neurons.0.b": True}), "expected a number, got bool"),
    ],
)
def test_load_state_dict_refuses_mismatches_and_leaves_the_model_untouched(edit, message):
    model = MLP(3, [4, 1], seed=0)
    before = model.state_dict()
    state = MLP(3, [4, 1], seed=9).state_dict()
    edit(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_a_module_of_your_own_finds_its_parameters():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.inner = Layer(2, 2, "tanh", seed=0)
            self.heads = [Neuron(2, "linear", seed=1), Neuron(2, "linear", seed=2)]
            self.name = "not a parameter"

        def __call__(self, x):
            h = self.inner(x)
            return [self.scale * head(h) for head in self.heads]

    m = Affine()
    names = [n for n, _ in m.named_parameters()]
    assert names[0] == "scale"
    assert "inner.neurons.1.w.0" in names and "heads.1.b" in names
    assert len(m.parameters()) == 1 + 6 + 6
    other = Affine()
    other.scale.data = -3.0
    other.load_state_dict(m.state_dict())
    assert other.scale.data == 2.0


def test_a_micrograd_style_module_overriding_parameters_still_saves_state():
    class Pair(Module):
        def __init__(self):
            self.a, self.b = Value(1.0), Value(2.0)

        def parameters(self):
            return [self.b, self.a]

    p = Pair()
    assert p.state_dict() == {"0": 2.0, "1": 1.0}
    p.load_state_dict({"0": 5.0, "1": 6.0})
    assert (p.a.data, p.b.data) == (6.0, 5.0)


def test_shared_parameters_are_listed_once_and_micrograd_style_children_are_respected():
    class Legacy(Module):  # micrograd style: parameters() only
        def __init__(self):
            self.hidden = [Value(1.0), Value(2.0)]

        def parameters(self):
            return self.hidden[:1]

    class Tied(Module):
        def __init__(self):
            self.encoder = Neuron(2, "linear", seed=0)
            self.decoder_w = self.encoder.w  # tied weights: the same Values again
            self.scale = Value(3.0)
            self.legacy = Legacy()

    m = Tied()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["encoder.w.0", "encoder.w.1", "encoder.b", "scale", "legacy.0"]
    assert len({id(p) for p in m.parameters()}) == len(m.parameters())


def test_the_readme_training_loop_learns_xor(tmp_path):
    from nn import load, save
    from nn.losses import hinge
    from nn.optim import Adam

    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    y = [-1, 1, 1, -1]
    model = MLP(2, [8, 8, 1], seed=0)
    opt = Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(100):
        loss = hinge([model(x) for x in X], y)
        first = loss.data if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.data < 0.1 * first
    assert [model(x).data > 0 for x in X] == [t > 0 for t in y]
    save(model, tmp_path / "xor.json")
    again = load(tmp_path / "xor.json")
    assert [again(x).data for x in X] == [model(x).data for x in X]
