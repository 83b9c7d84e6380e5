"""`autograd.testing.grade`: a correct learner's engine passes, each classic mistake is caught
with a small counterexample that names the op, misbehaving engines are reported and never
hang or break the grader, and the command line exits 0 / 1 / 2.

The engines are in `tests/testing/learner_engines/`, written the way learners write them."""

import contextlib
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

from autograd import Value  # noqa: E402
from autograd.testing import grade  # noqa: E402
from autograd.testing.grading.compare import compare  # noqa: E402
from autograd.testing.grading.forms import FORMS, Program, Step  # noqa: E402
from autograd.testing.grading.guard import guarded  # noqa: E402
from autograd.testing.grading.reduce import reduce  # noqa: E402
from autograd.testing.grading.search import search  # noqa: E402

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from learner_engines import broken, lecture, local_grads, mistakes, roundabout  # noqa: E402

ALL_OPS = ["+", "*", "**", "neg", "-", "/", "relu", "tanh", "exp", "log", "sigmoid", "sqrt",
           "sin", "cos", "abs"]


def finite_differences(program: Program) -> list[float]:
    """d output / d input by central differences of the op table's forward rules: an oracle
    that shares nothing with either engine's backward pass."""
    expr, point = program.expression()
    out = []
    for i in range(program.n_inputs):
        h = 1e-6 * max(1.0, abs(point[i]))
        up, down = list(point), list(point)
        up[i] += h
        down[i] -= h
        out.append((expr.floats(up)[-1] - expr.floats(down)[-1]) / (2 * h))
    return out


# -- correct engines pass --------------------------------------------------------------------


def test_the_lectures_engine_passes_with_every_op_it_has_checked():
    report = grade(lecture.Value)  # the default 200 random expressions
    assert report.ok, str(report)
    assert report.agreed == ALL_OPS
    assert report.failures == [] and report.not_checked == []
    assert "a ** b" in report.missing  # micrograd's assert: only number exponents
    assert report.expressions > 200
    text = str(report)
    assert "agrees" in text and "a + b, a + 2, 2 + a" in text and "a ** b" in text


def test_an_engine_in_another_style_passes_and_its_missing_ops_are_listed():
    report = grade(local_grads.Value, max_examples=60)
    assert report.ok, str(report)
    assert report.agreed == ["+", "*", "**", "neg", "-", "/", "relu", "tanh", "exp", "log"]
    for form in ("2 ** a", "a.sigmoid()", "a.sin()", "abs(a)"):
        assert report.missing[form] == "not defined"
        assert FORMS[form].method in str(report)
    assert "(__pow__) fails: TypeError" in str(report)  # a ** b: a number exponent only


def test_an_engine_whose_formulas_round_differently_is_no_mistake():
    report = grade(roundabout.Value, max_examples=100)  # sigmoid via tanh, cos via sin...
    assert report.ok, str(report)
    assert report.agreed == ALL_OPS


def test_our_own_engine_passes():
    report = grade(Value, max_examples=40)
    assert report.ok and report.agreed == ALL_OPS and not report.missing


def test_the_lectures_first_engine_with_three_ops_passes():
    report = grade(broken.LectureStart, max_examples=40)
    assert report.ok
    assert report.agreed == ["+", "*", "tanh"]
    assert "2 + a" in report.missing and "a + 2" in report.missing


# -- each classic mistake: caught, named, shown small ----------------------------------------

MISTAKES = [
    # engine, op named, kind, most operations in the counterexample, words in the hint
    (mistakes.OverwritingAdd, "+", "overwrite", 1, "`+=`"),
    (mistakes.OverwritingTanh, "tanh", "overwrite", 2, "`+=`"),
    (mistakes.TanhSlip, "tanh", "derivative", 1, "That is 1 - t"),
    (mistakes.PowSlip, "**", "derivative", 1, "That is n * x**n"),
    (mistakes.ForgotChainRule, "*", "chain rule", 2, "out.grad"),
    (mistakes.WrongSigmoid, "sigmoid", "forward", 1, "forward value of sigmoid"),
    (mistakes.BreadthFirstBackward, "backward", "order", 4, "topological order"),
    (mistakes.NoTopologicalSort, "backward", "order", 4, "topological order"),
    (mistakes.NoSeed, "backward", "seed", 1, "1.0"),
    (mistakes.GradAsValue, "*", "gradient type", 1, "not a number"),
    (mistakes.IntegerPow, "**", "derivative", 1, "k * a**(k - 1)"),
    (mistakes.FlatRelu, "relu", "derivative", 1, "relu'(a) = 1 where a > 0"),
]


@pytest.mark.parametrize(("engine", "op", "kind", "most", "words"), MISTAKES,
                         ids=[m[0].__name__ for m in MISTAKES])
def test_each_classic_mistake_is_caught_named_and_shown_small(engine, op, kind, most, words):
    report = grade(engine, max_examples=100)
    assert not report.ok
    first = report.failures[0]
    assert (first.op, first.kind) == (op, kind), str(report)
    assert 1 <= len(first.program) <= most, str(first)
    assert words in first.hint
    if op == "backward":  # every op would look wrong: the rest is left for after the fix
        assert report.failures == [first] and report.not_checked and not report.agreed
    else:
        assert op not in report.agreed and "tanh" in report.agreed + [op]
    # The counterexample shows the difference, and ours is the right one.
    text = str(report)
    assert all(f"    {line}\n" in text for line in first.program.code(engine.__name__).split("\n"))
    yours, ours = first.gradients
    if kind != "forward":
        fd = finite_differences(first.program)
        assert all(math.isclose(o, d, rel_tol=1e-5, abs_tol=1e-7) for o, d in zip(ours, fd))
        assert yours is None or yours != pytest.approx(ours)


def test_the_random_search_alone_finds_a_mistake_and_shrinks_it():
    seen = []
    c = search(mistakes.OverwritingTanh, ["a + b", "a * b", "a.tanh()"], max_examples=200,
               seed=0, time_limit=1.0, count=lambda: seen.append(1))
    assert c is not None and not c.agrees() and len(seen) <= 200 + 400
    assert "a.tanh()" in [step.form for step in c.program.steps]
    assert len(c.program) <= 3, c.program.code()


def test_graph_reductions_reach_what_shrinking_the_choices_cannot():
    # hypothesis once stopped here: every deletion of a step changed what later steps read
    stuck = Program((1.0,), (
        Step("a + b", (0, 0)), Step("a + b", (1, 1)), Step("a.relu()", (2,)),
        Step("a + b", (3, 3)), Step("a + 2", (3,), 2.0), Step("a + b", (5, 5)),
        Step("a + b", (6, 6)), Step("a ** 2", (5,), 0.5)))

    def differs(program):
        c = compare(program, mistakes.IntegerPow, 1.0)
        return c if c is not None and not c.agrees() else None

    program, c = reduce(stuck, differs(stuck), differs)
    assert program == Program((1.0,), (Step("a ** 2", (0,), 0.5),))
    assert c.program == program


def test_the_counterexample_lists_both_values_and_gradients_node_by_node():
    report = grade(mistakes.TanhSlip, max_examples=20)
    failure = report.failures[0]
    assert failure.program == Program((1.5,), (Step("a.tanh()", (0,)),))
    t = math.tanh(1.5)
    assert failure.values == (pytest.approx(t), pytest.approx(t))
    assert failure.gradients[0] == pytest.approx((1 - t,))
    assert failure.gradients[1] == pytest.approx((1 - t * t,))
    lines = str(failure).splitlines()
    row = next(line for line in lines if line.split()[:2] == ["x0", "1.5"])
    assert f"{1 - t:.6g}" in row and f"{1 - t * t:.6g}" in row and "first" in row
    assert "x0 = TanhSlip(1.5)" in lines[3]


def test_an_op_built_from_a_wrong_op_points_to_it():
    report = grade(mistakes.PowSlip, max_examples=30)
    ops = [f.op for f in report.failures]
    assert ops[0] == "**" and "/" in ops  # the lecture's a / b is a * b**-1
    division = report.failures[ops.index("/")]
    assert "built from other operations" in division.hint and "**" in division.hint


def test_a_difference_far_below_any_mistake_but_far_above_rounding_is_caught():
    class ExpOffByAMillionth(lecture.Value):
        def exp(self):
            out = self._node(math.exp(self.data), (self,), "exp")

            def _backward():
                self.grad += out.data * (1 + 1e-6) * out.grad

            out._backward = _backward
            return out

    report = grade(ExpOffByAMillionth, max_examples=20)
    assert [(f.op, f.kind) for f in report.failures] == [("exp", "derivative")]


# -- misbehaving engines: reported, never hanging or breaking the grader -------------------


def test_a_class_that_cannot_be_made_is_unusable_and_says_why():
    report = grade(broken.RaisingConstructor)
    assert not report.ok and report.failures == []
    assert "RaisingConstructor(2.0) raised: TypeError: this engine is not finished" in str(report)
    assert "\n" not in str(report)


def test_a_class_whose_every_operator_fails_is_unusable_and_says_how():
    report = grade(broken.Unhashable)
    assert "none of the operators" in report.unusable
    assert "TypeError: unhashable type: 'Unhashable'" in report.unusable


def test_a_class_without_backward_is_unusable():
    assert "has no backward() method" in grade(broken.NoBackward).unusable


def test_an_endless_loop_in_backward_stops_at_the_time_limit_and_the_trace_is_put_back():
    before = sys.gettrace()
    report = grade(broken.LoopingBackward, time_limit=0.2)
    assert sys.gettrace() is before
    failure = report.failures[0]
    assert (failure.op, failure.kind) == ("backward", "timeout")
    assert failure.gradients[0] is None  # backward() never finished
    assert "did not finish (in backward)" in failure.hint
    assert report.not_checked  # nothing else can be judged with backward() looping


def _spin():
    while True: pass  # noqa: E701 - one line: a loop that emits no line events


def test_a_loop_within_one_line_is_stopped_too_and_an_outer_trace_function_is_put_back():
    def outer(frame, event, arg):
        return None

    before = sys.gettrace()
    sys.settrace(outer)
    try:
        result, trouble = guarded(_spin, 0.1)
        assert sys.gettrace() is outer
    finally:
        sys.settrace(before)
    assert result is None and trouble.kind == "timeout" and trouble.where == "_spin"


def test_recursion_without_end_is_reported_and_the_recursion_limit_put_back():
    limit = sys.getrecursionlimit()
    report = grade(broken.RecursingBackward)
    assert sys.getrecursionlimit() == limit  # the engine set it to 3000
    assert (report.failures[0].op, report.failures[0].kind) == ("backward", "recursion")
    assert "RecursionError" in report.failures[0].hint


def test_a_method_returning_a_plain_number_is_reported_and_the_rest_checked():
    report = grade(broken.PlainNumberExp, max_examples=20)
    assert [(f.op, f.kind) for f in report.failures] == [("exp", "plain number")]
    assert "exp" not in report.agreed and "tanh" in report.agreed


def test_a_backward_that_passes_nothing_on_is_reported():
    report = grade(broken.NoGradients)
    assert [(f.op, f.kind) for f in report.failures] == [("backward", "no gradient")]


def test_an_op_that_raises_inside_its_domain_is_reported_with_the_error():
    report = grade(broken.LogRaises, max_examples=30)
    failure = report.failures[0]
    assert (failure.op, failure.kind) == ("log", "raised")
    assert "ValueError: log of a number below 1" in failure.hint
    assert len(failure.program) <= 2


def test_what_the_engine_prints_does_not_reach_the_output(capsys):
    report = grade(broken.Chatty, max_examples=20)
    assert report.ok
    assert capsys.readouterr().out == ""


def test_grade_refuses_what_is_not_a_class_or_a_setting():
    with pytest.raises(TypeError, match="Value class"):
        grade(Value(1.0))
    with pytest.raises(ValueError, match="max_examples"):
        grade(Value, max_examples=0)
    with pytest.raises(ValueError, match="time_limit"):
        grade(Value, time_limit=-1)


# -- the report in a notebook and as a picture -----------------------------------------------


def test_a_notebook_shows_the_same_text_as_the_command_line():
    report = grade(mistakes.TanhSlip, max_examples=10)

    class Printer:
        def __init__(self):
            self.out = ""

        def text(self, s):
            self.out += s

    printer = Printer()
    report._repr_pretty_(printer, False)
    assert printer.out == str(report)
    assert repr(report).startswith("<grade report: TanhSlip differs")


def test_the_counterexample_draws_with_both_gradients():
    failure = grade(mistakes.TanhSlip, max_examples=10).failures[0]
    source = failure.draw().source
    t = math.tanh(1.5)
    assert f"x0 (your grad {1 - t:.4g})" in source
    assert f"{1 - t * t:.4f}" in source  # ours, drawn as the node's grad


# -- imports and the command line --------------------------------------------------------------


def _python(*args, cwd=TESTS):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_importing_autograd_testing_does_not_import_hypothesis():
    code = ("import sys, autograd.testing\nassert 'hypothesis' not in sys.modules\n"
            "from autograd.testing import grade\nassert 'hypothesis' not in sys.modules\n"
            "import autograd.testing.grade as module\n"
            "assert autograd.testing.grade(autograd.Value, max_examples=5).ok\n"
            "assert grade(autograd.Value, max_examples=5).ok\nimport autograd\n")
    result = _python("-c", "import autograd\n" + code)
    assert result.returncode == 0, result.stderr


def test_the_command_line_exits_0_when_all_agree():
    result = _python("-m", "autograd.testing.grade", "learner_engines.lecture:Value",
                     "--max-examples", "20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Value agrees with gradwalk's engine")
    assert result.stderr == ""  # no warning from running a module of a package


def test_the_command_line_exits_1_on_a_difference_and_prints_the_counterexample():
    result = _python("-m", "autograd.testing.grade", "learner_engines.mistakes:TanhSlip",
                     "--max-examples", "20")
    assert result.returncode == 1, result.stderr
    assert "x0 = TanhSlip(1.5)\n" in result.stdout and "That is 1 - t" in result.stdout


def test_the_command_line_takes_a_file_path(tmp_path):
    engine = tmp_path / "my_engine.py"
    engine.write_text((TESTS / "learner_engines" / "lecture.py").read_text())
    result = _python("-m", "autograd.testing.grade", f"{engine}:Value", "--max-examples", "10",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("target", "message"), [
    ("learner_engines.broken:RaisingConstructor", "this engine is not finished"),
    ("learner_engines.broken:NoSuchClass", "has no 'NoSuchClass'"),
    ("no_such_module:Value", "cannot import no_such_module: ModuleNotFoundError"),
    ("learner_engines.lecture", "expected MODULE:CLASS"),
    ("learner_engines.lecture:math", "is a module, not a class"),
    ("missing/engine.py:Value", "no such file"),
])
def test_the_command_line_exits_2_with_one_line_when_the_class_cannot_be_used(target, message):
    result = _python("-m", "autograd.testing.grade", target)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_the_docs_page_shows_the_report_its_example_prints():
    page = (TESTS.parents[1] / "docs" / "grade.md").read_text()
    example = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    shown = re.search(r"`print\(report\)`.*?```text\n(.*?)```", page, re.S).group(1)
    namespace = {"__name__": "docs_example"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(example, "docs/grade.md", "exec"), namespace)
    expressions = re.compile(r"Ran \d+ expressions")  # how many depends on hypothesis's version
    assert expressions.sub("Ran N expressions", str(namespace["report"]) + "\n") == \
        expressions.sub("Ran N expressions", shown)


def test_forms_spell_and_describe_themselves():
    assert FORMS["2 - a"].spell(["x0"], 3.0) == "3.0 - x0"
    assert FORMS["2 - a"].method == "__rsub__"
    assert FORMS["a.tanh()"].spell(["b"]) == "b.tanh()"
