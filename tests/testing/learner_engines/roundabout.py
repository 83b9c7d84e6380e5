"""A correct engine whose every formula rounds differently from gradwalk's: sigmoid through
tanh, exp as a power of e, log through log2, cos through sin, division and subtraction through
other ops, derivatives recomputed from the input rather than the output. Its numbers differ from
ours in the last bits, which the grader must not take for mistakes."""

import math

from .lecture import Value as Lecture


class Value(Lecture):
    def exp(self):
        out = self._node(math.e**self.data, (self,), "exp")

        def _backward():
            self.grad += math.e**self.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = self._node(math.log2(self.data) / math.log2(math.e), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def sigmoid(self):
        return (((self * 0.5).tanh()) + 1) * 0.5

    def cos(self):
        out = self._node(math.sin(self.data + math.pi / 2), (self,), "cos")

        def _backward():
            self.grad -= math.cos(self.data - math.pi / 2) * out.grad

        out._backward = _backward
        return out

    def sqrt(self):
        out = self._node(math.exp(0.5 * math.log(self.data)), (self,), "sqrt")

        def _backward():
            self.grad += 0.5 * self.data**-0.5 * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * (other if isinstance(other, Lecture) else self._wrap(other)) ** -1

    def __sub__(self, other):
        return self + (-1.0) * other
