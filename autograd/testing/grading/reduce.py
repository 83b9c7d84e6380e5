"""Smaller programs that still show a difference: what hypothesis's shrinker cannot see.

Hypothesis shrinks the choices a program was drawn from; an operand is a choice counted back
from the latest slot, so deleting a step in the middle changes what later steps read, and a
program can get stuck at eight steps where one would do (`x0 ** 0.5` after a chain of
additions). These reductions work on the graph instead: make an earlier step the output, or
delete a step and let its users read one of its operands; steps and inputs the output no
longer needs go too. A reduction is kept when the smaller program still differs in the same
way (the caller decides), until none helps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from ..expression import well_conditioned
from .forms import Program, Step

T = TypeVar("T")


def reduce(program: Program, shown: T, still_shows: Callable[[Program], T | None]) -> tuple[
        Program, T]:
    """The smallest program reachable from `program` by `smaller_programs` for which
    `still_shows` gives something (`shown` is what it gave for `program`)."""
    going = True
    while going:
        going = False
        for candidate in smaller_programs(program):
            found = still_shows(candidate)
            if found is not None:
                program, shown, going = candidate, found, True
                break
    return program, shown


def smaller_programs(p: Program) -> Iterator[Program]:
    """Well-conditioned programs with fewer steps (or as many and fewer inputs) than `p`."""
    n = p.n_inputs
    candidates = [_pruned(p.point, list(p.steps[: j + 1])) for j in range(len(p) - 1)]
    for j, step in enumerate(p.steps[:-1]):
        for replacement in dict.fromkeys(step.operands):
            candidates.append(_pruned(p.point, _bypassed(p.steps, n, j, replacement)))
    seen: set[Program] = set()
    for q in candidates:
        if (len(q), q.n_inputs) < (len(p), p.n_inputs) and q not in seen:
            seen.add(q)
            if well_conditioned(*q.expression()):
                yield q


def _bypassed(steps: Sequence[Step], n_inputs: int, j: int, replacement: int) -> list[Step]:
    """`steps` without step j: its users read `replacement` instead, and the results after it
    move down by one slot."""
    slot = n_inputs + j

    def moved(i: int) -> int:
        return replacement if i == slot else i - (i > slot)

    return [Step(s.form, tuple(moved(i) for i in s.operands), s.const)
            for k, s in enumerate(steps) if k != j]


def _pruned(point: tuple[float, ...], steps: list[Step]) -> Program:
    """The program of `steps` over inputs at `point`, with only the steps the last one needs
    and only the inputs they read, renumbered."""
    n = len(point)
    needed = [False] * (n + len(steps))
    needed[-1] = True
    for j in reversed(range(len(steps))):
        if needed[n + j]:
            for i in steps[j].operands:
                needed[i] = True
    new_slot: dict[int, int] = {}
    for i in range(n + len(steps)):
        if needed[i]:
            new_slot[i] = len(new_slot)
    kept_steps = tuple(Step(s.form, tuple(new_slot[i] for i in s.operands), s.const)
                       for j, s in enumerate(steps) if needed[n + j])
    return Program(tuple(x for i, x in enumerate(point) if needed[i]), kept_steps)
