"""What fn reads from outside its arguments, guarded between calls.

A recording freezes every Python number and object fn looked up while it ran: a coefficient
in a closure cell or a global (`alpha`, changed on a schedule), the model a global names
(rebound to a restored copy). `Reads(fn)` notes those lookups without running fn: the cells of
its closure and the globals its code names, following the plain Python functions it calls
through them. `changed()` says what no longer holds: numbers are compared by value, everything
else by identity. A Value's number is no such read: the replay reads parameters afresh anyway.

The attributes fn's code names on the objects it reads are guarded the same way, two levels
deep (`cfg.scale`, `self.model`, `config.alpha` of a module), where they are plain entries of
the object's `__dict__` (a property is never called).

What it cannot see (docs/tape.md lists it): items of lists and dicts, attributes fn reaches
by a name it computes (`getattr(obj, name)`), attributes deeper than two levels.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from numbers import Number
from typing import Any

_MISSING = object()
_DEPTH = 4  # how far calls are followed (fn -> helper -> helper ...)
_OWN = ("autograd.", "nn.")  # our own functions: their globals are imports, not state


def _is_value_like(x: Any) -> bool:
    """Immutable numbers and text: guarded by value."""
    return isinstance(x, (Number, str, bytes, type(None))) or (
        getattr(x, "shape", None) == () and hasattr(x, "dtype"))


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        equal = a == b
        return bool(equal) or (a != a and b != b)  # nan equals nan here
    except Exception:
        return False


class Reads:
    """The closure cells and globals fn reads, each with what it held when noted."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        # (where, key, held, by value, what to call it)
        self.entries: list[tuple[Any, Any, Any, bool, str]] = []
        self._seen: set[int] = set()
        self._names: set[str] = set()  # every name the followed code looks up
        self._objects: list[tuple[Any, str]] = []  # the objects read, for their attributes
        self._follow(fn, _DEPTH)
        guarded: set[int] = set()
        for obj, name in self._objects:
            self._attributes(obj, name, 2, guarded)

    def _attributes(self, obj: Any, name: str, depth: int, guarded: set[int]) -> None:
        """Guard the entries of `obj.__dict__` that the code names (and theirs, `depth` deep)."""
        if depth <= 0 or id(obj) in guarded:
            return
        guarded.add(id(obj))
        try:
            table = vars(obj)
        except TypeError:  # no __dict__ (slots, builtins): nothing a plain lookup could change
            return
        if not isinstance(table, dict):
            return
        classes = [] if isinstance(obj, (type, types.ModuleType)) else type(obj).__mro__
        for attribute in sorted(self._names):
            if attribute in table:
                held = table[attribute]
            else:  # on the class: guarded there, and its absence from the object's own
                held = next((vars(c)[attribute] for c in classes if attribute in vars(c)),
                            _MISSING)
                if held is _MISSING or not _is_value_like(held):
                    continue
                self.entries.append((table, attribute, _MISSING, False, f"{name}.{attribute}"))
                owner = next(c for c in classes if attribute in vars(c))
                self.entries.append((vars(owner), attribute, held, True,
                                     f"{owner.__name__}.{attribute}"))
                continue
            if callable(held) and not isinstance(held, type) and hasattr(held, "__code__"):
                continue  # a function stored on the object: followed like others, not guarded
            self.entries.append((table, attribute, held, _is_value_like(held),
                                 f"{name}.{attribute}"))
            if not _is_value_like(held) and not isinstance(held, (types.ModuleType, type)):
                self._attributes(held, f"{name}.{attribute}", depth - 1, guarded)

    def _note(self, where: Any, key: Any, held: Any, name: str, depth: int) -> None:
        self.entries.append((where, key, held, _is_value_like(held), name))
        if not _is_value_like(held) and held is not _MISSING:
            self._objects.append((held, name))
        if isinstance(held, (types.FunctionType, types.MethodType, type)) or callable(held):
            self._follow(held, depth - 1)

    def _follow(self, fn: Any, depth: int) -> None:
        if depth <= 0 or id(fn) in self._seen:
            return
        self._seen.add(id(fn))
        if isinstance(fn, types.MethodType):
            self._objects.append((fn.__self__, "self"))
            self._follow(fn.__func__, depth)
            return
        if hasattr(fn, "func") and hasattr(fn, "args") and hasattr(fn, "keywords"):  # partial
            for i, a in enumerate(fn.args):
                if _is_value_like(a):
                    self.entries.append((fn.args, i, a, True, f"partial argument {i}"))
            self._follow(fn.func, depth)
            return
        if not isinstance(fn, types.FunctionType):
            return
        if (getattr(fn, "__module__", "") or "").startswith(_OWN):
            return
        code = fn.__code__
        self._names.update(_global_names(code))
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                held = cell.cell_contents
            except ValueError:  # a cell not filled yet
                held = _MISSING
            self._note(cell, None, held, name, depth)
        scope = fn.__globals__
        for name in _global_names(code):
            held = scope.get(name, _MISSING)
            if held is _MISSING:
                continue
            if isinstance(held, types.ModuleType):  # its attributes the code names, below
                self._objects.append((held, name))
                continue
            self._note(scope, name, held, name, depth)

    def changed(self) -> str | None:
        """What no longer holds what it held when noted (a phrase), or None."""
        for where, key, held, by_value, name in self.entries:
            if key is None:
                try:
                    now = where.cell_contents
                except ValueError:
                    now = _MISSING
            elif isinstance(where, Mapping):  # a namespace: a module's, an object's, a class's
                now = where.get(key, _MISSING)
            else:
                now = where[key]
            if now is held or (by_value and _same(now, held)):
                continue
            if by_value and _is_value_like(now):
                return f"{name!r} was {held!r} when fn was recorded and is {now!r} now"
            return f"{name!r} now names another object than when fn was recorded"
        return None


def _global_names(code: types.CodeType) -> list[str]:
    """The names a code object (and the functions, lambdas and comprehensions inside it) may
    look up as globals."""
    names: list[str] = []
    stack = [code]
    while stack:
        c = stack.pop()
        names.extend(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return list(dict.fromkeys(names))
