"""`Tape.mean`: one sample's recording replayed over a whole batch at once.

With NumPy, the recorded nodes are grouped: nodes of one op at one depth become one array
operation over (samples x nodes), and the dots of a layer, which read the same inputs, become
one matrix product. The plan is generated as NumPy code (a few lines per group, whatever the
batch size) and compiled once per recording. Anything NumPy flags (a domain error, an
overflow, a nan or an infinity the engine would treat its own way) sends those samples
through the exact per-sample replay instead, which raises the engine's errors. Without NumPy
every sample goes through the per-sample replay.
"""

from __future__ import annotations

import linecache
import math
from collections.abc import Callable
from itertools import chain, count
from operator import add, attrgetter
from typing import Any

from ..engine import Value
from ..formula import Formula, Printer, can_fail, variables
from .arguments import END, FLOAT, INT, LIST, TUPLE, as_data, flatten, static_key
from .program import ARG, CONST, PARAM, Program
from .record import IntsAreStatic

try:
    import numpy as np
except ImportError:  # an optional extra: the per-sample replay does the work
    np = None  # type: ignore[assignment]

_data: Callable[[Value], float] = attrgetter("_data")  # `.data` without the descriptor lookup
_files = count(1)


class Numeric(Exception):
    """NumPy met something the engine handles its own way: replay those samples one by one."""


# --- each op's array form, read off its rules run on formulas -----------------------------------


def _need(x: Any, ok: Any) -> Any:
    """`x`, where every sample meets the float form's domain; else those samples go to the
    exact floats (which raise the engine's own error)."""
    if not ok.all():
        raise Numeric
    return x


class ArrayPrinter(Printer):
    """Formulas as NumPy over arrays of samples. An op applied in a formula is spelled as its
    "numpy" form (`Op.forms`); an op without one has no array form (`Numeric`)."""

    def __init__(self, names: dict[str, str], functions: dict[str, Any]) -> None:
        super().__init__(names)
        self.functions = functions

    def constant(self, x: float) -> str:
        if x != x:
            return "np.nan"
        if x in (math.inf, -math.inf):
            return "np.inf" if x > 0 else "-np.inf"
        return repr(x)

    def absolute(self, x: str) -> str:
        return f"np.abs({x})"

    def choice(self, condition: str, then: str, otherwise: str) -> str:
        if (then, otherwise) == ("0.0", "1.0"):  # a step (relu's derivative): the negated
            return f"~({condition})"  # condition, whose True and False multiply as 1.0 and 0.0
        return f"np.where({condition}, {then}, {otherwise})"

    def power(self, a: str, b: str, node: Formula) -> tuple[str, str]:
        return f"np.power({a}, {b})", "atom"

    def applied(self, op: Any, args: list[str]) -> str:
        form = op.forms.get("numpy")
        if form is None or op.arity == 0:
            raise Numeric(op.name)
        if isinstance(form, str):
            return "(" + form.format(*args) + ")"
        name = f"F{len(self.functions)}"
        self.functions[name] = form
        return f"{name}({', '.join(args)})"


_OPERANDS = ("a", "b")
_PROBE = {"a": "a", "b": "b", "s": "s", "G": "G"}
_PROBED: dict[tuple[int, Any], bool] = {}  # (id of an op, its argument): has an array form


def _has_array_form(op: Any, arg: Any) -> None:
    """Raise `Numeric` if the op (with that argument) has no array form."""
    key = (id(op), arg)
    found = _PROBED.get(key)
    if found is None:
        try:
            elementwise(op, arg, _PROBE, {})
            found = True
        except Numeric:
            found = False
        if op.custom:  # a custom op may be defined again under the same id after its death
            return None if found else _raise_numeric(op)
        _PROBED[key] = found
    if not found:
        raise Numeric(op.name)
    return None


def _raise_numeric(op: Any) -> None:
    raise Numeric(op.name)


def elementwise(op: Any, arg: Any, names: dict[str, str],
                functions: dict[str, Any]) -> tuple[str, list[str], list[str | None]]:
    """The array forms of a unary or binary op: the forward, each operand's local derivative
    times the gradient `G`, and each local derivative alone where evaluating it may fail (for
    the operands no gradient is sent to: the engine's backward still multiplies it) (names
    maps a, b, s (the output) and G to arrays)."""
    printer = ArrayPrinter(names, functions)
    xs = [Formula.var(v) for v in _OPERANDS[:op.arity]]
    formula = op.formula(*xs, arg=arg)
    forward = printer.text(formula)
    if not variables(formula):  # a constant (x ** 0): one per sample and node all the same
        forward = f"np.full_like({names['a']}, {forward})"
    rules = op.derivative_formulas(xs, Formula.var("s"), arg)
    special = op.forms.get("numpy derivatives", (None,) * op.arity)
    if rules is None and not all(special):
        raise Numeric(op.name)
    terms: list[str] = []
    checks: list[str | None] = []
    for i in range(op.arity):
        if special[i] is not None:
            name = f"F{len(functions)}"
            functions[name] = special[i]
            args = ", ".join(names[v] for v in _OPERANDS[:op.arity])
            terms.append(f"{name}({args}) * {names['G']}")
            checks.append(f"{name}({args})")
        else:
            terms.append(printer.text(rules[i] * Formula.var("G")))
            checks.append(printer.text(rules[i]) if can_fail(rules[i]) else None)
    return forward, terms, checks


class _Plan:
    """The NumPy code of one recording over a batch: `run(A, P, seed)` with A the samples'
    floats (rows), P the parameters' data (one row) and seed the gradient of each sample's
    value; returns (mask, value sum, output gradients): mask is None when every sample passed
    every guard, else the samples that did (and nothing is computed further)."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        size = len(prog)
        self.batch = batch = [False] * size
        level = [0] * size
        consts: list[float] = []
        self.loc: list[tuple[int, int]] = [(0, 0)] * size
        n_params = len(prog.params)
        for n, kind in enumerate(prog.kind):
            if kind == ARG:
                batch[n] = True
                self.loc[n] = (0, prog.slot[n])
            elif kind == PARAM:
                self.loc[n] = (1, prog.slot[n])
            elif kind == CONST:
                self.loc[n] = (2, len(consts))
                consts.append(prog.value[n])
            else:
                operands = prog.operands[n]
                source = prog.arg_node[n]  # a constant argument that is data varies too
                batch[n] = any(batch[p] for p in operands) or (source is not None and
                                                               batch[source])
                level[n] = 1 + max(level[p] for p in operands)
        self.widths = [prog.n_args, n_params, len(consts)]
        self.is_batch = [True, False, False]
        self.globals: dict[str, Any] = {
            "np": np, "_need": _need, "CONSTS":
            np.array([consts]) if consts else np.zeros((1, 0)),
        }
        groups: dict[tuple[Any, ...], list[int]] = {}
        for n in prog.op_nodes():
            groups.setdefault((level[n], *self._kind(n)), []).append(n)
        self.groups = sorted(groups.items(), key=lambda item: (item[0][0], item[1][0]))
        for gid, (_, nodes) in enumerate(self.groups, start=3):
            for j, n in enumerate(nodes):
                self.loc[n] = (gid, j)
            self.widths.append(len(nodes))
            self.is_batch.append(batch[nodes[0]])
        self.needs = [False] * len(self.widths)
        for n in range(size):
            if prog.needs_grad[n]:
                self.needs[self.loc[n][0]] = True
        self.lines: list[str] = []
        self.terms: dict[int, list[str]] = {}  # each group's gradient terms, per operand
        self.checks: dict[int, list[str | None]] = {}  # its local derivatives that may fail
        self.source = self._build()
        filename = f"<tape batch {next(_files)}>"
        linecache.cache[filename] = (len(self.source), None,
                                     self.source.splitlines(True), filename)
        scope = dict(self.globals)
        exec(compile(self.source, filename, "exec"), scope)  # generated here, never user text
        self.run: Callable[..., Any] = scope["plan"]

    def _kind(self, n: int) -> tuple[Any, ...]:
        prog = self.prog
        op, operands = prog.op_of(n), prog.operands[n]
        if op.arity:  # one array operation per group, read off the op's formulas
            _has_array_form(op, prog.arg[n])  # raises Numeric if it has none
            return (op, prog.arg[n], len(operands), self.batch[n])
        form = op.forms.get("batch")
        if form is None:
            raise Numeric(op.name)  # no array form: the per-sample replay does it
        if form == "dot":
            half = len(operands) // 2
            xs, ws = operands[:half], operands[half:]
            xb = any(self.batch[p] for p in xs)
            wb = any(self.batch[p] for p in ws)
            if xb != wb:  # one side varies by sample, the other is the same: a matrix product
                return (op, half, "matmul", 0 if xb else 1, xs if xb else ws, self.batch[n])
            return (op, half, "each", self.batch[n])
        arg = "data" if prog.arg_node[n] is not None else prog.arg[n]
        return (op, arg, len(operands), self.batch[n])

    # -- gathering operands and scattering gradients ---------------------------------------

    def _index(self, cols: list[int]) -> str:
        name = f"I{len(self.globals)}"
        self.globals[name] = np.array(cols, dtype=np.intp)
        return name

    def fetch(self, locs: list[tuple[int, int]], batch: bool, prefix: str = "s") -> str:
        """An expression for the values (or with prefix "g", the gradients) at `locs`, as
        columns."""
        gids = list(dict.fromkeys(g for g, _ in locs))
        if len(gids) == 1:
            gid = gids[0]
            cols = [c for _, c in locs]
            if cols == list(range(self.widths[gid])):
                return f"{prefix}{gid}"
            if cols == list(range(cols[0], cols[0] + len(cols))):
                return f"{prefix}{gid}[:, {cols[0]}:{cols[0] + len(cols)}]"
            return f"{prefix}{gid}[:, {self._index(cols)}]"
        parts: list[str] = []
        order: list[int] = []
        for gid in gids:
            cols = [c for g, c in locs if g == gid]
            part = f"{prefix}{gid}[:, {self._index(cols)}]"
            if batch and not self.is_batch[gid]:
                part = f"np.broadcast_to({part}, (nb, {len(cols)}))"
            parts.append(part)
            order.extend(i for i, (g, _) in enumerate(locs) if g == gid)
        joined = f"np.concatenate(({', '.join(parts)},), axis=1)"
        perm = [0] * len(order)
        for position, i in enumerate(order):
            perm[i] = position
        return joined if perm == list(range(len(perm))) else f"{joined}[:, {self._index(perm)}]"

    def scatter(self, locs: list[tuple[int, int]], contribution: str, batch: bool) -> None:
        """Send the columns of `contribution` to the gradients of the nodes at `locs`: each
        part is kept as a piece, and a gradient is assembled from its pieces once, when it is
        complete (`assemble`), so no array is ever changed in place."""
        gids = [g for g in dict.fromkeys(g for g, _ in locs) if self.needs[g]]
        if not gids:
            return
        name = f"c{len(self.lines)}"
        self.emit(f"{name} = {contribution}")
        for gid in gids:
            positions = [i for i, (g, _) in enumerate(locs) if g == gid]
            cols = [locs[i][1] for i in positions]
            part = name if positions == list(range(len(locs))) else \
                f"{name}[:, {self._index(positions)}]"
            if batch and not self.is_batch[gid]:
                part = f"{part}.sum(axis=0, keepdims=True)"
            self.pieces[gid].append((cols, part))

    def assemble(self, gid: int) -> None:
        """`g{gid}` from its pieces: their sum where each covers every node of the group, one
        concatenation and one permutation where they cover the nodes once between them,
        else zeros and additions."""
        pieces = self.pieces[gid]
        width = self.widths[gid]
        every = list(range(width))
        whole = [part for cols, part in pieces if cols == every]
        parts = [(cols, part) for cols, part in pieces if cols != every]
        covered = [c for cols, _ in parts for c in cols]
        rows = "nb" if self.is_batch[gid] else "1"
        if parts and sorted(covered) == every:  # each node once: written into place
            self.emit(f"g{gid} = np.empty(({rows}, {width}))")
            for cols, part in parts:
                place, shape = self._place(gid, cols)
                self.emit(f"{place} = {part}{shape}")
            for part in whole:
                self.emit(f"g{gid} += {part}")
            return
        if not parts:
            self.emit(f"g{gid} = {' + '.join(whole) if whole else f'np.zeros(({rows}, {width}))'}")
            return
        self.emit(f"g{gid} = np.zeros(({rows}, {width}))")
        for part in whole:
            self.emit(f"g{gid} += {part}")
        for cols, part in parts:
            if len(set(cols)) == len(cols):
                self.emit(f"g{gid}[:, {self._index(cols)}] += {part}")
            else:
                self.emit(f"np.add.at(g{gid}, (slice(None), {self._index(cols)}), {part})")

    def _place(self, gid: int, cols: list[int]) -> tuple[str, str]:
        """The columns `cols` of g{gid} as an assignable expression, and the reshape the
        assigned piece needs: a slice, a strided block of the one row of a group computed
        once (a layer's weights, neuron after neuron, each followed by its bias) or an index."""
        block = _block(cols)
        if block is None:
            return f"g{gid}[:, {self._index(cols)}]", ""
        base, k, stride, n = block
        if stride == n:
            return f"g{gid}[:, {base}:{base + k * n}]", ""
        if self.is_batch[gid] or base + k * stride > self.widths[gid]:
            return f"g{gid}[:, {self._index(cols)}]", ""
        return f"g{gid}[0, {base}:{base + k * stride}].reshape({k}, {stride})[:, :{n}]", \
            f".reshape({k}, {n})"

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    # -- the code --------------------------------------------------------------------------

    def _build(self) -> str:
        prog = self.prog
        self.emit("nb = A.shape[0]")
        self.emit("s0, s1, s2 = A, P, CONSTS")
        guards_after: dict[int, list[Any]] = {}
        for g in prog.guards:
            gid = max(self.loc[g.left][0], self.loc[g.right][0] if g.right_is_node else 0)
            guards_after.setdefault(gid, []).append(g)
        mask = False
        if guards_after.get(0) or guards_after.get(1) or guards_after.get(2):
            mask = True
            self.emit("ok = np.ones(nb, dtype=bool)")
            for gid in (0, 1, 2):
                for g in guards_after.get(gid, ()):
                    self._guard(g)
        for gid, (key, nodes) in enumerate(self.groups, start=3):
            self._forward(gid, key, nodes)
            for g in guards_after.get(gid, ()):
                if not mask:
                    mask = True
                    self.emit("ok = np.ones(nb, dtype=bool)")
                self._guard(g)
        if mask:
            self.emit("if not ok.all(): return ok, 0.0, None")
        root_gid, root_col = self.loc[prog.root]
        value = f"s{root_gid}[:, {root_col}]"
        self.emit(f"value = {value}.sum()" if self.is_batch[root_gid] else
                  f"value = {value}.sum() * nb")
        self._unsent_checks()
        if not prog.outputs or not prog.needs_grad[prog.root]:
            self.emit("return None, value, np.zeros(0)")
            return self._function()
        self.pieces: list[list[tuple[list[int], str]]] = [[] for _ in self.widths]
        seed = "seed" if self.is_batch[root_gid] else "seed * nb"
        self.emit(f"seed_{root_gid} = np.full(({'nb' if self.is_batch[root_gid] else 1}, 1), "
                  f"{seed})")
        self.pieces[root_gid].append(([root_col], f"seed_{root_gid}"))
        for gid in reversed(range(3, len(self.widths))):
            if self.needs[gid] and self.pieces[gid]:  # else no gradient reached it
                self.assemble(gid)
                key, nodes = self.groups[gid - 3]
                self._backward(gid, key, nodes)
        out = [self.loc[n] for n, _ in prog.outputs]
        for gid in dict.fromkeys(g for g, _ in out):
            if gid < 3 or not self.pieces[gid]:
                self.assemble(gid)
        self.emit(f"return None, value, {self.fetch(out, False, 'g')}[0]")
        return self._function()

    def _function(self) -> str:
        return "def plan(A, P, seed):\n" + "\n".join(self.lines) + "\n"

    def _guard(self, g: Any) -> None:
        lg, lc = self.loc[g.left]
        left = f"s{lg}[:, {lc}]"
        if g.right_is_node:
            rg, rc = self.loc[g.right]
            right = f"s{rg}[:, {rc}]"
        else:
            cmp, number = _comparable(g.cmp, g.right)
            test = f"({left} {cmp} {number})" if number is not None else \
                f"np.full(nb, {cmp == '!='})"  # no float equals an int beyond the floats
            self.emit(f"ok &= {test}" if g.result else f"ok &= ~{test}")
            return
        test = f"({left} {g.cmp} {right})"
        self.emit(f"ok &= {test}" if g.result else f"ok &= ~{test}")

    def _unsent_checks(self) -> None:
        """The local derivatives no gradient is sent through but the engine's backward
        multiplies (the nodes under the root), where they may not exist: evaluated, so that a
        sample where one fails goes to the exact floats, which raise as the engine does."""
        prog = self.prog
        for gid, checks in self.checks.items():
            _, nodes = self.groups[gid - 3]
            if not any(prog.in_root[n] for n in nodes):
                continue
            for j, check in enumerate(checks):
                sent = self.needs[gid] and any(
                    self.needs[g] for g, _ in self._operands(nodes, j))
                if check is not None and not sent:
                    self.emit(f"# {len(nodes)} x {prog.op_of(nodes[0]).name}: a local "
                              f"derivative that may not exist, evaluated")
                    self.emit(f"_ = {check}")

    def _names(self, gid: int) -> dict[str, str]:
        return {"a": f"a{gid}", "b": f"b{gid}", "s": f"s{gid}", "G": f"g{gid}"}

    def _operands(self, nodes: list[int], j: int) -> list[tuple[int, int]]:
        return [self.loc[self.prog.operands[n][j]] for n in nodes]

    def _forward(self, gid: int, key: tuple[Any, ...], nodes: list[int]) -> None:
        prog = self.prog
        level, op, *rest = key
        batch = self.is_batch[gid]
        k = len(nodes)
        self.emit(f"# {k} x {op.name} (depth {level})")
        form = op.forms.get("batch")
        if op.arity:
            forward, self.terms[gid], self.checks[gid] = elementwise(
                op, rest[0], self._names(gid), self.globals)
            for j, v in enumerate(_OPERANDS[:op.arity]):
                self.emit(f"{v}{gid} = {self.fetch(self._operands(nodes, j), batch)}")
            self.emit(f"s{gid} = {forward}")
        elif form == "dot" and rest[1] == "matmul":
            half, _, side, shared_nodes = rest[:4]
            shared = [self.loc[p] for p in shared_nodes]
            matrix = [self.loc[prog.operands[n][i + (half if side == 0 else 0)]]
                      for n in nodes for i in range(half)]
            self.emit(f"a{gid} = {self.fetch(shared, batch)}")
            source = matrix[0][0]
            block = _block([c for _, c in matrix]) if len({g for g, _ in matrix}) == 1 else None
            if block is not None and block[1] == k and block[3] == half and \
                    block[0] + k * block[2] <= self.widths[source]:
                base, _, stride, _ = block  # a strided view of the parameters, made
                # contiguous once: BLAS multiplies a strided matrix far more slowly
                self.emit(f"m{gid} = np.ascontiguousarray(s{source}[0, {base}:{base + k * stride}]"
                          f".reshape({k}, {stride})[:, :{half}])")
            else:
                self.emit(f"m{gid} = {self.fetch(matrix, False)}.reshape({k}, {half})")
            self.emit(f"s{gid} = a{gid} @ m{gid}.T")
        elif form == "dot":
            half = rest[0]
            xs = [self.loc[prog.operands[n][i]] for n in nodes for i in range(half)]
            ws = [self.loc[prog.operands[n][half + i]] for n in nodes for i in range(half)]
            self.emit(f"a{gid} = {self.fetch(xs, batch)}.reshape(-1, {k}, {half})")
            self.emit(f"b{gid} = {self.fetch(ws, batch)}.reshape(-1, {k}, {half})")
            self.emit(f"s{gid} = (a{gid} * b{gid}).sum(axis=2)")
        else:
            m = rest[1]
            locs = [self.loc[p] for n in nodes for p in prog.operands[n]]
            self.emit(f"a{gid} = {self.fetch(locs, batch)}.reshape(-1, {k}, {m})")
            if form == "sum":
                self.emit(f"s{gid} = a{gid}.sum(axis=2)")
            else:  # a function of the operands on the last axis: (output, local derivatives)
                name = f"F{len(self.globals)}"
                self.globals[name] = form
                arg = ""
                if op.has_arg:  # the constant argument, or where it is data, its columns
                    arg = ", " + (repr(rest[0]) if rest[0] != "data" else self.fetch(
                        # each node has an argument node: the group's key says "data"
                        [self.loc[s] for n in nodes if (s := prog.arg_node[n]) is not None],
                        batch))
                self.emit(f"s{gid}, d{gid} = {name}(a{gid}{arg})")

    def _backward(self, gid: int, key: tuple[Any, ...], nodes: list[int]) -> None:
        prog = self.prog
        _, op, *rest = key
        batch = self.is_batch[gid]
        k = len(nodes)
        form = op.forms.get("batch")
        self.emit(f"# {k} x {op.name}: gradients to operands")
        if op.arity:
            for j, term in enumerate(self.terms[gid]):
                self.scatter(self._operands(nodes, j), term, batch)
        elif form == "dot" and rest[1] == "matmul":
            half, _, side, shared_nodes = rest[:4]
            shared = [self.loc[p] for p in shared_nodes]
            matrix = [self.loc[prog.operands[n][i + (half if side == 0 else 0)]]
                      for n in nodes for i in range(half)]
            self.scatter(shared, f"g{gid} @ m{gid}", batch)
            self.scatter(matrix, f"(g{gid}.T @ a{gid}).reshape(1, {k * half})", False)
        elif form == "dot":
            half = rest[0]
            xs = [self.loc[prog.operands[n][i]] for n in nodes for i in range(half)]
            ws = [self.loc[prog.operands[n][half + i]] for n in nodes for i in range(half)]
            self.scatter(xs, f"(b{gid} * g{gid}[:, :, None]).reshape(-1, {k * half})", batch)
            self.scatter(ws, f"(a{gid} * g{gid}[:, :, None]).reshape(-1, {k * half})", batch)
        else:
            m = rest[1]
            locs = [self.loc[p] for n in nodes for p in prog.operands[n]]
            if form == "sum":
                spread = (f"np.repeat(g{gid}, {m}, axis=1)" if k > 1 else
                          f"np.broadcast_to(g{gid}, (g{gid}.shape[0], {m}))")
                self.scatter(locs, spread, batch)
            else:
                self.scatter(locs, f"(d{gid} * g{gid}[:, :, None]).reshape(-1, {k * m})",
                             batch)


def _block(cols: list[int]) -> tuple[int, int, int, int] | None:
    """(base, k, stride, n) when `cols` are k runs of n consecutive columns, each run
    `stride` after the one before (stride >= n), else None."""
    if not cols:
        return None
    base = cols[0]
    n = 1
    while n < len(cols) and cols[n] == base + n:
        n += 1
    if len(cols) % n:
        return None
    k = len(cols) // n
    stride = cols[n] - base if k > 1 else n
    if stride < n:
        return None
    for j in range(k):
        start = base + j * stride
        if cols[j * n:(j + 1) * n] != list(range(start, start + n)):
            return None
    return base, k, stride, n


def plan_of(rec: Any) -> _Plan | None:
    """The recording's NumPy plan (built once, and checked against the engine's backward pass
    at the recorded point), or None if some op has no NumPy form."""
    if rec.batch is None:
        try:
            rec.batch = _Plan(rec.prog)
        except Numeric:
            rec.batch = False
        else:
            if not _plan_agrees(rec):
                # NumPy's exp, log... differ from math's in the last bit, which an
                # ill-conditioned fn (sin of 1e36) turns into any number: the exact replay
                # takes these samples
                rec.batch = False
    return rec.batch or None


def _plan_agrees(rec: Any) -> bool:
    """Whether the plan gives what backward() gives at the recorded point."""
    prog = rec.prog
    if prog.reference is None:
        return True
    data = [0.0] * len(prog.params)
    for n, kind in enumerate(prog.kind):
        if kind == PARAM:
            data[prog.slot[n]] = prog.value[n]
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            ok, value, grads = rec.batch.run(np.array([rec.floats]), np.array([data]), 1.0)
    except (Numeric, FloatingPointError):
        return True  # the exact replay takes these numbers over
    want_value, want = prog.reference
    finite = [abs(w) for w in (want_value, *want) if math.isfinite(w)]
    tol = 1e-9 * max([1.0, *finite])
    return ok is None and all(_close(float(a), b, tol)
                              for a, b in zip([value, *grads.tolist()], [want_value, *want]))


def _close(a: float, b: float, tol: float) -> bool:
    """Equal within `tol`, an infinity only to itself and nan only to nan (Python floats: no
    NumPy error state applies)."""
    if a == b or (a != a and b != b):
        return True
    return abs(a - b) <= tol


# --- the mean over a batch ------------------------------------------------------------------


def mean(tape: Any, batched: tuple[Any, ...]) -> float:
    """The mean of the tape's fn over the samples of `batched`; adds its gradient to .grad."""
    size = _batch_size(batched)
    acc = _Sums(tape)
    split = _split(batched, size, tape) if np is not None else None
    if split is None:
        for i in range(size):
            key, floats = flatten(tuple(arg[i] for arg in batched))
            acc.sample(*tape.find_for(key, floats))
    else:
        rows, groups = split
        data = _Data(tape)
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            for key, index in groups:
                _group(tape, key, rows if index is None else rows[index], acc, data)
    if np is None:
        return acc.finish(size)
    with np.errstate(all="ignore"):  # inf + -inf is nan, silently, as in Python floats
        return acc.finish(size)


def _add(a: Any, b: Any) -> Any:
    """Gradients summed as Python floats sum them: no NumPy error state applies."""
    with np.errstate(all="ignore"):
        return np.add(a, b)


class _Data:
    """The parameters' data, read once per batch for every recording."""

    def __init__(self, tape: Any) -> None:
        self.tape = tape
        self.values: Any = None
        self.rows: dict[int, Any] = {}

    def row(self, rec: Any) -> Any:
        row = self.rows.get(id(rec))
        if row is None:
            inputs = self.tape.inputs
            if self.values is None or len(self.values) < len(inputs):  # a new recording
                arrays = self.tape.stored("inputs").arrays(adopt=True)
                if arrays is not None:  # kept in arrays (for the optimizer too): read at once
                    data, _, index = arrays
                    self.values = data[index].copy()
                else:
                    self.values = np.fromiter(map(_data, inputs), float, len(inputs))
            index = _indices(rec)[1]
            if index is None:  # it reads the first inputs, in order
                row = self.values[: len(rec.input_index)].reshape(1, -1)
            else:
                row = self.values[index].reshape(1, -1)
            self.rows[id(rec)] = row
        return row


def _comparable(cmp: str, number: Any) -> tuple[str, str | None]:
    """A comparison with a number as NumPy can make it on floats, with Python's answer: an int
    beyond the floats' range compares as an infinity does, with `<=` as `<` and `>=` as `>`
    (no float equals it); None for `==` and `!=` with such an int."""
    if isinstance(number, int):
        try:
            return cmp, repr(float(number)) if abs(number) > 2**53 else repr(number)
        except OverflowError:
            if cmp in ("==", "!="):
                return cmp, None
            strict = {"<=": "<", ">=": ">"}.get(cmp, cmp)
            return strict, "np.inf" if number > 0 else "-np.inf"
    text = repr(float(number))
    return cmp, {"inf": "np.inf", "-inf": "-np.inf", "nan": "np.nan"}.get(text, text)


def _batch_size(batched: tuple[Any, ...]) -> int:
    if not batched:
        raise TypeError("tape.mean: give the batch, one list (or array) over the samples per "
                        "argument of fn")
    sizes = []
    for i, arg in enumerate(batched):
        if not isinstance(arg, (list, tuple)) and not (hasattr(arg, "shape") and
                                                         getattr(arg, "ndim", 0) >= 1):
            raise TypeError(f"tape.mean: argument {i} must be a list (or tuple, or NumPy array) "
                            f"over the samples, one item per sample, got {type(arg).__name__}")
        sizes.append(len(arg))
    if len(set(sizes)) != 1:
        raise ValueError(f"tape.mean: the arguments hold different numbers of samples {sizes}")
    if not sizes[0]:
        raise ValueError("tape.mean: the batch is empty (the mean of nothing is undefined)")
    return sizes[0]


class _Sums:
    """Values and gradients summed over the samples, by recording."""

    def __init__(self, tape: Any) -> None:
        self.tape = tape
        self.value = 0.0
        self.grads: dict[int, tuple[Any, Any]] = {}  # recording id -> (recording, sum)

    def sample(self, rec: Any, value: float, grads: Any) -> None:
        self.value += value
        held = self.grads.get(id(rec))
        if held is None:
            self.grads[id(rec)] = (rec, list(grads))
        elif isinstance(held[1], list):
            held[1][:] = map(add, held[1], grads)
        else:
            self.grads[id(rec)] = (rec, _add(held[1], grads))

    def batch(self, rec: Any, value: float, grads: Any) -> None:
        held = self.grads.get(id(rec))
        self.grads[id(rec)] = (rec, grads if held is None else _add(held[1], grads))
        self.value += float(value)

    def finish(self, size: int) -> float:
        held = list(self.grads.values())
        if len(held) == 1:  # one recording: its own targets, in its own order
            rec, grads = held[0]
            stored = self.tape.stored("params") if np is not None else None
            if stored is not None and isinstance(grads, np.ndarray) and \
                    stored.arrays(adopt=True) is not None:
                grad = stored.arrays()[1]  # the gradients in arrays: added at once
                grad[stored.positions[_indices(rec)[0]]] += np.divide(grads, size)
                return self.value / size
            if np is not None and isinstance(grads, np.ndarray):
                scaled = np.divide(grads, size).tolist()
            else:
                scaled = [g / size for g in grads]
            for v, g in zip(rec.targets, scaled):
                v._grad += g
            return self.value / size
        params = self.tape.params
        if np is not None:  # several recordings (branches, static ints): summed by position
            total = np.zeros(len(params))
            touched = np.zeros(len(params), dtype=bool)
            for rec, grads in held:
                index = _indices(rec)[0]
                total[index] += grads  # a recording's targets are distinct
                touched[index] = True
            where = np.flatnonzero(touched)
            stored = self.tape.stored("params")
            if stored.arrays(adopt=True) is not None:
                grad = stored.arrays()[1]
                grad[stored.positions[where]] += np.divide(total[where], size)
                return self.value / size
            for j, g in zip(where.tolist(), np.divide(total[where], size).tolist()):
                params[j]._grad += g
            return self.value / size
        totals: dict[int, float] = {}
        for rec, grads in held:
            for j, g in zip(rec.index, grads):
                totals[j] = totals.get(j, 0.0) + g
        for j, g in totals.items():
            params[j]._grad += g / size
        return self.value / size


def _indices(rec: Any) -> tuple[Any, Any]:
    """A recording's targets and inputs as positions in its tape's lists (NumPy arrays, made
    once; None for inputs that are the first of the tape's, in order)."""
    cached = getattr(rec, "_positions", None)
    if cached is None or len(cached[0]) != len(rec.index):
        inputs = None if rec.input_index == list(range(len(rec.input_index))) else \
            np.array(rec.input_index, dtype=np.intp)
        cached = rec._positions = (np.array(rec.index, dtype=np.intp), inputs)
    return cached


def _group(tape: Any, key: tuple[Any, ...], rows: Any, acc: _Sums, data: _Data) -> None:
    """Replay the samples `rows` (their floats, one row each) of one structure `key`."""
    pending = rows
    while len(pending):
        for rec in tape.recordings.get(key, ()):
            plan = plan_of(rec)
            if plan is None:
                return _one_by_one(tape, key, pending, acc)
            p = data.row(rec)
            try:
                ok, value, grads = plan.run(pending, p, 1.0)
                if ok is None:
                    acc.batch(rec, value, grads)
                    return None
                if ok.any():
                    _, value, grads = plan.run(pending[ok], p, 1.0)
                    acc.batch(rec, value, grads)
                    pending = pending[~ok]
            except (Numeric, FloatingPointError):
                return _one_by_one(tape, key, pending, acc)
        if len(pending):  # a branch no recording took yet: record it at the first such sample
            try:
                tape.record(key, pending[0].tolist())
            except IntsAreStatic:  # that branch uses the ints otherwise: static from now on
                tape.ints_are_data[key] = False
                return _one_by_one(tape, key, pending, acc)
    return None


def _one_by_one(tape: Any, key: tuple[Any, ...], rows: Any, acc: _Sums) -> None:
    for row in rows.tolist():
        if INT in key:
            acc.sample(*tape.find_for(*static_key(key, row)))
        else:
            acc.sample(*tape.find(key, row))


# --- splitting a batch: the floats of all samples as one array, grouped by their ints -------

_FLOATS = {float, np.float64} if np is not None else {float}
_INTS = {int, np.int64} if np is not None else {int}
_INT64 = 2**63


def _split(batched: tuple[Any, ...], size: int, tape: Any) -> Any:
    """(rows, [(key, index of the rows with that key or None for all)]), or None when the
    batch is not regular (then each sample is flattened on its own). Where fn only computes
    with the ints, they are columns like the floats: one key for the whole batch."""
    columns = [_column(arg, size) for arg in batched]
    shapes = tuple((kind, array.shape[1:], boxes) for kind, array, boxes in columns if kind)
    if len(shapes) < len(columns):  # an argument with no one shape and kind of container
        return None
    template = _template(shapes)
    if not any(kind == "i" for kind, _, _ in columns):
        return _concatenate([a for _, a, _ in columns], size), [(template, None)]
    first = flatten(tuple(arg[0] for arg in batched))
    tape.decide_ints(*first)
    data = as_data(*first)
    if data is not None and tape.ints_are_data.get(data[0]):
        return _concatenate([a.astype(float) for _, a, _ in columns], size), [(data[0], None)]
    rows = _concatenate([a for kind, a, _ in columns if kind == "f"], size)
    ints = _concatenate([a for kind, a, _ in columns if kind == "i"], size)
    slots = [i for i, t in enumerate(template) if t.__class__ is int]
    if ints.shape[1] == 1:
        values, inverse = np.unique(ints[:, 0], return_inverse=True)
        values = values.reshape(-1, 1)
    else:
        values, inverse = np.unique(ints, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    groups = []
    for g, row in enumerate(values.tolist()):
        key = list(template)
        for i, v in zip(slots, row):
            key[i] = v
        index = None if len(values) == 1 else np.flatnonzero(inverse == g)
        groups.append((tuple(key), index))
    return rows, groups


def _concatenate(parts: list[Any], size: int) -> Any:
    parts = [a.reshape(size, -1) for a in parts]
    if not parts:
        return np.zeros((size, 0))
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


_TEMPLATES: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _template(shapes: tuple[tuple[str, tuple[int, ...], tuple[str, ...]], ...]) -> tuple[Any, ...]:
    """The structure key of one sample whose arguments have these kinds, shapes and container
    kinds, level by level (ints shown as 0, to be filled in): what `flatten` gives for one
    sample of the batch."""
    key = _TEMPLATES.get(shapes)
    if key is None:
        tokens: list[Any] = [TUPLE]
        for kind, shape, boxes in shapes:
            _nest(tokens, FLOAT if kind == "f" else 0, shape, boxes)
        tokens.append(END)
        key = _TEMPLATES[shapes] = tuple(tokens)
    return key


def _nest(tokens: list[Any], leaf: Any, shape: tuple[int, ...], boxes: tuple[str, ...]) -> None:
    if not shape:
        tokens.append(leaf)
        return
    tokens.append(boxes[0])
    for _ in range(shape[0]):
        _nest(tokens, leaf, shape[1:], boxes[1:])
    tokens.append(END)


def _column(arg: Any, size: int) -> tuple[str | None, Any, tuple[str, ...]]:
    """("f", floats, containers) or ("i", ints, containers) for one argument over the batch,
    `containers` the kind of list (LIST or TUPLE) at each level of one sample, or None where
    the samples do not all have one shape and one kind of container per level."""
    if isinstance(arg, np.ndarray):
        lists = (LIST,) * (arg.ndim - 1)
        if arg.dtype.kind == "f":
            return "f", arg.astype(float, copy=False), lists
        if arg.dtype.kind == "i" or (arg.dtype.kind == "u" and (not arg.size or
                                                                arg.max() < _INT64)):
            return "i", arg.astype(np.int64), lists
        return None, None, ()
    if isinstance(arg, dict) or not isinstance(arg, (list, tuple)):
        return None, None, ()
    boxes: list[str] = []
    level: Any = arg
    while True:
        kinds = set(map(type, level))
        if kinds == {list} or kinds == {tuple}:
            boxes.append(LIST if kinds == {list} else TUPLE)
            level = list(chain.from_iterable(level))
            continue
        break
    try:
        if kinds <= _FLOATS:
            return "f", np.array(arg, dtype=float), tuple(boxes)
        if kinds <= _INTS:
            return "i", np.array(arg, dtype=np.int64), tuple(boxes)
    except (ValueError, OverflowError):  # ragged, or an int beyond 64 bits
        return None, None, ()
    return None, None, ()
