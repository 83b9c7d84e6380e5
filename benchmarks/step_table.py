"""The headline measurement: the whole training step as users write it, every engine side by
side, and what recording a tape costs.

For each network shape, every engine's step is built from the same weights and run twice (the
losses of those two steps, before and after one update, are compared across engines), then
timed in rounds: in each round every engine runs a few steps back to back, each step timed on
its own, the engines taking turns in an order that rotates from round to round, so a noisy
spell on the shared machine hits all of them alike. Python's cyclic collector stays on and
nothing is collected by force: each engine pays for its own garbage. The figure is the
median step, by the wall clock and, apart, by the process's CPU time (on a shared machine the
wall clock also counts the time other jobs held the CPU, more often in longer steps).

The engines run in this one process, except micrograd: its graph is made of reference cycles
that the collector frees, and in this process it would free them during the other engines'
steps. It runs in a worker process of its own, taking its turn in the same rounds.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from . import peers, steps
from .processes import EngineProcess, failure

# The loss after one step must agree with hand-written NumPy this closely (relative); JAX's
# compiler may reorder sums, so it gets more room.
AGREE = {"default": 1e-12, "jax": 1e-9}
# Engines that build a graph of scalars run only where a step takes reasonable time.
MAX_WIDTH = {"nn": 64, "micrograd": 16}
NO_DIGITS = {"micrograd": "not run (about 9 s a step)"}


class Local:
    """An engine whose step runs in this process."""

    def __init__(self, engine: str, shape: steps.Shape) -> None:
        self.engine = engine
        self.step = steps.make(engine, shape)

    def run(self, count: int) -> dict[str, list[float]]:
        return steps.timed(self.step, count)

    def close(self) -> None:
        pass


class Remote:
    """micrograd, in a worker process of its own (see the module's docstring)."""

    def __init__(self, engine: str, shape: steps.Shape, stderr: Any) -> None:
        self.engine = engine
        self.shape = shape.name
        self.proc = EngineProcess(engine, peers.peer(engine).folder, stderr)
        answer = self.proc.ask(cmd="step_setup", shape=shape.name)
        if failure(answer):
            self.proc.close()
            raise RuntimeError(failure(answer))

    def run(self, count: int) -> dict[str, list[float]]:
        answer = self.proc.ask(cmd="step_run", shape=self.shape, steps=count)
        if failure(answer):
            raise RuntimeError(failure(answer))
        return answer

    def close(self) -> None:
        self.proc.close()


def available(engines: list[str], install: bool, log: Any) -> tuple[list[str], dict[str, str]]:
    """The engines of the table that can run here, and why each other one cannot."""
    skipped: dict[str, str] = {}
    usable = []
    for engine in engines:
        reason = ""
        if engine in ("gradwalk", "nn", "numpy", "torch"):
            module = {"gradwalk": "autograd", "nn": "nn"}.get(engine, engine)
            try:
                __import__(module)
            except ImportError as exc:
                reason = f"not installed ({exc})"
        else:  # a peer: installed on first use into benchmarks/peers/
            peer = peers.peer(engine)
            if not install and not peer.installed():
                reason = "not installed (--no-install)"
            else:
                reason = peers.ensure(peer, log=log)
            if not reason and engine == "jax":
                reason = _import_jax(peer.folder)
        if reason:
            skipped[engine] = reason
            log(f"  step table: {engine} skipped: {reason}")
        else:
            usable.append(engine)
    return usable, skipped


def _import_jax(folder: Path) -> str:
    if str(folder) not in sys.path:
        sys.path.append(str(folder))  # last: the project's NumPy comes first
    try:
        import jax  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any failure to load is a reason to skip
        return f"does not import: {type(exc).__name__}: {exc}"[:200]
    return ""


def versions(engines: list[str]) -> dict[str, str]:
    """The version of every library the table ran."""
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    wanted = ["gradwalk", "numpy", *(e for e in ("torch", "jax") if e in engines)]
    for name in wanted + (["jaxlib"] if "jax" in engines else []):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if "micrograd" in engines:
        folder = peers.peer("micrograd").folder
        dists = list(metadata.distributions(path=[str(folder)]))
        out["micrograd"] = dists[0].version if dists else "?"
    return out


def measure_shape(shape: steps.Shape, engines: list[str], plan: dict[str, Any], log: Any,
                  stderr: Any) -> dict[str, Any]:
    """Every engine's step on `shape`: times, the two first losses, gradwalk's phases."""
    out: dict[str, Any] = {"load": os.getloadavg()[0]}
    runners: dict[str, Any] = {}
    warmup = len(shape.batches())
    for engine in engines:
        if shape.kind == "digits" and engine in NO_DIGITS:
            out[engine] = {"skip": NO_DIGITS[engine]}
            continue
        if shape.kind == "moons" and shape.width > MAX_WIDTH.get(engine, math.inf):
            out[engine] = {"skip": f"not run (up to width {MAX_WIDTH[engine]})"}
            continue
        try:
            runner = (Remote(engine, shape, stderr) if engine == "micrograd"
                      else Local(engine, shape))
            losses = runner.run(2)["losses"]  # the check
            # Untimed: one pass over the batches, so first calls (JAX's compile, a tape's
            # recording for labels it has not seen) are done before timing starts.
            warm = runner.run(max(2, warmup))["seconds"]
        except Exception as exc:  # noqa: BLE001 - one engine failing must not stop the others
            out[engine] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            log(f"    {engine}: {out[engine]['error']}")
            continue
        runners[engine] = runner
        per_round = plan["round_seconds"] / max(min(warm), 1e-6)
        out[engine] = {"losses": losses, "times": [], "cpu": [],
                       "per_round": int(min(plan["max_steps"], max(1, math.ceil(per_round))))}
        if engine == "gradwalk":
            runner.step.phases.clear()
    order = list(runners)
    for r in range(plan["rounds"] if order else 0):
        k = r % len(order)  # each round starts with another engine
        for engine in order[k:] + order[:k]:
            cell = out[engine]
            if "error" in cell:
                continue
            try:
                got = runners[engine].run(cell["per_round"])
            except Exception as exc:  # noqa: BLE001
                cell["error"] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            cell["times"].extend(got["seconds"])
            cell["cpu"].extend(got["cpu"])
    for engine, runner in runners.items():
        if engine == "gradwalk":
            out[engine]["phases"] = [list(p) for p in runner.step.phases]
        runner.close()
    out["load_after"] = os.getloadavg()[0]
    return out


def agreement(cell: dict[str, Any]) -> dict[str, float]:
    """Each engine's loss after one step, relative to hand-written NumPy's (or PyTorch's)."""
    ref_engine = next((e for e in ("numpy", "torch") if cell.get(e, {}).get("losses")), None)
    if ref_engine is None:
        return {}
    ref = cell[ref_engine]["losses"][1]
    return {e: abs(c["losses"][1] - ref) / max(1.0, abs(ref))
            for e, c in cell.items() if isinstance(c, dict) and c.get("losses")}


def disagreements(cell: dict[str, Any]) -> list[str]:
    return [f"{e} differs by {d:.2g}" for e, d in agreement(cell).items()
            if d > AGREE.get(e, AGREE["default"])]


def recording(plan: dict[str, Any], log: Any, stderr: Any) -> dict[str, Any]:
    """What recording costs: `tape(...)` + the batch plan (each in a fresh worker, time and
    memory apart), and the full-batch tape's compile in a worker with a memory cap."""
    out: dict[str, Any] = {"shape": plan["record_shape"], "cap": plan["memory_cap"],
                           "full_batch": {}}
    for memory in (False, True):
        proc = EngineProcess("gradwalk", None, stderr)
        answer = proc.ask(cmd="recording_cost", shape=plan["record_shape"], memory=memory)
        proc.close()
        out["memory" if memory else "time"] = (
            {"error": failure(answer)} if failure(answer)
            else {k: v for k, v in answer.items() if k != "ok"})
    log(f"  recording at {plan['record_shape']} done")
    for width in plan["full_batch_widths"]:
        proc = EngineProcess("gradwalk", None, stderr, memory_cap=plan["memory_cap"])
        started = time.perf_counter()
        answer = proc.ask(timeout=plan["full_batch_timeout"], cmd="full_batch_cost",
                          shape=f"moons-{width}")
        seconds = time.perf_counter() - started
        proc.close()
        out["full_batch"][str(width)] = (
            {"error": failure(answer).rstrip(": "), "seconds": seconds} if failure(answer)
            else {k: v for k, v in answer.items() if k != "ok"})
        log(f"  full-batch tape at width {width}: "
            + (failure(answer) or f"compiled in {answer['compile']:.1f} s"))
    return out


def run(plan: dict[str, Any], engines: list[str], install: bool, log: Any,
        stderr: Any) -> dict[str, Any]:
    """The whole table: every shape of the plan, then the recording costs. `engines` of
    STEP_ENGINES; "gradwalk" brings its eager `nn` step and hand-written NumPy along."""
    wanted = set(engines) | ({"nn", "numpy"} if "gradwalk" in engines else set())
    engines = [e for e in ("gradwalk", "torch", "numpy", "jax", "nn", "micrograd") if e in wanted]
    usable, skipped = available(engines, install, log)
    results: dict[str, Any] = {"skipped": skipped, "versions": versions(usable),
                               "shapes": {}, "engines": usable}
    for name in plan["shapes"]:
        shape = steps.parse_shape(name)
        cell = measure_shape(shape, usable, plan, log, stderr)
        results["shapes"][name] = cell
        med = {e: statistics.median(c["times"]) for e, c in cell.items()
               if isinstance(c, dict) and c.get("times")}
        worst = max(agreement(cell).values(), default=float("nan"))
        log(f"  {shape.title}: " + ", ".join(f"{e} {t * 1e3:.3g} ms" for e, t in med.items())
            + f"; losses after one step agree to {worst:.1g}"
            + "".join(f"; {d}" for d in disagreements(cell)))
    if "gradwalk" in usable and plan.get("record_shape"):
        results["recording"] = recording(plan, log, stderr)
    return results
