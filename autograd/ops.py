"""The op table: every primitive, declared once.

Each entry holds the forward rule and, beside it, one local derivative per operand, written
with ordinary operators and the polymorphic helpers below. The same functions run on floats
(the engine's forward and its fast first-order pass), on `Value`s (which records the derivative
itself as a graph, giving every higher order) and on `Formula`s (which gives the rule as a
formula: the replay's generated Python, the NumPy batch plan, the text of an explanation and
the sympy expression are all read off it). What a rule cannot say as a formula (the array or
sympy spelling of a function of floats such as `tanh`, a rule that branches on a number) is
registered beside the op in `Op.forms`. This module knows nothing about how graphs are recorded
or walked; `engine.py` does that.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from numbers import Real
from operator import add, mul
from typing import Any

from .formula import Formula, NotFormula, where
from .formula import apply as _applied

# --- polymorphic helpers: math on a float, a recorded op on a Value, a node on a Formula ------


def cos(x: Any) -> Any:
    """cos of a float, or the recorded cos of a Value."""
    return math.cos(x) if isinstance(x, float) else x.cos()


def sin(x: Any) -> Any:
    """sin of a float, or the recorded sin of a Value."""
    return math.sin(x) if isinstance(x, float) else x.sin()


def log(x: Any) -> Any:
    """log of a float (an error naming log outside x > 0), or the recorded log of a Value."""
    return _log(x) if isinstance(x, float) else x.log()


def exp(x: Any) -> Any:
    """exp of a float (an error naming exp on overflow), or the recorded exp of a Value."""
    return _exp(x) if isinstance(x, float) else x.exp()


def sqrt(x: Any) -> Any:
    """sqrt of a float (an error naming sqrt below 0), or the recorded sqrt of a Value."""
    return _sqrt(x) if isinstance(x, float) else x.sqrt()


def tanh(x: Any) -> Any:
    """tanh of a float, or the recorded tanh of a Value."""
    return math.tanh(x) if isinstance(x, float) else x.tanh()


def sigmoid(x: Any) -> Any:
    """The logistic sigmoid of a float (stable for large |x|), or the recorded one of a Value."""
    return _sigmoid(x) if isinstance(x, float) else x.sigmoid()


def relu(x: Any) -> Any:
    """max(0, x) of a float (nan passes on, as in PyTorch), or the recorded relu of a Value."""
    return (0.0 if x <= 0 else x) if isinstance(x, float) else x.relu()


def softplus(x: Any) -> Any:
    """log(1 + exp(x)) of a float (without overflow), or the recorded softplus of a Value."""
    return _softplus(x) if isinstance(x, float) else x.softplus()


def value(x: Any) -> float:
    """The number in a float or in a Value (for rules that branch on it; such a rule has no
    formula, so its op registers the forms it cannot give)."""
    if isinstance(x, Formula):
        raise NotFormula("a rule that reads a number has no formula")
    return x if isinstance(x, (float, int)) else x.data


def step(x: Any) -> Any:
    """relu's derivative, 0 at the kink as in PyTorch (and 1 at nan, where relu passes nan on,
    as PyTorch does); a constant, so its derivative is 0."""
    return where(x <= 0, 0.0, 1.0)


def sign(x: Any) -> Any:
    """abs's derivative: PyTorch's choice, 0 at the kink (and at nan)."""
    return where(x > 0, 1.0, where(x < 0, -1.0, 0.0))


def fmt(x: float) -> str:
    """A number as error messages and reprs show it: short, and never a rounded number that
    reads as a rounder one. To 4 decimals from 1 up, 4 significant digits below 1 and from 1e6
    (0.7071, 6.8814, 0.0001235, 1.235e+06) when that text ends in a non-zero digit; an exact
    number as Python writes it (2.0, 0.5, 1e-07); and in full when rounding would end in zeros,
    so a shown 1.0 is one and 0.9999999999999996 is not shown as it. A Value shows its data.

    >>> fmt(0.7071067811865476), fmt(2.0), fmt(0.9999999999999996), fmt(0.99999), fmt(1.00001)
    ('0.7071', '2.0', '0.9999999999999996', '0.99999', '1.00001')
    """
    if not isinstance(x, (float, int)):
        x = value(x)
    if x == 0 or not math.isfinite(x):
        return repr(x)
    rounded = f"{x:.4f}" if 1 <= abs(x) < 1e6 else f"{x:#.4g}"  # '#': trailing zeros kept
    shown = float(rounded)  # inf when a number near the largest float rounds up
    if shown != x and math.isfinite(shown) and not rounded.partition("e")[0].endswith("0"):
        return rounded
    return repr(float(x))


# --- forward rules on floats, with errors that name the op and its operands ---------------------


def _domain_error(op: str, x: float, where: str) -> ValueError:
    return ValueError(f"{op}({fmt(x)}): input is outside the domain ({where})")


def _log(x: float) -> float:
    if x > 0:
        return math.log(x)
    raise _domain_error("log", x, "log needs x > 0")


def _sqrt(x: float) -> float:
    if x >= 0:
        return math.sqrt(x)
    raise _domain_error("sqrt", x, "sqrt needs x >= 0")


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp({fmt(x)}): result too large for a float (x > 709.78)") from None


def _finite(name: str, f: Callable[[float], float]) -> Callable[[float], float]:
    def forward(x: float) -> float:
        if math.isinf(x):
            raise _domain_error(name, x, f"{name} needs a finite x")
        return f(x)

    return forward


def _sigmoid(x: float) -> float:
    # Two branches so exp never sees a large positive argument: stable at +-1000.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        raise ZeroDivisionError(f"/: division by zero in {fmt(a)} / {fmt(b)}") from None


def power(a: float, b: float) -> float:
    """a ** b (floats or Values), with Python's error kinds and messages that name the operands."""
    try:
        y = a**b
    except ZeroDivisionError:
        raise ZeroDivisionError(f"**: {fmt(a)} ** {fmt(b)} divides by zero") from None
    except OverflowError:
        raise OverflowError(f"**: {fmt(a)} ** {fmt(b)} is too large for a float") from None
    if isinstance(y, complex):
        raise ValueError(f"**: {fmt(a)} ** {fmt(b)} is not a real number (negative base)")
    return y


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive.

    `forward` maps the operands' floats to the result. `derivatives` has one function per
    operand, called as `d(*operands, out)` (and `d(*operands, out, arg)` for ops with a constant
    argument): it returns d out / d operand, on floats or on Values alike. An n-ary op (arity 0)
    has a single `derivatives[0](operands, out)` that returns the whole list.
    `domain` says where the op is well-conditioned: test strategies keep their points there.
    """

    name: str
    arity: int
    forward: Callable[..., float]
    derivatives: tuple[Callable[..., Any], ...]
    domain: Callable[..., bool] = field(default=lambda *xs: True)
    # A constant argument besides the operands (the k of x ** k, the target class of
    # cross_entropy), passed last; `args(n)` lists the ones tests draw for n operands.
    has_arg: bool = False
    args: Callable[[int], Sequence[Any]] | None = None
    symbol: str = ""  # infix spelling, for text views and the command line
    # Optional plain-number shortcut for a unary op that never raises: x -> (out, d out/dx) in
    # one call, for recording the hot activations. Must agree with `forward` and
    # `derivatives` (tests/core/test_ops_fast.py checks it).
    fast: Callable[[float], tuple[float, float]] | None = None
    # n-ary ops only: the operands are (x0..xn-1, w0..wn-1), replacing the chain
    # x0*w0 + x1*w1 + ...; backward visits them as that chain is visited (last pair first,
    # x before w), so repeated operands sum their contributions in the same order, to the bit.
    pairwise: bool = False
    # A node made micrograd's way (the constructor with children, and a `_backward` closure):
    # its local derivatives come from asking the closure, at first order only.
    external: bool = False
    # A node with several outputs whose backward is a function of all their gradients at
    # once (a vector-Jacobian product): `autograd.custom_vjp`, `autograd.fixed_point`.
    vjp: bool = False
    output: bool = False  # the small node in front of each output of a `vjp` node
    custom: bool = False  # made by `autograd.custom_op`
    # What the rules cannot give as formulas, by interpretation (see the module docstring):
    #   "numpy": the forward for arrays, a format string over the operands ({0}, {1});
    #   "sympy": the forward for sympy, a function of (the sympy module, *operands);
    #   "derivatives": derivative rules that run on formulas, where the op's own rules branch
    #       on a number (valid wherever the op is smooth, the edges being left to the floats);
    #   "numpy derivatives": format strings over the operands ({0}, {1}), the output ({y}),
    #       for arrays, where even those are not exact enough;
    #   "batch": how an n-ary op runs over a whole layer of nodes ("sum", "dot", or a function
    #       of the operands stacked on the last axis returning (output, local derivatives)).
    forms: dict[str, Any] = field(default_factory=dict)
    # The forward as written (a custom op's `forward` checks what the user's function returns;
    # the formula interpretations run the user's function itself).
    rule: Callable[..., Any] | None = None

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def formula(self, *operands: Formula, arg: Any = None) -> Formula:
        """The forward rule run on formulas, or the op applied (a function of floats only)."""
        extra = (arg,) if self.has_arg else ()
        try:
            out = (self.rule or self.forward)(*operands, *extra) if self.arity else \
                (self.rule or self.forward)(list(operands), *extra)
        except (NotFormula, TypeError, ValueError, ArithmeticError):
            return _applied(self, *operands, *extra)
        if isinstance(out, Formula):
            return out
        return _applied(self, *operands, *extra)

    def derivative_formulas(self, operands: list[Formula], out: Formula, arg: Any = None,
                            exact: bool = False) -> list[Formula] | None:
        """The local derivatives as formulas, or None where no rule runs on formulas. `exact`:
        the op's own rules only (the floats they give, at every point); else, where those
        branch on a number, the smooth ones registered beside the op."""
        extra = (arg,) if self.has_arg else ()
        rules = self.derivatives if exact else self.forms.get("derivatives", self.derivatives)
        try:
            if self.arity == 0:
                found = list(rules[0](operands, out, *extra))
            else:
                found = [d(*operands, out, *extra) for d in rules]
        except (NotFormula, TypeError, ArithmeticError, ValueError):
            return None
        return [d if isinstance(d, Formula) else Formula.const(d) for d in found]


_EXTERNAL: dict[str, Op] = {}


def external(name: str) -> Op:
    """The op of nodes made micrograd's way, `Value(data, (a, b), name)`: one per name."""
    op = _EXTERNAL.get(name)
    if op is None:
        symbol = name if name in ("+", "-", "*", "/", "**") else ""
        op = _EXTERNAL.setdefault(name, Op(name, 0, _no_forward, (), symbol=symbol, external=True))
    return op


def _no_forward(*xs: float) -> float:
    raise TypeError("an op defined by a _backward closure has no forward rule in the op table")


if sys.version_info < (3, 12):
    # sum() adds floats left to right, exactly as the chain x0*w0 + x1*w1 + ... it replaces;
    # starting from -0.0 keeps a lone -0.0 as the chain would.
    def _fold(xs: Iterable[float]) -> float:
        return sum(xs, -0.0)
else:
    # From 3.12, sum() of floats compensates its rounding; a left fold matches the chain.
    def _fold(xs: Iterable[float]) -> float:
        return reduce(add, xs)


def _dot(xs: Sequence[float], ws: Sequence[float]) -> float:
    return _fold(map(mul, xs, ws)) if xs else 0.0


def _sum(xs: Sequence[float]) -> float:
    return _fold(xs) if xs else 0.0


def _far_from(*points: float, margin: float = 1e-2) -> Callable[[float], bool]:
    return lambda x: all(abs(x - p) > margin for p in points)


LEAF = Op("", 0, lambda: 0.0, ())
# A number lifted into the graph by an operator (the 2 in `2 * x`): a leaf, but not a variable.
CONST = Op("", 0, lambda: 0.0, ())
IDENTITY = Op("identity", 1, lambda x: x, (lambda x, y: 1.0,))

ADD = Op("+", 2, add, (lambda a, b, y: 1.0, lambda a, b, y: 1.0), symbol="+")
SUB = Op("-", 2, lambda a, b: a - b, (lambda a, b, y: 1.0, lambda a, b, y: -1.0), symbol="-")
MUL = Op("*", 2, mul, (lambda a, b, y: b, lambda a, b, y: a), symbol="*")
DIV = Op(
    "/",
    2,
    _div,
    (lambda a, b, y: 1.0 / b, lambda a, b, y: -y / b),
    domain=lambda a, b: abs(b) > 0.1,
    symbol="/",
)
# Value ** Value. The derivative in the exponent needs log(base): it exists only for base > 0.
POW = Op(
    "pow",
    2,
    power,
    (
        # 0 ** 0 is 1 for every nearby base: the base derivative is 0 there (PyTorch agrees)
        lambda a, b, y: 0.0 if value(a) == 0 == value(b) else b * power(a, b - 1.0),
        # 0 ** b is 0 for every nearby exponent when b > 0: the exponent derivative is 0
        # there (PyTorch agrees); log(0) would make it look undefined
        lambda a, b, y: 0.0 if value(a) == 0 and value(b) > 0 else y * log(a),
    ),
    domain=lambda a, b: a > 0.1 and abs(b * math.log(a)) < 20,
    symbol="**",
    # where base and exponent are positive (at the edges, arrays meet a division by zero or
    # a log of 0 and hand those samples to the exact floats)
    forms={"derivatives": (lambda a, b, y: b * power(a, b - 1.0), lambda a, b, y: y * log(a))},
)
# Value ** constant: the exponent is no operand, so no derivative is ever taken in it.
POWC = Op(
    "**",
    1,
    power,
    # x ** 0 is the constant 1: its derivative is 0 everywhere, at x = 0 too (PyTorch agrees).
    (lambda x, y, k: k * power(x, k - 1.0) if k != 0 else 0.0,),
    domain=lambda x, k: (x > 0.1 or float(k).is_integer()) and abs(x) < 10,
    has_arg=True,
    # integers (any sign of base) and fractions (base > 0)
    args=lambda n: (2.0, 0.5, -1.0, 3.0, -2.0, 1.5, 2.5),
    symbol="**",
)
NEG = Op("neg", 1, lambda x: -x, (lambda x, y: -1.0,), symbol="-")
ABS = Op("abs", 1, abs, (lambda x, y: sign(x),), domain=_far_from(0.0))
def _relu_fast(x: float) -> tuple[float, float]:
    return (0.0, 0.0) if x <= 0 else (x, 1.0)  # nan stays nan, as in PyTorch


def _tanh_fast(x: float) -> tuple[float, float]:
    y = math.tanh(x)
    return y, 1.0 - y * y


def _sigmoid_fast(x: float) -> tuple[float, float]:
    y = _sigmoid(x)
    return y, y * (1.0 - y)


RELU = Op(
    "relu",
    1,
    lambda x: where(x <= 0, 0.0, x),
    (lambda x, y: step(x),),
    domain=_far_from(0.0),
    fast=_relu_fast,
    forms={"sympy": lambda f, x: f.Max(0, x)},
)
# The functions of floats below get their array and sympy spellings beside them. An array form
# must fail (`_need`, or a floating-point error) wherever the float form raises, so that those
# samples go to the floats and raise the engine's own error.
TANH = Op("tanh", 1, math.tanh, (lambda x, y: 1.0 - y * y,), fast=_tanh_fast,
          forms={"numpy": "np.tanh({0})", "sympy": "tanh"})
SIGMOID = Op("sigmoid", 1, _sigmoid, (lambda x, y: y * (1.0 - y),), fast=_sigmoid_fast,
             forms={"numpy": "1.0 / (1.0 + np.exp(-{0}))",
                    "sympy": lambda f, x: 1 / (1 + f.exp(-x))})
EXP = Op("exp", 1, _exp, (lambda x, y: y,), domain=lambda x: x < 20,
         forms={"numpy": "np.exp({0})", "sympy": "exp"})
LOG = Op("log", 1, _log, (lambda x, y: 1.0 / x,), domain=lambda x: x > 0.1,
         forms={"numpy": "np.log(_need({0}, {0} > 0))", "sympy": "log"})
SQRT = Op("sqrt", 1, _sqrt, (lambda x, y: 0.5 / y,), domain=lambda x: x > 0.1,
          forms={"numpy": "np.sqrt(_need({0}, {0} >= 0))", "sympy": "sqrt"})
SIN = Op("sin", 1, _finite("sin", math.sin), (lambda x, y: cos(x),),
         forms={"numpy": "np.sin({0})", "sympy": "sin"})
COS = Op("cos", 1, _finite("cos", math.cos), (lambda x, y: -sin(x),),
         forms={"numpy": "np.cos({0})", "sympy": "cos"})
ATAN = Op("atan", 1, math.atan, (lambda x, y: 1.0 / (1.0 + x * x),),
          forms={"numpy": "np.arctan({0})", "sympy": "atan"})
SUM = Op("sum", 0, _sum, (lambda xs, y: [1.0] * len(xs),),
         forms={"batch": "sum", "sympy": lambda f, *xs: f.Add(*xs)})
# dot(xs, ws) records its operands as xs + ws: each x's derivative is its w, and back.
DOT = Op(
    "dot",
    0,
    lambda xw: _dot(xw[: len(xw) // 2], xw[len(xw) // 2 :]),
    (lambda xw, y: xw[len(xw) // 2 :] + xw[: len(xw) // 2],),
    pairwise=True,
    forms={"batch": "dot",
           "sympy": lambda f, *xw: f.Add(*(x * w for x, w in zip(xw[: len(xw) // 2],
                                                                xw[len(xw) // 2 :])))},
)

# --- loss primitives: stable forms whose edges (clamps, infinities) follow PyTorch -------------


def _softplus(x: float) -> float:
    # log(1 + exp(x)) without overflow: exp only ever sees -|x|; inf -> inf, -inf -> 0, nan -> nan
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


SOFTPLUS = Op(
    "softplus", 1, _softplus, (lambda x, y: sigmoid(x),), domain=lambda x: abs(x) < 20,
    forms={"numpy": "np.logaddexp(0.0, {0})", "sympy": lambda f, x: f.log(1 + f.exp(x))},
)

# PyTorch's BCELoss: each log clamped at -100, and d/dp = (p - t) / max(p (1 - p), eps) with
# its kernel's eps, 1e-12 held as a float32. At a saturated p (0 or 1) that is still the sign
# of p - t, so descent pulls p back in.
_BCE_LOG_FLOOR = -100.0
_BCE_EPS = 9.999999960041972e-13


def _bce(p: float, t: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"bce({fmt(p)}, {fmt(t)}): the probability must lie in [0, 1], got {p!r}")
    log_p = math.log(p) if p > 0.0 else -math.inf
    log_1mp = math.log1p(-p) if p < 1.0 else -math.inf
    return (t - 1.0) * max(log_1mp, _BCE_LOG_FLOOR) - t * max(log_p, _BCE_LOG_FLOOR)


def _bce_dp(p: Any, t: Any, y: Any) -> Any:
    q = value(p)
    if (1.0 - q) * q > _BCE_EPS:
        return (p - t) / ((1.0 - p) * p)
    return (p - t) / _BCE_EPS


def _bce_dt(p: Any, t: Any, y: Any) -> Any:
    # log(1 - p) - log(p), unclamped as in PyTorch: +-inf at a saturated p
    q = value(p)
    if q == 0.0:
        return math.inf
    if q == 1.0:
        return -math.inf
    return log(1.0 - p) - log(p)


def _bce_array(p: Any, t: Any) -> Any:
    import numpy as np

    if not (p.min() > 3.8e-44 and p.max() < 1.0):  # e**-100 < p < 1: no log is clamped
        raise FloatingPointError("bce: a clamped log, or p outside [0, 1]: the exact floats")
    return (t - 1.0) * np.log1p(-p) - t * np.log(p)


def _bce_dp_array(p: Any, t: Any) -> Any:
    import numpy as np

    q = (1.0 - p) * p
    return (p - t) / np.where(q > _BCE_EPS, q, _BCE_EPS)


BCE = Op(
    "bce", 2, _bce, (_bce_dp, _bce_dt), domain=lambda p, t: 0.05 < p < 0.95 and abs(t) < 10,
    forms={
        "numpy": _bce_array,
        "sympy": lambda f, p, t: -(t * f.log(p) + (1 - t) * f.log(1 - p)),
        # the textbook derivatives, where no clamp acts
        "derivatives": (lambda p, t, y: (p - t) / ((1.0 - p) * p),
                        lambda p, t, y: log(1.0 - p) - log(p)),
        "numpy derivatives": (_bce_dp_array, None),
    },
)


def _bce_with_logits(x: Any, t: Any) -> Any:
    return (1.0 - t) * x + softplus(-x)  # PyTorch's form: softplus never overflows


# PyTorch's BCEWithLogitsLoss as one op, so that d/dx is sigmoid(x) - t computed as such: the
# same loss written with softplus would give (1 - t) - sigmoid(-x), which cancels to 0 for a
# very negative logit where the true gradient is a tiny positive number.
BCE_WITH_LOGITS = Op(
    "bce_with_logits",
    2,
    _bce_with_logits,
    (lambda x, t, y: sigmoid(x) - t, lambda x, t, y: -x),
    domain=lambda x, t: abs(x) < 20 and abs(t) < 10,
)


def _argmax(xs: Sequence[Any]) -> int:
    best = 0
    for i in range(1, len(xs)):
        if value(xs[i]) > value(xs[best]):
            best = i
    return best


def _target(xs: Sequence[Any], t: Any) -> int:
    """The class index `t` (an int, or a float holding one) for len(xs) classes, or a
    ValueError that says what it got."""
    k = int(float(t)) if isinstance(t, Real) and math.isfinite(t) and float(t).is_integer() else -1
    if not 0 <= k < len(xs) or isinstance(t, bool):
        raise ValueError(f"cross_entropy: the target must be a class index from 0 to "
                         f"{len(xs) - 1}, got {t!r}")
    return k


def _cross_entropy(xs: Sequence[float], t: Any) -> float:
    """log(exp(x0) + ... + exp(xn)) - x_t, shifted by the largest logit m: log1p of the other
    terms' sum plus (m - x_t), which is exact when x_t is the largest (no cancellation)."""
    k = _target(xs, t)
    if any(x != x for x in xs):
        return math.nan
    top = _argmax(xs)
    m = xs[top]
    if m == math.inf:  # PyTorch: a +inf logit makes the sample's loss nan
        return math.nan
    rest = _sum([math.exp(x - m) for i, x in enumerate(xs) if i != top])
    return math.log1p(rest) + (m - xs[k])


def _cross_entropy_partials(xs: Sequence[Any], y: Any, t: Any) -> list[Any]:
    # softmax(x) - onehot(t), from the shifted exponentials; d/dx_t is minus the others' share
    k = _target(xs, t)
    m = xs[_argmax(xs)]
    es = [exp(x - m) for x in xs]
    total = reduce(add, es)
    shares = [e / total for e in es]
    if len(shares) == 1:  # 0, or nan for a non-finite logit (PyTorch's softmax - 1)
        return [shares[0] - 1.0]
    others = [share for i, share in enumerate(shares) if i != k]
    shares[k] = -reduce(add, others)
    return shares


def _cross_entropy_array(x: Any, t: Any) -> tuple[Any, Any]:
    """Loss and local derivatives over the last axis, for arrays: `x` the logits (samples x
    nodes x classes), `t` the targets (a number, or one per sample and node)."""
    import numpy as np

    if not np.isfinite(x).all():
        raise FloatingPointError("cross_entropy: a logit that is not finite: the exact floats")
    classes = x.shape[-1]
    rows = np.broadcast_shapes(x.shape[:-1], np.shape(t))  # logits or targets per sample
    x = np.broadcast_to(x, (*rows, classes))
    k = np.broadcast_to(np.asarray(t), rows)
    if not ((k == np.floor(k)) & (k >= 0) & (k < classes)).all():
        raise FloatingPointError("cross_entropy: a target that is no class index: the floats")
    k = k.astype(np.intp)[..., None]
    top = x.argmax(axis=-1)[..., None]  # the first largest logit, as `_argmax` picks it
    m = np.take_along_axis(x, top, axis=-1)
    e = np.exp(x - m)
    total = e.sum(axis=-1)
    # log1p of the other terms, as the float rule: exact where the target is the largest logit
    # (a loss near 0 keeps its digits, and so does what is computed from it)
    others = e.copy()
    np.put_along_axis(others, top, 0.0, axis=-1)
    y = np.log1p(others.sum(axis=-1)) + (m[..., 0] - np.take_along_axis(x, k, axis=-1)[..., 0])
    d = e / total[..., None]
    # d/dx_t is minus the other classes' shares, summed as such (not 1 - its own share)
    rest = d.copy()
    np.put_along_axis(rest, k, 0.0, axis=-1)
    np.put_along_axis(d, k, -rest.sum(axis=-1, keepdims=True), axis=-1)
    return y, d


def _cross_entropy_smooth(xs: Sequence[Any], y: Any, t: Any) -> list[Any]:
    # softmax(x) - onehot(t), as formulas: the shift by the largest logit is for floats
    k = _target(xs, t)
    es = [exp(x) for x in xs]
    total = reduce(add, es)
    return [e / total - (1.0 if i == k else 0.0) for i, e in enumerate(es)]


# The softmax cross-entropy of one sample: cross_entropy(x0, ..., xn; t), the logits as
# operands and the target class as the constant argument (data to a tape: see `Op.has_arg`).
CROSS_ENTROPY = Op(
    "cross_entropy",
    0,
    _cross_entropy,
    (_cross_entropy_partials,),
    domain=lambda *xs: max(xs[:-1]) - min(xs[:-1]) < 20,
    has_arg=True,
    args=lambda n: tuple(range(n)),
    forms={
        "batch": _cross_entropy_array,
        "sympy": lambda f, *xs: f.log(f.Add(*map(f.exp, xs[:-1]))) - xs[int(xs[-1])],
        "derivatives": (_cross_entropy_smooth,),
    },
)


UNARY: dict[str, Op] = {
    op.name: op for op in (RELU, TANH, SIGMOID, EXP, LOG, SQRT, SIN, COS, ATAN, SOFTPLUS)
}
"""The unary ops that `Value` offers as methods of the same name (`x.tanh()`)."""

OPS: dict[str, Op] = {
    op.name: op
    for op in (
        ADD, SUB, MUL, DIV, POW, POWC, NEG, ABS, *UNARY.values(), SUM, DOT, IDENTITY,
        BCE, BCE_WITH_LOGITS, CROSS_ENTROPY,
    )
}
"""Every primitive by name. Tests enumerate this table, so no op escapes the gradient checks."""


def _formula_method(op: Op) -> Callable[[Formula], Formula]:
    return lambda self: op.formula(self)


for _op in UNARY.values():  # x.tanh() on a formula, as on a Value: what the helpers call
    setattr(Formula, _op.name, _formula_method(_op))
