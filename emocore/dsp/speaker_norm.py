"""Speaker normalization for a model of many speakers: features measured against the speaker's own neutral voice.

A model trained on many speakers at once should learn what an emotion does, not who speaks. Every utterance of
speaker ``s`` is therefore normalized with the statistics of ``s``'s *reference* emotion (neutral): its MCEPs
per dimension, its log F0 on voiced frames,

    mcep_z = (mcep - mu_mcep[s, ref]) / sigma_mcep[s, ref]        log_f0_z = (log_f0 - mu_f0[s, ref]) / sigma_f0[s, ref]

so an angry utterance keeps, in its normalized features, what anger changes against that speaker's neutral
voice (a brighter spectrum, a higher and wider pitch), while what differs between speakers (vocal tract, register)
is gone. Conversion denormalizes with the same statistics, so the output is in the input speaker's voice.

A user's voice comes with recordings of one emotion, rarely neutral ones. The speaker's reference statistics are
then estimated from those of the recordings' emotion ``e`` by undoing ``e``'s average change, measured across the
training speakers in the same units (:class:`SpeakerNormalizer`, the MCEP counterpart of
:class:`~emocore.dsp.relative_prosody.ProsodyShifts`):

    shift_e     = mean over s of (mu[s, e] - mu[s, ref]) / sigma[s, ref]
    log_ratio_e = mean over s of log(sigma[s, e] / sigma[s, ref])
    sigma_ref   = sigma_own / exp(log_ratio_e),    mu_ref = mu_own - shift_e * sigma_ref

For neutral recordings both are zero and the estimate is the recordings' own statistics.

The average change suits a voice the model never heard. For each *training* speaker the normalizer also keeps that
speaker's own measured changes (``enrolled``, the same fit on their statistics alone): converting one of them, a
model can move their prosody as they themselves change it (:meth:`SpeakerNormalizer.for_speaker`). The average is
dominated by whichever corpus has more speakers: RAVDESS's actors speak neutral quietly, so on average happy adds
+2.2 log units of power, while TESS's OAF adds +0.7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from emocore.config import read_model_json
from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.dsp.prosody import DomainStats, LogGaussian
from emocore.dsp.relative_prosody import ProsodyShifts
from emocore.exceptions import ModelFolderError, ParameterError


@dataclass(frozen=True)
class McepShift:
    """What one emotion does to a speaker's MCEP statistics, in units of the speaker's reference spread.

    Attributes:
        mean_shift (ndarray): ``(D,)``: mean over speakers of ``(mu[s, e] - mu[s, ref]) / sigma[s, ref]``.
        log_ratio (ndarray): ``(D,)``: mean over speakers of ``log(sigma[s, e] / sigma[s, ref])``.
    """

    mean_shift: np.ndarray
    log_ratio: np.ndarray


@dataclass(frozen=True)
class SpeakerNormalizer:
    """The speaker normalization of a multi-speaker model: each emotion's average change of a speaker's statistics.

    Build it with :meth:`fit` from the training speakers' statistics; :meth:`reference_stats` estimates a
    speaker's neutral statistics from recordings of any emotion, :meth:`normalize` and :meth:`denormalize_mcep`
    move features in and out of the speaker-normalized space.

    Attributes:
        reference (str): the emotion the speakers are normalized by (``"neutral"``).
        mcep (Mapping[str, McepShift]): by emotion (the reference's is all zeros).
        prosody (ProsodyShifts): the same for log F0 and the power envelope.
        speaker_log_f0 (LogGaussian): the training speakers' reference mean log F0: mean and spread over
            speakers (``n_frames`` counts speakers), for telling a voice outside their range.
        enrolled (Mapping[str, SpeakerNormalizer]): by training speaker (``"tess:OAF"``), the same measured on that
            speaker alone (their own changes; empty for a normalizer of one speaker, or of a model trained before
            they were kept).
    """

    reference: str
    mcep: Mapping[str, McepShift]
    prosody: ProsodyShifts
    speaker_log_f0: LogGaussian
    enrolled: Mapping[str, "SpeakerNormalizer"] = field(default_factory=dict)

    @classmethod
    def fit(cls, stats: Mapping[tuple[str, str], DomainStats], reference: str = "neutral", *,
            enroll: bool = True) -> "SpeakerNormalizer":
        """Measure every emotion's change against ``reference`` on each speaker that has both, and average.

        Args:
            stats: ``{(speaker, emotion): DomainStats}`` of the training speakers (training utterances only).
            enroll: also keep each speaker's own changes (``enrolled``: every speaker with the reference and
                another emotion, when there are several speakers).

        Raises:
            ParameterError: no speaker has the reference emotion, or an emotion shares no speaker with it.
        """
        prosody = ProsodyShifts.fit(stats, reference)  # raises for the cases named above
        speakers = sorted({s for s, e in stats if e == reference})
        mcep = {}
        for emotion in prosody.shifts:
            pairs = [(stats[s, reference].mcep, stats[s, emotion].mcep) for s in speakers if (s, emotion) in stats]
            mcep[emotion] = McepShift(
                mean_shift=np.mean([(e.mean - r.mean) / r.std for r, e in pairs], axis=0),
                log_ratio=np.mean([np.log(e.std / r.std) for r, e in pairs], axis=0))
        means = np.array([stats[s, reference].log_f0.mean for s in speakers])
        spread = float(means.std()) if len(means) > 1 else 0.0
        speaker_log_f0 = LogGaussian(float(means.mean()), max(spread, 1e-8), len(means))
        enrolled = {}
        if enroll and len(speakers) > 1:
            for speaker in speakers:
                own = {key: value for key, value in stats.items() if key[0] == speaker}
                if len(own) > 1:
                    enrolled[speaker] = replace(cls.fit(own, reference, enroll=False), speaker_log_f0=speaker_log_f0)
        return cls(reference, mcep, prosody, speaker_log_f0, enrolled)

    def with_contours(self, utterances: Mapping[tuple[str, str], list], frame_period_ms: float) -> "SpeakerNormalizer":
        """This normalizer with each emotion's contour shapes, tempo and aperiodicity change measured on the
        speakers' utterances (``{(speaker, emotion): [WorldFeatures, ...]}``, training utterances only;
        :meth:`~emocore.dsp.relative_prosody.ProsodyShifts.fit_contours`); each enrolled speaker's on their own."""
        enrolled = {speaker: normalizer.with_contours({k: v for k, v in utterances.items() if k[0] == speaker},
                                                      frame_period_ms)
                    for speaker, normalizer in self.enrolled.items()}
        return replace(self, prosody=self.prosody.fit_contours(utterances, frame_period_ms), enrolled=enrolled)

    def for_speaker(self, speaker: str | None) -> "SpeakerNormalizer":
        """The normalizer to convert ``speaker`` with: a training speaker's own changes (``"tess:OAF"``), or for
        ``None`` (a voice the model never heard) the average over speakers, this normalizer itself.

        Raises:
            ParameterError: ``speaker`` is not enrolled.
        """
        if speaker is None:
            return self
        if speaker not in self.enrolled:
            known = ", ".join(self.enrolled) or "none (a model trained before speakers were enrolled)"
            raise ParameterError(f"speaker {speaker!r} is not one of the model's training speakers; enrolled: {known}")
        return self.enrolled[speaker]

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(self.mcep)

    def emotion_mcep(self, emotion: str) -> MeanStd:
        """``emotion``'s MCEP statistics in the speaker-normalized space: mean ``shift_e`` and spread
        ``exp(log_ratio_e)`` (the reference's are 0 and 1). For an enrolled speaker's normalizer
        (:meth:`for_speaker`) they are that speaker's own.

        Raises:
            ParameterError: an emotion the normalizer was not fitted on.
        """
        if emotion not in self.mcep:
            raise ParameterError(f"no speaker normalization measured for {emotion!r}; known: {', '.join(self.mcep)}")
        shift = self.mcep[emotion]
        return MeanStd(mean=shift.mean_shift, std=np.exp(shift.log_ratio))

    def reference_stats(self, own: DomainStats, emotion: str) -> DomainStats:
        """A speaker's reference-emotion statistics, estimated from their statistics in ``emotion``.

        Args:
            own: the speaker's statistics over recordings of ``emotion`` (one utterance will do).
            emotion: the emotion of those recordings.

        Raises:
            ParameterError: an emotion the normalizer was not fitted on.
        """
        mcep = self.reference_mcep(own.mcep, emotion)
        log_f0, log_power = self.prosody.targets(own, emotion, self.reference)
        return DomainStats(name=f"{own.name}-as-{self.reference}", log_f0=log_f0, log_power=log_power, mcep=mcep,
                           n_utterances=own.n_utterances)

    def reference_mcep(self, own: MeanStd, emotion: str) -> MeanStd:
        """The MCEP part of :meth:`reference_stats`: a speaker's reference-emotion MCEP statistics from their
        statistics ``own`` in ``emotion`` (the emotion's mean shift and log spread ratio undone).

        Raises:
            ParameterError: an emotion the normalizer was not fitted on.
        """
        emotion_mcep = self.emotion_mcep(emotion)
        std = own.std / emotion_mcep.std
        return MeanStd(mean=own.mean - emotion_mcep.mean * std, std=std)

    @staticmethod
    def normalize(feats: WorldFeatures, ref: DomainStats) -> WorldFeatures:
        """Speaker-normalized features: MCEPs z-scored with ``ref``; voiced F0 replaced by ``exp(z)`` of its
        z-scored log, so log F0 statistics of normalized features are those of ``z`` (0 stays unvoiced).
        Aperiodicity and the power envelope are unchanged."""
        f0 = np.asarray(feats.f0_hz, dtype=np.float64)
        voiced = f0 > 0
        f0_z = np.zeros_like(f0)
        f0_z[voiced] = np.exp((np.log(f0[voiced]) - ref.log_f0.mean) / ref.log_f0.std)
        return feats.replace(mcep=ref.mcep.normalize(np.asarray(feats.mcep, dtype=np.float64)), f0_hz=f0_z)

    @staticmethod
    def denormalize_mcep(mcep_z: np.ndarray, ref: DomainStats) -> np.ndarray:
        """MCEPs back in the speaker's own space: the inverse of :meth:`normalize` on the MCEP stream."""
        return ref.mcep.denormalize(np.asarray(mcep_z, dtype=np.float64))

    def pitch_z(self, log_f0_mean: float) -> float:
        """How many between-speaker spreads a voice's mean log F0 lies from the training speakers' mean."""
        return (log_f0_mean - self.speaker_log_f0.mean) / self.speaker_log_f0.std

    def to_dict(self) -> dict:
        return {"reference": self.reference,
                "mcep": {e: {"mean_shift": s.mean_shift.tolist(), "log_ratio": s.log_ratio.tolist()}
                         for e, s in self.mcep.items()},
                "prosody": self.prosody.to_dict(), "speaker_log_f0": self.speaker_log_f0.to_dict(),
                **({"enrolled": {s: n.to_dict() for s, n in self.enrolled.items()}} if self.enrolled else {})}

    @classmethod
    def from_dict(cls, values: dict) -> "SpeakerNormalizer":
        mcep = {e: McepShift(np.asarray(s["mean_shift"], dtype=np.float64), np.asarray(s["log_ratio"], dtype=np.float64))
                for e, s in values["mcep"].items()}
        return cls(values["reference"], mcep, ProsodyShifts.from_dict(values["prosody"]),
                   LogGaussian.from_dict(values["speaker_log_f0"]),
                   {s: cls.from_dict(n) for s, n in values.get("enrolled", {}).items()})


def read_speakers(path: str | Path) -> tuple[tuple[str, ...], SpeakerNormalizer]:
    """A multi-speaker model's ``speakers.json`` (:data:`emocore.config.SPEAKERS_FILE`): its emotions in order and
    its speaker normalization, without Keras.

    Raises:
        ModelFolderError: naming ``path``: missing, unreadable, or not an emotion list and a speaker normalization.
    """
    values = read_model_json(path)
    try:
        return tuple(values["emotions"]), SpeakerNormalizer.from_dict(values["normalizer"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFolderError(path, f"not a speaker normalization ({type(error).__name__}: {error})") from error
