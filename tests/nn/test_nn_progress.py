"""nn.progress (tqdm's bar: a widget in a notebook, text on a terminal, quiet in a log), the
nn.Progress alias, nn.minibatches, nn.accuracy."""

import io
import random

import pytest

from nn import Progress, accuracy, minibatches, progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_quiet_when_output_is_not_a_terminal():
    stream = io.StringIO()
    with progress(total=10, desc="epoch 1/1", file=stream) as bar:
        for _ in range(10):
            bar.set_postfix(loss="0.5")
            bar.update(1)
    assert stream.getvalue() == "" and bar.disable
    assert list(progress(range(3), file=stream)) == [0, 1, 2]  # it wraps an iterable too
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal_with_its_postfix():
    stream = FakeTerminal()
    with progress(total=200, desc="epoch 2/5", file=stream, mininterval=0) as bar:
        bar.update(50)
        bar.set_postfix(loss="0.125", refresh=False)
        bar.update(150)
    out = stream.getvalue()
    last = out.rstrip("\n").split("\r")[-1]
    assert last.startswith("epoch 2/5: 100%") and "200/200" in last
    assert "loss=0.125" in last and "samples/s" in last


def test_the_progress_alias_takes_metrics_in_update():
    stream = FakeTerminal()
    with Progress(200, "epoch 2/5", stream=stream) as bar:
        assert bar.enabled
        bar.update(50, loss=0.25, acc=0.5)
        bar.update(150, loss=0.125, acc=0.875)
    assert bar.done == 200
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "loss=0.125" in last and "acc=87.5%" in last and "100%" in last
    quiet = Progress(5, stream=io.StringIO())
    quiet.update(5, loss=1.0)
    quiet.close()
    assert not quiet.enabled and quiet.done == 5


def test_in_a_notebook_the_bar_is_a_widget():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from nn import progress\n"
        "with progress(total=3, desc='epoch 1/1') as bar:\n"
        "    bar.update(3)\n")]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    shown = {kind for out in nb.cells[0].outputs for kind in out.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in shown, nb.cells[0].outputs
    assert not any(out.get("name") == "stderr" for out in nb.cells[0].outputs)  # no text bar


def test_minibatches_cover_every_index_once():
    batches = list(minibatches(10, 3, rng=random.Random(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert list(minibatches(4, 2, shuffle=False)) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(4, 0))


def test_accuracy():
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        accuracy([1, 2, 3], [1, 2])
