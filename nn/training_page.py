"""A training run as one self-contained HTML page: `training_html`, which `nn.Recorder` writes.

The page reads a record of snapshots (plain data: `nn.Recorder.record()` makes one) and shows,
at the step a scrubber points to, the loss curve with a marker, every parameter's gradient as a
heat map (one row per neuron, or per group of the parameters' names), and, for a classifier of
points of the plane, its decision boundary with the data. Like the graph page it is one file
that fetches nothing. The per-step numbers travel as base64 binary (float64 for the parameters,
float32 for the boundary grid), which keeps micrograd's moons run at about 2 MB.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from autograd.views.document import HtmlPage, asset, document
from autograd.views.page import name_groups

FLOAT32_MAX = 3.4e38


def training_html(record: Mapping[str, Any], path: str | Path | None = None, *,
                  title: str | None = None) -> HtmlPage:
    """The page for `record` (written to `path` when given). The record holds `names` (P
    parameter names), `steps` (S step numbers), `loss` (S numbers), `metrics` (name -> S
    numbers), `data` and `grad` (S x P numbers, snapshot by snapshot), and `boundary` (None,
    or the grid `x0 x1 y0 y1 n`, `scores` S x n x n, `points`, `labels` and `classes`).

    >>> page = training_html({"names": ["w"], "steps": [0, 1], "loss": [1.0, 0.5],
    ...                       "metrics": {}, "data": [0.3, 0.2], "grad": [0.1, 0.05]})
    >>> page.startswith("<!DOCTYPE html>")
    True
    """
    if not isinstance(record, Mapping):
        raise TypeError(f"training_html: expected a record (a dict), got {type(record).__name__}")
    names = [str(n) for n in _list(record, "names")]
    steps = [_whole(s, "steps") for s in _list(record, "steps")]
    count = len(steps)
    if not count:
        raise ValueError("training_html: the record has no snapshot")
    loss = _numbers(record, "loss", count)
    metrics = record.get("metrics") or {}
    if not isinstance(metrics, Mapping):
        raise TypeError("training_html: metrics must be a dict name -> numbers")
    shown_metrics = {str(k): [_finite_or_name(x) for x in _numbers(metrics, k, count)]
                     for k in metrics}
    data = _numbers(record, "data", count * len(names))
    grad = _numbers(record, "grad", count * len(names))
    rows: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups = name_groups(name)
        rows.setdefault(groups[-1] if groups else "", []).append(i)
    payload: dict[str, Any] = {  # the JSON the page reads
        "version": 1,
        "title": str(title if title is not None else record.get("title", "training")),
        "model": str(record.get("model", "")),
        "names": names,
        "rows": [[k, v] for k, v in rows.items()],
        "steps": steps,
        "loss": [_finite_or_name(x) for x in loss],
        "metrics": shown_metrics,
        "data": _binary(data, "d"),
        "grad": _binary(grad, "d"),
        "boundary": _boundary(record.get("boundary"), count),
    }
    page = document(asset("training.html", __package__), payload["title"], payload,
                    style=asset("page.css") + asset("training.css", __package__),
                    script=asset("training.js", __package__))
    if path is not None:
        page.write(path)
    return page


def _list(record: Mapping[str, Any], key: str) -> Sequence[Any]:
    if key not in record:
        raise ValueError(f"training_html: the record has no {key!r}")
    value = record[key]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"training_html: {key} must be a list, got {type(value).__name__}")
    return value


def _whole(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, Integral):
        raise TypeError(f"training_html: {what} must hold whole numbers, got {x!r}")
    return int(x)


def _numbers(record: Mapping[str, Any], key: str, count: int) -> list[float]:
    values = _list(record, key)
    if len(values) != count:
        raise ValueError(f"training_html: {key} has {len(values)} numbers, expected {count}")
    out = []
    for x in values:
        if isinstance(x, bool) or not isinstance(x, Real):
            raise TypeError(f"training_html: {key} must hold numbers, got {type(x).__name__}")
        out.append(float(x))
    return out


def _finite_or_name(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _binary(values: list[float], code: str) -> str:
    """Little-endian float64 ('d') or float32 ('f') numbers as base64 text."""
    if code == "f":
        values = [x if not math.isfinite(x) or abs(x) <= FLOAT32_MAX
                  else math.copysign(FLOAT32_MAX, x) for x in values]
    packed = array(code, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _boundary(boundary: Any, count: int) -> dict[str, Any] | None:
    if boundary is None:
        return None
    if not isinstance(boundary, Mapping):
        raise TypeError("training_html: boundary must be a dict or None")
    box = {k: _numbers({k: [boundary.get(k)]}, k, 1)[0] for k in ("x0", "x1", "y0", "y1")}
    if not all(math.isfinite(v) for v in box.values()) or box["x0"] >= box["x1"] \
            or box["y0"] >= box["y1"]:
        raise ValueError(f"training_html: boundary box {box} is not a finite, non-empty box")
    n = _whole(boundary.get("n"), "boundary n")
    if n < 2:
        raise ValueError(f"training_html: boundary n must be at least 2, got {n}")
    scores = _numbers(boundary, "scores", count * n * n)
    points = [_numbers({"points": p}, "points", 2) for p in _list(boundary, "points")]
    labels = _numbers(boundary, "labels", len(points)) if boundary.get("labels") else []
    if not all(math.isfinite(v) for v in [*(v for p in points for v in p), *labels]):
        raise ValueError("training_html: the boundary's points and labels must be finite numbers")
    classes = _whole(boundary.get("classes", 2), "boundary classes")
    return {**box, "n": n, "scores": _binary(scores, "f"), "points": points,
            "labels": labels, "classes": max(classes, 2)}


__all__ = ["training_html"]
