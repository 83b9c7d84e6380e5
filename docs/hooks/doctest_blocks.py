"""A Griffe extension for the API reference: the runnable examples in docstrings (`>>> ...`
lines and the output under them) are shown as Python console code. Without it Markdown reads
each `>>>` as three nested quotes and runs the example into one line of prose."""

from __future__ import annotations

from typing import Any

from griffe import Extension, Object


def fence_examples(text: str) -> str:
    """Each run of `>>>` / `...` lines and the output lines after it, up to a blank line, put
    in a ```pycon fence (at the run's own indentation)."""
    out: list[str] = []
    fenced = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not fenced and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            fenced = True
        elif fenced and not stripped:
            out.append(f"{indent}```")
            fenced = False
        out.append(line)
    if fenced:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(Extension):
    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and ">>>" in docstring.value and "```pycon" not in docstring.value:
            docstring.value = fence_examples(docstring.value)

    on_object = on_instance  # a package's own docstring is only seen here
