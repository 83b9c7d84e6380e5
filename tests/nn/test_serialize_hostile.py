"""nn.load against hostile files (in a child process with a memory cap and a time limit), and
nn.save against what can be at the path: permissions, links, FIFOs, read-only files and the
temporary files of a save that was killed."""

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nn
from nn import MLP, Neuron
from nn.serialize import FORMAT, VERSION

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def run_capped(code, memory_mib=384, seconds=30):
    """Run `code` in a child Python with its address space capped; kill its whole process group
    if it outlives `seconds`. Returns (exit code, stdout, stderr, seconds taken)."""
    limit = memory_mib * 2**20

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    start = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=cap,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail(f"the child did not finish within {seconds} s")
    return child.returncode, out, err, time.monotonic() - start


def document(module="MLP", config=None, state=None):
    return {
        "format": FORMAT,
        "version": VERSION,
        "module": module,
        "config": {"nin": 1, "nouts": [1]} if config is None else config,
        "state": {} if state is None else state,
    }


LOAD_AND_REPORT = """
    import resource, time
    import nn
    start = time.perf_counter()
    try:
        nn.load({path!r})
    except ValueError as exc:
        print("ValueError:", exc)
    else:
        print("loaded")
    print(time.perf_counter() - start)
    try:  # this process's own peak (ru_maxrss can carry the forking parent's over exec)
        with open("/proc/self/status") as f:
            print(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
    except OSError:
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def load_capped(path, memory_mib=384, seconds=30):
    """nn.load(path) in a capped child: (what it said, seconds the load took, peak KiB)."""
    code, out, err, _ = run_capped(LOAD_AND_REPORT.format(path=str(path)), memory_mib, seconds)
    assert code == 0, err[-2000:]
    said, took, peak = out.strip().rsplit("\n", 2)
    return said, float(took), int(peak)


# --- a file's claims are checked against what it holds, before anything is built -----------------


@posix_only
@pytest.mark.parametrize(
    ("config", "needs"),
    [
        ({"nin": 1, "nouts": [4000, 4000, 1]}, "needs 16,016,001 weights, the file holds 0"),
        ({"nin": 10**7, "nouts": [1]}, "needs 10,000,001 weights, the file holds 0"),
        ({"nin": 10**400, "nouts": [1]}, "needs a 401-digit number of weights"),
        ({"nin": 3, "nouts": [10**400, 1]}, "nouts=[an integer of 401 digits, 1]"),
        ({"nin": 1, "nouts": [1] * 200_000}, "needs 400,000 weights, the file holds 0"),
    ],
)
def test_a_file_claiming_a_huge_model_is_refused_at_once_and_in_little_memory(
    tmp_path, config, needs
):
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(document(config=config)))
    out, took, _ = load_capped(path, memory_mib=256, seconds=30)
    assert out.startswith(f"ValueError: {path}: the weights do not fit"), out
    assert needs in out, out
    assert took < 5, took


@posix_only
def test_the_117_byte_file_of_the_report_is_refused_in_a_blink(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document(config={"nin": 1, "nouts": [4000, 4000, 1]})))
    assert path.stat().st_size == 117
    out, took, peak_kib = load_capped(path, memory_mib=256, seconds=30)
    assert "needs 16,016,001 weights, the file holds 0" in out, out
    assert took < 0.5 and peak_kib < 100 * 1024, (took, peak_kib)  # was 71 s and 4 GiB


def test_a_small_shortfall_is_still_told_entry_by_entry(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    state["layers.0.neurons.1.w"].pop()
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document(config=model.config(), state=state)))
    with pytest.raises(ValueError, match=r"'layers.0.neurons.1.w' has 1 numbers, the model has 2"):
        nn.load(path)


# --- every bad file is a ValueError naming the file and the problem -----------------------------


def _deep(n):
    return "[" * n + "]" * n


BAD_FILES = [
    # (file text, what the message must say)
    (_deep(100_000), "nests too deeply"),
    (json.dumps(document())[:-3] + '{"w": ' + _deep(100_000) + "}}", "nests too deeply"),
    (json.dumps(document(module=["MLP"])), r"unknown module type \['MLP'\]"),
    (json.dumps(document(module={"MLP": 1})), "unknown module type"),
    (json.dumps(document(config=["nin", 1])), "'config' entry is missing or not an object"),
    (json.dumps(document(config={"nin": 1, "nouts": [1], "seed": 5})), "unknown entries 'seed'"),
    (json.dumps(document(config={"nin": 1, "nouts": [1], "weights": []})), "unknown entries"),
    (json.dumps(document(config={"nouts": [1]})), "missing 'nin'"),
    (json.dumps(document(config={"nin": 1.0, "nouts": [1]})), "nin must be a positive int"),
    (json.dumps(document(config={"nin": True, "nouts": [1]})), "nin must be a positive int"),
    (json.dumps(document(config={"nin": 1, "nouts": 3})), "non-empty list of layer sizes"),
    (json.dumps(document(config={"nin": 1, "nouts": [1], "activation": ["relu"]})),
     "activation must be one of"),
    (json.dumps(document(config={"nin": 1, "nouts": [1], "activation": "swish"})),
     "unknown activation 'swish'"),
    (json.dumps(document(state=[1, 2])), "'state' entry .* not an object"),
    (json.dumps(document(state={"layers.0.neurons.0.w": ["1"]})), r"\[0\] is not a number: '1'"),
    (json.dumps(document(state={"layers.0.neurons.0.w": [10**400], "layers.0.neurons.0.b": 0})),
     r"'layers.0.neurons.0.w'\[0\] is an integer of 401 digits, too large for a float"),
    (json.dumps(document(state={"layers.0.neurons.0.w": [0.5], "layers.0.neurons.0.b": 10**400})),
     "'layers.0.neurons.0.b' is an integer of 401 digits, too large"),
    ('{"format": "gradwalk.nn", "version": 1, "module": "MLP", "config": {"nin": 1, "nouts": [1]},'
     ' "state": {"layers.0.neurons.0.w": [NaN], "layers.0.neurons.0.b": 0.0}}',
     r"'layers.0.neurons.0.w'\[0\] is nan; weights must be finite"),
    ('{"format": "gradwalk.nn", "version": 1, "module": "MLP", "config": {"nin": 1, "nouts": [1]},'
     ' "state": {"layers.0.neurons.0.w": [0.5], "layers.0.neurons.0.b": Infinity}}',
     "'layers.0.neurons.0.b' is inf; weights must be finite"),
    ('{"format": "gradwalk.nn", "version": 1, "module": "MLP", "config": {"nin": 1, "nouts": [1]},'
     ' "state": {"layers.0.neurons.0.w": [-Infinity], "layers.0.neurons.0.b": 0.0}}',
     r"\[0\] is -inf; weights must be finite"),
    ('{"format": "gradwalk.nn", "version": 1, "module": "MLP", "config": {"nin": 1, "nouts": [1]},'
     ' "state": {"layers.0.neurons.0.w": [1e999], "layers.0.neurons.0.b": 0.0}}',
     r"\[0\] is inf; weights must be finite"),
    ('{"format": "gradwalk.nn", "version": 1, "state": [' + "9" * 5000 + "]}", "corrupt"),
    (json.dumps({"format": ["gradwalk.nn"] * 1000, "version": 1}), "format marker"),
    (json.dumps({"format": FORMAT, "version": 10**400}), "401 digits .written by a newer"),
    (json.dumps({"format": FORMAT, "version": True}), "unknown version"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES, ids=range(len(BAD_FILES)))
def test_every_bad_file_is_a_value_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad-model.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        nn.load(path)
    assert str(info.value).startswith(str(path)), info.value
    assert len(str(info.value)) < 400  # a huge value from the file is never echoed whole


@posix_only
def test_deep_nesting_and_huge_numbers_are_refused_in_little_memory(tmp_path):
    paths = []
    for i in (0, 1, 2, 15, 21):
        paths.append(str(tmp_path / f"bad{i}.json"))
        Path(paths[-1]).write_text(BAD_FILES[i][0])
    code = f"""
        import nn
        for path in {paths!r}:
            try:
                nn.load(path)
            except ValueError as exc:
                assert str(exc).startswith(path), exc
            else:
                raise SystemExit("loaded " + path)
        print("all refused")
    """
    status, out, err, took = run_capped(code, memory_mib=256, seconds=30)
    assert status == 0 and out.strip() == "all refused", err[-2000:]


# --- save writes standard JSON only ---------------------------------------------------------------


def _standard_json(text):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_save_refuses_a_non_finite_weight_naming_the_parameter(tmp_path, bad):
    model = MLP(2, [3, 1], seed=0)
    path = tmp_path / "m.json"
    nn.save(model, path)
    before = path.read_bytes()
    model.layers[1].neurons[0].w[2].data = bad
    with pytest.raises(ValueError, match=rf"parameter 'layers.1.neurons.0.w.2' is {bad!r}"):
        nn.save(model, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.json"]
    _standard_json(path.read_text())


def test_saved_files_are_standard_json(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    model.parameters()[0].data = 1e308
    model.parameters()[1].data = 5e-324
    path = tmp_path / "m.json"
    nn.save(model, path)
    assert _standard_json(path.read_text())["state"] == model.state_dict()


# --- save and what is at the path -----------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_replacing_a_file_keeps_its_permissions(tmp_path, mode):
    path = tmp_path / "m.json"
    path.write_text("old")
    path.chmod(mode)
    nn.save(Neuron(2, seed=0), path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert nn.load(path).state_dict() == Neuron(2, seed=0).state_dict()


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_default(tmp_path, umask):
    old = os.umask(umask)
    try:
        nn.save(Neuron(2, seed=0), tmp_path / "m.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o666 & ~umask


@posix_only
def test_a_symlink_is_written_through_to_its_target(tmp_path):
    real = tmp_path / "store" / "model.json"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "current.json"
    link.symlink_to(real)
    model = MLP(2, [2, 1], seed=1)
    nn.save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert nn.load(real).state_dict() == model.state_dict()
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["current.json", "store"]
    assert os.listdir(real.parent) == ["model.json"]


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    nn.save(Neuron(1, seed=0), link)
    assert link.is_symlink() and (tmp_path / "target.json").is_file()


@posix_only
def test_a_fifo_is_refused_and_left_alone(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="is a FIFO .named pipe., not a regular file"):
        nn.save(Neuron(1, seed=0), fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]
    link = tmp_path / "to-pipe"
    link.symlink_to(fifo)
    with pytest.raises(FileExistsError, match="FIFO"):
        nn.save(Neuron(1, seed=0), link)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        nn.save(Neuron(1, seed=0), tmp_path)


@posix_only
@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_a_read_only_file_is_refused_like_open_would(tmp_path, mode):
    path = tmp_path / "m.json"
    path.write_text("precious")
    path.chmod(mode)
    try:
        with pytest.raises(PermissionError, match="read-only") as info:
            nn.save(Neuron(1, seed=0), path)
        assert info.value.errno == errno.EACCES
        assert os.listdir(tmp_path) == ["m.json"]
        assert stat.S_IMODE(path.stat().st_mode) == mode
    finally:
        path.chmod(0o644)
    assert path.read_text() == "precious"


# --- a save that is killed leaves a temporary file, and the next save removes it ------------------

SLOW_SAVE = """
    import os, sys, time
    import nn
    real_fsync = os.fsync

    def stalled_fsync(fd):
        # the data is written, the rename not yet: where a kill hurts most; wait to be killed
        real_fsync(fd)
        print("written", flush=True)
        time.sleep(120)

    os.fsync = stalled_fsync
    nn.save(nn.MLP(50, [100, 1], seed=0), {path!r})
    print("saved", flush=True)
"""


def _temporaries(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def _kill_mid_save(path):
    """Start a save to `path` that stalls once its temporary file holds the data, SIGKILL its
    process group there, and return the temporary file's name."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SLOW_SAVE.format(path=str(path)))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = child.stdout.readline()  # blocks until the child has written, or has exited
        if line.strip() != "written":
            pytest.fail(f"the save did not stall before its rename: it printed {line!r}")
        mine = f".{path.name}.{child.pid}."  # the child's temporary file is named for it
        temps = [n for n in _temporaries(path.parent) if n.startswith(mine)]
        assert temps and (path.parent / temps[0]).stat().st_size > 10_000
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return temps[0]


@posix_only
def test_the_next_save_removes_what_killed_saves_left(tmp_path):
    path = tmp_path / "model.json"
    model = MLP(2, [3, 1], seed=0)
    nn.save(model, path)
    first = _kill_mid_save(path)
    assert _temporaries(tmp_path) == [first]  # what a kill leaves: named for its save
    second = _kill_mid_save(path)  # that save removed the first one's file before it was killed
    assert _temporaries(tmp_path) == [second]
    assert nn.load(path).state_dict() == model.state_dict()  # the old file is whole
    other = tmp_path / "other.json"
    nn.save(model, other)  # a save to another path leaves them alone
    assert _temporaries(tmp_path) == [second]
    nn.save(model, path)
    assert _temporaries(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["model.json", "other.json"]


@posix_only
def test_a_live_saves_temporary_file_is_never_removed(tmp_path):
    import fcntl

    path = tmp_path / "model.json"
    ours = tmp_path / f".model.json.{os.getpid()}.0123abcd.tmp"  # a live process
    ours.write_text("in progress")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(done.stdout)  # that process has exited
    locked = tmp_path / f".model.json.{dead_pid}.4567cdef.tmp"
    locked.write_text("held by a live process elsewhere")
    unrelated = tmp_path / f".other.json.{dead_pid}.89abcdef.tmp"
    unrelated.write_text("another path's")
    with open(locked) as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        nn.save(Neuron(1, seed=0), path)
        assert ours.exists() and locked.exists() and unrelated.exists()
    nn.save(Neuron(1, seed=0), path)  # the lock is gone and its process is dead: stale
    assert ours.exists() and not locked.exists() and unrelated.exists()


@pytest.mark.parametrize(
    "module",
    [Neuron(3, seed=0), nn.Layer(4, 2, "tanh", seed=0), MLP(3, [4, 5, 2], seed=0), MLP(1, [1])],
    ids=["Neuron", "Layer", "MLP", "MLP-1"],
)
def test_the_architecture_table_knows_every_config_and_its_weight_count(module):
    from nn.serialize import _ARCHITECTURES

    required, optional, count = _ARCHITECTURES[type(module).__name__]
    config = module.config()
    assert set(required) <= set(config) <= set(required) | set(optional)
    assert count(config) == len(module.parameters())


# --- pickles: where the docs recommend them, they say what loading one does ----------------------


def blocks(text):
    """The paragraphs and list items of a Markdown page."""
    out, current = [], []
    for line in text.splitlines():
        starts_item = line.lstrip().startswith(("- ", "* ")) or not line.strip()
        if starts_item and current:
            out.append(" ".join(current))
            current = []
        if line.strip():
            current.append(line.strip())
    return out + ([" ".join(current)] if current else [])


def test_where_pickling_is_recommended_the_risk_and_the_json_way_are_said():
    import autograd.graphcopy

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    recommending = [(page.name, block) for page in pages for block in blocks(page.read_text())
                    if "pickle" in block and "deepcopy" in block]  # the "keep a model" advice
    assert recommending, "no page recommends pickling any more: update this test"
    docstrings = [("nn.Module", nn.Module.__doc__),
                  ("autograd.graphcopy", autograd.graphcopy.__doc__)]
    for where, text in recommending + docstrings:
        flat = " ".join(text.split())
        assert "runs whatever code" in flat and "trust" in flat, where
        assert "nn.save" in flat and "nn.load" in flat and "JSON" in flat, where
