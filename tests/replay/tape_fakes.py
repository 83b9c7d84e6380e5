"""Stand-ins for `tape` that check the oracle itself (`tape_oracle`), not the tape.

`EagerReplay` is right by construction: each call runs fn eagerly. Its `mean` runs with
NumPy's exp, log, log1p and tanh in place of the math module's and the samples and dots
summed in another order: the last-bit differences a correct batch replay has. The oracle
must never flag it. Each subclass breaks one promise the way a tape with a missing guard
would, and the oracle must catch every one of them:

- `FrozenParameters`: reads the parameters' data as they were at the recording;
- `FrozenClosure`: reads fn's closure cells and globals as they were (a schedule, a model
  rebound to a copy: both frozen);
- `FrozenReads`: every number fn reads with `.data`, `.item()` or `.detach()` is the one
  read at the recording (so a branch on `.data` is not guarded either);
- `FrozenNoGrad`: what fn computes under `no_grad` uses the parameters of the recording.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tape_oracle import lift

from autograd import Value, engine, ops, sum_
from nn import Module

try:
    import numpy as np
except ImportError:  # the rounding stand-in then rounds as math does
    np = None


class EagerReplay:
    """fn run eagerly at every call: the tape every replay must equal."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn = fn
        with self.recording():
            fn(*lift(args))

    @contextmanager
    def recording(self) -> Iterator[None]:
        yield

    @contextmanager
    def replaying(self) -> Iterator[None]:
        yield

    def __call__(self, *args: Any) -> float:
        with self.replaying():
            out = self.fn(*lift(args))
            if isinstance(out, Value):
                out.backward()
                return out.data
            return float(out)

    def mean(self, *batched: Any) -> float:
        n = len(batched[0])
        samples = [tuple(arg[s] for arg in batched) for s in range(n)]
        with self.replaying(), _numpy_rounding():
            outs = [self.fn(*lift(sample)) for sample in reversed(samples)]
            loss = sum_(outs) / n
            loss.backward()
        return loss.data


@contextmanager
def _numpy_rounding() -> Iterator[None]:
    """The op table computes with NumPy's transcendental functions and adds its sums and
    dots exactly rounded (math.fsum) instead of left to right."""
    saved_math, saved_fold = ops.math, ops._fold
    ops.math = _NumpyMath()
    ops._fold = _exact_sum
    try:
        yield
    finally:
        ops.math, ops._fold = saved_math, saved_fold


def _exact_sum(xs: Any) -> float:
    xs = list(xs)
    return math.fsum(xs) if all(map(math.isfinite, xs)) else saved_fold(xs)


saved_fold = ops._fold


class _NumpyMath:
    """The math module, but exp, log, log1p and tanh by NumPy (same errors as math's)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(math, name)

    @staticmethod
    def _np(name: str, x: float) -> float:
        getattr(math, name)(x)  # raise where math raises
        if np is None:
            return getattr(math, name)(x)
        with np.errstate(all="ignore"):
            return float(getattr(np, name)(x))

    def exp(self, x: float) -> float:
        return self._np("exp", x)

    def log(self, x: float) -> float:
        return self._np("log", x)

    def log1p(self, x: float) -> float:
        return self._np("log1p", x)

    def tanh(self, x: float) -> float:
        return self._np("tanh", x)


class FrozenParameters(EagerReplay):
    """Replays at the parameters' data of the recording (no guard on parameters' data)."""

    def __init__(self, fn: Any, *args: Any) -> None:
        super().__init__(fn, *args)
        self.params = [(v, v.data) for v in _held_values(fn)]

    @contextmanager
    def replaying(self) -> Iterator[None]:
        with _data_as_recorded(self.params):
            yield


def _held_values(fn: Any) -> list[Value]:
    """The Values fn reaches through its closure cells and the globals it names (on their
    own, in lists, or as a module's parameters)."""
    found = [cell.cell_contents for cell in fn.__closure__ or ()]
    found += [fn.__globals__[name] for name in _names(fn.__code__) if name in fn.__globals__]
    values: dict[int, Value] = {}
    for obj in found:
        if isinstance(obj, Module):
            obj = obj.parameters()
        for v in obj if isinstance(obj, list) else [obj]:
            if isinstance(v, Value):
                values[id(v)] = v
    return list(values.values())


@contextmanager
def _data_as_recorded(params: list[tuple[Value, float]]) -> Iterator[None]:
    now = [v.data for v, _ in params]
    for v, old in params:
        v._data = old  # past the write clock: this stand-in hides its writes from the engine
    try:
        yield
    finally:
        for (v, _), x in zip(params, now):
            v._data = x


class FrozenNoGrad(FrozenParameters):
    """Replays with what fn computes under `no_grad` from the parameters' data of the
    recording (a tape that bakes such products in as constants)."""

    @contextmanager
    def replaying(self) -> Iterator[None]:
        enter, leave = engine.no_grad.__enter__, engine.no_grad.__exit__
        params = self.params
        held: list[Any] = []

        def frozen_enter(block: Any) -> Any:
            if type(block) is engine.no_grad:
                held.append(_data_as_recorded(params))
                held[-1].__enter__()
            return enter(block)

        def frozen_exit(block: Any, *exc: Any) -> None:
            leave(block, *exc)
            if type(block) is engine.no_grad:
                held.pop().__exit__(None, None, None)

        engine.no_grad.__enter__, engine.no_grad.__exit__ = frozen_enter, frozen_exit
        try:
            yield
        finally:
            engine.no_grad.__enter__, engine.no_grad.__exit__ = enter, leave


class FrozenClosure(EagerReplay):
    """Replays with fn's closure cells and globals as they were at the recording."""

    def __init__(self, fn: Any, *args: Any) -> None:
        code = fn.__code__
        self.cells = [(cell, cell.cell_contents) for cell in fn.__closure__ or ()]
        self.globals = {name: fn.__globals__[name] for name in _names(code)
                        if name in fn.__globals__}
        super().__init__(fn, *args)

    @contextmanager
    def replaying(self) -> Iterator[None]:
        g = self.fn.__globals__
        now_cells = [cell.cell_contents for cell, _ in self.cells]
        now_globals = {name: g[name] for name in self.globals}
        for cell, old in self.cells:
            cell.cell_contents = old
        g.update(self.globals)
        try:
            yield
        finally:
            for (cell, _), x in zip(self.cells, now_cells):
                cell.cell_contents = x
            g.update(now_globals)


def _names(code: Any) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


class FrozenReads(EagerReplay):
    """Replays with every number read by `.data`, `.item()` or `.detach()` as it was read
    at the recording, in order (a tape that bakes them in as constants)."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.numbers: list[float] = []
        super().__init__(fn, *args)

    @contextmanager
    def recording(self) -> Iterator[None]:
        def note(x: float) -> float:
            self.numbers.append(x)
            return x

        with _reads(note):
            yield

    @contextmanager
    def replaying(self) -> Iterator[None]:
        it = iter(self.numbers)
        with _reads(lambda x: next(it, x)):
            yield


@contextmanager
def _reads(through: Any) -> Iterator[None]:
    data, item, detach = Value.data, Value.item, Value.detach
    Value.data = property(lambda v: through(data.fget(v)), data.fset)
    Value.item = lambda v: through(item(v))
    Value.detach = lambda v: Value(through(item(v)), label=v.label)
    try:
        yield
    finally:
        Value.data, Value.item, Value.detach = data, item, detach


BROKEN = {
    "parameters' data": FrozenParameters,
    "closure and globals": FrozenClosure,
    ".data/.item()/.detach() reads": FrozenReads,
    "no_grad results": FrozenNoGrad,
}
"""Each stand-in with the promise it breaks."""
