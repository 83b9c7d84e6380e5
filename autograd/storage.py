"""Leaves whose numbers live in arrays: what lets a whole training step run as array operations.

`store(values)` moves the numbers of many leaves (a model's parameters) into one `Storage`: two
arrays, `data` and `grad`. Each leaf becomes a `StoredValue`, a Value whose `.data` and `.grad`
read and write its own element, so everything that works one Value at a time (eager ops,
`backward()`, pictures, saving) sees the current numbers, and code that works on whole arrays
(an optimizer's step, a tape's batch replay) reads and writes all of them at once, with NumPy
where it is installed. Both always agree: there is one copy of each number.

A leaf can be in one storage at a time. Storing it again elsewhere (another optimizer over a
different set of parameters) moves it, and the storage it left counts a new `version`, so
whoever holds an index into it knows to ask again.

>>> from autograd import Value
>>> w, b = Value(0.5), Value(-1.0)
>>> storage, index = store([w, b])
>>> storage.data[index[1]], type(w).__name__
(-1.0, 'StoredValue')
>>> w.data = 2.0; storage.data[index[0]]
2.0
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from . import clock
from .engine import Value, real

try:
    import numpy as np
except ImportError:  # an optional extra: then the arrays are worked one element at a time
    np = None  # type: ignore[assignment]


class Storage:
    """The numbers of some leaves: `data` and `grad` (arrays of floats), their write tick."""

    def __init__(self, data: list[float], grad: list[float]) -> None:
        self.data = array("d", data)
        self.grad = array("d", grad)
        self.version = 0  # counts the leaves moved out to another storage
        self.written = -1  # clock tick of the latest write of the whole `data` array
        self._views: Any = None

    def __len__(self) -> int:
        return len(self.data)

    def arrays(self) -> tuple[Any, Any]:
        """NumPy views of `data` and `grad` (the same memory: writes show in the leaves)."""
        if self._views is None:
            self._views = (np.frombuffer(self.data, dtype=np.float64),
                           np.frombuffer(self.grad, dtype=np.float64))
        return self._views

    def wrote_data(self) -> None:
        """Note a write of the whole `data` array (a graph recorded before it is stale)."""
        self.written = clock.last_write = clock.tick()

    def __repr__(self) -> str:
        return f"<Storage of {len(self)} numbers>"


def _get_data(v: StoredValue) -> float:
    storage, i = v._arg
    return storage.data[i]


def _set_data(v: StoredValue, x: float) -> None:
    storage, i = v._arg
    storage.data[i] = x


def _get_grad(v: StoredValue) -> float:
    storage, i = v._arg
    return storage.grad[i]


def _set_grad(v: StoredValue, g: float) -> None:
    storage, i = v._arg
    storage.grad[i] = g


def _get_written(v: StoredValue) -> int:
    return max(v._b, v._arg[0].written)


def _set_written(v: StoredValue, tick: int) -> None:
    v._b = tick


class StoredValue(Value):
    """A leaf whose `.data` and `.grad` are an element of a `Storage` (see the module).

    It has a Value's slots and no more, so a leaf becomes one in place: (storage, index) is
    kept in the `_arg` slot and the tick of its own latest `.data` write in `_b`, two slots a
    leaf does not use.
    """

    __slots__ = ()

    _data = property(_get_data, _set_data)
    _grad = property(_get_grad, _set_grad)
    _wseq = property(_get_written, _set_written)

    def __reduce__(self) -> Any:  # a copy or a pickle is a plain Value with the same numbers
        return Value.__reduce__(self)


_RAW_GRAD = "_grad" in Value.__slots__  # `.grad` a property over a slot, or the slot itself
if not _RAW_GRAD:
    StoredValue.grad = property(_get_grad, lambda v, g: _set_grad(v, real(g, "Value.grad =")))


def _together(values: Sequence[Value]) -> bool:
    """Whether the values are all stored, in one storage."""
    first = values[0]
    return isinstance(first, StoredValue) and all(
        isinstance(v, StoredValue) and v._arg[0] is first._arg[0] for v in values)


def store(values: Sequence[Value]) -> tuple[Storage, list[int]] | None:
    """Put the numbers of `values` (leaves, each once) in one storage and return it with each
    value's index there; the storage they already share, if they do. None for values that
    cannot be stored: an interior node, or one value listed twice."""
    if values and _together(values):
        first = values[0]._arg[0]
        index = [v._arg[1] for v in values]
        if len(set(index)) == len(index):
            return first, index
        return None
    if len({id(v) for v in values}) != len(values) or any(v._a is not None for v in values):
        return None
    global _stores
    _stores += 1
    storage = Storage([v._data for v in values], [v.grad for v in values])
    for i, v in enumerate(values):
        written = getattr(v, "_wseq", -1)
        if isinstance(v, StoredValue):
            v._arg[0].version += 1  # it leaves its old storage
        else:
            v.__class__ = StoredValue
        v._arg = (storage, i)
        v._b = written
    return storage, list(range(len(values)))


_stores = 0  # how many times `store` has moved values into a new storage


class Stored:
    """A fixed list of leaves and where their numbers are in one storage, kept current: an
    optimizer's or a tape's view of its parameters as arrays. `arrays()` gives (data, grad,
    index) as NumPy arrays and an index (a slice where the positions run in order), or None
    where the leaves cannot be stored or NumPy is missing; then `positions` holds each
    value's position in the arrays."""

    def __init__(self, values: Sequence[Value]) -> None:
        self.values = list(values)
        self._at: tuple[Storage, int, Any] | None = None
        self._none_stored_at = -1  # `_stores` when none of the values was stored

    def arrays(self, adopt: bool | None = True) -> tuple[Any, Any, Any] | None:
        """(data, grad, index), storing the values first if need be. With `adopt` False, only
        where they are all in one storage already; with None, where some of them are stored
        (then all are): an optimizer moves its parameters into arrays only once a tape works
        on them, so eager training keeps plain Values, the fastest one at a time."""
        if np is None or not self.values:
            return None
        at = self._at
        if at is None or at[0].version != at[1]:
            if adopt is False and not _together(self.values):
                return None
            if adopt is None:  # an eager optimizer's every step: asks cheaply until a store
                if self._none_stored_at == _stores:
                    return None
                if not any(isinstance(v, StoredValue) for v in self.values):
                    self._none_stored_at = _stores
                    return None
            found = store(self.values)
            if found is None:
                return None
            storage, positions = found
            self.positions = np.array(positions, dtype=np.intp)
            index: Any = self.positions
            if positions == list(range(positions[0], positions[0] + len(positions))):
                index = slice(positions[0], positions[0] + len(positions))  # a view, no copy
            at = self._at = (storage, storage.version, index)
        data, grad = at[0].arrays()
        return data, grad, at[2]

    def wrote_data(self) -> None:
        """After writing `data` through `arrays()`: the write clock, as `.data` writes tick it."""
        if self._at is not None:
            self._at[0].wrote_data()
