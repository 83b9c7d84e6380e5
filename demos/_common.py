"""Small things the demos share: writing a graph picture, a batch as arrays, and finding PyTorch
if it is there."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from autograd import Value


def write_graph(root: Value, path: str) -> str:
    """Write the graph under `root` to `path` with `autograd.draw_dot`; return what happened.

    The picture's format follows the suffix (.svg, .png, ...; .dot or .gv writes the DOT source).
    If no renderer can draw that format, the DOT source goes next to it instead, so the demo
    still ends well on a machine without Graphviz.
    """
    try:
        from autograd import draw_dot

        graph = draw_dot(root)
    except ImportError as exc:  # rendering not built or graphviz package missing
        return f"graph not written: rendering is not available ({exc})"
    except ValueError as exc:  # too big to draw
        return f"graph not written: {exc}"
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "svg"
    if fmt in ("dot", "gv"):
        target.write_text(graph.source, encoding="utf-8")
        return f"graph ({_size(graph)}) written to {target}"
    try:
        target.write_bytes(graph.pipe(format=fmt))
    except Exception as exc:  # noqa: BLE001 - any renderer failure falls back to DOT text
        fallback = target.with_suffix(".dot")
        fallback.write_text(graph.source, encoding="utf-8")
        return f"could not render {fmt} ({type(exc).__name__}: {exc}); DOT source in {fallback}"
    return f"graph ({_size(graph)}) written to {target}"


def _size(graph: object) -> str:
    source = getattr(graph, "source", "")
    return f"{source.count('->')} edges"


def as_batch(*columns: list) -> tuple:
    """Each list as a NumPy array if NumPy is installed (what `tape.mean` reads fastest), else
    unchanged (it reads lists too)."""
    try:
        import numpy as np
    except ImportError:
        return columns
    return tuple(np.array(c) for c in columns)


def import_torch() -> ModuleType | None:
    """PyTorch if it imports, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch
