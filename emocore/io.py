"""Files written so that a reader never sees half of one and a failure leaves nothing behind; file digests.

The files a user keeps (conversions, model folders and their weights, statistics, configs, feature caches,
judges, training histories, corpus manifests) go through :func:`atomic_path` (writers that take a file name)
or :func:`atomic_write` (an open file): the bytes go to a hidden temporary file ``.partial-<pid>-<name>`` in
the destination folder (same file system, so the final rename is atomic), and only a complete file replaces
the destination. A write that fails (disk full, permission, interrupted) removes the temporary file and leaves
the destination as it was: absent, or the previous complete version. A process killed outright (SIGKILL) can
leave a hidden ``.partial-*`` file behind, never a half-written file under the real name. Reports that are
rewritten on every run (evaluation and listening-test CSVs, benchmark output) are still written directly.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

# errno values that mean "no space left": further writes to that file system will fail too
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
HASH_BLOCK_BYTES = 1 << 20


def temporary_sibling(path: str | Path) -> Path:
    """The hidden temporary name used while ``path`` is written: ``.partial-<pid>-<name>`` in the same folder.

    It keeps ``path``'s suffix, which some writers need (Keras' ``.weights.h5``, numpy's ``.npz``).
    """
    path = Path(path)
    return path.with_name(f".partial-{os.getpid()}-{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that takes a file name; on success it replaces ``path``.

    For libraries that write by name (``network.save_weights``, ``np.savez``, ``joblib.dump``, h5py). On any
    error the temporary file is removed and ``path`` is left as it was. The folder is created.

    Yields:
        Path: where to write (:func:`temporary_sibling`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_kwargs) -> Iterator:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``, on error it is removed.

    Args:
        path: the destination. Its folder is created.
        mode: ``"wb"`` or ``"w"``.
        **open_kwargs: for :func:`open`, e.g. ``newline=""`` for :mod:`csv`, ``encoding``.

    Yields:
        the open temporary file, flushed to disk before the rename.

    Raises:
        OSError: from opening, writing, flushing or renaming (the destination is untouched).
    """
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_write`; returns ``path``."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_write`; returns ``path``."""
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, values, *, sort_keys: bool = True) -> Path:
    """Write ``values`` as JSON indented by 2, ending in a newline, through :func:`atomic_write`; returns ``path``.

    Values JSON does not know (paths, numpy scalars) are written as their ``str``.
    """
    return write_text_atomic(path, json.dumps(values, indent=2, sort_keys=sort_keys, default=str) + "\n")


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` while the block runs, so processes that change ``path`` (several
    listeners' kernels appending answers, say) take turns. POSIX ``flock``; where there is none, no lock."""
    try:
        import fcntl
    except ImportError:  # Windows: one writer per file
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes, read in 1 MiB blocks (``algorithm``: any of :mod:`hashlib`'s)."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK_BYTES), b""):
            hasher.update(block)
    return hasher.hexdigest()


def is_disk_full(error: BaseException) -> bool:
    """True for an :class:`OSError` saying the file system has no space (or quota) left."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS
