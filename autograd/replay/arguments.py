"""A tape's arguments: numbers in nested lists, split into the floats a replay takes and a
structure key (the nesting, with the ints in place: static, one recording each).

A key may instead hold `INT` where an int was (`as_data`): then that int is a slot like a
float, data the replay reads, for a function that only computes with it (a ±1 target, a pixel
intensity). The tape finds out which the function does when it records."""

from __future__ import annotations

import inspect
from numbers import Real
from typing import Any

from ..engine import Value

FLOAT = None  # a float's place in a structure key
INT = "int"  # an int's place in a key whose ints are data (`as_data`)
LIST, TUPLE, END = "[", "(", ")"
_EXACT = 2**53  # ints a float holds exactly


def flatten(args: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[float]]:
    """(structure key, floats in order). Ints (and bools) stay in the key; a float becomes a
    slot. Lists, tuples and NumPy arrays nest; anything else is a TypeError."""
    key: list[Any] = []
    floats: list[float] = []
    try:
        _flatten(args, key, floats, None)
    except _Locate:  # a bad argument: walk again, naming where each item is, for the message
        _flatten(args, [], [], "")
        raise TypeError("tape: an argument changed while the tape read it") from None
    return tuple(key), floats


class _Locate(Exception):
    """A bad argument met on the fast walk, which does not name where it is."""


def _flatten(x: Any, key: list[Any], floats: list[float], where: str | None) -> None:
    t = x.__class__
    if t is float:
        key.append(FLOAT)
        floats.append(x)
    elif t is int:
        key.append(x)
    elif t is list or t is tuple:
        key.append(LIST if t is list else TUPLE)
        if where is None:
            for v in x:
                _flatten(v, key, floats, None)
        else:
            for i, v in enumerate(x):
                _flatten(v, key, floats, f"{where}[{i}]")
        key.append(END)
    else:
        _flatten_other(x, key, floats, where)


def _flatten_other(x: Any, key: list[Any], floats: list[float], where: str | None) -> None:
    try:
        _flatten_leaf(x, key, floats, where)
    except TypeError:  # on the fast walk (no `where`), its message is made on the second
        if where is None:
            raise _Locate from None
        raise


def _flatten_leaf(x: Any, key: list[Any], floats: list[float], where: str | None) -> None:
    if isinstance(x, bool):
        key.append((bool, x))  # True == 1: kept apart from the int 1
    elif isinstance(x, Value):
        raise TypeError(
            f"tape: argument{where} is a Value; pass numbers (the tape makes the Values). "
            "Values the function should differentiate belong in its closure (parameters)"
        )
    elif hasattr(x, "tolist") and getattr(x, "ndim", 0) > 0:  # a NumPy array
        _flatten(list(x.tolist()), key, floats, where)
    elif getattr(x, "dtype", None) is not None and getattr(x, "shape", None) == ():
        kind = x.dtype.kind  # a NumPy scalar
        if kind == "f":
            key.append(FLOAT)
            floats.append(float(x))
        elif kind in "iu":
            key.append(int(x))
        elif kind == "b":
            key.append((bool, bool(x)))
        else:
            raise TypeError(f"tape: argument{where} is a NumPy {x.dtype} scalar; expected a "
                            "real number")
    elif isinstance(x, int):  # an int subclass (an IntEnum member): static, passed as it is
        key.append((type(x), x))
    elif isinstance(x, Real):
        key.append(FLOAT)
        floats.append(float(x))
    else:
        raise TypeError(
            f"tape: argument{where} is {type(x).__name__} {x!r:.40}; a tape takes numbers "
            "(floats are traced, ints are static) and lists or tuples of them"
        )


def unflatten(key: tuple[Any, ...], leaves: list[Any]) -> tuple[Any, ...]:
    """The arguments back from a key, with `leaves` in the float slots."""
    it = iter(leaves)
    stack: list[list[Any]] = [[]]
    kinds: list[str] = []
    for token in key:
        if token is FLOAT or token is INT:
            stack[-1].append(next(it))
        elif token is LIST or token is TUPLE:
            stack.append([])
            kinds.append(token)
        elif token is END:
            items = stack.pop()
            stack[-1].append(items if kinds.pop() is LIST else tuple(items))
        elif token.__class__ is tuple:
            stack[-1].append(token[1])
        else:
            stack[-1].append(token)
    return stack[0][0]


def slot_names(fn: Any, key: tuple[Any, ...]) -> list[str]:
    """A readable name for each float slot, from fn's parameter names: `x`, `x_0`, `x_1_2`."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    path: list[int] = []  # index within each open container
    for token in key:
        if token is LIST or token is TUPLE:
            path.append(0)
            continue
        if token is END:
            path.pop()
        elif token is FLOAT or token is INT:
            top = path[0]
            base = params[top] if top < len(params) else f"arg{top}"
            names.append("_".join([base, *map(str, path[1:])]))
        if path:
            path[-1] += 1
    return names


def as_data(key: tuple[Any, ...],
            floats: list[float]) -> tuple[tuple[Any, ...], list[float]] | None:
    """The key with each int as a slot (`INT`) and the numbers of all slots in order (ints as
    the floats an operator lifts them to), or None if the key holds no int, or one a float
    cannot hold exactly."""
    out: list[Any] = []
    numbers: list[float] = []
    it = iter(floats)
    found = False
    for token in key:
        if token is FLOAT:
            out.append(FLOAT)
            numbers.append(next(it))
        elif token.__class__ is int:
            if not -_EXACT < token < _EXACT:
                return None
            out.append(INT)
            numbers.append(float(token))
            found = True
        else:
            out.append(token)
    return (tuple(out), numbers) if found else None


def slot_kinds(key: tuple[Any, ...]) -> list[Any]:
    """FLOAT or INT for each slot of a key, in order."""
    return [t for t in key if t is FLOAT or t is INT]


def static_key(key: tuple[Any, ...], numbers: list[float]) -> tuple[tuple[Any, ...], list[float]]:
    """The inverse of `as_data`: the ints back in the key, the floats alone."""
    out: list[Any] = []
    floats: list[float] = []
    it = iter(numbers)
    for token in key:
        if token is FLOAT:
            out.append(FLOAT)
            floats.append(next(it))
        elif token is INT:
            out.append(int(next(it)))
        else:
            out.append(token)
    return tuple(out), floats
