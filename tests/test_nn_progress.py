"""nn.Progress, nn.minibatches, nn.accuracy."""

import io
import random

import pytest

from nn import Progress, accuracy, minibatches


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_silent_when_output_is_not_a_terminal():
    stream = io.StringIO()
    with Progress(10, "epoch 1/1", stream=stream) as bar:
        for _ in range(10):
            bar.update(1, loss=0.5, acc=0.9)
    assert stream.getvalue() == ""
    assert bar.enabled is False and bar.done == 10


def test_progress_draws_epoch_loss_accuracy_and_rate_on_a_terminal():
    stream = FakeTerminal()
    with Progress(200, "epoch 2/5", stream=stream) as bar:
        bar.update(50, loss=0.25, acc=0.5)
        bar.update(150, loss=0.125, acc=0.875)
    out = stream.getvalue()
    assert out.startswith("\r") and out.endswith("\n")
    last = out.rstrip("\n").split("\r")[-1]
    assert last.startswith("epoch 2/5 [" + "#" * 24 + "] 100%")
    assert "loss 0.125" in last and "acc 87.5%" in last and "samples/s" in last


def test_progress_line_shows_a_partial_bar():
    bar = Progress(4, "x", stream=io.StringIO(), width=8)
    bar.update(1)
    assert "[##------]  25%" in bar.line()
    assert "eta " in bar.line()


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
