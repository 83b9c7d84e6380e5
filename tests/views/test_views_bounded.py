"""Every view finishes in bounded time and memory, whatever the graph's shape; a renderer never
outlives its time limit or its caller.

Each heavy case runs in a child interpreter in its own process group, with a cap on its address
space and a time limit past which the whole group is killed: a regression fails the test instead
of hanging the suite or exhausting the machine.
"""

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograd import Value
from autograd.views import notebook, renderers

ROOT = Path(__file__).resolve().parents[2]
HAVE_RENDERER = renderers._graphviz_pure() is not None or renderers._system_dot() is not None
needs_renderer = pytest.mark.skipif(not HAVE_RENDERER, reason="no Graphviz renderer installed")


def run_bounded(code, seconds, memory_gb=3.0):
    """Run `code` in a fresh interpreter; returns its stdout, or fails the test when it raises,
    runs out of memory or time (then its whole process group is killed)."""

    def cap():
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=cap)
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"did not finish within {seconds} s")
    assert proc.returncode == 0, err[-2000:]
    return out


SHAPES = """
import random
from autograd import Value, sum_

def chain_reusing_one_input(n):  # y = x; y = y * x, ...: x is used by every product
    x = Value(1.0001, label="x")
    y = x
    for _ in range(n - 1):
        y = y * x
    return y

def random_dag(n, seed=0):  # operands drawn from everything made so far: long, crossing arrows
    rnd = random.Random(seed)
    pool = [Value(rnd.uniform(0.5, 1.5), label=f"x{i}") for i in range(5)]
    while len(pool) < n:
        a, b = rnd.choice(pool), rnd.choice(pool)
        pool.append(rnd.choice([a + b, a * b, a - b, a.tanh()]))
    used = {p for v in pool for p in v.parents}
    return sum_([v for v in pool if v not in used])

def mlp_loss(samples):
    import nn
    rnd = random.Random(0)
    model = nn.MLP(2, [4, 4, 1])
    xs = [[rnd.uniform(-1, 1), rnd.uniform(-1, 1)] for _ in range(samples)]
    return sum_([(model(x) - 1.0) ** 2 for x in xs])

def wide_sum(n):
    return sum_(Value(0.001 * i) for i in range(n - 1))
"""


@needs_renderer
@pytest.mark.parametrize(("shape", "seconds"), [
    ("chain_reusing_one_input(101)", 30),  # 100 products: still running after 17 minutes once
    ("chain_reusing_one_input(1000)", 40),
    ("random_dag(999)", 40),
    ("mlp_loss(28)", 40),
    ("wide_sum(1000)", 40),
])
def test_pictures_under_max_nodes_render_in_bounded_time(shape, seconds):
    out = run_bounded(SHAPES + f"""
from autograd import draw_dot
from autograd.backward import walk
root = {shape}
root.backward()
svg = draw_dot(root).pipe(format="svg")
print(len(walk(root)), svg.count(b"<g id=\\"node"))
""", seconds)
    values, drawn = map(int, out.split())
    assert values <= 1000 and drawn >= values  # every value drawn (references come on top)


@needs_renderer
def test_the_notebook_display_of_a_reused_input_does_not_hang():
    out = run_bounded(SHAPES + """
y = chain_reusing_one_input(101)
bundle = y._repr_mimebundle_()
print(sorted(bundle))
""", 30)
    assert "image/svg+xml" in out


def test_a_long_arrow_starts_from_a_reference_to_its_value():
    exec(SHAPES, scope := {})
    y = scope["chain_reusing_one_input"](30)
    from autograd.views.layout import MAX_SPAN
    from autograd.views.picture import draw_dot

    source = draw_dot(y).source
    references = source.count("style=\"rounded,dashed,filled\"")
    assert references == 29 - MAX_SPAN  # the first products use x itself
    assert source.count("->") == 29 * 3  # still one arrow per operand, one out of each op


def test_an_op_using_one_value_many_times_gets_one_arrow():
    from autograd import draw_dot, sum_

    x = Value(2.0, label="x")
    s = sum_([x] * 500)
    s.backward()
    source = draw_dot(s).source
    assert source.count("->") == 2 and "(x500)" in source and "∂ 500.0000" in source


def test_a_picture_with_too_many_arrows_is_refused():
    from autograd import draw_dot, sum_

    pool = [Value(float(i), label=f"a{i}") for i in range(30)]
    for _ in range(30):
        pool.append(sum_(pool))  # each uses every value before it: 1,335 arrows, 60 values
    with pytest.raises(ValueError, match=r"1,335 arrows.*max_nodes=334"):
        draw_dot(pool[-1], max_nodes=100)
    assert draw_dot(pool[-1], max_nodes=334).source


def slow_renderer(tmp_path):
    """A stand-in renderer that notes its pid, then sleeps for ten minutes."""
    pid_file = tmp_path / "renderer.pid"
    script = tmp_path / "slow-renderer"
    script.write_text(f"#!{sys.executable}\nimport os, time\n"
                      f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n")
    script.chmod(0o755)
    return script, pid_file


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"  # a zombie is dead, only not yet reaped


def wait_dead(pid, seconds=5.0):
    end = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not alive(pid)


def test_a_slow_renderer_is_stopped_at_its_time_limit_and_killed(tmp_path, monkeypatch):
    script, pid_file = slow_renderer(tmp_path)
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    monkeypatch.setattr(renderers, "_graphviz_pure", lambda: str(script))
    start = time.monotonic()
    with pytest.raises(renderers.RenderTimeout, match="more than 1 s"):
        renderers.render_source("digraph { a -> b }", "svg", timeout=1.0)
    assert time.monotonic() - start < 10
    assert wait_dead(int(pid_file.read_text()))


def test_the_notebook_display_falls_back_to_text_within_its_budget(tmp_path, monkeypatch):
    script, pid_file = slow_renderer(tmp_path)
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    monkeypatch.setattr(renderers, "_graphviz_pure", lambda: str(script))
    monkeypatch.setattr(notebook, "NOTEBOOK_SECONDS", 1.0)
    y = Value(2.0, label="x") * 3
    start = time.monotonic()
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}
    assert time.monotonic() - start < 10
    assert wait_dead(int(pid_file.read_text()))


def test_a_picture_displayed_in_a_notebook_gives_up_within_its_budget(tmp_path, monkeypatch):
    from autograd import draw_dot

    script, pid_file = slow_renderer(tmp_path)
    monkeypatch.setenv("GRADWALK_RENDERER", "graphviz-pure")
    monkeypatch.setattr(renderers, "_graphviz_pure", lambda: str(script))
    graph = draw_dot(Value(2.0, label="x") * 3)
    graph.display_timeout = 1.0
    start = time.monotonic()
    bundle = graph._repr_mimebundle_()
    assert time.monotonic() - start < 10
    assert list(bundle) == ["text/plain"] and "not drawn" in bundle["text/plain"]
    assert graph.timeout == renderers.DEFAULT_TIMEOUT  # the display's budget was for it alone
    assert wait_dead(int(pid_file.read_text()))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal")
def test_a_renderer_dies_with_its_caller(tmp_path):
    script, pid_file = slow_renderer(tmp_path)
    code = f"""
from autograd.views import renderers
renderers._graphviz_pure = lambda: {str(script)!r}
renderers.render_source("digraph {{ a -> b }}", "svg")
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADWALK_RENDERER": "graphviz-pure"}
    caller = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < end and caller.poll() is None, "renderer never started"
            time.sleep(0.05)
        renderer = int(pid_file.read_text())
        caller.kill()  # the caller alone, as a crash or `kill -9` would
        caller.wait()
        assert wait_dead(renderer), "the renderer outlived its caller"
    finally:
        try:
            os.killpg(caller.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_text_tree_of_a_deep_chain_stays_linear():
    from autograd import text_tree

    y = Value(1.0, label="x")
    for _ in range(4000):
        y = y * 1.0
    lines = text_tree(y, max_nodes=10_000).splitlines()
    assert len(lines) == 8001
    assert max(map(len, lines)) < 150  # was 16,000 characters: the indent stops growing
    assert any("[depth 4000] ├── x " in line for line in lines)  # the depth, past the indent


def test_text_tree_of_a_very_deep_chain_in_bounded_memory():
    out = run_bounded("""
from autograd import Value, text_tree
y = Value(1.0, label="x")
for _ in range(100_000):
    y = y * 1.0
text = text_tree(y, max_nodes=10**6)
print(len(text), max(map(len, text.splitlines())))
""", 60, memory_gb=1.5)
    size, longest = map(int, out.split())
    assert size < 200 * 200_001 and longest < 150


def test_text_tree_counts_the_repeats_of_one_operand_on_one_line():
    from autograd import sum_, text_tree
    from autograd.views.text import MAX_REFERENCES

    x = Value(1.0, label="x")
    lines = text_tree(sum_([x] * 5000)).splitlines()
    assert len(lines) == 1 + 1 + MAX_REFERENCES + 1
    assert lines[-1].endswith(f"… {5000 - 1 - MAX_REFERENCES:,} more uses of values drawn above")
    assert "… 4,992 more …" in lines[0]  # the formula lists a few operands


def test_text_tree_of_a_dense_graph_is_linear_in_its_values():
    from autograd import sum_, text_tree
    from autograd.views.text import MAX_REFERENCES

    pool = [Value(1.0, label="a")]
    for _ in range(300):
        pool.append(sum_(pool))  # 45,150 operands in all
    lines = text_tree(pool[-1]).splitlines()
    assert len(lines) <= len(pool) * (MAX_REFERENCES + 2)


def test_explain_is_linear_in_fan_in():
    out = run_bounded("""
import time
from autograd import Value, explain, sum_
y = sum_([Value(0.001 * i) for i in range(100_000)])
start = time.perf_counter()
text = explain(y, max_nodes=200_000)
print(len(text.splitlines()), time.perf_counter() - start)
""", 60)
    lines, seconds = out.split()
    assert int(lines) == 2 + 2 + 100_000 + 2 + 100_000  # head, step, a line per operand, list
    assert float(seconds) < 30  # quadratic, this took 426 s
