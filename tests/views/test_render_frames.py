"""backward_frames: one picture per backward step, all with one layout; the animated PNG."""

import io
import re
import struct
import zlib

import pytest

from autograd import Value
from autograd.backward import walk
from autograd.cli import main
from autograd.cli.parse import FUNCTIONS, build
from autograd.engine import gradients
from autograd.views import renderers
from autograd.views.frames import (
    animated_png,
    backward_frames,
    image_size,
    render_frames,
    write_animation,
    write_frames,
)
from autograd.views.names import num

RECORD = re.compile(r'^\s*(n\d+) \[label="(\{[^"]*\})"', re.M)


def neuron():
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.3, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o, (x, w, b)


def labels(frame):
    return dict(RECORD.findall(frame.source))


def test_one_frame_per_op_plus_the_seed_and_grads_untouched():
    o, leaves = neuron()
    frames = backward_frames(o)
    assert len(frames) == 1 + 3  # seed, tanh, +, *
    assert all(n.grad == 0.0 for n in (o, *leaves))  # frames compute, never store


def test_first_frame_knows_only_the_seed_last_frame_has_every_gradient():
    o, leaves = neuron()
    frames = backward_frames(o)
    first, last = labels(frames[0]), labels(frames[-1])
    unknown = [lab for lab in first.values() if re.search(r"grad \?+ \}", lab)]
    assert len(unknown) == len(first) - 1
    expected = gradients(o)
    shown = {lab.split("|")[0].strip("{ "): re.search(r"grad\s+(\S+) \}", lab)[1]
             for lab in last.values()}
    for leaf in leaves:
        assert shown[leaf.label] == num(expected[leaf])


def test_every_frame_has_the_same_text_lengths_so_the_same_layout():
    o, _ = neuron()
    frames = backward_frames(o)
    lengths = [{k: len(v) for k, v in labels(f).items()} for f in frames]
    assert all(length == lengths[0] for length in lengths)
    captions = [re.search(r'\blabel="(step [^"]*)"', f.source)[1] for f in frames]
    assert len({len(c) for c in captions}) == 1 and captions[1].startswith("step 1/3: o = tanh")


def test_the_active_op_is_highlighted_in_its_frame_only():
    o, _ = neuron()
    frames = backward_frames(o)
    assert "#ffd84d" not in frames[0].source
    assert all(f.source.count("#ffd84d") == 1 for f in frames[1:])


def tiny_png(width, height, shade):
    raw = b"".join(b"\x00" + bytes([shade, 0, 0]) * width for _ in range(height))

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_animated_png_structure():
    apng = animated_png([tiny_png(3, 2, 10), tiny_png(3, 2, 200), tiny_png(3, 2, 90)], seconds=0.5)
    kinds = re.findall(rb"(acTL|fcTL|IDAT|fdAT|IEND)", apng)
    assert kinds == [b"acTL", b"fcTL", b"IDAT", b"fcTL", b"fdAT", b"fcTL", b"fdAT", b"IEND"]
    at = apng.index(b"acTL") + 4
    assert struct.unpack(">II", apng[at : at + 8]) == (3, 0)  # 3 frames, loop forever


def test_animated_png_plays_in_pillow():
    image = pytest.importorskip("PIL.Image", reason="Pillow comes with the demo extra")
    apng = animated_png([tiny_png(3, 2, 10), tiny_png(3, 2, 200), tiny_png(3, 2, 90)])
    with image.open(io.BytesIO(apng)) as im:
        assert im.n_frames == 3
        im.seek(1)
        assert im.convert("RGB").getpixel((0, 0)) == (200, 0, 0)


def test_animated_png_refuses_frames_of_different_sizes():
    with pytest.raises(ValueError, match="frame 1 differs"):
        animated_png([tiny_png(3, 2, 0), tiny_png(4, 2, 0)])
    with pytest.raises(ValueError, match="not a PNG"):
        animated_png([b"GIF89a"])


@pytest.mark.skipif(renderers._graphviz_pure() is None, reason="graphviz-pure not installed")
def test_frames_render_to_files_and_an_animation(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    o, _ = neuron()
    frames = backward_frames(o)
    paths = write_frames(frames, tmp_path / "steps", "svg")
    assert [p.name for p in paths] == ["step_0.svg", "step_1.svg", "step_2.svg", "step_3.svg"]
    assert all("<svg" in p.read_text() for p in paths)
    out = write_animation(frames, tmp_path / "backward.png")
    data = out.read_bytes()
    assert data.count(b"fcTL") == 4  # rendered frames share one size, so they animate


EXPRESSIONS = ["x*y - x", "x*y + x", "tanh(x*w1 + y*w2 + b)", "sigmoid(a*b)", "x**2 * sin(x)",
               "exp(x)/(1+exp(x))", "log(x) - x/y", "sqrt(x*x + y*y)", "-x + 3*y",
               "relu(x - y) * cos(y)", "abs(x*y - 2)"]


@pytest.mark.skipif(renderers._graphviz_pure() is None, reason="graphviz-pure not installed")
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_every_expression_animates(expression, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    names = sorted(set(re.findall(r"\b[a-z]\w*\b", expression)) - set(FUNCTIONS))
    at = [f"{n}={1.5 + k}" for k, n in enumerate(names)]
    path = tmp_path / "anim.png"
    assert main([expression, "--at", *at, "--animate", str(path)]) == 0, capsys.readouterr().err
    out, _ = build(expression, {a.split("=")[0]: float(a.split("=")[1]) for a in at})
    steps = sum(1 for n in walk(out) if n.parents)
    assert path.read_bytes().count(b"fcTL") == 1 + steps


@pytest.mark.skipif(renderers._graphviz_pure() is None, reason="graphviz-pure not installed")
def test_frames_share_one_size_without_help(monkeypatch):
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    x, y = Value(1.5, label="x"), Value(1.5, label="y")
    f = x * y - x  # gradients of different lengths: -1.0000, then 0.5000 for x
    f.label = "f"
    sizes = {image_size(frame.pipe(format="png"), "png") for frame in backward_frames(f)}
    assert len(sizes) == 1


class FakeFrame:
    """Renders to a PNG whose width depends on the frame, unless a viewport is set."""

    def __init__(self, width):
        self.width, self.viewport, self.timeout = width, None, 1.0

    def pipe(self, format):
        assert format == "png"
        if self.viewport:
            w, h = (round(float(v) * 96 / 72) for v in self.viewport.split(","))
            return tiny_png(w, h, 0)
        return tiny_png(self.width, 30, 0)

    def copy(self):
        return FakeFrame(self.width)

    def attr(self, viewport):
        self.viewport = viewport


def test_frames_drawn_in_different_sizes_are_drawn_again_on_one_canvas():
    images = render_frames([FakeFrame(1469), FakeFrame(1460), FakeFrame(1469)], "png")
    sizes = [struct.unpack(">II", png[16:24]) for png in images]
    assert len(set(sizes)) == 1 and sizes[0][0] >= 1469 and sizes[0][1] >= 30
    assert animated_png(images).count(b"fcTL") == 3
