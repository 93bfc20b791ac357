"""Is an input like what a model was trained on? Its pitch and spectrum against the source emotion's statistics.

:func:`emocore.conversion.convert_files` converts every file anyway, and lists those far from the training
speaker (another speaker, a language or a synthetic voice the model never heard), so that a user knows which
outputs to distrust.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats

# Thresholds of InputFamiliarity.far, measured on TESS/RAVDESS with the tess-OAF-neutral statistics:
# held-out OAF neutral words |z| <= 0.4 and distance 0.98-1.06; OAF angry z 2.2-3.2 (distance 1.2);
# YAF and a RAVDESS actress z -0.3-2.0 (distance 1.1-1.2); a RAVDESS actor z -5.6; espeak-ng German z -6.1
# and distance 1.95.
FAR_PITCH_Z = 3.5
FAR_SPECTRAL_DISTANCE = 1.5


@dataclass(frozen=True)
class InputFamiliarity:
    """How far one utterance lies from the statistics of the domain a model converts from.

    Attributes:
        pitch_offset_semitones: mean log F0 of the utterance's voiced frames minus the domain's, in semitones.
        pitch_z: the same offset in units of the domain's frame-level log-F0 standard deviation.
        spectral_distance: RMS over voiced frames and c1.. of the MCEPs z-normalized by the domain's
            statistics: about 1 for the training speaker's own words.
    """

    pitch_offset_semitones: float
    pitch_z: float
    spectral_distance: float

    @property
    def far(self) -> bool:
        """Pitch or spectrum outside what the model was trained on (thresholds :data:`FAR_PITCH_Z`, :data:`FAR_SPECTRAL_DISTANCE`)."""
        return abs(self.pitch_z) > FAR_PITCH_Z or self.spectral_distance > FAR_SPECTRAL_DISTANCE

    def describe(self) -> str:
        """One line for users, e.g. ``"far from the training speaker: pitch 11.8 semitones lower (z -5.6)"``."""
        parts = []
        if abs(self.pitch_z) > FAR_PITCH_Z:
            side = "lower" if self.pitch_offset_semitones < 0 else "higher"
            parts.append(f"pitch {abs(self.pitch_offset_semitones):.1f} semitones {side} (z {self.pitch_z:+.1f})")
        if self.spectral_distance > FAR_SPECTRAL_DISTANCE:
            parts.append(f"spectrum {self.spectral_distance:.2f} standard deviations from it (about 1 for its own words)")
        where = "; ".join(parts) or f"pitch z {self.pitch_z:+.1f}, spectral distance {self.spectral_distance:.2f}"
        return f"{'far from' if parts else 'close to'} the training speaker: {where}"


def input_familiarity(feats: WorldFeatures, stats: DomainStats) -> InputFamiliarity:
    """Compare one utterance's pitch and MCEPs with a domain's statistics (another speaker, language, synthetic voice?).

    Args:
        feats (WorldFeatures): the utterance, ``T`` frames.
        stats (DomainStats): the domain the model converts from (``model.emotion_pair(direction)[0].stats``).

    Returns:
        InputFamiliarity: NaN pitch fields when no frame is voiced (then only the spectrum counts).
    """
    return frames_familiarity(feats.f0_hz, feats.mcep, stats)


def frames_familiarity(f0_hz: np.ndarray, mcep: np.ndarray, stats: DomainStats) -> InputFamiliarity:
    """:func:`input_familiarity` of frames gathered from anywhere, e.g. all segments of a long file.

    Args:
        f0_hz (ndarray): shape ``(T,)``, 0 on unvoiced frames.
        mcep (ndarray): shape ``(T, D)``, the same frames.
        stats (DomainStats): the domain the model converts from.
    """
    voiced = f0_hz > 0
    if voiced.any():
        offset = float(np.log(f0_hz[voiced]).mean() - stats.log_f0.mean)
        semitones, z = 12.0 * offset / np.log(2.0), offset / stats.log_f0.std
    else:
        semitones = z = float("nan")
    frames = mcep[voiced] if voiced.any() else mcep
    normalized = (frames - stats.mcep.mean) / stats.mcep.std
    distance = float(np.sqrt(np.mean(normalized[:, 1:] ** 2)))
    return InputFamiliarity(float(semitones), float(z), distance)
