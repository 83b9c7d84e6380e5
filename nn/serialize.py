"""`save` and `load`: a model as a JSON file, never a pickle.

The file holds a format marker, a version, the architecture (the class name and its
constructor arguments) and the `state_dict`. Python writes each float as its shortest
`repr`, which reads back to the same bits. A save writes a temporary file next to the
target, syncs it to disk and renames it over the target, so a crash midway leaves the old
file whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .module import Module, modules_by_name

FORMAT = "gradwalk.nn"
VERSION = 1


def save(module: Module, path: str | os.PathLike[str]) -> None:
    """Write `module` (a `Neuron`, `Layer` or `MLP`) to `path` as JSON, atomically.

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
    document = {
        "format": FORMAT,
        "version": VERSION,
        "module": kind,
        "config": module.config(),
        "state": module.state_dict(),
    }
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"nn.save: {target}: the folder {target.parent} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); not possible, nor needed, everywhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path: str | os.PathLike[str]) -> Module:
    """Rebuild the module saved at `path`, weights included.

    Raises `ValueError` naming the problem for a file that is truncated, not JSON, not ours,
    from a newer format version, or whose weights do not fit its architecture.
    """
    raw = Path(path).read_bytes()
    document = _parse(raw, path)
    kind = document.get("module")
    classes = modules_by_name()
    if kind not in classes:
        known = ", ".join(classes)
        raise ValueError(f"{path}: unknown module type {kind!r} (expected one of {known})")
    config = document.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the 'config' entry is missing or not an object")
    try:
        # A private seed: rebuilding must not draw from the caller's global `random`.
        module = classes[kind](**config, seed=0)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the saved {kind} architecture is invalid: {exc}") from None
    try:
        module.load_state_dict(document.get("state"))
    except ValueError as exc:
        raise ValueError(f"{path}: the weights do not fit the saved architecture: {exc}") from None
    return module


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
    if not isinstance(document, dict) or "format" not in document:
        raise ValueError(f"{foreign} (no {FORMAT!r} format marker)")
    if document["format"] != FORMAT:
        marker = document["format"]
        raise ValueError(f"{foreign} (format marker {marker!r}, expected {FORMAT!r})")
    version = document.get("version")
    if version != VERSION:
        newer = isinstance(version, int) and version > VERSION
        why = "written by a newer gradwalk" if newer else "an unknown version"
        raise ValueError(
            f"{path}: model file format version {version!r} ({why}); this reads {VERSION}"
        )
    return document


def _ends_early(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether the JSON error is the text running out rather than a wrong character."""
    if exc.pos >= len(text.rstrip()):
        return True
    # An unterminated string reports where the string began; it ran to the end of the text.
    return exc.msg.startswith("Unterminated string")
