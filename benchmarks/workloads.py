"""The benchmark's programs. Each `make_*` returns a `step()` closure that does one unit of the
workload (one training step, one epoch); the worker times calls to it.

Implementations ("impl"):
- "ops":    micrograd-style code over an engine's own `Value` operators (via a kit),
- "nn":     this project's `nn` package, as it is meant to be used,
- "vector": PyTorch on matrices, as a PyTorch user writes it,
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


def _torch_net(torch: Any, weights: list, hidden: str, output: str) -> Any:
    acts = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}
    layers: list = []
    for i, layer in enumerate(weights):
        lin = torch.nn.Linear(len(layer[0][0]), len(layer), dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([w for w, _ in layer], dtype=torch.float64))
            lin.bias.copy_(torch.tensor([b for _, b in layer], dtype=torch.float64))
        layers.append(lin)
        kind = output if i == len(weights) - 1 else hidden
        if kind in acts:
            layers.append(acts[kind]())
    return torch.nn.Sequential(*layers)


def make_moons_vector(width: int = 16) -> Callable[[], float]:
    import torch

    X, y = data.moons(MOONS["samples"], seed=MOONS["seed"])
    weights = data.mlp_weights(MOONS["nin"], [width, width, 1], seed=MOONS["seed"])
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    net = _torch_net(torch, weights, "relu", "linear")
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    k = [0]

    def step() -> float:
        scores = net(Xt).squeeze(1)
        data_loss = torch.relu(1 - yt * scores).mean()
        reg_loss = MOONS["alpha"] * sum((p * p).sum() for p in net.parameters())
        loss = data_loss + reg_loss
        opt.zero_grad()
        loss.backward()
        opt.param_groups[0]["lr"] = 1.0 - 0.9 * (k[0] % 100) / 100
        opt.step()
        k[0] += 1
        return loss.item()

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


def make_seed_vector() -> Callable[[], float]:
    import torch

    X, y, weights = _seed_setup()
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64).unsqueeze(1)
    net = _torch_net(torch, weights, "sigmoid", "sigmoid")
    opt = torch.optim.SGD(net.parameters(), lr=SEED["lr"])
    bce = torch.nn.BCELoss()

    def step() -> float:
        loss = bce(net(Xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

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


def _moons_sample_tape(width: int) -> tuple[Any, Any, Any, Any]:
    """One sample's loss of micrograd's demo (its hinge term plus the whole L2 term, so the
    mean over the batch is the demo's loss), recorded on the first sample; the batch as arrays,
    made once as PyTorch's tensors are."""
    from autograd import tape

    sample_loss, X, y, params = _moons_sample_loss(width)
    return tape(sample_loss, X[0], float(y[0])), X, y, params


def _moons_sample_loss(width: int) -> tuple[Any, Any, Any, Any]:
    import numpy as np

    from autograd import sum_

    X, y, model = _moons_model(width)
    params = model.parameters()
    alpha = MOONS["alpha"]

    def sample_loss(x: list, t: float) -> Any:
        return (1 + -t * model(x)).relu() + alpha * sum_([p * p for p in params])

    return sample_loss, np.array(X), np.array([float(t) for t in y]), params


def make_moons_tape_mean(width: int = 16, update: bool = True) -> Callable[[], float]:
    """`t.mean(X, y)` over the batch (NumPy), then nn.optim's SGD step (or no update)."""
    from nn.optim import SGD

    t, X, y, params = _moons_sample_tape(width)
    opt = SGD(params, lr=1.0)
    k = [0]

    def step() -> float:
        opt.zero_grad()
        value = t.mean(X, y)
        if update:
            opt.lr = 1.0 - 0.9 * (k[0] % 100) / 100
            opt.step()
        k[0] += 1
        return value

    return step


def _relu_layer(W: list, b: list, x: list) -> tuple[list, list]:
    z = [sum((wi * xi for wi, xi in zip(row, x)), bias) for row, bias in zip(W, b)]
    return z, [v if v > 0 else 0.0 for v in z]


def make_moons_floats_train() -> Callable[[], float]:
    """The floor with learning: the same network's forward, backward and SGD step written by
    hand on plain floats (no graph, no framework)."""
    X, y, weights = _moons_setup()
    (W1, b1), (W2, b2), (W3, b3) = [([list(w) for w, _ in lay], [b for _, b in lay])
                                    for lay in weights]
    layers = [(W1, b1), (W2, b2), (W3, b3)]
    alpha, n = MOONS["alpha"], len(X)
    k = [0]

    def step() -> float:
        grads = [([[0.0] * len(r) for r in W], [0.0] * len(b)) for W, b in layers]
        total = 0.0
        for x, t in zip(X, y):
            z1, h1 = _relu_layer(W1, b1, x)
            z2, h2 = _relu_layer(W2, b2, h1)
            s = sum((wi * hi for wi, hi in zip(W3[0], h2)), b3[0])
            margin = 1 + -t * s
            if margin <= 0:
                continue
            total += margin
            ds = -t / n  # d loss / d score
            (gW1, gb1), (gW2, gb2), (gW3, gb3) = grads
            gb3[0] += ds
            row = gW3[0]
            for j, h in enumerate(h2):
                row[j] += ds * h
            d2 = [ds * w if z > 0 else 0.0 for w, z in zip(W3[0], z2)]
            d1 = [0.0] * len(h1)
            for j, d in enumerate(d2):
                if d:
                    gb2[j] += d
                    grow, wrow = gW2[j], W2[j]
                    for i, h in enumerate(h1):
                        grow[i] += d * h
                        d1[i] += d * wrow[i]
            for i, (d, z) in enumerate(zip(d1, z1)):
                if z > 0 and d:
                    gb1[i] += d
                    gW1[i][0] += d * x[0]
                    gW1[i][1] += d * x[1]
        reg = 0.0
        for W, b in layers:
            reg += sum(w * w for r in W for w in r) + sum(v * v for v in b)
        lr = 1.0 - 0.9 * (k[0] % 100) / 100
        for (W, b), (gW, gb) in zip(layers, grads):
            for r, gr in zip(W, gW):
                for i, w in enumerate(r):
                    r[i] = w - lr * (gr[i] + 2 * alpha * w)
            for i, v in enumerate(b):
                b[i] = v - lr * (gb[i] + 2 * alpha * v)
        k[0] += 1
        return total / n + alpha * reg

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


def make_seed_tape_mean() -> Callable[[], float]:
    """One sample's BCE recorded once, `t.mean` over the 800 samples (NumPy), SGD."""
    import numpy as np

    from autograd import tape
    from nn import MLP as NNMLP
    from nn.losses import bce
    from nn.optim import SGD

    X, y, weights = _seed_setup()
    model = NNMLP(
        10, [5, 1], activation="sigmoid", output_activation="sigmoid", weights=_nn_weights(weights)
    )
    opt = SGD(model.parameters(), lr=SEED["lr"])
    t = tape(lambda x, target: bce(model(x), target), X[0], y[0])
    Xa, ya = np.array(X), np.array(y)

    def step() -> float:
        opt.zero_grad()
        value = t.mean(Xa, ya)
        opt.step()
        return value

    return step


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_seed_floats_train() -> Callable[[], float]:
    """The seed epoch's forward, backward and SGD step written by hand on plain floats."""
    X, y, weights = _seed_setup()
    (W1, b1), (W2, b2) = [([list(w) for w, _ in lay], [b for _, b in lay]) for lay in weights]
    lr, n = SEED["lr"], len(X)
    log = math.log

    def step() -> float:
        gW1 = [[0.0] * len(r) for r in W1]
        gb1 = [0.0] * len(b1)
        gW2 = [0.0] * len(W2[0])
        gb2 = 0.0
        total = 0.0
        for x, t in zip(X, y):
            h = [_sigmoid(sum((wi * xi for wi, xi in zip(r, x)), b)) for r, b in zip(W1, b1)]
            p = _sigmoid(sum((wi * hi for wi, hi in zip(W2[0], h)), b2[0]))
            total += -(t * log(p) + (1 - t) * log(1 - p))
            dz = (p - t) / n  # BCE through the sigmoid
            gb2 += dz
            for j, hj in enumerate(h):
                gW2[j] += dz * hj
                dh = dz * W2[0][j] * hj * (1.0 - hj)
                gb1[j] += dh
                row = gW1[j]
                for i, xi in enumerate(x):
                    row[i] += dh * xi
        for r, gr in zip(W1, gW1):
            for i in range(len(r)):
                r[i] -= lr * gr[i]
        for j in range(len(b1)):
            b1[j] -= lr * gb1[j]
        for j in range(len(W2[0])):
            W2[0][j] -= lr * gW2[j]
        b2[0] -= lr * gb2
        return total / n

    return step


def make_program(
    workload: str, impl: str, kit: Any, width: int | None = None
) -> Callable[[], float]:
    """The step function of `workload` ("moons", "seed") in implementation `impl`; `width`
    changes the moons network's hidden layers (for the tape's sweep)."""
    if width is not None:
        sweep = {
            "vector": lambda: make_moons_vector(width),
            "tape-mean": lambda: make_moons_tape_mean(width),
            "tape-mean-only": lambda: make_moons_tape_mean(width, update=False),
        }
        if workload != "moons" or impl not in sweep:
            raise Unsupported(f"no {impl!r} implementation of {workload!r} at other widths")
        return sweep[impl]()
    table = {
        ("moons", "ops"): lambda: make_moons_ops(kit),
        ("moons", "nn"): make_moons_nn,
        ("moons", "floats"): make_moons_floats,
        ("moons", "vector"): make_moons_vector,
        ("moons", "tape"): make_moons_tape,
        ("moons", "tape-mean"): make_moons_tape_mean,
        ("moons", "floats-train"): make_moons_floats_train,
        ("seed", "ops"): lambda: make_seed_ops(kit),
        ("seed", "nn"): make_seed_nn,
        ("seed", "floats"): make_seed_floats,
        ("seed", "vector"): make_seed_vector,
        ("seed", "tape"): make_seed_tape,
        ("seed", "tape-mean"): make_seed_tape_mean,
        ("seed", "floats-train"): make_seed_floats_train,
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


# --- the tape's cost of recording --------------------------------------------------------


def tape_cost(width: int, memory: bool) -> dict[str, float]:
    """Seconds (or, with `memory`, peak bytes traced) to record one sample of the moons step at
    `width` (the network and data made beforehand) and build what a replay runs: the batch
    plan (the first `t.mean`) and the compiled per-sample Python (the first `t(x, y)`)."""
    import tracemalloc

    from autograd import tape

    sample_loss, X, y, _ = _moons_sample_loss(width)
    x0, y0 = X[0].tolist(), float(y[0])
    tape(sample_loss, x0, y0).mean(X[:2], y[:2])  # imports and first calls, not timed
    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    t = tape(sample_loss, x0, y0)
    t1 = time.perf_counter()
    t.mean(X, y)
    t2 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1] if memory else 0
    if memory:
        tracemalloc.reset_peak()
    t(x0, y0)
    t3 = time.perf_counter()
    out = {"record": t1 - t0, "plan": t2 - t1, "compile": t3 - t2,
           "source_bytes": float(len(t.source))}
    if memory:
        out = {"peak": float(peak), "peak_compile": float(tracemalloc.get_traced_memory()[1])}
        tracemalloc.stop()
    return out
