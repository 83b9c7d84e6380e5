"""How the workloads drive each engine that offers a micrograd-like scalar node.

A kit hides only what differs between engines (making a leaf, the ops micrograd 0.1.0 lacks,
the update step); the workload code itself uses the engines' own operators, as a user would.
Imported inside a worker process whose `sys.path` already points at the engine under test.
"""

from __future__ import annotations

import math
from typing import Any


class Kit:
    """The interface; every method is a thin call into the engine."""

    name = "?"
    python_heap = True  # tracemalloc sees its nodes (False for C++ cores)

    def param(self, x: float) -> Any:
        raise NotImplementedError

    def leaf(self, x: float) -> Any:
        return self.param(x)

    def sigmoid(self, v: Any) -> Any:
        return v.sigmoid()

    def log(self, v: Any) -> Any:
        return v.log()

    def tanh(self, v: Any) -> Any:
        return v.tanh()

    def zero_grad(self, params: list) -> None:
        for p in params:
            p.grad = 0.0

    def backward(self, loss: Any) -> None:
        loss.backward()

    def sgd(self, params: list, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    def value(self, v: Any) -> float:
        return float(v.data)

    def grad(self, v: Any) -> float:
        return float(v.grad)

    def count_nodes(self, root: Any) -> int | None:
        """Nodes in the graph under `root`, or None where the engine does not expose it."""
        return None


def _count(root: Any, parents: Any) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in parents(stack.pop()):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


class GradwalkKit(Kit):
    name = "gradwalk"

    def __init__(self) -> None:
        from autograd import Value

        self.Value = Value

    def param(self, x: float) -> Any:
        return self.Value(x)

    def count_nodes(self, root: Any) -> int:
        return _count(root, lambda v: v.parents)


def _add_micrograd_ops(Value: Any) -> list[str]:
    """micrograd 0.1.0 has only + * ** relu. Add exp, log and tanh the way micrograd itself
    writes an op (and its lecture adds exp and tanh): a node with a `_backward` closure."""
    added = []

    def unary(name: str, f: Any, df: Any) -> None:
        if hasattr(Value, name):
            return
        added.append(name)

        def method(self: Any) -> Any:
            out = Value(f(self.data), (self,), name)

            def _backward() -> None:
                self.grad += df(self.data, out.data) * out.grad

            out._backward = _backward
            return out

        setattr(Value, name, method)

    unary("exp", math.exp, lambda x, y: y)
    unary("log", math.log, lambda x, y: 1.0 / x)
    unary("tanh", math.tanh, lambda x, y: 1.0 - y * y)
    return added


class MicrogradKit(Kit):
    """micrograd 0.1.0 from PyPI, the reference. Its sigmoid is built from its ops."""

    name = "micrograd"

    def __init__(self) -> None:
        from micrograd.engine import Value

        self.Value = Value
        self.added = _add_micrograd_ops(Value)

    def param(self, x: float) -> Any:
        return self.Value(x)

    def sigmoid(self, v: Any) -> Any:
        return 1 / (1 + (-v).exp())

    def zero_grad(self, params: list) -> None:
        for p in params:
            p.grad = 0

    def count_nodes(self, root: Any) -> int:
        return _count(root, lambda v: v._prev)


class CppKit(Kit):
    """micrograd-cpp-engine: float32 tensors of shape (1,) with a C++ graph, eager backward."""

    name = "micrograd-cpp-engine"
    python_heap = False

    def __init__(self) -> None:
        import micrograd  # registers the C++ ops
        from micrograd import _C

        self.Tensor = _C.Tensor
        self.SGD = _C.SGD
        self._opt: Any = None
        self._opt_params: list | None = None
        del micrograd

    def param(self, x: float) -> Any:
        t = self.Tensor([x], [1])
        t.requires_grad_(True)
        return t

    def leaf(self, x: float) -> Any:
        return self.Tensor([x], [1])

    def zero_grad(self, params: list) -> None:
        for p in params:
            p.zero_grad()

    def sgd(self, params: list, lr: float) -> None:
        # Its tensors expose no writable data: the update goes through its own SGD.
        if self._opt_params is not params:
            self._opt, self._opt_params = self.SGD(params, lr), params
        self._opt.set_lr(lr)
        self._opt.step()

    def value(self, v: Any) -> float:
        return v.tolist()[0]

    def grad(self, v: Any) -> float:
        return v.grad().tolist()[0]


class TorchScalarKit(Kit):
    """PyTorch with one 0-d float64 tensor per scalar, micrograd-style code."""

    name = "torch-scalar"
    python_heap = False

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.f64 = torch.float64

    def param(self, x: float) -> Any:
        return self.torch.tensor(x, dtype=self.f64, requires_grad=True)

    def leaf(self, x: float) -> Any:
        return self.torch.tensor(x, dtype=self.f64)

    def zero_grad(self, params: list) -> None:
        for p in params:
            p.grad = None

    def sgd(self, params: list, lr: float) -> None:
        with self.torch.no_grad():
            for p in params:
                p -= lr * p.grad

    def value(self, v: Any) -> float:
        return v.item()

    def grad(self, v: Any) -> float:
        return 0.0 if v.grad is None else v.grad.item()


KITS = {
    "gradwalk": GradwalkKit,
    "micrograd": MicrogradKit,
    "micrograd-cpp-engine": CppKit,
    "torch": TorchScalarKit,
}
