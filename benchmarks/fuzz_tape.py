"""The tape against the eager program on many random user programs: how often a replay is
equal, an honest refusal, a silent difference or a crash, and the smallest program for each
kind of failure. A long run of what `tests/replay/test_tape_programs.py` does in `make test`.

    python benchmarks/fuzz_tape.py                        # 1000 programs, 6 calls each
    python benchmarks/fuzz_tape.py --programs 200 --seed 7
    python benchmarks/fuzz_tape.py --seconds 60           # as many programs as fit
    python benchmarks/fuzz_tape.py --without labels --without names   # isolate a cause
    python benchmarks/fuzz_tape.py --stand-in "parameters' data"      # check the judge

Each program (`tests/replay/tape_programs.py`) is called `--calls` times, each call `t(...)` or
`t.mean(...)` on new arguments, with what users do in between (optimizer steps, a schedule,
a model rebound to a copy, writes to `.data`); `tests/replay/tape_oracle.py` judges each call
against the eager program. A failure's kind is what went wrong (a different value, a
NameError, ...) with what the script had changed since the tape was made; each kind is
shrunk (fewer choices, smaller ones) to the smallest program that still shows it, printed
as a script you can run. `--stand-in` runs a replay broken on purpose (tests/replay/tape_fakes.py)
instead of `tape`: how long the fuzzer takes to catch each missing guard.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import time
import tokenize
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests" / "replay"):  # as a script: the project, the test helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tape_fakes import BROKEN, EagerReplay  # noqa: E402
from tape_oracle import CRASH, EQUAL, REFUSED, SILENT, UNDECIDED, Outcome, Run  # noqa: E402
from tape_programs import FEATURES, RandomChoices, Scenario, write_scenario  # noqa: E402

CATEGORIES = (EQUAL, REFUSED, SILENT, CRASH, UNDECIDED)


@dataclass
class Kind:
    """One kind of failure after one set of changes: the calls that showed it, and the
    smallest program found."""

    key: tuple[str, str, str]  # call, category, kind
    triggers: frozenset[str]  # what the script changed before the failing call
    needs: frozenset[str] = frozenset()  # hostile labels, a hostile name for fn
    calls: int = 0
    programs: set[int] = field(default_factory=set)
    first: tuple[int, float] = (0, 0.0)  # program number and seconds into the run
    trace: list[int] = field(default_factory=list)
    detail: str = ""
    script: str = ""


def triggers_before(scenario: Scenario, step: int) -> frozenset[str]:
    """What the script did between calls before this step (kinds of actions)."""
    return frozenset(s.trigger for s in scenario.steps[:step] if s.kind == "action")


def only(scenario: Scenario, triggers: frozenset[str]) -> Scenario:
    """The scenario with no other actions between its calls than these kinds."""
    steps = [s for s in scenario.steps if s.kind != "action" or s.trigger in triggers]
    return Scenario(scenario.program, steps)


_LABEL = re.compile(r"""label=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def plain_labels(scenario: Scenario) -> Scenario:
    """The scenario with the parameters labelled w0, w1, ... (the model's labels kept)."""
    count = iter(range(1000))
    source = _LABEL.sub(lambda m: f"label='w{next(count)}'", scenario.program.source)
    return Scenario(replace(scenario.program, source=source), scenario.steps)


def plain_name(scenario: Scenario) -> Scenario:
    """The scenario with fn called `fn`."""
    old = scenario.program.fn_name
    source = rename(scenario.program.source, old, "fn")
    steps = [replace(s, code=rename(s.code, old, "fn")) for s in scenario.steps]
    return Scenario(replace(scenario.program, source=source, fn_name="fn"), steps)


def rename(source: str, old: str, new: str) -> str:
    """`source` with the name `old` (not an attribute, not in a string) spelled `new`."""
    lines = source.splitlines(keepends=True)
    places = []
    before = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string == old and before != ".":
            places.append(token.start)
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            before = token.string
    for row, col in reversed(places):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old):]
    return "".join(lines)


DEFAULT_ARG_NAMES = {"float": "x", "floats": "xs", "index": "k", "sign": "y", "pixels": "px",
                     "prob": "target"}


def plain_args(scenario: Scenario) -> Scenario:
    """The scenario with fn's arguments called x, xs, k, ... (in fn's own lines only)."""
    program = scenario.program
    lines = program.source.splitlines(keepends=True)
    fn = next(node for node in ast.walk(ast.parse(program.source))
              if isinstance(node, (ast.FunctionDef, ast.Assign)) and _defines(node, program))
    start, end = fn.lineno - 1, fn.end_lineno
    text = "".join(lines[start:end])
    args = []
    fn_name = unicodedata.normalize("NFKC", program.fn_name)
    for arg in program.args:
        new = DEFAULT_ARG_NAMES[arg.kind]
        if arg.name == new or unicodedata.normalize("NFKC", arg.name) == fn_name:
            args.append(arg)  # (an argument named as fn is left alone: one token, two names)
            continue
        text = rename(text, arg.name, new)
        args.append(replace(arg, name=new))
    source = "".join([*lines[:start], text, *lines[end:]])
    return Scenario(replace(program, source=source, args=args), scenario.steps)


def _defines(node: ast.AST, program: Any) -> bool:
    name = unicodedata.normalize("NFKC", program.fn_name)
    if isinstance(node, ast.FunctionDef):
        return node.name == name
    return isinstance(node.targets[0], ast.Name) and node.targets[0].id == name  # a lambda


ASPECTS = {"hostile labels": plain_labels, "fn's name": plain_name,
           "hostile argument names": plain_args}
"""Program aspects a failure may need: each maps a scenario to one without it."""


def what(out: Outcome) -> tuple[str, str, str]:
    """A failure's kind: a silent difference in the value or the grads is one kind."""
    kind = "a different number" if out.kind.startswith("different") else out.kind
    return out.call, out.category, kind


class Fuzz:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.features = FEATURES - set(args.without)
        self.make_tape = None
        if args.stand_in == "eager":
            self.make_tape = EagerReplay
        elif args.stand_in:
            self.make_tape = BROKEN[args.stand_in]
        self.calls: Counter[str] = Counter()
        self.raised_alike = 0
        self.refusals: Counter[str] = Counter()
        self.programs_with: Counter[str] = Counter()
        self.kinds: dict[tuple[Any, ...], Kind] = {}
        self.programs = 0

    def scenario(self, choices: RandomChoices) -> Scenario:
        return write_scenario(choices, self.features, self.args.calls)

    def outcomes(self, scenario: Scenario) -> list[Outcome]:
        try:
            return list(Run(scenario, self.make_tape).outcomes())
        except Exception as e:  # noqa: BLE001 - the harness itself failed: show the program
            raise RuntimeError(f"the harness failed on this program ({e!r}):\n"
                               f"{scenario.script()}") from e

    def run(self) -> None:
        start = last = time.perf_counter()
        for n in range(self.args.programs):
            if self.args.seconds and time.perf_counter() - start > self.args.seconds:
                break
            choices = RandomChoices(seed=self.args.seed * 1_000_003 + n)
            scenario = self.scenario(choices)
            seen: set[str] = set()
            for out in self.outcomes(scenario):
                self.note(n, scenario, choices.trace, out, time.perf_counter() - start)
                seen.add(out.category)
            for category in seen:
                self.programs_with[category] += 1
            self.programs += 1
            if time.perf_counter() - last > 2.0:
                last = time.perf_counter()
                self.progress(last - start)
        self.elapsed = time.perf_counter() - start
        say("", self.args.progress, end=True)

    def note(self, n: int, scenario: Scenario, trace: list[int], out: Outcome,
             when: float) -> None:
        if out.call != "tape":
            self.calls[out.category] += 1
            if out.category == EQUAL and out.kind.startswith("raised"):
                self.raised_alike += 1
        if out.category == REFUSED:
            self.refusals[f"{out.call}: {out.kind}"] += 1
        if not out.failed:
            return
        triggers = triggers_before(scenario, out.step)
        key = (*what(out), triggers)
        kind = self.kinds.get(key)
        if kind is None:
            kind = self.kinds[key] = Kind(what(out), triggers, first=(n, when),
                                          trace=list(trace), detail=out.detail,
                                          script=scenario.script(out.step + 1, out.step))
        kind.calls += 1
        kind.programs.add(n)

    def progress(self, elapsed: float) -> None:
        counts = ", ".join(f"{self.calls[c]} {c}" for c in CATEGORIES if self.calls[c])
        say(f"{self.programs}/{self.args.programs} programs, {elapsed:.0f} s: {counts}",
            self.args.progress)

    # -- shrinking ------------------------------------------------------------------------

    def matches(self, trace: list[int], kind: Kind) -> tuple[Any, ...] | None:
        """The scenario these choices write (with only the kind's actions, and plain labels
        and name unless it needs them), if it fails as the kind does for the same reasons:
        without any one of its actions or hostile aspects, it does not. With the failing
        outcome and the choices' groups."""
        choices = RandomChoices(prefix=trace)
        scenario = only(self.scenario(choices), kind.triggers)
        for name, without in ASPECTS.items():
            if name not in kind.needs:
                scenario = without(scenario)
        out = self.failing(scenario, kind)
        if out is None:
            return None
        for trigger in kind.triggers:
            if self.failing(only(scenario, kind.triggers - {trigger}), kind):
                return None
        for name in kind.needs:
            if self.failing(ASPECTS[name](scenario), kind):
                return None
        return scenario, out, choices.groups

    def shrink(self, kind: Kind) -> None:
        deadline = time.perf_counter() + self.args.shrink_seconds
        found = {}

        def still_fails(trace: list[int]) -> bool:
            hit = self.matches(trace, kind)
            if hit is not None:
                found["hit"] = hit
            return hit is not None

        if not still_fails(kind.trace):
            return
        if self.args.shrink_seconds > 0:
            kind.trace = shrink(kind.trace, still_fails, lambda: found["hit"][2], deadline)
        still_fails(kind.trace)
        scenario, out, _ = found["hit"]
        kind.detail = out.detail
        kind.script = scenario.script(out.step + 1, out.step)

    def needed(self, kind: Kind) -> None:
        """What this failure needs (kept in `kind`): each kind of action whose removal from
        the script leaves the failure in place is not a cause; nor is a hostile label or
        name for fn that can be made plain."""
        scenario = self.scenario(RandomChoices(prefix=kind.trace))
        for trigger in sorted(kind.triggers):
            if self.failing(only(scenario, kind.triggers - {trigger}), kind):
                kind.triggers -= {trigger}
        scenario = only(scenario, kind.triggers)
        kind.needs = frozenset(name for name, without in ASPECTS.items()
                               if not self.failing(without(scenario), kind))

    def failing(self, scenario: Scenario, kind: Kind) -> Outcome | None:
        """The first outcome of the scenario that fails as `kind` does (None if none does,
        or if the harness cannot run it)."""
        try:
            return next((out for out in Run(scenario, self.make_tape).outcomes()
                         if what(out) == kind.key), None)
        except Exception:  # noqa: BLE001
            return None

    def causes(self) -> list[Kind]:
        """Each kind of failure once per cause: the changes it needs (the others removed
        from its script one kind at a time), then the smallest program that shows it."""
        causes: dict[tuple[Any, ...], Kind] = {}
        found = sorted(self.kinds.values(), key=lambda k: (len(k.triggers), -k.calls))
        for i, kind in enumerate(found):
            say(f"finding what each failure needs: {i + 1}/{len(found)}", self.args.progress)
            self.needed(kind)
            key = (*kind.key, kind.triggers, kind.needs)
            home = causes.get(key)
            if home is None:
                causes[key] = kind
                continue
            home.calls += kind.calls
            home.programs |= kind.programs
            if kind.first < home.first:
                home.first, home.trace = kind.first, kind.trace
        for i, kind in enumerate(causes.values()):
            say(f"shrinking each kind of failure: {i + 1}/{len(causes)}", self.args.progress)
            self.shrink(kind)
        say("", self.args.progress, end=True)
        return sorted(causes.values(), key=lambda k: -k.calls)

    # -- the report -------------------------------------------------------------------------

    def report(self) -> None:
        a = self.args
        total = sum(self.calls.values())
        what = f"stand-in {a.stand_in!r}" if a.stand_in else "autograd.tape"
        left_out = f", without {', '.join(sorted(a.without))}" if a.without else ""
        print(f"{what} against eager: {self.programs} programs (seed {a.seed}{left_out}), "
              f"{a.calls} calls each, {self.elapsed:.1f} s")
        print(f"calls: {total}")
        for c in CATEGORIES:
            extra = (f" ({self.raised_alike} of them raised the same error as eager)"
                     if c == EQUAL else "")
            print(f"  {c:<10} {self.calls[c]:>6}{extra}")
        print(f"programs with at least one silent difference: {self.programs_with[SILENT]}; "
              f"with a crash: {self.programs_with[CRASH]}; with a refusal: "
              f"{self.programs_with[REFUSED]}")
        if self.refusals:
            print("\nrefusals (TapeError), by message:")
            for text, n in self.refusals.most_common():
                print(f"  {n:>5}  {text}")
        kinds = self.causes()
        if not kinds:
            return
        print(f"\n{len(kinds)} kinds of failure, most frequent first:")
        for i, kind in enumerate(kinds, 1):
            call, category, text = kind.key
            after = ", ".join(sorted(kind.triggers)) or "new arguments only"
            needs = f"; needs {' and '.join(sorted(kind.needs))}" if kind.needs else ""
            print(f"\n[{i}] {call} {category}: {text}  (after: {after}{needs})")
            print(f"    {kind.calls} calls in {len(kind.programs)} programs; first in program "
                  f"{kind.first[0]}, {kind.first[1]:.1f} s into the run")
            for line in kind.detail.splitlines()[:4]:
                print(f"    {line[:160]}")
            print("    smallest program:" if a.shrink_seconds > 0 else "    first program:")
            body = kind.script.split("from nn.optim import SGD, Adam\n", 1)[-1].strip("\n")
            for line in body.splitlines():
                print(f"        {line}")


_said = [0.0]


def say(text: str, on: bool, end: bool = False) -> None:
    """Progress on stderr: one line redrawn on a terminal, a line every 10 s elsewhere."""
    if not on:
        return
    if sys.stderr.isatty():
        print(f"\r{text:<79}" if text else "", end="" if not end else "\n", file=sys.stderr,
              flush=True)
    elif text and (time.perf_counter() - _said[0] > 10 or end):
        _said[0] = time.perf_counter()
        print(text, file=sys.stderr, flush=True)


def shrink(trace: list[int], still_fails: Any, groups: Any, deadline: float) -> list[int]:
    """The smallest trace found that `still_fails`: greedy, restarting after each success
    (`groups()`: the groups of choices of the last trace that failed)."""
    best = trace
    progress = True
    while progress and time.perf_counter() < deadline:
        progress = False
        for candidate in _moves(best, groups()):
            if time.perf_counter() >= deadline:
                break
            if _smaller(candidate, best) and still_fails(candidate):
                best, progress = candidate, True
                break
    return best


def _moves(trace: list[int], groups: list[tuple[int, int]]) -> Any:
    """Smaller traces: the tail cut, groups (a statement, a call) deleted, chunks deleted or
    made 0, single choices made 0 or halved (past its end a trace reads as 0s: the simplest
    choices)."""
    n = len(trace)
    for start, end in sorted(groups, key=lambda g: g[0] - g[1]):
        if end > start:
            yield trace[:start] + trace[end:]
    for cut in (n // 4, n // 2, n * 3 // 4, n - 8):
        if 0 < cut < n:
            yield trace[:cut]
    for size in (16, 8, 4, 2, 1):
        for i in range(n - size, -1, -size):
            yield trace[:i] + trace[i + size:]
    for size in (16, 8, 4, 2):
        for i in range(n - size, -1, -size):
            if any(trace[i:i + size]):
                yield trace[:i] + [0] * size + trace[i + size:]
    for i in range(n):
        if trace[i]:
            yield trace[:i] + [0] + trace[i + 1:]
            if trace[i] > 1:
                yield trace[:i] + [trace[i] // 2] + trace[i + 1:]


def _smaller(a: list[int], b: list[int]) -> bool:
    return (len(a), a) < (len(b), b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="stop drawing programs after this long (0: no limit)")
    parser.add_argument("--calls", type=int, default=6, help="calls per program")
    parser.add_argument("--without", action="append", default=[], choices=sorted(FEATURES),
                        help="leave a feature out of the programs (repeatable)")
    parser.add_argument("--stand-in", choices=["eager", *sorted(BROKEN)],
                        help="judge a stand-in for tape (the judge's own check)")
    parser.add_argument("--shrink-seconds", type=float, default=5.0,
                        help="time to shrink each kind of failure (0: show the first program)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    fuzz = Fuzz(args)
    fuzz.run()
    fuzz.report()
    return 1 if fuzz.programs_with[SILENT] or fuzz.programs_with[CRASH] else 0


if __name__ == "__main__":
    sys.exit(main())
