"""custom_op and custom_vjp: a user's primitive is drawn, explained, checked, pickled and
differentiated to any order like a built-in, and its errors name it."""

import copy
import math
import pickle
import subprocess
import sys
import textwrap

import pytest

from autograd import Value, custom_op, custom_vjp, explain, grad, text_tree
from autograd.engine import topological_order
from autograd.ops import exp, log, value
from autograd.testing import check_grads

# One name per op across this file: the registry of custom ops is global to the session.
softplus = custom_op(
    "softplus_t", lambda x: math.log1p(math.exp(x)), [lambda x, y: 1 / (1 + exp(-x))]
)
my_tanh = custom_op("my_tanh_t", math.tanh, [lambda x, y: 1 - y * y])
my_pow = custom_op(
    "my_pow_t",
    lambda x, p: x**p,
    [lambda x, p, y: p * x ** (p - 1), lambda x, p, y: y * log(x)],
)


def picture_graph():
    x = Value(0.3, label="x")
    y = softplus(x * 2)
    y.label = "y"
    return x, y


# --- views -------------------------------------------------------------------------------------


def test_a_custom_op_is_drawn_with_its_name_and_local_derivative():
    pytest.importorskip("graphviz")
    from autograd import draw_dot

    _, y = picture_graph()
    source = draw_dot(y).source
    assert "label=softplus_t" in source  # its op node, named like a built-in's
    local = 1 / (1 + math.exp(-0.6))  # d softplus / d v at v = 0.6
    assert f'[label="∂ {local:.4f}"]' in source


def test_a_custom_op_is_explained_step_by_step():
    x, y = picture_graph()
    text = explain(y)
    assert "y = softplus_t(v1)" in text
    local = 1 / (1 + math.exp(-0.6))
    # its derivative, written with the helpers, is shown as the formula it is
    assert f"local dy/dv1 = 1 / (1 + exp(-v1)) = {local:.4f}" in text
    y.backward()
    assert f"dy/dx = {x.grad:.4f}" in text


def test_a_custom_op_is_in_the_text_tree():
    _, y = picture_graph()
    tree = text_tree(y)
    assert tree.splitlines()[0].startswith("y = softplus_t(v1)")
    assert f"{math.log1p(math.exp(0.6)):.4f}" in tree.splitlines()[0]


# --- derivatives -------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.7, 3.0])
def test_check_grads_to_third_order(x):
    check_grads(lambda v: softplus(v) * v, x, order=3)
    check_grads(lambda v, p: my_pow(v * v + 1, p), x, 1.5, order=3)


def test_check_grads_catches_a_wrong_custom_derivative():
    wrong = custom_op("wrong_tanh_t", math.tanh, [lambda x, y: 1 - y])  # 1 - y, not 1 - y**2
    with pytest.raises(AssertionError, match="order 1"):
        check_grads(wrong, 0.4)


@pytest.mark.parametrize("x", [-1.3, 0.2, 0.9])
def test_any_order_as_a_built_in(x):
    f, g = my_tanh, Value.tanh
    for k in range(1, 6):
        f, g = grad(f), grad(g)
        assert f(x) == pytest.approx(g(x), rel=1e-12, abs=1e-12), f"order {k}"


def test_mixed_partials_of_a_two_operand_op_as_a_built_in():
    def ours(x, p):
        return my_pow(x, p) * x

    def builtin(x, p):
        return x**p * x

    for wrt in [(0, 1, 0), (1, 1, 0), (1, 0, 1)]:
        f, g = ours, builtin
        for argnum in wrt:
            f, g = grad(f, argnum), grad(g, argnum)
        assert f(1.7, 2.5) == pytest.approx(g(1.7, 2.5), rel=1e-12), wrt


def test_backward_fills_grad_fields_as_for_a_built_in():
    x = Value(0.8, label="x")
    y = my_tanh(x) * x
    y.backward()
    z = Value(0.8, label="z")
    (z.tanh() * z).backward()
    assert x.grad == pytest.approx(z.grad, rel=1e-15)


def test_the_latest_definition_wins():
    first = custom_op("redefined_t", lambda x: 2 * x, [lambda x, y: 2.0])
    second = custom_op("redefined_t", lambda x: 3 * x, [lambda x, y: 3.0])
    assert grad(first)(1.0) == 2.0 and grad(second)(1.0) == 3.0
    assert first.op is not second.op


# --- errors ------------------------------------------------------------------------------------


def test_a_forward_domain_error_names_the_op_and_operand():
    my_log = custom_op("my_log_t", math.log, [lambda x, y: 1 / x])
    with pytest.raises(ValueError, match=r"my_log_t\(-1\.0\): math domain error"):
        my_log(-1.0)
    recip = custom_op("recip_t", lambda x: 1 / x, [lambda x, y: -1 / (x * x)])
    with pytest.raises(ZeroDivisionError, match=r"recip_t\(0\.0\)"):
        recip(Value(0.0))
    big = custom_op("my_exp_t", math.exp, [lambda x, y: y])
    with pytest.raises(OverflowError, match=r"my_exp_t\(1000\.0\)"):
        big(1000.0)


def test_a_derivative_that_fails_on_values_names_the_op():
    # math.cos takes floats only: fine at first order, refused once the derivative is a Value
    floats_only = custom_op("floats_only_t", math.sin, [lambda x, y: math.cos(x)])
    assert grad(floats_only)(0.5) == pytest.approx(math.cos(0.5))
    with pytest.raises(TypeError, match=r"custom op 'floats_only_t'.*failed on Values"):
        grad(grad(floats_only))(0.5)


def test_a_derivative_that_does_not_exist_here_adds_nothing():
    cube = custom_op("cube_t", lambda x: x**3, [lambda x, y: 3 / x * y])  # 3x**2, written badly
    x, w = Value(0.0, label="x"), Value(2.0, label="w")
    y = cube(x) + w * x
    with pytest.raises(ValueError, match=r"cube_t\(0\.0\): the derivative does not exist here"):
        y.backward()
    assert x.grad == 0.0 and w.grad == 0.0


@pytest.mark.parametrize("kind", [ValueError, ArithmeticError, ZeroDivisionError, OverflowError])
def test_a_derivative_that_raises_keeps_the_users_words(kind):
    def d_y(x, y, out):
        if value(y) < 0:  # on floats at first order, on Values at higher orders
            raise kind("the slope in y needs y >= 0 (a user's reason)")
        return x

    picky = custom_op("picky_t", lambda x, y: x * max(y, 0.0), [lambda x, y, out: y, d_y])
    x, y = Value(2.0, label="x"), Value(-1.0, label="y")
    out = picky(x, y)
    expected = OverflowError if kind is OverflowError else ValueError
    shown = r"picky_t\(2\.0, -1\.0\): the derivative with respect to operand 2 "
    reason = r": the slope in y needs y >= 0 \(a user's reason\)"
    with pytest.raises(expected, match=shown + ".*" + reason):
        out.backward()
    assert x.grad == 0.0 and y.grad == 0.0  # and nothing was added
    with pytest.raises(expected, match=r"a user's reason"):
        grad(picky, 1)(2.0, -1.0)
    with pytest.raises(expected, match=r"a user's reason"):  # at second order, on Values
        grad(grad(picky, 1), 0)(2.0, -1.0)


def test_a_derivative_returning_a_non_number_names_the_op():
    text = custom_op("text_t", lambda x: x, [lambda x, y: "one"])
    with pytest.raises(TypeError, match="custom op 'text_t'.*str"):
        grad(text)(1.0)


def test_wrong_operand_counts_name_the_op():
    with pytest.raises(TypeError, match=r"my_pow_t takes 2 operands, got 1"):
        my_pow(2.0)
    with pytest.raises(TypeError, match=r"softplus_t takes 1 operand, got 2"):
        softplus(1.0, 2.0)
    # derivatives for two operands, a forward of one: the first call says so, naming the op
    lopsided = custom_op("lopsided_t", lambda x: x, [lambda a, b, y: 1.0, lambda a, b, y: 1.0])
    with pytest.raises(TypeError, match=r"lopsided_t\(1\.0, 2\.0\): forward failed .* one per"):
        lopsided(1.0, 2.0)


def test_bad_definitions_are_refused():
    with pytest.raises(ValueError, match="'tanh' is a built-in op"):
        custom_op("tanh", math.tanh, [lambda x, y: 1 - y * y])
    with pytest.raises(TypeError, match="non-empty str"):
        custom_op("", math.tanh, [lambda x, y: 1 - y * y])
    with pytest.raises(TypeError, match="one function per operand"):
        custom_op("no_derivatives_t", math.tanh, [])
    returns_value = custom_op("returns_value_t", lambda x: Value(x), [lambda x, y: 1.0])
    with pytest.raises(TypeError, match=r"returns_value_t\(1\.0\): forward must return a float"):
        returns_value(1.0)
    with pytest.raises(TypeError, match="softplus_t"):
        softplus("1.0")


# --- pickling ----------------------------------------------------------------------------------


def test_a_graph_with_a_custom_op_pickles_and_copies():
    x = Value(0.4, label="x")
    y = my_pow(softplus(x), 3.0)
    y.label = "y"
    for copied in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert copied.op == "my_pow_t" and copied.data == y.data and copied.label == "y"
        copied.backward()
        leaf = [n for n in topological_order(copied) if n.label == "x"][0]
        assert leaf.grad == pytest.approx(grad(lambda v: my_pow(softplus(v), 3.0))(0.4))


LOADER = textwrap.dedent(
    """
    import math, pickle, sys
    from autograd import custom_op
    from autograd.ops import exp
    if sys.argv[1] == "define":
        custom_op("softplus_t", lambda x: math.log1p(math.exp(x)),
                  [lambda x, y: 1 / (1 + exp(-x))])
    y = pickle.loads(sys.stdin.buffer.read())
    y.backward()
    print(y.parents[0].grad)
    """
)


def test_a_pickled_custom_op_loads_where_the_op_is_defined_and_names_it_where_not():
    x = Value(0.4, label="x")
    data = pickle.dumps(softplus(x))
    run = [sys.executable, "-c", LOADER]
    defined = subprocess.run([*run, "define"], input=data, capture_output=True, check=True)
    assert float(defined.stdout) == pytest.approx(1 / (1 + math.exp(-0.4)), rel=1e-15)
    missing = subprocess.run([*run, "no"], input=data, capture_output=True)
    assert missing.returncode != 0
    assert b"custom op 'softplus_t'" in missing.stderr
    assert b"define it with autograd.custom_op" in missing.stderr


# --- a custom op defined again under the same name ----------------------------------------------


def cubic_v1():  # x^3, written out
    return custom_op("redefine_p", lambda x: x**3, [lambda x, y: 3 * x * x])


def cubic_v2():  # another rule under the same name: 4x^3 (a user's edit of the cell)
    return custom_op("redefine_p", lambda x: x**4, [lambda x, y: 4 * x * x * x])


def first_and_second(root, leaf):
    """d root / d leaf by backward (the stored first derivatives), and d2 root / d leaf2 by
    differentiating the recorded derivative (the op's rule run on Values)."""
    from autograd.engine import gradients_as_values

    root.backward()
    first = leaf.grad
    second = gradients_as_values(gradients_as_values(root, [leaf])[leaf], [leaf])[leaf].data
    return first, second


def test_a_graph_pickled_or_copied_keeps_its_rule_after_the_op_is_redefined():
    op = cubic_v1()
    y = op(Value(2.0, label="x"))
    data, copied = pickle.dumps(y), copy.deepcopy(y)
    cubic_v2()  # the cell edited and run again
    for graph in (pickle.loads(data), copied, y):
        leaf = [n for n in topological_order(graph) if n.label == "x"][0]
        # x^3 at 2: 12 and 12; mixing in the new rule's 12 x^2 would give 48 as the second
        assert first_and_second(graph, leaf) == (12.0, 12.0)


def test_a_graph_pickled_under_another_definition_is_refused_by_name():
    op = cubic_v1()
    data = pickle.dumps(op(Value(2.0)))
    del op
    import gc

    gc.collect()  # the first definition is gone: no graph or function holds it
    cubic_v2()
    with pytest.raises(ValueError, match=r"another definition of the custom op 'redefine_p'.*"
                                         r"record the graph again"):
        pickle.loads(data)
    cubic_v1()  # defined as it was (a notebook cell run again): the graph loads, on its rule
    loaded = pickle.loads(data)
    leaf = [n for n in topological_order(loaded) if not n.parents][0]
    assert first_and_second(loaded, leaf) == (12.0, 12.0)


def test_a_definition_print_follows_the_rule_not_the_layout():
    from autograd.custom import definition_print

    def scaled(k):
        return (lambda x: k * x), [lambda x, y: k]

    same_code_twice = [definition_print(*scaled(2.0)), definition_print(*scaled(2.0))]
    assert same_code_twice[0] == same_code_twice[1]
    assert definition_print(*scaled(3.0)) != same_code_twice[0]  # a number it closes over
    spaced = (lambda x: x * x,  # the same rule, laid out and commented differently
              [lambda x, y:
               2 * x])
    assert definition_print(lambda x: x * x, [lambda x, y: 2 * x]) == definition_print(*spaced)
    assert definition_print(lambda x: x * x, [lambda x, y: 3 * x]) != definition_print(*spaced)
    assert definition_print(math.erf, [exp]) != definition_print(math.erfc, [exp])


PICKLED_ELSEWHERE = textwrap.dedent(
    """
    import pickle, sys
    from autograd import Value, custom_op
    if sys.argv[1] == "v2":
        custom_op("redefine_p", lambda x: x**4, [lambda x, y: 4 * x * x * x])
    else:
        custom_op("redefine_p", lambda x: x**3, [lambda x, y: 3 * x * x])
    y = pickle.loads(sys.stdin.buffer.read())
    y.backward()
    print(y.parents[0].grad)
    """
)


def test_another_process_loads_the_graph_only_under_the_same_definition():
    data = pickle.dumps(cubic_v1()(Value(2.0)))
    run = [sys.executable, "-c", PICKLED_ELSEWHERE]
    same = subprocess.run([*run, "v1"], input=data, capture_output=True, check=True)
    assert float(same.stdout) == 12.0
    other = subprocess.run([*run, "v2"], input=data, capture_output=True)
    assert other.returncode != 0
    assert b"another definition of the custom op 'redefine_p'" in other.stderr


# --- custom_vjp --------------------------------------------------------------------------------


def sum_and_product(a, b):
    """Two outputs from one node: (a + b, a * b), with one vector-Jacobian product."""
    a, b = (v if isinstance(v, Value) else Value(v) for v in (a, b))
    return custom_vjp("sum_and_product_t", [a, b], [a.data + b.data, a.data * b.data],
                      lambda g: [g[0] + g[1] * b, g[0] + g[1] * a])


def both_outputs(a, b):
    s, p = sum_and_product(a, b)
    return s * p + p.sin()  # (a + b) a b + sin(a b)


def reference(a, b):
    return (a + b) * (a * b) + (a * b).sin()


def test_custom_vjp_first_order():
    for argnum in (0, 1):
        ours, expected = grad(both_outputs, argnum)(0.7, -1.2), grad(reference, argnum)(0.7, -1.2)
        assert ours == pytest.approx(expected, rel=1e-14)
    a, b = Value(0.7), Value(-1.2)
    both_outputs(a, b).backward()
    assert a.grad == pytest.approx(grad(reference, 0)(0.7, -1.2), rel=1e-14)


def test_custom_vjp_second_order_and_mixed():
    for wrt in [(0, 0), (0, 1), (1, 1), (1, 0, 0)]:
        f, g = both_outputs, reference
        for argnum in wrt:
            f, g = grad(f, argnum), grad(g, argnum)
        assert f(0.7, -1.2) == pytest.approx(g(0.7, -1.2), rel=1e-12), wrt
    check_grads(both_outputs, 0.7, -1.2, order=2)


def test_custom_vjp_that_is_wrong_is_caught():
    def wrong(a):
        a = a if isinstance(a, Value) else Value(a)
        (y,) = custom_vjp("wrong_vjp_t", [a], [a.data**2], lambda g: [g[0] * a])  # 2a is right
        return y

    with pytest.raises(AssertionError):
        check_grads(wrong, 0.9)


def test_custom_vjp_errors_name_it():
    a = Value(1.0)
    (y,) = custom_vjp("miscounted_t", [a], [a.data], lambda g: [g[0], g[0]])
    with pytest.raises(ValueError, match="'miscounted_t' returned 2 gradients for 1 inputs"):
        y.backward()
    assert a.grad == 0.0
    (z,) = custom_vjp("texty_t", [a], [a.data], lambda g: ["x"])
    with pytest.raises(TypeError, match="'texty_t' returned str"):
        z.backward()
    with pytest.raises(TypeError, match="'texty_t' cannot be copied or pickled"):
        pickle.dumps(z)


def test_custom_vjp_with_an_output_the_loss_does_not_use():
    x, y = Value(2.0), Value(3.0)
    (sum_and_product(x, y)[0] * 5).backward()  # the product is never used
    assert (x.grad, y.grad) == (5.0, 5.0)
    a, b = Value(0.7), Value(-1.2)
    s, p = sum_and_product(a, b)
    (s + p).backward()  # leaves gradients behind in both outputs' scratch slots
    assert (a.grad, b.grad) == pytest.approx((1 - 1.2, 1 + 0.7))
    a.grad = b.grad = 0.0
    s.backward()  # p is not under s: its gradient here is 0, whatever the earlier pass left
    assert (a.grad, b.grad) == (1.0, 1.0)


def test_custom_vjp_outputs_show_their_index():
    a, b = Value(0.7), Value(-1.2)
    s, p = sum_and_product(a, b)
    assert (s.op, p.op) == ("sum_and_product_t[0]", "sum_and_product_t[1]")
    assert repr(p).endswith("op='sum_and_product_t[1]')")
    assert "[i]" not in explain(s * p) and "[i]" not in text_tree(s * p)
    from autograd import fixed_point

    x = fixed_point(lambda x: [0.5 * x[0] + a, 0.5 * x[1] + b], [0.0, 0.0])
    assert [v.op for v in x] == ["fixed_point[0]", "fixed_point[1]"]


def test_custom_vjp_may_return_numpy_numbers():
    np = pytest.importorskip("numpy")

    def scaled(a):  # 3 a, its gradient given as NumPy numbers
        a = a if isinstance(a, Value) else Value(a)
        (y,) = custom_vjp("numpy_vjp_t", [a], [3 * a.data], lambda g: [np.float32(3.0) * g[0]])
        return y

    a = Value(0.5)
    (scaled(a) * scaled(a)).backward()  # d (3a)^2 / da = 18 a
    assert type(a.grad) is float and a.grad == 9.0
    assert grad(grad(lambda a: scaled(a) * scaled(a)))(0.5) == 18.0
    (y,) = custom_vjp("numpy_int_t", [a], [a.data], lambda g: [np.int64(2)])
    before = a.grad
    y.backward()
    assert a.grad == before + 2.0


def test_a_derivative_reading_a_closed_over_value_gives_float_gradients():
    from autograd import custom_op

    w = Value(2.0, label="w")
    scale = custom_op("scale_by_w", lambda x: w.data * x, [lambda x, y: w])
    x = Value(1.5)
    scale(x).backward()
    assert type(x.grad) is float and x.grad == 2.0
    assert grad(scale)(1.0) == 2.0
