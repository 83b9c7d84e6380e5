"""Writing a view to a file: atomically, and only over a regular file (`autograd.files`)."""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomically


def write_file(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path`, atomically. A FIFO, a device, a socket or a folder at the path is
    refused (`FileExistsError` / `IsADirectoryError`): writing into one could hang or reach a
    device. A symlink is written through, to the file it points to."""
    return write_atomically(path, data, who="writing a view")
