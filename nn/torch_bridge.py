"""An `MLP` to a PyTorch `nn.Sequential` and back, with the same weights (needs `torch`).

`to_torch(model)` writes each layer as a `Linear` (weights as rows, one per neuron, as
`nn.Linear` stores them) followed by its activation module (`ReLU`, `Tanh`, `Sigmoid`; nothing
for a linear layer), in float64 unless told otherwise, so the two compute the same function to
rounding (about 1e-16) and a training step from the same weights gives the same loss and
gradients.

`from_torch(net)` reads such a `Sequential` (or its `state_dict`) back into an `MLP`:

- `Linear` layers, each followed by at most one `ReLU`, `Tanh` or `Sigmoid`; `Identity`,
  `Dropout` in eval mode (or with p = 0) and nested `Sequential`s are looked through;
- exactly those classes, with no forward hooks: a subclass (a scaled or LoRA-style `Linear`, a
  parametrized one, a `Sequential` with its own `forward`) or a hook may compute something
  else, so it is a `ValueError` naming the layer, not read as the class it extends;
- the hidden layers must share one activation, as an `MLP`'s do (the last may differ);
- a `Linear` made with `bias=False` is read with a bias of 0: the same function. In the `MLP`
  that bias is a parameter like any other, so further training moves it where PyTorch's
  layer has none to move;
- anything else (a `Conv2d`, a `LeakyReLU`, a `Dropout` in train mode, a `Softmax`) is a
  `ValueError` naming the layer: the `MLP` could not compute the same thing.

A `state_dict` holds no activations: give them as `activation=` and `output_activation=`
(micrograd's relu and linear by default).

Every weight tensor must hold real numbers (a complex one is a `ValueError`, not a silent loss
of its imaginary part) and as many numbers as its storage has: a file of a few bytes can hold a
tensor that repeats one number as a 40000 x 40000 matrix (`expand`), which `torch.load` reads
back happily; it is refused by name before anything is copied. A model of more than
`max_weights` weights (2,000,000 unless told: about 500 MB of Values) is refused too.

Importing `nn` never imports torch; calling these without it raises one `ImportError` that says
how to install it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .activations import ACTIVATIONS
from .module import MLP

TORCH_MISSING = (
    "the nn <-> PyTorch bridge needs PyTorch, which is not installed: pip install torch "
    "(this project is tested with torch==2.13.0)"
)

# Our activation names and the torch.nn modules that compute them.
_MODULES = {a.name: a.title for a in ACTIVATIONS.values() if a.torch}


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


MAX_WEIGHTS = 2_000_000
"""from_torch's default limit on the weights it reads (a weight takes about 250 bytes)."""


def from_torch(
    net: Any,
    *,
    activation: str | None = None,
    output_activation: str | None = None,
    max_weights: int = MAX_WEIGHTS,
) -> MLP:
    """An `MLP` with the weights of `net`: a `torch.nn.Sequential` (see the module docstring
    for what it may hold) or a `Sequential`'s `state_dict`, of at most `max_weights` weights.

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
        _check_exact(net, "the Sequential", torch.nn.Sequential)
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
    _check_sizes(layers, max_weights, torch)
    sizes = [weight.shape[1] for weight, _, _, _ in layers] + [layers[-1][0].shape[0]]
    weights = [(_numbers(w, name.format("weight")),
                [0.0] * w.shape[0] if b is None else _numbers(b, name.format("bias")))
               for w, b, _, name in layers]
    return MLP(sizes[0], sizes[1:], hidden, last, weights=weights)


def _read_sequential(net: Any, torch: Any) -> list[tuple[Any, Any, str, str]]:
    """(weight, bias or None, activation, name) for each Linear (`name.format("weight")` names
    a tensor in errors), with the checks that keep the MLP equal to the Sequential."""
    layers: list[list[Any]] = []
    nn = torch.nn
    exact = (nn.Linear, nn.Identity, nn.Dropout, *(getattr(nn, m) for m in _MODULES.values()))
    for where, module in _flatten(net, "", torch):
        kind = type(module).__name__
        for base in exact:
            if isinstance(module, base):
                _check_exact(module, f"layer {where}", base)
        if isinstance(module, torch.nn.Linear):
            if layers and layers[-1][0].shape[0] != module.in_features:
                raise ValueError(
                    f"from_torch: layer {where} ({module}) takes {module.in_features} inputs, "
                    f"but the Linear before it gives {layers[-1][0].shape[0]}"
                )
            layers.append([module.weight, module.bias, "linear", f"the {{}} of layer {where}"])
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
    return [(w, b, a, where) for w, b, a, where in layers]


def _check_exact(module: Any, where: str, base: Any) -> None:
    """Refuse a subclass of `base` (its own forward may compute anything) and a module with
    forward hooks (they may change its input or output): the MLP would differ silently."""
    name = type(module).__name__
    if type(module) is not base:
        raise ValueError(
            f"from_torch: {where} ({name}) is a subclass of torch.nn.{base.__name__}, not "
            f"torch.nn.{base.__name__} itself: it may compute something else (its own forward, "
            f"a parametrization), which an MLP would not; copy its weights into a plain "
            f"torch.nn.{base.__name__} if it computes the same"
        )
    hooks = [kind for kind in ("_forward_pre_hooks", "_forward_hooks")
             if getattr(module, kind, None)]
    if hooks:
        which = " and ".join(h.strip("_").replace("_", " ")[:-1] for h in hooks)
        raise ValueError(
            f"from_torch: {where} ({name}) has a {which}, which may change what it computes; "
            f"an MLP would not: remove it first"
        )


def _flatten(net: Any, prefix: str, torch: Any) -> list[tuple[str, Any]]:
    out = []
    for name, module in net.named_children():
        if isinstance(module, torch.nn.Sequential):
            _check_exact(module, f"layer {prefix}{name}", torch.nn.Sequential)
            out += _flatten(module, f"{prefix}{name}.", torch)
        else:
            out.append((f"{prefix}{name}", module))
    return out


def _activations(layers: list[tuple[Any, Any, str, str]]) -> tuple[str | None, str | None]:
    """The hidden layers' shared activation (None with one layer) and the last one's."""
    hidden = {a for _, _, a, _ in layers[:-1]}
    if len(hidden) > 1:
        used = ", ".join(f"Linear {i}: {a}" for i, (_, _, a, _) in enumerate(layers[:-1]))
        raise ValueError(
            f"from_torch: an MLP has one activation for all its hidden layers; this Sequential "
            f"mixes them ({used})"
        )
    return (hidden.pop() if hidden else None), layers[-1][2]


_KEY = re.compile(r"(.*?)(\d+)\.(weight|bias)")


def _read_state_dict(state: Mapping[str, Any], torch: Any) -> list[tuple[Any, Any, str, str]]:
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
    layers: list[tuple[Any, Any, str, str]] = []
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
        layers.append((weight, bias, "", f"state_dict entry '{prefix}{index}.{{}}'"))
    return layers


def _check_sizes(layers: list[tuple[Any, Any, str, str]], max_weights: int, torch: Any) -> None:
    """Every tensor real, strided and no larger than its storage; the total under the cap.
    Nothing is copied before all of them pass."""
    if isinstance(max_weights, bool) or not isinstance(max_weights, int) or max_weights < 1:
        raise ValueError(f"from_torch: max_weights must be a positive int, got {max_weights!r}")
    total = 0
    for weight, bias, _, name in layers:
        for kind, tensor in (("weight", weight), ("bias", bias)):
            if tensor is not None:
                _check_tensor(tensor, name.format(kind), torch)
                total += tensor.numel()
    if total > max_weights:
        raise ValueError(
            f"from_torch: the model has {total:,} weights, over max_weights={max_weights:,} "
            f"(each becomes a Value of about 250 bytes); pass a larger max_weights to read it"
        )


def _check_tensor(tensor: Any, where: str, torch: Any) -> None:
    dtype = tensor.dtype
    if dtype.is_complex:
        raise ValueError(f"from_torch: {where} holds complex numbers ({dtype}); an MLP's weights "
                         "are real (take .real yourself if the imaginary part is meant to go)")
    integers = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
    if not (dtype.is_floating_point or dtype in integers):
        raise ValueError(f"from_torch: {where} holds {dtype} numbers, not real ones")
    if tensor.layout is not torch.strided or tensor.device.type == "meta":
        raise ValueError(f"from_torch: {where} is a {tensor.layout} tensor on {tensor.device}; "
                         "only dense tensors with their numbers hold weights")
    declared = tensor.numel()
    held = tensor.untyped_storage().nbytes() // tensor.element_size() - tensor.storage_offset()
    if declared > max(held, 0):
        raise ValueError(
            f"from_torch: {where} has shape {tuple(tensor.shape)} ({declared:,} numbers) but its "
            f"storage holds {max(held, 0):,}: a view that repeats numbers (expand, as_strided) "
            f"would become {declared:,} Values; refused (call .contiguous() on it first if "
            f"that is meant)"
        )


def _numbers(tensor: Any, where: str) -> list[Any]:
    try:
        return tensor.detach().to("cpu").double().tolist()
    except (RuntimeError, NotImplementedError) as exc:  # a tensor torch cannot read out
        raise ValueError(f"from_torch: {where}: its numbers cannot be read ({exc})") from None


__all__ = ["from_torch", "to_torch"]
