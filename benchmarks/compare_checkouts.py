"""Two or more checkouts of this project side by side, for "no speed regression": the eager
`nn` step, the README's `t.mean` step and a full-batch `t(X, y)` step, each a training step with
`nn.optim.SGD` on micrograd's moons network `MLP(2, [16, 16, 1])` over 100 points. Each round runs
every checkout in a fresh process, in turn; the figures are each process's median step.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/compare_checkouts.py /tmp/before . --rounds 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

# run in a child with the checkout first on sys.path: only the names both versions have
_CHILD = r"""
import random, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from autograd import sum_, tape
from nn import MLP
from nn.losses import hinge
from nn.optim import SGD

rng = random.Random(0)
X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(100)]
Y = [rng.choice([-1, 1]) for _ in range(100)]
Xa, Ya = np.array(X), np.array(Y)


def median_ms(step, n):
    for _ in range(3):
        step()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def setup():
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    return model, params, SGD(params, lr=0.05)


m1, p1, o1 = setup()
def eager():
    loss = hinge([m1(x) for x in X], Y) + 1e-4 * sum_([p * p for p in p1])
    o1.zero_grad(); loss.backward(); o1.step()

m2, p2, o2 = setup()
t2 = tape(lambda x, y: hinge([m2(x)], [y]) + 1e-4 * sum_([p * p for p in p2]), X[0], Y[0])
def mean_step():
    o2.zero_grad(); t2.mean(Xa, Ya); o2.step()

m3, p3, o3 = setup()
t3 = tape(lambda X, y: hinge([m3(x) for x in X], y) + 1e-4 * sum_([p * p for p in p3]), X, Y)
def full_step():
    o3.zero_grad(); t3(X, Y); o3.step()

print(median_ms(eager, 30), median_ms(mean_step, 300), median_ms(full_step, 100))
"""

COLUMNS = ("eager nn step", "t.mean step", "t(X, y) step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", help="folders holding autograd/ and nn/")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH="")
    rows: dict[str, list[list[float]]] = {c: [] for c in args.checkouts}
    for r in range(args.rounds):
        order = args.checkouts[r % len(args.checkouts):] + args.checkouts[:r % len(args.checkouts)]
        for checkout in order:
            out = subprocess.run([sys.executable, "-c", _CHILD, os.path.abspath(checkout)],
                                 capture_output=True, text=True, env=env, cwd=checkout)
            if out.returncode:
                sys.exit(f"{checkout}: {out.stderr.strip().splitlines()[-1]}")
            rows[checkout].append([float(x) for x in out.stdout.split()])
    print(f"{'checkout':30s} " + "  ".join(f"{c:>22s}" for c in COLUMNS) + "   (ms, each round)")
    for checkout, runs in rows.items():
        cells = ["/".join(f"{run[i]:.3g}" for run in runs) for i in range(len(COLUMNS))]
        print(f"{checkout:30s} " + "  ".join(f"{c:>22s}" for c in cells))


if __name__ == "__main__":
    main()
