"""A chain a million nodes deep: backward and zero_grad without recursion."""

from autograd import Value


def test_depth_one_million_backward_and_zero_grad():
    depth = 1_000_000
    x = Value(0.5, label="x")
    y = x
    flips = 0
    for i in range(depth):
        if i % 3:
            y = -y  # one parent, no constant leaf: the cheapest node
            flips += 1
        else:
            y = y + 1.0
    y.backward()  # must not raise RecursionError
    assert x.grad == (-1.0) ** flips
    assert y.grad == 1.0
    y.backward()
    assert x.grad == 2 * (-1.0) ** flips
    y.zero_grad()
    assert x.grad == 0.0 and y.grad == 0.0
    assert y.parents[0].grad == 0.0
