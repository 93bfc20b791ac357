"""Evaluation of a model of many speakers: TESS held-out words of both speakers, and RAVDESS actors it never heard.

Two groups of test files, both never seen by the model:

- ``tess``: the held-out words (:func:`~emocore.evaluation.judge.corpus_held_out_text_ids`) of ``OAF`` and ``YAF``,
  the same words the per-pair models are evaluated on; judged by the TESS judges (trained on the training words);
- ``unseen``: every neutral recording of the held-out RAVDESS actors (:data:`~emocore.data.speakers.HELD_OUT_ACTORS`),
  out of the model's training and out of the speaker-independent judges that score them (trained on the other
  actors, :func:`~emocore.evaluation.judge.train_speaker_independent_judge`).

Each source file is converted to every target emotion by the model, by the model with its MCEPs switched off
(``<system>-prosody``: its F0, power and aperiodicity alone, by its own way: the speaker-relative transform, with
the learned prosody's F0 where it has one), for a speaker the model was trained on (TESS's) by
the model with that speaker's own measured changes (``<system>-enrolled``, the ``speaker`` option of
:class:`~emocore.models.stargan.SpeakerRelativeConverter`), for an unseen actor by the model given their *other*
source recordings as a few recordings of their voice (``<system>-recordings``: ``emocore-convert
--speaker-recordings``, the ``speaker_stats`` option; the input's own statistics otherwise come from the input
alone) and by the published ``f0-only`` baseline (the
log-Gaussian F0 transform with the speaker's own source and target statistics: for TESS from the training words,
for an unseen actor from all their recordings, an oracle no user has). The ``source`` (unconverted) and
``target`` (real recordings) rows come from :func:`~emocore.evaluation.systems.reference_items`. Two judges of
different feature families (eGeMAPS and log-mel statistics) score every file: a result counts where they agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from emocore.data.datasets import Domain
from emocore.data.speakers import HELD_OUT_ACTORS
from emocore.dsp.prosody import DomainStats
from emocore.evaluation.judge import EmotionJudge, corpus_held_out_text_ids
from emocore.evaluation.manifest import EvalItem
from emocore.evaluation.report import failed_rows, results_rows, summarize
from emocore.evaluation.scoring import add_judge, evaluate_pairs
from emocore.evaluation.significance import format_comparison, paired_comparison
from emocore.evaluation.speaker import SpeakerVerifier
from emocore.evaluation.systems import (
    _synthesize_prosody_only,
    _write_held_out_conversions,
    reference_items,
    write_model_conversions,
)
from emocore.exceptions import ParameterError

TARGETS = ("angry", "happy", "sad")
TESS_SPEAKERS = ("OAF", "YAF")


@dataclasses.dataclass(frozen=True)
class EvalSpeaker:
    """One speaker of the evaluation: its corpus, name, group (``"tess"`` or ``"unseen"``) and source texts."""

    corpus: str
    name: str
    group: str


def evaluation_speakers(tess_speakers: Sequence[str] = TESS_SPEAKERS,
                  held_out_actors: Sequence[str] = HELD_OUT_ACTORS) -> list[EvalSpeaker]:
    """The speakers :func:`write_multispeaker_conversions` converts by default."""
    return ([EvalSpeaker("tess", s, "tess") for s in tess_speakers]
            + [EvalSpeaker("ravdess", a, "unseen") for a in held_out_actors])


def write_multispeaker_conversions(model_dir: str | Path, out_dir: str | Path, *, system: str | None = None,
                                   speakers: Sequence[EvalSpeaker] | None = None, source_emotion: str = "neutral",
                                   targets: Sequence[str] = TARGETS, baselines: bool = True,
                                   enrolled: bool | None = None, recordings: bool | None = None,
                                   checkpoint: str | Path | None = None, intensity: float | None = None,
                                   max_utterances: int | None = None, processed_dir: str | Path | None = None,
                                   root: str | Path | None = None, progress: bool = False,
                                   f0_tracker: str | None = None, **switches) -> list[EvalItem]:
    """Convert every test speaker's source files to each target with the model (and the baselines).

    Args:
        model_dir: a multi-speaker model folder (or a checkpoint's run folder).
        system: the model's name in the tables (default: its model type's title in lower case, ``"emostargan"``).
        speakers: default :func:`evaluation_speakers`.
        baselines: also write ``<system>-prosody``, ``f0-only``, and the ``source`` and ``target`` rows.
        enrolled: also write ``<system>-enrolled`` for a speaker the model enrolled (default: ``baselines``).
        recordings: also write ``<system>-recordings`` for an unseen speaker with two source files or more: each file
            converted with the statistics of the speaker's other source files (:func:`other_recordings_stats`), as
            ``emocore-convert --speaker-recordings`` takes them (default: ``baselines``).
        checkpoint: convert with a training checkpoint of ``model_dir`` instead of its final weights.
        intensity: the model's emotion intensity in ``[0, 1]`` (``None``: its default, full).
        max_utterances: at most this many files per speaker and emotion (smoke runs; the statistics of the
            ``f0-only`` baseline then come from those few).
        f0_tracker: analyse every file (sources, targets, the baselines' statistics) with this F0 tracker instead of
            the model's training one (``emocore-bench conversion`` compares them).
        switches: ``f0``, ``power``, ``mcep``, ``ap``, ``rhythm`` for the model's conversions (a stream ablation), as
            :meth:`~emocore.conversion.ConversionModel.convert_analyzed` takes them.

    Returns:
        list[EvalItem]: their ``speaker`` is the corpus speaker (e.g. ``Actor_13``); files under
        ``out_dir/<system>/``.

    Raises:
        ParameterError: an ``unseen`` speaker the model was trained on, or held-out words the model trained on.
    """
    from emocore import paths
    from emocore.conversion import ConversionModel
    from emocore.data.extraction import prepare_domains
    from emocore.models import get

    model = ConversionModel.load(model_dir, checkpoint=checkpoint, f0_tracker=f0_tracker)  # None: the training one
    analysis_cfg = model.analysis_cfg
    name = system or get(model.model_type).title.lower()
    trained_on = set(model.record.training.get("speakers", ()))
    with_enrolled = baselines if enrolled is None else enrolled
    with_recordings = baselines if recordings is None else recordings
    enrolled_speakers = set(getattr(model.converter, "enrolled_speakers", ())) if with_enrolled else set()
    recorded_words = {t for e in model.record.emotions for t in e.validation_text_ids}
    processed = processed_dir or paths.processed_dir()
    options = {**switches, **({} if intensity is None else {"intensity": intensity})}
    items: list[EvalItem] = []
    for speaker in speakers or evaluation_speakers():
        held_out = speaker.group == "tess"
        if not held_out and f"{speaker.corpus}:{speaker.name}" in trained_on:
            raise ParameterError(f"{speaker.corpus}:{speaker.name} is not unseen: {model_dir} was trained on it")
        domains = [Domain(speaker.corpus, speaker.name, e) for e in (source_emotion, *targets)]
        prepared = prepare_domains(domains, analysis_cfg, processed, val_fraction=0.1 if held_out else 0.0,
                                   max_utterances=max_utterances, corpora_root=root, progress=False)
        by_emotion = {d.domain.emotion: d for d in prepared.values()}
        src = by_emotion[source_emotion]
        tests = (src.validation if held_out else src.train)[:max_utterances]
        text_ids = (corpus_held_out_text_ids(speaker.corpus, root=root) if held_out
                    else sorted({u.text_id for u, _ in tests}))
        if held_out and recorded_words and not {u.text_id for u, _ in tests} <= recorded_words:
            raise ParameterError(f"{model_dir} held out other words than the default split; evaluate it on its own")
        # a user's voice, with a few recordings of it: each file with the statistics of the speaker's other files
        others = (other_recordings_stats([f for _, f in tests], name=f"{speaker.name}-{source_emotion}")
                  if with_recordings and not held_out and len(tests) > 1 else None)
        for target in targets:
            tgt = by_emotion[target]
            source_view = dataclasses.replace(src, validation=tests)
            target_view = dataclasses.replace(tgt, validation=tgt.validation if held_out else tgt.train)

            def convert(feats, target=target, **only):
                return model.convert_analyzed(feats, (source_emotion, target), **{**options, **only})

            systems = {name: convert}
            if f"{speaker.corpus}:{speaker.name}" in enrolled_speakers:  # the speaker's own changes, not the average
                systems[f"{name}-enrolled"] = lambda feats, convert=convert, s=speaker: convert(
                    feats, speaker=f"{s.corpus}:{s.name}")
            if others is not None:
                systems[f"{name}-recordings"] = lambda feats, convert=convert, others=others: convert(
                    feats, speaker_stats=others[id(feats)])
            if baselines:
                systems[f"{name}-prosody"] = lambda feats, convert=convert: convert(feats, mcep=False)
                # the speaker's own statistics: training words (TESS), or all recordings of an unseen actor
                systems["f0-only"] = lambda feats, s=src.stats, t=tgt.stats: _synthesize_prosody_only(
                    feats, src_stats=s, tgt_stats=t, cfg=model.feature_cfg, power=False)
            items += _write_held_out_conversions(source_view, target_view, systems, out_dir, model.feature_cfg.sr,
                                                 progress=progress)
            if baselines:
                used = {u.path for u, _ in tests}
                items += [i for i in reference_items(speaker.corpus, speaker.name, source_emotion, target,
                                                     text_ids=text_ids, root=root)
                          if i.system != "source" or i.source_path in used]
    return items


def other_recordings_stats(feats: Sequence, name: str = "speaker") -> dict[int, DomainStats]:
    """For each of one speaker's recordings, the statistics of their *other* recordings (leave one out), by the
    ``id`` of its features: what a user who gives a few recordings of their voice besides the one converted
    (``emocore-convert --speaker-recordings``) gives the model.

    Raises:
        ParameterError: fewer than two recordings.
    """
    if len(feats) < 2:
        raise ParameterError(f"statistics of the other recordings need at least two recordings, got {len(feats)}")
    return {id(f): DomainStats.fit(name, [g for g in feats if g is not f]) for f in feats}


def write_conversions(model_dir: str | Path, out_dir: str | Path, *,
                      pairs: Sequence[tuple[str, str, str, str]] = (), system: str | None = None,
                      max_utterances: int | None = None, processed_dir: str | Path | None = None,
                      root: str | Path | None = None, progress: bool = False, **switches) -> list[EvalItem]:
    """Held-out conversions of any trained model folder, what notebooks 04 and 05 score next to the baselines.

    A model of one speaker's two emotions converts its own held-out words
    (:func:`~emocore.evaluation.systems.write_model_conversions`; ``pairs`` are not needed). A model of many
    speakers (a model type without a fixed number of emotions, such as EmoStarGAN) converts, for each
    ``(corpus, speaker, source, target)`` of ``pairs``, that speaker's held-out words (TESS) or every recording of
    an actor it never heard (:func:`write_multispeaker_conversions`, without its baselines).

    Args:
        switches: ``f0``, ``power``, ``mcep`` (a stream ablation).

    Raises:
        ParameterError: a model of many speakers and no ``pairs``.
    """
    from emocore.models import get
    from emocore.record import read_record

    record = read_record(model_dir)
    if get(record.model_type).n_emotions is not None:
        return write_model_conversions(model_dir, out_dir, system=system, processed_dir=processed_dir,
                                       max_utterances=max_utterances, root=root, progress=progress, **switches)
    if not pairs:
        raise ParameterError(f"{model_dir} converts between many speakers' emotions: give the (corpus, speaker, "
                             "source, target) pairs to convert")
    by_source: dict[tuple[str, str, str], list[str]] = {}
    for corpus, speaker, source, target in pairs:
        by_source.setdefault((corpus, speaker, source), []).append(target)
    items: list[EvalItem] = []
    for (corpus, speaker, source), targets in by_source.items():
        group = "tess" if corpus == "tess" else "unseen"  # TESS: the held-out words; an actor: every recording
        items += write_multispeaker_conversions(
            model_dir, out_dir, system=system, speakers=[EvalSpeaker(corpus, speaker, group)], source_emotion=source,
            targets=targets, baselines=False, max_utterances=max_utterances, processed_dir=processed_dir, root=root,
            progress=progress, **switches)
    return items


@dataclasses.dataclass(frozen=True)
class AblationRun:
    """One conversion of a stream ablation: model ``model`` (its index) converts with ``variant``, scored as
    ``system``."""

    model: int
    variant: str
    system: str


def ablation_plan(model_types: Sequence[str], variants: Sequence[str],
                  labels: Sequence[str] | None = None) -> list[AblationRun]:
    """The conversions of a stream ablation over several models of the same emotions (notebook 05), in order.

    A variant whose streams the model itself converts (its MCEPs, or the F0 channel of its generator:
    ``f0=contour``), and every variant of a model of many speakers (its prosody is its own: measured changes,
    learned contours), is run by each model and named ``"<variant> (<label>)"`` when there are several models. A
    per-pair model without those streams is WORLD and the log-Gaussian transform of its training statistics, the
    same for every per-pair model trained on the same emotions with the same features (the caller's to check): that
    variant is run once, by the first per-pair model, under its plain name.

    Args:
        model_types: each model's registry name (:attr:`emocore.record.RunRecord.model_type`).
        variants: stream variants (:func:`emocore.conversion.parse_streams`).
        labels: each model's name in the systems (default: its type; a type given twice: ``"<type> <k>"`` with k
            counted from 1).

    Raises:
        ParameterError: no model or no variant, an unknown model type, a bad variant or one given twice (also as
            ``mcep+f0`` and ``f0+mcep``), or labels that do not match the models or repeat.
    """
    from emocore.conversion import parse_streams
    from emocore.models import get

    if not model_types:
        raise ParameterError("no model to ablate: give at least one")
    streams = [parse_streams(variant) for variant in variants]
    if not variants or len({tuple(sorted(s.items())) for s in streams}) != len(streams):
        raise ParameterError(f"give each stream variant once, at least one: {list(variants)}")
    if labels is None:
        labels = [t if list(model_types).count(t) == 1 else f"{t} {list(model_types)[:k + 1].count(t)}"
                  for k, t in enumerate(model_types)]
    if len(labels) != len(model_types) or len(set(labels)) != len(labels):
        raise ParameterError(f"one distinct label per model: {list(labels)} for {list(model_types)}")
    per_pair = [get(t).n_emotions is not None for t in model_types]
    first_per_pair = per_pair.index(True) if any(per_pair) else None
    runs = []
    for k, label in enumerate(labels):
        for variant, switches in zip(variants, streams):
            own = not per_pair[k] or switches["mcep"] or switches["f0"] == "contour"
            if not own and k != first_per_pair:
                continue  # the first per-pair model's conversion stands for every per-pair model
            runs.append(AblationRun(k, variant, f"{variant} ({label})" if own and len(labels) > 1 else variant))
    return runs


def group_of(items: Sequence[EvalItem], speakers: Sequence[EvalSpeaker] | None = None) -> list[str]:
    """Each item's group (``"tess"`` or ``"unseen"``), from its speaker."""
    groups = {s.name: s.group for s in speakers or evaluation_speakers()}
    return [groups[i.speaker] for i in items]


def score_multispeaker(items: Sequence[EvalItem], judges: Mapping[str, Sequence[EmotionJudge]],
                       verifier: SpeakerVerifier | None = None, *, speakers: Sequence[EvalSpeaker] | None = None,
                       with_dnsmos: bool = True, cache_dir: str | Path | None = None,
                       progress: bool = False) -> pd.DataFrame:
    """Score each group's items with its judges: the first judge's columns as in :func:`evaluate_pairs`, the
    second's with the suffix ``_<features>`` (e.g. ``emotion_correct_logmel``), and a ``group`` column. The
    distances to the real target recording (MCD, F0 RMSE, log-F0 r, after DTW) are measured in both groups: a TESS
    word against the same word in the target emotion, an unseen actor's sentence against their own take of it in the
    target emotion (same repetition, normal intensity). An actor's two takes differ more than two TESS words do, so
    read an unseen row against its ``source`` row (the unconverted take against the same reference).

    Args:
        judges: ``{group: (first judge, second judge, ...)}``, e.g. ``{"tess": (egemaps, logmel), "unseen": ...}``.
    """
    items = list(items)
    groups = group_of(items, speakers)
    tables = []
    for group in dict.fromkeys(groups):
        chosen = [i for i, g in zip(items, groups) if g == group]
        first, *others = judges[group]
        table = evaluate_pairs(chosen, first, verifier, with_dnsmos=with_dnsmos, with_reference=True,
                               cache_dir=cache_dir, progress=progress)
        for judge in others:
            table = add_judge(table, chosen, judge, cache_dir=cache_dir)
        table.insert(0, "group", group)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def summarize_multispeaker(table: pd.DataFrame) -> pd.DataFrame:
    """Means per group, system and target emotion: :func:`summarize`'s columns, the second judge's accuracy
    (``emotion_accuracy_logmel_pct``) and ceiling (``judge_ceiling_logmel_pct``) among them."""
    return summarize(table, by=("group", "system", "target_emotion"))


def load_judges(cache_dir: str | Path | None = None, *, judges_dir: str | Path | None = None,
                emotions: Sequence[str] = ("neutral", *TARGETS), progress: bool = False
                ) -> dict[str, list[EmotionJudge]]:
    """The two judges of each group, trained on first use and kept under ``judges_dir`` (default
    ``data/models/judges``): ``tess``: eGeMAPS and log-mel judges of TESS's training words; ``unseen``: the
    speaker-independent eGeMAPS and log-mel judges of the RAVDESS actors other than the held-out ones.

    Train them before TensorFlow is imported where possible: openSMILE then runs in this process.
    """
    from emocore.evaluation.judge import (
        default_judge_path,
        default_speaker_independent_judge_path,
        load_or_train_judge,
        load_or_train_speaker_independent_judge,
    )

    def where(path: Path) -> Path:
        return path if judges_dir is None else Path(judges_dir) / path.name

    families = ("egemaps", "logmel")
    return {"tess": [load_or_train_judge(where(default_judge_path("tess", emotions, features=f)), "tess", emotions,
                                         features=f, cache_dir=cache_dir, progress=progress) for f in families],
            "unseen": [load_or_train_speaker_independent_judge(
                where(default_speaker_independent_judge_path("ravdess", emotions, features=f)), "ravdess", emotions,
                features=f, cache_dir=cache_dir, progress=progress) for f in families]}


#: the columns of the multi-speaker results table: (summary column, header, decimals)
RESULTS_COLUMNS = (("emotion_accuracy_pct", "eGeMAPS judge %", 0), ("emotion_accuracy_logmel_pct", "log-mel judge %", 0),
                   ("judge_ceiling_pct", "eGeMAPS ceiling %", 0), ("judge_ceiling_logmel_pct", "log-mel ceiling %", 0),
                   ("nearest_speaker_correct_pct", "nearest speaker %", 0), ("speaker_similarity", "speaker sim.", 3),
                   ("dnsmos_ovrl", "DNSMOS", 2), ("mcd_db", "MCD dB", 2))


def results_table(summary: pd.DataFrame, system: str = "emostargan") -> pd.DataFrame:
    """The README's multi-speaker table from :func:`summarize_multispeaker`: per group (``tess`` first) and target
    emotion, the ``source``, ``f0-only``, ``<system>-prosody``, ``<system>``, ``<system>-enrolled`` and
    ``<system>-recordings`` (where written) and ``target`` rows."""
    ordered = summary.assign(group=pd.Categorical(summary["group"], ["tess", "unseen"], ordered=True))
    table = results_rows(ordered, ["group", "target_emotion"], ["source", "f0-only", f"{system}-prosody", system,
                                                                f"{system}-enrolled", f"{system}-recordings",
                                                                "target"], RESULTS_COLUMNS)
    return table.assign(group=table["group"].astype(str))


def intensity_table(table: pd.DataFrame, system: str = "emostargan") -> pd.DataFrame:
    """Mean probability each judge gives the target emotion per target and intensity, from a
    :func:`score_multispeaker` table holding ``source`` (intensity 0), ``<system>-i<alpha>`` and ``<system>`` (1) rows.

    Returns:
        DataFrame: ``target_emotion``, ``intensity``, ``p_target_egemaps`` (and ``p_target_logmel``), 3 decimals.
    """
    ok = table[~failed_rows(table)]
    alpha = {"source": 0.0, system: 1.0} | {s: float(s.rsplit("-i", 1)[1]) for s in ok["system"].unique()
                                           if s.startswith(f"{system}-i")}
    rows = ok[ok["system"].isin(alpha)].assign(intensity=lambda t: t["system"].map(alpha))
    names = {"p_target_emotion": "p_target_egemaps", "p_target_emotion_logmel": "p_target_logmel"}
    columns = [c for c in names if c in rows]
    means = rows.groupby(["target_emotion", "intensity"])[columns].mean().round(3)
    return means.rename(columns=names).reset_index()


def retake_table(speakers: Sequence[EvalSpeaker] | None = None, targets: Sequence[str] = TARGETS, *,
                 root: str | Path | None = None, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """The floor of the distances to the real take for the unseen actors: each normal-intensity take of a target
    emotion against the actor's other take of the sentence (:func:`~emocore.evaluation.reference.retake_distances`).

    Returns:
        DataFrame: ``target_emotion``, ``n`` (takes measured: each of a pair against the other) and the means of
        ``mcd_db``, ``f0_rmse_hz`` and ``log_f0_pearson``, 2 decimals; no rows without unseen actors.
    """
    from emocore.evaluation.reference import retake_distances

    actors = [s for s in (evaluation_speakers() if speakers is None else speakers) if s.group == "unseen"]
    by_corpus: dict[str, list[str]] = {}
    for speaker in actors:
        by_corpus.setdefault(speaker.corpus, []).append(speaker.name)
    # the conversions are measured against normal-intensity takes
    distances = [retake_distances(corpus, names, targets, intensity="normal", root=root, cache_dir=cache_dir)
                 for corpus, names in by_corpus.items()]
    normal = pd.concat(distances, ignore_index=True) if distances else pd.DataFrame(
        columns=["emotion", "mcd_db", "f0_rmse_hz", "log_f0_pearson"])
    grouped = normal.groupby("emotion", sort=False)
    table = grouped[["mcd_db", "f0_rmse_hz", "log_f0_pearson"]].mean().round(2)
    table.insert(0, "n", grouped.size())
    return table.rename_axis("target_emotion").reset_index()


def evaluate_multispeaker(model_dir: str | Path, out_dir: str | Path, *, checkpoint: str | Path | None = None,
                          intensities: Sequence[float] = (0.25, 0.5, 0.75), max_utterances: int | None = None,
                          with_dnsmos: bool = True, judges_dir: str | Path | None = None,
                          progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole multi-speaker evaluation of one model, as the README reports it and ``make results`` prints it.

    Converts both groups of :func:`evaluation_speakers` with the model and the baselines, scores every file with both
    judges, the speaker verifier and DNSMOS, converts the unseen actors again at each of ``intensities`` (judges only),
    and writes ``evaluation.csv``, ``summary.csv``, ``results.csv``, ``intensity.csv``, ``significance.csv`` (the
    model against the ``f0-only`` baseline on the same files, :func:`~emocore.evaluation.significance.paired_comparison`)
    and ``retakes.csv`` (:func:`retake_table`: how far the unseen actors' own second takes are from the first, the
    floor of the distance columns) into ``out_dir`` (audio under ``out_dir/audio/``).

    Args:
        judges_dir: where the judges are kept (default: :func:`load_judges`'s).

    Returns:
        tuple: :func:`results_table` and :func:`intensity_table`.
    """
    from emocore import paths
    from emocore.evaluation.speaker import default_verifier_path, load_or_build_verifier

    out_dir = Path(out_dir)
    cache = paths.processed_dir() / "evaluation"
    judges = load_judges(cache, judges_dir=judges_dir, progress=progress)  # before TensorFlow: openSMILE in-process
    verifier = load_or_build_verifier(default_verifier_path(("tess", "ravdess")), ("tess", "ravdess"),
                                      cache_dir=cache, progress=progress)
    items = write_multispeaker_conversions(model_dir, out_dir / "audio", checkpoint=checkpoint,
                                           max_utterances=max_utterances, progress=progress)
    table = score_multispeaker(items, judges, verifier, with_dnsmos=with_dnsmos, cache_dir=cache, progress=progress)
    system = next(i.system for i in items if i.system not in ("source", "target", "f0-only")
                  ).removesuffix("-prosody").removesuffix("-enrolled").removesuffix("-recordings")
    unseen = [s for s in evaluation_speakers() if s.group == "unseen"]
    softer = [score_multispeaker(write_multispeaker_conversions(
        model_dir, out_dir / "audio", system=f"{system}-i{alpha:g}", speakers=unseen, baselines=False,
        intensity=alpha, checkpoint=checkpoint, max_utterances=max_utterances), judges, None, speakers=unseen,
        with_dnsmos=False, cache_dir=cache) for alpha in intensities]
    table.to_csv(out_dir / "evaluation.csv", index=False)
    summary = summarize_multispeaker(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    results = results_table(summary, system)
    results.to_csv(out_dir / "results.csv", index=False)
    intensity = intensity_table(pd.concat([table[table["group"] == "unseen"], *softer], ignore_index=True), system)
    intensity.to_csv(out_dir / "intensity.csv", index=False)
    paired_comparison(table, table, baseline_system="f0-only", system_name=system).to_csv(
        out_dir / "significance.csv", index=False)
    retake_table(cache_dir=cache).to_csv(out_dir / "retakes.csv", index=False)
    return results, intensity


def evaluate_streams(model_dir: str | Path, out_dir: str | Path, variants: Sequence[str], *,
                     speakers: Sequence[EvalSpeaker] | None = None, max_utterances: int | None = None,
                     with_dnsmos: bool = False, judges_dir: str | Path | None = None, processed_dir=None, root=None,
                     judges: Mapping[str, Sequence[EmotionJudge]] | None = None, checkpoint: str | Path | None = None,
                     cache_dir: str | Path | None = None, trackers: Sequence[str | None] = (None,),
                     progress: bool = True) -> pd.DataFrame:
    """One multi-speaker model with each of several stream variants (issue 15's streams), on the same files as
    :func:`evaluate_multispeaker`, with the ``source``, ``f0-only`` and ``target`` rows: writes ``evaluation.csv``,
    ``summary.csv``, ``streams.csv`` (:func:`streams_table`) and ``significance.csv`` (every other variant against the
    first on the same files, :func:`~emocore.evaluation.significance.paired_comparison`, with a ``system`` column)
    into ``out_dir``.

    Args:
        variants: :func:`emocore.conversion.parse_streams` names, e.g. ``["f0+power+mcep", "f0=cwt+power=cwt+mcep"]``;
            each is a system of the tables.
        judges: ``{group: judges}`` (default :func:`load_judges`, trained on first use).
        checkpoint: convert with a training checkpoint of ``model_dir`` instead of its final weights.
        cache_dir: the scores' and judges' feature cache (default ``<processed>/evaluation``).
        trackers: analyse the files with each of these F0 trackers in turn (``None``: the model's training one);
            with more than one, each variant's system is ``"<variant> @<tracker>"`` and the baselines come from the
            first tracker.

    Returns:
        DataFrame: :func:`streams_table`.

    Raises:
        ParameterError: a variant that is not a stream name (before any conversion).
    """
    from emocore import paths
    from emocore.evaluation.speaker import default_verifier_path, load_or_build_verifier

    out_dir = Path(out_dir)
    cache = Path(cache_dir) if cache_dir is not None else paths.processed_dir() / "evaluation"
    judges = judges or load_judges(cache, judges_dir=judges_dir, progress=progress)  # before TensorFlow: openSMILE
    from emocore.conversion import parse_streams  # TensorFlow

    switches = [parse_streams(v) for v in variants]  # a typo fails now, before any conversion
    verifier = load_or_build_verifier(default_verifier_path(("tess", "ravdess")), ("tess", "ravdess"),
                                      cache_dir=cache, progress=progress)
    items, systems = [], []
    runs = [(variant, streams, tracker) for tracker in trackers for variant, streams in zip(variants, switches)]
    for k, (variant, streams, tracker) in enumerate(runs):
        systems.append(variant if len(trackers) == 1 else f"{variant} @{tracker or 'model'}")
        written = write_multispeaker_conversions(model_dir, out_dir / "audio", system=systems[-1], speakers=speakers,
                                                 baselines=k == 0, enrolled=False, max_utterances=max_utterances,
                                                 checkpoint=checkpoint,
                                                 processed_dir=processed_dir, root=root, progress=progress,
                                                 f0_tracker=tracker, **streams)
        items += [i for i in written if not i.system.endswith("-prosody")]  # the variants name the prosody ones
    table = score_multispeaker(items, judges, verifier, speakers=speakers, with_dnsmos=with_dnsmos, cache_dir=cache,
                               progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "evaluation.csv", index=False)
    summary = summarize_multispeaker(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    streams = streams_table(summary, ["source", "f0-only", *systems])
    streams.to_csv(out_dir / "streams.csv", index=False)
    compared = [paired_comparison(table, table, baseline_system=systems[0], system_name=system).assign(
        baseline=systems[0], system=system) for system in systems[1:]]
    if compared:
        pd.concat(compared, ignore_index=True).to_csv(out_dir / "significance.csv", index=False)
    else:  # one variant: nothing to compare, and no earlier run's comparison left to be read as this one's
        (out_dir / "significance.csv").unlink(missing_ok=True)
    return streams


def streams_table(summary: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """The README's stream table: one row per system (in this order, absent ones skipped), one column per group and
    target emotion holding ``"<eGeMAPS %> / <log-mel %>"``, then TESS's mean F0 RMSE and log-F0 r, then the nearest
    speaker % per group; last the real target recordings and the judges' ceilings."""
    keys = [(g, e) for g in ("tess", "unseen") for e in TARGETS
            if ((summary["group"] == g) & (summary["target_emotion"] == e)).any()]

    def cell(rows: pd.DataFrame, first: str, second: str) -> str:
        return "—" if rows.empty else f"{rows[first].iloc[0]:.0f} / {rows[second].iloc[0]:.0f}"

    def pick(system: str, group: str, emotion: str) -> pd.DataFrame:
        return summary[(summary["system"] == system) & (summary["group"] == group) & (summary["target_emotion"] == emotion)]

    rows = []
    for system in [s for s in systems if (summary["system"] == s).any()] + ["target", "ceiling"]:
        source = "target" if system == "ceiling" else system
        first, second = (("judge_ceiling_pct", "judge_ceiling_logmel_pct") if system == "ceiling" else
                         ("emotion_accuracy_pct", "emotion_accuracy_logmel_pct"))
        row = {"system": system, **{f"{g} {e}": cell(pick(source, g, e), first, second) for g, e in keys}}
        if system not in ("target", "ceiling"):
            tess = summary[(summary["system"] == system) & (summary["group"] == "tess")]
            row["TESS F0 RMSE Hz / logF0 r"] = (f"{tess['f0_rmse_hz'].mean():.1f} / {tess['log_f0_pearson'].mean():.2f}"
                                                if not tess.empty else "—")
            for group in ("tess", "unseen"):
                mine = summary[(summary["system"] == system) & (summary["group"] == group)]
                row[f"{group} nearest speaker %"] = round(float(mine["nearest_speaker_correct_pct"].mean()), 0)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m emocore.evaluation.multispeaker MODEL_DIR OUT_DIR``: the README's multi-speaker tables."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m emocore.evaluation.multispeaker", description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_dir", type=Path, help="audio, evaluation.csv, summary.csv, results.csv, intensity.csv, "
                                                   "significance.csv")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--max-utterances", type=int, default=None, help="per speaker and emotion (quick looks)")
    parser.add_argument("--no-dnsmos", action="store_true")
    parser.add_argument("--intensities", type=float, nargs="*", default=[0.25, 0.5, 0.75],
                        help="also convert the unseen actors at these intensities")
    parser.add_argument("--variants", nargs="+", default=None, metavar="STREAMS",
                        help="instead: compare stream variants of the model (e.g. f0+power+mcep "
                             "f0=cwt+power=cwt+mcep+rhythm; no DNSMOS unless --dnsmos) and print streams.csv")
    parser.add_argument("--dnsmos", action="store_true", help="with --variants: score DNSMOS too (2 s per file)")
    args = parser.parse_args(argv)
    if args.variants:
        streams = evaluate_streams(args.model_dir, args.out_dir, args.variants, max_utterances=args.max_utterances,
                                   with_dnsmos=args.dnsmos, checkpoint=args.checkpoint)
        print(streams.to_string(index=False))
        if (args.out_dir / "significance.csv").is_file():
            compared = pd.read_csv(args.out_dir / "significance.csv")
            print(f"against {args.variants[0]} on the same files (exact McNemar, all files pooled):")
            print(format_comparison(compared.drop(columns="baseline"), pooled_only=True))
        return 0
    results, intensity = evaluate_multispeaker(args.model_dir, args.out_dir, checkpoint=args.checkpoint,
                                               intensities=args.intensities, max_utterances=args.max_utterances,
                                               with_dnsmos=not args.no_dnsmos)
    print(results.to_string(index=False))
    print(intensity.to_string(index=False))
    significance = pd.read_csv(args.out_dir / "significance.csv")
    print("against the f0-only baseline on the same files (exact McNemar, pooled):")
    print(format_comparison(significance[significance["target_emotion"] == "pooled"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
