"""Which arrows a picture draws, and from where: a plan that keeps Graphviz's work near linear.

Graphviz lays out a long arrow as a chain of hidden points, one per rank it crosses, and its
positioning grows faster than linearly in their number: a value reused all along a long chain
(`y = y * x` a hundred times, 200 values) made a picture that had not finished after 17 minutes.
So an arrow that would cross more than `MAX_SPAN` levels of the graph starts instead
from a small dashed reference to its value (the value's name, drawn beside the op that uses it),
and an op that uses one value more than `MAX_PARALLEL` times gets one arrow for them all,
labelled with their count and the sum of their local derivatives. The hidden points then number
at most a few per arrow, the arrows at most `ARROWS_PER_VALUE` per value (more is refused, like a
graph over `max_nodes`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..engine import Value, topological_order

ARROWS_PER_VALUE = 4
MAX_SPAN = 3  # levels an arrow may cross before it starts from a reference instead
MAX_PARALLEL = 3  # arrows from one value into one op before they are merged into one


class Arrow:
    """Arrows from one value into one op: operand positions `indices` of the op's node; drawn
    from a reference to the value when `reference`, merged into one arrow when many."""

    __slots__ = ("indices", "parent", "reference")

    def __init__(self, parent: Value, indices: list[int], reference: bool) -> None:
        self.parent, self.indices, self.reference = parent, indices, reference

    @property
    def merged(self) -> bool:
        return len(self.indices) > MAX_PARALLEL

    @property
    def count(self) -> int:
        """How many arrows the picture draws for it."""
        return 1 if self.merged else len(self.indices)


def plan_arrows(root: Value) -> dict[Value, list[Arrow]]:
    """For every op node under `root`, its arrows (see the module docstring).

    Levels: a leaf sits one level before its first use, a result one level after its latest
    operand. An arrow that crosses more than `MAX_SPAN` levels starts from a reference. Graphviz
    places every node at most as far as those levels would, so the hidden points of all arrows
    together stay under a few per arrow, whatever the graph.
    """
    forward = list(reversed(topological_order(root)))  # every node after its operands
    level: dict[Value, int] = {}
    for node in forward:
        level[node] = 1 + max(level[p] for p in node.parents) if node.parents else 0
    first_use: dict[Value, int] = {}
    for node in forward:
        for p in node.parents:
            if not p.parents and level[node] - 1 < first_use.get(p, level[node]):
                first_use[p] = level[node] - 1
    level.update(first_use)
    plan: dict[Value, list[Arrow]] = {}
    for node in forward:
        if not node.parents:
            continue
        groups: dict[Value, list[int]] = {}
        for i, p in enumerate(node.parents):
            groups.setdefault(p, []).append(i)
        plan[node] = [Arrow(p, idx, level[node] - level[p] > MAX_SPAN) for p, idx in groups.items()]
    return plan


def check_arrows(plan: Mapping[Value, list[Arrow]], values: int, max_nodes: int, what: str) -> None:
    """A ValueError when the picture would have more than `ARROWS_PER_VALUE * max_nodes` arrows
    (a graph whose ops each use hundreds of distinct values)."""
    arrows = sum(a.count for arrows in plan.values() for a in arrows)
    limit = ARROWS_PER_VALUE * max_nodes
    if arrows > limit:
        raise ValueError(
            f"{what}: the picture would have {arrows:,} arrows between {values:,} values, over "
            f"{ARROWS_PER_VALUE} x max_nodes={limit:,}; show a smaller part (call it on an "
            f"intermediate node), or pass max_nodes={-(-arrows // ARROWS_PER_VALUE)}"
        )


