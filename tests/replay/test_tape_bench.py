"""The tape's benchmark programs compute the same losses as the others, step after step."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import workloads  # noqa: E402

pytest.importorskip("numpy")


@pytest.fixture(autouse=True)
def small_workloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(workloads.MOONS, "samples", 20)
    monkeypatch.setitem(workloads.SEED, "samples", 40)


@pytest.mark.parametrize("workload", ["moons", "seed"])
def test_tape_and_hand_written_steps_follow_the_nn_step(workload: str) -> None:
    steps = {impl: workloads.make_program(workload, impl, None)
             for impl in ("nn", "tape", "tape-mean", "floats-train")}
    for _ in range(3):  # the losses before each update: the updates agree too
        losses = {impl: step() for impl, step in steps.items()}
        assert losses["tape"] == losses["nn"]  # the replay is backward() to the bit
        assert losses["tape-mean"] == pytest.approx(losses["nn"], rel=1e-12)
        assert losses["floats-train"] == pytest.approx(losses["nn"], rel=1e-12)


def test_the_width_sweep_programs_agree() -> None:
    pytest.importorskip("torch")
    for width in (8, 32):
        vector = workloads.make_program("moons", "vector", None, width)
        mean = workloads.make_program("moons", "tape-mean", None, width)
        only = workloads.make_program("moons", "tape-mean-only", None, width)
        first = vector()
        assert mean() == pytest.approx(first, rel=1e-12)
        assert only() == pytest.approx(first, rel=1e-12)
        assert vector() == pytest.approx(mean(), rel=1e-12)


def test_tape_cost_reports_time_and_memory() -> None:
    cost = workloads.tape_cost(8, memory=False)
    assert cost["record"] > 0 and cost["plan"] > 0 and cost["source_bytes"] > 1000
    assert workloads.tape_cost(8, memory=True)["peak"] > 0
