"""Loading and saving audio, with errors that name the file and say what is wrong.

Every loader path ends in :func:`validate_wav`, so a corrupt, empty, silent, non-finite or too-short
input raises :class:`~emocore.exceptions.AudioError` instead of producing NaN features later.
Stereo is mixed to mono and any sample rate is resampled: those are not errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .exceptions import AudioError, ParameterError

AUDIO_SUFFIXES = (".wav", ".flac", ".aiff", ".aif", ".ogg")


def _read_any(path: Path) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32 ``(n_samples, n_channels)``; soundfile first, librosa/audioread for the rest."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return data, int(sr)
    except Exception as sf_error:  # noqa: BLE001 - any decoder failure becomes an AudioError below
        if path.suffix.lower() in AUDIO_SUFFIXES:
            raise AudioError(path, f"cannot decode audio ({sf_error})") from sf_error
    try:  # formats libsndfile lacks (mp3, m4a): audioread via librosa
        import librosa

        data, sr = librosa.load(str(path), sr=None, mono=False)
        data = np.atleast_2d(data).T.astype(np.float32)
        return data, int(sr)
    except Exception as error:  # noqa: BLE001
        raise AudioError(path, f"cannot decode audio ({error})") from error


def validate_wav(wav: np.ndarray, sr: int, *, path=None, min_duration_s: float = 0.0,
                 silence_peak: float = 1e-4) -> np.ndarray:
    """Check a mono waveform and return it as float64.

    Args:
        wav (ndarray): waveform, shape ``(n_samples,)``.
        sr: sample rate in Hz.
        path: file the waveform came from, used in error messages.
        min_duration_s: shorter input raises.
        silence_peak: input whose absolute peak is below this is "all silent".

    Returns:
        ndarray: the same samples as float64, shape ``(n_samples,)``.

    Raises:
        AudioError: empty, non-finite, silent or too short.
    """
    wav = np.asarray(wav)
    if wav.ndim != 1:
        raise AudioError(path, f"expected a mono waveform of shape (n_samples,), got shape {wav.shape}")
    if wav.size == 0:
        raise AudioError(path, "file holds no samples (empty)")
    n_bad = int(np.size(wav) - np.count_nonzero(np.isfinite(wav)))
    if n_bad:
        raise AudioError(path, f"{n_bad} samples are NaN or infinite")
    if np.max(np.abs(wav)) < silence_peak:
        raise AudioError(path, f"all samples are silent (peak below {silence_peak:g})")
    duration_s = wav.size / sr
    if duration_s < min_duration_s:
        raise AudioError(path, f"too short: {duration_s:.3f} s, need at least {min_duration_s:g} s")
    return wav.astype(np.float64)


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(n_samples,)`` from ``orig_sr`` to ``target_sr`` (soxr, high quality)."""
    if orig_sr == target_sr:
        return wav
    import soxr  # librosa's default resampler, called directly to skip librosa's slow import

    return soxr.resample(np.asarray(wav, dtype=np.float64), orig_sr, target_sr, quality="HQ")


def load_wav(path: str | Path, sr: int = 16000, *, min_duration_s: float = 0.0,
             silence_peak: float = 1e-4) -> np.ndarray:
    """Load an audio file as mono float64 at ``sr``.

    Any channel count is averaged to mono and any rate is resampled to ``sr``.

    Args:
        path: wav, flac, aiff or ogg (others through audioread when available).
        sr: target sample rate in Hz.
        min_duration_s: shorter files raise :class:`AudioError`.
        silence_peak: files whose peak is below this raise :class:`AudioError`.

    Returns:
        ndarray: waveform in [-1, 1], shape ``(n_samples,)``.

    Raises:
        AudioError: the file is missing, unreadable, empty, silent, non-finite or too short.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    data, file_sr = _read_any(path)
    if data.shape[0] == 0:
        raise AudioError(path, "file holds no samples (empty)")
    mono = data.mean(axis=1)
    # Check before resampling: the resampler would smear a NaN over the whole signal.
    validate_wav(mono, file_sr, path=path, silence_peak=silence_peak)
    mono = resample(mono, file_sr, sr)
    return validate_wav(mono, sr, path=path, min_duration_s=min_duration_s, silence_peak=silence_peak)


def save_wav(path: str | Path, wav: np.ndarray, sr: int) -> Path:
    """Write ``(n_samples,)`` float audio as 16-bit PCM wav, clipping to [-1, 1]; creates parent folders."""
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1:
        raise ParameterError(f"save_wav expects shape (n_samples,), got {wav.shape}")
    if not np.all(np.isfinite(wav)):
        raise ParameterError(f"refusing to write non-finite samples to {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wav, -1.0, 1.0), sr, subtype="PCM_16")
    return path


def peak_normalize(wav: np.ndarray, peak: float = 0.95) -> np.ndarray:
    """Scale ``(n_samples,)`` so that its absolute peak is ``peak``; silence is returned unchanged."""
    top = float(np.max(np.abs(wav))) if len(wav) else 0.0
    return wav if top == 0.0 else wav * (peak / top)
