"""Which forms a learner's class has: each one tried once, on its own, under a time limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from numbers import Real
from typing import Any

from .forms import FORMS, Form
from .guard import guarded

UNSUPPORTED = (TypeError, AttributeError, AssertionError, NotImplementedError)
"""What a form that the class does not support raises: `2 + a` with no `__radd__` (TypeError),
`a + 2` where `__add__` expects a Value (AttributeError), micrograd's `assert` on `a ** b`. A
form that raises anything else (a ValueError from log at 0.75, say) is there but wrong."""
PROBE_POINT = (0.75, 1.25)
"""Operands inside every op's domain (log, sqrt and `2 ** a` included)."""


@dataclass
class Probe:
    """What trying each form found: the forms that give a node (`found`), those that return a
    plain number (`plain`: form -> "a plain float"), those that are not there or fail on their own
    (`missing`: form -> why), and, if the class cannot be used at all, why (`unusable`)."""

    found: list[str] = field(default_factory=list)
    plain: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    unusable: str | None = None


def probe(value_class: Any, time_limit: float) -> Probe:
    result = Probe()
    name = getattr(value_class, "__name__", repr(value_class))
    made, trouble = guarded(lambda: _made(value_class), time_limit)
    if trouble is not None:
        result.unusable = f"{name}(2.0) {_failed(trouble.kind)}: {trouble.error}"
        return result
    data, has_backward = made
    if not isinstance(data, Real) or float(data) != 2.0:
        result.unusable = f"{name}(2.0).data should be the number 2.0, got {data}"
        return result
    if not has_backward:
        result.unusable = f"{name} has no backward() method"
        return result
    for form in FORMS.values():
        out, trouble = guarded(partial(_try, form, value_class), time_limit)
        if trouble is not None and not issubclass(trouble.exception or Exception, UNSUPPORTED):
            result.found.append(form.key)  # there, but broken: the checks will show how
        elif trouble is not None:
            result.missing[form.key] = _why_missing(form, value_class, trouble.error)
        elif out.startswith("a plain "):
            result.plain[form.key] = out
        elif out != "a node":
            result.missing[form.key] = f"returns {out}, which has no .data"
        else:
            result.found.append(form.key)
    if not result.found and not result.plain:
        failing = [f"{form}: {why}" for form, why in result.missing.items()
                   if why != "not defined"]
        result.unusable = (f"{name} has none of the operators or methods looked for"
                           + (f" ({failing[0]})" if failing else ""))
    return result


def _made(value_class: Any) -> tuple[Any, bool]:
    """`value_class(2.0)`'s data (as is if it is a number, else described) and whether it has
    a backward() method, read under the guard (either may be a property of the learner's)."""
    made = value_class(2.0)
    data = getattr(made, "data", None)
    shown = data if isinstance(data, Real) else "nothing" if data is None else repr(data)[:80]
    return shown, callable(getattr(made, "backward", None))


def _try(form: Form, value_class: Any) -> str:
    """What form gives on two fresh Values: "a node", "a plain float"..., "a str"..."""
    operands = [value_class(x) for x in PROBE_POINT[: form.arity]]
    out = form.apply(operands, form.constants[0] if form.constants else None)
    if isinstance(out, Real):
        return f"a plain {type(out).__name__}"
    return "a node" if hasattr(out, "data") else f"a {type(out).__name__}"


def _why_missing(form: Form, value_class: Any, error: str) -> str:
    if not hasattr(value_class, form.method):
        return "not defined"
    return f"fails: {error}"  # raised what an unsupported form raises (see UNSUPPORTED)


def _failed(kind: str) -> str:
    return {"timeout": "did not return", "recursion": "recursed without end"}.get(kind, "raised")


CHILD_ATTRIBUTES = ("_prev", "_children", "children", "_parents", "parents", "prev")
"""Where engines keep a node's operands: micrograd's `_prev`, and the other usual names."""


def built_from_others(value_class: Any, key: str, time_limit: float) -> bool:
    """Whether form `key` on `value_class` returns a node with a child that is itself a result
    (`a / b` written as `a * b**-1`), as far as the node's children can be seen."""
    form = FORMS[key]

    def attempt() -> bool:
        operands = [value_class(x) for x in PROBE_POINT[: form.arity]]
        out = form.apply(operands, form.constants[0] if form.constants else None)
        return any(all(c is not o for o in operands) and _children(c)
                   for c in _children(out))

    found, trouble = guarded(attempt, time_limit)
    return bool(found) and trouble is None


def _children(node: Any) -> list[Any]:
    for name in CHILD_ATTRIBUTES:
        children = getattr(node, name, None)
        if isinstance(children, (set, frozenset, tuple, list)):
            return list(children)
    return []
