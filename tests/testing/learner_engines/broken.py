"""Engines that misbehave rather than compute wrong numbers: the grader must report each and
carry on (or stop cleanly), never hang or crash."""

import math
import sys

from .lecture import Value


class RaisingConstructor:
    """Cannot even be made."""

    def __init__(self, data):
        raise TypeError("this engine is not finished")


class NoBackward:
    """Has data and operators but no backward()."""

    def __init__(self, data):
        self.data = data

    def __add__(self, other):
        return NoBackward(self.data + other.data)


class LoopingBackward(Value):
    """A topological sort that never pops what it has finished: loops for ever."""

    def backward(self):
        stack, visited = [self], set()
        while stack:
            node = stack[-1]
            if node not in visited:
                visited.add(node)
                stack.extend(node._prev)


class RecursingBackward(Value):
    """A recursive topological sort with a typo (`v` for `child`): recursion without end.
    It also raises the recursion limit, which the grader must put back."""

    def backward(self):
        sys.setrecursionlimit(3000)
        topo = []

        def build(v):
            for child in v._prev:  # noqa: B007 - the typo under test
                build(v)
            topo.append(v)

        build(self)


class PlainNumberExp(Value):
    """exp returns a float: the graph ends there."""

    def exp(self):
        return math.exp(self.data)


class NoGradients(Value):
    """backward() seeds the output and stops: no node passes gradient on."""

    def backward(self):
        self.grad = 1.0


class LogRaises(Value):
    """log refuses inputs below 1 (a wrong domain check)."""

    def log(self):
        if self.data < 1:
            raise ValueError("log of a number below 1")
        return super().log()


class Chatty(Value):
    """Prints while it works, as learners debug: the report must not drown in it."""

    def backward(self):
        print("backward from", self.data)
        super().backward()


class LectureStart:
    """The lecture's first engine: `+`, `*` and tanh between Values only (no numbers)."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)

    def __add__(self, other):
        out = LectureStart(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        out = LectureStart(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = LectureStart(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


class Unhashable(Value):
    """Defines == (returning a Value, as comparisons in some engines do) and so loses its
    hash: its own `set(_children)` fails in every operator."""

    def __eq__(self, other):
        return self._node(float(self.data == getattr(other, "data", other)), (), "==")
