"""Writing a view to a file: only a regular file (or nothing) at the path is replaced, and a
crash mid-write leaves the old file whole (a temporary file beside it, then a rename)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_file(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path`, atomically. A FIFO, a device, a socket or a folder at the path is
    refused (`FileExistsError` / `IsADirectoryError`): writing into one could hang or reach a
    device. A symlink is written through, to the file it points to."""
    target = Path(path)
    real = Path(os.path.realpath(target))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{target} is a folder, not a file")
    if mode is not None and not stat.S_ISREG(mode):
        raise FileExistsError(f"{target} is not a regular file (a FIFO, device or socket); "
                              "a view is written only to a regular file or a new path")
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
