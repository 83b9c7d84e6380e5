"""The backward pass as a sequence of pictures, one per step, for showing gradients flow back.

Frame 0 holds the seed: only the output knows its gradient. Each later frame is one step of
backward: the highlighted op sends its node's gradient to its operands, whose gradients (running
sums, as backward accumulates them) appear. Every frame has the same text lengths in a monospace
font, hence the same layout, so the frames line up as an animation (`write_animation` makes an
animated PNG that browsers and GitHub play).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from .backward import operand_order
from .engine import Value, local_derivatives, topological_order
from .textview import check_size, formula, node_names, num

FRAMES_MAX_NODES = 200
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def backward_frames(
    root: Value,
    *,
    rankdir: str = "LR",
    show_local: bool = True,
    params: Iterable[Value] = (),
    max_nodes: int = FRAMES_MAX_NODES,
) -> list:
    """One `graphviz.Digraph` per step of the backward pass from `root` (frame 0: the seed).

    Reads no `.grad` and changes none: the gradients shown are computed here.

    >>> x = Value(2.0, label="x"); y = x * x + x; y.label = "y"
    >>> len(backward_frames(y))  # the seed, then the + and the * steps
    3
    """
    from .render import build_graph  # render imports this module: import at call time

    nodes = check_size(root, max_nodes, "backward_frames")
    params = list(params)
    names = node_names(root, params)
    grads: dict[Value, float | None] = dict.fromkeys(nodes)
    grads[root] = 1.0
    snapshots: list[tuple[dict, Value | None]] = [(dict(grads), None)]
    for node in topological_order(root):
        if not node.parents:
            continue
        upstream = grads[node] or 0.0
        parents, locals_ = node.parents, local_derivatives(node)
        for i in operand_order(node):  # backward's order, so the totals agree to the bit
            grads[parents[i]] = (grads[parents[i]] or 0.0) + locals_[i] * upstream
        snapshots.append((dict(grads), node))
    widths = {n: max(len(num(s[n])) for s, _ in snapshots if s[n] is not None) for n in nodes
              if any(s[n] is not None for s, _ in snapshots)}
    widths = {n: widths.get(n, 1) for n in nodes}
    finite = [abs(g) for g in grads.values() if g is not None and g == g and abs(g) != float("inf")]
    scale = max(finite, default=0.0)
    captions = [_caption(k, len(snapshots) - 1, node, names, names[root])
                for k, (_, node) in enumerate(snapshots)]
    width = max(len(c) for c in captions)
    frames = []
    sent: set[Value] = set()
    for (snapshot, node), caption in zip(snapshots, captions):
        sent.add(node)
        graph = build_graph(root, nodes, snapshot, show_local=show_local, rankdir=rankdir,
                            params=params, scale=scale, grad_width=widths, active=node,
                            sent=frozenset(sent))
        graph.attr(label=caption.ljust(width), labelloc="t", labeljust="l", fontsize="14")
        frames.append(graph)
    return frames


def _caption(k: int, last: int, node: Value | None, names: dict, r: str) -> str:
    if node is None:
        return f"step 0/{last}: the seed, d{r}/d{r} = 1"
    return f"step {k}/{last}: {names[node]} = {formula(node, names)} sends d{r}/d{names[node]} back"


def write_frames(frames: Sequence, directory: str | Path, fmt: str = "svg",
                 stem: str = "step") -> list[Path]:
    """Render each frame to `directory/step_00.svg` (or .png, ...); returns the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    digits = len(str(len(frames) - 1))
    paths = []
    for k, frame in enumerate(frames):
        path = folder / f"{stem}_{k:0{digits}d}.{fmt}"
        path.write_bytes(frame.pipe(format=fmt))
        paths.append(path)
    return paths


def write_animation(frames: Sequence, path: str | Path, *, seconds: float = 1.2) -> Path:
    """Render the frames to PNG and join them into one animated PNG at `path`."""
    pngs = [frame.pipe(format="png") for frame in frames]
    Path(path).write_bytes(animated_png(pngs, seconds=seconds))
    return Path(path)


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
