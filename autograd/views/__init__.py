"""Views of a recorded graph, each module importing only the ones above it in this list:

- `names`: names for the nodes, numbers as text, reading order, argument checks
- `text`: `text_tree`, the graph as an indented tree
- `explanation`: `explain`, the backward pass told step by step
- `renderers`: DOT source to SVG/PNG/PDF with whichever Graphviz is installed, time-limited
- `bundled`: `use_bundled_graphviz`, the same renderers for every `graphviz` object
- `layout`: which arrows a picture draws, and from where, so that its layout stays fast
- `picture`: `draw_dot`, the graph as a `graphviz.Digraph`
- `frames`: `backward_frames`, `write_frames`, `write_animation`: backward as pictures
- `notebook`: `notebook_bundle`, what a notebook shows for a `Value`
- `document`: an HTML document with its style, script and data inline
- `page`: `draw_html`, the graph as one self-contained, interactive HTML page

A new view goes in its own module here, on top of the ones it uses. (A training run's page
lives with `nn.Recorder`, in `nn.training_page`: the engine's views know nothing of training.)
"""

from .bundled import use_bundled_graphviz
from .document import HtmlPage
from .explanation import explain
from .frames import backward_frames, write_animation, write_frames
from .names import node_names
from .notebook import notebook_bundle
from .page import draw_html
from .picture import DEFAULT_MAX_NODES, GradientGraph, draw_dot
from .renderers import RenderError, RenderTimeout, RenderUnavailable, render_source
from .text import text_tree

__all__ = [
    "DEFAULT_MAX_NODES",
    "GradientGraph",
    "HtmlPage",
    "RenderError",
    "RenderTimeout",
    "RenderUnavailable",
    "backward_frames",
    "draw_dot",
    "draw_html",
    "explain",
    "node_names",
    "notebook_bundle",
    "render_source",
    "text_tree",
    "use_bundled_graphviz",
    "write_animation",
    "write_frames",
]
