"""Random user programs for `tape`: a module (`tape_modules`) and a script that uses it.

The script: `t = tape(fn, ...)`, calls `t(...)` and `t.mean(...)`, and between them what
users do: optimizer steps, a schedule, a model rebound to a copy, a write to `.data`, new
arguments, batches of odd structure (NumPy arrays, unsigned ints, tuples, ragged samples).
A `Scenario` shows itself as that script, runnable as it is. The text is ours, never a
user's: the oracle (`tape_oracle`) runs it with `exec`/`eval`, so what a failing example
shows is exactly what ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tape_choices import NICE, Choices, HypothesisChoices, RandomChoices, grouped, literal, number
from tape_modules import FEATURES, Arg, Program, ProgramWriter

__all__ = ["FEATURES", "Choices", "Program", "RandomChoices", "Scenario", "Step",
           "scenarios", "write_scenario"]


@dataclass
class Step:
    """One line of the script: `tape` (t = tape(...)), `call` (t(...)), `mean` (t.mean(...))
    or `action` (a statement run between calls). `args` is the arguments' source."""

    kind: str
    code: str
    args: str = ""
    trigger: str = ""  # for an action: what kind of change it makes


@dataclass
class Scenario:
    program: Program
    steps: list[Step]

    def script(self, upto: int | None = None, mark: int | None = None) -> str:
        """The whole scenario as one Python script (steps up to `upto`, `mark` pointed at)."""
        lines = [self.program.source.rstrip(), ""]
        for i, step in enumerate(self.steps[:upto]):
            lines.append(step.code + ("   # <-- here" if i == mark else ""))
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:  # hypothesis shows a falsifying example by its repr
        return "\n" + self.script()


# --- the script: arguments, calls and what users do between them -------------------------------


class ScriptWriter:
    """Draws the calls and the actions between them for one program."""

    def __init__(self, c: Choices, program: Program, features: frozenset[str] = FEATURES) -> None:
        self.c = c
        self.p = program
        self.on = features

    def arguments(self, specials: bool = True, odd: bool = False) -> list[Any]:
        """One call's arguments (the structure recorded, or with `odd` sometimes another)."""
        c = self.c
        out: list[Any] = []
        specials = specials and "specials" in self.on
        for a in self.p.args:
            if a.kind == "float":
                out.append(number(c, specials and c.flag(30)))
            elif a.kind == "prob":
                out.append(c.choice((0.0, 1.0, 0.5, 0.25, 0.9, 1e-20)) if c.flag(70)
                           else number(c, specials and c.flag(30)))
            elif a.kind == "floats":
                size = a.size + (c.choice((-1, 1)) if odd and c.flag(20) else 0)
                odd_numbers = specials and c.flag(30)
                xs = [number(c, odd_numbers) for _ in range(max(size, 0))]
                out.append(tuple(xs) if odd and c.flag(30) else xs)
            elif a.kind == "index":
                out.append(c.pick(self.p.classes + (1 if odd and c.flag(10) else 0)))
            elif a.kind == "sign":
                y = c.choice((1, -1)) if not (odd and c.flag(5)) else 0
                out.append(float(y) if a.float_sign else y)
            elif a.kind == "pixels":
                out.append([c.pick(256) for _ in range(a.size)])
        return out

    def batch(self) -> str:
        """`t.mean`'s arguments: one list (or NumPy array) over the samples per argument."""
        c = self.c
        n = 1 + c.pick(5)
        odd = "batches" in self.on and c.flag(40)
        samples = [self.arguments(odd=odd) for _ in range(n)]
        columns = [[s[i] for s in samples] for i in range(len(self.p.args))]
        texts = []
        for a, col in zip(self.p.args, columns):
            if odd and c.flag(40):
                texts.append(self._array(a, col))
            else:
                texts.append(literal(col))
        return ", ".join(texts)

    def _array(self, a: Arg, col: list[Any]) -> str:
        c = self.c
        if a.kind in ("float", "prob"):
            return f"np.array({literal(col)})"
        if a.kind == "floats":
            if len({len(x) for x in col}) == 1 and all(len(x) for x in col):
                return f"np.array({literal([list(x) for x in col])})"
            return literal(col)
        if a.kind == "sign" and not a.float_sign:
            return f"np.array({literal(col)})"
        if a.kind == "sign":
            return f"np.array({literal(col)})"
        dtype = c.choice(("np.int64", "np.uint64", "np.int32", "np.uint8"))
        if a.kind == "pixels" and dtype == "np.int32":
            dtype = "np.uint8"
        return f"np.array({literal(col)}, dtype={dtype})"

    def actions(self) -> list[Step]:
        out = []
        for _ in range(2):
            step = grouped(self, lambda: self._action() if self.c.flag(65) else None)
            if step is None:
                break
            out.append(step)
        return out

    def _action(self) -> Step | None:
        """One thing users do between calls, of those this program allows (or None)."""
        c, p = self.c, self.p
        kinds = []
        if p.optimizer:
            kinds += ["step", "step", "zero_grad"]
        if p.coef:
            kinds += ["schedule", "schedule"]
        if p.model is not None and "rebinding" in self.on:
            kinds += ["rebind", "restore"]
        if "steps" in self.on:  # (a step moves only what has a gradient; a write, anything)
            kinds += ["write", "write"]
        if not kinds:
            return None
        kind = c.choice(kinds)
        if kind == "step":
            return Step("action", "opt.step()", trigger="step")
        if kind == "zero_grad":
            return Step("action", "opt.zero_grad()", trigger="zero_grad")
        if kind == "schedule":
            where = c.choice(p.coef)
            x = literal(c.choice(NICE))
            code = {"global": f"COEF = {x}", "attribute": f"cfg.scale = {x}",
                    "closure": f"set_beta({x})"}[where]
            return Step("action", code, trigger=f"{where} number")
        if kind == "rebind":
            source = c.choice(("model", "saved"))
            code = (f"model = copy.deepcopy({source})" if p.model == "global"
                    else f"set_net(copy.deepcopy({source}))")
            return Step("action", code, trigger=f"{p.model} model rebound")
        if kind == "write":
            target = c.choice(p.params)
            x = literal(number(c, specials=False))
            return Step("action", f"{target}.data = {x}", trigger="data write")
        return Step("action", "model.load_state_dict(saved.state_dict())",
                    trigger="state restored")

    def _call(self) -> list[Step]:
        """What users do, then one call: `t(...)` or `t.mean(...)`."""
        steps = self.actions()
        if self.c.flag(35):
            args = self.batch()
            steps.append(Step("mean", f"t.mean({args})", args=args))
        else:
            args = literal(self.arguments(odd=self.c.flag(15)))[1:-1]
            steps.append(Step("call", f"t({args})", args=args))
        return steps

    def write(self, calls: int = 6) -> list[Step]:
        """The script: `t = tape(...)`, then up to `calls` calls (most often all of them)."""
        example = literal(self.arguments(specials=False))[1:-1]
        steps = [Step("tape", f"t = tape({self.p.fn_name}, {example})", args=example)]
        for i in range(calls):
            more = grouped(self, lambda i=i: self._call() if i == 0 or self.c.flag(95)
                           else None)
            if more is None:
                break
            steps += more
        return steps


def write_scenario(c: Choices, features: frozenset[str] = FEATURES, calls: int = 6) -> Scenario:
    """One program and its script, every choice from `c`."""
    program = ProgramWriter(c, features).write()
    return Scenario(program, ScriptWriter(c, program, features).write(calls))


def scenarios(features: frozenset[str] = FEATURES, calls: int = 6) -> Any:
    """A hypothesis strategy of scenarios (shown, when one fails, as their script)."""
    from hypothesis import strategies as st

    @st.composite
    def draw(draw_: Any) -> Scenario:
        return write_scenario(HypothesisChoices(draw_), features, calls)

    return draw()
