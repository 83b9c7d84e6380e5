"""Snapshots of a training run, written as one HTML page with a step scrubber.

Recipe::

    rec = Recorder(model, inputs=X, targets=y)  # 2-D inputs: the decision boundary too
    for step in range(steps):
        loss = ...
        opt.zero_grad()
        loss.backward()
        rec.snapshot(loss, accuracy=acc)  # after backward, before the update
        opt.step()
    rec.write_html("train.html")

Each snapshot keeps the loss, the metrics given, every parameter's data and gradient, and, when
the inputs are points of the plane, the model's output on a grid over them (the decision
boundary). The page (`nn.training_page.training_html`) shows the loss curve, the boundary and the
gradients of every parameter at the step the scrubber points to. Its size grows by 16 bytes
per parameter and 4 per grid point for each snapshot: micrograd's moons network (337
parameters, a 48 x 48 grid) takes about 20 KB a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

from autograd import Value, no_grad
from autograd.views.document import HtmlPage

from .activations import ACTIVATIONS
from .module import MLP, Layer, Module, Neuron
from .training_page import training_html

DEFAULT_GRID = 48
MARGIN = 1.0  # the boundary's grid reaches this far past the data on every side

Evaluate = Callable[[list[tuple[float, float]]], list[list[float]]]


class Recorder:
    """Records snapshots of a training run (see the module docstring).

    `model`: an `nn` module (its `named_parameters()` name the parameters) or a list of
    parameters. `inputs` / `targets`: the training data; when every input is two numbers the
    page draws the model's decision boundary on a `grid` x `grid` lattice over them, from the
    model's output at every snapshot (its sign for one output, the largest output for several).
    """

    def __init__(self, model: Any, *, inputs: Sequence[Any] | None = None,
                 targets: Sequence[Any] | None = None, grid: int = DEFAULT_GRID,
                 title: str = "training") -> None:
        self.model = model
        self.names, self.params = _named(model)
        self.title = str(title)
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.metrics: dict[str, list[float]] = {}
        self.data: list[float] = []
        self.grad: list[float] = []
        self.scores: list[float] = []
        self.boundary: dict[str, Any] | None = None
        self._evaluate: Evaluate | None = None
        if isinstance(grid, bool) or not isinstance(grid, int) or not 2 <= grid <= 400:
            raise ValueError(f"Recorder: grid must be a whole number from 2 to 400, got {grid!r}")
        if inputs is not None:
            self._plan_boundary(inputs, targets, grid)

    def _plan_boundary(self, inputs: Sequence[Any], targets: Sequence[Any] | None,
                       grid: int) -> None:
        points = [[_number(v, "Recorder: inputs") for v in row] for row in inputs]
        if not points or any(len(p) != 2 for p in points):
            return  # not points of the plane: no boundary to draw
        if not callable(self.model):
            raise TypeError("Recorder: a decision boundary needs a model that can be called "
                            f"on an input; got {type(self.model).__name__}")
        if targets is not None and len(targets) != len(points):
            raise ValueError(f"Recorder: {len(points)} inputs but {len(targets)} targets")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1 = min(xs) - MARGIN, max(xs) + MARGIN
        y0, y1 = min(ys) - MARGIN, max(ys) + MARGIN
        lattice = [(x0 + (x1 - x0) * i / (grid - 1), y0 + (y1 - y0) * j / (grid - 1))
                   for j in range(grid) for i in range(grid)]  # row by row, bottom row first
        labels = [_number(t, "Recorder: targets") for t in targets] if targets is not None else []
        self.boundary = {"x0": x0, "x1": x1, "y0": y0, "y1": y1, "n": grid,
                         "points": [[x, y] for x, y in points], "labels": labels}
        self._lattice = lattice
        self._evaluate = float_forward(self.model) or _slow_forward(self.model)

    def snapshot(self, loss: Any, *, step: int | None = None, **metrics: Any) -> None:
        """Record the state now: call it after `backward()` and before the optimizer's step.
        `metrics` (e.g. `accuracy=0.9`) are numbers, the same names at every snapshot."""
        value = _number(loss, "snapshot: loss")
        if self.steps and set(metrics) != set(self.metrics):
            raise ValueError(f"snapshot: every snapshot needs the same metrics as the first "
                             f"({', '.join(sorted(self.metrics)) or 'none'}); got "
                             f"{', '.join(sorted(metrics)) or 'none'}")
        numbers = {name: _number(v, f"snapshot: {name}") for name, v in metrics.items()}
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise TypeError(f"snapshot: step must be a whole number, got {type(step).__name__}")
        self.steps.append(len(self.steps) if step is None else step)
        self.loss.append(value)
        for name, x in numbers.items():
            self.metrics.setdefault(name, []).append(x)
        self.data.extend(p.data for p in self.params)
        self.grad.extend(p.grad for p in self.params)
        if self._evaluate is not None:
            self.scores.extend(_score(o) for o in self._evaluate(self._lattice))

    def record(self) -> dict[str, Any]:
        """Everything recorded, as plain data (what `nn.training_page.training_html` reads)."""
        boundary = None
        if self.boundary is not None:
            boundary = dict(self.boundary, scores=self.scores,
                            classes=self._classes())
        return {"title": self.title, "model": repr(self.model), "names": list(self.names),
                "steps": list(self.steps), "loss": list(self.loss),
                "metrics": {k: list(v) for k, v in self.metrics.items()},
                "data": list(self.data), "grad": list(self.grad), "boundary": boundary}

    def _classes(self) -> int:
        out = self._evaluate([self._lattice[0]]) if self._evaluate else [[0.0]]
        return 2 if len(out[0]) == 1 else len(out[0])

    def to_html(self) -> HtmlPage:
        """The page: one self-contained HTML document (a str)."""
        if not self.steps:
            raise ValueError("Recorder: no snapshot recorded yet (call snapshot(loss) after "
                             "each backward pass)")
        return training_html(self.record())

    def write_html(self, path: str | Path) -> Path:
        """Write the page to `path` and return the path."""
        return self.to_html().write(path)


def _named(model: Any) -> tuple[list[str], list[Value]]:
    named = getattr(model, "named_parameters", None)
    if callable(named):
        pairs = list(named())
    elif isinstance(model, Mapping):
        pairs = list(model.items())
    elif isinstance(model, Sequence) and not isinstance(model, (str, bytes)):
        pairs = [(v.label or f"p{k}", v) for k, v in enumerate(model, 1)]
    else:
        raise TypeError(f"Recorder: expected an nn module, a list of parameters or a dict "
                        f"name -> parameter; got {type(model).__name__}")
    for name, v in pairs:
        if not isinstance(v, Value):
            raise TypeError(f"Recorder: parameter {name!r} is a {type(v).__name__}, not a Value")
    return [str(n) for n, _ in pairs], [v for _, v in pairs]


def _number(x: Any, what: str) -> float:
    if isinstance(x, Value):
        return x.data
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{what}: expected numbers, got {type(x).__name__}")
    return float(x)


def _score(outputs: list[float]) -> float:
    """One number per grid point: the score for one output, the winning class for several."""
    if len(outputs) == 1:
        return outputs[0]
    return float(max(range(len(outputs)), key=outputs.__getitem__))


# --- the model on plain floats ------------------------------------------------------------------



def float_forward(model: Any) -> Evaluate | None:
    """For `nn`'s own MLP, Layer and Neuron: the model run on plain floats (a grid of a few
    thousand points in a tenth of a second), reading the weights as they are at each call;
    None for any other model."""
    layers: Sequence[Layer | _OneNeuron]
    if isinstance(model, MLP):
        layers = model.layers
    elif isinstance(model, Layer):
        layers = [model]
    elif isinstance(model, Neuron):
        layers = [_OneNeuron(model)]
    else:
        return None

    def run(points: list[tuple[float, float]]) -> list[list[float]]:
        plan = [([[w.data for w in n.w] for n in layer.neurons], [n.b.data for n in layer.neurons],
                 ACTIVATIONS[layer.activation].apply) for layer in layers]
        out = []
        for point in points:
            x: Sequence[float] = point
            for weights, biases, act in plan:
                x = [act(sum(w * v for w, v in zip(row, x)) + b)
                     for row, b in zip(weights, biases)]
            out.append(list(x))
        return out

    return run


class _OneNeuron:
    def __init__(self, neuron: Neuron) -> None:
        self.neurons, self.activation = [neuron], neuron.activation


def _slow_forward(model: Module) -> Evaluate:
    """Any other model: called on every grid point, recording nothing."""
    def run(points: list[tuple[float, float]]) -> list[list[float]]:
        out = []
        with no_grad():
            for point in points:
                y = model(list(point))
                ys = y if isinstance(y, (list, tuple)) else [y]
                out.append([v.data if isinstance(v, Value) else float(v) for v in ys])
        return out

    return run


__all__ = ["Recorder", "float_forward"]
