"""A tape against the eager program, on random user programs (`tape_programs`): at every
call, `t(*args)` equals `fn(*args).backward()` to the bit, and `t.mean(*batch)` the eager
mean to 1e-12 (plus what NumPy's last-bit differences can grow into), or it raises
`TapeError`; where eager raises, the tape raises the same kind. Anything else fails with the
program and the calls that led there, as a script (`tape_oracle` is the judge).

One test draws programs with every feature; one per family of guards draws programs with
that family's features only (so they come up more often), and a red one names the family.
The judge is checked too: it never flags a replay that is right by construction (fn run
eagerly, the batch with NumPy's rounding), and the same tests, judging a stand-in with one
guard missing, catch each of them.

Derandomized like the rest of the suite; `HYPOTHESIS_PROFILE=explore` draws new programs,
`pytest -m slow tests/replay/test_tape_programs.py` draws 5,000, and `python
benchmarks/fuzz_tape.py` counts outcomes over many programs and shrinks each kind of
failure to its smallest program.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from tape_fakes import BROKEN, EagerReplay
from tape_oracle import Outcome, Run
from tape_programs import FEATURES, RandomChoices, Scenario, scenarios, write_scenario

from autograd import OPS, Value
from autograd.engine import rule, topological_order

EXAMPLES = 100  # programs the first test draws (every feature)
PER_FAMILY = 40  # programs each family's test draws
FAMILIES = {
    # one family of guards each: a red test names the one to look at
    "parameters and detach": frozenset({"detach", "steps"}),
    "data reads": frozenset({"data_reads", "steps"}),
    "no_grad": frozenset({"no_grad", "steps"}),
    "interior nodes": frozenset({"interior", "steps"}),
    "schedules and models": frozenset({"schedules", "rebinding", "model", "steps"}),
    "labels and names": frozenset({"labels", "names"}),
    "branches": frozenset({"branches", "data_branches", "specials"}),
    "batches": frozenset({"batches", "ints", "specials", "losses", "model"}),
}
_quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]
_under_test: dict[str, Any] = {"tape": None}  # None: `autograd.tape`; else a stand-in


def explain(scenario: Scenario, out: Outcome) -> str:
    """A failure as people read it: what differed, then the script up to that call."""
    step = scenario.steps[out.step]
    return (f"{out.call} {out.category} ({out.kind}) at `{step.code}`, after: {out.trigger}\n"
            f"{out.detail}\n\n--- the program and its calls ---\n"
            f"{scenario.script(upto=out.step + 1, mark=out.step)}")


def fuzz(features: frozenset[str], count: int, *, shrink: bool = True) -> Any:
    """A hypothesis test over `count` programs with these features: every call of each
    equals eager or refuses, or it fails with the (smallest) program as a script. One
    function for every such test, so each draws the same programs wherever it is run
    (derandomized: the seed comes from the function)."""
    phases = None if shrink else {"phases": [Phase.generate], "database": None}

    @settings(max_examples=count, deadline=None, suppress_health_check=_quiet,
              **(phases or {}))
    @given(scenarios(features))
    def run(scenario: Scenario) -> None:
        for out in Run(scenario, _under_test["tape"]).outcomes(stop_at_failure=True):
            if out.failed:
                pytest.fail(explain(scenario, out), pytrace=False)

    return run


# --- the tape -----------------------------------------------------------------------------


def test_a_replay_equals_the_eager_program_or_refuses() -> None:
    fuzz(FEATURES, EXAMPLES)()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_replay_equals_the_eager_program_or_refuses_for_each_family(family: str) -> None:
    """The same, on programs with one family of features only (each is then drawn more
    often): a red one names the family of guards to look at."""
    fuzz(FAMILIES[family], PER_FAMILY)()


@pytest.mark.slow
def test_a_replay_equals_the_eager_program_or_refuses_long() -> None:
    fuzz(FEATURES, 5000)()


# --- the judge ------------------------------------------------------------------------------


def test_the_oracle_never_flags_a_replay_that_is_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """fn run eagerly at every call, the batch with NumPy's exp/log/tanh and exactly rounded
    sums: every call equal (or undecided, a near tie), none a failure."""
    monkeypatch.setitem(_under_test, "tape", EagerReplay)
    fuzz(FEATURES, EXAMPLES)()


@pytest.mark.parametrize("promise", sorted(BROKEN))
def test_the_fuzz_tests_catch_each_broken_promise(promise: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in with one guard missing fails at least one of the tests above: the same
    programs they draw (without shrinking), judged against the stand-in."""
    monkeypatch.setitem(_under_test, "tape", BROKEN[promise])
    for features, count in [(FEATURES, EXAMPLES), *((f, PER_FAMILY) for f in FAMILIES.values())]:
        try:
            fuzz(features, count, shrink=False)()
        except pytest.fail.Exception as e:
            assert " silent " in str(e).split("\n")[0], str(e)
            return
    pytest.fail(f"no fuzz test notices {promise} broken")


# --- the programs ----------------------------------------------------------------------------


def _many(count: int = 300) -> list[Scenario]:
    return [write_scenario(RandomChoices(seed)) for seed in range(count)]


def test_the_programs_use_every_op_of_the_table() -> None:
    """Every op of `OPS` shows up in the graphs the programs record (a new op in the table
    fails here until the generator writes it). `identity` is the exception: only a nested
    `grad` records it, and `grad` called in fn returns a float."""
    seen: set[str] = set()
    for scenario in _many():
        run = Run(scenario)
        args = run._args(scenario.steps[0].args)
        try:
            out = run.fn(*_lift(args))
        except Exception:  # noqa: BLE001 - a domain error at the example: no graph
            continue
        if isinstance(out, Value):
            seen |= {rule(v).name for v in topological_order(out) if v.parents}
    assert set(OPS) - seen == {"identity"}


def _lift(args: tuple) -> tuple:
    from tape_oracle import lift

    return lift(args)


MARKERS = (
    # the parameters, model and globals
    "label='v1'", "label='ﬁ'", "label=''", "model = MLP(", "H = (", "COEF = ", "cfg = Config()",
    "def make_loss(", "saved = copy.deepcopy(model)",
    # fn
    "def tanh(", "def log(", "def v1(", "loss = lambda", "with no_grad():", ".detach()",
    ".item()", ".data", ".data >", ".data <", "if h", "max(0.0, 1 - ", "max(0, 1 - ",
    "return p", "grad(lambda", "sum_(", "dot(", "hinge(", "mse(", "cross_entropy(", "bce(",
    "bce_with_logits(", "abs(", "** 2", "** x", "** h", ".relu()", ".softplus()",
    # the calls and what happens between them
    "t.mean(", "opt.step()", "opt.zero_grad()", "COEF = ", "cfg.scale = ", "set_beta(",
    "set_net(copy.deepcopy(saved))", "model = copy.deepcopy(model)", "model = copy.deepcopy(saved)",
    "model.load_state_dict(", ".data = ", "np.array(", "dtype=np.uint64", "math.nan", "math.inf",
    "-0.0", "5e-324", "isinstance(xs, tuple)", "len(xs)", "(1 - 2 * k)", "- 128)",
)


def test_the_programs_write_every_feature() -> None:
    """What the fuzzer promises to try is in the programs it writes (and stays there)."""
    text = "\n".join(s.script() for s in _many())
    missing = [m for m in MARKERS if m not in text]
    assert not missing


def test_every_script_is_python_a_person_can_run() -> None:
    for scenario in _many(100):
        ast.parse(scenario.script())


def test_the_long_run_counts_every_call_and_shrinks_each_failure(capsys) -> None:
    """`benchmarks/fuzz_tape.py` in small: a right stand-in counts no failure (exit 0); one
    with a guard missing is reported with a smallest program that still shows it (exit 1)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks import fuzz_tape

    quick = ["--programs", "10", "--no-progress"]
    assert fuzz_tape.main([*quick, "--stand-in", "eager", "--shrink-seconds", "0"]) == 0
    out = capsys.readouterr().out
    counts = {k: int(n) for k, n in re.findall(r"^  (\w+) +(\d+)", out, re.M)}
    total = int(re.search(r"^calls: (\d+)", out, re.M).group(1))
    assert total > 0 and sum(counts.values()) == total and counts["equal"] == total
    broken = [*quick, "--stand-in", "parameters' data", "--shrink-seconds", "0.3"]
    assert fuzz_tape.main(broken) == 1
    out = capsys.readouterr().out
    assert "silent: a different number" in out
    shown = out.split("smallest program:", 1)[1]
    assert "t = tape(fn" in shown and "# <-- here" in shown
