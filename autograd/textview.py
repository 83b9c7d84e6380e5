"""The graph as text: short names for nodes, formulas, and an indented tree for the terminal.

Names follow the labels the user gave; an unlabelled intermediate node gets `v1`, `v2`, ... in
the order the forward pass made it, and an unlabelled leaf (a constant such as the 2 in `2 * x`)
is written as its number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .engine import Value, is_constant, topological_order, walk

TEXT_MAX_NODES = 2000


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
    """A constant as it appears inside a formula: as short as Python would write it."""
    text = repr(x)
    if text.endswith(".0"):
        text = text[:-2]
    return text if len(text) <= 10 else f"{x:.6g}"




def check_size(root: Value, max_nodes: int, what: str) -> list[Value]:
    """All nodes under `root`, or a ValueError saying how many there are and what to do."""
    nodes = walk(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"{what}: the graph has {len(nodes):,} values, over max_nodes={max_nodes:,}; "
            f"show a smaller part (call it on an intermediate node), "
            f"or pass max_nodes={len(nodes)} to show it all"
        )
    return nodes


def node_names(root: Value, params: Sequence[Value] = ()) -> dict[Value, str]:
    """A short, unique name for every node under `root`: its label, else `v1`, `v2`, ... in the
    order the forward pass made them; an unlabelled leaf listed in `params` is `p1`, `p2`, ...
    in that order, any other unlabelled leaf is a constant and is written as its number."""
    forward = list(reversed(topological_order(root)))
    taken = {n.label for n in forward if n.label}
    names: dict[Value, str] = {}
    used: set[str] = set()
    counter = 0
    for k, p in enumerate(params, 1):
        if not p.label and not p.parents and f"p{k}" not in taken:
            names[p] = f"p{k}"
            used.add(f"p{k}")
    for node in forward:
        if node in names:
            continue
        if is_constant(node):
            names[node] = constant(node.data)
            continue
        if node.label:
            name, k = node.label, 1
            while name in used:
                k += 1
                name = f"{node.label}_{k}"
        else:
            counter += 1
            name = f"v{counter}"
            while name in taken or name in used:
                counter += 1
                name = f"v{counter}"
        used.add(name)
        names[node] = name
    return names


def exponent(node: Value) -> float | None:
    """The constant exponent of an `x ** k` node (the engine keeps it beside the node)."""
    return getattr(node, "_arg", None)


def formula(node: Value, names: dict[Value, str]) -> str:
    """How `node` is computed from its parents, e.g. `x1 * w1`, `tanh(n)`, `x ** 2`."""
    op, args = node.op, [names[p] for p in node.parents]
    if op == "neg":
        return f"-{args[0]}"
    if op == "**":
        k = exponent(node)
        return f"{args[0]} ** {constant(k) if k is not None else 'k'}"
    if op == "pow":
        return f"{args[0]} ** {args[1]}"
    if op in ("+", "-", "*", "/"):
        return f"{args[0]} {op} {args[1]}"
    if op == "dot":
        half = len(args) // 2
        return f"dot([{', '.join(args[:half])}], [{', '.join(args[half:])}])"
    return f"{op}({', '.join(args)})"


def text_tree(
    root: Value, *, show_grad: bool = True, max_nodes: int = TEXT_MAX_NODES, ascii: bool = False
) -> str:
    """An indented tree of the graph under `root`, one line per node with its data and grad.

    A node used twice is drawn the first time and referred to by name after.

    >>> x = Value(2.0, label="x"); y = x * x; y.label = "y"; y.backward()
    >>> print(text_tree(y, ascii=True))
    y = x * x  data     4.0000  grad     1.0000
    |-- x      data     2.0000  grad     4.0000
    `-- x      (see above)
    """
    check_size(root, max_nodes, "text_tree")
    names = node_names(root)
    tee, last, bar = ("|-- ", "`-- ", "|   ") if ascii else ("├── ", "└── ", "│   ")
    rows: list[tuple[str, object]] = []  # (left part, node whose numbers follow, or a marker)
    drawn: set[Value] = set()
    stack: list[tuple[Value, str, str]] = [(root, "", "")]  # node, own prefix, children's prefix
    while stack:
        node, prefix, child_prefix = stack.pop()
        name = names[node]
        if is_constant(node):
            rows.append((f"{prefix}{name}", None))
            continue
        if node in drawn:
            rows.append((f"{prefix}{name}", _SEE_ABOVE))
            continue
        drawn.add(node)
        head = f"{name} = {formula(node, names)}" if node.parents else name
        rows.append((f"{prefix}{head}", node))
        kids = node.parents
        for i in range(len(kids) - 1, -1, -1):  # pushed in reverse so they pop in operand order
            end = i == len(kids) - 1
            stack.append((kids[i], child_prefix + (last if end else tee),
                          child_prefix + ("    " if end else bar)))
    width = min(max(len(left) for left, _ in rows), 60)
    lines = []
    for left, node in rows:
        if node is None:
            lines.append(f"{left.ljust(width)}  (constant)")
        elif node is _SEE_ABOVE:
            lines.append(f"{left.ljust(width)}  (see above)")
        else:
            numbers = f"data {num(node.data):>10}"
            numbers += f"  grad {num(node.grad):>10}" if show_grad else ""
            lines.append(f"{left.ljust(width)}  {numbers}")
    return "\n".join(lines)


_SEE_ABOVE = object()  # a marker row: the node was drawn earlier in the tree
