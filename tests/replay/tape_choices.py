"""Where a fuzzed program's choices come from, and the numbers and literals it is made of.

Every choice goes through `Choices.pick(n)`, an int in [0, n) where 0 is the simplest
option (a feature left out, the first name, the shortest body), so hypothesis can draw and
shrink programs (`HypothesisChoices`) and a seeded script can draw them without it
(`RandomChoices`, with a shrinker of its own in `benchmarks/fuzz_tape.py`). Choices that
belong together (a statement, a call) are drawn as a group, which either shrinker deletes
as one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

# --- choices: one interface, drawn by hypothesis or by a seeded random source -----------------


class Choices:
    """Where every decision comes from: `pick(n)` is an int in [0, n), 0 the simplest."""

    def pick(self, n: int) -> int:
        raise NotImplementedError

    def flag(self, percent: int) -> bool:
        """True with about this chance; 0 (the simplest) is False."""
        return self.pick(100) >= 100 - percent

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.pick(len(items))]

    def group(self, make: Callable[[Choices], Any]) -> Any:
        """`make(self)`: choices that belong together (a statement, a call), which a shrinker
        may delete as one."""
        return make(self)

    def real(self, specials: bool) -> float:
        """A float (see `number`)."""
        return _real(self, specials)


class RandomChoices(Choices):
    """Choices from a seeded `random.Random`, or replayed from a list of earlier picks
    (`prefix`; past its end every pick is 0). `trace` keeps the picks made, for shrinking."""

    def __init__(self, seed: int | None = None, prefix: Sequence[int] | None = None) -> None:
        self.rng = random.Random(seed) if prefix is None else None
        self.prefix = list(prefix) if prefix is not None else []
        self.trace: list[int] = []
        self.groups: list[tuple[int, int]] = []  # (start, end) in trace of each group

    def group(self, make: Callable[[Choices], Any]) -> Any:
        start = len(self.trace)
        out = make(self)
        self.groups.append((start, len(self.trace)))
        return out

    def pick(self, n: int) -> int:
        if self.rng is not None:
            k = self.rng.randrange(n)
        else:
            i = len(self.trace)
            k = min(self.prefix[i], n - 1) if i < len(self.prefix) else 0
        self.trace.append(k)
        return k


class HypothesisChoices(Choices):
    """Choices drawn by hypothesis (`draw` from `st.composite` or `st.data()`), so it shrinks."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw

    def pick(self, n: int) -> int:
        if n <= 1:
            return 0
        strategy = _INTEGERS.get(n)
        if strategy is None:
            from hypothesis import strategies as st

            strategy = _INTEGERS[n] = st.integers(0, n - 1)
        return self.draw(strategy)

    def group(self, make: Callable[[Choices], Any]) -> Any:
        return self.draw(_grouped_strategy()(make))

    def real(self, specials: bool) -> float:
        # one draw from numbers drawn alike in advance: a float costs hypothesis one choice
        pool = _POOLS.get(specials)
        if pool is None:
            pool = _POOLS[specials] = _pool(specials)
        return pool[self.pick(len(pool))]


_GROUP: list[Any] = []
_INTEGERS: dict[int, Any] = {}  # st.integers(0, n - 1) by n, made once each
_POOLS: dict[bool, tuple[float, ...]] = {}  # `_pool(specials)`, made once each


def _grouped_strategy() -> Any:
    """One composite strategy (made once: making one per group costs more than drawing)."""
    if not _GROUP:
        from hypothesis import strategies as st

        @st.composite
        def group(draw: Any, make: Callable[[Choices], Any]) -> Any:
            return make(HypothesisChoices(draw))

        _GROUP.append(group)
    return _GROUP[0]


# --- numbers and their text ---------------------------------------------------------------------

NICE = (1.0, 0.5, 2.0, -1.0, -0.5, 0.25, 3.0, -2.0, 0.1, -0.3, 1.5, 0.0, 10.0, -4.0)
SPECIAL = (0.0, -0.0, math.nan, math.inf, -math.inf, 1e-300, 5e-324, 1e300, -1e300, 710.0,
           -710.0, 1e-8, 1e8, 40.0, -40.0)


def number(c: Choices, specials: bool = True) -> float:
    """A float as users pass them: a round number, a binary fraction, any double, or (with
    `specials`) an edge point."""
    return c.real(specials)


def _real(c: Choices, specials: bool) -> float:
    kind = c.pick(20)
    if kind < 10:
        return c.choice(NICE)
    if kind < 15:
        return (c.pick(4001) - 2000) / 512
    if kind < 18 or not specials:
        x = (1 + c.pick(2**30)) / 2**30 * 2.0 ** (c.pick(12) - 6)
        return -x if c.flag(50) else x
    return c.choice(SPECIAL)


def _pool(specials: bool, size: int = 512) -> tuple[float, ...]:
    """`size` numbers drawn as `_real` draws them (so as often round, special and so on),
    the round ones first, in `NICE`'s order (what a shrinker goes to): what one hypothesis
    draw picks from."""
    drawn = [_real(RandomChoices(seed), specials) for seed in range(size - len(NICE))]
    return (*NICE, *drawn)


def literal(x: Any) -> str:
    """Python source for a number, list, tuple or NumPy array/scalar that evaluates to it."""
    if isinstance(x, bool):
        return repr(x)
    if isinstance(x, float):
        if x != x:
            return "math.nan"
        if math.isinf(x):
            return "math.inf" if x > 0 else "-math.inf"
        return repr(x)
    if isinstance(x, int):
        return repr(x)
    if isinstance(x, list):
        return "[" + ", ".join(map(literal, x)) + "]"
    if isinstance(x, tuple):
        inner = ", ".join(map(literal, x))
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if type(x).__module__ == "numpy":
        if getattr(x, "ndim", 0) == 0:
            return f"np.{x.dtype.name}({literal(x.item())})"
        dtype = "" if x.dtype.name in ("float64", "int64") else f", dtype=np.{x.dtype.name}"
        return f"np.array({literal(x.tolist())}{dtype})"
    raise TypeError(f"no literal for {type(x).__name__}")


def negative(text: str) -> bool:
    """Whether a literal starts with a minus (it then needs parentheses as an operand)."""
    return text.startswith("-")


def grouped(writer: Any, make: Callable[[], Any]) -> Any:
    """`make()` with the writer drawing its choices as one group (see `Choices.group`)."""
    outer = writer.c

    def inner(c: Choices) -> Any:
        writer.c = c
        try:
            return make()
        finally:
            writer.c = outer

    return outer.group(inner)
