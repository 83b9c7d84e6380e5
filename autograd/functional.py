"""`grad` and `value_and_grad`: derivatives as functions, nesting to any order.

Each call gives its differentiated arguments fresh nodes of their own, so the variables of
different levels never mix (no perturbation confusion). Called inside a function that an outer
transform is differentiating, the derivative comes back as a recorded `Value`, built from the
op table's derivative rules, so the outer level can differentiate it again.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from .engine import Value, enable_grad, gradients_as_values, gradients_wrt, identity, is_real

_level = threading.local()  # how many transforms are differentiating right now, in this thread


def _depth() -> int:
    return getattr(_level, "depth", 0)


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., Any]:
    """Return a function that computes `(f(*args), df/dargs[argnums])`.

    >>> value_and_grad(lambda x: x ** 3)(2.0)
    (8.0, 12.0)
    """
    many = isinstance(argnums, (tuple, list))
    # checked to be ints next
    nums: tuple[Any, ...] = tuple(argnums) if isinstance(argnums, (tuple, list)) else (argnums,)
    for i in nums:
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"grad: argnums must be an int or a tuple of ints, got "
                            f"{type(i).__name__} {i!r} (in argnums={argnums!r})")
    if len(set(nums)) != len(nums):
        raise ValueError(f"grad: argnums {argnums} names an argument twice")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nested = _depth() > 0
        arguments = list(args)
        inputs = []
        for i in nums:
            if i >= len(args) or i < -len(args):
                raise TypeError(f"grad: argnums {i} but the function got {len(args)} arguments")
        if len({i % len(args) for i in nums}) != len(nums):
            raise ValueError(f"grad: argnums {argnums} names an argument twice")
        for i in nums:
            a = arguments[i]
            if isinstance(a, Value):
                x = identity(a) if nested else Value(a.data, label=a.label)
            elif is_real(a):
                x = Value(a)
            else:
                raise TypeError(f"grad: argument {i} must be a real number or a Value, "
                                f"got {type(a).__name__}")
            arguments[i] = x
            inputs.append(x)
        with enable_grad():
            _level.depth = _depth() + 1
            try:
                out = f(*arguments, **kwargs)
            finally:
                _level.depth -= 1
            if not isinstance(out, Value):
                if not isinstance(out, Real):
                    kind = type(out).__name__
                    raise TypeError(f"grad: the function must return a scalar, got {kind}")
                out = Value(out)
            if nested:
                grads = gradients_as_values(out, inputs)
                ds: list[Any] = [_as_value(grads.get(x, 0.0)) for x in inputs]
                value: Any = out
            else:
                grads = gradients_wrt(out, inputs)
                ds = [float(grads.get(x, 0.0)) for x in inputs]
                value = out.data
        return value, (tuple(ds) if many else ds[0])

    return wrapped


def _as_value(d: Any) -> Value:
    return d if isinstance(d, Value) else Value(d)


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Return a function that computes df/dx (a float; a tuple of them for tuple `argnums`).

    >>> grad(lambda x: x.sin())(0.0)
    1.0
    >>> grad(grad(lambda x: x ** 3))(2.0)
    12.0
    """
    vg = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return vg(*args, **kwargs)[1]

    return wrapped
