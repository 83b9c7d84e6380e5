"""An `MLP` to a PyTorch `nn.Sequential` and back, with the same weights (needs `torch`).

`to_torch(model)` writes each layer as a `Linear` (weights as rows, one per neuron, as
`nn.Linear` stores them) followed by its activation module (`ReLU`, `Tanh`, `Sigmoid`; nothing
for a linear layer), in float64 unless told otherwise, so the two compute the same function to
rounding (about 1e-16) and a training step from the same weights gives the same loss and
gradients.

`from_torch(net)` reads such a `Sequential` (or its `state_dict`) back into an `MLP`:

- `Linear` layers, each followed by at most one `ReLU`, `Tanh` or `Sigmoid`; `Identity`,
  `Dropout` in eval mode (or with p = 0) and nested `Sequential`s are looked through;
- the hidden layers must share one activation, as an `MLP`'s do (the last may differ);
- a `Linear` made with `bias=False` is read with a bias of 0: the same function. In the `MLP`
  that bias is a parameter like any other, so further training moves it where PyTorch's
  layer has none to move;
- anything else (a `Conv2d`, a `LeakyReLU`, a `Dropout` in train mode, a `Softmax`) is a
  `ValueError` naming the layer: the `MLP` could not compute the same thing.

A `state_dict` holds no activations: give them as `activation=` and `output_activation=`
(micrograd's relu and linear by default).

Importing `nn` never imports torch; calling these without it raises one `ImportError` that says
how to install it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .module import MLP

TORCH_MISSING = (
    "the nn <-> PyTorch bridge needs PyTorch, which is not installed: pip install torch "
    "(this project is tested with torch==2.13.0)"
)

# Our activation names and the torch.nn modules that compute them.
_MODULES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(TORCH_MISSING) from exc
    return torch


def to_torch(model: MLP, dtype: Any = None) -> Any:
    """`model` as a `torch.nn.Sequential` of `Linear` and activation modules, same weights.

    `dtype` is a torch floating dtype, `torch.float64` by default (our numbers are doubles:
    float64 keeps them exactly). The result is a fresh module: training one leaves the other
    alone.

    >>> import torch
    >>> net = to_torch(MLP(2, [3, 1], activation="tanh", seed=0))
    >>> net
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    >>> net[0].weight.dtype
    torch.float64
    """
    torch = _torch()
    if not isinstance(model, MLP):
        raise TypeError(f"to_torch: expected an nn.MLP, got {type(model).__name__}")
    dtype = torch.float64 if dtype is None else dtype
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"to_torch: dtype must be a torch floating dtype, got {dtype!r}")
    modules = []
    for layer in model.layers:
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(
                torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64)
            )
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        modules.append(linear)
        if layer.activation != "linear":
            modules.append(getattr(torch.nn, _MODULES[layer.activation])())
    return torch.nn.Sequential(*modules)


def from_torch(
    net: Any, *, activation: str | None = None, output_activation: str | None = None
) -> MLP:
    """An `MLP` with the weights of `net`: a `torch.nn.Sequential` (see the module docstring
    for what it may hold) or a `Sequential`'s `state_dict`.

    For a `Sequential` the activations are read from its modules (`activation=` and
    `output_activation=`, if given, must agree); for a `state_dict` they default to ReLU on the
    hidden layers and a linear output.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> from_torch(net)
    MLP(2 -> [4 tanh, 1 linear], 17 parameters)
    >>> from_torch(net.state_dict(), activation="tanh")
    MLP(2 -> [4 tanh, 1 linear], 17 parameters)
    """
    torch = _torch()
    if isinstance(net, torch.nn.Sequential):
        layers = _read_sequential(net, torch)
        hidden, last = _activations(layers)
        for given, read, what in ((activation, hidden, "activation"),
                                  (output_activation, last, "output_activation")):
            if given is not None and read is not None and given != read:
                raise ValueError(
                    f"from_torch: {what}={given!r}, but the Sequential uses {read!r} there"
                )
        hidden = hidden or activation or "relu"  # one layer: no hidden activation to read
        last = last or "linear"
    elif isinstance(net, Mapping):
        layers = _read_state_dict(net, torch)
        hidden = "relu" if activation is None else activation
        last = "linear" if output_activation is None else output_activation
    elif isinstance(net, torch.nn.Module):
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential or its state_dict, got "
            f"{type(net).__name__} (pass the Sequential inside it, or its state_dict)"
        )
    else:
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential or its state_dict, got "
            f"{type(net).__name__}"
        )
    sizes = [weight.shape[1] for weight, _, _ in layers] + [layers[-1][0].shape[0]]
    weights = [(_rows(w), _row(b, w.shape[0])) for w, b, _ in layers]
    return MLP(sizes[0], sizes[1:], hidden, last, weights=weights)


def _read_sequential(net: Any, torch: Any) -> list[tuple[Any, Any, str]]:
    """(weight, bias or None, activation) for each Linear, with the checks that keep the MLP
    equal to the Sequential."""
    layers: list[list[Any]] = []
    for where, module in _flatten(net, "", torch):
        kind = type(module).__name__
        if isinstance(module, torch.nn.Linear):
            if layers and layers[-1][0].shape[0] != module.in_features:
                raise ValueError(
                    f"from_torch: layer {where} ({module}) takes {module.in_features} inputs, "
                    f"but the Linear before it gives {layers[-1][0].shape[0]}"
                )
            layers.append([module.weight, module.bias, "linear"])
        elif kind in _MODULES.values() and type(module) is getattr(torch.nn, kind):
            if not layers:
                raise ValueError(f"from_torch: layer {where} ({kind}) comes before any Linear")
            if layers[-1][2] != "linear":
                raise ValueError(
                    f"from_torch: layer {where} ({kind}) follows another activation; an MLP "
                    f"has one activation after each Linear"
                )
            layers[-1][2] = {m: a for a, m in _MODULES.items()}[kind]
        elif isinstance(module, torch.nn.Identity):
            continue
        elif isinstance(module, torch.nn.Dropout):
            if module.training and module.p > 0:
                raise ValueError(
                    f"from_torch: layer {where} ({module}) is in train mode; an MLP has no "
                    f"dropout: call .eval() on the Sequential first (dropout then does nothing)"
                )
        else:
            raise ValueError(
                f"from_torch: layer {where} ({module}) has no counterpart in an MLP, which "
                f"holds only Linear layers and ReLU, Tanh or Sigmoid activations"
            )
    if not layers:
        raise ValueError("from_torch: the Sequential holds no Linear layer")
    return [(w, b, a) for w, b, a in layers]


def _flatten(net: Any, prefix: str, torch: Any) -> list[tuple[str, Any]]:
    out = []
    for name, module in net.named_children():
        if isinstance(module, torch.nn.Sequential):
            out += _flatten(module, f"{prefix}{name}.", torch)
        else:
            out.append((f"{prefix}{name}", module))
    return out


def _activations(layers: list[tuple[Any, Any, str]]) -> tuple[str | None, str | None]:
    """The hidden layers' shared activation (None with one layer) and the last one's."""
    hidden = {a for _, _, a in layers[:-1]}
    if len(hidden) > 1:
        used = ", ".join(f"Linear {i}: {a}" for i, (_, _, a) in enumerate(layers[:-1]))
        raise ValueError(
            f"from_torch: an MLP has one activation for all its hidden layers; this Sequential "
            f"mixes them ({used})"
        )
    return (hidden.pop() if hidden else None), layers[-1][2]


_KEY = re.compile(r"(.*?)(\d+)\.(weight|bias)")


def _read_state_dict(state: Mapping[str, Any], torch: Any) -> list[tuple[Any, Any, str]]:
    groups: dict[int, dict[str, Any]] = {}
    prefixes = set()
    for key, tensor in state.items():
        match = _KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(
                f"from_torch: state_dict entry {key!r} is not a Sequential Linear's "
                f"'<index>.weight' or '<index>.bias'"
            )
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(
                f"from_torch: state_dict entry {key!r} is a {type(tensor).__name__}, not a tensor"
            )
        prefix, index, kind = match.groups()
        prefixes.add(prefix)
        groups.setdefault(int(index), {})[kind] = tensor
    if len(prefixes) > 1:
        raise ValueError(f"from_torch: the state_dict mixes modules: {sorted(prefixes)}")
    if not groups:
        raise ValueError("from_torch: the state_dict is empty")
    layers = []
    for index in sorted(groups):
        entry = groups[index]
        weight = entry.get("weight")
        if weight is None or weight.dim() != 2:
            raise ValueError(
                f"from_torch: state_dict layer {index} needs a 2-d '{index}.weight' (a Linear's)"
            )
        bias = entry.get("bias")
        if bias is not None and tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(
                f"from_torch: state_dict '{index}.bias' has shape {tuple(bias.shape)}, the "
                f"weight has {weight.shape[0]} rows"
            )
        if layers and layers[-1][0].shape[0] != weight.shape[1]:
            raise ValueError(
                f"from_torch: state_dict layer {index} takes {weight.shape[1]} inputs, but the "
                f"layer before it gives {layers[-1][0].shape[0]}"
            )
        layers.append((weight, bias, ""))
    return layers


def _rows(weight: Any) -> list[list[float]]:
    return weight.detach().to("cpu").double().tolist()


def _row(bias: Any, n: int) -> list[float]:
    return [0.0] * n if bias is None else bias.detach().to("cpu").double().tolist()


__all__ = ["from_torch", "to_torch"]
