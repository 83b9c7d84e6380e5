"""Walking a recorded graph: traversal, topological order and the backward passes.

Nothing here recurses, so graphs of any depth work. The walks read the node slots (layout in
`engine.py`) through `edges`, or unrolled in the first-order pass, training's hot loop.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any

from . import clock
from .ops import fmt

PASS_LOCK = threading.RLock()
"""Held by every pass that writes the nodes' scratch gradients (`_g`) or `.grad`: passes from
several threads through shared nodes take turns instead of mixing their sums."""


def walk(root: Any) -> list[Any]:
    """Every node under `root`, each once, root first."""
    return _collect(root, order=False)[0]


def _collect(root: Any, stop: frozenset = frozenset(),
             order: bool = True) -> tuple[list[Any], list[Any]]:
    """All nodes under `root` (root first), and the interior ones in backward's order: the one
    traversal every walk of a graph uses (the first-order pass has it unrolled).

    Recorded nodes carry their creation number, and creation order is a topological order
    (operands exist before their result): sorted by decreasing number, every node comes after
    all of its consumers. Nodes in `stop` are collected but not looked through.
    """
    nodes = [root]
    interior: list[Any] = []
    seen = {root}
    stack = [root]
    add_seen = seen.add
    add_node = nodes.append
    add_interior = interior.append
    while stack:
        node = stack.pop()
        a = node._a
        if a is None or (stop and node in stop):
            continue
        add_interior(node)
        b = node._b
        for p in (a, b) if b is not None else (a if a.__class__ is tuple else (a,)):
            if p not in seen:
                add_seen(p)
                stack.append(p)
                add_node(p)
    if order:
        interior.sort(key=_creation, reverse=True)
    return nodes, interior


def _collect_reset(root: Any) -> tuple[list[Any], list[Any]]:
    """`_collect` for the first-order pass: the same walk, zeroing each node's scratch gradient
    `_g` on the way (kept apart so the hot loop has no extra test per node; the caller holds
    `PASS_LOCK`). Raises if a node's data changed after a consumer was recorded."""
    root._g = 0.0
    nodes = [root]
    interior: list[Any] = []
    seen = {root}
    stack = [root]
    add_seen = seen.add
    add_node = nodes.append
    add_interior = interior.append
    while stack:
        node = stack.pop()
        a = node._a
        if a is None:
            continue
        add_interior(node)
        b = node._b
        for p in (a, b) if b is not None else (a if a.__class__ is tuple else (a,)):
            if p not in seen:
                add_seen(p)
                p._g = 0.0
                stack.append(p)
                add_node(p)
    interior.sort(key=_creation, reverse=True)
    return nodes, current(interior)


_creation = attrgetter("_seq")


def current(interior: list[Any]) -> list[Any]:
    """`interior` (backward's order), after checking that no node's data was written since
    the graph was recorded; one comparison in the common case."""
    if interior and clock.last_write > interior[-1]._seq:
        check_unchanged(interior)
    return interior


def check_unchanged(interior: list[Any]) -> None:
    """Raise if some node's `.data` was written after a node that consumes it was recorded:
    that consumer's local derivatives (and data) belong to the old number, so a gradient
    through it would be the old point's, silently. Only nodes recorded before the latest write
    can be affected: the walk stops at the first younger one."""
    latest = clock.last_write
    for node in reversed(interior):  # oldest first
        if node._seq > latest:
            return
        if node._a is None:
            continue
        for i, p in enumerate(node.parents):
            if getattr(p, "_wseq", -1) > node._seq:
                name = repr(p.label) if p.label else f"operand {i + 1} of {node.op!r}"
                raise RuntimeError(
                    f"{name} had its .data changed (to {fmt(p.data)}) after the op {node.op!r} "
                    f"used it to compute {fmt(node.data)}; this graph's local derivatives belong "
                    "to the old value. Run the forward pass again after changing .data, or "
                    "change .data after backward()"
                )


def topological_order(root: Any, stop: Iterable[Any] = ()) -> list[Any]:
    """The nodes under `root`, each after every node that consumes it: the recorded nodes in the
    order backward visits them, then the leaves (and the nodes in `stop`, not looked through)."""
    stop = frozenset(stop)
    nodes, interior = _collect(root, stop)
    return interior + [n for n in nodes if n._a is None or n in stop]


def operand_order(node: Any) -> list[int]:
    """The indices of `node.parents` in the order backward adds into them: operand order, but
    for a pairwise op (`dot`: x0..xn-1, w0..wn-1) the order its chain x0*w0 + ... is visited,
    last pair first, x before w (see `Op.pairwise`). Every pass, and the pictures and
    explanations, add in this order, so their sums agree to the last bit."""
    count = len(node.parents)
    if not node._rule.pairwise:
        return list(range(count))
    n = count // 2
    return [i for k in range(n - 1, -1, -1) for i in (k, n + k)]


def edges(node: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The node's operands and local derivatives (floats), in the order backward visits them
    (`operand_order`)."""
    parents, partials = node.parents, _float_partials(node)
    if not node._rule.pairwise:
        return parents, partials
    order = operand_order(node)
    return tuple(parents[i] for i in order), tuple(partials[i] for i in order)


def first_order_pass(root: Any, seed: float) -> list[Any]:
    """One backward pass on floats; leaves d root / d node in each node's `_g` slot.

    Returns the nodes reached. Only the `_g` scratch slots are written, so a pass that raises
    has changed no `.grad`. The loop is `edges` unrolled by arity: this is training's hot path.
    """
    nodes, interior = _collect_reset(root)
    root._g = seed
    outputs = None  # each multi-output node's outputs in this pass: made when one is met
    for node in interior:
        g = node._g
        a = node._a
        if a.__class__ is tuple:
            da = node._da
            if da is None:  # a vector-Jacobian product: its outputs' gradients in
                outputs = outputs_by_node(interior) if outputs is None else outputs
                upstream = vjp_upstream(node, outputs, _scratch)
                for p, d in zip(a, vjp_partials(node, upstream)):
                    p._g += d
                continue
            if node._rule.pairwise:  # dot: last pair first, x before w, as the chain
                n = len(a) >> 1
                for i in range(n - 1, -1, -1):
                    p = a[i]
                    p._g += da[i] * g
                    p = a[n + i]
                    p._g += da[n + i] * g
            else:
                for p, d in zip(a, da):
                    p._g += d * g
        else:
            a._g += node._da * g
            b = node._b
            if b is not None:
                b._g += node._db * g
    return nodes


def gradients(root: Any, seed: float = 1.0) -> dict[Any, float]:
    """d root / d node for every node under `root`, as floats; reads and writes no `.grad`."""
    with PASS_LOCK:
        return {node: node._g for node in first_order_pass(root, seed)}


def _live(interior: list[Any], wrt: frozenset) -> set[Any]:
    """`wrt` and the nodes with a path down to one of them: the only nodes a gradient with
    respect to `wrt` flows through. `interior` is in backward's order (results first)."""
    live = set(wrt)
    for node in reversed(interior):  # operands before their results
        for p in node.parents:
            if p in live:
                live.add(node)
                break
    return live


def chain(order: Iterable[Any], grads: dict[Any, Any],
          contributions: Callable[[Any, Any], Iterable[tuple[Any, Any]]],
          start: Any = 0.0) -> dict[Any, Any]:
    """The backward loop: visit `order` (every node after all of its consumers), and add what
    each node sends into its operands, `contributions(node, its gradient)` (pairs of operand
    and term, in backward's order), into `grads`. A sum starts from `start` (0.0 for floats,
    as every pass of the engine adds; None: from its first term, for Values). Nodes no gradient
    reached are skipped. Every pass is this loop with its own `contributions`: floats or
    recorded Values, a graph of Values or a tape's program of numbered nodes; the first-order
    pass of `backward()` is it unrolled over the node slots, its measured fast path."""
    for node in order:
        g = grads.get(node)
        if g is None:
            continue
        for p, term in contributions(node, g):
            if p in grads:
                grads[p] = grads[p] + term
            else:
                grads[p] = term if start is None else start + term
    return grads


def float_contributions(interior: list[Any], grads: dict[Any, Any],
                        live: set[Any] | None = None) -> Callable:
    """`contributions` on floats: each local derivative times the node's gradient, into the
    `live` operands only (all, for None); a vector-Jacobian-product node sends its product of
    its outputs' gradients."""
    outputs: list[Any] = []

    def send(node: Any, g: float) -> Iterable[tuple[Any, float]]:
        if node._rule.vjp:
            if not outputs:
                outputs.append(outputs_by_node(interior))
            upstream = vjp_upstream(node, outputs[0], lambda y: grads.get(y, 0.0))
            pairs = zip(node.parents, vjp_partials(node, upstream))
            return pairs if live is None else [(p, d) for p, d in pairs if p in live]
        parents, partials = edges(node)
        if live is None:
            return ((p, d * g) for p, d in zip(parents, partials))
        return ((p, d * g) for p, d in zip(parents, partials) if p in live)

    return send


def value_contributions(interior: list[Any], grads: dict[Any, Any], live: set[Any]) -> Callable:
    """`contributions` as recorded Values (for higher orders); only the local derivatives of
    `live` operands are recorded."""
    outputs: list[Any] = []

    def send(node: Any, g: Any) -> Iterable[tuple[Any, Any]]:
        parents = node.parents
        if node._rule.vjp:
            if not outputs:
                outputs.append(outputs_by_node(interior))
            upstream = vjp_upstream(node, outputs[0], lambda y: grads.get(y, 0.0))
            partials = vjp_partials(node, upstream, values=True)
            g = 1.0
        else:
            partials = value_partials(node, [p in live for p in parents])
        unit = g.__class__ is float and g == 1.0
        return ((parents[i], partials[i] if unit else partials[i] * g)
                for i in operand_order(node) if parents[i] in live)

    return send


def _wrt_pass(root: Any, wrt: Iterable[Any], seed: Any, values: bool) -> dict[Any, Any]:
    stop = frozenset(wrt)
    _, interior = _collect(root, stop)
    live = _live(current(interior), stop)
    grads: dict[Any, Any] = {root: seed}
    order = [n for n in interior if n in live]
    if values:
        chain(order, grads, value_contributions(interior, grads, live), start=None)
    else:
        chain(order, grads, float_contributions(interior, grads, live))
    return {x: grads[x] for x in stop if x in grads}


def gradients_wrt(root: Any, wrt: Iterable[Any], seed: float = 1.0) -> dict[Any, float]:
    """d root / d x for each x in `wrt` reached, as floats.

    Only the paths that lead to `wrt` are followed, so a derivative that does not exist
    elsewhere in the graph (sqrt at 0 on a branch of constants) is never needed; the numbers
    are those `backward` would add, to the last bit. The walk does not look through `wrt`.
    """
    return _wrt_pass(root, wrt, seed, values=False)


def _float_partials(node: Any) -> tuple[Any, ...]:
    """The float local derivatives in operand order (`parents` order)."""
    a = node._a
    if a is None:
        return ()
    if a.__class__ is tuple:
        if node._da is not None:
            return node._da
        # a vector-Jacobian product: no number per edge (it needs the outputs' gradients)
        return (math.nan,) * len(a)
    return (node._da,) if node._b is None else (node._da, node._db)


def local_derivatives(node: Any) -> tuple[float, ...]:
    """d node / d parent for each parent, as floats (nan where the derivative does not exist).

    For pictures and explanations: the number on each edge of the graph.
    """
    return tuple(d if isinstance(d, float) else math.nan for d in _float_partials(node))


def value_partials(node: Any, wanted: Iterable[bool] | None = None) -> tuple[Any, ...]:
    """The local derivatives of `node` as Values (recorded, so they can be differentiated),
    in operand order. For a fixed-arity op, the operands `wanted` marks False get None and
    their rule is never run; an n-ary op's single rule gives them all."""
    op = node._rule
    parents = node.parents
    if op.external:
        raise RuntimeError(
            f"the op {op.name!r} is defined by a _backward closure, which gives first "
            "derivatives only; define it with autograd.custom_op to differentiate it again"
        )
    if op.vjp:
        raise RuntimeError(f"{op.name!r} has no local derivatives: its backward needs the "
                           "gradients of all its outputs at once")
    extra = (node._arg,) if op.has_arg else ()
    if op.arity == 0:  # n-ary: one rule gives them all
        return tuple(op.derivatives[0](parents, node, *extra))
    out: list[Any] = []
    for i, want in enumerate([True] * len(parents) if wanted is None else wanted):
        if not want:
            out.append(None)
            continue
        try:
            out.append(op.derivatives[i](*parents, node, *extra))
        except (ArithmeticError, ValueError) as exc:
            raise undefined(op, [p.data for p in parents], i, exc, extra) from None
    return tuple(out)


def undefined(op: Any, operands: list, index: int, exc: Exception, extra: tuple = ()) -> Exception:
    """The error for a local derivative that does not exist (or overflows) where it is needed:
    the same kind as Python's math raises, naming the op and its operands."""
    if op.has_arg and op.arity == 1:  # x ** k reads better than **(x, k)
        shown = f"{fmt(operands[0])} {op.name} {fmt(extra[0])}"
    else:
        shown = f"{op.name}({', '.join(fmt(x) for x in operands)})"
    which = f" with respect to operand {index + 1}" if len(operands) > 1 else ""
    # a custom op's derivative is the user's code: its own words say why (a built-in's are ours)
    words = f": {exc}" if op.custom and str(exc) else ""
    if isinstance(exc, OverflowError):
        return OverflowError(f"{shown}: the derivative{which} is too large for a float{words}")
    return ValueError(f"{shown}: the derivative{which} does not exist here{words}")


def gradients_as_values(root: Any, wrt: Iterable[Any], seed: float = 1.0) -> dict[Any, Any]:
    """d root / d x for each x in `wrt`, as recorded Values (for higher orders).

    Like `gradients_wrt`, only the paths that lead to `wrt` are followed, and only their
    derivatives are recorded. The walk does not look through `wrt`: they are the variables of
    this level.
    """
    return _wrt_pass(root, wrt, seed, values=True)


def _scratch(node: Any) -> float:
    return node._g


def outputs_by_node(nodes: Iterable[Any]) -> dict[Any, list[Any]]:
    """For each multi-output node, its outputs among `nodes` (a pass's nodes). A multi-output
    node keeps no references to its outputs (they refer to it: no cycle to collect), so a pass
    finds them among the nodes it reached; an output it did not reach has gradient 0."""
    found: dict[Any, list[Any]] = {}
    for y in nodes:
        if y._rule.output:
            found.setdefault(y._a, []).append(y)
    return found


def vjp_upstream(node: Any, outputs: dict[Any, list[Any]], grad_of: Any) -> list[Any]:
    """The gradient of each output of multi-output `node` (`grad_of(output)`), 0 where none."""
    upstream: list[Any] = [0.0] * len(node._arg)
    for y in outputs.get(node, ()):
        upstream[y._arg] = upstream[y._arg] + grad_of(y)
    return upstream


def vjp_partials(node: Any, upstream: list[Any], values: bool = False) -> tuple[Any, ...]:
    """The gradients a vector-Jacobian-product node sends to its operands, given its outputs'
    gradients: floats, or recorded Values (`values`) for higher orders."""
    if values:
        from .engine import Value  # the Value form needs Values in, so that it records

        upstream = [g if isinstance(g, Value) else Value(g) for g in upstream]
    out = tuple(node._db(upstream, node))
    if len(out) != len(node._a):
        raise ValueError(f"the vector-Jacobian product of {node.op!r} returned {len(out)} "
                         f"gradients for {len(node._a)} operands")
    return out
