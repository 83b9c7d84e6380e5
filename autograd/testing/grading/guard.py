"""Running a learner's code so that nothing it does can hang or break the grader.

A trace function with a deadline interrupts Python code that runs too long. It is called on
every bytecode instruction the learner's code runs (per line would miss `while True: pass`, a
loop within one line, which emits no line events), in any thread and in a notebook alike, and
raises `TimeLimit` (a BaseException, so an `except Exception:` in a loop does not swallow it)
once the deadline has passed. It is installed only while the learner's code runs, never around
ours or hypothesis's, and whatever was there before (a debugger, coverage) is put back, as are
the recursion limit and the profile hook, whatever the learner's code did to them. What the
learner's code prints goes nowhere. Not interrupted: a single long call into C (`time.sleep`, a
huge `math.factorial`), which no Python-level hook can stop; pure-Python loops and recursion are
what learners write.

A child process would also stop C code, but it cannot run a class defined in a notebook cell
(spawned children, the default on macOS and Windows, import the class by name) and costs
milliseconds per expression. The trace makes the learner's code about ten times slower (0.06 ms
becomes 0.6 ms for a program of 8 operations on a micrograd-style engine), which is less than
running the same program on our engine with its rounding bounds takes (about 1 ms).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

_OURS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""The `autograd` package folder: frames from there are the grader's, not the learner's."""


CLOCK_EVERY = 32
"""Instructions between two looks at the clock (each look costs as much as a few of them)."""


class TimeLimit(BaseException):
    """The learner's code ran past its time limit."""


@dataclass(frozen=True)
class Trouble:
    """What went wrong in the learner's code: `kind` is "raised", "timeout" or "recursion",
    `error` the exception as one line, `where` the learner's method it happened in (`__mul__`,
    `backward`, `tanh`), when the traceback shows it."""

    kind: str
    error: str
    where: str | None = None
    exception: type[BaseException] | None = None


class _Sink:
    """A file that forgets what is written to it (the learner's debugging prints)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def guarded(fn: Callable[[], Any], time_limit: float) -> tuple[Any, Trouble | None]:
    """`fn()` with a time limit in seconds: (its result, None), or (None, what went wrong)."""
    deadline = time.monotonic() + time_limit
    ticks = 0

    def step(frame: Any, event: str, arg: Any) -> Any:
        nonlocal ticks
        ticks += 1
        if ticks % CLOCK_EVERY == 0 and time.monotonic() > deadline:
            raise TimeLimit
        return step

    def tracer(frame: Any, event: str, arg: Any) -> Any:  # called for each new frame
        frame.f_trace_opcodes = True
        return step(frame, event, arg)

    saved_trace, saved_profile = sys.gettrace(), sys.getprofile()
    saved_limit = sys.getrecursionlimit()
    sink = _Sink()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            sys.settrace(tracer)
            try:
                return fn(), None
            finally:
                sys.settrace(saved_trace)
    except TimeLimit as exc:
        return None, Trouble("timeout", f"still running after {time_limit:g} s",
                             _where(exc.__traceback__), TimeLimit)
    except RecursionError as exc:
        return None, Trouble("recursion", _one_line(exc), _where(exc.__traceback__),
                             RecursionError)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - anything the learner's code raises
        return None, Trouble("raised", _one_line(exc), _where(exc.__traceback__), type(exc))
    finally:
        sys.setprofile(saved_profile)
        sys.setrecursionlimit(saved_limit)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where(tb: TracebackType | None) -> str | None:
    """The learner's method the exception came from: the innermost frame outside this
    package, and of its qualified name (`Value.__mul__.<locals>._backward`) the outermost part
    that is a method of the class (`__mul__`), so a closure names the op that made it."""
    frames = [f for f, _ in traceback.walk_tb(tb)
              if not os.path.abspath(f.f_code.co_filename).startswith(_OURS + os.sep)]
    if not frames:
        return None
    code = frames[-1].f_code
    parts = getattr(code, "co_qualname", code.co_name).split(".")
    names = [p for p in parts if p != "<locals>"]
    return names[1] if len(names) > 1 else names[0]
