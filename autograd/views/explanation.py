"""A backward pass told step by step, with the chain rule written out in numbers.

For each node in the order backward visits it (every node after all the nodes that use it, so
its gradient is complete when its turn comes), `explain` prints the local derivative of the node
with respect to each operand, the node's own gradient (the upstream one), their product, and the
operand's gradient so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any, NamedTuple

from ..backward import current, operand_order, outputs_by_node, vjp_partials, vjp_upstream
from ..engine import Value, is_constant, local_derivatives, topological_order
from ..engine import rule as rule_of
from .names import (
    TEXT_MAX_NODES,
    constant,
    exponent,
    formula,
    graph_nodes,
    node_names,
    num,
    reading_order,
    variables,
)

# The local derivative of each op as a formula over its operands' names (a: operands, o: the
# node's own name, i: which operand). Ops missing here are explained by their number alone.
LOCAL_FORMULAS: dict[str, Callable[[list[str], str, int], str]] = {
    "+": lambda a, o, i: "1",
    "-": lambda a, o, i: "1" if i == 0 else "-1",
    "*": lambda a, o, i: a[1 - i],
    "/": lambda a, o, i: f"1 / {a[1]}" if i == 0 else f"-{a[0]} / {a[1]}**2",
    "neg": lambda a, o, i: "-1",
    "pow": lambda a, o, i: f"{a[1]} * {a[0]}**({a[1]} - 1)" if i == 0 else f"{o} * log({a[0]})",
    "abs": lambda a, o, i: f"sign({a[0]})",
    "relu": lambda a, o, i: f"1 if {a[0]} > 0 else 0",
    "tanh": lambda a, o, i: f"1 - {o}**2",
    "sigmoid": lambda a, o, i: f"{o} * (1 - {o})",
    "exp": lambda a, o, i: o,
    "log": lambda a, o, i: f"1 / {a[0]}",
    "sqrt": lambda a, o, i: f"0.5 / {o}",
    "sin": lambda a, o, i: f"cos({a[0]})",
    "cos": lambda a, o, i: f"-sin({a[0]})",
    "sum": lambda a, o, i: "1",
    "dot": lambda a, o, i: a[(i + len(a) // 2) % len(a)],
    "identity": lambda a, o, i: "1",
}


def local_formula(node: Value, index: int, names: dict[Value, str],
                  args: list[str] | None = None) -> str | None:
    """The local derivative d node / d operand[index] as a formula, or None if we have none.
    `args` are the operands' names, when the caller has them already (a node with many operands
    then costs one list, not one per operand)."""
    if args is None:
        args = [names[p] for p in node.parents]
    if node.op == "**":
        k = exponent(node)
        if k is None:
            return None
        return power_rule(k, args[0])
    rule = LOCAL_FORMULAS.get(node.op)
    return rule(args, names[node], index) if rule else None


def power_rule(k: float, x: str) -> str:
    """d(x**k)/dx written as a person would: `2 * x`, not `2 * x**1`.

    >>> power_rule(2.0, "x"), power_rule(3.0, "x"), power_rule(1.0, "x"), power_rule(0.5, "x")
    ('2 * x', '3 * x**2', '1', '0.5 * x**-0.5')
    """
    if k in (0, 1):
        return constant(k)
    if k == 2:
        return f"2 * {x}"
    return f"{constant(k)} * {x}**{constant(k - 1)}"


def _paren(x: float) -> str:
    return f"({num(x)})" if x < 0 else num(x)


class Addition(NamedTuple):
    """What one step adds into one operand's gradient: `local * upstream`, and the sum so far."""

    index: int  # which operand of the step's node (its position in `node.parents`)
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
    current([n for n in order if n.parents])  # no story of numbers that changed since
    grads = {root: float(seed)}
    steps = []
    outputs = None
    for node in order:
        if not node.parents:
            continue
        upstream = grads.get(node, 0.0)
        parents = node.parents
        additions = []
        if rule_of(node).vjp:
            outputs = outputs_by_node(order) if outputs is None else outputs
            received = vjp_upstream(node, outputs, lambda y: grads.get(y, 0.0))
            sent = vjp_partials(node, received)
            for i, (parent, added) in enumerate(zip(parents, sent)):
                grads[parent] = grads.get(parent, 0.0) + added
                if not is_constant(parent):
                    additions.append(Addition(i, parent, math.nan, added, grads[parent]))
            steps.append(Step(node, upstream, additions, True))
            continue
        locals_ = local_derivatives(node)
        for i in operand_order(node):  # backward's order, so the totals agree to the bit
            parent, local = parents[i], locals_[i]
            if is_constant(parent):
                continue  # a number in the formula: nothing to learn about its gradient
            added = local * upstream
            grads[parent] = grads.get(parent, 0.0) + added
            additions.append(Addition(i, parent, local, added, grads[parent]))
        steps.append(Step(node, upstream, additions))
    return steps, grads


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
