"""Naturalness: DNSMOS P.835 (:func:`emocore.metrics.dnsmos`, offline ONNX models) of 16 kHz waveforms.

:data:`DNSMOS_KEYS` are the four scores of a row; ``_dnsmos_batch`` computes them for a batch, as the
cache of :mod:`emocore.evaluation.manifest` wants them (under the cache kind :data:`DNSMOS_KIND`).
"""

from __future__ import annotations

import numpy as np

from emocore.dsp import metrics
from emocore.evaluation.manifest import CACHE_VERSION, EVAL_SR

DNSMOS_KIND = f"dnsmos-p835-v{CACHE_VERSION}"
DNSMOS_KEYS = ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808")


def _dnsmos_batch(wavs: list[np.ndarray]) -> np.ndarray:
    scores = [metrics.dnsmos(wav, EVAL_SR) for wav in wavs]
    return np.array([[s[key] for key in DNSMOS_KEYS] for s in scores]).reshape(-1, len(DNSMOS_KEYS))
