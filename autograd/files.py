"""Writing a file atomically: what every save and every written view goes through.

`write_atomically(path, data)` writes a temporary file next to the target, syncs it to disk and
renames it over the target, so a crash midway leaves the old file whole. The new file keeps the
old one's permissions (a new file gets the usual ones, the umask's); a symbolic link is written
through, to the file it points to. Only a regular file (or nothing) is replaced: a folder, a
FIFO, a device or a socket at the path is refused (writing into one could hang, or reach a
device), and so is a file without write permission (even for root, whom `open()` would let
through). The temporary file is named `.<name>.<pid>.<8 hex digits>.tmp` and held locked while
it is written; one left behind by a write that was killed is removed by the next write to the
same path, once no process holds it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: stale temporary files are then told by their process alone
    fcntl = None  # type: ignore[assignment]

_SUFFIX = ".tmp"


def write_atomically(path: str | os.PathLike[str], data: bytes, *, who: str = "write") -> Path:
    """Write `data` to `path` atomically (see the module docstring); `who` names the caller in
    errors (`nn.save: model.json is a folder, not a file`). Returns the path written.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> write_atomically(path, b"kept whole").read_bytes()
    b'kept whole'
    """
    target, old = _destination(path, who)
    _remove_stale_temporaries(target)
    temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(temp, flags | getattr(os, "O_CLOEXEC", 0), 0o666)  # less the umask
    except PermissionError:
        raise PermissionError(
            errno.EACCES, f"{who}: cannot create a file in the folder {target.parent}", str(path)
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            _lock(f.fileno())  # held while writing: a later write sees this file is live
            if old is not None:
                _keep_permissions(f.fileno(), old)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(target.parent)
    return Path(path)


def _destination(path: str | os.PathLike[str], who: str) -> tuple[Path, os.stat_result | None]:
    """The file a save replaces (a symbolic link followed to its target) and its status, None if
    there is none yet; an error for anything a save must not replace."""
    given = Path(path)
    target = Path(os.path.realpath(given))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a loop of links, a component that is not a folder, ...
        raise type(exc)(exc.errno, f"{who}: {given}: {exc.strerror}", str(given)) from None
    if st is None:
        if not target.parent.is_dir():
            raise FileNotFoundError(
                errno.ENOENT, f"{who}: {given}: the folder {target.parent} does not exist"
            )
        return target, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{who}: {given} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise FileExistsError(
            errno.EEXIST,
            f"{who}: {given} is {_kind_of(st.st_mode)}, not a regular file; a write replaces "
            "only a regular file (or creates one)",
        )
    if not _writable(target, st):
        raise PermissionError(
            errno.EACCES, f"{who}: {given} is read-only (no write permission); not replaced"
        )
    return target, st


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _writable(target: Path, st: os.stat_result) -> bool:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return bool(st.st_mode & 0o222)  # root may write anything: only the mode can say no
    return os.access(target, os.W_OK)


def _keep_permissions(fd: int, old: os.stat_result) -> None:
    os.chmod(fd, stat.S_IMODE(old.st_mode))
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(OSError):  # allowed for root (and a group the user is in)
            os.fchown(fd, old.st_uid, old.st_gid)


def _lock(fd: int, wait: bool = True) -> bool:
    """An exclusive lock on the open file (released when it is closed or its process dies);
    without waiting, whether it was free."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: the process check alone decides
        return True
    return True


def _remove_stale_temporaries(target: Path) -> None:
    """Delete the temporary files of earlier saves to `target` whose process is gone (killed
    mid-save) and that no process holds locked. Best effort: a failure here is no failure of
    the save."""
    name, suffix = re.escape(target.name), re.escape(_SUFFIX)
    pattern = re.compile(rf"\.{name}\.(\d+)\.[0-9a-f]{{8}}{suffix}")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for entry in names:
        match = pattern.fullmatch(entry)
        if match is None or _alive(int(match.group(1))):
            continue
        stale = target.parent / entry
        try:
            fd = os.open(stale, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd, wait=False):
                os.unlink(stale)
        except OSError:
            pass
        finally:
            os.close(fd)


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (on doubt, yes: the file is then kept)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True
    return True


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
