"""WORLD analysis and synthesis: F0, mel-cepstra, aperiodicity and the power envelope.

One utterance becomes a :class:`WorldFeatures` of time-major arrays at ``cfg.frame_period_ms``:

- ``f0_hz (T,)``: fundamental frequency from harvest (default), dio + stonemask, RAPT or SWIPE'; 0 = unvoiced.
- ``mcep (T, D)``: the spectral envelope coded to ``D = cfg.mcep_dim`` coefficients, either with
  WORLD's own ``code_spectral_envelope`` (the original system) or SPTK's ``sp2mc``.
- ``coded_ap (T, B)``: band aperiodicity in dB (``B = 1`` at 16 kHz; 0 dB on unvoiced frames), copied by the
  per-pair models' conversion; EmoStarGAN's ``ap`` stream moves its voiced frames
  (:meth:`emocore.dsp.relative_prosody.ProsodyShifts.convert_aperiodicity`).
- ``log_power (T,)``: the **power envelope**, defined here as the natural log of the mean of the
  WORLD spectral envelope over its FFT bins, ``log(mean_k sp[t, k])``. The envelope is a power
  spectrum with the harmonic structure removed, so this is the frame's energy contour, independent
  of F0; it is what the log-Gaussian transform of :mod:`emocore.dsp.prosody` converts, and
  :func:`set_log_power` imposes a new contour on an envelope by scaling each frame.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

with warnings.catch_warnings():  # pyworld imports pkg_resources, deprecated in setuptools >= 67
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import pyworld

from emocore.config import FeatureConfig
from emocore.exceptions import ParameterError

_POWER_FLOOR = 1e-16  # keeps log() finite on digital silence


@dataclass(frozen=True)
class WorldFeatures:
    """Features of one utterance (all arrays time-major, ``T`` frames).

    Attributes:
        f0_hz: shape ``(T,)``, 0 on unvoiced frames.
        mcep: shape ``(T, D)``.
        coded_ap: shape ``(T, B)``.
        log_power: shape ``(T,)``.
        n_samples: length of the analysed waveform, so synthesis can restore it.
    """

    f0_hz: np.ndarray
    mcep: np.ndarray
    coded_ap: np.ndarray
    log_power: np.ndarray
    n_samples: int

    def __post_init__(self):
        n = len(self.f0_hz)
        for name in ("mcep", "coded_ap", "log_power"):
            if len(getattr(self, name)) != n:
                raise ParameterError(f"{name} has {len(getattr(self, name))} frames, f0_hz has {n}")

    @property
    def n_frames(self) -> int:
        return len(self.f0_hz)

    @property
    def voiced(self) -> np.ndarray:
        """Boolean mask of voiced frames, shape ``(T,)``."""
        return self.f0_hz > 0

    def replace(self, **changes) -> "WorldFeatures":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return WorldFeatures(**values)

    def save(self, path: str | Path) -> None:
        """Write to ``path`` (``.npz``) atomically: a crash never leaves a half-written file."""
        from emocore.io import atomic_path

        with atomic_path(path) as tmp:  # keeps the .npz suffix, so numpy adds none
            np.savez(tmp, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: str | Path) -> "WorldFeatures":
        with np.load(path) as data:
            return cls(f0_hz=data["f0_hz"], mcep=data["mcep"], coded_ap=data["coded_ap"],
                       log_power=data["log_power"], n_samples=int(data["n_samples"]))


def fft_size(cfg: FeatureConfig) -> int:
    """CheapTrick's FFT length for ``cfg.sr`` and ``cfg.f0_floor_hz`` (1024 at 16 kHz, 71 Hz): ``cfg.fft_size``."""
    return cfg.fft_size


def extract_f0(wav: np.ndarray, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """F0 contour with the tracker ``cfg.f0_method``.

    - ``"harvest"``: WORLD's Harvest (the original system's; the most robust, and the slowest).
    - ``"dio"``: WORLD's DIO refined by StoneMask.
    - ``"rapt"``: Talkin's RAPT (normalized cross-correlation and dynamic programming), SPTK's C code in pysptk.
    - ``"swipe"``: Camacho's SWIPE' (sawtooth-waveform-inspired pitch estimator), SPTK's C code in pysptk.

    ``emocore-bench conversion`` measures their cost and their agreement with harvest on real speech.

    Args:
        wav (ndarray): float64 waveform at ``cfg.sr``, shape ``(n_samples,)``.

    Returns:
        tuple: ``f0_hz`` shape ``(T,)`` (0 = unvoiced) and frame times in seconds, shape ``(T,)``, with
        ``T = n_samples // hop_length + 1`` frames for every tracker.
    """
    wav = np.ascontiguousarray(wav, dtype=np.float64)
    kwargs = dict(f0_floor=cfg.f0_floor_hz, f0_ceil=cfg.f0_ceil_hz, frame_period=cfg.frame_period_ms)
    if cfg.f0_method == "harvest":
        return pyworld.harvest(wav, cfg.sr, **kwargs)
    if cfg.f0_method == "dio":
        f0_hz, times = pyworld.dio(wav, cfg.sr, **kwargs)
        return pyworld.stonemask(wav, f0_hz, times, cfg.sr), times
    import pysptk

    n_frames = len(wav) // cfg.hop_length + 1
    sptk = dict(fs=cfg.sr, hopsize=cfg.hop_length, min=cfg.f0_floor_hz, max=cfg.f0_ceil_hz, otype="f0")
    if cfg.f0_method == "rapt":  # RAPT reads 16-bit sample values
        f0_hz = pysptk.rapt((wav * 32767).astype(np.float32), **sptk)
    else:
        f0_hz = pysptk.swipe(wav, **sptk)
    f0_hz = np.pad(np.asarray(f0_hz, dtype=np.float64), (0, max(0, n_frames - len(f0_hz))))[:n_frames]
    return f0_hz, np.arange(n_frames) * (cfg.frame_period_ms / 1000.0)


def world_analyze(wav: np.ndarray, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution WORLD analysis.

    Args:
        wav (ndarray): float64 waveform at ``cfg.sr``, shape ``(n_samples,)``.

    Returns:
        tuple: ``f0_hz (T,)``, spectral envelope ``sp (T, fft_size // 2 + 1)`` and
        aperiodicity ``ap (T, fft_size // 2 + 1)``.
    """
    wav = np.ascontiguousarray(wav, dtype=np.float64)
    f0_hz, times = extract_f0(wav, cfg)
    n_fft = fft_size(cfg)
    sp = pyworld.cheaptrick(wav, f0_hz, times, cfg.sr, f0_floor=cfg.f0_floor_hz, fft_size=n_fft)
    ap = pyworld.d4c(wav, f0_hz, times, cfg.sr, fft_size=n_fft)
    return f0_hz, sp, ap


def encode_mcep(sp: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Code a spectral envelope ``(T, fft_size // 2 + 1)`` to ``(T, cfg.mcep_dim)`` coefficients."""
    sp = np.ascontiguousarray(np.maximum(sp, _POWER_FLOOR), dtype=np.float64)
    if cfg.mcep_method == "world":
        return pyworld.code_spectral_envelope(sp, cfg.sr, cfg.mcep_dim)
    import pysptk

    return pysptk.sp2mc(sp, order=cfg.mcep_dim - 1, alpha=cfg.mcep_alpha)


def decode_mcep(mcep: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Decode ``(T, cfg.mcep_dim)`` coefficients back to an envelope ``(T, fft_size // 2 + 1)``."""
    mcep = np.ascontiguousarray(mcep, dtype=np.float64)
    if mcep.ndim != 2 or mcep.shape[1] != cfg.mcep_dim:
        raise ParameterError(f"mcep must have shape (T, {cfg.mcep_dim}), got {mcep.shape}")
    if cfg.mcep_method == "world":
        return pyworld.decode_spectral_envelope(mcep, cfg.sr, fft_size(cfg))
    import pysptk

    return pysptk.mc2sp(mcep, alpha=cfg.mcep_alpha, fftlen=fft_size(cfg))


def n_aperiodicity_bands(cfg: FeatureConfig) -> int:
    """``B``, the number of bands :func:`encode_ap` codes the aperiodicity into at ``cfg.sr`` (1 at 16 kHz, 3 at
    24 kHz)."""
    return int(pyworld.get_num_aperiodicities(cfg.sr))


def encode_ap(ap: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Band aperiodicity ``(T, B)`` from the full-resolution ``ap (T, fft_size // 2 + 1)``."""
    return pyworld.code_aperiodicity(np.ascontiguousarray(ap, dtype=np.float64), cfg.sr)


def decode_ap(coded_ap: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Full-resolution aperiodicity ``(T, fft_size // 2 + 1)`` from ``coded_ap (T, B)``."""
    return pyworld.decode_aperiodicity(np.ascontiguousarray(coded_ap, dtype=np.float64), cfg.sr, fft_size(cfg))


def log_power_envelope(sp: np.ndarray) -> np.ndarray:
    """The power envelope: ``log(mean_k sp[t, k])``, shape ``(T,)`` from ``sp (T, K)``."""
    return np.log(np.maximum(np.mean(sp, axis=1), _POWER_FLOOR))


def set_log_power(sp: np.ndarray, log_power: np.ndarray) -> np.ndarray:
    """Scale each frame of ``sp (T, K)`` so that its power envelope becomes ``log_power (T,)``."""
    if len(log_power) != len(sp):
        raise ParameterError(f"log_power has {len(log_power)} frames, sp has {len(sp)}")
    gain = np.exp(log_power - log_power_envelope(sp))
    return sp * gain[:, None]


def extract_features(wav: np.ndarray, cfg: FeatureConfig) -> WorldFeatures:
    """Analyse a waveform into :class:`WorldFeatures`.

    Args:
        wav (ndarray): float waveform at ``cfg.sr``, shape ``(n_samples,)``.
    """
    f0_hz, sp, ap = world_analyze(wav, cfg)
    return WorldFeatures(f0_hz=f0_hz, mcep=encode_mcep(sp, cfg), coded_ap=encode_ap(ap, cfg),
                         log_power=log_power_envelope(sp), n_samples=len(wav))


def world_synthesize(f0_hz: np.ndarray, sp: np.ndarray, ap: np.ndarray, cfg: FeatureConfig,
                     n_samples: int | None = None) -> np.ndarray:
    """WORLD synthesis; output is padded or cut to ``n_samples`` when given.

    Args:
        f0_hz (ndarray): shape ``(T,)``.
        sp (ndarray): shape ``(T, fft_size // 2 + 1)``.
        ap (ndarray): shape ``(T, fft_size // 2 + 1)``.

    Returns:
        ndarray: waveform, shape ``(n_samples,)`` (or WORLD's natural length).
    """
    if not (len(f0_hz) == len(sp) == len(ap)):
        raise ParameterError(f"frame counts differ: f0 {len(f0_hz)}, sp {len(sp)}, ap {len(ap)}")
    wav = pyworld.synthesize(np.ascontiguousarray(f0_hz, dtype=np.float64),
                             np.ascontiguousarray(sp, dtype=np.float64),
                             np.ascontiguousarray(ap, dtype=np.float64), cfg.sr, cfg.frame_period_ms)
    if n_samples is not None:
        wav = np.pad(wav, (0, max(0, n_samples - len(wav))))[:n_samples]
    return wav


def synthesize_features(feats: WorldFeatures, cfg: FeatureConfig, *, apply_log_power: bool = False) -> np.ndarray:
    """Waveform ``(feats.n_samples,)`` from coded features.

    With ``apply_log_power`` the decoded envelope is rescaled to ``feats.log_power`` (use it when the
    power envelope was converted separately from the MCEPs).
    """
    sp = decode_mcep(feats.mcep, cfg)
    if apply_log_power:
        sp = set_log_power(sp, feats.log_power)
    return world_synthesize(feats.f0_hz, sp, decode_ap(feats.coded_ap, cfg), cfg, feats.n_samples)


@dataclass(frozen=True)
class MeanStd:
    """Per-dimension normalization of ``(T, D)`` features (MCEPs for the networks)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, frames: list[np.ndarray] | np.ndarray) -> "MeanStd":
        """Statistics over all frames of a list of ``(T_i, D)`` arrays."""
        stacked = np.concatenate(list(frames), axis=0) if isinstance(frames, list) else np.asarray(frames)
        return cls(mean=stacked.mean(axis=0), std=np.maximum(stacked.std(axis=0), 1e-8))

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def denormalize(self, x: np.ndarray) -> np.ndarray:
        return x * self.std + self.mean

    def to_dict(self) -> dict:
        return {"mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> "MeanStd":
        return cls(mean=np.asarray(values["mean"], dtype=np.float64), std=np.asarray(values["std"], dtype=np.float64))
