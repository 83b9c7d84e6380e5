"""A dropped graph is freed by reference counting alone: no reference cycles.

The cyclic garbage collector is switched off, so anything a cycle keeps alive stays counted.
"""

import gc

import pytest

from autograd import Value, dot, grad, sum_


def _live_values():
    return sum(1 for o in gc.get_objects() if type(o) is Value)


@pytest.fixture
def no_cyclic_gc():
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_and_use():
    xs = [Value(0.1 * i + 0.2, label=f"x{i}") for i in range(50)]
    hidden = [dot(xs, xs[::-1]).tanh() * x + x for x in xs]  # diamonds everywhere
    loss = sum_(h * h for h in hidden).log() + hidden[0] ** xs[1] - abs(hidden[2]).sqrt()
    loss.backward()
    loss.zero_grad()
    loss.backward()
    return loss


def test_dropping_the_root_frees_every_node(no_cyclic_gc):
    before = _live_values()
    loss = _build_and_use()
    assert _live_values() > before + 100
    del loss
    assert _live_values() == before


def test_nested_grad_leaves_nothing_behind(no_cyclic_gc):
    def f(x, y):
        return (x * y).sin() * x.exp() + (x / y) ** 3

    before = _live_values()
    h = grad(grad(grad(f, 0), 1), 0)(0.7, 1.3)
    assert isinstance(h, float)
    assert _live_values() == before


def test_a_failed_backward_leaves_nothing_behind(no_cyclic_gc):
    before = _live_values()
    x = Value(0.0)
    y = x.sqrt() * 2 + x
    with pytest.raises(ValueError):
        y.backward()
    del x, y
    assert _live_values() == before
