"""Parameters whose numbers live in arrays (`autograd.storage`): a step on the arrays lands on
the same bits as one parameter at a time, and everything that reads a parameter one at a time
(`.data`, `.grad`, eager ops, backward, copies, files, pictures) sees the current numbers."""

import copy
import math
import pickle
import random

import pytest

import nn
from autograd import Value, draw_dot, tape
from autograd.storage import StoredValue, store
from nn import MLP
from nn.losses import hinge
from nn.optim import SGD, Adam

np = pytest.importorskip("numpy")

OPTIMIZERS = {
    "sgd": lambda p: SGD(p, lr=0.1),
    "momentum": lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: Adam(p, lr=0.02, weight_decay=0.001),
}


def data():
    rng = random.Random(3)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(20)]
    y = [rng.choice([-1, 1]) for _ in X]
    return X, y


def bits(params):
    return [(p.data.hex(), p.grad.hex()) for p in params]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_on_arrays_land_on_the_bits_of_steps_one_parameter_at_a_time(name):
    X, y = data()
    plain, stored = MLP(2, [6, 1], seed=1), MLP(2, [6, 1], seed=1)
    opt_plain, opt_stored = OPTIMIZERS[name](plain.parameters()), \
        OPTIMIZERS[name](stored.parameters())
    t = tape(lambda x, k: hinge(stored(x), k), X[0], y[0])
    for _ in range(5):
        opt_plain.zero_grad()
        loss = hinge([plain(x) for x in X], y)
        loss.backward()
        grads = [p.grad for p in plain.parameters()]
        opt_plain.step()
        opt_stored.zero_grad()
        t.mean(X, y)  # moves the parameters into arrays
        for p, g in zip(stored.parameters(), grads):  # the eager gradients, so steps compare
            p.grad = g
        opt_stored.step()
        assert all(isinstance(p, StoredValue) for p in stored.parameters())
        assert bits(stored.parameters()) == bits(plain.parameters())
    assert all(type(p) is Value for p in plain.parameters())  # eager training stays plain


def test_a_stored_parameter_reads_and_writes_its_own_element():
    w, b = Value(0.5, label="w"), Value(-1.0, label="b")
    storage, index = store([w, b])
    data, grad = storage.arrays()
    w.data = 2.0
    b.grad = 3.0
    assert data[index[0]] == 2.0 and grad[index[1]] == 3.0
    data[index[1]] = 7.0
    assert b.data == 7.0 and type(b.data) is float and type(b.grad) is float
    with pytest.raises(TypeError, match="grad"):
        w.grad = None
    (w * b).backward()
    assert w.grad == 7.0 and grad[index[0]] == 7.0


def test_a_graph_recorded_before_an_array_step_is_stale():
    X, y = data()
    model = MLP(2, [3, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    t = tape(lambda x, k: hinge(model(x), k), X[0], y[0])
    t.mean(X, y)
    old = hinge(model(X[0]), y[0])
    opt.step()  # on the arrays: every parameter written at once
    with pytest.raises(RuntimeError, match="changed"):
        old.backward()
    hinge(model(X[0]), y[0]).backward()  # a graph recorded after it is fine


def test_copies_files_and_pictures_of_stored_parameters(tmp_path):
    X, y = data()
    model = MLP(2, [3, 1], seed=0)
    opt = Adam(model.parameters(), lr=0.05)
    t = tape(lambda x, k: hinge(model(x), k), X[0], y[0])
    for _ in range(3):
        opt.zero_grad()
        t.mean(X, y)
        opt.step()
    state = model.state_dict()
    for copied in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert copied.state_dict() == state
        assert all(type(p) is Value for p in copied.parameters())  # copies are plain
    nn.save(model, tmp_path / "m.json")
    assert nn.load(tmp_path / "m.json").state_dict() == state
    out = model(X[0])
    out.backward()
    assert "data" in draw_dot(out).source
    assert math.isfinite(out.data)


def test_parameters_moved_to_another_storage_are_followed():
    X, y = data()
    model = MLP(2, [4, 1], seed=2)
    params = model.parameters()
    first = SGD(params, lr=0.1)
    t = tape(lambda x, k: hinge(model(x), k), X[0], y[0])
    t.mean(X, y)
    first.step()
    storage = params[0]._arg[0]
    store([*params[:3], Value(1.0)])  # three of them move, with another, to a new storage
    assert storage.version == 3 and params[0]._arg[0] is not storage  # three moved out
    before = [p.data for p in params]
    grads = [p.grad for p in params]
    first.step()  # finds its parameters again: all of them step
    assert [p.data for p in params] == [b - 0.1 * g for b, g in zip(before, grads)]
