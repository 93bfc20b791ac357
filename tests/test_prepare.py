"""emocore.data.prepare: extracting archives safely and laying out the official files with a manifest."""

from __future__ import annotations

import csv
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emocore.data import prepare
from emocore.exceptions import DatasetError, DownloadError

TESS_SR = 24414


def tiny_wav(sr: int = TESS_SR, duration_s: float = 0.1, f0_hz: float = 220.0) -> bytes:
    t = np.arange(int(sr * duration_s)) / sr
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * f0_hz * t), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def read_manifest(corpus_dir: Path) -> list[dict]:
    with open(corpus_dir / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- archives


def test_extract_zip(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip({"top/a.txt": b"a", "top/sub/b.txt": b"b"}))
    out = prepare.extract_archive(archive, tmp_path / "out")
    assert (out / "top" / "sub" / "b.txt").read_bytes() == b"b"


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/evil.txt", "ok/../../evil.txt"])
def test_extract_zip_refuses_path_traversal(tmp_path, evil):
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip({"fine.txt": b"fine", evil: b"evil"}))
    with pytest.raises(DownloadError, match="refusing"):
        prepare.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "fine.txt").exists()  # checked before anything is written


def test_extract_tar_and_refuse_outward_symlink(tmp_path):
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tf:
        info = tarfile.TarInfo("d/x.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"xyz"))
    assert (prepare.extract_archive(good, tmp_path / "out") / "d" / "x.txt").read_bytes() == b"xyz"

    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tf:
        link = tarfile.TarInfo("d/link")
        link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
        tf.addfile(link)
    with pytest.raises(DownloadError, match="refusing"):
        prepare.extract_archive(evil, tmp_path / "out2")


def test_extract_rejects_non_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not an archive")
    with pytest.raises(DownloadError):
        prepare.extract_archive(tmp_path / "x.zip", tmp_path / "out")


# --------------------------------------------------------------------------- preparing


def test_prepare_skips_unparsable_files_with_a_warning(tmp_path):
    extracted = tmp_path / "x"
    (extracted / "OAF_angry").mkdir(parents=True)
    (extracted / "OAF_angry" / "OAF_back_angry.wav").write_bytes(tiny_wav())
    (extracted / "OAF_angry" / "notes.wav").write_bytes(tiny_wav())
    (extracted / "OAF_angry" / "OAF_bar_angry.wav").write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="skipped 2 files"):
        corpus_dir = prepare.prepare_tess(extracted, tmp_path / "out")
    assert [r["path"] for r in read_manifest(corpus_dir)] == ["OAF/angry/OAF_back_angry.wav"]
    assert (extracted / "OAF_angry" / "OAF_back_angry.wav").is_file()  # copied, not moved


def test_prepare_without_files_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no ravdess audio"):
        prepare.prepare_ravdess(tmp_path / "empty", tmp_path / "out")
