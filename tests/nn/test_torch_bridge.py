"""nn.to_torch / nn.from_torch: an MLP and a PyTorch Sequential with the same weights compute the
same outputs, losses and gradients in float64 (measured differences: a few 1e-16; held to 1e-12).

The tests that need torch skip without it; the ones about torch being optional run everywhere.
"""

import importlib.util
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nn import MLP, from_torch, to_torch
from nn.losses import mse
from nn.optim import SGD

TOL = 1e-12

SHAPES = [
    (1, [1], "relu", "linear"),
    (3, [4, 1], "tanh", "sigmoid"),
    (2, [5, 5, 3], "relu", "tanh"),
    (4, [3, 6, 2, 2], "sigmoid", "linear"),
    (2, [3, 3], "linear", "relu"),
]


def batch(nin, n=6, seed=0):
    rng = random.Random(seed)
    return [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(n)]


def ours(model, x):
    out = model(x)
    return [v.data for v in out] if isinstance(out, list) else [out.data]


def theirs(torch, net, xs):
    with torch.no_grad():
        return net(torch.tensor(xs, dtype=torch.float64)).tolist()


def largest_difference(a, b):
    return max(abs(p - q) for row_a, row_b in zip(a, b, strict=True)
               for p, q in zip(row_a, row_b, strict=True))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# --- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("nin", "nouts", "act", "out_act"), SHAPES)
def test_export_computes_the_same_outputs(torch, nin, nouts, act, out_act):
    model = MLP(nin, nouts, act, out_act, seed=1, init="torch")  # biases not 0
    net = to_torch(model)
    kinds = [type(m).__name__ for m in net]
    expected = []
    for i, _ in enumerate(nouts):
        expected.append("Linear")
        a = out_act if i == len(nouts) - 1 else act
        if a != "linear":
            expected.append({"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[a])
    assert kinds == expected
    assert all(p.dtype == torch.float64 for p in net.parameters())
    xs = batch(nin)
    assert largest_difference([ours(model, x) for x in xs], theirs(torch, net, xs)) <= TOL


@pytest.mark.parametrize(("nin", "nouts", "act", "out_act"), SHAPES)
def test_round_trip_keeps_every_weight_exactly(torch, nin, nouts, act, out_act):
    model = MLP(nin, nouts, act, out_act, seed=2, init="torch")
    back = from_torch(to_torch(model))
    assert back.config() == model.config()
    assert back.state_dict() == model.state_dict()
    again = from_torch(to_torch(model).state_dict(), activation=act, output_activation=out_act)
    assert again.config() == model.config() and again.state_dict() == model.state_dict()


def test_export_is_a_copy(torch):
    model = MLP(2, [3, 1], seed=0)
    net = to_torch(model)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert from_torch(to_torch(model)).state_dict() == model.state_dict()


def test_a_training_step_in_each_gives_the_same_loss_and_gradients(torch):
    model = MLP(3, [5, 4, 2], activation="tanh", output_activation="sigmoid", seed=3)
    net = to_torch(model)
    xs = batch(3, n=8, seed=1)
    ys = [[random.Random(i).uniform(0, 1) for _ in range(2)] for i in range(8)]
    opt = SGD(model.parameters(), lr=0.3, momentum=0.9)
    topt = torch.optim.SGD(net.parameters(), lr=0.3, momentum=0.9)
    inputs, targets = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
    for _ in range(5):
        loss = mse([v for x in xs for v in model(x)], [t for row in ys for t in row])
        opt.zero_grad()
        loss.backward()
        tloss = torch.nn.functional.mse_loss(net(inputs), targets)
        topt.zero_grad()
        tloss.backward()
        assert abs(loss.data - tloss.item()) <= TOL
        grads = [g for layer in net if isinstance(layer, torch.nn.Linear)
                 for g in _neuron_order(layer.weight.grad, layer.bias.grad)]
        assert max(abs(p.grad - g) for p, g in zip(model.parameters(), grads, strict=True)) <= TOL
        opt.step()
        topt.step()
    after = zip(from_torch(net).parameters(), model.parameters(), strict=True)
    assert max(abs(a.data - b.data) for a, b in after) <= TOL


def _neuron_order(weight, bias):
    """A Linear's numbers in our parameters() order: each neuron's weights, then its bias."""
    for row, b in zip(weight.tolist(), bias.tolist(), strict=True):
        yield from row
        yield b


def test_float32_on_request(torch):
    model = MLP(2, [4, 1], seed=0)
    net = to_torch(model, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in net.parameters())
    with torch.no_grad():
        out = net(torch.tensor(batch(2), dtype=torch.float32)).tolist()
    assert largest_difference([ours(model, x) for x in batch(2)], out) < 1e-5
    with pytest.raises(TypeError, match="torch floating dtype"):
        to_torch(model, dtype=torch.int64)


def test_export_needs_an_mlp(torch):
    from nn import Layer

    with pytest.raises(TypeError, match="expected an nn.MLP, got Layer"):
        to_torch(Layer(2, 3))


# --- import -------------------------------------------------------------------------------------


def test_a_sequential_trained_in_torch_predicts_the_same_here(torch):
    torch.manual_seed(0)
    nn_ = torch.nn
    net = nn_.Sequential(nn_.Linear(2, 8), nn_.Tanh(), nn_.Linear(8, 8), nn_.Tanh(),
                         nn_.Linear(8, 1), nn_.Sigmoid()).double()
    xs = batch(2, n=32, seed=4)
    inputs = torch.tensor(xs, dtype=torch.float64)
    labels = (inputs[:, :1] * inputs[:, 1:] > 0).double()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        loss = torch.nn.functional.binary_cross_entropy(net(inputs), labels)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first  # it did train
    model = from_torch(net)
    assert (model.activation, model.output_activation) == ("tanh", "sigmoid")
    assert largest_difference([ours(model, x) for x in xs], theirs(torch, net, xs)) <= TOL


def test_a_float32_sequential_reads_its_exact_numbers(torch):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    model = from_torch(net)
    assert model.layers[0].neurons[1].w[2].data == net[0].weight[1, 2].item()
    xs = batch(3)
    expected = theirs(torch, net.double(), xs)
    assert largest_difference([ours(model, x) for x in xs], expected) <= TOL


def test_state_dict_needs_its_activations_given(torch):
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2),
                              torch.nn.Tanh()).double()
    model = from_torch(net.state_dict(), activation="sigmoid", output_activation="tanh")
    xs = batch(2)
    assert largest_difference([ours(model, x) for x in xs], theirs(torch, net, xs)) <= TOL
    # a Sequential kept inside a module: its state_dict keys carry the attribute's name
    holder = torch.nn.Module()
    holder.net = net
    prefixed = from_torch(holder.state_dict(), activation="sigmoid", output_activation="tanh")
    assert prefixed.state_dict() == model.state_dict()
    default = from_torch(net.state_dict())
    assert (default.activation, default.output_activation) == ("relu", "linear")


def test_linear_without_bias_reads_as_bias_zero(torch):
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(3, 1)).double()
    model = from_torch(net)
    assert [n.b.data for n in model.layers[0].neurons] == [0.0, 0.0, 0.0]
    xs = batch(2)
    assert largest_difference([ours(model, x) for x in xs], theirs(torch, net, xs)) <= TOL
    del net[0].bias  # not registered: a state_dict without "0.bias"
    assert from_torch(net.state_dict()).state_dict() == model.state_dict()


def test_layers_that_change_nothing_are_looked_through(torch):
    nn_ = torch.nn
    torch.manual_seed(4)
    net = nn_.Sequential(nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU()), nn_.Dropout(0.5),
                         nn_.Identity(), nn_.Linear(3, 1)).double().eval()
    model = from_torch(net)
    xs = batch(2)
    assert largest_difference([ours(model, x) for x in xs], theirs(torch, net, xs)) <= TOL
    assert from_torch(nn_.Sequential(nn_.Linear(2, 2), nn_.Dropout(0.0))).nouts == [2]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)),
         r"layer 1 \(Dropout\(p=0.5.*train mode.*\.eval\(\)"),
        (lambda nn: nn.Sequential(nn.Conv1d(1, 1, 2), nn.Linear(3, 1)),
         r"layer 0 \(Conv1d.*no counterpart in an MLP"),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(), nn.Linear(3, 1)),
         r"layer 1 \(LeakyReLU.*no counterpart"),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)),
         r"layer 1 \(Softmax"),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 1)),
         r"layer 2 \(Tanh\) follows another activation"),
        (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)),
         r"layer 0 \(ReLU\) comes before any Linear"),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(),
                                  nn.Linear(3, 1)),
         r"one activation for all its hidden layers.*Linear 0: relu, Linear 1: tanh"),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)),
         r"layer 1 .* takes 4 inputs, but the Linear before it gives 3"),
        (lambda nn: nn.Sequential(nn.ReLU()), r"comes before any Linear"),
        (lambda nn: nn.Sequential(), r"holds no Linear layer"),
    ],
)
def test_layers_an_mlp_cannot_hold_are_a_clear_value_error(torch, build, message):
    with pytest.raises(ValueError, match=message):
        from_torch(build(torch.nn))


def test_other_inputs_are_clear_errors(torch):
    with pytest.raises(TypeError, match="Sequential or its state_dict, got Linear"):
        from_torch(torch.nn.Linear(2, 1))
    with pytest.raises(TypeError, match="got list"):
        from_torch([1, 2])
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match="activation='tanh', but the Sequential uses 'relu'"):
        from_torch(net, activation="tanh")
    with pytest.raises(ValueError, match=r"entry 'running_mean' is not a Sequential Linear's"):
        from_torch({"running_mean": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"'0.bias' has shape \(2,\), the weight has 3 rows"):
        from_torch({"0.weight": torch.zeros(3, 2), "0.bias": torch.zeros(2)})
    with pytest.raises(ValueError, match="state_dict is empty"):
        from_torch({})
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        from_torch(net.state_dict(), activation="gelu")


# --- what would compute something else, or cost what the file does not hold --------------------


def test_a_tiny_file_declaring_a_huge_tensor_is_refused_by_name_before_any_copy(torch, tmp_path):
    # one stored number, read back by torch.load (weights_only) as a 40000 x 40000 view of it:
    # copied, it was 1.6e9 floats (gigabytes, then MemoryError)
    # first a view of a million (under the weight cap): the storage check alone refuses it (and
    # without it, this test fails here, before the huge one below could exhaust the memory)
    with pytest.raises(ValueError, match=r"entry '0.weight' has shape \(1000, 1000\)"):
        from_torch({"0.weight": torch.zeros(1).expand(1000, 1000)})
    path = tmp_path / "small.pt"
    torch.save({"0.weight": torch.zeros(1).expand(40000, 40000),
                "0.bias": torch.zeros(1).expand(40000)}, path)
    assert path.stat().st_size < 4096
    state = torch.load(path, weights_only=True)
    with pytest.raises(ValueError, match=r"entry '0.weight' has shape \(40000, 40000\) "
                                         r"\(1,600,000,000 numbers\) but its storage holds 1\b"):
        from_torch(state)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    net[0].weight = torch.nn.Parameter(torch.ones(1).expand(3, 2))  # a Parameter view, too
    with pytest.raises(ValueError, match=r"the weight of layer 0 has shape \(3, 2\) \(6 numbers\)"):
        from_torch(net)
    # a view inside a larger storage (a slice) holds its numbers: read as usual
    big = torch.arange(20.0).reshape(4, 5)
    model = from_torch({"0.weight": big[1:3, 2:4]})
    assert [[w.data for w in n.w] for n in model.layers[0].neurons] == [[7.0, 8.0], [12.0, 13.0]]


def test_the_total_number_of_weights_is_capped(torch):
    state = {"0.weight": torch.ones(30, 40), "2.weight": torch.ones(5, 30)}  # 1,350 weights
    with pytest.raises(ValueError, match=r"1,350 weights, over max_weights=1,000"):
        from_torch(state, max_weights=1000)
    assert len(from_torch(state, max_weights=1350).parameters()) == 1350 + 35  # biases added
    with pytest.raises(ValueError, match="max_weights must be a positive int"):
        from_torch(state, max_weights=True)


def scaled_linear_class(torch):
    class ScaledLinear(torch.nn.Linear):  # a layer with its own forward: 2 (W x + b)
        def forward(self, x):
            return 2 * super().forward(x)

    return ScaledLinear


def test_a_linear_subclass_is_refused_not_read_as_a_plain_linear(torch):
    net = torch.nn.Sequential(scaled_linear_class(torch)(2, 3), torch.nn.ReLU(),
                              torch.nn.Linear(3, 1)).double()
    with pytest.raises(ValueError, match=r"layer 0 \(ScaledLinear\) is a subclass of "
                                         r"torch.nn.Linear.*its own forward"):
        from_torch(net)


def test_subclasses_and_hooks_of_every_mapped_module_are_refused(torch):
    nn_ = torch.nn

    class Named(nn_.Sequential):  # a subclass may define forward; this one is refused as one
        pass

    class LoudReLU(nn_.ReLU):
        pass

    hooked = nn_.Linear(3, 1)
    hooked.register_forward_hook(lambda module, inputs, out: out * 2)
    prehooked = nn_.Tanh()
    prehooked.register_forward_pre_hook(lambda module, inputs: (inputs[0] + 1,))
    cases = [
        (Named(nn_.Linear(2, 1)), r"the Sequential \(Named\) is a subclass of torch.nn.Sequential"),
        (nn_.Sequential(Named(nn_.Linear(2, 1))), r"layer 0 \(Named\) is a subclass"),
        (nn_.Sequential(nn_.Linear(2, 3), LoudReLU()), r"layer 1 \(LoudReLU\) is a subclass of "
                                                       r"torch.nn.ReLU"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), hooked), r"layer 2 \(Linear\) has a "
                                                               r"forward hook"),
        (nn_.Sequential(nn_.Linear(2, 3), prehooked), r"layer 1 \(Tanh\) has a forward pre hook"),
    ]
    for net, message in cases:
        with pytest.raises(ValueError, match=message):
            from_torch(net)
    parametrized = nn_.Linear(2, 3)

    class Doubled(nn_.Module):
        def forward(self, w):
            return 2 * w

    torch.nn.utils.parametrize.register_parametrization(parametrized, "weight", Doubled())
    with pytest.raises(ValueError, match=r"layer 0 \(ParametrizedLinear\) is a subclass"):
        from_torch(nn_.Sequential(parametrized))


def test_complex_weights_are_an_error_not_a_warning(torch):
    import warnings

    net = torch.nn.Sequential(torch.nn.Linear(2, 3, dtype=torch.complex128))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the imaginary part was dropped with only a warning
        with pytest.raises(ValueError, match=r"the weight of layer 0 holds complex numbers "
                                             r"\(torch.complex128\)"):
            from_torch(net)
        with pytest.raises(ValueError, match=r"entry '0.bias' holds complex numbers"):
            from_torch({"0.weight": torch.ones(3, 2), "0.bias": torch.ones(3, dtype=torch.cfloat)})


def test_tensors_without_numbers_here_are_named(torch):
    with pytest.raises(ValueError, match=r"entry '0.weight' is a torch.strided tensor on meta"):
        from_torch({"0.weight": torch.ones(3, 2, device="meta")})
    sparse = torch.ones(3, 2).to_sparse()
    with pytest.raises(ValueError, match=r"entry '0.weight' is a torch.sparse_coo tensor"):
        from_torch({"0.weight": sparse})


# --- torch stays optional -----------------------------------------------------------------------


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_importing_nn_does_not_import_torch():
    done = run_python("import nn, sys; assert 'torch' not in sys.modules, 'torch imported'")
    assert done.returncode == 0, done.stderr


def test_without_torch_the_bridge_is_one_clear_import_error():
    done = run_python(
        "import sys; sys.modules['torch'] = None  # as if it were not installed\n"
        "import nn\n"
        "for call in (lambda: nn.to_torch(nn.MLP(2, [1])), lambda: nn.from_torch({})):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as e:\n"
        "        print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all("needs PyTorch" in line for line in lines)
    assert "pip install torch" in lines[0] and "torch==2.13.0" in lines[0]


# --- the demo -----------------------------------------------------------------------------------


def load_moons():
    pytest.importorskip("sklearn")
    path = Path(__file__).resolve().parents[2] / "demos" / "moons.py"
    spec = importlib.util.spec_from_file_location("demo_moons_bridge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_moons_demo_continues_in_torch_from_the_same_point(torch, capsys):
    demo = load_moons()
    assert demo.main(["--no-plot", "--steps", "3", "--samples", "30",
                      "--continue-in-torch", "4"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.e+-]+)$", out, re.M)
    assert [int(r[0]) for r in rows] == [3, 4, 5, 6]
    assert all(abs(float(a) - float(b)) < 1e-12 for _, a, b, _ in rows)
    assert float(rows[-1][1]) < float(rows[0][1])  # training went on
    assert "largest loss difference" in out and "OK" in out


def test_moons_demo_fails_when_the_two_continuations_disagree(torch, monkeypatch, capsys):
    demo = load_moons()
    real = demo.train_torch
    monkeypatch.setattr(demo, "train_torch", lambda *a: [x + 1e-6 for x in real(*a)])
    assert demo.main(["--no-plot", "--steps", "2", "--samples", "20",
                      "--continue-in-torch", "2"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_moons_demo_without_torch_says_so_and_trains_here(monkeypatch, capsys):
    demo = load_moons()
    monkeypatch.setattr(demo, "import_torch", lambda: None)
    assert demo.main(["--no-plot", "--steps", "2", "--samples", "20",
                      "--continue-in-torch", "3"]) == 0
    out = capsys.readouterr().out
    assert "PyTorch is not installed (pip install torch)" in out
    assert "continuing from step" not in out
