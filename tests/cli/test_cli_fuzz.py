"""Random text into the command line: never a traceback, always exit 0, 1 or 2 with at most one
line on stderr; and random well-formed expressions give the numbers Python's own maths gives."""

import io
import math
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd.cli import main
from autograd.cli.parse import ExpressionError, build

PIECES = ["x", "y", "1", "2.5", "1e3", "(", ")", "+", "-", "*", "/", "**", " ", "tanh(", "log(",
          "exp(", "sqrt(", "abs(", "relu(", "sin(", ",", ".", "[", "]", "'", "__import__", "lambda",
          ":", "=", "pi", "e", "0", "x.y", "not ", "@", "%", "\\", "\n", "#", "{", "}"]

def repeated(make, counts, parts):
    return st.builds(make, counts, st.sampled_from(parts))


random_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(PIECES), max_size=300).map("".join),
    repeated(lambda n, body: "(" * n + body + ")" * n, st.integers(0, 400), ["x", ""]),
    repeated(lambda n, op: op * n + "x", st.integers(0, 3000), ["-", "+", "not "]),
    repeated(lambda n, op: "x" + op * n, st.integers(0, 3500), ["**x", "+x", "*y"]),
    repeated(lambda n, c: c * n, st.integers(9000, 12000), ["x", "1", "(", " "]),
    repeated(lambda n, tail: "-" * n + tail, st.integers(0, 5000), ["(", "'", "x)", "[", "\\"]),
)


@settings(max_examples=150)
@given(random_text)
def test_random_text_never_raises(text):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):  # capsys does not reset between examples
        status = main(["--at", "x=1.5", "y=-2", "--", text])
    assert status in (0, 1, 2)
    assert "Traceback" not in err.getvalue()
    assert err.getvalue().count("\n") == (0 if status == 0 else 1)
    if status == 0:
        assert out.getvalue().startswith("value = ")


# --- well-formed expressions: the parser's numbers are Python's --------------------------------

FUNCS = {"tanh": math.tanh, "sin": math.sin, "cos": math.cos, "abs": abs,
         "relu": lambda v: max(v, 0.0), "sigmoid": lambda v: 1 / (1 + math.exp(-v))}


@st.composite
def expression(draw, depth=0):
    """(text, value) of a random expression over x = 1.5, y = -2."""
    leaf = depth >= 4 or draw(st.booleans())
    if leaf:
        choice = draw(st.sampled_from(["x", "y", "num"]))
        if choice == "num":
            v = draw(st.floats(-5, 5, allow_nan=False).map(lambda f: round(f, 3)))
            return f"({v!r})", v
        return choice, {"x": 1.5, "y": -2.0}[choice]
    kind = draw(st.sampled_from(["+", "-", "*", "/", "neg", "func"]))
    a_text, a = draw(expression(depth + 1))
    if kind == "neg":
        return f"-({a_text})", -a
    if kind == "func":
        name = draw(st.sampled_from(sorted(FUNCS)))
        return f"{name}({a_text})", FUNCS[name](a)
    b_text, b = draw(expression(depth + 1))
    if kind == "/" and abs(b) < 1e-3:
        return f"({a_text}) + ({b_text})", a + b
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[kind]
    return f"({a_text}) {kind} ({b_text})", value


@settings(max_examples=100)
@given(expression())
def test_well_formed_expressions_evaluate_like_python(case):
    text, expected = case
    try:
        out, _ = build(text, {"x": 1.5, "y": -2.0})
    except ExpressionError as exc:  # pragma: no cover - would be a parser bug
        raise AssertionError(f"{text!r} was refused: {exc}") from None
    assert out.data == pytest.approx(expected, rel=1e-9, abs=1e-12)
