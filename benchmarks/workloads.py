"""The benchmark's programs. Each `make_*` returns a `step()` closure that does one unit of the
workload (one training step, one epoch); the worker times calls to it.

Implementations ("impl"):
- "ops":    micrograd-style code over an engine's own `Value` operators (via a kit),
- "nn":     this project's `nn` package, as it is meant to be used,
- "floats": plain Python floats computing the same forward pass, no graph (the floor).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from . import data

MOONS = {"nin": 2, "nouts": [16, 16, 1], "samples": 100, "alpha": 1e-4, "seed": 1337}
SEED = {"nin": 10, "nouts": [5, 1], "samples": 800, "lr": 0.01, "seed": 0}


class Unsupported(Exception):
    """This engine cannot run this workload (the message says why)."""


# --- micrograd's nn, written once over whatever node type a kit makes -------------------------


class Neuron:
    def __init__(self, kit: Any, w: list, b: float, activation: str) -> None:
        self.kit = kit
        self.w = [kit.param(x) for x in w]
        self.b = kit.param(b)
        self.activation = activation

    def __call__(self, x: list) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.activation == "relu":
            return act.relu()
        if self.activation == "sigmoid":
            return self.kit.sigmoid(act)
        return act

    def parameters(self) -> list:
        return self.w + [self.b]


class FloatNeuron(Neuron):
    """The same neuron on plain floats: the forward function with no graph."""

    def __call__(self, x: list) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.activation == "relu":
            return act if act > 0 else 0.0
        if self.activation == "sigmoid":
            return 1.0 / (1.0 + math.exp(-act))
        return act


class FloatKit:
    neuron = FloatNeuron

    @staticmethod
    def param(x: float) -> float:
        return x


class Layer:
    def __init__(self, kit: Any, neurons: list, activation: str) -> None:
        cls = getattr(kit, "neuron", Neuron)
        self.neurons = [cls(kit, w, b, activation) for w, b in neurons]

    def __call__(self, x: list) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, kit: Any, weights: list, hidden: str, output: str) -> None:
        last = len(weights) - 1
        self.layers = [
            Layer(kit, layer, output if i == last else hidden) for i, layer in enumerate(weights)
        ]

    def __call__(self, x: list) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]


def _moons_setup() -> tuple[list, list, list]:
    X, y = data.moons(MOONS["samples"], seed=MOONS["seed"])
    return X, y, data.mlp_weights(MOONS["nin"], MOONS["nouts"], seed=MOONS["seed"])


def _seed_setup() -> tuple[list, list, list]:
    X, y = data.classification(SEED["samples"], SEED["nin"], seed=SEED["seed"])
    return X, y, data.mlp_weights(SEED["nin"], SEED["nouts"], seed=SEED["seed"], scale="torch")


# --- workload 1: micrograd's moons demo step --------------------------------------------------


def moons_forward_ops(kit: Any, model: MLP, X: list, y: list) -> Any:
    """The loss of micrograd's demo notebook, written as it writes it."""
    inputs = [list(map(kit.leaf, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = MOONS["alpha"] * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def make_moons_ops(kit: Any) -> Callable[[], float]:
    X, y, weights = _moons_setup()
    model = MLP(kit, weights, "relu", "linear")
    params = model.parameters()
    k = [0]

    def step() -> float:
        total_loss = moons_forward_ops(kit, model, X, y)
        kit.zero_grad(params)
        kit.backward(total_loss)
        learning_rate = 1.0 - 0.9 * (k[0] % 100) / 100
        kit.sgd(params, learning_rate)
        k[0] += 1
        return kit.value(total_loss)

    step.forward = lambda: moons_forward_ops(kit, model, X, y)  # type: ignore[attr-defined]
    return step


def _nn_weights(weights: list) -> list:
    return [([w for w, _ in layer], [b for _, b in layer]) for layer in weights]


def make_moons_nn() -> Callable[[], float]:
    from autograd import sum_
    from nn import MLP as NNMLP
    from nn.losses import hinge
    from nn.optim import SGD

    X, y, weights = _moons_setup()
    model = NNMLP(2, [16, 16, 1], weights=_nn_weights(weights))
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    alpha = MOONS["alpha"]
    k = [0]

    def forward() -> Any:
        scores = [model(x) for x in X]
        return hinge(scores, y) + alpha * sum_([p * p for p in params])

    def step() -> float:
        loss = forward()
        opt.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * (k[0] % 100) / 100
        opt.step()
        k[0] += 1
        return loss.data

    step.forward = forward  # type: ignore[attr-defined]
    return step


def make_moons_floats() -> Callable[[], float]:
    X, y, weights = _moons_setup()
    model = MLP(FloatKit(), weights, "relu", "linear")

    def step() -> float:
        scores = list(map(model, X))
        losses = [max(0.0, 1 + -yi * s) for yi, s in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        return data_loss + MOONS["alpha"] * sum(p * p for p in model.parameters())

    return step


# --- workload 2: the seed program's epoch (10-5-1 sigmoid, BCE, SGD) --------------------------


def make_seed_ops(kit: Any) -> Callable[[], float]:
    X, y, weights = _seed_setup()
    model = MLP(kit, weights, "sigmoid", "sigmoid")
    params = model.parameters()
    log = kit.log

    def step() -> float:
        inputs = [list(map(kit.leaf, xrow)) for xrow in X]
        probs = [model(x) for x in inputs]
        terms = [-(t * log(p) + (1 - t) * log(1 - p)) for p, t in zip(probs, y)]
        loss = sum(terms) * (1.0 / len(terms))
        kit.zero_grad(params)
        kit.backward(loss)
        kit.sgd(params, SEED["lr"])
        return kit.value(loss)

    return step


def make_seed_nn() -> Callable[[], float]:
    from nn import MLP as NNMLP
    from nn.losses import bce
    from nn.optim import SGD

    X, y, weights = _seed_setup()
    model = NNMLP(
        10, [5, 1], activation="sigmoid", output_activation="sigmoid", weights=_nn_weights(weights)
    )
    opt = SGD(model.parameters(), lr=SEED["lr"])

    def step() -> float:
        loss = bce([model(x) for x in X], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    return step


def make_seed_floats() -> Callable[[], float]:
    X, y, weights = _seed_setup()
    model = MLP(FloatKit(), weights, "sigmoid", "sigmoid")
    log = math.log

    def step() -> float:
        probs = [model(x) for x in X]
        terms = [-(t * log(p) + (1 - t) * log(1 - p)) for p, t in zip(probs, y)]
        return sum(terms) * (1.0 / len(terms))

    return step


# --- the tape: the same steps, recorded once and replayed ---------------------------------


def _moons_model(width: int) -> tuple[list, list, Any]:
    from nn import MLP as NNMLP

    X, y = data.moons(MOONS["samples"], seed=MOONS["seed"])
    nouts = [width, width, 1]
    weights = data.mlp_weights(MOONS["nin"], nouts, seed=MOONS["seed"])
    return X, y, NNMLP(MOONS["nin"], nouts, weights=_nn_weights(weights))


def make_moons_tape(width: int = 16) -> Callable[[], float]:
    """The nn step with its loss (the whole batch) recorded once: `t(X, y)` replays it, adding
    to the bit the gradients `loss.backward()` adds."""
    from autograd import sum_, tape
    from nn.losses import hinge
    from nn.optim import SGD

    X, y, model = _moons_model(width)
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    alpha = MOONS["alpha"]

    def loss(X: list, y: list) -> Any:
        return hinge([model(x) for x in X], y) + alpha * sum_([p * p for p in params])

    t = tape(loss, X, y)
    t(X, y)  # compiles the replay now, not in the first timed step
    opt.zero_grad()
    k = [0]

    def step() -> float:
        opt.zero_grad()
        value = t(X, y)
        opt.lr = 1.0 - 0.9 * (k[0] % 100) / 100
        opt.step()
        k[0] += 1
        return value

    return step


def make_seed_tape() -> Callable[[], float]:
    """The nn epoch with its loss recorded once and replayed (`t(X, y)`, to the bit)."""
    from autograd import tape
    from nn import MLP as NNMLP
    from nn.losses import bce
    from nn.optim import SGD

    X, y, weights = _seed_setup()
    model = NNMLP(
        10, [5, 1], activation="sigmoid", output_activation="sigmoid", weights=_nn_weights(weights)
    )
    opt = SGD(model.parameters(), lr=SEED["lr"])
    t = tape(lambda X, y: bce([model(x) for x in X], y), X, y)
    t(X, y)  # compiles the replay now, not in the first timed step

    def step() -> float:
        opt.zero_grad()
        value = t(X, y)
        opt.step()
        return value

    return step


def make_program(
    workload: str, impl: str, kit: Any, width: int | None = None
) -> Callable[[], float]:
    """The step function of `workload` ("moons", "seed") in implementation `impl`; `width`
    changes the moons network's hidden layers (the tape only)."""
    if width is not None:
        if (workload, impl) != ("moons", "tape"):
            raise Unsupported(f"no {impl!r} implementation of {workload!r} at other widths")
        return make_moons_tape(width)
    table = {
        ("moons", "ops"): lambda: make_moons_ops(kit),
        ("moons", "nn"): make_moons_nn,
        ("moons", "floats"): make_moons_floats,
        ("moons", "tape"): make_moons_tape,
        ("seed", "ops"): lambda: make_seed_ops(kit),
        ("seed", "nn"): make_seed_nn,
        ("seed", "floats"): make_seed_floats,
        ("seed", "tape"): make_seed_tape,
    }
    if (workload, impl) not in table:
        raise Unsupported(f"no {impl!r} implementation of workload {workload!r}")
    if impl == "ops" and kit is None:
        raise Unsupported("this engine has no scalar Value")
    try:
        return table[workload, impl]()
    except ImportError as exc:
        raise Unsupported(f"cannot import what {impl!r} needs: {exc}") from exc


# --- workloads 3 and 4: chains and per-op costs -----------------------------------------------


def chain(kit: Any, n: int) -> dict[str, float]:
    """`y = y + x` n times (depth n), then backward; seconds for each phase."""
    x = kit.param(1.0)
    y = x
    t0 = time.perf_counter()
    for _ in range(n):
        y = y + x
    t1 = time.perf_counter()
    kit.backward(y)
    t2 = time.perf_counter()
    expected = n + 1.0
    got = kit.grad(x)
    del y
    t3 = time.perf_counter()
    if abs(got - expected) > 1e-6 * expected:
        raise ArithmeticError(f"wrong gradient at depth {n}: {got} instead of {expected}")
    return {"forward": t1 - t0, "backward": t2 - t1, "free": t3 - t2}


def chain_floats(n: int) -> dict[str, float]:
    x = 1.0
    y = x
    t0 = time.perf_counter()
    for _ in range(n):
        y = y + x
    return {"forward": time.perf_counter() - t0}


OPS = ("+", "*", "tanh")


def per_op(kit: Any, op: str, depth: int, chains: int) -> dict[str, float]:
    """`chains` chains of `depth` applications of `op` (short enough for micrograd's recursive
    sort); total seconds building them and running their backward passes."""
    fwd = bwd = 0.0
    c = kit.param(0.999)
    tanh = kit.tanh
    for _ in range(chains):
        y = kit.param(0.3)
        t0 = time.perf_counter()
        if op == "+":
            for _ in range(depth):
                y = y + c
        elif op == "*":
            for _ in range(depth):
                y = y * c
        else:
            for _ in range(depth):
                y = tanh(y)
        t1 = time.perf_counter()
        kit.backward(y)
        bwd += time.perf_counter() - t1
        fwd += t1 - t0
        del y
    return {"forward": fwd, "backward": bwd}


def per_op_floats(op: str, depth: int, chains: int) -> dict[str, float]:
    fwd = 0.0
    c = 0.999
    tanh = math.tanh
    for _ in range(chains):
        y = 0.3
        t0 = time.perf_counter()
        if op == "+":
            for _ in range(depth):
                y = y + c
        elif op == "*":
            for _ in range(depth):
                y = y * c
        else:
            for _ in range(depth):
                y = tanh(y)
        fwd += time.perf_counter() - t0
    return {"forward": fwd}
