"""Optimizers with PyTorch's update rules: equal initial weights give equal losses.

Each reads `p.grad` and writes `p.data` for its parameters. Where a tape replays a batch over
them (`t.mean`), the parameters' numbers are kept in arrays (`autograd.storage`) and a step
updates them as arrays (with NumPy), the same float operations in the same order as one
parameter at a time (so the same bits), while `p.data` and `p.grad` still read each
parameter's current number. A schedule sets
`opt.lr = ...` between steps. Every hyperparameter is checked when it is given (`lr` on every
assignment): a value that is not a finite number in its range is a ValueError naming it
(`Adam: eps` must be > 0, where PyTorch takes 0 and divides by it).

>>> from autograd import Value
>>> w = Value(1.0)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).backward()
>>> opt.step()
>>> w.data
0.8
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

try:
    import numpy as np
except ImportError:  # an optional extra: the steps then go parameter by parameter
    np = None  # type: ignore[assignment]

from autograd import Value
from autograd.storage import Stored


def _param_list(params: Any, name: str) -> list[Value]:
    if hasattr(params, "parameters") and callable(params.parameters):  # a Module
        params = params.parameters()
    params = list(params)
    if not params:
        raise ValueError(f"{name}: got an empty parameter list")
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"{name}: parameters must be Values, got {type(p).__name__}")
    return params


def _rate(x: Any, what: str, *, upper: float = math.inf, positive: bool = False) -> float:
    """`x` as a float if it is a finite number in [0, upper) (in (0, upper) if `positive`), else a
    ValueError naming `what` (an int too large for a float included)."""
    if positive:
        bound = "a number > 0"
    else:
        bound = f"a number in [0, {upper:g})" if upper != math.inf else "a finite number >= 0"
    if isinstance(x, bool) or not isinstance(x, Real):
        raise ValueError(f"{what} must be {bound}, got {type(x).__name__} {x!r:.60}")
    try:
        f = float(x)
    except OverflowError:
        digits = len(str(abs(math.trunc(x))))
        raise ValueError(
            f"{what} must be {bound}, got an integer of {digits} digits (too large for a float)"
        ) from None
    if not (0.0 <= f < upper and f < math.inf) or (positive and f == 0.0):
        raise ValueError(f"{what} must be {bound}, got {x!r}")
    return f


class Optimizer:
    """What every optimizer shares: the parameter list, `lr` and `zero_grad()`."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = _param_list(params, type(self).__name__)
        self.lr = lr
        self._stored = Stored(self.params)  # the parameters as arrays, where they can be

    @property
    def lr(self) -> float:
        """The learning rate: a finite number >= 0, checked on every assignment (a schedule)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _rate(value, f"{type(self).__name__}: lr")

    def zero_grad(self) -> None:
        """Set `.grad` of every parameter to 0.0 (call it before each backward pass)."""
        arrays = self._stored.arrays(adopt=None)
        if arrays is not None:
            _, grad, index = arrays
            grad[index] = 0.0
            return
        # `_grad` is the slot behind `.grad`, whose setter checks what users assign: a step
        # writes and reads only floats, and is the training loop's hot path
        for p in self.params:
            p._grad = 0.0

    def _gradient_arrays(self, weight_decay: float) -> tuple[Any, Any, Any] | None:
        """(data, index, gradient with weight decay) where the parameters are in arrays (a
        tape put them there), else None: then the step goes parameter by parameter."""
        arrays = self._stored.arrays(adopt=None)
        if arrays is None:
            return None
        data, grad, index = arrays
        g = grad[index]
        if weight_decay:
            g = g + weight_decay * data[index]
        return data, index, g

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, as `torch.optim.SGD` (dampening 0).

    With weight decay `g = grad + wd * p`; with momentum the buffer starts as `g` and then is
    `b = momentum * b + g`; the step is `p -= lr * b`, or with Nesterov `p -= lr * (g +
    momentum * b)`.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _rate(momentum, "SGD: momentum")
        self.weight_decay = _rate(weight_decay, "SGD: weight_decay")
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: Nesterov momentum needs momentum > 0")
        self.nesterov = bool(nesterov)
        self._buffers: Any = None

    def step(self) -> None:
        """Move every parameter one step against its gradient."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        with _quiet():
            arrays = self._gradient_arrays(wd)
            if arrays is not None:  # the loop below, on arrays: the same operations in order
                data, index, g = arrays
                if mu:
                    b = g.copy() if self._buffers is None else mu * _array(self._buffers) + g
                    self._buffers = b
                    g = g + mu * b if self.nesterov else b
                data[index] = data[index] - lr * g
                self._stored.wrote_data()
                return
        first = self._buffers is None
        if mu and first:
            self._buffers = [0.0] * len(self.params)
        elif mu:
            self._buffers = _list(self._buffers)
        for i, p in enumerate(self.params):
            g = p._grad
            if wd:
                g = g + wd * p.data
            if mu:
                b = g if first else mu * self._buffers[i] + g
                self._buffers[i] = b
                g = g + mu * b if self.nesterov else b
            p.data = p.data - lr * g


class Adam(Optimizer):
    """Adam, as `torch.optim.Adam` (no amsgrad; weight decay added to the gradient, L2 style)."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be a pair of numbers, got {betas!r}") from None
        self.betas = (_rate(b1, "Adam: beta1", upper=1.0), _rate(b2, "Adam: beta2", upper=1.0))
        # eps keeps the step's denominator away from zero: 0 would divide by zero
        self.eps = _rate(eps, "Adam: eps", positive=True)
        self.weight_decay = _rate(weight_decay, "Adam: weight_decay")
        self.steps = 0
        self._m: Any = [0.0] * len(self.params)
        self._v: Any = [0.0] * len(self.params)

    def step(self) -> None:
        """One Adam step: moving averages of the gradient and its square, bias-corrected."""
        self.steps += 1
        b1, b2 = self.betas
        wd, eps = self.weight_decay, self.eps
        correction1 = 1 - b1**self.steps
        step_size = self.lr / correction1
        sqrt_correction2 = math.sqrt(1 - b2**self.steps)
        with _quiet():
            arrays = self._gradient_arrays(wd)
            if arrays is not None:  # the loop below, on arrays: the same operations in order
                data, index, g = arrays
                m, v = _array(self._m), _array(self._v)
                m = m + (1 - b1) * (g - m)
                v = b2 * v + (1 - b2) * g * g
                self._m, self._v = m, v
                denom = np.sqrt(v) / sqrt_correction2 + eps
                data[index] = data[index] - step_size * (m / denom)
                self._stored.wrote_data()
                return
        m = self._m = _list(self._m)
        v = self._v = _list(self._v)
        for i, p in enumerate(self.params):
            g = p._grad
            if wd:
                g = g + wd * p.data
            # torch moves the first moment with lerp: m + (1 - b1) * (g - m)
            m[i] = m[i] + (1 - b1) * (g - m[i])
            v[i] = b2 * v[i] + (1 - b2) * g * g
            denom = math.sqrt(v[i]) / sqrt_correction2 + eps
            p.data = p.data - step_size * (m[i] / denom)


def _array(x: Any) -> Any:
    """An optimizer's state as an array (it may have been kept as a list)."""
    return x if isinstance(x, np.ndarray) else np.array(x, dtype=np.float64)


def _list(x: Any) -> list[float]:
    """An optimizer's state as a list (it may have been kept as an array)."""
    return x if isinstance(x, list) else x.tolist()


def _quiet() -> Any:
    """NumPy's warnings off: a nan or an infinity passes on in an array step as it does in
    the step on floats, unannounced."""
    return np.errstate(all="ignore") if np is not None else contextlib.nullcontext()
