"""What is scored, and the cache every score shares: evaluation items, manifests, cached per-file vectors.

- :class:`EvalItem`: one converted utterance to score, and what it should be; :func:`write_manifest` and
  :func:`read_manifest` keep a folder's items in ``manifest.csv`` (:data:`MANIFEST_COLUMNS`).
- :data:`SYSTEM_ORDER` and :data:`TARGET_SYSTEM`: the reference systems every summary and listening test orders by.
- ``_cached_vectors``: one vector per item (a file, an Utterance, a waveform), computed in batches by a
  score's function or read from the cache; one item that fails costs only its own row.

Everything is computed on audio loaded at 16 kHz (:data:`EVAL_SR`), the rate conversions are written at,
so real 24 kHz TESS recordings and 16 kHz conversions meet the judge at the same bandwidth.

Features, d-vectors and DNSMOS scores are cached under ``<cache_dir>/evaluation/<kind>/<sha256 of the
file>.npy``, keyed by file content as in :mod:`emocore.extraction`, so re-training a judge or
re-evaluating the reference systems costs file hashing only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from emocore.data.datasets import Utterance
from emocore.dsp import audio
from emocore.exceptions import AudioError, DatasetError, ParameterError
from emocore.io import atomic_path, file_digest

log = logging.getLogger(__name__)

EVAL_SR = 16000
#: bumped whenever what the cache holds for a kind changes
CACHE_VERSION = 1
CACHE_SUBDIR = "evaluation"

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("path", "system", "speaker", "source_emotion", "target_emotion", "text_id", "source_path",
                    "reference_path")
#: reference systems first (in this order) and ``"target"`` last in every summary
SYSTEM_ORDER = ("source", "f0-only", "f0+power")
TARGET_SYSTEM = "target"

Item = str | os.PathLike | Utterance | np.ndarray | tuple


# ----------------------------------------------------------------------------------------------- items


@dataclass(frozen=True)
class EvalItem:
    """One converted utterance to score, and what it should be.

    Attributes:
        system: which system made it, e.g. ``"source"``, ``"f0-only"``, ``"emocyclegan"``.
        path: the audio file to score.
        speaker: whose voice it should be (a :class:`SpeakerVerifier` speaker).
        target_emotion: the emotion it should express (a :class:`EmotionJudge` class).
        source_emotion: the emotion it was converted from.
        text_id: what is said (a corpus text id), to check it against the judge's training words.
        source_path: the recording it was converted from.
        reference_path: the real recording of the same text by the same speaker in ``target_emotion``;
            ``None`` leaves the reference-based metrics ``nan``.
    """

    system: str
    path: Path
    speaker: str
    target_emotion: str
    source_emotion: str = ""
    text_id: str = ""
    source_path: Path | None = None
    reference_path: Path | None = None

    def __post_init__(self):
        for name in ("path", "source_path", "reference_path"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        for name in ("system", "speaker", "target_emotion"):
            if not getattr(self, name):
                raise ParameterError(f"EvalItem.{name} must not be empty")

    @classmethod
    def from_mapping(cls, row: Mapping, base: str | Path | None = None) -> "EvalItem":
        """From a dict or manifest row; relative paths are taken relative to ``base``."""
        missing = [c for c in ("path", "system", "speaker", "target_emotion") if not _text(row.get(c))]
        if missing:
            raise DatasetError(f"manifest row {dict(row)} lacks {', '.join(missing)}")

        def resolve(value):
            value = _text(value)
            if not value:
                return None
            path = Path(value).expanduser()
            return path if path.is_absolute() or base is None else Path(base) / path

        return cls(system=_text(row["system"]), path=resolve(row["path"]), speaker=_text(row["speaker"]),
                   target_emotion=_text(row["target_emotion"]), source_emotion=_text(row.get("source_emotion")),
                   text_id=_text(row.get("text_id")), source_path=resolve(row.get("source_path")),
                   reference_path=resolve(row.get("reference_path")))


def _text(value) -> str:
    """A manifest cell as a string: ``None`` and NaN (pandas' empty cell) become ``""``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def write_manifest(items: Iterable[EvalItem], folder: str | Path, name: str = MANIFEST_NAME) -> Path:
    """Write ``<folder>/<name>`` with :data:`MANIFEST_COLUMNS`; paths inside ``folder`` are stored relative to it.

    Returns:
        Path: the manifest file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()

    def rel(path: Path | None) -> str:
        if path is None:
            return ""
        path = Path(path).resolve()
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    rows = [{"path": rel(i.path), "system": i.system, "speaker": i.speaker, "source_emotion": i.source_emotion,
             "target_emotion": i.target_emotion, "text_id": i.text_id, "source_path": rel(i.source_path),
             "reference_path": rel(i.reference_path)} for i in items]
    out = folder / name
    pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)).to_csv(out, index=False)
    return out


def read_manifest(folder: str | Path, name: str = MANIFEST_NAME) -> list[EvalItem]:
    """The items of ``<folder>/<name>`` (or of ``folder`` itself when it is a CSV file).

    Raises:
        DatasetError: the manifest is missing, empty or lacks a required column or cell.
    """
    folder = Path(folder)
    path = folder if folder.is_file() else folder / name
    if not path.is_file():
        raise DatasetError(f"no manifest at {path}; conversion code writes one with columns {', '.join(MANIFEST_COLUMNS)}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("path", "system", "speaker", "target_emotion") if c not in table.columns]
    if missing:
        raise DatasetError(f"{path} lacks the column(s) {', '.join(missing)}; expected {', '.join(MANIFEST_COLUMNS)}")
    if table.empty:
        raise DatasetError(f"{path} lists no files")
    return [EvalItem.from_mapping(row, base=path.parent) for row in table.to_dict("records")]



# ------------------------------------------------------------------------------------- cached vectors


def _as_source(item: Item) -> tuple[Path | None, np.ndarray | None]:
    """``(path, None)`` for a file or Utterance, ``(None, wav at EVAL_SR)`` for an array or ``(wav, sr)``."""
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ParameterError("an in-memory item must be a (wav, sr) pair")
        wav, sr = item
        return None, audio.resample(audio.validate_wav(np.asarray(wav, dtype=np.float64), int(sr)), int(sr), EVAL_SR)
    if isinstance(item, np.ndarray):
        return None, audio.validate_wav(item, EVAL_SR)
    return Path(getattr(item, "path", item)), None


def _cached_vectors(items: Sequence[Item], kind: str, dim: int, compute: Callable[[list[np.ndarray]], np.ndarray],
                    cache_dir: str | Path | None, *, progress: bool = False, desc: str = "", chunk: int = 16
                    ) -> tuple[np.ndarray, list[str | None]]:
    """One ``(dim,)`` vector per item, from the cache or from ``compute`` (a batch of 16 kHz waveforms).

    Files are loaded and computed ``chunk`` at a time (memory, progress updates; eGeMAPS takes large
    chunks, as each may cost a subprocess).

    Returns:
        tuple: ``(N, dim)`` float64 array, ``nan`` rows where an item failed, and the failure reason per
        item (``None`` where it worked).
    """
    out = np.full((len(items), dim), np.nan)
    errors: list[str | None] = [None] * len(items)
    cache = None if cache_dir is None else Path(cache_dir) / CACHE_SUBDIR / kind
    todo: list[tuple[int, Path | None, np.ndarray | None, Path | None]] = []
    first_of: dict[Path, int] = {}  # a file listed twice is computed once
    copies: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        try:
            path, wav = _as_source(item)
        except AudioError as error:
            errors[index] = error.reason
            continue
        cached = None
        if path is not None:
            if path in first_of:
                copies.append((index, first_of[path]))
                continue
            first_of[path] = index
            if not path.is_file():
                errors[index] = f"{path}: no such file"
                continue
            if cache is not None:
                cached = cache / f"{file_digest(path)}.npy"
                if cached.is_file():
                    try:
                        out[index] = np.load(cached)
                        continue
                    except Exception as error:  # noqa: BLE001 - a damaged entry is recomputed
                        log.warning("ignoring unreadable cache entry %s (%s)", cached, error)
        todo.append((index, path, wav, cached))

    bar = tqdm(total=len(todo), desc=desc or kind, unit="file", disable=not progress or not todo)
    for start in range(0, len(todo), chunk):
        batch, wavs = [], []
        for index, path, wav, cached in todo[start:start + chunk]:
            if wav is None:
                try:
                    wav = audio.load_wav(path, EVAL_SR)
                except AudioError as error:
                    errors[index] = str(error)
                    bar.update()
                    continue
            batch.append((index, cached))
            wavs.append(wav)
        if wavs:
            values = _compute_or_isolate(compute, wavs, dim, [index for index, _ in batch], errors, kind)
            for (index, cached), value in zip(batch, values):
                if errors[index] is not None:
                    continue
                out[index] = value
                if not np.all(np.isfinite(value)):
                    errors[index] = f"{kind}: non-finite result"
                elif cached is not None:
                    with atomic_path(cached) as tmp:
                        np.save(tmp, value)
            bar.update(len(wavs))
    bar.close()
    for index, first in copies:
        out[index], errors[index] = out[first], errors[first]
    return out, errors


def _compute_or_isolate(compute: Callable[[list[np.ndarray]], np.ndarray], wavs: list[np.ndarray], dim: int,
                        indexes: list[int], errors: list[str | None], kind: str) -> np.ndarray:
    """``compute(wavs)`` as ``(len(wavs), dim)``; if the batch raises, each waveform alone, so one bad input
    costs only its own row (``nan``, its reason in ``errors``)."""
    try:
        return np.asarray(compute(wavs), dtype=np.float64).reshape(len(wavs), dim)
    except Exception as batch_error:  # noqa: BLE001 - isolate the culprit below
        if len(wavs) == 1:
            errors[indexes[0]] = f"{kind}: {type(batch_error).__name__}: {batch_error}"
            return np.full((1, dim), np.nan)
    values = np.full((len(wavs), dim), np.nan)
    for row, (index, wav) in enumerate(zip(indexes, wavs)):
        try:
            values[row] = np.asarray(compute([wav]), dtype=np.float64).reshape(dim)
        except Exception as error:  # noqa: BLE001
            errors[index] = f"{kind}: {type(error).__name__}: {error}"
    return values



def _raise_first(errors: list[str | None], on_error: str) -> None:
    if on_error == "raise":
        for error in errors:
            if error is not None:
                raise AudioError(None, error)
