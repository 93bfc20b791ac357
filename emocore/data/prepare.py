"""From a corpus's official download to the layout :mod:`emocore.data.datasets` reads.

:func:`extract_archive` unpacks a zip or tar, refusing members that would land outside the target folder.
:func:`prepare_tess` and :func:`prepare_ravdess` reorganize the official files into
``<root>/<corpus>/<speaker>/<emotion>/<file>`` with normalized emotion names and write ``manifest.csv``.
"""

from __future__ import annotations

import csv
import os
import shutil
import tarfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import soundfile as sf

from emocore.data import corpora
from emocore.data.datasets import MANIFEST_NAME
from emocore.dsp.audio import AUDIO_SUFFIXES
from emocore.exceptions import DatasetError, DownloadError
from emocore.io import atomic_write

DURATION_DECIMALS = 3
IGNORED_ARCHIVE_DIRS = ("__MACOSX",)

TESS_COLUMNS = (
    "path",
    "corpus",
    "speaker",
    "gender",
    "emotion",
    "text_id",
    "text",
    "sample_rate",
    "duration_s",
    "source_file",
)
RAVDESS_COLUMNS = (
    "path",
    "corpus",
    "speaker",
    "gender",
    "emotion",
    "intensity",
    "text_id",
    "repetition",
    "text",
    "sample_rate",
    "duration_s",
    "source_file",
)


# --------------------------------------------------------------------------- archives


def _check_inside(name: str, target: Path, dest: Path, archive: Path) -> None:
    if name.startswith(("/", "\\")) or not Path(os.path.normpath(target)).is_relative_to(dest):
        raise DownloadError(f"{archive}: refusing member {name!r}, which would be written outside {dest}")


def extract_archive(archive: str | Path, dest: str | Path) -> Path:
    """Extract a zip or tar (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``) into ``dest``.

    Returns:
        Path: ``dest``.

    Raises:
        DownloadError: the file is not a supported archive, or a member would be written outside
            ``dest`` (absolute path, ``..``, or a link pointing out); nothing is extracted then.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                _check_inside(name, root / name, root, archive)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                _check_inside(member.name, root / member.name, root, archive)
                if member.issym() or member.islnk():
                    link_base = (root / member.name).parent if member.issym() else root
                    _check_inside(member.linkname, link_base / member.linkname, root, archive)
            tf.extractall(dest, members=members, filter="data")
    else:
        raise DownloadError(f"{archive} is neither a zip nor a tar archive")
    return dest


# --------------------------------------------------------------------------- preparing


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in AUDIO_SUFFIXES
        and not path.name.startswith(".")
        and not set(IGNORED_ARCHIVE_DIRS) & set(path.parts)
    )


def _prepare(
    extracted_dir: Path,
    out_dir: Path,
    corpus: str,
    columns: Sequence[str],
    describe: Callable[[Path], dict | None],
    move: bool,
) -> Path:
    """Copy (or move) each file ``describe`` accepts into ``<out>/<corpus>/<speaker>/<emotion>/``.

    Writes ``manifest.csv`` listing those files, sorted by path.
    """
    extracted_dir, corpus_dir = Path(extracted_dir), Path(out_dir) / corpus
    if not extracted_dir.is_dir():
        raise DatasetError(f"{extracted_dir} is not a directory")
    rows, skipped = {}, []
    for src in _audio_files(extracted_dir):
        try:
            info = describe(src)
        except DatasetError as err:
            skipped.append(f"{src.name} ({err})")
            continue
        if info is None:
            continue
        rel = PurePosixPath(info["speaker"], info["emotion"], src.name)
        if str(rel) in rows:
            skipped.append(f"{src} (duplicate of {rel})")
            continue
        try:
            audio_info = sf.info(str(src))
        except (RuntimeError, sf.LibsndfileError) as err:
            skipped.append(f"{src.name} (unreadable: {err})")
            continue
        dest = corpus_dir.joinpath(*rel.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if move:
            shutil.move(src, dest)
        elif not dest.is_file() or dest.stat().st_size != src.stat().st_size:
            shutil.copy2(src, dest)
        rows[str(rel)] = {
            **info,
            "path": str(rel),
            "corpus": corpus,
            "sample_rate": audio_info.samplerate,
            "duration_s": round(audio_info.frames / audio_info.samplerate, DURATION_DECIMALS),
            "source_file": src.name,
        }
    if skipped:
        warnings.warn(
            f"{corpus}: skipped {len(skipped)} files: "
            + "; ".join(skipped[:10])
            + (" ..." if len(skipped) > 10 else ""),
            stacklevel=3,
        )
    if not rows:
        raise DatasetError(f"no {corpus} audio files found under {extracted_dir}")
    with atomic_write(corpus_dir / MANIFEST_NAME, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows[key] for key in sorted(rows))
    return corpus_dir


def _describe_tess(path: Path) -> dict:
    info = corpora.parse_tess_stem(path.stem)
    return {**info, "gender": corpora.CORPORA["tess"].genders.get(info["speaker"], "F")}


def _describe_ravdess(path: Path) -> dict | None:
    info = corpora.parse_ravdess_stem(path.stem)
    return info if info["channel"] == corpora.RAVDESS_SPEECH_CHANNEL else None  # song files are not used


def prepare_tess(extracted_dir: str | Path, out_dir: str | Path, *, move: bool = False) -> Path:
    """Lay out the official TESS files (``OAF_angry/OAF_back_angry.wav``, ...) as ``<out>/tess/OAF/angry/``.

    Files are found anywhere below ``extracted_dir`` and described by their names
    (``<speaker>_<word>_<emotion>``, any case; ``ps`` -> ``surprised``, ``fear`` -> ``fearful``,
    ``disgust`` -> ``disgusted``), kept as they are, and listed in ``<out>/tess/manifest.csv``
    with the columns :data:`TESS_COLUMNS`. Unreadable or unparsable files are skipped with a warning.

    Args:
        extracted_dir: the extracted download.
        out_dir: the corpora folder.
        move: move the files instead of copying them.

    Returns:
        Path: ``<out_dir>/tess``.

    Raises:
        DatasetError: no TESS file found.
    """
    return _prepare(Path(extracted_dir), Path(out_dir), "tess", TESS_COLUMNS, _describe_tess, move)


def prepare_ravdess(extracted_dir: str | Path, out_dir: str | Path, *, move: bool = False) -> Path:
    """Lay out the official RAVDESS speech files (``Actor_01/03-01-05-01-01-02-01.wav``) as
    ``<out>/ravdess/Actor_01/angry/...``.

    The seven fields of each name give emotion, intensity, statement, repetition and actor
    (:func:`emocore.data.corpora.parse_ravdess_stem`); song files (vocal channel 02) are left out.
    The manifest has the columns :data:`RAVDESS_COLUMNS`.

    Args:
        extracted_dir: the extracted download.
        out_dir: the corpora folder.
        move: move the files instead of copying them.

    Returns:
        Path: ``<out_dir>/ravdess``.

    Raises:
        DatasetError: no RAVDESS speech file found.
    """
    return _prepare(Path(extracted_dir), Path(out_dir), "ravdess", RAVDESS_COLUMNS, _describe_ravdess, move)


PREPARERS: dict[str, Callable[..., Path]] = {"tess": prepare_tess, "ravdess": prepare_ravdess}
