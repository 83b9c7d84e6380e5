"""What the unrolled first-order pass buys: `Value.backward()`'s loop (`first_order_pass`,
over the node slots) against the one generic backward loop (`backward.chain` with float
contributions) on the same graphs, every node's gradient each time. Round-robin, medians.

    .venv/bin/python benchmarks/backward_loop.py
"""

import random
import time

from autograd import Value
from autograd.backward import PASS_LOCK, _collect, chain, first_order_pass, float_contributions
from nn import MLP
from nn.losses import hinge


def moons_loss() -> Value:
    rng = random.Random(0)
    model = MLP(2, [16, 16, 1], seed=0)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(100)]
    y = [rng.choice([-1, 1]) for _ in X]
    return hinge([model(x) for x in X], y)


def chain_of(n: int) -> Value:
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = (y * 0.999 + x).tanh()
    return y


def unrolled(root: Value) -> None:
    with PASS_LOCK:
        first_order_pass(root, 1.0)


def generic(root: Value) -> None:
    _, interior = _collect(root)
    grads = {root: 1.0}
    chain(interior, grads, float_contributions(interior, grads))


def main() -> None:
    for name, root in (("moons loss, MLP(2, [16, 16, 1]), 100 points", moons_loss()),
                       ("a chain of 20,000 ops", chain_of(10_000))):
        times: dict[str, list[float]] = {"unrolled": [], "generic": []}
        for _ in range(15):
            for label, run in (("unrolled", unrolled), ("generic", generic)):
                start = time.perf_counter()
                run(root)
                times[label].append(time.perf_counter() - start)
        fast, slow = (sorted(times[k])[7] for k in ("unrolled", "generic"))
        print(f"{name}: unrolled {fast * 1000:.2f} ms, generic loop {slow * 1000:.2f} ms "
              f"({slow / fast:.2f}x)")


if __name__ == "__main__":
    main()
