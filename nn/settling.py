"""`SettlingLayer`: a recurrent layer whose output is the state it settles to.

The state `x` (`nstate` numbers) follows `x <- act(W x + U input + b)` from `x = 0` until it
stops changing; the settled state, a fixed point of that map, is the output. `U` is a full
matrix, or with `inputs="one_to_one"` one gain per input, input k feeding state unit k alone
(the units past the inputs are hidden): then every interaction between the units goes through
the recurrent weights `W`, as in Pineda's networks. It is trained by
recurrent backpropagation (Almeida and Pineda, 1987) through `autograd.fixed_point`: the
error relaxes to its own fixed point and the recorded graph holds one step of the map, however
many steps the state took to settle. With `unroll=k` the layer instead records `k` steps from
zero and backpropagation goes through all of them (backpropagation through the iterations), so
the two ways can be compared on the same weights.

Why it settles: with `act` of slope at most `L` (1 for tanh, relu and linear, 1/4 for sigmoid)
the map changes the state by at most `L * ||W||` times the change it is given, where `||W||`
is the largest sum of absolute weights in a row of `W`. Below 1 the map is a contraction,
whatever the input, and the state settles to one fixed point from any start (Banach's
theorem). The weights start with `L * ||W|| = contraction` (0.5 unless told);
`contraction_bound()` says where training has taken it, and `limit_contraction()` after each
optimizer step keeps it below a limit. Above 1 the state may still settle, but nothing
promises it; when it does not, calling the layer raises `FixedPointError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from autograd import FixedPointError, Value, dot, fixed_point

from .activations import ACTIVATIONS
from .module import Module, _activation, _check_count, _number, _rng

INPUTS = ("full", "one_to_one")


class SettlingLayer(Module):
    """A recurrent layer that settles: `x = act(W x + U input + b)` iterated to its fixed point.

    Called on `nin` numbers or Values, it returns the settled state: `nstate` Values (a list
    with `.forward`, the relaxation's iterations, residual and spectral radius, and, once a
    backward pass has gone through it, `.adjoint`, the error relaxation's). Gradients reach
    `W`, `U`, `b` and any Value among the inputs.

    Parameters, in the order of `parameters()`: `W` row by row (`W.{i * nstate + j}` is the
    weight from state unit j to state unit i), then `U` row by row (`U.{i * nin + k}`, from
    input k to state unit i; with `inputs="one_to_one"`, `U.{k}` is the gain from input k to
    unit k), then `b` (one bias per state unit).

    Initialisation: `W` is drawn U(-1, 1) and scaled so that `slope * max_i sum_j |W[i][j]|`
    equals `contraction` (default 0.5: each step halves the distance to the fixed point, so
    the state settles to 1e-10 in about 35 steps); `U` and `b` are drawn U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) as `torch.nn.Linear` draws them, `fan_in` being `nin` (or 1, one to one).
    `weights=(W, U, b)` sets them outright (`W` nstate rows of nstate numbers, `U` nstate rows
    of nin numbers or, one to one, nin numbers, `b` nstate numbers).

    `tol` and `max_iter` go to `fixed_point`: the state has settled when no unit changes by
    more than `tol` in one step (a tanh state is within 1, where `fixed_point`'s criterion,
    relative to `max(1, |x|)`, is absolute), and a state (or error) that has not settled in
    `max_iter` steps raises `FixedPointError`. `unroll=k` records `k` steps from zero instead
    (also per call: `layer(x, unroll=k)`).

    >>> from autograd import Value
    >>> layer = SettlingLayer(2, 3, seed=0)
    >>> x = layer([1.0, -1.0])
    >>> step = layer.step([v.data for v in x], [1.0, -1.0])
    >>> max(abs(a.data - b.data) for a, b in zip(x, step)) < 1e-10
    True
    >>> x.forward.iterations < 40, layer.contraction_bound() < 1
    (True, True)
    """

    def __init__(
        self,
        nin: int,
        nstate: int,
        activation: str = "tanh",
        *,
        seed: int | random.Random | None = None,
        contraction: float = 0.5,
        tol: float = 1e-10,
        max_iter: int = 1000,
        unroll: int | None = None,
        inputs: str = "full",
        weights: tuple[Any, Any, Any] | None = None,
    ) -> None:
        self.nin = _check_count(nin, "SettlingLayer: nin")
        self.nstate = _check_count(nstate, "SettlingLayer: nstate")
        self.activation = _activation(activation, None, "tanh")
        self.tol = _positive(tol, "tol")
        self.max_iter = _check_count(max_iter, "SettlingLayer: max_iter")
        self.unroll = None if unroll is None else _check_count(unroll, "SettlingLayer: unroll")
        if inputs not in INPUTS:
            raise ValueError(f"SettlingLayer: unknown inputs {inputs!r}; choose one of "
                             f"{', '.join(INPUTS)}")
        if inputs == "one_to_one" and nin > nstate:
            raise ValueError(f"SettlingLayer: one_to_one inputs need nin <= nstate, got nin "
                             f"{nin} and nstate {nstate}")
        self.inputs = inputs
        if weights is not None:
            w, u, b = _settling_weights(weights, nin, nstate, inputs)
        else:
            slope = ACTIVATIONS[self.activation].slope
            w, u, b = _draw(nin, nstate, slope, contraction, inputs, _rng(seed))
        self.W = [Value(v) for v in w]
        self.U = [Value(v) for v in u]
        self.b = [Value(v) for v in b]
        self.name_parameters()

    def drive(self, inputs: Sequence[Any]) -> list[Value]:
        """`U inputs + b`, recorded: what the input adds to each unit at every step (the same
        at every step, so it is computed once per call)."""
        m = self.nin
        if self.inputs == "one_to_one":
            return [self.U[i] * inputs[i] + self.b[i] if i < m else self.b[i]
                    for i in range(self.nstate)]
        return [dot(self.U[i * m : (i + 1) * m], inputs) + self.b[i] for i in range(self.nstate)]

    def step(self, state: Sequence[Any], inputs: Sequence[Any]) -> list[Value]:
        """One step of the map, `act(W state + U inputs + b)`, recorded: nstate Values."""
        return self._step(state, self.drive(self._checked(inputs)))

    def _step(self, state: Sequence[Any], drive: list[Value]) -> list[Value]:
        n = self.nstate
        act = ACTIVATIONS[self.activation].method
        return [act(dot(self.W[i * n : (i + 1) * n], state) + drive[i]) for i in range(n)]

    def __call__(
        self, inputs: Sequence[Any], *, unroll: int | None = None, trace: bool = False
    ) -> list[Value]:
        """The settled state for `inputs` (or, with `unroll=k`, the state after k steps).

        With `trace=True` the relaxations keep every iterate (`.forward.trace`, and after a
        backward pass `.adjoint.trace`), for pictures of the state and the error settling.
        """
        steps = self.unroll if unroll is None else _check_count(unroll, "unroll")
        drive = self.drive(self._checked(inputs))
        if steps is not None:
            state: list[Any] = [0.0] * self.nstate
            for _ in range(steps):
                state = self._step(state, drive)
            return state
        try:
            return fixed_point(lambda x: self._step(x, drive), [0.0] * self.nstate,
                               tol=self.tol, max_iter=self.max_iter, trace=trace)
        except FixedPointError as exc:
            raise FixedPointError(
                f"{self!r} did not settle: {exc}. Its contraction bound is "
                f"{self.contraction_bound():.3g}: below 1 the state always settles (train with "
                "a lower learning rate); a state that settles slowly needs a larger max_iter"
            ) from exc

    def _checked(self, inputs: Any) -> list[Any]:
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
            raise TypeError(f"{self!r} takes a list of {self.nin} inputs, got "
                            f"{type(inputs).__name__}")
        if len(inputs) != self.nin:
            raise ValueError(f"{self!r} takes {self.nin} inputs, got {len(inputs)}")
        return list(inputs)

    def contraction_bound(self) -> float:
        """`slope(act) * max_i sum_j |W[i][j]|`: below 1, the state settles from any start,
        whatever the input; each step shrinks the distance to the fixed point by this factor."""
        n = self.nstate
        norm = max(sum(abs(w.data) for w in self.W[i * n : (i + 1) * n]) for i in range(n))
        return ACTIVATIONS[self.activation].slope * norm

    def limit_contraction(self, limit: float = 0.9) -> float:
        """Scale down each row of `W` whose `slope * sum_j |W[i][j]|` exceeds `limit` (< 1), so
        the map stays a contraction: call it after each optimizer step to keep training from
        taking the layer where it no longer settles (projected gradient descent). Returns the
        contraction bound afterwards.

        >>> layer = SettlingLayer(1, 1, weights=([[3.0]], [[1.0]], [0.0]))
        >>> round(layer.limit_contraction(0.9), 12), round(layer.W[0].data, 12)
        (0.9, 0.9)
        """
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 <= limit < 1:
            raise ValueError(f"limit_contraction: limit must be a number in [0, 1), got {limit!r}")
        n, slope = self.nstate, ACTIVATIONS[self.activation].slope
        for i in range(n):
            row = self.W[i * n : (i + 1) * n]
            bound = slope * sum(abs(w.data) for w in row)
            if bound > limit:
                for w in row:
                    w.data = w.data * limit / bound
        return self.contraction_bound()

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture (used by `nn.save`)."""
        return {"nin": self.nin, "nstate": self.nstate, "activation": self.activation,
                "tol": self.tol, "max_iter": self.max_iter, "unroll": self.unroll,
                "inputs": self.inputs}

    def __repr__(self) -> str:
        how = "settles" if self.unroll is None else f"unrolled {self.unroll} steps"
        wiring = ", one to one" if self.inputs == "one_to_one" else ""
        return f"SettlingLayer({self.nin} -> {self.nstate}{wiring}, {self.activation}, {how})"


def _positive(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not (0 < x < math.inf):
        raise ValueError(f"SettlingLayer: {what} must be a positive number, got {x!r}")
    return float(x)


def _draw(nin: int, nstate: int, slope: float, contraction: Any, inputs: str,
          rng: Any) -> tuple[list[float], list[float], list[float]]:
    if isinstance(contraction, bool) or not isinstance(contraction, (int, float)) or not (
        0 <= contraction < 1
    ):
        raise ValueError(
            f"SettlingLayer: contraction must be a number in [0, 1), got {contraction!r}"
        )
    rows = [[rng.uniform(-1, 1) for _ in range(nstate)] for _ in range(nstate)]
    norm = max(sum(abs(w) for w in row) for row in rows)
    scale = contraction / (slope * norm) if norm > 0 else 0.0
    one_to_one = inputs == "one_to_one"
    k = 1.0 if one_to_one else 1.0 / math.sqrt(nin)
    w = [v * scale for row in rows for v in row]
    u = [rng.uniform(-k, k) for _ in range(nin if one_to_one else nstate * nin)]
    b = [rng.uniform(-k, k) for _ in range(nstate)]
    return w, u, b


def _settling_weights(weights: Any, nin: int, nstate: int, inputs: str) -> tuple[list, list, list]:
    one_to_one = inputs == "one_to_one"
    shape = f"{nin} numbers" if one_to_one else f"{nstate} rows of {nin} numbers"
    try:
        w, u, b = weights
        w, b = [list(row) for row in w], list(b)
        u = list(u) if one_to_one else [list(row) for row in u]
    except (TypeError, ValueError):
        raise ValueError(
            f"SettlingLayer weights: expected (W, U, b) with W {nstate} rows of {nstate} "
            f"numbers, U {shape} and b {nstate} numbers"
        ) from None
    if len(w) != nstate or any(len(row) != nstate for row in w):
        raise ValueError(f"SettlingLayer weights: W must be {nstate} rows of {nstate} numbers")
    if len(u) != (nin if one_to_one else nstate) or (
        not one_to_one and any(len(row) != nin for row in u)
    ):
        raise ValueError(f"SettlingLayer weights: U must be {shape}")
    if len(b) != nstate:
        raise ValueError(f"SettlingLayer weights: b must have {nstate} numbers, got {len(b)}")
    flat_w = [_number(x, f"SettlingLayer weights W[{i}][{j}]")
              for i, row in enumerate(w) for j, x in enumerate(row)]
    if one_to_one:
        flat_u = [_number(x, f"SettlingLayer weights U[{k}]") for k, x in enumerate(u)]
    else:
        flat_u = [_number(x, f"SettlingLayer weights U[{i}][{k}]")
                  for i, row in enumerate(u) for k, x in enumerate(row)]
    flat_b = [_number(x, f"SettlingLayer weights b[{i}]") for i, x in enumerate(b)]
    return flat_w, flat_u, flat_b
