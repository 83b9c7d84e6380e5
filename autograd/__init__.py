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

from . import engine as _engine
from .custom import custom_op, custom_vjp
from .engine import Value, dot, enable_grad, is_recording, no_grad, sum_, topological_order, vsum
from .fixedpoint import FixedPointError, fixed_point
from .functional import grad, value_and_grad
from .ops import OPS
from .replay import tape
from .sympy_bridge import leaf_symbols, to_sympy
from .views import (
    backward_frames,
    draw_dot,
    draw_html,
    explain,
    text_tree,
    use_bundled_graphviz,
    write_animation,
    write_frames,
)
from .views.notebook import notebook_bundle as _notebook_bundle

__all__ = [
    "OPS",
    "Value",
    "backward_frames",
    "custom_op",
    "custom_vjp",
    "dot",
    "draw_dot",
    "draw_html",
    "enable_grad",
    "explain",
    "FixedPointError",
    "fixed_point",
    "grad",
    "is_recording",
    "leaf_symbols",
    "no_grad",
    "sum_",
    "tape",
    "text_tree",
    "to_sympy",
    "topological_order",
    "use_bundled_graphviz",
    "value_and_grad",
    "vsum",
    "write_animation",
    "write_frames",
]
_engine.display[0] = _notebook_bundle

__version__ = "0.1.0"
