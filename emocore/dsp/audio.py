"""Loading and saving audio, with errors that name the file and say what is wrong.

Every loader path ends in :func:`validate_wav`, so a corrupt, empty, silent, constant, non-finite or too-short
input raises :class:`~emocore.exceptions.AudioError` instead of producing NaN features later.
Stereo is mixed to mono and any sample rate is resampled: those are not errors.
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from emocore.exceptions import AudioError, ParameterError

# Every suffix the loader reads (libsndfile; mp3 since libsndfile 1.1). Folders are listed by these.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".au", ".caf", ".w64")
# Suffixes libsndfile decodes: a failure there is final (no slow, noisy fallback to audioread)
_LIBSNDFILE_SUFFIXES = (".wav", ".flac", ".aiff", ".aif", ".aifc", ".ogg", ".oga", ".opus", ".au", ".caf", ".w64",
                        *((".mp3",) if "MP3" in sf.available_formats() else ()))
# Output formats by suffix: (libsndfile format, subtype)
WRITABLE_SUFFIXES = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".aiff": ("AIFF", "PCM_16"),
                     ".aif": ("AIFF", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


@contextlib.contextmanager
def _c_stderr_silenced():
    """Send what C libraries write to file descriptor 2 to /dev/null (mpg123 inside libsndfile prints
    ``Note: Illegal Audio-MPEG-Header ...`` lines for a damaged MP3; the AudioError says it once)."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable descriptor 2 (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _decode_error(path: Path, error: Exception) -> AudioError:
    """An AudioError for a file a decoder refused, without libsndfile's misleading 'does not exist'."""
    detail = str(error).replace(f"Error opening {str(path)!r}: ", "").strip() or type(error).__name__
    if "does not exist" in detail or "not a regular file" in detail:  # libsndfile's words for unreadable data
        detail = "unrecognised or damaged data"
    kind = path.suffix.lstrip(".").upper() or "audio"
    return AudioError(path, f"cannot decode it as {kind} ({detail})")


def _read_any(path: Path) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32 ``(n_samples, n_channels)``; soundfile first, librosa/audioread for the rest."""
    suffix = path.suffix.lower()
    try:
        with _c_stderr_silenced() if suffix == ".mp3" else contextlib.nullcontext():
            data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return data, int(sr)
    except Exception as sf_error:  # noqa: BLE001 - any decoder failure becomes an AudioError below
        if suffix in _LIBSNDFILE_SUFFIXES:
            raise _decode_error(path, sf_error) from sf_error
    try:  # formats libsndfile lacks (m4a, ...): audioread via librosa
        import warnings

        import librosa

        with warnings.catch_warnings():  # librosa warns that soundfile failed, then that audioread is deprecated
            warnings.simplefilter("ignore")
            data, sr = librosa.load(str(path), sr=None, mono=False)
        data = np.atleast_2d(data).T.astype(np.float32)
        return data, int(sr)
    except Exception as error:  # noqa: BLE001
        raise _decode_error(path, error) from error


def validate_wav(wav: np.ndarray, sr: int, *, path=None, min_duration_s: float = 0.0,
                 silence_peak: float = 1e-4) -> np.ndarray:
    """Check a mono waveform and return it as float64.

    Args:
        wav (ndarray): waveform, shape ``(n_samples,)``.
        sr: sample rate in Hz.
        path: file the waveform came from, used in error messages.
        min_duration_s: shorter input raises.
        silence_peak: input whose absolute peak is below this is "all silent"; input that never departs
            from its mean by this much is constant (a DC offset, no signal).

    Returns:
        ndarray: the same samples as float64, shape ``(n_samples,)``.

    Raises:
        AudioError: empty, non-finite, silent, constant or too short.
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
    mean = float(np.mean(wav))
    if np.max(np.abs(wav - mean)) < silence_peak:
        raise AudioError(path, f"no signal: the samples are constant ({mean:g} throughout, deviation below "
                               f"{silence_peak:g}); a DC offset alone converts to silence")
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


_RIFF_UNKNOWN_SIZE = 0xFFFFFFFF  # a streaming writer's placeholder; in RF64, "see the ds64 chunk"


def truncation_note(path: str | Path) -> str | None:
    """Say whether a WAV file holds less audio than its header declares (a download or copy cut short).

    libsndfile reads such a file without an error, returning the samples that are there, so the loss would
    go unnoticed. Only the RIFF chunk headers are read: RIFF (little-endian), RIFX (big-endian) and RF64
    (64-bit sizes in its ``ds64`` chunk), odd-sized chunks padded to even lengths.

    Args:
        path: any file.

    Returns:
        str | None: e.g. ``"truncated: the header declares 3.20 s of audio but the file holds 1.10 s"``;
        ``None`` for a complete WAV, a file that is not a WAV or cannot be read, and a WAV whose header
        leaves the length open (a stream's ``0xFFFFFFFF``).
    """
    try:
        with open(path, "rb") as file:
            file_size = os.fstat(file.fileno()).st_size
            head = file.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
                return None
            endian = ">" if head[:4] == b"RIFX" else "<"
            ds64_data_size, bytes_per_s, position = None, 0, 12
            while position + 8 <= file_size:
                file.seek(position)
                chunk_id, chunk_size = struct.unpack(f"{endian}4sI", file.read(8))
                if chunk_id == b"ds64":
                    body = file.read(16)
                    ds64_data_size = struct.unpack("<Q", body[8:16])[0] if len(body) == 16 else None
                elif chunk_id == b"fmt ":
                    body = file.read(14)
                    if len(body) == 14:
                        _, _, rate, byte_rate, block_align = struct.unpack(f"{endian}HHIIH", body)
                        bytes_per_s = rate * block_align or byte_rate
                elif chunk_id == b"data":
                    if chunk_size == _RIFF_UNKNOWN_SIZE:
                        if ds64_data_size is None:
                            return None
                        chunk_size = ds64_data_size
                    present = file_size - position - 8
                    if chunk_size <= present:
                        return None
                    if not bytes_per_s:
                        return f"truncated: the header declares {chunk_size} bytes of audio but the file holds {present}"
                    return (f"truncated: the header declares {chunk_size / bytes_per_s:.2f} s of audio but the "
                            f"file holds {present / bytes_per_s:.2f} s")
                position += 8 + chunk_size + (chunk_size & 1)
    except OSError:
        return None
    return None


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
    """Write ``(n_samples,)`` float audio, clipping to [-1, 1]; creates parent folders.

    The format follows the suffix (:data:`WRITABLE_SUFFIXES`; 16-bit PCM wav for any other). The file is
    encoded in memory and written through :func:`emocore.io.atomic_write`: a failed write (disk full, say)
    leaves no partial file at ``path`` and an existing ``path`` as it was.

    Raises:
        ParameterError: not one channel, or non-finite samples.
        OSError: the write failed; ``path`` is untouched.
    """
    import io as _io

    from emocore.io import write_bytes_atomic

    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1:
        raise ParameterError(f"save_wav expects shape (n_samples,), got {wav.shape}")
    if not np.all(np.isfinite(wav)):
        raise ParameterError(f"refusing to write non-finite samples to {path}")
    path = Path(path)
    file_format, subtype = WRITABLE_SUFFIXES.get(path.suffix.lower(), WRITABLE_SUFFIXES[".wav"])
    buffer = _io.BytesIO()
    sf.write(buffer, np.clip(wav, -1.0, 1.0), sr, format=file_format, subtype=subtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, buffer.getvalue())


def peak_normalize(wav: np.ndarray, peak: float = 0.95) -> np.ndarray:
    """Scale ``(n_samples,)`` so that its absolute peak is ``peak``; silence is returned unchanged."""
    top = float(np.max(np.abs(wav))) if len(wav) else 0.0
    return wav if top == 0.0 else wav * (peak / top)
