"""The WORLD stages of converting one input, apart from the networks between them, so worker processes can run them.

Converting a file is three stages:

1. :func:`analyze_path` / :func:`analyze_wav`: load, cut into segments (:mod:`emocore.dsp.segments`), WORLD analysis
   of each segment: an :class:`AnalyzedInput`;
2. the model converts each segment's features (:meth:`emocore.conversion.ConversionModel.convert_analyzed_input`),
   in the process that holds the networks;
3. :func:`render` / :func:`render_to_file`: WORLD synthesis of each converted segment, the crossfades, the check for
   silence and the peak, and the atomic write.

Stages 1 and 3 hold nearly all of the compute (``emocore-bench conversion``) and import neither Keras nor
TensorFlow, so :func:`emocore.conversion.convert_files` runs them for many files at once in a pool of worker
processes, while one process keeps the model. Run one after the other in one process they are
:meth:`~emocore.conversion.ConversionModel.convert_path`: the same code either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocore.config import FeatureConfig, SegmentConfig
from emocore.dsp import audio, features, segments
from emocore.dsp.features import WorldFeatures
from emocore.exceptions import AudioError

#: a converted file whose peak exceeds 1 is scaled to this peak instead of being clipped
OUTPUT_PEAK = 0.99


@dataclass(frozen=True)
class AnalyzedInput:
    """One input after stage 1: its segments and their WORLD features (picklable, so it crosses processes).

    Attributes:
        plan: the segments (:func:`emocore.dsp.segments.plan_segments`), at least one.
        feats: each segment's features, in order.
        n_samples: the loaded input's length at the analysis rate.
        notes: warnings about the input itself (a truncated file), for the user.
    """

    plan: tuple[segments.Segment, ...]
    feats: tuple[WorldFeatures, ...]
    n_samples: int
    notes: tuple[str, ...] = ()

    def core_frames(self, hop_length: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole input's F0 ``(T,)`` and MCEPs ``(T, D)``, each segment's core only (no frame counted twice)."""
        slices = [segment.core_frames(hop_length, feats.n_frames) for segment, feats in zip(self.plan, self.feats)]
        return (np.concatenate([f.f0_hz[s] for f, s in zip(self.feats, slices)]),
                np.concatenate([f.mcep[s] for f, s in zip(self.feats, slices)]))


def analyze_wav(wav: np.ndarray, cfg: FeatureConfig, segment_cfg: SegmentConfig, *,
                notes: tuple[str, ...] = ()) -> AnalyzedInput:
    """Stage 1 on a validated waveform ``(n_samples,)`` at ``cfg.sr``: plan the segments and analyse each."""
    plan = segments.plan_segments(wav, cfg.sr, segment_cfg, align=cfg.hop_length)
    feats = tuple(features.extract_features(wav[segment.start:segment.stop], cfg) for segment in plan)
    return AnalyzedInput(plan=tuple(plan), feats=feats, n_samples=len(wav), notes=notes)


def analyze_path(path: str | Path, cfg: FeatureConfig, segment_cfg: SegmentConfig) -> AnalyzedInput:
    """Stage 1 on a file: load it at ``cfg.sr`` (any rate, any channel count), then :func:`analyze_wav`.

    Raises:
        AudioError: the file cannot be used (see :func:`emocore.dsp.audio.load_wav`).
    """
    wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
    truncated = audio.truncation_note(path)
    return analyze_wav(wav, cfg, segment_cfg, notes=(truncated,) if truncated else ())


def render(converted: Sequence[WorldFeatures], plan: Sequence[segments.Segment], cfg: FeatureConfig,
           segment_cfg: SegmentConfig, *, power: bool, path=None) -> np.ndarray:
    """Stage 3 without writing: synthesize each converted segment and join them with crossfades.

    Args:
        converted: one converted :class:`WorldFeatures` per segment of ``plan``.
        power: the power envelope was converted on its own (:func:`emocore.dsp.features.synthesize_features`'s
            ``apply_log_power``).
        path: the input, named in errors.

    Returns:
        ndarray: shape ``(plan[-1].stop,)``, or the converted length of a single time-warped segment (the rhythm
        stream).

    Raises:
        AudioError: the conversion produced silence.
    """
    pieces = (features.synthesize_features(feats, cfg, apply_log_power=power) for feats in converted)
    out = next(pieces) if len(plan) == 1 else segments.stitch(pieces, plan, cfg.sr, segment_cfg)
    if np.max(np.abs(out)) < cfg.silence_peak:
        raise AudioError(path, f"conversion produced silence (output peak below {cfg.silence_peak:g})")
    return out


def render_to_file(converted: Sequence[WorldFeatures], plan: Sequence[segments.Segment], cfg: FeatureConfig,
                   segment_cfg: SegmentConfig, out: str | Path, *, power: bool, path=None) -> tuple[float, int]:
    """Stage 3: :func:`render`, scale a peak above 1 down to :data:`OUTPUT_PEAK` (never clip), write ``out`` atomically.

    Returns:
        tuple: the peak before scaling (above 1: it was scaled) and the number of samples written.

    Raises:
        AudioError: the conversion produced silence (nothing is written).
        OSError: the write failed (nothing is left at ``out``).
    """
    wav = render(converted, plan, cfg, segment_cfg, power=power, path=path)
    peak = float(np.max(np.abs(wav)))
    if peak > 1.0:
        wav = wav * (OUTPUT_PEAK / peak)
    audio.save_wav(out, wav, cfg.sr)
    return peak, len(wav)
