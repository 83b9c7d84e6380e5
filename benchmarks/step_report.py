"""The step table's figures: medians, ratios to PyTorch and to hand-written NumPy, what
recording costs, the targets, and a chart of time per step against the hidden width."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from . import steps
from .step_table import AGREE, agreement

MB = 1e6
# The columns of the table, in order: engine key and heading.
COLUMNS = [
    ("gradwalk", "gradwalk: `t.mean` + `nn.optim`"),
    ("torch", "PyTorch"),
    ("numpy", "NumPy by hand"),
    ("jax", "JAX jit"),
    ("nn", "gradwalk, eager `nn`"),
    ("micrograd", "micrograd"),
]
NAMES = {"gradwalk": "gradwalk (t.mean + nn.optim)", "torch": "PyTorch", "numpy": "NumPy by hand",
         "jax": "JAX jit", "nn": "gradwalk eager nn", "micrograd": "micrograd"}
TARGETS = {"over_numpy": 2.0, "over_numpy_goal": 1.5, "record_seconds": 0.5,
           "record_bytes": 100e6}


def median(xs: list[float] | None) -> float | None:
    return statistics.median(xs) if xs else None


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms / 1e3:.3g} s"


def fmt_x(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}x" if x >= 100 else f"{x:.3g}x"


def medians(cell: dict[str, Any], clock: str = "times") -> dict[str, float]:
    """Median step time per engine that ran on this shape: by the wall clock ("times") or the
    process's CPU time ("cpu")."""
    return {e: statistics.median(c[clock]) for e, c in cell.items()
            if isinstance(c, dict) and c.get(clock)}


def phases(cell: dict[str, Any]) -> tuple[float | None, float | None]:
    """gradwalk's `t.mean` and `opt.step()` within its steps (medians)."""
    got = cell.get("gradwalk", {}).get("phases") or []
    return median([p[0] for p in got]), median([p[1] for p in got])


def _engine_cell(cell: dict[str, Any], engine: str, med: dict[str, float]) -> str:
    if engine in med:
        t = med[engine]
        ratios = [fmt_x(t / med[ref]) if ref in med else "-" for ref in ("torch", "numpy")]
        return f"{fmt_time(t)} ({ratios[0]} / {ratios[1]})"
    c = cell.get(engine)
    if c is None:
        return "-"
    return (c.get("skip") or c.get("error") or "-")[:60]


def _agree_cell(cell: dict[str, Any]) -> str:
    diffs = agreement(cell)
    if not diffs:
        return "-"
    bad = [f"{NAMES.get(e, e)}: {d:.1e}" for e, d in diffs.items()
           if d > AGREE.get(e, AGREE["default"])]
    worst = max(diffs.values())
    return (f"to {worst:.1e} ({len(diffs)} engines)" if not bad
            else "DISAGREE: " + ", ".join(bad))


def table(results: dict, clock: str = "times") -> list[list[str]]:
    """The step table by the wall clock, with gradwalk's parts, the losses' agreement and the
    load; or (clock "cpu") the same steps' CPU time alone."""
    step = results.get("step", {})
    head = ["network", *[h for _, h in COLUMNS]]
    if clock == "times":
        head += ["`t.mean` alone", "`opt.step()` alone", "losses after one step agree", "load"]
    lines = [head]
    for name, cell in step.get("shapes", {}).items():
        med = medians(cell, clock)
        row = [steps.parse_shape(name).title, *[_engine_cell(cell, e, med) for e, _ in COLUMNS]]
        if clock == "times":
            mean, update = phases(cell)
            row += [fmt_time(mean), fmt_time(update), _agree_cell(cell),
                    f"{cell.get('load', 0):.1f}"]
        lines.append(row)
    return lines


def recording_table(results: dict) -> list[list[str]]:
    rec = results.get("step", {}).get("recording")
    if not rec:
        return []
    shape = steps.parse_shape(rec["shape"])
    lines = [["what", "network", "record", "first call (prepares the replay)",
              "a later call", "memory", "note"]]
    t, m = rec.get("time", {}), rec.get("memory", {})
    if "record" in t:
        memory = (f"{m['peak'] / MB:.0f} MB traced at peak (process peak RSS "
                  f"+{m['rss_growth'] / MB:.0f} MB)" if "peak" in m else m.get("error", "-"))
        lines.append(["`tape(f, x0, y0)`, then `t.mean(X, y)`", shape.title,
                      fmt_time(t["record"]), fmt_time(t["first_mean"]), fmt_time(t["mean"]),
                      memory, ""])
    else:
        lines.append(["`tape(f, x0, y0)`, then `t.mean(X, y)`", shape.title, "-", "-", "-",
                      "-", t.get("error", "-")[:120]])
    cap = rec.get("cap", 0) / 2**30
    for width, c in rec.get("full_batch", {}).items():
        what = "full batch: `tape(loss, X, y)`, then `t(X, y)`"
        title = steps.parse_shape(f"moons-{width}").title
        if "error" in c:
            note = c["error"]
            if note.startswith("MemoryError"):
                note = f"ran out of the {cap:.0f} GiB memory cap ({note[:80]})"
            if "seconds" in c:
                note += f", after {c['seconds']:.0f} s"
            lines.append([what, title, "-", "-", "-", "-", note[:160]])
            continue
        grew = c["rss_peak"] - c["rss_before"]
        lines.append([what, title, fmt_time(c["record"]), fmt_time(c["compile"]),
                      fmt_time(c["replay"]),
                      f"peak RSS {c['rss_peak'] / MB:,.0f} MB (+{grew / MB:,.0f} MB)", ""])
    return lines


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the step's targets this run measured."""
    out: list[tuple[str, str, bool | None]] = []
    shapes = results.get("step", {}).get("shapes", {})
    over: dict[tuple[str, str], dict[str, float]] = {}  # (peer, clock) -> network -> ratio
    for name, cell in shapes.items():
        for clock in ("times", "cpu"):
            med = medians(cell, clock)
            for peer in ("torch", "numpy"):
                if "gradwalk" in med and peer in med:
                    over.setdefault((peer, clock), {})[name] = med["gradwalk"] / med[peer]
    if over.get(("torch", "times")):
        ratios, cpu = over["torch", "times"], over.get(("torch", "cpu"), {})
        slower = [f"{n} {x:.3g}x" + (f" (CPU time {cpu[n]:.3g}x)" if n in cpu else "")
                  for n, x in ratios.items() if x >= 1]
        out.append(("whole step faster than PyTorch vectorized on every network measured",
                    "slower on " + ", ".join(slower) if slower else
                    f"at most {max(ratios.values()):.3g}x PyTorch's time", not slower))
    if over.get(("numpy", "times")):
        ratios, cpu = over["numpy", "times"], over.get(("numpy", "cpu"), {})
        worst = max(ratios, key=ratios.get)
        x = ratios[worst]
        out.append((f"whole step within {TARGETS['over_numpy']:g}x of hand-written NumPy "
                    f"(goal {TARGETS['over_numpy_goal']:g}x)",
                    f"worst {x:.3g}x ({worst}" + (f"; CPU time {cpu[worst]:.3g}x" if worst in cpu
                                                  else "") + ")",
                    x <= TARGETS["over_numpy"]))
    rec = results.get("step", {}).get("recording", {})
    t, m = rec.get("time", {}), rec.get("memory", {})
    if "record" in t and "peak" in m:
        seconds = t["record"] + t["first_mean"]
        out.append((f"{rec['shape']}: recording + batch plan <= 0.5 s and <= 100 MB",
                    f"{seconds:.3g} s, {m['peak'] / MB:.0f} MB traced",
                    seconds <= TARGETS["record_seconds"] and m["peak"] <= TARGETS["record_bytes"]))
    c = rec.get("full_batch", {}).get("128")
    if c is not None:
        refused = "TapeError" in c.get("error", "")
        out.append(("full-batch tape at width 128: runs, or refuses at recording with a "
                    "TapeError", "refused" if refused else c.get("error", "ran")[:80],
                    "error" not in c or refused))
    return out


def notes(results: dict) -> list[str]:
    step = results.get("step", {})
    if not step:
        return []
    out = []
    for engine, reason in step.get("skipped", {}).items():
        out.append(f"Step table: {NAMES.get(engine, engine)} not run: {reason}.")
    return out


def chart(results: dict, path: Path) -> Path | None:
    """Time per step against the moons network's hidden width (log-log), one line per engine,
    and the digits network beside it."""
    shapes = results.get("step", {}).get("shapes", {})
    moons = {steps.parse_shape(n).width: medians(c) for n, c in shapes.items()
             if n.startswith("moons")}
    if not moons:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    colors = {"gradwalk": "#d62728", "torch": "#ee8a00", "numpy": "#1f77b4", "jax": "#2ca02c",
              "nn": "#ff9896", "micrograd": "#7f7f7f"}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.9),
                                 gridspec_kw={"width_ratios": [2.6, 1]})
    widths = sorted(moons)
    for engine, _ in COLUMNS:
        xs = [w for w in widths if engine in moons[w]]
        if xs:
            ax.plot(xs, [moons[w][engine] * 1e3 for w in xs], "o-", color=colors[engine],
                    label=NAMES[engine], linewidth=2.5 if engine == "gradwalk" else 1.2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set_xlabel("hidden width w of MLP(2, [w, w, 1]), 100 points, hinge + L2, SGD")
    ax.set_ylabel("ms per training step (median, log scale)")
    ax.set_title("moons: the whole step", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    digits = medians(shapes.get("digits", {}))
    engines = [e for e, _ in COLUMNS if e in digits]
    bx.barh(range(len(engines)), [digits[e] * 1e3 for e in engines],
            color=[colors[e] for e in engines])
    bx.set_yticks(range(len(engines)), [NAMES[e] for e in engines], fontsize=8)
    bx.invert_yaxis()
    bx.set_xscale("log")
    bx.set_xlabel("ms per step (log scale)")
    bx.set_title("digits: MLP(64, [32, 10]),\nbatch 32, Adam", fontsize=10)
    meta = results.get("meta", {})
    fig.suptitle(f"gradwalk step benchmark, {meta.get('date')}, {meta.get('cpu')}, one thread",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
