"""The HTML pages in a real headless Chromium (see tests/pagebrowser.py): what a reader sees and
does, checked against the engine's numbers. Every test also checks that the page logged no error
and fetched nothing, and leaves a screenshot in out/page-<test>.png."""

from pathlib import Path

import pytest
from pagebrowser import chromium, open_page, unavailable

from autograd import Value, draw_html
from autograd.engine import is_constant, local_derivatives, topological_order, walk
from autograd.views.names import node_names, num
from nn import MLP, Recorder
from nn.losses import hinge

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
SHOTS = Path(__file__).resolve().parent.parent / "out"


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
