"""The plain-number shortcuts some ops carry must agree with their forward rule and derivative."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from autograd.ops import OPS

FAST = [op for op in OPS.values() if op.fast is not None]


def test_the_hot_activations_have_a_shortcut():
    assert {op.name for op in FAST} >= {"relu", "tanh", "sigmoid"}


@pytest.mark.parametrize("op", FAST, ids=lambda op: op.name)
@settings(max_examples=200, deadline=None)
@given(x=st.floats(-800, 800, allow_nan=False) | st.sampled_from([0.0, -0.0, 1e-300, -1e-300]))
def test_shortcut_matches_forward_and_derivative(op, x):
    y, d = op.fast(x)
    assert y == op.forward(x)
    assert d == op.derivatives[0](x, op.forward(x))


@pytest.mark.parametrize("op", FAST, ids=lambda op: op.name)
def test_methods_record_the_shortcut_values(op):
    for x in (-2.5, 0.0, 0.7):
        v = Value(x)
        out = getattr(v, op.name)()
        out.backward()
        y, d = op.fast(x)
        assert out.data == y and v.grad == d
        assert math.isfinite(v.grad)
