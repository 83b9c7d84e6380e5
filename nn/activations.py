"""The activations `nn` offers, each described once: what it computes (on a Value, recorded, and
on a plain float, for the training page's grid, through the same `autograd.ops` helper), its
name in reprs and in PyTorch, and its largest slope (what `SettlingLayer` scales by to keep its
map a contraction).

>>> ACTIVATIONS["tanh"].apply(0.5) == ACTIVATIONS["tanh"].apply(Value(0.5)).data
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograd import Value
from autograd.ops import relu, sigmoid, tanh


@dataclass(frozen=True)
class Activation:
    name: str
    method: Callable[[Value], Value]  # on a Value, recorded (a neuron's hot path)
    apply: Callable[[Any], Any]  # on a Value or a float, through the `autograd.ops` helper
    title: str  # as reprs write it, and the name of PyTorch's module (but for linear)
    slope: float  # the largest slope: its Lipschitz constant
    torch: bool = True  # whether PyTorch has a module of that title


def _linear(x: Any) -> Any:
    return x


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", Value.relu, relu, "ReLU", 1.0),
        Activation("tanh", Value.tanh, tanh, "Tanh", 1.0),
        Activation("sigmoid", Value.sigmoid, sigmoid, "Sigmoid", 0.25),
        Activation("linear", _linear, _linear, "Linear", 1.0, torch=False),
    )
}
"""Every activation by name."""
