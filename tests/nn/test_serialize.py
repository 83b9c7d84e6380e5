"""nn.save / nn.load: exact JSON round trip, atomic saves, and one clear error per bad file."""

import json
import os
import pickle
import random
import struct

import pytest

import autograd.files
import nn
from nn import MLP, Layer, Module, Neuron
from nn.serialize import FORMAT, VERSION


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@pytest.fixture
def model():
    return MLP(3, [5, 4, 2], activation="tanh", output_activation="sigmoid", seed=3)


def test_round_trip_is_bit_exact(tmp_path, model):
    awkward = [0.1, 1 / 3, -0.0, 5e-324, 1e308, -2.2250738585072014e-308, 0.30000000000000004]
    for p, x in zip(model.parameters(), awkward, strict=False):
        p.data = x
    path = tmp_path / "model.json"
    nn.save(model, path)
    loaded = nn.load(path)
    assert type(loaded) is MLP
    assert loaded.config() == model.config()
    assert repr(loaded) == repr(model)
    assert [bits(p.data) for p in loaded.parameters()] == [bits(p.data) for p in model.parameters()]
    x = [0.3, -1.2, 2.5]
    assert [v.data for v in loaded(x)] == [v.data for v in model(x)]


@pytest.mark.parametrize(
    "module",
    [Neuron(4, "sigmoid", seed=1), Layer(3, 2, "linear", seed=2), MLP(2, [3, 1], seed=4)],
    ids=["Neuron", "Layer", "MLP"],
)
def test_every_block_round_trips(tmp_path, module):
    path = tmp_path / "m.json"
    nn.save(module, str(path))
    loaded = nn.load(str(path))
    assert type(loaded) is type(module)
    assert loaded.state_dict() == module.state_dict()
    assert loaded.config() == module.config()


def test_the_file_is_plain_json_with_a_format_marker(tmp_path, model):
    path = tmp_path / "model.json"
    nn.save(model, path)
    document = json.loads(path.read_text())
    assert document["format"] == FORMAT and document["version"] == VERSION
    assert document["module"] == "MLP"
    assert document["state"] == model.state_dict()


def test_load_does_not_draw_from_the_global_random(tmp_path, model):
    path = tmp_path / "model.json"
    nn.save(model, path)
    random.seed(9)
    expected = random.random()
    random.seed(9)
    nn.load(path)
    assert random.random() == expected


def test_saving_overwrites_and_leaves_no_temporary_files(tmp_path, model):
    path = tmp_path / "model.json"
    nn.save(MLP(1, [1], seed=0), path)
    nn.save(model, path)
    assert nn.load(path).state_dict() == model.state_dict()
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_save_interrupted_while_writing_leaves_the_old_file_whole(tmp_path, model, monkeypatch):
    path = tmp_path / "model.json"
    nn.save(model, path)
    old = path.read_bytes()

    real_fdopen = os.fdopen

    class HalfThenCrash:  # the temporary file, failing halfway through the write
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def fileno(self):
            return self.f.fileno()

        def write(self, data):
            self.f.write(data[:40])
            raise OSError("disk full")

    monkeypatch.setattr(autograd.files.os, "fdopen",
                        lambda fd, *a, **k: HalfThenCrash(real_fdopen(fd, *a, **k)))
    with pytest.raises(OSError, match="disk full"):
        nn.save(MLP(3, [1], seed=5), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.json"]  # the half-written temporary file is gone


def test_a_save_interrupted_before_the_rename_leaves_the_old_file_whole(
    tmp_path, model, monkeypatch
):
    path = tmp_path / "model.json"
    nn.save(model, path)
    old = path.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        nn.save(MLP(3, [1], seed=5), path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert nn.load(path).state_dict() == model.state_dict()
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_refuses_a_module_it_cannot_rebuild(tmp_path):
    class Custom(Module):
        pass

    with pytest.raises(TypeError, match="cannot rebuild a Custom"):
        nn.save(Custom(), tmp_path / "c.json")


# --- one clear error per kind of bad file -------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_file_says_truncated(tmp_path, model, fraction):
    path = tmp_path / "model.json"
    nn.save(model, path)
    text = path.read_text()
    path.write_text(text[: int(len(text) * fraction)])
    with pytest.raises(ValueError, match="truncated"):
        nn.load(path)


def test_a_corrupt_file_says_corrupt(tmp_path, model):
    path = tmp_path / "model.json"
    nn.save(model, path)
    text = path.read_text()
    middle = len(text) // 2
    path.write_text(text[:middle] + "}}garbage{{" + text[middle:])
    with pytest.raises(ValueError, match="corrupt: invalid JSON at line 1"):
        nn.load(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"weights": [1, 2, 3]}), "not a gradwalk model file .no 'gradwalk.nn'"),
        (json.dumps([1, 2, 3]), "not a gradwalk model file"),
        (json.dumps({"format": "keras", "version": 1}), "format marker 'keras'"),
        (json.dumps({"format": FORMAT, "version": VERSION + 1}), "newer gradwalk"),
        (json.dumps({"format": FORMAT, "version": "one"}), "unknown version"),
        (json.dumps({"format": FORMAT, "version": VERSION, "module": "Conv2d", "config": {}}),
         "unknown module type 'Conv2d'"),
        (json.dumps({"format": FORMAT, "version": VERSION, "module": "MLP",
                     "config": {"nin": 2, "nouts": [0]}}), "architecture is invalid"),
    ],
)
def test_a_foreign_file_says_whose_it_is_not(tmp_path, content, message):
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        nn.load(path)


def test_a_pickle_is_refused_never_unpickled(tmp_path, model):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"state": model.state_dict()}))
    with pytest.raises(ValueError, match="looks like a pickle"):
        nn.load(path)
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="binary data"):
        nn.load(path)


def test_weights_that_do_not_fit_the_architecture_say_so(tmp_path, model):
    path = tmp_path / "model.json"
    nn.save(model, path)
    document = json.loads(path.read_text())
    document["state"]["layers.1.neurons.2.w"].pop()
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="do not fit.*has 4 numbers, the model has 5"):
        nn.load(path)
    document["config"]["nouts"] = [5, 3, 2]
    document["state"]["layers.1.neurons.2.w"].append(0.0)
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="unexpected entries .'layers.1.neurons.3.w'"):
        nn.load(path)


def test_loading_a_mismatched_state_leaves_the_model_in_memory_untouched(tmp_path, model):
    before = model.state_dict()
    other = MLP(3, [5, 3, 2], activation="tanh", output_activation="sigmoid", seed=1)
    path = tmp_path / "other.json"
    nn.save(other, path)
    with pytest.raises(ValueError, match="missing"):
        model.load_state_dict(nn.load(path).state_dict())
    assert model.state_dict() == before


def test_save_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path):
    from nn import MLP, save

    target = tmp_path / "missing" / "model.json"
    with pytest.raises(FileNotFoundError, match="missing does not exist") as info:
        save(MLP(2, [1], seed=0), target)
    assert ".tmp" not in str(info.value)
