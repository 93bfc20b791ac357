"""The continuous wavelet transform of a log-F0 contour: its shape at ten time scales, from syllables to phrases.

The log-Gaussian transform (:mod:`~emocore.dsp.prosody`) moves a contour's mean and spread but keeps its shape.
Emotional prosody also changes the shape: happy speech has larger, faster accents than neutral speech of the same
speaker. Following Suni et al. (2013) and Zhou et al. (Interspeech 2020, CWT-F0 for emotional voice conversion), the
contour is first made continuous (log F0 interpolated over unvoiced frames, :func:`continuous_log_f0`), z-scored, and
decomposed by a Mexican-hat continuous wavelet transform into :data:`N_SCALES` scales one octave apart
(:func:`cwt_decompose`): the smallest scale follows micro-prosody, the middle ones syllables and words, the largest
the phrase. A model converts those scales; :func:`cwt_reconstruct` sums them back into a contour, and the voicing
track of the source puts the unvoiced frames back.

:func:`convert_f0_cwt` is the multi-scale extension of the log-Gaussian transform and the baseline a learned
contour model has to beat: each scale is scaled by the ratio of the target and source emotions' per-scale movement
(:class:`CwtStats`), the level and spread still by the log-Gaussian transform. On TESS's held-out words (neutral to
angry, happy, sad, both speakers; statistics from the training words) it lowers the F0 RMSE to the real target
recording by 1-8 Hz against the log-Gaussian transform in every pair and raises the log-F0 correlation in five of
six (README, "Toward learned prosody").

Synthesis is Torrence & Compo's (1998, eq. 11) delta-function reconstruction: ``x = dj sqrt(dt) / (C_delta
psi_0(0)) sum_j W_j / sqrt(s_j)``. With octave scales (``dj = 1``) that sum is an approximation: the tests measure
its error on real TESS contours.

Everything here is numpy only: arrays in, arrays out, time-major ``(T,)`` contours and ``(n_scales, T)``
decompositions, frames of ``frame_period_ms``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emocore.dsp.prosody import LogGaussian, fit_log_f0, interpolate_over_unvoiced, log_gaussian_transform
from emocore.exceptions import ParameterError

#: scales of the decomposition (Suni et al. 2013; Zhou et al. 2020)
N_SCALES = 10
#: Torrence & Compo's reconstruction constants of the Mexican-hat (DOG, m = 2) wavelet: C_delta and psi_0(0)
MEXICAN_HAT_C_DELTA = 3.541
MEXICAN_HAT_PSI0 = 0.867325


@dataclass(frozen=True)
class CwtContour:
    """A log-F0 contour decomposed by :func:`cwt_decompose`.

    Attributes:
        scales (ndarray): the wavelet coefficients, shape ``(n_scales, T)``, of the z-scored continuous log F0
            (smallest scale first).
        scales_s (ndarray): each scale in seconds, shape ``(n_scales,)``.
        log_f0 (ndarray): the continuous log F0 that was decomposed, shape ``(T,)``.
        mean (float): the mean of the continuous log F0 over the utterance (added back by :func:`cwt_reconstruct`).
        std (float): its standard deviation (likewise).
        voiced (ndarray): the voicing track, shape ``(T,)``, bool.
        frame_period_ms (float): the frame period of the contour.
        dj (float): the spacing of the scales in octaves.
    """

    scales: np.ndarray
    scales_s: np.ndarray
    log_f0: np.ndarray
    mean: float
    std: float
    voiced: np.ndarray
    frame_period_ms: float
    dj: float


def continuous_log_f0(f0_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log F0 made continuous: unvoiced frames linearly interpolated between their voiced neighbours.

    Args:
        f0_hz (ndarray): shape ``(T,)``; 0 marks unvoiced frames.

    Returns:
        tuple: the continuous log F0, shape ``(T,)``, float64, and the voicing track, shape ``(T,)``, bool.

    Raises:
        ParameterError: not one-dimensional, negative or non-finite values, or no voiced frame.
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    if f0_hz.ndim != 1 or not np.all(np.isfinite(f0_hz)) or np.any(f0_hz < 0):
        raise ParameterError(f"f0_hz must be a finite non-negative contour of shape (T,), got shape {f0_hz.shape}")
    voiced = f0_hz > 0
    if not voiced.any():
        raise ParameterError("the contour has no voiced frame: there is no F0 to decompose")
    log_f0 = np.zeros_like(f0_hz)
    log_f0[voiced] = np.log(f0_hz[voiced])
    return interpolate_over_unvoiced(log_f0, voiced), voiced


def mexican_hat(t: np.ndarray) -> np.ndarray:
    """The Mexican-hat wavelet (the second derivative of a Gaussian, negated and normalized to unit energy)."""
    t = np.asarray(t, dtype=np.float64)
    return 2.0 / (math.sqrt(3.0) * math.pi ** 0.25) * (1.0 - t ** 2) * np.exp(-0.5 * t ** 2)


def cwt_scales(frame_period_ms: float, n_scales: int = N_SCALES, dj: float = 1.0) -> np.ndarray:
    """The scales, in seconds: ``2 dt 2^(j dj)`` for ``j = 0 .. n_scales - 1`` (``dt`` the frame period).

    At a 5 ms frame period and octave spacing they run from 10 ms to 5.1 s.
    """
    if not frame_period_ms > 0 or n_scales < 1 or not dj > 0:
        raise ParameterError(f"need frame_period_ms > 0, n_scales >= 1, dj > 0; got {frame_period_ms}, {n_scales}, {dj}")
    dt = frame_period_ms / 1000.0
    return 2.0 * dt * 2.0 ** (dj * np.arange(n_scales))


def cwt_decompose(f0_hz: np.ndarray, frame_period_ms: float, n_scales: int = N_SCALES,
                  dj: float = 1.0) -> CwtContour:
    """Decompose an F0 contour into ``n_scales`` Mexican-hat wavelet scales of its z-scored continuous log.

    Each scale is the convolution of the contour with the wavelet stretched to that scale (computed by FFT,
    the contour mirrored at both ends so that its edges do not ring).

    Args:
        f0_hz (ndarray): shape ``(T,)``; 0 marks unvoiced frames.
        frame_period_ms (float): the contour's frame period.
        n_scales (int): how many scales.
        dj (float): their spacing in octaves.

    Returns:
        CwtContour: coefficients of shape ``(n_scales, T)`` and what :func:`cwt_reconstruct` needs.

    Raises:
        ParameterError: a bad contour (see :func:`continuous_log_f0`) or bad sizes.
    """
    log_f0, voiced = continuous_log_f0(f0_hz)
    scales_s = cwt_scales(frame_period_ms, n_scales, dj)
    mean, std = float(log_f0.mean()), float(log_f0.std())
    z = (log_f0 - mean) / std if std > 0 else np.zeros_like(log_f0)
    n = len(z)
    padded = np.concatenate([z[::-1], z, z[::-1]])  # mirror both ends
    n_fft = 1 << int(math.ceil(math.log2(len(padded))))
    omega = 2.0 * math.pi * np.fft.rfftfreq(n_fft, d=frame_period_ms / 1000.0)
    spectrum = np.fft.rfft(padded, n_fft)
    coefficients = np.empty((n_scales, n))
    for j, s in enumerate(scales_s):
        # the Fourier transform of the Mexican hat at scale s, normalized as Torrence & Compo's eq. 6
        psi_hat = (math.sqrt(2.0 * math.pi * s / (frame_period_ms / 1000.0)) * 2.0 / math.sqrt(3.0)
                   * math.pi ** -0.25 * (s * omega) ** 2 * np.exp(-0.5 * (s * omega) ** 2))
        coefficients[j] = np.fft.irfft(spectrum * psi_hat, n_fft)[n:2 * n]
    return CwtContour(coefficients, scales_s, log_f0, mean, std, voiced, frame_period_ms, dj)


def cwt_reconstruct(contour: CwtContour, scales: np.ndarray | None = None, *, mean: float | None = None,
                    std: float | None = None, voiced: np.ndarray | None = None) -> np.ndarray:
    """An F0 contour back from (possibly converted) wavelet scales.

    Args:
        contour (CwtContour): the decomposition (its scales, statistics and voicing unless given here).
        scales (ndarray | None): converted coefficients, shape ``(n_scales, T)``.
        mean, std (float | None): the log-F0 mean and spread to restore (e.g. the target emotion's).
        voiced (ndarray | None): the voicing track, shape ``(T,)``.

    Returns:
        ndarray: F0 in Hz, shape ``(T,)``; 0 on unvoiced frames.

    Raises:
        ParameterError: shapes that do not match.
    """
    scales = contour.scales if scales is None else np.asarray(scales, dtype=np.float64)
    voiced = contour.voiced if voiced is None else np.asarray(voiced, dtype=bool)
    if scales.shape != contour.scales.shape or voiced.shape != (scales.shape[1],):
        raise ParameterError(f"scales {scales.shape} and voicing {voiced.shape} must match the decomposition's "
                             f"{contour.scales.shape}")
    z = _synthesize(contour, scales)
    log_f0 = (contour.mean if mean is None else mean) + (contour.std if std is None else std) * z
    return np.where(voiced, np.exp(log_f0), 0.0)


def _synthesize(contour: CwtContour, scales: np.ndarray) -> np.ndarray:
    """Torrence & Compo's eq. 11: the z-scored contour, shape ``(T,)``, from coefficients ``(n_scales, T)``."""
    dt = contour.frame_period_ms / 1000.0
    weights = contour.dj * math.sqrt(dt) / (MEXICAN_HAT_C_DELTA * MEXICAN_HAT_PSI0) / np.sqrt(contour.scales_s)
    return weights @ scales


@dataclass(frozen=True)
class CwtStats:
    """An emotion's contour shape and level, for :func:`convert_f0_cwt`.

    Attributes:
        scale_rms (ndarray): shape ``(n_scales,)``, the root mean square of each wavelet scale of the z-scored
            contours over their voiced frames: how the movement is spread over time scales.
        log_f0 (LogGaussian): log-F0 statistics over voiced frames (the log-Gaussian transform's).
        n_utterances (int): how many contours it was measured on.
    """

    scale_rms: np.ndarray
    log_f0: LogGaussian
    n_utterances: int

    @classmethod
    def fit(cls, f0_list, frame_period_ms: float, n_scales: int = N_SCALES) -> "CwtStats":
        """Measure F0 contours (each ``(T,)``, 0 on unvoiced frames); contours without a voiced frame are skipped.

        Raises:
            ParameterError: fewer than two voiced frames in all.
        """
        contours = [np.asarray(f0, dtype=np.float64) for f0 in f0_list if np.any(np.asarray(f0) > 0)]
        squares, n_frames = np.zeros(n_scales), 0
        for f0 in contours:
            decomposition = cwt_decompose(f0, frame_period_ms, n_scales)
            squares += np.sum(decomposition.scales[:, decomposition.voiced] ** 2, axis=1)
            n_frames += int(decomposition.voiced.sum())
        if n_frames < 2:
            raise ParameterError("need at least 2 voiced frames to measure a contour shape")
        return cls(np.sqrt(squares / n_frames), fit_log_f0(contours), len(contours))


def convert_f0_cwt(f0_hz: np.ndarray, src: CwtStats, tgt: CwtStats, frame_period_ms: float) -> np.ndarray:
    """The multi-scale transform of an F0 contour: its shape moved scale by scale, its level by the log-Gaussian
    transform.

    Each wavelet scale of the z-scored contour is multiplied by ``tgt.scale_rms / src.scale_rms``; the change this
    makes (synthesized) is added to the exact z-scored contour, which is then brought back to its own spread, so
    the shape changes while the overall spread and level are left to the log-Gaussian transform of
    ``src.log_f0`` to ``tgt.log_f0``. With equal ``scale_rms`` it is the log-Gaussian transform exactly.

    Args:
        f0_hz (ndarray): shape ``(T,)``, 0 on unvoiced frames (kept unvoiced).

    Returns:
        ndarray: converted F0 in Hz, shape ``(T,)``.

    Raises:
        ParameterError: a bad contour, or statistics of different numbers of scales.
    """
    if src.scale_rms.shape != tgt.scale_rms.shape:
        raise ParameterError(f"source and target have {len(src.scale_rms)} and {len(tgt.scale_rms)} scales")
    contour = cwt_decompose(f0_hz, frame_period_ms, len(src.scale_rms))
    z = (contour.log_f0 - contour.mean) / contour.std if contour.std > 0 else np.zeros_like(contour.log_f0)
    ratio = tgt.scale_rms / np.maximum(src.scale_rms, 1e-12)
    changed = z + _synthesize(contour, contour.scales * (ratio - 1.0)[:, None])  # the synthesis is linear
    if changed.std() > 0:
        changed = (changed - changed.mean()) / changed.std() * z.std()
    converted = log_gaussian_transform(contour.mean + contour.std * changed, src.log_f0, tgt.log_f0)
    return np.where(contour.voiced, np.exp(converted), 0.0)
