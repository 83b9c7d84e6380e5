"""Tools for testing derivatives: `check_grads`, and hypothesis strategies in `.strategies`.

This package imports nothing from hypothesis (a test extra): `autograd.testing.strategies`
does, when you import it.

>>> from autograd.testing import check_grads
>>> check_grads(lambda x: x.tanh() * x, 0.3, order=3)
"""

from .check import check_grads
from .expression import Expression, Step, op_examples, well_conditioned

__all__ = ["Expression", "Step", "check_grads", "op_examples", "well_conditioned"]
