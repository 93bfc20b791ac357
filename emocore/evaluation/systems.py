"""The systems scored: the reference systems every report carries, and the conversions of a trained model.

:func:`reference_items` gives the unconverted ``source`` and the real ``target`` recording;
:func:`write_prosody_references` writes the published baselines, the log-Gaussian ``f0-only`` and
``f0+power`` transforms (:func:`convert_prosody_only`); :func:`write_model_conversions` converts a trained
model's held-out words. Each returns :class:`~emocore.evaluation.manifest.EvalItem` objects to score.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emocore.config import FeatureConfig
from emocore.data.datasets import Domain, Utterance, list_utterances
from emocore.dsp import audio, features, prosody
from emocore.evaluation.judge import corpus_held_out_text_ids
from emocore.evaluation.manifest import TARGET_SYSTEM, EvalItem
from emocore.exceptions import ParameterError


def _pair_reference(source: Utterance, targets: list[Utterance]) -> Utterance | None:
    """The target recording of the same text, preferring the same RAVDESS intensity and repetition."""
    same_text = [t for t in targets if t.text_id == source.text_id]
    if not same_text:
        return None
    return min(same_text, key=lambda t: (t.repetition != source.repetition, t.intensity != source.intensity,
                                         str(t.path)))


def reference_items(corpus: str, speaker: str, source_emotion: str, target_emotion: str, *,
                    text_ids: Iterable[str] | None = None, val_fraction: float = 0.1, seed: int = 0,
                    root: str | Path | None = None) -> list[EvalItem]:
    """The ``"source"`` and ``"target"`` reference rows for one speaker and emotion pair, no model needed.

    ``source`` scores the unconverted source-emotion recording (against the real target recording of
    the same text); ``target`` scores the real target recording itself (its reference-based metrics
    are ``nan``: it *is* the reference). Only texts recorded in both emotions are used.

    Args:
        text_ids: the texts to use; ``None`` for the corpus's held-out words (:func:`corpus_held_out_text_ids`).

    Returns:
        list[EvalItem]: the ``source`` items then the ``target`` items, each sorted by text.
    """
    wanted = (corpus_held_out_text_ids(corpus, val_fraction=val_fraction, seed=seed, root=root)
              if text_ids is None else frozenset(text_ids))
    sources = [u for u in list_utterances(corpus, speaker, source_emotion, root=root) if u.text_id in wanted]
    targets = [u for u in list_utterances(corpus, speaker, target_emotion, root=root) if u.text_id in wanted]
    source_rows, target_rows, used = [], [], set()
    for src in sources:
        ref = _pair_reference(src, targets)
        if ref is None:
            continue
        common = dict(speaker=speaker, source_emotion=source_emotion, target_emotion=target_emotion,
                      text_id=src.text_id, source_path=src.path)
        source_rows.append(EvalItem(system="source", path=src.path, reference_path=ref.path, **common))
        if ref.path not in used:
            used.add(ref.path)
            target_rows.append(EvalItem(system=TARGET_SYSTEM, path=ref.path, reference_path=None, **common))
    return source_rows + target_rows


def convert_prosody_only(wav: np.ndarray, src_stats: prosody.DomainStats, tgt_stats: prosody.DomainStats,
                         cfg: FeatureConfig, *, power: bool = False) -> np.ndarray:
    """The published baseline: log-Gaussian F0 transform (and, with ``power``, the power envelope), MCEPs copied.

    The same path as :meth:`emocore.conversion.ConversionModel.convert_wav` with ``mcep=False``, without
    needing a trained generator.

    Args:
        wav (ndarray): source waveform at ``cfg.sr``, shape ``(n_samples,)``.
        src_stats, tgt_stats: domain statistics fitted on training words.

    Returns:
        ndarray: converted waveform, shape ``(n_samples,)``.
    """
    feats = features.extract_features(audio.validate_wav(wav, cfg.sr), cfg)
    return _synthesize_prosody_only(feats, src_stats=src_stats, tgt_stats=tgt_stats, cfg=cfg, power=power)


def _synthesize_prosody_only(feats: features.WorldFeatures, *, src_stats: prosody.DomainStats,
                             tgt_stats: prosody.DomainStats, cfg: FeatureConfig, power: bool) -> np.ndarray:
    converted = prosody.convert_prosody(feats, src_stats, tgt_stats, f0=True, power=power)
    return features.synthesize_features(converted, cfg, apply_log_power=power)


def write_prosody_references(corpus: str, speaker: str, source_emotion: str, target_emotion: str,
                             out_dir: str | Path, *, cfg: FeatureConfig = FeatureConfig(),
                             processed_dir: str | Path | None = None, val_fraction: float = 0.1, seed: int = 0,
                             root: str | Path | None = None, n_jobs: int | None = None,
                             max_utterances: int | None = None, progress: bool = False) -> list[EvalItem]:
    """Write ``f0-only`` and ``f0+power`` conversions of the held-out source words, and return their items.

    The statistics are fitted on the training words of both domains by
    :func:`emocore.extraction.prepare_domains` (cached under ``processed_dir``), exactly as a conversion
    model's are. Files go to ``<out_dir>/<system>/<speaker>_<text>_<source>2<target>.wav``.

    Args:
        cfg: the analysis and synthesis settings (those of the models compared against).
        max_utterances: per domain and split, as in :func:`~emocore.extraction.prepare_domains` (smoke runs).
    """
    from emocore import paths
    from emocore.data.extraction import prepare_domains

    domains = [Domain(corpus, speaker, source_emotion), Domain(corpus, speaker, target_emotion)]
    prepared = prepare_domains(domains, cfg, processed_dir or paths.processed_dir(), val_fraction=val_fraction,
                               seed=seed, max_utterances=max_utterances, n_jobs=n_jobs, corpora_root=root,
                               progress=progress)
    src, tgt = (prepared[d.name] for d in domains)
    systems = {system: functools.partial(_synthesize_prosody_only, src_stats=src.stats, tgt_stats=tgt.stats, cfg=cfg,
                                         power=power)
               for system, power in (("f0-only", False), ("f0+power", True))}
    return _write_held_out_conversions(src, tgt, systems, out_dir, cfg.sr, progress=progress)


def _write_held_out_conversions(src, tgt, systems: Mapping[str, Callable], out_dir: str | Path, sr: int, *,
                                progress: bool = False) -> list[EvalItem]:
    """Convert each held-out source utterance with every system and write it with its :class:`EvalItem`.

    Args:
        src, tgt (DomainData): the prepared source and target domains; their ``validation`` splits are used.
        systems: ``system name -> convert(features) -> waveform (n_samples,)``.

    Returns:
        list[EvalItem]: files at ``<out_dir>/<system>/<speaker>_<text>_<source>2<target>.wav``; a file that would
        clip is scaled to a peak of 0.99. A RAVDESS file name adds the intensity and repetition.
    """
    targets = [u for u, _ in tgt.validation]
    items = []
    for utt, feats in tqdm(src.validation, desc=f"{src.name} -> {tgt.domain.emotion}", disable=not progress):
        ref = _pair_reference(utt, targets)
        for system, convert in systems.items():
            out = convert(feats)
            peak = float(np.max(np.abs(out)))
            take = f"-{utt.intensity}-{utt.repetition}" if utt.repetition else ""  # RAVDESS says each text 2-4 times
            name = f"{utt.speaker}_{utt.text_id}{take}_{utt.emotion}2{tgt.domain.emotion}.wav"
            path = audio.save_wav(Path(out_dir) / system / name, out * (0.99 / peak) if peak > 0.99 else out, sr)
            items.append(EvalItem(system=system, path=path, speaker=utt.speaker, source_emotion=utt.emotion,
                                  target_emotion=tgt.domain.emotion, text_id=utt.text_id, source_path=utt.path,
                                  reference_path=None if ref is None else ref.path))
    return items


def write_model_conversions(model_dir: str | Path, out_dir: str | Path, *, system: str | None = None,
                            direction="A2B", checkpoint: str | Path | None = None,
                            processed_dir: str | Path | None = None, max_utterances: int | None = None,
                            root: str | Path | None = None, progress: bool = False, **switches) -> list[EvalItem]:
    """Convert the held-out words of a trained model's source emotion and return their items.

    The emotions, their split and the feature settings come from the model folder's run record
    (:func:`emocore.record.read_record`), so the words converted are exactly the ones the model never saw.

    Args:
        model_dir: a folder written by :func:`emocore.training.train`.
        system: the name in the tables (default: ``"emo" + model_type``, e.g. ``"emocyclegan"``).
        direction: ``(source, target)`` emotions of the model, or ``"A2B"`` (emotion 0 to 1) / ``"B2A"``.
        checkpoint: convert with a training checkpoint instead of the final weights.
        switches: ``f0``, ``power``, ``mcep`` (and style options), passed to ``convert_features``.
    """
    from emocore import paths
    from emocore.conversion import ConversionModel
    from emocore.data.extraction import prepare_domains

    model = ConversionModel.load(model_dir, checkpoint=checkpoint)
    source, target = model.emotion_pair(direction)
    entries = [model.record.emotions[e.index] for e in (source, target)]
    domains = [Domain(corpus=e.corpus, speaker=e.speaker, emotion=e.emotion) for e in entries]
    prepared = prepare_domains(domains, model.feature_cfg, processed_dir or paths.processed_dir(),
                               max_utterances=max_utterances, corpora_root=root, progress=progress)
    src, tgt = (prepared[d.name] for d in domains)
    recorded = entries[0].validation_text_ids  # written by training since it was added
    if recorded:  # convert exactly the words the model held out
        missing = set(recorded) - {u.text_id for u, _ in src.validation}
        if missing and max_utterances is None:
            raise ParameterError(f"{model_dir} held out words outside the default split ({sorted(missing)[:5]}); "
                                 "evaluate it with the split it was trained with")
        src.validation = [(u, f) for u, f in src.validation if u.text_id in set(recorded)]

    def convert(feats):
        return model.convert_analyzed(feats, direction, **switches)

    name = system or f"emo{model.model_type}"
    return _write_held_out_conversions(src, tgt, {name: convert}, out_dir, model.feature_cfg.sr, progress=progress)


def parse_reference_spec(spec: str) -> list[tuple[str, str, str, str]]:
    """``"tess:OAF:neutral:angry,happy"`` -> ``[("tess", "OAF", "neutral", "angry"), ("tess", "OAF", "neutral", "happy")]``.

    Raises:
        ParameterError: not ``corpus:speaker:source:target[,target...]``.
    """
    parts = spec.split(":")
    if len(parts) != 4 or not all(parts):
        raise ParameterError(f"a reference is corpus:speaker:source_emotion:target_emotion[,...], got {spec!r}")
    corpus, speaker, source, targets = parts
    return [(corpus, speaker, source, target) for target in targets.split(",") if target]
