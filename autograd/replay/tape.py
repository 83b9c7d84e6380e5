"""`tape(fn, *example_args)`: record fn once, replay it on new numbers without building Values."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from ..backward import PASS_LOCK
from ..engine import Value
from ..storage import Stored
from . import interpret
from .arguments import as_data, flatten, slot_names
from .closure import Reads
from .interpret import MISS
from .program import Program
from .pysource import compile_program, function_name, generate
from .record import IntsAreStatic, TapeError, record

MAX_BRANCHES = 16
"""Recordings kept for one argument structure (one per branch fn takes); one more raises."""

COMPILE_BUDGET = 300_000
"""Operands (summed over the nodes) up to which a recording's `t(...)` replay is compiled to
Python; past it (a whole batch through a wide network, say), the interpreter replays it, in
far less memory and more slowly: `t.mean` over one sample's recording is the fast path."""

MAX_RECORDINGS = 64
"""Recordings kept in all; past it, the structure used longest ago is forgotten (and recorded
again if it comes back), so memory stays bounded whatever ints the arguments hold."""

_data: Callable[[Value], float] = attrgetter("_data")  # `.data` without the descriptor lookup


class Recording:
    """One branch of fn for one argument structure: its program and compiled replay."""

    # set by the tape that records it: where its targets and inputs are in the tape's lists
    index: list[int]
    input_index: list[int]

    def __init__(self, fn: Callable[..., Any], key: tuple[Any, ...], floats: list[float]) -> None:
        self.key = key
        self.prog: Program = record(fn, key, floats, slot_names(fn, key))
        self.name = function_name(fn)
        self.floats = floats  # the recorded point: the compiled replay is checked there
        self._fast: Callable[..., Any] | None = None
        self._source = ""
        self.params = self.prog.params
        self.targets = [v for _, v in self.prog.outputs]
        self.batch: Any = None  # the NumPy plan, built on first use by Tape.mean

    @property
    def fast(self) -> Callable[..., Any]:
        """The compiled per-sample replay (compiled on first use, and checked then). A program
        past `COMPILE_BUDGET` replays through the reference interpreter instead: Python's
        compiler would need gigabytes for it (about 3 kB per operand)."""
        if self._fast is None:
            if sum(map(len, self.prog.operands)) > COMPILE_BUDGET:
                self._fast = self._interpreted
            else:
                self._fast, self._source = compile_program(self.prog, self.name)
            self.check(self.floats)
        return self._fast

    def _interpreted(self, floats: list[float], data: list[float],
                     seed: float) -> tuple[float, Any] | None:
        out = interpret.run(self.prog, floats, data, seed)
        return out if out is MISS else (out[0], tuple(out[1]))

    @property
    def source(self) -> str:
        if not self._source:
            self._source = generate(self.prog, self.name)
        return self._source

    def run(self, floats: list[float], seed: float = 1.0,
            data: list[float] | None = None) -> tuple[float, Any] | None:
        """(fn's value, gradient of each target), or MISS if a guard fails; no .grad changes.
        The parameters' current data, unless `data` gives other numbers."""
        if data is None:
            data = list(map(_data, self.params))
        try:
            return self.fast(floats, data, seed)
        except (ArithmeticError, ValueError):
            # the reference replay raises the engine's own error, naming the op
            out = interpret.run(self.prog, floats, data, seed)
            return out if out is MISS else out[:2]

    def check(self, floats: list[float]) -> None:
        """The replay at the recorded point against the engine's own backward pass, to the bit."""
        ref = self.prog.reference
        if ref is None:
            return
        out = self.run(floats, data=self.prog.param_values())
        if out is MISS:
            raise TapeError("tape: the replay took another branch at the very arguments it was "
                            "recorded at: fn does not compare the same way twice")
        value, grads = out
        if not _same(value, ref[0]) or not all(map(_same, grads, ref[1])):
            bad = next((i for i, (a, b) in enumerate(zip(grads, ref[1])) if not _same(a, b)), -1)
            where = f"the gradient of {self.targets[bad]!r}" if bad >= 0 else "the value"
            raise TapeError(f"tape: internal check failed: the replay's {where} differs from "
                            "what backward() computes at the recorded point")


def _positions(values: list[Any], position: dict[Any, int], kept: list[Any]) -> list[int]:
    """Each value's position in `kept` (the tape's list of them), appending the new ones."""
    out = []
    for v in values:  # Values hash by identity
        at = position.get(v)
        if at is None:
            at = position[v] = len(kept)
            kept.append(v)
        out.append(at)
    return out


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


class Tape:
    """fn recorded once, replayed on new arguments (see `tape`)."""

    def __init__(self, fn: Callable[..., Any], *example_args: Any) -> None:
        if not callable(fn):
            raise TypeError(f"tape: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.rerecorded = 0  # times fn's closure or globals changed and it was recorded again
        self._forget()
        key, floats = flatten(example_args)
        with PASS_LOCK:  # recording nudges the parameters for a moment (see `__call__`)
            self.decide_ints(key, floats)
            data = as_data(key, floats)
            if data is not None and self.ints_are_data.get(data[0]):
                self._latest = self.recordings[data[0]][0]
            else:
                self._latest = self.record(key, floats)

    def _forget(self) -> None:
        """Drop every recording (fn's closure or globals no longer hold what they held)."""
        self._reads = Reads(self.fn)
        self.recordings: dict[tuple[Any, ...], list[Recording]] = {}
        self.params: list[Any] = []  # every Value any recording writes a gradient to
        self.inputs: list[Any] = []  # every Value any recording reads the .data of
        self._position: dict[int, int] = {}
        self._input_position: dict[int, int] = {}
        # for each structure with ints: whether fn only computes with them (data) or not
        self.ints_are_data: dict[tuple[Any, ...], bool] = {}
        self._stored: dict[str, Stored] = {}

    def stored(self, which: str) -> Stored:
        """`params` or `inputs` as a `Stored` (their numbers in arrays, where an optimizer has
        put them), remade when a new recording adds to them."""
        values = getattr(self, which)
        held = self._stored.get(which)
        if held is None or len(held.values) != len(values):
            held = self._stored[which] = Stored(values)
        return held

    def check_reads(self) -> None:
        """Record afresh if a number or object fn reads from its closure or globals changed."""
        change = self._reads.changed()
        if change is None:
            return
        self._forget()
        self.rerecorded += 1
        if self.rerecorded == 3:
            warnings.warn(
                f"tape: fn is recorded again because {change}; this is the third time. A number "
                "that changes from call to call is cheaper as an argument of fn (traced, not "
                "recorded again)", stacklevel=3)

    def record(self, key: tuple[Any, ...], floats: list[float]) -> Recording:
        """Record fn once more, at these arguments (a new structure, or a new branch)."""
        kept = self.recordings.get(key)
        if kept is None:
            while self.recordings and \
                    sum(map(len, self.recordings.values())) >= MAX_RECORDINGS:
                del self.recordings[next(iter(self.recordings))]  # the one used longest ago
            kept = self.recordings[key] = []
        if len(kept) >= MAX_BRANCHES:
            raise TapeError(
                f"tape: fn took {MAX_BRANCHES + 1} different branches for arguments of one "
                f"structure (each a comparison of Values that came out differently); a tape "
                f"keeps at most {MAX_BRANCHES}. Call fn directly for such data"
            )
        try:
            rec = Recording(self.fn, key, floats)
        except BaseException:
            if not kept:
                del self.recordings[key]
            raise
        rec.index = _positions(rec.targets, self._position, self.params)
        rec.input_index = _positions(rec.params, self._input_position, self.inputs)
        kept.append(rec)
        return rec

    def find_for(self, key: tuple[Any, ...], floats: list[float],
                 seed: float = 1.0) -> tuple[Recording, float, Any]:
        """`find` for arguments as `flatten` gives them: their ints as data where fn only
        computes with them (one recording whatever their values), else static."""
        data = as_data(key, floats)  # None where the key holds no int
        if data is not None and self.ints_are_data.get(data[0]) is not False:
            try:
                found = self.find(*data, seed)
            except IntsAreStatic:
                self.ints_are_data[data[0]] = False
            else:
                self.ints_are_data[data[0]] = True
                return found
        return self.find(key, floats, seed)

    def decide_ints(self, key: tuple[Any, ...], floats: list[float]) -> None:
        """Find out, by recording at these arguments if need be, whether fn only computes
        with the ints of this structure (`ints_are_data`)."""
        data = as_data(key, floats)
        if data is None or data[0] in self.ints_are_data:
            return
        try:
            if not self.recordings.get(data[0]):
                self.record(*data)
        except IntsAreStatic:
            self.ints_are_data[data[0]] = False
        else:
            self.ints_are_data[data[0]] = True

    def find(self, key: tuple[Any, ...], floats: list[float],
             seed: float = 1.0) -> tuple[Recording, float, Any]:
        """The recording whose guards pass at these arguments (recording a new branch if
        none does), with its value and gradients."""
        kept = self.recordings.get(key)
        if kept is not None:
            for rec in kept:
                out = rec.run(floats, seed)
                if out is not MISS:
                    if len(self.recordings) > 1:  # most recently used last
                        self.recordings[key] = self.recordings.pop(key)
                    return rec, out[0], out[1]
        rec = self.record(key, floats)
        out = rec.run(floats, seed)
        if out is MISS:
            raise TapeError("tape: a fresh recording's guards fail at its own arguments: fn "
                            "does not compare the same way twice")
        return rec, out[0], out[1]

    def __call__(self, *args: Any) -> float:
        """fn(*args) as a float; adds the gradients into .grad as backward() would."""
        key, floats = flatten(args)
        # the lock backward() holds: a recording nudges the parameters for a moment and the
        # sums into .grad must not interleave with another thread's
        with PASS_LOCK:
            self.check_reads()
            rec, value, grads = self.find_for(key, floats)
            for v, g in zip(rec.targets, grads):
                v._grad += g + 0.0  # + 0.0: the engine's sums start from 0.0 (so never -0.0)
            self._latest = rec
        return value

    def mean(self, *batched_args: Any) -> float:
        """The mean of fn over a batch (each argument a list over the samples, or a NumPy
        array); adds the gradient of that mean into .grad."""
        from .batch import mean

        with PASS_LOCK:  # as in `__call__`
            self.check_reads()
            return mean(self, batched_args)

    @property
    def source(self) -> str:
        """The generated Python of the latest recording used: backpropagation as code."""
        return self._latest.source

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", "fn")
        count = sum(len(v) for v in self.recordings.values())
        nodes = len(self._latest.prog)
        return (f"<tape of {name}: {count} recording{'s' if count != 1 else ''}, "
                f"{nodes} nodes, {len(self.params)} parameters>")


def tape(fn: Callable[..., Any], *example_args: Any) -> Tape:
    """Record `fn(*example_args)` once; replay it fast on new arguments.

    Floats in the arguments (in nested lists too) become Values while recording; ints stay
    ints to fn, and are data where fn only computes with them (a ±1 target, a class index for
    `cross_entropy`), else static: each distinct set of them gets a recording of its own. The
    tape reads the parameters fn closes over (their current `.data`) on every call and adds
    into their `.grad` exactly what `fn(*args).backward()` would, to the bit, or raises
    `TapeError` saying what it cannot follow. A comparison of Values made while recording is
    checked on every replay (a different outcome records that branch), and the numbers and
    objects fn reads from its closure and globals are checked too (a change records afresh).

    >>> from autograd import Value
    >>> w = Value(3.0, label="w")
    >>> t = tape(lambda x: (w * x).tanh(), 0.5)  # recorded at x = 0.5
    >>> t(0.1)  # replayed at x = 0.1
    0.2913126124515909
    >>> w.grad  # what (w * 0.1).tanh().backward() adds
    0.09151369618266292
    """
    return Tape(fn, *example_args)
