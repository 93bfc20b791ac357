"""Distance to real speech: a conversion against the real target-emotion recording of the same text.

MCD (dB, after DTW), F0 RMSE (Hz), log-F0 Pearson correlation and V/UV error
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

REFERENCE_METRICS = ("mcd_db", "f0_rmse_hz", "log_f0_pearson", "vuv_error")


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
