"""Binary classification with a 10-5-1 sigmoid network, and the same program in PyTorch.

scikit-learn's make_classification (1000 samples, 10 features, 2 classes), an 80/20 split,
sigmoid after both layers, binary cross-entropy, plain SGD with lr 0.01, 100 full-batch
epochs. With --compare-torch the PyTorch version (float64, nn.Linear, BCELoss, optim.SGD)
runs from the same data and the same initial weights and the two loss columns print side by
side: they must agree to 1e-9.

    python demos/seed_classification.py
    python demos/seed_classification.py --compare-torch
    python demos/seed_classification.py --graph seed_sample.svg
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import import_torch, write_graph  # noqa: E402

from autograd import Value, no_grad  # noqa: E402
from nn import MLP, Progress  # noqa: E402
from nn.losses import bce  # noqa: E402
from nn.optim import SGD  # noqa: E402

TOLERANCE = 1e-9


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
    """Full-batch training; returns the loss of every epoch (before that epoch's step)."""
    opt = SGD(model.parameters(), lr=lr)
    inputs = [[Value(v) for v in row] for row in X]  # lifted once, reused every epoch
    losses = []
    with Progress(epochs, "training", unit="epochs") as bar:
        for epoch in range(epochs):
            loss = bce([model(x) for x in inputs], y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.data)
            bar.update(1, epoch=epoch + 1, loss=loss.data)
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=1000, help="dataset size (default 1000)")
    p.add_argument("--epochs", type=int, default=100, help="full-batch epochs (default 100)")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default 0.01)")
    p.add_argument("--seed", type=int, default=42, help="data and weight seed (default 42)")
    p.add_argument("--every", type=int, default=10, help="print the loss every N epochs")
    compare = p.add_mutually_exclusive_group()
    compare.add_argument(
        "--compare-torch", action="store_true",
        help="also run it in PyTorch float64 from the same weights; fail if losses differ > 1e-9",
    )
    compare.add_argument(
        "--compare-torch-if-installed", action="store_true",
        help="as --compare-torch when torch imports, else run alone and say so",
    )
    p.add_argument(
        "--graph", metavar="PATH", help="write the graph of one sample's loss (.svg, .png, .dot)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch = None
    if args.compare_torch or args.compare_torch_if_installed:
        torch = import_torch()
        if torch is None and args.compare_torch:
            print("--compare-torch: PyTorch is not installed (pip install torch)", file=sys.stderr)
            return 2
        if torch is None:
            print("PyTorch is not installed: running without the side-by-side comparison")
    X_train, X_test, y_train, y_test = make_data(args.samples, args.seed)
    model = build_model(args.seed)
    start_weights = model.state_dict()
    print(f"{model}: {len(X_train)} training and {len(X_test)} test samples")

    started = time.perf_counter()
    losses = train(model, X_train, y_train, args.epochs, args.lr)
    seconds = time.perf_counter() - started
    torch_losses = None
    if torch is not None:
        twin = build_model(args.seed)
        twin.load_state_dict(start_weights)
        torch_losses = train_torch(torch, twin, X_train, y_train, args.epochs, args.lr)

    report_losses(losses, torch_losses, args.every)
    accuracy = test_accuracy(model, X_test, y_test)
    print(f"test accuracy: {accuracy:.1%} ({seconds:.1f} s of training)")
    if losses[-1] > 0.95 * losses[0]:
        print(f"(the loss moved little: lr {args.lr} is slow for this network; --lr 0.5 trains "
              "much further)")

    if args.graph:
        x, t = X_test[0], y_test[0]
        loss = bce(model(x), t)
        loss.backward()
        print(write_graph(loss, args.graph))

    if torch_losses is not None:
        worst = max(abs(a - b) for a, b in zip(losses, torch_losses, strict=True))
        verdict = "OK" if worst < TOLERANCE else "FAIL"
        print(f"largest loss difference vs PyTorch: {worst:.3e} ({verdict}: tolerance {TOLERANCE})")
        if worst >= TOLERANCE:
            return 1
    return 0


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
