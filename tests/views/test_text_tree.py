"""The terminal tree view: one line per node, shared nodes drawn once, constants inline."""

import pytest

from autograd import Value, text_tree
from autograd.views.names import node_names, num


def test_tree_lines_follow_the_graph():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = (x * w).tanh()
    y.label = "y"
    y.backward()
    lines = text_tree(y, ascii=True).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("y = tanh(v1)")
    assert lines[1].startswith("`-- v1 = x * w")
    assert lines[2].startswith("    |-- x ") and lines[3].startswith("    `-- w ")
    for line, node in zip(lines, (y, y.parents[0], x, w)):
        assert f"data {num(node.data):>10}" in line and f"grad {num(node.grad):>10}" in line


def test_a_shared_node_is_drawn_once_then_referred_to():
    a = Value(3.0, label="a")
    s = a * a + a  # a is used three times
    uses = [line for line in text_tree(s).splitlines() if "── a " in line]
    assert len(uses) == 3
    assert sum("data" in line for line in uses) == 1
    assert sum("(see above)" in line for line in uses) == 2


def test_constants_are_written_as_numbers():
    x = Value(1.5, label="x")
    lines = text_tree(2.5 * x).splitlines()
    assert lines[0].startswith("v1 = 2.5 * x")
    assert any(line.strip().endswith("(constant)") and "2.5" in line for line in lines)


def test_show_grad_false():
    assert "grad" not in text_tree(Value(1.0, label="x") + 1, show_grad=False)


def test_names_are_unique_even_when_labels_repeat():
    a, b = Value(1.0, label="h"), Value(2.0, label="h")
    names = node_names(a * b)
    assert sorted(names[n] for n in (a, b)) == ["h", "h_2"]


def test_deep_chain_without_recursion():
    y = Value(1.0, label="x")
    for _ in range(3000):
        y = y * 1.0
    assert len(text_tree(y, max_nodes=10_000).splitlines()) == 6001


def test_too_big_is_refused():
    y = Value(1.0)
    for _ in range(50):
        y = y + 1
    with pytest.raises(ValueError, match="max_nodes=20"):
        text_tree(y, max_nodes=20)
