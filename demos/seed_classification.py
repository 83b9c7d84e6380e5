"""The seed program: a 10-5-1 sigmoid network on a binary classification problem.

It runs twice from the same initial weights. First the seed program as written: scikit-learn's
make_classification (1000 samples, 10 features, 2 classes), an 80/20 split, sigmoid after both
layers, binary cross-entropy, plain SGD with lr 0.01, 100 full-batch epochs. At lr 0.01 the loss
hardly moves in 100 epochs, so the same network then trains again with --also-lr (default 0.5),
everything else unchanged, and a summary prints both runs' losses and test accuracies. With
--compare-torch each run is repeated in PyTorch (float64, nn.Linear, BCELoss, optim.SGD) from the
same data and the same initial weights and the loss columns print side by side: they must agree
to 1e-9. PyTorch is only a reference to compare against: install it into the same environment
first (python -m pip install torch==2.13.0).

    python demos/seed_classification.py
    python demos/seed_classification.py --compare-torch
    python demos/seed_classification.py --also-lr 0 --graph seed_sample.svg
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import as_batch, import_torch, write_graph  # noqa: E402

from autograd import no_grad, tape  # noqa: E402
from nn import MLP, progress  # noqa: E402
from nn.losses import bce  # noqa: E402
from nn.optim import SGD  # noqa: E402

TOLERANCE = 1e-9
SEED_LR, SEED_EPOCHS, SEED_SAMPLES = 0.01, 100, 1000  # the seed program's own settings
WORKING_LR = 0.5  # one that trains this network in the same 100 epochs
TORCH_REQUIREMENT = "torch==2.13.0"  # the version the test suite compares against


@dataclass
class Run:
    """One training run: its learning rate, the loss of every epoch, the test accuracy."""

    title: str
    lr: float
    losses: list[float]
    accuracy: float
    seconds: float
    torch_losses: list[float] | None = None

    @property
    def torch_difference(self) -> float | None:
        if self.torch_losses is None:
            return None
        return max(abs(a - b) for a, b in zip(self.losses, self.torch_losses, strict=True))


def make_data(samples: int, seed: int) -> tuple[list, list, list, list]:
    """The seed program's data: make_classification, then an 80/20 train_test_split."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=samples, n_features=10, n_classes=2, random_state=seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed)
    labels = y_train.astype(float).tolist(), y_test.astype(float).tolist()
    return X_train.tolist(), X_test.tolist(), *labels


def build_model(seed: int) -> MLP:
    # init="torch" draws the weights as nn.Linear does, so this is the seed program's network.
    return MLP(
        10, [5, 1], activation="sigmoid", output_activation="sigmoid", seed=seed, init="torch"
    )


def train(model: MLP, X: list, y: list, epochs: int, lr: float) -> list[float]:
    """Full-batch training; returns the loss of every epoch (before that epoch's step).

    One sample's loss is recorded once as a tape; each epoch replays it over the whole batch
    (`t.mean`, NumPy where installed): the mean BCE and its gradient, as `bce(all).backward()`
    gives them to 1e-12, without building a graph per epoch.
    """
    opt = SGD(model.parameters(), lr=lr)
    t = tape(lambda x, target: bce(model(x), target), X[0], y[0])
    batch = as_batch(X, y)
    losses = []
    with progress(total=epochs, desc="training", unit="epochs") as bar:
        for _ in range(epochs):
            opt.zero_grad()
            loss = t.mean(*batch)
            opt.step()
            losses.append(loss)
            bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            bar.update(1)
    return losses


def test_accuracy(model: MLP, X: list, y: list) -> float:
    with no_grad():
        hits = sum((model(x).data > 0.5) == (t > 0.5) for x, t in zip(X, y, strict=True))
    return hits / len(y)


def train_torch(torch: object, model: MLP, X: list, y: list, epochs: int, lr: float) -> list[float]:
    """The seed program in PyTorch, float64, starting from `model`'s weights."""
    nn_, optim, f64 = torch.nn, torch.optim, torch.float64

    class Net(nn_.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn_.Linear(10, 5)
            self.fc2 = nn_.Linear(5, 1)

        def forward(self, x):  # noqa: ANN001, ANN202
            return torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x))))

    net = Net().double()
    with torch.no_grad():
        for layer, fc in zip(model.layers, (net.fc1, net.fc2), strict=True):
            fc.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=f64))
            fc.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=f64))
    inputs = torch.tensor(X, dtype=f64)
    targets = torch.tensor(y, dtype=f64).unsqueeze(1)
    criterion = nn_.BCELoss()
    opt = optim.SGD(net.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def pip_install_hint() -> str:
    """The command that installs PyTorch into the environment running this demo."""
    python = Path(sys.executable)
    try:
        shown = os.path.relpath(python)
    except ValueError:  # another drive on Windows
        shown = str(python)
    if shown.startswith(".."):
        shown = str(python)
    return f"{shown} -m pip install {TORCH_REQUIREMENT}"


def _at_least(kind: type, minimum: float, strictly: bool = False):  # noqa: ANN202
    """An argparse type: a number of `kind`, at least (or, strictly, above) `minimum`."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str):  # noqa: ANN202
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not (value > minimum if strictly else value >= minimum):  # also refuses nan
            bound = f"above {minimum:g}" if strictly else f"at least {minimum:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=_at_least(int, 10), default=SEED_SAMPLES,
                   help=f"dataset size (default {SEED_SAMPLES})")
    p.add_argument("--epochs", type=_at_least(int, 1), default=SEED_EPOCHS,
                   help=f"full-batch epochs of each run (default {SEED_EPOCHS})")
    p.add_argument("--lr", type=_at_least(float, 0, strictly=True), default=SEED_LR,
                   help=f"SGD learning rate of the first run (default {SEED_LR}, the seed's own)")
    p.add_argument("--also-lr", type=_at_least(float, 0), default=WORKING_LR,
                   metavar="LR",
                   help=f"then train the same network from the same initial weights with this "
                        f"learning rate (default {WORKING_LR}, one that trains it); 0 skips it")
    p.add_argument("--seed", type=int, default=42, help="data and weight seed (default 42)")
    p.add_argument("--every", type=_at_least(int, 1), default=10,
                   help="print the loss every N epochs (default 10)")
    compare = p.add_mutually_exclusive_group()
    compare.add_argument(
        "--compare-torch", action="store_true",
        help="also run each in PyTorch float64 from the same weights; fail if losses differ "
             "> 1e-9 (needs PyTorch installed first)",
    )
    compare.add_argument(
        "--compare-torch-if-installed", action="store_true",
        help="as --compare-torch when torch imports, else run alone and say so",
    )
    p.add_argument(
        "--graph", metavar="PATH",
        help="write the graph of one test sample's loss through the last trained network "
             "(.svg, .png, .dot)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch = None
    if args.compare_torch or args.compare_torch_if_installed:
        torch = import_torch()
        if torch is None and args.compare_torch:
            print("--compare-torch: PyTorch is not installed in this environment. It is a "
                  "reference to compare against, not a dependency; install it first with\n"
                  f"    {pip_install_hint()}", file=sys.stderr)
            return 2
        if torch is None:
            print("PyTorch is not installed: running without the side-by-side comparison "
                  f"(to add it: {pip_install_hint()})")
    X_train, X_test, y_train, y_test = make_data(args.samples, args.seed)
    model = build_model(args.seed)
    start_weights = model.state_dict()
    print(f"{model}: {len(X_train)} training and {len(X_test)} test samples")

    plan = [(seed_title(args), args.lr)]
    if args.also_lr:
        plan.append(("the same again with only the learning rate changed", args.also_lr))
    runs, model = [], None
    for number, (title, lr) in enumerate(plan, 1):
        print(f"\n{number}. {title}: SGD lr {lr:g}, {args.epochs} full-batch epochs")
        model = build_model(args.seed)
        model.load_state_dict(start_weights)
        started = time.perf_counter()
        losses = train(model, X_train, y_train, args.epochs, lr)
        seconds = time.perf_counter() - started
        run = Run(title, lr, losses, test_accuracy(model, X_test, y_test), seconds)
        if torch is not None:
            twin = build_model(args.seed)
            twin.load_state_dict(start_weights)
            run.torch_losses = train_torch(torch, twin, X_train, y_train, args.epochs, lr)
        report_losses(run.losses, run.torch_losses, args.every)
        print(f"test accuracy: {run.accuracy:.1%} ({run.seconds:.1f} s of training)")
        if run.torch_losses is not None:
            verdict = "OK" if run.torch_difference < TOLERANCE else "FAIL"
            print(f"largest loss difference vs PyTorch: {run.torch_difference:.3e} "
                  f"({verdict}: tolerance {TOLERANCE})")
        runs.append(run)

    report_summary(runs, args.epochs)

    if args.graph:
        x, t = X_test[0], y_test[0]
        loss = bce(model(x), t)
        loss.backward()
        print(f"\none test sample's loss through the lr {runs[-1].lr:g} network: "
              + write_graph(loss, args.graph))

    if any(run.torch_losses is not None and run.torch_difference >= TOLERANCE for run in runs):
        return 1
    return 0


def seed_title(args: argparse.Namespace) -> str:
    """Say whether the first run is the seed program as written."""
    own = (args.lr, args.epochs, args.samples) == (SEED_LR, SEED_EPOCHS, SEED_SAMPLES)
    if own:
        return "the seed program as written, with its own hyperparameters"
    return (f"the seed program with changed settings (its own: lr {SEED_LR:g}, {SEED_EPOCHS} "
            f"epochs, {SEED_SAMPLES} samples)")


def moved_little(losses: list[float]) -> bool:
    return losses[-1] > 0.95 * losses[0]


def report_summary(runs: list[Run], epochs: int) -> None:
    print(f"\nsummary (same data, same initial weights, {epochs} epochs each):")
    names = [f"{number}. lr {run.lr:g}" + (", the seed's" if run.lr == SEED_LR else "")
             for number, run in enumerate(runs, 1)]
    width = max(len(name) for name in [*names, "run"])
    losses = f"loss, epoch 1 -> {epochs}"
    print(f"  {'run':<{width}}  {losses:>20}  {'test accuracy':>13}")
    for name, run in zip(names, runs, strict=True):
        loss = f"{run.losses[0]:.4f} -> {run.losses[-1]:.4f}"
        print(f"  {name:<{width}}  {loss:>20}  {run.accuracy:>13.1%}")
    for run in runs:
        if moved_little(run.losses):
            hint = "" if len(runs) > 1 else f" (--also-lr {WORKING_LR:g} trains much further)"
            print(f"lr {run.lr:g} moved the loss by less than 5% in {epochs} epochs: too slow "
                  f"for this network{hint}")
    compared = [run for run in runs if run.torch_losses is not None]
    if compared:
        worst = max(run.torch_difference for run in compared)
        verdict = "agree to rounding" if worst < TOLERANCE else "DISAGREE"
        print(f"PyTorch float64, same weights: largest loss difference {worst:.1e} "
              f"({verdict})")


def report_losses(losses: list[float], torch_losses: list[float] | None, every: int) -> None:
    epochs = len(losses)
    shown = [e for e in range(1, epochs + 1) if e % max(every, 1) == 0 or e == epochs]
    if torch_losses is None:
        for e in shown:
            print(f"Epoch [{e}/{epochs}], Loss: {losses[e - 1]:.4f}")
        return
    print(f"{'epoch':>7}  {'gradwalk loss':>20}  {'torch loss':>20}  {'|difference|':>12}")
    for e in shown:
        a, b = losses[e - 1], torch_losses[e - 1]
        print(f"{e:>7}  {a:>20.15f}  {b:>20.15f}  {abs(a - b):>12.3e}")


if __name__ == "__main__":
    sys.exit(main())
