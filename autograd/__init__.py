"""A scalar reverse-mode autograd engine, differentiable to any order.

>>> from autograd import Value, grad
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> y.backward()
>>> x.grad
6.0
>>> grad(lambda x: x * x)(3.0)
6.0
"""

from .engine import Value, dot, enable_grad, is_recording, no_grad, sum_, topological_order, vsum
from .explain import explain
from .frames import backward_frames, write_animation, write_frames
from .functional import grad, value_and_grad
from .ops import OPS
from .textview import text_tree


def draw_dot(root: Value, **kwargs):  # noqa: ANN201 - returns graphviz.Digraph
    """Draw the graph under `root` as a `graphviz.Digraph` (see `autograd.render.draw_dot`)."""
    from .render import draw_dot as _draw_dot

    return _draw_dot(root, **kwargs)


__all__ = [
    "OPS",
    "Value",
    "backward_frames",
    "dot",
    "draw_dot",
    "enable_grad",
    "explain",
    "grad",
    "is_recording",
    "no_grad",
    "sum_",
    "text_tree",
    "topological_order",
    "value_and_grad",
    "vsum",
    "write_animation",
    "write_frames",
]
__version__ = "0.1.0"
