"""The learned prosody's view of a word: its F0 contour, voicing, power and spectrum, z-scored by the word itself,
and its F0 and power contours in fixed units.

:func:`contour_inputs` is what the contour network (:mod:`emocore.models.contour`) reads per frame and
:mod:`emocore.data.parallel` aligns its targets to; no Keras here. The contours the network predicts are centred on
the source word's means and measured in :class:`ContourStats`' ``f0_unit`` and ``power_unit`` (fixed units, or the
word's own spreads: ``ContourConfig.f0_unit`` and ``power_unit``); :func:`contour_channels` says which input channels
hold the source's own contours in those units.
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
    """A word's own statistics that :func:`contour_inputs` z-scores by (log F0 and log power over voiced frames), and
    the units of the contours the network predicts for it (its spreads, or ``ContourConfig``'s fixed units)."""

    log_f0_mean: float
    log_f0_std: float
    log_power_mean: float
    log_power_std: float
    f0_unit: float
    power_unit: float


def n_inputs(cfg: ContourConfig) -> int:
    """Input channels per frame: log F0, voicing, power, ``cfg.n_mcep`` MCEPs, then log F0 and power in the fixed
    units of ``cfg`` (each only when its unit is fixed)."""
    return 3 + cfg.n_mcep + (cfg.f0_unit > 0) + (cfg.power_unit > 0)


def contour_channels(cfg: ContourConfig) -> tuple[int, int]:
    """The input channels of the source's log F0 and power in the units the network predicts in."""
    extra = 3 + cfg.n_mcep  # the fixed-unit channels follow the MCEPs, F0's first
    f0 = extra if cfg.f0_unit > 0 else 0
    power = (extra + int(cfg.f0_unit > 0)) if cfg.power_unit > 0 else 2
    return f0, power


def contour_inputs(feats: WorldFeatures, cfg: ContourConfig) -> tuple[np.ndarray, ContourStats]:
    """The network's input of one word: ``(T, n_inputs(cfg))`` float32 and its :class:`ContourStats`.

    Channels: continuous log F0, voicing (0/1), log power (both z-scored by the word's voiced frames, their spreads
    floored at ``cfg.min_log_f0_spread`` and ``cfg.min_log_power_spread``), the first ``cfg.n_mcep`` MCEPs
    z-scored per dimension over the word, then (where ``cfg.f0_unit`` / ``cfg.power_unit`` are fixed) the log F0 and
    power centred on the word's means in those units, which tell the network how wide the word's own movement is.

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
    f0_std = float(max(log_f0[voiced].std(), cfg.min_log_f0_spread))
    power_std = float(max(power[voiced].std(), cfg.min_log_power_spread))
    stats = ContourStats(float(log_f0[voiced].mean()), f0_std, float(power[voiced].mean()), power_std,
                         f0_unit=cfg.f0_unit or f0_std, power_unit=cfg.power_unit or power_std)
    spectrum = mcep[:, :cfg.n_mcep]
    spectrum = (spectrum - spectrum.mean(axis=0)) / (spectrum.std(axis=0) + 1e-6)
    columns = [(log_f0 - stats.log_f0_mean) / f0_std, voiced.astype(np.float64),
               (power - stats.log_power_mean) / power_std, spectrum]
    if cfg.f0_unit > 0:
        columns.append((log_f0 - stats.log_f0_mean) / cfg.f0_unit)
    if cfg.power_unit > 0:
        columns.append((power - stats.log_power_mean) / cfg.power_unit)
    return np.column_stack(columns).astype(np.float32), stats
