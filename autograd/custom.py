"""Users' own primitives: `custom_op` (one output, a derivative per operand, any order) and
`custom_vjp` (several outputs, one backward function of all their gradients).

Both make nodes the engine already knows how to walk: a `custom_op` is one more entry of the
op table, made at run time; a `custom_vjp` is a node whose operands receive what its
vector-Jacobian product returns, with one small node per output in front of it.

Defining a custom op again under the same name (a notebook cell run again, or edited and run)
makes a new op; the graphs recorded before keep the rule they were recorded with. A pickle
cannot hold the rule (functions pickle by name, and lambdas not at all), so it holds the op's
name and a fingerprint of its definition (`definition_print`: the functions' bytecode and the
numbers they read); loading finds the definition with that fingerprint, and refuses, naming
the op, if only a different one is defined: the pickled first derivatives are the old rule's,
and higher orders would run the new one.
"""

from __future__ import annotations

import hashlib
import math  # noqa: F401  (the docstring example uses it)
import types
import weakref
from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

from .engine import Value, _leaf, _record, apply, is_real, is_recording, lift_operand, real
from .formula import Formula
from .ops import OPS, Op, fmt

CUSTOM: dict[str, Op] = {}
"""The ops made by `custom_op`, by name: the latest definition of each."""

# Every definition still in use (by a graph or by the function custom_op returned), by name and
# fingerprint: a pickled graph finds the very rule it was recorded with, if it is alive here.
_DEFINITIONS: weakref.WeakValueDictionary[tuple[str, str], Op] = weakref.WeakValueDictionary()
_PRINTS: weakref.WeakKeyDictionary[Op, str] = weakref.WeakKeyDictionary()


def custom_op(
    name: str, forward: Callable[..., float], derivatives: Sequence[Callable[..., Any]]
) -> Callable[..., Value]:
    """A new primitive: returns a function of Values or numbers that records one node `name`.

    `forward(*xs)` takes floats and returns a float. `derivatives` holds one function per
    operand, `d(*xs, y)` (y is the output), written with operators and the helpers of
    `autograd.ops` (`exp`, `log`, `sqrt`, `sin`, `cos`, `tanh`, `sigmoid`, which take floats or
    Values) so that it runs on floats for first derivatives and on Values for every higher
    order. The node draws, explains, checks and errors like a built-in.

    >>> from autograd import grad
    >>> from autograd.ops import exp
    >>> smooth_relu = custom_op("smooth_relu", lambda x: math.log1p(math.exp(x)),
    ...                         [lambda x, y: 1 / (1 + exp(-x))])
    >>> round(grad(smooth_relu)(0.0), 6), round(grad(grad(smooth_relu))(0.0), 6)
    (0.5, 0.25)
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"custom_op: the name must be a non-empty str, got {name!r}")
    if name in OPS:
        raise ValueError(f"custom_op: {name!r} is a built-in op; choose another name")
    if not callable(forward):
        raise TypeError(f"custom_op {name!r}: forward must be a function of floats")
    derivatives = tuple(derivatives)
    if not derivatives or not all(callable(d) for d in derivatives):
        raise TypeError(f"custom_op {name!r}: derivatives must be one function per operand")
    arity = len(derivatives)
    op = Op(
        name,
        arity,
        _checked_forward(name, forward),
        tuple(_checked_derivative(name, i, d, arity) for i, d in enumerate(derivatives)),
        custom=True,
        rule=forward,
    )
    CUSTOM[name] = op  # the latest definition is the one new pickles are checked against
    fingerprint = _PRINTS[op] = definition_print(forward, derivatives)
    _DEFINITIONS[name, fingerprint] = op

    def apply_op(*xs: Any) -> Value:
        if len(xs) != arity:
            raise TypeError(f"{name} takes {arity} operand{'s' * (arity > 1)}, got {len(xs)}")
        return apply(op, *xs)

    apply_op.__name__ = apply_op.__qualname__ = name
    apply_op.__doc__ = f"The custom op {name!r} ({arity} operand{'s' * (arity > 1)}), recorded."
    apply_op.op = op  # type: ignore[attr-defined]
    return apply_op


def definition_print(forward: Callable, derivatives: Sequence[Callable]) -> str:
    """A fingerprint of a custom op's definition: the same for the same functions (a notebook
    cell run again, a script run in another process with the same Python), different when the
    code, or a number it closes over or reads from its module, differs. Line numbers, comments
    and argument names do not count."""
    digest = hashlib.sha256()
    for fn in (forward, *derivatives):
        digest.update(repr(_function_print(fn, 3)).encode())
    return digest.hexdigest()[:16]


def _function_print(fn: Any, depth: int) -> Any:
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):  # a builtin (math.erf) or a callable object
        return (getattr(fn, "__module__", None), getattr(fn, "__qualname__", type(fn).__name__))
    cells = [c.cell_contents for c in fn.__closure__ or () if _filled(c)]
    read = getattr(fn, "__globals__", {})
    named = [read[n] for n in code.co_names if n in read]
    return (_code_print(code), [_value_print(v, depth) for v in (*cells, *named)],
            [_value_print(v, depth) for v in fn.__defaults__ or ()])


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


def _code_print(code: types.CodeType) -> tuple:
    consts = tuple(_code_print(c) if isinstance(c, types.CodeType) else repr(c)
                   for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_argcount)


def _value_print(v: Any, depth: int) -> Any:
    """What a function reads, as far as it decides the rule: numbers and text by value,
    functions by their own print (a few levels down), anything else (a module) by its type."""
    if isinstance(v, (Number, str, bytes)) or v is None:
        return repr(v)
    if isinstance(v, types.FunctionType):
        return _function_print(v, depth - 1) if depth > 0 else v.__qualname__
    return type(v).__name__


def defined_op(name: str, fingerprint: str | None) -> Op:
    """The custom op `name` as defined when a pickled graph was recorded (`fingerprint`; None
    for a pickle that did not record one: the latest definition), or a ValueError naming it."""
    if fingerprint is not None:
        op = _DEFINITIONS.get((name, fingerprint))
        if op is not None:
            return op
    if name not in CUSTOM:
        raise ValueError(f"this graph uses the custom op {name!r}: define it with "
                         "autograd.custom_op (same name) before loading the graph")
    if fingerprint is not None:
        raise ValueError(
            f"this graph was recorded with another definition of the custom op {name!r} than "
            f"the one defined now (its forward or derivatives differ, or the numbers they "
            f"read): its first derivatives are stored, its higher ones would run the new "
            f"rule. Define {name!r} as it was when the graph was recorded (in the same Python "
            f"version), or record the graph again"
        )
    return CUSTOM[name]


def fingerprint_of(op: Op) -> str | None:
    """The fingerprint `custom_op` took of `op`'s definition."""
    return _PRINTS.get(op)


def _operand(x: Any, name: str) -> Value:
    return x if x.__class__ is Value else lift_operand(x, name)


def _checked_forward(name: str, forward: Callable[..., float]) -> Callable[..., float]:
    def checked(*xs: float) -> float:
        shown = f"{name}({', '.join(fmt(x) for x in xs)})"
        try:
            y = forward(*xs)
        except (ArithmeticError, ValueError) as exc:
            raise type(exc)(f"{shown}: {exc}") from exc
        except TypeError as exc:  # most often a forward of another arity than the derivatives'
            raise TypeError(f"{shown}: forward failed ({exc}); it is called with {len(xs)} "
                            "floats, one per derivative") from exc
        if isinstance(y, Value):
            raise TypeError(f"{shown}: forward must return a float, got a Value")
        return real(y, f"{shown}: forward returned {type(y).__name__}; it")

    return checked


def _checked_derivative(name: str, i: int, d: Callable[..., Any], arity: int) -> Callable:
    which = f" for operand {i + 1}" if arity > 1 else ""

    def checked(*args: Any) -> Any:
        try:
            out = d(*args)
        except TypeError as exc:
            kind = "Values" if isinstance(args[0], Value) else "floats"
            raise TypeError(
                f"custom op {name!r}: the derivative{which} failed on {kind} ({exc}); write it "
                "with operators and autograd.ops helpers (exp, log, ...) so that it runs on "
                "floats and on Values"
            ) from exc
        if isinstance(out, Formula):  # the rule run on formulas: its formula
            return out
        if not isinstance(out, Value):
            return real(out, f"custom op {name!r}: the derivative{which} returned")
        if not any(isinstance(a, Value) for a in args):
            # first order: a derivative that reads a Value the op closes over gives its number
            # (the op's operands are what gradients reach; a closed-over Value is a constant)
            return out.data
        return out

    return checked


# --- several outputs, one vector-Jacobian product ----------------------------------------------

# One op per name for the node itself, and one per name and output index for the small nodes in
# front of its outputs (`.op` of the second output of "sp" is "sp[1]").
_VJP_OPS: dict[str, Op] = {}
_OUTPUT_OPS: dict[tuple[str, int], Op] = {}


def _group_op(name: str) -> Op:
    op = _VJP_OPS.get(name)
    if op is None:
        op = _VJP_OPS.setdefault(name, Op(name, 0, _group_forward, (), vjp=True))
    return op


def _output_op(name: str, index: int) -> Op:
    op = _OUTPUT_OPS.get((name, index))
    if op is None:
        made = Op(f"{name}[{index}]", 1, lambda g, i: g, (lambda g, y, i: 1.0,), has_arg=True,
                  output=True)
        op = _OUTPUT_OPS.setdefault((name, index), made)
    return op


def custom_vjp(
    name: str,
    inputs: Sequence[Any],
    outputs: Sequence[float],
    vjp: Callable[[list[Any]], Sequence[Any]],
) -> list[Value]:
    """Record one node `name` with several outputs and a backward of your own.

    `inputs` are the Values (or numbers) the outputs depend on, `outputs` the outputs' numbers,
    computed by you. In a backward pass the engine calls `vjp(upstream)` with one gradient per
    output and takes one gradient per input back: the vector-Jacobian product, as in PyTorch's
    `autograd.Function.backward` or JAX's `custom_vjp`. At first order `upstream` holds floats;
    inside nested `grad` it holds Values, and `vjp` must then compute with Values (so the
    result records and can be differentiated again). Returns the outputs as Values.

    >>> from autograd import grad
    >>> def sum_and_product(a, b):  # two outputs at once
    ...     return custom_vjp("sp", [a, b], [a.data + b.data, a.data * b.data],
    ...                       lambda g: [g[0] + g[1] * b, g[0] + g[1] * a])
    >>> grad(lambda a: sum_and_product(a, Value(3.0))[1])(2.0)
    3.0
    """
    if not callable(vjp):
        raise TypeError(f"custom_vjp {name!r}: vjp must be a function of the outputs' gradients")
    return record_vjp(name, inputs, outputs, lambda upstream, node: vjp(upstream))


class VjpOutputs(tuple):
    """The numbers of a vector-Jacobian-product node's outputs, and what the views show about
    how they were computed: `details()`, names to numbers (a fixed point's iterations and
    residual), or None."""

    details: Callable[[], dict[str, float]] | None = None


def vjp_outputs(node: Value) -> tuple[tuple[float, ...], dict[str, float]]:
    """A vector-Jacobian-product node's outputs' numbers and its details (see `VjpOutputs`)."""
    outs = node._arg if isinstance(node._arg, tuple) else ()
    details = getattr(outs, "details", None)
    return tuple(outs), (details() if details is not None else {})


def record_vjp(
    name: str, inputs: Sequence[Any], outputs: Sequence[float], backward: Callable,
    details: Callable[[], dict[str, float]] | None = None,
) -> list[Value]:
    """`custom_vjp` with a backward that also gets the node, `backward(upstream, node)`, so
    it can rebuild the outputs as Values (`outputs_of(node)`) without keeping them: the node
    holds its outputs' numbers, never the outputs, and the graph has no reference cycle.
    `details` tells the views how the outputs were computed (see `VjpOutputs`)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"custom_vjp: the name must be a non-empty str, got {name!r}")
    ins = tuple(_operand(x, name) for x in inputs)
    outs = tuple(real(y, f"custom_vjp {name!r}: an output") for y in outputs)
    if not is_recording() or not ins:
        return [_leaf(y) for y in outs]
    group = _record(0.0, _group_op(name), ins, None, None, _checked_vjp(name, backward, len(ins)))
    group._arg = VjpOutputs(outs)
    group._arg.details = details
    return outputs_of(group)


def outputs_of(group: Value) -> list[Value]:
    """The outputs of multi-output node `group`, recorded as new Values: each one's gradient
    reaches `group` as the gradient of that output."""
    results = []
    for i, y in enumerate(group._arg):
        out = _record(y, _output_op(group.op, i), group, 1.0)
        out._arg = i
        results.append(out)
    return results


def _group_forward(*xs: float) -> float:
    raise TypeError("a vector-Jacobian-product node has no forward rule in the op table")


def _checked_vjp(name: str, backward: Callable, count: int) -> Callable:
    def checked(upstream: list[Any], node: Value) -> tuple:
        first_order = not any(isinstance(g, Value) for g in upstream)
        grads = tuple(backward(list(upstream), node))
        if len(grads) != count:
            raise ValueError(f"the vector-Jacobian product of {name!r} returned {len(grads)} "
                             f"gradients for {count} inputs")
        for g in grads:
            if not (isinstance(g, Value) or is_real(g)):
                raise TypeError(f"the vector-Jacobian product of {name!r} returned "
                                f"{type(g).__name__}; gradients are numbers or Values")
        # a number of any kind (a NumPy float) as a float; at first order, a product written
        # with Values serves by its numbers
        what = f"the vector-Jacobian product of {name!r} returned"
        if first_order:
            return tuple(g.data if isinstance(g, Value) else real(g, what) for g in grads)
        return tuple(g if isinstance(g, Value) else real(g, what) for g in grads)

    return checked
