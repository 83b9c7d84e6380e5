"""Where one training step of workload 1 spends its time, on this engine.

    python benchmarks/profile_step.py               # Value ops, 10 steps
    python benchmarks/profile_step.py --impl nn --steps 20 --top 25

Prints the share of wall time spent in Python's cyclic garbage collector (timed with
`gc.callbacks`, collections per generation), then cProfile's top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import workloads  # noqa: E402
from benchmarks.kits import GradwalkKit  # noqa: E402


class GCTimer:
    """Adds up the time the cyclic collector runs, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._t0
            self.count[info["generation"]] += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=["ops", "nn"], default="ops")
    p.add_argument("--workload", choices=["moons", "seed"], default="moons")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args(argv)

    step = workloads.make_program(args.workload, args.impl, GradwalkKit())
    step()  # warm-up
    timer = GCTimer()
    gc.callbacks.append(timer)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    wall = time.perf_counter() - t0
    gc.callbacks.remove(timer)
    in_gc = sum(timer.seconds)
    counts = ", ".join(f"{c / args.steps:.1f}" for c in timer.count)
    times = ", ".join(f"{s / args.steps * 1e3:.1f} ms" for s in timer.seconds)
    print(f"{args.workload}/{args.impl}: {wall / args.steps * 1e3:.1f} ms per step (GC on), "
          f"{in_gc / wall:.0%} of it in the cyclic GC (per step, by generation 0/1/2: "
          f"{counts} collections taking {times})")

    gc.disable()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    off = time.perf_counter() - t0
    gc.enable()
    print(f"with the collector off: {off / args.steps * 1e3:.1f} ms per step")

    forward = getattr(step, "forward", None)
    if forward is not None:  # the forward pass alone (graph built, then dropped)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            forward()
        fwd = (time.perf_counter() - t0) / args.steps
        print(f"forward pass alone (GC on): {fwd * 1e3:.1f} ms, so backward + update: "
              f"{(wall / args.steps - fwd) * 1e3:.1f} ms")

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.steps):
        step()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("tottime")
    stats.print_stats(args.top)
    text = out.getvalue()
    root = str(Path(__file__).resolve().parent.parent) + "/"
    print(text.replace(root, ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
