"""explain(): the backward pass step by step; its numbers must agree with the engine's."""

import math
import re

import pytest

from autograd import Value
from autograd.engine import topological_order
from autograd.views.explanation import explain
from autograd.views.names import node_names, num

ADDS = re.compile(
    r"d(\w+)/d(\w+): local .* = (\S+); adds (\S+) \* \(?(\S+?)\)? = (\S+); total (\S+)"
)


def graph():
    x, y = Value(1.5, label="x"), Value(-0.5, label="y")
    f = (x * y + x.sin()) ** 2 / (y.exp() + 1.0) + (x * 3.0).tanh()
    f.label = "f"
    return f, (x, y)


def test_final_gradients_match_backward():
    f, leaves = graph()
    text = explain(f)
    f.backward()
    for leaf in leaves:
        assert f"  df/d{leaf.label} = {num(leaf.grad)}" in text


def test_each_step_is_upstream_times_local():
    f, _ = graph()
    matches = list(ADDS.finditer(explain(f)))
    assert len(matches) >= 10  # every edge from a non-constant operand
    for m in matches:
        upstream, local, added = float(m[4]), float(m[5]), float(m[6])
        assert math.isclose(added, upstream * local, rel_tol=1e-3, abs_tol=2e-4), m[0]


def test_steps_follow_the_backward_order_and_name_every_op_node():
    f, _ = graph()
    names = node_names(f)
    expected = [names[n] for n in topological_order(f) if n.parents]
    steps = re.findall(r"^step \d+: (\w+) = ", explain(f), re.M)
    assert steps == expected


def test_running_totals_add_up_for_a_shared_node():
    a = Value(2.0, label="a")
    s = a * a + a  # ds/da = 2a + 1 = 5, in three contributions
    s.label = "s"
    totals = [float(m[7]) for m in ADDS.finditer(explain(s)) if m[2] == "a"]
    assert len(totals) == 3 and totals[-1] == pytest.approx(5.0)


def test_local_derivative_formulas_are_written_out():
    x = Value(0.3, label="x")
    o = x.tanh()
    o.label = "o"
    text = explain(o)
    assert f"local do/dx = 1 - o**2 = {num(1 - math.tanh(0.3) ** 2)}" in text
    y = x.sigmoid()
    y.label = "s"
    assert "s * (1 - s)" in explain(y)


def test_the_power_rule_is_written_as_a_person_writes_it():
    x = Value(1.5, label="x")
    square = x ** 2
    square.label = "q"
    assert "local dq/dx = 2 * x = 3.0000" in explain(square)
    assert "x**1" not in explain(square)
    cube = x ** 3
    cube.label = "c"
    assert "local dc/dx = 3 * x**2 = 6.7500" in explain(cube)


def test_a_leaf_root():
    x = Value(4.0, label="x")
    assert "x is a leaf" in explain(x)


def test_seed_scales_everything():
    x = Value(2.0, label="x")
    y = x * x
    y.label = "y"
    assert "dy/dx = 8.0000" in explain(y, seed=2.0)


def test_undefined_local_derivative_is_said_not_raised():
    x = Value(0.0, label="x")
    y = x.sqrt()
    y.label = "y"
    assert "undefined here" in explain(y)
