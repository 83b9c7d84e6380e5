"""docs/tutorial.ipynb runs top to bottom in a real Jupyter kernel (nbclient, ipykernel's
`python3`: this interpreter), and each cell shows what its tag promises: `expect-svg` a picture
(`image/svg+xml`), `expect-text` printed text. The notebook is kept without outputs."""

import json
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"
CELL_SECONDS = 60
TOTAL_SECONDS = 90  # it takes well under 30 s; a generous bound for a loaded machine


def tags(cell):
    return {t.removeprefix("expect-") for t in cell.metadata.get("tags", [])
            if t.startswith("expect-")}


def mime_types(cell):
    found = set()
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream" and out["name"] == "stdout" and out["text"].strip():
            found.add("text")
        elif out["output_type"] in ("display_data", "execute_result"):
            found.update(out["data"])
    return found


def test_the_tutorial_is_kept_without_outputs():
    raw = json.loads(NOTEBOOK.read_text())
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_the_tutorial_runs_in_a_kernel_and_shows_what_each_cell_promises():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_SECONDS,
        resources={"metadata": {"path": str(NOTEBOOK.parent.parent)}})
    start = time.monotonic()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.monotonic() - start
    assert seconds < TOTAL_SECONDS, f"the tutorial took {seconds:.0f} s"
    promised = [c for c in nb.cells if c.cell_type == "code" and tags(c)]
    assert {t for c in promised for t in tags(c)} == {"svg", "text", "html-page"}
    for cell in promised:
        shown = mime_types(cell)
        if "svg" in tags(cell):
            assert "image/svg+xml" in shown, cell.source
            svg = next(o["data"]["image/svg+xml"] for o in cell.outputs
                       if "image/svg+xml" in o.get("data", {}))
            assert "<svg" in svg and "grad" in svg, cell.source
        if "text" in tags(cell):
            assert "text" in shown, cell.source
        if "html-page" in tags(cell):
            assert "text/html" in shown, cell.source
            html = next(o["data"]["text/html"] for o in cell.outputs
                        if "text/html" in o.get("data", {}))
            assert "<iframe" in html and "layers.0" in html, cell.source
    svgs = [c for c in promised if "svg" in tags(c)]
    assert any("layers.0" in o["data"]["image/svg+xml"] for c in svgs for o in c.outputs
               if "image/svg+xml" in o.get("data", {}))  # a network drawn by layers
