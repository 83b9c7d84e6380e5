"""The benchmark cannot rot: its programs compute the same thing on every engine (the training
step of the headline table: the same loss after one update, to 1e-12), and a tiny run of the
whole harness (this engine, hand-written NumPy and plain floats, no network, no peers)
completes with every figure filled in."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import data, report, step_report, step_table, steps, workloads  # noqa: E402
from benchmarks.kits import GradwalkKit, _add_micrograd_ops  # noqa: E402
from benchmarks.processes import EngineProcess, failure  # noqa: E402

SHAPES = ["moons-8", "moons-16", "digits"]


@pytest.fixture(autouse=True)
def small_workloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same programs on fewer samples, so the suite stays fast."""
    monkeypatch.setitem(workloads.MOONS, "samples", 20)
    monkeypatch.setitem(workloads.SEED, "samples", 40)


@pytest.mark.parametrize("workload", ["moons", "seed"])
def test_every_implementation_computes_the_same_loss(workload: str) -> None:
    # The first call is the loss before any update: the same numbers on every implementation,
    # or the benchmark would compare different work.
    floats = workloads.make_program(workload, "floats", None)()
    ops = workloads.make_program(workload, "ops", GradwalkKit())()
    nn = workloads.make_program(workload, "nn", None)()
    assert math.isfinite(floats) and floats > 0
    assert ops == pytest.approx(floats, rel=1e-12)
    assert nn == pytest.approx(floats, rel=1e-12)


@pytest.mark.parametrize("workload", ["moons", "seed"])
def test_torch_implementations_compute_the_same_loss(workload: str) -> None:
    pytest.importorskip("torch")
    from benchmarks.kits import TorchScalarKit

    floats = workloads.make_program(workload, "floats", None)()
    scalar = workloads.make_program(workload, "ops", TorchScalarKit())()
    assert scalar == pytest.approx(floats, rel=1e-12)


def _first_losses(engine: str, shape: str, kit: object = None, count: int = 3) -> list[float]:
    step = steps.make(engine, steps.parse_shape(shape), kit)
    return [step() for _ in range(count)]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_step_program_follows_hand_written_numpy(shape: str) -> None:
    # The losses before each of the first updates: equal losses after one and two updates
    # mean equal gradients and equal updates (SGD, or Adam with its moments), not only an
    # equal forward pass. The eager nn step and the micrograd program (on this engine's Value)
    # get their gradients from the engine's backward(), independently of the NumPy by hand.
    pytest.importorskip("numpy")
    reference = _first_losses("numpy", shape)
    assert reference[1] != reference[0] and all(math.isfinite(x) for x in reference)
    for engine, kit in (("gradwalk", None), ("nn", None), ("micrograd", GradwalkKit())):
        assert _first_losses(engine, shape, kit) == pytest.approx(reference, rel=1e-12), engine


@pytest.mark.parametrize("shape", SHAPES)
def test_the_torch_step_follows_hand_written_numpy(shape: str) -> None:
    pytest.importorskip("torch")
    assert _first_losses("torch", shape) == pytest.approx(_first_losses("numpy", shape),
                                                          rel=1e-12)


def test_the_gradwalk_step_times_its_parts() -> None:
    pytest.importorskip("numpy")
    step = steps.make("gradwalk", steps.parse_shape("moons-8"))
    step(), step()
    assert len(step.phases) == 2 and all(a > 0 and b > 0 for a, b in step.phases)


def test_digits_batches_have_their_own_labels() -> None:
    batches = steps.parse_shape("digits").batches()
    assert len(batches) == steps.DIGITS["batches"]
    assert all(len(X) == len(y) == steps.DIGITS["batch"] for X, y in batches)
    assert len({tuple(y) for _, y in batches}) == len(batches)
    assert all(len(x) == 64 and all(0 <= v <= 1 for v in x) for x in batches[0][0])
    assert {k for _, y in batches for k in y} == set(range(10))


def test_the_table_ratios_and_agreement() -> None:
    cell = {"gradwalk": {"times": [2e-3, 1e-3, 3e-3], "cpu": [1e-3, 1e-3, 1e-3],
                         "losses": [1.0, 0.5], "phases": [[1e-3, 5e-4]]},
            "torch": {"times": [4e-3], "cpu": [2e-3], "losses": [1.0, 0.5 + 2**-40]},
            "numpy": {"times": [5e-4], "cpu": [4e-4], "losses": [1.0, 0.5]},
            "nn": {"skip": "not run (up to width 64)"}}
    results = {"step": {"shapes": {"moons-128": cell}}}
    row = step_report.table(results)[1]
    assert row[0] == "moons, MLP(2, [128, 128, 1])"
    assert row[1] == "2 ms (0.5x / 4x)"  # the median over PyTorch's and over NumPy's
    assert row[2] == "4 ms (1x / 8x)"
    assert "not run" in row[5]
    assert row[-2] == "to 9.1e-13 (3 engines)"  # 2**-40: inside 1e-12
    assert step_report.table(results, "cpu")[1][1:3] == ["1 ms (0.5x / 2.5x)", "2 ms (1x / 5x)"]
    measured = {t: m for t, m, _ in step_report.targets(results)}
    assert measured["whole step within 2x of hand-written NumPy (goal 1.5x)"] == (
        "worst 4x (moons-128; CPU time 2.5x)")
    met = {t.split(" on ")[0].split(" (")[0]: ok for t, _, ok in step_report.targets(results)}
    assert met["whole step faster than PyTorch vectorized"] is True
    assert met["whole step within 2x of hand-written NumPy"] is False
    cell["torch"]["losses"][1] = 0.5 + 1e-9  # an engine that computes something else
    assert step_table.disagreements(cell) == ["torch differs by 1e-09"]
    assert step_report.table(results)[1][-2].startswith("DISAGREE: PyTorch")


def test_a_worker_over_its_memory_cap_answers_memory_error() -> None:
    proc = EngineProcess("gradwalk", memory_cap=60 * 2**20)
    answer = proc.ask(cmd="full_batch_cost", shape="moons-8", timeout=120)
    proc.close()
    assert failure(answer).startswith("MemoryError"), answer


def test_the_full_batch_tape_replays_the_nn_step_to_the_bit() -> None:
    steps_ = {impl: workloads.make_program("moons", impl, None) for impl in ("nn", "tape")}
    for _ in range(3):
        losses = {impl: step() for impl, step in steps_.items()}
        assert losses["tape"] == losses["nn"]


def test_a_training_step_lowers_the_moons_loss() -> None:
    step = workloads.make_program("moons", "ops", GradwalkKit())
    losses = [step() for _ in range(5)]
    assert losses[-1] < losses[0]


def test_data_is_deterministic_and_shaped() -> None:
    X, y = data.moons(100)
    assert len(X) == 100 and all(len(x) == 2 for x in X) and set(y) == {-1, 1}
    assert (X, y) == data.moons(100)
    X, y = data.classification(50, 10)
    assert len(X) == 50 and all(len(x) == 10 for x in X) and set(y) <= {0.0, 1.0}


def test_chain_and_per_op_measure_positive_times() -> None:
    kit = GradwalkKit()
    out = workloads.chain(kit, 2000)
    assert out["forward"] > 0 and out["backward"] > 0
    for op in workloads.OPS:
        timing = workloads.per_op(kit, op, depth=10, chains=2)
        assert timing["forward"] > 0 and timing["backward"] > 0


def test_micrograd_style_ops_have_the_right_derivatives() -> None:
    class Tiny:  # micrograd 0.1.0's node shape, enough for the added ops
        def __init__(self, data, _children=(), _op=""):
            self.data, self.grad, self._prev, self._op = data, 0.0, set(_children), _op
            self._backward = lambda: None

    assert _add_micrograd_ops(Tiny) == ["exp", "log", "tanh"]
    x = Tiny(0.7)
    for name, d in (("exp", math.exp(0.7)), ("log", 1 / 0.7), ("tanh", 1 - math.tanh(0.7) ** 2)):
        x.grad = 0.0
        y = getattr(x, name)()
        y.grad = 1.0
        y._backward()
        assert x.grad == pytest.approx(d, rel=1e-12)


def test_a_dead_worker_is_reported_as_a_crash_and_replaced() -> None:
    proc = EngineProcess("floats")
    assert not failure(proc.ask(cmd="chain", n=10))
    proc.proc.kill()
    proc.proc.wait()
    crashed = proc.ask(cmd="chain", n=10)
    assert "SIGKILL" in failure(crashed) or "exited" in failure(crashed)
    assert not failure(proc.ask(cmd="chain", n=10))  # a fresh worker took over
    proc.close()


def test_an_error_in_a_worker_is_an_answer_not_a_crash() -> None:
    proc = EngineProcess("floats")
    answer = proc.ask(cmd="setup", workload="moons", impl="ops")  # floats have no Value
    proc.close()
    assert answer["ok"] is False and "skip" in answer


def test_ratios_are_against_micrograd_and_plain_floats() -> None:
    results = {"moons": {"micrograd": {"on": [0.6, 0.5, 0.7]}, "gradwalk": {"on": [0.05, 0.04]},
                         "floats": {"on": [0.002]}}}
    rows = {r["key"]: r for r in report.training_rows(results, "moons")}
    assert rows["gradwalk"]["speedup"] == pytest.approx(0.6 / 0.045)
    assert rows["gradwalk"]["floats"] == pytest.approx(0.045 / 0.002)
    met = {t: ok for t, _, ok in report.targets(results)}
    assert met["workload 1, Value ops: >= 8x faster than micrograd"] is True


def test_smoke_run_of_the_whole_harness(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--no-install",
         "--engines", "gradwalk,floats", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "bench-smoke.json").read_text())
    for workload in ("moons", "seed"):
        for key in ("gradwalk", "gradwalk-nn", "floats"):
            cell = results[workload][key]
            assert "error" not in cell and "skip" not in cell, cell
            assert cell["on"] and min(cell["on"]) > 0
    step = results["step"]
    for shape in ("moons-8", "digits"):
        cell = step["shapes"][shape]
        for engine in ("gradwalk", "numpy", "nn"):
            assert cell[engine]["times"] and min(cell[engine]["times"]) > 0, (shape, engine)
            assert len(cell[engine]["cpu"]) == len(cell[engine]["times"])
        assert not step_table.disagreements(cell)
        assert max(step_table.agreement(cell).values()) <= 1e-12
        assert len(cell["gradwalk"]["phases"]) == len(cell["gradwalk"]["times"])
    recording = step["recording"]
    assert recording["time"]["record"] > 0 and recording["time"]["first_mean"] > 0
    assert recording["memory"]["peak"] > 0
    full = recording["full_batch"]["8"]
    assert full["compile"] > 0 and full["replay"] > 0
    assert full["rss_peak"] > full["rss_before"] > 0
    assert results["chains"]["gradwalk"]["breaks"] is None
    assert results["bytes"]["gradwalk"]["nodes"] > 1000
    assert all("flat" in report.memory_summary(results, k) for k in ("gradwalk", "gradwalk-nn"))
    page = (tmp_path / "bench.md").read_text()
    assert "## Workload 1" in page and "gradwalk, Value ops" in page
    assert "## The training step as users write it" in page and "NumPy by hand" in page
    assert "moons, MLP(2, [8, 8, 1])" in page and "digits, MLP(64, [32, 10])" in page
    assert "## What recording a tape costs" in page and "## The same steps in CPU time" in page


def test_the_report_speaks_of_the_product() -> None:
    # Every part of the report that has fixed text: both tables with the reference rows, the
    # targets and the notes; none of it may point at the project's own work items.
    results = {"moons": {"micrograd": {"on": [0.6]}, "gradwalk": {"on": [0.05]}},
               "seed": {"micrograd": {"on": [1.2]}, "gradwalk-nn": {"on": [0.04]}},
               "skipped": {"micrograd-cpp-engine": "did not install"}}
    text, page = report.text(results), report.markdown(results)
    assert "micrograd-rust, built-in MLP (reference figure, not run here)" in page
    assert "Targets:" in text and "## Targets" in page
    for out in (text, page, run_module_doc()):
        assert not re.search(r"\bissues?\b", out, re.I), out
    # the chart shortens the reference rows' labels by their common mark
    assert all(label.endswith(report.REFERENCE_MARK) for label, _, _ in report.RUST_REFERENCE)


def run_module_doc() -> str:
    import benchmarks
    from benchmarks import run

    return (benchmarks.__doc__ or "") + (run.__doc__ or "") + (report.__doc__ or "")
