"""The training step as users write it, in every engine, from the same weights.

Two shapes of network, each trained the way its demo trains it:
- "moons": `MLP(2, [w, w, 1])` (ReLU hidden, linear out), micrograd's hinge loss + L2 over the
  whole batch of 100 points, plain SGD; hidden width `w` from 8 to 256.
- "digits": `MLP(64, [32, 10])`, softmax cross-entropy on minibatches of 32 images, Adam.

Each `make_*` returns a `step()` that does one whole training step (gradients zeroed, loss and
gradients computed, parameters updated) and returns the loss before the update, as a float.
Engines:
- "gradwalk": `opt.zero_grad(); loss = t.mean(X, y); opt.step()` with `nn.MLP`, `nn.optim` and
  `autograd.tape`, exactly as the README and the demos write it. It also keeps how long
  `t.mean` and `opt.step()` took within each step (`step.phases`).
- "nn": the same model trained eagerly (a graph of Values per step, `loss.backward()`).
- "torch": PyTorch, float64, the batch as one matrix, `torch.optim`.
- "numpy": forward, backward and update written by hand in NumPy (float64), in place.
- "jax": `jax.jit` of the whole step (value_and_grad and the update), float64 on the CPU.
- "micrograd" (or any engine with a micrograd-like Value, through a kit): micrograd's demo
  code, one graph of scalars per step.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import data

MOONS = {"samples": 100, "alpha": 1e-4, "lr": 0.1, "seed": 1337}
DIGITS = {"nin": 64, "hidden": 32, "classes": 10, "batch": 32, "batches": 8, "lr": 0.01,
          "seed": 0}
ENGINES = ("gradwalk", "nn", "torch", "numpy", "jax", "micrograd")


@dataclass(frozen=True)
class Shape:
    """One network and its data: "moons-8" ... "moons-256", or "digits"."""

    name: str

    @property
    def kind(self) -> str:
        return self.name.split("-")[0]

    @property
    def width(self) -> int:
        return int(self.name.split("-")[1]) if self.kind == "moons" else DIGITS["hidden"]

    @property
    def nin(self) -> int:
        return 2 if self.kind == "moons" else DIGITS["nin"]

    @property
    def nouts(self) -> list[int]:
        w = self.width
        return [w, w, 1] if self.kind == "moons" else [w, DIGITS["classes"]]

    @property
    def title(self) -> str:
        if self.kind == "moons":
            return f"moons, MLP(2, [{self.width}, {self.width}, 1])"
        return f"digits, MLP(64, [{self.width}, 10])"

    def weights(self) -> list:
        """Per layer, per neuron (weights, bias): micrograd's U(-1, 1) for moons (as its demo),
        torch.nn.Linear's draw for digits (as `MLP(..., init="torch")` in its demo)."""
        if self.kind == "moons":
            return data.mlp_weights(self.nin, self.nouts, seed=MOONS["seed"])
        return data.mlp_weights(self.nin, self.nouts, seed=DIGITS["seed"], scale="torch")

    def batches(self) -> list[tuple[list, list]]:
        """The batches a run cycles through, as lists: moons trains on its whole set every
        step; digits on minibatches of 32 (each with its own mix of labels)."""
        if self.kind == "moons":
            return [data.moons(MOONS["samples"], seed=MOONS["seed"])]
        size, count = DIGITS["batch"], DIGITS["batches"]
        X, y = data.digits_like(size * count, seed=DIGITS["seed"])
        return [(X[i:i + size], y[i:i + size]) for i in range(0, size * count, size)]


def parse_shape(name: str) -> Shape:
    shape = Shape(name)
    if shape.kind not in ("moons", "digits") or (shape.kind == "moons" and shape.width < 1):
        raise ValueError(f"unknown shape {name!r} (moons-<width> or digits)")
    return shape


def _cycle(items: list) -> Callable[[], Any]:
    """A function returning the items in turn, forever."""
    k = [-1]

    def nxt() -> Any:
        k[0] = (k[0] + 1) % len(items)
        return items[k[0]]

    return nxt


def _layers(weights: list) -> list[tuple[list, list]]:
    """(W, b) per layer, W as rows of `nout` x `nin` (as torch and nn.MLP store it)."""
    return [([list(w) for w, _ in layer], [b for _, b in layer]) for layer in weights]


# --- gradwalk: the tape as the README writes it, and the eager step ---------------------------


def _gradwalk_model(shape: Shape) -> tuple[Any, Any, Callable[..., Any]]:
    """The nn model, its optimizer, and one sample's loss (for moons its hinge term plus the
    whole L2 term, so the batch mean is the demo's loss)."""
    from autograd import sum_
    from nn import MLP
    from nn.losses import cross_entropy, hinge
    from nn.optim import SGD, Adam

    model = MLP(shape.nin, shape.nouts, weights=_layers(shape.weights()))
    params = model.parameters()
    if shape.kind == "moons":
        alpha = MOONS["alpha"]
        opt = SGD(params, lr=MOONS["lr"])

        def sample_loss(x: Any, target: Any) -> Any:
            return hinge(model(x), target) + alpha * sum_([p * p for p in params])
    else:
        opt = Adam(params, lr=DIGITS["lr"])

        def sample_loss(x: Any, target: Any) -> Any:
            return cross_entropy(model(x), target)

    return model, opt, sample_loss


def make_gradwalk(shape: Shape) -> Callable[[], float]:
    """`opt.zero_grad(); loss = t.mean(X, y); opt.step()`: one sample's loss recorded once (not
    timed: `recording_cost` measures it), the batch as NumPy arrays as the demos pass it."""
    import numpy as np

    from autograd import tape

    _, opt, sample_loss = _gradwalk_model(shape)
    batches = shape.batches()
    arrays = [(np.array(X), np.array(y)) for X, y in batches]
    t = tape(sample_loss, batches[0][0][0], batches[0][1][0])
    nxt = _cycle(arrays)
    clock = time.perf_counter
    phases: list[tuple[float, float]] = []

    def step() -> float:
        X, y = nxt()
        opt.zero_grad()
        t0 = clock()
        loss = t.mean(X, y)
        t1 = clock()
        opt.step()
        phases.append((t1 - t0, clock() - t1))
        return loss

    step.phases = phases  # type: ignore[attr-defined]
    return step


def make_nn(shape: Shape) -> Callable[[], float]:
    """The eager step: a graph of Values over the batch, `loss.backward()`, `opt.step()`."""
    from autograd import sum_
    from nn.losses import cross_entropy, hinge

    model, opt, _ = _gradwalk_model(shape)
    params = model.parameters()
    nxt = _cycle(shape.batches())
    alpha = MOONS["alpha"]

    def step() -> float:
        X, y = nxt()
        if shape.kind == "moons":
            loss = hinge([model(x) for x in X], y) + alpha * sum_([p * p for p in params])
        else:
            loss = cross_entropy([model(x) for x in X], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    return step


# --- PyTorch, vectorized ------------------------------------------------------------------


def make_torch(shape: Shape) -> Callable[[], float]:
    """The step as a PyTorch user writes it: float64, `nn.Sequential`, `torch.optim`."""
    import torch

    torch.set_num_threads(1)
    f64 = torch.float64
    layers: list = []
    for i, (W, b) in enumerate(_layers(shape.weights())):
        lin = torch.nn.Linear(len(W[0]), len(W), dtype=f64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W, dtype=f64))
            lin.bias.copy_(torch.tensor(b, dtype=f64))
        layers.append(lin)
        if i < len(shape.nouts) - 1:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    if shape.kind == "moons":
        opt: Any = torch.optim.SGD(net.parameters(), lr=MOONS["lr"])
        batches = [(torch.tensor(X, dtype=f64), torch.tensor(y, dtype=f64))
                   for X, y in shape.batches()]
    else:
        opt = torch.optim.Adam(net.parameters(), lr=DIGITS["lr"])
        batches = [(torch.tensor(X, dtype=f64), torch.tensor(y)) for X, y in shape.batches()]
    nxt = _cycle(batches)
    alpha = MOONS["alpha"]
    cross_entropy = torch.nn.functional.cross_entropy

    def step() -> float:
        X, y = nxt()
        opt.zero_grad()
        if shape.kind == "moons":
            scores = net(X).squeeze(1)
            loss = torch.relu(1 - y * scores).mean() + alpha * sum(
                (p * p).sum() for p in net.parameters())
        else:
            loss = cross_entropy(net(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# --- NumPy, by hand -----------------------------------------------------------------------


class _NumpyAdam:
    """torch.optim.Adam's update, in place on NumPy arrays."""

    def __init__(self, params: list, lr: float, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        import numpy as np

        self.params, self.lr, self.betas, self.eps, self.steps = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list) -> None:
        import numpy as np

        self.steps += 1
        b1, b2 = self.betas
        step_size = self.lr / (1 - b1**self.steps)
        sqrt_c2 = math.sqrt(1 - b2**self.steps)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * g * g
            p -= step_size * m / (np.sqrt(v) / sqrt_c2 + self.eps)


def make_numpy(shape: Shape) -> Callable[[], float]:
    """Forward, backward and the update written out in NumPy, float64, parameters in place."""
    import numpy as np

    params = [np.array(a, dtype=np.float64) for W, b in _layers(shape.weights()) for a in (W, b)]
    if shape.kind == "moons":
        batches = [(np.array(X, dtype=np.float64), np.array(y, dtype=np.float64))
                   for X, y in shape.batches()]
        return _numpy_moons(params, _cycle(batches))
    batches = [(np.array(X, dtype=np.float64), np.array(y)) for X, y in shape.batches()]
    return _numpy_digits(params, _cycle(batches))


def _numpy_moons(params: list, nxt: Callable[[], Any]) -> Callable[[], float]:
    import numpy as np

    W1, b1, W2, b2, W3, b3 = params
    alpha, lr = MOONS["alpha"], MOONS["lr"]

    def step() -> float:
        X, y = nxt()
        n = len(y)
        z1 = X @ W1.T + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2.T + b2
        h2 = np.maximum(z2, 0.0)
        s = h2 @ W3[0] + b3[0]
        margin = 1.0 - y * s
        loss = np.maximum(margin, 0.0).sum() / n + alpha * sum((p * p).sum() for p in params)
        ds = np.where(margin > 0, -y, 0.0) / n  # relu'(0) = 0, as PyTorch
        dz2 = np.outer(ds, W3[0]) * (z2 > 0)
        dz1 = (dz2 @ W2) * (z1 > 0)
        grads = [dz1.T @ X, dz1.sum(0), dz2.T @ h1, dz2.sum(0), (ds @ h2)[None, :],
                 np.array([ds.sum()])]
        for p, g in zip(params, grads):
            p -= lr * (g + 2 * alpha * p)
        return float(loss)

    return step


def _numpy_digits(params: list, nxt: Callable[[], Any]) -> Callable[[], float]:
    import numpy as np

    W1, b1, W2, b2 = params
    opt = _NumpyAdam(params, DIGITS["lr"])

    def step() -> float:
        X, y = nxt()
        n = len(y)
        rows = np.arange(n)
        z1 = X @ W1.T + b1
        h = np.maximum(z1, 0.0)
        logits = h @ W2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1)
        loss = (np.log(total) - shifted[rows, y]).sum() / n
        dlogits = e / total[:, None]
        dlogits[rows, y] -= 1.0
        dlogits /= n
        dz1 = (dlogits @ W2) * (z1 > 0)
        opt.step([dz1.T @ X, dz1.sum(0), dlogits.T @ h, dlogits.sum(0)])
        return float(loss)

    return step


# --- JAX, jit-compiled --------------------------------------------------------------------


def make_jax(shape: Shape) -> Callable[[], float]:
    """The whole step under `jax.jit`: value_and_grad of the loss and the update (SGD, or
    torch's Adam written out), float64 on the CPU with one thread."""
    # One thread, as PyTorch here; read when jax first starts its CPU backend.
    flags = os.environ.get("XLA_FLAGS", "")
    if "multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    params = [(jnp.array(W, dtype=jnp.float64), jnp.array(b, dtype=jnp.float64))
              for W, b in _layers(shape.weights())]
    relu = jax.nn.relu  # relu'(0) = 0, as PyTorch

    def forward(params: list, X: Any) -> Any:
        for W, b in params[:-1]:
            X = relu(X @ W.T + b)
        W, b = params[-1]
        return X @ W.T + b

    if shape.kind == "moons":
        alpha, lr = MOONS["alpha"], MOONS["lr"]

        def loss_fn(params: list, X: Any, y: Any) -> Any:
            scores = forward(params, X)[:, 0]
            reg = sum((W * W).sum() + (b * b).sum() for W, b in params)
            return relu(1.0 - y * scores).mean() + alpha * reg

        @jax.jit
        def sgd_step(params: list, X: Any, y: Any) -> tuple[list, Any]:
            loss, grads = jax.value_and_grad(loss_fn)(params, X, y)
            return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss

        batches = [(jnp.array(X, dtype=jnp.float64), jnp.array(y, dtype=jnp.float64))
                   for X, y in shape.batches()]
        nxt = _cycle(batches)
        state = {"params": params}

        def step() -> float:
            X, y = nxt()
            state["params"], loss = sgd_step(state["params"], X, y)
            return float(loss)

        return step

    lr, (b1, b2), eps = DIGITS["lr"], (0.9, 0.999), 1e-8

    def ce_fn(params: list, X: Any, y: Any) -> Any:
        logits = forward(params, X)
        picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return (jax.nn.logsumexp(logits, axis=1) - picked).mean()

    @jax.jit
    def adam_step(params: list, m: list, v: list, k: Any, X: Any, y: Any) -> tuple:
        loss, grads = jax.value_and_grad(ce_fn)(params, X, y)
        tree = jax.tree_util.tree_map
        m = tree(lambda m, g: m + (1 - b1) * (g - m), m, grads)
        v = tree(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        step_size = lr / (1 - b1**k)
        sqrt_c2 = jnp.sqrt(1 - b2**k)
        params = tree(lambda p, m, v: p - step_size * (m / (jnp.sqrt(v) / sqrt_c2 + eps)),
                      params, m, v)
        return params, m, v, loss

    batches = [(jnp.array(X, dtype=jnp.float64), jnp.array(y)) for X, y in shape.batches()]
    nxt = _cycle(batches)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = {"params": params, "m": zeros, "v": zeros, "k": 0}

    def step() -> float:
        X, y = nxt()
        state["k"] += 1
        state["params"], state["m"], state["v"], loss = adam_step(
            state["params"], state["m"], state["v"], float(state["k"]), X, y)
        return float(loss)

    return step


# --- micrograd (or any engine with a micrograd-like Value, through a kit) -------------------


class _FloatAdam:
    """torch.optim.Adam's update on scalar parameters (`.data`, `.grad`)."""

    def __init__(self, params: list, lr: float) -> None:
        self.params, self.lr, self.steps = params, lr, 0
        self.m = [0.0] * len(params)
        self.v = [0.0] * len(params)

    def step(self) -> None:
        self.steps += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        step_size = self.lr / (1 - b1**self.steps)
        sqrt_c2 = math.sqrt(1 - b2**self.steps)
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = m[i] + (1 - b1) * (g - m[i])
            v[i] = b2 * v[i] + (1 - b2) * g * g
            p.data = p.data - step_size * (m[i] / (math.sqrt(v[i]) / sqrt_c2 + eps))


def make_scalar(shape: Shape, kit: Any) -> Callable[[], float]:
    """micrograd's demo code over an engine's Value (`kit`): hinge + L2 and SGD for moons;
    cross-entropy written with its ops (exp, log; shifted by the largest logit) and Adam on
    the Values' data for digits."""
    from .workloads import MLP

    model = MLP(kit, shape.weights(), "relu", "linear")
    params = model.parameters()
    nxt = _cycle(shape.batches())
    alpha, lr = MOONS["alpha"], MOONS["lr"]
    adam = _FloatAdam(params, DIGITS["lr"]) if shape.kind == "digits" else None

    def step() -> float:
        X, y = nxt()
        inputs = [list(map(kit.leaf, row)) for row in X]
        if shape.kind == "moons":
            scores = list(map(model, inputs))
            losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
            loss = sum(losses) * (1.0 / len(losses)) + alpha * sum(p * p for p in params)
        else:
            terms = []
            for x, k in zip(inputs, y):
                logits = model(x)
                top = max(kit.value(v) for v in logits)
                total = sum((v - top).exp() for v in logits)
                terms.append(kit.log(total) + top - logits[k])
            loss = sum(terms) * (1.0 / len(terms))
        kit.zero_grad(params)
        kit.backward(loss)
        if adam is not None:
            adam.step()
        else:
            kit.sgd(params, lr)
        return kit.value(loss)

    return step


def make(engine: str, shape: Shape, kit: Any = None) -> Callable[[], float]:
    """The step of `engine` on `shape` (a kit for "micrograd" and other scalar engines)."""
    makers = {"gradwalk": make_gradwalk, "nn": make_nn, "torch": make_torch,
              "numpy": make_numpy, "jax": make_jax}
    if engine in makers:
        return makers[engine](shape)
    return make_scalar(shape, kit)


def timed(step: Callable[[], float], count: int) -> dict[str, list[float]]:
    """`count` steps back to back, each timed on its own by the wall clock and by the process's
    CPU time (which other jobs on a shared machine do not inflate); the collector as it is."""
    wall, cpu, losses = [], [], []
    perf, process = time.perf_counter, time.process_time
    for _ in range(count):
        w0, c0 = perf(), process()
        losses.append(step())
        c1, w1 = process(), perf()
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
    return {"seconds": wall, "cpu": cpu, "losses": losses}


# --- what recording costs -------------------------------------------------------------------


def max_rss_bytes() -> int:
    """This process's peak resident memory so far: Linux's VmHWM, whose count starts afresh
    with the program (getrusage's ru_maxrss carries over the parent's peak across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def recording_cost(shape: Shape, memory: bool) -> dict[str, float]:
    """What `tape(...)` and the first `t.mean` (which builds the batch plan) cost on `shape`,
    the model and data made beforehand: seconds for each, and the second `t.mean` (the plan
    built) to tell the plan from the run. With `memory`, the peak of what tracemalloc traces
    over recording + plan instead (it slows both, so it is measured apart) and how far the
    process's peak resident memory rose."""
    import tracemalloc

    import numpy as np

    from autograd import tape

    _, _, sample_loss = _gradwalk_model(shape)
    X, y = shape.batches()[0]
    Xa, ya = np.array(X), np.array(y)
    tape(sample_loss, X[0], y[0]).mean(Xa[:2], ya[:2])  # imports and first calls, not counted
    rss0 = max_rss_bytes()
    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    t = tape(sample_loss, X[0], y[0])
    t1 = time.perf_counter()
    t.mean(Xa, ya)
    t2 = time.perf_counter()
    if memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"peak": float(peak), "rss_growth": float(max_rss_bytes() - rss0)}
    t.mean(Xa, ya)
    t3 = time.perf_counter()
    return {"record": t1 - t0, "first_mean": t2 - t1, "mean": t3 - t2}


def full_batch_cost(shape: Shape) -> dict[str, float]:
    """The whole batch's loss recorded as one tape (`t = tape(loss, X, y)`) and its first
    replay `t(X, y)`, which prepares the replay (generated Python, compiled, or past a size
    the tape's interpreter): seconds for each, a later replay's, and the process's peak
    resident memory (run it in a process of its own, with a cap)."""
    from autograd import sum_, tape
    from nn.losses import hinge

    if shape.kind != "moons":
        raise ValueError("the full-batch tape is measured on the moons shapes")
    model, _, _ = _gradwalk_model(shape)
    params = model.parameters()
    alpha = MOONS["alpha"]
    X, y = shape.batches()[0]

    def loss(X: list, y: list) -> Any:
        return hinge([model(x) for x in X], y) + alpha * sum_([p * p for p in params])

    rss0 = max_rss_bytes()
    t0 = time.perf_counter()
    t = tape(loss, X, y)
    t1 = time.perf_counter()
    first = t(X, y)
    t2 = time.perf_counter()
    second = t(X, y)
    t3 = time.perf_counter()
    if first != second:
        raise ArithmeticError(f"two replays of one step differ: {first!r} and {second!r}")
    return {"record": t1 - t0, "compile": t2 - t1, "replay": t3 - t2,
            "rss_before": float(rss0), "rss_peak": float(max_rss_bytes())}
