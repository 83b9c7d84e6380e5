"""The graph as one self-contained HTML page: `draw_html`.

The page is a single file: its script, its style and the graph itself (as JSON) are inline, and
its Content-Security-Policy forbids fetching anything, so it opens offline in any browser and
needs no Graphviz, here or there. The browser lays the graph out itself (levels, then an order
within each level that keeps arrows short), so a page of thousands of values opens in a second.

Every number in it comes from the engine: each value's data and `.grad`, each arrow's local
derivative (`local_derivatives`), and the backward pass as `explain` tells it
(`backward_steps`: which node sends gradient at each step, what it adds into each operand, the
sum so far). The page replays that story; it computes no derivative of its own. What it lets a
reader do is described in the README ("The graph as a page").

Groups: the parameters an `nn` module names ("layers.0.neurons.1.w.0") put the values computed
from them into nested groups, one per numbered part of the name ("layers.0", then
"layers.0.neurons.1"); the page can collapse a group into one box. A result belongs to the group
its parameter operands share, or, having none, to the one group all its operands are in.
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..engine import Value, is_constant, local_derivatives, topological_order
from .explanation import backward_steps, local_formula
from .names import (
    constant,
    exponent,
    formula,
    graph_nodes,
    label_of,
    node_names,
    parameter_names,
)
from .output import write_file
from .picture import role

PAGE_MAX_NODES = 20_000  # a page of 5,000 values opens in about a second
ROLES = {"output": "o", "parameter": "p", "input": "i", "constant": "c", "intermediate": "v"}
RANKDIRS = ("LR", "TB", "RL", "BT")
FRAME_HEIGHT = 640  # pixels: the page's height inside a notebook
_NUMBERED = re.compile(r"\d+")


class HtmlPage(str):
    """An HTML document: a `str` (write it, serve it, `str(page)`), that a notebook displays
    in a frame of its own, and that `write(path)` saves."""

    def write(self, path: str | Path) -> Path:
        """Save the document (UTF-8) and return its path."""
        return write_file(path, str(self).encode("utf-8"))

    def _repr_html_(self) -> str:
        # A frame of its own: the page's script and style stay out of the notebook's.
        return (f'<iframe srcdoc="{html.escape(str(self), quote=True)}" '
                f'style="width: 100%; height: {FRAME_HEIGHT}px; border: 1px solid #ccc" '
                f'sandbox="allow-scripts"></iframe>')

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self):,} characters of HTML; .write(path) saves it>"


def draw_html(root: Value, path: str | Path | None = None, *, params: Any = None,
              max_nodes: int = PAGE_MAX_NODES, title: str | None = None,
              rankdir: str = "LR") -> HtmlPage:
    """The graph under `root` as one self-contained HTML page (written to `path` when given).

    The page shows every value's name, data and `.grad`; a click on a value shows its local
    derivatives and the chain-rule sum that made its gradient; it steps through the backward
    pass, collapses `nn` neurons and layers into boxes, finds a value by name, and has a
    practice mode that hides the gradients for a learner to fill in. `params` names the
    parameters as the other views do (a list, a dict name -> Value, or an `nn` module).
    A graph of more than `max_nodes` values is refused with a ValueError.

    >>> x = Value(2.0, label="x"); y = (x * x).tanh(); y.backward()
    >>> page = draw_html(y)
    >>> page.startswith("<!DOCTYPE html>"), "://" in page  # nothing to fetch, from anywhere
    (True, False)
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_html: rankdir must be one of {', '.join(RANKDIRS)}, "
                         f"got {rankdir!r}")
    data = graph_data(root, params=params, max_nodes=max_nodes)
    data["rankdir"] = rankdir
    shown = title if title is not None else f"gradwalk: {data['nodes']['name'][data['root']]}"
    page = HtmlPage(document("page", str(shown), data))
    if path is not None:
        page.write(path)
    return page


# --- the data --------------------------------------------------------------------------------


def graph_data(root: Value, *, params: Any = None, max_nodes: int = PAGE_MAX_NODES) -> dict:
    """The graph as the page reads it: columns of plain numbers and strings, JSON-ready.

    Nodes are numbered in a forward order (every node after its operands); the edges run from
    operand to result, one per operand, grouped by result in that order (a node's `arity` says
    how many are its); an edge's `rule` is the local derivative's formula, or the number of the
    node whose name it is; `steps` is the backward pass in
    backward's order, each step `[node, upstream, [[edge, added, total], ...]]` (and a 1 after
    them for a vector-Jacobian product, whose arrows carry no local derivative); `questions`
    is the order the practice mode asks for the gradients in (each after all its uses).
    """
    graph_nodes(root, max_nodes, "draw_html")
    given = parameter_names(params, "draw_html: params")
    names = node_names(root, given)
    backward = topological_order(root)
    forward = backward[::-1]
    ids = {node: i for i, node in enumerate(forward)}
    steps, final = backward_steps(root)
    group_names, group_of = _groups(forward, names)

    columns: dict[str, list] = {k: [] for k in
                                ("name", "label", "op", "data", "grad", "pass", "role",
                                 "formula", "group", "arity")}
    edges: dict[str, list] = {"src": [], "local": [], "rule": []}
    first_edge: dict[Value, int] = {}
    for node in forward:
        columns["name"].append(names[node])
        label = label_of(node)
        columns["label"].append(label if label != names[node] else "")
        columns["op"].append(_op_text(node))
        columns["data"].append(_number(node.data))
        columns["grad"].append(_number(node.grad))
        columns["pass"].append(_number(final[node]) if node in final else None)
        columns["role"].append(ROLES[role(node, root, given)])
        columns["formula"].append(formula(node, names) if node.parents else "")
        columns["group"].append(group_of.get(node, -1))
        columns["arity"].append(len(node.parents))
        if node.parents:
            first_edge[node] = len(edges["src"])
            args = [names[p] for p in node.parents]
            by_name = {names[p]: ids[p] for p in node.parents}
            for i, (parent, local) in enumerate(zip(node.parents, local_derivatives(node))):
                edges["src"].append(ids[parent])
                edges["local"].append(_number(local))
                rule = local_formula(node, i, names, args) or ""
                # a rule that is an operand's name (the w in d(x*w)/dx) travels as its number
                edges["rule"].append(by_name.get(rule, rule))
    return {
        "version": 1,
        "root": ids[root],
        "seed": 1.0,
        "nodes": columns,
        "edges": edges,
        "steps": [[ids[s.node], _number(s.upstream),
                   [[first_edge[s.node] + a.index, _number(a.added), _number(a.total)]
                    for a in s.additions], *([1] if s.vjp else [])] for s in steps],
        "questions": [ids[n] for n in backward if n is not root and not is_constant(n)],
        "groups": group_names,
    }


def _number(x: float) -> float | str:
    """A float for JSON: the number itself, or its name when JSON has none (JS reads both)."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _op_text(node: Value) -> str:
    if node.op == "**":
        k = exponent(node)
        return f"**{constant(k) if k is not None else 'k'}"
    return node.op


def name_groups(name: str) -> list[str]:
    """The groups a parameter's name puts it in, outermost first: each prefix that ends in a
    numbered part, the name itself left out.

    >>> name_groups("layers.0.neurons.1.w.0")
    ['layers.0', 'layers.0.neurons.1']
    >>> name_groups("w.0"), name_groups("b"), name_groups("0.w.1")
    ([], [], ['0'])
    """
    parts = name.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts) - 1)
            if _NUMBERED.fullmatch(parts[k])]


def _groups(forward: list[Value], names: dict[Value, str]) -> tuple[list[list], dict[Value, int]]:
    """The groups (`[name, parent index or -1, kind]`, each after its parent) and each grouped
    node's innermost group (see the module docstring)."""
    index: dict[str, int] = {}
    table: list[list] = []

    def group(path: list[str]) -> int:
        parent = -1
        for name in path:
            if name not in index:
                index[name] = len(table)
                parts = name.split(".")
                word = parts[-2] if len(parts) > 1 else "group"  # "layers.0": a layer
                table.append([name, parent, word[:-1] if word.endswith("s") else word])
            parent = index[name]
        return parent

    chains: dict[Value, list[str]] = {}  # node -> its group path, outermost first
    from_params: set[Value] = set()
    for node in forward:
        if not node.parents:
            if not is_constant(node):
                path = name_groups(names[node])
                if path:
                    chains[node] = path
                    from_params.add(node)
            continue
        own = [chains[p] for p in node.parents if p in from_params]
        if own:
            path = _common(own)
        else:
            # no parameter of its own: it joins the one group all its operands are in (a
            # constant or an ungrouped operand, such as a target, keeps it out)
            operands = [chains.get(p) for p in node.parents]
            same = all(c is not None and c == operands[0] for c in operands)
            path = operands[0] if same else None
        if path:
            chains[node] = path
    return table, {node: group(path) for node, path in chains.items()}


def _common(paths: list[list[str]]) -> list[str]:
    first = paths[0]
    k = len(first)
    for path in paths[1:]:
        k = min(k, len(path))
        while k and path[k - 1] != first[k - 1]:
            k -= 1
    return first[:k]


# --- the document ------------------------------------------------------------------------------


def asset(name: str) -> str:
    """One of the page's own files (script, style, template), shipped inside the package."""
    return resources.files("autograd.views").joinpath("assets", name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` survives unescaped, so
    no label can close the element or open another."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def document(kind: str, title: str, data: Any) -> str:
    """The `kind` page ("page" or "training"): its template with style, script and data inline."""
    parts = {
        "TITLE": html.escape(title),
        "STYLE": asset("page.css") + (asset(f"{kind}.css") if kind != "page" else ""),
        "DATA": embed_json(data),
        "SCRIPT": asset(f"{kind}.js"),
    }
    # one pass: the inserted text is never scanned for placeholders itself
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], asset(f"{kind}.html"))


__all__ = ["HtmlPage", "PAGE_MAX_NODES", "draw_html", "graph_data", "name_groups"]
