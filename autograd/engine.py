"""`Value`: a scalar that records the operations applied to it, and the backward pass.

Recording is the only thing this module does with an op: it asks the op table (`ops.py`) for
the forward result and the local derivatives, and keeps them on the new node. A node refers to
its parents and never back, so a dropped graph is freed by reference counting alone.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from numbers import Real
from typing import Any

from . import ops
from .ops import ADD, DIV, DOT, IDENTITY, LEAF, MUL, NEG, POW, POWC, SUB, SUM, Op, fmt

_new = object.__new__


class _Undefined:
    """A local derivative that does not exist (sqrt at 0, d(x**y)/dy at x <= 0).

    Stored in place of the number; the backward pass raises only if it multiplies one.
    """

    __slots__ = ("error", "message")

    def __init__(self, error: type[Exception], message: str) -> None:
        self.error = error
        self.message = message

    def _raise(self, _other: object) -> float:
        raise self.error(self.message)

    __mul__ = __rmul__ = _raise


def _undefined(op: Op, operands: tuple, index: int, exc: Exception) -> _Undefined:
    args = ", ".join(fmt(x) for x in operands)
    which = f" with respect to operand {index + 1}" if len(operands) > 1 else ""
    kind = OverflowError if isinstance(exc, OverflowError) else ValueError
    return _Undefined(kind, f"{op.name}({args}): the derivative{which} does not exist here ({exc})")


# --- recording switch: no_grad is thread-local -------------------------------------------------

_thread = threading.local()
_switch_lock = threading.Lock()
_paused_anywhere = 0  # no_grad blocks open in any thread; 0 keeps the hot path to one global read


def is_recording() -> bool:
    """Whether operations in this thread are being recorded into graphs."""
    return getattr(_thread, "recording", True)


def _set_recording(on: bool) -> bool:
    global _paused_anywhere
    before = is_recording()
    _thread.recording = on
    with _switch_lock:
        _paused_anywhere += (before and not on) - (on and not before)
    return before


class no_grad:
    """`with no_grad(): ...` records nothing in this thread: results are leaves.

    Other threads keep recording. Also usable as a decorator.
    """

    def __init__(self) -> None:
        self._before: list[bool] = []

    def __enter__(self) -> no_grad:
        self._before.append(_set_recording(False))
        return self

    def __exit__(self, *exc: object) -> None:
        _set_recording(self._before.pop())

    def __call__(self, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


class enable_grad(no_grad):
    """Records again inside an enclosing `no_grad` (the functional transforms use it)."""

    def __enter__(self) -> enable_grad:
        self._before.append(_set_recording(True))
        return self


# --- the node ---------------------------------------------------------------------------------


def _node(data: float, parents: tuple, partials: tuple, op: Op) -> Value:
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _paused_anywhere and not is_recording():
        out._parents = out._partials = ()
        out._rule = LEAF
    else:
        out._parents = parents
        out._partials = partials
        out._rule = op
    return out


def _lift(x: Any) -> Value:
    """A plain number as a constant leaf; anything else is not ours (the caller returns
    NotImplemented so Python names the types in its TypeError)."""
    if isinstance(x, Real):
        out = _new(Value)
        out.data = float(x)
        out.grad = 0.0
        out.label = ""
        out._parents = out._partials = ()
        out._rule = LEAF
        return out
    return NotImplemented


class Value:
    """A scalar node of a dynamic computation graph.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad
    7.0
    """

    __slots__ = ("data", "grad", "label", "_parents", "_partials", "_rule", "_arg")

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(data, Real):
            raise TypeError(f"Value(data) takes a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._parents = ()
        self._partials = ()
        self._rule = LEAF

    # -- what a node is ---------------------------------------------------------------------

    @property
    def op(self) -> str:
        """The op that made this node: "" for a leaf, else e.g. "+", "*", "tanh"."""
        return self._rule.name

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in order (`a + a` has `a` twice)."""
        return self._parents

    @property
    def _prev(self) -> frozenset[Value]:  # micrograd's name
        return frozenset(self._parents)

    @property
    def _op(self) -> str:  # micrograd's name
        return self._rule.name

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self._parents else ""
        return f"Value(data={fmt(self.data)}, grad={fmt(self.grad)}{extra})"

    def __float__(self) -> float:
        return self.data

    def detach(self) -> Value:
        """A new leaf with the same data: gradients stop here."""
        return Value(self.data, self.label)

    # -- comparisons look at data and record nothing; == and hash stay identity -------------

    def __lt__(self, other: Any) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Any) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Any) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Any) -> bool:
        return self.data >= _data(other)

    # -- arithmetic: the hot path, so + - * are recorded inline ------------------------------

    def __add__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return other
        return _node(self.data + other.data, (self, other), (1.0, 1.0), ADD)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return other
        return _node(self.data - other.data, (self, other), (1.0, -1.0), SUB)

    def __rsub__(self, other: Any) -> Value:
        other = _lift(other)
        return other if other is NotImplemented else other.__sub__(self)

    def __mul__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return other
        a = self.data
        b = other.data
        return _node(a * b, (self, other), (b, a), MUL)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return other
        return _binary(DIV, self, other)

    def __rtruediv__(self, other: Any) -> Value:
        other = _lift(other)
        return other if other is NotImplemented else _binary(DIV, other, self)

    def __pow__(self, other: Any) -> Value:
        if other.__class__ is Value:
            return _binary(POW, self, other)
        if not isinstance(other, Real):
            return NotImplemented
        return _unary(POWC, self, float(other))

    def __rpow__(self, other: Any) -> Value:
        other = _lift(other)
        return other if other is NotImplemented else _binary(POW, other, self)

    def __neg__(self) -> Value:
        return _node(-self.data, (self,), (-1.0,), NEG)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _unary(ops.ABS, self)

    # relu, tanh, sigmoid, exp, log, sqrt, sin, cos are attached below, one per op-table entry.

    # -- backward ----------------------------------------------------------------------------

    def backward(self, gradient: float = 1.0) -> None:
        """Add d self / d node to `.grad` of every node `self` depends on (itself included).

        Each call computes its gradients afresh, so calling it twice adds the same amounts
        twice. If it raises, no `.grad` has changed.
        """
        for node, g in gradients(self, float(gradient)).items():
            node.grad += g

    def zero_grad(self) -> None:
        """Set `.grad` to 0.0 on every node of the graph under `self`."""
        for node in walk(self):
            node.grad = 0.0

    # -- notebook display (rendering is imported only when asked for) ------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            from .render import notebook_bundle

            return notebook_bundle(self)
        except Exception:  # a display hook must never raise: fall back to the text
            return {"text/plain": repr(self)}


def _data(x: Any) -> float:
    return x.data if x.__class__ is Value else x


def _unary(op: Op, x: Value, *arg: float) -> Value:
    a = x.data
    y = op.forward(a, *arg)
    try:
        local = op.derivatives[0](a, y, *arg)
    except (ArithmeticError, ValueError) as exc:
        local = _undefined(op, (a, *arg), 0, exc)
    out = _node(y, (x,), (local,), op)
    if arg and out._parents:
        out._arg = arg[0]
    return out


def _binary(op: Op, x: Value, z: Value) -> Value:
    a, b = x.data, z.data
    y = op.forward(a, b)
    partials = []
    for i, d in enumerate(op.derivatives):
        try:
            partials.append(d(a, b, y))
        except (ArithmeticError, ValueError) as exc:
            partials.append(_undefined(op, (a, b), i, exc))
    return _node(y, (x, z), tuple(partials), op)


def _unary_method(op: Op) -> Any:
    def method(self: Value) -> Value:
        return _unary(op, self)

    method.__name__ = op.name
    method.__doc__ = f"{op.name}(self), recorded as one node."
    return method


for _op in ops.UNARY.values():
    setattr(Value, _op.name, _unary_method(_op))


def _values(items: Iterable[Any], fn: str) -> tuple[Value, ...]:
    out = []
    for v in items:
        if v.__class__ is not Value:
            lifted = _lift(v)
            if lifted is NotImplemented:
                raise TypeError(f"{fn}: expected Values or real numbers, got {type(v).__name__}")
            v = lifted
        out.append(v)
    return tuple(out)


def sum_(values: Iterable[Any]) -> Value:
    """The sum of `values` as one node (the same result as chaining `+`).

    >>> sum_([Value(1.0), 2, Value(3.0)]).data
    6.0
    """
    parents = _values(values, "sum_")
    return _node(ops._sum([v.data for v in parents]), parents, (1.0,) * len(parents), SUM)


vsum = sum_


def dot(xs: Iterable[Any], ws: Iterable[Any]) -> Value:
    """sum(x * w) as one node (the same result as chaining `*` and `+`).

    >>> dot([1, 2], [Value(3.0), Value(4.0)]).data
    11.0
    """
    xs, ws = _values(xs, "dot"), _values(ws, "dot")
    if len(xs) != len(ws):
        raise ValueError(f"dot: the two sequences differ in length ({len(xs)} and {len(ws)})")
    xd = [v.data for v in xs]
    wd = [v.data for v in ws]
    return _node(ops._dot(xd, wd), xs + ws, tuple(wd + xd), DOT)


def identity(x: Value) -> Value:
    """A new node equal to `x` whose gradient flows on to `x` (the functional transforms use
    one per differentiated argument, so each level's variables stay apart)."""
    return _node(x.data, (x,), (1.0,), IDENTITY)


# --- walking the graph ------------------------------------------------------------------------


def walk(root: Value) -> list[Value]:
    """Every node under `root`, each once, root first, without recursion."""
    seen = {root}
    stack = [root]
    out = []
    while stack:
        node = stack.pop()
        out.append(node)
        for p in node._parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return out


def _consumer_counts(root: Value, stop: frozenset = frozenset()) -> dict[Value, int]:
    """How many edges lead into each node from inside the graph under `root`."""
    counts = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        if node in stop:
            continue
        for p in node._parents:
            if p in counts:
                counts[p] += 1
            else:
                counts[p] = 1
                stack.append(p)
    return counts


def topological_order(root: Value, stop: frozenset = frozenset()) -> list[Value]:
    """The nodes under `root`, each after every node that consumes it (root first).

    Kahn's algorithm on an explicit stack: no recursion, deterministic for a given graph.
    Nodes in `stop` are included but not looked through.
    """
    counts = _consumer_counts(root, stop)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        if node in stop:
            continue
        for p in node._parents:
            counts[p] -= 1
            if not counts[p]:
                ready.append(p)
    return order


def gradients(root: Value, seed: float = 1.0) -> dict[Value, float]:
    """d root / d node for every node under `root`, as floats; reads and writes no `.grad`."""
    counts = _consumer_counts(root)
    grads = {root: seed}
    ready = [root]
    pop = ready.pop
    push = ready.append
    while ready:
        node = pop()
        parents = node._parents
        if not parents:
            continue
        g = grads[node]
        for p, d in zip(parents, node._partials):
            if p in grads:
                grads[p] += d * g
            else:
                grads[p] = d * g
            c = counts[p] - 1
            counts[p] = c
            if not c:
                push(p)
    return grads


def local_derivatives(node: Value) -> tuple[float, ...]:
    """d node / d parent for each parent, as floats (nan where the derivative does not exist).

    For pictures and explanations: the number on each edge of the graph.
    """
    return tuple(d if isinstance(d, float) else math.nan for d in node._partials)


def value_partials(node: Value) -> tuple[Any, ...]:
    """The local derivatives of `node` as Values (recorded, so they can be differentiated)."""
    op = node._rule
    parents = node._parents
    try:
        if op.arity == 0:
            return tuple(op.derivatives[0](parents, node))
        if op.has_arg:
            return (op.derivatives[0](*parents, node, node._arg),)
        return tuple(d(*parents, node) for d in op.derivatives)
    except (ArithmeticError, ValueError) as exc:
        args = ", ".join(fmt(p.data) for p in parents)
        kind = OverflowError if isinstance(exc, OverflowError) else ValueError
        raise kind(f"{op.name}({args}): a derivative does not exist here ({exc})") from None


def gradients_as_values(
    root: Value, wrt: Iterable[Value], seed: float = 1.0
) -> dict[Value, Any]:
    """d root / d x for each x in `wrt`, as recorded Values (for higher orders).

    The walk does not look through the nodes in `wrt`: they are the variables of this level.
    """
    stop = frozenset(wrt)
    grads: dict[Value, Any] = {root: seed}
    for node in topological_order(root, stop):
        if node in stop or not node._parents or node not in grads:
            continue
        g = grads[node]
        for p, d in zip(node._parents, value_partials(node)):
            term = g if (d.__class__ is float and d == 1.0) else d * g
            grads[p] = grads[p] + term if p in grads else term
    return grads

