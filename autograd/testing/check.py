"""`check_grads`: the engine's derivatives against finite differences, to any order."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from ..engine import Value
from ..functional import grad, value_and_grad


def check_grads(
    f: Callable[..., Any],
    *args: Any,
    order: int = 1,
    eps: float = 1e-3,
    rtol: float = 1e-6,
    atol: float = 1e-7,
) -> None:
    """Check the engine's derivatives of `f` at `args`, up to `order`, against finite differences.

    Every argument is differentiated. Order 1 compares the gradient with central differences of
    `f`; order k compares every k-th partial derivative (nested `grad`) with central differences
    of the engine's (k-1)-th derivative, and checks that the (k-1)-th derivative recorded inside
    an outer `grad` (the graph that higher orders differentiate) has the same value as the one
    computed on its own. Central differences use step `eps * max(1, |x|)` and one Richardson
    step, so they are accurate to about 1e-10 for smooth `f`; keep `args` more than `eps` away
    from kinks and domain edges. Raises `AssertionError` naming the argument(s), the order, both
    numbers and the tolerance `atol + rtol * max(|engine|, |estimate|)`.

    >>> from autograd.testing import check_grads
    >>> check_grads(lambda x, y: (x * y).sin() + x ** 3, 0.5, -1.5, order=2)  # passes
    >>> # At a kink the one-sided slopes differ, and the checker says so:
    >>> check_grads(lambda x: x.relu(), 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: check_grads: order 1 ... (d/dx0): engine 0.0, finite differences 0.5 (...)
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be an integer >= 1, got {order!r}")
    point = [_as_float(a, i) for i, a in enumerate(args)]
    if not point:
        raise TypeError("check_grads: f needs at least one argument to differentiate")
    n = len(point)
    tol = _Tolerance(rtol, atol)

    # Order 1: the whole gradient in one engine call.
    engine = grad(f, argnums=tuple(range(n)))(*_leaves(point))
    for i in range(n):
        estimate = _central_difference(_on_floats(f), point, i, eps)
        tol.check(engine[i], estimate, (i,), "finite differences")

    for k in range(2, order + 1):
        for wrt in itertools.product(range(n), repeat=k):
            lower = _derivative(f, wrt[:-1])
            alone = _number(lower(*_leaves(point)))
            nested, engine_k = value_and_grad(lower, argnums=wrt[-1])(*_leaves(point))
            tol.check(_number(nested), alone, wrt[:-1], "the same derivative outside an outer grad",
                      what="recorded inside an outer grad")
            estimate = _central_difference(_on_floats(lower), point, wrt[-1], eps)
            tol.check(engine_k, estimate, wrt, "finite differences")


class _Tolerance:
    def __init__(self, rtol: float, atol: float) -> None:
        self.rtol, self.atol = rtol, atol

    def check(self, engine: float, reference: float, wrt: Sequence[int], ref_name: str,
              what: str = "") -> None:
        bound = self.atol + self.rtol * max(abs(engine), abs(reference))
        if abs(engine - reference) <= bound:  # False for nan, which fails as it should
            return
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


def _leaves(point: Sequence[float]) -> list[Value]:
    # Fresh Values each time, so f can call methods (x.tanh()) on every argument.
    return [Value(x) for x in point]


def _on_floats(f: Callable[..., Any]) -> Callable[..., float]:
    """f taking and returning plain floats (its arguments reach it as fresh Values)."""
    return lambda *xs: _number(f(*_leaves(xs)))


def _number(y: Any) -> float:
    return y.data if isinstance(y, Value) else float(y)


def _derivative(f: Callable[..., Any], wrt: Sequence[int]) -> Callable[..., Any]:
    """d^k f / dx[wrt[0]] ... dx[wrt[-1]] as a function, by nesting `grad`."""
    for i in wrt:
        f = grad(f, argnums=i)
    return f


def _central_difference(
    g: Callable[..., float], point: Sequence[float], i: int, eps: float
) -> float:
    """dg/dx_i by central differences at steps h and h/2, combined by Richardson (error h^4)."""
    h = eps * max(1.0, abs(point[i]))

    def slope(step: float) -> float:
        up, down = list(point), list(point)
        up[i] += step
        down[i] -= step
        try:
            return (g(*up) - g(*down)) / (up[i] - down[i])
        except (ArithmeticError, ValueError) as exc:
            raise ValueError(
                f"check_grads: f fails at a finite-difference step of {step:.3g} from argument "
                f"{i} = {point[i]!r} ({exc}); move the point away from the domain edge or pass "
                "a smaller eps"
            ) from exc

    coarse, fine = slope(h), slope(h / 2)
    return fine + (fine - coarse) / 3.0
