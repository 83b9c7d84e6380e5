"""Handwritten digits: an MLP with softmax cross-entropy on scikit-learn's 8x8 digits.

The data ships with scikit-learn (1797 images, no download). Pixels are scaled to [0, 1];
an 80/20 stratified split; MLP(64, [32, 10]) with ReLU, trained by Adam on minibatches. It
prints the test accuracy and the confusion matrix (rows: true digit, columns: predicted).

    python demos/digits.py
    python demos/digits.py --epochs 4 --hidden 16 --save digits.json --plot confusion.png
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import as_batch  # noqa: E402

from autograd import no_grad, tape  # noqa: E402
from nn import MLP, minibatches, progress, save  # noqa: E402
from nn.losses import cross_entropy  # noqa: E402
from nn.optim import Adam  # noqa: E402


def make_data(test_size: float, seed: int) -> tuple[list, list, list, list]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).tolist()
    y = digits.target.tolist()
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)


def predict(model: MLP, X: list) -> list[int]:
    with no_grad():
        out = []
        for x in X:
            scores = [v.data for v in model(x)]
            out.append(max(range(len(scores)), key=scores.__getitem__))
        return out


def train(
    epochs: int = 8,
    hidden: int = 32,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
    train_limit: int | None = None,
) -> tuple[MLP, dict]:
    """Train and evaluate; returns the model and a summary (accuracies, confusion, timing)."""
    X_train, X_test, y_train, y_test = make_data(0.2, seed)
    if train_limit:
        X_train, y_train = X_train[:train_limit], y_train[:train_limit]
    rng = random.Random(seed)
    model = MLP(64, [hidden, 10], seed=seed, init="torch")
    opt = Adam(model.parameters(), lr=lr)
    # One image's loss, recorded once (the class index is static: one recording per class);
    # each minibatch replays it over its images at once (`t.mean`, NumPy where installed).
    t = tape(lambda x, k: cross_entropy(model(x), k), X_train[0], y_train[0])
    images, labels = as_batch(X_train, y_train)
    started = time.perf_counter()
    for epoch in range(epochs):
        opt.lr = lr * (1 - 0.9 * epoch / epochs)  # decay linearly towards lr / 10
        with progress(total=len(X_train), desc=f"epoch {epoch + 1}/{epochs}") as bar:
            for batch in minibatches(len(X_train), batch_size, rng=rng):
                opt.zero_grad()
                loss = t.mean(_rows(images, batch), _rows(labels, batch))
                opt.step()
                bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
                bar.update(len(batch))
    seconds = time.perf_counter() - started
    hits = sum(p == k for p, k in zip(predict(model, X_train), y_train, strict=True))
    seen = len(y_train)
    predicted = predict(model, X_test)
    confusion = [[0] * 10 for _ in range(10)]
    for p, t in zip(predicted, y_test, strict=True):
        confusion[t][p] += 1
    summary = {
        "train_accuracy": hits / max(seen, 1),  # after the last epoch
        "test_accuracy": sum(confusion[k][k] for k in range(10)) / len(y_test),
        "confusion": confusion,
        "seconds": seconds,
        "train_samples": len(X_train),
        "test_samples": len(X_test),
    }
    return model, summary


def _rows(column: Any, index: list[int]) -> Any:
    """The rows of a batch column (a NumPy array or a list) at `index`."""
    return column[index] if hasattr(column, "shape") else [column[i] for i in index]


def format_confusion(confusion: list[list[int]]) -> str:
    lines = ["true \\ predicted " + " ".join(f"{k:>4}" for k in range(10))]
    for t, row in enumerate(confusion):
        lines.append(f"{t:>17} " + " ".join(f"{n:>4}" for n in row))
    return "\n".join(lines)


def plot_confusion(confusion: list[list[int]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(confusion, cmap="Blues")
    for t, row in enumerate(confusion):
        for p, n in enumerate(row):
            ax.text(p, t, str(n), ha="center", va="center", fontsize=8,
                    color="white" if n > max(map(max, confusion)) / 2 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("digits: confusion matrix on the test set")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=8, help="passes over the training set (8)")
    p.add_argument("--hidden", type=int, default=32, help="hidden layer width (32)")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (32)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (0.01)")
    p.add_argument("--seed", type=int, default=0, help="split, weights and shuffling seed (0)")
    p.add_argument("--train-limit", type=int, help="use only the first N training images")
    p.add_argument("--save", metavar="PATH", help="save the trained model as JSON")
    p.add_argument("--plot", metavar="PATH", help="save the confusion matrix as a PNG")
    args = p.parse_args(argv)

    model, s = train(
        args.epochs, args.hidden, args.batch_size, args.lr, args.seed, args.train_limit
    )
    print(f"{model}: {s['train_samples']} training, {s['test_samples']} test images")
    print(f"training time {s['seconds']:.1f} s for {args.epochs} epochs")
    print(f"training accuracy {s['train_accuracy']:.1%}")
    print(f"test accuracy {s['test_accuracy']:.1%}")
    print(format_confusion(s["confusion"]))
    if args.save:
        save(model, args.save)
        print(f"model saved to {args.save}")
    if args.plot:
        plot_confusion(s["confusion"], args.plot)
        print(f"confusion matrix picture written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
