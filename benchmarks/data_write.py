"""What writing a number into a Value costs (`p.data = x`, as an optimizer's eager step does),
beside the floor a Python property setter sets and a bare slot write, in one run. The write
checks the number only when it is not a float and notes the write's tick for the tapes.

    .venv/bin/python benchmarks/data_write.py
"""

import timeit
from typing import Any

from autograd import Value


class _Property:
    __slots__ = ("_x",)

    def _get(self) -> float:
        return self._x

    def _set(self, x: float) -> None:
        self._x = x

    x = property(_get, _set)


class _Slot:
    __slots__ = ("x",)
    x: float


def main(number: int = 200_000, repeat: int = 7) -> dict[str, float]:
    v, prop, slot = Value(1.0, label="w"), _Property(), _Slot()
    prop.x = slot.x = 1.0
    cases: dict[str, tuple[str, dict[str, Any]]] = {"Value.data = x": ("v.data = 2.0", {"v": v}),
             "property setter (one line)": ("p.x = 2.0", {"p": prop}),
             "slot": ("s.x = 2.0", {"s": slot})}
    best = {name: float("inf") for name in cases}
    for _ in range(repeat):  # round-robin: the machine's load falls on every case alike
        for name, (stmt, names) in cases.items():
            best[name] = min(best[name], timeit.timeit(stmt, globals=names, number=number))
    return {name: t / number * 1e9 for name, t in best.items()}


if __name__ == "__main__":
    for name, ns in main().items():
        print(f"{name:28s} {ns:6.0f} ns")
