"""One engine's worker process: reads JSON requests on stdin, answers one JSON line each.

    python -m benchmarks.worker ENGINE [PEER_DIR]

ENGINE is "gradwalk", "micrograd", "micrograd-cpp-engine", "torch" or "floats". PEER_DIR, when
given, goes first on sys.path, so `import micrograd` finds that peer's install and no other.
Requests are answered in order; state (a model being trained) is kept between them.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from typing import Any


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Worker:
    def __init__(self, engine: str) -> None:
        from . import workloads
        from .kits import KITS

        self.engine = engine
        self.workloads = workloads
        if engine == "torch":
            import torch

            # Tiny matrices gain nothing from threads, and on 2 busy cores torch's pool turned
            # a 0.3 ms step into 56 ms: one thread, as the fair setting for this work.
            torch.set_num_threads(1)
        self.kit = KITS[engine]() if engine in KITS else None
        self.programs: dict[tuple[str, str], Any] = {}

    # -- requests ----------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        version = "?"
        if self.engine in ("micrograd", "micrograd-cpp-engine"):
            from importlib import metadata

            dists = [d for d in metadata.distributions(path=sys.path[:1])]
            version = " ".join(f"{d.metadata['Name']}=={d.version}" for d in dists) or "?"
        elif self.engine == "torch":
            import torch

            version = torch.__version__
        elif self.engine == "gradwalk":
            import autograd

            version = autograd.__version__
        added = getattr(self.kit, "added", [])
        return {"version": version, "python": sys.version.split()[0], "added_ops": added}

    def setup(self, workload: str, impl: str, warmup: bool = True,
              width: int | None = None) -> dict[str, Any]:
        t0 = time.perf_counter()
        step = self.workloads.make_program(workload, impl, self.kit, width)
        seconds = time.perf_counter() - t0
        if warmup:
            step()  # untimed
        self.programs[workload, impl, width] = step
        return {"setup_seconds": seconds}

    def run(self, workload: str, impl: str, gc_on: bool = True, steps: int = 1,
            width: int | None = None, cpu: bool = False) -> dict[str, Any]:
        """Time `steps` steps run back to back, each on its own. With the collector on
        nothing else happens between them: each step pays for freeing what the one before
        left (for an engine with reference cycles, its cyclic garbage). With `cpu`, the time
        is this thread's CPU time, which other jobs on a busy machine do not inflate."""
        step = self.programs[workload, impl, width]
        clock = time.thread_time if cpu else time.perf_counter
        times = []
        if not gc_on:
            gc.disable()
        try:
            for _ in range(steps):
                t0 = clock()
                loss = step()
                times.append(clock() - t0)
        finally:
            if not gc_on:
                gc.enable()
        return {"seconds": times, "loss": loss}

    # -- the training step as users write it (benchmarks/steps.py) ---------------------------

    def step_setup(self, shape: str) -> dict[str, Any]:
        from . import steps

        self.programs["step", shape] = steps.make(self.engine, steps.parse_shape(shape),
                                                  self.kit)
        return {}

    def step_run(self, shape: str, steps: int) -> dict[str, Any]:
        """`steps` steps back to back, each timed; the collector left as it is (on)."""
        from .steps import timed

        return timed(self.programs["step", shape], steps)

    def recording_cost(self, shape: str, memory: bool = False) -> dict[str, Any]:
        """What recording a tape and its batch plan cost (run in a fresh worker)."""
        from . import steps

        return steps.recording_cost(steps.parse_shape(shape), memory)

    def full_batch_cost(self, shape: str) -> dict[str, Any]:
        """The full-batch tape's recording and compile (a fresh worker with a memory cap)."""
        from . import steps

        return steps.full_batch_cost(steps.parse_shape(shape))

    def chain(self, n: int, gc_on: bool = True) -> dict[str, Any]:
        if self.engine == "floats":
            return self.workloads.chain_floats(n)
        if not gc_on:
            gc.disable()
        try:
            return self.workloads.chain(self._need_kit(), n)
        finally:
            gc.enable()

    def per_op(self, op: str, depth: int, chains: int) -> dict[str, Any]:
        if self.engine == "floats":
            return self.workloads.per_op_floats(op, depth, chains)
        return self.workloads.per_op(self._need_kit(), op, depth, chains)

    def bytes_per_node(self, impl: str) -> dict[str, Any]:
        """Memory held by one workload-1 forward graph, per node. Run in a fresh worker."""
        import tracemalloc

        step = self.workloads.make_program("moons", impl, self.kit)
        forward = step.forward  # type: ignore[attr-defined]
        nodes = self._reference_nodes(impl)
        if getattr(self.kit, "python_heap", True):
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            graph = forward()
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            method = "tracemalloc"
        else:  # a C++ heap: resident memory over a few graphs held at once
            before = rss_bytes()
            graphs = [forward() for _ in range(4)]
            held = (rss_bytes() - before) // len(graphs)
            graph = graphs[0]
            method = "RSS"
        own = self.kit.count_nodes(graph) if self.kit else None
        del graph
        return {"bytes": held, "nodes": own or nodes, "method": method}

    def _reference_nodes(self, impl: str) -> int:
        """The node count of this program's graph as this project's engine records it (for
        engines that do not expose their graph)."""
        from .kits import GradwalkKit

        kit = GradwalkKit()
        step = self.workloads.make_program("moons", "nn" if impl == "nn" else "ops", kit)
        return kit.count_nodes(step.forward())  # type: ignore[attr-defined]

    def memory(self, impl: str, steps: int, every: int) -> dict[str, Any]:
        """RSS and GC-tracked objects every `every` steps of workload 1 (collector left on)."""
        step = self.workloads.make_program("moons", impl, self.kit)
        rss, objects, at = [], [], []
        t0 = time.perf_counter()
        for k in range(1, steps + 1):
            step()
            if k % every == 0:
                at.append(k)
                rss.append(rss_bytes())
                objects.append(len(gc.get_objects()))
        return {"steps": at, "rss": rss, "gc_objects": objects,
                "seconds": time.perf_counter() - t0}

    def _need_kit(self) -> Any:
        if self.kit is None:
            raise RuntimeError(f"{self.engine} has no scalar Value")
        return self.kit

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req.pop("cmd")
        return getattr(self, cmd)(**req)


def cap_memory() -> None:
    """Past the cap the parent asked for, an allocation fails with MemoryError instead of the
    machine running out of memory (set here rather than between fork and exec, which is
    unsafe once a threaded library such as JAX is loaded in the parent)."""
    from .processes import MEMORY_CAP_VARIABLE

    cap = os.environ.get(MEMORY_CAP_VARIABLE)
    if cap:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (int(cap), int(cap)))


def main() -> None:
    cap_memory()
    engine = sys.argv[1]
    if len(sys.argv) > 2:
        sys.path.insert(0, sys.argv[2])
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever an engine prints goes to stderr, not into the answers
    sys.setrecursionlimit(1000)  # Python's default, whatever the parent had
    from .workloads import Unsupported

    worker = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if worker is None:
                worker = Worker(engine)
            answer = {"ok": True, **worker.handle(req)}
        except Unsupported as exc:
            answer = {"ok": False, "skip": str(exc)}
        except (Exception, RecursionError) as exc:
            tb = traceback.format_exc(limit=3)
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300], "trace": tb}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
