"""A recording as straight-line Python: one local per value, the local derivatives inline.

The generated function is backpropagation written out. Each node's forward and each local
derivative is its op's own rule run on formulas (`Op.formula`, `Op.derivative_formulas`) and
printed as Python over floats: the same operations in the same order as the engine's, so the
numbers come out bit for bit the same. A function of floats (`tanh`, a custom op's `math.erf`)
is called as the engine calls it; a rule that has no formula (it branches on a number) is
called on floats too. The backward part sums each gradient term by term, `local derivative *
the consumer's gradient`, in the order the engine's backward pass adds them. Only gradients
that flow to a parameter are computed.
"""

from __future__ import annotations

import builtins
import linecache
import math
import re
import unicodedata
from collections.abc import Callable
from itertools import count
from keyword import iskeyword
from typing import Any

from ..formula import Formula, Printer, can_fail
from .program import ARG, CONST, OP, PARAM, Program, operand_order

_files = count(1)
_FOLD = 32  # terms per line of a long sum
_REUSE = 2000  # nodes from which gradients share names (see `_Slots`)


# Names the generated code defines itself: a label never takes one (see `_Names`).
_RESERVED = {"args", "params", "seed", "abs", "tanh", "exp", "log", "sqrt", "sin", "cos",
             "power", "e", "INF", "NAN", "None", "True", "False", "replay"}
_INTERNAL = re.compile(r"(v|g)\d+$|(g|d|forward|derivative|derivatives|seed)_")
_BUILTINS = set(dir(builtins))
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class _Names:
    """Distinct Python identifiers from labels: 'layers.0.w.1' -> 'layers_0_w_1'.

    ASCII only (Python folds identifiers by NFKC, so 'ﬁ' and 'fi' would be one name), never
    a name the generated code uses for itself (`v3`, `g_v3`, helpers, keywords, builtins)."""

    def __init__(self) -> None:
        self.taken = set(_RESERVED)

    def __call__(self, wanted: str, fallback: str) -> str:
        name = wanted.replace(".", "_") if wanted.isascii() else \
            unicodedata.normalize("NFKC", wanted)
        if not name.isascii() or not name.isidentifier():
            name = _UNSAFE.sub("_", name)
        name = name.strip("_")
        if not name or iskeyword(name) or name in _BUILTINS or _INTERNAL.match(name):
            name = fallback if not name or name[0].isdigit() else "p_" + name
        elif name[0].isdigit():
            name = "p_" + name
        base, k = name, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def identifiers(prog: Program) -> list[str]:
    """A distinct Python name for each argument and parameter node of `prog` (from its slot
    name or label), "" for the other nodes."""
    names = _Names()
    out = [""] * len(prog)
    for n, kind in enumerate(prog.kind):
        if kind == ARG:
            out[n] = names(prog.name[n], f"x{prog.slot[n]}")
        elif kind == PARAM:
            out[n] = names(prog.name[n], f"p{prog.slot[n]}")
    return out


def function_name(fn: Any) -> str:
    """A name for the generated function: fn's own when it is a plain identifier that cannot
    shadow a name the generated code uses, else `replay`."""
    name = getattr(fn, "__name__", "")
    if (isinstance(name, str) and name.isascii() and name.isidentifier() and not iskeyword(name)
            and name not in _RESERVED and name not in _BUILTINS and not _INTERNAL.match(name)):
        return name
    return "replay"


def literal(x: float) -> str:
    """A float as Python source that evaluates to exactly that float."""
    if x != x:
        return "NAN"
    if math.isinf(x):
        return "INF" if x > 0 else "(-INF)"
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text


def literal_number(x: Any) -> str:
    """A number compared with in a guard: ints stay ints (compared exactly)."""
    return repr(x) if isinstance(x, int) else literal(x)


class PythonPrinter(Printer):
    """Formulas as Python over floats. A function of floats an op applies is bound into the
    generated code's globals under the op's name (`tanh`), and called there."""

    def __init__(self, functions: dict[str, Any]) -> None:
        super().__init__()
        self.functions = functions
        self.bound: dict[int, str] = {}

    def constant(self, x: float) -> str:
        if isinstance(x, int):
            return repr(x)
        return literal(x).strip("()")

    def bind(self, fn: Callable[..., Any], wanted: str) -> str:
        """A global name for `fn` in the generated code (one per function)."""
        name = self.bound.get(id(fn))
        if name is None:
            base = wanted if wanted.isidentifier() and wanted.isascii() else "op"
            name, k = base, 1
            while name in self.functions:
                k += 1
                name = f"{base}_{k}"
            self.functions[name] = fn
            self.bound[id(fn)] = name
        return name

    def applied(self, op: Any, args: list[str]) -> str:
        name = self.bind(op.forward, op.name)
        if op.arity == 0:
            extra = f", {args.pop()}" if op.has_arg else ""
            return f"{name}([{', '.join(args)}]{extra})"
        return f"{name}({', '.join(args)})"

    def power(self, a: str, b: str, node: Formula) -> tuple[str, str]:
        exponent = node.args[1]
        if exponent.head == "const" and float(exponent.args[0]).is_integer():
            return f"{a} ** {b}", "**"  # an integral power of a float is a float, or raises
        from ..ops import power  # a fractional power of a negative base: the engine's error

        return f"{self.bind(power, 'power')}({a.strip('()')}, {b.strip('()')})", "atom"


class _Source:
    def __init__(self, prog: Program, reserved: set[str]) -> None:
        self.prog = prog
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {"INF": math.inf, "NAN": math.nan}
        for name in reserved:
            self.globals.setdefault(name, None)  # taken: a label or fn's own name
        self.printer = PythonPrinter(self.globals)
        self.ref: list[str] = []
        numbers = count(1)
        named = identifiers(prog)
        for n, kind in enumerate(prog.kind):
            if kind == CONST:
                self.ref.append(literal(prog.value[n]))
            elif kind == OP:
                self.ref.append(f"v{next(numbers)}")
            else:
                self.ref.append(named[n])
        self.grad = [f"g_{r}" for r in self.ref]

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def _operands(self, n: int) -> list[Formula]:
        return [Formula.var(self.ref[p]) for p in self.prog.operands[n]]

    def _arg(self, n: int) -> Any:
        """Node n's constant argument: a number, or the variable of the argument it is."""
        source = self.prog.arg_node[n]
        return self.prog.arg[n] if source is None else Formula.var(self.ref[source])

    def _arg_text(self, n: int) -> str:
        source, arg = self.prog.arg_node[n], self.prog.arg[n]
        if source is not None:
            return self.ref[source]
        assert arg is not None  # asked only of an op with a constant argument
        return literal(arg)

    # -- forward and local derivatives: the op's rules, printed --------------------------

    def forward(self, n: int) -> list[str]:
        """Node n's value as the terms of a left-to-right sum (one term if it is no sum)."""
        prog = self.prog
        f = prog.op_of(n).formula(*self._operands(n), arg=self._arg(n))
        return self.printer.terms(f)

    def derivatives(self, n: int) -> list[Formula] | None:
        prog = self.prog
        return prog.op_of(n).derivative_formulas(self._operands(n), Formula.var(self.ref[n]),
                                                 self._arg(n), exact=True)

    def opaque_derivative(self, n: int, i: int) -> str:
        """Node n's local derivative by calling its rule on floats (a rule with no formula)."""
        prog, r = self.prog, self.ref
        op = prog.op_of(n)
        xs = [r[p] for p in prog.operands[n]]
        if op.arity == 0:  # one rule gives the whole list: computed once, see `backward`
            return f"d_{r[n]}[{i}]"
        d = self.printer.bind(op.derivatives[i], f"derivative_{_name(op.name)}_{i}")
        extra = f", {self._arg_text(n)}" if op.has_arg else ""
        return f"{d}({', '.join(xs)}, {r[n]}{extra})"

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

    def assign(self, name: str, terms: list[str]) -> None:
        """`name = t1 + t2 + ...` as a left fold over lines of `_FOLD` terms (the same
        additions in the same order: one deep expression would overflow the compiler)."""
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
        prog, r = self.prog, self.ref
        order = prog.backward_order()
        started = [False] * len(prog)
        body: list[str] = []
        checks: list[str] = []
        outputs = {n for n, _ in prog.outputs}
        names = _Slots(self.grad, len(prog) > _REUSE, set(outputs))
        if prog.needs_grad[prog.root]:
            body.append(f"{names.start(prog.root)} = seed")
            started[prog.root] = True
        terms = [0] * len(prog)
        for n in order:
            if prog.needs_grad[n]:
                for p in prog.operands[n]:
                    terms[p] += prog.needs_grad[p]
        for n in order:
            op, operands = prog.op_of(n), prog.operands[n]
            rules = self.derivatives(n)
            needed = prog.needs_grad[n]
            if rules is None and op.arity == 0:  # one call gives the whole list
                d = self.printer.bind(op.derivatives[0], f"derivatives_{_name(op.name)}")
                extra = f", {self._arg_text(n)}" if op.has_arg else ""
                call = f"{d}([{', '.join(r[p] for p in operands)}], {r[n]}{extra})"
                if needed:
                    body.append(f"d_{r[n]} = {call}")
                else:
                    checks.append(call)
            for i in operand_order(op, len(operands)):
                p = operands[i]
                if not (needed and prog.needs_grad[p]):
                    # the engine's backward multiplies this one too: where it may not exist,
                    # evaluate it, so the replay raises where the engine raises
                    if rules is None:
                        if op.arity:
                            checks.append(self.opaque_derivative(n, i))
                    elif can_fail(rules[i]):
                        checks.append(self.printer.text(rules[i]))
                    continue
                g = Formula.var(self.grad[n])
                if rules is None:
                    t = f"({self.opaque_derivative(n, i)}) * {self.grad[n]}"
                else:
                    t = self.printer.text(rules[i] * g)
                if terms[p] == 1 and t.isidentifier() and p not in outputs:
                    names.alias(p, n)  # its whole gradient is the consumer's: no line
                    started[p] = True
                    continue
                if started[p]:
                    body.append(f"{self.grad[p]} += {t}")
                else:
                    body.append(f"{names.start(p)} = {t}")
                    started[p] = True
            if needed:
                names.done(n)
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


def _name(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in text)
    return cleaned.strip("_") or "op"


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
        if name not in self.holders:
            return
        self.holders[name] -= 1
        if self.reuse and not self.holders[name] and n not in self.pinned and \
                name.startswith("g") and name[1:].isdigit():
            self.free.append(name)


def _reserved(prog: Program, fname: str) -> set[str]:
    return {fname, "args", "params", "seed", *filter(None, identifiers(prog))}


def generate(prog: Program, fname: str = "replay") -> str:
    """The Python source of `prog`'s replay: `fname(args, params, seed)` returns fn's value
    and the gradient of each output, or None when a guard fails."""
    return _Source(prog, _reserved(prog, fname)).build(fname)


def compile_program(prog: Program, fname: str = "replay") -> tuple[Callable[..., Any], str]:
    """The replay function and its source."""
    src = _Source(prog, _reserved(prog, fname))
    text = src.build(fname)
    filename = f"<tape {next(_files)}: {fname}>"
    code = compile(text, filename, "exec")
    # tracebacks through the generated code show its lines
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {k: v for k, v in src.globals.items() if v is not None}
    exec(code, scope)  # our own generated source, never user text
    return scope[fname], text
