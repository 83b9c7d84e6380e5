"""The classic mistakes, each as the lecture's engine with one method written wrong."""

import math

from .lecture import Value


class OverwritingAdd(Value):
    """`=` where `+=` belongs in `+`: wrong as soon as a value is used twice (`a + a`)."""

    def __add__(self, other):
        other = self._wrap(other)
        out = self._node(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out


class OverwritingTanh(Value):
    """`=` in tanh: shows only once tanh's input is also used by another op."""

    def tanh(self):
        t = math.tanh(self.data)
        out = self._node(t, (self,), "tanh")

        def _backward():
            self.grad = (1 - t**2) * out.grad

        out._backward = _backward
        return out


class TanhSlip(Value):
    """1 - t for tanh's derivative."""

    def tanh(self):
        t = math.tanh(self.data)
        out = self._node(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t) * out.grad

        out._backward = _backward
        return out


class PowSlip(Value):
    """x ** n differentiated as n * x ** n."""

    def __pow__(self, other):
        out = self._node(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += other * self.data**other * out.grad

        out._backward = _backward
        return out


class ForgotChainRule(Value):
    """`*` adds its local derivatives without multiplying by out.grad."""

    def __mul__(self, other):
        other = self._wrap(other)
        out = self._node(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data
            other.grad += self.data

        out._backward = _backward
        return out


class WrongSigmoid(Value):
    """A sign slip in sigmoid's forward value."""

    def sigmoid(self):
        s = 1 / (1 + math.exp(self.data))
        out = self._node(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out


class BreadthFirstBackward(Value):
    """backward() in breadth-first order from the output, each node once: a node reached by a
    short path sends its gradient on before a longer path has delivered its share."""

    def backward(self):
        self.grad = 1.0
        queue, seen = [self], {self}
        while queue:
            node = queue.pop(0)
            node._backward()
            for child in node._prev:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)


class NoTopologicalSort(Value):
    """backward() calls each node's _backward and recurses into its children, with no
    topological order and no record of what it visited."""

    def backward(self):
        self.grad = 1.0

        def go(node):
            node._backward()
            for child in node._prev:
                go(child)

        go(self)


class NoSeed(Value):
    """backward() forgets to start from grad 1.0."""

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        for node in reversed(topo):
            node._backward()


class GradAsValue(Value):
    """`*` adds a Value into .grad (`other` where `other.data` belongs)."""

    def __mul__(self, other):
        other = self._wrap(other)
        out = self._node(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other * out.grad
            other.grad += self * out.grad

        out._backward = _backward
        return out


class FlatRelu(Value):
    """relu's derivative always 0 (`out.data > 0` tested on the wrong node, say)."""

    def relu(self):
        out = self._node(max(0.0, self.data), (self,), "ReLU")

        def _backward():
            self.grad += 0.0 * out.grad

        out._backward = _backward
        return out


class IntegerPow(Value):
    """`**`'s derivative truncates the exponent: right for `x ** 2`, wrong for `x ** 0.5`.
    The small checks try integer exponents only; the random search finds this one."""

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int/float powers"
        out = self._node(self.data**other, (self,), f"**{other}")

        def _backward():
            n = int(other)
            self.grad += n * self.data ** (n - 1) * out.grad

        out._backward = _backward
        return out
