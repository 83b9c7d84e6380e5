"""The graph as an indented tree for the terminal, one line per node with its data and grad.

Output stays linear in the number of nodes whatever the graph's shape: the indentation stops
growing after `MAX_INDENT` levels (deeper lines carry their depth, `[depth 57]`, instead of more
guides), a node used many times by one operation is referred to at most `MAX_REFERENCES` times
there and the rest are counted on one line, and a big sum's formula lists a few operands.
"""

from __future__ import annotations

from typing import Any

from ..engine import Value, is_constant
from .names import TEXT_MAX_NODES, formula, graph_nodes, node_names, num

MAX_INDENT = 12
MAX_REFERENCES = 20
NUMBERS_COLUMN = 60  # the data and grad columns start here at the latest

_DRAWN, _SEE_ABOVE, _CONSTANT, _MORE = range(4)  # what a line shows after its left part


def text_tree(
    root: Value,
    *,
    show_grad: bool = True,
    max_nodes: int = TEXT_MAX_NODES,
    ascii: bool = False,
    params: Any = None,
) -> str:
    """An indented tree of the graph under `root`, one line per node with its data and grad.

    A node used twice is drawn the first time and referred to by name after; a constant is
    written as its number. `params` names the parameters (see `autograd.views.names`).

    >>> x = Value(2.0, label="x"); y = x * x; y.label = "y"; y.backward()
    >>> print(text_tree(y, ascii=True))
    y = x * x  data     4.0000  grad     1.0000
    |-- x      data     2.0000  grad     4.0000
    `-- x      (see above)
    """
    graph_nodes(root, max_nodes, "text_tree")
    names = node_names(root, params)
    tee, last, bar = ("|-- ", "`-- ", "|   ") if ascii else ("├── ", "└── ", "│   ")
    rows: list[tuple[str, int, Value | None]] = [(_head(root, names), _kind(root), root)]
    drawn = {root}
    # One frame per node whose operands are being listed: [its operands, the next one, guides
    # for their lines, their depth, references shown, references counted only].
    stack: list[list[Any]] = [[root.parents, 0, "", 1, 0, 0]] if root.parents else []
    while stack:
        frame = stack[-1]
        kids, i, guides, depth, shown, hidden = frame
        if i == len(kids):
            stack.pop()
            if hidden:
                rows.append((f"{_prefix(guides, depth, last)}… {hidden:,} more uses of "
                             f"values drawn above", _MORE, None))
            continue
        frame[1] = i + 1
        kid = kids[i]
        new = kid not in drawn
        if not new and shown >= MAX_REFERENCES:
            frame[5] = hidden + 1
            continue
        end = i == len(kids) - 1 and not hidden
        rows.append((_prefix(guides, depth, last if end else tee) + (_head(kid, names) if new
                     else names[kid]), _kind(kid) if new else _reference(kid), kid))
        if not new:
            frame[4] = shown + 1
            continue
        drawn.add(kid)
        grandkids = kid.parents
        if grandkids:
            inner = guides + ("    " if end else bar) if depth < MAX_INDENT else guides
            stack.append([grandkids, 0, inner, depth + 1, 0, 0])
    width = min(max(len(left) for left, _, _ in rows), NUMBERS_COLUMN)
    lines = []
    for left, kind, node in rows:
        if kind == _DRAWN:
            assert node is not None
            numbers = f"data {num(node.data):>10}"
            numbers += f"  grad {num(node.grad):>10}" if show_grad else ""
            lines.append(f"{left.ljust(width)}  {numbers}")
        elif kind == _SEE_ABOVE:
            lines.append(f"{left.ljust(width)}  (see above)")
        elif kind == _CONSTANT:
            lines.append(f"{left.ljust(width)}  (constant)")
        else:
            lines.append(left)
    return "\n".join(lines)


def _prefix(guides: str, depth: int, connector: str) -> str:
    """The left part of a line at `depth`: the guides, then the depth past `MAX_INDENT`."""
    return f"{guides}{connector}" if depth <= MAX_INDENT else f"{guides}[depth {depth}] {connector}"


def _head(node: Value, names: dict[Value, str]) -> str:
    if node.parents:
        return f"{names[node]} = {formula(node, names)}"
    return names[node]


def _kind(node: Value) -> int:
    return _CONSTANT if is_constant(node) else _DRAWN


def _reference(node: Value) -> int:
    return _CONSTANT if is_constant(node) else _SEE_ABOVE
