"""Many speakers as one set of emotions: each speaker prepared and normalized, then pooled per emotion.

:func:`prepare_speakers` prepares every speaker's emotions as a two-emotion model would
(:func:`~emocore.data.extraction.prepare_domains`: same feature cache, same held-out words, statistics on the
training split), fits the :class:`~emocore.dsp.speaker_norm.SpeakerNormalizer` on the speakers' statistics,
normalizes each speaker's utterances with that speaker's own neutral statistics, and pools them per emotion.
Each pooled emotion is a :class:`~emocore.data.extraction.DomainData` like any other, so the training loop draws
crops from it as usual; its ``sample_weights`` make every speaker equally likely, however many recordings they have
(TESS has 160 words per emotion and speaker, RAVDESS 4 to 8 files), or with ``balance="corpus"`` every corpus
equally likely and its speakers equally within it (the default speakers: TESS's two get half of the crops, not 2/14).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from emocore.config import BALANCES, FeatureConfig
from emocore.data.datasets import Domain
from emocore.data.extraction import DomainData, prepare_domains
from emocore.dsp.prosody import DomainStats
from emocore.dsp.speaker_norm import SpeakerNormalizer
from emocore.exceptions import ParameterError

#: held out of the multi-speaker model and of the speaker-independent judges: two men (odd ids) and two women
HELD_OUT_ACTORS = ("Actor_13", "Actor_14", "Actor_15", "Actor_16")
#: the emotions of the shipped multi-speaker model, in its order
DEFAULT_EMOTIONS = ("neutral", "angry", "happy", "sad")
#: share of texts held out per corpus: TESS's words as for the per-pair models; RAVDESS has two sentences only,
#: so its training actors train on both and its held-out actors are the test
VAL_FRACTIONS = {"tess": 0.1, "ravdess": 0.0}


@dataclass(frozen=True)
class Speaker:
    """One speaker of a corpus, e.g. ``Speaker("tess", "OAF")``; ``str()`` gives ``"tess:OAF"``."""

    corpus: str
    name: str

    def __str__(self) -> str:
        return f"{self.corpus}:{self.name}"

    @classmethod
    def parse(cls, spec: str) -> "Speaker":
        corpus, sep, name = spec.partition(":")
        if not sep or not corpus or not name:
            raise ParameterError(f"a speaker is 'corpus:name' (e.g. tess:OAF, ravdess:Actor_01), got {spec!r}")
        return cls(corpus, name)


def default_speakers(held_out: Sequence[str] = HELD_OUT_ACTORS) -> list[Speaker]:
    """TESS's two speakers and the RAVDESS actors not in ``held_out``."""
    return [Speaker("tess", "OAF"), Speaker("tess", "YAF")] + [
        Speaker("ravdess", f"Actor_{i:02d}") for i in range(1, 17) if f"Actor_{i:02d}" not in held_out]


def parse_speakers(specs: Sequence[str]) -> list[Speaker]:
    """``["default"]`` -> :func:`default_speakers`; otherwise each ``"corpus:name"`` through :meth:`Speaker.parse`.

    Raises:
        ParameterError: no speaker, or a spec that is not ``corpus:name``.
    """
    specs = [specs] if isinstance(specs, str) else list(specs)
    if not specs:
        raise ParameterError("no speaker given: 'default' or corpus:name entries such as tess:OAF")
    return default_speakers() if specs == ["default"] else [Speaker.parse(spec) for spec in specs]


def speakers_tag(speakers: Sequence[Speaker]) -> str:
    """A short name for a set of speakers, for folder names: ``"default"`` for :func:`default_speakers`, the names
    joined by ``+`` for up to three (``"OAF+Actor_01"``), otherwise ``"<n>speakers-<hash of the set>"``."""
    keys = sorted(str(s) for s in set(speakers))
    if keys == sorted(str(s) for s in default_speakers()):
        return "default"
    if len(keys) <= 3:
        return "+".join(key.partition(":")[2] for key in keys)
    return f"{len(keys)}speakers-{hashlib.sha1(','.join(keys).encode()).hexdigest()[:8]}"


@dataclass
class SpeakerData:
    """What :func:`prepare_speakers` returns.

    Attributes:
        emotions (list[DomainData]): one per emotion, pooled over speakers, speaker-normalized, with
            ``sample_weights`` and ``speaker_norm`` set: what :func:`emocore.training.train` takes.
        per_speaker (dict): ``{speaker: {emotion: DomainData}}``, unnormalized, as prepared.
        normalizer (SpeakerNormalizer): fitted on the training splits.
    """

    emotions: list[DomainData]
    per_speaker: dict[str, dict[str, DomainData]]
    normalizer: SpeakerNormalizer


def pooled_domain(speakers: Sequence[Speaker], emotion: str) -> Domain:
    """The :class:`Domain` naming a pooled emotion, e.g. ``ravdess+tess-angry`` (a name only: not listable)."""
    return Domain(corpus="+".join(sorted({s.corpus for s in speakers})), emotion=emotion)


def prepare_speakers(speakers: Sequence[Speaker], emotions: Sequence[str], cfg: FeatureConfig,
                     processed_dir: str | Path, *, reference: str = "neutral",
                     val_fractions: Mapping[str, float] = VAL_FRACTIONS, seed: int = 0,
                     max_utterances: int | None = None, n_jobs: int | None = None, balance: str = "speaker",
                     corpora_root: str | Path | None = None, progress: bool = True) -> SpeakerData:
    """Prepare, normalize and pool the ``emotions`` of several speakers for one multi-speaker model.

    Args:
        speakers: e.g. :func:`default_speakers`.
        emotions: the model's emotions in its order; ``reference`` among them.
        val_fractions: share of texts held out per corpus (:data:`VAL_FRACTIONS`; a corpus not named: 0.1).
        max_utterances: per speaker and emotion, for smoke runs.
        balance: ``"speaker"``: every speaker's crops equally likely; ``"corpus"``: every corpus's, and its speakers'
            equally within it.

    Raises:
        ParameterError: fewer than two speakers or emotions, ``reference`` not among the emotions, or an unknown
            ``balance``.
        DatasetError: a speaker's emotion cannot be listed or has no usable file.
    """
    if balance not in BALANCES:
        raise ParameterError(f"balance must be one of {', '.join(BALANCES)}, got {balance!r}")
    emotions, speakers = list(emotions), list(speakers)
    if len(emotions) < 2 or reference not in emotions:
        raise ParameterError(f"need at least 2 emotions including the reference {reference!r}, got {emotions}")
    if len(set(speakers)) < 2:
        raise ParameterError(f"a model of many speakers needs at least 2 different speakers, got {len(set(speakers))}")
    per_speaker = {}
    for speaker in speakers:
        domains = [Domain(speaker.corpus, speaker.name, emotion) for emotion in emotions]
        prepared = prepare_domains(domains, cfg, processed_dir, val_fraction=val_fractions.get(speaker.corpus, 0.1),
                                   seed=seed, max_utterances=max_utterances, n_jobs=n_jobs,
                                   corpora_root=corpora_root, progress=progress)
        per_speaker[str(speaker)] = {d.domain.emotion: d for d in prepared.values()}
    stats = {(s, e): d.stats for s, by_emotion in per_speaker.items() for e, d in by_emotion.items()}
    utterances = {(s, e): [f for _, f in d.train] for s, by_emotion in per_speaker.items() for e, d in by_emotion.items()}
    normalizer = SpeakerNormalizer.fit(stats, reference).with_contours(utterances, cfg.frame_period_ms)
    pooled = [_pool(speakers, emotion, per_speaker, normalizer, balance) for emotion in emotions]
    return SpeakerData(pooled, per_speaker, normalizer)


def prepare_emotions(speakers: Sequence[Speaker], emotions: Sequence[str], cfg: FeatureConfig,
                     processed_dir: str | Path, *, max_utterances: int | None = None, n_jobs: int | None = None,
                     balance: str = "speaker", corpora_root: str | Path | None = None,
                     progress: bool = True) -> list[DomainData]:
    """The training data of a model, one :class:`DomainData` per emotion in order, for one speaker or many.

    One speaker: that speaker's emotions as :func:`~emocore.data.extraction.prepare_domains` prepares them (what
    the per-pair models train on). Several: :func:`prepare_speakers`'s pooled, speaker-normalized emotions (what a
    multi-speaker model such as EmoStarGAN trains on; ``balance`` as there). Either way TESS holds out the same words.
    """
    speakers = list(speakers)
    if len(set(speakers)) > 1:
        return prepare_speakers(speakers, emotions, cfg, processed_dir, max_utterances=max_utterances, n_jobs=n_jobs,
                                balance=balance, corpora_root=corpora_root, progress=progress).emotions
    if not speakers:
        raise ParameterError("no speaker given")
    domains = [Domain(speakers[0].corpus, speakers[0].name, emotion) for emotion in emotions]
    prepared = prepare_domains(domains, cfg, processed_dir, max_utterances=max_utterances, n_jobs=n_jobs,
                               corpora_root=corpora_root, progress=progress)
    return [prepared[d.name] for d in domains]


def _pool(speakers: Sequence[Speaker], emotion: str, per_speaker: dict[str, dict[str, DomainData]],
          normalizer: SpeakerNormalizer, balance: str = "speaker") -> DomainData:
    train, validation, weights, failures = [], [], [], []
    corpus_of = {str(s): s.corpus for s in speakers}
    per_corpus = Counter(corpus_of[key] for key in per_speaker)  # speakers of each corpus
    for key, by_emotion in per_speaker.items():
        data = by_emotion[emotion]
        share = 1.0 / per_corpus[corpus_of[key]] if balance == "corpus" else 1.0  # of its corpus, or of all
        train += data.train
        validation += data.validation
        weights += [share / len(data.train)] * len(data.train)
        failures += data.failures
    refs = {key: by_emotion[normalizer.reference].stats for key, by_emotion in per_speaker.items()}
    domain = pooled_domain(speakers, emotion)
    pooled = DomainData(domain, train, validation, None, failures, sample_weights=weights, speaker_norm=normalizer,
                        speaker_refs=refs, balance=balance)
    pooled.stats = DomainStats.fit(domain.name, pooled.network_features("train"))
    return pooled
