"""Progress bars for training loops (tqdm's), minibatch indices, accuracy.

`progress` is `tqdm.auto.tqdm` with the choice of where to draw made for training runs: a
widget in a Jupyter notebook (text there when ipywidgets is missing), a bar redrawn in place
on a terminal, and nothing when the output goes to a log or a pipe, so logs and test output
stay clean. Everything else is tqdm's: `set_postfix`, `update`, `write`, its `TQDM_*`
environment variables.

Recipe::

    for epoch in range(epochs):
        with progress(total=len(X), desc=f"epoch {epoch + 1}/{epochs}") as bar:
            for idx in minibatches(len(X), 32, rng=rng):
                ...  # forward, loss, zero_grad, backward, step
                bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
                bar.update(len(idx))
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any, TextIO


def progress(iterable: Iterable[Any] | None = None, *, total: float | None = None,
             desc: str = "", unit: str = "samples", file: TextIO | None = None,
             disable: bool | None = None, **options: Any) -> Any:
    """A tqdm progress bar (`tqdm.auto.tqdm`): a widget in a notebook, text on a terminal, and
    with `disable=None` (the default) nothing at all where the output is neither (a log, a pipe).
    Wrap an iterable, or give `total` and call `update(n)`; other options are tqdm's.

    >>> for batch in progress([[0, 1], [2, 3]], desc="epoch 1/1"):  # quiet: not a terminal
    ...     print(batch)
    [0, 1]
    [2, 3]
    """
    from tqdm.auto import tqdm  # its notebook form shows whatever `disable` None says

    return tqdm(iterable, total=total, desc=desc or None, unit=unit, file=file, disable=disable,
                dynamic_ncols=True, **options)


class Progress:
    """`Progress(total, desc)`: a `progress` bar taking its metrics in `update(n, **metrics)`
    (nn's first bar, kept as a thin layer over tqdm). Metrics show as `name=value`; a name
    starting with "acc" as a percentage. Use it as a context manager, or call `close()`."""

    def __init__(self, total: int, desc: str = "", *, unit: str = "samples",
                 stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.bar = progress(total=max(int(total), 1), desc=desc, unit=unit, file=stream,
                            disable=None if enabled is None else not enabled)
        self.done = 0  # counted here: a disabled tqdm bar counts nothing

    @property
    def enabled(self) -> bool:
        return not self.bar.disable

    def update(self, n: int = 1, **metrics: float) -> None:
        """Count `n` more items done and show the latest metrics."""
        if metrics:
            shown = {name: f"{value:.1%}" if name.startswith("acc") else f"{value:.4g}"
                     for name, value in metrics.items()}
            self.bar.set_postfix(shown, refresh=False)
        self.done += n
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()

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
