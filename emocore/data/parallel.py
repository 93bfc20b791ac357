"""Parallel words: the same text spoken in two emotions by one speaker, aligned frame by frame.

TESS's speakers say the same 200 words in every emotion and RAVDESS's actors the same two sentences, so each word
of the source emotion has a recording of the same text in the target emotion. :func:`parallel_pairs` pairs them
and aligns the target onto the source's frames by dynamic time warping on the MCEPs (each z-scored over its own
word, so the alignment follows the phones, not the voice quality): what the learned prosody
(:mod:`emocore.models.contour`) learns from is, for every source frame, the target's log F0 and power at the
frames aligned with it, centred on the source word's means, in the units of its
:class:`~emocore.dsp.contour_features.ContourStats` (fixed, or the source word's own spreads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from emocore.config import ContourConfig
from emocore.data.extraction import DomainData
from emocore.dsp.contour_features import MIN_VOICED_FRAMES, ContourStats, contour_inputs
from emocore.dsp.cwt import continuous_log_f0
from emocore.dsp.features import WorldFeatures
from emocore.dsp.metrics import dtw_path
from emocore.exceptions import ParameterError


@dataclass(frozen=True)
class ContourPair:
    """One source word and its parallel word in another emotion, on the source's frames.

    Attributes:
        inputs (ndarray): ``(T, n_inputs(cfg))``: :func:`~emocore.dsp.contour_features.contour_inputs` of the
            source word.
        targets (ndarray): ``(T, 3)``: the target word's continuous log F0 and log power (centred on the source
            word's means, in its stats' ``f0_unit`` and ``power_unit``) and its voicing (the share of voiced target frames aligned with each source frame).
        source, target (int): the emotions' indices.
        corpus, speaker (str): whose words they are.
        strong (bool): the target is a RAVDESS take of strong emotional intensity (normal takes and TESS's words:
            ``False``).
    """

    inputs: np.ndarray
    targets: np.ndarray
    source: int
    target: int
    corpus: str
    speaker: str
    strong: bool = False


def _spectral_track(feats: WorldFeatures) -> np.ndarray:
    mcep = np.asarray(feats.mcep, dtype=np.float64)[:, 1:]  # c0 is loudness, which emotions change
    return (mcep - mcep.mean(axis=0)) / (mcep.std(axis=0) + 1e-6)


def aligned_targets(source: WorldFeatures, target: WorldFeatures, stats: ContourStats) -> np.ndarray:
    """The target word's contours on the source word's frames: ``(T_source, 3)``, see :attr:`ContourPair.targets`.

    Raises:
        ParameterError: the target word has fewer than :data:`~emocore.dsp.contour_features.MIN_VOICED_FRAMES` voiced
            frames.
    """
    f0 = np.asarray(target.f0_hz, dtype=np.float64)
    if np.count_nonzero(f0 > 0) < MIN_VOICED_FRAMES:
        raise ParameterError(f"the target word has {np.count_nonzero(f0 > 0)} voiced frames: no contour to learn")
    i, j = dtw_path(_spectral_track(source), _spectral_track(target))
    log_f0, voiced = continuous_log_f0(f0)
    track = np.column_stack([(log_f0 - stats.log_f0_mean) / stats.f0_unit,
                             (np.asarray(target.log_power, dtype=np.float64) - stats.log_power_mean)
                             / stats.power_unit, voiced.astype(np.float64)])
    total, count = np.zeros((source.n_frames, 3)), np.zeros(source.n_frames)
    np.add.at(total, i, track[j])
    np.add.at(count, i, 1.0)
    return (total / count[:, None]).astype(np.float32)


def _voiced_enough(feats: WorldFeatures) -> bool:
    return np.count_nonzero(np.asarray(feats.f0_hz) > 0) >= MIN_VOICED_FRAMES


def parallel_pairs(per_speaker: Mapping[str, Mapping[str, DomainData]], emotions: Sequence[str], cfg: ContourConfig,
                   *, sources: Sequence[str] = ("neutral",), max_per_text: int | None = None) -> list[ContourPair]:
    """Every training word of a ``sources`` emotion paired with the same text in each other emotion, per speaker.

    Args:
        per_speaker: ``{"corpus:name": {emotion: DomainData}}`` as :func:`emocore.data.speakers.prepare_speakers`
            prepares them (their training splits are used: TESS's held-out words never appear).
        emotions: the model's emotions in its order (the pairs' indices).
        sources: the emotions converted from.
        max_per_text: at most this many target recordings per source word, the first in the prepared order
            (RAVDESS has four of a sentence: normal intensity before strong, so 2 takes its two normal ones);
            default ``cfg.pairs_per_text``.

    Raises:
        ParameterError: a source emotion not among ``emotions``, or no pair at all (no parallel texts).
    """
    emotions = list(emotions)
    limit = cfg.pairs_per_text if max_per_text is None else max_per_text
    unknown = [e for e in sources if e not in emotions]
    if unknown:
        raise ParameterError(f"source emotions {unknown} are not among the model's {emotions}")
    pairs = []
    for speaker, by_emotion in per_speaker.items():
        corpus = speaker.partition(":")[0]
        for source in sources:
            if source not in by_emotion:
                continue
            # each source word's inputs once, whatever the number of targets it is paired with
            words = [(u, f, *contour_inputs(f, cfg)) for u, f in by_emotion[source].train if _voiced_enough(f)]
            for target in emotions:
                if target == source or target not in by_emotion:
                    continue
                by_text: dict[str, list[tuple[WorldFeatures, bool]]] = {}
                for u, f in by_emotion[target].train:
                    if _voiced_enough(f):
                        by_text.setdefault(u.text_id, []).append((f, u.intensity == "strong"))
                for u, feats, x, stats in words:
                    for other, strong in by_text.get(u.text_id, [])[:limit]:
                        pairs.append(ContourPair(x, aligned_targets(feats, other, stats), emotions.index(source),
                                                 emotions.index(target), corpus, speaker, strong))
    if not pairs:
        raise ParameterError("no parallel words: the speakers have no text recorded in both a source and a target "
                             "emotion")
    return pairs
