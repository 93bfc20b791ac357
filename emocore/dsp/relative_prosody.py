"""Prosody converted relative to the speaker: each emotion's change, measured across speakers, applied to anyone.

The published log-Gaussian transform (:mod:`emocore.dsp.prosody`) maps a speaker's log F0 onto the *target
domain's* mean and spread: a model trained on one woman's angry speech gives a man's angry speech her pitch.
Here an emotion is a *change* instead, measured on every training speaker against a reference emotion
(neutral) and averaged over speakers:

    shift_e     = mean over speakers s of (mu[s, e] - mu[s, ref])            (log units; * 12 / ln 2 = semitones)
    log_ratio_e = mean over speakers s of log(sigma[s, e] / sigma[s, ref])

for log F0 and for the log power envelope (both over voiced frames, as in :class:`~emocore.dsp.prosody.DomainStats`).
Converting an utterance from emotion ``a`` to ``b`` starts from the *speaker's own* statistics ``(mu, sigma)`` in
``a`` (from the utterance itself, or from a few recordings of that speaker) and moves them by the change from
``a`` to ``b``, scaled by an intensity ``alpha`` in ``[0, 1]``:

    mu'    = mu + alpha * (shift_b - shift_a)
    sigma' = sigma * exp(alpha * (log_ratio_b - log_ratio_a))

then applies the log-Gaussian transform from ``(mu, sigma)`` to ``(mu', sigma')``. A low voice stays low while it
becomes angry; ``alpha = 0`` leaves the utterance as it was.

Two changes beyond mean and spread are measured the same way when :meth:`ProsodyShifts.fit_contours` is given the
speakers' contours (issue 15's contour and rhythm streams):

- the **contour shape**: the log ratio, per wavelet scale, of the root-mean-square CWT coefficient of the z-scored
  log-F0 contours (:class:`~emocore.dsp.cwt.CwtStats`), averaged over speakers; ``f0="cwt"`` moves each scale of
  the input's contour by it (:func:`~emocore.dsp.cwt.convert_f0_cwt`) besides the mean and spread;
- the **energy contour's shape**: the same for the power envelope over voiced frames; ``power="cwt"`` moves it
  scale by scale and carries the change over unvoiced frames as the log-Gaussian power transform does;
- the **tempo**: the log ratio of the mean speech span (first to last voiced frame,
  :class:`~emocore.dsp.rhythm.RhythmStats`), averaged over speakers; :meth:`ProsodyShifts.tempo_ratio` gives the
  duration factor that :func:`~emocore.dsp.rhythm.time_warp` applies;
- the **breathiness**: the change of the band aperiodicity (WORLD's ``coded_ap``, in dB) averaged over voiced
  frames, per band, averaged over speakers; ``aperiodicity=True`` adds ``alpha * (ap_b - ap_a)`` to the voiced
  frames' aperiodicity (at most 0 dB: fully aperiodic). The voice quality of an emotion differs between corpora:
  TESS's two speakers are breathier when sad (OAF +1.7 and YAF +5.3 dB against their neutral training words),
  the shipped model's twelve RAVDESS training actors hardly (+0.1 dB on average) but are tenser (less aperiodic)
  when angry or happy (-1.0 and -1.4 dB).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from emocore.dsp.cwt import CwtStats, convert_f0_cwt
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import (
    DomainStats,
    LogGaussian,
    convert_f0,
    convert_log_power,
    interpolate_over_unvoiced,
)
from emocore.dsp.rhythm import RhythmStats
from emocore.exceptions import ParameterError

_TRANSFORMS = ("log-gaussian", "cwt")  # the methods that are transforms (contour and learned are networks')

SEMITONES_PER_LOG = 12.0 / math.log(2.0)


@dataclass(frozen=True)
class EmotionShift:
    """How one emotion changes a speaker's prosody, relative to the reference emotion, averaged over speakers.

    Attributes:
        emotion (str): e.g. ``"angry"``.
        log_f0_shift (float): mean change of the speakers' mean log F0 (natural log units).
        log_f0_log_ratio (float): mean log of the ratio of the speakers' log-F0 spreads.
        log_power_shift (float): the same for the power envelope's mean.
        log_power_log_ratio (float): the same for its spread.
        n_speakers (int): how many speakers it was measured on (0 for the reference itself).
        f0_scale_log_ratio (tuple[float, ...]): per CWT scale, the mean log ratio of the contours' scale RMS
            (empty when the contours were not measured).
        tempo_log_ratio (float | None): the mean log ratio of the speech spans (above 0: slower); ``None`` when
            not measured.
        power_scale_log_ratio (tuple[float, ...]): per CWT scale, the same as ``f0_scale_log_ratio`` for the power
            envelope over voiced frames.
        aperiodicity_shift (tuple[float, ...]): per aperiodicity band, the mean change (dB) of the voiced frames'
            mean band aperiodicity (empty when not measured).
    """

    emotion: str
    log_f0_shift: float = 0.0
    log_f0_log_ratio: float = 0.0
    log_power_shift: float = 0.0
    log_power_log_ratio: float = 0.0
    n_speakers: int = 0
    f0_scale_log_ratio: tuple[float, ...] = ()
    tempo_log_ratio: float | None = None
    power_scale_log_ratio: tuple[float, ...] = ()
    aperiodicity_shift: tuple[float, ...] = ()

    @property
    def semitones(self) -> float:
        """The mean pitch change in semitones."""
        return self.log_f0_shift * SEMITONES_PER_LOG


def _voiced_power(feats: WorldFeatures) -> np.ndarray:
    """The power envelope on voiced frames as a positive contour ``(T,)`` (0 on unvoiced frames), the form the CWT
    functions of :mod:`emocore.dsp.cwt` take."""
    return np.where(feats.voiced, np.exp(np.asarray(feats.log_power, dtype=np.float64)), 0.0)


def _voiced_aperiodicity(feats: list[WorldFeatures]) -> np.ndarray:
    """The mean band aperiodicity ``(B,)`` (dB) over the voiced frames of ``feats`` (at least one voiced frame)."""
    return np.concatenate([np.asarray(f.coded_ap, dtype=np.float64)[f.voiced] for f in feats]).mean(axis=0)


def _moved(own: LogGaussian, shift: float, log_ratio: float) -> LogGaussian:
    return LogGaussian(mean=own.mean + shift, std=own.std * math.exp(log_ratio), n_frames=own.n_frames)


@dataclass(frozen=True)
class ProsodyShifts:
    """Every emotion's :class:`EmotionShift` against one reference emotion: a speaker-independent prosody model.

    Build it with :meth:`fit` from per-speaker, per-emotion statistics; convert with :meth:`convert`.

    Attributes:
        reference (str): the emotion every change is measured against (``"neutral"``).
        shifts (Mapping[str, EmotionShift]): by emotion, the reference included (all zeros).
    """

    reference: str
    shifts: Mapping[str, EmotionShift]
    frame_period_ms: float | None = None  # of the contours measured by fit_contours

    @classmethod
    def fit(cls, stats: Mapping[tuple[str, str], DomainStats], reference: str = "neutral") -> "ProsodyShifts":
        """Measure each emotion's change on every speaker that has it and the reference, and average.

        Args:
            stats: ``{(speaker, emotion): DomainStats}``, e.g. from :func:`emocore.data.extraction.prepare_domains`
                of each speaker's emotions.
            reference: the emotion the changes are measured against.

        Raises:
            ParameterError: no speaker has the reference emotion, or an emotion shares no speaker with it.
        """
        speakers = {s for s, e in stats if e == reference}
        if not speakers:
            raise ParameterError(f"no speaker has the reference emotion {reference!r}")
        shifts = {reference: EmotionShift(reference)}
        for emotion in sorted({e for _, e in stats} - {reference}):
            pairs = [(stats[s, reference], stats[s, emotion]) for s in sorted(speakers) if (s, emotion) in stats]
            if not pairs:
                raise ParameterError(f"emotion {emotion!r}: no speaker also has {reference!r} to measure it against")
            shifts[emotion] = EmotionShift(
                emotion,
                log_f0_shift=float(np.mean([e.log_f0.mean - r.log_f0.mean for r, e in pairs])),
                log_f0_log_ratio=float(np.mean([math.log(e.log_f0.std / r.log_f0.std) for r, e in pairs])),
                log_power_shift=float(np.mean([e.log_power.mean - r.log_power.mean for r, e in pairs])),
                log_power_log_ratio=float(np.mean([math.log(e.log_power.std / r.log_power.std) for r, e in pairs])),
                n_speakers=len(pairs))
        return cls(reference, shifts)

    def fit_contours(self, utterances: Mapping[tuple[str, str], list], frame_period_ms: float) -> "ProsodyShifts":
        """These shifts with each emotion's F0 and energy contour shapes, tempo and aperiodicity change measured
        too (see the module docstring).

        Args:
            utterances: ``{(speaker, emotion): [WorldFeatures, ...]}`` of the training speakers.
            frame_period_ms: their frame period.

        Raises:
            ParameterError: an emotion of these shifts that shares no speaker (with voiced utterances) with the
                reference.
        """
        voiced = {key: [f for f in feats if np.any(f.voiced)] for key, feats in utterances.items()}
        cwt = {key: CwtStats.fit([f.f0_hz for f in feats], frame_period_ms) for key, feats in voiced.items() if feats}
        energy = {key: CwtStats.fit([_voiced_power(f) for f in voiced[key]], frame_period_ms) for key in cwt}
        tempo = {key: RhythmStats.fit([f.f0_hz for f in voiced[key]], frame_period_ms).speech_ms for key in cwt}
        breath = {key: _voiced_aperiodicity(voiced[key]) for key in cwt}
        speakers = sorted({s for s, e in cwt if e == self.reference})
        shifts = {}
        for emotion, shift in self.shifts.items():
            pairs = [((s, self.reference), (s, emotion)) for s in speakers if (s, emotion) in cwt]
            if not pairs:
                raise ParameterError(f"emotion {emotion!r}: no speaker's contours of it and of {self.reference!r}")
            ratio = np.mean([np.log(cwt[e].scale_rms / cwt[r].scale_rms) for r, e in pairs], axis=0)
            power = np.mean([np.log(energy[e].scale_rms / energy[r].scale_rms) for r, e in pairs], axis=0)
            shifts[emotion] = dataclasses.replace(
                shift, f0_scale_log_ratio=tuple(float(x) for x in ratio),
                power_scale_log_ratio=tuple(float(x) for x in power),
                tempo_log_ratio=float(np.mean([math.log(tempo[e] / tempo[r]) for r, e in pairs])),
                aperiodicity_shift=tuple(float(x) for x in np.mean([breath[e] - breath[r] for r, e in pairs], axis=0)))
        return ProsodyShifts(self.reference, shifts, float(frame_period_ms))

    @property
    def has_contours(self) -> bool:
        """Whether :meth:`fit_contours` measured contour shapes and tempo (``f0="cwt"`` and rhythm need them)."""
        return self.frame_period_ms is not None and all(
            s.tempo_log_ratio is not None and s.power_scale_log_ratio for s in self.shifts.values())

    @property
    def has_aperiodicity(self) -> bool:
        """Whether :meth:`fit_contours` measured the emotions' aperiodicity changes (models measured before it
        copy the aperiodicity)."""
        return all(s.aperiodicity_shift for s in self.shifts.values())

    def _contours(self) -> None:
        if not self.has_contours:
            raise ParameterError("this model's prosody shifts hold no contour shapes or tempo (measured by "
                                 "ProsodyShifts.fit_contours since issue 15); the CWT F0 and power and the rhythm "
                                 "streams need them")

    def tempo_ratio(self, source: str, target: str, intensity: float = 1.0) -> float:
        """The duration factor from ``source`` to ``target`` (above 1: the target speaks slower), ``intensity`` of it
        in the log domain.

        Raises:
            ParameterError: no tempo measured (:attr:`has_contours`), or an unknown emotion.
        """
        self._contours()
        a, b = self.shift(source), self.shift(target)
        return math.exp(float(intensity) * (b.tempo_log_ratio - a.tempo_log_ratio))

    def differing_emotions(self, other: "ProsodyShifts") -> list[str]:
        """The emotions whose mean and spread shifts ``other`` does not reproduce (to float rounding): measured again
        on the same training data, there are none."""
        keys = ("log_f0_shift", "log_f0_log_ratio", "log_power_shift")
        return [emotion for emotion, shift in self.shifts.items()
                if emotion not in other.shifts
                or not np.allclose([getattr(shift, k) for k in keys], [getattr(other.shifts[emotion], k) for k in keys],
                                   rtol=1e-6, atol=1e-9)]

    def shift(self, emotion: str) -> EmotionShift:
        """The change of ``emotion``.

        Raises:
            ParameterError: an emotion it was not fitted on; the message lists those it knows.
        """
        if emotion not in self.shifts:
            raise ParameterError(f"no prosody change measured for {emotion!r}; known: {', '.join(self.shifts)}")
        return self.shifts[emotion]

    def targets(self, own: DomainStats, source: str, target: str, intensity: float = 1.0
                ) -> tuple[LogGaussian, LogGaussian]:
        """The speaker's log-F0 and log-power statistics once moved from ``source`` to ``target``.

        Args:
            own: the speaker's own statistics in the ``source`` emotion.
            intensity: ``alpha`` in ``[0, 1]``: 0 keeps ``own``, 1 applies the whole change.
        """
        if not 0.0 <= float(intensity) <= 1.0:
            raise ParameterError(f"intensity must be in [0, 1], got {intensity}")
        a, b, alpha = self.shift(source), self.shift(target), float(intensity)
        return (_moved(own.log_f0, alpha * (b.log_f0_shift - a.log_f0_shift),
                       alpha * (b.log_f0_log_ratio - a.log_f0_log_ratio)),
                _moved(own.log_power, alpha * (b.log_power_shift - a.log_power_shift),
                       alpha * (b.log_power_log_ratio - a.log_power_log_ratio)))

    def convert(self, feats: WorldFeatures, source: str, target: str, *, own: DomainStats | None = None,
                intensity: float = 1.0, f0: bool | str = True, power: bool | str = True,
                aperiodicity: bool = False) -> WorldFeatures:
        """Convert one utterance's log F0, power envelope and (``aperiodicity``) voice quality relative to its
        speaker.

        Args:
            feats: the utterance, of emotion ``source``.
            own: the speaker's statistics in ``source`` (from a few of their recordings); ``None``: the
                utterance's own (it needs at least two voiced frames).
            intensity: see :meth:`targets`.
            f0: ``True`` or ``"log-gaussian"`` (mean and spread), ``"cwt"`` (the contour's shape too, scale by
                scale: needs :meth:`fit_contours`), ``False`` (the source's F0).
            power: the same choices for the power envelope (``False``: it stays as in the source).
            aperiodicity: move the voiced frames' band aperiodicity by the emotions' change (needs
                :attr:`has_aperiodicity`); ``False`` copies it.

        Returns:
            WorldFeatures: ``T`` frames; MCEPs unchanged.

        Raises:
            ParameterError: an unknown ``f0`` or ``power``, ``"cwt"`` without contour shapes, or ``aperiodicity``
                without its measured changes.
        """
        for name, value in (("f0", f0), ("power", power)):
            if value not in (True, False, None, *_TRANSFORMS):
                raise ParameterError(f"{name}={value!r}: use True, False, 'log-gaussian' or 'cwt'")
        own = DomainStats.fit("input", [feats]) if own is None else own
        log_f0, log_power = self.targets(own, source, target, intensity)
        out = feats
        if power:
            out = out.replace(log_power=convert_log_power(feats.log_power, feats.f0_hz, own.log_power, log_power))
        if power == "cwt":
            self._contours()
            ratio = float(intensity) * (np.asarray(self.shift(target).power_scale_log_ratio)
                                        - np.asarray(self.shift(source).power_scale_log_ratio))
            if np.count_nonzero(feats.voiced) >= 2:
                src, tgt = CwtStats(np.ones(len(ratio)), own.log_power, 1), CwtStats(np.exp(ratio), log_power, 1)
                shaped = convert_f0_cwt(_voiced_power(feats), src, tgt, self.frame_period_ms)
                voiced = feats.voiced
                log_gain = np.where(voiced, np.log(np.where(voiced, shaped, 1.0)) - feats.log_power, 0.0)
                out = out.replace(log_power=feats.log_power + interpolate_over_unvoiced(log_gain, voiced))
        if f0 == "cwt":
            self._contours()
            ratio = float(intensity) * (np.asarray(self.shift(target).f0_scale_log_ratio)
                                        - np.asarray(self.shift(source).f0_scale_log_ratio))
            src, tgt = CwtStats(np.ones(len(ratio)), own.log_f0, 1), CwtStats(np.exp(ratio), log_f0, 1)
            if np.count_nonzero(np.asarray(feats.f0_hz) > 0) >= 2:
                out = out.replace(f0_hz=convert_f0_cwt(feats.f0_hz, src, tgt, self.frame_period_ms))
            else:  # too short for a contour: mean and spread only
                out = out.replace(f0_hz=convert_f0(feats.f0_hz, own.log_f0, log_f0))
        elif f0:
            out = out.replace(f0_hz=convert_f0(feats.f0_hz, own.log_f0, log_f0))
        if aperiodicity:
            out = out.replace(coded_ap=self.convert_aperiodicity(feats, source, target, intensity))
        return out

    def convert_aperiodicity(self, feats: WorldFeatures, source: str, target: str, intensity: float = 1.0
                             ) -> np.ndarray:
        """The utterance's band aperiodicity ``(T, B)`` with each voiced frame moved by ``intensity`` times the
        change from ``source`` to ``target`` (dB, capped at 0 dB); unvoiced frames as they were.

        Raises:
            ParameterError: the changes were not measured (:attr:`has_aperiodicity`), or their bands are not the
                utterance's.
        """
        if not self.has_aperiodicity:
            raise ParameterError("aperiodicity: this model's prosody shifts hold no aperiodicity changes (measured by "
                                 "ProsodyShifts.fit_contours since the voice-quality stream; "
                                 "emocore.pretrained.remeasure_speakers measures them)")
        change = float(intensity) * (np.asarray(self.shift(target).aperiodicity_shift)
                                     - np.asarray(self.shift(source).aperiodicity_shift))
        ap = np.array(feats.coded_ap, dtype=np.float64)
        if ap.shape[1] != len(change):
            raise ParameterError(f"aperiodicity: the changes were measured on {len(change)} bands, the utterance has "
                                 f"{ap.shape[1]}")
        voiced = feats.voiced
        ap[voiced] = np.minimum(ap[voiced] + change, 0.0)
        return ap

    def to_dict(self) -> dict:
        def entry(shift: EmotionShift) -> dict:
            values = {k: v for k, v in vars(shift).items() if k != "emotion"}
            values["f0_scale_log_ratio"] = list(shift.f0_scale_log_ratio)
            values["power_scale_log_ratio"] = list(shift.power_scale_log_ratio)
            values["aperiodicity_shift"] = list(shift.aperiodicity_shift)
            return values

        return {"reference": self.reference, "frame_period_ms": self.frame_period_ms,
                "shifts": {name: entry(s) for name, s in self.shifts.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> "ProsodyShifts":
        def shift(name: str, entry: dict) -> EmotionShift:
            entry = {**entry, "f0_scale_log_ratio": tuple(entry.get("f0_scale_log_ratio", ())),
                     "power_scale_log_ratio": tuple(entry.get("power_scale_log_ratio", ())),
                     "aperiodicity_shift": tuple(entry.get("aperiodicity_shift", ()))}
            return EmotionShift(name, **entry)

        return cls(values["reference"], {name: shift(name, s) for name, s in values["shifts"].items()},
                   values.get("frame_period_ms"))
