"""The console of `python -m autograd --repl`: Python's own interactive console with the engine
imported, TAB completing names and attributes as plain `python` does (`x.ta` TAB gives
`x.tanh()`), and the lines typed kept from one session to the next.

Completion and history come from `readline` where Python has it (Linux, macOS); without it (as
on Windows) the console is the plain one. History is one file per user, under the XDG state
folder (`$XDG_STATE_HOME/gradwalk/history`, by default `~/.local/state/gradwalk/history`); a
folder or file that cannot be read or written costs the history, never the console.
"""

from __future__ import annotations

import code
import os
import rlcompleter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HISTORY_LINES = 1000


def history_path(environ: dict[str, str] | None = None) -> Path:
    """Where the console keeps the lines typed in it, for the user running it."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "").strip()
    # The XDG spec: a relative path in the variable is invalid and is to be ignored.
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "gradwalk" / "history"


def completer(names: dict[str, Any]) -> Callable[[str, int], str | None]:
    """The completion function readline calls: names in `names`, builtins and keywords, and
    attributes after a dot (a method completes with its brackets, left open if it takes
    arguments).

    >>> from autograd import Value
    >>> complete = completer({"x": Value(2.0)})
    >>> complete("x.ta", 0)
    'x.tanh()'
    """
    return rlcompleter.Completer(names).complete


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # Windows' Python has none: the plain console
        return None
    return readline


def _start(readline: ModuleType, names: dict[str, Any], history: Path) -> None:
    readline.set_completer(completer(names))
    if "libedit" in (readline.__doc__ or ""):  # macOS's readline is libedit, bound its own way
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    readline.set_history_length(HISTORY_LINES)
    try:
        readline.read_history_file(history)
    except OSError:  # no history yet, or one that cannot be read
        pass


def _save(readline: ModuleType, history: Path) -> None:
    try:
        history.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(history)
    except OSError:  # a read-only home, a file where the folder should be: no history kept
        pass


def interact(names: dict[str, Any], banner: str) -> None:
    """Run the console on `names` until Ctrl-D, with completion and history where available."""
    readline = _readline()
    history = history_path()
    if readline is not None:
        _start(readline, names, history)
    try:
        code.interact(banner=banner, local=names, exitmsg="")
    finally:
        if readline is not None:
            _save(readline, history)
