"""Log-mel statistics: a fixed-length summary of an utterance's log-mel spectrogram, the second judge's input.

A feature family unrelated to eGeMAPS (:mod:`~emocore.evaluation.egemaps`): no pitch tracker, no
hand-picked voice-quality descriptors, only the spectral envelope over time. Each 16 kHz utterance gives a
64-band log-mel spectrogram (25 ms window, 10 ms hop, 50 Hz to 8 kHz); frames more than
:data:`SILENCE_DB` below the loudest frame are dropped, and each band is summarized by its mean, standard
deviation and 10th, 50th and 90th percentiles, plus the mean and standard deviation of its first time
difference (taken only between two neighbouring kept frames): :data:`N_LOGMEL` values in all, in the order of
:func:`logmel_feature_names` (statistic-major: all bands' means, then all bands' standard deviations, ...).

Pure numpy and librosa: safe in a process with TensorFlow loaded. Vectors are cached like eGeMAPS's
(:func:`~emocore.evaluation.manifest._cached_vectors`, kind :data:`LOGMEL_KIND`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from emocore.evaluation.manifest import CACHE_VERSION, EVAL_SR, Item, _cached_vectors
from emocore.exceptions import AudioError, ParameterError

LOGMEL_KIND = f"logmel-stats-v1-{EVAL_SR // 1000}k-v{CACHE_VERSION}"

N_MELS = 64
WIN_LENGTH = 400  # 25 ms at EVAL_SR
N_FFT = 512  # the window zero-padded to a power of two: finer bins for the narrow low mel bands
HOP_LENGTH = 160  # 10 ms at EVAL_SR
FMIN_HZ = 50.0
FMAX_HZ = 8000.0
#: added to the mel power before the log, so digital silence stays finite
LOG_FLOOR = 1e-8
#: frames whose mel energy is more than this many dB below the utterance's loudest frame are silence
SILENCE_DB = 40.0
#: fewer kept frames than this (0.1 s) is too little speech to summarize
MIN_FRAMES = 10

LOGMEL_STATISTICS = ("mean", "std", "p10", "p50", "p90", "delta_mean", "delta_std")
N_LOGMEL = len(LOGMEL_STATISTICS) * N_MELS  # 448

_LOGMEL_CHUNK = 64


@lru_cache(maxsize=1)
def _mel_filterbank() -> np.ndarray:
    """``(N_MELS, N_FFT // 2 + 1)`` mel filters (librosa's Slaney-style, area-normalized)."""
    import librosa

    return librosa.filters.mel(sr=EVAL_SR, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN_HZ, fmax=FMAX_HZ)


def logmel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """Log-mel power spectrogram of a 16 kHz waveform.

    Args:
        wav (ndarray): waveform at :data:`~emocore.evaluation.manifest.EVAL_SR`, shape ``(n_samples,)``.

    Returns:
        ndarray: natural log of the mel power plus :data:`LOG_FLOOR`, time-major, shape ``(T, N_MELS)``.

    Raises:
        AudioError: the waveform is shorter than one analysis window.
    """
    import librosa

    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1 or wav.size < WIN_LENGTH:
        raise AudioError(None, f"too short for log-mel statistics: {wav.size} samples, need at least {WIN_LENGTH}")
    spec = np.abs(librosa.stft(wav, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                               window="hann", center=True)) ** 2
    return np.log(_mel_filterbank() @ spec + LOG_FLOOR).T


def logmel_statistics(wav: np.ndarray) -> np.ndarray:
    """The :data:`N_LOGMEL` log-mel statistics of one 16 kHz waveform (see the module docstring).

    Args:
        wav (ndarray): waveform at :data:`~emocore.evaluation.manifest.EVAL_SR`, shape ``(n_samples,)``.

    Returns:
        ndarray: shape ``(N_LOGMEL,)``, in :func:`logmel_feature_names` order.

    Raises:
        AudioError: fewer than :data:`MIN_FRAMES` frames within :data:`SILENCE_DB` of the loudest (too short
            or silent).
    """
    logmel = logmel_spectrogram(wav)
    energy_db = 10.0 * np.log10(np.sum(np.exp(logmel), axis=1))
    kept = energy_db >= energy_db.max() - SILENCE_DB
    if np.count_nonzero(kept) < MIN_FRAMES:
        raise AudioError(None, f"too short or silent for log-mel statistics: {np.count_nonzero(kept)} frames within "
                               f"{SILENCE_DB:g} dB of the loudest, need at least {MIN_FRAMES}")
    frames = logmel[kept]
    both_kept = kept[1:] & kept[:-1]
    delta = np.diff(logmel, axis=0)[both_kept]
    if len(delta) == 0:  # every kept frame isolated between silent ones: no speech to speak of
        raise AudioError(None, "no two neighbouring frames above the silence threshold for log-mel deltas")
    p10, p50, p90 = np.percentile(frames, [10, 50, 90], axis=0)
    return np.concatenate([frames.mean(0), frames.std(0), p10, p50, p90, delta.mean(0), delta.std(0)])


def _logmel_batch(wavs: list[np.ndarray]) -> np.ndarray:
    return np.stack([logmel_statistics(w) for w in wavs]) if wavs else np.empty((0, N_LOGMEL))


def logmel_feature_names() -> list[str]:
    """The :data:`N_LOGMEL` column names, e.g. ``"logmel_mean_b00"`` ... ``"logmel_delta_std_b63"``."""
    return [f"logmel_{stat}_b{band:02d}" for stat in LOGMEL_STATISTICS for band in range(N_MELS)]


def _logmel_rows(items: Sequence[Item], cache_dir, progress: bool, desc: str) -> tuple[np.ndarray, list[str | None]]:
    return _cached_vectors(items, LOGMEL_KIND, N_LOGMEL, _logmel_batch, cache_dir, progress=progress, desc=desc,
                           chunk=_LOGMEL_CHUNK)


def _item_path(item: Item) -> Path | None:
    """The file an item names, ``None`` for an in-memory waveform."""
    return None if isinstance(item, (np.ndarray, tuple)) else Path(getattr(item, "path", item))


def _raise_named(items: Sequence[Item], errors: list[str | None]) -> None:
    """Raise :class:`AudioError` for the first failed item, naming its file (or its index, for a waveform)."""
    for index, (item, error) in enumerate(zip(items, errors)):
        if error is None:
            continue
        path = _item_path(item)
        reason = error.replace("AudioError: ", "").replace("<array>: ", "")  # from _compute_or_isolate
        if path is not None:
            reason = reason.removeprefix(f"{path}: ")
        else:
            reason = f"item {index} (in-memory waveform): {reason}"
        raise AudioError(path, reason)


def extract_logmel_stats(items: Sequence[Item], *, cache_dir: str | Path | None = None, on_error: str = "raise",
                         progress: bool = False) -> np.ndarray:
    """Log-mel statistics of several utterances.

    Args:
        items: audio paths, :class:`~emocore.datasets.Utterance` objects, ``(wav, sr)`` pairs, or
            waveforms already at :data:`~emocore.evaluation.manifest.EVAL_SR`. Files are loaded (and
            resampled) at that rate.
        cache_dir: cache root (files only); ``None`` for no cache.
        on_error: ``"raise"`` raises on the first unusable item; ``"nan"`` gives it a ``nan`` row.
        progress: show a progress bar.

    Returns:
        ndarray: shape ``(N, N_LOGMEL)``.

    Raises:
        AudioError: an item is unusable (missing, silent, too short) and ``on_error="raise"``; the message
            names its file, or its index for an in-memory waveform.
        ParameterError: unknown ``on_error``.
    """
    if on_error not in ("raise", "nan"):
        raise ParameterError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
    items = list(items)
    rows, errors = _logmel_rows(items, cache_dir, progress, "log-mel statistics")
    if on_error == "raise":
        _raise_named(items, errors)
    return rows
