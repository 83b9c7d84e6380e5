"""A safe reader for expressions such as `tanh(x*w1 + y*w2 + b)`: never evaluated as Python.

The text is checked for size and nesting before Python's parser sees it (the parser itself
fails with MemoryError or RecursionError on some deep inputs), parsed with `ast`, and every node
of the tree is checked against a whitelist: numbers, the variables the caller names, the
functions below and the operators `+ - * / **`. The tree is then walked, without recursion,
to build the graph of `Value`s. Every refusal is an `ExpressionError` with a one-line message.
"""

from __future__ import annotations

import ast
import io
import math
import tokenize
import warnings
from collections.abc import Iterable, Mapping

from ..engine import Value
from ..ops import UNARY as UNARY_OPS

MAX_LENGTH = 10_000
MAX_DEPTH = 100  # brackets inside brackets
MAX_CHAIN = 300  # operators inside operators: keeps Python's parser far from its own limits
FUNCTIONS = (*UNARY_OPS, "abs")  # the op table's unary methods, and abs()
CALLABLE = ", ".join(FUNCTIONS)
CONSTANTS = {"pi": math.pi, "e": math.e}
BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
UNARY = {ast.USub: "-", ast.UAdd: "+"}
REFUSED = {  # what a user most likely meant, for the node kinds people try
    ast.Attribute: "attribute access (.name) is not allowed",
    ast.Subscript: "subscripts ([...]) are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "and/or are not allowed",
    ast.IfExp: "if/else is not allowed",
    ast.JoinedStr: "string literals are not allowed",
    ast.NamedExpr: ":= is not allowed",
}


class ExpressionError(ValueError):
    """The text is not an expression we accept; the message is one line and says why."""


def check_text(text: str) -> None:
    """The limits checked on the raw text, before any parser runs."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is {len(text):,} characters long (at most {MAX_LENGTH:,})"
        )
    if not text.strip():
        raise ExpressionError("expression is empty")
    if "\x00" in text:
        raise ExpressionError("expression contains a NUL character")
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(f"expression nests brackets deeper than {MAX_DEPTH}")
        elif ch in ")]}":
            depth -= 1
    _check_operator_chains(text)


def _check_operator_chains(text: str) -> None:
    # Each operator may add a level to the syntax tree; a bracket group adds its operators to
    # those of the groups around it. Counting tokens needs no recursion, whatever the input.
    levels = [0]
    worst = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type != tokenize.OP:
                continue
            if tok.string in "([{":
                levels.append(levels[-1])
            elif tok.string in ")]}" and len(levels) > 1:
                levels.pop()
            elif tok.string in ("+", "-", "*", "/", "**", "~"):
                levels[-1] += 1
                worst = max(worst, levels[-1])
    except (tokenize.TokenError, SyntaxError):
        pass  # malformed: ast.parse reports it, once the chains counted so far pass the limit
    if worst > MAX_CHAIN:
        raise ExpressionError(
            f"expression nests more than {MAX_CHAIN} operators inside one another; shorten it"
        )


def parse(text: str, variables: Iterable[str]) -> ast.Expression:
    """Parse and check `text`; `variables` are the names it may use besides the functions."""
    check_text(text)
    try:
        with warnings.catch_warnings():
            # Python warns on stderr about some near-misses ("0not"): make them errors instead
            warnings.simplefilter("error")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" (column {exc.offset})" if exc.offset else ""
        raise ExpressionError(f"not a valid expression: {exc.msg}{where}") from None
    except (ValueError, MemoryError, RecursionError, OverflowError, Warning) as exc:
        why = f"{type(exc).__name__} {exc}".strip()
        raise ExpressionError(f"not a valid expression: {why}") from None
    allowed = set(variables)
    stack: list[ast.AST] = [tree.body]
    while stack:  # an explicit stack: no recursion, whatever the depth
        node = stack.pop()
        _check_node(node, allowed)
        stack.extend(_children(node))
    return tree


def _check_node(node: ast.AST, variables: set[str]) -> None:
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        if type(node.op) not in BINARY and type(node.op) not in UNARY:
            raise ExpressionError(
                f"operator {type(node.op).__name__} is not allowed (use + - * / ** and unary -)"
            )
        return
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (str, bytes)):
            raise ExpressionError("string literals are not allowed")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"{value!r} is not allowed: only real numbers")
        try:
            number = float(value)
        except OverflowError:
            raise ExpressionError("a number in the expression is too large for a float") from None
        if not math.isfinite(number):
            raise ExpressionError(f"number {number} is not finite")
        return
    if isinstance(node, ast.Name):
        if node.id in variables or node.id in CONSTANTS:
            return
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, as in {node.id}(x)")
        raise ExpressionError(
            f"unknown variable {node.id!r}: give it a value with --at {node.id}=..."
        )
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            why = REFUSED.get(type(node.func), f"only {CALLABLE} may be called")
            raise ExpressionError(why)
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {name!r}: only {CALLABLE} may be called"
            )
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            raise ExpressionError(f"{name}() takes exactly one argument")
        return
    raise ExpressionError(REFUSED.get(type(node), f"{type(node).__name__} is not allowed"))


def evaluate(tree: ast.Expression, values: Mapping[str, Value]) -> Value:
    """Build the graph of a checked tree, post-order on an explicit stack."""
    results: dict[int, Value | float] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, ready = stack.pop()
        kids = _children(node)
        if not ready and kids:
            stack.append((node, True))
            # pushed last first: the left operand is built first, as Python evaluates it, so
            # the views number intermediate results in the order the expression reads
            stack.extend((kid, False) for kid in reversed(kids))
            continue
        results[id(node)] = _apply(node, [results.pop(id(kid)) for kid in kids], values)
    out = results[id(tree.body)]
    return out if isinstance(out, Value) else Value(out)


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return [node.args[0]]
    return []


def _apply(node: ast.AST, args: list, values: Mapping[str, Value]) -> Value | float:
    """One step of the expression. A step on numbers alone gives a number (`2*3` is 6, as in
    Python): the graph holds the variables and what is computed from them, and a number then
    enters it as a constant, the way the engine lifts the 2 in `2 * x`. The engine still does
    the arithmetic, so a number's errors (`log(0)`, `1/0`) are the engine's. The tree is checked
    (`_check_node`): the asserts restate what it let through."""
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, (int, float))
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id] if node.id in values else CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp):
        return -args[0] if isinstance(node.op, ast.USub) else args[0]
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        x = args[0] if isinstance(args[0], Value) else Value(args[0])
        y = abs(x) if node.func.id == "abs" else getattr(x, node.func.id)()
        return y if isinstance(args[0], Value) else y.data
    assert isinstance(node, ast.BinOp)
    a, b = args
    numbers = not isinstance(a, Value) and not isinstance(b, Value)
    if numbers:
        a = Value(a)
    op = BINARY[type(node.op)]
    if op == "+":
        y = a + b
    elif op == "-":
        y = a - b
    elif op == "*":
        y = a * b
    elif op == "/":
        y = a / b
    else:
        y = a**b
    return y.data if numbers else y


def build(text: str, at: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """The graph of `text` with the variables set to `at`: (result, {name: leaf Value}).

    >>> out, leaves = build("tanh(x * w)", {"x": 2.0, "w": 0.5})
    >>> round(out.data, 4), sorted(leaves)
    (0.7616, ['w', 'x'])
    """
    tree = parse(text, at)
    leaves = {name: Value(float(v), label=name) for name, v in at.items()}
    return evaluate(tree, leaves), leaves
