"""A backward pass told step by step, with the chain rule written out in numbers.

For each node in the order backward visits it (every node after all the nodes that use it, so
its gradient is complete when its turn comes), `explain` prints the local derivative of the node
with respect to each operand, the node's own gradient (the upstream one), their product, and the
operand's gradient so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any, NamedTuple

from ..backward import chain, current, float_contributions, operand_order
from ..engine import Value, is_constant, local_derivatives, op_arg, topological_order
from ..engine import rule as rule_of
from ..formula import Formula, Printer
from .names import (
    TEXT_MAX_NODES,
    constant,
    formula,
    graph_nodes,
    node_names,
    num,
    reading_order,
    variables,
)


class TextPrinter(Printer):
    """Formulas as a reader writes them: short constants (`1`, `0.5`), `x**2` for `x * x`."""

    def constant(self, x: float) -> str:
        return constant(float(x))

    def power(self, a: str, b: str, node: Formula) -> tuple[str, str]:
        return f"{a}**{b}", "**"

    def _visit(self, node: Formula, kids: list[tuple[str, str]]) -> tuple[str, str]:
        if node.head == "*" and node.args[0].head == "var" and node.args[0] is node.args[1]:
            return f"{kids[0][0]}**2", "**"
        if node.head == "*" and node.args[0].head == "var" and node.args[1].head == "var" \
                and node.args[0].args == node.args[1].args:
            return f"{kids[0][0]}**2", "**"
        return super()._visit(node, kids)


def local_formulas(node: Value, names: dict[Value, str],
                   args: list[str] | None = None) -> list[str | None]:
    """Each local derivative d node / d operand as a formula over the operands' names: the
    op's own rule, run on formulas and printed. None where the rule gives no formula (it
    branches on a number, or the op's backward is a closure or a vector-Jacobian product)."""
    op = rule_of(node)
    count = len(node.parents)
    if op.external or op.vjp or not node.parents:
        return [None] * count
    if args is None:
        args = [names[p] for p in node.parents]
    operands = [Formula.var(a) for a in args]
    rules = op.derivative_formulas(operands, Formula.var(names[node]), op_arg(node))
    if rules is None or len(rules) != count:
        return [None] * count
    printer = TextPrinter()
    return [printer.text(r) for r in rules]


_last: list[Any] = [None, None, None]  # the node last asked of `local_formula`, and its answer


def local_formula(node: Value, index: int, names: dict[Value, str],
                  args: list[str] | None = None) -> str | None:
    """The local derivative d node / d operand[index] as a formula, or None (see
    `local_formulas`; asked operand by operand, a node is worked out once)."""
    if args is None:
        args = [names[p] for p in node.parents]
    if _last[0] is not node or _last[1] != args:
        _last[:] = [node, list(args), local_formulas(node, names, args)]
    return _last[2][index]


def _paren(x: float) -> str:
    return f"({num(x)})" if x < 0 else num(x)


class Addition(NamedTuple):
    """What one step adds into one operand's gradient: `local * upstream`, and the sum so far."""

    # which operand of the step's node (its position in `node.parents`); a field may take the
    # name of tuple's method `index`, which it then hides
    index: int  # type: ignore[assignment]
    parent: Value
    local: float  # nan for a vector-Jacobian product: no number per edge
    added: float
    total: float


class Step(NamedTuple):
    """One op node's turn in the backward pass: its gradient (complete by now) and what it adds
    into each operand, in the order backward adds them (constants get nothing: they are
    numbers, not variables). `vjp`: a node with several outputs (`fixed_point`, `custom_vjp`),
    whose additions are one vector-Jacobian product of its outputs' gradients."""

    node: Value
    upstream: float
    additions: list[Addition]
    vjp: bool = False


def backward_steps(root: Value, seed: float = 1.0) -> tuple[list[Step], dict[Value, float]]:
    """The backward pass from `root` as data: one `Step` per op node, in backward's order, and
    every node's gradient at the end (d root / d node). The sums are made in backward's order
    (`operand_order`), so they equal `.grad` after one `backward()` to the bit. `explain` tells
    this story in words; the HTML page replays it.

    >>> x = Value(3.0, label="x"); steps, grads = backward_steps(x * x)
    >>> [(a.added, a.total) for a in steps[0].additions], grads[x]
    ([(3.0, 3.0), (3.0, 6.0)], 6.0)
    """
    order = topological_order(root)
    interior = current([n for n in order if n.parents])  # no story of numbers changed since
    grads: dict[Value, Any] = {root: float(seed)}
    send = float_contributions(interior, grads)
    steps: list[Step] = []

    def told(node: Value, upstream: float) -> tuple:
        parents = node.parents
        if rule_of(node).vjp:
            index: Any = range(len(parents))
            sent = [added for _, added in send(node, upstream)]
            locals_: Sequence[float] = [math.nan] * len(parents)
        else:  # nan where a local derivative does not exist: said, not raised
            index = operand_order(node)
            locals_ = local_derivatives(node)
            sent = [locals_[i] * upstream for i in index]
        additions = []
        for i, added in zip(index, sent):
            parent = parents[i]
            grads[parent] = total = grads.get(parent, 0.0) + added
            if not is_constant(parent):  # a constant: nothing to learn about its gradient
                additions.append(Addition(i, parent, locals_[i], added, total))
        steps.append(Step(node, upstream, additions, rule_of(node).vjp))
        return ()  # added here, in the order told

    chain(interior, grads, told)
    return steps, {n: g for n, g in grads.items() if not is_constant(n)}


def explain(root: Value, *, seed: float = 1.0, max_nodes: int = TEXT_MAX_NODES,
            params: Any = None) -> str:
    """The backward pass from `root`, step by step, as text. `params` names the parameters (a
    list, a dict name -> Value, or an `nn` module; see `autograd.views.names`).

    Linear in the size of the graph: one line per operand of every operation.

    >>> x = Value(3.0, label="x"); y = x * x; y.label = "y"
    >>> print(explain(y))  # doctest: +NORMALIZE_WHITESPACE
    Backward pass from y = x * x = 9.0000, seeded with dy/dy = 1.0000.
    Chain rule at every step: dy/d(operand) += dy/d(node) * d(node)/d(operand).
    <BLANKLINE>
    step 1: y = x * x = 9.0000, upstream dy/dy = 1.0000
      dy/dx: local dy/dx = x = 3.0000; adds 1.0000 * 3.0000 = 3.0000; total 3.0000
      dy/dx: local dy/dx = x = 3.0000; adds 1.0000 * 3.0000 = 3.0000; total 6.0000
    <BLANKLINE>
    Gradients of the inputs:
      dy/dx = 6.0000
    """
    graph_nodes(root, max_nodes, "explain")
    if not isinstance(seed, Real) or isinstance(seed, bool):
        raise TypeError(f"explain: seed must be a number, got {type(seed).__name__}")
    names = node_names(root, params)
    r = names[root]
    head = f"{r} = {formula(root, names)}" if root.parents else r
    lines = [
        f"Backward pass from {head} = {num(root.data)}, seeded with d{r}/d{r} = {num(seed)}.",
        f"Chain rule at every step: d{r}/d(operand) += d{r}/d(node) * d(node)/d(operand).",
    ]
    steps, grads = backward_steps(root, seed)
    for step, (node, upstream, additions, vjp) in enumerate(steps, 1):
        n = names[node]
        lines += ["", f"step {step}: {n} = {formula(node, names)} = {num(node.data)}, "
                      f"upstream d{r}/d{n} = {num(upstream)}"]
        args = [names[p] for p in node.parents]
        if vjp:  # several outputs: one product of all their gradients
            lines.append(f"  (a vector-Jacobian product: the gradients of {n}'s outputs in, "
                         "one gradient per operand out)")
            lines += [f"  d{r}/d{args[i]}: adds {num(added)}; total {num(total)}"
                      for i, _parent, _local, added, total in additions]
            continue
        for i, _parent, local, added, total in additions:
            p = args[i]
            rule = local_formula(node, i, names, args)
            shown = num(local) if not math.isnan(local) else "undefined here"
            said = f"{rule} = {shown}" if rule and rule != constant(local) else shown
            lines.append(f"  d{r}/d{p}: local d{n}/d{p} = {said}; "
                         f"adds {num(upstream)} * {_paren(local)} = {num(added)}; "
                         f"total {num(total)}")
    if not steps:
        lines += ["", f"{r} is a leaf: its gradient is the seed, {num(seed)}."]
    leaves = variables(root, reading_order(root))
    if leaves:
        what = "inputs and parameters" if params is not None else "inputs"
        lines += ["", f"Gradients of the {what}:"]
        lines += [f"  d{r}/d{names[leaf]} = {num(grads.get(leaf, 0.0))}" for leaf in leaves]
    return "\n".join(lines)
