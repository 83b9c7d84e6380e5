"""`check_grads`: the engine's derivatives against finite differences, to any order."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

from ..backward import local_derivatives
from ..engine import Value, enable_grad, topological_order
from ..functional import grad, value_and_grad

_ULP = sys.float_info.epsilon
_SUBNORMAL = 2.0**-1074  # the spacing of floats below the smallest normal one
_UNDERFLOW = sys.float_info.min
"""Below the smallest normal float numbers lose bits: derivatives are compared to that
absolute precision at best (the engine's products of tiny numbers round to multiples of
`_SUBNORMAL`, not to ulps)."""
LEVELS = 10
"""Most steps on the ladder h, h/2, ..., h/2**(LEVELS-1) that one estimate tries."""
MIN_LEVELS = 3
"""Fewest steps: an estimate's error is judged from its neighbours, on two or more rows."""
SAFETY = 4.0
"""How many times the error estimate (itself the size of a coarser estimate's error) the
tolerance allows."""
ROUNDING = 4.0
"""How many times its first-order rounding bound (`rounding_bound`) a value of f may be off."""


def check_grads(
    f: Callable[..., Any],
    *args: Any,
    order: int = 1,
    eps: float = 1e-3,
    rtol: float = 1e-8,
    atol: float = 0.0,
) -> None:
    """Check the engine's derivatives of `f` at `args`, up to `order`, against finite differences.

    Every argument is differentiated. Order 1 compares the gradient with central differences of
    `f`; order k compares every k-th partial derivative (nested `grad`) with central differences
    of the engine's (k-1)-th derivative, and checks that the (k-1)-th derivative recorded inside
    an outer `grad` (the graph that higher orders differentiate) has the same value as the one
    computed on its own.

    Each finite-difference estimate comes with an error bound, and the tolerance is that bound,
    so it is as tight as f allows (about 1e-10 relative for smooth f) and wide only where f is
    hard to difference: central differences at steps h, h/2, ..., h/512 (h = `eps * max(1,
    |x|)`) are combined by Richardson extrapolation, the estimate kept is the one that agrees
    best with its neighbours, and the rounding of f's values (bounded from f's graph, see
    `rounding_bound`) divided by the step is added. `atol + rtol * max(|engine|, |estimate|)`
    is added on top, for the engine's own rounding, and 2.2e-308 (the smallest normal float:
    below it floats lose bits). f must be defined at x +- h; a kink closer than h is stepped
    over by the finer steps, and only one closer than about h/100 is reported, as relu at 0
    is. Raises `AssertionError` naming the argument(s), the order, both numbers and the
    tolerance.

    >>> from autograd.testing import check_grads
    >>> check_grads(lambda x, y: (x * y).sin() + x ** 3, 0.5, -1.5, order=2)  # passes
    >>> # At a kink the one-sided slopes differ, and the checker says so:
    >>> check_grads(lambda x: x.relu(), 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: check_grads: order 1 ... (d/dx0): engine 0.0, finite differences 0.5 (...)
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be an integer >= 1, got {order!r}")
    if not (isinstance(eps, Real) and 0 < eps < math.inf):
        raise ValueError(f"check_grads: eps must be a finite number > 0, got {eps!r}")
    for name, number in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(number, Real) and 0 <= number < math.inf):
            raise ValueError(f"check_grads: {name} must be a finite number >= 0, got {number!r}")
    point = [_as_float(a, i) for i, a in enumerate(args)]
    if not point:
        raise TypeError("check_grads: f needs at least one argument to differentiate")
    n = len(point)

    # Order 1: the whole gradient in one engine call, which also bounds the rounding of f.
    recorded = _Rounding(f)
    engine = grad(recorded, argnums=tuple(range(n)))(*_leaves(point))
    for i in range(n):
        estimate = finite_difference(_on_leaves(f), point, i, eps, recorded.bound,
                                     center=recorded.value)
        _compare(engine[i], estimate, (i,), rtol, atol)

    for k in range(2, order + 1):
        for wrt in itertools.product(range(n), repeat=k):
            lower = _derivative(f, wrt[:-1])
            alone = _number(lower(*_leaves(point)))
            recorded = _Rounding(lower)
            nested, engine_k = value_and_grad(recorded, argnums=wrt[-1])(*_leaves(point))
            _compare_same(_number(nested), alone, recorded.bound, wrt[:-1], rtol, atol)
            # Bounding the rounding at the ends of the ladder takes a recorded run of `lower`
            # at each: done only when the estimate without them disagrees.
            estimate = finite_difference(_on_leaves(lower), point, wrt[-1], eps, recorded.bound,
                                         center=alone)
            if not abs(engine_k - estimate.value) <= _tolerance(engine_k, estimate, rtol, atol):
                estimate = finite_difference(_on_leaves(lower), point, wrt[-1], eps,
                                             recorded.bound, _recorded_bound(lower), alone)
            _compare(engine_k, estimate, wrt, rtol, atol)


class _Rounding:
    """f, noting as it runs (inside `grad`, where its graph is recorded) a bound on how far
    rounding moves its value (`rounding_bound`)."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f
        self.bound = 0.0
        self.value = 0.0

    def __call__(self, *args: Any) -> Any:
        out = self.f(*args)
        self.bound = rounding_bound(out)
        self.value = _number(out)
        return out


def rounding_bound(out: Any) -> float:
    """How far float rounding may have moved `out`, to first order: the sum over the nodes v of
    its graph of |d out / d v| * |v| ulps (plus the subnormal spacing, for results that
    underflow), as each op's result is rounded once (leaves are taken as exact: inputs are the
    points asked for, constants do not move with them).

    Cancellation and ill-conditioning show: sin(1000 x) is off by about 1000 ulps, not 1.

    >>> from autograd import Value
    >>> x = Value(1.0)
    >>> rounding_bound((x * 1000.0).sin()) > 500 * rounding_bound(x.sin())
    True
    """
    if not isinstance(out, Value):
        return _ULP * abs(_number(out))
    weight = {out: 1.0}
    total = 0.0
    for node in topological_order(out):
        w = weight.pop(node, 0.0)
        if not node.parents or w == 0.0:
            continue
        total += w * (_ULP * abs(node.data) + _SUBNORMAL)
        for p, d in zip(node.parents, local_derivatives(node)):
            if d == d:  # nan where the derivative does not exist: that path rounds nothing
                weight[p] = weight.get(p, 0.0) + w * abs(d)
    return max(total, _ULP * abs(out.data))  # a leaf too is only known to its last bit


def _recorded_bound(f: Callable[..., Any]) -> Callable[..., float]:
    """The rounding bound of f's value at a point, f run inside `grad` so its graph is kept."""
    def at(*xs: float) -> float:
        recorded = _Rounding(f)
        value_and_grad(recorded)(*_leaves(xs))
        return recorded.bound

    return at


@dataclass(frozen=True)
class Estimate:
    """A finite-difference derivative, how far from the true one it may be, and its cost."""

    value: float
    error: float
    step: float
    evaluations: int


def finite_difference(
    g: Callable[..., Any],
    point: Sequence[float],
    i: int,
    eps: float = 1e-3,
    rounding: float = 0.0,
    rounding_at: Callable[..., float] | None = None,
    center: float | None = None,
) -> Estimate:
    """dg/dx_i at `point`, with an error bound, by Richardson extrapolation over central
    differences at steps h, h/2, h/4, ... (h = `eps * max(1, |x_i|)`).

    Row k of the table holds the central difference at h/2**k and its extrapolations, each one
    order in h^2 higher. An entry's error is judged by its neighbours (the entry of one order
    less in its row, and the entries of the same and one order less in the row above): each is
    a coarser estimate, so the largest difference overstates the entry's error once the
    differences shrink geometrically. To that the rounding of g's values over the step is
    added, and the entry with the smallest sum is kept. The ladder stops when no finer row can
    do better (its rounding alone would be larger), or after `LEVELS` rows: rows that do worse
    do not stop it, as they may straddle a kink that finer rows clear.

    g returns a float or a Value. The rounding of its values is taken as `ROUNDING` times the
    largest of `rounding` (a bound at `point`), the bound at the widest points x_i +- h (from
    their graphs if g returns Values, see `rounding_bound`, else from `rounding_at` if given)
    and the last bit of every value seen.

    x_i +- h rounds to floats that may not lie symmetrically about x_i: a central difference
    then measures the slope at their midpoint, off by g'' times the shift, which is corrected
    with g's value at `point` (`center`; g is called there if it is not given and needed).

    >>> e = finite_difference(lambda x: x ** 3, [2.0], 0)
    >>> abs(e.value - 12.0) <= e.error < 1e-9
    True
    """
    x = point[i]
    h = eps * max(1.0, abs(x))
    rows: list[list[float]] = []
    noise = rounding
    best: Estimate | None = None
    for k in range(LEVELS):
        step = h / 2.0**k
        up, down = list(point), list(point)
        up[i] = x + step
        down[i] = x - step
        width = math.fsum((up[i], -down[i]))  # the step as the floats realise it
        shift = math.fsum((up[i], down[i], -x, -x)) / 2.0  # of their midpoint from x
        ends = [_evaluate(g, at, i, step, x) for at in (up, down)]
        g_up, g_down = (_number(e) for e in ends)
        noise = max(noise, _ULP * abs(g_up), _ULP * abs(g_down))
        if k == 0:
            for at, out in zip((up, down), ends):
                if isinstance(out, Value):
                    noise = max(noise, rounding_bound(out))
                elif rounding_at is not None:
                    noise = max(noise, rounding_at(*at))
        slope = (g_up - g_down) / width
        if shift:
            if center is None:
                center = _number(_evaluate(g, list(point), i, 0.0, x))
            slope -= shift * (g_up - 2.0 * center + g_down) / (width / 2.0) ** 2
        row = [slope]
        for j in range(1, k + 1):
            row.append(row[j - 1] + (row[j - 1] - rows[k - 1][j - 1]) / (4.0**j - 1.0))
        rows.append(row)
        # Two values, each off by up to ROUNDING * noise, over the width; the extrapolations
        # amplify that by less than 2.
        row_rounding = 2.0 * 2.0 * ROUNDING * noise / width
        for j in range(1, k + 1):
            neighbours = [row[j - 1], rows[k - 1][j - 1]]
            if j <= k - 1:
                neighbours.append(rows[k - 1][j])
            error = max(abs(row[j] - other) for other in neighbours) + row_rounding
            if best is None or error < best.error:
                best = Estimate(row[j], error, step, 0)
        # A finer row rounds at least twice as much as this one: once the best error is below
        # that, no finer row can do better.
        if k + 1 >= MIN_LEVELS and best.error <= 2.0 * row_rounding:
            break
    assert best is not None
    return Estimate(best.value, best.error, best.step, 2 * len(rows))


def _evaluate(g: Callable[..., Any], at: list[float], i: int, step: float, x: float) -> Any:
    try:
        return g(*at)
    except (ArithmeticError, ValueError) as exc:
        raise ValueError(
            f"check_grads: f fails at a finite-difference step of {step:.3g} from argument "
            f"{i} = {x!r} ({exc}); move the point away from the domain edge or pass "
            "a smaller eps"
        ) from exc


def _tolerance(engine: float, estimate: Estimate, rtol: float, atol: float) -> float:
    return (atol + rtol * max(abs(engine), abs(estimate.value)) + SAFETY * estimate.error
            + _UNDERFLOW)


def _compare(engine: float, estimate: Estimate, wrt: Sequence[int], rtol: float,
             atol: float) -> None:
    bound = _tolerance(engine, estimate, rtol, atol)
    if abs(engine - estimate.value) <= bound:  # False for nan, which fails as it should
        return
    _report(engine, estimate.value, bound, wrt, "finite differences")


def _compare_same(nested: float, alone: float, rounding: float, wrt: Sequence[int], rtol: float,
                  atol: float) -> None:
    """The same number computed two ways by the engine: equal up to its rounding."""
    bound = atol + rtol * max(abs(nested), abs(alone)) + 2.0 * ROUNDING * rounding + _UNDERFLOW
    if abs(nested - alone) <= bound:
        return
    _report(nested, alone, bound, wrt, "the same derivative outside an outer grad",
            what="recorded inside an outer grad")


def _report(engine: float, reference: float, bound: float, wrt: Sequence[int], ref_name: str,
            what: str = "") -> None:
    arguments = "argument" + ("s " if len(set(wrt)) > 1 else " ") + ", ".join(
        str(i) for i in dict.fromkeys(wrt))
    order = len(wrt)
    symbol = f"d{'' if order == 1 else order}/" + " ".join(f"dx{i}" for i in wrt)
    raise AssertionError(
        f"check_grads: order {order} derivative of f with respect to {arguments} ({symbol})"
        f"{' ' + what if what else ''}: engine {engine!r}, {ref_name} {reference!r} "
        f"(difference {abs(engine - reference):.3g} > tolerance {bound:.3g})"
    )


def _as_float(a: Any, i: int) -> float:
    if isinstance(a, Value):
        return a.data
    if isinstance(a, Real):
        return float(a)
    raise TypeError(f"check_grads: argument {i} must be a real number or a Value, "
                    f"got {type(a).__name__}")


def _number(out: Any) -> float:
    """What f returned, as a float: a Value's data, or a plain real number."""
    if isinstance(out, Value):
        return out.data
    if isinstance(out, Real):
        return float(out)
    raise TypeError(f"check_grads: f must return a Value or a real number, "
                    f"got {type(out).__name__}")


def _leaves(point: Sequence[float]) -> list[Value]:
    # Fresh Values each time, so f can call methods (x.tanh()) on every argument.
    return [Value(x) for x in point]


def _on_leaves(f: Callable[..., Any]) -> Callable[..., Any]:
    """f taking plain floats, which reach it as fresh Values, with its graph recorded."""
    def at(*xs: float) -> Any:
        with enable_grad():
            return f(*_leaves(xs))

    return at


def _derivative(f: Callable[..., Any], wrt: Sequence[int]) -> Callable[..., Any]:
    """d^k f / dx[wrt[0]] ... dx[wrt[-1]] as a function, by nesting `grad`."""
    for i in wrt:
        f = grad(f, argnums=i)
    return f
