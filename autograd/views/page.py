"""The graph as one self-contained HTML page: `draw_html`.

The page is a single file: its script, its style, the layout library it uses (dagre, in
`assets/`, with its licence) and the graph itself (as JSON, see `page_data`) are inline, and its
Content-Security-Policy forbids fetching anything, so it opens offline in any browser and needs
no Graphviz, here or there. What it lets a reader do is described in the README ("The graph as
a page"); its script is split by concern in `assets/page-*.js`, read in the order of
`SCRIPTS`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..engine import Value
from .document import HtmlPage, asset, document
from .names import check_root, is_tape
from .page_data import PAGE_MAX_NODES, graph_data, name_groups

RANKDIRS = ("LR", "TB", "RL", "BT")
# the page's script, in the order it runs: the layout library, then the page's own parts
SCRIPTS = ("dagre.min.js", "page-data.js", "page-layout.js", "page-layout-fast.js",
           "page-draw.js", "page-panel.js", "page-start.js")


def draw_html(root: Value, path: str | Path | None = None, *, params: Any = None,
              max_nodes: int = PAGE_MAX_NODES, title: str | None = None,
              rankdir: str = "LR") -> HtmlPage:
    """The graph under `root` as one self-contained HTML page (written to `path` when given).

    The page shows every value's name, data and `.grad`; a click on a value shows its local
    derivatives and the chain-rule sum that made its gradient; it steps through the backward
    pass, collapses `nn` neurons and layers (and long sums) into boxes, finds a value by name,
    exports what it shows as SVG or PNG, and has a practice mode that hides the gradients for
    a learner to fill in. `params` names the parameters as the other views do (a list, a dict
    name -> Value, or an `nn` module). A graph of more than `max_nodes` values is refused with
    a ValueError. A `tape` has no graph of its own: its page says so and shows `t.source`.

    >>> x = Value(2.0, label="x"); y = (x * x).tanh(); y.backward()
    >>> page = draw_html(y)
    >>> page.startswith("<!DOCTYPE html>"), "://" in page.split("<script>")[0]  # nothing to fetch
    (True, False)
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_html: rankdir must be one of {', '.join(RANKDIRS)}, "
                         f"got {rankdir!r}")
    if is_tape(root):
        page = tape_page(root, title)
    else:
        check_root(root, "draw_html")
        data = graph_data(root, params=params, max_nodes=max_nodes)
        data["rankdir"] = rankdir
        shown = title if title is not None else f"gradwalk: {data['nodes']['name'][data['root']]}"
        page = document(asset("page.html"), str(shown), data, style=asset("page.css"),
                        script="\n".join(asset(name) for name in SCRIPTS))
    if path is not None:
        page.write(path)
    return page


def tape_page(tape: Any, title: str | None = None) -> HtmlPage:
    """The page for a `tape`: what a tape is, why it has no graph to draw, and its program."""
    source = tape.source
    return document(asset("tape.html"), str(title if title is not None else "gradwalk: a tape"),
                    {"source": source}, style=asset("page.css"), script="",
                    SOURCE=html.escape(source))


__all__ = ["PAGE_MAX_NODES", "RANKDIRS", "draw_html", "graph_data", "name_groups"]
