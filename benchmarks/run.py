"""Run the speed benchmark: every engine on the same work, alternating runs, medians.

    python benchmarks/run.py            # full run, writes docs/bench.md and its pictures
    python benchmarks/run.py --quick    # fewer rounds and widths; writes benchmarks/results/
    python benchmarks/run.py --only step,chains

First, the training step as users write it (`step`, benchmarks/step_table.py): this engine's
tape and optimizer beside PyTorch, hand-written NumPy, JAX and micrograd, in one process, and
what recording a tape costs. Then the scalar engines on micrograd's own programs (`moons`,
`seed`, `chains`, `ops`, `memory`): every engine in its own worker process, the parent asking
each in turn for one run, so a noisy spell hits all engines alike. Peers (micrograd 0.1.0,
micrograd-cpp-engine, JAX) are installed on first run into benchmarks/peers/<name>/ with
`pip install --target`. Everything runs on one thread (BLAS, PyTorch, JAX).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# One thread for every library, set before any of them loads (worker processes inherit it):
# PyTorch's default pool made a 0.3 ms step take 56 ms on this shared 2-core machine, and
# multi-threaded BLAS did the same to NumPy's larger products.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from benchmarks import peers, report, step_report, step_table  # noqa: E402
from benchmarks.processes import ROOT, EngineProcess, failure  # noqa: E402
from benchmarks.workloads import OPS  # noqa: E402

WORKLOADS = ("step", "moons", "seed", "chains", "ops", "memory")


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    engine: str
    impl: str


ROWS = [
    Row("micrograd", "micrograd 0.1.0, Value ops", "micrograd", "ops"),
    Row("cpp", "micrograd-cpp-engine, Value ops", "micrograd-cpp-engine", "ops"),
    Row("gradwalk", "gradwalk, Value ops", "gradwalk", "ops"),
    Row("gradwalk-nn", "gradwalk, nn", "gradwalk", "nn"),
    Row("torch-scalar", "PyTorch, 0-d tensors", "torch", "ops"),
    Row("gradwalk-tape", "gradwalk, tape (the nn loss recorded once, replayed)", "gradwalk",
        "tape"),
    Row("floats", "plain floats, forward only", "floats", "floats"),
]
CHAIN_ENGINES = ["micrograd", "micrograd-cpp-engine", "gradwalk", "torch", "floats"]
# The step table's engines; "gradwalk" brings its eager `nn` step and hand-written NumPy along.
STEP_ENGINES = ["gradwalk", "torch", "jax", "micrograd"]
ALL_ENGINES = [*CHAIN_ENGINES, "jax"]
GIB = 1024**3

# How much of each workload a run does: full, --quick, and --smoke (the test suite's).
# The step table: `step_rounds` rounds, in each of which an engine runs for about
# `round_seconds` (at least one step, at most `max_steps`).
PLANS: dict[str, dict[str, Any]] = {
    "full": {
        "step": {"shapes": [*(f"moons-{w}" for w in (8, 16, 32, 64, 128, 256)), "digits"],
                 "rounds": 15, "round_seconds": 0.02, "max_steps": 10,
                 "record_shape": "moons-256", "full_batch_widths": [32, 64, 128],
                 "memory_cap": 6 * GIB, "full_batch_timeout": 900},
        "warmup": ["moons", "seed"], "rounds": {"moons": 7, "seed": 5},
        "gc_off_rounds": {"moons": 3, "seed": 2}, "steps": {"moons": 5, "seed": 3},
        "chain_sizes": [10**3, 10**4, 10**5, 10**6], "chain_rounds": 3, "chain_rounds_large": 1,
        "op_depth": 500, "op_chains": 40, "op_rounds": 3,
        "memory": {"gradwalk": (1000, 100), "gradwalk-nn": (1000, 100), "cpp": (50, 10)},
    },
    "quick": {
        "step": {"shapes": ["moons-8", "moons-64", "moons-256", "digits"], "rounds": 5,
                 "round_seconds": 0.01, "max_steps": 5, "record_shape": "moons-256",
                 "full_batch_widths": [32], "memory_cap": 4 * GIB, "full_batch_timeout": 300},
        "warmup": ["moons"], "rounds": {"moons": 3, "seed": 1},
        "gc_off_rounds": {"moons": 1, "seed": 0}, "steps": {"moons": 3, "seed": 1},
        "chain_sizes": [10**3, 10**4, 10**5], "chain_rounds": 1, "chain_rounds_large": 1,
        "op_depth": 500, "op_chains": 10, "op_rounds": 1,
        "memory": {"gradwalk": (100, 20), "gradwalk-nn": (100, 20)},
    },
    "smoke": {
        "step": {"shapes": ["moons-8", "digits"], "rounds": 2, "round_seconds": 0.0,
                 "max_steps": 2, "record_shape": "moons-8", "full_batch_widths": [8],
                 "memory_cap": 4 * GIB, "full_batch_timeout": 120},
        "warmup": [], "rounds": {"moons": 1, "seed": 1}, "gc_off_rounds": {"moons": 1, "seed": 0},
        "steps": {"moons": 1, "seed": 1},
        "chain_sizes": [100, 1000], "chain_rounds": 1, "chain_rounds_large": 1,
        "op_depth": 20, "op_chains": 2, "op_rounds": 1,
        "memory": {"gradwalk": (4, 2), "gradwalk-nn": (4, 2)},
    },
}


class Bench:
    def __init__(self, engines: list[str], plan: dict[str, Any], log: Any, stderr: Any) -> None:
        self.plan = plan
        self.log = log
        self.stderr = stderr
        self.skipped: dict[str, str] = {}
        self.procs: dict[str, EngineProcess] = {}
        self.results: dict[str, Any] = {"skipped": self.skipped}
        self.engines = [e for e in engines if self._available(e)]

    def _peer_dir(self, engine: str) -> Path | None:
        peer = next((p for p in peers.PEERS if p.name == engine), None)
        return peer.folder if peer else None

    def _available(self, engine: str) -> bool:
        if engine in self.skipped:
            return False
        proc = EngineProcess(engine, self._peer_dir(engine), self.stderr)
        answer = proc.ask(timeout=300, cmd="info")
        if failure(answer):
            self.skipped[engine] = f"does not load: {failure(answer)}"
            proc.close()
            return False
        self.procs[engine] = proc
        self.results.setdefault("versions", {})[engine] = answer["version"]
        if answer.get("added_ops"):
            self.results.setdefault("added_ops", {})[engine] = answer["added_ops"]
        return True

    def rows(self) -> list[Row]:
        return [r for r in ROWS if r.engine in self.engines]

    def close(self) -> None:
        for proc in self.procs.values():
            proc.close()

    # -- workloads 1 and 2: a training step / an epoch ---------------------------------------

    def training(self, workload: str) -> None:
        out = self.results.setdefault(workload, {})
        rows = []
        for row in self.rows():
            answer = self.procs[row.engine].ask(
                cmd="setup", workload=workload, impl=row.impl,
                warmup=workload in self.plan["warmup"],
            )
            if failure(answer):
                out[row.key] = {"skip": failure(answer)}
                self.log(f"  {row.label}: skipped ({failure(answer)})")
            else:
                out[row.key] = {"on": [], "off": []}
                rows.append(row)
        rounds = self.plan["rounds"][workload]
        gc_off = self.plan["gc_off_rounds"][workload]
        steps = self.plan["steps"][workload]
        # Every round with the collector on first, then those with it off: nothing is
        # collected by force before a step that is timed with it on.
        schedule = [(r, True) for r in range(rounds)] + [(r, False) for r in range(gc_off)]
        for r, gc_on in schedule:
            for row in _rotated(rows, r):
                if "error" in out[row.key] or (not gc_on and row.impl == "floats"):
                    continue
                answer = self.procs[row.engine].ask(
                    cmd="run", workload=workload, impl=row.impl, gc_on=gc_on, steps=steps,
                    cpu=self.plan.get("cpu", False),
                )
                if failure(answer):
                    out[row.key]["error"] = failure(answer)
                else:
                    out[row.key]["on" if gc_on else "off"].extend(answer["seconds"])
            self.log(f"  round {r + 1}/{rounds if gc_on else gc_off} "
                     f"(GC {'on' if gc_on else 'off'}) done")

    # -- workload 3: chains ------------------------------------------------------------------

    def chains(self) -> None:
        out = self.results.setdefault("chains", {})
        engines = [e for e in CHAIN_ENGINES if e in self.engines]
        for e in engines:
            out[e] = {"sizes": {}, "breaks": None}
        for n in self.plan["chain_sizes"]:
            rounds = self.plan["chain_rounds"] if n <= 10**5 else self.plan["chain_rounds_large"]
            for r in range(rounds):
                for e in _rotated(engines, r):
                    if out[e]["breaks"]:
                        continue
                    # GC off too (where a graph is built), to show what the collector costs
                    for gc_on in (True, False) if e != "floats" else (True,):
                        answer = self.procs[e].ask(cmd="chain", n=n, gc_on=gc_on)
                        if failure(answer):
                            out[e]["breaks"] = {"n": n, "reason": failure(answer)}
                            break
                        cell = out[e]["sizes"].setdefault(str(n), {})
                        for phase in ("forward", "backward"):
                            if phase in answer:
                                name = phase if gc_on else phase + "_gc_off"
                                cell.setdefault(name, []).append(answer[phase] / n)
            self.log(f"  depth {n:,} done")

    # -- workload 4: per-op cost, bytes per node, memory over many steps ---------------------

    def per_op(self) -> None:
        out = self.results.setdefault("per_op", {})
        engines = [e for e in CHAIN_ENGINES if e in self.engines]
        depth, chains = self.plan["op_depth"], self.plan["op_chains"]
        for op in OPS:
            for r in range(self.plan["op_rounds"]):
                for e in _rotated(engines, r):
                    cell = out.setdefault(e, {}).setdefault(op, {})
                    if "error" in cell:
                        continue
                    answer = self.procs[e].ask(cmd="per_op", op=op, depth=depth, chains=chains)
                    if failure(answer):
                        cell["error"] = failure(answer)
                        continue
                    for phase in ("forward", "backward"):
                        if phase in answer:
                            cell.setdefault(phase, []).append(answer[phase] / (depth * chains))
        self.log("  per-op costs done")
        self.bytes_per_node()

    def bytes_per_node(self) -> None:
        out = self.results.setdefault("bytes", {})
        for row in self.rows():
            if row.impl == "floats":
                continue
            fresh = EngineProcess(row.engine, self._peer_dir(row.engine), self.stderr)
            answer = fresh.ask(cmd="bytes_per_node", impl=row.impl)
            fresh.close()
            out[row.key] = {"error": failure(answer)} if failure(answer) else answer
        self.log("  bytes per node done")

    def memory(self) -> None:
        out = self.results.setdefault("memory", {})
        for row in self.rows():
            if row.key not in self.plan["memory"]:
                continue
            steps, every = self.plan["memory"][row.key]
            fresh = EngineProcess(row.engine, self._peer_dir(row.engine), self.stderr)
            answer = fresh.ask(cmd="memory", impl=row.impl, steps=steps, every=every)
            fresh.close()
            out[row.key] = {"error": failure(answer)} if failure(answer) else answer
            self.log(f"  memory over {steps} steps: {row.label} done")


def _rotated(items: list, r: int) -> list:
    """Round r starts at a different item, so no engine always runs first or last."""
    if not items:
        return items
    r %= len(items)
    return items[r:] + items[:r]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="a short run to check a change: fewer rounds, chains up to 10^5")
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cpu", action="store_true",
                   help="time the scalar workloads' steps by the worker thread's CPU time "
                        "instead of the wall clock (steadier on a machine other jobs share; the "
                        "step table always shows both)")
    p.add_argument("--only", default="", help=f"comma-separated workloads of {','.join(WORKLOADS)}")
    p.add_argument("--engines", default="",
                   help="comma-separated engines (default: all of " + ",".join(ALL_ENGINES) + ")")
    p.add_argument("--no-install", action="store_true", help="do not install missing peers")
    p.add_argument("--reinstall", action="store_true", help="retry peers that failed to install")
    p.add_argument("--out", default="",
                   help="folder for bench.md/bench.png/bench.json (default: docs/ for a full run "
                        "of everything, benchmarks/results/ otherwise)")
    p.add_argument("--from-json", default="", metavar="PATH",
                   help="measure nothing: rewrite the report from a saved bench-*.json")
    args = p.parse_args(argv)
    aliases = {"1": "moons", "2": "seed", "3": "chains", "4": "ops"}
    only = [aliases.get(w, w) for w in args.only.split(",") if w]
    for w in only:
        if w not in WORKLOADS:
            p.error(f"--only: unknown workload {w!r} (choose from {', '.join(WORKLOADS)})")
    args.workloads = only or list(WORKLOADS)
    args.engine_list = [e for e in args.engines.split(",") if e] or list(ALL_ENGINES)
    for e in args.engine_list:
        if e not in ALL_ENGINES:
            p.error(f"--engines: unknown engine {e!r} (choose from {', '.join(ALL_ENGINES)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    complete = mode == "full" and len(args.workloads) == len(WORKLOADS) and not args.engines
    out_dir = Path(args.out) if args.out else ROOT / ("docs" if complete else "benchmarks/results")
    results_dir = Path(args.out) if args.out else ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
        complete = not args.out and results.get("plan", {}).get("mode") == "full"
        write_report(results, Path(args.out) if args.out else ROOT / (
            "docs" if complete else "benchmarks/results"), log)
        return 0

    skipped: dict[str, str] = {}
    scalar = any(w != "step" for w in args.workloads)  # the worker-process workloads
    for peer in peers.PEERS:
        if not scalar or peer.name not in args.engine_list or peer.name not in CHAIN_ENGINES:
            continue  # the step table installs what it runs itself
        if args.no_install and not peer.installed():
            skipped[peer.name] = "not installed (--no-install)"
            continue
        reason = peers.ensure(peer, retry_failed=args.reinstall, log=log)
        if reason:
            skipped[peer.name] = reason
            log(f"skipping {peer.name}: {reason}")

    started = time.time()
    with open(results_dir / "workers.log", "w") as worker_log:
        plan = {**PLANS[mode], "cpu": args.cpu}
        bench = Bench([e for e in args.engine_list if e in CHAIN_ENGINES and e not in skipped]
                      if scalar else [], plan, log, worker_log)
        bench.skipped.update(skipped)
        bench.results["plan"] = {"mode": mode, **plan}
        bench.results["rows"] = {r.key: {"label": r.label, "engine": r.engine} for r in ROWS}
        load = os.getloadavg()[0]
        try:
            for w in args.workloads:
                log(f"workload {w} ...")
                if w == "step":
                    engines = [e for e in STEP_ENGINES if e in args.engine_list]
                    bench.results["step"] = step_table.run(
                        plan["step"], engines, not args.no_install, log,
                        worker_log)
                    continue
                {"moons": lambda: bench.training("moons"), "seed": lambda: bench.training("seed"),
                 "chains": bench.chains, "ops": bench.per_op, "memory": bench.memory}[w]()
        finally:
            bench.close()
    results = bench.results
    results["meta"] = report.machine(time.time() - started, " ".join(sys.argv[1:]))
    results["meta"]["load"] = [load, os.getloadavg()[0]]
    (results_dir / f"bench-{mode}.json").write_text(json.dumps(results, indent=1))
    write_report(results, out_dir, log)
    return 0


def write_report(results: dict[str, Any], out_dir: Path, log: Any) -> None:
    print(report.text(results))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.md").write_text(report.markdown(results))
    charts = [c for c in (report.chart(results, out_dir / "bench.png"),
                          step_report.chart(results, out_dir / "bench-step.png")) if c]
    log(f"wrote {out_dir / 'bench.md'}" + "".join(f" and {c}" for c in charts))


if __name__ == "__main__":
    sys.exit(main())
