"""A recording as straight-line Python: one local per value, the local derivatives inline.

The generated function is backpropagation written out. The forward part computes each node
from its operands exactly as the op table does; the backward part sums each gradient term by
term, `local derivative * the consumer's gradient`, in the order the engine's backward pass
adds them, so the floats come out bit for bit the same. Only gradients that flow to a
parameter are computed.
"""

from __future__ import annotations

import linecache
import math
from collections.abc import Callable
from itertools import count
from typing import Any

from .. import ops
from .program import ARG, CONST, OP, PARAM, Program, known, operand_order

# Local derivatives that can fail to exist (sqrt at 0, x ** y at x <= 0, custom ops): the
# engine's backward pass multiplies every one, so the replay evaluates these even where no
# gradient is needed, to raise where the engine raises.
_CAN_FAIL = (ops.SQRT, ops.POW, ops.POWC)

_GLOBALS = {
    "tanh": math.tanh, "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin,
    "cos": math.cos, "power": ops.power, "_log": ops._log, "_sqrt": ops._sqrt,
    "INF": math.inf, "NAN": math.nan,
}

_files = count(1)
_FOLD = 32  # terms per line of a long sum
_REUSE = 2000  # nodes from which gradients share names (see `_Slots`)


def literal(x: float) -> str:
    """A float as Python source that evaluates to exactly that float."""
    if x != x:
        return "NAN"
    if math.isinf(x):
        return "INF" if x > 0 else "(-INF)"
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text


class _Source:
    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.lines: list[str] = []
        self.globals: dict[str, Any] = dict(_GLOBALS)
        self.ref: list[str] = []
        numbers = count(1)
        for n, kind in enumerate(prog.kind):
            if kind == CONST:
                self.ref.append(literal(prog.value[n]))
            elif kind == OP:
                self.ref.append(f"v{next(numbers)}")
            else:
                self.ref.append(prog.name[n])
        self.grad = [f"g_{r}" for r in self.ref]

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def function(self, ref: Callable[..., Any], name: str) -> str:
        self.globals[name] = ref
        return name

    # -- forward -------------------------------------------------------------------------

    def forward(self, n: int) -> str | list[str]:
        """Node n's value as an expression (a list of terms: their sum, left to right)."""
        prog, r = self.prog, self.ref
        op = prog.op[n]
        xs = [r[p] for p in prog.operands[n]]
        a = xs[0] if xs else ""
        b = xs[1] if len(xs) > 1 else ""
        if known(op):
            if op is ops.ADD:
                return f"{a} + {b}"
            if op is ops.SUB:
                return f"{a} - {b}"
            if op is ops.MUL:
                return f"{a} * {b}"
            if op is ops.DIV:
                return f"{a} / {b}"
            if op is ops.NEG:
                return f"-{a}"
            if op is ops.IDENTITY:
                return a
            if op is ops.ABS:
                return f"abs({a})"
            if op is ops.RELU:
                return f"0.0 if {a} <= 0 else {a}"
            if op is ops.SIGMOID:  # the op table's two branches: exp never overflows
                return f"1.0 / (1.0 + exp(-{a})) if {a} >= 0 else (e := exp({a})) / (1.0 + e)"
            if op is ops.LOG:
                return f"log({a}) if {a} > 0 else _log({a})"
            if op is ops.SQRT:
                return f"sqrt({a}) if {a} >= 0 else _sqrt({a})"
            if op in (ops.TANH, ops.EXP, ops.SIN, ops.COS):
                return f"{op.name}({a})"
            if op is ops.POWC:
                k = prog.arg[n]
                return f"{a} ** {literal(k)}" if k.is_integer() else f"power({a}, {literal(k)})"
            if op is ops.POW:
                return f"power({a}, {b})"
            if op is ops.SUM:  # a left fold, as the op table adds
                return xs
            if op is ops.DOT:
                half = len(xs) // 2
                return [f"{x} * {w}" for x, w in zip(xs[:half], xs[half:])]
        f = self.function(op.forward, f"forward_{r[n]}")
        if op.arity == 0:
            return f"{f}([{', '.join(xs)}])"
        extra = f", {literal(prog.arg[n])}" if op.has_arg else ""
        return f"{f}({', '.join(xs)}{extra})"

    # -- local derivative times the consumer's gradient ----------------------------------

    def derivative(self, n: int, i: int) -> str:
        """Node n's local derivative with respect to operand i, as an expression."""
        prog, r = self.prog, self.ref
        op = prog.op[n]
        xs = [r[p] for p in prog.operands[n]]
        y = r[n]
        if op is ops.SQRT:
            return f"0.5 / {y}"
        if op is ops.POWC:
            k = prog.arg[n]
            if k == 0:
                return "0.0"
            km1 = k - 1.0
            pw = f"{xs[0]} ** {literal(km1)}" if km1.is_integer() else \
                f"power({xs[0]}, {literal(km1)})"
            return f"{literal(k)} * {pw}"
        if op.arity == 0:  # one rule gives the whole list: computed once, see `backward`
            return f"d_{y}[{i}]"
        d = self.function(op.derivatives[i], f"derivative_{y}_{i}")
        extra = f", {literal(prog.arg[n])}" if op.has_arg else ""
        return f"{d}({', '.join(xs)}, {y}{extra})"

    def term(self, n: int, i: int, g: str) -> str:
        """d node n / d operand i, times g: what backward adds into operand i."""
        prog, r = self.prog, self.ref
        op = prog.op[n]
        xs = [r[p] for p in prog.operands[n]]
        y = r[n]
        a = xs[0]
        if known(op):
            if op in (ops.ADD, ops.SUM, ops.IDENTITY):
                return g  # 1.0 * g is g, to the bit
            if op is ops.SUB:
                return g if i == 0 else f"-{g}"
            if op is ops.NEG:
                return f"-{g}"
            if op is ops.MUL:
                return f"{xs[1 - i]} * {g}"
            if op is ops.DOT:
                half = len(xs) // 2
                return f"{xs[i + half if i < half else i - half]} * {g}"
            if op is ops.DIV:
                return f"(1.0 / {xs[1]}) * {g}" if i == 0 else f"(-{y} / {xs[1]}) * {g}"
            if op is ops.RELU:
                return f"(0.0 * {g} if {a} <= 0 else {g})"
            if op is ops.ABS:
                return f"({g} if {a} > 0 else (-{g} if {a} < 0 else 0.0 * {g}))"
            if op is ops.TANH:
                return f"(1.0 - {y} * {y}) * {g}"
            if op is ops.SIGMOID:
                return f"{y} * (1.0 - {y}) * {g}"
            if op is ops.EXP:
                return f"{y} * {g}"
            if op is ops.LOG:
                return f"(1.0 / {a}) * {g}"
            if op is ops.SIN:
                return f"cos({a}) * {g}"
            if op is ops.COS:
                return f"-sin({a}) * {g}"
        return f"({self.derivative(n, i)}) * {g}"

    # -- the whole function --------------------------------------------------------------

    def build(self, fname: str) -> str:
        prog, r = self.prog, self.ref
        guards_at: dict[int, list[Any]] = {}
        for g in prog.guards:
            guards_at.setdefault(g.after, []).append(g)
        args = [n for n, k in enumerate(prog.kind) if k == ARG]
        params = [n for n, k in enumerate(prog.kind) if k == PARAM]
        head = [f"def {fname}(args, params, seed):"]
        if args:
            self.unpack([r[n] for n in sorted(args, key=prog.slot.__getitem__)], "args")
        if params:
            self.unpack([r[n] for n in sorted(params, key=prog.slot.__getitem__)], "params")
        for n in range(len(prog)):
            if prog.kind[n] != OP and n not in guards_at:
                continue
            if prog.kind[n] == OP:
                self.assign(r[n], self.forward(n))
            for g in guards_at.get(n, ()):
                right = r[g.right] if g.right_is_node else literal_number(g.right)
                test = f"{r[g.left]} {g.cmp} {right}"
                self.emit(f"if not ({test}): return None" if g.result else
                          f"if {test}: return None")
        self.backward()
        outputs = ", ".join(self.grad[n] for n, _ in prog.outputs)
        self.emit(f"return {r[prog.root]}, ({outputs}{',' if len(prog.outputs) == 1 else ''})")
        return "\n".join(head + self.lines) + "\n"

    def assign(self, name: str, expression: str | list[str]) -> None:
        """`name = expression`; a sum of terms as a left fold over lines of `_FOLD` terms (the
        same additions in the same order: one deep expression would overflow the compiler)."""
        terms = [expression] if isinstance(expression, str) else expression
        self.emit(f"{name} = {' + '.join(terms[:_FOLD])}")
        for i in range(_FOLD, len(terms), _FOLD):
            self.emit(f"{name} = {name} + {' + '.join(terms[i:i + _FOLD])}")

    def unpack(self, names: list[str], source: str) -> None:
        rows = [", ".join(names[i:i + 8]) for i in range(0, len(names), 8)]
        if len(rows) == 1:
            self.emit(f"{rows[0]}{',' if len(names) == 1 else ''} = {source}")
        else:
            self.emit("(" + (",\n     ").join(rows) + f") = {source}")

    def backward(self) -> None:
        prog = self.prog
        order = prog.backward_order()
        if not prog.needs_grad[prog.root]:
            order = []
        done: set[tuple[int, int]] = set()
        started = [False] * len(prog)
        body: list[str] = []
        outputs = {n for n, _ in prog.outputs}
        names = _Slots(self.grad, len(prog) > _REUSE, {n for n in outputs})
        if prog.needs_grad[prog.root]:
            body.append(f"{names.start(prog.root)} = seed")
            started[prog.root] = True
        lists = [n for n in order if prog.needs_grad[n] and prog.op[n].arity == 0
                 and prog.op[n] not in (ops.SUM, ops.DOT)]
        for n in lists:  # an n-ary rule's list of local derivatives, for `derivative`
            d = self.function(prog.op[n].derivatives[0], f"derivatives_{self.ref[n]}")
            xs = ", ".join(self.ref[p] for p in prog.operands[n])
            body.append(f"d_{self.ref[n]} = {d}([{xs}], {self.ref[n]})")
        terms = [0] * len(prog)
        for n in order:
            if prog.needs_grad[n]:
                for p in prog.operands[n]:
                    terms[p] += prog.needs_grad[p]
        for n in order:
            if not prog.needs_grad[n]:
                continue
            g = self.grad[n]
            operands = prog.operands[n]
            for i in operand_order(prog.op[n], len(operands)):
                p = operands[i]
                if not prog.needs_grad[p]:
                    continue
                done.add((n, i))
                t = self.term(n, i, g)
                if terms[p] == 1 and t.isidentifier() and p not in outputs:
                    names.alias(p, n)  # its whole gradient is the consumer's: no line
                    started[p] = True
                    continue
                if started[p]:
                    body.append(f"{self.grad[p]} += {t}")
                else:
                    body.append(f"{names.start(p)} = {t}")
                    started[p] = True
            names.done(n)
        checks = [
            self.derivative(n, i)
            for n in prog.backward_order()
            if prog.op[n] in _CAN_FAIL or not known(prog.op[n])
            for i in range(len(prog.operands[n]))
            if (n, i) not in done
        ]
        if checks:
            self.emit("# local derivatives no gradient needs, evaluated where the engine's "
                      "backward would raise")
            for c in checks:
                self.emit(c)
        if body:
            self.emit("# backward: each gradient sums (local derivative * consumer's gradient), "
                      "in backward()'s order")
            for line in body:
                self.emit(line)


class _Slots:
    """Names for the gradients. A small program gets one per node (`g_v3`, `g_w1`), to read; a
    large one reuses the name of a gradient no line needs any more (`g1`, `g2`, ...), so the
    floats of finished gradients are freed as the pass goes and the memory it touches stays
    small (a replay that keeps every gradient alive to the end runs markedly slower)."""

    def __init__(self, grad: list[str], reuse: bool, pinned: set[int]) -> None:
        self.grad = grad
        self.reuse = reuse
        self.pinned = pinned  # the outputs: returned at the end
        self.free: list[str] = []
        self.count = count(1)
        self.holders: dict[str, int] = {}

    def start(self, n: int) -> str:
        if self.reuse and n not in self.pinned:
            self.grad[n] = self.free.pop() if self.free else f"g{next(self.count)}"
        name = self.grad[n]
        self.holders[name] = self.holders.get(name, 0) + 1
        return name

    def alias(self, n: int, consumer: int) -> None:
        name = self.grad[n] = self.grad[consumer]
        self.holders[name] += 1

    def done(self, n: int) -> None:
        """Node n's terms are all out: its gradient's name is free once no node holds it."""
        name = self.grad[n]
        self.holders[name] -= 1
        if self.reuse and not self.holders[name] and n not in self.pinned and \
                name.startswith("g") and name[1:].isdigit():
            self.free.append(name)


def literal_number(x: Any) -> str:
    """A number compared with in a guard: ints stay ints (compared exactly)."""
    return repr(x) if isinstance(x, int) else literal(x)


def generate(prog: Program, fname: str = "replay") -> str:
    """The Python source of `prog`'s replay: `fname(args, params, seed)` returns fn's value
    and the gradient of each output, or None when a guard fails."""
    return _Source(prog).build(fname)


def compile_program(prog: Program, fname: str = "replay") -> tuple[Callable[..., Any], str]:
    """The replay function and its source."""
    src = _Source(prog)
    text = src.build(fname)
    filename = f"<tape {next(_files)}: {fname}>"
    code = compile(text, filename, "exec")
    # tracebacks through the generated code show its lines
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = dict(src.globals)
    exec(code, scope)  # our own generated source, never user text
    return scope[fname], text
