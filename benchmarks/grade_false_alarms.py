"""How close `autograd.testing.grade` comes to crying wolf: correct learner engines whose
formulas round differently from ours (tanh through exp, sigmoid through tanh, cos through sin,
`a / b` as `a * b**-1`...), run on random programs exactly as `grade` draws them, and for each
program the largest |yours - ours| / tolerance over the output's value and every input's
gradient. A ratio above 1 would be a false alarm. A one-off measurement, not part of
`make test`.

    python benchmarks/grade_false_alarms.py --count 5000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):  # run as a script: the project and the learners' engines
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from learner_engines import lecture, local_grads, roundabout  # noqa: E402

from autograd.testing.grading.compare import Comparison, compare  # noqa: E402
from autograd.testing.grading.probe import probe  # noqa: E402
from autograd.testing.grading.search import programs  # noqa: E402

ENGINES = {"lecture": lecture.Value, "local_grads": local_grads.Value,
           "roundabout": roundabout.Value}


def worst_ratio(c: Comparison) -> float:
    """max |yours - ours| / tolerance over the output's value and the inputs' gradients."""
    last = len(c.ours.data) - 1
    pairs = [(c.yours.data[last], c.ours.data[last], c.data_tolerance[last])]
    pairs += [(c.yours.grads[i], c.ours.grads[i], c.grad_tolerance[i])
              for i in range(c.program.n_inputs)]
    return max(abs(y - o) / t for y, o, t in pairs)


def measure(name: str, count: int, run_seed: int) -> None:
    value_class = ENGINES[name]
    forms = probe(value_class, 1.0).found
    ratios: list[float] = []
    alarms: list[Comparison] = []

    @seed(run_seed)
    @settings(max_examples=count, database=None, deadline=None, derandomize=False,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(programs(forms))
    def run(program):
        c = compare(program, value_class, 1.0)
        if c is None:
            return
        ratios.append(worst_ratio(c))
        if not c.agrees():
            alarms.append(c)

    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    ratios.sort()
    median, high = ratios[len(ratios) // 2], ratios[int(len(ratios) * 0.999)]
    print(f"{name}: {len(ratios)} programs over {len(forms)} forms in {seconds:.1f} s; "
          f"false alarms {len(alarms)}; |yours - ours| / tolerance: median {median:.2g}, "
          f"99.9th percentile {high:.2g}, worst {ratios[-1]:.2g}")
    for c in alarms[:3]:
        print(c.program.code())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="programs per engine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", nargs="*", default=list(ENGINES))
    args = parser.parse_args()
    for name in args.engines:
        measure(name, args.count, args.seed)


if __name__ == "__main__":
    main()
