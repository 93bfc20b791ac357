"""The learned prosody's view of a word: its F0 contour, voicing, power and spectrum, z-scored by the word itself.

:func:`contour_inputs` is what the contour network (:mod:`emocore.models.contour`) reads per frame and
:mod:`emocore.data.parallel` aligns its targets to; no Keras here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emocore.config import ContourConfig
from emocore.dsp.cwt import continuous_log_f0
from emocore.dsp.features import WorldFeatures
from emocore.exceptions import ParameterError

#: the fewest voiced frames of a word whose contour the network converts (fewer: no contour to speak of)
MIN_VOICED_FRAMES = 5


@dataclass(frozen=True)
class ContourStats:
    """A word's own statistics that :func:`contour_inputs` z-scores by: log F0 and log power over voiced frames."""

    log_f0_mean: float
    log_f0_std: float
    log_power_mean: float
    log_power_std: float


def n_inputs(cfg: ContourConfig) -> int:
    """Input channels per frame: log F0, voicing, power and ``cfg.n_mcep`` MCEPs."""
    return 3 + cfg.n_mcep


def contour_inputs(feats: WorldFeatures, cfg: ContourConfig) -> tuple[np.ndarray, ContourStats]:
    """The network's input of one word: ``(T, 3 + n_mcep)`` float32 and the statistics it was z-scored by.

    Channels: continuous log F0, voicing (0/1), log power (both z-scored by the word's voiced frames, their spreads
    floored at ``cfg.min_log_f0_spread`` and ``cfg.min_log_power_spread``), then the first ``cfg.n_mcep`` MCEPs
    z-scored per dimension over the word.

    Raises:
        ParameterError: fewer than :data:`MIN_VOICED_FRAMES` voiced frames, or fewer MCEPs than ``cfg.n_mcep``.
    """
    f0 = np.asarray(feats.f0_hz, dtype=np.float64)
    voiced = f0 > 0
    if np.count_nonzero(voiced) < MIN_VOICED_FRAMES:
        raise ParameterError(f"{np.count_nonzero(voiced)} voiced frames: the learned prosody needs at least "
                             f"{MIN_VOICED_FRAMES}")
    mcep = np.asarray(feats.mcep, dtype=np.float64)
    if mcep.shape[1] < cfg.n_mcep:
        raise ParameterError(f"the features have {mcep.shape[1]} MCEPs, the learned prosody reads {cfg.n_mcep}")
    log_f0, _ = continuous_log_f0(f0)
    power = np.asarray(feats.log_power, dtype=np.float64)
    stats = ContourStats(float(log_f0[voiced].mean()), float(max(log_f0[voiced].std(), cfg.min_log_f0_spread)),
                         float(power[voiced].mean()), float(max(power[voiced].std(), cfg.min_log_power_spread)))
    spectrum = mcep[:, :cfg.n_mcep]
    spectrum = (spectrum - spectrum.mean(axis=0)) / (spectrum.std(axis=0) + 1e-6)
    x = np.column_stack([(log_f0 - stats.log_f0_mean) / stats.log_f0_std, voiced.astype(np.float64),
                         (power - stats.log_power_mean) / stats.log_power_std, spectrum])
    return x.astype(np.float32), stats
