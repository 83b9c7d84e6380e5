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
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import graphviz

from ..engine import Value, is_constant, local_derivatives, walk
from . import renderers
from .layout import (
    ARROWS_PER_VALUE,
    Arrow,
    LayerGroup,
    Network,
    NeuronGroup,
    check_arrows,
    find_network,
    owner_path,
    plan_arrows,
    plan_over,
)
from .names import (
    check_max_nodes,
    check_root,
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
BOXED_VALUES = 600  # a network's picture over this many values has no boxes (they cost time)
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
SIDES = {"LR": ("e", "w"), "RL": ("w", "e"), "TB": ("s", "n"), "BT": ("n", "s")}  # out, in
COLLAPSE = (None, "neurons", "layers")  # draw_dot(collapse=...): what one record may stand for
LAYER_FILL = "#f2f2f2"
CURVED_ARROWS = 60  # a summary with more arrows draws them straight
LABELLED_INPUTS = 6  # a summary labels the arrows into a neuron that reads at most this many
SUMMARY_NUMBERS = 4  # a summary record lists this many numbers of a kind, then counts the rest


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

    def __iter__(self, subgraph: bool = False) -> Iterator[str]:
        """The DOT source, line by line, with no control character left in it: every view
        escapes the names it writes, and this is the net under them (a NUL ends Graphviz's
        input; other control characters garble it)."""
        for line in super().__iter__(subgraph=subgraph):
            yield _CONTROL.sub(_shown_escaped, line) if _CONTROL.search(line) else line

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
    return escape_label({"identity": "id"}.get(node.op, node.op or "op"))


# Control characters but the tab and the newline, which the DOT source itself uses (and which a
# quoted string may hold).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _shown_escaped(match: re.Match) -> str:
    return "\\" + repr(match.group())[1:-1]  # \\x00 in DOT: the text \x00 on the picture


def _visible(text: str) -> str:
    """Control characters (a NUL ends Graphviz's input) shown as escapes, e.g. \\x00."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def escape(text: str) -> str:
    """Record labels treat {}|<> as structure: escape them (and quotes) in user labels."""
    out = _visible(text).replace("\\", "\\\\")
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
    group: bool = True,
    collapse: str | None = None,
) -> GradientGraph:
    """The graph under `root` as a `graphviz.Digraph` (a `GradientGraph`).

    One record per value (name, data, grad), one oval per op, an arrow per operand (`a + a`
    draws two) labelled with its local derivative when `show_local`. `params` marks the values
    to draw as parameters and may name them: a list of Values (`model.parameters()`), a dict
    name -> Value, or an object with `named_parameters()` (an `nn` module). `legend` explains
    the colours and lists the inputs' gradients.

    A network (two neurons or more, see `autograd.views.layout.find_network`) is drawn with
    each neuron's values in a box, inside a box per layer (`group=False`: no boxes; nor over
    `BOXED_VALUES` values, where Graphviz's time for the boxes grows faster than the picture).
    `collapse="neurons"` draws each neuron as one record (its name and activation, its output's
    data and grad, its parameters' grads: `w.grad`, `b.grad`), with one arrow per input
    labelled with the derivative of the neuron's output with respect to it;
    `collapse="layers"` draws each layer as one record.

    A network of more than `max_nodes` values (None: `DEFAULT_MAX_NODES`), or of more than
    `ARROWS_PER_VALUE` times as many arrows, is summarised: its neurons collapsed, or its layers
    if that is still too many, and the picture says so at the top; any other graph that big,
    or a network too big even by layers, is refused with a ValueError that says how big it is.
    Rendering stops after `graph.timeout` seconds (`renderers.DEFAULT_TIMEOUT`) with
    `RenderTimeout`.

    >>> x = Value(2.0, label="x"); y = (x * x).tanh(); y.backward()
    >>> g = draw_dot(y)
    >>> g.source.count("->")  # x -> *, x -> * (twice: x * x), * -> v1, v1 -> tanh, tanh -> v2
    5
    >>> svg = g.pipe(format="svg")  # doctest: +SKIP
    """
    if max_nodes is None:
        max_nodes = DEFAULT_MAX_NODES
    check_root(root, "draw_dot")
    limit = check_max_nodes(max_nodes, "draw_dot")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_dot: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    if collapse not in COLLAPSE:
        raise ValueError(f"draw_dot: collapse must be None, 'neurons' or 'layers', "
                         f"got {collapse!r}")
    if not isinstance(group, bool):
        raise TypeError(f"draw_dot: group must be True or False, got {type(group).__name__}")
    given = parameter_names(params, "draw_dot: params")
    nodes = walk(root)
    plan = None
    too_big = len(nodes) > limit
    if not too_big and not collapse:
        plan = plan_arrows(root)
        too_big = _arrow_count(plan) > ARROWS_PER_VALUE * limit
    network = None
    if group or collapse or too_big:
        network = find_network(root, given, least=1 if collapse else 2)
    notice = None
    if too_big:
        if network is None:  # the usual refusals, with their advice
            graph_nodes(root, limit, "draw_dot")
            check_arrows(plan or plan_arrows(root), len(nodes), limit, "draw_dot")
        assert network is not None  # too big and no network: one of the refusals has raised
        levels = [collapse] if collapse else list(COLLAPSE[1:])
        sizes = {level: summary_size(nodes, network, level) for level in levels}
        fitting = [level for level in levels if sizes[level] <= limit]
        if not fitting:
            raise ValueError(
                f"draw_dot: the graph has {len(nodes):,} values, too many for "
                f"max_nodes={limit:,}, and even with each {levels[-1][:-1]} drawn as one box it "
                f"would have {sizes[levels[-1]]:,}; show a smaller part (call it on an "
                f"intermediate node, e.g. one sample's output), or pass "
                f"max_nodes={sizes[levels[-1]]}"
            )
        if collapse is None:  # the finest summary whose records and arrows both fit
            given = {**_named(network), **given}
            grads = {n: n.grad for n in nodes} if show_grad else None
            for k, level in enumerate(fitting):
                count = len(network.neurons if level == "neurons" else network.layers)
                notice = (f"summary: {len(nodes):,} values, too many to draw one by one "
                          f"(max_nodes={limit:,}): each {level[:-1]} is drawn as one box "
                          f"({count:,} {level})")
                try:
                    return build_summary(root, nodes, network, level, grads,
                                         show_local=show_local, rankdir=rankdir, params=given,
                                         legend=legend, notice=notice, max_nodes=limit)
                except ValueError:  # too many arrows even so: one level coarser
                    if k == len(fitting) - 1:
                        raise
    if network is not None:  # the parameters it found are drawn as parameters
        given = {**_named(network), **given}
    grads = {n: n.grad for n in nodes} if show_grad else None
    if collapse and network is not None:
        return build_summary(root, nodes, network, collapse, grads, show_local=show_local,
                             rankdir=rankdir, params=given, legend=legend, notice=notice,
                             max_nodes=limit)
    plan = plan or plan_arrows(root)
    check_arrows(plan, len(nodes), limit, "draw_dot")
    boxed = group and len(nodes) <= BOXED_VALUES
    return build_graph(root, nodes, grads, show_local=show_local, rankdir=rankdir,
                       params=given, legend=legend, plan=plan,
                       network=network if boxed else None)


def _arrow_count(plan: Mapping[Any, list[Arrow]]) -> int:
    return sum(a.count for arrows in plan.values() for a in arrows)


def _named(network: Network) -> dict[Value, str]:
    """The network's parameters with names: their own, or p1, p2, ... for those found by their
    place in a `dot` (in the order the neurons were made)."""
    out: dict[Value, str] = {}
    k = 0
    for neuron in network.neurons:
        for p in neuron.params:
            if p not in out:
                name = network.param_names.get(p, "")
                if not name:
                    k += 1
                    name = f"p{k}"
                out[p] = name
    return out


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
    network: Network | None = None,
) -> GradientGraph:
    """The drawing behind `draw_dot` and the backward frames.

    `grads` gives the gradient shown for each node (None: not reached yet, drawn as ?s; no
    mapping at all: no grad field). `grad_width` pads each grad so that every frame of an
    animation has the same text, hence the same layout. `active` is the node whose op is sending
    gradient back in this frame: its op and incoming arrows are highlighted (in colour only:
    a wider border would change the node's size, hence the layout). With `sent`, only the ops
    of those nodes colour their arrows (the others have not sent anything yet). With `network`,
    each neuron's values are drawn in a box, inside a box per layer.
    """
    params = params or {}
    names = names if names is not None else node_names(root, params)
    plan = plan if plan is not None else plan_arrows(root)
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    if scale is None and grads is not None:
        scale = _scale(grads)
    dot = _new_graph(len(nodes), rankdir, _legend(root, names, grads) if legend else None)
    clusters = _Clusters(dot, network, rankdir)
    edges = clusters.edges
    fmt = _across(rankdir)
    fills: dict[Value, str] = {}
    for node in reversed(nodes):
        kind = role(node, root, params)
        fields = [escape(clusters.short(node, names[node])), f"data {num(node.data)}"]
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
        clusters.place(node).node(ids[node], fmt.format(" | ".join(fields)), **attrs)
    for node in reversed(nodes):
        if node.parents:
            flows = grads if sent is None or node in sent else None
            _draw_op(clusters.place(node), edges, node, plan[node], ids, names, fills, flows,
                     scale or 0.0, show_local, node is active)
    clusters.close()
    return dot


def _scale(grads: Mapping[Any, float | None]) -> float:
    finite = [abs(g) for g in grads.values() if g is not None and math.isfinite(g)]
    return max(finite, default=0.0)


def _across(rankdir: str) -> str:
    """A record's fields run across the flow direction: braces turn them to read left to right
    in a left-to-right picture."""
    return "{{ {} }}" if rankdir in ("LR", "RL") else "{}"


def _new_graph(count: int, rankdir: str, label: str | None, labelloc: str = "b") -> GradientGraph:
    dot = GradientGraph(name="gradwalk", format="svg")
    dot.attr(rankdir=rankdir, fontname=FONT, fontsize="10")
    if count > BIG_GRAPH:
        # Graphviz's positioning improves the layout one step at a time, each step costing
        # time in proportion to the graph: a budget of steps that shrinks as the graph grows
        # keeps the whole in bounded time, at the price of a less tidy picture
        dot.attr(nslimit=f"{min(2.0, LAYOUT_STEPS / count):.3g}", nslimit1="2",
                 mclimit="0.5")
    if label is not None:
        dot.attr(label=label, labelloc=labelloc)
    dot.attr("node", fontname=FONT, fontsize="12", shape="record")
    dot.attr("edge", fontname=FONT, fontsize="10")
    return dot


class _Clusters:
    """Where each node of a network's picture goes: its neuron's box inside its layer's box, a
    parameter read by one neuron in that neuron's box, one read by several neurons of one layer
    in the layer's box, anything else at the top. Without a network, everything at the top.

    Arrows are written after the boxes (`edges`), so that a node is first named in its box."""

    def __init__(self, dot: GradientGraph, network: Network | None, rankdir: str,
                 neurons: bool = True) -> None:
        self.dot, self.network = dot, network
        self.edges = graphviz.Digraph() if network is not None else dot
        self.home: dict[Any, graphviz.Digraph] = {}
        self.owner: dict[Value, str] = {}  # a parameter -> the module path its box stands for
        self.layers: list[tuple[graphviz.Digraph, list[graphviz.Digraph]]] = []
        if network is None:
            return
        for i, layer in enumerate(network.layers):
            box = graphviz.Digraph(name=f"cluster_l{i}")
            box.attr(label=escape_label(layer.label), style="rounded,filled", fillcolor=LAYER_FILL,
                     color="#9a9a9a", fontname=FONT, fontsize="14", labeljust="l")
            inner = []
            for j, neuron in enumerate(layer.neurons):
                if not neurons:
                    self.home[neuron] = box
                    continue
                sub = graphviz.Digraph(name=f"cluster_l{i}n{j}")
                sub.attr(label=escape_label(neuron.label), style="rounded,dashed,filled",
                         fillcolor="white", color="#8a8a8a", fontsize="12", labeljust="l")
                inner.append(sub)
                for m in neuron.members:
                    self.home[m] = sub
                self.home[neuron] = sub
            self.layers.append((box, inner))
        readers: dict[Value, list[Any]] = {}
        for neuron in network.neurons:
            for p in neuron.params:
                readers.setdefault(p, []).append(neuron)
        for p, users in readers.items():
            if len(users) == 1:
                self.home[p] = self.home[users[0]]
                self.owner[p] = (users[0].key if neurons else users[0].layer.key) or ""
            elif len({u.layer for u in users}) == 1:
                layer = users[0].layer
                self.home[p] = self.layers[network.layers.index(layer)][0]
                self.owner[p] = layer.key or ""

    def place(self, node: Any) -> graphviz.Digraph:
        return self.home.get(node, self.dot)

    def short(self, node: Value, name: str) -> str:
        """A parameter's name inside its box, less the path the box already says:
        "layers.0.neurons.1.w.2" is "w.2" in the box of neuron layers.0.neurons.1."""
        box = self.owner.get(node)
        if box and name.startswith(box + "."):
            return name[len(box) + 1:]
        return name

    def close(self) -> None:
        """Put the boxes in the picture, then the arrows."""
        if self.network is None:
            return
        for box, inner in self.layers:
            for sub in inner:
                box.subgraph(sub)
            self.dot.subgraph(box)
        self.dot.body.extend(self.edges.body)


def escape_label(text: str) -> str:
    """A box's or plain node's label: backslashes escaped (the `graphviz` package quotes it)."""
    return _visible(text).replace("\\", "\\\\")


# --- summaries: a neuron or a layer as one record ------------------------------------------


def summary_size(nodes: list[Value], network: Network, level: str) -> int:
    """How many records a summary at `level` ("neurons" or "layers") would draw."""
    groups = network.neurons if level == "neurons" else network.layers
    hidden = sum(len(n.members) for n in network.neurons)
    return len(nodes) - hidden - len(_absorbed(nodes, network)) + len(groups)


def _absorbed(nodes: list[Value], network: Network) -> set[Value]:
    """The parameters a summary hides: those read only by neurons (their grads are listed in
    the neurons' records); a parameter read elsewhere too (a weight decay term) stays drawn."""
    params = {p for n in network.neurons for p in n.params}
    outside = {p for node in nodes if node not in network.neuron_of
               for p in node.parents if p in params}
    return params - outside


def build_summary(root: Value, nodes: list[Value], network: Network, level: str,
                  grads: Mapping[Value, float | None] | None, *, show_local: bool = True,
                  rankdir: str = "LR", params: Mapping[Value, str] | None = None,
                  legend: bool = False, notice: str | None = None,
                  max_nodes: int = DEFAULT_MAX_NODES) -> GradientGraph:
    """The picture with each neuron (`level="neurons"`, in a box per layer) or each layer
    (`level="layers"`) drawn as one record; the other values as `build_graph` draws them.

    An arrow into a neuron comes from each value it reads, labelled with the derivative of the
    neuron's output with respect to that value (the chain rule through the neuron's own ops),
    and coloured like any arrow by what it sends back. An arrow into a layer stands for all the
    values it reads from one place.
    """
    params = params or {}
    names: dict[Any, str] = dict(node_names(root, params))
    groups: list[Any] = network.neurons if level == "neurons" else network.layers
    group_of: dict[Value, Any] = {}
    for g in groups:
        for m in g.members:
            group_of[m] = g
    hidden = _absorbed(nodes, network)

    def unit(v: Value) -> Any:
        return group_of.get(v, v)

    reads: dict[Any, list[Value]] = {}
    for g in groups:
        inside = set(g.members)
        reads[g] = list(dict.fromkeys(p for m in g.members for p in m.parents
                                      if p not in inside and p not in hidden
                                      and not is_constant(p)))

    def operands(u: Any) -> list[Any]:
        if isinstance(u, Value):
            return [unit(p) for p in u.parents]
        return [unit(p) for p in reads[u]]

    units = _forward_units(unit(root), operands)
    plan = plan_over(units, operands)
    check_arrows(plan, len(units), max_nodes, "draw_dot")
    scale = _scale(grads) if grads is not None else 0.0
    label = notice
    if legend:
        key = _legend(root, names, grads)
        label = f"{notice}\n{key}" if notice else key
    dot = _new_graph(len(units), rankdir, label, "t" if notice else "b")
    dot.attr(ranksep="0.6")
    if _arrow_count(plan) > CURVED_ARROWS:
        dot.attr(splines="line")  # dense layers: straight lines stay readable, curves balloon
    clusters = _Clusters(dot, network if level == "neurons" else None, rankdir, neurons=False)
    fmt = _across(rankdir)
    down = "{}" if rankdir in ("LR", "RL") else "{{ {} }}"  # a summary's fields stack
    ids = {u: f"n{i}" for i, u in enumerate(units)}
    ports = SIDES[rankdir]
    fills: dict[Any, str] = {}
    for u in units:
        if isinstance(u, Value):
            kind = role(u, root, params)
            fields = [escape(names[u]), f"data {num(u.data)}"]
            g = grads.get(u) if grads is not None else None
            if grads is not None:
                fields.append(f"grad {num(g) if g is not None else '?'}")
            fills[u] = shade(g, scale) if kind != "constant" else "#f4f4f4"
            attrs = {"style": "filled", "fillcolor": fills[u], "tooltip": kind}
            attrs.update(ROLE_STYLE[kind])
            clusters.place(u).node(ids[u], fmt.format(" | ".join(fields)), **attrs)
            continue
        names[u] = _full_name(u)
        fields, g = _summary_fields(u, grads, network)
        fills[u] = shade(g, scale)
        contains_root = root in u.members
        attrs = {"style": "filled,bold" if not contains_root else "filled",
                 "fillcolor": fills[u], "color": "#333333",
                 "tooltip": escape_label(f"{names[u]}: {len(u.members)} values, "
                                         f"{len(u.params)} parameters")}
        if contains_root:
            attrs.update(ROLE_STYLE["output"])
        # the renderer's font may run wider than Graphviz's estimate: room for the longest line
        longest = max(len(f.replace("\\", "")) for f in fields)
        attrs["width"] = f"{(1.25 * CHAR_POINTS * longest + FIELD_MARGIN) / 72:.3f}"
        clusters.place(u).node(ids[u], down.format(" | ".join(fields)), **attrs)
    for u in units:
        if u not in plan:
            continue
        if isinstance(u, Value):
            flows = grads
            _draw_op(clusters.place(u), clusters.edges, u, plan[u], ids, names, fills, flows,
                     scale, show_local, False, ports)
            continue
        upstream, locals_ = None, None
        if isinstance(u, NeuronGroup):
            locals_ = _through(u, reads[u])
            upstream = grads.get(u.output) if grads is not None else None
        # a neuron reading many values: its arrows' labels would stack up between the layers
        labels = show_local and len(reads[u]) <= LABELLED_INPUTS
        _draw_arrows(clusters.place(u), clusters.edges, ids[u], plan[u], ids, names, fills,
                     locals_, upstream, scale, labels, False, ports)
    if level == "neurons":
        _keep_neuron_order(clusters, network, ids)
    clusters.close()
    return dot


def _keep_neuron_order(clusters: _Clusters, network: Network, ids: Mapping[Any, str]) -> None:
    """Graphviz reorders the records of one rank to cut crossings, but a layer's neurons all read
    the same inputs (its crossings are there whatever the order) and a reader looks for neuron 3
    after neuron 2: the records keep the order they are written in, index order, by giving the
    crossing minimisation one pass and no second round over the boxes."""
    clusters.dot.attr(mclimit="0.01", remincross="false")


def _forward_units(top: Any, operands: Any) -> list[Any]:
    """Every unit under `top`, each after its operands (depth first, without recursion)."""
    out: list[Any] = []
    done: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(top, False)]
    while stack:
        u, expanded = stack.pop()
        if expanded:
            out.append(u)
            continue
        if u in done:
            continue
        done.add(u)
        stack.append((u, True))
        stack.extend((p, False) for p in reversed(operands(u)) if p not in done)
    return out


def _through(neuron: NeuronGroup, inputs: list[Value]) -> list[float]:
    """d output / d input for each of `inputs`: the chain rule through the neuron's own ops."""
    adj: dict[Value, float] = {neuron.output: 1.0}
    inside = set(neuron.members)
    wanted = set(inputs)
    for m in reversed(neuron.members):
        a = adj.get(m, 0.0)
        for p, d in zip(m.parents, local_derivatives(m)):
            if p in inside or p in wanted:
                adj[p] = adj.get(p, 0.0) + d * a
    return [adj.get(i, 0.0) for i in inputs]


def _full_name(group: Any) -> str:
    if isinstance(group, LayerGroup):
        return group.label
    return f"{group.layer.label}.{group.label}" if group.layer is not None else group.label


def _summary_fields(group: Any, grads: Mapping[Value, float | None] | None,
                    network: Network) -> tuple[list[str], float | None]:
    """A collapsed neuron's or layer's record fields, and the gradient that colours it."""
    if isinstance(group, NeuronGroup):
        out = group.output
        fields = [escape(f"{group.label}  {group.activation}"), f"data {num(out.data)}"]
        g = grads.get(out) if grads is not None else None
        if grads is not None:
            fields.append(f"grad {num(g) if g is not None else '?'}")
            for tensor, values in _tensors(group, network).items():
                shown = [brief(grads.get(p)) for p in values]
                fields.append(escape(f"{tensor}.grad {listing_short(shown)}"))
        return fields, g
    outs = [n.output for n in group.neurons]
    kinds = {n.activation for n in group.neurons}
    act = kinds.pop() if len(kinds) == 1 else "mixed"
    fields = [escape(f"{group.label}  {len(outs)} x {act}"),
              "data " + listing_short([brief(o.data) for o in outs])]
    g = None
    if grads is not None:
        gs = [grads.get(o) for o in outs]
        fields.append("grad " + listing_short([brief(x) for x in gs]))
        known = [x for x in gs if x is not None and math.isfinite(x)]
        g = max(known, key=abs, default=None)
        pg = [abs(x) for x in map(grads.get, group.params) if x is not None and math.isfinite(x)]
        fields.append(escape(f"{len(group.params)} params, max |grad| "
                             f"{brief(max(pg, default=0.0))}"))
    return fields, g


def _tensors(neuron: NeuronGroup, network: Network) -> dict[str, list[Value]]:
    """A neuron's parameters by tensor: "w" -> its weights, "b" -> [its bias], from their
    names ("layers.0.neurons.1.w.2" is a "w"); "p" for parameters with no such name."""
    out: dict[str, list[Value]] = {}
    for p in neuron.params:
        name = network.param_names.get(p, "")
        if neuron.key and name.startswith(neuron.key + "."):
            name = name[len(neuron.key) + 1:]
        elif neuron.key == "" and owner_path(name) == "":
            pass
        else:
            name = "p"
        out.setdefault(name.split(".")[0] or "p", []).append(p)
    return out


def brief(x: float | None) -> str:
    """A number in few characters, for the lists in a summary record.

    >>> brief(0.123456), brief(-3.0), brief(0.0), brief(2e-5), brief(None)
    ('0.12', '-3.00', '0', '2e-05', '?')
    """
    if x is None:
        return "?"
    if not math.isfinite(x):
        return num(x)
    if x == 0:
        return "0"
    return f"{x:.2f}" if 0.01 <= abs(x) < 1000 else f"{x:.0e}"


def listing_short(items: list[str], limit: int = SUMMARY_NUMBERS) -> str:
    """At most `limit` numbers, then how many more."""
    if len(items) <= limit:
        return " ".join(items)
    return f"{' '.join(items[:limit])} ...+{len(items) - limit}"


def _record_width(name: str, fields: list[str]) -> str:
    """A record's least width, in inches, for its longest texts in any frame.

    Graphviz collapses runs of spaces in a record, so padding the text cannot keep the node's
    size from frame to frame; a least width a little over the widest text does. The fields
    run across (LR with braces, TB without), the font is monospace (0.6 em a character, at
    12 pt), and a non-ASCII character may be measured per byte.
    """
    lengths = [len(name.encode()), *(len(f.encode()) for f in fields)]
    return f"{(CHAR_POINTS * sum(lengths) + FIELD_MARGIN * len(lengths)) / 72:.3f}"


def _draw_op(place: graphviz.Digraph, edges: graphviz.Digraph, node: Value,
             arrows: list[Arrow], ids: Mapping[Any, str], names: Mapping[Any, str],
             fills: Mapping[Any, str], grads: Mapping[Value, float | None] | None, scale: float,
             show_local: bool, active: bool, ports: tuple[str, str] | None = None) -> None:
    """An op's oval (in `place`, its result's box) and its arrows (in `edges`)."""
    op_id = ids[node] + "op"
    look = ({"fillcolor": "#ffd84d", "color": "#e08000"} if active
            else {"fillcolor": "#eeeeee", "color": "black"})
    place.node(op_id, op_text(node), shape="ellipse", style="filled", margin="0.04,0.02",
               fontsize="12", tooltip=escape_label(f"op {node.op}"), **look)
    edges.edge(op_id, ids[node])
    upstream = grads.get(node) if grads is not None else None
    _draw_arrows(place, edges, op_id, arrows, ids, names, fills, local_derivatives(node),
                 upstream, scale, show_local, active, ports)


def _draw_arrows(place: graphviz.Digraph, edges: graphviz.Digraph, target: str,
                 arrows: list[Arrow], ids: Mapping[Any, str], names: Mapping[Any, str],
                 fills: Mapping[Any, str], locals_: Sequence[float] | None,
                 upstream: float | None, scale: float, show_local: bool, active: bool,
                 ports: tuple[str, str] | None = None) -> None:
    """The arrows into `target`, labelled with `locals_` (by operand position; None: no labels);
    an arrow from far away starts from a reference drawn in `place`. With `ports` (out, in),
    arrows leave a summary record and enter `target` at the middle of those sides."""
    for k, arrow in enumerate(arrows):
        source = ids[arrow.parent]
        if ports is not None:
            out_port = ports[0] if isinstance(arrow.parent, (NeuronGroup, LayerGroup)) else ""
            source = f"{source}:{out_port}" if out_port else source
            target_at = f"{target}:{ports[1]}"
        else:
            target_at = target
        if arrow.reference:
            source = f"{target}r{k}"
            name = names[arrow.parent]
            place.node(source, escape_label(name), shape="box",
                       style="rounded,dashed,filled", fillcolor=fills[arrow.parent],
                       color="grey45", fontsize="11", margin="0.06,0.02", height="0.3",
                       tooltip=escape_label(f"{name}: drawn once elsewhere in the picture; "
                                            "another use of it"))
        if locals_ is None:
            count = len(arrow.indices)
            edges.edge(source, target_at, color="grey35",
                       **({"label": f"x{count}"} if count > 1 and show_local else {}))
            continue
        if arrow.merged:
            local = math.fsum(locals_[i] for i in arrow.indices)
            look = _arrow_look(local, upstream, scale, show_local, active,
                               f" (x{len(arrow.indices)})")
            edges.edge(source, target_at, **look)
            continue
        for i in arrow.indices:
            look = _arrow_look(locals_[i], upstream, scale, show_local, active)
            if ports is not None:  # a summary: short labels, the full number on hover
                look["tooltip"] = f"∂ {num(locals_[i])}"
                if "label" in look and not math.isnan(locals_[i]):
                    look["label"] = f"∂ {brief(locals_[i])}"
            edges.edge(source, target_at, **look)


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
    return f"{LEGEND}\ngradients: {escape_label(listing(shown, LEGEND_GRADIENTS))}"


__all__ = ["DEFAULT_MAX_NODES", "GradientGraph", "build_graph", "draw_dot"]
