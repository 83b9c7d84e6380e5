"""Every Python example in the README (and in the docs pages listed in `PAGES`) runs as
written, and prints what its comments say where a comment gives the exact output
(`print(x)  # -3.0 2.0`)."""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, ROOT / "docs" / "grade.md"]


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


BLOCKS = _blocks(README)


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


@pytest.mark.parametrize(("page", "block"), [
    pytest.param(page, block, id=f"{'' if page == README else page.stem + '-'}block{i}")
    for page in PAGES for i, block in enumerate(_blocks(page))
])
def test_readme_example_runs_and_prints_what_it_says(page, block, tmp_path, monkeypatch):
    if "hypothesis" in block and "@given" in block or "grade(" in block:
        pytest.importorskip("hypothesis")
    if "torch" in block:  # the bridge's examples need PyTorch, which is optional
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(page), "exec"), {"__name__": "readme_example"})
    printed = out.getvalue().splitlines()
    promised = _promised_outputs(block)
    if len(printed) == len(promised):
        for got, want in zip(printed, promised):
            if want is not None:
                assert _same(got, want), (got, want)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 4
