"""A scalar reverse-mode autograd engine, differentiable to any order.

>>> from autograd import Value, grad
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> y.backward()
>>> x.grad
6.0
>>> grad(lambda x: x * x)(3.0)
6.0

The engine (`Value`, `grad`, `custom_op`, `fixed_point`, ...) is imported here; the layers
above it (pictures and text views, the tape, the sympy bridge) are imported the first time one
of their names is used, so `import autograd` needs neither graphviz nor sympy nor NumPy.
"""

from importlib import import_module
from typing import Any

from . import engine as _engine
from .custom import custom_op, custom_vjp
from .engine import Value, dot, enable_grad, is_recording, no_grad, sum_, topological_order, vsum
from .fixedpoint import FixedPointError, fixed_point
from .functional import grad, value_and_grad
from .ops import OPS

# name -> the module (below this package) that defines it, imported on first use
_LAZY = {
    "tape": ".replay",
    "to_sympy": ".sympy_bridge",
    "leaf_symbols": ".sympy_bridge",
    "draw_dot": ".views",
    "draw_html": ".views",
    "explain": ".views",
    "text_tree": ".views",
    "backward_frames": ".views",
    "write_frames": ".views",
    "write_animation": ".views",
    "use_bundled_graphviz": ".views",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autograd' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _notebook_bundle(v: Value) -> dict[str, str]:
    from .views.notebook import notebook_bundle

    return notebook_bundle(v)


_engine.display[0] = _notebook_bundle

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

__version__ = "0.1.0"
