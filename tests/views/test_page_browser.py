"""The HTML pages in a real headless Chromium (see pagebrowser.py, beside this file): what a
reader sees and does, checked against the engine's numbers. Every test also checks that the page
logged no error and fetched nothing, and leaves a screenshot in out/page-<test>.png."""

import time
from pathlib import Path

import pytest
from pagebrowser import chromium, open_page, unavailable

from autograd import Value, draw_html
from autograd.engine import is_constant, local_derivatives, topological_order, walk
from autograd.views.names import node_names, num
from nn import MLP, Recorder
from nn.losses import hinge

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
SHOTS = Path(__file__).resolve().parents[2] / "out"


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


@pytest.fixture
def show(browser, request):
    """Open a page; after the test, check it stayed quiet and offline, and keep a screenshot."""
    opened = []

    def open_(document):
        opened.append(open_page(browser, str(document)))
        return opened[-1].page

    yield open_
    for k, o in enumerate(opened):
        SHOTS.mkdir(exist_ok=True)
        suffix = f"-{k + 1}" if len(opened) > 1 else ""
        o.page.screenshot(path=str(SHOTS / f"page-{request.node.name}{suffix}.png"),
                          full_page=True)
        errors, fetched = o.errors, o.fetched
        o.page.close()
        assert errors == [], f"the page logged errors: {errors}"
        assert fetched == [], f"the page asked the network for: {fetched}"


def neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b)


def mlp_loss():
    model = MLP(2, [3, 1], seed=0)
    scores = [model([0.5, -1.0]), model([1.0, 2.0])]
    loss = hinge(scores, [1, -1])
    loss.label = "loss"
    loss.backward()
    return loss, model


def click(page, name):
    where = page.evaluate("(name) => gradwalk.locate(name)", name)
    assert where is not None, f"{name} is not on the page"
    page.mouse.click(where["x"], where["y"])
    page.wait_for_selector(f"#details[data-node='{name}']")


def shown(page, selector):
    """The full-precision number behind a shown one, and the text shown."""
    element = page.locator(selector)
    return float(element.get_attribute("data-value")), element.inner_text()


def test_every_value_is_on_the_page(show):
    o, _ = neuron()
    page = show(draw_html(o))
    assert page.get_attribute("#stats", "data-values") == str(len(walk(o)))
    assert page.evaluate("gradwalk.boxes()") == len(walk(o))
    names = node_names(o)
    for node in walk(o):
        assert page.evaluate("(n) => gradwalk.locate(n) !== null", names[node])


def test_a_click_shows_the_engines_numbers(show):
    o, leaves = neuron()
    page = show(draw_html(o))
    for name, leaf in leaves.items():
        click(page, name)
        assert shown(page, "#d-data") == (leaf.data, num(leaf.data))
        assert shown(page, "#d-grad") == (leaf.grad, num(leaf.grad))
        total = page.locator("#chain .total")
        assert float(total.get_attribute("data-value")) == leaf.grad
    n = o.parents[0]  # x1*w1 + x2*w2 + b, then tanh: click the tanh's operand's operand
    product = n.parents[0].parents[0]  # x1 * w1
    names = node_names(o)
    click(page, names[product])
    locals_ = page.locator("#locals .local")
    assert [float(locals_.nth(i).get_attribute("data-value")) for i in range(2)] == \
        list(local_derivatives(product)) == [-3.0, 2.0]
    assert float(page.locator("#chain .total").get_attribute("data-value")) == product.grad


def test_stepping_visits_the_nodes_in_backwards_order(show):
    o, leaves = neuron()
    names = node_names(o)
    page = show(draw_html(o))
    expected = [names[n] for n in topological_order(o) if n.parents]
    visited = []
    page.click("#step-next")
    visited.append(page.get_attribute("#step", "data-node"))
    for _ in expected[1:]:
        page.keyboard.press("ArrowRight")
        visited.append(page.get_attribute("#step", "data-node"))
    assert visited == expected
    page.keyboard.press("ArrowRight")  # past the end: stays on the last step
    assert page.get_attribute("#step", "data-step") == str(len(expected))
    page.keyboard.press("Home")
    assert page.get_attribute("#step", "data-step") == "0"
    page.keyboard.press("End")
    assert page.get_attribute("#step", "data-node") == expected[-1]


def test_a_step_shows_what_it_adds(show):
    o, leaves = neuron()
    page = show(draw_html(o))
    page.keyboard.press("End")  # the last step: x1 * w1 sends into x1 and w1
    values = page.locator("#step [data-value]")
    numbers = [float(values.nth(i).get_attribute("data-value")) for i in range(values.count())]
    x1, w1 = leaves["x1"], leaves["w1"]
    upstream = x1.grad / w1.data
    # upstream; then per operand: upstream, local, added, total
    assert numbers[0] == upstream
    assert numbers[1:] == [upstream, w1.data, x1.grad, x1.grad, upstream, x1.data, w1.grad, w1.grad]


def test_collapse_a_neuron_and_a_layer_and_expand_them(show):
    loss, model = mlp_loss()
    total = len(walk(loss))
    page = show(draw_html(loss))
    click(page, "layers.0.neurons.1.w.0")
    page.click("button.collapse[data-group='layers.0.neurons.1']")
    page.wait_for_selector("#details[data-node='layers.0.neurons.1']")
    # the neuron: its 3 parameters and, for each of the 2 samples, its dot, + b and relu
    assert page.evaluate("gradwalk.boxes()") == total - (3 + 2 * 3) + 1
    page.click("#expand")
    assert page.evaluate("gradwalk.boxes()") == total
    page.click("button[data-kind='layer']")
    # parameters 3 x 3 + 4; per sample, 3 x (dot, + b, relu) in layer 0 and dot, + b in layer 1,
    # and the sample's two inputs, read only by layer 0
    layer_values = 13 + 2 * (9 + 2) + 2 * 2
    assert page.evaluate("gradwalk.boxes()") == total - layer_values + 2
    assert page.get_attribute("#stats", "data-boxes") == str(total - layer_values + 2)
    click(page, "loss")  # outside every group: still there to click
    page.click("#expand-all")
    assert page.evaluate("gradwalk.boxes()") == total


def test_find_a_value_by_name(show):
    loss, _ = mlp_loss()
    page = show(draw_html(loss))
    page.click("button[data-kind='neuron']")
    page.fill("#find", "neurons.2.b")
    page.click("#find-results button[data-node='layers.0.neurons.2.b']")
    page.wait_for_selector("#details[data-node='layers.0.neurons.2.b']")
    # found inside a collapsed neuron: the neuron opened to show it
    assert page.evaluate("gradwalk.boxes()") > 0
    assert page.evaluate("(n) => gradwalk.locate(n) !== null", "layers.0.neurons.2.b")


def test_practice_accepts_the_right_answer_and_rejects_a_wrong_one(show):
    o, leaves = neuron()
    names = node_names(o)
    page = show(draw_html(o))
    page.click("#practice-toggle")
    asked = [n for n in topological_order(o) if n is not o and not is_constant(n)]
    first = asked[0]
    assert page.get_attribute("#practice", "data-question") == names[first]
    assert page.locator("#d-grad").inner_text() == "?"  # hidden until answered
    page.fill("#answer", str(first.grad + 0.25))
    page.press("#answer", "Enter")
    assert page.locator("#feedback.wrong").count() == 1
    assert page.get_attribute("#practice", "data-question") == names[first]
    page.fill("#answer", "one half")
    page.click("#check")
    assert "Type a number" in page.locator("#feedback").inner_text()
    for node in asked:  # every answer, as the page shows numbers (4 decimals)
        assert page.get_attribute("#practice", "data-question") == names[node]
        page.fill("#answer", num(node.grad))
        page.press("#answer", "Enter")
        assert page.locator("#feedback.right").count() == 1, names[node]
    assert "All" in page.locator("#practice").inner_text()
    click(page, "w1")
    assert shown(page, "#d-grad")[0] == leaves["w1"].grad  # answered: shown again


def test_a_hostile_label_is_shown_as_text(show):
    label = "</script><img src=x onerror=alert(1)>"
    x = Value(3.0, label=label)
    y = x * x
    y.label = "y"
    y.backward()
    page = show(draw_html(y))
    click(page, label)
    assert page.locator("#details h2 .mono").inner_text() == label
    assert page.locator("img").count() == 0


def test_the_training_page_scrubs_through_the_recorded_steps(show):
    model = MLP(2, [4, 1], seed=3)
    X = [[0.0, 1.0], [1.0, 0.0], [-1.0, -0.5], [0.5, 0.5]]
    y = [1, -1, 1, -1]
    rec = Recorder(model, inputs=X, targets=y, grid=16)
    grads = []
    for _ in range(5):
        loss = hinge([model(x) for x in X], y)
        model.zero_grad()
        loss.backward()
        rec.snapshot(loss, accuracy=0.25)
        grads.append({name: p.grad for name, p in model.named_parameters()})
        for p in model.parameters():
            p.data -= 0.3 * p.grad
    page = show(rec.to_html())
    assert page.get_attribute("#readout", "data-step") == "4"  # opens on the last snapshot
    page.locator("#scrub").fill("2")
    assert page.get_attribute("#readout", "data-step") == "2"
    assert shown(page, "#r-loss")[0] == rec.loss[2]
    where = page.evaluate("gradwalk.cell('layers.0.neurons.1.w.0')")
    page.mouse.click(where["x"], where["y"])
    assert shown(page, "#r-param-grad")[0] == grads[2]["layers.0.neurons.1.w.0"]
    page.keyboard.press("ArrowLeft")
    assert shown(page, "#r-param-grad")[0] == grads[1]["layers.0.neurons.1.w.0"]
    tip = page.locator("#tip")  # the mouse is still on the cell: its tooltip follows the step
    assert tip.get_attribute("data-step") == "1"
    assert f"grad {num(grads[1]['layers.0.neurons.1.w.0'])}" in tip.inner_text()
    assert page.get_attribute("#r-accuracy", "data-value") == "0.25"


def test_the_notebook_frame_runs_the_page(show):
    o, _ = neuron()
    frame_html = draw_html(o)._repr_html_()
    notebook = f"<!DOCTYPE html><html><body><p>cell output</p>{frame_html}</body></html>"
    page = show(notebook)
    frame = page.frame_locator("iframe")
    frame.locator("html[data-ready=true]").wait_for()
    assert frame.locator("#stats").get_attribute("data-values") == str(len(walk(o)))
    frame.locator("#step-next").click()
    assert frame.locator("#step").get_attribute("data-node") == "o"


def odd_graphs():
    leaf = Value(4.0, label="alone")
    leaf.backward()
    x = Value(0.0, label="x")
    root = x.sqrt() + x * float("inf")  # an infinite local derivative, a nan data
    root.label = "r"
    constants = Value(2.0) * 3 + 1  # an unlabelled root over an unlabelled leaf
    constants.backward()
    return {"leaf": (leaf, "LR"), "nonfinite": (root, "TB"), "constants": (constants, "BT"),
            "right-to-left": (neuron()[0], "RL")}


@pytest.mark.parametrize("kind", sorted(odd_graphs()))
def test_odd_graphs_open_and_step_to_the_end(show, kind):
    root, rankdir = odd_graphs()[kind]
    page = show(draw_html(root, rankdir=rankdir))
    assert page.evaluate("gradwalk.boxes()") == len(walk(root))
    page.keyboard.press("End")
    steps = [n for n in topological_order(root) if n.parents]
    assert page.get_attribute("#step", "data-step") == str(len(steps))
    names = node_names(root)
    click(page, names[root])
    page.click("#practice-toggle")
    page.keyboard.press("Escape")


def test_a_vector_jacobian_product_step_shows_what_it_sends(show):
    from autograd import fixed_point

    w, b = Value(0.5, label="w"), Value(0.3, label="b")
    x = fixed_point(lambda x: [(w * x[0] + b).tanh()], [0.0])[0]
    y = x * 2
    y.label = "y"
    y.backward()
    page = show(draw_html(y))
    page.keyboard.press("End")  # the last step: the fixed point sends into w and b
    assert "vector-Jacobian product" in page.locator("#step").inner_text()
    values = page.locator("#step td [data-value]")
    sent = [float(values.nth(i).get_attribute("data-value")) for i in range(values.count())]
    assert sent == [w.grad, w.grad, b.grad, b.grad]  # added, then the total, for each
    click(page, "w")
    assert float(page.locator("#chain .total").get_attribute("data-value")) == w.grad


# --- a network on the page: opening view, legibility, outlines, folding, export -----------------


def mlp341_loss():
    model = MLP(3, [4, 4, 1], seed=0)
    X = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    loss = hinge([model(x) for x in X], [1, -1, -1, 1])
    loss.label = "loss"
    loss.backward()
    return loss, model


def moons_loss(samples=100):
    """micrograd's moons loss written micrograd's way: Python sums of hinge losses and p*p."""
    import random

    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    points = [[random.uniform(-1.5, 2.5), random.uniform(-1, 1.5)] for _ in range(samples)]
    labels = [1 if a * b > 0 else -1 for a, b in points]
    losses = [(1 + -y * model(x)).relu() for x, y in zip(points, labels)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    loss = data_loss + reg_loss
    loss.label = "loss"
    loss.backward()
    return loss, model


def drawn(page):
    return page.evaluate("gradwalk.drawn()")


def until(page, holds, seconds=10.0):
    """Wait until `holds(drawn(page))`: the page redraws in a frame of its own, later on a
    busy machine. Polled from here (the page's policy forbids evaluating strings in it, which
    Playwright's own waiting does)."""
    deadline = time.monotonic() + seconds
    while not holds(drawn(page)):
        assert time.monotonic() < deadline, "the page did not redraw in time"
        page.wait_for_timeout(50)


def overlap(a, b, slack=0.5):
    return (a["x"] + slack < b["x"] + b["w"] and b["x"] + slack < a["x"] + a["w"]
            and a["y"] + slack < b["y"] + b["h"] and b["y"] + slack < a["y"] + a["h"])


def inside(box, canvas):
    return (box["x"] >= canvas["x"] - 1 and box["y"] >= canvas["y"] - 1
            and box["x"] + box["w"] <= canvas["x"] + canvas["w"] + 1
            and box["y"] + box["h"] <= canvas["y"] + canvas["h"] + 1)


def test_a_small_graph_opens_fitted_and_legible(show):
    o, _ = neuron()
    page = show(draw_html(o))
    d = drawn(page)
    assert d["k"] >= 0.7 and not d["overview"]
    assert all(inside(b, d["canvas"]) for b in d["boxes"])
    assert d["texts"] and min(t["px"] for t in d["texts"]) >= 8


def test_a_graph_too_big_to_read_whole_opens_on_its_output_with_an_overview_map(show):
    loss, _ = mlp341_loss()
    page = show(draw_html(loss))
    page.click("#expand-all")
    d = drawn(page)
    assert d["overview"] and d["k"] >= 0.7
    out = next(b for b in d["boxes"] if b["box"] == "loss")
    assert inside(out, d["canvas"])
    assert page.locator("#overview").is_visible()


@pytest.mark.parametrize("zoom", [0.03, 0.1, 0.3, 0.6, 1.0, 2.0])
def test_text_is_legible_or_a_summary_at_every_zoom(show, zoom):
    loss, _ = mlp341_loss()
    page = show(draw_html(loss))
    page.click("#expand-all")
    page.evaluate("(k) => gradwalk.zoom(k)", zoom)
    d = drawn(page)
    assert d["texts"], "nothing to read at this zoom"
    assert min(t["px"] for t in d["texts"]) >= 8


def label_rects(d):
    return [t for t in d["texts"] if t["text"].startswith(("∂", "×"))]


@pytest.mark.parametrize("graph", ["neuron", "dot", "mlp"])
def test_labels_do_not_collide_with_each_other_or_with_boxes(show, graph):
    from autograd import dot

    if graph == "neuron":
        root = neuron()[0]
    elif graph == "dot":
        xs = [Value(float(i), label=f"x{i}") for i in range(3)]
        ws = [Value(0.5 - i, label=f"w{i}") for i in range(3)]
        root = dot(xs, ws).tanh()
        root.backward()
    else:
        root = mlp341_loss()[0]
    page = show(draw_html(root))
    if graph == "mlp":
        page.click("#expand-all")
        page.evaluate("gradwalk.zoom(1)")
    d = drawn(page)
    labels = label_rects(d)
    if graph == "dot":  # six operands, six numbers
        assert sum(t["text"].startswith("∂") for t in labels) == 6 + 1
    assert labels
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not overlap(a, b), (a, b)
        for box in d["boxes"]:
            assert not overlap(a, box), (a, box)


def test_every_line_of_a_box_fits_inside_it(show):
    x = Value(-123456.5, label="x")
    y = (x * 1e-7).exp() * 1e9  # a grad far longer than its data
    y.label = "y"
    y.backward()
    page = show(draw_html(y))
    d = drawn(page)
    for box in d["boxes"]:
        for t in d["texts"]:
            within = box["x"] <= t["x"] < box["x"] + box["w"]
            if within and box["y"] <= t["y"] < box["y"] + box["h"]:
                assert t["x"] + t["w"] <= box["x"] + box["w"] + 0.5, (t, box)


def test_group_outlines_hold_their_values(show):
    loss, _ = mlp341_loss()
    page = show(draw_html(loss))
    page.click("#expand-all")
    page.click("#fit")
    d = drawn(page)
    outlines = {c["group"]: c for c in d["clusters"]}
    assert {"layers.0", "layers.1", "layers.2"} <= set(outlines)
    for b in d["boxes"]:
        if b["box"].startswith("layers."):
            layer = ".".join(b["box"].split(".")[:2])
            c = outlines[layer]
            assert c["x"] <= b["x"] and b["x"] + b["w"] <= c["x"] + c["w"] + 0.5, b


def test_a_collapsed_neuron_carries_its_numbers(show):
    from autograd.views.picture import brief

    loss, model = mlp_loss()
    page = show(draw_html(loss))
    page.click("#expand-all")
    click(page, "layers.0.neurons.1.w.0")
    page.click("button.collapse[data-group='layers.0.neurons.1']")
    box = next(b for b in drawn(page)["boxes"] if b["box"] == "layers.0.neurons.1")
    lines = box["lines"]
    neuron_ = model.layers[0].neurons[1]
    outputs = [n for n in topological_order(loss)[::-1] if n.op == "relu" and neuron_.b in
               {q for p in n.parents for q in p.parents}]
    assert lines[2] == "data " + " ".join(brief(o.data) for o in outputs)
    assert lines[3] == "grad " + " ".join(brief(o.grad) for o in outputs)
    assert lines[4] == "w.grad " + " ".join(brief(w.grad) for w in neuron_.w)
    assert lines[5] == "b.grad " + brief(neuron_.b.grad)


def test_a_python_sum_folds_into_one_box_that_expands(show):
    loss, _ = moons_loss(12)
    page = show(draw_html(loss))
    d = drawn(page)
    names = [b["lines"][0] for b in d["boxes"]]
    assert "sum of 12 terms" in names and "sum of 337 terms" in names
    folded = next(b for b in d["boxes"] if b["lines"][0] == "sum of 12 terms")
    data_loss = loss.parents[0].parents[0]  # loss = data_loss * (1/12) + reg
    assert folded["lines"][1] == f"data {num(data_loss.data)}"
    before = page.evaluate("gradwalk.boxes()")
    where = page.evaluate("(name) => gradwalk.locate(name)", folded["box"])
    page.mouse.dblclick(where["x"], where["y"])
    assert page.evaluate("gradwalk.boxes()") > before + 12


def test_step_numbers_show_backwards_order(show):
    o, _ = neuron()
    names = node_names(o)
    page = show(draw_html(o))
    badges = {b["box"]: b["badge"] for b in drawn(page)["boxes"]}
    order = [names[n] for n in topological_order(o) if n.parents]
    assert [badges[name] for name in order] == [str(k + 1) for k in range(len(order))]
    assert all(badges[names[n]] == "" for n in walk(o) if not n.parents)


def test_the_page_refits_on_resize_and_on_expand(show):
    o, _ = neuron()
    page = show(draw_html(o))
    page.set_viewport_size({"width": 1150, "height": 600})
    # refitted: smaller, and every box inside again (a busy machine takes a frame or two)
    until(page, lambda d: d["canvas"]["w"] < 800 and
          all(inside(b, d["canvas"]) for b in d["boxes"]))
    d = drawn(page)
    assert all(inside(b, d["canvas"]) for b in d["boxes"])
    page.set_viewport_size({"width": 1280, "height": 800})
    loss, _ = mlp_loss()
    page = show(draw_html(loss))
    page.click("button[data-kind='layer']")
    where = page.evaluate("gradwalk.locate('layers.0')")
    page.mouse.dblclick(where["x"], where["y"])
    # expanded (laid out afresh, which takes a moment on a busy machine)
    until(page, lambda d: not any(b["box"] == "layers.0" for b in d["boxes"]))
    view = page.evaluate("gradwalk.view()")
    d = drawn(page)
    assert view["fitted"]
    if not d["overview"]:  # it fits: all of it is in view
        assert all(inside(b, d["canvas"]) for b in d["boxes"])
    else:  # on the group just opened, whose outline is in view
        outline = next(c for c in d["clusters"] if c["group"] == "layers.0")
        assert overlap(outline, d["canvas"])


def test_the_view_exports_as_svg_and_png(show):
    import xml.etree.ElementTree as ET

    o, _ = neuron()
    page = show(draw_html(o))
    with page.expect_download() as got:
        page.click("#export-svg")
    svg = Path(got.value.path()).read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"o", "x1", "w1", "data 0.7071", "∂ -3.0000"} <= texts
    with page.expect_download() as got:
        page.click("#export-png")
    png = Path(got.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width == round(page.evaluate("gradwalk.drawn().canvas.w"))


def test_a_fixed_point_shows_its_iterations_and_residual(show):
    from autograd import fixed_point

    w, b = Value(0.5, label="w"), Value(0.3, label="b")
    xs = fixed_point(lambda x: [(w * x[0] + b).tanh()], [0.0])
    y = xs[0] * 2
    y.label = "y"
    y.backward()
    page = show(draw_html(y))
    d = drawn(page)
    node = next(b for b in d["boxes"] if "fixed_point" in " ".join(b["lines"][1:]) or
                any(line.startswith("iterations") for line in b["lines"]))
    assert f"iterations {xs.forward.iterations}" in node["lines"]
    assert f"residual {num(xs.forward.residual)}" in node["lines"]
    assert f"adjoint iterations {xs.adjoint.iterations}" in node["lines"]
    assert not any(line.startswith("data") for line in node["lines"])
    assert not any("undefined" in t["text"] for t in d["texts"])


def test_a_tape_page_says_what_a_tape_is_and_shows_its_source(show):
    from autograd import tape

    w = Value(0.5, label="w")
    t = tape(lambda x: (w * x).tanh(), 2.0)
    page = show(draw_html(t))
    assert page.locator("#source").inner_text().strip() == t.source.strip()
    assert "t.source" in page.locator("#tape").inner_text()


def test_the_training_heat_map_has_one_scale_a_colour_bar_and_is_above_the_fold(show):
    model = MLP(2, [16, 16, 1], seed=1)
    X = [[0.0, 1.0], [1.0, 0.0], [-1.0, -0.5], [0.5, 0.5]]
    y = [1, -1, 1, -1]
    rec = Recorder(model, inputs=X, targets=y, grid=8)
    for _ in range(4):
        loss = hinge([model(x) for x in X], y)
        model.zero_grad()
        loss.backward()
        rec.snapshot(loss)
        for p in model.parameters():
            p.data -= 0.5 * p.grad
    page = show(rec.to_html())
    whole_run = max(abs(g) for g in rec.grad)
    assert float(page.get_attribute("#heat-bar", "data-scale")) == whole_run
    page.keyboard.press("Home")
    assert float(page.get_attribute("#heat-bar", "data-scale")) == whole_run  # fixed
    page.select_option("#heat-scale", "step")
    count = len(rec.names)
    first = max(abs(g) for g in rec.grad[:count])
    assert float(page.get_attribute("#heat-bar", "data-scale")) == first
    heat = page.locator("#heat").bounding_box()
    assert heat["y"] + heat["height"] <= 800, heat  # wholly on screen at 1280 x 800
