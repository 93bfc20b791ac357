"""Speaker identity: resemblyzer d-vectors and :class:`SpeakerVerifier`, speaker centroids over real recordings.

A conversion is scored by the cosine similarity of its d-vector (256-d, unit length) to its speaker's
centroid, and by whether the nearest centroid is the right speaker. :func:`build_corpus_verifier` enrolls
every speaker of some corpora from their training words only; :func:`load_or_build_verifier` keeps it on disk.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from emocore.data.datasets import Utterance, list_utterances, validation_text_ids
from emocore.dsp import audio
from emocore.evaluation.manifest import CACHE_VERSION, EVAL_SR, Item, _cached_vectors, _raise_first
from emocore.exceptions import DatasetError, ParameterError
from emocore.io import atomic_path

log = logging.getLogger(__name__)

EMBEDDING_KIND = f"resemblyzer-{EVAL_SR // 1000}k-v{CACHE_VERSION}"
EMBEDDING_DIM = 256
VERIFIER_FORMAT = 1


@functools.cache
def voice_encoder():
    """resemblyzer's pretrained ``VoiceEncoder`` on the CPU, loaded once per process (its weights ship in the wheel)."""
    with warnings.catch_warnings():  # webrtcvad imports pkg_resources
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


@contextlib.contextmanager
def _torch_one_thread():
    """Run torch on one thread, restoring the setting after: the encoder's small LSTM gains nothing from
    more, and on a busy 2-core machine two spinning threads made each embedding about 10x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _embed_batch(wavs: list[np.ndarray]) -> np.ndarray:
    if not wavs:
        return np.empty((0, EMBEDDING_DIM))
    with _torch_one_thread():
        return np.stack([speaker_embedding(wav, EVAL_SR) for wav in wavs])


def speaker_embedding(wav: np.ndarray, sr: int) -> np.ndarray:
    """resemblyzer d-vector of one waveform (volume-normalized and with long silences trimmed first).

    Args:
        wav (ndarray): shape ``(n_samples,)``.
        sr: its sample rate.

    Returns:
        ndarray: unit-length embedding, shape ``(256,)``.
    """
    encoder = voice_encoder()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from resemblyzer import preprocess_wav
    wav = audio.validate_wav(np.asarray(wav, dtype=np.float64), sr)
    trimmed = preprocess_wav(wav.astype(np.float32), source_sr=sr)
    if trimmed.size < EVAL_SR // 10:  # the VAD found (almost) no speech: embed the whole signal
        trimmed = audio.resample(wav, sr, EVAL_SR).astype(np.float32)
    with _torch_one_thread():
        return np.asarray(encoder.embed_utterance(trimmed), dtype=np.float64)


def speaker_embeddings(items: Sequence[Item], *, cache_dir: str | Path | None = None, on_error: str = "raise",
                       progress: bool = False) -> np.ndarray:
    """d-vectors of several utterances (items as in :func:`extract_egemaps`), shape ``(N, 256)``."""
    if on_error not in ("raise", "nan"):
        raise ParameterError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
    rows, errors = _cached_vectors(list(items), EMBEDDING_KIND, EMBEDDING_DIM, _embed_batch, cache_dir,
                                   progress=progress, desc="speaker embeddings")
    _raise_first(errors, on_error)
    return rows


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class SpeakerVerifier:
    """Speaker centroids of real recordings, to score a conversion's identity.

    Attributes:
        speakers: speaker names, sorted.
        centroids: unit-length mean embeddings, shape ``(n_speakers, 256)`` in :attr:`speakers` order.
        metadata: ``n_enrolled`` per speaker, ``excluded_text_ids``, ``corpora``.
    """

    def __init__(self, speakers: Sequence[str], centroids: np.ndarray, metadata: dict | None = None):
        centroids = np.asarray(centroids, dtype=np.float64)
        if centroids.shape != (len(speakers), EMBEDDING_DIM):
            raise ParameterError(f"need one {EMBEDDING_DIM}-d centroid per speaker, got {centroids.shape}")
        self.speakers = tuple(speakers)
        unit = np.allclose(np.linalg.norm(centroids, axis=1), 1.0, rtol=0, atol=1e-12)
        self.centroids = centroids if unit else _unit(centroids)  # a saved verifier loads back bit for bit
        self.metadata = dict(metadata or {})

    @classmethod
    def build(cls, utterances: Sequence[Utterance], *, max_per_speaker: int | None = 30,
              exclude_text_ids: Iterable[str] = (), cache_dir: str | Path | None = None,
              progress: bool = False) -> "SpeakerVerifier":
        """Enroll every speaker among ``utterances`` from up to ``max_per_speaker`` of their recordings.

        Recordings of ``exclude_text_ids`` (the held-out words conversions are scored on) are left out;
        the rest are taken evenly spaced over the speaker's recordings sorted by emotion and text, so
        every emotion contributes. Unusable files are skipped with a warning.

        Raises:
            ParameterError: a speaker is left with no usable recording.
        """
        excluded = frozenset(exclude_text_ids)
        by_speaker: dict[str, list[Utterance]] = {}
        for utt in sorted(utterances, key=lambda u: (u.speaker, u.emotion, u.text_id, str(u.path))):
            if utt.text_id not in excluded:
                by_speaker.setdefault(utt.speaker, []).append(utt)
        chosen = []
        for speaker, utts in by_speaker.items():
            if max_per_speaker is not None and len(utts) > max_per_speaker:
                utts = [utts[i] for i in np.unique(np.linspace(0, len(utts) - 1, max_per_speaker).round().astype(int))]
            chosen += utts
        x, errors = _cached_vectors(chosen, EMBEDDING_KIND, EMBEDDING_DIM, _embed_batch, cache_dir,
                                    progress=progress, desc="speaker enrollment")
        centroids, counts = [], {}
        speakers = sorted(by_speaker)
        for speaker in speakers:
            rows = [i for i, u in enumerate(chosen) if u.speaker == speaker and errors[i] is None]
            if not rows:
                raise ParameterError(f"speaker {speaker!r} has no usable enrollment recording")
            centroids.append(_unit(x[rows]).mean(axis=0))
            counts[speaker] = len(rows)
        for utt, error in zip(chosen, errors):
            if error is not None:
                log.warning("verifier: skipping %s: %s", utt.path, error)
        metadata = {"format": VERIFIER_FORMAT, "encoder": "resemblyzer VoiceEncoder (GE2E d-vector)",
                    "corpora": sorted({u.corpus for u in chosen}), "n_enrolled": counts,
                    "excluded_text_ids": sorted(excluded)}
        return cls(speakers, np.stack(centroids), metadata)

    def similarities(self, embedding: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``(256,)`` or ``(N, 256)`` embeddings to every centroid: ``(n_speakers,)`` / ``(N, n_speakers)``."""
        return _unit(np.asarray(embedding, dtype=np.float64)) @ self.centroids.T

    def score_embedding(self, embedding: np.ndarray, speaker: str) -> dict:
        """``speaker_similarity`` (cosine to ``speaker``'s centroid, ``nan`` if not enrolled), ``nearest_speaker``
        and ``nearest_speaker_correct`` (1.0 / 0.0, ``nan`` if not enrolled) for one ``(256,)`` embedding."""
        embedding = np.asarray(embedding, dtype=np.float64)
        if not np.all(np.isfinite(embedding)):
            return {"speaker_similarity": np.nan, "nearest_speaker": "", "nearest_speaker_correct": np.nan}
        sims = self.similarities(embedding)
        nearest = self.speakers[int(np.argmax(sims))]
        known = speaker in self.speakers
        return {"speaker_similarity": float(sims[self.speakers.index(speaker)]) if known else np.nan,
                "nearest_speaker": nearest, "nearest_speaker_correct": float(nearest == speaker) if known else np.nan}

    def score(self, wav: np.ndarray, sr: int, speaker: str) -> dict:
        """:meth:`score_embedding` of a waveform ``(n_samples,)`` at ``sr``."""
        return self.score_embedding(speaker_embedding(wav, sr), speaker)

    def save(self, path: str | Path) -> Path:
        """Write speakers, centroids and metadata with joblib (atomically); returns ``path``."""
        import joblib

        with atomic_path(path) as tmp:
            joblib.dump({"format": VERIFIER_FORMAT, "speakers": list(self.speakers), "centroids": self.centroids,
                         "metadata": self.metadata}, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "SpeakerVerifier":
        """Read a verifier written by :meth:`save`."""
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("format") != VERIFIER_FORMAT or "centroids" not in data:
            raise ParameterError(f"{path} is not an emocore speaker verifier (format {VERIFIER_FORMAT})")
        return cls(data["speakers"], data["centroids"], data["metadata"])

    def __repr__(self) -> str:
        return f"SpeakerVerifier({len(self.speakers)} speakers: {', '.join(self.speakers[:6])}{'...' * (len(self.speakers) > 6)})"


def build_corpus_verifier(corpora: Sequence[str] = ("tess", "ravdess"), *, max_per_speaker: int | None = 30,
                          val_fraction: float = 0.1, seed: int = 0, root: str | Path | None = None,
                          cache_dir: str | Path | None = None, progress: bool = False) -> SpeakerVerifier:
    """A verifier enrolling every speaker of the given corpora (those present) from their training words only."""
    utterances, excluded = [], set()
    for corpus in corpora:
        try:
            utts = list_utterances(corpus, root=root)
        except DatasetError as error:
            log.warning("verifier: leaving out %s (%s)", corpus, error)
            continue
        held_out = validation_text_ids({u.text_id for u in utts}, val_fraction, seed)
        excluded |= {f"{corpus}:{t}" for t in held_out}
        utterances += [u for u in utts if u.text_id not in held_out]
    if not utterances:
        raise DatasetError(f"none of the corpora {', '.join(corpora)} was found")
    verifier = SpeakerVerifier.build(utterances, max_per_speaker=max_per_speaker, cache_dir=cache_dir,
                                     progress=progress)
    verifier.metadata["excluded_text_ids"] = sorted(excluded)
    return verifier



def default_verifier_path(corpora: Sequence[str], *, max_per_speaker: int | None = 30, val_fraction: float = 0.1,
                          seed: int = 0) -> Path:
    """Where :func:`load_or_build_verifier` keeps a verifier, under ``data/models/verifiers/``."""
    from emocore import paths

    return (paths.models_dir() / "verifiers"
            / f"{'_'.join(corpora)}-max{max_per_speaker or 'all'}-val{val_fraction:g}-seed{seed}.joblib")


def load_or_build_verifier(path: str | Path, corpora: Sequence[str] = ("tess", "ravdess"), **kwargs
                           ) -> "SpeakerVerifier":
    """The verifier saved at ``path``, or a new :func:`build_corpus_verifier` saved there when there is none."""
    path = Path(path)
    if path.is_file():
        return SpeakerVerifier.load(path)
    verifier = build_corpus_verifier(corpora, **kwargs)
    verifier.save(path)
    return verifier
