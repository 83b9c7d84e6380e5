"""Walking a recorded graph: traversal, topological order and the backward passes.

Nothing here recurses, so graphs of any depth work. The first-order pass is the hot loop of
training and reads the node slots directly (layout in `engine.py`); everything else goes
through `node.parents`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from .ops import fmt


def walk(root: Any) -> list[Any]:
    """Every node under `root`, each once, root first."""
    seen = {root}
    stack = [root]
    out = []
    while stack:
        node = stack.pop()
        out.append(node)
        for p in node.parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return out


def _collect(root: Any, stop: frozenset = frozenset()) -> tuple[list[Any], list[Any]]:
    """All nodes under `root` (root first), and the interior ones in backward's order.

    Recorded nodes carry their creation number, and creation order is a topological order
    (operands exist before their result): sorted by decreasing number, every node comes after
    all of its consumers. Nodes in `stop` are collected but not looked through. Each node's
    scratch gradient `_g` is reset on the way (the first-order pass needs that, nothing else
    reads it).
    """
    root._g = 0.0
    nodes = [root]
    interior = []
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
                p._g = 0.0
                stack.append(p)
                add_node(p)
    interior.sort(key=_creation, reverse=True)
    return nodes, interior


_creation = attrgetter("_seq")


def topological_order(root: Any, stop: Iterable[Any] = ()) -> list[Any]:
    """The nodes under `root`, each after every node that consumes it: the recorded nodes in the
    order backward visits them, then the leaves (and the nodes in `stop`, not looked through)."""
    stop = frozenset(stop)
    nodes, interior = _collect(root, stop)
    return interior + [n for n in nodes if n._a is None or n in stop]


def first_order_pass(root: Any, seed: float) -> list[Any]:
    """One backward pass on floats; leaves d root / d node in each node's `_g` slot.

    Returns the nodes reached. Only the `_g` scratch slots are written, so a pass that raises
    has changed no `.grad`.
    """
    nodes, interior = _collect(root)
    root._g = seed
    for node in interior:
        g = node._g
        a = node._a
        if a.__class__ is tuple:
            for p, d in zip(a, node._da):
                p._g += d * g
        else:
            a._g += node._da * g
            b = node._b
            if b is not None:
                b._g += node._db * g
    return nodes


def gradients(root: Any, seed: float = 1.0) -> dict[Any, float]:
    """d root / d node for every node under `root`, as floats; reads and writes no `.grad`."""
    return {node: node._g for node in first_order_pass(root, seed)}


def _float_partials(node: Any) -> tuple[Any, ...]:
    a = node._a
    if a is None:
        return ()
    if node._b is not None:
        return (node._da, node._db)
    return node._da if a.__class__ is tuple else (node._da,)


def local_derivatives(node: Any) -> tuple[float, ...]:
    """d node / d parent for each parent, as floats (nan where the derivative does not exist).

    For pictures and explanations: the number on each edge of the graph.
    """
    return tuple(d if isinstance(d, float) else math.nan for d in _float_partials(node))


def value_partials(node: Any) -> tuple[Any, ...]:
    """The local derivatives of `node` as Values (recorded, so they can be differentiated)."""
    op = node._rule
    parents = node.parents
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


def gradients_as_values(root: Any, wrt: Iterable[Any], seed: float = 1.0) -> dict[Any, Any]:
    """d root / d x for each x in `wrt`, as recorded Values (for higher orders).

    The walk does not look through the nodes in `wrt`: they are the variables of this level.
    """
    stop = frozenset(wrt)
    grads: dict[Any, Any] = {root: seed}
    for node in topological_order(root, stop):
        if node in stop or node._a is None or node not in grads:
            continue
        g = grads[node]
        for p, d in zip(node.parents, value_partials(node)):
            term = g if (d.__class__ is float and d == 1.0) else d * g
            grads[p] = grads[p] + term if p in grads else term
    return grads
