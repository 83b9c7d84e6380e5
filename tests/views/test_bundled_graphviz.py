"""`use_bundled_graphviz()`: a plain `graphviz.Digraph`, built the way the micrograd lecture
builds its `draw_dot` (records from `_prev` and `_op`), renders without a system `dot`: inline,
as Jupyter asks for it, and to files. With a `dot` on PATH, the `graphviz` package's own path
runs unchanged.

Each check runs in a child process whose PATH holds no `dot` (or only a stand-in `dot`), so the
machine's own Graphviz, if any, cannot help; the child's interpreter finds graphviz-pure beside
itself, as `.venv/bin/python` does.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from autograd.views import renderers

pytestmark = pytest.mark.skipif(renderers._graphviz_pure() is None,
                                reason="graphviz-pure not installed (pip install gradwalk[render])")

# A learner's draw_dot, the lecture's way: one record per Value, one small node per op.
LECTURE_STYLE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import graphviz
    import autograd
    from autograd import Value

    def trace(root):
        nodes, edges, todo = set(), set(), [root]
        while todo:
            v = todo.pop()
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    todo.append(child)
        return nodes, edges

    def my_draw_dot(root):
        dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
        nodes, edges = trace(root)
        for n in nodes:
            uid = str(id(n))
            dot.node(name=uid, shape="record",
                     label="{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad))
            if n._op:
                dot.node(name=uid + n._op, label=n._op)
                dot.edge(uid + n._op, uid)
        for a, b in edges:
            dot.edge(str(id(a)), str(id(b)) + b._op)
        return dot

    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    o.backward()
    graph = my_draw_dot(o)
    found = {}
    try:
        graph.pipe(format="svg")
        found["before"] = "rendered"
    except graphviz.ExecutableNotFound as exc:
        found["before"] = type(exc).__name__
    """)

AFTER = textwrap.dedent("""
    found["returned"] = repr(autograd.use_bundled_graphviz())
    autograd.use_bundled_graphviz()  # a second call changes nothing
    bundle = graph._repr_mimebundle_()            # what Jupyter calls to show the graph
    found["mimebundle"] = bundle.get("image/svg+xml", "")
    found["svg_xml"] = graph._repr_image_svg_xml()
    out = Path(sys.argv[1])
    found["rendered"] = graph.render(filename="neuron", directory=out)
    found["png"] = graph.render(outfile=out / "neuron.png")
    found["source"] = graphviz.Source(graph.source).pipe(format="svg", encoding="utf-8")
    found["undirected"] = graphviz.Graph(body=["a -- b"]).pipe(format="svg", encoding="utf-8")
    print(json.dumps(found))
    """)


def run_child(script: str, path: str, argv: list[str]) -> dict:
    env = {**os.environ, "PATH": path}
    env.pop("GRADWALK_RENDERER", None)
    done = subprocess.run([sys.executable, "-c", script, *argv], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_lecture_style_draw_dot_renders_inline_and_to_files_without_dot(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    found = run_child(LECTURE_STYLE + AFTER, str(empty), [str(tmp_path)])
    assert found["before"] == "ExecutableNotFound"  # the package alone cannot draw it
    assert found["returned"] == "None"
    for key in ("mimebundle", "svg_xml", "source"):
        svg = found[key]
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg, key
        assert "data 0.7071" in svg and "tanh" in svg and "grad 1.0000" in svg, key
    assert "x1" in found["mimebundle"] and "w1" in found["mimebundle"]
    rendered = tmp_path / "neuron.svg"
    assert found["rendered"] == str(rendered) and "data 0.7071" in rendered.read_text()
    png = (tmp_path / "neuron.png").read_bytes()
    assert found["png"] == str(tmp_path / "neuron.png") and png.startswith(b"\x89PNG")
    assert "<svg" in found["undirected"]  # graphviz.Graph too


def test_with_a_system_dot_on_path_the_package_runs_it_unchanged(tmp_path):
    # A stand-in `dot` that answers with a marker, and fails on a source saying "broken": the
    # failure must reach the user as the package's own error, as it did before the call.
    fake = tmp_path / "bin"
    fake.mkdir()
    dot = fake / "dot"
    dot.write_text("#!/bin/sh\ninput=$(cat)\ncase \"$input\" in *broken*) "
                   "echo 'syntax error' >&2; exit 1;; esac\nprintf 'SYSTEM-DOT-RAN'\n")
    dot.chmod(0o755)
    script = LECTURE_STYLE + textwrap.dedent("""
        autograd.use_bundled_graphviz()
        found["piped"] = graph.pipe(format="svg", encoding="utf-8")
        try:
            graphviz.Source("digraph { broken }").pipe(format="svg")
        except Exception as exc:
            found["error"] = type(exc).__module__ + "." + type(exc).__name__
        print(json.dumps(found))
        """)
    found = run_child(script, f"{fake}{os.pathsep}/bin{os.pathsep}/usr/bin", [])
    assert found["before"] == "rendered"  # the stand-in answered before the call
    assert found["piped"] == "SYSTEM-DOT-RAN"
    assert found["error"] == "graphviz.backend.execute.CalledProcessError"


def test_draw_dot_graphs_keep_their_own_renderer_hooks():
    import graphviz

    from autograd import Value, draw_dot, use_bundled_graphviz

    use_bundled_graphviz()
    x = Value(1.0, label="x")
    ours = draw_dot(x * 2)
    plain = graphviz.Digraph()
    assert ours._pipe_lines.func is renderers.pipe_lines  # draw_dot's time-limited hook
    assert plain._pipe_lines is not graphviz.backend.piping.pipe_lines  # hooked
    assert plain._render is graphviz.Source("")._render  # one hook for every object
