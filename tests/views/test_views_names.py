"""What the views call things and in which order they list them; parameters shown as
parameters; bad arguments refused with a clear error."""

import math
import re

import pytest

import nn
from autograd import Value, backward_frames, draw_dot, explain, text_tree
from autograd.cli import main
from autograd.views.names import node_names, reading_order

VIEWS = {"text_tree": text_tree, "explain": explain, "draw_dot": draw_dot,
         "backward_frames": backward_frames}


# --- clear errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("root", [3.0, None, "x", [Value(1.0)]])
def test_every_view_refuses_what_is_not_a_value(view, root):
    with pytest.raises(TypeError, match=rf"{view}: expected a Value, got {type(root).__name__}"):
        VIEWS[view](root)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("max_nodes", "error"), [
    (math.nan, TypeError), (1.5, TypeError), (True, TypeError), ("10", TypeError),
    (-1, ValueError), (0, ValueError),
])
def test_every_view_refuses_a_bad_max_nodes(view, max_nodes, error):
    y = Value(1.0, label="x") * 2
    with pytest.raises(error, match=rf"{view}: max_nodes must be"):
        VIEWS[view](y, max_nodes=max_nodes)


def test_a_label_that_is_not_text_is_shown_as_text():
    x = Value(2.0)
    x.label = 123
    y = x * x
    y.backward()
    assert "{ 123 | data 2.0000 | grad 4.0000 }" in draw_dot(y).source
    assert text_tree(y).splitlines()[1].split()[1] == "123"
    assert "dv1/d123 = 4.0000" in explain(y)


def test_bad_params_are_refused():
    y = Value(1.0) * 2
    with pytest.raises(TypeError, match="params: expected Values"):
        draw_dot(y, params=3)
    with pytest.raises(TypeError, match="item 2 is a float"):
        text_tree(y, params=[Value(1.0), 2.0])


# --- parameters are parameters ------------------------------------------------------------------


def neuron(labelled=False):
    """An nn neuron on two labelled inputs; its parameters' labels removed unless `labelled`."""
    model = nn.Neuron(2, seed=0, activation="tanh")
    if not labelled:
        for p in model.parameters():
            p.label = ""
    out = model([Value(0.5, label="u"), Value(-1.5, label="v")])
    out.backward()
    return model, out


@pytest.mark.parametrize("labelled", [False, True])
def test_parameters_show_their_gradients_in_every_view(labelled):
    model, out = neuron(labelled)
    names = ("w.0", "w.1", "b") if labelled else ("p1", "p2", "p3")
    tree, told, source = text_tree(out), explain(out), draw_dot(out).source
    assert "(constant)" not in tree
    for p, name in zip(model.parameters(), names):
        assert p.grad != 0
        line = next(line for line in tree.splitlines() if re.search(rf"── {name} ", line))
        assert line.split()[-1] == f"{p.grad:.4f}"
        assert f"dv3/d{name} = {p.grad:.4f}" in told
        assert re.search(rf"\{{ {name} \| data \S+ \| grad {p.grad:.4f} \}}", source)
    assert f"dot([{names[0]}, {names[1]}], [u, v])" in tree  # not the parameters' numbers


@pytest.mark.parametrize("form", ["module", "dict", "pairs", "list"])
def test_params_may_be_a_module_a_dict_pairs_or_a_list(form):
    model, out = neuron()
    given = {"module": model, "dict": dict(model.named_parameters()),
             "pairs": model.named_parameters(), "list": model.parameters()}[form]
    names = ["w.0", "w.1", "b"] if form != "list" else ["p1", "p2", "p3"]
    source = draw_dot(out, params=given).source
    for name in names:
        attrs = re.search(rf'\[label="\{{ {re.escape(name)} \|[^\]]*', source)[0]
        assert "Mrecord" in attrs and "#762a83" in attrs  # drawn as a parameter
    assert f"d{'v3'}/d{names[0]} =" in explain(out, params=given)
    assert f"── {names[2]} " in text_tree(out, params=given)
    assert "Gradients of the inputs and parameters:" in explain(out, params=given)


def test_with_params_given_the_other_unlabelled_leaves_are_inputs():
    w, x = Value(0.5), Value(2.0)
    y = w * x
    names = node_names(y, {"weight": w})
    assert (names[w], names[x]) == ("weight", "x1")
    source = draw_dot(y, params={"weight": w}).source
    assert re.search(r"\{ x1 \|[^\]]*#1b7837", source)  # green: an input


# --- names and orders ----------------------------------------------------------------------


def test_results_are_numbered_in_the_order_python_makes_them():
    x, w1, y, w2, b = (Value(v, label=n) for n, v in
                       dict(x=2.0, w1=-3.0, y=0.0, w2=1.0, b=6.88).items())
    f = x * w1 + y * w2 + b
    names = node_names(f)
    assert names[f.parents[0].parents[0]] == "v1"  # x * w1, made first
    assert names[f.parents[0].parents[1]] == "v2"


def test_the_command_line_names_and_lists_in_the_order_of_the_expression(capsys, tmp_path):
    at = ["--at", "b=6.88", "w2=1", "y=0", "w1=-3", "x=2", "z=5"]  # --at order is not used
    assert main(["x*w1 + y*w2 + b", *at, "--tree", "--explain", "-o",
                 str(tmp_path / "g.dot")]) == 0
    out = capsys.readouterr().out
    order = ["x", "w1", "y", "w2", "b"]
    printed = re.findall(r"^d/d(\w+) = ", out, re.M)
    assert printed == order + ["z"]  # an unused variable comes last
    tree = re.findall(r"── (\w+)  +data", out)
    assert [n for n in tree if n in order] == order
    assert re.search(r"── v1 = x \* w1 ", out) and re.search(r"── v2 = y \* w2 ", out)
    listed = re.findall(r"^  df/d(\w+) = ", out, re.M)
    assert listed == order
    legend = re.search(r"gradients: ([^\"]*)", (tmp_path / "g.dot").read_text())[1]
    assert re.findall(r"df/d(\w+) =", legend) == order


def test_reading_order_is_the_order_the_formula_reads():
    x, y, z = Value(1.0, label="x"), Value(2.0, label="y"), Value(3.0, label="z")
    f = y * (x + y) - z * x
    labels = [n.label for n in reading_order(f) if n.label]
    assert labels == ["y", "x", "z"]
    a = x * y
    g = (a * z) * (x + a)  # x reached through a first: a's operands come before z
    assert [n.label for n in reading_order(g) if n.label] == ["x", "y", "z"]


def test_numbers_in_an_expression_are_constants_not_inputs(capsys):
    assert main(["x + 2*3 + sin(0)", "--at", "x=1", "--tree", "--explain"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"── 6 +\(constant\)", out) and "v1 = x + 6" in out
    assert "p1" not in out and re.findall(r"^d/d(\w+) = ", out, re.M) == ["x"]
