"""Tests of emocore.io: atomic writes leave either the old file or the complete new one, never a part."""

from __future__ import annotations

import errno
import hashlib
import json

import pytest

from emocore import io


def test_atomic_write_replaces_only_when_complete(tmp_path):
    path = tmp_path / "sub" / "notes.txt"
    io.write_text_atomic(path, "first")
    with pytest.raises(RuntimeError), io.atomic_write(path, "w") as handle:
        handle.write("half of the se")
        raise RuntimeError("interrupted")
    assert path.read_text() == "first" and sorted(p.name for p in path.parent.iterdir()) == ["notes.txt"]


def test_atomic_path_keeps_the_suffix_writers_need_and_cleans_up(tmp_path):
    import numpy as np

    path = tmp_path / "arrays.npz"
    with io.atomic_path(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.startswith(".") and tmp.suffix == ".npz"
        np.savez(tmp, x=np.arange(3))  # numpy appends .npz to a name without it
    assert np.load(path)["x"].tolist() == [0, 1, 2] and [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]
    with pytest.raises(OSError), io.atomic_path(tmp_path / "other.npz") as tmp:
        tmp.write_bytes(b"part")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]


def test_write_json_atomic_and_file_digest(tmp_path):
    path = io.write_json_atomic(tmp_path / "a.json", {"b": 1, "a": tmp_path})
    assert path.read_text().endswith("\n") and json.loads(path.read_text()) == {"a": str(tmp_path), "b": 1}
    assert io.file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert io.file_digest(path, "md5") == hashlib.md5(path.read_bytes()).hexdigest()


def test_is_disk_full_tells_enospc_from_other_errors():
    assert io.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not io.is_disk_full(OSError(errno.EACCES, "Permission denied")) and not io.is_disk_full(ValueError())


def test_a_real_full_disk_leaves_the_old_file(small_disk):
    disk = small_disk(16)
    path = io.write_bytes_atomic(disk / "take.bin", b"old" * 100)
    with pytest.raises(OSError) as info:
        io.write_bytes_atomic(path, b"x" * 64 * 1024)
    assert io.is_disk_full(info.value) and path.read_bytes() == b"old" * 100
    assert [p.name for p in disk.iterdir()] == ["take.bin"]
