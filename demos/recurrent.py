"""Backpropagation through time: a tanh RNN learns to predict the next value of a noisy sine.

The cell is `h' = tanh(W [x, h] + b)` (one `Layer` over the input and the previous state) with
a linear readout `y = v . h' + c`. Each training sequence is a window of a noisy sine wave;
the network reads it one value at a time and predicts each next value. The graph is built
anew for every sequence, unrolled over its steps, and one backward pass through the unrolled
graph trains the shared weights: that is backpropagation through time.

    python demos/recurrent.py
    python demos/recurrent.py --epochs 10 --graph rnn_unrolled.svg --graph-steps 3
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_graph  # noqa: E402

from autograd import Value, no_grad  # noqa: E402
from nn import Layer, Module, minibatches, progress  # noqa: E402
from nn.losses import mse  # noqa: E402
from nn.optim import Adam  # noqa: E402


class RNN(Module):
    """A one-layer tanh recurrent network with a linear readout."""

    def __init__(self, hidden: int, seed: int) -> None:
        rng = random.Random(seed)
        self.hidden = hidden
        self.cell = Layer(1 + hidden, hidden, "tanh", seed=rng, init="torch")
        self.readout = Layer(hidden, 1, "linear", seed=rng, init="torch")

    def __call__(self, xs: Sequence[float | Value], *, label: bool = False) -> list[Value]:
        """One prediction per step: after reading xs[t], the guess for xs[t + 1].

        With `label=True` the inputs, states and predictions get names for a picture.
        """
        h: list = [0.0] * self.hidden
        predictions = []
        for t, x in enumerate(xs):
            if label:
                x = Value(x, label=f"x{t}")
            h = self.cell.forward([x, *h])
            predictions.append(self.readout.forward(h)[0])
            if label:
                for j, v in enumerate(h):
                    v.label = f"h{t + 1}[{j}]"
                predictions[-1].label = f"guess x{t + 1}"
        return predictions

    def __repr__(self) -> str:
        return f"RNN(1 -> {self.hidden} tanh -> 1, {len(self.parameters())} parameters)"


def noisy_sine(length: int, noise: float, rng: random.Random) -> list[float]:
    return [math.sin(0.3 * t) + rng.gauss(0.0, noise) for t in range(length)]


def windows(series: list[float], size: int, count: int, rng: random.Random) -> list[list[float]]:
    """`count` random windows of `size + 1` values (inputs plus the value after each)."""
    starts = [rng.randrange(len(series) - size - 1) for _ in range(count)]
    return [series[s : s + size + 1] for s in starts]


def sequence_loss(model: RNN, window: list[float], *, label: bool = False) -> Value:
    return mse(model(window[:-1], label=label), window[1:])


def evaluate(model: RNN, data: list[list[float]]) -> float:
    with no_grad():
        return sum(sequence_loss(model, w).data for w in data) / len(data)


def persistence(data: list[list[float]]) -> float:
    """The mean squared error of guessing that the next value equals the current one."""
    return sum(
        sum((a - b) ** 2 for a, b in zip(w[:-1], w[1:], strict=True)) / (len(w) - 1) for w in data
    ) / len(data)


def train(
    epochs: int = 30,
    hidden: int = 8,
    seq_len: int = 16,
    sequences: int = 64,
    batch_size: int = 8,
    lr: float = 0.02,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[RNN, dict]:
    """Train on windows of one noisy sine, test on windows of another; returns a summary."""
    rng = random.Random(seed)
    train_data = windows(noisy_sine(400, noise, rng), seq_len, sequences, rng)
    test_data = windows(noisy_sine(400, noise, rng), seq_len, 32, rng)
    model = RNN(hidden, seed)
    opt = Adam(model.parameters(), lr=lr)
    history = [evaluate(model, train_data)]
    started = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        with progress(total=len(train_data), desc=f"epoch {epoch + 1}/{epochs}",
                      unit="seqs") as bar:
            for batch in minibatches(len(train_data), batch_size, rng=rng):
                # Each sequence unrolls its own graph; the batch loss is their mean.
                losses = [sequence_loss(model, train_data[i]) for i in batch]
                loss = sum(losses) / len(losses)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.data * len(batch)
                bar.set_postfix(loss=f"{loss.data:.4g}", refresh=False)
                bar.update(len(batch))
        history.append(total / len(train_data))
    summary = {
        "history": history,
        "test_loss": evaluate(model, test_data),
        "persistence_loss": persistence(test_data),
        "noise_floor": 2 * noise**2,
        "seconds": time.perf_counter() - started,
    }
    return model, summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=30, help="passes over the sequences (30)")
    p.add_argument("--hidden", type=int, default=8, help="hidden state size (8)")
    p.add_argument("--seq-len", type=int, default=16, help="steps per training sequence (16)")
    p.add_argument("--sequences", type=int, default=64, help="training sequences (64)")
    p.add_argument("--lr", type=float, default=0.02, help="Adam learning rate (0.02)")
    p.add_argument("--noise", type=float, default=0.05, help="noise std of the sine (0.05)")
    p.add_argument("--seed", type=int, default=0, help="data and weight seed (0)")
    p.add_argument("--graph", metavar="PATH", help="write the unrolled graph of one sequence")
    p.add_argument("--graph-steps", type=int, default=3, help="steps in that sequence (3)")
    args = p.parse_args(argv)

    model, s = train(args.epochs, args.hidden, args.seq_len, args.sequences, lr=args.lr,
                     noise=args.noise, seed=args.seed)
    history = s["history"]
    print(f"{model}, {args.sequences} sequences of {args.seq_len} steps")
    for epoch, loss in enumerate(history):
        if epoch % 5 == 0 or epoch == len(history) - 1:
            print(f"epoch {epoch:>3}  training loss {loss:.5f}")
    print(f"test loss {s['test_loss']:.5f}  (guessing the last value: "
          f"{s['persistence_loss']:.5f}; noise alone: about {s['noise_floor']:.5f})")
    print(f"training time {s['seconds']:.1f} s")
    if args.graph:
        steps = max(args.graph_steps, 1)
        window = noisy_sine(steps + 1, args.noise, random.Random(args.seed))
        for name, p in model.named_parameters():
            p.label = name
        loss = sequence_loss(model, window, label=True)
        loss.label = "loss"
        loss.backward()
        print(f"unrolled over {steps} steps: " + write_graph(loss, args.graph))
    return 0


if __name__ == "__main__":
    sys.exit(main())
