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

from typing import Any

from .custom import custom_op, custom_vjp
from .engine import Value, dot, enable_grad, is_recording, no_grad, sum_, topological_order, vsum
from .explain import explain
from .fixedpoint import FixedPointError, fixed_point
from .frames import backward_frames, write_animation, write_frames
from .functional import grad, value_and_grad
from .ops import OPS
from .textview import text_tree


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = None,
    **options: Any,
) -> Any:
    """The graph under `root` as a `graphviz.Digraph`: one record per Value (label, data,
    grad), one small node per op, an edge per operand labelled with its local derivative.

    A graph of more than `max_nodes` Values (default `autograd.render.DEFAULT_MAX_NODES`,
    1000) is refused with a message saying what to do.
    More options (`show_local`, `params`, `legend`): see `autograd.render.draw_dot`.

    >>> x = Value(2.0, label="x")
    >>> draw_dot(x * x).source.count("->")
    3
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: expected a Value, got {type(root).__name__}")
    from .render import draw_dot as _draw_dot  # graphviz is imported only when drawing

    if max_nodes is not None:
        options["max_nodes"] = max_nodes
    return _draw_dot(root, rankdir=rankdir, show_grad=show_grad, **options)


__all__ = [
    "OPS",
    "Value",
    "backward_frames",
    "custom_op",
    "custom_vjp",
    "dot",
    "draw_dot",
    "enable_grad",
    "explain",
    "FixedPointError",
    "fixed_point",
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
