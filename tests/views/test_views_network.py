"""Pictures of networks: neurons and layers found in the graph (by their parameters' names, or by
structure), drawn in boxes, collapsed to one record each on request, summarised past max_nodes."""

import math
import random
import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, draw_dot
from autograd.engine import walk
from autograd.testing.strategies import expression_graphs
from autograd.views import renderers
from autograd.views.layout import find_network
from autograd.views.names import parameter_names

HAVE_RENDERER = renderers._graphviz_pure() is not None or renderers._system_dot() is not None
needs_renderer = pytest.mark.skipif(not HAVE_RENDERER, reason="no Graphviz renderer installed")
NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$')
EDGE = re.compile(r"^\s*(\w+)(?::\w+)? -> (\w+)(?::\w+)?(?: \[(.*)\])?$")


def mlp(sizes=(4, 4, 1), nin=3, activation="relu", labelled=True, seed=0):
    model = nn.MLP(nin, list(sizes), activation=activation, seed=seed)
    if not labelled:
        for p in model.parameters():
            p.label = ""
    out = model([Value(x) for x in (1.0, -2.0, 0.5, 0.25)[:nin]])
    out.backward()
    return model, out


def shape(network):
    return [(layer.label, [n.label for n in layer.neurons]) for layer in network.layers]


def boxes(source):
    """{cluster name: label} of the boxes in a DOT source."""
    found, current = {}, None
    for line in source.splitlines():
        if m := re.match(r"\s*subgraph (cluster_\w+) \{", line):
            current = m[1]
        elif current and (m := re.search(r'\blabel="?([^" ]+)"?', line)) and "[" not in line:
            found[current], current = m[1], None
    return found


def nodes_of(source):
    return {m[1]: (m[2], m[3]) for line in source.splitlines() if (m := NODE.match(line))}


def edges_of(source):
    return [(m[1], m[2], m[3] or "") for line in source.splitlines() if (m := EDGE.match(line))]


# --- finding the network ---------------------------------------------------------------------


def test_an_mlp_is_found_by_its_parameters_names():
    _, out = mlp()
    net = find_network(out, {})
    assert shape(net) == [
        ("layers.0", ["neurons.0", "neurons.1", "neurons.2", "neurons.3"]),
        ("layers.1", ["neurons.0", "neurons.1", "neurons.2", "neurons.3"]),
        ("layers.2", ["neurons.0"]),
    ]
    hidden = net.layers[0].neurons[1]
    assert [m.op for m in hidden.members] == ["dot", "+", "relu"]  # weighted sum, bias, activation
    assert len(hidden.params) == 4 and len(hidden.inputs) == 3
    last = net.layers[2].neurons[0]
    assert last.output is out and last.activation == "linear"


def test_without_names_the_same_neurons_are_found_by_structure():
    model, out = mlp(labelled=False)
    net = find_network(out, {})
    assert [len(layer.neurons) for layer in net.layers] == [4, 4, 1]
    assert [layer.label for layer in net.layers] == ["layer 1", "layer 2", "layer 3"]
    assert {p for n in net.neurons for p in n.params} == set(model.parameters())
    named = find_network(out, parameter_names(model))  # a module passed as params= names them
    assert shape(named)[0][0] == "layers.0"


class MicrogradNeuron:
    """micrograd's own neuron: a running sum `b + w0*x0 + w1*x1 ...`, no `dot`."""

    def __init__(self, nin, nonlin, rnd):
        self.w = [Value(rnd.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return [*self.w, self.b]


def micrograd_mlp(nin, sizes, seed=0):
    rnd = random.Random(seed)
    dims = [nin, *sizes]
    layers = [[MicrogradNeuron(dims[i], i != len(sizes) - 1, rnd) for _ in range(dims[i + 1])]
              for i in range(len(sizes))]

    def forward(x):
        for layer in layers:
            x = [n(x) for n in layer]
        return x[0]

    return forward, [p for layer in layers for n in layer for p in n.parameters()]


def test_micrograd_running_sums_are_neurons_and_a_weight_decay_term_is_not():
    forward, params = micrograd_mlp(2, [3, 3, 1])
    xs = [[Value(1.0), Value(2.0)], [Value(0.5), Value(-1.0)]]
    data_loss = sum(((forward(x) - 1) ** 2 for x in xs), Value(0.0))
    loss = data_loss + 1e-4 * sum(p * p for p in params)
    net = find_network(loss, parameter_names(params))
    assert [len(layer.neurons) for layer in net.layers] == [3, 3, 1, 3, 3, 1]  # two samples
    assert [layer.label for layer in net.layers][3:] == ["layer 1 #2", "layer 2 #2", "layer 3 #2"]
    first = net.layers[0].neurons[0]
    assert [m.op for m in first.members] == ["*", "+", "*", "+", "relu"]  # as the sum runs
    members = {m for n in net.neurons for m in n.members}
    assert not any(len(m.parents) == 2 and m.parents[0] is m.parents[1] for m in members)  # p*p


def test_one_neuron_or_a_plain_expression_is_not_a_network():
    neuron = nn.Neuron(2, seed=0)
    assert find_network(neuron([1.0, 2.0]), {}) is None
    x, w, b = Value(1.0, label="x"), Value(2.0, label="w"), Value(0.5, label="b")
    y = (x * w + b).tanh()
    assert find_network(y, {}) is None
    assert "subgraph" not in draw_dot(y).source


# --- the grouped picture ---------------------------------------------------------------------


def test_the_picture_has_a_box_per_layer_holding_a_box_per_neuron():
    _, out = mlp()
    source = draw_dot(out).source
    found = boxes(source)
    assert sorted(v for k, v in found.items() if re.fullmatch(r"cluster_l\d", k)) == [
        "layers.0", "layers.1", "layers.2"]
    assert sum(1 for k in found if re.fullmatch(r"cluster_l\dn\d", k)) == 9
    # a weight is named inside its neuron's box by what the box does not already say
    assert re.search(r'\{ w\.0 \| data', source) and "layers.0.neurons.0.w.0 |" not in source
    assert "subgraph" not in draw_dot(out, group=False).source
    assert draw_dot(out, group=False).source.count("->") == source.count("->")


def test_found_parameters_are_drawn_as_parameters_and_the_rest_as_inputs():
    _, out = mlp()
    nodes = nodes_of(draw_dot(out).source)
    inputs = [lab for lab, attrs in nodes.values() if "tooltip=input" in attrs]
    assert sorted(lab.split()[1] for lab in inputs) == ["x1", "x2", "x3"]
    assert sum("tooltip=parameter" in attrs for _, attrs in nodes.values()) == 41


# --- collapsed neurons and layers -------------------------------------------------------------


def test_a_collapsed_neuron_is_one_record_with_its_output_and_its_parameters_grads():
    model, out = mlp()
    nodes = nodes_of(draw_dot(out, collapse="neurons").source)
    neurons = {lab.split(" | ")[0]: lab for lab, _ in nodes.values() if "w.grad" in lab}
    assert len(neurons) == 5  # neurons.0 .. neurons.3 (names repeat across layers), 9 records
    assert sum("w.grad" in lab for lab, _ in nodes.values()) == 9
    last = model.layers[2].neurons[0]
    label = neurons["neurons.0  linear"]
    assert f"data {out.data:.4f}" in label and "grad 1.0000" in label
    assert f"b.grad {last.b.grad:.2f}" in label
    assert " ".join(f"{w.grad:.2f}" for w in last.w) in label.replace(" 0 ", " 0.00 ")


def test_an_arrow_into_a_collapsed_neuron_carries_the_neurons_derivative():
    model, out = mlp(sizes=(2, 1), nin=2, activation="tanh")
    source = draw_dot(out, collapse="neurons").source
    nodes, edges = nodes_of(source), edges_of(source)
    first = model.layers[0].neurons[0]
    target = next(i for i, (_, attrs) in nodes.items() if "layers.0.neurons.0:" in attrs)
    h = math.tanh(first.b.data + sum(w.data * x for w, x in zip(first.w, (1.0, -2.0))))
    into = [attrs for _, head, attrs in edges if head == target]
    shown = sorted(float(re.search(r'tooltip="∂ (\S+)"', attrs)[1]) for attrs in into)
    # d tanh(w . x + b) / d x_j = (1 - h^2) w_j: the chain rule through the neuron's own ops
    assert shown == sorted(round((1 - h * h) * w.data, 4) for w in first.w)


def _drawn_order(svg, rankdir):
    """The neurons' indices in each layer's column (LR: top to bottom) or row (TB: left to right),
    read from the positions of the rendered records."""
    places = []
    for group in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S):
        name = re.search(r">(?:layers\.\d+\.)?neurons\.(\d+)", group)
        if name:
            x = float(re.search(r'<text[^>]* x="([-\d.]+)"', group)[1])
            y = float(re.search(r'<text[^>]* y="([-\d.]+)"', group)[1])
            places.append((x, y, int(name[1])))
    across, along = (0, 1) if rankdir == "LR" else (1, 0)
    columns = {}
    for place in places:
        columns.setdefault(round(place[across] / 40), []).append((place[along], place[2]))
    return [[k for _, k in sorted(col)] for _, col in sorted(columns.items())]


@needs_renderer
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_collapsed_neurons_are_drawn_in_index_order(rankdir):
    _, out = mlp(sizes=(12, 12, 1))
    svg = draw_dot(out, collapse="neurons", rankdir=rankdir).pipe(format="svg", encoding="utf-8")
    assert _drawn_order(svg, rankdir) == [list(range(12)), list(range(12)), [0]]


def test_collapsed_layers():
    _, out = mlp()
    nodes = nodes_of(draw_dot(out, collapse="layers").source)
    layers = sorted(lab.split(" | ")[0] for lab, _ in nodes.values() if "params" in lab)
    assert layers == ["layers.0  4 x relu", "layers.1  4 x relu", "layers.2  1 x linear"]
    assert any("16 params, max \\|grad\\|" in lab for lab, _ in nodes.values())


def test_bad_options_are_refused_clearly():
    _, out = mlp()
    with pytest.raises(ValueError, match="collapse must be None, 'neurons' or 'layers'"):
        draw_dot(out, collapse="neuron")
    with pytest.raises(TypeError, match="group must be True or False"):
        draw_dot(out, group="yes")


# --- past max_nodes: a summary, not a refusal -----------------------------------------------------


def test_a_network_over_max_nodes_is_summarised_and_says_so():
    _, out = mlp()
    values = len(walk(out))
    source = draw_dot(out, max_nodes=values - 1).source
    assert f"summary: {values} values" in source and "(9 neurons)" in source
    assert sum("w.grad" in lab for lab, _ in nodes_of(source).values()) == 9
    assert "(9 neurons)" in draw_dot(out, max_nodes=12).source  # 9 neurons and 3 inputs
    source = draw_dot(out, max_nodes=11).source  # too many: the layers
    assert "(3 layers)" in source
    with pytest.raises(ValueError, match="even with each layer drawn as one box it would have 6"):
        draw_dot(out, max_nodes=5)


def test_a_batch_over_max_nodes_is_summarised_sample_by_sample():
    model = nn.MLP(2, [16, 16, 1], seed=1)
    rnd = random.Random(0)
    xs = [[rnd.uniform(-1, 1), rnd.uniform(-1, 1)] for _ in range(6)]
    loss = sum((1 + -1.0 * model(x)).relu() for x in xs)
    loss.backward()
    assert len(walk(loss)) < 1000  # but its arrows are over 4 per value
    source = draw_dot(loss).source
    assert "(198 neurons)" in source  # 33 neurons a sample
    assert "layers.0 #6" in source


def test_a_graph_that_is_not_a_network_is_still_refused():
    y = Value(0.0)
    for _ in range(1000):
        y = y + 1.0
    with pytest.raises(ValueError, match="over max_nodes=1,000"):
        draw_dot(y)


# --- the rendered pictures -----------------------------------------------------------------------


def png_size(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@needs_renderer
def test_a_small_mlp_collapsed_reads_at_1600_pixels():
    _, out = mlp()
    width, height = png_size(draw_dot(out, collapse="neurons").pipe(format="png"))
    assert width <= 1600 and height <= 1000


@needs_renderer
def test_micrograds_moons_mlp_draws_every_neuron():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    out = model([1.0, -2.0])
    out.backward()
    svg = draw_dot(out, collapse="neurons").pipe(format="svg", encoding="utf-8")
    assert svg.count("w.grad") == 33
    width, _ = png_size(draw_dot(out, collapse="neurons").pipe(format="png"))
    assert width <= 1600


# --- any graph: grouping never breaks a picture ---------------------------------------------


@settings(max_examples=60, deadline=None)
@given(expression_graphs(max_inputs=4, max_steps=10,
                         ops=["dot", "+", "*", "relu", "tanh", "sum", "identity"]),
       st.sampled_from([None, "neurons", "layers"]))
def test_any_graph_draws_whole_with_or_without_collapsing(expr, collapse):
    leaves = [Value(0.5 + 0.25 * i) for i in range(expr.n_inputs)]
    root = expr(*leaves)
    if not isinstance(root, Value):
        return
    root.backward()
    source = draw_dot(root, collapse=collapse).source
    nodes = {m[1] for line in source.splitlines() if (m := re.match(r"\s*(\w+) \[", line))}
    edges = edges_of(source)
    assert edges or len(walk(root)) == 1
    assert all(tail in nodes and head in nodes for tail, head, _ in edges)
    if collapse is None:  # boxes or not, the same values and arrows
        plain = draw_dot(root, group=False).source
        assert sorted(nodes) == sorted(
            m[1] for line in plain.splitlines() if (m := re.match(r"\s*(\w+) \[", line)))
        assert len(edges) == len(edges_of(plain))


def test_a_network_too_dense_for_neurons_is_summarised_by_layers():
    from autograd import sum_

    model = nn.MLP(8, [64, 64, 10], seed=0)
    picture = draw_dot(sum_(model([0.1] * 8)))  # 5,000+ arrows between the neurons
    assert "each layer is drawn as one box" in picture.source
