"""Turn the raw results into medians, ratios, a text table, a Markdown page and a bar chart."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import step_report
from .step_report import fmt_time, fmt_x, median

MB = 1024 * 1024
# micrograd-rust cannot be built here (its crates come from a registry these machines cannot
# reach): figures measured for it once on this kind of machine, not by this harness, stand in
# as a fixed reference.
REFERENCE_MARK = " (reference figure, not run here)"
RUST_REFERENCE = [
    ("micrograd-rust, built-in MLP" + REFERENCE_MARK, 30e-3, 650e-3),
    ("micrograd-rust, Values driven from Python" + REFERENCE_MARK, 57e-3, 650e-3),
]
TARGETS = {"moons_ops": 8.0, "moons_nn": 25.0, "moons_nn_floats": 6.0, "seed_nn": 25.0,
           "bytes": 300.0, "chain_flat": 1.5, "tape_over_nn": 5.0, "tape_floats": 1.5}


def machine(elapsed: float, args: str) -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    here = Path(__file__).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=here).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../autograd", "../nn"],
                               capture_output=True, text=True, cwd=here).stdout.strip()
        if commit and dirty:
            commit += " + uncommitted engine changes"
    except OSError:
        commit = ""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "arch": platform.machine(), "cpu": cpu, "cores": os.cpu_count(),
        "python": sys.version.split()[0], "elapsed": round(elapsed, 1),
        "command": ("python benchmarks/run.py " + args).strip(), "commit": commit,
    }


def _fmt_bytes(b: float) -> str:
    return f"{b / MB:+.1f} MiB" if abs(b) >= MB else f"{b / 1024:+.1f} KiB"


def _ns(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e9:,.0f}"


# --- the derived figures ----------------------------------------------------------------------


def training_rows(results: dict, workload: str) -> list[dict[str, Any]]:
    """One dict per row: label, median seconds (GC on/off), speed-up vs micrograd, x floats."""
    data = results.get(workload, {})
    labels = results.get("rows", {})
    ref = median(data.get("micrograd", {}).get("on"))
    floor = median(data.get("floats", {}).get("on"))
    rows = []
    for key, cell in data.items():
        on, off = median(cell.get("on")), median(cell.get("off"))
        note = cell.get("skip") or cell.get("error") or ""
        rows.append({
            "key": key, "label": labels.get(key, {}).get("label", key), "on": on, "off": off,
            "speedup": ref / on if ref and on else None,
            "floats": on / floor if floor and on else None,
            "runs": len(cell.get("on", [])), "note": note,
        })
    for key, engine in (("micrograd", "micrograd"), ("cpp", "micrograd-cpp-engine")):
        reason = results.get("skipped", {}).get(engine)
        if reason and key not in data:
            rows.append({"key": key, "label": labels.get(key, {}).get("label", key), "on": None,
                         "off": None, "speedup": None, "floats": None, "runs": 0,
                         "note": f"skipped: {reason}"})
    return rows


def bytes_per_node(results: dict, key: str) -> float | None:
    cell = results.get("bytes", {}).get(key)
    if not cell or "error" in cell or not cell.get("nodes"):
        return None
    return cell["bytes"] / cell["nodes"]


def chain_summary(results: dict, engine: str) -> dict[str, Any]:
    cell = results.get("chains", {}).get(engine, {})
    raw = cell.get("sizes", {})
    sizes = {int(n): {ph: median(v) for ph, v in d.items()} for n, d in raw.items()}
    spread = {}
    for ph in ("forward", "backward"):  # GC on, as users run
        vals = [d[ph] for d in sizes.values() if d.get(ph)]
        spread[ph] = max(vals) / min(vals) if len(vals) > 1 else None
    return {"sizes": sizes, "spread": spread, "breaks": cell.get("breaks")}


def memory_summary(results: dict, key: str) -> dict[str, Any] | None:
    cell = results.get("memory", {}).get(key)
    if not cell or "error" in cell or not cell.get("rss"):
        return cell
    rss, objs = cell["rss"], cell["gc_objects"]
    growth = rss[-1] - rss[0]
    flat = growth <= max(2 * MB, 0.05 * rss[0]) and objs[-1] <= objs[0] * 1.01 + 100
    return {"steps": cell["steps"], "rss0": rss[0], "rss1": rss[-1], "growth": growth,
            "objs0": objs[0], "objs1": objs[-1], "flat": flat,
            "per_step": (rss[-1] - rss[0]) / max(1, cell["steps"][-1] - cell["steps"][0]),
            "rss_max": max(rss)}


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each of the project's speed targets that this run measured."""
    out: list[tuple[str, str, bool | None]] = step_report.targets(results)

    def row(workload: str, key: str) -> dict | None:
        return next((r for r in training_rows(results, workload) if r["key"] == key), None)

    ops, nn_ = row("moons", "gradwalk"), row("moons", "gradwalk-nn")
    if ops and ops["speedup"]:
        out.append(("workload 1, Value ops: >= 8x faster than micrograd",
                    fmt_x(ops["speedup"]), ops["speedup"] >= TARGETS["moons_ops"]))
    b = bytes_per_node(results, "gradwalk")
    if b is not None:
        out.append(("workload 1 graph: <= 300 bytes per node", f"{b:.0f} B",
                    b <= TARGETS["bytes"]))
    if nn_ and nn_["speedup"]:
        out.append(("workload 1, nn: >= 25x faster than micrograd", fmt_x(nn_["speedup"]),
                    nn_["speedup"] >= TARGETS["moons_nn"]))
    if nn_ and nn_["floats"]:
        out.append(("workload 1, nn: within 6x of plain floats", fmt_x(nn_["floats"]),
                    nn_["floats"] <= TARGETS["moons_nn_floats"]))
    seed = row("seed", "gradwalk-nn")
    if seed and seed["speedup"]:
        out.append(("workload 2, nn: >= 25x faster than micrograd", fmt_x(seed["speedup"]),
                    seed["speedup"] >= TARGETS["seed_nn"]))
    if "gradwalk" in results.get("chains", {}):
        c = chain_summary(results, "gradwalk")
        top = max(c["sizes"]) if c["sizes"] else 0
        spreads = [s for s in c["spread"].values() if s]
        worst = max(spreads) if spreads else None
        ok = (not c["breaks"]) and top >= 10**6 and worst is not None
        out.append(("workload 3: ns/node flat within 1.5x from 10^3 to 10^6, no failure",
                    (f"spread {worst:.2f}x up to {top:,}" if worst else "-")
                    + (f"; breaks at {c['breaks']['n']:,}" if c["breaks"] else ""),
                    (ok and worst <= TARGETS["chain_flat"]) if top >= 10**6 else None))
    out.extend(tape_targets(results))
    for key in ("gradwalk", "gradwalk-nn"):
        m = memory_summary(results, key)
        if m and "flat" in m:
            out.append((f"memory over {m['steps'][-1]} steps of workload 1 ({key}): flat, GC on",
                        f"RSS {m['rss0'] / MB:.0f} -> {m['rss1'] / MB:.0f} MB, "
                        f"GC objects {m['objs0']:,} -> {m['objs1']:,}", m["flat"]))
    return out


def tape_targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """The full-batch tape's targets: its replayed step against nn and the float floor."""
    out: list[tuple[str, str, bool | None]] = []

    def on(workload: str, key: str) -> float | None:
        return median(results.get(workload, {}).get(key, {}).get("on"))

    tape, nn_, floats = on("moons", "gradwalk-tape"), on("moons", "gradwalk-nn"), \
        on("moons", "floats")
    if tape and nn_:
        out.append(("moons, tape step: >= 5x faster than the nn step", fmt_x(nn_ / tape),
                    nn_ / tape >= TARGETS["tape_over_nn"]))
    if tape and floats:
        out.append(("moons, tape step: <= 1.5x the plain-float forward pass",
                    fmt_x(tape / floats), tape / floats <= TARGETS["tape_floats"]))
    return out


# --- text and Markdown ------------------------------------------------------------------------


def _training_table(results: dict, workload: str) -> list[list[str]]:
    head = ["engine", "median time (GC on)", "speed-up over micrograd", "time / plain floats",
            "median time (GC off)", "runs", "note"]
    lines = [head]
    for r in training_rows(results, workload):
        lines.append([r["label"], fmt_time(r["on"]), fmt_x(r["speedup"]), fmt_x(r["floats"]),
                      fmt_time(r["off"]), str(r["runs"]), r["note"][:90]])
    if workload == "moons" and "micrograd" in results.get("moons", {}):
        for label, seconds, ref in RUST_REFERENCE:
            lines.append([label, fmt_time(seconds), fmt_x(ref / seconds), "-", "-", "-",
                          "fixed reference, not measured by this run"])
    return lines


def _chain_table(results: dict) -> list[list[str]]:
    chains = results.get("chains", {})
    sizes = sorted({int(n) for c in chains.values() for n in c.get("sizes", {})})
    lines = [["engine", *[f"{n:,}: fwd / bwd ns/node" for n in sizes], "spread (max/min)",
              "GC off, deepest that ran", "breaks at"]]
    for engine in chains:
        c = chain_summary(results, engine)
        cells = []
        for n in sizes:
            d = c["sizes"].get(n)
            cells.append(f"{_ns(d.get('forward'))} / {_ns(d.get('backward'))}" if d else "-")
        spread = " / ".join(f"{s:.2f}x" for s in c["spread"].values() if s) or "-"
        off = "-"
        if c["sizes"]:
            deepest = max(c["sizes"])
            d = c["sizes"][deepest]
            if d.get("forward_gc_off"):
                off = (f"{_ns(d.get('forward_gc_off'))} / {_ns(d.get('backward_gc_off'))} "
                       f"at {deepest:,}")
        br = c["breaks"]
        why = br["reason"].split(" while ")[0][:70] if br else ""
        lines.append([engine, *cells, spread, off, f"{br['n']:,} ({why})" if br else "no failure"])
    return lines


def _op_table(results: dict) -> list[list[str]]:
    per_op = results.get("per_op", {})
    ops = ["+", "*", "tanh"]
    lines = [["engine", *[f"`{o}` fwd / bwd ns" for o in ops], "bytes/node (workload 1 graph)"]]
    keys = {"micrograd": "micrograd", "micrograd-cpp-engine": "cpp", "gradwalk": "gradwalk",
            "torch": "torch-scalar"}
    for engine, cell in per_op.items():
        row = [engine]
        for o in ops:
            d = cell.get(o, {})
            row.append(d["error"][:40] if "error" in d else
                       f"{_ns(median(d.get('forward')))} / {_ns(median(d.get('backward')))}")
        b = bytes_per_node(results, keys.get(engine, ""))
        bcell = results.get("bytes", {}).get(keys.get(engine, ""), {})
        row.append(f"{b:.0f} ({bcell.get('method')}, {bcell.get('nodes'):,} nodes)"
                   if b is not None else "-")
        lines.append(row)
    b = bytes_per_node(results, "gradwalk-nn")
    if b is not None:
        nodes = results["bytes"]["gradwalk-nn"]["nodes"]
        lines.append(["gradwalk, nn", "-", "-", "-", f"{b:.0f} (tracemalloc, {nodes:,} nodes)"])
    return lines


def _memory_table(results: dict) -> list[list[str]]:
    labels = results.get("rows", {})
    lines = [["engine", "steps", "RSS first -> last sample", "growth per step",
              "GC-tracked objects first -> last", "flat?"]]
    for key in results.get("memory", {}):
        m = memory_summary(results, key)
        label = labels.get(key, {}).get("label", key)
        if not m or "error" in m:
            lines.append([label, "-", (m or {}).get("error", "-")[:60], "-", "-", "-"])
            continue
        lines.append([label, f"{m['steps'][0]}..{m['steps'][-1]}",
                      f"{m['rss0'] / MB:.1f} -> {m['rss1'] / MB:.1f} MB",
                      _fmt_bytes(m["per_step"]), f"{m['objs0']:,} -> {m['objs1']:,}",
                      "yes" if m["flat"] else "NO"])
    return lines


def _sections(results: dict) -> list[tuple[str, list[list[str]]]]:
    s = []
    if results.get("step", {}).get("shapes"):
        s.append(("The training step as users write it", step_report.table(results)))
        s.append(("The same steps in CPU time", step_report.table(results, "cpu")))
    if step_report.recording_table(results):
        s.append(("What recording a tape costs", step_report.recording_table(results)))
    if "moons" in results:
        s.append(("Workload 1: one step of micrograd's moons demo (MLP(2, [16, 16, 1]), "
                  "100 points, hinge + L2, forward + backward + SGD)",
                  _training_table(results, "moons")))
    if "seed" in results:
        s.append(("Workload 2: one epoch of the seed program (10-5-1 sigmoid, 800 x 10, BCE, SGD)",
                  _training_table(results, "seed")))
    if "chains" in results:
        s.append(("Workload 3: a chain y = y + x of depth n (ns per node)", _chain_table(results)))
    if "per_op" in results:
        s.append(("Workload 4: per-op cost (ns per node; chains of "
                  f"{results['plan']['op_depth']} nodes) and bytes per node",
                  _op_table(results)))
    if "memory" in results:
        s.append(("Workload 4: memory over repeated training steps of workload 1 (GC on)",
                  _memory_table(results)))
    return s


def _plain(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _md(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    return "\n".join(out)


def _target_lines(results: dict) -> list[str]:
    mark = {True: "met", False: "NOT met", None: "not measured in full"}
    return [f"- {t}: {m} ({mark[ok]})" for t, m, ok in targets(results)]


def _notes(results: dict) -> list[str]:
    notes = []
    for engine, ops in results.get("added_ops", {}).items():
        notes.append(f"{engine} lacks {', '.join(ops)}: the benchmark adds them in micrograd's "
                     "own style (one node with a `_backward` closure); its sigmoid is "
                     "`1 / (1 + (-x).exp())`.")
    if "torch" in results.get("versions", {}):
        notes.append("PyTorch runs with torch.set_num_threads(1): with its default pool of 2 "
                     "threads on this shared 2-core machine the vectorized step took ~56 ms "
                     "instead of ~0.3 ms.")
    for engine, reason in results.get("skipped", {}).items():
        notes.append(f"{engine} skipped: {reason}")
    return notes + step_report.notes(results)


def text(results: dict) -> str:
    meta = results.get("meta", {})
    load = meta.get("load") or [0.0, 0.0]
    out = [f"gradwalk benchmark, {meta.get('date')}, {meta.get('cpu')} ({meta.get('cores')} "
           f"cores), Python {meta.get('python')}, {meta.get('elapsed')} s, load "
           f"{load[0]:.1f} -> {load[1]:.1f}"]
    if results.get("plan", {}).get("cpu"):
        out.append("Step times are the worker thread's CPU time (--cpu), not the wall clock.")
    for title, rows in _sections(results):
        out += ["", title, _plain(rows)]
    lines = _target_lines(results)
    if lines:
        out += ["", "Targets:", *lines]
    notes = _notes(results)
    if notes:
        out += ["", "Notes:", *[f"- {n}" for n in notes]]
    return "\n".join(out)


def _step_intro(results: dict) -> list[str]:
    """What the step table shows and how it was measured (above the table)."""
    step = results.get("step", {})
    if not step.get("shapes"):
        return []
    plan = results.get("plan", {}).get("step", {})
    return [
        "Each network is trained the way its demo trains it: moons is `MLP(2, [w, w, 1])` "
        "(micrograd's demo) with the hinge loss + L2 over the whole batch of 100 points and SGD; "
        "digits is `MLP(64, [32, 10])` with softmax cross-entropy on minibatches of 32 "
        "(8x8 images drawn at random, each batch with its own labels) and Adam. The gradwalk "
        "column is the step as the README writes it, `opt.zero_grad(); loss = t.mean(X, y); "
        "opt.step()` with `nn.MLP`, `nn.optim` and `autograd.tape` (one sample's loss recorded "
        "before timing; the recording's cost is the next table). PyTorch is the same step "
        "written as a PyTorch user writes it (`nn.Sequential`, `torch.optim`, float64, "
        "`torch.set_num_threads(1)`); NumPy by hand is forward, backward and update written "
        "out in NumPy (float64, in place); JAX is the whole step (value_and_grad and the "
        "update) under `jax.jit`, float64 on the CPU; micrograd is its demo's code on its "
        "`Value` (where a step takes reasonable time). Every engine starts from the same "
        "weights; the losses of the first two steps are compared (the second is the loss "
        "after one update).",
        "",
        f"Timing: all engines in one process (micrograd in a worker process of its own, whose "
        f"cyclic garbage would otherwise be collected during the others' steps), "
        f"{plan.get('rounds')} rounds, in each of which every engine runs about "
        f"{plan.get('round_seconds', 0) * 1e3:.0f} ms of steps back to back (at least one, at "
        f"most {plan.get('max_steps')}), each step timed on its own, in an order that rotates "
        "from round to round; the collector on and never forced. Cells: the median step, then "
        "in brackets its time over PyTorch's / over hand-written NumPy's (below 1x is faster). "
        "`t.mean` alone and `opt.step()` alone are the parts of gradwalk's step (timed inside "
        "it). Load is the machine's 1-minute load average when the network's turn began.",
        "",
        "![time per step against the hidden width](bench-step.png)",
    ]


def markdown(results: dict) -> str:
    meta = results.get("meta", {})
    versions = ", ".join(v if "==" in v else f"{k} {v}"
                         for k, v in results.get("versions", {}).items() if k != "floats")
    step_versions = ", ".join(f"{k} {v}" for k, v in
                              results.get("step", {}).get("versions", {}).items())
    load = meta.get("load")
    out = [
        "# Benchmark",
        "",
        f"Measured {meta.get('date')} on {meta.get('arch')}, {meta.get('cpu')}, "
        f"{meta.get('cores')} cores, Python {meta.get('python')}"
        + (f", commit {meta['commit']}" if meta.get("commit") else "") + "."
        + (f" Machine load (1-minute average) {load[0]:.1f} at the start and {load[1]:.1f} at "
           "the end: the machine is shared, and other jobs ran beside this one." if load else ""),
        f"Command: `{meta.get('command')}` ({results.get('plan', {}).get('mode')} run, "
        f"{meta.get('elapsed')} s).",
    ]
    if step_versions:
        out += [f"Versions, step table: {step_versions}."]
    if versions:
        out += [f"Engines of the scalar workloads: {versions}."]
    if results.get("plan", {}).get("cpu"):
        out += ["", "Step times here are CPU time (`--cpu`), not the wall clock: other jobs on "
                    "the machine do not inflate them."]
    sections = _sections(results)
    intro = _step_intro(results)
    for title, rows in sections:
        out += ["", f"## {title}", ""]
        if title.startswith("The training step") and intro:
            out += [*intro, ""]
        if title.startswith("The same steps in CPU time"):
            out += ["The steps above, each also timed by the process's CPU time: on a shared "
                    "machine the wall clock counts the time other jobs held the CPU too, and a "
                    "longer step is interrupted more often, so these figures are closer to "
                    "what an idle machine shows (caches disturbed by other jobs still cost "
                    "here). Cells as above.", ""]
        if title.startswith("Workload 1"):
            out += [
                "The workloads below compare scalar graph engines on micrograd's own programs: "
                "each engine in its own worker process, runs alternating between engines, "
                "medians, the cyclic garbage collector on (as users run) unless a column says "
                "otherwise. Speed-up over micrograd is micrograd's median time over the "
                "engine's (higher is faster); time / plain floats is the engine's time over "
                "the same forward function run on plain floats with no graph (the floor no "
                "scalar graph-building engine goes under).",
                "", "![speed-up over micrograd](bench.png)", ""]
        out += [_md(rows)]
    lines = _target_lines(results)
    if lines:
        out += ["", "## Targets", "", *lines]
    notes = _notes(results)
    if notes:
        out += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(out) + "\n"


# --- the chart --------------------------------------------------------------------------------


def chart(results: dict, path: Path) -> Path | None:
    """Horizontal bars: speed-up over micrograd per engine, one panel per training workload."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = [w for w in ("moons", "seed") if w in results]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.2), squeeze=False)
    titles = {"moons": "Workload 1: moons demo step", "seed": "Workload 2: seed program epoch"}
    for ax, w in zip(axes[0], panels):
        rows = [r for r in training_rows(results, w) if r["speedup"] and r["key"] != "floats"]
        labels = [r["label"] for r in rows]
        values = [r["speedup"] for r in rows]
        colors = ["#d62728" if r["key"].startswith("gradwalk") else "#7f7f7f" for r in rows]
        hatches = [""] * len(rows)
        if w == "moons":
            for label, seconds, ref in RUST_REFERENCE:
                labels.append(label.replace(REFERENCE_MARK, " (ref.)"))
                values.append(ref / seconds)
                colors.append("#bbbbbb")
                hatches.append("//")
        y = range(len(values))
        bars = ax.barh(list(y), values, color=colors)
        for bar, h in zip(bars, hatches):
            bar.set_hatch(h)
        for i, v in enumerate(values):
            ax.text(v, i, " " + fmt_x(v), va="center", fontsize=8)
        floor = next((r["speedup"] for r in training_rows(results, w) if r["key"] == "floats"
                      and r["speedup"]), None)
        if floor:  # no scalar graph-building engine can go past plain floats
            ax.axvline(floor, color="#1f77b4", linestyle="--", linewidth=1)
            ax.text(floor, 0, " plain floats,\n forward only", color="#1f77b4", fontsize=7,
                    va="center")
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("speed-up over micrograd 0.1.0 (log scale, higher is faster)")
        ax.set_title(titles[w], fontsize=10)
        ax.set_xlim(right=max([*values, floor or 1]) * 8)
    meta = results.get("meta", {})
    fig.suptitle(f"gradwalk benchmark, {meta.get('date')}, {meta.get('cpu')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
