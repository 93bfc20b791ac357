"""Feature extraction over many files: all cores, an on-disk cache, progress bars, no crash on bad files.

The cache lives in ``<cache_root>/<config_key>/features/<sha256 of file bytes>.npz``: the key covers the
file's *content* (a renamed or copied file hits the cache; an edited one misses) and every field of the
:class:`~emocore.config.FeatureConfig` (changing the F0 method or MCEP order misses), plus
``FEATURE_VERSION``, which is bumped whenever the extraction code changes what it produces.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from emocore.config import FeatureConfig, to_json
from emocore.data.datasets import Domain, Utterance, validation_text_ids
from emocore.dsp import audio, features
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import AudioError, DatasetError, EmocoreError
from emocore.io import file_digest, write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

    from emocore.dsp.speaker_norm import SpeakerNormalizer

log = logging.getLogger(__name__)

FEATURE_VERSION = 1


@dataclass(frozen=True)
class ExtractionFailure:
    """A file that could not be turned into features, and why."""

    path: str
    reason: str


def config_key(cfg: FeatureConfig) -> str:
    """Readable, collision-safe folder name for a feature config, e.g. ``harvest-world24-16k-3f2a9c1e``."""
    digest = hashlib.sha256(json.dumps({**asdict(cfg), "version": FEATURE_VERSION}, sort_keys=True).encode())
    return f"{cfg.f0_method}-{cfg.mcep_method}{cfg.mcep_dim}-{cfg.sr // 1000}k-{digest.hexdigest()[:8]}"


def _as_path(item) -> Path:
    return Path(getattr(item, "path", item))


def extract_file(path: str | Path, cfg: FeatureConfig, cache_dir: str | Path | None = None) -> features.WorldFeatures:
    """Features of one audio file, read from or written to the cache when ``cache_dir`` is given.

    Raises:
        AudioError: the file cannot be used (see :func:`emocore.dsp.audio.load_wav`).
    """
    if not Path(path).is_file():
        raise AudioError(path, "no such file")
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / config_key(cfg) / "features" / f"{file_digest(path)}.npz"
        if cached.is_file():
            try:
                return features.WorldFeatures.load(cached)
            except Exception as error:  # noqa: BLE001 - a damaged cache entry is recomputed, not fatal
                log.warning("ignoring unreadable cache entry %s (%s)", cached, error)
    wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
    feats = features.extract_features(wav, cfg)
    if cached is not None:
        feats.save(cached)
    return feats


def _extract_or_fail(path: str, cfg: FeatureConfig, cache_dir):
    try:
        return path, extract_file(path, cfg, cache_dir), None
    except EmocoreError as error:
        return path, None, str(getattr(error, "reason", error))
    except Exception as error:  # noqa: BLE001 - a worker must report, never take the batch down
        return path, None, f"{type(error).__name__}: {error}"


def extract_many(items: Iterable, cfg: FeatureConfig, cache_dir: str | Path | None = None, *,
                 n_jobs: int | None = None, progress: bool = True, desc: str = "WORLD features"
                 ) -> tuple[dict[str, features.WorldFeatures], list[ExtractionFailure]]:
    """Extract features for many files in parallel.

    Args:
        items: paths, or objects with a ``.path`` (e.g. :class:`emocore.data.datasets.Utterance`).
        cfg: feature settings.
        cache_dir: cache root (``None``: no cache).
        n_jobs: worker processes (default: all cores); 1 runs in this process.
        progress: show a tqdm bar.

    Returns:
        tuple: ``{str(path): WorldFeatures}`` in input order for the files that worked, and one
        :class:`ExtractionFailure` per file that did not (each also logged as a warning).
    """
    paths = [str(_as_path(item)) for item in items]
    n_jobs = n_jobs or os.cpu_count() or 1
    results: dict[str, features.WorldFeatures] = {}
    failures: list[ExtractionFailure] = []

    def collect(path, feats, reason):
        if feats is None:
            failures.append(ExtractionFailure(path, reason))
            log.warning("skipping %s: %s", path, reason)
        else:
            results[path] = feats

    bar = tqdm(total=len(paths), desc=desc, unit="file", disable=not progress)
    if n_jobs == 1 or len(paths) <= 1:
        for path in paths:
            collect(*_extract_or_fail(path, cfg, cache_dir))
            bar.update()
    else:
        # forkserver: safe even when the parent has TensorFlow loaded, and cheaper than spawn.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=min(n_jobs, len(paths)), mp_context=context) as pool:
            futures = [pool.submit(_extract_or_fail, path, cfg, cache_dir) for path in paths]
            for future in as_completed(futures):
                collect(*future.result())
                bar.update()
    bar.close()
    ordered = {path: results[path] for path in paths if path in results}
    return ordered, failures


@dataclass
class DomainData:
    """One domain after preprocessing: its utterances with features, split by text, and its statistics.

    Attributes:
        train, validation: ``(Utterance, WorldFeatures)`` pairs; no text appears in both.
        stats: fitted on the training split only, so held-out words never leak into a model. For a domain
            pooled over speakers, fitted on the speaker-normalized training features.
        failures: files that were skipped, with the reason.
        sample_weights: relative chance of each training utterance being drawn for a training crop (``None``:
            uniform); a domain pooled over speakers gives each speaker the same share, or each corpus
            (:func:`emocore.data.speakers.prepare_speakers`, ``balance``).
        speaker_norm: for a domain pooled over speakers, the normalization of its features by their speaker
            (``None`` for one speaker's domain).
        speaker_refs: for a pooled domain, each speaker's reference statistics (``"corpus:speaker"`` keys).
        balance: for a pooled domain, what its ``sample_weights`` balance: ``"speaker"`` or ``"corpus"``.
    """

    domain: Domain
    train: list[tuple[Utterance, features.WorldFeatures]]
    validation: list[tuple[Utterance, features.WorldFeatures]]
    stats: DomainStats
    failures: list[ExtractionFailure]
    sample_weights: list[float] | None = None
    speaker_norm: SpeakerNormalizer | None = None
    speaker_refs: dict[str, DomainStats] | None = None
    balance: str | None = None

    @property
    def name(self) -> str:
        return self.domain.name

    def network_features(self, split: str = "train") -> list[features.WorldFeatures]:
        """The features of ``split`` (``"train"`` or ``"validation"``) in the space the networks are trained in:
        speaker-normalized for a domain pooled over speakers (:meth:`SpeakerNormalizer.normalize`), as
        extracted otherwise. The pairs in :attr:`train` and :attr:`validation` stay as extracted, so a
        validation conversion starts from what a user's file would give."""
        pairs = getattr(self, split)
        if self.speaker_norm is None:
            return [f for _, f in pairs]
        return [self.speaker_norm.normalize(f, self.speaker_refs[f"{u.corpus}:{u.speaker}"]) for u, f in pairs]


def prepare_domains(domains: list[Domain], cfg: FeatureConfig, processed_dir: str | Path, *,
                    val_fraction: float = 0.1, seed: int = 0, max_utterances: int | None = None,
                    n_jobs: int | None = None, corpora_root: str | Path | None = None,
                    progress: bool = True) -> dict[str, DomainData]:
    """Extract, split and summarise several domains, as the preprocessing step of a conversion.

    The validation texts are chosen once from the union of all domains' texts, so the same words are
    held out on both sides of a conversion pair. Writes, under ``<processed_dir>/<config_key(cfg)>/``:
    ``feature_config.json``, ``stats/<domain>.json`` and ``splits/<domain>.json`` (file lists).

    Args:
        domains: e.g. ``[Domain("tess", "OAF", "neutral"), Domain("tess", "OAF", "angry")]``.
        max_utterances: keep at most this many training and this many validation utterances per
            domain (the first in sorted order): for smoke runs.

    Returns:
        dict: ``domain name -> DomainData``, in the order given.

    Raises:
        DatasetError: a domain cannot be listed, or is left without one usable training utterance (every
            file failed, e.g. not audio, or every text is held out); the message names its folder or domain.
    """
    root = Path(processed_dir) / config_key(cfg)
    listed = {d.name: d.utterances(corpora_root) for d in domains}
    to_json(cfg, root / "feature_config.json")
    held_out = validation_text_ids({u.text_id for utts in listed.values() for u in utts}, val_fraction, seed)
    prepared = {}
    for domain in domains:
        utts = listed[domain.name]
        train = [u for u in utts if u.text_id not in held_out][:max_utterances]
        validation = [u for u in utts if u.text_id in held_out][:max_utterances]
        feats, failures = extract_many(train + validation, cfg, processed_dir, n_jobs=n_jobs, progress=progress,
                                       desc=domain.name)
        train_pairs = [(u, feats[str(u.path)]) for u in train if str(u.path) in feats]
        val_pairs = [(u, feats[str(u.path)]) for u in validation if str(u.path) in feats]
        if not train_pairs:
            raise _no_training_data(domain, train, failures)
        stats = DomainStats.fit(domain.name, [f for _, f in train_pairs])
        stats.save(root / "stats" / f"{domain.name}.json")
        split = {"train": [str(u.path) for u, _ in train_pairs], "validation": [str(u.path) for u, _ in val_pairs],
                 "failed": [asdict(f) for f in failures]}
        write_text_atomic(root / "splits" / f"{domain.name}.json", json.dumps(split, indent=1) + "\n")
        prepared[domain.name] = DomainData(domain, train_pairs, val_pairs, stats, failures)
    return prepared


def _no_training_data(domain: Domain, train: list[Utterance], failures: list[ExtractionFailure],
                      n_reasons: int = 3) -> DatasetError:
    """The error of a domain without a usable training utterance: its folder (or name), and the first reasons."""
    where = str(domain.directory) if domain.directory is not None else f"domain {domain.name}"
    if not train:
        return DatasetError(f"{where}: every text is held out for validation, none is left to train on; "
                            "lower val_fraction (--val-fraction) or add recordings")
    reason_of = {f.path: f.reason for f in failures}
    bad = [(u.path, reason_of[str(u.path)]) for u in train if str(u.path) in reason_of]  # in file order
    reasons = "; ".join(f"{Path(path).name}: {reason}" for path, reason in bad[:n_reasons])
    more = f"; and {len(bad) - n_reasons} more" if len(bad) > n_reasons else ""
    return DatasetError(f"{where}: none of the {len(train)} files it would train on could be used ({reasons}{more}); "
                        "give a folder of speech recordings")


def summary_table(prepared: dict[str, DomainData]) -> "pd.DataFrame":
    """One row per domain: speakers, utterance counts and the log-F0 / power statistics of its training split.

    A pooled multi-speaker domain's own ``stats`` describe its speaker-normalized features; the row gives those of
    the recordings as extracted, like every other row.
    """
    import numpy as np
    import pandas as pd

    rows = []
    for name, data in prepared.items():
        stats = data.stats if data.speaker_norm is None else DomainStats.fit(name, [f for _, f in data.train])
        rows.append({
            "domain": name, "emotion": data.domain.emotion,
            "speakers": len({(u.corpus, u.speaker) for u, _ in data.train + data.validation}),
            "train": len(data.train), "validation": len(data.validation), "failed": len(data.failures),
            "f0_geomean_hz": float(np.exp(stats.log_f0.mean)), "log_f0_std": stats.log_f0.std,
            "log_power_mean": stats.log_power.mean, "log_power_std": stats.log_power.std})
    return pd.DataFrame(rows)


def voiced_frames_table(prepared: dict[str, DomainData], split: str = "train") -> "pd.DataFrame":
    """Every voiced frame of a split as a row: ``domain, emotion, utterance, log_f0, log_power``.

    The tidy input seaborn wants for per-emotion distributions.
    """
    import numpy as np
    import pandas as pd

    parts = []
    for name, data in prepared.items():
        for utt, feats in getattr(data, split):
            voiced = feats.voiced
            parts.append(pd.DataFrame({"domain": name, "emotion": utt.emotion, "utterance": utt.uid,
                                       "log_f0": np.log(feats.f0_hz[voiced]), "log_power": feats.log_power[voiced]}))
    return pd.concat(parts, ignore_index=True)


def shared_text_ids(prepared: dict[str, DomainData], split: str = "train") -> list[str]:
    """Texts present in ``split`` of every domain, sorted: the words to compare emotions on."""
    sets = [{u.text_id for u, _ in getattr(data, split)} for data in prepared.values()]
    return sorted(set.intersection(*sets)) if sets else []


def features_of_text(data: DomainData, text_id: str,
                     speaker: str | None = None) -> tuple[Utterance, features.WorldFeatures]:
    """The first utterance of ``text_id`` in a domain (training split first, then validation), by ``speaker`` if
    given (a pooled multi-speaker domain holds several speakers' recordings of a word)."""
    for utt, feats in data.train + data.validation:
        if utt.text_id == text_id and speaker in (None, utt.speaker):
            return utt, feats
    raise KeyError(f"{data.name} has no utterance of text {text_id!r}" + (f" by {speaker}" if speaker else ""))
