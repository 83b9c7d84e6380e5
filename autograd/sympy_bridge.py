"""A recorded graph as a sympy expression: the formula behind a picture (needs `sympy`).

`to_sympy(root)` rebuilds the graph under `root` in sympy, one op-table entry at a time
(`formulas()`, keyed by op name), in terms of the graph's leaves:

- a variable leaf becomes a real sympy `Symbol`: its label made into a Python identifier
  (`layers.0.neurons.1.w.0` -> `layers_0_neurons_1_w_0`, `x1*w1` -> `x1_w1`), or `v1`, `v2`,
  ... for an unlabelled one, numbered in the order they appear reading the formula left to
  right; names are unique (a second leaf labelled `x` is `x_2`) and never a name sympy's parser
  gives a meaning (`E`, `I`, `pi`, `gamma`, `exp`, ... get a trailing `_`);
- a constant (`autograd.engine.is_constant`: the 2 in `2 * x`) stays its exact number: an
  integral float becomes a sympy `Integer`, any other float a sympy `Float` holding the very
  same double (53-bit precision, nothing rounded), or with `rational=True` the exact binary
  fraction as a `Rational` (0.5 -> 1/2, 0.1 -> 3602879701896397/36028797018963968). The
  exponent of `x ** k` follows the same rule;
- `relu` is `Max(0, x)`, `abs` is `Abs(x)`, `sigmoid` is `1/(1 + exp(-x))`, `sum` and `dot`
  are sums, `identity` is its operand. At a kink sympy's derivative is its own:
  `Heaviside(0) = 1/2` for relu where the engine (and PyTorch) take 0; `sign(0) = 0` for abs
  agrees;
- the loss primitives are their textbook formulas: `softplus` is `log(1 + exp(x))`,
  `bce(p, t)` is `-(t*log(p) + (1 - t)*log(1 - p))` (without the engine's clamp of each log at
  -100, PyTorch's, which only acts within 1e-43 of p = 0 or 1), `cross_entropy(x0, x1, ...)`
  is `log(exp(x0) + exp(x1) + ...) - x0`.

sympy simplifies as it builds (`x - x` is 0, `x * x` is `x**2`). A node made micrograd's way (a
`_backward` closure) or by `custom_op` has no formula: give one with `functions=`. A node with
several outputs and a backward of its own (`custom_vjp`, `fixed_point`) has none either.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable, Iterator, Mapping
from itertools import count
from typing import Any

from .engine import Value, is_constant, op_arg, rule
from .formula import Formula, evaluate

SYMPY_MISSING = "to_sympy needs sympy: pip install sympy (or this project's test extra)"


def _sympy() -> Any:
    try:
        import sympy
    except ImportError as exc:
        raise ImportError(SYMPY_MISSING) from exc
    return sympy


class _Unevaluated:
    """sympy's functions, applied unevaluated to a symbolic argument.

    Evaluating a function of a symbolic argument makes sympy ask questions about the argument
    (is it zero, real, finite?) that it answers by expanding it as a tree: on a graph whose
    nodes are shared, as a network's or a recurrence's are, that is exponential in the depth.
    Unevaluated, tanh(u) stays tanh(u) and differentiates the same; a number argument still
    gives a number (tanh(0) = 0)."""

    def __init__(self, sp: Any) -> None:
        self.sp = sp

    def __getattr__(self, name: str) -> Any:
        f = getattr(self.sp, name)
        if name in ("Add", "Mul", "Integer", "Rational", "Float", "Piecewise"):
            return f
        return lambda *xs: f(*xs) if all(getattr(x, "is_Number", False) for x in xs) else \
            f(*xs, evaluate=False)


def _form(op: Any, f: _Unevaluated) -> Callable[..., Any] | None:
    """The sympy form registered beside the op, as a function of sympy operands."""
    form = op.forms.get("sympy")
    if form is None:
        return None
    if isinstance(form, str):
        return getattr(f, form)
    return lambda *xs: form(f, *xs)


def _evaluate(formula: Any, bound: dict[str, Any], f: _Unevaluated, rational: bool) -> Any:
    """A formula (`autograd.formula`) as a sympy expression, its variables bound."""
    sp = f.sp
    binary = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: a / b, "**": lambda a, b: a**b, "<": sp.Lt, "<=": sp.Le,
              ">": sp.Gt, ">=": sp.Ge}

    def visit(node: Any, kids: list[Any]) -> Any:
        head = node.head
        if head == "var":
            return bound[node.args[0]]
        if head == "const":
            return _number(float(node.args[0]), rational, sp)
        if head == "neg":
            return -kids[0]
        if head == "abs":
            return f.Abs(kids[0])
        if head == "where":
            return sp.Piecewise((kids[1], kids[0]), (kids[2], True))
        if head in binary:
            return binary[head](*kids)
        form = _form(head, f)
        if form is None:
            raise _NoFormula(head)
        return form(*kids)

    return evaluate(formula, visit)


class _NoFormula(Exception):
    """An op applied in a formula has no sympy form (a custom op of floats only)."""


def formula_of(op: Any, count: int, sp: Any, rational: bool = False) -> Callable[..., Any]:
    """The op as a function of sympy operands (and its constant argument last, if it has
    one): the form registered beside it in the op table, else its forward rule run on
    formulas. Raises `_NoFormula` for an op of floats only."""
    f = _Unevaluated(sp)
    form = _form(op, f)
    if form is not None:
        return form
    names = [f"x{i}" for i in range(count)]

    def build(*operands: Any) -> Any:
        args, arg = (operands[:-1], float(operands[-1])) if op.has_arg else (operands, None)
        tree = op.formula(*(Formula.var(n) for n in names), arg=arg)
        return _evaluate(tree, dict(zip(names, args)), f, rational)

    return build


def to_sympy(
    root: Value,
    *,
    cse: bool = False,
    rational: bool = False,
    symbols: Mapping[Value, Any] | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """The graph under `root` as a sympy expression in its leaves (see the module docstring).

    With `cse=True`, returns `(replacements, expr)` in the form `sympy.cse` gives: each node
    of the graph that more than one op reads (a shared subexpression, as every hidden
    neuron's output is in a network) becomes a symbol `t1, t2, ...` (names no leaf has),
    defined in `replacements` as a list of `(symbol, expression)` pairs in terms of the leaves
    and the earlier symbols, in the order the graph computes them. A long chain of ops is also
    cut into pieces of a few dozen nodes, each a symbol, so that no expression is deep. The
    formula then stays the size of the graph, and building it takes time (and stack) linear in
    the graph, whatever its depth. Written out in full
    (`cse=False`), a deep graph with shared nodes (a recurrence) is exponentially long, and
    sympy slows down accordingly.

    `symbols` maps leaves to the sympy symbols (or names) to use for them; `leaf_symbols(root)`
    gives the full mapping. `functions` maps an op name to a sympy formula `f(*operands)`: for
    nodes made micrograd's way or by a custom op, or to override an entry of `formulas()`.

    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = (x * w + 1).tanh()
    >>> to_sympy(y)
    tanh(w*x + 1)
    >>> to_sympy(y * y + y, cse=True)
    ([(t1, tanh(w*x + 1))], t1**2 + t1)
    >>> import sympy
    >>> s = leaf_symbols(y)
    >>> sympy.diff(to_sympy(y), s[w]).subs({s[x]: 2, s[w]: -3}) == 2 * (1 - sympy.tanh(-5) ** 2)
    True
    """
    if not isinstance(root, Value):
        raise TypeError(f"to_sympy: expected a Value, got {type(root).__name__}")
    sp = _sympy()
    order, leaves = _postorder(root)
    named = _name_leaves(leaves, symbols, sp)
    shared = _shared_nodes(order) if cse else set()
    given = dict(functions or {})
    built: dict[int, Any] = {}
    size: dict[int, int] = {}  # the nodes each expression spells out (cse: bounded by _CHUNK)
    replacements: list[tuple[Any, Any]] = []
    # each replacement is named t1, t2, ... as it is made (a name no leaf has): renaming them
    # afterwards would rebuild, and re-evaluate, every definition
    fresh = _fresh_symbols("t", {s.name for s in named.values()}, sp)
    for node in order:
        if not node.parents and not rule(node).external:
            if is_constant(node):
                built[id(node)] = _number(node.data, rational, sp)
            else:
                built[id(node)] = named[id(node)]
            size[id(node)] = 1
            continue
        operands = [built[id(p)] for p in node.parents]
        formula = _formula(node, given, sp, rational)
        arg = op_arg(node)
        if arg is not None:  # an op with a constant argument (the 3 of x ** 3)
            operands.append(_number(arg, rational, sp))
        try:
            expr = sp.sympify(formula(*operands))
        except _NoFormula as exc:
            op = exc.args[0]
            why = ("a function of floats with no sympy form beside it in the op table (a "
                   "custom_op written with math rather than autograd.ops helpers?)")
            raise ValueError(_no_formula(node, why, op)) from None
        spelled = 1 + sum(size[id(p)] for p in node.parents) if cse else 0
        if cse and not expr.is_Atom and (id(node) in shared or spelled > _CHUNK):
            placeholder = next(fresh)
            replacements.append((placeholder, expr))
            expr, spelled = placeholder, 1
        built[id(node)] = expr
        size[id(node)] = spelled
    expr = built[id(root)]
    if not cse:
        return expr
    return _drop_unused(replacements, expr)


# With cse, an expression spells out at most this many graph nodes: beyond it, the node becomes
# a symbol of its own. sympy walks expressions recursively (and re-reads them as they grow), so
# a long chain written as one expression would cost time quadratic in its length and a Python
# frame per level; cut into pieces of bounded size, it costs time linear in the graph.
_CHUNK = 48


def _shared_nodes(order: list[Value]) -> set[int]:
    """The ids of the interior nodes that more than one operand slot reads (`a + a`: two)."""
    uses: dict[int, int] = {}
    for node in order:
        for p in node.parents:
            uses[id(p)] = uses.get(id(p), 0) + 1
    return {id(n) for n in order if n.parents and uses.get(id(n), 0) > 1}


def _drop_unused(
    replacements: list[tuple[Any, Any]], expr: Any
) -> tuple[list[tuple[Any, Any]], Any]:
    """Drop the replacements nothing reads any more (sympy may have simplified a use away,
    as in t - t); if any went, number the rest t1, t2, ... again."""
    needed = set(expr.free_symbols)
    kept = []
    for placeholder, definition in reversed(replacements):
        if placeholder in needed:
            kept.append((placeholder, definition))
            needed |= definition.free_symbols
    kept.reverse()
    if len(kept) == len(replacements):
        return replacements, expr
    # xreplace substitutes all at once: t3 -> t2 and t2 -> t1 never meet
    rename = {p: name for (p, _), (name, _) in zip(kept, replacements)}
    return [(rename[p], d.xreplace(rename)) for p, d in kept], expr.xreplace(rename)


def leaf_symbols(
    root: Value, symbols: Mapping[Value, Any] | None = None
) -> dict[Value, Any]:
    """The sympy symbol `to_sympy(root)` uses for each variable leaf under `root`.

    >>> x, unnamed = Value(1.0, label="x"), Value(2.0)
    >>> s = leaf_symbols(x * unnamed + 3)
    >>> s[x], s[unnamed]
    (x, v1)
    """
    if not isinstance(root, Value):
        raise TypeError(f"leaf_symbols: expected a Value, got {type(root).__name__}")
    _, leaves = _postorder(root)
    named = _name_leaves(leaves, symbols, _sympy())
    return {leaf: named[id(leaf)] for leaf in leaves}


def _no_formula(node: Value, why: str, op: Any = None) -> str:
    name = (op or rule(node)).name
    where = f"the node {node.label!r}" if node.label else "a node"
    return (f"to_sympy: {where} has the op {name!r}, {why}: it has no formula; give one with "
            f"to_sympy(..., functions={{{name!r}: lambda *operands: ...}})")


def _formula(node: Value, given: dict, sp: Any, rational: bool) -> Callable[..., Any]:
    op = rule(node)
    name = op.name
    if op.vjp or op.output:
        where = f"the node {node.label!r}" if node.label else "a node"
        raise ValueError(
            f"to_sympy: {where} has the op {name!r}, a node with several outputs and a backward "
            f"of its own (custom_vjp, fixed_point): it has no formula"
        )
    if name in given:
        return given[name]
    if op.external:
        raise ValueError(_no_formula(node, "made micrograd's way (a _backward closure)"))
    return formula_of(op, len(node.parents), sp, rational)


def _postorder(root: Value) -> tuple[list[Value], list[Value]]:
    """Every node under `root`, each after its operands (iterative: deep graphs are fine), and
    the variable leaves in the order they appear reading the formula left to right."""
    order: list[Value] = []
    leaves: list[Value] = []
    seen = {id(root)}
    stack: list[tuple[Value, Iterator[Value]]] = [(root, iter(root.parents))]
    while stack:
        node, rest = stack[-1]
        for p in rest:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append((p, iter(p.parents)))
                break
        else:
            stack.pop()
            order.append(node)
            if not node.parents and not is_constant(node) and not rule(node).external:
                leaves.append(node)
    return order, leaves


def _name_leaves(leaves: list[Value], given: Mapping[Value, Any] | None, sp: Any) -> dict:
    named: dict[int, Any] = {}
    taken: set[str] = set()
    for leaf, sym in (given or {}).items():
        if not isinstance(leaf, Value):
            raise TypeError(
                f"to_sympy(symbols=...): keys must be Values, got {type(leaf).__name__}"
            )
        if isinstance(sym, str):
            sym = sp.Symbol(sym, real=True)
        if not isinstance(sym, sp.Symbol):
            raise TypeError(
                f"to_sympy(symbols=...): values must be sympy Symbols or names, got "
                f"{type(sym).__name__} {sym!r:.40}"
            )
        named[id(leaf)] = sym
        taken.add(sym.name)
    for leaf in leaves:  # labelled leaves first: their names are the ones a reader expects
        if id(leaf) not in named and leaf.label:
            name = _unique(identifier(leaf.label), taken)
            named[id(leaf)] = sp.Symbol(name, real=True)
    fresh = _fresh_symbols("v", taken, sp)
    for leaf in leaves:
        if id(leaf) not in named:
            named[id(leaf)] = next(fresh)
    return named


def identifier(label: str) -> str:
    """`label` as a symbol name: a Python identifier that sympy's parser reads as a symbol.

    >>> identifier("layers.0.neurons.1.w.0"), identifier("x1*w1"), identifier("E"), identifier("2")
    ('layers_0_neurons_1_w_0', 'x1_w1', 'E_', '_2')
    """
    # Every run of characters that cannot be in an identifier becomes one "_".
    name = "_".join("".join(c if ("a" + c).isidentifier() else " " for c in label).split())
    name = name or "_"
    if name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name) or _sympy_meaning(name):
        name += "_"
    return name


def _sympy_meaning(name: str) -> bool:
    """Whether sympy's parser would read `name` as something other than a new symbol."""
    import sympy

    return hasattr(sympy, name)  # E, I, S, N, O, Q, pi, oo, nan, gamma, exp, ...


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    taken.add(candidate)
    return candidate


def _fresh_symbols(prefix: str, taken: set[str], sp: Any) -> Iterator[Any]:
    for i in count(1):
        name = f"{prefix}{i}"
        if name not in taken:
            taken.add(name)
            yield sp.Symbol(name, real=True)


def _number(x: float, rational: bool, sp: Any) -> Any:
    """A float as an exact sympy number (see the module docstring)."""
    if isinstance(x, int):
        return sp.Integer(x)
    if math.isnan(x):
        return sp.nan
    if math.isinf(x):
        return sp.oo if x > 0 else -sp.oo
    if x.is_integer():
        return sp.Integer(int(x))
    return sp.Rational(x) if rational else sp.Float(x)


__all__ = ["formula_of", "identifier", "leaf_symbols", "to_sympy"]
