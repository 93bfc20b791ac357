"""Objective evaluation of emotional voice conversion: emotion, speaker identity, naturalness, distance to real speech.

One module per kind of score or job; every public name is also here, as ``emocore.evaluation.<name>``:

- :mod:`~emocore.evaluation.manifest`: :class:`EvalItem` (one converted utterance to score), manifests
  (``manifest.csv``), the system names tables order by, and the content-keyed cache of per-file vectors;
- :mod:`~emocore.evaluation.egemaps`: eGeMAPS functionals (openSMILE), in a subprocess when TensorFlow is loaded;
- :mod:`~emocore.evaluation.melstats`: log-mel statistics, the second judge's features (numpy and librosa only);
- :mod:`~emocore.evaluation.judge`: :class:`EmotionJudge`, the independent emotion classifier of either feature
  family, and its training (per corpus, or speaker-independent);
- :mod:`~emocore.evaluation.speaker`: resemblyzer d-vectors and :class:`SpeakerVerifier`;
- :mod:`~emocore.evaluation.quality`: naturalness (DNSMOS P.835);
- :mod:`~emocore.evaluation.reference`: MCD, F0 RMSE, log-F0 correlation, V/UV error against the real target recording;
- :mod:`~emocore.evaluation.scoring`: :func:`evaluate_pairs` and :func:`evaluate_folder`, every score of every item;
  :func:`add_judge`, a second judge's columns;
- :mod:`~emocore.evaluation.report`: :func:`summarize`, :func:`format_summary`, :func:`write_report`,
  :func:`explain_judge_shifts`;
- :mod:`~emocore.evaluation.significance`: paired comparisons of two systems on the same files (exact McNemar;
  import it as a module);
- :mod:`~emocore.evaluation.multispeaker`: a multi-speaker model on TESS's held-out words and on RAVDESS actors it
  never heard, scored by two judges of different feature families (import it as a module);
- :mod:`~emocore.evaluation.systems`: the reference systems (``source``, ``f0-only``, ``f0+power``, ``target``)
  and the conversions of a trained model's held-out words;
- :mod:`~emocore.evaluation.listening`: listening tests (A/B and MOS trials, widgets, analysis); not imported
  here, use ``from emocore.evaluation import listening``.
"""

from __future__ import annotations

from emocore.evaluation.egemaps import (
    EGEMAPS_KIND,
    N_EGEMAPS,
    egemaps_feature_names,
    egemaps_runs_in_process,
    extract_egemaps,
)
from emocore.evaluation.judge import (
    DEFAULT_EMOTIONS,
    DEFAULT_FEATURES,
    DEFAULT_LOGISTIC_C,
    DEFAULT_SVM_C,
    FEATURE_FAMILIES,
    GROUP_BY,
    JUDGE_FORMAT,
    EmotionJudge,
    FeatureFamily,
    corpus_held_out_text_ids,
    default_judge_path,
    default_speaker_independent_judge_path,
    feature_family,
    load_or_train_judge,
    load_or_train_judges,
    load_or_train_speaker_independent_judge,
    train_corpus_judge,
    train_speaker_independent_judge,
)
from emocore.evaluation.manifest import (
    CACHE_SUBDIR,
    CACHE_VERSION,
    EVAL_SR,
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    SYSTEM_ORDER,
    TARGET_SYSTEM,
    EvalItem,
    Item,
    read_manifest,
    write_manifest,
)
from emocore.evaluation.melstats import LOGMEL_KIND, N_LOGMEL, extract_logmel_stats, logmel_feature_names
from emocore.evaluation.quality import DNSMOS_KEYS, DNSMOS_KIND
from emocore.evaluation.reference import (
    REFERENCE_METRICS,
    compare_to_reference,
    feature_shift_table,
    reference_metrics,
    retake_distances,
)
from emocore.evaluation.report import (
    SUMMARY_COLUMNS,
    added_judge_features,
    explain_judge_shifts,
    failed_rows,
    format_summary,
    results_rows,
    summarize,
    write_report,
)
from emocore.evaluation.scoring import (
    SECOND_JUDGE_COLUMNS,
    TABLE_COLUMNS,
    TABLE_METRIC_COLUMNS,
    add_judge,
    evaluate_folder,
    evaluate_pairs,
)
from emocore.evaluation.speaker import (
    EMBEDDING_DIM,
    EMBEDDING_KIND,
    VERIFIER_FORMAT,
    SpeakerVerifier,
    build_corpus_verifier,
    default_verifier_path,
    load_or_build_verifier,
    speaker_embedding,
    speaker_embeddings,
    voice_encoder,
)
from emocore.evaluation.systems import (
    convert_prosody_only,
    parse_reference_spec,
    reference_items,
    write_model_conversions,
    write_prosody_references,
)

__all__ = [
    # manifest
    "CACHE_SUBDIR", "CACHE_VERSION", "EVAL_SR", "MANIFEST_COLUMNS", "MANIFEST_NAME", "SYSTEM_ORDER", "TARGET_SYSTEM",
    "EvalItem", "Item", "read_manifest", "write_manifest",
    # egemaps
    "EGEMAPS_KIND", "N_EGEMAPS", "egemaps_feature_names", "egemaps_runs_in_process", "extract_egemaps",
    # melstats
    "LOGMEL_KIND", "N_LOGMEL", "extract_logmel_stats", "logmel_feature_names",
    # judge
    "DEFAULT_EMOTIONS", "DEFAULT_FEATURES", "DEFAULT_LOGISTIC_C", "DEFAULT_SVM_C", "FEATURE_FAMILIES", "GROUP_BY",
    "JUDGE_FORMAT", "EmotionJudge", "FeatureFamily", "corpus_held_out_text_ids", "default_judge_path",
    "default_speaker_independent_judge_path", "feature_family", "load_or_train_judge",
    "load_or_train_judges",
    "load_or_train_speaker_independent_judge", "train_corpus_judge", "train_speaker_independent_judge",
    # speaker
    "EMBEDDING_DIM", "EMBEDDING_KIND", "VERIFIER_FORMAT", "SpeakerVerifier", "build_corpus_verifier",
    "default_verifier_path", "load_or_build_verifier", "speaker_embedding", "speaker_embeddings", "voice_encoder",
    # quality
    "DNSMOS_KEYS", "DNSMOS_KIND",
    # reference
    "REFERENCE_METRICS", "compare_to_reference", "feature_shift_table", "reference_metrics",
    "retake_distances",
    # scoring
    "SECOND_JUDGE_COLUMNS", "TABLE_COLUMNS", "TABLE_METRIC_COLUMNS", "add_judge", "evaluate_folder", "evaluate_pairs",
    # report
    "SUMMARY_COLUMNS", "added_judge_features", "explain_judge_shifts", "failed_rows", "format_summary", "results_rows",
    "summarize",
    "write_report",
    # systems
    "convert_prosody_only", "parse_reference_spec", "reference_items", "write_model_conversions",
    "write_prosody_references",
]
