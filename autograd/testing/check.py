"""`check_grads`: the engine's derivatives against finite differences, to any order."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, NamedTuple

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
HALVINGS = 24
"""The finest step tried, h/2**HALVINGS, when coarser ones leave f's domain."""
MIN_LEVELS = 3
"""Fewest steps: an estimate's error is judged from its neighbours, on two or more rows."""
SAFETY = 4.0
"""How many times the error estimate (itself the size of a coarser estimate's error) the
tolerance allows."""
ROUNDING = 4.0
"""How many times their first-order rounding bounds (`rounding_bounds`) f's values and the
engine's derivatives may be off."""
OPAQUE = 1e-8
"""The relative error taken for the value of a node whose derivatives are no numbers in the
graph (`fixed_point`, `custom_vjp`: a solver or the user's backward function computes them).
Its derivatives are taken as exact: a solver's tolerance needs `atol`."""


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
    `rounding_bounds`) divided by the step is added. So are a bound on the engine's own
    rounding (from the same graph), 2.2e-308 (the smallest normal float: below it floats lose
    bits) and `atol + rtol * max(|engine|, |estimate|)`.

    A kink closer than h is stepped over by the finer steps; only one closer than about h/100
    is reported, as relu at 0 is. Steps that leave f's domain are halved until they fit.
    Derivatives that a solver computes (`fixed_point`, or a `custom_vjp`'s backward) are as
    accurate as the solver, which the graph does not show: pass its tolerance as `atol`.
    Raises `AssertionError` naming the argument(s), the order, both numbers and the tolerance.

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
    point = [_number(a, f"argument {i}") for i, a in enumerate(args)]
    if not point:
        raise TypeError("check_grads: f needs at least one argument to differentiate")
    try:
        _check(f, point, order, eps, rtol, atol)
    except AssertionError as exc:
        hint = _user_ops_hint(f, point)
        if not hint:
            raise
        raise AssertionError(f"{exc}; {hint}") from None


def _user_ops_hint(f: Callable[..., Any], point: Sequence[float]) -> str:
    """For a mismatch in a function that uses ops of the user's making, whose derivatives this
    checker cannot bound: which ones, and the tolerances to pass if their error is expected."""
    try:
        out = _on_leaves(f)(*point)
    except Exception:  # noqa: BLE001 - only a hint: f already ran, and failed its check
        return ""
    if not isinstance(out, Value):
        return ""
    names = dict.fromkeys(node._rule.name for node in topological_order(out)
                          if node._rule.custom or node._rule.vjp or node._rule.external)
    if not names:
        return ""
    listed = ", ".join(repr(name) for name in names)
    return (f"f uses ops of your own ({listed}): if their derivatives are approximate (a solver's "
            f"tolerance, a numerical formula), pass check_grads(..., rtol=..., atol=...) to match; "
            f"else check their derivative functions")


def _check(f: Callable[..., Any], point: list[float], order: int, eps: float, rtol: float,
           atol: float) -> None:
    n = len(point)

    # Order 1: the whole gradient in one engine call, which also bounds the rounding of f.
    recorded = _Rounding(f)
    engine = grad(recorded, argnums=tuple(range(n)))(*_leaves(point))
    for i in range(n):
        estimate = finite_difference(_on_leaves(f), point, i, eps, recorded.bound,
                                     center=recorded.value)
        _compare(engine[i], estimate, recorded.bounds.gradients[i], (i,), rtol, atol)

    for k in range(2, order + 1):
        for wrt in itertools.product(range(n), repeat=k):
            lower = _derivative(f, wrt[:-1])
            alone = _number(lower(*_leaves(point)))
            recorded = _Rounding(lower)
            nested, engine_k = value_and_grad(recorded, argnums=wrt[-1])(*_leaves(point))
            _compare_same(_number(nested), alone, recorded.bound, wrt[:-1], rtol, atol)
            engine_rounding = recorded.bounds.gradients[wrt[-1]]
            # Bounding the rounding at the ends of the ladder takes a recorded run of `lower`
            # at each: done only when the estimate without them disagrees.
            estimate = finite_difference(_on_leaves(lower), point, wrt[-1], eps, recorded.bound,
                                         center=alone)
            if not _agree(engine_k, estimate, engine_rounding, rtol, atol):
                estimate = finite_difference(_on_leaves(lower), point, wrt[-1], eps,
                                             recorded.bound, _recorded_bound(lower), alone)
            _compare(engine_k, estimate, engine_rounding, wrt, rtol, atol)


class _Rounding:
    """f, noting as it runs (inside `grad`, where its graph is recorded) its value and how far
    rounding may have moved that value and the engine's gradient of it (`rounding_bounds`)."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f
        self.value = 0.0
        self.bounds = Bounds(0.0, ())

    def __call__(self, *args: Any) -> Any:
        out = self.f(*args)
        self.value = _number(out)
        self.bounds = rounding_bounds(out, args)
        return out

    @property
    def bound(self) -> float:
        return self.bounds.value



class Bounds(NamedTuple):
    """What `rounding_bounds` finds."""

    value: float
    gradients: tuple[float, ...]


def rounding_bounds(out: Any, inputs: Sequence[Any] = ()) -> Bounds:
    """How far float rounding may have moved `out`, and the engine's gradient of `out` with
    respect to each of `inputs`, to first order.

    For `out`: the sum over the nodes v of its graph of |d out / d v| * |v| ulps (plus the
    subnormal spacing, for results that underflow), as each op's result is rounded once
    (leaves are exact: inputs are the points asked for, constants do not move with them). For
    the gradient: the sum over the paths from `out` to the input of |the product of the local
    derivatives along the path| times its length, in ulps, as each factor of a product rounds
    once. Cancellation shows: sin(1000 x) is off by about 1000 ulps, not 1.

    A node whose derivatives are no numbers in the graph (`fixed_point`, `custom_vjp`) stops
    the paths through it, and its value counts as known to `OPAQUE` (relative), not to an ulp.

    >>> from autograd import Value
    >>> x = Value(1.0)
    >>> rounding_bounds((x * 1000.0).sin()).value > 500 * rounding_bounds(x.sin()).value
    True
    """
    if not isinstance(out, Value):
        return Bounds(_ULP * abs(_number(out)), tuple(0.0 for _ in inputs))
    weight = {out: 1.0}  # the sum over paths from out to the node of |product of derivatives|
    length = {out: 0.0}  # the same, each product times the number of edges on its path
    value = 0.0
    for node in topological_order(out):
        w = weight.get(node, 0.0)
        if not node.parents or w == 0.0:
            continue
        local = local_derivatives(node)
        known = all(d == d for d in local)  # nan: not a number in the graph
        value += w * ((_ULP if known else OPAQUE) * abs(node.data) + _SUBNORMAL)
        wl = length[node]
        for p, d in zip(node.parents, local):
            if d == d:
                weight[p] = weight.get(p, 0.0) + w * abs(d)
                length[p] = length.get(p, 0.0) + (wl + w) * abs(d)
    value = max(value, _ULP * abs(out.data))  # a leaf too is only known to its last bit
    return Bounds(value, tuple(_ULP * length.get(x, 0.0) for x in inputs))


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
    do not stop it, as they may straddle a kink that finer rows clear. A step at which g fails
    (outside its domain) starts the ladder again at the next finer step, down to h/2**`HALVINGS`.

    g returns a float or a Value. The rounding of its values is taken as `ROUNDING` times the
    largest of `rounding` (a bound at `point`), the bound at the widest points x_i +- h (from
    their graphs if g returns Values, see `rounding_bounds`, else from `rounding_at` if given)
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
    failure: tuple[float, Exception] | None = None
    evaluations = 0
    for k in range(HALVINGS + 1):
        step = h / 2.0**k
        up, down = list(point), list(point)
        up[i] = x + step
        down[i] = x - step
        try:
            ends = [g(*up), g(*down)]
        except (ArithmeticError, ValueError) as exc:  # outside f's domain: try finer steps
            failure = (step, exc)
            rows, best = [], None
            continue
        finally:
            evaluations += 2
        g_up, g_down = _number(ends[0]), _number(ends[1])
        noise = max(noise, _ULP * abs(g_up), _ULP * abs(g_down))
        if not rows:
            for at, out in zip((up, down), ends):
                if isinstance(out, Value):
                    noise = max(noise, rounding_bounds(out).value)
                elif rounding_at is not None:
                    noise = max(noise, rounding_at(*at))
        width = math.fsum((up[i], -down[i]))  # the step as the floats realise it
        shift = math.fsum((up[i], down[i], -x, -x)) / 2.0  # of their midpoint from x
        slope = (g_up - g_down) / width
        if shift:
            if center is None:
                center = _number(g(*point))
                evaluations += 1
            slope -= shift * (g_up - 2.0 * center + g_down) / (width / 2.0) ** 2
        row = [slope]
        above = rows[-1] if rows else []
        for j in range(1, len(rows) + 1):
            row.append(row[j - 1] + (row[j - 1] - above[j - 1]) / (4.0**j - 1.0))
        rows.append(row)
        # Two values, each off by up to ROUNDING * noise, over the width; the extrapolations
        # amplify that by less than 2.
        row_rounding = 2.0 * 2.0 * ROUNDING * noise / width
        for j in range(1, len(row)):
            neighbours = [row[j - 1], above[j - 1]] + ([above[j]] if j < len(above) else [])
            error = max(abs(row[j] - other) for other in neighbours) + row_rounding
            if best is None or error < best.error:
                best = Estimate(row[j], error, step, 0)
        # A finer row rounds at least twice as much as this one: once the best error is below
        # that, no finer row can do better.
        if best is not None and (len(rows) >= LEVELS or (
                len(rows) >= MIN_LEVELS and best.error <= 2.0 * row_rounding)):
            break
    if best is None:
        assert failure is not None
        step, cause = failure
        raise ValueError(
            f"check_grads: f fails at a finite-difference step of {step:.3g} from argument "
            f"{i} = {x!r} ({cause}); move the point away from the domain edge"
        ) from cause
    return Estimate(best.value, best.error, best.step, evaluations)


def _tolerance(engine: float, estimate: Estimate, engine_rounding: float, rtol: float,
               atol: float) -> float:
    return (SAFETY * estimate.error + ROUNDING * engine_rounding + _UNDERFLOW
            + atol + rtol * max(abs(engine), abs(estimate.value)))


def _agree(engine: float, estimate: Estimate, engine_rounding: float, rtol: float,
           atol: float) -> bool:
    bound = _tolerance(engine, estimate, engine_rounding, rtol, atol)
    return abs(engine - estimate.value) <= bound  # False for nan, which fails as it should


def _compare(engine: float, estimate: Estimate, engine_rounding: float, wrt: Sequence[int],
             rtol: float, atol: float) -> None:
    if not _agree(engine, estimate, engine_rounding, rtol, atol):
        bound = _tolerance(engine, estimate, engine_rounding, rtol, atol)
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


def _number(x: Any, what: str = "f's result") -> float:
    """A Value's data or a plain real number as a float; anything else a TypeError."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, Real):
        return float(x)
    raise TypeError(f"check_grads: {what} must be a real number or a Value, "
                    f"got {type(x).__name__}")


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
