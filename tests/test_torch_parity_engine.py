"""The same random expression graphs against PyTorch float64 autograd (skips without torch)."""

import itertools

import pytest
from hypothesis import given, settings

from autograd import grad
from autograd.ops import OPS
from autograd.testing import op_examples
from autograd.testing.strategies import expressions

torch = pytest.importorskip("torch")

RTOL = 1e-9


def _torch_derivatives(expr):
    """(value, gradient, Hessian) by torch.autograd.grad with create_graph, in float64."""
    xs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in expr.point]
    root = expr.on_torch(*xs)
    if not root.requires_grad:  # a constant expression (all inputs unused)
        n = len(xs)
        return root.item(), [0.0] * n, {ij: 0.0 for ij in itertools.product(range(n), repeat=2)}
    firsts = torch.autograd.grad(root, xs, create_graph=True, allow_unused=True)
    gradient, hessian = [], {}
    for i, g in enumerate(firsts):
        gradient.append(0.0 if g is None else g.item())
        seconds = [None] * len(xs)
        if g is not None and g.requires_grad:
            seconds = torch.autograd.grad(g, xs, retain_graph=True, allow_unused=True)
        for j, h in enumerate(seconds):
            hessian[i, j] = 0.0 if h is None else h.item()
    return root.item(), gradient, hessian


@settings(max_examples=80)
@given(expressions())
def test_value_and_gradient_match_torch(expr):
    value, gradient, _ = _torch_derivatives(expr)
    xs = expr.variables()
    root = expr(*xs)
    root.backward()
    assert abs(root.data - value) <= 1e-12 * max(1.0, abs(value))
    for i, (x, scale) in enumerate(zip(xs, expr.gradient_scale())):
        assert abs(x.grad - gradient[i]) <= RTOL * scale, (i, x.grad, gradient[i])


@settings(max_examples=60)
@given(expressions(max_steps=5))
def test_hessian_matches_torch(expr):
    _, _, hessian = _torch_derivatives(expr)
    scale = max([*map(abs, hessian.values()), *expr.gradient_scale()])
    for (i, j), h in hessian.items():
        engine = grad(grad(expr, argnums=i), argnums=j)(*expr.point)
        assert abs(engine - h) <= RTOL * max(abs(h), scale), ((i, j), engine, h)


ONE_OP = [pytest.param(e, id=f"{e.steps[0].op}-{e.steps[0].arg}-{e.point}")
          for op in OPS.values() for e in op_examples(op)]


@pytest.mark.parametrize("expr", ONE_OP)
def test_each_op_matches_torch_to_second_order(expr):
    _, gradient, hessian = _torch_derivatives(expr)
    engine_gradient = grad(expr, argnums=tuple(range(expr.n_inputs)))(*expr.point)
    for i, g in enumerate(gradient):
        assert abs(engine_gradient[i] - g) <= 1e-12 * max(1.0, abs(g)), (i, engine_gradient[i], g)
    for (i, j), h in hessian.items():
        engine = grad(grad(expr, argnums=i), argnums=j)(*expr.point)
        assert abs(engine - h) <= 1e-12 * max(1.0, abs(h)), ((i, j), engine, h)
