"""A one-line progress bar for training loops, and minibatch indices.

The bar redraws itself in place (at most ten times a second) when its stream is a terminal
and prints nothing otherwise, so logs and test output stay clean.

Recipe::

    for epoch in range(epochs):
        with Progress(len(X), f"epoch {epoch + 1}/{epochs}") as bar:
            for idx in minibatches(len(X), 32, rng=rng):
                ...  # forward, loss, zero_grad, backward, step
                bar.update(len(idx), loss=loss.data, acc=accuracy)
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO


class Progress:
    """`Progress(total, desc)`: call `update(n, **metrics)` as work is done, then `close()`
    (or use it as a context manager). Metrics print as `name value`; a name starting with
    "acc" prints as a percentage."""

    def __init__(
        self,
        total: int,
        desc: str = "",
        *,
        unit: str = "samples",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        width: int = 24,
    ) -> None:
        self.total = max(int(total), 1)
        self.desc = desc
        self.unit = unit
        self.stream = sys.stdout if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.width = width
        self.done = 0
        self.metrics: dict[str, float] = {}
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._closed = False

    def update(self, n: int = 1, **metrics: float) -> None:
        """Count `n` more items done and remember the latest metrics."""
        self.done += n
        self.metrics.update(metrics)
        now = time.perf_counter()
        if self.enabled and (now - self._last_draw >= 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw()

    def line(self) -> str:
        """The bar, e.g. `epoch 1/5 [###---] 50% loss 0.31 acc 91.0% 820 samples/s eta 2s`."""
        fraction = min(self.done / self.total, 1.0)
        filled = round(fraction * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        parts = [self.desc] if self.desc else []
        parts.append(f"[{bar}] {fraction:4.0%}")
        for name, value in self.metrics.items():
            shown = f"{value:.1%}" if name.startswith("acc") else f"{value:.4g}"
            parts.append(f"{name} {shown}")
        rate = self.done / elapsed
        parts.append(f"{rate:,.0f} {self.unit}/s")
        if 0 < self.done < self.total:
            parts.append(f"eta {(self.total - self.done) / rate:.0f}s")
        return " ".join(parts)

    def _draw(self) -> None:
        self.stream.write("\r" + self.line() + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line (nothing at all when disabled)."""
        if self.enabled and not self._closed:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self._closed = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def minibatches(
    n: int, batch_size: int, *, shuffle: bool = True, rng: random.Random | None = None
) -> Iterator[list[int]]:
    """Index lists that cover `range(n)` once, `batch_size` at a time (the last may be short).

    >>> list(minibatches(5, 2, shuffle=False))
    [[0, 1], [2, 3], [4]]
    """
    if batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be >= 1, got {batch_size}")
    order = list(range(n))
    if shuffle:
        (rng or random).shuffle(order)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def accuracy(predicted: list[Any], actual: list[Any]) -> float:
    """The fraction of positions where the two lists agree."""
    if len(predicted) != len(actual) or not actual:
        raise ValueError(f"accuracy: {len(predicted)} predictions for {len(actual)} labels")
    return sum(p == a for p, a in zip(predicted, actual, strict=True)) / len(actual)
