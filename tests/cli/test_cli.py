"""The command line: good input as a subprocess, and hostile or malformed expressions, each with
its exit status and its one-line message (in-process through `main(argv)`, which is quicker)."""

import math
import os
import stat
import subprocess
import sys

import pytest

from autograd import Value
from autograd.cli import main
from autograd.views import renderers

NEURON = ["tanh(x*w1 + y*w2 + b)", "--at", "x=2", "y=0", "w1=-3", "w2=1", "b=6.8813735870195432"]


def run(*args, **env):
    return subprocess.run([sys.executable, "-m", "autograd", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def printed(stdout):
    return {k.strip(): float(v) for k, _, v in
            (line.partition("=") for line in stdout.splitlines() if "=" in line) if v.strip()}


def expected_neuron():
    leaves = {n: Value(v, label=n) for n, v in
              dict(x=2.0, y=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432).items()}
    out = (leaves["x"] * leaves["w1"] + leaves["y"] * leaves["w2"] + leaves["b"]).tanh()
    out.backward()
    return out, leaves


def test_neuron_prints_value_and_every_gradient(tmp_path):
    result = run(*NEURON, "-o", str(tmp_path / "neuron.svg"),
                 GRADWALK_RENDERER="graphviz-pure" if renderers._graphviz_pure() else "auto")
    assert result.returncode == 0, result.stderr
    numbers = printed(result.stdout)
    out, leaves = expected_neuron()
    assert numbers["value"] == pytest.approx(out.data, rel=1e-11)
    for name, leaf in leaves.items():
        assert numbers[f"d/d{name}"] == pytest.approx(leaf.grad, rel=1e-11, abs=1e-12)
    if renderers._graphviz_pure() or renderers._system_dot():
        svg = (tmp_path / "neuron.svg").read_text()
        assert "<svg" in svg and "tanh" in svg and "w1" in svg


def test_explain_and_tree(capsys):
    assert main(["x*x + 3*x", "--at", "x=2", "--explain", "--tree", "--ascii"]) == 0
    out = capsys.readouterr().out
    assert "d/dx = 7" in out  # 2x + 3 at x = 2
    assert "step 1: f = " in out and "Gradients of the inputs:" in out
    assert "`-- " in out and "(constant)" in out


def test_expression_may_start_with_a_minus(capsys):
    assert main(["-x*2", "--at", "x=3"]) == 0
    assert "d/dx = -2" in capsys.readouterr().out


def test_dot_source_output(tmp_path, capsys):
    assert main(["sin(a)", "--at", "a=1", "-o", str(tmp_path / "g.dot")]) == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_frames_and_animation(tmp_path, capsys, monkeypatch):
    if renderers._graphviz_pure() is None:
        pytest.skip("graphviz-pure not installed (pip install gradwalk[render])")
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    status = main(["sigmoid(a*b)", "--at", "a=1", "b=-2", "--frames", str(tmp_path / "s"),
                   "--animate", str(tmp_path / "anim.png")])
    assert status == 0
    assert len(list((tmp_path / "s").glob("step_*.svg"))) == 3
    assert (tmp_path / "anim.png").read_bytes().count(b"fcTL") == 3


HOSTILE = [  # (expression, exit status, a piece of the message)
    ('__import__("os").system("echo hi")', 2, "attribute access"),
    ('__import__("os")', 2, "unknown function '__import__'"),
    ("x.__class__", 2, "attribute access"),
    ("x[0]", 2, "subscripts"),
    ("(lambda: 1)()", 2, "lambda"),
    ("lambda: 1", 2, "lambda"),
    ("open('f')", 2, "unknown function 'open'"),
    ("foo(x)", 2, "unknown function 'foo'"),
    ("z + x", 2, "unknown variable 'z'"),
    ("'abc'", 2, "string literals"),
    ("x + 'a'", 2, "string literals"),
    ("f'{x}'", 2, "string literals"),
    ("[x, x]", 2, "lists"),
    ("x if x else x", 2, "if/else"),
    ("x == 1", 2, "comparisons"),
    ("x and x", 2, "and/or"),
    ("x % 2", 2, "Mod is not allowed"),
    ("(y := 2)", 2, ":="),
    ("True", 2, "only real numbers"),
    ("1j * x", 2, "only real numbers"),
    ("tanh", 2, "is a function"),
    ("tanh(x, x)", 2, "exactly one argument"),
    ("tanh(x=x)", 2, "exactly one argument"),
    ("x +", 2, "not a valid expression"),
    ("x = 1", 2, "not a valid expression"),
    ("import os", 2, "not a valid expression"),
    ("", 2, "empty"),
    ("x\x00", 2, "NUL"),
    ("1e999 * x", 2, "not finite"),
    ("9" * 5000, 2, "not a valid expression"),
    ("x" * 10_001, 2, "10,001 characters"),
    ("(" * 101 + "x" + ")" * 101, 2, "deeper than 100"),
    ("tanh(" * 101 + "x" + ")" * 101, 2, "deeper than 100"),
    ("-" * 5000 + "x", 2, "operators inside one another"),
    ("-" * 5000 + "(", 2, "operators inside one another"),  # the tokenizer gives up on this
    ("-" * 200 + "(x", 2, "never closed"),
    ("x" + "**x" * 3000, 2, "operators inside one another"),
    ("+".join(["x"] * 4000), 2, "operators inside one another"),
    ("log(x - 1)", 1, "log"),
    ("1 / (x - x)", 1, "division by zero"),
    ("exp(1000 * x)", 1, "exp"),
    ("x ** 1e6 * 10.0 ** 400", 1, "too large"),
    ("sqrt(x - 1)", 1, "derivative"),  # sqrt(0) is fine, its derivative is not
]


@pytest.mark.parametrize(("expression", "status", "message"), HOSTILE)
def test_hostile_and_malformed_expressions(expression, status, message, capsys):
    assert main([expression, "--at", "x=1"]) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradwalk: error: ")
    assert message in lines[0]


BAD_COMMAND_LINES = [
    (["x", "--at", "x"], "expected NAME=VALUE"),
    (["x", "--at", "x=abc"], "not a number"),
    (["x", "--at", "x=nan"], "not a finite number"),
    (["x", "--at", "x=1", "x=2"], "given twice"),
    (["x", "--at", "x=1", "--at", "x=2"], "given twice"),  # a repeated --at never replaces
    (["x", "--at", "tanh=1"], "function name"),
    (["x", "--at", "x=1", "-o", "g.bmp"], "unknown picture format"),
    (["x", "--at", "x=1", "--params", "w"], "not a variable"),
    (["x", "--bogus"], "unrecognized arguments"),
    ([], "give an expression"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_COMMAND_LINES)
def test_bad_command_lines(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0]


def test_repeated_at_and_params_add_to_the_earlier_ones(capsys, tmp_path):
    picture = tmp_path / "g.dot"
    assert main(["x * w + y", "--at", "x=2", "--at", "w=-3", "y=0.5", "--params", "w",
                 "--params", "y", "-o", str(picture)]) == 0
    numbers = printed(capsys.readouterr().out)
    assert numbers == {"value": -5.5, "d/dx": -3.0, "d/dw": 2.0, "d/dy": 1.0}
    parameters = [line for line in picture.read_text().splitlines() if "shape=Mrecord" in line]
    assert sorted(line.split("{ ")[1][0] for line in parameters) == ["w", "y"]  # both kept


def test_pdf_without_system_dot_is_one_line_naming_what_to_install(tmp_path):
    result = run("x*x", "--at", "x=1", "-o", str(tmp_path / "g.pdf"),
                 GRADWALK_RENDERER="graphviz-pure")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "PDF" in result.stderr


@pytest.mark.parametrize(("expression", "status"), [
    ('__import__("os").system("touch /tmp/gradwalk-pwned")', 2),
    ("(" * 5000 + ")" * 5000, 2),
    ("-" * 9000 + "x", 2),
    ("log(0 * x)", 1),
])
def test_subprocess_never_shows_a_traceback(expression, status):
    result = run(expression, "--at", "x=1")
    assert result.returncode == status
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert not os.path.exists("/tmp/gradwalk-pwned")


def test_help():
    result = run("--help")
    assert result.returncode == 0
    assert "--at" in result.stdout and "--explain" in result.stdout and "tanh" in result.stdout


def test_repl_starts_with_the_engine_imported():
    result = subprocess.run([sys.executable, "-m", "autograd", "--repl"], capture_output=True,
                            text=True, timeout=60, input="y = Value(2.0) * 3\nprint(y.data)\n")
    assert result.returncode == 0
    assert "gradwalk console" in result.stderr  # code.interact writes its banner to stderr
    assert "6.0" in result.stdout


def test_gradients_match_the_engine_on_many_ops(capsys):
    assert main(["sqrt(abs(a)) * cos(b) / sigmoid(a) + relu(b) - exp(-a) + log(b) ** 2",
                 "--at", "a=-0.7", "b=1.3"]) == 0
    numbers = printed(capsys.readouterr().out)
    a, b = Value(-0.7), Value(1.3)
    f = abs(a).sqrt() * b.cos() / a.sigmoid() + b.relu() - (-a).exp() + b.log() ** 2
    f.backward()
    assert numbers["value"] == pytest.approx(f.data, rel=1e-11)
    assert numbers["d/da"] == pytest.approx(a.grad, rel=1e-11)
    assert numbers["d/db"] == pytest.approx(b.grad, rel=1e-11)
    assert math.isfinite(numbers["d/db"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["x*2", "--at", "pi=3", "x=1"], "pi is a constant name"),
        (["x*2", "--at", "x=1", "-o", "foo.xyz"], "unknown picture format"),
        (["x*2", "--at", "x=1", "-o", ""], "unknown picture format"),
        (["x*2", "--at", "x=1", "--animate", "a.gif"], "animated PNG"),
    ],
)
def test_bad_outputs_and_names_are_refused_before_any_output(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before printing the value
    assert message in captured.err and captured.err.count("\n") == 1


@pytest.mark.parametrize("suffix", ["svg", "html", "dot"])
def test_output_to_a_fifo_is_refused_not_hung(tmp_path, suffix):
    fifo = tmp_path / f"pipe.{suffix}"
    os.mkfifo(fifo)
    result = run("x*x", "--at", "x=2", "-o", str(fifo))
    assert result.returncode != 0 and "not a regular file" in result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_replaces_a_file_atomically_and_keeps_its_mode(tmp_path):
    out = tmp_path / "g.dot"
    out.write_text("old")
    out.chmod(0o640)
    assert run("x*x", "--at", "x=2", "-o", str(out)).returncode == 0
    assert out.read_text().lstrip().startswith("digraph")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]  # no temporary file left
