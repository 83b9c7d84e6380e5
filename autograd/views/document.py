"""One self-contained HTML document: a template with its style, script and data inline.

The graph page (`page`) and the training page (`nn.training_page`) are both made here: each is
one file that fetches nothing (its Content-Security-Policy forbids it), so it opens offline.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from .output import write_file

FRAME_HEIGHT = 640  # pixels: a page's height inside a notebook


class HtmlPage(str):
    """An HTML document: a `str` (write it, serve it, `str(page)`), that a notebook displays
    in a frame of its own, and that `write(path)` saves."""

    def write(self, path: str | Path) -> Path:
        """Save the document (UTF-8) and return its path."""
        return write_file(path, str(self).encode("utf-8"))

    def _repr_html_(self) -> str:
        # A frame of its own: the page's script and style stay out of the notebook's. Downloads
        # are allowed so that the page's export buttons work inside the notebook too.
        return (f'<iframe srcdoc="{html.escape(str(self), quote=True)}" '
                f'style="width: 100%; height: {FRAME_HEIGHT}px; border: 1px solid #ccc" '
                f'sandbox="allow-scripts allow-downloads"></iframe>')

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self):,} characters of HTML; .write(path) saves it>"


def asset(name: str, package: str = "autograd.views") -> str:
    """One of a page's own files (script, style, template), shipped inside `package`'s
    `assets` folder."""
    return resources.files(package).joinpath("assets").joinpath(name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` survives unescaped, so
    no label can close the element or open another."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def document(template: str, title: str, data: Any, *, style: str, script: str,
             **more: str) -> HtmlPage:
    """`template` with its {{TITLE}}, {{STYLE}}, {{DATA}} and {{SCRIPT}} filled in, and any
    other {{NAME}} from `more` (NAME=html, already escaped)."""
    parts = {"TITLE": html.escape(title), "STYLE": style, "DATA": embed_json(data),
             "SCRIPT": script, **more}
    # one pass: the inserted text is never scanned for placeholders itself
    return HtmlPage(re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], template))


__all__ = ["FRAME_HEIGHT", "HtmlPage", "asset", "document", "embed_json"]
