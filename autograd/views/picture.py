"""The graph as a picture: `draw_dot` builds a `graphviz.Digraph` that renders with or without
a system Graphviz (see `autograd.views.renderers`).

How to read a picture: one record per value (name | data | grad), one small oval per op, arrows
in the direction data flows. The number on an arrow into an op is the local derivative of the
op's result with respect to that operand, so each input's gradient is the sum, over the arrows
leaving it, of that number times the gradient of the op's result: the chain rule, drawn. The fill
says the gradient: blue positive, red negative, deeper for larger |grad|. The border says the
role: thick for the output, green for an input, purple and rounded for a parameter, dashed grey
for a constant.

Bounded layout: the arrows are planned by `autograd.views.layout` so that Graphviz's work stays
near linear in the graph; past `BIG_GRAPH` values its positioning gets a budget of steps
(`nslimit`); the renderer runs with a time limit (`GradientGraph.timeout`). A picture of 1,000
values of any shape renders in a few seconds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import graphviz

from ..engine import Value, is_constant, local_derivatives
from . import renderers
from .layout import Arrow, check_arrows, plan_arrows
from .names import (
    constant,
    exponent,
    graph_nodes,
    listing,
    node_names,
    num,
    parameter_names,
    reading_order,
    variables,
)

DEFAULT_MAX_NODES = 1000
DISPLAY_SECONDS = 5.0  # a notebook display waits this long for the renderer, then shows text
BIG_GRAPH = 150  # values; past this, Graphviz is told to stop improving the layout early
LAYOUT_STEPS = 100  # nslimit = LAYOUT_STEPS / values: about a thousand positioning steps
FONT = "Courier"  # monospace: equal-length text has equal width, so frames keep one layout
CHAR_POINTS = 7.2  # a Courier character at the records' 12 pt
FIELD_MARGIN = 20  # points around a record field's text, with room to spare

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
LEGEND_GRADIENTS = 8  # the legend lists this many inputs' gradients


class GradientGraph(graphviz.Digraph):
    """A `graphviz.Digraph` whose `.pipe()`, `.render()` and notebook display go through
    `autograd.views.renderers`: any installed renderer, killed after `timeout` seconds.

    It plugs into the three hooks the `graphviz` package routes every rendering through.
    """

    timeout: float = renderers.DEFAULT_TIMEOUT
    display_timeout: float = DISPLAY_SECONDS  # for the notebook display, which must not hang

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **options: Any) -> dict[str, Any]:
        """The notebook display: the picture if drawn within `display_timeout` seconds, else a
        line saying why not (a display hook must neither hang nor raise)."""
        timeout = self.timeout
        self.timeout = min(timeout, self.display_timeout)
        try:
            return super()._repr_mimebundle_(include, exclude, **options)
        except Exception as exc:  # no renderer, too slow, a failed render
            return {"text/plain": f"{type(self).__name__}: not drawn: {exc}"}
        finally:
            self.timeout = timeout

    @property
    def _pipe_lines(self):  # noqa: ANN202 - the graphviz package's hook
        return functools.partial(renderers.pipe_lines, timeout=self.timeout)

    @property
    def _pipe_lines_string(self):  # noqa: ANN202
        return functools.partial(renderers.pipe_lines_string, timeout=self.timeout)

    @property
    def _render(self):  # noqa: ANN202
        return functools.partial(renderers.render_file, timeout=self.timeout)


def role(node: Value, root: Value, params: Mapping[Value, str]) -> str:
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
    return {"identity": "id"}.get(node.op, node.op or "op")


def escape(text: str) -> str:
    """Record labels treat {}|<> as structure: escape them (and quotes) in user labels."""
    out = text.replace("\\", "\\\\")
    for ch in '{}|<>"':
        out = out.replace(ch, "\\" + ch)
    return out


# --- the picture -------------------------------------------------------------------------------


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    show_local: bool = True,
    params: Any = None,
    legend: bool = False,
) -> GradientGraph:
    """The graph under `root` as a `graphviz.Digraph` (a `GradientGraph`).

    One record per value (name, data, grad), one oval per op, an arrow per operand (`a + a`
    draws two) labelled with its local derivative when `show_local`. `params` marks the values
    to draw as parameters and may name them: a list of Values (`model.parameters()`), a dict
    name -> Value, or an object with `named_parameters()` (an `nn` module). `legend` explains
    the colours and lists the inputs' gradients. A graph of more than `max_nodes` values (None:
    `DEFAULT_MAX_NODES`) is refused with a ValueError that says how big it is; rendering stops
    after `graph.timeout` seconds (`renderers.DEFAULT_TIMEOUT`) with `RenderTimeout`.

    >>> x = Value(2.0, label="x"); y = (x * x).tanh(); y.backward()
    >>> g = draw_dot(y)
    >>> g.source.count("->")  # x -> *, x -> * (twice: x * x), * -> v1, v1 -> tanh, tanh -> v2
    5
    >>> svg = g.pipe(format="svg")  # doctest: +SKIP
    """
    if max_nodes is None:
        max_nodes = DEFAULT_MAX_NODES
    nodes = graph_nodes(root, max_nodes, "draw_dot")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_dot: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    given = parameter_names(params, "draw_dot: params")
    plan = plan_arrows(root)
    check_arrows(plan, len(nodes), max_nodes, "draw_dot")
    grads = {n: n.grad for n in nodes} if show_grad else None
    return build_graph(root, nodes, grads, show_local=show_local, rankdir=rankdir,
                       params=given, legend=legend, plan=plan)


def build_graph(
    root: Value,
    nodes: list[Value],
    grads: Mapping[Value, float | None] | None,
    *,
    show_local: bool = True,
    rankdir: str = "LR",
    params: Mapping[Value, str] | None = None,
    legend: bool = False,
    scale: float | None = None,
    grad_width: Mapping[Value, int] | None = None,
    active: Value | None = None,
    sent: frozenset | None = None,
    plan: Mapping[Value, list[Arrow]] | None = None,
    names: Mapping[Value, str] | None = None,
) -> GradientGraph:
    """The drawing behind `draw_dot` and the backward frames.

    `grads` gives the gradient shown for each node (None: not reached yet, drawn as ?s; no
    mapping at all: no grad field). `grad_width` pads each grad so that every frame of an
    animation has the same text, hence the same layout. `active` is the node whose op is sending
    gradient back in this frame: its op and incoming arrows are highlighted (in colour only:
    a wider border would change the node's size, hence the layout). With `sent`, only the ops
    of those nodes colour their arrows (the others have not sent anything yet).
    """
    params = params or {}
    names = names if names is not None else node_names(root, params)
    plan = plan if plan is not None else plan_arrows(root)
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    if scale is None and grads is not None:
        finite = [abs(g) for g in grads.values() if g is not None and math.isfinite(g)]
        scale = max(finite, default=0.0)
    dot = GradientGraph(name="gradwalk", format="svg")
    dot.attr(rankdir=rankdir, fontname=FONT, fontsize="10")
    if len(nodes) > BIG_GRAPH:
        # Graphviz's positioning improves the layout one step at a time, each step costing
        # time in proportion to the graph: a budget of steps that shrinks as the graph grows
        # keeps the whole in bounded time, at the price of a less tidy picture
        dot.attr(nslimit=f"{min(2.0, LAYOUT_STEPS / len(nodes)):.3g}", nslimit1="2",
                 mclimit="0.5")
    if legend:
        dot.attr(label=_legend(root, names, grads), labelloc="b")
    dot.attr("node", fontname=FONT, fontsize="12", shape="record")
    # a record's fields run across the flow direction: braces turn them to read left to right
    fmt = "{{ {} }}" if rankdir in ("LR", "RL") else "{}"
    dot.attr("edge", fontname=FONT, fontsize="10")
    fills: dict[Value, str] = {}
    for node in reversed(nodes):
        kind = role(node, root, params)
        fields = [escape(names[node]), f"data {num(node.data)}"]
        g = None
        if grads is not None:
            g = grads.get(node)
            text = num(g) if g is not None else "?"
            if grad_width is not None:
                text = text.rjust(grad_width[node]) if g is not None else "?" * grad_width[node]
            fields.append(f"grad {text}")
        # a constant's gradient is computed but means nothing: leave it unpainted
        fills[node] = shade(g, scale or 0.0) if kind != "constant" else "#f4f4f4"
        attrs = {"style": "filled", "fillcolor": fills[node], "tooltip": kind}
        attrs.update(ROLE_STYLE[kind])
        if grad_width is not None:
            attrs["width"] = _record_width(names[node], fields[1:])
        dot.node(ids[node], fmt.format(" | ".join(fields)), **attrs)
    for node in reversed(nodes):
        if node.parents:
            flows = grads if sent is None or node in sent else None
            _draw_op(dot, node, plan[node], ids, names, fills, flows, scale or 0.0, show_local,
                     node is active)
    return dot


def _record_width(name: str, fields: list[str]) -> str:
    """A record's least width, in inches, for its longest texts in any frame.

    Graphviz collapses runs of spaces in a record, so padding the text cannot keep the node's
    size from frame to frame; a least width a little over the widest text does. The fields
    run across (LR with braces, TB without), the font is monospace (0.6 em a character, at
    12 pt), and a non-ASCII character may be measured per byte.
    """
    lengths = [len(name.encode()), *(len(f.encode()) for f in fields)]
    return f"{(CHAR_POINTS * sum(lengths) + FIELD_MARGIN * len(lengths)) / 72:.3f}"


def _draw_op(dot: GradientGraph, node: Value, arrows: list[Arrow], ids: Mapping[Value, str],
             names: Mapping[Value, str], fills: Mapping[Value, str],
             grads: Mapping[Value, float | None] | None, scale: float, show_local: bool,
             active: bool) -> None:
    op_id = ids[node] + "op"
    look = ({"fillcolor": "#ffd84d", "color": "#e08000"} if active
            else {"fillcolor": "#eeeeee", "color": "black"})
    dot.node(op_id, op_text(node), shape="ellipse", style="filled", margin="0.04,0.02",
             fontsize="12", tooltip=f"op {node.op}", **look)
    dot.edge(op_id, ids[node])
    upstream = grads.get(node) if grads is not None else None
    locals_ = local_derivatives(node)
    for k, arrow in enumerate(arrows):
        source = ids[arrow.parent]
        if arrow.reference:
            source = f"{op_id}r{k}"
            name = names[arrow.parent]
            dot.node(source, name.replace("\\", "\\\\"), shape="box",
                     style="rounded,dashed,filled", fillcolor=fills[arrow.parent], color="grey45",
                     fontsize="11", margin="0.06,0.02", height="0.3",
                     tooltip=f"{name}: drawn once elsewhere in the picture; another use of it")
        if arrow.merged:
            local = math.fsum(locals_[i] for i in arrow.indices)
            dot.edge(source, op_id, **_arrow_look(local, upstream, scale, show_local, active,
                                                  f" (x{len(arrow.indices)})"))
            continue
        for i in arrow.indices:
            dot.edge(source, op_id, **_arrow_look(locals_[i], upstream, scale, show_local, active))


def _arrow_look(local: float, upstream: float | None, scale: float, show_local: bool,
                active: bool, uses: str = "") -> dict[str, str]:
    attrs: dict[str, str] = {}
    if show_local:
        attrs["label"] = f"∂ {num(local)}{uses}" if not math.isnan(local) else "∂ undefined"
    if upstream is not None and math.isfinite(local) and math.isfinite(upstream):
        flow = local * upstream  # what this arrow adds to the operand's gradient
        if flow != 0 and scale > 0:
            attrs["color"] = "#%02x%02x%02x" % (POSITIVE if flow > 0 else NEGATIVE)
            attrs["penwidth"] = f"{1 + 2.5 * math.sqrt(min(abs(flow) / scale, 1.0)):.2f}"
    if active:
        attrs.update(color="#e08000", penwidth="3", fontcolor="#b05000")
    return attrs


def _legend(root: Value, names: Mapping[Value, str],
            grads: Mapping[Value, float | None] | None) -> str:
    """The colour key, then the inputs' gradients in reading order (`autograd.views.names`)."""
    if grads is None:
        return LEGEND
    r = names[root]
    shown = [f"d{r}/d{names[n]} = {num(g)}" for n in variables(root, reading_order(root))
             if (g := grads.get(n)) is not None]
    if not shown:
        return LEGEND
    return f"{LEGEND}\ngradients: {listing(shown, LEGEND_GRADIENTS)}"


__all__ = ["DEFAULT_MAX_NODES", "GradientGraph", "build_graph", "draw_dot"]
