"""`fixed_point`: recurrent backpropagation (Almeida and Pineda, 1987).

Forward relaxation: iterate `x <- f(x)` without recording until every change is under `tol`
relative to the iterate's size (`|change| <= tol * max(1, |x|)`). Then one application
`y = f(x)` is recorded at the fixed point, from fresh leaves, and the fixed point becomes one
`custom_vjp` node whose operands are the Values `f` reads from outside (weights, inputs).
Backward relaxation: with `g` the gradients of the outputs and `J = df/dx` at the fixed point,
iterate `u <- g + J^T u` (each step one reverse pass through the recorded application) to its
own fixed point, then send `u` through `df/dtheta` to the operands. The graph holds one step of
`f`, however many iterations either relaxation took. The adjoint is linear in `g`: it relaxes
`g` divided by a power of two near its largest entry (an exact division) under the same
criterion, then scales back, so a loss scaled by 1e-12 (or an upstream gradient of 1e8) gets as
exact a gradient as one of size 1.

Nested `grad` differentiates the backward itself: its Value form solves the same adjoint
equation with `fixed_point` again, over a Jacobian recorded as Values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backward import gradients_as_values, gradients_wrt
from .clock import tick
from .custom import outputs_of, record_vjp
from .engine import Value, dot, enable_grad, is_constant, is_real, is_recording, no_grad, real


class FixedPointError(ArithmeticError):
    """A relaxation (forward or adjoint) that did not settle within `max_iter`."""


@dataclass
class Relaxation:
    """What one relaxation took: iterations, the last change (the largest `|change| / max(1,
    |x|)`; the adjoint's measured on the upstream gradient scaled to about 1), and an estimate
    of the spectral radius of the map's Jacobian at the fixed point (the ratio of successive
    changes)."""

    iterations: int = 0
    residual: float = math.nan
    spectral_radius: float = math.nan
    trace: list[list[float]] = field(default_factory=list)  # the iterates, when asked for


@dataclass
class _Relaxations:
    forward: Relaxation
    adjoint: Relaxation | None = None

    def details(self) -> dict[str, float]:
        """What the views show on the fixed point's node: both relaxations' iterations and
        last change (the adjoint's once a backward pass has run)."""
        out = {"iterations": self.forward.iterations, "residual": self.forward.residual}
        if self.adjoint is not None:
            out.update({"adjoint iterations": self.adjoint.iterations,
                        "adjoint residual": self.adjoint.residual})
        return out


class FixedPoint(list):
    """The fixed point: a list of Values, with `.forward` (a `Relaxation`) and, once a backward
    pass has gone through it, `.adjoint` (the error relaxation; None before)."""

    def __init__(self, values: list[Value], stats: _Relaxations) -> None:
        super().__init__(values)
        self._stats = stats  # shared with the backward, which holds no Value of the result

    @property
    def forward(self) -> Relaxation:
        return self._stats.forward

    @property
    def adjoint(self) -> Relaxation | None:
        return self._stats.adjoint


def fixed_point(
    f: Callable[[list[Value]], Sequence[Any]],
    x0: Sequence[float],
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    trace: bool = False,
) -> FixedPoint:
    """The fixed point `x = f(x)` reached from `x0`, as a list of Values whose gradients reach
    every Value `f` closes over, by the adjoint fixed-point iteration.

    `f` maps a list of Values to a list of the same length (a new one, or the list it is given,
    updated in place); `x0` is a list of numbers (no gradient flows into it). Both relaxations
    stop when every change is at most `tol` relative to the iterate's size, `|change| <= tol *
    max(1, |x|)` (the adjoint's iterate measured in units of the upstream gradient). Raises
    `FixedPointError` (an `ArithmeticError`) when the forward or, during a backward pass, the
    adjoint iteration does not settle within `max_iter`. With `trace=True` every iterate of
    both relaxations is kept (`.forward.trace`, `.adjoint.trace`).

    >>> from autograd import grad
    >>> root = lambda a: fixed_point(lambda x: [(x[0] + a / x[0]) / 2], [1.0])[0]
    >>> round(root(Value(2.0)).data ** 2, 12), round(grad(root)(4.0), 12)
    (2.0, 0.25)
    """
    tol = _tolerance(tol)
    max_iter = _iterations(max_iter)
    start = [x.data if isinstance(x, Value) else real(x, "fixed_point: x0 entry") for x in x0]
    if not start:
        raise ValueError("fixed_point: x0 is empty")
    stats = _Relaxations(Relaxation())
    x = _relax(lambda xs: _numbers(f, xs), start, tol, max_iter, stats.forward, trace, "forward")
    if not is_recording():
        return FixedPoint([Value(v) for v in x], stats)

    since = tick()
    leaves = [Value(v) for v in x]
    # f gets its own list: a map that updates its state in place must not overwrite the leaves
    ys = _as_values(f(list(leaves)), len(x))
    inputs = _outside(ys, set(leaves), since)
    if not inputs:  # f reads nothing outside: the fixed point is a constant
        return FixedPoint([Value(v) for v in x], stats)

    def backward(upstream: list[Any], node: Value) -> list[Any]:
        if any(isinstance(g, Value) for g in upstream):
            return _vjp_values(f, upstream, outputs_of(node), inputs, tol, max_iter)
        adjoint = stats.adjoint = Relaxation()
        scale = _scale([abs(g) for g in upstream])
        g = [gi / scale for gi in upstream]
        u = _relax(lambda u: _adjoint_step(ys, leaves, g, u), list(g), tol, max_iter, adjoint,
                   trace, "adjoint")
        u = [ui * scale for ui in u]
        adjoint.trace = [[ui * scale for ui in it] for it in adjoint.trace]
        with enable_grad():  # a backward pass run under no_grad must still see this product
            grads = gradients_wrt(dot(ys, u), [*inputs, *leaves])
        return [grads.get(p, 0.0) for p in inputs]

    return FixedPoint(record_vjp("fixed_point", inputs, x, backward, stats.details), stats)


def _tolerance(tol: Any) -> float:
    if isinstance(tol, bool) or not is_real(tol):
        raise TypeError(f"fixed_point: tol must be a positive number, got {type(tol).__name__} "
                        f"{tol!r:.40}")
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"fixed_point: tol must be a positive number, got {tol!r}")
    return float(tol)


def _iterations(max_iter: Any) -> int:
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"fixed_point: max_iter must be a positive int, got "
                        f"{type(max_iter).__name__} {max_iter!r:.40}")
    if max_iter < 1:
        raise ValueError(f"fixed_point: max_iter must be a positive int, got {max_iter!r}")
    return int(max_iter)


def _scale(sizes: list[float]) -> float:
    """A power of two near the largest of `sizes` (1.0 for none, 0 or a non-finite one):
    dividing by it is exact and brings the largest to between 0.5 and 1."""
    largest = max(sizes, default=0.0)
    if not (math.isfinite(largest) and largest > 0):
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1])


def _numbers(f: Callable, xs: list[float]) -> list[float]:
    ys = _as_values(f([Value(v) for v in xs]), len(xs))
    return [y.data for y in ys]


def _as_values(ys: Any, n: int) -> list[Value]:
    if not isinstance(ys, (list, tuple)):
        raise TypeError(f"fixed_point: f must return a list of Values, got {type(ys).__name__}")
    ys = list(ys)
    if len(ys) != n:
        raise ValueError(f"fixed_point: f returned {len(ys)} values for a state of {n}")
    return [y if isinstance(y, Value) else Value(real(y, "fixed_point: f's result")) for y in ys]


def _relax(
    step: Callable[[list[float]], list[float]],
    x: list[float],
    tol: float,
    max_iter: int,
    stats: Relaxation,
    trace: bool,
    which: str,
) -> list[float]:
    """Iterate `x <- step(x)` (recording nothing) until every change is at most `tol` relative
    to the new iterate's size, `|change| <= tol * max(1, |x|)`."""
    if trace:
        stats.trace.append(list(x))
    changes: list[float] = []
    with no_grad():
        for k in range(1, max_iter + 1):
            new = step(x)
            changes_now = [abs(a - b) for a, b in zip(new, x)]
            # max() drops a nan that is not first: look for one, so a nan never "settles"
            change = math.nan if any(c != c for c in changes_now) else max(changes_now)
            if math.isfinite(change):  # relative to the size: the same digits at any scale
                change = max(c / max(1.0, abs(a)) for c, a in zip(changes_now, new))
            x = new
            changes.append(change)
            if trace:
                stats.trace.append(list(x))
            if not math.isfinite(change):
                stats.iterations, stats.residual = k, change
                raise FixedPointError(
                    f"fixed_point: the {which} iteration diverged (change {change} at "
                    f"iteration {k}); the map is not a contraction near this point"
                )
            if change <= tol:
                break
        else:
            stats.iterations, stats.residual = max_iter, change
            raise FixedPointError(
                f"fixed_point: the {which} iteration did not settle in {max_iter} iterations "
                f"(last change {change:.3g}, tol {tol:g})"
            )
    stats.iterations, stats.residual = k, change
    stats.spectral_radius = _ratio(changes)
    return x


def _ratio(changes: list[float]) -> float:
    """The spectral radius, estimated from how fast the changes shrank over the last steps
    (a geometric mean over up to 10 steps, so that rotating modes average out)."""
    positive = [c for c in changes if c > 0]
    if len(positive) < 2:
        return 0.0
    m = min(10, len(positive) - 1)
    return (positive[-1] / positive[-1 - m]) ** (1.0 / m)


def _adjoint_step(ys: list[Value], leaves: list[Value], g: list[float], u: list[float]) -> list:
    """One step of the error relaxation, `g + J^T u`: a reverse pass of `u` from the recorded
    application into its leaves."""
    with enable_grad():
        back = gradients_wrt(dot(ys, u), leaves)
    return [gi + back.get(leaf, 0.0) for gi, leaf in zip(g, leaves)]


def _outside(ys: list[Value], leaves: set[Value], since: int) -> list[Value]:
    """The Values the recorded application reads from outside: recorded before it, or leaves
    of the user's that are not the state's (constants excluded), in a fixed order."""
    found: dict[Value, None] = {}
    seen = set(leaves)
    stack = list(reversed(ys))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        parents = node.parents
        if not parents:
            if not is_constant(node):
                found[node] = None
        elif node._seq < since:
            found[node] = None
        else:
            stack.extend(reversed(parents))
    return list(found)


def _vjp_values(
    f: Callable, g: list[Any], outputs: list[Value], inputs: list[Value], tol: float, max_iter: int
) -> list[Any]:
    """The backward as recorded Values (for nested `grad`): `u = g + J^T u` solved by
    `fixed_point` itself over a Jacobian recorded as Values, then `u` sent into the inputs."""
    scale = _scale([abs(gj.data) for gj in g])  # as at first order: solved at size about 1
    g = [gj / scale for gj in g] if scale != 1.0 else g
    with enable_grad():
        ys = _as_values(f(list(outputs)), len(outputs))
        jacobian = []  # jacobian[i][j] = d y_i / d x_j, holding the inputs fixed
        for y in ys:
            row = gradients_as_values(y, [*outputs, *inputs])
            jacobian.append([row.get(x, 0.0) for x in outputs])
        n = len(outputs)

        def adjoint_map(u: list[Value]) -> list[Any]:
            return [g[j] + sum(jacobian[i][j] * u[i] for i in range(n)) for j in range(n)]

        try:
            u = fixed_point(adjoint_map, [gj.data for gj in g], tol=tol, max_iter=max_iter)
        except FixedPointError as exc:  # its forward relaxation is this level's adjoint
            raise FixedPointError(str(exc).replace("forward", "adjoint (in nested grad)")) from exc
        # u^T df/dtheta: u is held fixed here (its own dependence stays recorded in it)
        grads = gradients_as_values(dot(ys, u), [*inputs, *outputs, *u])
        if scale == 1.0:
            return [grads.get(p, 0.0) for p in inputs]
        return [grads[p] * scale if p in grads else 0.0 for p in inputs]
