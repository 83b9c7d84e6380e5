"""Each demo runs small, through its `main(argv)` or its training function, and its result is
checked; the seed demo also runs as `make demo` runs it, in a subprocess."""

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

DEMOS = Path(__file__).resolve().parent.parent / "demos"


def load_demo(name):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as importlib's recipe does (dataclasses look it up)
    spec.loader.exec_module(module)
    return module


def rendering_available():
    try:
        import autograd.views.renderers  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    "name", ["seed_classification", "moons", "digits", "recurrent", "attractor"]
)
def test_every_demo_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_demo(name).main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--" in out


# --- 1. the seed program ------------------------------------------------------------------------


SMALL_SEED = ["--samples", "300", "--epochs", "20", "--every", "5"]
SUMMARY_ROW = r"^\s+(\d)\. lr ([\d.]+)(?:, the seed's)?\s+([\d.]+) -> ([\d.]+)\s+([\d.]+)%$"


def summary_rows(out):
    """{run number: (lr, first loss, last loss, test accuracy in %)} from the summary table."""
    rows = re.findall(SUMMARY_ROW, out, re.M)
    return {int(n): tuple(map(float, rest)) for n, *rest in rows}


def test_seed_demo_defaults_are_the_seed_programs():
    demo = load_demo("seed_classification")
    args = demo.parse_args([])
    assert (args.lr, args.epochs, args.samples) == (0.01, 100, 1000)
    assert demo.seed_title(args) == "the seed program as written, with its own hyperparameters"
    assert "changed settings" in demo.seed_title(demo.parse_args(["--lr", "0.5"]))


def test_seed_demo_trains_twice_and_reports_loss_every_n_epochs(capsys):
    demo = load_demo("seed_classification")
    assert demo.main(SMALL_SEED) == 0
    out = capsys.readouterr().out
    assert "1. the seed program with changed settings" in out
    assert "2. the same again with only the learning rate changed: SGD lr 0.5" in out
    losses = [float(x) for x in re.findall(r"Epoch \[\d+/20\], Loss: ([\d.]+)", out)]
    assert len(losses) == 8  # epochs 5, 10, 15, 20 of each run
    rows = summary_rows(out)
    assert sorted(rows) == [1, 2] and rows[1][0] == 0.01 and rows[2][0] == 0.5
    assert rows[1][1] == rows[2][1]  # the same initial weights: the same first loss
    assert rows[2][2] < rows[2][1] and rows[2][3] > 60.0  # better than guessing


def test_seed_demo_also_lr_0_runs_the_seed_alone(capsys):
    demo = load_demo("seed_classification")
    assert demo.main([*SMALL_SEED, "--also-lr", "0"]) == 0
    out = capsys.readouterr().out
    assert list(summary_rows(out)) == [1] and "2. " not in out
    assert "--also-lr 0.5 trains much further" in out


@pytest.mark.parametrize("argv, message", [
    (["--lr", "0"], "argument --lr: must be above 0, got 0"),
    (["--also-lr", "-1"], "argument --also-lr: must be at least 0, got -1"),
    (["--epochs", "ten"], "argument --epochs: expected a whole number, got 'ten'"),
    (["--samples", "3"], "argument --samples: must be at least 10, got 3"),
])
def test_seed_demo_refuses_bad_settings(argv, message, capsys):
    demo = load_demo("seed_classification")
    with pytest.raises(SystemExit) as exit_info:
        demo.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_seed_demo_matches_torch_side_by_side(capsys):
    pytest.importorskip("torch")
    demo = load_demo("seed_classification")
    assert demo.main([*SMALL_SEED, "--compare-torch"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.e+-]+)$", out, re.M)
    assert [int(r[0]) for r in rows] == [5, 10, 15, 20] * 2  # both runs
    assert all(abs(float(a) - float(b)) < 1e-9 for _, a, b, _ in rows)
    worst = re.findall(r"largest loss difference vs PyTorch: ([\d.e+-]+)", out)
    assert len(worst) == 2 and all(float(w) < 1e-9 for w in worst)
    assert "(agree to rounding)" in out


def test_seed_demo_fails_when_the_two_runs_disagree(monkeypatch, capsys):
    pytest.importorskip("torch")
    demo = load_demo("seed_classification")
    real = demo.train_torch

    def drifting(*args, **kwargs):
        return [loss + 1e-6 for loss in real(*args, **kwargs)]

    monkeypatch.setattr(demo, "train_torch", drifting)
    assert demo.main([*SMALL_SEED, "--compare-torch"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_seed_demo_without_torch_says_what_to_install(monkeypatch, capsys):
    demo = load_demo("seed_classification")
    monkeypatch.setattr(demo, "import_torch", lambda: None)
    assert demo.main([*SMALL_SEED, "--compare-torch-if-installed"]) == 0
    out = capsys.readouterr().out
    assert "PyTorch is not installed" in out and "test accuracy" in out
    assert "-m pip install torch==2.13.0" in out
    assert demo.main([*SMALL_SEED, "--compare-torch"]) == 2
    err = capsys.readouterr().err
    assert "PyTorch is not installed" in err
    # the interpreter that runs the demo, so the command installs into the right environment
    python = Path(sys.executable)
    assert re.search(r"^    (\S+) -m pip install torch==2\.13\.0$", err, re.M).group(1) in (
        str(python), os.path.relpath(python))


def test_seed_demo_writes_the_graph_of_one_sample(tmp_path, capsys):
    demo = load_demo("seed_classification")
    path = tmp_path / "sample.dot"
    assert demo.main(["--samples", "100", "--epochs", "2", "--graph", str(path)]) == 0
    out = capsys.readouterr().out
    if not rendering_available():
        assert "rendering is not available" in out
        return
    said = re.search(r"through the lr 0\.5 network: graph \((\d+) edges\) written to (\S+)", out)
    assert said and said.group(2) == str(path)
    source = path.read_text()
    assert source.lstrip().startswith("digraph") and "sigmoid" in source
    assert int(said.group(1)) == source.count("->") > 100


def make_demo_command(graph_path):
    """The seed demo's command line in the Makefile's demo target, run by this interpreter."""
    makefile = (DEMOS.parent / "Makefile").read_text()
    target = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    line = next(ln for ln in target.splitlines() if "seed_classification.py" in ln)
    argv = shlex.split(line.strip())
    assert argv[0] == "$(PY)"
    argv[argv.index("--graph") + 1] = str(graph_path)
    return [sys.executable, *argv[1:]]


def test_make_demo_shows_the_seed_program_and_a_learning_rate_that_trains(tmp_path):
    # `make demo`'s own command line, on 300 samples for 40 epochs to stay quick: the seed's
    # lr 0.01 hardly moves the loss; the second run, from the same weights, must really learn.
    command = [*make_demo_command(tmp_path / "sample.svg"), "--samples", "300", "--epochs", "40"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            cwd=DEMOS.parent)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rows = summary_rows(out)
    (seed_lr, seed_first, seed_last, _), (lr, first, last, accuracy) = rows[1], rows[2]
    assert seed_lr == 0.01 and seed_last > 0.95 * seed_first  # the seed's run, as it is
    assert lr > seed_lr and first == seed_first
    assert last < 0.6 * first and accuracy >= 85.0  # the working learning rate learns
    assert "largest loss difference" in out or "not installed" in out
    assert "through the lr 0.5 network" in out


# --- 2. two moons -------------------------------------------------------------------------------


def test_moons_demo_reaches_100_percent_and_writes_the_boundary(tmp_path, capsys):
    demo = load_demo("moons")
    png = tmp_path / "moons.png"
    assert demo.main(["--out", str(png), "--grid-step", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "training accuracy 100.0%" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_moons_demo_writes_its_training_page(tmp_path, capsys):
    import json

    demo = load_demo("moons")
    page = tmp_path / "moons.html"
    assert demo.main(["--no-plot", "--steps", "3", "--samples", "20", "--html", str(page)]) == 0
    assert f"training page written to {page}" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    data = json.loads(text.split('id="gradwalk-data">')[1].split("</script>")[0])
    assert data["steps"] == [0, 1, 2] and len(data["names"]) == 337
    assert set(data["metrics"]) == {"accuracy"} and data["boundary"]["n"] == 48


# --- 3. digits ----------------------------------------------------------------------------------


def test_digits_demo_learns_and_prints_a_confusion_matrix(tmp_path, capsys):
    demo = load_demo("digits")
    model_path, picture = tmp_path / "digits.json", tmp_path / "confusion.png"
    argv = ["--epochs", "3", "--hidden", "16", "--train-limit", "600",
            "--save", str(model_path), "--plot", str(picture)]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", out).group(1))
    assert accuracy > 80.0  # ten classes: chance is 10%
    matrix = [list(map(int, line.split()[1:])) for line in out.splitlines()
              if re.match(r"^\s+\d\s+(\d+\s+){9}\d+$", line)]
    assert len(matrix) == 10 and sum(map(sum, matrix)) == 360
    diagonal = sum(matrix[k][k] for k in range(10))
    assert diagonal / 360 == pytest.approx(accuracy / 100, abs=0.001)
    assert picture.read_bytes()[:4] == b"\x89PNG"

    import nn

    model = nn.load(model_path)
    _, X_test, _, y_test = demo.make_data(0.2, 0)
    assert demo.predict(model, X_test[:50]) == demo.predict(model, X_test[:50])
    hits = sum(p == t for p, t in zip(demo.predict(model, X_test), y_test, strict=True))
    assert hits == diagonal  # the saved model is the one that was scored


# --- 4. backpropagation through time ------------------------------------------------------------


def test_recurrent_demo_loss_falls_through_time():
    demo = load_demo("recurrent")
    model, summary = demo.train(epochs=10, sequences=16, seq_len=8)
    history = summary["history"]
    assert history[-1] < 0.3 * history[0]
    assert summary["test_loss"] < 0.5 * history[0]
    names = [n for n, _ in model.named_parameters()]
    assert names[0] == "cell.neurons.0.w.0" and names[-1] == "readout.neurons.0.b"


def test_recurrent_demo_writes_the_unrolled_graph(tmp_path, capsys):
    demo = load_demo("recurrent")
    path = tmp_path / "unrolled.dot"
    argv = ["--epochs", "1", "--sequences", "8", "--hidden", "2", "--graph", str(path),
            "--graph-steps", "3"]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    if not rendering_available():
        assert "rendering is not available" in out
        return
    source = path.read_text()
    # three steps unrolled: three applications of the cell's tanh per hidden unit
    assert source.count("tanh") >= 3 * 2
    assert "h3[1]" in source and "cell.neurons.0.w.0" in source


# --- 5. pattern completion by recurrent backpropagation ------------------------------------------


def percents(pattern, out):
    return [float(x) for x in re.search(pattern, out).groups()]


def test_attractor_demo_completes_letters_and_agrees_with_the_unrolled_network(tmp_path, capsys):
    demo = load_demo("attractor")
    frames = tmp_path / "frames"
    argv = ["--steps", "40", "--trials", "10", "--unroll", "40", "--frames", str(frames)]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    pixels, whole = percents(r"recurrent backpropagation: ([\d.]+)% of erased pixels restored, "
                             r"([\d.]+)% of letters restored whole", out)
    assert pixels > 97.0 and whole > 85.0  # 12 of 25 pixels erased: guessing gets 50%
    (first_step,) = percents(r"before the units interact\): ([\d.]+)% of erased pixels", out)
    assert first_step < 80.0  # the erased pixels are filled in by the recurrent weights
    twin = percents(r"unrolled 40 steps: +([\d.]+)% of erased pixels restored, ([\d.]+)% of "
                    r"letters restored whole", out)
    assert twin == [pixels, whole]
    assert float(re.search(r"at most ([\d.e+-]+)\)", out).group(1)) < 1e-6  # weights
    difference, largest = percents(r"largest difference ([\d.e+-]+) \(largest gradient "
                                   r"([\d.e+-]+)\)", out)
    assert difference < 1e-8 and largest > 1e-3
    implicit, unrolled = (int(n.replace(",", "")) for n in
                          re.findall(r"([\d,]+) recorded op nodes", out))
    assert unrolled > 10 * implicit
    # the four letters, completed, as text grids
    assert out.count("input      settled    letter") == 4
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed" in out
        return
    forward = sorted(frames.glob("forward_*.png"))
    adjoint = sorted(frames.glob("adjoint_*.png"))
    assert len(forward) > 5 and len(adjoint) > 5
    assert forward[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"acTL" in (frames / "forward.apng").read_bytes()[:200]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--letters", "TQ"], "--letters: choose from TLXOH"),
        (["--erase", "25"], "--erase must be from 0 to 24"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--unroll", "-1"], "--unroll must be 0 or more"),
    ],
)
def test_attractor_demo_refuses_bad_settings(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_demo("attractor").main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
