"""Recording: run the function on Values and keep its graph as a `Program`.

A replay can only follow what the graph shows, so recording watches everything else fn does
with Values (`autograd.engine.observe`) and refuses what a replay could not follow:

- a number taken out of a Value that depends on the arguments or the parameters (`.data`,
  `.item()`, `format`): it may steer a branch or become a constant, unseen;
- a Value computed outside the graph from such Values (under `no_grad`, by `detach()`) that the
  graph or a comparison then uses: the replay would freeze its number;
- a Value computed before the recording (an interior node fn closes over): its graph is not fn's.

fn then runs a second time with the arguments and the parameters moved a little. Both runs must
record the same graph: a leaf that is the same object both times is a parameter, one made afresh
must hold the same number both times (a number that moved without being recorded is refused),
and comparisons must come out the same (else the second run took another branch: fine, but it
proves nothing, so it runs once more unmoved).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

from ..backward import gradients
from ..engine import (
    Value,
    enable_grad,
    fmt,
    is_constant,
    observe,
    op_arg,
)
from ..ops import CONST as CONST_LEAF
from .arguments import INT, slot_kinds, unflatten
from .program import ARG, CONST, OP, PARAM, Guard, Program
from .traced import TracedInt


class TapeError(RuntimeError):
    """The function cannot be recorded for replay (the message says what and why)."""


class _Branched(Exception):
    """The second run compared differently: it took another branch (fine, but no check)."""


class IntsAreStatic(Exception):
    """fn used an int argument as a Python number (an index, a hash, `int(y)`), not only in
    computations and comparisons (`autograd.replay.traced`): its ints are static after all."""


_OUT = ("compute it with Value operations instead (comparisons of Values are fine: the tape "
        "checks them on every replay), pass the number as an argument of fn, or call fn "
        "eagerly (fn(*args).backward())")


class _Run:
    """One call of fn on Values: the result, the argument Values and what fn did with Values."""

    start: int  # the clock's tick before fn ran (set by `_run`): older nodes are not fn's

    def __init__(self, fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
                 limit: float = math.inf) -> None:
        self.inputs = [Value(x) for x in floats]
        self.uses: list[str] = []  # how fn used int arguments as Python numbers
        leaves: list[Any] = [
            TracedInt(int(x), v, self.uses) if kind is INT else v
            for kind, x, v in zip(slot_kinds(key), floats, self.inputs)
        ]
        args = unflatten(key, leaves)
        with enable_grad(), observe(limit) as seen:
            out = fn(*args)
        if not isinstance(out, Value):
            if isinstance(out, bool) or not isinstance(out, Real):
                raise TypeError(f"tape: fn must return a scalar (a Value or a number), got "
                                f"{type(out).__name__} {out!r:.40}")
            out = float(out)
        self.out = out
        self.seen = seen.comparisons
        self.observed = seen
        # fn's nodes in creation order: every node it recorded (those its result does not
        # depend on too: their forward can raise), and each op it applied to Values under
        # no_grad whose result it does not use (a node of its own here, forward only)
        interior = list(seen.recorded)
        in_run = set(interior)
        self.applied: dict[int, tuple[Any, Any]] = {}  # position -> (op, argument)
        used = set(_used_values(out, seen))
        unused = [(id_, applied) for id_, applied in seen.unrecorded_ops.items()]
        made = {id(v): v for v, *_ in seen.unrecorded}
        pending = []
        for id_, (op, operands, arg, when) in unused:
            result = made.get(id_)
            if result is not None and result not in used:
                pending.append((when, result, op, operands, arg))
        first_use: dict[Value, None] = {}
        self.older: list[Value] = []  # interior nodes fn reads, recorded before it ran

        def read(v: Value) -> None:
            if v._a is None:
                first_use.setdefault(v, None)
            elif v not in in_run and v not in first_use:
                first_use.setdefault(v, None)
                self.older.append(v)

        parents = [_parents(v) for v in interior]
        for ps in parents:
            for p in ps:
                read(p)
        for _, _, _, operands, _ in pending:
            for p in operands:
                read(p)
        for v in used:
            read(v)
        # the applied ops take their place in creation order among the recorded nodes
        steps: list[tuple[int, Any]] = [(v._seq, (v, ps)) for v, ps in zip(interior, parents)]
        steps += [(when, (result, operands, op, arg)) for when, result, op, operands, arg
                  in pending]
        steps.sort(key=lambda step: step[0])
        self.nodes = [*first_use]
        index = self.index = {v: i for i, v in enumerate(self.nodes)}  # by identity
        # each node's operands, as positions in `nodes` (() for a leaf)
        self.operands: list[tuple[int, ...]] = [()] * len(self.nodes)
        for _, step in steps:
            node, ps = step[0], step[1]
            if len(step) == 4:
                self.applied[len(self.nodes)] = (step[2], step[3])
            index[node] = len(self.nodes)
            self.nodes.append(node)
            self.operands.append(tuple([index[p] for p in ps]))
        self.input_set = set(self.inputs)

    def fresh(self, v: Value) -> bool:
        """Whether fn made `v` in this run (else it existed before: a parameter, or worse)."""
        return id(v) in self.observed.made or v in self.input_set or (
            v._a is not None and v._seq >= self.start)

    def parameters(self) -> list[Value]:
        """The leaves fn reads that existed before the run: its parameters."""
        return [v for v in self.nodes if v._a is None and not self.fresh(v)
                and not is_constant(v)]


def _used_values(out: Any, seen: Any) -> list[Value]:
    """The Values fn's result and its branches read: the result, what it compared, the
    arguments of ops that are data."""
    used = [out] if isinstance(out, Value) else []
    used.extend(seen.traced_args.values())
    for left, _, right, _ in seen.comparisons:
        used.append(left)
        if isinstance(right, Value):
            used.append(right)
    return used


def _parents(v: Value) -> tuple[Value, ...]:
    """`v.parents`, read off the slots (a recording reads every edge a few times)."""
    a, b = v._a, v._b
    if b is not None:
        return (a, b)
    return a if a.__class__ is tuple else (a,)


def record(fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
           slot_names: list[str]) -> Program:
    """Run fn on Values made from `floats` (in the structure `key`) and return its program.
    With ints as data (`INT` in the key), raises `IntsAreStatic` where fn uses them otherwise
    than in computations with Values."""
    ints = INT in key
    if not ints:
        return _record(fn, key, floats, slot_names)
    try:
        return _record(fn, key, floats, slot_names)
    except (TapeError, IntsAreStatic) as exc:
        raise IntsAreStatic(str(exc)) from None
    except (TypeError, AttributeError) as exc:
        # what a traced int is not (`k.bit_length()`, a C function that takes only an int):
        # the ints as plain numbers tell, static
        raise IntsAreStatic(f"{type(exc).__name__}: {exc}") from None


def _record(fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
            slot_names: list[str]) -> Program:
    first = _run(fn, key, floats)
    for op in {id(v._rule): v._rule for v in first.nodes if v._a is not None}.values():
        _check_replayable(op)
    _check_sight(first)
    params = first.parameters()
    second = None
    if INT in key:
        # one run with the ints (far), floats and parameters all moved proves both at once
        # where it records the same graph; any other outcome but an IndexError takes the two
        # checks one at a time
        second = _moved_together(fn, key, floats, first, params)
        if second is None:
            second = _check_ints_are_data(fn, key, floats, first, params)
    for moved in (True, False):
        if second is not None:
            break
        try:
            again = _run(fn, key, _nearby(floats, key) if moved else floats,
                         params if moved else ())
        except Exception:
            if moved:
                continue  # the moved point is outside some domain: compare at the same point
            raise
        try:
            _compare(first, again, moved)
        except _Branched:
            if moved:
                continue
            raise TapeError("tape: fn compared Values differently on the same arguments "
                            "twice (does it draw random numbers?); it cannot be replayed") from None
        second = again
        break
    assert second is not None
    prog = _program(first, second, slot_names)
    prog.reference = _reference(first, prog)
    return prog


def _check_ints_are_data(fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
                         first: _Run, params: list[Value]) -> _Run | None:
    """fn runs again with its int arguments changed (negated, then one more, then one less,
    until a run takes the same branches): if it computes only with them, it records the same
    graph (the ints' Values hold other numbers); if it indexes with them, it records another
    graph or raises IndexError: `IntsAreStatic`. No run that takes the same branches proves
    nothing: static too. First the ints that no comparison reads go far alone (an index among
    them raises there). The runs nudge the floats and parameters as well where that takes the
    same branches: the run is returned then, a proof of those too (else None)."""
    kinds = slot_kinds(key)
    checked = _checked_slots(first)
    unchecked = [i for i, kind in enumerate(kinds) if kind is INT and i not in checked]
    if unchecked:
        # the far move failed, perhaps at a check of another int or a nudged float (a loss's
        # target) before an index: the ints that no comparison or op reads go far alone (a near
        # move of an index can pick the same item: -1 of a list of two)
        moved = list(floats)
        for i in unchecked:
            moved[i] = floats[i] + _FAR if floats[i] >= 0 else floats[i] - _FAR
        try:
            _run(fn, key, moved, limit=_limit(first))
        except IndexError:
            raise IntsAreStatic(_INDEXES) from None
        except Exception:
            pass  # any other outcome (a plain use on another branch too): near moves decide
    moves = ((lambda y: -y if y else 1.0), (lambda y: y + 1.0), (lambda y: y - 1.0))
    for together in (True, False):
        for move in moves:
            moved = [move(x) if kind is INT else x for kind, x in zip(kinds, floats)]
            try:
                if together:
                    again = _run(fn, key, _nearby(moved, key), params, _limit(first))
                else:
                    again = _run(fn, key, moved, limit=_limit(first))
                _compare(first, again, True)
            except _Branched:
                continue  # another branch (or the moved ints are no valid data): another move
            except IntsAreStatic:
                raise
            except IndexError:
                raise IntsAreStatic(_INDEXES) from None  # the ints moved: one of them indexes
            except Exception as exc:
                if isinstance(exc, TapeError):
                    if together:
                        break  # another graph: the ints alone tell whether they made it
                    raise IntsAreStatic(f"fn records another graph when an int argument "
                                        f"changes: {exc}") from None
                continue
            return again if together else None
    raise IntsAreStatic("no run with the int arguments changed took the same branches")


_FAR = 2.0**31  # an int moved this far indexes no list fn could hold


def _limit(first: _Run) -> int:
    """How much a run with the ints moved may record: a loop that counts down an int moved
    far (`while n > 0`) stops here, a run that takes another branch (and fails the check)."""
    return 8 * (len(first.nodes) + len(first.seen)) + 10_000
_INDEXES = ("fn indexes with an int argument (it raised IndexError when the int was moved out "
            "of range)")


def _checked_slots(run: _Run) -> set[int]:
    """The argument slots whose Values a comparison or an op's data argument (a loss's target)
    reads in `run`, through any computation."""
    roots: list[Value] = list(run.observed.traced_args.values())
    for left, _, right, _ in run.seen:
        roots.append(left)
        if isinstance(right, Value):
            roots.append(right)
    slots = {id(v): i for i, v in enumerate(run.inputs)}
    found: set[int] = set()
    seen: set[int] = set()
    while roots:
        v = roots.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if v._a is None:
            if id(v) in slots:
                found.add(slots[id(v)])
        else:
            roots.extend(_parents(v))
    return found


def _moved_together(fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
                    first: _Run, params: list[Value]) -> _Run | None:
    """fn run with its ints moved far from zero and its floats and parameters nudged: the run
    if it took the same branches and recorded the same graph as `first`, else None. An
    IndexError there means fn indexes a list with an int (which a traced int cannot notice:
    a list reads an int's number directly), so its ints are static."""
    kinds = slot_kinds(key)
    moved = [(x + _FAR if x >= 0 else x - _FAR) if kind is INT else x
             for kind, x in zip(kinds, floats)]
    try:
        again = _run(fn, key, _nearby(moved, key), params, _limit(first))
        _compare(first, again, True)
    except IndexError:
        raise IntsAreStatic(_INDEXES) from None
    except Exception:  # another branch (its plain uses of an int are that branch's), or
        return None  # outside some domain: the checks one at a time
    return again


def _run(fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float],
         moved: Any = (), limit: float = math.inf) -> _Run:
    """fn run once; with `moved` parameters, their numbers nudged for the run (and restored);
    with a `limit`, `ObservedTooMuch` past that many nodes or comparisons."""
    from ..clock import tick

    saved = [(p, p._data) for p in moved]
    try:
        for p, x in saved:
            p._data = _nudge(x)
        start = tick()
        run = _Run(fn, key, floats, limit)
        run.start = start
        if run.uses:
            raise IntsAreStatic(f"fn uses an int argument as a Python number ({run.uses[0]})")
    finally:
        for p, x in saved:
            p._data = x
    return run


def _describe_value(run: _Run, v: Value) -> str:
    if v in run.input_set:
        return "an argument of fn"
    if not v.parents:
        name = f" {v.label!r}" if v.label else ""
        return f"the parameter{name} ({fmt(v._data)})"
    return f"the result of {v.op!r} ({fmt(v._data)})"


def _check_sight(run: _Run) -> None:
    """Refuse what the graph of this run does not show (see the module docstring)."""
    seen = run.observed
    # Values whose number depends on the arguments or parameters without the graph showing it
    hidden: dict[int, tuple[Value, str, str]] = {}

    def traced(v: Value) -> bool:
        return id(v) in hidden or v in run.input_set or v._a is not None or not run.fresh(v)

    for out, sources, how, where in seen.unrecorded:
        source = next((s for s in sources if traced(s)), None)
        if source is not None:
            hidden[id(out)] = (source, how, where)
    for v, how, where in seen.reads:
        if traced(v):
            what = _describe_value(run, v)
            if id(v) in hidden:  # a copy made under no_grad or by detach(): name its source
                source, made, _ = hidden[id(v)]
                what = f"a Value computed {made} from {_describe_value(run, source)}"
            raise TapeError(
                f"tape: fn reads the number of {what} with {how} at {where}. "
                "A replay cannot follow a number that leaves the graph (it may steer a branch or "
                "become a constant, frozen at this call's value): " + _OUT
            )
    # what fn's computation reads: the operands of its nodes, its result, what it compared
    read = {i for ops in run.operands if ops for i in ops}
    used = [run.nodes[i] for i in sorted(read)] + _used_values(run.out, run.observed)
    for v in used:
        if id(v) in hidden:
            source, how, where = hidden[id(v)]
            raise TapeError(
                f"tape: fn uses a number computed {how} from {_describe_value(run, source)} "
                f"at {where}. The graph does not show how it follows the arguments and "
                "parameters, so a replay would freeze it: " + _OUT
            )
    for v in run.nodes:
        if v._a is not None and v._seq < run.start:
            raise TapeError(
                f"tape: fn reads {_describe_value(run, v)}, computed before the recording: a "
                "replay cannot recompute it as it was (its parameters may have changed since). "
                "Compute it inside fn, or pass its number as an argument"
            )


def _reference(run: _Run, prog: Program) -> tuple[float, list[float]] | None:
    """fn's value and each output's gradient as the engine's backward pass computes them at
    the recorded point (None where that pass raises): what every replay is checked against."""
    if not isinstance(run.out, Value):
        return (prog.value[prog.root], [])
    try:
        grads = gradients(run.out)
    except (ArithmeticError, ValueError):
        return None
    return run.out.data, [grads[v] for _, v in prog.outputs]


def _nudge(x: float) -> float:
    return x + (abs(x) + 1.0) * 2.0**-20 if math.isfinite(x) else x


def _nearby(floats: list[float], key: tuple[Any, ...]) -> list[float]:
    """The float arguments moved a little, by about a millionth (an int slot stays: moving
    ints is `_check_ints_are_data`'s)."""
    return [x if kind is INT else _nudge(x) for kind, x in zip(slot_kinds(key), floats)]


def _check_replayable(op: Any) -> None:
    if op.external:
        raise TapeError(
            f"tape: fn uses the op {op.name!r}, defined micrograd's way (a Value built with "
            "_children and a _backward closure). A closure only adds into .grad by hand, so the "
            "tape has no forward rule to replay it and no local derivatives to chain. Define it "
            "with autograd.custom_op (a forward and one derivative per operand) instead"
        )
    if getattr(op, "vjp", False) or getattr(op, "output", False):
        raise TapeError(
            f"tape: fn uses {op.name!r}, a vector-Jacobian-product node (custom_vjp, "
            "fixed_point): its backward is a Python function of all its outputs' gradients "
            "and its forward ran outside the op table, so the tape has nothing to replay. "
            "Differentiate such a function eagerly (fn(*args).backward())"
        )
    if not callable(op.forward) or (op.arity and len(op.derivatives) != op.arity):
        raise TapeError(f"tape: the op {op.name!r} has no forward rule and derivatives a replay "
                        "could call")


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _describe(run: _Run, leaf: Any) -> str:
    """Where a leaf is used: 'operand 2 of `*`' (its first consumer)."""
    for v in run.nodes:
        for i, p in enumerate(v.parents):
            if p is leaf:
                return f"operand {i + 1} of the op {v.op!r}"
    return "a comparison"


def _compare(a: _Run, b: _Run, moved: bool) -> None:
    """Raise `_Branched` if b compared differently, TapeError if it recorded something else."""
    if len(a.seen) != len(b.seen) or any(
        x[1] != y[1] or x[3] != y[3] for x, y in zip(a.seen, b.seen)
    ):
        raise _Branched
    if isinstance(a.out, Value) != isinstance(b.out, Value):
        raise _Branched  # a number on one branch, a Value on the other
    hidden = (
        "fn computes it from a Value's number (.data, no_grad, a copy) or draws it at random, "
        "where the tape cannot see it: " + _OUT
    )
    if len(a.nodes) != len(b.nodes):
        raise TapeError(
            "tape: fn recorded a different graph at nearby arguments without comparing Values "
            f"differently ({len(a.nodes)} nodes, then {len(b.nodes)}): it branches on numbers "
            "the tape cannot see. " + hidden
        )
    inputs_a = {v: i for i, v in enumerate(a.inputs)}
    inputs_b = {v: i for i, v in enumerate(b.inputs)}
    for i, (x, y) in enumerate(zip(a.nodes, b.nodes)):
        if i in a.applied or i in b.applied:  # an op applied under no_grad, result unused
            if a.applied.get(i) != b.applied.get(i) or a.operands[i] != b.operands[i]:
                raise TapeError(f"tape: at nearby arguments fn applied another op under "
                                f"no_grad (node {i}): it branches on numbers the tape cannot "
                                "see. " + hidden)
            continue
        if x._a is not None:
            same = (
                a.operands[i] == b.operands[i] and x._rule is y._rule
                and (not x._rule.has_arg or _arg_of(a, x) == _arg_of(b, y))
            )
            if not same:
                raise TapeError(
                    f"tape: at nearby arguments fn recorded {y.op or 'a leaf'!r} where it had "
                    f"recorded {x.op!r} (node {i}): it branches on numbers the tape cannot "
                    "see. " + hidden
                )
            continue
        if x in inputs_a or y in inputs_b:
            if inputs_a.get(x) != inputs_b.get(y):
                raise TapeError("tape: fn used its arguments in a different order at nearby "
                                "arguments. " + hidden)
            continue
        if x is y or (_same(x.data, y.data) and a.fresh(x) and b.fresh(y)):
            continue
        what = "the constant" if is_constant(x) else "the Value made inside fn"
        raise TapeError(
            f"tape: {what} {x.data!r} used as {_describe(a, x)} changed to {y.data!r} "
            f"when {'the arguments and parameters moved slightly' if moved else 'fn ran again'}"
            ": " + hidden
        )
    if not isinstance(a.out, Value) and not _same(a.out, b.out):
        raise TapeError(
            f"tape: fn returned the number {a.out!r}, then {b.out!r} when "
            f"{'the arguments and parameters moved slightly' if moved else 'fn ran again'}: "
            + hidden
        )
    for seen_a, seen_b in zip(a.seen, b.seen):
        right_a, right_b = seen_a[2], seen_b[2]
        if a.index[seen_a[0]] != b.index[seen_b[0]]:
            raise _Branched
        if isinstance(right_a, Value) != isinstance(right_b, Value):
            raise _Branched
        if isinstance(right_a, Value):
            if a.index[right_a] != b.index[right_b]:
                raise _Branched
        elif not _same(_number(right_a), _number(right_b)):
            raise TapeError(
                f"tape: fn compared a Value with {_number(right_a)!r}, then with "
                f"{_number(right_b)!r} at nearby arguments: that number " + hidden
            )


def _arg_of(run: _Run, node: Value) -> Any:
    """A node's constant argument as recorded, or ("data", the node it comes from)."""
    source = run.observed.traced_args.get(id(node))
    return op_arg(node) if source is None else ("data", run.index[source])


def _number(x: Any) -> Any:
    return x if isinstance(x, (int, float)) else float(x)



def _program(a: _Run, b: _Run, slot_names: list[str]) -> Program:
    prog = Program(n_args=len(a.inputs))
    inputs = {v: i for i, v in enumerate(a.inputs)}
    params: list[tuple[int, Any]] = []
    traced_args = a.observed.traced_args
    kind, op, operands, arg, arg_node = prog.kind, prog.op, prog.operands, prog.arg, \
        prog.arg_node
    value, slot, name = prog.value, prog.slot, prog.name
    for n, (x, y) in enumerate(zip(a.nodes, b.nodes)):  # one node a line: bound methods
        if x._a is not None or n in a.applied:
            source = traced_args.get(id(x)) if traced_args else None
            rule, k = a.applied.get(n) or (x._rule, op_arg(x))
            kind.append(OP)
            op.append(rule)
            operands.append(a.operands[n])
            arg.append(k)
            arg_node.append(None if source is None else a.index[source])
            slot.append(-1)
            name.append("")
        else:
            op.append(None)
            operands.append(())
            arg.append(None)
            arg_node.append(None)
            if x in inputs:
                kind.append(ARG)
                slot.append(inputs[x])
                name.append(slot_names[inputs[x]])
            elif x is y and x._rule is not CONST_LEAF and not a.fresh(x):  # a parameter
                kind.append(PARAM)
                slot.append(len(prog.params))
                name.append(x.label)
                prog.params.append(x)
                params.append((n, x))
            else:  # a constant, or a Value fn makes from a fixed number every time
                kind.append(CONST)
                slot.append(-1)
                name.append("")
        value.append(x._data)
    if isinstance(a.out, float):
        prog.root = prog.add(CONST, a.out, "")
    else:
        prog.root = a.index[a.out]
    for left, cmp, right, result in a.seen:
        i = a.index[left]
        if isinstance(right, Value):
            j = a.index[right]
            prog.guards.append(Guard(i, cmp, j, True, result, max(i, j)))
        else:
            prog.guards.append(Guard(i, cmp, _number(right), False, result, i))
    prog.finish(params)
    return prog
