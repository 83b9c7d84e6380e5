"""`Formula`: a number known by how it is computed.

Run an op's forward rule or derivative rule (`autograd.ops`) on formulas instead of floats and
it returns the computation itself, a small tree over a closed set of heads: operators, the
comparisons, `where` (a choice made per number), and the application of an op-table entry whose
forward is a plain-number function (`tanh`, `log`, ...). Every other form of an op is read off
that tree by one interpreter each, with no per-op code: the replay's Python source and the
text of an explanation (`Printer` below), the NumPy batch plan, a sympy expression.

A rule that branches on its numbers with Python's `if` (`0.0 if value(x) == 0 else ...`) has no
formula: `bool(formula)` raises `NotFormula`, and the op registers what the rule cannot give
next to itself in the op table (`Op.forms`).

>>> from autograd import ops
>>> x, y = Formula.var("x"), Formula.var("y")
>>> print(ops.TANH.derivatives[0](x, y))
1.0 - y * y
>>> print(ops.RELU.forward(x))
0.0 if x <= 0 else x
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class NotFormula(TypeError):
    """A rule that cannot run on formulas (it branches on a number, or calls a function of
    floats only, such as `math.erf`)."""


_CMP = {"<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


class Formula:
    """A node of a formula: `head` and `args`.

    Heads: "var" (args: the name), "const" (the number), "+ - * / **" (two operands), "neg",
    "abs", "< <= > >=" (two operands, a truth value), "where" (condition, then, else), or an
    `Op` (that entry applied to its operands, and its constant argument last if it has one).
    """

    __slots__ = ("head", "args")

    def __init__(self, head: Any, args: tuple) -> None:
        self.head = head
        self.args = args

    @staticmethod
    def var(name: str) -> Formula:
        return Formula("var", (name,))

    @staticmethod
    def const(x: float) -> Formula:
        return Formula("const", (x,))

    def __bool__(self) -> bool:
        raise NotFormula("a rule that branches on a number (if, and, or, min, max) has no "
                         "formula")

    def __float__(self) -> float:
        raise NotFormula("a rule that needs a plain number has no formula")

    __index__ = __int__ = __float__

    def __repr__(self) -> str:
        return f"Formula({Printer().text(self)!r})"

    def __str__(self) -> str:
        return Printer().text(self)

    # -- arithmetic: the same operations a float would do, in the same order -----------------

    def __add__(self, other: Any) -> Formula:
        return _binary("+", self, other)

    def __radd__(self, other: Any) -> Formula:
        return _binary("+", other, self)

    def __sub__(self, other: Any) -> Formula:
        return _binary("-", self, other)

    def __rsub__(self, other: Any) -> Formula:
        return _binary("-", other, self)

    def __mul__(self, other: Any) -> Formula:
        return _binary("*", self, other)

    def __rmul__(self, other: Any) -> Formula:
        return _binary("*", other, self)

    def __truediv__(self, other: Any) -> Formula:
        return _binary("/", self, other)

    def __rtruediv__(self, other: Any) -> Formula:
        return _binary("/", other, self)

    def __pow__(self, other: Any) -> Formula:
        return _binary("**", self, other)

    def __rpow__(self, other: Any) -> Formula:
        return _binary("**", other, self)

    def __neg__(self) -> Formula:
        if self.head == "neg":  # -(-x) is x, to the bit
            return self.args[0]
        return Formula("neg", (self,))

    def __pos__(self) -> Formula:
        return self

    def __abs__(self) -> Formula:
        return Formula("abs", (self,))

    def __lt__(self, other: Any) -> Formula:
        return Formula("<", (self, lift(other)))

    def __le__(self, other: Any) -> Formula:
        return Formula("<=", (self, lift(other)))

    def __gt__(self, other: Any) -> Formula:
        return Formula(">", (self, lift(other)))

    def __ge__(self, other: Any) -> Formula:
        return Formula(">=", (self, lift(other)))

    __hash__ = object.__hash__


def lift(x: Any) -> Formula:
    """A number as a constant formula; a formula as itself."""
    if isinstance(x, Formula):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Formula("const", (x,))
    raise NotFormula(f"a formula cannot hold {type(x).__name__}")


def _number(f: Formula) -> Any:
    return f.args[0] if f.head == "const" else None


def _binary(head: str, a: Any, b: Any) -> Formula:
    a, b = lift(a), lift(b)
    x, y = _number(a), _number(b)
    # Only the rewrites that are exact for every float, -0.0, inf and nan included.
    if head == "*":
        if x == 1.0 and type(x) is float:
            return b
        if y == 1.0 and type(y) is float:
            return a
        if x == -1.0 and type(x) is float:
            return -b
        if y == -1.0 and type(y) is float:
            return -a
    elif head == "+":
        if x == 0.0 and type(x) is float and str(x) == "-0.0":
            return b
        if y == 0.0 and type(y) is float and str(y) == "-0.0":
            return a
    elif head == "-" and y == 0.0 and type(y) is float and str(y) == "0.0":
        return a
    elif head == "**" and y == 1.0 and type(y) is float:
        return a
    elif head == "**" and y == 0.0 and type(y) is float:
        return Formula("const", (1.0,))  # x ** 0.0 is 1.0 for every float, nan included
    if x is not None and y is not None and head in _FOLDS:
        try:  # two numbers: the float the operation gives, as it would give it at run time
            return Formula("const", (_FOLDS[head](x, y),))
        except ArithmeticError:
            pass
    return Formula(head, (a, b))


_FOLDS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b}


def where(condition: Any, then: Any, otherwise: Any) -> Any:
    """`then` where `condition` holds, else `otherwise`: a plain choice on numbers (both are
    computed, so both must exist), a "where" node on formulas."""
    if isinstance(condition, Formula):
        return Formula("where", (condition, lift(then), lift(otherwise)))
    return then if condition else otherwise


def apply(op: Any, *operands: Any) -> Formula:
    """The op-table entry `op` applied to formulas (its forward being a function of floats)."""
    return Formula(op, tuple(lift(x) if not isinstance(x, Formula) else x for x in operands))


def placeholders(names: Sequence[str]) -> list[Formula]:
    return [Formula.var(n) for n in names]


# --- walking a formula without recursion (a sum over thousands of terms is thousands deep) ------


def evaluate(root: Formula, visit: Callable[[Formula, list[Any]], Any]) -> Any:
    """`visit(node, [values of its operands])` over the formula, operands first; each shared
    node once. Iterative, so depth is no limit."""
    done: dict[int, Any] = {}
    stack: list[tuple[Formula, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        kids = [a for a in node.args if isinstance(a, Formula)] if _has_operands(node) else []
        if ready or not kids:
            done[id(node)] = visit(node, [done[id(a)] for a in kids])
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in reversed(kids) if id(a) not in done)
    return done[id(root)]


def _has_operands(node: Formula) -> bool:
    return node.head not in ("var", "const")


def variables(root: Formula) -> list[str]:
    """The names of the variables a formula reads, in order of first appearance."""
    names: list[str] = []
    evaluate(root, lambda node, _: names.append(node.args[0]) if node.head == "var" else None)
    return list(dict.fromkeys(names))


def can_fail(f: Formula) -> bool:
    """Whether evaluating the formula on floats may raise: a division (by no nonzero
    constant), a power or a function of floats. The engine's backward raises where such a
    local derivative does not exist, so a replay evaluates it even where no gradient needs it."""
    found = []

    def risky(node: Formula, _: list) -> None:
        if node.head == "/":
            divisor = node.args[1]
            found.append(divisor.head != "const" or divisor.args[0] == 0)
        else:
            found.append(node.head == "**" or not isinstance(node.head, str))

    evaluate(f, risky)
    return any(found)


# --- printing: one printer, spelled for Python floats, NumPy arrays or a reader ------------------

# binding strength, as Python parses: a higher number binds tighter
_STRENGTH = {"where": 0, "<": 1, "<=": 1, ">": 1, ">=": 1, "+": 2, "-": 2, "*": 3, "/": 3,
             "neg": 4, "**": 5, "atom": 6}


class Printer:
    """Formulas as source text. The default spelling is Python on floats, for a reader.

    Subclasses (or arguments) decide how constants, variables, `abs`, `where`, powers and an
    applied op are spelled; the operators and their parentheses are shared. `text(f)` returns
    the expression; `terms(f)` splits a top-level sum into its terms, left to right.
    """

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.names = names or {}

    # spellings -------------------------------------------------------------------------

    def constant(self, x: float) -> str:
        return repr(x)

    def variable(self, name: str) -> str:
        return self.names.get(name, name)

    def absolute(self, x: str) -> str:
        return f"abs({x})"

    def choice(self, condition: str, then: str, otherwise: str) -> str:
        return f"{then} if {condition} else {otherwise}"

    def power(self, a: str, b: str, node: Formula) -> tuple[str, str]:
        return f"{a} ** {b}", "**"

    def applied(self, op: Any, args: list[str]) -> str:
        return f"{op.name}({', '.join(args)})"

    # the shared part -------------------------------------------------------------------

    def text(self, f: Formula) -> str:
        return evaluate(f, self._visit)[0]

    def terms(self, f: Formula) -> list[str]:
        """The terms of a top-level left-to-right sum (one term if it is no sum)."""
        spine = []
        while f.head == "+":
            spine.append(f.args[1])
            f = f.args[0]
        spine.append(f)
        return [self._operand(t, "+", left=True) for t in reversed(spine)] if len(spine) > 1 \
            else [self.text(f)]

    def _operand(self, f: Formula, head: str, left: bool) -> str:
        text, strength = evaluate(f, self._visit)
        return text if _binds(strength, head, left) else f"({text})"

    def _visit(self, node: Formula, kids: list[tuple[str, str]]) -> tuple[str, str]:
        head = node.head
        if head == "const":
            text = self.constant(node.args[0])
            return text, "neg" if text.startswith("-") else "atom"
        if head == "var":
            return self.variable(node.args[0]), "atom"
        if head == "neg":
            (x, s), = kids
            return f"-{x if _STRENGTH[s] >= _STRENGTH['neg'] else f'({x})'}", "neg"
        if head == "abs":
            return self.absolute(kids[0][0]), "atom"
        if head == "where":
            (c, _), (t, ts), (e, es) = kids
            wrap = [x if _STRENGTH[s] > 0 else f"({x})" for x, s in ((c, "<"), (t, ts), (e, es))]
            return self.choice(*wrap), "where"
        if head in _STRENGTH:  # a binary operator or a comparison
            (a, sa), (b, sb) = kids
            a = a if _binds(sa, head, left=True) else f"({a})"
            b = b if _binds(sb, head, left=False) else f"({b})"
            if head == "**":
                return self.power(a, b, node)
            return f"{a} {head} {b}", head
        return self.applied(head, [k[0] for k in kids]), "atom"


def _binds(strength: str, head: str, left: bool) -> bool:
    """Whether an operand of that strength needs no parentheses at that side of `head`."""
    inner, outer = _STRENGTH[strength], _STRENGTH[head]
    if head == "**":  # right-associative, and -x ** 2 is -(x ** 2)
        return inner > outer if left else inner >= _STRENGTH["neg"]
    if inner != outer:
        return inner > outer
    return left and head not in ("<", "<=", ">", ">=")
