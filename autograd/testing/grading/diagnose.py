"""Which op a difference comes from, what kind of mistake it is, and a hint.

Forward first: the first slot, in program order, whose data differs names the op that made
it. Then backward, walking backward's own order (the output first): the first node whose
gradient differs from ours has correct gradients at every node that uses it, so the mistake is
in how those uses sent their share to it. Each using op is then run alone at the same operands:
if one is wrong alone, its local derivative is. If all are right alone, the learner's gradient
is compared with sums of the shares: the share of one use plus only some of the others means
that use's op overwrites (`=` for `+=`); local derivatives not multiplied by the gradient of
the node that uses them means a missing chain rule; anything else means backward() ran some
node's step before that node had all its gradient (no topological order).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ...backward import local_derivatives
from .compare import Comparison, Reading, compare
from .forms import FORMS, Form, Program, Step
from .guard import Trouble
from .small import own_programs

BACKWARD = "backward"
"""The op named when backward() itself is wrong (its order, its seed, or it loops)."""
CONSTRUCTOR = "Value()"
"""The op named when the constructor is wrong."""

DERIVATIVES = {
    "+": "d(a + b)/da = 1 and d(a + b)/db = 1",
    "-": "d(a - b)/da = 1 and d(a - b)/db = -1",
    "*": "d(a * b)/da = b and d(a * b)/db = a",
    "/": "d(a / b)/da = 1 / b and d(a / b)/db = -a / b**2",
    "**": "d(a**k)/da = k * a**(k - 1), d(k**a)/da = k**a * log(k), d(a**b)/db = a**b * log(a)",
    "neg": "d(-a)/da = -1",
    "relu": "relu'(a) = 1 where a > 0, else 0",
    "tanh": "tanh'(a) = 1 - t**2, with t = tanh(a) (the output's data)",
    "exp": "exp'(a) = exp(a), the output's data itself",
    "log": "log'(a) = 1 / a",
    "sigmoid": "sigmoid'(a) = s * (1 - s), with s = sigmoid(a) (the output's data)",
    "sqrt": "sqrt'(a) = 0.5 / sqrt(a)",
    "sin": "sin'(a) = cos(a)",
    "cos": "cos'(a) = -sin(a)",
    "abs": "abs'(a) = 1 where a > 0, -1 where a < 0",
}
"""The right local derivatives, as a hint shows them, by op..."""
FORM_DERIVATIVES = {
    "a + 2": "d(a + k)/da = 1",
    "2 + a": "d(k + a)/da = 1",
    "a - 2": "d(a - k)/da = 1",
    "2 - a": "d(k - a)/da = -1",
    "a * 2": "d(a * k)/da = k",
    "2 * a": "d(k * a)/da = k",
    "a / 2": "d(a / k)/da = 1 / k",
    "2 / a": "d(k / a)/da = -k / a**2",
    "a ** 2": "d(a**k)/da = k * a**(k - 1)",
    "2 ** a": "d(k**a)/da = k**a * log(k)",
    "a ** b": "d(a**b)/da = b * a**(b - 1) and d(a**b)/db = a**b * log(a)",
}
"""... and by form, where the form with a number is not the op's general rule."""

_METHOD_OPS = {form.method: form.op for form in FORMS.values()}
_METHOD_OPS.update({"backward": BACKWARD, "__init__": CONSTRUCTOR})


@dataclass(frozen=True)
class Finding:
    """What `diagnose` concludes: the op, the kind of mistake, the form (when one form is
    to blame), the node whose gradient first differs (when backward is where it shows), a
    hint, and what went wrong in the learner's code, if something raised or ran too long."""

    op: str
    kind: str
    hint: str
    form: str | None = None
    node: str | None = None
    trouble: Trouble | None = None


def diagnose(c: Comparison, value_class: Any, time_limit: float,
             forms_checked: bool = False) -> Finding:
    """What `c`'s difference comes from. `forms_checked`: every form in the program has
    passed its own small programs (`small.own_programs`, `small.pair_programs`), which show
    an overwriting op or a missing chain rule in the form alone; a backward difference that
    no op shows alone is then backward()'s order."""
    p, yours = c.program, c.yours
    names = p.names()
    n = p.n_inputs

    if yours.stage == "forward" and yours.trouble is not None:
        return _trouble_in_forward(p, len(yours.data), yours.trouble, names)
    for i in range(len(c.ours.data)):
        if yours.plain[i]:
            form = p.forms()[i - n]
            return Finding(form.op, "plain number", _plain_hint(form), form.key)
        if c.data_differs(i):
            return _forward(c, i, names)
    if yours.trouble is not None:
        op = _METHOD_OPS.get(yours.trouble.where or "", BACKWARD)
        return Finding(op, yours.trouble.kind,
                       _trouble_hint(yours.trouble, op, "backward()"), trouble=yours.trouble)

    reach = p.reaching_output()
    differing = [i for i in range(len(reach)) if (reach[i] or i < n) and c.grad_differs(i)]
    last = len(reach) - 1
    if not differing:  # nothing left that `agrees` looks at: cannot happen, said plainly
        return Finding(BACKWARD, "gradient", "The gradients differ.")
    if differing[-1] == last:
        got = _show(yours.grads[last])
        return Finding(BACKWARD, "seed", (
            f"backward() must start by setting the output's grad to 1.0 (d out / d out = 1); "
            f"after backward() {names[last]}.grad is {got}."), node=names[last])
    if all(yours.grads[i] in _UNSET for i in range(last) if reach[i]) and _passes_nothing(
            value_class, time_limit):
        return Finding(BACKWARD, "no gradient", (
            "backward() left every other node's .grad unset (0): it must call each node's "
            "_backward(), output first, so each op passes the gradient on to its operands."),
            node=names[differing[-1]])
    return _backward(c, differing[-1], value_class, time_limit, forms_checked)


_UNSET = (0.0, "missing", "None")


def _passes_nothing(value_class: Any, time_limit: float, enough: int = 3) -> bool:
    """Whether backward() leaves the operands' .grad unset after every form tried alone (up
    to `enough` that run), not just after one op whose derivative is wrongly 0."""
    tried = 0
    for key in FORMS:
        program = own_programs(key)[0]
        checked = compare(program, value_class, time_limit)
        if checked is None or checked.yours.stage != "done" or not checked.ours.grads[0]:
            continue
        if any(g not in _UNSET for g in checked.yours.grads[: program.n_inputs]):
            return False
        tried += 1
        if tried == enough:
            break
    return tried > 0


def _trouble_in_forward(p: Program, slot: int, trouble: Trouble, names: list[str]) -> Finding:
    if slot < p.n_inputs:
        return Finding(CONSTRUCTOR, trouble.kind,
                       _trouble_hint(trouble, CONSTRUCTOR, f"Value({p.point[slot]!r})"),
                       trouble=trouble)
    form = p.forms()[slot - p.n_inputs]
    step = p.steps[slot - p.n_inputs]
    spelled = form.spell([names[i] for i in step.operands], step.const)
    return Finding(form.op, trouble.kind, _trouble_hint(trouble, form.op, spelled), form.key,
                   trouble=trouble)


def _forward(c: Comparison, slot: int, names: list[str]) -> Finding:
    p = c.program
    yours, ours = c.yours.data[slot], c.ours.data[slot]
    if slot < p.n_inputs:
        return Finding(CONSTRUCTOR, "forward",
                       f"Value({p.point[slot]!r}).data is {_show(yours)}: it should keep the "
                       f"number it is given.")
    step = p.steps[slot - p.n_inputs]
    form = FORMS[step.form]
    at = ", ".join(f"{names[i]} = {_show(c.ours.data[i])}" for i in dict.fromkeys(step.operands))
    spelled = form.spell([names[i] for i in step.operands], step.const)
    gives = (f"gives {_show(yours)}" if not isinstance(yours, str) else
             f"has {yours} as its .data, not a number,")
    return Finding(form.op, "forward", (
        f"{spelled} {gives} where it should give {_show(ours)} (at {at}): the forward value "
        f"of {form.op} is wrong."), form.key)


def _backward(c: Comparison, slot: int, value_class: Any, time_limit: float,
              forms_checked: bool) -> Finding:
    p, yours = c.program, c.yours
    names = p.names()
    uses = p.uses(slot)
    # Each using op alone, at the operands it has here, latest first (backward's order).
    for j in sorted({j for j, _ in uses}, reverse=True):
        alone = _alone(c, j)
        checked = compare(alone, value_class, time_limit)
        if checked is not None and not checked.agrees():
            finding = _local(checked, value_class, time_limit)
            return Finding(finding.op, finding.kind, finding.hint, finding.form, names[slot],
                           finding.trouble)
    node = names[slot]
    got = yours.grads[slot]
    if isinstance(got, str):
        return Finding(BACKWARD, "gradient type",
                       f"{node}.grad is {got}, not a number.", node=node)
    if forms_checked:
        return Finding(BACKWARD, "order", _order_hint(p, slot, uses), node=node)
    # d out/d(slot) = sum over uses u of grad(user) * local(u): the shares
    local = [(j, local_derivatives(c.nodes[p.n_inputs + j])[q]) for j, q in uses]
    grads = [_ours(c.ours.grads[p.n_inputs + j]) for j, _ in uses]
    shares = [g * d for g, (_, d) in zip(grads, local)]
    users = [p.forms()[j] for j, _ in uses]

    everyone = range(len(uses))
    for chosen in _subsets(everyone, 1):  # some uses forgot the chain rule
        if all(grads[u] != 1.0 for u in chosen) and c.grad_close(
                slot, sum(local[u][1] if u in chosen else shares[u] for u in everyone)):
            form = users[chosen[-1]]
            return Finding(form.op, "chain rule", _chain_hint(form, node), form.key, node)
    for u in reversed(everyone):  # one use overwrote the shares sent before it
        others = [v for v in everyone if v != u]
        for kept in _subsets(others, 0, len(others) - 1):
            if c.grad_close(slot, shares[u] + sum(shares[v] for v in kept)):
                form = users[u]
                return Finding(form.op, "overwrite", _overwrite_hint(form, node, uses, p),
                               form.key, node)
    return Finding(BACKWARD, "order", _order_hint(p, slot, uses), node=node)


def _subsets(items: Sequence[int], smallest: int, largest: int | None = None,
             most_items: int = 6) -> Iterator[tuple[int, ...]]:
    """The subsets of `items` of `smallest` to `largest` elements, smallest first (none when
    there are more than `most_items`: too many to try, and no shrunk program has them)."""
    if len(items) > most_items:
        return
    for size in range(smallest, (len(items) if largest is None else largest) + 1):
        yield from itertools.combinations(items, size)


def _alone(c: Comparison, j: int) -> Program:
    """Step j on its own: a fresh input per operand (even where step j uses one node twice),
    at the values its operands have in the program."""
    step = c.program.steps[j]
    point = tuple(_ours(c.ours.data[i]) for i in step.operands)
    return Program(point, (Step(step.form, tuple(range(len(point))), step.const),))


def _local(c: Comparison, value_class: Any, time_limit: float) -> Finding:
    """What is wrong with one op run alone: it raises, or its value or derivative is off."""
    yours = c.yours
    p = c.program
    form = p.forms()[0]
    if yours.trouble is not None or yours.plain[-1] or c.data_differs(len(yours.data) - 1):
        return diagnose(c, value_class, time_limit)
    for i in range(p.n_inputs):
        got = yours.grads[i]
        if isinstance(got, str):
            return Finding(form.op, "gradient type", _type_hint(form, got), form.key)
    return Finding(form.op, "derivative", _derivative_hint(c, form), form.key)


# --- hints ---------------------------------------------------------------------------------


def called(form: Form) -> str:
    """A form as a hint names it: `a + 2 (__add__)`, `a.tanh()`."""
    return form.key if form.key == f"a.{form.method}()" else f"{form.key} ({form.method})"


def and_list(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _derivative_hint(c: Comparison, form: Form) -> str:
    p = c.program
    names = p.names()
    xs, k = p.point, p.steps[0].const
    yours = [c.yours.grads[i] for i in range(p.n_inputs)]
    ours = [_ours(c.ours.grads[i]) for i in range(p.n_inputs)]
    spelled = form.spell(names[: p.n_inputs], k)
    wrong = [i for i in range(p.n_inputs) if c.grad_differs(i)]
    parts = ", ".join(f"d/d{names[i]} {_show(yours[i])} where it should be {_show(ours[i])}"
                      for i in wrong)
    text = f"The local derivative of {spelled} is wrong: {parts}."
    slip = _known_slip(form, xs, k, c.yours.data[-1], [yours[i] for i in wrong], c, wrong)
    if slip:
        return f"{text} {slip}"
    if all(c.grad_close(i, -ours[i]) for i in wrong):
        return f"{text} The sign is flipped. The rule: {_rule(form)}."
    return f"{text} The rule: {_rule(form)}."


def _rule(form: Form) -> str:
    return FORM_DERIVATIVES.get(form.key) or DERIVATIVES[form.op]


def _known_slip(form: Form, xs: tuple[float, ...], k: float | None, out: Reading,
                yours: list[Reading], c: Comparison, wrong: list[int]) -> str | None:
    """A hint for the slips learners make most, recognised by the number they give."""
    if wrong != [0] or isinstance(out, str):
        return None
    x = xs[0]
    candidates: list[tuple[float, str]] = []
    if form.key == "a ** 2" and k is not None:
        candidates = [
            (k * x**k, f"That is n * x**n: the exponent must drop by one, "
                       f"d(x**n)/dx = n * x**(n - 1) ({k!r} * x**{k - 1!r} here)."),
            (x ** (k - 1.0), "The factor n is missing: d(x**n)/dx = n * x**(n - 1)."),
        ]
    elif form.op == "tanh":
        candidates = [(1.0 - out, "That is 1 - t; tanh's derivative is 1 - t**2 "
                                  "(t = tanh(x), the output's data)."),
                      (1.0 - x * x, "That is 1 - x**2 with x the input; tanh's derivative is "
                                    "1 - t**2 with t = tanh(x), the output's data.")]
    elif form.op == "sigmoid":
        candidates = [(x * (1.0 - x), "That is x * (1 - x) with x the input; sigmoid's "
                                      "derivative is s * (1 - s) with s the output's data.")]
    elif form.op == "exp":
        candidates = [(x, "That is x, the input; exp's derivative is exp(x), the output's "
                          "data.")]
    for value, hint in candidates:
        if math.isfinite(value) and c.grad_close(0, value):
            return hint
    return None


def _overwrite_hint(form: Form, node: str, uses: list[tuple[int, int]], p: Program) -> str:
    names = p.names()
    where = ", ".join(f"`{names[p.n_inputs + j]} = {_spelled(p, j)}`"
                      for j in dict.fromkeys(j for j, _ in uses))
    return (f"{called(form)} sets its operands' gradients with `=` where it must add "
            f"with `+=`: {node} is used {len(uses)} times ({where}), each use sends its share, "
            f"and only the last share survived. Chain rule: the shares add up, "
            f"`self.grad += ...`.")


def _spelled(p: Program, j: int) -> str:
    names = p.names()
    step = p.steps[j]
    return FORMS[step.form].spell([names[i] for i in step.operands], step.const)


def _chain_hint(form: Form, node: str) -> str:
    return (f"{called(form)} sends its local derivative alone into {node}.grad: "
            f"it must multiply it by the gradient that reached its output (the chain rule), "
            f"`self.grad += local * out.grad`.")


def _order_hint(p: Program, slot: int, uses: list[tuple[int, int]]) -> str:
    names = p.names()
    users = ", ".join(dict.fromkeys(names[p.n_inputs + j] for j, _ in uses))
    return (f"Every op is right on its own, yet {names[slot]}.grad is wrong: backward() ran the "
            f"step of {users} (which sends gradient into {names[slot]}) before {users} had "
            f"received all of its own gradient, or ran it more than once. A node used in two "
            f"places must wait for both. backward() should build a topological order (each "
            f"node after every node it is computed from, each node once) and call _backward() "
            f"in reverse of it.")


def _plain_hint(form: Form) -> str:
    return (f"{called(form)} returns a plain number, not a Value: the result is "
            f"not in the graph, so no gradient can flow back through it. Return a new Value "
            f"made from the operand(s), with a _backward that adds into their .grad.")


def _type_hint(form: Form, got: str) -> str:
    return (f"After {form.key} and backward(), an operand's .grad is {got}, not a number: its "
            f"_backward added a Value (or None) where it must add a number (`other.data`, "
            f"not `other`).")


def _trouble_hint(trouble: Trouble, op: str, what: str) -> str:
    where = f" (in {trouble.where})" if trouble.where else ""
    if trouble.kind == "timeout":
        tail = (" A loop that never ends: a topological sort that never marks a node visited, "
                "or a `while` whose condition never changes?")
    elif trouble.kind == "recursion":
        tail = (" A recursion that never stops: a topological sort that visits a node again "
                "and again, or a method that calls itself?")
    else:
        tail = ""
    return f"{what} {_failed_how(trouble)}{where}: {trouble.error}.{tail}"


def _failed_how(trouble: Trouble) -> str:
    return {"timeout": "did not finish", "recursion": "recursed without end"}.get(
        trouble.kind, "raised")


def _ours(x: Reading) -> float:
    """A reading of our own engine's run: always a number (a learner's may be a str)."""
    assert not isinstance(x, str), x
    return x


def _show(x: Reading) -> str:
    return x if isinstance(x, str) else f"{x:.6g}"
