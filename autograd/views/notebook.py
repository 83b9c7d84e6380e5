"""What a notebook shows for a `Value`: its picture, drawn within a short time budget, beside its
repr; only the repr when the graph is too big to draw quickly or the drawing fails."""

from __future__ import annotations

from ..engine import Value
from .picture import DISPLAY_SECONDS, draw_dot

NOTEBOOK_MAX_NODES = 400
NOTEBOOK_SECONDS = DISPLAY_SECONDS  # a display waits this long for the renderer, then the text


def notebook_bundle(value: Value) -> dict[str, str]:
    """The MIME bundle `Value._repr_mimebundle_` returns; never raises, never hangs.

    >>> bundle = notebook_bundle(Value(2.0, label="x") * 3)  # doctest: +SKIP
    >>> sorted(bundle)  # doctest: +SKIP
    ['image/svg+xml', 'text/plain']
    """
    bundle = {"text/plain": repr(value)}
    try:
        graph = draw_dot(value, max_nodes=NOTEBOOK_MAX_NODES)
        graph.timeout = NOTEBOOK_SECONDS
        bundle["image/svg+xml"] = graph.pipe(format="svg", encoding="utf-8")
    except Exception:  # too big, no renderer, too slow: the text alone
        return bundle
    return bundle
