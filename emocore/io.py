"""Writing files so that a reader never sees half of one and a failure leaves nothing behind.

Every file emocore writes for a user goes through :func:`atomic_write`: the bytes go to a hidden temporary
file in the destination folder (same file system, so the final rename is atomic), are flushed to disk, and
only then replace the destination. A write that fails (disk full, permission, interrupted) removes the
temporary file and leaves the destination as it was: absent, or the previous complete version.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

# errno values that mean "no space left": further writes to that file system will fail too
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def temporary_sibling(path: str | Path) -> Path:
    """The hidden temporary name :func:`atomic_write` uses for ``path``: ``.<name>.partial-<pid>``, same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``, on error it is removed.

    Args:
        path: the destination. Its folder must exist.
        mode: ``"wb"`` or ``"w"``.

    Yields:
        the open temporary file.

    Raises:
        OSError: from opening, writing, flushing or renaming (the destination is untouched).
    """
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        with open(tmp, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_write`; returns ``path``."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def is_disk_full(error: BaseException) -> bool:
    """True for an :class:`OSError` saying the file system has no space (or quota) left."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS
