"""draw_dot's DOT source, checked structurally: nodes, edges, labels, numbers, roles, colours."""

import re

import graphviz
import pytest

from autograd import Value, draw_dot
from autograd.views.names import num
from autograd.views.notebook import notebook_bundle

NODE = re.compile(r'^\s*(\w+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\w+))(.*)\]$')
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")


def parse_dot(source):
    """{id: (label, attrs)} and [(tail, head, attrs)] from the source draw_dot writes."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if m := EDGE.match(line):
            edges.append((m[1], m[2], m[3] or ""))
        elif m := NODE.match(line):
            nodes[m[1]] = (m[2] if m[2] is not None else m[3], m[4])
    return nodes, edges


def records(nodes):
    return {i: lab for i, (lab, _) in nodes.items() if lab.startswith("{")}


def neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n)


def test_returns_a_graphviz_digraph():
    o, _ = neuron()
    assert isinstance(draw_dot(o), graphviz.Digraph)


def test_one_record_per_value_one_node_per_op_and_an_edge_per_operand():
    o, _ = neuron()
    nodes, edges = parse_dot(draw_dot(o).source)
    recs = records(nodes)
    ops = [i for i in nodes if i not in recs]
    # values: x1 w1 x2 w2 b, x1*w1, x2*w2, their sum, n, o  -> 10; ops: *, *, +, +, tanh -> 5
    assert len(recs) == 10
    assert len(ops) == 5
    # each op: one edge per operand into it, one edge out of it
    assert len(edges) == 2 + 2 + 2 + 2 + 1 + 5
    for op in ops:
        assert sum(1 for t, h, _ in edges if t == op) == 1


def test_a_plus_a_draws_two_edges():
    a = Value(3.0, label="a")
    y = a + a
    nodes, edges = parse_dot(draw_dot(y).source)
    a_id = next(i for i, lab in records(nodes).items() if lab.startswith("{ a |"))
    into_op = [e for e in edges if e[0] == a_id]
    assert len(into_op) == 2
    assert into_op[0][1] == into_op[1][1]


def test_records_show_label_data_and_grad():
    o, v = neuron()
    labels = set(records(parse_dot(draw_dot(o).source)[0]).values())
    for name, node in v.items():
        assert f"{{ {name} | data {num(node.data)} | grad {num(node.grad)} }}" in labels
    assert f"{{ o | data {num(o.data)} | grad {num(1.0)} }}" in labels


def test_show_grad_false_hides_the_grad_field():
    o, _ = neuron()
    source = draw_dot(o, show_grad=False).source
    assert "| data " in source and "| grad " not in source


def test_edges_carry_the_local_derivative():
    x, y = Value(2.0, label="x"), Value(-5.0, label="y")
    z = x * y
    nodes, edges = parse_dot(draw_dot(z).source)
    ids = {lab.split("|")[0].strip("{ "): i for i, lab in records(nodes).items()}
    label_of = {t: re.search(r'label="([^"]*)"', a)[1] for t, h, a in edges if "label" in a}
    assert label_of[ids["x"]] == f"∂ {num(y.data)}"  # d(xy)/dx = y
    assert label_of[ids["y"]] == f"∂ {num(x.data)}"
    assert "label" not in draw_dot(z, show_local=False).source.split("->", 1)[1]


def test_roles_are_told_apart():
    o, v = neuron()
    k = o * 2.0  # an unlabelled constant
    nodes, _ = parse_dot(draw_dot(k, params=[v["w1"], v["w2"], v["b"]]).source)
    attrs = {lab.split("|")[0].strip("{ "): a for lab, a in nodes.values() if lab.startswith("{")}
    assert "Mrecord" in attrs["w1"] and "Mrecord" in attrs["b"]
    assert "Mrecord" not in attrs["x1"] and "#1b7837" in attrs["x1"]  # input: green border
    out_attrs = [a for lab, a in nodes.values() if "tooltip=output" in a]
    assert len(out_attrs) == 1 and "penwidth=3" in out_attrs[0]
    assert "dashed" in attrs["2"]


def _fill(attrs):
    m = re.search(r'fillcolor="?(#[0-9a-f]{6}|white)', attrs)
    return m[1]


def test_gradients_are_coloured_by_sign_and_strength():
    a, b, c = Value(1.0, label="a"), Value(1.0, label="b"), Value(1.0, label="c")
    y = 4 * a - b + 0.5 * c  # grads: a 4, b -1, c 0.5
    y.backward()
    nodes, _ = parse_dot(draw_dot(y).source)
    fill = {lab.split("|")[0].strip("{ "): _fill(a) for lab, a in nodes.values() if "{" in lab}
    rgb = {k: (int(v[1:3], 16), int(v[3:5], 16), int(v[5:7], 16)) for k, v in fill.items()
           if v.startswith("#")}
    assert rgb["a"][2] > rgb["a"][0]  # positive: blue
    assert rgb["b"][0] > rgb["b"][2]  # negative: red
    assert sum(rgb["a"]) < sum(rgb["c"])  # |4| is deeper than |0.5|
    zero = Value(1.0, label="z")
    w = zero * 0.0
    w.backward()
    nodes, _ = parse_dot(draw_dot(w).source)
    assert any("{ z |" in lab and _fill(a) == "white" for lab, a in nodes.values())


def test_user_labels_are_escaped():
    x = Value(1.0, label='a{b}|"c"<d>')
    source = draw_dot(x * 2).source
    assert r"a\{b\}\|\"c\"\<d\>" in source


def test_over_max_nodes_is_refused_with_the_size_and_a_way_out():
    x = Value(1.0, label="x")
    y = x
    for _ in range(60):
        y = y + 1.0
    with pytest.raises(ValueError, match=r"121 values.*max_nodes=50.*max_nodes=121"):
        draw_dot(y, max_nodes=50)
    assert draw_dot(y, max_nodes=121).source


def test_a_huge_graph_is_refused_without_hanging():
    y = Value(0.0)
    for _ in range(200_000):
        y = y + 1.0
    with pytest.raises(ValueError, match="more than 100,000 values"):
        draw_dot(y)


def test_bad_rankdir():
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(Value(1.0), rankdir="sideways")


def test_rankdir_is_passed_on():
    assert "rankdir=TB" in draw_dot(Value(1.0) * 2, rankdir="TB").source


def test_notebook_shows_text_only_for_a_graph_too_big():
    y = Value(0.0)
    for _ in range(1000):
        y = y + 1.0
    bundle = y._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and bundle["text/plain"] == repr(y)
    assert set(notebook_bundle(y)) == {"text/plain"}


@pytest.mark.parametrize("text", ["end\\", "a\x00b", "tab\there", 'q"uote', "{|}<>"])
def test_odd_op_names_and_labels_still_render(text):
    x = Value(2.0, label=text)
    y = Value(4.0, (x,), text) * 2
    svg = draw_dot(y).pipe(format="svg").decode()
    assert "<svg" in svg


# --- control characters in names reach no picture raw -------------------------------------------

ODD = "w\x00\x1b\x7f\\N{|}<>\""  # a NUL ends Graphviz's input; \N would be the node's id
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def odd_network():
    """A network whose labels and parameter names hold control characters and DOT's specials."""
    import nn

    model = nn.MLP(2, [3, 3, 1], seed=0)
    model.layers[0].neurons[1].w[0].label = ODD
    xs = [Value(0.5, label="x" + ODD), Value(-1.0)]
    y = model(xs)
    y.label = "out" + ODD
    y.backward()
    odd_names = {name.replace("neurons", "neur\x00ons") + "\x1b": p
                 for name, p in model.named_parameters()}
    return y, model, odd_names


def raw_controls(source):
    """Control characters in the DOT source, the indentation and line ends aside."""
    return [c for line in source.splitlines() for c in CONTROL.findall(line.lstrip("\t"))]


@pytest.mark.parametrize("collapse", [None, "neurons", "layers"])
@pytest.mark.parametrize("legend", [False, True])
@pytest.mark.parametrize("named", ["labels", "module", "odd names"])
def test_no_control_character_reaches_the_dot_source(collapse, legend, named):
    y, model, odd_names = odd_network()
    params = {"labels": None, "module": model, "odd names": odd_names}[named]
    for group in (True, False):
        source = draw_dot(y, collapse=collapse, legend=legend, group=group, params=params).source
        assert raw_controls(source) == []


def test_a_collapsed_neurons_tooltip_shows_its_odd_name_escaped_and_renders():
    y, _, odd_names = odd_network()
    graph = draw_dot(y, collapse="neurons", params=odd_names)
    tooltips = re.findall(r'tooltip="((?:[^"\\]|\\.)*)"', graph.source)
    # the name as text: the NUL as \x00 (its backslash escaped), no raw control character
    assert any(t.startswith("layers.0.neur\\\\x00ons.1") for t in tooltips), tooltips[:4]
    assert "<svg" in graph.pipe(format="svg").decode()
    y.label = "out\\N"  # a backslash escape Graphviz would expand
    legend = draw_dot(y, legend=True).source
    assert "doutw" not in legend and "dout\\\\N/d" in legend


def test_frames_and_shared_value_references_escape_names_too():
    from autograd import backward_frames

    x = Value(0.5, label="x" + ODD)
    h = (x * x).tanh()
    h.label = "h" + ODD
    y = h * h + h  # h is read twice: drawn once, referred to elsewhere
    y.label = "y\x00"
    y.backward()
    for graph in [*backward_frames(y), draw_dot(y)]:
        assert raw_controls(graph.source) == []
    assert "<svg" in backward_frames(y)[-1].pipe(format="svg").decode()
