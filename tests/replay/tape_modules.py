"""The module of a fuzzed program: parameters, a model, globals, closures, and `fn`.

Parameters with labels (some chosen to collide with the names a tape generates, some
unicode, some empty), sometimes an `nn.MLP`, a coefficient in a global, a closure or an
object's attribute, an interior node computed outside the function, and the function `fn`
itself, which closes over all of that: branches on comparisons of Values and on `.data`,
numbers read with `.data`/`.item()`/`.detach()` or computed under `no_grad`, every op of
`autograd.ops.OPS`, the losses of `nn.losses`, a plain number returned on some branch, a
parameter returned as it is. Written as Python source, as people write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tape_choices import NICE, Choices, grouped, literal, negative, number

from autograd.ops import UNARY

FEATURES = frozenset({
    "labels",      # hostile parameter labels (generated names, NFKC twins, unicode, empty)
    "names",       # hostile names for fn and its arguments (tanh, log, v1, seed, args, ...)
    "model",       # an nn.MLP, in a global or in a closure
    "interior",    # a node computed from the parameters outside fn, closed over
    "detach",      # p.detach() of a parameter
    "data_reads",  # numbers read with .data / .item() (of a parameter or a traced value)
    "no_grad",     # products computed under no_grad
    "branches",    # if on comparisons of Values, max(0.0, ...), early returns
    "data_branches",  # if on .data of a traced value
    "schedules",   # a number in a global, a closure cell or an attribute, changed between calls
    "rebinding",   # the model rebound to a deepcopy of itself or of a saved copy
    "ints",        # class indices, +-1 targets, pixel-like int lists
    "specials",    # nan, inf, -0.0, huge and tiny numbers, kinks at 0
    "losses",      # nn.losses: hinge, mse, bce, bce_with_logits, cross_entropy
    "batches",     # t.mean on NumPy arrays, unsigned ints, tuples, ragged samples
    "steps",       # optimizer steps and writes to .data between calls
})
"""What a scenario may contain; `scenarios(features=...)` leaves some out (to isolate a bug)."""


# --- names ----------------------------------------------------------------------------------------

# Labels a tape's generated code could collide with, NFKC twins (one Python identifier after
# normalisation), unicode and empty labels, and labels that are not identifiers at all.
HOSTILE_LABELS = (
    "v1", "v2", "v3", "g_v1", "g_v2", "args", "params", "seed", "x0", "x1", "p0", "p1", "tanh",
    "log", "exp", "sqrt", "np", "INF", "NAN", "e", "power", "abs", "_log", "None", "True",
    "lambda", "class", "return", "", " ", "1x", "w-1", "layers.0.w.1", "g_", "g_w", "_",
    "__class__", "fn", "replay", "tape", "self", "math", "sum", "max", "print", "é", "θ",
    "x₀", "ﬁ", "fi", "ｗ", "w", "w_2", "a\nb", "it's", 'say "hi"', "back\\slash",
)
NFKC_TWINS = (("ﬁ", "fi"), ("x₀", "x0"), ("ｗ", "w"), ("Ⅸ", "IX"), ("ℌ", "H"))
LABEL_CHARS = "abxyzw01_.- éﬁ₀λ\u0301'\"\\"
PLAIN_LABELS = ("w", "b", "w1", "w2", "bias", "scale")

# Names for fn and for its arguments: the generated code's own names, builtins it may call,
# and unicode identifiers. None is a name the body of fn uses for something else.
HOSTILE_FN_NAMES = ("loss", "tanh", "log", "v1", "seed", "args", "params", "replay", "exp",
                    "g_v1", "x0", "sigmoid", "INF", "e", "f", "λ", "ﬁ", "lambda")
HOSTILE_ARG_NAMES = ("args", "params", "seed", "v1", "v2", "g_v1", "x0", "x1", "np", "INF",
                     "NAN", "e", "power", "exp", "log", "tanh", "_log", "g_x", "arg0", "λ",
                     "θ", "ﬁ", "w", "b", "p")

UNARY_METHODS = tuple(UNARY)  # every op `Value` has a method for: a new one is drawn too
BINARY = ("+", "-", "*", "/", "**")
INNER_GRADS = ("lambda z: (z * z).tanh()", "lambda z: z.sin() * z", "lambda z: z.exp() / 2")


@dataclass
class Arg:
    """One argument of fn: what it holds (`kind`), its name, and list length / class count."""

    kind: str  # float, floats, index, sign, pixels, prob
    name: str
    size: int = 1
    float_sign: bool = False  # a +-1 target passed as 1.0 / -1.0 instead of an int


@dataclass
class Expr:
    code: str
    atomic: bool  # safe as an operand without parentheses

    def atom(self) -> str:
        return self.code if self.atomic else f"({self.code})"


@dataclass
class Program:
    """A module's source and what the script may do with it."""

    source: str
    fn_name: str
    args: list[Arg]
    classes: int
    model: str | None = None  # "global" or "closure"
    params: list[str] = field(default_factory=list)
    coef: list[str] = field(default_factory=list)  # "global", "closure", "attribute"
    optimizer: bool = False


# --- the module: parameters, model, globals and fn ------------------------------------------


class _Scope:
    """What fn's body may read at this point: Value-valued and number-valued expressions."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.numbers: list[str] = []
        self.frozen_values: list[str] = []  # read outside the graph: .detach(), no_grad
        self.frozen_numbers: list[str] = []  # .data / .item() reads
        self.traced: list[str] = []  # locals computed inside fn (Values)
        self.unused: list[str] = []  # locals not read yet: the next expressions prefer them


class ProgramWriter:
    """Draws one program, feature by feature, and renders it."""

    def __init__(self, c: Choices, features: frozenset[str] = FEATURES) -> None:
        self.c = c
        self.on = features
        self.focused = len(features) <= 5  # drawn for a few features: use them more often
        self.counter = 0  # numbers fn's locals: h1, c2, ...

    def has(self, feature: str, percent: int) -> bool:
        """Whether this program has `feature` (drawn with about this chance; most of the
        time when the program is drawn for a few features only)."""
        if self.focused:
            percent = max(percent, 75)
        return feature in self.on and self.c.flag(percent)

    # -- the module ----------------------------------------------------------------------------

    def write(self) -> Program:
        c = self.c
        self.args = self._arguments()
        self.classes = 2 + c.pick(3)
        n_params = 1 + c.pick(4)
        self.params = [f"p{i}" for i in range(n_params)]
        header = ["import copy", "import math", "", "import numpy as np", "",
                  "from autograd import Value, dot, grad, no_grad, sum_",
                  "from autograd import tape", "from nn import MLP",
                  "from nn.losses import bce, bce_with_logits, cross_entropy, hinge, mse",
                  "from nn.optim import SGD, Adam", ""]
        body = []
        for name, label in zip(self.params, self._labels(n_params)):
            body.append(f"{name} = Value({literal(number(c, specials=False))}, "
                        f"label={label!r})")
        floats = next((a for a in self.args if a.kind == "floats"), None)
        pixels = next((a for a in self.args if a.kind == "pixels"), None)
        self.model_input = None
        self.model = None
        self.model_out = 1
        if (floats or pixels) and self.has("model", 35):
            source = floats if floats and (not pixels or c.flag(50)) else pixels
            self.model_input = (source.name if source.kind == "floats"
                                else f"[v / 255 for v in {source.name}]")
            self.model_out = c.choice((1, self.classes))
            act = c.choice(("relu", "tanh", "sigmoid", "linear"))
            hidden = 1 + c.pick(4)
            body.append(f"model = MLP({source.size}, [{hidden}, {self.model_out}], "
                        f"activation={act!r}, seed={c.pick(100)})")
            self.model = "closure" if c.flag(40) else "global"
            if "rebinding" in self.on:
                body.append("saved = copy.deepcopy(model)")
        self.ws = None
        if floats:
            self.ws = [c.choice(self.params) for _ in range(floats.size)]
            body.append(f"ws = [{', '.join(self.ws)}]")
        self.interior = None
        if "interior" in self.on and c.flag(25):  # never more: after a step, eager raises
            self.interior = "H"
            a, b = c.choice(self.params), c.choice(self.params)
            body.append(f"H = ({a} * {b} + {literal(c.choice(NICE))}).tanh()  "
                        "# computed once, outside fn")
        self.coef: list[str] = []
        if self.has("schedules", 40):
            body.append(f"COEF = {literal(c.choice(NICE))}")
            self.coef.append("global")
        if self.has("schedules", 25):
            body.append("class Config:\n    scale = 1.0\n\n\ncfg = Config()")
            self.coef.append("attribute")
        closure_beta = self.has("schedules", 35)
        if closure_beta:
            self.coef.append("closure")
        self.fn_name = c.choice(HOSTILE_FN_NAMES) if self.has("names", 40) else "fn"
        fn_lines = self._function()
        body.append("")
        if closure_beta or self.model == "closure":
            body += self._factory(fn_lines, closure_beta)
        else:
            body += fn_lines
        params = ", ".join(self.params)
        if self.model is not None:
            params += ", *model.parameters()"
        optimizer = "steps" in self.on
        if optimizer:
            body.append("")
            kind = c.choice(("SGD({}, lr=0.1)", "Adam({}, lr=0.05)", "SGD({}, lr=0.5, "
                             "momentum=0.9)"))
            body.append("opt = " + kind.format(f"[{params}]"))
        source = "\n".join(header + body) + "\n"
        return Program(source, self.fn_name, self.args, self.classes,
                       self.model, self.params, self.coef, optimizer)

    def _arguments(self) -> list[Arg]:
        c = self.c
        kinds = ["float"]
        if c.flag(50):
            kinds.append("floats")
        if "ints" in self.on:
            kinds += [k for k in ("index", "sign", "pixels") if c.flag(25)]
        if c.flag(15):
            kinds.append("prob")
        if c.flag(30):
            kinds.remove("float")
            if not kinds:
                kinds = ["floats"]
        names = {"float": "x", "floats": "xs", "index": "k", "sign": "y", "pixels": "px",
                 "prob": "target"}
        args = []
        taken: set[str] = set()
        for kind in kinds:
            name = names[kind]
            if self.has("names", 25):
                name = c.choice(HOSTILE_ARG_NAMES)
            if name in taken:
                name = names[kind]
            taken.add(name)
            size = 1 + c.pick(4) if kind in ("floats", "pixels") else 1
            args.append(Arg(kind, name, size, kind == "sign" and c.flag(40)))
        return args

    def _labels(self, n: int) -> list[str]:
        c = self.c
        if "labels" not in self.on:
            return [PLAIN_LABELS[i % len(PLAIN_LABELS)] for i in range(n)]
        labels = []
        for _ in range(n):
            kind = c.pick(10)
            if kind < 4:
                labels.append(c.choice(PLAIN_LABELS))
            elif kind < 8:
                labels.append(c.choice(HOSTILE_LABELS))
            else:
                labels.append("".join(c.choice(LABEL_CHARS) for _ in range(c.pick(5))))
        if n >= 2 and c.flag(30):
            a, b = c.choice(NFKC_TWINS)
            labels[0], labels[1] = a, b
        return labels

    def _factory(self, fn_lines: list[str], beta: bool) -> list[str]:
        """fn inside `make_loss(beta, net)`, with a setter for each: closure cells that the
        script changes between calls (a schedule, a model rebound)."""
        closed = (["beta"] if beta else []) + (["net"] if self.model == "closure" else [])
        lines = [f"def make_loss({', '.join(closed)}):"]
        lines += ["    " + line if line else "" for line in fn_lines]
        returned = [self.fn_name]
        for name in closed:
            setter = "set_" + name
            returned.append(setter)
            lines += [f"    def {setter}(value):", f"        nonlocal {name}",
                      f"        {name} = value", ""]
        lines.append(f"    return {', '.join(returned)}")
        lines += ["", ""]
        given = ([literal(self.c.choice(NICE))] if beta else []) + (
            ["model"] if self.model == "closure" else [])
        lines.append(f"{', '.join(returned)} = make_loss({', '.join(given)})")
        return lines

    # -- fn ------------------------------------------------------------------------------------

    def _function(self) -> list[str]:
        scope = self._scope()
        body: list[str] = []
        for _ in range(4):
            lines = grouped(self, lambda: self._statement(scope) if self.c.flag(60) else None)
            if lines is None:
                break
            body += lines
        ret = self._return(scope)
        arglist = ", ".join(a.name for a in self.args)
        if self.fn_name == "lambda":  # a lambda where fn is one expression, else `loss`
            self.fn_name = "loss"
            if not body and "\n" not in ret:
                return [f"loss = lambda {arglist}: {ret[len('return '):]}"]
        lines = [f"def {self.fn_name}({arglist}):"]
        lines += ["    " + line for line in body + ret.split("\n")]
        return lines

    def _scope(self) -> _Scope:
        s = _Scope()
        for a in self.args:
            if a.kind in ("float", "prob") or (a.kind == "sign" and a.float_sign):
                s.values.append(a.name)
            elif a.kind == "floats":
                s.values += [f"{a.name}[0]", f"{a.name}[-1]"]
                # its structure: the length, and (as for a pair) whether it is a tuple
                s.numbers += [f"len({a.name})", f"(1.0 if isinstance({a.name}, tuple) else 0.5)"]
            elif a.kind == "index":
                s.numbers += [a.name, f"(1 - 2 * {a.name})"]  # int arithmetic on a label
                # a lookup by the label (an embedding's row): a list index reads the int itself
                table = [self.params[i % len(self.params)] for i in range(self.classes)]
                s.values.append(f"[{', '.join(table)}][{a.name}]")
            elif a.kind == "sign":
                s.numbers.append(a.name)
            elif a.kind == "pixels":
                s.numbers += [f"{a.name}[0] / 255", f"({a.name}[-1] - 128)"]
        s.values += self.params
        if self.interior:
            s.values.append(self.interior)
        if "global" in self.coef:
            s.numbers.append("COEF")
        if "attribute" in self.coef:
            s.numbers.append("cfg.scale")
        if "closure" in self.coef:
            s.numbers.append("beta")
        for p in self.params:
            if "data_reads" in self.on:
                s.frozen_numbers += [f"{p}.data", f"{p}.item()"]
            if "detach" in self.on:
                s.frozen_values.append(f"{p}.detach()")
        return s

    def _model_call(self) -> str:
        return f"{'net' if self.model == 'closure' else 'model'}({self.model_input})"

    def _local(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _statement(self, s: _Scope) -> list[str]:
        c = self.c
        kind = c.pick(10)
        if kind >= 8 and "data_reads" in self.on and s.traced:
            # a number read from a traced value: frozen at the recording unless the tape sees it
            name = self._local("c")
            src = c.choice(s.traced)
            s.numbers.append(name)
            s.unused.append(name)
            return [f"{name} = {src}.{c.choice(('data', 'item()'))}"]
        if kind >= 6 and "no_grad" in self.on:
            name = self._local("c")
            if c.flag(60):  # a product with a parameter, as a running statistic would be
                code = Expr(f"{c.choice(self.params)} * {self.value(s, 2).atom()}", False)
            else:
                code = self.value(s, 2)
            s.frozen_values.append(name)
            s.unused.append(name)
            return ["with no_grad():", f"    {name} = {code.code}"]
        if kind >= 4 and s.traced and ("branches" in self.on or "data_branches" in self.on):
            name = self._local("h")
            cond = self._condition(s)
            a, b = self.value(s, 3), self.value(s, 3)
            s.values.append(name)
            s.traced.append(name)
            s.unused.append(name)
            return [f"if {cond}:", f"    {name} = {a.code}", "else:", f"    {name} = {b.code}"]
        name = self._local("h")
        code = self.value(s, 4)
        s.values.append(name)
        s.traced.append(name)
        s.unused.append(name)
        return [f"{name} = {code.code}"]

    def _condition(self, s: _Scope) -> str:
        c = self.c
        left = c.choice(s.traced)
        others = [v for v in s.traced if v != left]
        right = c.choice(["0", "0.0", *s.numbers[:3], *others]) if c.flag(60) else "0.0"
        op = c.choice((">", "<", ">=", "<="))
        if "data_branches" in self.on and ("branches" not in self.on or c.flag(40)):
            if right in others:
                right += ".data"
            return f"{left}.data {op} {right}"
        return f"{left} {op} {right}"

    def _return(self, s: _Scope) -> str:
        c = self.c
        kind = c.pick(12)
        if kind >= 11 and not (self.focused and s.unused):
            return f"return {c.choice(self.params)}"  # a parameter itself
        if kind >= 9 and "branches" in self.on:
            sign = next((a.name for a in self.args if a.kind == "sign"), None)
            y = sign if sign is not None else "1.0"
            zero = c.choice(("0.0", "0"))
            return f"return max({zero}, 1 - {y} * {self.value(s, 3).atom()})"
        if kind >= 7 and "branches" in self.on and s.traced:
            cond = self._condition(s)
            early = c.choice(("0.0", "-1.0", c.choice(self.params), self.value(s, 2).code))
            return f"if {cond}:\n    return {early}\nreturn {self.value(s, 4).code}"
        main = self.value(s, 5)
        if s.unused and (self.focused or c.flag(70)):  # what fn computed, unused so far
            main = Expr(f"sum_([{', '.join([main.code, *s.unused])}])", True)
            s.unused.clear()
        if self.coef and c.flag(50):  # a weighted term: the weight on a schedule
            weight = {"global": "COEF", "attribute": "cfg.scale", "closure": "beta"}[
                c.choice(self.coef)]
            return f"return {main.atom()} + {weight} * {self.value(s, 2).atom()}"
        return f"return {main.code}"

    # -- expressions ---------------------------------------------------------------------------

    def leaf(self, s: _Scope) -> Expr:
        c = self.c
        fresh = [v for v in s.unused if v not in s.numbers]
        if fresh and c.flag(60):
            name = c.choice(fresh)
            s.unused.remove(name)
            return Expr(name, True)
        if s.frozen_values and c.flag(50 if self.focused else 25):
            return Expr(c.choice(s.frozen_values), True)
        if s.traced and c.flag(40):  # what fn computed before, so little of it is dead code
            return Expr(c.choice(s.traced), True)
        if self.model is not None and self.model_out == 1 and c.flag(15):
            return Expr(self._model_call(), True)
        return Expr(c.choice(s.values), True)

    def num(self, s: _Scope) -> Expr:
        c = self.c
        fresh = [v for v in s.unused if v in s.numbers]
        if fresh and c.flag(60):
            name = c.choice(fresh)
            s.unused.remove(name)
            return Expr(name, True)
        if self.coef and c.flag(25):  # a weight on a schedule
            return Expr({"global": "COEF", "attribute": "cfg.scale", "closure": "beta"}[
                c.choice(self.coef)], True)
        pool = s.numbers + (s.frozen_numbers if self.focused or c.flag(30) else [])
        if s.traced and "data_reads" in self.on and c.flag(5):
            # grad of a function at a traced value is a float (not in the graph)
            return Expr(f"grad({c.choice(INNER_GRADS)})({c.choice(s.traced)})", True)
        if pool and c.flag(55):
            code = c.choice(pool)
            return Expr(code, "/" not in code)
        x = number(c, specials="specials" in self.on and c.flag(20))
        text = literal(x)
        return Expr(text, not negative(text) and "inf" not in text)

    def value(self, s: _Scope, budget: int) -> Expr:
        """An expression whose result is a Value (up to `budget` levels deep)."""
        c = self.c
        if budget <= 1:
            return self.leaf(s)
        form = c.pick(30)
        sub = budget - 1
        if form < 6:
            return self.leaf(s)
        if form < 12:
            return Expr(f"{self.value(s, sub).atom()}.{c.choice(UNARY_METHODS)}()", True)
        if form < 13:
            return Expr(f"-{self.value(s, sub).atom()}", False)
        if form < 14:
            return Expr(f"abs({self.value(s, sub).code})", True)
        if form < 22:
            op = c.choice(BINARY)
            side = c.pick(3)
            a = self.value(s, sub) if side != 2 else self.num(s)
            if op == "**" and side == 1:  # a constant exponent: the op `**` (POWC)
                k = c.choice(("2", "3", "0.5", "-1", "2.0", "0"))
                b = Expr(k, not negative(k))
            else:
                b = self.value(s, sub) if side != 1 else self.num(s)
            return Expr(f"{a.atom()} {op} {b.atom()}", False)
        if form < 24:
            items = [self.value(s, sub).code for _ in range(1 + c.pick(3))]
            if c.flag(50):
                return Expr(f"sum_([{', '.join(items)}])", True)
            weights = [self.value(s, sub).code if c.flag(70) else self.num(s).code
                       for _ in items]
            return Expr(f"dot([{', '.join(items)}], [{', '.join(weights)}])", True)
        if form < 25 and self.ws is not None:
            xs = next(a.name for a in self.args if a.kind == "floats")
            return Expr(f"dot({xs}, ws)" if c.flag(50) else f"sum_({xs})", True)
        if form < 28 and "losses" in self.on:
            return self._loss(s, sub)
        return self.leaf(s)

    def _loss(self, s: _Scope, budget: int) -> Expr:
        c = self.c
        score = self.value(s, budget)
        kind = c.pick(5)
        sign = next((a.name for a in self.args if a.kind == "sign"), None)
        index = next((a.name for a in self.args if a.kind == "index"), None)
        prob = next((a.name for a in self.args if a.kind == "prob"), None)
        if kind == 0:
            return Expr(f"hinge({score.code}, {sign or c.choice(('1', '-1', '1.0'))})", True)
        if kind == 1:
            target = self.num(s).code if c.flag(50) else self.value(s, budget).code
            return Expr(f"mse({score.code}, {target})", True)
        if kind in (2, 3):
            target = prob or c.choice(("0.0", "1.0", "0.25"))
            name = "bce_with_logits" if kind == 2 else "bce"
            p = score.code if kind == 2 else f"{score.atom()}.sigmoid()"
            return Expr(f"{name}({p}, {target})", True)
        target = index or str(c.pick(self.classes))
        if self.model is not None and self.model_out == self.classes and c.flag(60):
            return Expr(f"cross_entropy({self._model_call()}, {target})", True)
        logits = [score.code] + [self.value(s, budget).code for _ in range(self.classes - 1)]
        return Expr(f"cross_entropy([{', '.join(logits)}], {target})", True)
