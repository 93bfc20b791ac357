"""Rhythm: how long an emotion's voiced stretches and pauses last, and a time warp of WORLD frames to match.

Every other transform here keeps the frame count: output length equals input length. Emotions also differ in
tempo: in TESS, sad words are longer than neutral ones and angry ones shorter. :class:`RhythmStats` measures, over
one speaker's recordings of one emotion, the mean duration of voiced runs (syllable nuclei, roughly) and of the
pauses inside an utterance (unvoiced runs between the first and the last voiced frame, at least
``min_pause_ms`` long); :func:`rate_ratio` turns a source and a target into one duration ratio; :func:`time_warp`
stretches or compresses an utterance's frames by that ratio (linear interpolation of every stream, voicing from
the nearest frame, so no new voiced frame appears between two unvoiced ones).

numpy only: features in, features out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emocore.dsp.features import WorldFeatures
from emocore.exceptions import ParameterError


@dataclass(frozen=True)
class RhythmStats:
    """The rhythm of one speaker's emotion (or one utterance).

    Attributes:
        voiced_run_ms (float): mean duration of a voiced run.
        pause_ms (float): mean duration of a pause inside an utterance (``nan`` when there is none).
        speech_ms (float): mean duration from the first to the last voiced frame of an utterance.
        n_utterances (int): how many utterances it was measured on.
    """

    voiced_run_ms: float
    pause_ms: float
    speech_ms: float
    n_utterances: int

    @classmethod
    def fit(cls, f0_list: Sequence[np.ndarray], frame_period_ms: float, min_pause_ms: float = 100.0) -> "RhythmStats":
        """Measure the rhythm of F0 contours (0 on unvoiced frames), each of shape ``(T,)``.

        Raises:
            ParameterError: no contour with a voiced frame, or a non-positive frame period.
        """
        if not frame_period_ms > 0:
            raise ParameterError(f"frame_period_ms must be positive, got {frame_period_ms}")
        voiced_runs, pauses, spans = [], [], []
        for f0 in f0_list:
            voiced = np.asarray(f0) > 0
            if not voiced.any():
                continue
            first, last = np.flatnonzero(voiced)[[0, -1]]
            inside = voiced[first:last + 1]
            lengths, values = _runs(inside)
            voiced_runs += [n for n, v in zip(lengths, values) if v]
            pauses += [n for n, v in zip(lengths, values) if not v and n * frame_period_ms >= min_pause_ms]
            spans.append(len(inside))
        if not spans:
            raise ParameterError("no contour has a voiced frame: there is no rhythm to measure")
        return cls(voiced_run_ms=float(np.mean(voiced_runs)) * frame_period_ms,
                   pause_ms=float(np.mean(pauses)) * frame_period_ms if pauses else float("nan"),
                   speech_ms=float(np.mean(spans)) * frame_period_ms, n_utterances=len(spans))


def _runs(mask: np.ndarray) -> tuple[list[int], list[bool]]:
    """Lengths and values of the runs of equal values in a boolean ``(T,)`` array."""
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [len(mask)]])
    return list(np.diff(bounds)), [bool(mask[b]) for b in bounds[:-1]]


def rate_ratio(source: RhythmStats, target: RhythmStats) -> float:
    """How much longer the target emotion speaks than the source: the ratio of their mean speech spans (first
    to last voiced frame), the duration factor :func:`time_warp` applies (above 1: slower)."""
    return target.speech_ms / source.speech_ms


def time_warp(feats: WorldFeatures, ratio: float) -> WorldFeatures:
    """Stretch (``ratio > 1``) or compress an utterance's frames in time.

    Output frame ``i`` reads the input at position ``i / ratio``: MCEPs, aperiodicity and the power envelope are
    interpolated linearly, log F0 too between voiced frames, and each output frame is voiced when the nearest input
    frame is.

    Args:
        feats (WorldFeatures): ``T`` frames.
        ratio (float): the duration factor, in ``[0.25, 4]``.

    Returns:
        WorldFeatures: ``round(T * ratio)`` frames (at least 1), ``n_samples`` scaled alike.

    Raises:
        ParameterError: a ratio out of range.
    """
    if not 0.25 <= ratio <= 4.0:
        raise ParameterError(f"a time-warp ratio must be in [0.25, 4], got {ratio}")
    n_in = feats.n_frames
    n_out = max(1, int(round(n_in * ratio)))
    position = np.clip(np.arange(n_out) / ratio, 0, n_in - 1)
    frames = np.arange(n_in)

    def interpolate(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            return np.interp(position, frames, x)
        return np.stack([np.interp(position, frames, x[:, d]) for d in range(x.shape[1])], axis=1)

    voiced = feats.voiced
    nearest_voiced = voiced[np.rint(position).astype(int)]
    f0 = np.zeros(n_out)
    if voiced.any():
        log_f0 = np.interp(position, frames[voiced], np.log(feats.f0_hz[voiced]))
        f0[nearest_voiced] = np.exp(log_f0[nearest_voiced])
    return WorldFeatures(f0_hz=f0, mcep=interpolate(feats.mcep), coded_ap=interpolate(feats.coded_ap),
                         log_power=interpolate(feats.log_power),
                         n_samples=int(round(feats.n_samples * n_out / n_in)))
