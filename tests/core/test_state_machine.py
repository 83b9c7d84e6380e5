"""A hypothesis state machine drives the engine through random sequences of building nodes
(unary, binary, with numbers on either side, fused sum_/dot), backward passes from any node with
any seed, zero_grad from any node and no_grad switched on and off, and checks every node's data,
op, parents and grad after each step against a deliberately naive reference model.

The model shares no code with the engine: its own forward and derivative formulas, written below
with `math`, and forward-mode differentiation (for each node of the graph, push a tangent of 1
through every later node in creation order), where the engine runs reverse mode.
"""

import math

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from autograd import Value, dot, no_grad, sum_


class Ref:
    """A node of the reference model."""

    def __init__(self, data, op="", parents=(), locals_=()):
        self.data = data
        self.op = op
        self.parents = tuple(parents)
        self.locals = tuple(locals_)  # d self / d parent, one per parent
        self.grad = 0.0
        self.scale = 0.0  # sum of |contributions| to grad: the yardstick for rounding error


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# name: (engine call, forward, derivative, domain)
UNARY = {
    "relu": (Value.relu, lambda x: x if x > 0 else 0.0, lambda x: float(x > 0), None),
    "tanh": (Value.tanh, math.tanh, lambda x: 1.0 - math.tanh(x) ** 2, None),
    "sigmoid": (Value.sigmoid, _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
                lambda x: abs(x) < 30),
    "exp": (Value.exp, math.exp, math.exp, lambda x: x < 5),
    "log": (Value.log, math.log, lambda x: 1.0 / x, lambda x: x > 0.1),
    "sqrt": (Value.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), lambda x: x > 0.1),
    "sin": (Value.sin, math.sin, math.cos, None),
    "cos": (Value.cos, math.cos, lambda x: -math.sin(x), None),
    "neg": (lambda v: -v, lambda x: -x, lambda x: -1.0, None),
    "abs": (abs, abs, lambda x: (x > 0) - (x < 0), None),
}

# name: (engine call, forward, (d/da, d/db), domain)
BINARY = {
    "+": (lambda a, b: a + b, lambda a, b: a + b, (lambda a, b: 1.0, lambda a, b: 1.0), None),
    "-": (lambda a, b: a - b, lambda a, b: a - b, (lambda a, b: 1.0, lambda a, b: -1.0), None),
    "*": (lambda a, b: a * b, lambda a, b: a * b, (lambda a, b: b, lambda a, b: a), None),
    "/": (lambda a, b: a / b, lambda a, b: a / b,
          (lambda a, b: 1.0 / b, lambda a, b: -a / (b * b)), lambda a, b: abs(b) > 0.1),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b,
            (lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * math.log(a)),
            lambda a, b: a > 0.1 and abs(b) < 3),
}

MAX_NODES = 24
LIMIT = 1e4  # keep every value small enough that float results stay comparable


def _ok(y):
    return math.isfinite(y) and abs(y) < LIMIT


class EngineMachine(RuleBasedStateMachine):
    nodes = Bundle("nodes")

    def __init__(self):
        super().__init__()
        self.pairs = []  # (Value, Ref) for every node a rule returned
        self.refs = []  # every Ref, constants included, in creation order
        self.quiet = None  # the open no_grad block, if any

    # -- building --------------------------------------------------------------------------

    def _keep(self, value, ref):
        if self.quiet is not None:  # under no_grad the engine records a leaf
            ref = Ref(ref.data)
        self.refs.append(ref)
        self.pairs.append((value, ref))
        return value

    def _constant(self, c):
        ref = Ref(float(c))
        self.refs.append(ref)
        return ref

    def _ref(self, value):
        return next(r for v, r in self.pairs if v is value)

    @initialize(target=nodes, a=st.floats(-3, 3, allow_subnormal=False),
                b=st.floats(-3, 3, allow_subnormal=False))
    def two_leaves(self, a, b):
        return multiple(self.leaf(a), self.leaf(b))

    @precondition(lambda self: len(self.pairs) < 6)
    @rule(target=nodes, data=st.floats(-3, 3, allow_subnormal=False))
    def leaf(self, data):
        return self._keep(Value(data), Ref(data))

    @precondition(lambda self: len(self.pairs) < MAX_NODES)
    @rule(target=nodes, x=nodes, name=st.sampled_from(sorted(UNARY)))
    def unary(self, x, name):
        call, forward, derivative, domain = UNARY[name]
        r = self._ref(x)
        if domain and not domain(r.data) or not _ok(forward(r.data)):
            return multiple()
        return self._keep(call(x), Ref(forward(r.data), name, [r], [derivative(r.data)]))

    def _binary(self, name, a, b, ra, rb, number=None):
        """`name` on a and b; `number` is the Ref of a plain-number operand, registered first
        (the engine makes it a constant leaf before the result)."""
        call, forward, derivatives, domain = BINARY[name]
        if domain and not domain(ra.data, rb.data) or not _ok(forward(ra.data, rb.data)):
            return multiple()
        if number is not None:
            self.refs.append(number)
        locals_ = [d(ra.data, rb.data) for d in derivatives]
        if name == "pow" and number is rb:  # Value ** number: no exponent operand, op "**"
            ref = Ref(forward(ra.data, rb.data), "**", [ra], locals_[:1])
        else:
            ref = Ref(forward(ra.data, rb.data), name, [ra, rb], locals_)
        return self._keep(call(a, b), ref)

    @precondition(lambda self: len(self.pairs) < MAX_NODES)
    @rule(target=nodes, a=nodes, b=nodes, name=st.sampled_from(sorted(BINARY)))
    def binary(self, a, b, name):
        return self._binary(name, a, b, self._ref(a), self._ref(b))

    @precondition(lambda self: len(self.pairs) < MAX_NODES)
    @rule(target=nodes, a=nodes, c=st.sampled_from([-2.0, -0.5, 0.25, 1.0, 3]),
          name=st.sampled_from(sorted(BINARY)), number_first=st.booleans())
    def with_number(self, a, c, name, number_first):
        ra, rc = self._ref(a), Ref(float(c))
        if number_first:
            return self._binary(name, c, a, rc, ra, number=rc)
        return self._binary(name, a, c, ra, rc, number=rc)

    @precondition(lambda self: len(self.pairs) < MAX_NODES)
    @rule(target=nodes, xs=st.lists(nodes, min_size=1, max_size=4))
    def fuse_sum(self, xs):
        rs = [self._ref(x) for x in xs]
        total = 0.0
        for r in rs:
            total += r.data
        return self._keep(sum_(xs), Ref(total, "sum", rs, [1.0] * len(rs)))

    @precondition(lambda self: len(self.pairs) < MAX_NODES)
    @rule(target=nodes, pairs=st.lists(st.tuples(nodes, nodes), min_size=1, max_size=3))
    def fuse_dot(self, pairs):
        xs, ws = [p[0] for p in pairs], [p[1] for p in pairs]
        rx, rw = [self._ref(x) for x in xs], [self._ref(w) for w in ws]
        total = rx[0].data * rw[0].data
        for a, b in zip(rx[1:], rw[1:]):
            total += a.data * b.data
        if not _ok(total):
            return multiple()
        ref = Ref(total, "dot", rx + rw, [r.data for r in rw] + [r.data for r in rx])
        return self._keep(dot(xs, ws), ref)

    # -- passes ------------------------------------------------------------------------------

    def _under(self, root):
        seen, stack = {id(root): root}, [root]
        while stack:
            for p in stack.pop().parents:
                if id(p) not in seen:
                    seen[id(p)] = p
                    stack.append(p)
        return list(seen.values())

    def _forward_mode(self, root, target):
        """d root / d target by pushing a tangent forward in creation order; also the same with
        absolute values."""
        tangent = {id(target): (1.0, 1.0)}
        for ref in self.refs[self.refs.index(target) + 1:]:
            t = a = 0.0
            for p, local in zip(ref.parents, ref.locals):
                if id(p) in tangent:
                    tp, ap = tangent[id(p)]
                    t += local * tp
                    a += abs(local) * ap
            if t or a:
                tangent[id(ref)] = (t, a)
            if ref is root:
                break
        return tangent.get(id(root), (0.0, 0.0))

    @rule(root=nodes, latest=st.booleans(),
          seed=st.one_of(st.none(), st.floats(-2, 2, allow_subnormal=False)))
    def backward(self, root, latest, seed):
        if latest:  # the newest node has the largest graph under it
            root = self.pairs[-1][0]
        r = self._ref(root)
        if seed is None:
            root.backward()
            seed = 1.0
        else:
            root.backward(seed)
        for node in self._under(r):
            d, size = self._forward_mode(r, node)
            node.grad += seed * d
            node.scale += abs(seed) * size

    @rule(root=nodes)
    def zero_grad(self, root):
        root.zero_grad()
        for node in self._under(self._ref(root)):
            node.grad = node.scale = 0.0

    @rule(on=st.booleans())
    def switch_no_grad(self, on):
        if self.quiet is None and on:
            self.quiet = no_grad()
            self.quiet.__enter__()
        elif self.quiet is not None and not on:
            self.quiet.__exit__(None, None, None)
            self.quiet = None

    def teardown(self):
        if self.quiet is not None:
            self.quiet.__exit__(None, None, None)

    # -- the check ---------------------------------------------------------------------------

    @invariant()
    def every_node_matches_the_model(self):
        refs = {id(r): v for v, r in self.pairs}
        for value, ref in self.pairs:
            assert math.isclose(value.data, ref.data, rel_tol=1e-12, abs_tol=1e-300), (
                value, ref.data)
            assert value.op == ref.op, (value, ref.op)
            assert len(value.parents) == len(ref.parents), value
            for p, rp in zip(value.parents, ref.parents):
                if id(rp) in refs:
                    assert p is refs[id(rp)], value
                else:  # a number the rule passed: a constant leaf with its value
                    assert p.parents == () and p.data == rp.data, value
            assert abs(value.grad - ref.grad) <= 1e-9 * ref.scale + 1e-300, (
                value, ref.grad, ref.scale)


EngineMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=50)
test_engine_state_machine = EngineMachine.TestCase
