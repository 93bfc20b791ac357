"""Reports of an :func:`~emocore.evaluation.scoring.evaluate_pairs` table: summaries, text tables, report files.

:func:`summarize` averages the rows per system and target emotion (reference systems first, ``target``
last), :func:`format_summary` prints it, :func:`write_report` writes ``evaluation.csv``, ``summary.csv`` and
``summary.json``, and :func:`explain_judge_shifts` says which eGeMAPS cues move the judge between a model's
conversions and the F0-only baseline's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emocore.evaluation.judge import EmotionJudge
from emocore.evaluation.manifest import SYSTEM_ORDER, TARGET_SYSTEM
from emocore.evaluation.speaker import SpeakerVerifier
from emocore.exceptions import ParameterError

SUMMARY_COLUMNS = ("system", "target_emotion", "n", "emotion_accuracy_pct", "judge_ceiling_pct", "speaker_similarity",
                   "nearest_speaker_correct_pct", "dnsmos_ovrl", "mcd_db", "f0_rmse_hz", "log_f0_pearson", "f0_level_st",
                   "f0_rmse_level_matched_hz")


def failed_rows(table: pd.DataFrame) -> pd.Series:
    """Boolean mask of the rows with an ``error`` (also for a table read back from CSV, where empty is NaN)."""
    if "error" not in table:
        return pd.Series(False, index=table.index)
    errors = table["error"]
    return errors.notna() & (errors.astype(str).str.strip() != "")


def added_judge_features(table: pd.DataFrame) -> list[str]:
    """The feature families of the judges :func:`~emocore.evaluation.scoring.add_judge` added to ``table``
    (``["logmel"]`` for a column ``emotion_correct_logmel``)."""
    prefix = "emotion_correct_"
    return [c.removeprefix(prefix) for c in table.columns
            if c.startswith(prefix) and f"judge_ceiling_pct_{c.removeprefix(prefix)}" in table]


def summarize(table: pd.DataFrame, by: Sequence[str] = ("system", "target_emotion")) -> pd.DataFrame:
    """Means per system and target emotion (or any other grouping) of an :func:`evaluate_pairs` table.

    Rows with an ``error`` are left out of every mean (``n`` counts the rows used); a metric a row
    could not have (no judge, no reference) is averaged over the rows that have it (``nan`` if none).
    Systems come in the order :data:`SYSTEM_ORDER`, then the others as they first appear, then
    ``"target"``; other groups in their order of first appearance.

    Args:
        table: an :func:`evaluate_pairs` table.
        by: the grouping columns, e.g. ``("system", "speaker", "target_emotion")`` for one row per speaker.

    Returns:
        DataFrame: the ``by`` columns, then :data:`SUMMARY_COLUMNS` after ``system`` and ``target_emotion``,
        then ``emotion_accuracy_<features>_pct`` and ``judge_ceiling_<features>_pct`` of each judge
        :func:`~emocore.evaluation.scoring.add_judge` added; percentages are 0..100; ``judge_ceiling_pct`` is the
        judge's recall of that emotion on held-out real speech, the most ``emotion_accuracy_pct`` can mean.
    """
    by = list(by)
    families = added_judge_features(table)  # other judges' accuracies and ceilings (scoring.add_judge)
    metric_columns = [c for c in SUMMARY_COLUMNS if c not in ("system", "target_emotion", "n")] + [
        f"{kind}_{family}_pct" for family in families for kind in ("emotion_accuracy", "judge_ceiling")]
    columns = by + ["n"] + metric_columns
    if table.empty:
        return pd.DataFrame(columns=columns)
    ok = table[~failed_rows(table)].copy()
    for family in families:
        ok[f"emotion_accuracy_{family}_pct"] = 100.0 * ok[f"emotion_correct_{family}"].astype(float)
        ok[f"judge_ceiling_{family}_pct"] = ok[f"judge_ceiling_pct_{family}"].astype(float)
    for column in metric_columns + ["emotion_correct", "nearest_speaker_correct"]:
        if column not in ok:
            ok[column] = np.nan
    ok["emotion_accuracy_pct"] = 100.0 * ok["emotion_correct"].astype(float)
    ok["nearest_speaker_correct_pct"] = 100.0 * ok["nearest_speaker_correct"].astype(float)
    grouped = ok.groupby(by, sort=False)
    summary = grouped[metric_columns].mean().reset_index().merge(grouped.size().rename("n").reset_index(), on=by)
    rank = {}
    for column in by:
        seen = list(dict.fromkeys(table[column]))
        if column == "system":
            seen = ([s for s in SYSTEM_ORDER if s in seen] + [s for s in seen if s not in SYSTEM_ORDER
                                                              and s != TARGET_SYSTEM]
                    + [TARGET_SYSTEM] * (TARGET_SYSTEM in seen))
        rank[column] = {value: k for k, value in enumerate(seen)}
    keys = [f"_rank_{c}" for c in by]
    for column, key in zip(by, keys):
        summary[key] = summary[column].map(rank[column])
    return summary.sort_values(keys).drop(columns=keys)[columns].reset_index(drop=True)


def _judge_record(judge: EmotionJudge) -> dict:
    return {"emotions": list(judge.emotions), "model": judge.metadata.get("model"),
            "speakers": judge.metadata.get("speakers"), "corpora": judge.metadata.get("corpora"),
            "held_out_text_ids": judge.metadata.get("held_out_text_ids"),
            "ceiling_accuracy_pct": None if judge.ceiling is None else 100.0 * judge.ceiling["accuracy"],
            "ceiling": judge.ceiling}


def write_report(table: pd.DataFrame, out_dir: str | Path, *, judge: EmotionJudge | None = None,
                 further_judges: Sequence[EmotionJudge] = (), verifier: SpeakerVerifier | None = None,
                 extra: dict | None = None) -> dict[str, Path]:
    """Write ``evaluation.csv`` (the table), ``summary.csv`` and ``summary.json`` into ``out_dir``.

    ``summary.json`` holds the summary rows, the judge's classes, model, training speakers and
    held-out ceiling (and the same of each judge :func:`~emocore.evaluation.scoring.add_judge` added, by its
    features, under ``further_judges``), the verifier's speakers, item and failure counts, and ``extra``.

    Returns:
        dict: ``{"evaluation": ..., "summary_csv": ..., "summary_json": ...}`` paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(table)
    written = {"evaluation": out_dir / "evaluation.csv", "summary_csv": out_dir / "summary.csv",
               "summary_json": out_dir / "summary.json"}
    table.to_csv(written["evaluation"], index=False)
    summary.to_csv(written["summary_csv"], index=False)
    report = {
        "n_items": int(len(table)), "n_failed": int(failed_rows(table).sum()),
        "summary": json.loads(summary.to_json(orient="records")),
        "judge": None if judge is None else _judge_record(judge),
        "further_judges": {j.features: _judge_record(j) for j in further_judges},
        "verifier": None if verifier is None else {"speakers": list(verifier.speakers),
                                                   "n_enrolled": verifier.metadata.get("n_enrolled")},
        **(extra or {}),
    }
    written["summary_json"].write_text(json.dumps(report, indent=2) + "\n")
    return written


def explain_judge_shifts(table: pd.DataFrame, judge: EmotionJudge, *, baseline: str = "f0-only",
                         cache_dir: str | Path | None = None, feature_names: Sequence[str] | None = None,
                         top: int | None = 8) -> pd.DataFrame:
    """Why a model's conversions are judged as they are: its eGeMAPS cues against the baseline's, per group.

    For each model system (not a reference system), speaker and target emotion with rows of ``baseline`` for
    the same speaker and target, the change of the judge's log-odds of the target emotion against the emotion
    the model's conversions are most often mistaken for (:meth:`EmotionJudge.explain_shift`), per feature.
    Groups whose conversions are never mistaken are left out.

    Args:
        table: :func:`evaluate_pairs` output (``system``, ``speaker``, ``target_emotion``, ``path``,
            ``judged_emotion`` columns).
        judge: a linear judge (:attr:`EmotionJudge.is_linear`).
        baseline: the system compared against, the published F0-only transform by default.
        cache_dir: the eGeMAPS cache :func:`evaluate_pairs` used.
        top: keep this many features per group, the ones that push most toward the mistaken emotion
            (``None``: all 88).

    Returns:
        DataFrame: ``system``, ``speaker``, ``target_emotion``, ``versus``, ``n``, ``feature``, ``z_from``,
        ``z_to``, ``logit_change``; empty when there is nothing to explain.

    Raises:
        ParameterError: the judge is not linear.
    """
    columns = ["system", "speaker", "target_emotion", "versus", "n", "feature", "z_from", "z_to", "logit_change"]
    if not judge.is_linear:
        raise ParameterError(f"explaining needs a linear judge, this one is {type(judge.pipeline[-1]).__name__}")
    ok = table[~failed_rows(table)]
    models = [s for s in ok["system"].unique() if s not in (*SYSTEM_ORDER, TARGET_SYSTEM)]
    parts = []
    for (system, speaker, target), rows in ok[ok["system"].isin(models)].groupby(
            ["system", "speaker", "target_emotion"], sort=False):
        base = ok[(ok["system"] == baseline) & (ok["speaker"] == speaker) & (ok["target_emotion"] == target)]
        mistaken = rows.loc[rows["judged_emotion"] != target, "judged_emotion"]
        if base.empty or mistaken.empty or target not in judge.emotions:
            continue
        versus = mistaken.value_counts().index[0]
        x_from, x_to = (judge.family.extract([Path(p) for p in r["path"]], cache_dir=cache_dir) for r in (base, rows))
        shift = judge.explain_shift(x_from, x_to, target, versus, feature_names=feature_names)
        shift = shift if top is None else shift.head(top)
        parts.append(shift.assign(system=system, speaker=speaker, target_emotion=target, versus=versus,
                                  n=len(rows)))
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def results_rows(summary: pd.DataFrame, keys: Sequence[str], systems: Sequence[str],
                 columns: Sequence[tuple[str, str, int]]) -> pd.DataFrame:
    """A results table for a README: the ``systems`` rows of a summary, grouped by ``keys``, renamed and rounded.

    Args:
        summary: a :func:`summarize` frame (or one with more columns).
        keys: the grouping columns, in sort order (e.g. ``["target_emotion", "speaker"]``).
        systems: the systems kept, in this order within each group (absent ones are skipped).
        columns: ``(summary column, header, decimals)``; a column the summary lacks gives ``nan``.

    Returns:
        DataFrame: ``keys``, ``system``, ``n``, then each column under its header.
    """
    rows = summary[summary["system"].isin(systems)].copy()
    rows["_order"] = rows["system"].map({s: k for k, s in enumerate(systems)})
    rows = rows.sort_values([*keys, "_order"], kind="stable")
    table = rows[[*keys, "system", "n"]].reset_index(drop=True)
    for column, header, decimals in columns:
        values = rows[column] if column in rows else pd.Series(float("nan"), index=rows.index)
        table[header] = values.astype(float).round(decimals).to_numpy()
    return table


def format_summary(summary: pd.DataFrame) -> str:
    """A :func:`summarize` table as aligned text (``-`` for ``nan``)."""
    headers = {"target_emotion": "target", "emotion_accuracy_pct": "emo acc %", "judge_ceiling_pct": "ceiling %",
               "speaker_similarity": "spk sim", "nearest_speaker_correct_pct": "spk top1 %", "dnsmos_ovrl": "DNSMOS",
               "mcd_db": "MCD dB", "f0_rmse_hz": "F0 RMSE Hz", "log_f0_pearson": "logF0 r"}
    digits = {"emotion_accuracy_pct": 1, "judge_ceiling_pct": 1, "speaker_similarity": 3,
              "nearest_speaker_correct_pct": 1, "dnsmos_ovrl": 2, "mcd_db": 2, "f0_rmse_hz": 1, "log_f0_pearson": 3}
    columns = list(summary.columns)
    cells = [[headers.get(c, c) for c in columns]]
    for _, row in summary.iterrows():
        cells.append(["-" if c in digits and pd.isna(row[c]) else f"{row[c]:.{digits[c]}f}" if c in digits
                      else str(row[c]) for c in columns])
    widths = [max(len(line[k]) for line in cells) for k in range(len(columns))]
    numeric = [c in digits or c == "n" for c in columns]
    return "\n".join("  ".join(cell.rjust(w) if num else cell.ljust(w) for cell, w, num in zip(line, widths, numeric))
                     for line in cells)
