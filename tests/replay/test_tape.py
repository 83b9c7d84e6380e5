"""`tape`: a recording replayed is `fn(*args).backward()` to the bit, guarded, and clear in its
refusals; `t.mean` is the eager mean to 1e-12, with NumPy and without."""

import math
import random
import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd.replay.batch as batch
from autograd import Value, custom_op, dot, fixed_point, no_grad, sum_, tape
from autograd.replay import TapeError
from autograd.testing import well_conditioned
from autograd.testing.strategies import expression_graphs, points
from nn import MLP
from nn.losses import bce, bce_with_logits, cross_entropy, hinge, mse
from nn.optim import SGD, Adam


def bits(x: float) -> bytes:
    """The float's bytes: equal bits, -0.0 apart from 0.0 (nan's payload aside)."""
    return b"nan" if x != x else struct.pack("<d", x)


def eager(fn, *args, params):
    """fn(*args).backward() on fresh Values: its value and the gradients it adds."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    out = fn(*_lift(args))
    out.backward()
    grads = [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return out.data, grads


def _lift(x):
    if isinstance(x, float):
        return Value(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_lift(v) for v in x)
    return x


def taped(t, *args, params):
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    value = t(*args)
    grads = [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return value, grads


def assert_same_bits(a, b):
    (va, ga), (vb, gb) = a, b
    assert bits(va) == bits(vb), (va, vb)
    bad = [(i, x, y) for i, (x, y) in enumerate(zip(ga, gb)) if bits(x) != bits(y)]
    assert not bad, bad[:5]


def moons(n=40, seed=0):
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2), rng.uniform(-1, 1)] for _ in range(n)]
    y = [1 if a * b > 0 else -1 for a, b in X]
    return X, y


# --- replay == backward, to the bit ------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_full_batch_training_replays_backward_to_the_bit(optimizer):
    X, y = moons()
    model = MLP(2, [8, 8, 1], seed=1)
    params = model.parameters()
    opt = SGD(params, lr=0.5, momentum=0.9) if optimizer == "sgd" else Adam(params, lr=0.05)

    def loss(X, y):
        return hinge([model(x) for x in X], y) + 1e-4 * sum_([p * p for p in params])

    t = tape(loss, X, y)
    for _ in range(6):
        got = taped(t, X, y, params=params)
        assert_same_bits(got, eager(loss, X, y, params=params))
        opt.zero_grad()
        t(X, y)
        opt.step()
    assert sum(len(v) for v in t.recordings.values()) == 1


def test_the_gradient_is_added_like_backward():
    w = Value(0.5, label="w")
    t = tape(lambda x: (w * x).tanh(), 2.0)
    t(2.0)
    t(2.0)
    first = w.grad
    w.grad = 0.0
    (w * 2.0).tanh().backward()
    assert first == 2 * w.grad  # a second call adds the same amount again


@pytest.mark.parametrize("loss", ["mse", "bce", "bce_with_logits", "cross_entropy", "hinge"])
def test_losses_replay_to_the_bit(loss):
    model = MLP(3, [5, 4], activation="tanh", seed=2)
    params = model.parameters()
    rng = random.Random(3)
    X = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(6)]

    def fn(X):
        outs = [model(x) for x in X]
        if loss == "mse":
            return mse([o[0] for o in outs], [0.5] * len(outs))
        if loss == "bce":
            return bce([o[1].sigmoid() for o in outs], [1, 0, 1, 0, 0, 1])
        if loss == "bce_with_logits":
            return bce_with_logits([o[3] * 3.0 for o in outs], [1, 0, 1, 0, 0, 1])
        if loss == "hinge":
            return hinge([o[2] for o in outs], [1, -1, 1, -1, -1, 1])
        return cross_entropy(outs, [0, 1, 2, 3, 1, 0])

    t = tape(fn, X)
    for step in range(3):
        assert_same_bits(taped(t, X, params=params), eager(fn, X, params=params))
        for p in params:
            p.data -= 0.1 * (step + 1) * math.sin(p.data)


@settings(max_examples=150)
@given(st.data())
def test_random_graphs_replay_to_the_bit(data):
    """Drawn graphs over the whole op table; some inputs are parameters, the rest arguments;
    replayed at a second point after the parameters moved."""
    expr = data.draw(expression_graphs(max_steps=7))
    first = data.draw(points(expr))
    second = data.draw(points(expr))
    is_param = [data.draw(st.booleans()) for _ in range(expr.n_inputs)]
    params = [Value(x, label=f"p{i}") for i, x in enumerate(first) if is_param[i]]

    def fn(*xs):
        it, ps = iter(xs), iter(params)
        return expr(*[next(ps) if is_param[i] else next(it) for i in range(expr.n_inputs)])

    args = [x for i, x in enumerate(first) if not is_param[i]]
    t = tape(fn, *args)
    assert_same_bits(taped(t, *args, params=params), eager(fn, *args, params=params))
    for p, x in zip(params, [x for i, x in enumerate(second) if is_param[i]]):
        p.data = x
    args = [x for i, x in enumerate(second) if not is_param[i]]
    assert_same_bits(taped(t, *args, params=params), eager(fn, *args, params=params))


def test_a_result_computed_before_the_recording_is_refused_naming_it():
    # its number belongs to the parameters as they were: eager would use that old number (and
    # raise once w changes), a replay would recompute it; neither can be promised, so refuse
    w = Value(1.5, label="w")
    w2 = w * w
    with pytest.raises(TapeError, match=r"result of '\*' \(2.25\), computed before"):
        tape(lambda x: (x * w2).sin(), 0.3)
    assert w.grad == 0.0 and w2.grad == 0.0


def test_recording_adds_no_gradient_and_works_under_no_grad():
    w = Value(2.0)
    with no_grad():
        t = tape(lambda x: w * x * x, 3.0)
    assert w.grad == 0.0
    assert t(3.0) == 18.0 and w.grad == 9.0


def test_fn_may_return_a_number():
    t = tape(lambda x: 4.0, 1.0)
    assert t(2.0) == 4.0


# --- guards: a comparison of Values is checked on every replay ---------------------------


def test_a_branch_on_a_value_records_again_and_never_replays_the_wrong_one():
    w = Value(2.0, label="w")

    def fn(x):
        return x * w if x > 0 else -(x * w).tanh()

    t = tape(fn, 1.0)
    for x in (3.0, -3.0, 0.5, -0.25, 0.0):
        assert_same_bits(taped(t, x, params=[w]), eager(fn, x, params=[w]))
    (recordings,) = t.recordings.values()
    assert len(recordings) == 2


def test_a_guard_on_a_value_outside_the_result_is_checked_first():
    w = Value(1.0, label="w")

    def fn(x):
        z = x - w  # compared, not part of the result on one branch
        return (x * w).log() if z > 0 else x * w

    t = tape(fn, 3.0)
    # at x = -1 the recorded branch would take log of a negative number: the guard comes first
    assert_same_bits(taped(t, -1.0, params=[w]), eager(fn, -1.0, params=[w]))


def test_comparisons_between_two_values_and_max():
    ws = [Value(v) for v in (0.3, -0.2, 0.9)]

    def fn(x):
        scores = [w * x for w in ws]
        return max(scores) * 2.0

    t = tape(fn, 1.0)
    for x in (1.0, -1.0, 2.0, -0.5):
        assert_same_bits(taped(t, x, params=ws), eager(fn, x, params=ws))


def test_too_many_branches_raise():
    def fn(x):
        k = 0
        for i in range(40):
            if x > i:
                k += 1
        return x * float(k)

    t = tape(fn, 0.5)
    with pytest.raises(TapeError, match="different branches"):
        for x in range(40):
            t(x + 0.5)


# --- static int arguments ------------------------------------------------------------------


def test_ints_are_static_one_recording_each():
    w = Value(0.7)

    def fn(x, k):
        return (x * w) ** k

    t = tape(fn, 1.5, 2)
    for k in (2, 3, 2, 1):
        assert_same_bits(taped(t, 1.5, k, params=[w]), eager(fn, 1.5, k, params=[w]))
    assert len(t.recordings) == 3
    t(1.5, True)  # True is not the int 1: a recording of its own
    assert len(t.recordings) == 4


def test_an_int_in_a_three_argument_pow_is_static():
    w = Value(0.7)

    def fn(x, k):
        return x * w * pow(k, 2, 7)  # modular: no Value form, so k is a plain number to fn

    t = tape(fn, 1.5, 3)
    for k in (3, 4, 3):
        assert_same_bits(taped(t, 1.5, k, params=[w]), eager(fn, 1.5, k, params=[w]))
    assert len(t.recordings) == 2


def test_arguments_nest_and_a_new_structure_records_again():
    w = Value(0.5)
    t = tape(lambda xs: dot(xs, [w] * len(xs)), [1.0, 2.0])
    assert t([1.0, 2.0, 3.0]) == 3.0
    assert len(t.recordings) == 2


# --- errors ----------------------------------------------------------------------------------


def test_domain_errors_are_the_engines():
    w = Value(1.0)
    t = tape(lambda x: (x * w).log(), 2.0)
    with pytest.raises(ValueError) as taped_error:
        t(-1.0)
    with pytest.raises(ValueError) as eager_error:
        (Value(-1.0) * w).log()
    assert str(taped_error.value) == str(eager_error.value)
    assert "log" in str(taped_error.value)


def test_an_undefined_derivative_raises_as_backward_does_and_adds_nothing():
    w = Value(1.0)
    t = tape(lambda x: (x * w).sqrt() + w, 4.0)
    with pytest.raises(ValueError, match=r"sqrt\(0.0\): the derivative does not exist"):
        t(0.0)
    assert w.grad == 0.0
    t2 = tape(lambda x: x * w + (x * 0.0).sqrt(), 4.0)  # on a path no gradient needs
    with pytest.raises(ValueError, match="sqrt"):
        t2(1.0)


@pytest.mark.parametrize("op", ["exp", "/"])
def test_overflow_and_division_errors_are_the_engines(op):
    w = Value(1.0)
    fn = (lambda x: (x * w).exp()) if op == "exp" else (lambda x: w / x)
    t = tape(fn, 1.0)
    bad = 1000.0 if op == "exp" else 0.0
    with pytest.raises(ArithmeticError) as taped_error:
        t(bad)
    with pytest.raises(ArithmeticError) as eager_error:
        fn(Value(bad))
    assert type(taped_error.value) is type(eager_error.value)
    assert str(taped_error.value) == str(eager_error.value)


def test_an_op_made_micrographs_way_is_refused_naming_it():
    def fn(x):
        out = Value(x.data * 2, (x,), "double")

        def _backward():
            x.grad += 2 * out.grad

        out._backward = _backward
        return out

    with pytest.raises(TapeError, match="'double'.*_backward closure.*custom_op"):
        tape(fn, 1.0)


def test_fixed_point_is_refused_naming_it():
    w = Value(0.5)

    def fn(x):
        return fixed_point(lambda s: [(s[0] * w + x).tanh()], [0.0])[0]

    with pytest.raises(TapeError, match="fixed_point"):
        tape(fn, 1.0)


def test_a_custom_op_replays():
    cube = custom_op("tape_cube", lambda x: x**3, [lambda x, y: 3 * x * x])
    w = Value(0.4)
    t = tape(lambda x: cube(x * w), 2.0)
    assert_same_bits(taped(t, 3.0, params=[w]), eager(lambda x: cube(x * w), 3.0, params=[w]))


def test_numbers_read_from_data_are_refused():
    with pytest.raises(TapeError, match=r"\.data"):
        tape(lambda x: x - x.data, 1.0)
    with pytest.raises(TapeError, match=r"\.data at test_tape\.py"):
        tape(lambda x: x * Value(x.data), 1.0)
    with pytest.raises(TapeError, match="random"):
        tape(lambda x: x * random.random(), 1.0)


def test_bad_arguments_and_results():
    w = Value(1.0)
    with pytest.raises(TypeError, match="Value"):
        tape(lambda x: x * w, Value(1.0))
    with pytest.raises(TypeError, match="str"):
        tape(lambda x: w, "a")
    with pytest.raises(TypeError, match="scalar"):
        tape(lambda x: [x], 1.0)
    with pytest.raises(TypeError, match="callable"):
        tape(3.0, 1.0)


def test_a_bad_argument_is_named_by_its_place():
    w = Value(1.0)
    t = tape(lambda X: sum_([x[0] * w for x in X]), [[1.0], [2.0]])
    with pytest.raises(TypeError, match=r"argument\[0\]\[1\]\[0\] is str 'x'"):
        t([[1.0], ["x"]])
    with pytest.raises(TypeError, match=r"argument\[0\]\[0\]\[0\] is a Value"):
        t([[Value(1.0)], [2.0]])
    assert t([[1.0], [2.0]]) == 3.0  # nothing of the bad calls stays behind


# --- the generated source --------------------------------------------------------------------


def test_source_reads_as_backpropagation():
    x1, w1, b = Value(2.0), Value(-3.0, label="w1"), Value(6.88, label="b")
    t = tape(lambda x: (x * w1 + b).tanh(), 2.0)
    src = t.source
    assert "v3 = tanh(v2)" in src
    assert "g_v2 = (1.0 - v3 * v3) * g_v3" in src
    assert "return v3, (g_w1, g_b)" in src
    del x1


# --- t.mean: the batch at once -----------------------------------------------------------------


def eager_mean(fn, batched, params):
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    samples = list(zip(*batched))
    loss = sum_([fn(*_lift(s)) for s in samples]) / len(samples)
    loss.backward()
    grads = [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return loss.data, grads


def taped_mean(t, batched, params):
    for p in params:
        p.grad = 0.0
    value = t.mean(*batched)
    assert type(value) is float
    return value, [p.grad for p in params]


def assert_close(a, b, tol=1e-12):
    (va, ga), (vb, gb) = a, b
    assert abs(va - vb) <= tol * max(1.0, abs(vb)), (va, vb)
    scale = max([1.0, *map(abs, gb)])
    bad = [(i, x, y) for i, (x, y) in enumerate(zip(ga, gb)) if abs(x - y) > tol * scale]
    assert not bad, bad[:5]


@pytest.fixture(params=["numpy", "python"])
def engine(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(batch, "np", None)
    elif batch.np is None:
        pytest.skip("NumPy is not installed")
    return request.param


@pytest.mark.parametrize("labels, activation", [("float", "relu"), ("int", "relu"),
                                               ("float", "tanh"), ("int", "sigmoid")])
def test_mean_equals_the_eager_mean(engine, labels, activation):
    X, y = moons(50)
    if labels == "float":
        y = [float(v) for v in y]
    model = MLP(2, [8, 8, 1], activation=activation, seed=4)
    params = model.parameters()

    def fn(x, t):
        return (1 - t * model(x)).relu() + 1e-3 * sum_([p * p for p in params])

    t = tape(fn, X[0], y[0])
    opt = Adam(params, lr=0.05)
    for _ in range(3):
        assert_close(taped_mean(t, (X, y), params), eager_mean(fn, (X, y), params))
        opt.zero_grad()
        t.mean(X, y)
        opt.step()


def test_mean_of_a_classifier_with_cross_entropy(engine):
    rng = random.Random(5)
    X = [[rng.uniform(0, 1) for _ in range(6)] for _ in range(30)]
    y = [rng.randrange(4) for _ in range(30)]
    model = MLP(6, [7, 4], seed=6)
    params = model.parameters()
    t = tape(lambda x, k: cross_entropy(model(x), k), X[0], y[0])
    fn = t.fn
    assert_close(taped_mean(t, (X, y), params), eager_mean(fn, (X, y), params))


def test_mean_of_bce_on_sigmoids(engine):
    rng = random.Random(7)
    X = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(25)]
    y = [float(rng.randrange(2)) for _ in range(25)]
    model = MLP(4, [3, 1], activation="sigmoid", output_activation="sigmoid", seed=8)
    params = model.parameters()

    def fn(x, t):
        return bce(model(x), t)

    t = tape(fn, X[0], y[0])
    assert_close(taped_mean(t, (X, y), params), eager_mean(fn, (X, y), params))


def test_mean_follows_each_samples_branch(engine):
    w = Value(0.8)

    def fn(x):
        return (x * w).exp() if x > 0 else (x * w) ** 2

    xs = [-1.5, 0.5, 2.0, -0.3, 1.1]
    t = tape(fn, 1.0)
    assert_close(taped_mean(t, (xs,), [w]), eager_mean(fn, (xs,), [w]))


def test_mean_with_ops_numpy_has_no_form_for(engine):
    cube = custom_op("tape_cube2", lambda x: x**3, [lambda x, y: 3 * x * x])
    w = Value(0.4)
    xs = [0.5, 1.5, -2.0]

    def fn(x):
        return cube(x * w)

    t = tape(fn, 1.0)
    assert_close(taped_mean(t, (xs,), [w]), eager_mean(fn, (xs,), [w]))


def test_mean_errors_are_the_engines_and_add_nothing(engine):
    w = Value(1.0)
    t = tape(lambda x: (x * w).log(), 1.0)
    with pytest.raises(ValueError, match=r"log\(-2.0\)"):
        t.mean([1.0, -2.0, 3.0])
    assert w.grad == 0.0


def test_mean_where_numpy_meets_an_infinity_replays_exactly(engine):
    w = Value(1.0)

    def fn(x):
        return (x * w) * 1e308 * 10.0 + w

    t = tape(fn, 1.0)
    xs = [1.0, 2.0]
    value, grads = taped_mean(t, (xs,), [w])
    assert value == math.inf and grads == eager_mean(fn, (xs,), [w])[1]


def test_mean_takes_arrays_and_mixed_lists(engine):
    X, y = moons(20)
    model = MLP(2, [4, 1], seed=9)
    params = model.parameters()
    fn = lambda x, t: (1 - t * model(x)).relu()  # noqa: E731
    t = tape(fn, X[0], y[0])
    reference = eager_mean(fn, (X, y), params)
    saved, X[3][1] = X[3][1], 1  # an int among the floats: static there, as in a call
    assert_close(taped_mean(t, (X, y), params), eager_mean(fn, (X, y), params))
    X[3][1] = saved
    if engine == "numpy":
        np = batch.np
        assert_close(taped_mean(t, (np.array(X), np.array(y)), params), reference)


def test_mean_refuses_uneven_or_empty_batches():
    w = Value(1.0)
    t = tape(lambda x, k: x * w, 1.0, 1)
    with pytest.raises(ValueError, match="different numbers of samples"):
        t.mean([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="empty"):
        t.mean([], [])


# --- breaking the replay on purpose turns these tests red -------------------------------------


def test_a_wrong_summation_order_is_caught(monkeypatch):
    """Adding a dot's gradients pair by pair forwards instead of last pair first changes
    the last bits of a shared input's gradient: the check against backward() refuses it."""
    import autograd.replay.pysource as pysource

    def forwards(op, count):
        return list(range(count))

    monkeypatch.setattr(pysource, "operand_order", forwards)
    found = 0
    for seed in range(10):
        rng = random.Random(seed)
        w = [Value(rng.uniform(-1, 1) * 10 ** rng.uniform(-3, 3)) for _ in range(18)]

        def fn(x, w=w):
            h = [(x * wi).tanh() for wi in w[:3]]
            return dot(h * 6, w)  # each h in six pairs: six terms, summed in another order

        try:
            tape(fn, 0.5)(0.5)
        except TapeError as exc:
            assert "internal check failed" in str(exc)
            found += 1
    assert found


def test_the_docs_show_the_source_a_neuron_really_gets():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "tape.md").read_text()
    section = page.split("# Record once, replay fast: `tape`", 1)[1]
    example, shown = [block.split("\n", 1)[1] for block in section.split("```python")[1:3]]
    example, shown = example.split("```")[0], shown.split("```")[0]
    scope: dict = {}
    exec(example.replace("print(", "(lambda *a: None)("), scope)  # the page's own code
    assert scope["t"].source == shown


@settings(max_examples=100)
@given(st.data())
def test_random_graphs_mean_equals_the_eager_mean(data):
    """Drawn graphs over the whole op table (every op's NumPy form), a batch of drawn points:
    parameters at the first, the other inputs varying by sample."""
    expr = data.draw(expression_graphs(max_steps=7))
    batch_points = [data.draw(points(expr)) for _ in range(4)]
    is_param = [data.draw(st.booleans()) for _ in range(expr.n_inputs)]
    params = [Value(x) for i, x in enumerate(batch_points[0]) if is_param[i]]

    def fn(*xs):
        it, ps = iter(xs), iter(params)
        return expr(*[next(ps) if is_param[i] else next(it) for i in range(expr.n_inputs)])

    samples = []
    for p in batch_points:  # the parameters of the first point, the arguments of each
        point = [batch_points[0][i] if is_param[i] else x for i, x in enumerate(p)]
        if well_conditioned(expr, tuple(point)):
            samples.append([x for i, x in enumerate(p) if not is_param[i]])
    assume(samples and samples[0])  # something varies by sample
    batched = tuple(map(list, zip(*samples)))
    t = tape(fn, *samples[0])
    want = eager_mean(fn, batched, params)
    assert_close(taped_mean(t, batched, params), want)


def test_a_gradient_of_negative_zero_lands_as_backward_lands_it():
    """backward() sums each gradient from 0.0, so an all -0.0 sum arrives as 0.0 even on a
    .grad of -0.0; the replay's sums start at their first term and must end the same."""
    w = Value(2.0)
    t = tape(lambda x: (x * w).relu(), -1.0)  # relu is off: w's term is -1 * (0 * 1) = -0.0
    w.grad = -0.0
    t(-1.0)
    taped_bits = bits(w.grad)
    w.grad = -0.0
    (Value(-1.0) * w).relu().backward()
    assert taped_bits == bits(w.grad) == bits(0.0)


def test_a_batch_plan_recorded_at_an_infinity_checks_itself_without_numpy_errors():
    w = Value(1.0, label="w")

    def fn(x, xs):
        return x + 0.25 * dot(xs, [w, w, w, w])

    row = [math.inf, 1.0, 1.0, 1.0]
    t = tape(fn, -2.0, row)  # recorded where the value and w's gradient are infinite
    assert t.mean([-2.0], [row]) == math.inf
    assert w.grad == math.inf
    eager = fn(-2.0, row)
    w.grad = 0.0
    eager.backward()
    assert eager.data == math.inf and w.grad == math.inf


def test_gradients_that_sum_to_nan_in_the_batch_plan_warn_no_more_than_floats_do():
    import warnings

    w = Value(1.0, label="w")
    t = tape(lambda x: w * x, 1.0)
    eager = Value(1.0)
    eager.grad = w.grad = math.inf  # left over from an earlier step, as without zero_grad
    xs = [-math.inf, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "invalid value encountered in add"
        taped = t.mean(xs)
    (sum_([eager * x for x in xs]) / len(xs)).backward()
    assert taped == -math.inf and math.isnan(w.grad) and math.isnan(eager.grad)


@pytest.mark.parametrize("copy", ["detach", "no_grad"])
def test_reading_a_copy_of_a_parameter_refuses_even_when_fn_returns_a_number(copy):
    w = Value(1.0, label="w")

    def fn(x):
        if copy == "detach":
            c = w.detach()
        else:
            with no_grad():
                c = w * 2.0
        if c.data >= 0.0:  # a branch on the parameter that no graph shows
            return -1.0
        return -c

    with pytest.raises(TapeError, match=rf"reads the number of a Value computed "
                                        rf"{'by detach' if copy == 'detach' else 'under no_grad'}"
                                        rf".* from the parameter 'w'"):
        tape(fn, 1.0)


def test_cross_entropy_near_zero_keeps_its_digits_in_the_batch_plan():
    w = Value(1.0, label="w")

    def fn(x, k):  # the target's logit far above the other: a loss of about 1e-13
        return cross_entropy([x, 31.0 * w], k).log()

    rows, targets = [1.0, 0.5, 2.0], [1, 1, 1]
    t = tape(fn, rows[0], targets[0])
    got = t.mean(rows, targets)
    got_grad = w.grad
    w.grad = 0.0
    losses = [fn(x, k) for x, k in zip(rows, targets)]
    want = sum_(losses) / len(losses)
    want.backward()
    assert got == pytest.approx(want.data, rel=1e-12)
    assert got_grad == pytest.approx(w.grad, rel=1e-12)


def test_an_int_that_indexes_a_list_is_static_even_where_moving_it_aliases():
    w0, w1 = Value(1.0, label="w0"), Value(2.0, label="w1")

    def pick(x, k):  # k = 1 and k = -1 pick the same entry of a two-entry list
        return [w0, w1][k] * x

    t = tape(pick, 1.0, 1)
    assert t(3.0, 0) == 3.0 and w0.grad == 3.0 and w1.grad == 0.0

    def same(x, k):  # both entries one Value: any k in range records the same graph
        return [w0, w0][k] * x

    t = tape(same, 1.0, 0)
    with pytest.raises(IndexError):
        t(1.0, 2)  # eagerly an IndexError: never a replay of entry 0


def test_an_index_is_static_also_behind_a_loss_that_refuses_the_moved_target():
    w0, w1, s = Value(1.0, label="w0"), Value(2.0, label="w1"), Value(0.5, label="s")

    def fn(k, y):  # hinge refuses a target moved far before the list is indexed by k
        return hinge(s, y) + [w0, w1][k] * 3.0

    t = tape(fn, 1, 1)
    assert t(0, -1) == 4.5 and w0.grad == 3.0 and w1.grad == 0.0 and s.grad == 1.0
    for p in (w0, w1, s):
        p.grad = 0.0
    assert t.mean([0, 1], [1, -1]) == (0.5 + 3.0 + 1.5 + 6.0) / 2
    assert (w0.grad, w1.grad, s.grad) == (1.5, 1.5, 0.0)


def test_an_index_is_static_also_behind_a_loss_that_refuses_a_nudged_float_target():
    w0, w1 = Value(1.0, label="w0"), Value(2.0, label="w1")

    def fn(x, k, y):  # the recording's nudged float y fails hinge's check before k indexes
        return mse(hinge(x, y), [w0, w1][k])

    t = tape(fn, 0.5, 1, 1.0)
    t(0.5, 0, 1.0)
    taped = (w0.grad, w1.grad)
    w0.grad = w1.grad = 0.0
    fn(0.5, 0, 1.0).backward()
    assert taped == (w0.grad, w1.grad) == (1.0, 0.0)


def test_an_index_that_fn_compares_first_is_static_even_where_one_near_move_aliases():
    w0, w1 = Value(1.0, label="w0"), Value(2.0, label="w1")

    def fn(k, x):  # k = 0 and k = -1 pick the same entry; k compared, so never moved far alone
        if k > 100:
            raise ValueError("no such entry")
        return [w0, w1, w0][k] * x

    t = tape(fn, 0, 2.0)
    assert t(1, 3.0) == 6.0 and (w0.grad, w1.grad) == (0.0, 3.0)


def _against_eager(fn, params, example, calls):
    """Each call's value and gradients through a tape recorded at `example`, beside eager's."""
    t = tape(fn, *example)
    for args in calls:
        want = eager(fn, *args, params=params)
        got = taped(t, *args, params=params)
        assert got == want, (args, got, want)


def test_an_int_that_picks_a_number_from_a_table_is_static_behind_a_loss_check():
    ws = [Value(v, label=f"w{i}") for i, v in enumerate([0.3, -0.2, 0.5])]
    class_weight = [1.0, 1.0, 5.0]  # classes 0 and 1 weigh the same: a near move sees no change

    def fn(x, c):
        return cross_entropy([w * x for w in ws], c) * class_weight[c]

    _against_eager(fn, ws, (0.7, 0), [(0.7, 2), (0.7, 1), (-0.4, 0)])


def test_an_int_that_picks_an_entry_after_a_comparison_of_its_own_is_static():
    w = Value(2.0, label="w")
    scale = [1.0, 1.0, 4.0]

    def fn(x, k):
        if k < len(scale):
            return w * x * scale[k]
        return w * x

    _against_eager(fn, [w], (-0.5, 0), [(-0.5, 2), (1.5, 1), (1.5, 7)])


def test_a_difference_of_two_ints_that_indexes_is_static():
    rel = [Value(v, label=f"rel{d}") for d, v in enumerate([0.1, 0.7, -0.4])]

    def fn(x, i, j):  # moving both ints the same way leaves j - i where it was
        return (x * rel[j - i]).tanh()

    _against_eager(fn, rel, (0.5, 3, 4), [(0.5, 0, 0), (0.5, 5, 7), (0.5, 1, 2)])


def test_an_int_that_sets_a_loop_count_is_static_without_a_run_of_that_length():
    w = Value(0.5, label="w")

    def fn(x, n):
        h = x
        for _ in range(n):
            h = (w * h).tanh()
        return h

    _against_eager(fn, [w], (0.3, 3), [(0.3, 5), (0.3, 1)])  # range(2**31) would never end


def test_int_arithmetic_past_two_to_the_53_is_static():
    w = Value(-2.0, label="w")

    def fn(x, n):  # n * n - (n - 1) * (n + 1) is 1 for every int, not in floats past 2**53
        return w * x * (n * n - (n - 1) * (n + 1))

    _against_eager(fn, [w], (1.0, 10**8), [(1.0, 10**8), (2.0, 3)])


def test_a_traced_int_is_an_int_to_fn():
    w = Value(1.5, label="w")
    seen = []

    def fn(x, k):
        seen.append(isinstance(k, int) and not isinstance(k, bool))
        return w * x * k

    _against_eager(fn, [w], (2.0, 3), [(2.0, 5), (1.0, -1)])
    assert seen and all(seen)


def test_an_int_turned_into_text_is_static():
    w = Value(2.0, label="w")
    weight = {"0": 1.0, "1": 1.0, "2": 3.0}

    def fn(x, k):
        return w * x * weight[str(k)]

    _against_eager(fn, [w], (1.0, 0), [(1.0, 2), (0.5, 1)])


def test_the_demos_losses_replay_as_arrays():
    """The plan is checked against backward() where it is built; one that disagreed would be
    set aside for the exact replay, correct but slow: these must keep theirs."""
    np = pytest.importorskip("numpy")
    X, y = moons(20)
    model = MLP(2, [8, 8, 1], seed=3)
    t = tape(lambda x, target: hinge(model(x), target), X[0], y[0])
    t.mean(np.array(X), np.array(y))
    digits = MLP(16, [8, 4], seed=3)
    rng = random.Random(5)
    P = np.array([[rng.randint(0, 16) for _ in range(16)] for _ in range(12)])
    c = np.array([rng.randint(0, 3) for _ in range(12)])
    u = tape(lambda px, k: cross_entropy(digits([p / 16 for p in px]), k), P[0].tolist(), int(c[0]))
    u.mean(P, c)
    for tp in (t, u):
        recs = [rec for kept in tp.recordings.values() for rec in kept]
        assert len(recs) == 1 and batch.plan_of(recs[0]) is not None


def test_an_ill_conditioned_fn_replays_exactly_where_its_plan_cannot():
    w = Value(1.0, label="w")

    def fn(x, k):  # sin of about 7e36: a last-bit difference in exp changes it entirely
        return (w / (x * (k - 128)).sigmoid()).sin()

    xs, ks = [8.486529604087526, 8.486529604087526], [118, 118]
    t = tape(fn, xs[0], ks[0])
    taped = t.mean(xs, ks)
    got = w.grad
    w.grad = 0.0
    eager = (fn(Value(xs[0]), ks[0]) + fn(Value(xs[1]), ks[1])) / 2
    eager.backward()
    assert (taped, got) == (eager.data, w.grad)


def test_an_int_compared_with_a_float_is_guarded():
    w = Value(0.3, label="w")

    def fn(x, y):
        return w * x * (2.0 if y == 1.0 else 1.0)

    def other(x, y):
        return w * x * (3.0 if 0.5 < y else 1.0)

    for f in (fn, other):
        _against_eager(f, [w], (1.0, -1), [(1.0, 1), (2.0, -1), (1.0, 1)])


def test_a_float_made_from_an_int_and_read_by_c_code_is_static():
    import math

    w = Value(0.3, label="w")

    def hyp(x, k):  # symmetric in k: the near move -k records the same graph
        return w * x * math.hypot(k / 1, 1.0)

    def parity(x, k):
        return w * x * (1.0 if (k / 2).is_integer() else 2.0)

    for f in (hyp, parity):
        _against_eager(f, [w], (1.0, 2), [(1.0, 3), (2.0, -2), (1.0, 4)])


def test_a_loop_that_counts_an_int_down_records_without_running_that_far():
    w = Value(0.3, label="w")
    steps = [0]

    def countdown(x, n):
        while n > 0:
            n = n - 1
            steps[0] += 1
            if steps[0] > 10**6:  # the int moved far would count down 2**31 times
                raise RuntimeError("ran away")
        return w * x

    _against_eager(countdown, [w], (1.0, 3), [(2.0, 5), (2.0, 0)])
    assert steps[0] < 10**5


def test_an_int_enum_argument_reaches_fn_as_itself():
    import enum

    class Kind(enum.IntEnum):
        A = 0
        B = 1

    w = Value(0.3, label="w")

    def fn(x, k):
        return w * x * (2.0 if k.name == "A" else 1.0)

    _against_eager(fn, [w], (1.0, Kind.A), [(1.0, Kind.B), (3.0, Kind.A)])


def test_an_int_compared_with_a_value_on_its_right_stays_data():
    w, b = Value(0.3, label="w"), Value(-0.7, label="b")

    def fn(x, k):
        return w * x if k < w * x else b

    t = tape(fn, 1.0, 0)
    assert all(t.ints_are_data.values())
    _against_eager(fn, [w, b], (1.0, 0), [(1.0, 1), (5.0, 1), (2.0, -3)])


def test_an_int_zero_negated_keeps_its_sign():
    w = Value(0.3, label="w")

    def negated(x, k):
        return w * x * (-k)

    t = tape(negated, 2.0, 3)
    out = negated(2.0, 0)
    assert math.copysign(1.0, t(2.0, 0)) == math.copysign(1.0, out.data) == 1.0


def test_threads_sharing_a_tape_leave_the_parameters_as_they_were():
    import threading

    w = Value(0.3, label="w")
    table = [float(i) for i in range(40)]
    t = tape(lambda x, k: w * x * table[k], 1.0, 1)  # k static: each new k records again
    errors = []

    def work(first):
        for k in range(first, 40, 4):
            try:
                t(0.5, k)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often: a race shows in a few calls
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors and w.data == 0.3
    assert w.grad == sum(0.5 * v for v in table) - 0.0  # every call's gradient, none lost
