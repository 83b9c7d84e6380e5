"""Tools for testing derivatives: `check_grads`, `grade` (a learner's own engine against this
one), and hypothesis strategies in `.strategies`.

This package imports nothing from hypothesis (a test extra): `autograd.testing.strategies`
does, when you import it, and `grade` does when it is called.

>>> from autograd.testing import check_grads
>>> check_grads(lambda x: x.tanh() * x, 0.3, order=3)
"""

from typing import Any

from .check import check_grads
from .expression import Expression, Step, op_examples, well_conditioned

__all__ = ["Expression", "Step", "check_grads", "grade", "op_examples", "well_conditioned"]


def __getattr__(name: str) -> Any:
    # `grade` is loaded on first use, so `python -m autograd.testing.grade` runs its module
    # fresh (not one this package already imported).
    if name == "grade":
        from .grade import grade

        globals()["grade"] = grade  # the function, where importing the module set the module
        return grade
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
