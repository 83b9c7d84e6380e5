"""`save` and `load`: a model as a JSON file, never a pickle.

The file holds a format marker, a version, the architecture (the class name and its
constructor arguments) and the `state_dict`. Python writes each float as its shortest
`repr`, which reads back to the same bits. Every file is standard JSON: `save` refuses a
model with a nan or infinite weight (a ValueError naming the parameter) rather than write
JSON's non-standard `NaN`/`Infinity`, and `load` refuses such numbers too.

A save writes a temporary file next to the target, syncs it to disk and renames it over the
target, so a crash midway leaves the old file whole. The new file keeps the old one's
permissions (a new file gets the usual ones, the umask's); a symbolic link is written
through, to the file it points to. Only a regular file (or nothing) is replaced: a folder, a
FIFO, a device or a socket at the path is refused, and so is a file without write permission
(even for root, whom `open()` would let through). The temporary file is named
`.<name>.<pid>.<8 hex digits>.tmp`; one left behind by a save that was killed is removed by
the next save to the same path, once no process holds it (`autograd.files`).

`load` checks everything before it builds anything: a file that is not ours, not JSON, nested
absurdly deep, or whose architecture needs more weights than the file holds (a file never
becomes a model much larger than the numbers it contains) is a ValueError naming the file and
the problem.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograd.files import write_atomically

from .module import ACTIVATIONS, Module, modules_by_name

FORMAT = "gradwalk.nn"
VERSION = 1



# --- save ---------------------------------------------------------------------------------------


def save(module: Module, path: str | os.PathLike[str]) -> None:
    """Write `module` (a `Neuron`, `Layer`, `MLP` or `SettlingLayer`) to `path` as JSON,
    atomically.

    >>> import tempfile, os
    >>> from nn import MLP, load
    >>> model = MLP(2, [3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> save(model, path)
    >>> load(path).state_dict() == model.state_dict()
    True
    """
    kind = type(module).__name__
    if modules_by_name().get(kind) is not type(module):
        known = ", ".join(modules_by_name())
        raise TypeError(
            f"nn.save: cannot rebuild a {kind} on load (it knows {known}); for a module of "
            "your own, save its state_dict() and rebuild it yourself"
        )
    for name, p in module.named_parameters():
        if not math.isfinite(p.data):
            raise ValueError(
                f"nn.save: parameter {name!r} is {p.data!r}; a model file holds finite numbers "
                "only (JSON has no nan or infinity), so nothing was written"
            )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "module": kind,
        "config": module.config(),
        "state": module.state_dict(),
    }
    write_atomically(path, json.dumps(document, allow_nan=False).encode("utf-8"),
                     who="nn.save")


# --- load ---------------------------------------------------------------------------------------


# Each architecture: its constructor arguments (required, optional) and the number of weights
# they imply, so a file's claim can be checked against the weights it holds before building.
_ARCHITECTURES: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[dict], int]]] = {
    "Neuron": (("nin",), ("activation",), lambda c: c["nin"] + 1),
    "Layer": (("nin", "nout"), ("activation",), lambda c: c["nout"] * (c["nin"] + 1)),
    "MLP": (
        ("nin", "nouts"),
        ("activation", "output_activation"),
        lambda c: sum(
            n * (m + 1) for m, n in zip([c["nin"], *c["nouts"]], c["nouts"], strict=False)
        ),
    ),
    "SettlingLayer": (
        ("nin", "nstate"),
        ("activation", "tol", "max_iter", "unroll", "inputs"),
        lambda c: c["nstate"] * (c["nstate"] + 1)
        + (c["nin"] if c.get("inputs") == "one_to_one" else c["nstate"] * c["nin"]),
    ),
}


def load(path: str | os.PathLike[str]) -> Module:
    """Rebuild the module saved at `path`, weights included.

    Raises `ValueError` naming the file and the problem for a file that is truncated, not JSON,
    not ours, from a newer format version, whose numbers are not finite, or whose weights do not
    fit its architecture; nothing is built before the file is known to be sound.
    """
    raw = Path(path).read_bytes()
    document = _parse(raw, path)
    kind = document.get("module")
    classes = modules_by_name()
    if not isinstance(kind, str) or kind not in classes or kind not in _ARCHITECTURES:
        known = ", ".join(classes)
        raise ValueError(f"{path}: unknown module type {_short(kind)} (expected one of {known})")
    config = _config(document.get("config"), kind, path)
    state = document.get("state")
    if not isinstance(state, dict):
        raise ValueError(f"{path}: the 'state' entry (the weights) is missing or not an object")
    held = _count_weights(state, path)
    needed = _ARCHITECTURES[kind][2](config)
    # Build only what the file can fill: a model at most about twice the numbers it holds
    # (a small mismatch is then told entry by entry by load_state_dict).
    if needed > 2 * held + 64:
        raise ValueError(
            f"{path}: the weights do not fit the saved architecture: {kind} with "
            f"{_config_text(config)} needs {_count_text(needed)} weights, the file holds {held}"
        )
    try:
        # A private seed: rebuilding must not draw from the caller's global `random`.
        module = classes[kind](**config, seed=0)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the saved {kind} architecture is invalid: {exc}") from None
    try:
        module.load_state_dict(state)
    except ValueError as exc:
        raise ValueError(f"{path}: the weights do not fit the saved architecture: {exc}") from None
    return module


def _config(config: Any, kind: str, path: Any) -> dict[str, Any]:
    """The saved constructor arguments, checked: known names only, sizes positive ints,
    activations names."""
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the 'config' entry is missing or not an object")
    required, optional, _ = _ARCHITECTURES[kind]
    invalid = f"{path}: the saved {kind} architecture is invalid"
    unknown = [k for k in config if k not in required + optional]
    if unknown:
        raise ValueError(f"{invalid}: unknown entries {', '.join(map(_short, unknown))}")
    missing = [k for k in required if k not in config]
    if missing:
        raise ValueError(f"{invalid}: missing {', '.join(map(repr, missing))}")
    for key, v in config.items():
        if key == "nouts":
            if not isinstance(v, list) or not v:
                raise ValueError(f"{invalid}: nouts must be a non-empty list of layer sizes")
            for n in v:
                _check_size(n, f"{invalid}: each layer size in nouts")
        elif key in ("nin", "nout", "nstate", "max_iter") or (key == "unroll" and v is not None):
            _check_size(v, f"{invalid}: {key}")
            if key in ("max_iter", "unroll") and v > MAX_ITERATIONS:
                raise ValueError(f"{invalid}: {key} {v:,} is over {MAX_ITERATIONS:,}: a file "
                                 "cannot ask for unbounded work (set it after loading)")
        elif key == "tol":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise ValueError(f"{invalid}: tol must be a positive number, got {_short(v)}")
        elif key == "unroll":
            pass  # None: the layer settles
        elif key == "inputs":
            if v not in ("full", "one_to_one"):
                raise ValueError(f"{invalid}: inputs must be 'full' or 'one_to_one', got "
                                 f"{_short(v)}")
        elif not isinstance(v, str):
            raise ValueError(f"{invalid}: {key} must be one of {', '.join(ACTIVATIONS)}")
    return config


MAX_ITERATIONS = 100_000  # a settling layer's max_iter or unroll, as read from a file


def _check_size(n: Any, what: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {_short(n)}")


def _count_weights(state: dict[str, Any], path: Any) -> int:
    """How many numbers the state holds, each checked to be a finite float."""
    count = 0
    for name, entry in state.items():
        if isinstance(entry, list):
            for i, x in enumerate(entry):
                _check_weight(x, f"{name!r}[{i}]", path)
            count += len(entry)
        else:
            _check_weight(entry, repr(name), path)
            count += 1
    return count


def _check_weight(x: Any, where: str, path: Any) -> None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{path}: state entry {where} is not a number: {_short(x)}")
    if isinstance(x, int):
        try:
            float(x)
        except OverflowError:
            raise ValueError(
                f"{path}: state entry {where} is {_short(x)}, too large for a float"
            ) from None
    elif not math.isfinite(x):
        raise ValueError(f"{path}: state entry {where} is {x!r}; weights must be finite numbers")


def _short(x: Any, limit: int = 40) -> str:
    """A value from the file as an error message shows it: short, whatever its size."""
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 10**15:
        return f"an integer of {len(str(abs(x)))} digits"
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _count_text(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"a {len(str(n))}-digit number of"


def _config_text(config: dict[str, Any]) -> str:
    parts = []
    for key, v in config.items():
        if isinstance(v, list):
            shown = "[" + ", ".join(map(_short, v[:6])) + (", ..." if len(v) > 6 else "") + "]"
        else:
            shown = _short(v)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def _parse(raw: bytes, path: Any) -> dict[str, Any]:
    foreign = f"{path}: not a gradwalk model file"
    if raw[:1] == b"\x80":
        raise ValueError(f"{foreign} (it looks like a pickle, which nn never loads)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{foreign} (binary data, not JSON text)") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty (truncated: was a save interrupted?)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if _ends_early(text, exc):
            raise ValueError(
                f"{path}: the file is truncated (the JSON stops at character {len(text)}, "
                "mid-document)"
            ) from None
        raise ValueError(
            f"{path}: the file is corrupt: invalid JSON at line {exc.lineno}, column "
            f"{exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise ValueError(
            f"{foreign} (its JSON nests too deeply to read; a model file nests 3 levels)"
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts, ...
        raise ValueError(f"{path}: the file is corrupt: {exc}") from None
    if not isinstance(document, dict) or "format" not in document:
        raise ValueError(f"{foreign} (no {FORMAT!r} format marker)")
    if document["format"] != FORMAT:
        marker = _short(document["format"])
        raise ValueError(f"{foreign} (format marker {marker}, expected {FORMAT!r})")
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
        why = "written by a newer gradwalk" if newer else "an unknown version"
        raise ValueError(
            f"{path}: model file format version {_short(version)} ({why}); this reads {VERSION}"
        )
    return document


def _ends_early(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether the JSON error is the text running out rather than a wrong character."""
    if exc.pos >= len(text.rstrip()):
        return True
    # An unterminated string reports where the string began; it ran to the end of the text.
    return exc.msg.startswith("Unterminated string")
