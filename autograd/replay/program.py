"""What a recording keeps: the graph as a flat program over numbers, with no Values in it.

Nodes are numbered leaves first, then the recorded ops in creation order (a topological order:
operands come before their results). The backward pass visits the ops under the root in
decreasing creation order, the engine's order, so sums of gradients come out to the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ops import OPS, Op

ARG, PARAM, CONST, OP = "arg", "param", "const", "op"


@dataclass(frozen=True)
class Guard:
    """A comparison of a Value made while recording: `left cmp right` gave `result`.

    `left` is a node id; `right` is a node id when `right_is_node`, else the number compared with.
    `after` is the last node it reads: the replay checks it as soon as that node is computed.
    """

    left: int
    cmp: str
    right: Any
    right_is_node: bool
    result: bool
    after: int


@dataclass(eq=False)
class Program:
    """One recording of a function, as numbers and op-table entries.

    Per node `n`: `kind[n]` (ARG, PARAM, CONST or OP), `op[n]` and `operands[n]` for an OP,
    `arg[n]` its constant argument (the 3 of `x ** 3`) or None, `value[n]` the number it held
    while recording, `slot[n]` the index into the flat arguments (ARG) or into `params` (PARAM).
    """

    kind: list[str] = field(default_factory=list)
    op: list[Op | None] = field(default_factory=list)
    operands: list[tuple[int, ...]] = field(default_factory=list)
    arg: list[float | None] = field(default_factory=list)
    arg_node: list[int | None] = field(default_factory=list)
    """For an op whose constant argument is data (a traced int argument), the node holding it."""
    value: list[float] = field(default_factory=list)
    slot: list[int] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    root: int = -1
    n_args: int = 0
    params: list[Any] = field(default_factory=list)
    """The Values whose `.data` a replay reads (the leaves fn closes over)."""
    outputs: list[tuple[int, Any]] = field(default_factory=list)
    """(node, Value) for each Value under the root that receives a gradient: the parameters,
    and any result computed before the recording that fn reads."""
    guards: list[Guard] = field(default_factory=list)
    in_root: list[bool] = field(default_factory=list)
    """Whether the node is under the root (the rest is computed only for a guard)."""
    needs_grad: list[bool] = field(default_factory=list)
    """Whether a gradient flows through the node to an output (the rest is never summed)."""
    reference: tuple[float, list[float]] | None = None
    """fn's value and the outputs' gradients from the engine's own backward pass at the
    recorded point (None where that pass raised)."""

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, kind: str, value: float, name: str, op: Op | None = None,
            operands: tuple[int, ...] = (), arg: float | None = None, slot: int = -1,
            arg_node: int | None = None) -> int:
        self.kind.append(kind)
        self.op.append(op)
        self.operands.append(operands)
        self.arg.append(arg)
        self.arg_node.append(arg_node)
        self.value.append(value)
        self.slot.append(slot)
        self.name.append(name)
        return len(self.kind) - 1

    def op_of(self, n: int) -> Op:
        """Node n's op-table entry (n an OP node: the others have none)."""
        op = self.op[n]
        assert op is not None, f"node {n} is {self.kind[n]!r}, not an op"
        return op

    def arg_at(self, n: int, vals: list[float]) -> Any:
        """Node n's constant argument: as recorded, or where it is data, its node's value."""
        source = self.arg_node[n]
        return self.arg[n] if source is None else vals[source]

    def param_values(self) -> list[float]:
        """The parameters' data as recorded."""
        data = [0.0] * len(self.params)
        for n, kind in enumerate(self.kind):
            if kind == PARAM:
                data[self.slot[n]] = self.value[n]
        return data

    def op_nodes(self) -> list[int]:
        """The op nodes, in creation order (after the leaves; a number fn returns is a leaf
        added last)."""
        kind = self.kind
        first = next((n for n, k in enumerate(kind) if k == OP), len(kind))
        return [n for n in range(first, len(kind)) if kind[n] == OP]

    def backward_order(self) -> list[int]:
        """The op nodes under the root, in the order the engine's backward pass visits them."""
        return [n for n in reversed(self.op_nodes()) if self.in_root[n]]

    def finish(self, externals: list[tuple[int, Any]]) -> None:
        """Work out `in_root`, `outputs` (the `externals` under the root) and `needs_grad`
        once the nodes and the root are in."""
        size = len(self)
        in_root = [False] * size
        if self.root >= 0:
            in_root[self.root] = True
        for n in reversed(range(size)):
            if in_root[n]:
                for p in self.operands[n]:
                    in_root[p] = True
        self.in_root = in_root
        self.outputs = [(n, v) for n, v in externals if in_root[n]]
        needs = [False] * size
        for n, _ in self.outputs:
            needs[n] = True
        operands = self.operands
        for n in self.op_nodes():  # leaves have no operands: theirs is set above
            if not needs[n]:
                for p in operands[n]:
                    if needs[p]:
                        needs[n] = True
                        break
        self.needs_grad = needs


def operand_order(op: Op, count: int) -> list[int]:
    """The operand indices in the order backward adds into them (as
    `autograd.backward.operand_order`): a pairwise op's pairs last first, x before w."""
    if not op.pairwise:
        return list(range(count))
    n = count // 2
    return [i for k in range(n - 1, -1, -1) for i in (k, n + k)]


def known(op: Op) -> bool:
    """Whether `op` is one of the op table's own entries (else a custom op)."""
    return OPS.get(op.name) is op
