"""The HTML pages without a browser: the numbers they carry are the engine's, the document is
self-contained and safe with any label, groups follow the parameters' names, the command line
and the training recorder write them. (tests/views/test_page_browser.py opens them in Chromium.)"""

import html
import json
import math
import re

import pytest

from autograd import Value, draw_html, sum_
from autograd.backward import operand_order
from autograd.cli import main
from autograd.engine import is_constant, local_derivatives, topological_order, walk
from autograd.views import HtmlPage
from autograd.views.explanation import backward_steps
from autograd.views.names import node_names
from autograd.views.page import graph_data, name_groups
from nn import MLP, Neuron, Recorder
from nn.losses import hinge
from nn.record import float_forward
from nn.training_page import training_html


def neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    return o


def page_data(document):
    """The JSON a page carries, read back as strictly as the browser reads it (no bare NaN)."""
    found = re.search(r'<script type="application/json" id="gradwalk-data">(.*?)</script>',
                      document, re.S)
    assert found, "no data element"
    def refuse(constant):
        raise AssertionError(f"bare {constant} in the page's JSON: JSON.parse refuses it")

    return json.loads(found.group(1), parse_constant=refuse)


def number(x):
    return float(x) if isinstance(x, str) else x


def same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


# --- the numbers are the engine's ------------------------------------------------------------


def test_every_value_edge_and_step_is_the_engines():
    o = neuron()
    data = page_data(draw_html(o))
    forward = topological_order(o)[::-1]
    names = node_names(o)
    nodes = data["nodes"]
    assert nodes["name"] == [names[n] for n in forward]
    assert nodes["data"] == [n.data for n in forward]
    assert nodes["grad"] == [n.grad for n in forward]
    assert nodes["pass"] == [n.grad for n in forward]  # one backward: the pass is .grad, to the bit
    expected_locals = [d for n in forward if n.parents for d in local_derivatives(n)]
    assert data["edges"]["local"] == expected_locals
    steps, _ = backward_steps(o)
    assert [s[0] for s in data["steps"]] == [forward.index(s.node) for s in steps]
    assert [[a[1:] for a in s[2]] for s in data["steps"]] == \
        [[[a.added, a.total] for a in s.additions] for s in steps]
    assert data["root"] == forward.index(o)


def test_the_steps_follow_backwards_order_and_their_totals_are_grad():
    random_graph = Value(0.3, label="a")
    b = Value(-1.2, label="b")
    y = (random_graph * b + random_graph.exp() * b.sin() - b / (random_graph + 3)) ** 2
    y.label = "y"
    y.backward()
    data = page_data(draw_html(y))
    names = data["nodes"]["name"]
    order = [names[s[0]] for s in data["steps"]]
    expected = node_names(y)
    assert order == [expected[n] for n in topological_order(y) if n.parents]
    last_total = {}
    for _, _, additions in data["steps"]:
        for edge, _, total in additions:
            last_total[data["edges"]["src"][edge]] = total
    forward = topological_order(y)[::-1]
    for i, node in enumerate(forward):
        if node.parents or is_constant(node):
            continue
        assert last_total[i] == node.grad, names[i]


def test_a_dot_is_added_in_backwards_pairwise_order():
    xs = [Value(float(i), label=f"x{i}") for i in range(3)]
    ws = [Value(0.5 * i - 1, label=f"w{i}") for i in range(3)]
    from autograd import dot

    y = dot(xs, ws)
    y.label = "y"
    y.backward()
    data = page_data(draw_html(y))
    first = 0  # y is the only op: its edges start at 0
    used = [edge - first for edge, _, _ in data["steps"][0][2]]
    assert used == operand_order(y)


def test_practice_questions_come_after_all_their_uses_and_skip_constants():
    x = Value(1.5, label="x")
    y = 2 * x * x + 3
    y.label = "y"
    data = page_data(draw_html(y))
    forward = topological_order(y)[::-1]
    asked = [forward[i] for i in data["questions"]]
    assert y not in asked and not any(is_constant(n) for n in asked)
    assert asked[-1] is x and len(asked) == len([n for n in forward if not is_constant(n)]) - 1
    position = {n: k for k, n in enumerate(asked)}
    for n in asked:
        for p in n.parents:
            if p in position:
                assert position[p] > position[n]


def test_a_grad_left_by_two_passes_is_shown_as_it_is_beside_the_pass():
    x = Value(2.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    y.backward()
    nodes = page_data(draw_html(y))["nodes"]
    i = nodes["name"].index("x")
    assert nodes["grad"][i] == 8.0 and nodes["pass"][i] == 4.0


def test_non_finite_numbers_travel_as_names():
    x = Value(0.0, label="x")
    y = x.sqrt()  # d sqrt / dx at 0: infinite
    y.label = "y"
    document = draw_html(y)
    data = page_data(document)
    assert data["edges"]["local"][0] in ("Infinity", "NaN")


def test_an_op_made_micrographs_way_is_drawn_with_its_numbers():
    a, b = Value(3.0, label="a"), Value(4.0, label="b")
    out = Value(a.data * b.data + a.data, (a, b), "mulplus")

    def _backward():
        a.grad += (b.data + 1) * out.grad
        b.grad += a.data * out.grad

    out._backward = _backward
    out.label = "m"
    out.backward()
    data = page_data(draw_html(out))
    assert data["nodes"]["op"][data["root"]] == "mulplus"
    assert data["edges"]["local"] == list(local_derivatives(out))
    assert sorted(data["nodes"]["grad"]) == sorted([a.grad, b.grad, 1.0])


# --- the document ----------------------------------------------------------------------------


def test_the_page_is_one_self_contained_document():
    document = draw_html(neuron())
    assert document.startswith("<!DOCTYPE html>") and document.rstrip().endswith("</html>")
    assert not re.search(r"\b(?:src|href)\s*=\s*[\"'](?!data:)", document)
    assert "@import" not in document and "url(" not in document
    assert not re.search(r"https?://", document)
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\b",
                         document)
    assert "default-src 'none'" in document  # the browser itself refuses any fetch


@pytest.mark.parametrize("label", ["</script><script>alert(1)</script>", "<!--", "a&b\"'<>",
                                   "\u2028line\u2029", "{{DATA}}", "∂ λ ü"])
def test_any_label_stays_data(label):
    x = Value(1.0, label=label)
    y = x * 2
    y.label = "y"
    document = draw_html(y, title=label)
    assert document.count("<script") == 2 and document.count("</script>") == 2
    assert page_data(document)["nodes"]["name"].count(label) == 1
    assert f"<title>{html.escape(label)}</title>" in document


def test_draw_html_writes_the_file_and_returns_the_text(tmp_path):
    target = tmp_path / "graph.html"
    page = draw_html(neuron(), target)
    assert isinstance(page, str) and isinstance(page, HtmlPage)
    assert target.read_text(encoding="utf-8") == str(page)
    assert page.write(tmp_path / "again.html").read_text(encoding="utf-8") == page
    assert repr(page).startswith("<HtmlPage: ") and len(repr(page)) < 100


def test_the_notebook_shows_the_page_in_a_frame_of_its_own():
    page = draw_html(neuron())
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"")
    assert 'sandbox="allow-scripts allow-downloads"' in frame
    inner = frame.split('srcdoc="', 1)[1].split('" style=', 1)[0]
    assert "<" not in inner and '"' not in inner  # all escaped into the attribute
    assert html.unescape(inner) == page


def test_bad_arguments_are_refused_clearly():
    y = neuron()
    with pytest.raises(TypeError, match="expected a Value, got float"):
        draw_html(1.5)
    with pytest.raises(ValueError, match="over max_nodes=3"):
        draw_html(y, max_nodes=3)
    with pytest.raises(ValueError, match="rankdir"):
        draw_html(y, rankdir="XX")
    with pytest.raises(TypeError, match="params"):
        draw_html(y, params=3)


def test_params_name_the_leaves_as_the_other_views_do():
    w, x = Value(0.5), Value(2.0)
    y = w * x
    y.label = "y"
    nodes = page_data(draw_html(y, params={"weight": w}))["nodes"]
    assert "weight" in nodes["name"]
    assert nodes["role"][nodes["name"].index("weight")] == "p"


def test_every_rankdir_makes_a_page():
    for rankdir in ("LR", "TB", "RL", "BT"):
        assert page_data(draw_html(neuron(), rankdir=rankdir))["rankdir"] == rankdir


# --- groups ----------------------------------------------------------------------------------


def test_name_groups():
    assert name_groups("layers.0.neurons.1.w.0") == ["layers.0", "layers.0.neurons.1"]
    assert name_groups("neurons.3.b") == ["neurons.3"]
    assert name_groups("w.0") == [] and name_groups("0") == [] and name_groups("b") == []
    assert name_groups("0.neurons.1.w.0") == ["0", "0.neurons.1"]  # a plain list of layers
    model_like = {f"{k}.neurons.0.w.0": Value(0.5 + k) for k in range(2)}
    x = Value(1.0, label="x")
    y = (x * model_like["0.neurons.0.w.0"]) * model_like["1.neurons.0.w.0"]
    groups = graph_data(y, params=model_like)["groups"]
    assert [g[0] for g in groups] == ["0", "0.neurons.0", "1", "1.neurons.0"]
    assert [g[2] for g in groups] == ["group", "neuron", "group", "neuron"]


def test_an_mlps_values_fall_into_its_neurons_and_layers():
    model = MLP(2, [3, 1], seed=0)
    scores = [model([0.5, -1.0]), model([1.0, 2.0])]
    loss = hinge(scores, [1, -1])
    loss.label = "loss"
    data = graph_data(loss)
    groups = data["groups"]
    names = [g[0] for g in groups]
    assert set(names) == {"layers.0", "layers.1", *(f"layers.0.neurons.{i}" for i in range(3)),
                          "layers.1.neurons.0"}
    for name, parent, kind in groups:
        assert kind == ("neuron" if ".neurons." in name else "layer")
        assert (parent == -1) == (name.count(".") == 1)
        if parent >= 0:
            assert name.startswith(groups[parent][0] + ".")
    forward = topological_order(loss)[::-1]
    group_of = {n: (groups[g][0] if g >= 0 else None)
                for n, g in zip(forward, data["nodes"]["group"], strict=True)}
    for score in scores:  # each neuron's three nodes (dot, + b, activation) are the neuron's
        assert group_of[score] == "layers.1.neurons.0"
        dot = score.parents[0]  # the last layer is linear: score = dot(w, x) + b
        assert dot.op == "dot" and group_of[dot] == "layers.1.neurons.0"
        for k, hidden in enumerate(dot.parents[3:]):  # dot(w, x): the relus of layer 0
            assert hidden.op == "relu" and group_of[hidden] == f"layers.0.neurons.{k}"
            assert group_of[hidden.parents[0]] == group_of[hidden.parents[0].parents[0]]
    for n in walk(loss):
        if n.label.startswith("layers."):
            neuron = n.label.split(".w.")[0].removesuffix(".b")
            assert group_of[n] == neuron, n.label
    assert group_of[loss] is None  # the loss is nobody's neuron


def test_an_mlp_page_has_each_layer_after_its_own_neurons():
    model = MLP(3, [4, 4, 1], seed=0)
    out = model([1.0, -2.0, 0.5])
    data = graph_data(out)
    index = {g[0]: i for i, g in enumerate(data["groups"])}
    for name, parent, _ in data["groups"]:
        assert parent < index[name]


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_writes_a_page(tmp_path, capsys):
    target = tmp_path / "graph.html"
    argv = ["tanh(x*w1 + y*w2 + b)", "--at", "x=2", "y=0", "w1=-3", "w2=1", "b=6.88",
            "--params", "w1", "w2", "b", "-o", str(target)]
    assert main(argv) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    data = page_data(target.read_text(encoding="utf-8"))
    roles = dict(zip(data["nodes"]["name"], data["nodes"]["role"]))
    assert roles["w1"] == "p" and roles["x"] == "i" and roles["f"] == "o"


def test_the_command_line_says_when_the_page_cannot_be_written(tmp_path, capsys):
    assert main(["x*y", "--at", "x=1", "y=2", "-o", str(tmp_path / "no" / "g.html")]) == 1
    assert "does not exist" in capsys.readouterr().err


# --- the training page -----------------------------------------------------------------------


def run_training(steps=4, grid=8):
    model = MLP(2, [4, 1], seed=3)
    X = [[0.0, 1.0], [1.0, 0.0], [-1.0, -0.5], [0.5, 0.5]]
    y = [1, -1, 1, -1]
    rec = Recorder(model, inputs=X, targets=y, grid=grid)
    seen = []
    for _ in range(steps):
        scores = [model(x) for x in X]
        loss = hinge(scores, y)
        model.zero_grad()
        loss.backward()
        rec.snapshot(loss, accuracy=0.5)
        seen.append(([p.data for p in model.parameters()], [p.grad for p in model.parameters()],
                     loss.data))
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    return model, rec, seen


def test_the_recorder_keeps_each_steps_numbers():
    model, rec, seen = run_training()
    record = rec.record()
    count = len(model.parameters())
    assert record["names"] == [n for n, _ in model.named_parameters()]
    assert record["steps"] == [0, 1, 2, 3]
    assert record["loss"] == [s[2] for s in seen]
    assert record["data"] == [x for s in seen for x in s[0]]
    assert record["grad"] == [x for s in seen for x in s[1]]
    assert len(record["boundary"]["scores"]) == 4 * 8 * 8
    assert record["metrics"] == {"accuracy": [0.5] * 4}
    assert len(record["data"]) == 4 * count


def test_the_boundary_is_the_models_output_on_the_grid():
    model = MLP(2, [4, 1], seed=3)
    rec = Recorder(model, inputs=[[0.0, 1.0], [2.0, -1.0]], targets=[1, -1], grid=5)
    rec.snapshot(0.0)
    box = rec.record()["boundary"]
    assert (box["x0"], box["x1"], box["y0"], box["y1"]) == (-1.0, 3.0, -2.0, 2.0)
    lattice = [(-1.0 + i, -2.0 + j) for j in range(5) for i in range(5)]  # bottom row first
    for (x, y), score in zip(lattice, box["scores"], strict=True):
        assert score == pytest.approx(model([x, y]).data, abs=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
def test_the_fast_forward_agrees_with_the_model(activation):
    for model in (MLP(2, [5, 3], activation=activation, output_activation=activation, seed=1),
                  Neuron(2, activation, seed=2)):
        run = float_forward(model)
        for point in [(0.3, -0.7), (2.0, 1.5), (-3.0, 0.1)]:
            got = run([point])[0]
            want = model(list(point))
            want = want if isinstance(want, list) else [want]
            assert got == pytest.approx([v.data for v in want], abs=1e-12)


def test_the_recorder_refuses_bad_use():
    model = MLP(2, [2, 1], seed=0)
    rec = Recorder(model)
    with pytest.raises(ValueError, match="no snapshot"):
        rec.to_html()
    rec.snapshot(1.0, accuracy=0.5)
    with pytest.raises(ValueError, match="same metrics"):
        rec.snapshot(0.5)
    with pytest.raises(TypeError, match="expected numbers"):
        rec.snapshot("low", accuracy=0.5)
    assert len(rec.steps) == 1  # the refused snapshots left nothing behind
    with pytest.raises(TypeError, match="nn module"):
        Recorder(3)
    with pytest.raises(ValueError, match="grid"):
        Recorder(model, inputs=[[0, 0]], grid=1)
    with pytest.raises(ValueError, match="targets"):
        Recorder(model, inputs=[[0, 0], [1, 1]], targets=[1])


def test_training_html_checks_the_record():
    good = {"names": ["w"], "steps": [0], "loss": [1.0], "metrics": {}, "data": [0.1],
            "grad": [0.2]}
    assert training_html(good).startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="grad has 2 numbers, expected 1"):
        training_html({**good, "grad": [0.2, 0.3]})
    with pytest.raises(ValueError, match="no 'loss'"):
        training_html({k: v for k, v in good.items() if k != "loss"})
    with pytest.raises(TypeError, match="expected a record"):
        training_html([1, 2])
    with pytest.raises(ValueError, match="no snapshot"):
        training_html({**good, "steps": [], "loss": [], "data": [], "grad": []})
    box = {"x0": 0, "x1": 1, "y0": 0, "y1": 1, "n": 2, "scores": [0.0] * 4, "labels": [1]}
    assert "boundary" in training_html({**good, "boundary": {**box, "points": [[0.5, 0.5]]}})
    with pytest.raises(ValueError, match="finite"):
        training_html({**good, "boundary": {**box, "points": [[float("nan"), 0.5]]}})
    with pytest.raises(ValueError, match="scores has 3 numbers, expected 4"):
        training_html({**good, "boundary": {**box, "points": [[0, 0]], "scores": [0.0] * 3}})


def test_the_moons_network_with_100_snapshots_stays_under_5_mb(tmp_path):
    # micrograd's moons network and data size; the grid's numbers do not change the size
    model = MLP(2, [16, 16, 1], seed=0)
    points = [[math.cos(k / 10), math.sin(k / 7)] for k in range(100)]
    rec = Recorder(model, inputs=points, targets=[1 if k % 2 else -1 for k in range(100)])
    rec._evaluate = lambda lattice: [[0.5] for _ in lattice]
    loss = sum_([p * p for p in model.parameters()])
    loss.backward()
    for _ in range(100):
        rec.snapshot(loss, accuracy=0.97)
    size = rec.write_html(tmp_path / "moons.html").stat().st_size
    assert 1e6 < size < 5e6, size


def test_a_tape_page_and_a_tape_refused_by_draw_dot_point_to_its_source():
    from autograd import draw_dot, tape

    w = Value(0.5, label="w")
    t = tape(lambda x: (w * x).tanh(), 2.0)
    page = draw_html(t)
    assert html.escape(t.source) in page and "t.source" in page
    with pytest.raises(TypeError, match=r"t\.source"):
        draw_dot(t)


def test_a_python_sum_is_one_foldable_group_and_its_terms_ride_along():
    losses = [(Value(float(k), label=f"x{k}") * 2).relu() for k in range(10)]
    total = sum(losses)
    total.label = "total"
    total.backward()
    data = page_data(draw_html(total))
    chains = [i for i, a in enumerate(data["about"]) if "chain" in a]
    assert len(chains) == 1
    assert data["about"][chains[0]]["chain"] == ["+", 10, "terms"]
    names = data["nodes"]["name"]
    inside = {names[i] for i, g in enumerate(data["nodes"]["group"]) if g == chains[0]}
    assert "total" in inside
    assert not any(f"x{k}" in inside for k in range(10))  # the inputs stay out
    short = sum(losses[:3])  # too short to fold
    short.backward()
    assert not page_data(draw_html(short))["groups"]


def test_a_fixed_point_node_carries_its_relaxations():
    from autograd import fixed_point

    w = Value(0.5, label="w")
    xs = fixed_point(lambda x: [(w * x[0] + 0.3).tanh()], [0.0])
    y = xs[0] * 2
    y.backward()
    data = page_data(draw_html(y))
    details = [d for d in data["nodes"]["details"] if d]
    assert details == [[["outputs", 1], ["iterations", xs.forward.iterations],
                        ["residual", xs.forward.residual],
                        ["adjoint iterations", xs.adjoint.iterations],
                        ["adjoint residual", xs.adjoint.residual]]]
