"""File-system helpers: atomic writes and the space of a filesystem."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

StatVfs = Callable[[str | os.PathLike[str]], os.statvfs_result]


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a
    part: a temporary file beside it, renamed over it. Nothing is left behind on failure."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            os.fchmod(out.fileno(), mode)  # mkstemp makes it private to the owner
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """Bytes of a filesystem: its size, what is used, and what is free for unprivileged
    users (``f_bavail``, as ``df`` shows it)."""

    total: int
    used: int
    free: int


def disk_usage(path: str | os.PathLike[str], statvfs: StatVfs = os.statvfs) -> DiskUsage:
    """The usage of the filesystem holding ``path`` (blocking: statvfs can hang on a network
    share, so call it in a thread)."""
    stat = statvfs(path)
    return DiskUsage(total=stat.f_blocks * stat.f_frsize,
                     used=(stat.f_blocks - stat.f_bfree) * stat.f_frsize,
                     free=stat.f_bavail * stat.f_frsize)
