"""Scoring converted utterances: every score of every item, one tidy row each (:func:`evaluate_pairs`).

Every converted utterance is scored four ways, each by a model or measure that never saw the conversion
system's training signal:

- **Emotion**: :class:`~emocore.evaluation.judge.EmotionJudge` (eGeMAPS functionals, a scikit-learn
  classifier trained on real recordings only), next to its ceiling on held-out real speech.
- **Speaker identity**: :class:`~emocore.evaluation.speaker.SpeakerVerifier` (resemblyzer d-vectors;
  similarity to the speaker's centroid, and whether the nearest centroid is the right speaker).
- **Naturalness**: DNSMOS P.835 (:mod:`emocore.evaluation.quality`).
- **Against the real target-emotion recording of the same text**: MCD, F0 RMSE, log-F0 Pearson
  correlation and V/UV error (:mod:`emocore.evaluation.reference`).

:func:`evaluate_pairs` (a list of :class:`~emocore.evaluation.manifest.EvalItem`) and :func:`evaluate_folder`
(a folder with a ``manifest.csv``) return :data:`TABLE_COLUMNS`, ``nan`` where a score was not measured.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from emocore.config import FeatureConfig
from emocore.dsp.vocoders import MEASURE_CONFIG
from emocore.evaluation.judge import EmotionJudge
from emocore.evaluation.manifest import MANIFEST_NAME, EvalItem, _cached_vectors, read_manifest
from emocore.evaluation.quality import DNSMOS_KEYS, DNSMOS_KIND, _dnsmos_batch
from emocore.evaluation.reference import REFERENCE_METRICS, reference_metrics
from emocore.evaluation.speaker import EMBEDDING_DIM, EMBEDDING_KIND, SpeakerVerifier, _embed_batch
from emocore.exceptions import EmocoreError, ParameterError

log = logging.getLogger(__name__)

#: the columns of an evaluate_pairs table: the item, then the metrics (``nan`` where not measured), then ``error``
TABLE_METRIC_COLUMNS = ("emotion_correct", "p_target_emotion", "judge_ceiling_pct", "judge_heard_text",
                        "speaker_similarity", "nearest_speaker_correct", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak",
                        "dnsmos_p808", "mcd_db", "f0_rmse_hz", "log_f0_pearson", "vuv_error", "f0_level_st",
                        "f0_rmse_level_matched_hz")
TABLE_COLUMNS = ("system", "speaker", "source_emotion", "target_emotion", "text_id", "path", "source_path",
                 "reference_path", "judged_emotion", *TABLE_METRIC_COLUMNS[:5], "nearest_speaker",
                 *TABLE_METRIC_COLUMNS[5:], "error")
#: the columns another judge adds to a table (:func:`add_judge`), each with the suffix ``_<its features>``
SECOND_JUDGE_COLUMNS = ("judged_emotion", "emotion_correct", "p_target_emotion", "judge_ceiling_pct")


def _as_item(item) -> EvalItem:
    if isinstance(item, EvalItem):
        return item
    if isinstance(item, Mapping):
        return EvalItem.from_mapping(item)
    raise ParameterError(f"an item must be an EvalItem or a mapping with its fields, got {type(item).__name__}")


def evaluate_pairs(items: Iterable[EvalItem | Mapping], judge: EmotionJudge | None = None,
                   verifier: SpeakerVerifier | None = None, *, with_dnsmos: bool = True, with_reference: bool = True,
                   measure_cfg: FeatureConfig = MEASURE_CONFIG, cache_dir: str | Path | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """Score converted utterances: one tidy row per item with every metric.

    A file that cannot be used gets a row with its ``error`` and ``nan`` metrics instead of stopping the
    evaluation. Without a ``judge`` (``verifier``) the emotion (speaker) columns are ``nan``.

    Args:
        items: :class:`EvalItem` objects, or mappings with their fields (manifest rows).
        judge: scores ``judged_emotion``, ``emotion_correct`` (1.0 / 0.0; ``nan`` when the target emotion
            is not one of the judge's classes), ``p_target_emotion`` (its score for the target emotion),
            ``judge_ceiling_pct`` (its recall of the target emotion on held-out real speech, when
            measured) and ``judge_heard_text`` (whether the item's text was a training word).
        verifier: scores ``speaker_similarity``, ``nearest_speaker``, ``nearest_speaker_correct``.
        with_dnsmos: add ``dnsmos_ovrl``, ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_p808`` (about a second per file).
        with_reference: add :data:`REFERENCE_METRICS` for items with a ``reference_path``.
        measure_cfg: the analysis for the reference-based metrics.
        cache_dir: cache root for every feature; ``None`` for no cache.

    Returns:
        DataFrame: :data:`TABLE_COLUMNS`: the item fields, the metrics (``nan`` where not measured) and
        ``error`` (``""`` when all went well).
    """
    items = [_as_item(i) for i in items]
    paths = [i.path for i in items]
    rows = [{"system": i.system, "speaker": i.speaker, "source_emotion": i.source_emotion,
             "target_emotion": i.target_emotion, "text_id": i.text_id, "path": str(i.path),
             "source_path": "" if i.source_path is None else str(i.source_path),
             "reference_path": "" if i.reference_path is None else str(i.reference_path),
             **dict.fromkeys(TABLE_METRIC_COLUMNS, np.nan), "judged_emotion": "", "nearest_speaker": ""}
            for i in items]
    errors: list[list[str]] = [[] if i.path.is_file() else [f"{i.path}: no such file"] for i in items]

    def note(stage_errors):
        for index, error in enumerate(stage_errors):
            if error is not None and error not in errors[index]:
                errors[index].append(error)

    if judge is not None:
        x, stage_errors = judge.extract_features(paths, cache_dir=cache_dir, progress=progress)
        note(stage_errors)
        labels, scores = judge.predict_features(x)
        recall = (judge.ceiling or {}).get("recall", {})
        unknown = sorted({i.target_emotion for i in items} - set(judge.emotions))
        if unknown:
            log.warning("the judge has no class for %s: emotion_correct is nan there", ", ".join(unknown))
        for row, item, label, score in zip(rows, items, labels, scores):
            known = item.target_emotion in judge.emotions
            row["judged_emotion"] = str(label)
            row["emotion_correct"] = float(label == item.target_emotion) if known and label else np.nan
            row["p_target_emotion"] = float(score[judge.emotions.index(item.target_emotion)]) if known else np.nan
            row["judge_ceiling_pct"] = 100.0 * recall[item.target_emotion] if item.target_emotion in recall else np.nan
            row["judge_heard_text"] = float(judge.heard_text(item.text_id)) if item.text_id else np.nan
    if verifier is not None:
        emb, stage_errors = _cached_vectors(paths, EMBEDDING_KIND, EMBEDDING_DIM, _embed_batch, cache_dir,
                                            progress=progress, desc="speaker embeddings")
        note(stage_errors)
        for row, item, e in zip(rows, items, emb):
            row.update(verifier.score_embedding(e, item.speaker))
    if with_dnsmos:
        mos, stage_errors = _cached_vectors(paths, DNSMOS_KIND, len(DNSMOS_KEYS), _dnsmos_batch, cache_dir,
                                            progress=progress, desc="DNSMOS")
        note(stage_errors)
        for row, values in zip(rows, mos):
            row.update(dict(zip(DNSMOS_KEYS, map(float, values))))
    if with_reference:
        for index, (row, item) in enumerate(tqdm(list(zip(rows, items)), desc="against the target", unit="file",
                                                 disable=not progress)):
            values = dict.fromkeys(REFERENCE_METRICS, np.nan)
            if item.reference_path is not None:
                try:
                    values = reference_metrics(item.path, item.reference_path, measure_cfg=measure_cfg,
                                               cache_dir=cache_dir)
                except EmocoreError as error:
                    errors[index].append(str(error))
            row.update(values)
    for row, errs in zip(rows, errors):
        row["error"] = "; ".join(errs)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))



def add_judge(table: pd.DataFrame, items: Iterable[EvalItem | Mapping], judge: EmotionJudge, *,
              cache_dir: str | Path | None = None, progress: bool = False) -> pd.DataFrame:
    """``table`` with a further judge's :data:`SECOND_JUDGE_COLUMNS`, each suffixed ``_<its features>`` (e.g.
    ``emotion_correct_logmel``): a result counts where two judges of different feature families agree.

    Args:
        table: :func:`evaluate_pairs` of ``items``, in their order.
        items: the items it scored.
        judge: the further judge (its ``features`` name its columns).

    Returns:
        DataFrame: a copy of ``table`` with the columns added; a file only this judge failed on gets its error
        (``"<features> judge: ..."``) in ``error``, so that it is left out of every mean as any failed row.

    Raises:
        ParameterError: ``table`` has not one row per item, or already holds this judge's family.
    """
    items = [_as_item(i) for i in items]
    if len(items) != len(table) or [str(i.path) for i in items] != [str(p) for p in table["path"]]:
        raise ParameterError(f"the table has {len(table)} rows, not one per item of the {len(items)} given, in order")
    if f"emotion_correct_{judge.features}" in table:
        raise ParameterError(f"the table already holds a {judge.features} judge's columns")
    extra = evaluate_pairs(items, judge, None, with_dnsmos=False, with_reference=False, cache_dir=cache_dir,
                           progress=progress)
    out = table.copy()
    for column in SECOND_JUDGE_COLUMNS:
        out[f"{column}_{judge.features}"] = extra[column].to_numpy()
    # a file this judge could not score is a failed row, as for the first judge: left out of every mean
    errors = []
    for own, theirs in zip(out["error"], extra["error"]):
        own = "" if pd.isna(own) else str(own)
        if theirs and theirs not in own:  # a missing file is already named
            own = "; ".join(filter(None, (own, f"{judge.features} judge: {theirs}")))
        errors.append(own)
    out["error"] = errors
    return out


def evaluate_folder(folder: str | Path, judge: EmotionJudge | None = None, verifier: SpeakerVerifier | None = None,
                    *, manifest: str = MANIFEST_NAME, **kwargs) -> pd.DataFrame:
    """:func:`evaluate_pairs` on the items of ``<folder>/<manifest>`` (see :func:`read_manifest`).

    Raises:
        DatasetError: the manifest is missing or malformed.
    """
    return evaluate_pairs(read_manifest(folder, manifest), judge, verifier, **kwargs)
