"""eGeMAPS features: the 88 eGeMAPSv02 functionals (openSMILE) of each utterance, the emotion judge's input.

openSMILE and TensorFlow cannot share a process: openSMILE aborts it if TensorFlow was imported first
(the native library must be loaded before TensorFlow's). So eGeMAPS runs in this process only while
TensorFlow is not loaded (or openSMILE already ran here before it was), and otherwise in a fresh Python
subprocess that imports nothing of TensorFlow. Callers need not care which: :func:`extract_egemaps`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emocore.evaluation.manifest import CACHE_VERSION, EVAL_SR, Item, _cached_vectors, _raise_first
from emocore.exceptions import EmocoreError, ParameterError

EGEMAPS_KIND = f"egemaps-v02-functionals-{EVAL_SR // 1000}k-v{CACHE_VERSION}"
N_EGEMAPS = 88

_EGEMAPS_CHUNK = 256  # files per eGeMAPS batch: each may cost a subprocess start


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
        package_parent = str(Path(__file__).resolve().parent.parent.parent)  # the folder holding the emocore package
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        code = "import sys; from emocore.evaluation.egemaps import _egemaps_worker; sys.exit(_egemaps_worker(sys.argv[1:]))"
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
