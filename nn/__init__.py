"""A small neural-network library on the `autograd` engine, micrograd-compatible.

>>> import random
>>> from nn import MLP
>>> from nn.losses import mse
>>> from nn.optim import SGD
>>> model = MLP(2, [8, 1], seed=0)
>>> opt = SGD(model.parameters(), lr=0.05)
>>> X, y = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [1.0, -1.0, 0.0]
>>> first = None
>>> for step in range(50):
...     loss = mse([model(x) for x in X], y)
...     first = loss.data if first is None else first
...     opt.zero_grad()
...     loss.backward()
...     opt.step()
>>> loss.data < first
True
"""

from . import losses, optim
from .module import ACTIVATIONS, MLP, Layer, Module, Neuron
from .progress import Progress, accuracy, minibatches, progress
from .record import Recorder
from .serialize import load, save
from .settling import SettlingLayer
from .torch_bridge import from_torch, to_torch

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Layer",
    "Module",
    "Neuron",
    "Progress",
    "Recorder",
    "SettlingLayer",
    "accuracy",
    "from_torch",
    "load",
    "losses",
    "minibatches",
    "optim",
    "progress",
    "save",
    "to_torch",
]
