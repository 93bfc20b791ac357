"""Objective evaluation of emotional voice conversion: emotion, speaker identity, naturalness, distance to real speech.

Every converted utterance is scored four ways, each by a model or measure that never saw the conversion
system's training signal:

- **Emotion**: :class:`EmotionJudge`, eGeMAPS functionals (openSMILE, 88 per utterance) classified by a
  standardized logistic regression or RBF SVM, whichever cross-validates better over held-apart *words*.
  It is trained on real recordings only, never on conversions and never on the network used as a
  training loss; its accuracy on real recordings of held-out words (:meth:`EmotionJudge.accuracy_on`)
  is the *ceiling* every result is reported next to.
- **Speaker identity**: :class:`SpeakerVerifier`, resemblyzer d-vectors (256-d, unit length); cosine
  similarity to the speaker's centroid over real recordings, and whether the nearest centroid is the
  right speaker.
- **Naturalness**: :func:`emocore.metrics.dnsmos` (DNSMOS P.835, offline ONNX models).
- **Against the real target-emotion recording of the same text**: MCD (dB, after DTW), F0 RMSE (Hz),
  log-F0 Pearson correlation and V/UV error (:func:`emocore.metrics.aligned_metrics`), measured with
  :data:`emocore.vocoders.MEASURE_CONFIG` (harvest F0, 25 SPTK mel-cepstra).

Everything is computed on audio loaded at 16 kHz (:data:`EVAL_SR`), the rate conversions are written at,
so real 24 kHz TESS recordings and 16 kHz conversions meet the judge at the same bandwidth.

:func:`evaluate_pairs` (a list of :class:`EvalItem`) and :func:`evaluate_folder` (a folder with a
``manifest.csv``, see :data:`MANIFEST_COLUMNS`) return one tidy row per item; :func:`summarize` averages
them per system and target emotion. :func:`reference_items` and :func:`write_prosody_references` give
the reference systems every report carries: the unconverted ``source``, the log-Gaussian ``f0-only``
and ``f0+power`` transforms, and the real ``target`` recording.

openSMILE and TensorFlow cannot share a process: openSMILE aborts it if TensorFlow was imported first
(the native library must be loaded before TensorFlow's). So eGeMAPS runs in this process only while
TensorFlow is not loaded (or openSMILE already ran here before it was), and otherwise in a fresh Python
subprocess that imports nothing of TensorFlow. Callers need not care which.

Features, d-vectors and DNSMOS scores are cached under ``<cache_dir>/evaluation/<kind>/<sha256 of the
file>.npy``, keyed by file content as in :mod:`emocore.extraction`, so re-training a judge or
re-evaluating the reference systems costs file hashing only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from emocore.config import FeatureConfig
from emocore.data.datasets import Domain, Utterance, list_utterances, validation_text_ids
from emocore.data.extraction import extract_file
from emocore.dsp import audio, features, metrics, prosody
from emocore.dsp.vocoders import MEASURE_CONFIG
from emocore.exceptions import AudioError, DatasetError, EmocoreError, ParameterError
from emocore.io import atomic_path, file_digest

log = logging.getLogger(__name__)

EVAL_SR = 16000
#: bumped whenever what the cache holds for a kind changes
CACHE_VERSION = 1
CACHE_SUBDIR = "evaluation"
EGEMAPS_KIND = f"egemaps-v02-functionals-{EVAL_SR // 1000}k-v{CACHE_VERSION}"
EMBEDDING_KIND = f"resemblyzer-{EVAL_SR // 1000}k-v{CACHE_VERSION}"
DNSMOS_KIND = f"dnsmos-p835-v{CACHE_VERSION}"
DNSMOS_KEYS = ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808")
N_EGEMAPS = 88
EMBEDDING_DIM = 256
JUDGE_FORMAT = 1
VERIFIER_FORMAT = 1

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("path", "system", "speaker", "source_emotion", "target_emotion", "text_id", "source_path",
                    "reference_path")
REFERENCE_METRICS = ("mcd_db", "f0_rmse_hz", "log_f0_pearson", "vuv_error")
#: reference systems first (in this order) and ``"target"`` last in every summary
SYSTEM_ORDER = ("source", "f0-only", "f0+power")
#: the columns of an evaluate_pairs table: the item, then the metrics (``nan`` where not measured), then ``error``
TABLE_METRIC_COLUMNS = ("emotion_correct", "p_target_emotion", "judge_ceiling_pct", "judge_heard_text",
                        "speaker_similarity", "nearest_speaker_correct", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak",
                        "dnsmos_p808", "mcd_db", "f0_rmse_hz", "log_f0_pearson", "vuv_error")
TABLE_COLUMNS = ("system", "speaker", "source_emotion", "target_emotion", "text_id", "path", "source_path",
                 "reference_path", "judged_emotion", *TABLE_METRIC_COLUMNS[:5], "nearest_speaker",
                 *TABLE_METRIC_COLUMNS[5:], "error")
TARGET_SYSTEM = "target"
DEFAULT_EMOTIONS = ("neutral", "angry", "happy", "sad")
DEFAULT_LOGISTIC_C = (0.01, 0.1, 1.0, 10.0)
DEFAULT_SVM_C = (1.0, 10.0, 100.0)

_EGEMAPS_CHUNK = 256  # files per eGeMAPS batch: each may cost a subprocess start

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


# --------------------------------------------------------------------------------------------- eGeMAPS

_smile = None
_smile_ran_before_tensorflow = False


def egemaps_runs_in_process() -> bool:
    """Whether eGeMAPS can run in this process: TensorFlow is not loaded, or openSMILE ran here before it was."""
    return _smile_ran_before_tensorflow or "tensorflow" not in sys.modules


def _egemaps_in_process(wavs: list[np.ndarray]) -> np.ndarray:
    """``(N, 88)`` eGeMAPSv02 functionals of 16 kHz waveforms, computed here (never call with TensorFlow loaded)."""
    global _smile, _smile_ran_before_tensorflow
    if not egemaps_runs_in_process():
        raise EmocoreError("openSMILE would abort this process: TensorFlow was imported before it")
    if _smile is None:
        import opensmile

        _smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                 feature_level=opensmile.FeatureLevel.Functionals)
    rows = [_smile.process_signal(np.asarray(wav, dtype=np.float32), EVAL_SR).to_numpy(dtype=np.float64)[0]
            for wav in wavs]
    if "tensorflow" not in sys.modules:  # the native library is loaded now: TensorFlow may come later
        _smile_ran_before_tensorflow = True
    return np.stack(rows) if rows else np.empty((0, N_EGEMAPS))


def _egemaps_in_subprocess(wavs: list[np.ndarray]) -> np.ndarray:
    """The same in a fresh interpreter, for processes that have TensorFlow loaded."""
    with tempfile.TemporaryDirectory(prefix="emocore-egemaps-") as tmp:
        inputs, output = Path(tmp) / "wavs.npz", Path(tmp) / "egemaps.npy"
        np.savez(inputs, *[np.asarray(w, dtype=np.float32) for w in wavs])
        env = dict(os.environ)
        package_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        code = "import sys; from emocore.evaluation import _egemaps_worker; sys.exit(_egemaps_worker(sys.argv[1:]))"
        proc = subprocess.run([sys.executable, "-c", code, str(inputs), str(output)], env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0 or not output.is_file():
            raise EmocoreError(f"the eGeMAPS subprocess failed (exit status {proc.returncode}): "
                               f"{proc.stderr.strip()[-2000:]}")
        return np.load(output)


def _egemaps_worker(argv: list[str]) -> int:
    """Entry point of the eGeMAPS subprocess: ``<wavs.npz> <out.npy>``."""
    inputs, output = argv
    with np.load(inputs) as data:
        wavs = [data[f"arr_{i}"] for i in range(len(data.files))]
    np.save(output, _egemaps_in_process(wavs))
    return 0


def _egemaps_batch(wavs: list[np.ndarray]) -> np.ndarray:
    return _egemaps_in_process(wavs) if egemaps_runs_in_process() else _egemaps_in_subprocess(wavs)


def egemaps_feature_names() -> list[str]:
    """The 88 eGeMAPSv02 functional names, in column order (needs openSMILE, not TensorFlow-safe to *run*)."""
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    return list(smile.feature_names)


def _egemaps_rows(items: Sequence[Item], cache_dir, progress: bool, desc: str) -> tuple[np.ndarray, list[str | None]]:
    return _cached_vectors(items, EGEMAPS_KIND, N_EGEMAPS, _egemaps_batch, cache_dir, progress=progress, desc=desc,
                           chunk=_EGEMAPS_CHUNK)


def extract_egemaps(items: Sequence[Item], *, cache_dir: str | Path | None = None, on_error: str = "raise",
                    progress: bool = False) -> np.ndarray:
    """eGeMAPSv02 functionals (openSMILE) of several utterances, safe in a process with TensorFlow loaded.

    Args:
        items: audio paths, :class:`~emocore.datasets.Utterance` objects, ``(wav, sr)`` pairs, or
            waveforms already at :data:`EVAL_SR`. Files are loaded (and resampled) at :data:`EVAL_SR`.
        cache_dir: cache root (files only); ``None`` for no cache.
        on_error: ``"raise"`` raises on the first unusable item; ``"nan"`` gives it a ``nan`` row.
        progress: show a progress bar.

    Returns:
        ndarray: shape ``(N, 88)``.

    Raises:
        AudioError: an item is unusable and ``on_error="raise"``.
        ParameterError: unknown ``on_error``.
    """
    if on_error not in ("raise", "nan"):
        raise ParameterError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
    rows, errors = _egemaps_rows(list(items), cache_dir, progress, "eGeMAPS")
    _raise_first(errors, on_error)
    return rows


def _raise_first(errors: list[str | None], on_error: str) -> None:
    if on_error == "raise":
        for error in errors:
            if error is not None:
                raise AudioError(None, error)


# ----------------------------------------------------------------------------------------- the judge


def _model_candidates(seed: int, logistic_c: Sequence[float], svm_c: Sequence[float]) -> list[tuple[str, object]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    return ([(f"logistic C={c:g}", LogisticRegression(C=c, max_iter=5000)) for c in logistic_c]
            + [(f"svm-rbf C={c:g}", SVC(C=c, kernel="rbf", gamma="scale", random_state=seed)) for c in svm_c])


def _pipeline(classifier):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), classifier)


class EmotionJudge:
    """An independent speech-emotion classifier: eGeMAPS functionals + standardization + a scikit-learn model.

    Build it with :meth:`train` (or :func:`train_corpus_judge`), read it back with :meth:`load`.

    Attributes:
        pipeline: the fitted scikit-learn pipeline ``StandardScaler -> LogisticRegression | SVC``.
        emotions: the class names, sorted.
        metadata: how it was trained: ``speakers``, ``corpora``, ``train_text_ids``, ``held_out_text_ids``,
            ``n_train`` per emotion, ``model`` (the chosen candidate), ``cv`` (every candidate's
            cross-validated accuracy), versions, and ``ceiling`` once measured.
    """

    def __init__(self, pipeline, emotions: Sequence[str], metadata: dict | None = None):
        self.pipeline = pipeline
        self.emotions = tuple(emotions)
        self.metadata = dict(metadata or {})

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, utterances: Sequence[Utterance], emotions: Sequence[str] | None = None, *,
              held_out_text_ids: Iterable[str] = (), cache_dir: str | Path | None = None, cv_folds: int = 5,
              logistic_c: Sequence[float] = DEFAULT_LOGISTIC_C, svm_c: Sequence[float] = DEFAULT_SVM_C,
              seed: int = 0, progress: bool = False) -> "EmotionJudge":
        """Train on real recordings, choosing the classifier by cross-validation over words.

        Candidates are logistic regression with each of ``logistic_c`` and an RBF SVM with each of
        ``svm_c``, all after standardization. Folds are :class:`~sklearn.model_selection.GroupKFold`
        over ``text_id``, so a candidate is always scored on words it did not train on, as the final
        judge will be; the best mean accuracy wins (ties: the earlier candidate, so the simpler model)
        and is refitted on everything given.

        Args:
            utterances: real recordings; those whose ``text_id`` is in ``held_out_text_ids`` or whose
                emotion is not in ``emotions`` are left out, unusable files are skipped with a warning.
            emotions: the classes; ``None`` for every emotion among ``utterances``.
            held_out_text_ids: words never to train on (recorded in the metadata).
            cache_dir: eGeMAPS cache root; ``None`` for no cache.
            cv_folds: at most this many folds (fewer when there are fewer words).

        Raises:
            ParameterError: fewer than two classes or two words to train on, or no candidate.
        """
        from sklearn.base import clone
        from sklearn.model_selection import GroupKFold, cross_val_score

        held_out = frozenset(held_out_text_ids)
        wanted = sorted(set(emotions) if emotions is not None else {u.emotion for u in utterances})
        chosen = [u for u in utterances if u.emotion in wanted and u.text_id not in held_out]
        x, errors = _egemaps_rows(chosen, cache_dir, progress, "eGeMAPS (judge)")
        for utt, error in zip(chosen, errors):
            if error is not None:
                log.warning("judge: skipping %s: %s", utt.path, error)
        keep = [i for i, error in enumerate(errors) if error is None]
        chosen, x = [chosen[i] for i in keep], x[keep]
        y = np.array([u.emotion for u in chosen])
        groups = np.array([u.text_id for u in chosen])
        present = sorted({str(e) for e in y})
        if len(present) < 2:
            raise ParameterError(f"the judge needs at least two emotions to train on, got {present}")
        if missing := sorted(set(wanted) - set(present)):
            raise ParameterError(f"no usable training recordings of {', '.join(missing)}")
        n_folds = min(cv_folds, len(set(groups)))
        if n_folds < 2:
            raise ParameterError("the judge needs recordings of at least two different words (for cross-validation)")
        candidates = _model_candidates(seed, logistic_c, svm_c)
        if not candidates:
            raise ParameterError("no classifier candidates: give logistic_c and/or svm_c")
        cv = {}
        for name, classifier in candidates:
            scores = cross_val_score(_pipeline(clone(classifier)), x, y, groups=groups, cv=GroupKFold(n_folds))
            cv[name] = {"mean": float(scores.mean()), "std": float(scores.std())}
        best_name, best = max(candidates, key=lambda c: cv[c[0]]["mean"])  # max keeps the first of ties
        best = clone(best)
        if "probability" in best.get_params():  # the SVM: Platt-scaled probabilities for p_target_emotion
            best.set_params(probability=True)
        pipeline = _pipeline(best).fit(x, y)
        from importlib.metadata import version

        metadata = {
            "format": JUDGE_FORMAT,
            "features": "eGeMAPSv02 functionals (openSMILE), 16 kHz",
            "model": best_name, "cv": cv, "cv_folds": n_folds, "cv_grouped_by": "text_id",
            "corpora": sorted({u.corpus for u in chosen}), "speakers": sorted({u.speaker for u in chosen}),
            "emotions": present, "n_train": {e: int(np.sum(y == e)) for e in present},
            "train_text_ids": sorted(set(groups)), "held_out_text_ids": sorted(held_out),
            "versions": {"scikit-learn": version("scikit-learn"), "opensmile": version("opensmile")},
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        return cls(pipeline, present, metadata)

    # ------------------------------------------------------------------ prediction

    def predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classify eGeMAPS rows.

        Args:
            x (ndarray): shape ``(N, 88)``; ``nan`` rows (failed files) are passed through.

        Returns:
            tuple: predicted emotions ``(N,)`` (``""`` for ``nan`` rows) and class probabilities ``(N, C)``
            in :attr:`emotions` order (Platt-scaled for the SVM; ``nan`` rows stay ``nan``).
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != N_EGEMAPS:
            raise ParameterError(f"expected eGeMAPS rows of {N_EGEMAPS} features, got shape {x.shape}")
        ok = np.all(np.isfinite(x), axis=1)
        labels = np.full(len(x), "", dtype=object)
        scores = np.full((len(x), len(self.emotions)), np.nan)
        if ok.any():
            labels[ok] = self.pipeline.predict(x[ok])
            classes = list(self.pipeline.classes_)
            order = [classes.index(e) for e in self.emotions]
            if hasattr(self.pipeline, "predict_proba"):
                raw = self.pipeline.predict_proba(x[ok])
            else:
                raw = self.pipeline.decision_function(x[ok])
                raw = raw[:, None] if raw.ndim == 1 else raw
                if raw.shape[1] == 1:  # binary SVM: one column, positive = classes[1]
                    raw = np.hstack([-raw, raw])
            scores[ok] = raw[:, order]
        return labels, scores

    @property
    def is_linear(self) -> bool:
        """Whether the judge's log-odds are linear in the standardized features (logistic regression)."""
        classifier = self.pipeline[-1]
        return hasattr(classifier, "coef_") and getattr(classifier, "kernel", "linear") == "linear"

    def explain_shift(self, x_from: np.ndarray, x_to: np.ndarray, emotion: str, versus: str,
                      feature_names: Sequence[str] | None = None) -> pd.DataFrame:
        """Which features move the judge from ``emotion`` toward ``versus`` between two sets of files.

        For a logistic-regression judge the log-odds of ``emotion`` against ``versus`` are linear in the
        standardized features ``z``, so the change of their mean from the ``x_from`` files (e.g. the F0-only
        conversions) to the ``x_to`` files (e.g. a model's conversions of the same words) splits exactly into
        one term per feature: ``(mean z_to - mean z_from) * (w_emotion - w_versus)``.

        Args:
            x_from, x_to: eGeMAPS rows, shapes ``(N, 88)`` and ``(M, 88)`` (:func:`extract_egemaps`).
            emotion, versus: two of :attr:`emotions`.
            feature_names: the 88 column names (default :func:`egemaps_feature_names`).

        Returns:
            DataFrame: ``feature``, ``z_from``, ``z_to`` (mean standardized values), ``logit_change``; sorted
            with the features that push most toward ``versus`` (most negative change) first. The column sums
            to the change of the mean log-odds.

        Raises:
            ParameterError: a non-linear (SVM) judge, an unknown emotion, or rows of the wrong width.
        """
        for name in (emotion, versus):
            if name not in self.emotions:
                raise ParameterError(f"{name!r} is not one of the judge's emotions {self.emotions}")
        scaler, classifier = self.pipeline[:-1], self.pipeline[-1]
        if not self.is_linear:
            raise ParameterError(f"explain_shift needs a linear judge, this one is {type(classifier).__name__}")
        z_from, z_to = (scaler.transform(np.atleast_2d(np.asarray(x, dtype=np.float64))) for x in (x_from, x_to))
        if z_from.shape[1] != N_EGEMAPS:
            raise ParameterError(f"expected eGeMAPS rows of {N_EGEMAPS} features, got {z_from.shape[1]}")
        classes = list(classifier.classes_)
        coef = classifier.coef_
        if coef.shape[0] == 1:  # binary: one row, the log-odds of classes[1]
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        weight = coef[classes.index(emotion)] - coef[classes.index(versus)]
        mean_from, mean_to = z_from.mean(0), z_to.mean(0)
        names = list(feature_names) if feature_names is not None else egemaps_feature_names()
        table = pd.DataFrame({"feature": names, "z_from": mean_from, "z_to": mean_to,
                              "logit_change": (mean_to - mean_from) * weight})
        return table.sort_values("logit_change", kind="stable").reset_index(drop=True)

    def predict(self, items: Sequence[Item], *, cache_dir: str | Path | None = None) -> list[str]:
        """The judged emotion of each item (paths, Utterances, ``(wav, sr)`` pairs, or 16 kHz waveforms).

        Raises:
            AudioError: an item cannot be used.
        """
        labels, _ = self.predict_features(extract_egemaps(items, cache_dir=cache_dir))
        return [str(label) for label in labels]

    def evaluate_on(self, utterances: Sequence[Utterance], *, cache_dir: str | Path | None = None,
                    progress: bool = False) -> dict:
        """Accuracy on real recordings labelled with their emotion (only those of the judge's emotions).

        Returns:
            dict: ``accuracy`` and ``n`` overall, ``recall`` per emotion, ``confusion`` (true -> predicted
            -> count), and ``speakers``, ``text_ids`` it was measured on. A recording of one of
            :attr:`metadata` ``train_text_ids`` counts too; keep held-out words apart for a ceiling.

        Raises:
            ParameterError: no usable utterance of the judge's emotions.
        """
        chosen = [u for u in utterances if u.emotion in self.emotions]
        x, errors = _egemaps_rows(chosen, cache_dir, progress, "eGeMAPS (held out)")
        keep = [i for i, error in enumerate(errors) if error is None]
        if not keep:
            raise ParameterError(f"no usable utterance of the judge's emotions {self.emotions}")
        chosen, x = [chosen[i] for i in keep], x[keep]
        truth = np.array([u.emotion for u in chosen])
        predicted, _ = self.predict_features(x)
        recall = {e: float(np.mean(predicted[truth == e] == e)) for e in self.emotions if np.any(truth == e)}
        confusion = {e: {p: int(np.sum((truth == e) & (predicted == p))) for p in self.emotions}
                     for e in self.emotions if np.any(truth == e)}
        return {"accuracy": float(np.mean(predicted == truth)), "n": len(truth), "recall": recall,
                "confusion": confusion, "speakers": sorted({u.speaker for u in chosen}),
                "text_ids": sorted({u.text_id for u in chosen})}

    def accuracy_on(self, utterances: Sequence[Utterance], *, cache_dir: str | Path | None = None) -> float:
        """Accuracy on real recordings, in ``[0, 1]``: on held-out words, the ceiling to report next to results."""
        return self.evaluate_on(utterances, cache_dir=cache_dir)["accuracy"]

    @property
    def ceiling(self) -> dict | None:
        """The held-out result recorded by :func:`train_corpus_judge` (an :meth:`evaluate_on` dict), if any."""
        return self.metadata.get("ceiling")

    def heard_text(self, text_id: str) -> bool:
        """Whether ``text_id`` was among the training words."""
        return text_id in set(self.metadata.get("train_text_ids", ()))

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the pipeline and metadata with joblib (atomically); returns ``path``."""
        import joblib

        with atomic_path(path) as tmp:
            joblib.dump({"format": JUDGE_FORMAT, "pipeline": self.pipeline, "emotions": list(self.emotions),
                         "metadata": self.metadata}, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "EmotionJudge":
        """Read a judge written by :meth:`save` (a joblib pickle: load only files you trust).

        Raises:
            ParameterError: the file is not a judge of a known format.
        """
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("format") != JUDGE_FORMAT or "pipeline" not in data:
            raise ParameterError(f"{path} is not an emocore emotion judge (format {JUDGE_FORMAT})")
        return cls(data["pipeline"], data["emotions"], data["metadata"])

    def __repr__(self) -> str:
        ceiling = self.ceiling
        tail = f", held-out accuracy {ceiling['accuracy']:.1%}" if ceiling else ""
        return (f"EmotionJudge({', '.join(self.emotions)}; {self.metadata.get('model', '?')}; speakers "
                f"{', '.join(self.metadata.get('speakers', []))}{tail})")


def corpus_held_out_text_ids(corpus: str, *, val_fraction: float = 0.1, seed: int = 0,
                             root: str | Path | None = None) -> frozenset[str]:
    """The words held out of every model of ``corpus``: :func:`~emocore.datasets.validation_text_ids` over all its texts.

    For TESS and RAVDESS every speaker and emotion says the same texts, so this equals what
    :func:`emocore.extraction.prepare_domains` holds out for any pair of domains of the corpus.
    """
    return validation_text_ids({u.text_id for u in list_utterances(corpus, root=root)}, val_fraction, seed)


def train_corpus_judge(corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                       speakers: Sequence[str] | None = None, val_fraction: float = 0.1, seed: int = 0,
                       max_train_texts: int | None = None, root: str | Path | None = None,
                       cache_dir: str | Path | None = None, progress: bool = False, **train_kwargs) -> EmotionJudge:
    """The judge of one corpus: trained on every given speaker's training words, measured on the held-out words.

    The held-out words are :func:`corpus_held_out_text_ids` (the ones conversions are evaluated on), so
    a conversion of a held-out word is judged by a judge that never heard that word. Its accuracy on the
    real recordings of those words is stored as ``metadata["ceiling"]``.

    Args:
        corpus: corpus name.
        emotions: the classes.
        speakers: ``None`` for all speakers of the corpus.
        max_train_texts: train on only the first this many training words, sorted (tests, quick looks).
        train_kwargs: passed to :meth:`EmotionJudge.train` (``cv_folds``, ``logistic_c``, ``svm_c``, ``seed``).
    """
    utterances = list_utterances(corpus, speaker=speakers, emotion=list(emotions), root=root)
    held_out = corpus_held_out_text_ids(corpus, val_fraction=val_fraction, seed=seed, root=root)
    train_utts = [u for u in utterances if u.text_id not in held_out]
    if max_train_texts is not None:
        kept = set(sorted({u.text_id for u in train_utts})[:max_train_texts])
        train_utts = [u for u in train_utts if u.text_id in kept]
    judge = EmotionJudge.train(train_utts, emotions, held_out_text_ids=held_out, cache_dir=cache_dir,
                               progress=progress, **train_kwargs)
    held_out_utts = [u for u in utterances if u.text_id in held_out]
    judge.metadata.update(split={"val_fraction": val_fraction, "seed": seed, "corpus": corpus})
    judge.metadata["ceiling"] = judge.evaluate_on(held_out_utts, cache_dir=cache_dir, progress=progress)
    return judge


def default_judge_path(corpus: str, emotions: Sequence[str], *, val_fraction: float = 0.1, seed: int = 0) -> Path:
    """Where :func:`load_or_train_judge` keeps a corpus judge: ``data/models/judges/<corpus>-<emotions>-val<f>-seed<s>.joblib``."""
    from emocore import paths

    return paths.models_dir() / "judges" / f"{corpus}-{'_'.join(sorted(emotions))}-val{val_fraction:g}-seed{seed}.joblib"


def load_or_train_judge(path: str | Path, corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                        val_fraction: float = 0.1, seed: int = 0, **kwargs) -> EmotionJudge:
    """The judge saved at ``path``, or a new :func:`train_corpus_judge` saved there when there is none.

    ``kwargs`` go to :func:`train_corpus_judge` (``root``, ``cache_dir``, ``progress``, ...).
    """
    path = Path(path)
    if path.is_file():
        return EmotionJudge.load(path)
    judge = train_corpus_judge(corpus, emotions, val_fraction=val_fraction, seed=seed, **kwargs)
    judge.save(path)
    return judge


def default_verifier_path(corpora: Sequence[str], *, max_per_speaker: int | None = 30, val_fraction: float = 0.1,
                          seed: int = 0) -> Path:
    """Where :func:`load_or_build_verifier` keeps a verifier, under ``data/models/verifiers/``."""
    from emocore import paths

    return (paths.models_dir() / "verifiers"
            / f"{'_'.join(corpora)}-max{max_per_speaker or 'all'}-val{val_fraction:g}-seed{seed}.joblib")


def load_or_build_verifier(path: str | Path, corpora: Sequence[str] = ("tess", "ravdess"), **kwargs
                           ) -> "SpeakerVerifier":
    """The verifier saved at ``path``, or a new :func:`build_corpus_verifier` saved there when there is none."""
    path = Path(path)
    if path.is_file():
        return SpeakerVerifier.load(path)
    verifier = build_corpus_verifier(corpora, **kwargs)
    verifier.save(path)
    return verifier


# -------------------------------------------------------------------------------------- speaker identity


@functools.cache
def voice_encoder():
    """resemblyzer's pretrained ``VoiceEncoder`` on the CPU, loaded once per process (its weights ship in the wheel)."""
    with warnings.catch_warnings():  # webrtcvad imports pkg_resources
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


@contextlib.contextmanager
def _torch_one_thread():
    """Run torch on one thread, restoring the setting after: the encoder's small LSTM gains nothing from
    more, and on a busy 2-core machine two spinning threads made each embedding about 10x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _embed_batch(wavs: list[np.ndarray]) -> np.ndarray:
    if not wavs:
        return np.empty((0, EMBEDDING_DIM))
    with _torch_one_thread():
        return np.stack([speaker_embedding(wav, EVAL_SR) for wav in wavs])


def speaker_embedding(wav: np.ndarray, sr: int) -> np.ndarray:
    """resemblyzer d-vector of one waveform (volume-normalized and with long silences trimmed first).

    Args:
        wav (ndarray): shape ``(n_samples,)``.
        sr: its sample rate.

    Returns:
        ndarray: unit-length embedding, shape ``(256,)``.
    """
    encoder = voice_encoder()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from resemblyzer import preprocess_wav
    wav = audio.validate_wav(np.asarray(wav, dtype=np.float64), sr)
    trimmed = preprocess_wav(wav.astype(np.float32), source_sr=sr)
    if trimmed.size < EVAL_SR // 10:  # the VAD found (almost) no speech: embed the whole signal
        trimmed = audio.resample(wav, sr, EVAL_SR).astype(np.float32)
    with _torch_one_thread():
        return np.asarray(encoder.embed_utterance(trimmed), dtype=np.float64)


def speaker_embeddings(items: Sequence[Item], *, cache_dir: str | Path | None = None, on_error: str = "raise",
                       progress: bool = False) -> np.ndarray:
    """d-vectors of several utterances (items as in :func:`extract_egemaps`), shape ``(N, 256)``."""
    if on_error not in ("raise", "nan"):
        raise ParameterError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
    rows, errors = _cached_vectors(list(items), EMBEDDING_KIND, EMBEDDING_DIM, _embed_batch, cache_dir,
                                   progress=progress, desc="speaker embeddings")
    _raise_first(errors, on_error)
    return rows


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class SpeakerVerifier:
    """Speaker centroids of real recordings, to score a conversion's identity.

    Attributes:
        speakers: speaker names, sorted.
        centroids: unit-length mean embeddings, shape ``(n_speakers, 256)`` in :attr:`speakers` order.
        metadata: ``n_enrolled`` per speaker, ``excluded_text_ids``, ``corpora``.
    """

    def __init__(self, speakers: Sequence[str], centroids: np.ndarray, metadata: dict | None = None):
        centroids = np.asarray(centroids, dtype=np.float64)
        if centroids.shape != (len(speakers), EMBEDDING_DIM):
            raise ParameterError(f"need one {EMBEDDING_DIM}-d centroid per speaker, got {centroids.shape}")
        self.speakers = tuple(speakers)
        unit = np.allclose(np.linalg.norm(centroids, axis=1), 1.0, rtol=0, atol=1e-12)
        self.centroids = centroids if unit else _unit(centroids)  # a saved verifier loads back bit for bit
        self.metadata = dict(metadata or {})

    @classmethod
    def build(cls, utterances: Sequence[Utterance], *, max_per_speaker: int | None = 30,
              exclude_text_ids: Iterable[str] = (), cache_dir: str | Path | None = None,
              progress: bool = False) -> "SpeakerVerifier":
        """Enroll every speaker among ``utterances`` from up to ``max_per_speaker`` of their recordings.

        Recordings of ``exclude_text_ids`` (the held-out words conversions are scored on) are left out;
        the rest are taken evenly spaced over the speaker's recordings sorted by emotion and text, so
        every emotion contributes. Unusable files are skipped with a warning.

        Raises:
            ParameterError: a speaker is left with no usable recording.
        """
        excluded = frozenset(exclude_text_ids)
        by_speaker: dict[str, list[Utterance]] = {}
        for utt in sorted(utterances, key=lambda u: (u.speaker, u.emotion, u.text_id, str(u.path))):
            if utt.text_id not in excluded:
                by_speaker.setdefault(utt.speaker, []).append(utt)
        chosen = []
        for speaker, utts in by_speaker.items():
            if max_per_speaker is not None and len(utts) > max_per_speaker:
                utts = [utts[i] for i in np.unique(np.linspace(0, len(utts) - 1, max_per_speaker).round().astype(int))]
            chosen += utts
        x, errors = _cached_vectors(chosen, EMBEDDING_KIND, EMBEDDING_DIM, _embed_batch, cache_dir,
                                    progress=progress, desc="speaker enrollment")
        centroids, counts = [], {}
        speakers = sorted(by_speaker)
        for speaker in speakers:
            rows = [i for i, u in enumerate(chosen) if u.speaker == speaker and errors[i] is None]
            if not rows:
                raise ParameterError(f"speaker {speaker!r} has no usable enrollment recording")
            centroids.append(_unit(x[rows]).mean(axis=0))
            counts[speaker] = len(rows)
        for utt, error in zip(chosen, errors):
            if error is not None:
                log.warning("verifier: skipping %s: %s", utt.path, error)
        metadata = {"format": VERIFIER_FORMAT, "encoder": "resemblyzer VoiceEncoder (GE2E d-vector)",
                    "corpora": sorted({u.corpus for u in chosen}), "n_enrolled": counts,
                    "excluded_text_ids": sorted(excluded)}
        return cls(speakers, np.stack(centroids), metadata)

    def similarities(self, embedding: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``(256,)`` or ``(N, 256)`` embeddings to every centroid: ``(n_speakers,)`` / ``(N, n_speakers)``."""
        return _unit(np.asarray(embedding, dtype=np.float64)) @ self.centroids.T

    def score_embedding(self, embedding: np.ndarray, speaker: str) -> dict:
        """``speaker_similarity`` (cosine to ``speaker``'s centroid, ``nan`` if not enrolled), ``nearest_speaker``
        and ``nearest_speaker_correct`` (1.0 / 0.0, ``nan`` if not enrolled) for one ``(256,)`` embedding."""
        embedding = np.asarray(embedding, dtype=np.float64)
        if not np.all(np.isfinite(embedding)):
            return {"speaker_similarity": np.nan, "nearest_speaker": "", "nearest_speaker_correct": np.nan}
        sims = self.similarities(embedding)
        nearest = self.speakers[int(np.argmax(sims))]
        known = speaker in self.speakers
        return {"speaker_similarity": float(sims[self.speakers.index(speaker)]) if known else np.nan,
                "nearest_speaker": nearest, "nearest_speaker_correct": float(nearest == speaker) if known else np.nan}

    def score(self, wav: np.ndarray, sr: int, speaker: str) -> dict:
        """:meth:`score_embedding` of a waveform ``(n_samples,)`` at ``sr``."""
        return self.score_embedding(speaker_embedding(wav, sr), speaker)

    def save(self, path: str | Path) -> Path:
        """Write speakers, centroids and metadata with joblib (atomically); returns ``path``."""
        import joblib

        with atomic_path(path) as tmp:
            joblib.dump({"format": VERIFIER_FORMAT, "speakers": list(self.speakers), "centroids": self.centroids,
                         "metadata": self.metadata}, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "SpeakerVerifier":
        """Read a verifier written by :meth:`save`."""
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("format") != VERIFIER_FORMAT or "centroids" not in data:
            raise ParameterError(f"{path} is not an emocore speaker verifier (format {VERIFIER_FORMAT})")
        return cls(data["speakers"], data["centroids"], data["metadata"])

    def __repr__(self) -> str:
        return f"SpeakerVerifier({len(self.speakers)} speakers: {', '.join(self.speakers[:6])}{'...' * (len(self.speakers) > 6)})"


def build_corpus_verifier(corpora: Sequence[str] = ("tess", "ravdess"), *, max_per_speaker: int | None = 30,
                          val_fraction: float = 0.1, seed: int = 0, root: str | Path | None = None,
                          cache_dir: str | Path | None = None, progress: bool = False) -> SpeakerVerifier:
    """A verifier enrolling every speaker of the given corpora (those present) from their training words only."""
    utterances, excluded = [], set()
    for corpus in corpora:
        try:
            utts = list_utterances(corpus, root=root)
        except DatasetError as error:
            log.warning("verifier: leaving out %s (%s)", corpus, error)
            continue
        held_out = validation_text_ids({u.text_id for u in utts}, val_fraction, seed)
        excluded |= {f"{corpus}:{t}" for t in held_out}
        utterances += [u for u in utts if u.text_id not in held_out]
    if not utterances:
        raise DatasetError(f"none of the corpora {', '.join(corpora)} was found")
    verifier = SpeakerVerifier.build(utterances, max_per_speaker=max_per_speaker, cache_dir=cache_dir,
                                     progress=progress)
    verifier.metadata["excluded_text_ids"] = sorted(excluded)
    return verifier


# ------------------------------------------------------------------------------ against the real target


def compare_to_reference(wav: np.ndarray, reference_wav: np.ndarray,
                         measure_cfg: FeatureConfig = MEASURE_CONFIG) -> dict[str, float]:
    """MCD (dB, after DTW), F0 RMSE (Hz), log-F0 Pearson and V/UV error of ``wav`` against ``reference_wav``.

    Both are analysed with ``measure_cfg`` and scored by :func:`emocore.metrics.aligned_metrics`
    (one DTW path on the mel-cepstra without c0; F0 metrics on frames voiced in both).

    Args:
        wav (ndarray): converted waveform at ``measure_cfg.sr``, shape ``(n_samples,)``.
        reference_wav (ndarray): the real target recording at ``measure_cfg.sr``, any length.
    """
    test = features.extract_features(audio.validate_wav(wav, measure_cfg.sr), measure_cfg)
    ref = features.extract_features(audio.validate_wav(reference_wav, measure_cfg.sr), measure_cfg)
    return metrics.aligned_metrics(ref.mcep, ref.f0_hz, test.mcep, test.f0_hz)


def reference_metrics(path: str | Path, reference_path: str | Path, *, measure_cfg: FeatureConfig = MEASURE_CONFIG,
                      cache_dir: str | Path | None = None) -> dict[str, float]:
    """:func:`compare_to_reference` for two files, with the features cached as in :mod:`emocore.extraction`.

    Raises:
        AudioError: either file cannot be used.
    """
    ref = extract_file(reference_path, measure_cfg, cache_dir)
    test = extract_file(path, measure_cfg, cache_dir)
    return metrics.aligned_metrics(ref.mcep, ref.f0_hz, test.mcep, test.f0_hz)


# ------------------------------------------------------------------------------------------ evaluation


def _as_item(item) -> EvalItem:
    if isinstance(item, EvalItem):
        return item
    if isinstance(item, Mapping):
        return EvalItem.from_mapping(item)
    raise ParameterError(f"an item must be an EvalItem or a mapping with its fields, got {type(item).__name__}")


def evaluate_pairs(items: Iterable[EvalItem | Mapping], judge: EmotionJudge | None = None,
                   verifier: SpeakerVerifier | None = None, *, with_dnsmos: bool = True, with_reference: bool = True,
                   measure_cfg: FeatureConfig = MEASURE_CONFIG, cache_dir: str | Path | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """Score converted utterances: one tidy row per item with every metric.

    A file that cannot be used gets a row with its ``error`` and ``nan`` metrics instead of stopping the
    evaluation. Without a ``judge`` (``verifier``) the emotion (speaker) columns are ``nan``.

    Args:
        items: :class:`EvalItem` objects, or mappings with their fields (manifest rows).
        judge: scores ``judged_emotion``, ``emotion_correct`` (1.0 / 0.0; ``nan`` when the target emotion
            is not one of the judge's classes), ``p_target_emotion`` (its score for the target emotion),
            ``judge_ceiling_pct`` (its recall of the target emotion on held-out real speech, when
            measured) and ``judge_heard_text`` (whether the item's text was a training word).
        verifier: scores ``speaker_similarity``, ``nearest_speaker``, ``nearest_speaker_correct``.
        with_dnsmos: add ``dnsmos_ovrl``, ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_p808`` (about a second per file).
        with_reference: add :data:`REFERENCE_METRICS` for items with a ``reference_path``.
        measure_cfg: the analysis for the reference-based metrics.
        cache_dir: cache root for every feature; ``None`` for no cache.

    Returns:
        DataFrame: :data:`TABLE_COLUMNS`: the item fields, the metrics (``nan`` where not measured) and
        ``error`` (``""`` when all went well).
    """
    items = [_as_item(i) for i in items]
    paths = [i.path for i in items]
    rows = [{"system": i.system, "speaker": i.speaker, "source_emotion": i.source_emotion,
             "target_emotion": i.target_emotion, "text_id": i.text_id, "path": str(i.path),
             "source_path": "" if i.source_path is None else str(i.source_path),
             "reference_path": "" if i.reference_path is None else str(i.reference_path),
             **dict.fromkeys(TABLE_METRIC_COLUMNS, np.nan), "judged_emotion": "", "nearest_speaker": ""}
            for i in items]
    errors: list[list[str]] = [[] if i.path.is_file() else [f"{i.path}: no such file"] for i in items]

    def note(stage_errors):
        for index, error in enumerate(stage_errors):
            if error is not None and error not in errors[index]:
                errors[index].append(error)

    if judge is not None:
        x, stage_errors = _egemaps_rows(paths, cache_dir, progress, "eGeMAPS")
        note(stage_errors)
        labels, scores = judge.predict_features(x)
        recall = (judge.ceiling or {}).get("recall", {})
        unknown = sorted({i.target_emotion for i in items} - set(judge.emotions))
        if unknown:
            log.warning("the judge has no class for %s: emotion_correct is nan there", ", ".join(unknown))
        for row, item, label, score in zip(rows, items, labels, scores):
            known = item.target_emotion in judge.emotions
            row["judged_emotion"] = str(label)
            row["emotion_correct"] = float(label == item.target_emotion) if known and label else np.nan
            row["p_target_emotion"] = float(score[judge.emotions.index(item.target_emotion)]) if known else np.nan
            row["judge_ceiling_pct"] = 100.0 * recall[item.target_emotion] if item.target_emotion in recall else np.nan
            row["judge_heard_text"] = float(judge.heard_text(item.text_id)) if item.text_id else np.nan
    if verifier is not None:
        emb, stage_errors = _cached_vectors(paths, EMBEDDING_KIND, EMBEDDING_DIM, _embed_batch, cache_dir,
                                            progress=progress, desc="speaker embeddings")
        note(stage_errors)
        for row, item, e in zip(rows, items, emb):
            row.update(verifier.score_embedding(e, item.speaker))
    if with_dnsmos:
        mos, stage_errors = _cached_vectors(paths, DNSMOS_KIND, len(DNSMOS_KEYS), _dnsmos_batch, cache_dir,
                                            progress=progress, desc="DNSMOS")
        note(stage_errors)
        for row, values in zip(rows, mos):
            row.update(dict(zip(DNSMOS_KEYS, map(float, values))))
    if with_reference:
        for index, (row, item) in enumerate(tqdm(list(zip(rows, items)), desc="against the target", unit="file",
                                                 disable=not progress)):
            values = dict.fromkeys(REFERENCE_METRICS, np.nan)
            if item.reference_path is not None:
                try:
                    values = reference_metrics(item.path, item.reference_path, measure_cfg=measure_cfg,
                                               cache_dir=cache_dir)
                except EmocoreError as error:
                    errors[index].append(str(error))
            row.update(values)
    for row, errs in zip(rows, errors):
        row["error"] = "; ".join(errs)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _dnsmos_batch(wavs: list[np.ndarray]) -> np.ndarray:
    scores = [metrics.dnsmos(wav, EVAL_SR) for wav in wavs]
    return np.array([[s[key] for key in DNSMOS_KEYS] for s in scores]).reshape(-1, len(DNSMOS_KEYS))


def evaluate_folder(folder: str | Path, judge: EmotionJudge | None = None, verifier: SpeakerVerifier | None = None,
                    *, manifest: str = MANIFEST_NAME, **kwargs) -> pd.DataFrame:
    """:func:`evaluate_pairs` on the items of ``<folder>/<manifest>`` (see :func:`read_manifest`).

    Raises:
        DatasetError: the manifest is missing or malformed.
    """
    return evaluate_pairs(read_manifest(folder, manifest), judge, verifier, **kwargs)


SUMMARY_COLUMNS = ("system", "target_emotion", "n", "emotion_accuracy_pct", "judge_ceiling_pct", "speaker_similarity",
                   "nearest_speaker_correct_pct", "dnsmos_ovrl", "mcd_db", "f0_rmse_hz", "log_f0_pearson")


def failed_rows(table: pd.DataFrame) -> pd.Series:
    """Boolean mask of the rows with an ``error`` (also for a table read back from CSV, where empty is NaN)."""
    if "error" not in table:
        return pd.Series(False, index=table.index)
    errors = table["error"]
    return errors.notna() & (errors.astype(str).str.strip() != "")


def summarize(table: pd.DataFrame, by: Sequence[str] = ("system", "target_emotion")) -> pd.DataFrame:
    """Means per system and target emotion (or any other grouping) of an :func:`evaluate_pairs` table.

    Rows with an ``error`` are left out of every mean (``n`` counts the rows used); a metric a row
    could not have (no judge, no reference) is averaged over the rows that have it (``nan`` if none).
    Systems come in the order :data:`SYSTEM_ORDER`, then the others as they first appear, then
    ``"target"``; other groups in their order of first appearance.

    Args:
        table: an :func:`evaluate_pairs` table.
        by: the grouping columns, e.g. ``("system", "speaker", "target_emotion")`` for one row per speaker.

    Returns:
        DataFrame: the ``by`` columns, then :data:`SUMMARY_COLUMNS` after ``system`` and ``target_emotion``;
        percentages are 0..100; ``judge_ceiling_pct`` is the judge's recall of that emotion on held-out
        real speech, the most ``emotion_accuracy_pct`` can mean.
    """
    by = list(by)
    metric_columns = [c for c in SUMMARY_COLUMNS if c not in ("system", "target_emotion", "n")]
    columns = by + ["n"] + metric_columns
    if table.empty:
        return pd.DataFrame(columns=columns)
    ok = table[~failed_rows(table)].copy()
    for column in metric_columns + ["emotion_correct", "nearest_speaker_correct"]:
        if column not in ok:
            ok[column] = np.nan
    ok["emotion_accuracy_pct"] = 100.0 * ok["emotion_correct"].astype(float)
    ok["nearest_speaker_correct_pct"] = 100.0 * ok["nearest_speaker_correct"].astype(float)
    grouped = ok.groupby(by, sort=False)
    summary = grouped[metric_columns].mean().reset_index().merge(grouped.size().rename("n").reset_index(), on=by)
    rank = {}
    for column in by:
        seen = list(dict.fromkeys(table[column]))
        if column == "system":
            seen = ([s for s in SYSTEM_ORDER if s in seen] + [s for s in seen if s not in SYSTEM_ORDER
                                                              and s != TARGET_SYSTEM]
                    + [TARGET_SYSTEM] * (TARGET_SYSTEM in seen))
        rank[column] = {value: k for k, value in enumerate(seen)}
    keys = [f"_rank_{c}" for c in by]
    for column, key in zip(by, keys):
        summary[key] = summary[column].map(rank[column])
    return summary.sort_values(keys).drop(columns=keys)[columns].reset_index(drop=True)


def write_report(table: pd.DataFrame, out_dir: str | Path, *, judge: EmotionJudge | None = None,
                 verifier: SpeakerVerifier | None = None, extra: dict | None = None) -> dict[str, Path]:
    """Write ``evaluation.csv`` (the table), ``summary.csv`` and ``summary.json`` into ``out_dir``.

    ``summary.json`` holds the summary rows, the judge's classes, model, training speakers and
    held-out ceiling, the verifier's speakers, item and failure counts, and ``extra``.

    Returns:
        dict: ``{"evaluation": ..., "summary_csv": ..., "summary_json": ...}`` paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(table)
    written = {"evaluation": out_dir / "evaluation.csv", "summary_csv": out_dir / "summary.csv",
               "summary_json": out_dir / "summary.json"}
    table.to_csv(written["evaluation"], index=False)
    summary.to_csv(written["summary_csv"], index=False)
    report = {
        "n_items": int(len(table)), "n_failed": int(failed_rows(table).sum()),
        "summary": json.loads(summary.to_json(orient="records")),
        "judge": None if judge is None else {
            "emotions": list(judge.emotions), "model": judge.metadata.get("model"),
            "speakers": judge.metadata.get("speakers"), "corpora": judge.metadata.get("corpora"),
            "held_out_text_ids": judge.metadata.get("held_out_text_ids"),
            "ceiling_accuracy_pct": None if judge.ceiling is None else 100.0 * judge.ceiling["accuracy"],
            "ceiling": judge.ceiling},
        "verifier": None if verifier is None else {"speakers": list(verifier.speakers),
                                                   "n_enrolled": verifier.metadata.get("n_enrolled")},
        **(extra or {}),
    }
    written["summary_json"].write_text(json.dumps(report, indent=2) + "\n")
    return written


def explain_judge_shifts(table: pd.DataFrame, judge: EmotionJudge, *, baseline: str = "f0-only",
                         cache_dir: str | Path | None = None, feature_names: Sequence[str] | None = None,
                         top: int | None = 8) -> pd.DataFrame:
    """Why a model's conversions are judged as they are: its eGeMAPS cues against the baseline's, per group.

    For each model system (not a reference system), speaker and target emotion with rows of ``baseline`` for
    the same speaker and target, the change of the judge's log-odds of the target emotion against the emotion
    the model's conversions are most often mistaken for (:meth:`EmotionJudge.explain_shift`), per feature.
    Groups whose conversions are never mistaken are left out.

    Args:
        table: :func:`evaluate_pairs` output (``system``, ``speaker``, ``target_emotion``, ``path``,
            ``judged_emotion`` columns).
        judge: a linear judge (:attr:`EmotionJudge.is_linear`).
        baseline: the system compared against, the published F0-only transform by default.
        cache_dir: the eGeMAPS cache :func:`evaluate_pairs` used.
        top: keep this many features per group, the ones that push most toward the mistaken emotion
            (``None``: all 88).

    Returns:
        DataFrame: ``system``, ``speaker``, ``target_emotion``, ``versus``, ``n``, ``feature``, ``z_from``,
        ``z_to``, ``logit_change``; empty when there is nothing to explain.

    Raises:
        ParameterError: the judge is not linear.
    """
    columns = ["system", "speaker", "target_emotion", "versus", "n", "feature", "z_from", "z_to", "logit_change"]
    if not judge.is_linear:
        raise ParameterError(f"explaining needs a linear judge, this one is {type(judge.pipeline[-1]).__name__}")
    ok = table[~failed_rows(table)]
    models = [s for s in ok["system"].unique() if s not in (*SYSTEM_ORDER, TARGET_SYSTEM)]
    parts = []
    for (system, speaker, target), rows in ok[ok["system"].isin(models)].groupby(
            ["system", "speaker", "target_emotion"], sort=False):
        base = ok[(ok["system"] == baseline) & (ok["speaker"] == speaker) & (ok["target_emotion"] == target)]
        mistaken = rows.loc[rows["judged_emotion"] != target, "judged_emotion"]
        if base.empty or mistaken.empty or target not in judge.emotions:
            continue
        versus = mistaken.value_counts().index[0]
        x_from, x_to = (extract_egemaps([Path(p) for p in r["path"]], cache_dir=cache_dir) for r in (base, rows))
        shift = judge.explain_shift(x_from, x_to, target, versus, feature_names=feature_names)
        shift = shift if top is None else shift.head(top)
        parts.append(shift.assign(system=system, speaker=speaker, target_emotion=target, versus=versus,
                                  n=len(rows)))
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def format_summary(summary: pd.DataFrame) -> str:
    """A :func:`summarize` table as aligned text (``-`` for ``nan``)."""
    headers = {"target_emotion": "target", "emotion_accuracy_pct": "emo acc %", "judge_ceiling_pct": "ceiling %",
               "speaker_similarity": "spk sim", "nearest_speaker_correct_pct": "spk top1 %", "dnsmos_ovrl": "DNSMOS",
               "mcd_db": "MCD dB", "f0_rmse_hz": "F0 RMSE Hz", "log_f0_pearson": "logF0 r"}
    digits = {"emotion_accuracy_pct": 1, "judge_ceiling_pct": 1, "speaker_similarity": 3,
              "nearest_speaker_correct_pct": 1, "dnsmos_ovrl": 2, "mcd_db": 2, "f0_rmse_hz": 1, "log_f0_pearson": 3}
    columns = list(summary.columns)
    cells = [[headers.get(c, c) for c in columns]]
    for _, row in summary.iterrows():
        cells.append(["-" if c in digits and pd.isna(row[c]) else f"{row[c]:.{digits[c]}f}" if c in digits
                      else str(row[c]) for c in columns])
    widths = [max(len(line[k]) for line in cells) for k in range(len(columns))]
    numeric = [c in digits or c == "n" for c in columns]
    return "\n".join("  ".join(cell.rjust(w) if num else cell.ljust(w) for cell, w, num in zip(line, widths, numeric))
                     for line in cells)


# ------------------------------------------------------------------------------------ reference systems


def _pair_reference(source: Utterance, targets: list[Utterance]) -> Utterance | None:
    """The target recording of the same text, preferring the same RAVDESS intensity and repetition."""
    same_text = [t for t in targets if t.text_id == source.text_id]
    if not same_text:
        return None
    return min(same_text, key=lambda t: (t.repetition != source.repetition, t.intensity != source.intensity,
                                         str(t.path)))


def reference_items(corpus: str, speaker: str, source_emotion: str, target_emotion: str, *,
                    text_ids: Iterable[str] | None = None, val_fraction: float = 0.1, seed: int = 0,
                    root: str | Path | None = None) -> list[EvalItem]:
    """The ``"source"`` and ``"target"`` reference rows for one speaker and emotion pair, no model needed.

    ``source`` scores the unconverted source-emotion recording (against the real target recording of
    the same text); ``target`` scores the real target recording itself (its reference-based metrics
    are ``nan``: it *is* the reference). Only texts recorded in both emotions are used.

    Args:
        text_ids: the texts to use; ``None`` for the corpus's held-out words (:func:`corpus_held_out_text_ids`).

    Returns:
        list[EvalItem]: the ``source`` items then the ``target`` items, each sorted by text.
    """
    wanted = (corpus_held_out_text_ids(corpus, val_fraction=val_fraction, seed=seed, root=root)
              if text_ids is None else frozenset(text_ids))
    sources = [u for u in list_utterances(corpus, speaker, source_emotion, root=root) if u.text_id in wanted]
    targets = [u for u in list_utterances(corpus, speaker, target_emotion, root=root) if u.text_id in wanted]
    source_rows, target_rows, used = [], [], set()
    for src in sources:
        ref = _pair_reference(src, targets)
        if ref is None:
            continue
        common = dict(speaker=speaker, source_emotion=source_emotion, target_emotion=target_emotion,
                      text_id=src.text_id, source_path=src.path)
        source_rows.append(EvalItem(system="source", path=src.path, reference_path=ref.path, **common))
        if ref.path not in used:
            used.add(ref.path)
            target_rows.append(EvalItem(system=TARGET_SYSTEM, path=ref.path, reference_path=None, **common))
    return source_rows + target_rows


def convert_prosody_only(wav: np.ndarray, src_stats: prosody.DomainStats, tgt_stats: prosody.DomainStats,
                         cfg: FeatureConfig, *, power: bool = False) -> np.ndarray:
    """The published baseline: log-Gaussian F0 transform (and, with ``power``, the power envelope), MCEPs copied.

    The same path as :meth:`emocore.conversion.ConversionModel.convert_wav` with ``mcep=False``, without
    needing a trained generator.

    Args:
        wav (ndarray): source waveform at ``cfg.sr``, shape ``(n_samples,)``.
        src_stats, tgt_stats: domain statistics fitted on training words.

    Returns:
        ndarray: converted waveform, shape ``(n_samples,)``.
    """
    feats = features.extract_features(audio.validate_wav(wav, cfg.sr), cfg)
    return _synthesize_prosody_only(feats, src_stats=src_stats, tgt_stats=tgt_stats, cfg=cfg, power=power)


def _synthesize_prosody_only(feats: features.WorldFeatures, *, src_stats: prosody.DomainStats,
                             tgt_stats: prosody.DomainStats, cfg: FeatureConfig, power: bool) -> np.ndarray:
    converted = prosody.convert_prosody(feats, src_stats, tgt_stats, f0=True, power=power)
    return features.synthesize_features(converted, cfg, apply_log_power=power)


def write_prosody_references(corpus: str, speaker: str, source_emotion: str, target_emotion: str,
                             out_dir: str | Path, *, cfg: FeatureConfig = FeatureConfig(),
                             processed_dir: str | Path | None = None, val_fraction: float = 0.1, seed: int = 0,
                             root: str | Path | None = None, n_jobs: int | None = None,
                             max_utterances: int | None = None, progress: bool = False) -> list[EvalItem]:
    """Write ``f0-only`` and ``f0+power`` conversions of the held-out source words, and return their items.

    The statistics are fitted on the training words of both domains by
    :func:`emocore.extraction.prepare_domains` (cached under ``processed_dir``), exactly as a conversion
    model's are. Files go to ``<out_dir>/<system>/<speaker>_<text>_<source>2<target>.wav``.

    Args:
        cfg: the analysis and synthesis settings (those of the models compared against).
        max_utterances: per domain and split, as in :func:`~emocore.extraction.prepare_domains` (smoke runs).
    """
    from emocore import paths
    from emocore.data.extraction import prepare_domains

    domains = [Domain(corpus, speaker, source_emotion), Domain(corpus, speaker, target_emotion)]
    prepared = prepare_domains(domains, cfg, processed_dir or paths.processed_dir(), val_fraction=val_fraction,
                               seed=seed, max_utterances=max_utterances, n_jobs=n_jobs, corpora_root=root,
                               progress=progress)
    src, tgt = (prepared[d.name] for d in domains)
    systems = {system: functools.partial(_synthesize_prosody_only, src_stats=src.stats, tgt_stats=tgt.stats, cfg=cfg,
                                         power=power)
               for system, power in (("f0-only", False), ("f0+power", True))}
    return _write_held_out_conversions(src, tgt, systems, out_dir, cfg.sr, progress=progress)


def _write_held_out_conversions(src, tgt, systems: Mapping[str, Callable], out_dir: str | Path, sr: int, *,
                                progress: bool = False) -> list[EvalItem]:
    """Convert each held-out source utterance with every system and write it with its :class:`EvalItem`.

    Args:
        src, tgt (DomainData): the prepared source and target domains; their ``validation`` splits are used.
        systems: ``system name -> convert(features) -> waveform (n_samples,)``.

    Returns:
        list[EvalItem]: files at ``<out_dir>/<system>/<speaker>_<text>_<source>2<target>.wav``; a file that would
        clip is scaled to a peak of 0.99.
    """
    targets = [u for u, _ in tgt.validation]
    items = []
    for utt, feats in tqdm(src.validation, desc=f"{src.name} -> {tgt.domain.emotion}", disable=not progress):
        ref = _pair_reference(utt, targets)
        for system, convert in systems.items():
            out = convert(feats)
            peak = float(np.max(np.abs(out)))
            name = f"{utt.speaker}_{utt.text_id}_{utt.emotion}2{tgt.domain.emotion}.wav"
            path = audio.save_wav(Path(out_dir) / system / name, out * (0.99 / peak) if peak > 0.99 else out, sr)
            items.append(EvalItem(system=system, path=path, speaker=utt.speaker, source_emotion=utt.emotion,
                                  target_emotion=tgt.domain.emotion, text_id=utt.text_id, source_path=utt.path,
                                  reference_path=None if ref is None else ref.path))
    return items


def write_model_conversions(model_dir: str | Path, out_dir: str | Path, *, system: str | None = None,
                            direction: str = "A2B", checkpoint: str | Path | None = None,
                            processed_dir: str | Path | None = None, max_utterances: int | None = None,
                            root: str | Path | None = None, progress: bool = False, **switches) -> list[EvalItem]:
    """Convert the held-out words of a trained model's source domain and return their items.

    The domains, their split and the feature settings come from the model folder's ``config.json``, so the
    words converted are exactly the ones the model never saw.

    Args:
        model_dir: a folder written by :func:`emocore.training.train`.
        system: the name in the tables (default: ``"emo" + model_type``, e.g. ``"emocyclegan"``).
        direction: ``"A2B"`` (source = domain A) or ``"B2A"``.
        checkpoint: convert with a training checkpoint instead of the final weights.
        switches: ``f0``, ``power``, ``mcep`` (and style options), passed to ``convert_features``.
    """
    from emocore import paths
    from emocore.conversion import ConversionModel, parse_direction
    from emocore.data.extraction import prepare_domains

    model = ConversionModel.load(model_dir, checkpoint=checkpoint)
    config = json.loads((Path(model_dir) / "config.json").read_text())
    domains = [Domain(**{k: config["domains"][side][k] for k in ("corpus", "speaker", "emotion")}) for side in "ab"]
    if parse_direction(direction) == "B2A":
        domains.reverse()
    prepared = prepare_domains(domains, model.feature_cfg, processed_dir or paths.processed_dir(),
                               max_utterances=max_utterances, corpora_root=root, progress=progress)
    src, tgt = (prepared[d.name] for d in domains)
    recorded = config["domains"]["a"].get("validation_text_ids")  # written by training since it was added
    if recorded is not None:  # convert exactly the words the model held out
        missing = set(recorded) - {u.text_id for u, _ in src.validation}
        if missing and max_utterances is None:
            raise ParameterError(f"{model_dir} held out words outside the default split ({sorted(missing)[:5]}); "
                                 "evaluate it with the split it was trained with")
        src.validation = [(u, f) for u, f in src.validation if u.text_id in set(recorded)]
    def convert(feats):
        return model.convert_analyzed(feats, direction, **switches)

    name = system or f"emo{config.get('model_type', 'cyclegan')}"
    return _write_held_out_conversions(src, tgt, {name: convert}, out_dir, model.feature_cfg.sr, progress=progress)


def parse_reference_spec(spec: str) -> list[tuple[str, str, str, str]]:
    """``"tess:OAF:neutral:angry,happy"`` -> ``[("tess", "OAF", "neutral", "angry"), ("tess", "OAF", "neutral", "happy")]``.

    Raises:
        ParameterError: not ``corpus:speaker:source:target[,target...]``.
    """
    parts = spec.split(":")
    if len(parts) != 4 or not all(parts):
        raise ParameterError(f"a reference is corpus:speaker:source_emotion:target_emotion[,...], got {spec!r}")
    corpus, speaker, source, targets = parts
    return [(corpus, speaker, source, target) for target in targets.split(",") if target]
