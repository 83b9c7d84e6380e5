"""autograd.to_sympy: a recorded graph as a sympy formula, whose derivatives are the engine's.

Every op of the op table is checked at the points `op_examples` picks, to second order; random
graphs from `autograd.testing.strategies` to second order, with the tolerances of
tests/core/test_engine_properties.py (relative 1e-9 of the rounding scale).
"""

import itertools
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given, settings

sympy = pytest.importorskip("sympy")

from autograd import Value, dot, grad, leaf_symbols, sum_, to_sympy  # noqa: E402
from autograd.ops import OPS  # noqa: E402
from autograd.sympy_bridge import identifier  # noqa: E402
from autograd.testing import op_examples  # noqa: E402
from autograd.testing.strategies import expressions  # noqa: E402
from nn import MLP  # noqa: E402

RTOL = 1e-9


def at(e, point):
    """`e` at `point` ({Symbol: float}), evaluated to 30 digits."""
    return float(sympy.N(e.subs({s: sympy.Float(x, 40) for s, x in point.items()}), 30))


def symbolic(expr, smooth=False):
    """The Expression built on engine Values, its sympy formula, and each input's symbol.

    With `smooth`, abs and relu are the branch the point lies on (as `Expression.on_sympy`
    builds them): sympy differentiates Abs(u) and Max(0, u) twice only where it can prove u
    real, which log(u) may not be. The point is a margin away from every kink, so near it the
    branch is the function."""
    xs = expr.variables()
    root = expr(*xs)
    names = leaf_symbols(root)
    point = {names[x]: p for x, p in zip(xs, expr.point) if x in names}
    functions = {"abs": lambda u: u if at(u, point) > 0 else -u,
                 "relu": lambda u: u if at(u, point) > 0 else sympy.Integer(0)}
    formula = to_sympy(root, functions=functions if smooth else None)
    return root, formula, [names.get(x) for x in xs], point


def check_against_engine(expr, order):
    """The formula's value and derivatives up to `order` (2 at most) equal the engine's."""
    root, formula, symbols, point = symbolic(expr)
    value = at(formula, point)
    assert abs(value - root.data) <= 1e-12 * max(1.0, abs(value)), (value, root.data)
    n = expr.n_inputs
    scale = expr.gradient_scale()
    gradient = [0.0] * n
    for i, s in enumerate(symbols):
        engine = grad(expr, argnums=i)(*expr.point)
        exact = 0.0 if s is None else at(sympy.diff(formula, s), point)
        gradient[i] = exact
        assert abs(engine - exact) <= RTOL * max(scale[i], 1e-300), (i, engine, exact)
    if order < 2:
        return
    _, formula, _, _ = symbolic(expr, smooth=True)
    second = {}
    for i, j in itertools.product(range(n), repeat=2):
        si, sj = symbols[i], symbols[j]
        second[i, j] = 0.0 if si is None or sj is None else at(sympy.diff(formula, si, sj), point)
    size = max([*map(abs, second.values()), *scale, *map(abs, gradient)])
    for (i, j), exact in second.items():
        engine = grad(grad(expr, argnums=i), argnums=j)(*expr.point)
        assert abs(engine - exact) <= RTOL * max(abs(exact), size), ((i, j), engine, exact)


# --- the op table, op by op ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_in_the_table_has_a_formula_with_the_engines_derivatives(name):
    # A new op in autograd.ops.OPS adds a case here: its formula comes from its own rule, or
    # from the sympy form registered beside it, and must have the engine's derivatives.
    examples = op_examples(OPS[name])
    assert examples
    for expr in examples:
        check_against_engine(expr, order=2)


def test_each_op_reads_as_expected():
    x, y = Value(0.5, label="x"), Value(2.0, label="y")
    X, Y = sympy.symbols("x y", real=True)
    cases = {
        "+": (x + y, X + Y), "-": (x - y, X - Y), "*": (x * y, X * Y), "/": (x / y, X / Y),
        "pow": (x**y, X**Y), "**": (x**3, X**3), "neg": (-x, -X), "abs": (abs(x), sympy.Abs(X)),
        "relu": (x.relu(), sympy.Max(0, X)), "tanh": (x.tanh(), sympy.tanh(X)),
        "sigmoid": (x.sigmoid(), 1 / (1 + sympy.exp(-X))), "exp": (x.exp(), sympy.exp(X)),
        "log": (x.log(), sympy.log(X)), "sqrt": (x.sqrt(), sympy.sqrt(X)),
        "sin": (x.sin(), sympy.sin(X)), "cos": (x.cos(), sympy.cos(X)),
        "sum": (sum_([x, y, x]), 2 * X + Y), "dot": (dot([x, y], [y, y]), X * Y + Y**2),
    }
    for name, (node, expected) in cases.items():
        assert node.op == name
        assert sympy.simplify(to_sympy(node) - expected) == 0, name


# --- random graphs ------------------------------------------------------------------------------


@settings(max_examples=60)
@given(expressions())
def test_random_graphs_formula_has_the_engines_gradient(expr):
    check_against_engine(expr, order=1)


@settings(max_examples=30)
@given(expressions(max_steps=5))
def test_random_graphs_formula_has_the_engines_hessian(expr):
    check_against_engine(expr, order=2)


@settings(max_examples=30)
@given(expressions(max_steps=5))
def test_random_graphs_formula_equals_the_strategys_own_sympy_form(expr):
    root, formula, symbols, point = symbolic(expr)
    reference = expr.on_sympy(*(s if s is not None else sympy.Dummy() for s in symbols))
    assert abs(at(formula, point) - at(reference, point)) <= 1e-12 * max(1.0, abs(root.data))


# --- names, numbers, sharing --------------------------------------------------------------------


def test_leaf_names_are_valid_unique_identifiers_sympy_reads_back():
    labels = ["layers.0.neurons.1.w.0", "x1*w1", "x1 w1", "x", "x", "lambda", "E", "pi", "2",
              "θ", "", "", "v1", "a__b", "*"]
    leaves = [Value(0.1 * (i + 1), label=label) for i, label in enumerate(labels)]
    formula = to_sympy(sum_(leaves))
    names = [leaf_symbols(sum_(leaves))[v].name for v in leaves]
    assert names == ["layers_0_neurons_1_w_0", "x1_w1", "x1_w1_2", "x", "x_2", "lambda_", "E_",
                     "pi_", "_2", "θ", "v2", "v3", "v1", "a__b", "_"]
    assert all(n.isidentifier() for n in names) and len(set(names)) == len(names)
    back = sympy.parse_expr(str(formula), local_dict={s.name: s for s in formula.free_symbols})
    assert back == formula


def test_unlabelled_leaves_are_numbered_left_to_right_and_labels_kept():
    a, b, w = Value(1.0), Value(2.0), Value(3.0, label="w")
    assert str(to_sympy(w * a - b)) == "v1*w - v2"
    assert identifier("layers.0.neurons.1.w.0") == "layers_0_neurons_1_w_0"


def test_symbols_can_be_given_for_some_leaves():
    x, y = Value(1.0, label="x"), Value(2.0)
    t = sympy.Symbol("t", positive=True)
    formula = to_sympy(x * y, symbols={y: t, x: "x"})
    assert formula == t * sympy.Symbol("x", real=True)
    with pytest.raises(TypeError, match="sympy Symbols or names"):
        to_sympy(x * y, symbols={y: 3})


def test_constants_stay_exact_numbers():
    x = Value(1.0, label="x")
    X = sympy.Symbol("x", real=True)
    formula = to_sympy(2 * x + 0.1)
    assert formula == 2 * X + sympy.Float(0.1)
    constant = formula.subs(X, 0)
    assert isinstance(constant, sympy.Float) and float(constant) == 0.1 and constant._prec == 53
    assert isinstance(formula.coeff(X), sympy.Integer)
    exact = to_sympy(2 * x + 0.1, rational=True).subs(X, 0)
    assert isinstance(exact, sympy.Rational) and Fraction(exact.p, exact.q) == Fraction(0.1)
    assert to_sympy(x**0.5, rational=True) == sympy.sqrt(X)
    assert to_sympy(x**-1.0) == 1 / X
    assert to_sympy(sum_([])) == 0  # the empty sum is the constant 0


def test_leaves_and_constants_alone():
    assert to_sympy(Value(2.0, label="a")) == sympy.Symbol("a", real=True)
    assert to_sympy(Value(2.0) * 0 + 3) == 3  # sympy simplifies as it builds: v1*0 is 0


def test_shared_subexpressions_stay_shared_with_cse():
    x = Value(0.5, label="x")
    y = x
    for _ in range(40):  # each level uses the one below twice: 2**40 leaves written out
        y = (y * y + y).tanh()
    replacements, reduced = to_sympy(y, cse=True)
    assert 30 <= len(replacements) <= 45
    assert all(len(str(e)) < 60 for _, e in replacements) and len(str(reduced)) < 60
    names = [s.name for s, _ in replacements]
    assert "x" not in names and len(set(names)) == len(names)
    value = {sympy.Symbol("x", real=True): sympy.Float(0.5, 30)}
    for s, e in replacements:
        value[s] = e.subs(value)
    assert abs(float(reduced.subs(value)) - y.data) < 1e-12


def test_a_network_formula_with_cse_is_as_big_as_the_network():
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    out = model([Value(0.3, label="x"), Value(-0.2, label="y")])
    replacements, reduced = to_sympy(out, cse=True)
    assert len(replacements) >= 8  # the first layer's outputs, each used by every next neuron
    size = sum(sympy.count_ops(e) for _, e in replacements) + sympy.count_ops(reduced)
    assert size < 2 * len(model.parameters()) + 40
    used = reduced.free_symbols.union(*(e.free_symbols for _, e in replacements))
    assert {"x", "y", "layers_0_neurons_0_w_0", "layers_2_neurons_0_b"} <= {s.name for s in used}


def test_deep_graphs_convert_without_recursion_errors():
    x = Value(0.1, label="x")
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = (y * 0.5).sin()
    formula = to_sympy(y)
    depth = 0
    while formula != sympy.Symbol("x", real=True):  # sin(x/2 ... ), walked without recursion
        assert formula.func == sympy.sin
        half, formula = sorted(formula.args[0].args, key=lambda a: not a.is_Number)
        assert half == 0.5
        depth += 1
    assert depth == 3000


def depth_and_size(e):
    """The nesting depth of a sympy expression and its number of nodes, without recursion."""
    deepest, size, stack = 0, 0, [(e, 1)]
    while stack:
        node, depth = stack.pop()
        deepest, size = max(deepest, depth), size + 1
        stack.extend((a, depth + 1) for a in node.args)
    return deepest, size


def recursion_limit_above_here(frames):
    """A recursion limit `frames` above the current stack depth."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth + frames


@pytest.mark.parametrize("steps", [200, 10_000])
def test_a_long_chain_with_cse_is_pieces_of_bounded_depth(steps):
    # Written as one expression, a chain's formula is as deep as the chain, and sympy walks it
    # by recursion (free_symbols, xreplace): 200 steps were a RecursionError.
    x = Value(0.3, label="x")
    y = x
    for _ in range(steps):
        y = (y * 0.9 + 0.1).tanh()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit_above_here(400))  # no frame per step of the chain
    try:
        replacements, reduced = to_sympy(y, cse=True)
    finally:
        sys.setrecursionlimit(limit)
    pieces = [*replacements, (None, reduced)]
    shapes = [depth_and_size(e) for _, e in pieces]
    assert max(depth for depth, _ in shapes) <= 100
    # linear: the pieces together are the size of the graph (5 nodes a step), no larger
    assert sum(size for _, size in shapes) <= 6 * steps
    names = [s.name for s, _ in replacements]
    assert names == [f"t{i}" for i in range(1, len(names) + 1)]
    # the pieces, evaluated in order, give the engine's number
    xs = sympy.Symbol("x", real=True)
    value = {xs: 0.3}
    for s, e in pieces:
        value[s] = float(e.xreplace({u: sympy.Float(value[u]) for u in e.free_symbols}))
    assert value[None] == pytest.approx(y.data, rel=1e-13)
    if steps > 200:
        return
    # and their derivative, by the chain rule through the pieces (sympy's diff of each), the
    # engine's gradient
    value, slope = {xs: sympy.Float(0.3, 30)}, {xs: sympy.Integer(1)}
    for s, e in pieces:
        at_point = {u: value[u] for u in e.free_symbols}
        value[s] = e.xreplace(at_point).evalf(30)
        d = sum((sympy.diff(e, u).xreplace(at_point) * slope[u] for u in e.free_symbols),
                sympy.Integer(0))
        slope[s] = d.evalf(30)
    y.backward()
    assert float(slope[None]) == pytest.approx(x.grad, rel=1e-9, abs=1e-300)


def test_replacements_simplified_away_are_dropped_and_the_rest_numbered_from_t1():
    x = Value(0.5, label="x")
    a, b = (x * x).tanh(), (x + 1).exp()
    replacements, reduced = to_sympy((a - a) + b * b, cse=True)  # a is read twice, then gone
    xs = sympy.Symbol("x", real=True)
    t1 = sympy.Symbol("t1", real=True)
    assert replacements == [(t1, sympy.exp(xs + 1))] and reduced == t1**2


# --- what has no formula ------------------------------------------------------------------------


def micrograd_tanh(x):
    """An op made micrograd's way: the constructor with children, and a _backward closure."""
    import math

    t = math.tanh(x.data)
    out = Value(t, (x,), "tanh")

    def _backward():
        x.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def test_a_micrograd_style_op_is_a_clear_error_naming_it():
    x = Value(0.5, label="x")
    y = micrograd_tanh(x * 2) + 1
    with pytest.raises(ValueError, match=r"op 'tanh', made micrograd's way .* functions="):
        to_sympy(y)
    formula = to_sympy(y, functions={"tanh": sympy.tanh})
    assert formula == sympy.tanh(2 * sympy.Symbol("x", real=True)) + 1


def test_a_custom_op_of_floats_only_is_a_clear_error_unless_given_a_formula():
    import math

    from autograd import custom_op
    from autograd.ops import sigmoid

    smooth_relu = custom_op("smooth_relu", lambda x: math.log1p(math.exp(x)),
                            [lambda x, y: sigmoid(x)])
    x = Value(0.5, label="x")
    with pytest.raises(ValueError, match=r"op 'smooth_relu', a function of floats with no"):
        to_sympy(smooth_relu(x) * 2)
    formula = to_sympy(smooth_relu(x) * 2,
                       functions={"smooth_relu": lambda u: sympy.log(1 + sympy.exp(u))})
    X = sympy.Symbol("x", real=True)
    assert formula == 2 * sympy.log(1 + sympy.exp(X))


def test_a_custom_op_written_with_the_helpers_converts_by_itself():
    from autograd import custom_op, grad
    from autograd.ops import exp, log, sigmoid

    softplus = custom_op("softplus_h", lambda x: log(1 + exp(x)), [lambda x, y: sigmoid(x)])
    x = Value(0.5, label="x")
    X = sympy.Symbol("x", real=True)
    formula = to_sympy(softplus(x * 2))
    assert sympy.simplify(formula - sympy.log(1 + sympy.exp(2 * X))) == 0
    # and the formula's derivative is the engine's, an independent check of the rule
    exact = sympy.diff(formula, X).subs(X, 0.5)
    assert abs(float(exact) - grad(lambda v: softplus(v * 2))(0.5)) < 1e-12


def test_a_node_with_its_own_vector_jacobian_product_is_a_clear_error():
    from autograd import custom_vjp

    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    vjp = lambda g: [g[0] + g[1] * b, g[0] + g[1] * a]  # noqa: E731
    total, product = custom_vjp("sp", [a, b], [5.0, 6.0], vjp)
    with pytest.raises(ValueError, match=r"op 'sp', a node with several outputs"):
        to_sympy(product + 1)


def test_an_op_of_floats_with_no_sympy_form_is_a_clear_error(monkeypatch):
    monkeypatch.delitem(OPS["sin"].forms, "sympy")
    with pytest.raises(ValueError, match=r"the op 'sin', a function of floats with no sympy"):
        to_sympy(Value(1.0).sin())


def test_a_value_is_required():
    with pytest.raises(TypeError, match="expected a Value, got float"):
        to_sympy(1.0)


# --- sympy stays optional -----------------------------------------------------------------------


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_importing_autograd_does_not_import_sympy():
    done = run_python("import sys, autograd; assert 'sympy' not in sys.modules, 'sympy imported'")
    assert done.returncode == 0, done.stderr


def test_without_sympy_to_sympy_is_one_clear_import_error():
    done = run_python(
        "import sys; sys.modules['sympy'] = None\n"
        "from autograd import Value, to_sympy\n"
        "try:\n"
        "    to_sympy(Value(1.0))\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "to_sympy needs sympy: pip install sympy" in done.stdout
