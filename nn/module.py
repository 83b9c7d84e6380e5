"""`Module`, and the three classic building blocks on it: `Neuron`, `Layer`, `MLP`.

A module finds its parameters the way PyTorch does, by looking at its attributes in the
order they were set: a `Value`, a list of Values, another `Module` or a list of Modules. So
`parameters()`, `named_parameters()` and `state_dict()` always agree, and for an `MLP` the
order is micrograd's: layer by layer, neuron by neuron, each neuron's weights in input order,
then its bias.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

from autograd import Value, dot
from autograd.engine import as_value

from .activations import ACTIVATIONS

if TYPE_CHECKING:
    from .settling import SettlingLayer

INITS = ("uniform", "torch")

Tensor = Value | list  # one parameter, or a list of them, as a state_dict entry groups them


class Module:
    """Base class: anything with parameters.

    Subclasses keep their parameters in attributes (a `Value`, a list of Values, a `Module`
    or a list of Modules) and the methods below find them. A micrograd-style subclass that
    only overrides `parameters()` works too: its parameters are then named "0", "1", ...

    A module pickles and deep-copies (`copy.deepcopy(model)` keeps a best model while
    training). Loading a pickle runs whatever code the file names: load only your own or
    trusted ones, and share models with `nn.save` / `nn.load` (JSON, data only).
    """

    def parameters(self) -> list[Value]:
        """Every parameter, in a fixed order (see the module docstring)."""
        return [v for _, v in self.named_parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(dotted name, parameter) pairs, e.g. ("layers.0.neurons.1.w.2", Value(...))."""
        out = []
        for name, tensor in self.named_tensors():
            if isinstance(tensor, Value):
                out.append((name, tensor))
            else:
                out.extend((f"{name}.{i}", v) for i, v in enumerate(tensor))
        return out

    def named_tensors(self) -> list[tuple[str, Tensor]]:
        """The parameters grouped as `state_dict` groups them: a Value or a list of Values."""
        if type(self).parameters is not Module.parameters:  # micrograd style
            return [(str(i), p) for i, p in enumerate(self.parameters())]
        out: list[tuple[str, Tensor]] = []
        seen: set[int] = set()
        _collect(self, "", out, seen)
        return out

    def name_parameters(self) -> None:
        """Label every parameter with its name here (`named_parameters()`), so the pictures
        and text views of a graph say which weight each leaf is. A name given earlier by a
        submodule ("w.0") is extended ("neurons.1.w.0"); a label of the user's is kept.

        >>> Neuron(2, seed=0).parameters()[1].label
        'w.1'
        """
        for name, p in self.named_parameters():
            if not p.label or name.endswith("." + p.label):
                p.label = name

    def zero_grad(self) -> None:
        """Set `.grad` of every parameter to 0.0."""
        for p in self.parameters():
            p._grad = 0.0  # the slot behind `.grad` (whose setter checks what users assign)

    def state_dict(self) -> dict[str, Any]:
        """The parameters' data as plain floats: {name: float or list of floats}.

        >>> Neuron(2, seed=0).state_dict().keys()
        dict_keys(['w', 'b'])
        """
        return {
            name: t.data if isinstance(t, Value) else [v.data for v in t]
            for name, t in self.named_tensors()
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy the numbers of `state` into the parameters.

        Everything is checked before anything is written: on a missing or unexpected name, a
        list of the wrong length or a value that is not a number, this raises `ValueError`
        and the module is unchanged.
        """
        if not isinstance(state, Mapping):
            raise ValueError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        tensors = dict(self.named_tensors())
        missing = [k for k in tensors if k not in state]
        unexpected = [k for k in state if k not in tensors]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing {len(missing)} entries ({_some(missing)})")
            if unexpected:
                parts.append(f"{len(unexpected)} unexpected entries ({_some(unexpected)})")
            raise ValueError(f"state_dict does not fit {self!r}: " + "; ".join(parts))
        writes = []
        for name, tensor in tensors.items():
            given = state[name]
            if isinstance(tensor, Value):
                writes.append((tensor, _number(given, f"state_dict entry {name!r}")))
                continue
            if not isinstance(given, (list, tuple)):
                raise ValueError(
                    f"state_dict entry {name!r}: expected a list of {len(tensor)} numbers, "
                    f"got {type(given).__name__}"
                )
            if len(given) != len(tensor):
                raise ValueError(
                    f"state_dict entry {name!r} has {len(given)} numbers, the model has "
                    f"{len(tensor)} there (shape mismatch)"
                )
            writes.extend(
                (v, _number(x, f"state_dict entry {name!r}[{i}]"))
                for i, (v, x) in enumerate(zip(tensor, given, strict=True))
            )
        for v, x in writes:
            v.data = x

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")


def _collect(module: Module, prefix: str, out: list, seen: set[int]) -> None:
    for name, attr in vars(module).items():
        if name.startswith("_"):
            continue
        key = prefix + name
        if isinstance(attr, Value):
            _add(key, attr, out, seen)
        elif isinstance(attr, Module):
            _collect_module(attr, key, out, seen)
        elif isinstance(attr, (list, tuple)) and attr:
            if all(isinstance(v, Value) for v in attr):
                _add(key, list(attr), out, seen)
            elif all(isinstance(m, Module) for m in attr):
                for i, m in enumerate(attr):
                    _collect_module(m, f"{key}.{i}", out, seen)


def _collect_module(module: Module, key: str, out: list, seen: set[int]) -> None:
    if type(module).parameters is not Module.parameters:  # micrograd style: its own list
        for sub, tensor in module.named_tensors():
            _add(f"{key}.{sub}", tensor, out, seen)
    else:
        _collect(module, key + ".", out, seen)


def _add(key: str, tensor: Tensor, out: list, seen: set[int]) -> None:
    """Record a tensor once: a parameter shared with an earlier entry is not listed again."""
    if isinstance(tensor, Value):
        if id(tensor) not in seen:
            seen.add(id(tensor))
            out.append((key, tensor))
        return
    if all(id(v) not in seen for v in tensor) and len({id(v) for v in tensor}) == len(tensor):
        seen.update(id(v) for v in tensor)
        out.append((key, tensor))
        return
    for i, v in enumerate(tensor):  # shares some parameters: list only the new ones
        _add(f"{key}.{i}", v, out, seen)


def _some(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... {len(names) - limit} more" if len(names) > limit else "")


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise ValueError(f"{what}: expected a number, got {type(x).__name__} {x!r}")
    return float(x)


# --- the classic blocks -----------------------------------------------------------------------


def _activation(activation: str | None, nonlin: bool | None, default: str) -> str:
    if nonlin is not None:  # micrograd's spelling: nonlin=True is ReLU, False is linear
        if activation is not None:
            raise ValueError("give either activation= or micrograd's nonlin=, not both")
        return "relu" if nonlin else "linear"
    activation = default if activation is None else activation
    if activation not in ACTIVATIONS:
        choices = ", ".join(ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; choose one of {choices}")
    return activation


def _rng(seed: int | random.Random | None) -> Any:
    """Python's global `random` (micrograd's behaviour) or a private generator."""
    if seed is None or seed is random or isinstance(seed, random.Random):
        return random if seed is None else seed  # a generator handed down by MLP or Layer
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int or a random.Random, got {type(seed).__name__}")
    return random.Random(seed)


def _check_count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return n


class Neuron(Module):
    """One neuron: `activation(dot(w, x) + b)`, three graph nodes whatever `nin` is.

    Weights start U(-1, 1) and the bias 0, drawn from Python's global `random` as in micrograd
    (or from `random.Random(seed)`); `init="torch"` draws both from U(-1/sqrt(nin),
    1/sqrt(nin)) as `torch.nn.Linear` does; `weights=(w, b)` sets them outright.

    >>> n = Neuron(2, activation="tanh", weights=([0.5, -1.0], 0.25))
    >>> round(n([1.0, 2.0]).data, 6)
    -0.848284
    """

    def __init__(
        self,
        nin: int,
        activation: str | None = None,
        *,
        seed: int | random.Random | None = None,
        init: str = "uniform",
        weights: tuple[Sequence[float], float] | None = None,
        nonlin: bool | None = None,
    ) -> None:
        self.nin = _check_count(nin, "Neuron: nin")
        self.activation = _activation(activation, nonlin, "relu")
        if weights is not None:
            w, b = _neuron_weights(weights, nin, "Neuron weights")
        else:
            w, b = _draw(nin, _rng(seed), init)
        self.w = [Value(x) for x in w]
        self.b = Value(b)
        self.name_parameters()

    @property
    def nonlin(self) -> bool:  # micrograd's attribute
        return self.activation != "linear"

    def __call__(self, x: Sequence[Any]) -> Value:
        if len(x) != self.nin:
            raise ValueError(f"{self!r} takes {self.nin} inputs, got {len(x)}")
        return ACTIVATIONS[self.activation].method(dot(self.w, x) + self.b)

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture (used by `nn.save`)."""
        return {"nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"{ACTIVATIONS[self.activation].title}Neuron({self.nin})"




def _draw(nin: int, rng: Any, init: str) -> tuple[list[float], float]:
    if init == "uniform":
        return [rng.uniform(-1, 1) for _ in range(nin)], 0.0
    if init == "torch":
        k = 1.0 / math.sqrt(nin)
        w = [rng.uniform(-k, k) for _ in range(nin)]
        return w, rng.uniform(-k, k)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


def _neuron_weights(weights: Any, nin: int, what: str) -> tuple[list[float], float]:
    try:
        w, b = weights
        w = list(w)
    except (TypeError, ValueError):
        expected = f"(list of {nin} weights, bias)"
        raise ValueError(f"{what}: expected {expected}, got {weights!r}") from None
    w = [_number(x, f"{what} w[{i}]") for i, x in enumerate(w)]
    if len(w) != nin:
        raise ValueError(f"{what}: expected {nin} weights, got {len(w)}")
    return w, _number(b, f"{what} bias")


class Layer(Module):
    """`nout` neurons reading the same inputs. Called on a list, it returns a list of Values
    (one Value when `nout == 1`, as micrograd does).

    `weights=(W, b)` sets the weights as `torch.nn.Linear` stores them: `W` is `nout` rows of
    `nin` numbers and `b` has `nout` numbers.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | None = None,
        *,
        seed: int | random.Random | None = None,
        init: str = "uniform",
        weights: tuple[Sequence[Sequence[float]], Sequence[float]] | None = None,
        nonlin: bool | None = None,
    ) -> None:
        self.nin = _check_count(nin, "Layer: nin")
        self.nout = _check_count(nout, "Layer: nout")
        self.activation = _activation(activation, nonlin, "relu")
        rows = _layer_weights(weights, nin, nout) if weights is not None else [None] * nout
        rng = _rng(seed)
        self.neurons = [
            Neuron(nin, self.activation, seed=rng, init=init, weights=row) for row in rows
        ]
        self.name_parameters()

    def forward(self, x: Sequence[Any]) -> list[Value]:
        """The outputs as a list, always (also when `nout == 1`)."""
        if len(x) != self.nin:
            raise ValueError(f"{self!r} takes {self.nin} inputs, got {len(x)}")
        # Lift plain numbers once here, not once per neuron inside each dot.
        x = [as_value(v) for v in x]
        return [n(x) for n in self.neurons]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, {self.activation})"


def _layer_weights(weights: Any, nin: int, nout: int) -> list[tuple[list[float], float]]:
    try:
        matrix, bias = weights
        matrix, bias = list(matrix), list(bias)
    except (TypeError, ValueError):
        raise ValueError(
            f"Layer weights: expected (W, b) with W {nout} rows of {nin} numbers and b "
            f"{nout} numbers, got {type(weights).__name__}"
        ) from None
    if len(matrix) != nout or len(bias) != nout:
        raise ValueError(
            f"Layer weights: W has {len(matrix)} rows and b {len(bias)} numbers; the layer has "
            f"{nout} neurons"
        )
    return [
        _neuron_weights((row, b), nin, f"Layer weights row {j}")
        for j, (row, b) in enumerate(zip(matrix, bias, strict=True))
    ]


class MLP(Module):
    """A multi-layer perceptron: `MLP(nin, [h1, h2, ..., nout])`.

    With no other arguments it is micrograd's: ReLU on hidden layers, a linear last layer,
    weights U(-1, 1) from Python's global `random`, biases 0. `activation=` sets the hidden
    layers' activation and `output_activation=` the last one's; `seed=` draws from a private
    generator; `init="torch"` draws as `torch.nn.Linear` does; `weights=[(W0, b0), (W1, b1),
    ...]` sets every layer (W as `nout` rows of `nin` numbers, as torch stores it).

    >>> model = MLP(3, [4, 4, 1], seed=0)
    >>> len(model.parameters())
    41
    >>> model([1.0, -2.0, 0.5]).data == model([1.0, -2.0, 0.5]).data
    True
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        seed: int | random.Random | None = None,
        init: str = "uniform",
        weights: Sequence[Any] | None = None,
    ) -> None:
        self.nin = _check_count(nin, "MLP: nin")
        if isinstance(nouts, int) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {nouts!r}")
        self.nouts = [_check_count(n, "MLP: each layer size") for n in nouts]
        self.activation = _activation(activation, None, "relu")
        self.output_activation = _activation(output_activation, None, "linear")
        if weights is not None:
            weights = list(weights)
            if len(weights) != len(self.nouts):
                raise ValueError(
                    f"MLP weights: got {len(weights)} (W, b) pairs for {len(self.nouts)} layers"
                )
        rng = _rng(seed)
        sizes = [nin, *self.nouts]
        last = len(self.nouts) - 1
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                self.output_activation if i == last else self.activation,
                seed=rng,
                init=init,
                weights=None if weights is None else weights[i],
            )
            for i in range(len(self.nouts))
        ]
        self.name_parameters()

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        out = self.layers[0].forward(x)  # an MLP has one layer at least
        for layer in self.layers[1:]:
            out = layer.forward(out)
        return out[0] if len(out) == 1 else out

    def config(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": self.activation,
            "output_activation": self.output_activation,
        }

    def __repr__(self) -> str:
        shapes = ", ".join(f"{layer.nout} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> [{shapes}], {len(self.parameters())} parameters)"


def modules_by_name() -> dict[str, type[Neuron | Layer | MLP | SettlingLayer]]:
    """The architectures `nn.load` can rebuild, by class name."""
    from .settling import SettlingLayer  # it builds on this module: imported when asked

    return {"Neuron": Neuron, "Layer": Layer, "MLP": MLP, "SettlingLayer": SettlingLayer}
