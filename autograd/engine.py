"""`Value`: a scalar that records the operations applied to it into a graph.

Recording is the only thing this module does with an op: it asks the op table (`ops.py`) for
the forward result and the local derivatives, and keeps them on the new node. A node refers to
its parents and never back, so a dropped graph is freed by reference counting alone.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from numbers import Real
from operator import attrgetter
from types import FrameType
from typing import Any

from . import clock as _clock
from . import ops
from .backward import (
    PASS_LOCK,
    check_unchanged,
    edges,
    first_order_pass,
    gradients,
    gradients_as_values,
    gradients_wrt,
    local_derivatives,
    topological_order,
    undefined,
    value_partials,
    walk,
)
from .clock import tick as _tick
from .ops import ADD, CONST, DIV, DOT, IDENTITY, LEAF, MUL, NEG, POW, POWC, SUB, SUM, Op, fmt

_new = object.__new__
_HERE = os.path.dirname(os.path.abspath(__file__))
# Creation order is a topological order (operands exist before their result): each recorded
# node takes the next tick (`_tick`), and backward visits nodes by decreasing tick.


class _Undefined:
    """A local derivative that does not exist (sqrt at 0, d(x**y)/dy at x <= 0).

    Stored in place of the number; the backward pass raises only if it multiplies one.
    """

    __slots__ = ("error", "message")

    def __init__(self, error: Exception) -> None:
        self.error = type(error)
        self.message = str(error)

    def _raise(self, _other: object) -> float:
        raise self.error(self.message)

    __mul__ = __rmul__ = _raise

    def __reduce__(self) -> Any:
        return _undefined_from, (self.error, self.message)


def _undefined_from(error: type, message: str) -> _Undefined:
    out = _Undefined.__new__(_Undefined)
    out.error, out.message = error, message
    return out


def _local(op: Op, i: int, operands: Sequence[Any], y: float, extra: tuple = ()) -> Any:
    """Operand i's local derivative as a float, or `_Undefined` where it does not exist."""
    try:
        return op.derivatives[i](*operands, y, *extra)
    except (ArithmeticError, ValueError) as exc:
        return _Undefined(undefined(op, list(operands), i, exc, extra))


# --- recording switch: no_grad is thread-local -------------------------------------------------

_thread = threading.local()
_switch_lock = threading.Lock()
# Reasons, in any thread, to leave the ops' straight path: no_grad blocks open and `observe`
# blocks open. 0 (the common case) keeps each op to one global read.
_special = 0


def is_recording() -> bool:
    """Whether operations in this thread are being recorded into graphs."""
    return getattr(_thread, "recording", True)


def _set_recording(on: bool) -> bool:
    global _special
    before = is_recording()
    _thread.recording = on
    with _switch_lock:
        _special += (before and not on) - (on and not before)
    return before


def _saved() -> list[bool]:
    """This thread's stack of recording states to restore (one entry per open block), kept
    per thread so one `no_grad` object can be shared by threads."""
    stack = getattr(_thread, "saved", None)
    if stack is None:
        stack = _thread.saved = []
    return stack


class no_grad:
    """`with no_grad(): ...` records nothing in this thread: results are leaves.

    Other threads keep recording. Also usable as a decorator, `@no_grad()`.

    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.parents
    ()
    """

    recording = False

    def __enter__(self) -> no_grad:
        _saved().append(_set_recording(self.recording))
        return self

    def __exit__(self, *exc: object) -> None:
        _set_recording(_saved().pop())

    def __call__(self, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


# --- what a function does with Values, seen while a tape records it ----------------------------

_watching = 0  # `observe` blocks open in any thread; 0 keeps every hook to one global read
_watch_lock = threading.Lock()


class Observed:
    """What one `observe` block saw in its thread.

    - `comparisons`: `(left, op, right, result)` for every comparison of a Value (`left` a
      Value, `right` a Value or a number): the data-dependent branches taken;
    - `reads`: `(value, how, where)` for every number taken out of a Value (`.data`, `.item()`,
      `format`), `where` the reader's file and line;
    - `unrecorded`: `(result, operands, how, where)` for every Value made from other Values
      outside the graph (under `no_grad`, or by `detach()`);
    - `made`: the ids of the leaves made inside the block (`Value(...)`, lifted numbers);
    - `recorded`: every node recorded in the block, in creation order (those the result does
      not depend on too: their forward can still raise);
    - `unrecorded_ops`: for a result made under `no_grad` by an op, (the op, its operands, its
      constant argument, a tick that places it among the recorded nodes), by the result's id;
    - `traced_args`: for a node whose constant argument was a number standing for a Value (a
      tape's traced int: `autograd.replay.traced`), that Value, by the node's id.
    """

    def __init__(self, limit: float = math.inf) -> None:
        self.limit = limit  # more nodes or comparisons than this: `ObservedTooMuch`
        self.comparisons: list[tuple[Value, str, Any, bool]] = []
        self.reads: list[tuple[Value, str, str]] = []
        self.unrecorded: list[tuple[Value, tuple[Value, ...], str, str]] = []
        self.made: set[int] = set()
        self.traced_args: dict[int, Value] = {}
        self.recorded: list[Value] = []
        self.unrecorded_ops: dict[int, tuple[Op, tuple[Value, ...], Any, int]] = {}


class ObservedTooMuch(Exception):
    """An `observe` block with a limit recorded more than it: a run a tape makes to check
    itself (its ints moved far) that would loop for as long as the int says."""


class observe:
    """`with observe() as seen: ...` notes what code in this thread does with Values inside
    the block (see `Observed`): how `autograd.tape` learns what a recording cannot replay.

    >>> x = Value(2.0)
    >>> with observe() as seen:
    ...     y = x * 3 if x > 0 else -x
    >>> [(op, right, result) for _, op, right, result in seen.comparisons]
    [('>', 0, True)]
    """

    def __init__(self, limit: float = math.inf) -> None:
        self.limit = limit

    def __enter__(self) -> Observed:
        global _watching, _special
        stack = getattr(_thread, "watch", None)
        if stack is None:
            stack = _thread.watch = []
        self.seen = Observed(self.limit)
        stack.append(self.seen)
        with _watch_lock:
            _watching += 1
            if _watching == 1:  # reads of `.data` go through a noting getter meanwhile
                Value.data = _observed_data
        with _switch_lock:
            _special += 1
        return self.seen

    def __exit__(self, *exc: object) -> None:
        global _watching, _special
        _thread.watch.pop()
        with _watch_lock:
            _watching -= 1
            if _watching == 0:
                Value.data = _plain_data
        with _switch_lock:
            _special -= 1


def _observer() -> Observed | None:
    stack = getattr(_thread, "watch", None)
    return stack[-1] if stack else None


def _caller() -> str:
    """The file and line of the first frame outside the engine: where user code did it."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def note_comparison(left: Value, op: str, right: Any, result: bool) -> None:
    """Note, for `observe`, a comparison of `left` made by a number that stands for a Value
    (a tape's traced argument): `right` a Value or a number."""
    if _watching:
        _note(left, op, right, result)


def _note(left: Value, op: str, right: Any, result: bool) -> None:
    seen = _observer()
    if seen is not None:
        stands_for = traced(right)
        seen.comparisons.append((left, op, right if stands_for is None else stands_for, result))
        if len(seen.comparisons) > seen.limit:
            raise ObservedTooMuch(f"more than {seen.limit} comparisons")


def _note_read(v: Value, how: str) -> None:
    seen = _observer()
    if seen is not None:
        seen.reads.append((v, how, _caller()))


def _note_unrecorded(out: Value, operands: tuple, how: str, applied: Any = None) -> None:
    seen = _observer()
    if seen is not None:
        values = tuple(p for p in operands if isinstance(p, Value))
        if values:
            seen.unrecorded.append((out, values, how, _caller()))
        seen.made.add(id(out))
        if applied is not None:
            seen.unrecorded_ops[id(out)] = (*applied, _tick())  # when, among recorded nodes


def _note_recorded(node: Value) -> None:
    seen = _observer()
    if seen is not None:
        seen.recorded.append(node)
        if len(seen.recorded) > seen.limit:
            raise ObservedTooMuch(f"more than {seen.limit} nodes")


def _note_traced_arg(node: Value, source: Value) -> None:
    seen = _observer()
    if seen is not None:
        seen.traced_args[id(node)] = source


def _note_made(v: Value) -> None:
    seen = _observer()
    if seen is not None:
        seen.made.add(id(v))


class enable_grad(no_grad):
    """Records again inside an enclosing `no_grad` (the functional transforms use it)."""

    recording = True


# How a notebook shows a Value: the views put their picture here when `autograd` is imported
# (the engine imports no view).
display: list[Any] = [lambda v: {"text/plain": repr(v)}]


# --- the node ---------------------------------------------------------------------------------


# A node keeps its operands and their local derivatives in slots, not in tuples: the node is
# then the only object the cyclic garbage collector tracks per operation, which is most of
# what a scalar engine's forward pass costs once graphs grow. Layout by arity:
#   leaf     _a = None
#   unary    _a = operand, _b = None, _da = d out/d operand
#   binary   _a, _b, _da, _db
#   n-ary    _a = tuple of operands, _b = None, _da = tuple of local derivatives
#   micrograd-style (made by the constructor with children): n-ary, with _db = the user's
#            `_backward` closure and _da = None until the backward pass asks the closure
# `_data` holds the number (`.data` is a property, so a write can be noticed: see `clock`).


def _leaf(data: float, rule: Op = LEAF) -> Value:
    """A node with no operands: a result under no_grad, or (rule CONST) a lifted number."""
    out = _new(Value)
    out._data = data
    out._grad = 0.0
    out.label = ""
    out._rule = rule
    out._a = None
    if _watching:
        _note_made(out)
    return out


def _record(y: float, op: Op, a: Any, da: Any, b: Value | None = None, db: Any = None) -> Value:
    """A new node for op's result `y`, or a leaf where no_grad is on in this thread."""
    if _special and not is_recording():
        return _unrecorded(y, (a, b) if b is not None else a if a.__class__ is tuple else (a,),
                           op)
    out = _new(Value)
    out._data = y
    out._grad = 0.0
    out.label = ""
    out._rule = op
    out._seq = _tick()
    out._a = a
    out._b = b
    out._da = da
    out._db = db
    if _special:  # a tape may be observing: it keeps every node fn records
        _note_recorded(out)
    return out


def _lift(x: Any, op: str) -> Value:
    """A plain number as a constant leaf; anything else is not ours (the caller returns
    NotImplemented so Python names the types in its TypeError). A number that stands for a
    Value (`traced`) is that Value: how a tape traces the ints it is given."""
    if type(x) is float:  # not `__class__`: a traced number (a tape's) says float or int there
        return _leaf(x, CONST)
    if type(x) is int:
        return _leaf(real(x, op), CONST)
    if isinstance(x, Real):
        value = traced(x)
        return _leaf(real(x, op), CONST) if value is None else value
    if isinstance(x, Value):  # a Value whose number lives elsewhere (`autograd.storage`)
        return x
    return NotImplemented


def as_value(x: Any) -> Value:
    """`x` itself if it is a Value, the Value a traced number stands for (while a tape
    records), else a new leaf `Value(x)`: how a module takes its inputs.

    >>> as_value(2.0)
    Value(data=2.0, grad=0.0)
    """
    if isinstance(x, Value):
        return x
    value = traced(x)
    return Value(x) if value is None else value


def traced(x: Any) -> Value | None:
    """The Value a number stands for while a tape records (an int argument traced as data,
    with a `traced_value` of its own), or None for a plain number."""
    return getattr(x, "traced_value", None)


def real(x: Any, where: str) -> float:
    """`x` as a float if it is a real number (a NumPy scalar included), else a TypeError, and
    an OverflowError for an int too large for a float; `where` names the caller."""
    if type(x) is float:
        return x
    if is_real(x):
        try:
            return float(x)
        except OverflowError:
            shown = str(x) if len(str(x)) < 30 else f"an integer of {len(str(x))} digits"
            raise OverflowError(f"{where}: {shown} is too large for a float") from None
    hint = " (use v.data for its number, or v itself)" if isinstance(x, Value) else ""
    raise TypeError(f"{where} takes a real number, got {type(x).__name__}: {x!r:.60}{hint}")


def is_real(x: Any) -> bool:
    """Whether `x` is a real number a Value can hold: a Python or NumPy int, float or bool."""
    return isinstance(x, Real) or _is_numpy_real(x)


def _is_numpy_real(x: Any) -> bool:
    # NumPy registers its floats and ints as numbers.Real, but not numpy.bool_
    dtype = getattr(x, "dtype", None)
    return getattr(x, "shape", None) == () and getattr(dtype, "kind", "") in "biuf"


def is_constant(node: Value) -> bool:
    """Whether `node` is a number that an operator lifted into the graph (the 2 in `2 * x`, an
    empty `sum_`): a leaf that is not a variable of the user's, so views show it as a number.

    >>> x = Value(3.0)
    >>> is_constant(x), is_constant((2 * x).parents[0])
    (False, True)
    """
    return node._rule is CONST


def _set_data(node: Value, x: Any) -> None:
    if type(x) is not float:  # the message is made only for a write that needs checking
        x = real(x, f"{node.label!r}.data =" if node.label else "Value.data =")
    node._data = x
    node._wseq = _clock.last_write = _tick()  # the latest write (see `clock`)


def _set_grad(node: Value, g: Any) -> None:
    # The engine's own loops write the slot `_grad` directly; every other write comes here, so
    # `.grad` is always a float and a backward pass's final `+=` into it cannot fail halfway.
    if type(g) is float:
        node._grad = g
        return
    if isinstance(g, Value) or g is None or not is_real(g):
        name = f"Value {node.label!r}" if node.label else "a Value"
        kind = "None" if g is None else f"{type(g).__name__} {g!r:.40}"
        raise TypeError(
            f"{name}: .grad takes a real number, got {kind}. To reset a gradient, set "
            f".grad = 0.0 or call zero_grad() (on the Value, the module or the optimizer)"
        )
    node._grad = real(g, f"{node.label!r}.grad =" if node.label else "Value.grad =")


def _observed_get(node: Value) -> float:
    if _watching:
        _note_read(node, ".data")
    return node._data


_DATA_DOC = "The number this node holds (a float)."
_plain_data = property(attrgetter("_data"), _set_data, doc=_DATA_DOC)
_observed_data = property(_observed_get, _set_data, doc=_DATA_DOC)


def _leaves_graph(conversion: str) -> Any:
    def refuse(self: Value, *args: Any) -> Any:
        raise TypeError(
            f"{conversion}: a Value never becomes a plain number silently (the number would "
            f"leave the graph and lose its gradient). Use v.item() or v.data for "
            f"the number ({fmt(self._data)}), and the recorded methods (v.exp(), v.log(), "
            f"v.sqrt(), v.tanh(), ...) instead of the math module"
        )

    return refuse


class Value:
    """A scalar node of a dynamic computation graph.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad
    7.0
    """

    __slots__ = (
        "_data", "_grad", "label", "_rule", "_a", "_b", "_da", "_db", "_arg", "_seq", "_g", "_wseq"
    )
    # The slots' types (declarations only; the layout by arity is above `_leaf`). `_a`, `_da`
    # and `_db` change kind with the arity, and a `StoredValue` keeps other things in `_b` and
    # `_arg`: those are Any.
    _data: float
    _grad: float
    label: str
    _rule: Op
    _a: Any  # None, the operand, or a tuple of operands
    _b: Any  # the second operand of a binary node, else None
    _da: Any  # a float, an `_Undefined`, or a tuple of those
    _db: Any  # a float, an `_Undefined`, or a micrograd-style node's `_backward` closure
    _arg: Any  # the op's constant argument (the 3 in `x ** 3`)
    _seq: int  # creation tick: the topological order
    _g: float  # the gradient being accumulated by a first-order pass
    _wseq: int  # tick of the latest `.data` write

    # NumPy scalars on the left of an operator then defer to our reflected operators: the
    # result is a Value in the graph, not a NumPy object array.
    __array_ufunc__ = None

    def __init__(
        self, data: float | Real, _children: Iterable[Value] = (), _op: str = "", label: str = ""
    ) -> None:
        self._data = real(data, "Value(data)")
        self._grad = 0.0
        if label.__class__ is not str:
            raise TypeError(f"Value(label=...) takes a str, got {type(label).__name__}")
        self.label = label
        self._rule = LEAF
        self._a = None
        if _children or _op:
            _adopt(self, _children, _op)
        if _watching:
            _note_made(self)

    data = _plain_data
    grad = property(attrgetter("_grad"), _set_grad, doc="d root / d node, added by backward "
                    "passes (a float; 0.0 until one reaches the node).")

    # -- what a node is ---------------------------------------------------------------------

    @property
    def op(self) -> str:
        """The op that made this node: "" for a leaf, else e.g. "+", "*", "tanh"."""
        return self._rule.name

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in order (`a + a` has `a` twice)."""
        a = self._a
        if a is None:
            return ()
        if self._b is not None:
            return (a, self._b)
        return a if a.__class__ is tuple else (a,)

    @property
    def _prev(self) -> set[Value]:  # micrograd's name
        return set(self.parents)

    @property
    def _op(self) -> str:  # micrograd's name
        return self._rule.name

    @property
    def _backward(self) -> Any:
        """micrograd's chain-rule step of this node alone: adds `self.grad * d self / d operand`
        into each operand's `.grad` (a leaf's does nothing). Assign a closure to define an op
        micrograd's way."""
        if self._rule.external and self._db is not None:
            return self._db
        if self._a is None:  # a leaf: nothing to step, or the closure a user gave it
            return getattr(self, "_db", None) or _no_step
        return functools.partial(chain_step, self)

    @_backward.setter
    def _backward(self, fn: Any) -> None:
        if not callable(fn):
            kind = type(fn).__name__
            raise TypeError(f"_backward must be a function of no arguments, got {kind}")
        if self._a is not None and not self._rule.external:
            # a recorded node redefined by hand: it becomes a micrograd-style node
            parents = self.parents
            self._rule = ops.external(self._rule.name)
            self._a, self._b = parents, None
        if self._a is not None:
            self._da = _ask_closure(self, fn)
        self._db = fn

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self._a is not None else ""
        return f"Value(data={fmt(self._data)}, grad={fmt(self._grad)}{extra})"

    __float__ = _leaves_graph("float(v) or math.exp(v)")
    __int__ = _leaves_graph("int(v)")
    __round__ = _leaves_graph("round(v)")
    __trunc__ = _leaves_graph("math.trunc(v)")
    __floor__ = _leaves_graph("math.floor(v)")
    __ceil__ = _leaves_graph("math.ceil(v)")
    __complex__ = _leaves_graph("complex(v)")

    def item(self) -> float:
        """The number, as a float (PyTorch's name for `.data`)."""
        if _watching:
            _note_read(self, ".item()")
        return self._data

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        if _watching:
            _note_read(self, "format()")
        return format(self._data, spec)

    def detach(self) -> Value:
        """A new leaf with the same data: gradients stop here."""
        out = Value(self._data, label=self.label)
        if _watching:
            _note_unrecorded(out, (self,), "by detach()")
        return out

    # -- comparisons look at data and record nothing; == and hash stay identity -------------

    def __lt__(self, other: Any) -> bool:
        b = _data(other)
        if b is NotImplemented:
            return b
        result = self._data < b
        if _watching:
            _note(self, "<", other, result)
        return result

    def __le__(self, other: Any) -> bool:
        b = _data(other)
        if b is NotImplemented:
            return b
        result = self._data <= b
        if _watching:
            _note(self, "<=", other, result)
        return result

    def __gt__(self, other: Any) -> bool:
        b = _data(other)
        if b is NotImplemented:
            return b
        result = self._data > b
        if _watching:
            _note(self, ">", other, result)
        return result

    def __ge__(self, other: Any) -> bool:
        b = _data(other)
        if b is NotImplemented:
            return b
        result = self._data >= b
        if _watching:
            _note(self, ">=", other, result)
        return result

    # -- arithmetic: + and * are the hot path, so they record inline (what `_record` does) ----

    def __add__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other, "+")
            if other is NotImplemented:
                return other
        if _special:
            return _record(self._data + other._data, ADD, self, 1.0, other, 1.0)
        out = _new(Value)
        out._data = self._data + other._data
        out._grad = 0.0
        out.label = ""
        out._rule = ADD
        out._seq = _tick()
        out._a = self
        out._b = other
        out._da = 1.0
        out._db = 1.0
        return out

    def __radd__(self, other: Any) -> Value:
        other = _lift(other, "+")  # kept on the left: parents are in the order written
        return other if other is NotImplemented else other.__add__(self)

    def __sub__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other, "-")
            if other is NotImplemented:
                return other
        return _record(self._data - other._data, SUB, self, 1.0, other, -1.0)

    def __rsub__(self, other: Any) -> Value:
        other = _lift(other, "-")
        return other if other is NotImplemented else other.__sub__(self)

    def __mul__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other, "*")
            if other is NotImplemented:
                return other
        a = self._data
        b = other._data
        if _special:
            return _record(a * b, MUL, self, b, other, a)
        out = _new(Value)
        out._data = a * b
        out._grad = 0.0
        out.label = ""
        out._rule = MUL
        out._seq = _tick()
        out._a = self
        out._b = other
        out._da = b
        out._db = a
        return out

    def __rmul__(self, other: Any) -> Value:
        other = _lift(other, "*")
        return other if other is NotImplemented else other.__mul__(self)

    def __truediv__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other, "/")
            if other is NotImplemented:
                return other
        return _binary(DIV, self, other)

    def __rtruediv__(self, other: Any) -> Value:
        other = _lift(other, "/")
        return other if other is NotImplemented else _binary(DIV, other, self)

    def __pow__(self, other: Any) -> Value:
        if isinstance(other, Value):
            return _binary(POW, self, other)
        if not isinstance(other, Real):
            return NotImplemented
        return _unary(POWC, self, real(other, "**: the exponent"))

    def __rpow__(self, other: Any) -> Value:
        other = _lift(other, "**")
        return other if other is NotImplemented else _binary(POW, other, self)

    def __neg__(self) -> Value:
        return _record(-self._data, NEG, self, -1.0)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _unary(ops.ABS, self)

    # relu, tanh, sigmoid, ... are attached below, one per op-table entry of `ops.UNARY`; named
    # here for type checkers
    relu: Callable[[Value], Value]
    tanh: Callable[[Value], Value]
    sigmoid: Callable[[Value], Value]
    softplus: Callable[[Value], Value]
    exp: Callable[[Value], Value]
    log: Callable[[Value], Value]
    sqrt: Callable[[Value], Value]
    sin: Callable[[Value], Value]
    cos: Callable[[Value], Value]
    atan: Callable[[Value], Value]

    # -- backward ----------------------------------------------------------------------------

    def backward(self, gradient: float | None = 1.0) -> None:
        """Add d self / d node to `.grad` of every node `self` depends on (itself included).

        Each call computes its gradients afresh, so calling it twice adds the same amounts
        twice. If it raises, no `.grad` has changed. Passes from several threads through
        shared nodes take turns, so each adds exactly what it would add alone.
        """
        if gradient is None:  # PyTorch's spelling of the default seed
            gradient = 1.0
        seed = real(gradient, "backward(gradient): the seed")
        with PASS_LOCK:
            for node in first_order_pass(self, seed):
                node._grad += node._g  # floats both (`_set_grad`): this loop cannot raise

    def zero_grad(self) -> None:
        """Set `.grad` to 0.0 on every node of the graph under `self`."""
        for node in walk(self):
            node._grad = 0.0

    # -- copies and pickles: the graph is written flat, so any depth works -------------------

    def __reduce__(self) -> Any:
        from .graphcopy import reduce_value

        return reduce_value(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        from .graphcopy import deepcopy_value

        return deepcopy_value(self, memo)

    def __copy__(self) -> Value:
        """A new node with the same data, grad, label and operands (the operands are shared)."""
        out = _new(Value)
        for slot in Value.__slots__:
            if hasattr(self, slot):
                setattr(out, slot, getattr(self, slot))
        if self._a is not None:
            out._seq = _tick()
        if _watching:
            _note_unrecorded(out, (self,), "by copy.copy()")
        return out

    # -- notebook display (rendering is imported only when asked for) ------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            return display[0](self)
        except Exception:  # a display hook must never raise: fall back to the text
            return {"text/plain": repr(self)}


def _adopt(node: Value, children: Any, op: Any) -> None:
    """Make `node` a micrograd-style node: `Value(data, (a, b), "op")`."""
    if isinstance(children, (str, bytes)):
        raise TypeError(
            f"Value(data, _children, _op, label): _children must be a tuple of Values, got "
            f"{type(children).__name__} {children!r:.40} (pass a label as label=...)"
        )
    try:
        parents = tuple(children)
    except TypeError:
        raise TypeError(f"Value(_children=...) must be a tuple of Values, got "
                        f"{type(children).__name__}") from None
    for p in parents:
        if not isinstance(p, Value):
            raise TypeError(f"Value(_children=...) must hold Values, got {type(p).__name__}")
    if op.__class__ is not str:
        raise TypeError(f"Value(_op=...) takes a str, got {type(op).__name__}")
    node._rule = ops.external(op)
    if parents:
        node._seq = _tick()
        node._a = parents
        node._b = None
        node._da = (0.0,) * len(parents)  # micrograd's default `_backward` passes nothing on
    node._db = None


def _ask_closure(node: Value, closure: Any) -> tuple[Any, ...]:
    """The local derivatives of a node made micrograd's way, asked of its `_backward` closure
    when it is given: with `node.grad` at 1 and its operands' `.grad` at 0, what the closure
    adds into each operand is d node / d operand. Every `.grad` it touches is restored. From
    then on the node is like any other: its local derivatives are numbers on its edges. A
    closure that raises when asked raises in the backward pass that needs it."""
    parents = node._a
    with PASS_LOCK:
        saved_own, saved = node.grad, [p.grad for p in parents]
        try:
            for p in parents:
                p.grad = 0.0
            node.grad = 1.0
            closure()
            got = [p.grad for p in parents]
        except Exception as exc:
            message = f"the _backward closure of op {node.op!r} raised: {exc}"
            try:
                error = type(exc)(message)
            except Exception:  # an exception type that wants other arguments
                error = RuntimeError(message)
            return (_Undefined(error),) * len(parents)
        finally:
            for p, g in zip(parents, saved):
                p.grad = g
            node.grad = saved_own
    partials = []
    first = set()
    for p, d in zip(parents, got):
        d = real(d, f"the _backward of op {node.op!r} set a .grad: it")
        # an operand listed twice received its whole derivative once
        partials.append(d if p not in first else 0.0)
        first.add(p)
    return tuple(partials)


def rule(node: Value) -> Op:
    """The op-table entry that made `node` (`ops.LEAF` or `ops.CONST` for a leaf)."""
    return node._rule


def op_arg(node: Value) -> float | None:
    """The constant argument of an op that has one (the 3 in `x ** 3`), else None."""
    return node._arg if node._rule.has_arg else None


def _no_step() -> None:
    """A leaf's backward step: there is nothing below it."""


def chain_step(node: Value) -> None:
    """One node's chain-rule step by hand, micrograd's `node._backward()`: adds
    `node.grad * d node / d operand` into each operand's `.grad`."""
    if node._rule.vjp:
        raise RuntimeError(
            f"{node.op!r} has several outputs: its backward needs all their gradients at once, "
            "which a step by hand does not have; use backward() through it"
        )
    parents, partials = edges(node)
    check_unchanged([node])
    g = node._grad
    terms = [d * g for d in partials]  # all first: a derivative that does not exist adds nothing
    for p, t in zip(parents, terms):
        p._grad += t


def _data(x: Any) -> Any:
    """What a comparison compares with: a Value's data, a number, or NotImplemented."""
    if x.__class__ is Value:
        return x._data
    if not isinstance(x, Real):
        return x._data if isinstance(x, Value) else NotImplemented
    return getattr(x, "plain_value", x)  # a number standing for a Value: its number


def _unrecorded(y: float, operands: tuple, op: Op, arg: Any = None) -> Value:
    """An op's result under no_grad: a leaf (noted, with the op, when a tape is watching)."""
    out = _leaf(y)
    if _watching:
        _note_unrecorded(out, operands, "under no_grad", (op, operands, arg))
    return out


def _unary(op: Op, x: Value, *arg: float) -> Value:
    a = x._data
    y = op.forward(a, *arg)
    if _special and not is_recording():
        return _unrecorded(y, (x,), op, arg[0] if arg else None)
    out = _record(y, op, x, _local(op, 0, (a,), y, arg))
    if arg:
        out._arg = arg[0]
    return out


def _binary(op: Op, x: Value, z: Value) -> Value:
    a, b = x._data, z._data
    y = op.forward(a, b)
    if _special and not is_recording():
        return _unrecorded(y, (x, z), op)
    return _record(y, op, x, _local(op, 0, (a, b), y), z, _local(op, 1, (a, b), y))


def _unary_method(op: Op) -> Any:
    fast = op.fast
    if fast is None:
        return lambda self: _unary(op, self)

    def method(self: Value) -> Value:
        y, local = fast(self._data)
        return _record(y, op, self, local)

    return method


for _op in ops.UNARY.values():
    _method = _unary_method(_op)
    _method.__name__ = _op.name
    _method.__doc__ = f"{_op.name}(self), recorded as one node (`autograd.ops.OPS[{_op.name!r}]`)."
    setattr(Value, _op.name, _method)


def _operands(items: tuple[Any, ...], fn: str) -> tuple[tuple[Value, ...], list[float]]:
    """The items as Values (numbers lifted to constants) and their data."""
    data = [v._data for v in items if v.__class__ is Value]
    if len(data) == len(items):  # all Values: the common case, one pass
        return items, data
    lifted = []
    for v in items:
        lift = v if v.__class__ is Value else _lift(v, fn)
        if lift is NotImplemented:
            raise TypeError(f"{fn}: expected Values or real numbers, got {type(v).__name__}")
        lifted.append(lift)
    return tuple(lifted), [v._data for v in lifted]


def sum_(values: Iterable[Any]) -> Value:
    """The sum of `values` as one node (the same result as chaining `+`).

    >>> sum_([Value(1.0), 2, Value(3.0)]).data
    6.0
    """
    parents, data = _operands(tuple(values), "sum_")
    if not parents:  # the empty sum is the constant 0
        return _leaf(0.0, CONST)
    return _record(ops._sum(data), SUM, parents, (1.0,) * len(parents))


vsum = sum_


def dot(xs: Iterable[Any], ws: Iterable[Any]) -> Value:
    """sum(x * w) as one node (the same result as chaining `*` and `+`).

    >>> dot([1, 2], [Value(3.0), Value(4.0)]).data
    11.0
    """
    xs, ws = tuple(xs), tuple(ws)
    n = len(xs)
    if n != len(ws):
        raise ValueError(f"dot: the two sequences differ in length ({n} and {len(ws)})")
    if not n:  # the empty dot is the constant 0
        return _leaf(0.0, CONST)
    parents, data = _operands(xs + ws, "dot")
    xd, wd = data[:n], data[n:]
    # The local derivatives are the data swapped: d/dx_i = w_i, d/dw_i = x_i. A tuple: the
    # cyclic collector stops tracking a tuple of floats (a list it would scan for good).
    return _record(ops._dot(xd, wd), DOT, parents, (*wd, *xd))


def apply(op: Op, *operands: Any) -> Value:
    """Record one node of the op-table entry `op` on `operands` (Values or numbers; for an op
    with a constant argument, that argument last): how ops without an operator or a method
    of their own are applied (`apply(OPS["bce"], p, t)`), and what `custom_op` records.

    >>> apply(ops.OPS["*"], Value(3.0), 2).data
    6.0
    """
    extra: tuple = ()
    if op.has_arg:
        if not operands:
            raise TypeError(f"{op.name} takes its operands and a constant argument")
        operands, arg = operands[:-1], operands[-1]
        if op.arity == 1:
            if len(operands) != 1:
                raise TypeError(f"{op.name} takes one operand and its constant argument")
            x = operands[0] if operands[0].__class__ is Value else \
                lift_operand(operands[0], op.name)
            return _unary(op, x, real(arg, f"{op.name}: the constant argument"))
        source = traced(arg)  # an argument a tape traces: its number here, its Value noted
        extra = (arg if source is None else arg.plain_value,)
    parents, data = _operands(tuple(operands), op.name)
    if op.arity == 0:  # n-ary: one rule gives every local derivative
        if not parents:
            raise TypeError(f"{op.name} takes at least one operand")
        y = op.forward(data, *extra)
        if _special and not is_recording():
            return _unrecorded(y, parents, op, extra[0] if extra else None)
        out = _record(y, op, parents, tuple(op.derivatives[0](data, y, *extra)))
        if extra:
            out._arg = extra[0]
            if _watching and source is not None:
                _note_traced_arg(out, source)
        return out
    if len(parents) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} operands, got {len(parents)}")
    if op.arity == 1:
        return _unary(op, parents[0])
    if op.arity == 2:
        return _binary(op, *parents)
    y = op.forward(*data)
    if _special and not is_recording():
        return _unrecorded(y, parents, op)
    return _record(y, op, parents, tuple(_local(op, i, data, y) for i in range(op.arity)))


def lift_operand(x: Any, op: str) -> Value:
    """A number as a constant leaf, or a TypeError naming `op` and what it got."""
    lifted = _lift(x, op)
    if lifted is NotImplemented:
        raise TypeError(f"{op}: expected a Value or a real number, got {type(x).__name__}")
    return lifted


def identity(x: Value) -> Value:
    """A new node equal to `x` whose gradient flows on to `x` (the functional transforms use
    one per differentiated argument, so each level's variables stay apart)."""
    return _record(x._data, IDENTITY, x, 1.0)


__all__ = [
    "Value", "apply", "as_value", "chain_step", "dot", "enable_grad", "gradients",
    "gradients_as_values", "gradients_wrt", "identity", "is_constant", "is_real",
    "is_recording", "local_derivatives", "no_grad", "note_comparison", "observe", "op_arg",
    "real", "rule", "sum_", "topological_order", "value_partials", "lift_operand", "vsum",
    "walk",
]
