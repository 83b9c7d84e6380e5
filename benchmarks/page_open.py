"""How long the graph page of about 5,000 values takes to open in headless Chromium.

    python benchmarks/page_open.py              # 5 loads of a 5,065-value page, medians
    python benchmarks/page_open.py --samples 90 # a bigger graph (about 10,000 values)

The graph is micrograd's moons network, MLP(2, [16, 16, 1]), with a hinge loss over `samples`
random points (45 give 5,065 values). The page is written to out/ and opened from the file, as a
reader would open it. Two figures per load: `ready`, from the start of navigation to the end of
the page's start-up (parsed, laid out, first drawing done: `performance.now()` when it marks
itself ready), and `interactive`, wall time from asking the browser to open the file until a
click on a value has shown that value's numbers. Needs Playwright and a system Chromium (see
tests/views/pagebrowser.py).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograd import draw_html  # noqa: E402
from autograd.engine import walk  # noqa: E402
from nn import MLP  # noqa: E402
from nn.losses import hinge  # noqa: E402
from tests.views.pagebrowser import chromium, unavailable  # noqa: E402


def moons_graph(samples: int):  # noqa: ANN201
    random.seed(0)
    model = MLP(2, [16, 16, 1])
    points = [[random.uniform(-1.5, 2.5), random.uniform(-1, 1.5)] for _ in range(samples)]
    labels = [1 if a * b > 0 else -1 for a, b in points]
    loss = hinge([model(p) for p in points], labels)
    loss.label = "loss"
    loss.backward()
    return loss


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=45, help="points in the loss (45: 5,065 values)")
    p.add_argument("--loads", type=int, default=5, help="page loads to time (median reported)")
    p.add_argument("--out", default=str(ROOT / "out" / "page-5000.html"))
    args = p.parse_args(argv)
    why = unavailable()
    if why:
        print(f"cannot open a browser: {why}")
        return 1
    loss = moons_graph(args.samples)
    started = time.perf_counter()
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = draw_html(loss, path)
    made = time.perf_counter() - started
    values = len(walk(loss))
    print(f"{values:,} values; draw_html {made:.2f} s; page {len(page.encode()) / 1e6:.1f} MB")
    ready, interactive = [], []
    with chromium() as context:
        for _ in range(args.loads):
            tab = context.new_page()
            t0 = time.perf_counter()
            tab.goto(path.resolve().as_uri())
            tab.wait_for_selector("html[data-ready=true]", timeout=60_000)
            where = tab.evaluate("gradwalk.locate('loss')")
            tab.mouse.click(where["x"], where["y"])
            tab.wait_for_selector("#details[data-node='loss']", timeout=60_000)
            interactive.append(time.perf_counter() - t0)
            ready.append(tab.evaluate("gradwalk.readyMs") / 1000)
            tab.close()
    print(f"ready (navigation start to first drawing), median of {args.loads}: "
          f"{statistics.median(ready):.2f} s (min {min(ready):.2f}, max {max(ready):.2f})")
    print(f"interactive (open the file, click a value, its numbers shown), median: "
          f"{statistics.median(interactive):.2f} s (min {min(interactive):.2f}, "
          f"max {max(interactive):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
