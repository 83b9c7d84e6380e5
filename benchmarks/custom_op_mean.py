"""`t.mean` over 20,000 samples: a function of built-in ops, the same function as one
`custom_op` written with the helpers of `autograd.ops` (run as array operations), and a
`custom_op` of floats only (`math.erf`, replayed sample by sample). Round-robin, median of 9.

    .venv/bin/python benchmarks/custom_op_mean.py
"""

import math
import random
import time

from autograd import Value, custom_op, tape
from autograd.ops import exp, sigmoid


def main() -> None:
    rng = random.Random(0)
    w, b = Value(0.7, label="w"), Value(-0.2, label="b")
    swish = custom_op("swish_bench", lambda x: x * sigmoid(x),
                      [lambda x, y: sigmoid(x) + y * (1.0 - sigmoid(x))])
    erf = custom_op("erf_bench", math.erf,
                    [lambda x, y: 2 / math.sqrt(math.pi) * exp(-x * x)])
    functions = {
        "built-in ops": lambda x: (w * x + b) * (w * x + b).sigmoid(),
        "custom_op, helpers": lambda x: swish(w * x + b),
        "custom_op, math.erf": lambda x: erf(w * x + b),
    }
    X = [rng.uniform(-2, 2) for _ in range(20000)]
    tapes = {name: tape(fn, 0.5) for name, fn in functions.items()}
    for t in tapes.values():
        t.mean(X[:10])
    times: dict[str, list[float]] = {name: [] for name in tapes}
    for _ in range(9):
        for name, t in tapes.items():
            start = time.perf_counter()
            t.mean(X)
            times[name].append(time.perf_counter() - start)
    base = sorted(times["built-in ops"])[4]
    for name, ts in times.items():
        median = sorted(ts)[4]
        print(f"{name:22s} {median * 1000:8.2f} ms  ({median / base:.2f}x the built-in ops)")


if __name__ == "__main__":
    main()
