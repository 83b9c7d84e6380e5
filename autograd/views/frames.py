"""The backward pass as a sequence of pictures, one per step, for showing gradients flow back.

Frame 0 holds the seed: only the output knows its gradient. Each later frame is one step of
backward: the highlighted op sends its node's gradient to its operands, whose gradients (running
sums, as backward accumulates them) appear. Every frame has the same text lengths in a monospace
font, hence the same layout, so the frames line up as an animation (`write_animation` makes an
animated PNG that browsers and GitHub play). Should a renderer still size two frames differently,
`render_frames` draws them all again on one canvas (Graphviz's `viewport`), so every frame of
an animation or a folder of frames has one size.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine import Value
from .explanation import backward_steps
from .layout import check_arrows, plan_arrows
from .names import formula, graph_nodes, node_names, num, parameter_names
from .output import write_file
from .picture import GradientGraph, build_graph, escape_label
from .renderers import RenderError

FRAMES_MAX_NODES = 200
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def backward_frames(
    root: Value,
    *,
    rankdir: str = "LR",
    show_local: bool = True,
    params: Any = None,
    max_nodes: int = FRAMES_MAX_NODES,
) -> list[GradientGraph]:
    """One `graphviz.Digraph` per step of the backward pass from `root` (frame 0: the seed).

    Reads no `.grad` and changes none: the gradients shown are computed here. `params` marks
    and names the parameters, as for `draw_dot`.

    >>> x = Value(2.0, label="x"); y = x * x + x; y.label = "y"
    >>> len(backward_frames(y))  # the seed, then the + and the * steps
    3
    """
    nodes = graph_nodes(root, max_nodes, "backward_frames")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"backward_frames: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    given = parameter_names(params, "backward_frames: params")
    names = node_names(root, given)
    plan = plan_arrows(root)
    check_arrows(plan, len(nodes), max_nodes, "backward_frames")
    grads: dict[Value, float | None] = dict.fromkeys(nodes)
    grads[root] = 1.0
    snapshots: list[tuple[dict, Value | None]] = [(dict(grads), None)]
    for step in backward_steps(root)[0]:  # the story explain tells, one picture per step
        for addition in step.additions:
            grads[addition.parent] = addition.total
        snapshots.append((dict(grads), step.node))
    widths = {n: max(len(num(s[n])) for s, _ in snapshots if s[n] is not None) for n in nodes
              if any(s[n] is not None for s, _ in snapshots)}
    widths = {n: widths.get(n, 1) for n in nodes}
    finite = [abs(g) for g in grads.values() if g is not None and math.isfinite(g)]
    scale = max(finite, default=0.0)
    captions = [_caption(k, len(snapshots) - 1, node, names, names[root])
                for k, (_, node) in enumerate(snapshots)]
    width = max(len(c) for c in captions)
    frames = []
    sent: set[Value] = set()
    for (snapshot, node), caption in zip(snapshots, captions):
        if node is not None:  # the first frame: before any step
            sent.add(node)
        graph = build_graph(root, nodes, snapshot, show_local=show_local, rankdir=rankdir,
                            params=given, scale=scale, grad_width=widths, active=node,
                            sent=frozenset(sent), plan=plan, names=names)
        graph.attr(label=escape_label(caption.ljust(width)), labelloc="t", labeljust="l",
                   fontsize="14")
        frames.append(graph)
    return frames


def _caption(k: int, last: int, node: Value | None, names: dict, r: str) -> str:
    if node is None:
        return f"step 0/{last}: the seed, d{r}/d{r} = 1"
    return f"step {k}/{last}: {names[node]} = {formula(node, names)} sends d{r}/d{names[node]} back"


def write_frames(frames: Sequence[GradientGraph], directory: str | Path, fmt: str = "svg",
                 stem: str = "step") -> list[Path]:
    """Render each frame to `directory/step_00.svg` (or .png, ...); returns the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    digits = len(str(len(frames) - 1))
    paths = []
    for k, data in enumerate(render_frames(frames, fmt)):
        path = folder / f"{stem}_{k:0{digits}d}.{fmt}"
        write_file(path, data)
        paths.append(path)
    return paths


def write_animation(frames: Sequence[GradientGraph], path: str | Path, *,
                    seconds: float = 1.2) -> Path:
    """Render the frames to PNG and join them into one animated PNG at `path`."""
    write_file(path, animated_png(render_frames(frames, "png"), seconds=seconds))
    return Path(path)


def render_frames(frames: Sequence[GradientGraph], fmt: str) -> list[bytes]:
    """Each frame rendered to `fmt`; SVG and PNG frames all of one size (see the docstring)."""
    images = [frame.pipe(format=fmt) for frame in frames]
    sizes = [image_size(image, fmt) for image in images]
    if None in sizes or len(set(sizes)) <= 1:
        return images
    per_point = 1.0 if fmt == "svg" else 96 / 72  # renderers draw PNG at 96 dpi
    width = math.ceil(max(w for w, _ in sizes) / per_point)  # type: ignore[misc]
    height = math.ceil(max(h for _, h in sizes) / per_point)  # type: ignore[misc]
    canvas = []
    for frame in frames:
        framed = frame.copy()
        framed.timeout = frame.timeout
        framed.attr(viewport=f"{width},{height}")
        canvas.append(framed.pipe(format=fmt))
    if len({image_size(image, fmt) for image in canvas}) > 1:
        raise RenderError(f"the renderer drew the frames in different sizes, even on one "
                          f"{width} x {height} pt canvas")
    return canvas


_SVG_SIZE = re.compile(rb'<svg[^>]*?\swidth="([\d.]+)pt"[^>]*?\sheight="([\d.]+)pt"')


def image_size(image: bytes, fmt: str) -> tuple[float, float] | None:
    """Width and height of a PNG (pixels) or an SVG (points); None for other formats."""
    if fmt == "png" and image.startswith(PNG_SIGNATURE) and len(image) >= 24:
        return struct.unpack(">II", image[16:24])
    if fmt == "svg":
        found = _SVG_SIZE.search(image[:4096])
        if found:
            return float(found[1]), float(found[2])
    return None


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("animated_png: a frame is not a PNG image")
    out, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        out.append((kind, png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def animated_png(pngs: Sequence[bytes], *, seconds: float = 1.2) -> bytes:
    """Join PNG images of one size and pixel format into an APNG that loops forever."""
    if not pngs:
        raise ValueError("animated_png: no frames")
    parsed = [_chunks(p) for p in pngs]
    header = dict(parsed[0])[b"IHDR"]
    palette = dict(parsed[0]).get(b"PLTE")
    for k, chunks in enumerate(parsed):
        if dict(chunks)[b"IHDR"] != header or dict(chunks).get(b"PLTE") != palette:
            raise ValueError(f"animated_png: frame {k} differs from frame 0 in size or colours")
    width, height = struct.unpack(">II", header[:8])
    delay = max(1, round(seconds * 100))
    loop_forever = 0
    out = [PNG_SIGNATURE, _chunk(b"IHDR", header),
           _chunk(b"acTL", struct.pack(">II", len(pngs), loop_forever))]
    out += [_chunk(kind, data) for kind, data in parsed[0] if kind in (b"PLTE", b"tRNS")]
    sequence = 0
    for k, chunks in enumerate(parsed):
        control = struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, delay, 100, 0, 0)
        out.append(_chunk(b"fcTL", control))
        sequence += 1
        for kind, data in chunks:
            if kind != b"IDAT":
                continue
            if k == 0:
                out.append(_chunk(b"IDAT", data))
            else:
                out.append(_chunk(b"fdAT", struct.pack(">I", sequence) + data))
                sequence += 1
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)
