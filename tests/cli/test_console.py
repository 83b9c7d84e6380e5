"""`python -m autograd --repl`: TAB completes as plain `python` does, and the lines typed are kept
per user (under the XDG state folder), with no failure when that place cannot be written.

The end-to-end checks drive the console through a pseudo-terminal, as a person at a keyboard
does (readline only completes on a terminal)."""

import os
import select
import subprocess
import sys
import time

import pytest

from autograd import Value
from autograd.cli import console

readline = pytest.importorskip("readline")  # Windows' Python has none: the plain console


def test_the_completer_completes_methods_and_names_as_python_does():
    names = {"x": Value(2.0), "Value": Value}
    complete = console.completer(names)
    assert complete("x.ta", 0) == "x.tanh()"  # as plain python: no arguments, both brackets
    assert complete("x.ta", 1) is None  # tanh is the only one
    found = {complete("x.s", i) for i in range(10)} - {None}
    assert {"x.sin()", "x.sigmoid()", "x.sqrt()"} <= found
    assert complete("x.backw", 0) == "x.backward("  # takes arguments: the bracket stays open
    assert complete("Val", 0) == "Value("
    names["loss"] = 1.0  # a name the user defines later is completed too
    assert complete("los", 0) == "loss"


def test_history_lives_under_the_xdg_state_folder(tmp_path):
    assert console.history_path({"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "gradwalk" / "history")
    home = console.history_path({"XDG_STATE_HOME": "relative/path"})  # invalid: ignored
    assert home.parts[-4:] == (".local", "state", "gradwalk", "history")


def read_until(fd, wanted: bytes, seconds: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"waited for {wanted!r}; the console showed {seen[-400:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the console closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def run_console(tmp_path, state_home: str, keys: list[bytes]) -> tuple[bytes, int]:
    """Type `keys` into the console on a pseudo-terminal, each after the prompt it waits for."""
    pty = pytest.importorskip("pty")
    main_fd, child_fd = pty.openpty()
    env = {**os.environ, "XDG_STATE_HOME": state_home, "HOME": str(tmp_path), "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-m", "autograd", "--repl"], stdin=child_fd,
                            stdout=child_fd, stderr=child_fd, env=env, close_fds=True)
    os.close(child_fd)
    shown = b""
    try:
        shown += read_until(main_fd, b">>> ")
        for key in keys:
            os.write(main_fd, key)
            if key.endswith(b"\n"):
                shown += read_until(main_fd, b">>> ")
            else:
                time.sleep(0.3)
        os.write(main_fd, b"\x04")  # Ctrl-D leaves
        status = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main_fd)
    return shown, status


def test_tab_completes_in_the_console_and_history_is_written(tmp_path):
    state = tmp_path / "state"
    shown, status = run_console(tmp_path, str(state), [
        b"x = Value(2.0, label='x')\n",
        b"x.ta\t",            # completes to x.tanh()
        b"\n",                # ...which runs
        b"z = Value(3.0) * 2\n",
    ])
    assert status == 0
    assert b"x.tanh()" in shown
    assert b"data=0.964" in shown  # the completed call ran: tanh(2) = 0.96403
    history = (state / "gradwalk" / "history").read_text()
    assert "x = Value(2.0, label='x')" in history and "x.tanh()" in history
    assert "z = Value(3.0) * 2" in history

    # The next session starts with those lines: arrow-up brings back the last one.
    shown, status = run_console(tmp_path, str(state), [b"\x1b[A\n", b"print(z.data)\n"])
    assert status == 0 and b"6.0" in shown


def test_an_unwritable_history_place_costs_the_history_not_the_console(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder would go")
    shown, status = run_console(tmp_path, str(blocker), [b"print(Value(2.0) * 21)\n"])
    assert status == 0
    assert b"data=42" in shown
    assert blocker.read_text() == "a file where the state folder would go"
