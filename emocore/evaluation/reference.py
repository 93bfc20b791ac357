"""Distance to real speech: a conversion against the real target-emotion recording of the same text.

:func:`feature_shift_table` is the quick check after training, on features; the others measure waveforms;
:func:`retake_distances` measures two real takes of one sentence against each other, the floor of those distances.

MCD (dB, after DTW), F0 RMSE (Hz), log-F0 Pearson correlation, V/UV error, and the F0 RMSE split into the pitch
level (semitones from the reference's) and what is left at the reference's level
(:func:`emocore.metrics.aligned_metrics`, :data:`REFERENCE_METRICS`), measured with
:data:`emocore.vocoders.MEASURE_CONFIG` (harvest F0, 25 SPTK mel-cepstra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emocore.config import FeatureConfig
from emocore.data.extraction import extract_file
from emocore.dsp import audio, features, metrics
from emocore.dsp.vocoders import MEASURE_CONFIG
from emocore.exceptions import ParameterError

REFERENCE_METRICS = ("mcd_db", "f0_rmse_hz", "log_f0_pearson", "vuv_error", "f0_level_st", "f0_rmse_level_matched_hz")


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


def retake_distances(corpus: str, speakers, emotions, *, intensity: str | None = None,
                     root: str | Path | None = None, measure_cfg: FeatureConfig = MEASURE_CONFIG,
                     cache_dir: str | Path | None = None):
    """How far two real takes of one sentence are: the floor of a conversion's distance to the real take.

    RAVDESS actors say each sentence twice in each emotion and intensity (repetitions ``01`` and ``02``). A
    conversion is measured against one take (:data:`REFERENCE_METRICS`); the same speaker's other take of the same
    sentence, in the same emotion and intensity, measured against that take in the same way, is as close as a
    recording can be expected to come: a speaker never says a sentence the same way twice.

    Args:
        speakers: the corpus's speakers (e.g. the held-out actors); emotions: the emotions to measure.
        intensity: only the takes of this labelled intensity (RAVDESS ``"normal"`` or ``"strong"``; ``None``: all).

    Returns:
        pandas.DataFrame: one row per take that has another (``speaker``, ``emotion``, ``text_id``, ``intensity``,
        ``path``, ``reference_path``, then :data:`REFERENCE_METRICS`): each take of a pair is measured against the
        other (the distances are not symmetric: the DTW path and the frames voiced in both follow the reference).
        Empty for a corpus of one take per text (TESS).

    Raises:
        AudioError: a recording cannot be used (named).
    """
    import pandas as pd

    from emocore.data.datasets import list_utterances

    rows = []
    for speaker in speakers:
        for emotion in emotions:
            takes = {}
            for utt in list_utterances(corpus, speaker, emotion, root=root):
                if intensity is None or utt.intensity == intensity:
                    takes.setdefault((utt.text_id, utt.intensity), []).append(utt)
            for (text_id, level), same in takes.items():
                same = sorted(same, key=lambda u: (u.repetition, str(u.path)))
                for reference, other in zip(same, same[1:] + same[:1]):
                    if other is reference:
                        continue
                    rows.append({"speaker": speaker, "emotion": emotion, "text_id": text_id, "intensity": level,
                                 "path": str(other.path), "reference_path": str(reference.path),
                                 **reference_metrics(other.path, reference.path, measure_cfg=measure_cfg,
                                                     cache_dir=cache_dir)})
    columns = ["speaker", "emotion", "text_id", "intensity", "path", "reference_path", *REFERENCE_METRICS]
    return pd.DataFrame(rows, columns=columns)


def feature_shift_table(model, source_pairs, target_pairs, direction="A2B"):
    """How far held-out conversions moved toward real target speech, measured on features.

    For every source utterance whose text also exists among the targets (TESS and RAVDESS are parallel; where the
    targets hold several speakers, as a pooled multi-speaker domain does, the same speaker's recording of it),
    compares the unconverted source and the converted features with the real target recording of the same
    text: mean and std of log F0 over voiced frames, and MCD (dB, after DTW, c1..) of the MCEPs. This is the
    quick check used after training; :mod:`emocore.evaluation` measures re-synthesized waveforms.

    Args:
        model (ConversionModel): the conversion model.
        source_pairs, target_pairs: ``(Utterance, WorldFeatures)`` lists, e.g. the ``validation`` splits of
            :func:`emocore.data.extraction.prepare_domains` for the source and target domains.
        direction: ``(source, target)`` emotions, or ``"A2B"`` / ``"B2A"``.

    Returns:
        pandas.DataFrame: one row per ``(speaker, text_id, version)`` with ``version`` in ``source``, ``converted``,
        ``target`` and columns ``log_f0_mean``, ``log_f0_std``, ``mcd_to_target_db`` (0 for the target).
    """
    import pandas as pd

    by_speaker = len({(utt.corpus, utt.speaker) for utt, _ in target_pairs}) > 1

    def key(utt):
        return (utt.corpus, utt.speaker, utt.text_id) if by_speaker else utt.text_id

    targets = {}
    for utt, feats in target_pairs:
        targets.setdefault(key(utt), feats)
    rows = []
    for utt, feats in source_pairs:
        target = targets.get(key(utt))
        if target is None:
            continue
        converted = model.convert_features(feats, direction)
        for version, values in (("source", feats), ("converted", converted), ("target", target)):
            log_f0 = np.log(values.f0_hz[values.voiced])
            rows.append({"speaker": utt.speaker, "text_id": utt.text_id, "version": version,
                         "log_f0_mean": float(log_f0.mean()),
                         "log_f0_std": float(log_f0.std()),
                         "mcd_to_target_db": metrics.mel_cepstral_distortion_db(target.mcep, values.mcep)})
    if not rows:
        raise ParameterError("no source utterance shares a text with the targets"
                             + (" by the same speaker" if by_speaker else ""))
    return pd.DataFrame(rows)
