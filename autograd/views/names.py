"""What every view of a graph shares: names for the nodes, numbers as text, the argument checks.

The bottom of `autograd.views`; it imports only the engine.

Names. A node is called by its label (`str(label)`, made unique with `_2`, `_3`, ...). An
unlabelled leaf the user made (an input or a parameter: the views cannot tell them apart unless
told) is `p1`, `p2`, ...; when the caller passes `params=`, those parameters take the names it
gives (a dict name -> Value, or an object with `named_parameters()`, such as an `nn` module) or
`p<k>` for the k-th of a plain list, and the other unlabelled leaves are the inputs `x1`, `x2`,
.... An unlabelled result is `v1`, `v2`, ... in the order the forward pass made them (the order
Python evaluates an expression in). A constant, a number an operator lifted into the graph (the
2 in `2 * x`, `autograd.engine.is_constant`), is written as its number.

Order. The views list the inputs (and their gradients) in reading order: the order the leaves
first appear when the root's formula is read left to right, expanding each operand in turn
(depth first, operands in order). It is the order of the tree view's lines, and for an expression
typed on the command line it is the order the variables first appear in the text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import Any

from ..engine import Value, is_constant, topological_order

TEXT_MAX_NODES = 2000
SHOWN_OPERANDS = 8  # a formula lists this many operands of a big sum or dot, then counts the rest


def num(x: float) -> str:
    """A number as the pictures and text views show it: 4 decimals, scientific when tiny or huge.

    >>> num(0.70710678), num(-3.0), num(1e-7), num(float("nan"))
    ('0.7071', '-3.0000', '1.000e-07', 'nan')
    """
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.4f}"
    return f"{x:.3e}"


def constant(x: float) -> str:
    """A constant as it appears inside a formula: as short as Python would write it.

    >>> constant(2.0), constant(0.1), constant(1 / 3)
    ('2', '0.1', '0.333333')
    """
    text = repr(x)
    if text.endswith(".0"):
        text = text[:-2]
    return text if len(text) <= 10 else f"{x:.6g}"


def label_of(node: Value) -> str:
    """The node's label as text ("" when it has none): views accept any label, `v.label = 123`."""
    label = node.label
    return "" if label is None or isinstance(label, str) and not label else str(label)


# --- checks every view makes --------------------------------------------------------------------


def is_tape(obj: Any) -> bool:
    """Whether `obj` is a `tape` (recognised by its shape: the views sit below the replay)."""
    return type(obj).__name__ == "Tape" and isinstance(getattr(obj, "source", None), str)


def check_root(root: Any, what: str) -> None:
    """A TypeError naming the type, for anything that is not a Value; for a tape, one that
    points to its program (`t.source`) and to how its graph can be drawn."""
    if is_tape(root):
        raise TypeError(
            f"{what}: a tape has no graph of Values to draw: it replays fn as generated Python "
            f"code, which print(t.source) shows (draw_html(t) makes a page of it). To draw the "
            f"graph, call fn on Values and pass its result: {what}(fn(...))")
    if not isinstance(root, Value):
        raise TypeError(f"{what}: expected a Value, got {type(root).__name__}")


def check_max_nodes(max_nodes: Any, what: str) -> int:
    """`max_nodes` as an int, or an error: it must be a whole number of at least 1.

    >>> check_max_nodes(float("nan"), "draw_dot")
    Traceback (most recent call last):
    TypeError: draw_dot: max_nodes must be a whole number, got float nan
    """
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, Integral):
        raise TypeError(f"{what}: max_nodes must be a whole number, "
                        f"got {type(max_nodes).__name__} {max_nodes!r}")
    if max_nodes < 1:
        raise ValueError(f"{what}: max_nodes must be at least 1, got {max_nodes}")
    return int(max_nodes)


def graph_nodes(root: Any, max_nodes: Any, what: str) -> list[Value]:
    """Every node under `root` (root first), after the checks: a Value, a valid `max_nodes`, and
    no more nodes than that (else a ValueError saying how many there are and what to do)."""
    check_root(root, what)
    limit = check_max_nodes(max_nodes, what)
    nodes = _walk_at_most(root, max(20 * limit, COUNT_AT_MOST))
    if nodes is None or len(nodes) > limit:
        size = f"{len(nodes):,}" if nodes is not None else f"more than {COUNT_AT_MOST:,}"
        larger = f"max_nodes={len(nodes)}" if nodes is not None else "a larger max_nodes"
        raise ValueError(
            f"{what}: the graph has {size} values, over max_nodes={limit:,}; "
            f"show a smaller part (call it on an intermediate node), "
            f"or pass {larger} to show it all"
        )
    return nodes


COUNT_AT_MOST = 100_000  # a refusal counts the graph this far (or 20 x max_nodes), no further


def _walk_at_most(root: Value, limit: int) -> list[Value] | None:
    """`walk(root)`, or None as soon as it passes `limit` nodes: refusing a graph of millions
    costs no more than drawing one of `limit`."""
    seen = {root}
    stack = [root]
    out = []
    while stack:
        node = stack.pop()
        out.append(node)
        if len(out) > limit:
            return None
        for p in node.parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return out


# --- orders ---------------------------------------------------------------------------------------


def reading_order(root: Value) -> list[Value]:
    """Every node under `root` once, as its formula reads left to right: a node, then each of
    its operands in turn with everything under it (depth first; a node met again is skipped).

    >>> x, y = Value(1.0, label="x"), Value(2.0, label="y")
    >>> [n.label or n.op for n in reading_order(y * (x + y))]
    ['*', 'y', '+', 'x']
    """
    seen: set[Value] = set()
    out = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        out.append(node)
        stack.extend(reversed(node.parents))
    return out


def creation_order(root: Value) -> list[Value]:
    """The results (non-leaf nodes) under `root` in the order the forward pass made them."""
    return [n for n in reversed(topological_order(root)) if n.parents]


def is_variable(node: Value) -> bool:
    """A leaf the user made (an input or a parameter), as opposed to a constant or a result."""
    return not node.parents and not is_constant(node)


def variables(root: Value, order: list[Value] | None = None) -> list[Value]:
    """The variable leaves under `root`, in reading order (the root itself left out)."""
    nodes = reading_order(root) if order is None else order
    return [n for n in nodes if n is not root and is_variable(n)]


# --- names ----------------------------------------------------------------------------------------


def parameter_names(params: Any, what: str = "params") -> dict[Value, str]:
    """The parameters the caller passed, each with the name to show unless it has a label.

    `params` may be a list of Values (the k-th is `p<k>`), a dict name -> Value (or Value ->
    name), a list of (name, Value) pairs, or an object with `named_parameters()` (an `nn`
    module).

    >>> w, b = Value(0.5), Value(0.1)
    >>> sorted(parameter_names({"w": w, "b": b}).values()), list(parameter_names([w, b]).values())
    (['b', 'w'], ['p1', 'p2'])
    """
    if params is None:
        return {}
    named = getattr(params, "named_parameters", None)
    if callable(named):
        items = list(named())
    elif isinstance(params, Mapping):
        # name -> Value; Value -> name (what this function returns) is read the same way
        items = [(v, k) if isinstance(k, Value) else (k, v) for k, v in params.items()]
    elif isinstance(params, (Value, str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{what}: expected Values, a dict name -> Value, or an object with "
                        f"named_parameters(); got {type(params).__name__}")
    else:
        items = list(params)
    out: dict[Value, str] = {}
    for k, item in enumerate(items, 1):
        if isinstance(item, Value):
            name, value = f"p{k}", item
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Value):
            name, value = str(item[0]), item[1]
        else:
            raise TypeError(f"{what}: item {k} is a {type(item).__name__}, not a Value "
                            f"or a (name, Value) pair")
        out.setdefault(value, name)
    return out


def node_names(root: Value, params: Any = None) -> dict[Value, str]:
    """A short name for every node under `root` (see the module docstring for the rules).

    >>> x = Value(2.0, label="x"); w = Value(0.5)
    >>> y = (x * w + 1).tanh()
    >>> names = node_names(y)
    >>> [names[n] for n in (x, w, y.parents[0], y)]
    ['x', 'p1', 'v2', 'v3']
    """
    order = reading_order(root)
    given = parameter_names(params)
    names: dict[Value, str] = {}
    used: set[str] = set()

    def claim(base: str) -> str:
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        return name

    for node in order:
        if is_constant(node):
            names[node] = constant(node.data)
        elif label_of(node):
            names[node] = claim(label_of(node))
    for node in order:  # parameters the caller named
        if node not in names and node in given:
            names[node] = claim(given[node])
    leaves = [n for n in order if n not in names and not n.parents]
    _number(leaves, "x" if given else "p", names, used)
    _number([n for n in creation_order(root) if n not in names], "v", names, used)
    return names


def _number(nodes: list[Value], prefix: str, names: dict[Value, str], used: set[str]) -> None:
    k = 0
    for node in nodes:
        k += 1
        while f"{prefix}{k}" in used:
            k += 1
        names[node] = f"{prefix}{k}"
        used.add(names[node])


# --- formulas -------------------------------------------------------------------------------------


def exponent(node: Value) -> float | None:
    """The constant exponent of an `x ** k` node (the engine keeps it beside the node)."""
    return getattr(node, "_arg", None)


def listing(items: list[str], limit: int = SHOWN_OPERANDS) -> str:
    """Comma-separated, at most `limit` items shown: a long list says how many it leaves out.

    >>> listing([f"a{i}" for i in range(1, 101)], 4)
    'a1, a2, a3, … 96 more …, a100'
    """
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[: limit - 1])}, … {len(items) - limit:,} more …, {items[-1]}"


def formula(node: Value, names: Mapping[Value, str]) -> str:
    """How `node` is computed from its parents, e.g. `x1 * w1`, `tanh(n)`, `x ** 2`; a sum or
    dot of many operands lists the first few and counts the rest."""
    op, parents = node.op, node.parents
    args = [names[p] for p in parents]
    if op == "neg" and len(args) == 1:
        return f"-{args[0]}"
    if op == "**" and len(args) == 1:
        k = exponent(node)
        return f"{args[0]} ** {constant(k) if k is not None else 'k'}"
    if op == "pow" and len(args) == 2:
        return f"{args[0]} ** {args[1]}"
    if op in ("+", "-", "*", "/") and len(args) == 2:
        return f"{args[0]} {op} {args[1]}"
    if op == "dot" and len(args) % 2 == 0:
        half = len(args) // 2
        return f"dot([{listing(args[:half])}], [{listing(args[half:])}])"
    return f"{op or 'op'}({listing(args)})"
