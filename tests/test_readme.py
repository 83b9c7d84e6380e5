"""Every Python example in the README and in the documentation pages (docs/*.md) runs as
written, and prints what its comments say where a comment gives the exact output
(`print(x)  # -3.0 2.0`). Each block runs on its own, in a fresh namespace and folder."""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCKS = [(page, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))]


def _promised_outputs(block: str) -> list[str | None]:
    """For each top-level print line, the comment's text if it reads as a literal output
    (it starts like a number, a list, a bool or a Value's repr), else None."""
    promised = []
    for line in block.splitlines():
        if not line.startswith("print("):
            continue
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        literal = re.match(r"[-\d\[(]|True|False|Value\(", comment)
        promised.append(comment if literal else None)
    return promised


def _same(got: str, want: str) -> bool:
    """Equal text, or equal numbers to the digits a "(to N digits)" note promises."""
    digits = re.search(r"\(to (\d+) digits\)", want)
    if not digits:
        want = re.sub(r"\s+\((?!data=).*\)$", "", want)  # a trailing note in brackets
        return " ".join(got.split()) == " ".join(want.split())
    numbers = [float(x) for x in want[: digits.start()].split()]
    values = [float(x) for x in got.split()]
    tol = 10.0 ** -int(digits.group(1))
    return len(numbers) == len(values) and all(abs(a - b) < tol for a, b in zip(numbers, values))


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


@pytest.mark.parametrize(("page", "index", "block"), BLOCKS,
                         ids=[f"{_name(page)}:{i}" for page, i, _ in BLOCKS])
def test_example_runs_and_prints_what_it_says(page, index, block, tmp_path, monkeypatch):
    if "hypothesis" in block and "@given" in block or "grade(" in block:
        pytest.importorskip("hypothesis")
    if "torch" in block:  # the bridge's examples need PyTorch, which is optional
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, f"{_name(page)} (block {index})", "exec"),
             {"__name__": "readme_example"})
    printed = out.getvalue().splitlines()
    promised = _promised_outputs(block)
    if len(printed) == len(promised):
        for got, want in zip(printed, promised):
            if want is not None:
                assert _same(got, want), (got, want)


def test_the_readme_and_the_pages_have_examples():
    assert sum(page == README for page, _, _ in BLOCKS) >= 4
    assert {_name(page) for page, _, _ in BLOCKS} >= {
        "docs/first-steps.md", "docs/micrograd.md", "docs/training.md", "docs/tape.md"}


def test_the_readme_front_page_stays_short_and_in_a_learners_order():
    text = README.read_text()
    assert len(text.splitlines()) <= 170
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:6] == ["Two commands", "First steps", "Pictures", "Coming from micrograd",
                            "Training", "Checking gradients"]
    assert "HIPS autograd" in text  # the import name is shared: said on the front page


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").glob("**/*.md")}
    pages |= {"tutorial.ipynb"}
    missing = sorted(p for p in pages if f": {p}" not in nav)
    assert not missing, f"docs pages missing from mkdocs.yml's nav: {missing}"
    for link in re.findall(r"\]\((docs/[^)#]+)", README.read_text()):
        assert (ROOT / link).exists(), link  # the README's links into the docs resolve


def test_the_api_reference_shows_docstring_examples_as_code():
    import importlib.util

    spec = importlib.util.spec_from_file_location("doctest_blocks",
                                                  ROOT / "docs" / "hooks" / "doctest_blocks.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    text = "Squares.\n\n    >>> f(2)\n    4\n\nMore prose.\n>>> g()\n"
    assert hook.fence_examples(text) == (
        "Squares.\n\n    ```pycon\n    >>> f(2)\n    4\n    ```\n\nMore prose.\n"
        "```pycon\n>>> g()\n```")
