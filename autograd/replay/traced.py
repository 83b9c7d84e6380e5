"""Numbers that stand for Values while a tape records: how ints become data.

A tape first records fn with each int argument as a `TracedInt`: an int, to fn, that also
stands for a Value (`traced_value`, the argument's slot). An operator with a Value lifts it to
that Value rather than to a constant; arithmetic with plain numbers gives another traced number
whose Value records the same arithmetic (`p / 16` is a float to fn, and a node of the graph);
a comparison is one of its Value, so the tape checks it on every replay (`y == 1` included).
Every other use as a Python number (an index, `range(y)`, a hash, `int(y)`, `y // 2`,
`str(y)`) is noted in `uses`: then fn needs the number itself, and the tape records its ints
as static instead. A traced int is no int subclass, so a list or `range` asks its
`__index__` (an int subclass would be read directly). Recording again with the ints moved far
out of range (`record._moved_together`) and nearby (`record._check_ints_are_data`) checks the
rest: the same graph, or static.
"""

from __future__ import annotations

import operator
from typing import Any

from ..engine import Value, lift_operand, note_comparison, traced

# The operators that are arithmetic on both sides, and the Value form of each (with a plain
# number or another traced number as the other operand). Their plain results are what fn would
# compute on the plain numbers: to the bit, as integers below 2**53 are exact floats.
_ARITHMETIC = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
}
_EXACT = 2**53  # ints up to here are exact as floats
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
_PLAIN_COMPARE = {name: getattr(operator, name) for name in _COMPARE}
_PLAIN_USES = ("__hash__", "__index__", "__int__", "__float__", "__invert__", "__round__",
               "__trunc__", "__floor__", "__ceil__", "__floordiv__", "__rfloordiv__", "__mod__",
               "__rmod__", "__divmod__", "__rdivmod__", "__lshift__", "__rlshift__",
               "__rshift__", "__rrshift__", "__and__", "__rand__", "__or__", "__ror__",
               "__xor__", "__rxor__", "__rpow__")


def plain(x: Any) -> Any:
    """The plain number of a traced number (and any other number as it is)."""
    return x.number if isinstance(x, _Traced) else x


def _wrap(result: Any, value: Value, uses: list[str]) -> Any:
    if isinstance(result, bool):
        return result
    if isinstance(result, int):
        if abs(result) >= _EXACT:  # the Value's float arithmetic is no longer fn's
            uses.append(f"an int past 2**53 ({result})")
        return TracedInt(result, value, uses)
    if isinstance(result, float):
        return TracedFloat(result, value, uses)
    return result


class _Traced:
    """What the traced int and float share: the plain number, `traced_value` and the list of
    plain uses."""

    __slots__ = ()
    number: Any
    traced_value: Value
    uses: list[str]

    @property
    def plain_value(self) -> Any:
        """The number itself (the engine compares a Value with it)."""
        return plain(self)

    def _operand(self, other: Any) -> Any:
        """The other operand as the Value arithmetic takes it, or None if it is no number."""
        value = traced(other)
        if value is not None:
            return value
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return other
        return None

    def _arithmetic(self, name: str, other: Any, reflected: bool) -> Any:
        if isinstance(other, Value):
            return NotImplemented  # the Value's own operator lifts self
        operand = self._operand(other)
        if operand is None:
            self.uses.append(f"__{'r' if reflected else ''}{name}__")
            return NotImplemented
        fn = _ARITHMETIC[name]
        a, b = (plain(other), plain(self)) if reflected else (plain(self), plain(other))
        result = fn(a, b)
        x, y = (operand, self.traced_value) if reflected else (self.traced_value, operand)
        if not isinstance(x, Value):
            x = lift_operand(x, name)
        return _wrap(result, fn(x, y), self.uses)

    def _compare(self, name: str, other: Any) -> Any:
        if isinstance(other, Value):
            return NotImplemented  # the Value's reflected comparison lifts self: a guard
        operand = self._operand(other)
        if operand is None:
            self.uses.append(f"__{name}__")
            return getattr(type(plain(self)), f"__{name}__")(plain(self), plain(other))
        # as Python compares the plain numbers (`1 == 1.0`: int's own method declines a float)
        result = _PLAIN_COMPARE[name](plain(self), plain(other))
        note_comparison(self.traced_value, _COMPARE[name], operand, result)
        return result

    def __pow__(self, other: Any, mod: Any = None) -> Any:
        if isinstance(other, Value):
            return NotImplemented
        k = plain(other)
        if mod is not None:  # pow(y, k, m): modular arithmetic has no Value form
            self.uses.append("__pow__")
            return pow(plain(self), k, plain(mod))
        if isinstance(other, _Traced) or not isinstance(k, int) or k < 0:
            self.uses.append("__pow__")  # only whole powers of a plain exponent are exact
            return plain(self) ** k
        return _wrap(plain(self) ** k, self.traced_value ** k, self.uses)

    def __neg__(self) -> Any:
        return _wrap(-plain(self), -self.traced_value, self.uses)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _wrap(abs(plain(self)), abs(self.traced_value), self.uses)

    def __bool__(self) -> bool:
        return self._compare("ne", 0) is True

    def __repr__(self) -> str:  # text of the number (a dict key, a name): a plain use
        self.uses.append("__repr__")
        return repr(plain(self))

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        self.uses.append("__format__")
        return format(plain(self), spec)

    def __reduce__(self) -> Any:
        self.uses.append("pickle")
        return type(plain(self)), (plain(self),)


def _arith(name: str, reflected: bool) -> Any:
    return lambda self, other: self._arithmetic(name, other, reflected)


def _cmp(name: str) -> Any:
    return lambda self, other: self._compare(name, other)


def _noted(name: str, base: type) -> Any:
    method = getattr(base, name)

    def use(self: Any, *args: Any) -> Any:
        self.uses.append(name)
        return method(plain(self), *map(plain, args))

    return use


class TracedInt(_Traced):
    """An int argument, standing for its Value while fn records (see the module docstring).

    Not a subclass of int, so that everything that reads its number (a list's index,
    `range`, `math.factorial`, NumPy) has to ask `__index__` and is noted; an int subclass
    would be read directly. `isinstance(y, int)` still holds, through `__class__`."""

    __slots__ = ("number", "traced_value", "uses")

    def __init__(self, number: int, traced_value: Value, uses: list[str]) -> None:
        self.number = number
        self.traced_value = traced_value
        self.uses = uses

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105
        return int

    def __neg__(self) -> Any:  # -0 is 0, where -0.0 is -0.0
        return _wrap(-self.number, 0.0 - self.traced_value, self.uses)


class TracedFloat(_Traced):
    """A float computed from traced numbers (`p / 16`), standing for its Value. No float
    subclass either (`math.hypot` would read one directly); `isinstance(x, float)` holds."""

    __slots__ = ("number", "traced_value", "uses")

    def __init__(self, number: float, traced_value: Value, uses: list[str]) -> None:
        self.number = number
        self.traced_value = traced_value
        self.uses = uses

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105
        return float


for _cls, _base in ((TracedInt, int), (TracedFloat, float)):
    for _name in _ARITHMETIC:
        setattr(_cls, f"__{_name}__", _arith(_name, False))
        setattr(_cls, f"__r{_name}__", _arith(_name, True))
    for _name in _COMPARE:
        setattr(_cls, f"__{_name}__", _cmp(_name))
    for _name in _PLAIN_USES:
        if hasattr(_base, _name):
            setattr(_cls, _name, _noted(_name, _base))
