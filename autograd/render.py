"""Pictures of a graph: `draw_dot` builds a `graphviz.Digraph` that renders with or without a
system Graphviz (see `autograd.renderers`), and `Value` shows as that picture in a notebook.

How to read a picture: one record per value (name | data | grad), one small oval per op, arrows
in the direction data flows. The number on an arrow into an op is the local derivative of the
op's result with respect to that operand, so each input's gradient is the sum, over the arrows
leaving it, of that number times the gradient of the op's result: the chain rule, drawn. The fill
says the gradient: blue positive, red negative, deeper for larger |grad|. The border says the
role: thick for the output, green for an input, purple and rounded for a parameter, dashed grey
for a constant.

The text views and the backward explanation live in `autograd.textview`, `autograd.explain` and
`autograd.frames`; they are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import graphviz

from . import renderers
from .engine import Value, local_derivatives
from .explain import explain
from .frames import backward_frames, write_animation, write_frames
from .renderers import RenderUnavailable, render_source
from .textview import check_size, constant, exponent, is_constant, node_names, num, text_tree

DEFAULT_MAX_NODES = 1000
NOTEBOOK_MAX_NODES = 400
FONT = "Courier"  # monospace: equal-length text has equal width, so frames keep one layout

POSITIVE = (0x3A, 0x7D, 0xC0)  # blue
NEGATIVE = (0xD0, 0x4A, 0x3C)  # red
ROLE_STYLE = {
    "output": {"penwidth": "3", "color": "black"},
    "input": {"penwidth": "2", "color": "#1b7837"},
    "parameter": {"penwidth": "2", "color": "#762a83", "shape": "Mrecord"},
    "constant": {"color": "grey55", "fontcolor": "grey40", "style": "filled,dashed"},
    "intermediate": {"color": "grey30"},
}
LEGEND = ("fill: gradient (blue +, red -, deeper = larger)   border: thick output, green input, "
          "purple rounded parameter, dashed constant   arrow number: local derivative")


class GradientGraph(graphviz.Digraph):
    """A `graphviz.Digraph` whose `.pipe()`, `.render()` and notebook display fall back to the
    pip-installed renderers when there is no system `dot`.

    It plugs into the three hooks the `graphviz` package routes every rendering through.
    """

    @property
    def _pipe_lines(self):  # noqa: ANN202 - the graphviz package's hook
        return renderers.pipe_lines

    @property
    def _pipe_lines_string(self):  # noqa: ANN202
        return renderers.pipe_lines_string

    @property
    def _render(self):  # noqa: ANN202
        return renderers.render_file


def role(node: Value, root: Value, params: frozenset) -> str:
    """What a node is to the reader: output, parameter, input, constant or intermediate."""
    if node is root:
        return "output"
    if node in params:
        return "parameter"
    if node.parents:
        return "intermediate"
    return "constant" if is_constant(node) else "input"


def shade(g: float | None, scale: float) -> str:
    """A fill colour for gradient `g`: white for 0 or unknown, deeper with |g| / scale."""
    if g is None or g == 0 or scale <= 0:
        return "white"
    if not math.isfinite(g):
        return "#bbbbbb"
    # sqrt: small gradients stay visible; at most 85% of the full colour: black text stays legible
    t = 0.15 + 0.7 * math.sqrt(min(abs(g) / scale, 1.0))
    base = POSITIVE if g > 0 else NEGATIVE
    r, gr, b = (round(255 + (c - 255) * t) for c in base)
    return f"#{r:02x}{gr:02x}{b:02x}"


def op_text(node: Value) -> str:
    if node.op == "**":
        k = exponent(node)
        return f"**{constant(k) if k is not None else 'k'}"
    return {"identity": "id"}.get(node.op, node.op)


def escape(text: str) -> str:
    """Record labels treat {}|<> as structure: escape them (and quotes) in user labels."""
    out = text.replace("\\", "\\\\")
    for ch in '{}|<>"':
        out = out.replace(ch, "\\" + ch)
    return out


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    show_local: bool = True,
    params: Iterable[Value] = (),
    legend: bool = False,
) -> GradientGraph:
    """The graph under `root` as a `graphviz.Digraph` (a `GradientGraph`).

    One record per value (name, data, grad), one oval per op, an arrow per operand (`a + a`
    draws two) labelled with its local derivative when `show_local`. `params` marks the values
    to draw as parameters (e.g. `model.parameters()`). A graph of more than `max_nodes` values is
    refused with a ValueError that says how big it is.

    >>> x = Value(2.0, label="x"); y = (x * x).tanh(); y.backward()
    >>> g = draw_dot(y)
    >>> g.source.count("->")  # x -> *, x -> * (twice: x * x), * -> v1, v1 -> tanh, tanh -> y
    5
    >>> svg = g.pipe(format="svg")  # doctest: +SKIP
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_dot: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    nodes = check_size(root, max_nodes, "draw_dot")
    grads = {n: n.grad for n in nodes} if show_grad else None
    return build_graph(root, nodes, grads, show_local=show_local, rankdir=rankdir,
                       params=list(params), legend=legend)


def build_graph(
    root: Value,
    nodes: list[Value],
    grads: Mapping[Value, float | None] | None,
    *,
    show_local: bool = True,
    rankdir: str = "LR",
    params: Sequence[Value] = (),
    legend: bool = False,
    scale: float | None = None,
    grad_width: Mapping[Value, int] | None = None,
    active: Value | None = None,
    sent: frozenset | None = None,
) -> GradientGraph:
    """The drawing behind `draw_dot` and the backward frames.

    `grads` gives the gradient shown for each node (None: not reached yet, drawn as ?s; no
    mapping at all: no grad field). `grad_width` pads each grad so that every frame of an
    animation has the same text, hence the same layout. `active` is the node whose op is sending
    gradient back in this frame: its op and incoming arrows are highlighted. With `sent`, only
    the ops of those nodes colour their arrows (the others have not sent anything yet).
    """
    names = node_names(root, params)
    roles = frozenset(params)
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    if scale is None and grads is not None:
        finite = [abs(g) for g in grads.values() if g is not None and math.isfinite(g)]
        scale = max(finite, default=0.0)
    dot = GradientGraph(name="gradwalk", format="svg")
    dot.attr(rankdir=rankdir, fontname=FONT, fontsize="10")
    if legend:
        dot.attr(label=LEGEND, labelloc="b")
    dot.attr("node", fontname=FONT, fontsize="12", shape="record")
    # a record's fields run across the flow direction: braces turn them to read left to right
    fmt = "{{ {} }}" if rankdir in ("LR", "RL") else "{}"
    dot.attr("edge", fontname=FONT, fontsize="10")
    for node in reversed(nodes):
        kind = role(node, root, roles)
        fields = [escape(names[node]), f"data {num(node.data)}"]
        g = None
        if grads is not None:
            g = grads.get(node)
            text = num(g) if g is not None else "?"
            if grad_width is not None:
                text = text.rjust(grad_width[node]) if g is not None else "?" * grad_width[node]
            fields.append(f"grad {text}")
        # a constant's gradient is computed but means nothing: leave it unpainted
        fill = shade(g, scale or 0.0) if kind != "constant" else "#f4f4f4"
        attrs = {"style": "filled", "fillcolor": fill, "tooltip": kind}
        attrs.update(ROLE_STYLE[kind])
        dot.node(ids[node], fmt.format(" | ".join(fields)), **attrs)
        if node.parents:
            flows = grads if sent is None or node in sent else None
            _draw_op(dot, node, ids, flows, scale or 0.0, show_local, node is active)
    return dot


def _draw_op(dot: GradientGraph, node: Value, ids: Mapping[Value, str],
             grads: Mapping[Value, float | None] | None, scale: float, show_local: bool,
             active: bool) -> None:
    op_id = ids[node] + "op"
    look = {"fillcolor": "#ffd84d", "penwidth": "2"} if active else {"fillcolor": "#eeeeee"}
    dot.node(op_id, op_text(node), shape="ellipse", style="filled", margin="0.04,0.02",
             fontsize="12", tooltip=f"op {node.op}", **look)
    dot.edge(op_id, ids[node])
    upstream = grads.get(node) if grads is not None else None
    for parent, local in zip(node.parents, local_derivatives(node)):
        attrs: dict[str, str] = {}
        if show_local:
            attrs["label"] = f"∂ {num(local)}" if not math.isnan(local) else "∂ undefined"
        if upstream is not None and math.isfinite(local) and math.isfinite(upstream):
            flow = local * upstream  # what this arrow adds to the operand's gradient
            if flow != 0 and scale > 0:
                attrs["color"] = "#%02x%02x%02x" % (POSITIVE if flow > 0 else NEGATIVE)
                attrs["penwidth"] = f"{1 + 2.5 * math.sqrt(min(abs(flow) / scale, 1.0)):.2f}"
        if active:
            attrs.update(color="#e08000", penwidth="3", fontcolor="#b05000")
        dot.edge(ids[parent], op_id, **attrs)


def notebook_bundle(value: Value) -> dict[str, str]:
    """What a notebook shows for a `Value`: its picture and its repr (only the repr when the
    graph is too big to draw quickly)."""
    bundle = {"text/plain": repr(value)}
    try:
        graph = draw_dot(value, max_nodes=NOTEBOOK_MAX_NODES)
    except ValueError:
        return bundle
    bundle["image/svg+xml"] = graph.pipe(format="svg", encoding="utf-8")
    return bundle


__all__ = [
    "DEFAULT_MAX_NODES",
    "GradientGraph",
    "RenderUnavailable",
    "backward_frames",
    "draw_dot",
    "explain",
    "notebook_bundle",
    "render_source",
    "text_tree",
    "write_animation",
    "write_frames",
]
