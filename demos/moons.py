"""micrograd's demo on this library: two moons, an MLP(2, [16, 16, 1]), SVM hinge loss + L2.

100 samples of make_moons (noise 0.1), labels mapped to -1/+1, random.seed(1337) and
np.random.seed(1337) as in micrograd's notebook, full-batch SGD with the learning rate decaying
from 1.0 to 0.1 over 100 steps. It reaches 100% training accuracy and writes the decision
boundary as a PNG. `--continue-in-torch N` then exports the network to PyTorch (`nn.to_torch`)
and trains N more steps in both, printing the two loss curves side by side.

    python demos/moons.py                 # writes moons.png
    python demos/moons.py --out /tmp/boundary.png --steps 50
    python demos/moons.py --html out/moons.html   # also one page: loss, boundary, grads per step
    python demos/moons.py --no-plot --continue-in-torch 20
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import as_batch, import_torch  # noqa: E402

from autograd import Value, no_grad, sum_, tape  # noqa: E402
from nn import MLP, Recorder, progress, to_torch  # noqa: E402
from nn.losses import hinge  # noqa: E402

ALPHA = 1e-4  # L2 strength, micrograd's
TOLERANCE = 1e-9  # the two continued runs must agree this well, loss for loss


def make_data(samples: int, seed: int) -> tuple[list[list[float]], list[int]]:
    import numpy as np
    from sklearn.datasets import make_moons

    np.random.seed(seed)  # micrograd's notebook draws the moons from numpy's global generator
    X, y = make_moons(n_samples=samples, noise=0.1)
    return X.tolist(), [int(t) * 2 - 1 for t in y]


def learning_rate(k: int) -> float:
    """micrograd's schedule, 1.0 falling to 0.1 over 100 steps, then held at 0.1."""
    return max(0.1, 1.0 - 0.9 * k / 100)


def sgd_step(
    model: MLP, inputs: list, y: list[int], k: int, recorder: Recorder | None = None
) -> tuple[float, float]:
    """Step `k` of micrograd's training: hinge + L2 over the whole batch, plain SGD. Returns the
    loss and the accuracy before the update (and gives `recorder` a snapshot of the step)."""
    scores = [model(x) for x in inputs]
    data_loss = hinge(scores, y)
    reg_loss = ALPHA * sum_([p * p for p in model.parameters()])
    loss = data_loss + reg_loss
    acc = sum((s.data > 0) == (t > 0) for s, t in zip(scores, y, strict=True)) / len(y)
    model.zero_grad()
    loss.backward()
    if recorder is not None:
        recorder.snapshot(loss, accuracy=acc)
    lr = learning_rate(k)
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data, acc


def tape_steps(model: MLP, X: list, y: list[int], steps: int) -> Iterator[tuple[float, Any]]:
    """The same training through a tape: the loss of one point (its hinge term plus the whole
    L2 term) is recorded once, and each step replays it over the batch (`t.mean`), giving
    `sgd_step`'s loss and gradient to 1e-12 without building a graph. Yields (loss, accuracy)
    per step; the accuracy (a forward pass of its own) only on the steps that print it."""
    params = model.parameters()

    def point_loss(x: list, target: int) -> Value:
        return hinge(model(x), target) + ALPHA * sum_([p * p for p in params])

    t = tape(point_loss, X[0], y[0])
    batch = as_batch(X, y)
    for k in range(steps):
        for p in params:
            p.grad = 0.0
        loss = t.mean(*batch)
        acc = accuracy(model, X, y) if k % 10 == 0 or k == steps - 1 else None
        lr = learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        yield loss, acc


def accuracy(model: MLP, X: list, y: list[int]) -> float:
    """The fraction of points on the right side of the decision boundary."""
    with no_grad():
        return sum((model(x).data > 0) == (t > 0) for x, t in zip(X, y, strict=True)) / len(y)


def train(steps: int = 100, samples: int = 100, seed: int = 1337,
          record: bool = False) -> tuple[MLP, list, list, dict]:
    """Train as micrograd's notebook does; returns the model, the data and a summary (with
    `summary["recorder"]`, a snapshot of every step, when `record`). Without `record` the
    steps run through a tape (`tape_steps`); a recorded step needs the loss's graph."""
    X, y = make_data(samples, seed)
    random.seed(seed)
    model = MLP(2, [16, 16, 1])  # micrograd's defaults: ReLU hidden, linear out, global random
    recorder = Recorder(model, inputs=X, targets=y, title="two moons: MLP(2, [16, 16, 1])")
    inputs = [[Value(v) for v in row] for row in X]
    if record:
        run = (sgd_step(model, inputs, y, k, recorder) for k in range(steps))
    else:
        run = tape_steps(model, X, y, steps)
    history = []
    with progress(total=steps, desc="training", unit="steps") as bar:
        for loss, acc in run:
            history.append((loss, acc))
            shown = {"loss": f"{loss:.4g}"} if acc is None else {"loss": f"{loss:.4g}",
                                                                 "acc": f"{acc:.0%}"}
            bar.set_postfix(shown, refresh=False)
            bar.update(1)
    summary = {"loss": history[-1][0], "accuracy": history[-1][1], "history": history,
               "recorder": recorder if record else None}
    return model, X, y, summary


def train_torch(torch: object, model: MLP, X: list, y: list, start: int, steps: int) -> list:
    """The same steps in PyTorch from `model`'s weights: the network exported by `nn.to_torch`
    (float64), the loss vectorized over the batch. Returns the losses."""
    net = to_torch(model)
    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64)
    losses = []
    # A 100 x 16 problem gains nothing from a thread pool, and on a busy machine its threads
    # wait for each other: one thread is many times faster.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for k in range(start, start + steps):
            scores = net(inputs).squeeze(1)
            data_loss = torch.relu(1 - targets * scores).mean()
            reg_loss = ALPHA * sum((p * p).sum() for p in net.parameters())
            loss = data_loss + reg_loss
            net.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= learning_rate(k) * p.grad
            losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    return losses


def continue_in_torch(torch: object, model: MLP, X: list, y: list, start: int, steps: int) -> int:
    """Train `steps` more steps here and, from the same weights, in PyTorch; print both."""
    t0 = time.perf_counter()
    torch_losses = train_torch(torch, model, X, y, start, steps)
    torch_seconds = time.perf_counter() - t0
    inputs = [[Value(v) for v in row] for row in X]
    t0 = time.perf_counter()
    losses = [sgd_step(model, inputs, y, k)[0] for k in range(start, start + steps)]
    seconds = time.perf_counter() - t0
    print(f"continuing from step {start} in both, from the same weights (nn.to_torch, float64):")
    print(f"{'step':>6}  {'gradwalk loss':>20}  {'torch loss':>20}  {'|difference|':>12}")
    for k, (a, b) in enumerate(zip(losses, torch_losses, strict=True), start):
        print(f"{k:>6}  {a:>20.15f}  {b:>20.15f}  {abs(a - b):>12.3e}")
    worst = max(abs(a - b) for a, b in zip(losses, torch_losses, strict=True))
    verdict = "OK" if worst < TOLERANCE else "FAIL"
    print(f"largest loss difference: {worst:.3e} ({verdict}: tolerance {TOLERANCE}); {steps} "
          f"steps took {seconds:.2f} s here, {torch_seconds:.2f} s in PyTorch (vectorized)")
    return 0 if worst < TOLERANCE else 1


def plot_boundary(model: MLP, X: list, y: list, path: str, step: float = 0.05) -> None:
    """Colour the plane by the sign of the model's score and draw the points on it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pts = np.array(X)
    x_min, x_max = pts[:, 0].min() - 1, pts[:, 0].max() + 1
    y_min, y_max = pts[:, 1].min() - 1, pts[:, 1].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, step), np.arange(y_min, y_max, step))
    with no_grad():
        scores = [model([a, b]).data for a, b in zip(xx.ravel(), yy.ravel(), strict=True)]
    zz = (np.array(scores) > 0).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.contourf(xx, yy, zz, cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(pts[:, 0], pts[:, 1], c=y, s=40, cmap=plt.cm.Spectral, edgecolors="k")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_title("MLP(2, [16, 16, 1]) decision boundary on two moons")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="moons.png", help="decision boundary PNG (default moons.png)")
    p.add_argument("--steps", type=int, default=100, help="SGD steps (default 100)")
    p.add_argument("--samples", type=int, default=100, help="number of points (default 100)")
    p.add_argument("--seed", type=int, default=1337, help="seed for data and weights (1337)")
    p.add_argument("--grid-step", type=float, default=0.05, help="boundary grid spacing (0.05)")
    p.add_argument("--no-plot", action="store_true", help="train only, write no picture")
    p.add_argument("--html", metavar="FILE.html",
                   help="also write one page of the run: loss curve, decision boundary and every "
                   "parameter's gradient at each step, with a scrubber")
    p.add_argument(
        "--continue-in-torch", type=int, default=0, metavar="N",
        help="then export to PyTorch and train N more steps in both, losses side by side",
    )
    args = p.parse_args(argv)
    torch = None
    if args.continue_in_torch > 0:
        torch = import_torch()
        if torch is None:
            print("--continue-in-torch: PyTorch is not installed (pip install torch); "
                  "training here only")

    started = time.perf_counter()
    model, X, y, summary = train(args.steps, args.samples, args.seed, record=bool(args.html))
    seconds = time.perf_counter() - started
    for k, (loss, acc) in enumerate(summary["history"]):
        if k % 10 == 0 or k == len(summary["history"]) - 1:
            print(f"step {k} loss {loss:.4f}, accuracy {acc:.1%}")
    print(f"{model}: training accuracy {summary['accuracy']:.1%} after {args.steps} steps "
          f"({seconds:.1f} s)")
    if args.html:
        path = summary["recorder"].write_html(args.html)
        print(f"training page written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if not args.no_plot:
        plot_boundary(model, X, y, args.out, step=args.grid_step)
        print(f"decision boundary written to {args.out}")
    if torch is not None:
        return continue_in_torch(torch, model, X, y, args.steps, args.continue_in_torch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
