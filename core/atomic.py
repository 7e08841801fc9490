"""Files written whole or not at all, and a sentence when the disk is full.

``write_atomic(path, data, what)`` writes to a temporary file in the same
folder, fsyncs it and renames it over ``path``: a crash, a kill or a full disk
leaves the old file (or none), never a half-written or empty one. When the disk
is full (or a quota or file-size limit is reached) the temporary file is
removed and ``DiskFullError`` says what could not be saved, where, and how much
space is left, in place of a raw "[Errno 28]".
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class DiskFullError(OSError):
    """Nothing was saved because the disk (or a quota, or a file-size limit) is full."""


def write_atomic(path: str | os.PathLike, data: bytes | str, what: str) -> Path:
    """Write ``data`` to ``path`` atomically; ``what`` names it in a message ("the report")."""
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; these are ordinary files
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.errno in FULL:
            raise disk_full(path, what, len(raw)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def disk_full(path: Path, what: str, needed: int) -> DiskFullError:
    """The sentence for a full disk: what, where, how much was needed and is free."""
    try:
        free = f"{_size(shutil.disk_usage(path.parent).free)} free"
    except OSError:
        free = "free space unknown"
    return DiskFullError(
        f"Could not save {what}: the disk holding {path.parent} is full ({free}; "
        f"{_size(needed)} needed). Nothing half-written was kept; free some space and try again."
    )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
