"""How often `check_grads` cries wolf: random expressions, the engine against sympy, and
check_grads's verdict. A one-off measurement, not part of `make test`.

    python benchmarks/check_grads_false_alarms.py --orders 1 2 --count 100000 --orders3 10000
    python benchmarks/check_grads_false_alarms.py --git 16156a2 --count 5000   # an older checker

Expressions come from `autograd.testing.strategies.expressions()` (hypothesis, default
arguments), in batches with their own seeds, spread over `--jobs` processes. For each drawn
expression and order k, every partial derivative up to order k is computed by the engine
(nested `grad`) and by sympy (`Expression.symbolic_derivative`), and `check_grads(expr,
*expr.point, order=k)` is run. Outcomes:

- engine fault: some partial differs from sympy by more than 1e-9 * max(1, |exact|). These
  are left out of the false-alarm count and listed: they would be bugs in the engine.
- false alarm: the engine agrees with sympy, and check_grads raised AssertionError.
- also counted: partials where the engine is within 1e-9 absolute but not 1e-9 relative
  (tiny derivatives; still "agrees"), check_grads raising anything else, sympy failing.

Cost: wall time of each check_grads call and the number of times it calls f. With the
current checker (which has `_agree`), the worst ratio |engine - estimate| / tolerance seen
is reported too: how close a correct engine came to an alarm.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import math
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

AGREE = 1e-9

_checker: Any = None  # the check module used in this process
_ratios: Any = None  # and what watches its comparisons


def load_checker(path: str | None) -> Any:
    """`autograd.testing.check`, or the check.py at `path` loaded in its place (as a module of
    the `autograd.testing` package, so its relative imports work)."""
    if path is None:
        import autograd.testing.check as module

        return module
    spec = importlib.util.spec_from_file_location("autograd.testing._check_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def draw(seed: int, count: int) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from autograd.testing.strategies import expressions

    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(expressions())
    def collect(expr: Any) -> None:
        drawn.append(expr)

    collect()
    return drawn


def nested_grad(f: Any, wrt: tuple[int, ...]) -> Any:
    from autograd import grad

    for i in wrt:
        f = grad(f, argnums=i)
    return f


class Ratios:
    """Wraps the checker's `_compare` to note |engine - estimate| / tolerance of each final
    comparison with finite differences."""

    def __init__(self, module: Any) -> None:
        self.worst = 0.0
        original = module._compare

        def noting(engine: float, estimate: Any, engine_rounding: float, wrt: Any, rtol: float,
                   atol: float) -> None:
            bound = module._tolerance(engine, estimate, engine_rounding, rtol, atol)
            gap = abs(engine - estimate.value)
            if gap > 0:
                self.worst = max(self.worst, gap / bound if bound > 0 else math.inf)
            original(engine, estimate, engine_rounding, wrt, rtol, atol)

        module._compare = noting


def run_batch(task: tuple[int, int, int, str | None]) -> dict[str, Any]:
    order, seed, count, checker_path = task
    global _checker, _ratios
    if _checker is None:
        _checker = load_checker(checker_path)
        _ratios = Ratios(_checker) if hasattr(_checker, "_agree") else None
    ratios = _ratios
    out: dict[str, Any] = {"order": order, "drawn": 0, "faults": [], "false_alarms": [],
                           "tiny": 0, "other_errors": [], "oracle_failed": 0, "ms": 0.0,
                           "calls": 0, "hashes": [], "worst": []}
    for expr in draw(seed, count):
        out["drawn"] += 1
        out["hashes"].append(hashlib.blake2b(repr(expr).encode(), digest_size=8).digest())
        fault, tiny, failed = None, False, False
        for k in range(1, order + 1):
            for wrt in itertools.product(range(expr.n_inputs), repeat=k):
                engine = nested_grad(expr, wrt)(*expr.point)
                try:
                    exact = expr.symbolic_derivative(wrt)
                except Exception:  # sympy cannot evaluate it: no verdict
                    failed = True
                    continue
                if not math.isfinite(exact):
                    failed = True
                    continue
                gap = abs(engine - exact)
                if not gap <= AGREE * max(1.0, abs(exact)):
                    fault = fault or (wrt, engine, exact)
                elif gap > AGREE * abs(exact):
                    tiny = True
        calls = 0

        def f(*xs: Any, expr: Any = expr) -> Any:
            nonlocal calls
            calls += 1
            return expr(*xs)

        if ratios is not None:
            ratios.worst = 0.0
        start = time.perf_counter()
        alarm = None
        try:
            _checker.check_grads(f, *expr.point, order=order)
        except AssertionError as exc:
            alarm = str(exc)
        except Exception as exc:  # noqa: BLE001 -- any other failure is reported
            out["other_errors"].append(f"{expr!r}: {type(exc).__name__}: {exc}")
        out["ms"] += (time.perf_counter() - start) * 1000.0
        out["calls"] += calls
        if ratios is not None:
            if fault is None and alarm is None:
                out["worst"].append((ratios.worst, repr(expr)))
        out["tiny"] += tiny
        out["oracle_failed"] += failed
        if fault is not None:
            out["faults"].append(f"{expr!r}: d{wrt}: engine {fault[1]!r}, sympy {fault[2]!r}; "
                                 f"check_grads {'raised: ' + alarm if alarm else 'passed'}")
        elif alarm is not None:
            out["false_alarms"].append(f"{expr!r}: {alarm}")
    out["worst"] = sorted(out["worst"], reverse=True)[:5]
    return out


def checker_from_git(rev: str) -> str:
    text = subprocess.run(["git", "show", f"{rev}:autograd/testing/check.py"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout
    handle = tempfile.NamedTemporaryFile("w", suffix="_check.py", delete=False)
    handle.write(text)
    handle.close()
    return handle.name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1, 2],
                        help="orders run on --count expressions each (default 1 2)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--orders3", type=int, default=10_000,
                        help="expressions for order 3 (0: skip)")
    parser.add_argument("--batch", type=int, default=500, help="expressions per batch")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=40.0,
                        help="wall-time budget per order; batches not started by then are skipped")
    parser.add_argument("--seed", type=int, default=1)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--checker", help="a check.py file to test instead of the installed one")
    which.add_argument("--git", metavar="REV", help="test autograd/testing/check.py at REV")
    args = parser.parse_args(argv)
    path = checker_from_git(args.git) if args.git else args.checker
    plan = [(k, args.count) for k in args.orders if k != 3]
    if args.orders3:
        plan.append((3, args.orders3))
    print(f"checker: {path or 'autograd/testing/check.py'}; {args.jobs} processes, "
          f"batches of {args.batch}", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        for order, count in plan:
            summarise(order, count, run_order(pool, order, count, args, path))


def run_order(pool: ProcessPoolExecutor, order: int, count: int, args: argparse.Namespace,
              path: str | None) -> dict[str, Any]:
    batches = [(order, args.seed * 1_000_000 + order * 100_000 + b, min(args.batch, count - start),
                path) for b, start in enumerate(range(0, count, args.batch))]
    total: dict[str, Any] = {"drawn": 0, "faults": [], "false_alarms": [], "tiny": 0,
                             "other_errors": [], "oracle_failed": 0, "ms": 0.0, "calls": 0,
                             "hashes": set(), "worst": [], "skipped": 0}
    start = time.time()
    pending = iter(batches)
    running = set()
    for task in itertools.islice(pending, args.jobs * 2):
        running.add(pool.submit(run_batch, task))
    while running:
        done = next(as_completed(running))
        running.remove(done)
        part = done.result()
        for key in ("drawn", "tiny", "oracle_failed", "ms", "calls"):
            total[key] += part[key]
        for key in ("faults", "false_alarms", "other_errors", "worst"):
            total[key] += part[key]
        total["hashes"].update(part["hashes"])
        elapsed = time.time() - start
        print(f"order {order}: {total['drawn']}/{count} drawn, {len(total['false_alarms'])} "
              f"false alarms, {len(total['faults'])} engine faults, {elapsed / 60:.1f} min",
              flush=True)
        if elapsed < args.minutes * 60:
            task = next(pending, None)
            if task is not None:
                running.add(pool.submit(run_batch, task))
    total["skipped"] = sum(1 for _ in pending)
    total["minutes"] = (time.time() - start) / 60
    return total


def summarise(order: int, count: int, t: dict[str, Any]) -> None:
    n = t["drawn"]
    print(f"\n== order {order}: {n} expressions drawn ({len(t['hashes'])} distinct) of {count} "
          f"asked, {t['minutes']:.1f} min wall time"
          + (f"; {t['skipped']} batches skipped by the time budget" if t["skipped"] else ""))
    print(f"engine faults (engine != sympy beyond {AGREE:g} * max(1, |exact|)): "
          f"{len(t['faults'])}")
    for line in t["faults"][:10]:
        print("   ", line)
    checked = n - len(t["faults"])
    print(f"false alarms: {len(t['false_alarms'])} of {checked} "
          f"({100.0 * len(t['false_alarms']) / max(1, checked):.3f}%)")
    for line in t["false_alarms"][:10]:
        print("   ", line)
    print(f"other errors from check_grads: {len(t['other_errors'])}")
    for line in t["other_errors"][:5]:
        print("   ", line)
    print(f"expressions with a tiny derivative off by more than {AGREE:g} relative (but within "
          f"{AGREE:g} absolute): {t['tiny']}; sympy could not evaluate: {t['oracle_failed']}")
    print(f"cost of one check_grads call: {t['ms'] / max(1, n):.2f} ms, "
          f"{t['calls'] / max(1, n):.1f} evaluations of f (mean)")
    if t["worst"]:
        worst = sorted(t["worst"], reverse=True)[:3]
        print("closest calls, |engine - estimate| / tolerance, correct engine, no alarm:")
        for ratio, expr in worst:
            print(f"    {ratio:.3g}  {expr}")
    print(flush=True)


if __name__ == "__main__":
    main()
