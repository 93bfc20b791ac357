"""Listening-test analysis, from the results CSV(s) and the key alone: A/B preference shares and MOS.

:func:`analyze_ab` gives preference shares with Wilson intervals (:func:`wilson_interval`) and a binomial
test, :func:`analyze_mos` mean opinion scores with t intervals (:func:`t_interval`); :func:`write_summary`
writes both as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emocore.evaluation.listening.results import read_results
from emocore.evaluation.listening.trials import (
    AB_CHOICES,
    AB_QUESTIONS,
    AB_TASK,
    MOS_QUESTIONS,
    MOS_TASK,
    NO_PREFERENCE,
    load_key,
)
from emocore.evaluation.manifest import SYSTEM_ORDER, TARGET_SYSTEM
from emocore.exceptions import DatasetError

ALL = "all"  # the target_emotion of the pooled rows of the analysis tables


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n``; ``(nan, nan)`` for ``n = 0``."""
    from scipy import stats

    if n == 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean of ``values``; ``(nan, nan)`` for fewer than two values."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan")
    mean, sem = float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1)) * sem
    return mean - half, mean + half


def _joined(results_csv, key, task: str) -> pd.DataFrame:
    """Answers of ``task`` with their key rows (one row per answer and clip)."""
    results, table = read_results(results_csv), load_key(key)
    unknown = sorted(set(results["trial_id"]) - set(table["trial_id"]))
    if unknown:
        raise DatasetError(f"{len(unknown)} answered trial(s) are not in the key, e.g. {unknown[:3]}: wrong key file?")
    table = table[table["task"] == task]
    return results[results["trial_id"].isin(set(table["trial_id"]))].merge(table, on="trial_id")


def _system_rank(system: str) -> tuple:
    if system in SYSTEM_ORDER:
        return (0, SYSTEM_ORDER.index(system), "")
    return (2, 0, "") if system == TARGET_SYSTEM else (1, 0, system)


def _with_pooled(table: pd.DataFrame, overall: bool) -> pd.DataFrame:
    if overall and table["target_emotion"].nunique() > 1:
        return pd.concat([table, table.assign(target_emotion=ALL)], ignore_index=True)
    return table


AB_RESULT_COLUMNS = ("system_1", "system_2", "question", "target_emotion", "preferred", "count", "n", "pct",
                     "ci_low", "ci_high", "p_value", "n_listeners")


def analyze_ab(results_csv: str | Path | Sequence[str | Path], key, *, confidence: float = 0.95,
               overall: bool = True) -> pd.DataFrame:
    """Preference shares per system pair, question and target emotion, from the answers and the key alone.

    Args:
        results_csv: one or more results CSVs (:class:`ResultsLog`).
        key: the key file of :func:`save_key`, its table, or the trials.
        overall: add rows pooled over target emotions (``target_emotion == "all"``) when there are several.

    Returns:
        DataFrame: :data:`AB_RESULT_COLUMNS`; per group three rows, ``preferred`` = ``system_1``,
        ``system_2`` and ``"none"`` (no preference), with ``count`` of ``n`` answers, ``pct`` and its Wilson
        interval (``ci_low``, ``ci_high``, in %), and ``p_value``: the two-sided binomial test of
        ``system_1`` against ``system_2`` wins, ties left out (``nan`` with no wins).
    """
    from scipy import stats

    joined = _joined(results_csv, key, AB_TASK)
    bad = sorted(set(joined["answer"]) - set(AB_CHOICES))
    if bad:
        raise DatasetError(f"A/B answers must be {AB_CHOICES}, found {bad}")
    chosen = joined[joined["label"] == joined["answer"]][["listener", "trial_id", "system"]]
    answers = joined.drop_duplicates(["listener", "trial_id"]).merge(chosen, on=["listener", "trial_id"], how="left",
                                                                     suffixes=("_clip", ""))
    answers["preferred"] = answers["system"].fillna(NO_PREFERENCE)
    answers = _with_pooled(answers, overall)
    rows = []
    by = ["system_1", "system_2", "question", "target_emotion"]
    for (s1, s2, question, emotion), group in answers.groupby(by, sort=False):
        counts = group["preferred"].value_counts()
        n, wins = len(group), (int(counts.get(s1, 0)), int(counts.get(s2, 0)))
        p_value = float(stats.binomtest(wins[0], sum(wins)).pvalue) if sum(wins) else float("nan")
        for preferred in (s1, s2, NO_PREFERENCE):
            k = int(counts.get(preferred, 0))
            low, high = wilson_interval(k, n, confidence)
            rows.append({"system_1": s1, "system_2": s2, "question": question, "target_emotion": emotion,
                         "preferred": preferred, "count": k, "n": n, "pct": 100.0 * k / n, "ci_low": 100.0 * low,
                         "ci_high": 100.0 * high, "p_value": p_value, "n_listeners": group["listener"].nunique()})
    out = pd.DataFrame(rows, columns=list(AB_RESULT_COLUMNS))
    return _sorted(out, ["system_1", "system_2"])


MOS_RESULT_COLUMNS = ("system", "question", "target_emotion", "n", "mean", "std", "ci_low", "ci_high", "n_listeners")


def analyze_mos(results_csv: str | Path | Sequence[str | Path], key, *, confidence: float = 0.95,
                overall: bool = True) -> pd.DataFrame:
    """MOS per system, question and target emotion, from the answers and the key alone.

    The interval is Student's t over all ratings of the group; it treats ratings as independent, which
    is optimistic when few listeners rate many clips (``n_listeners`` says how many there were).

    Args:
        results_csv: one or more results CSVs (:class:`ResultsLog`).
        key: the key file of :func:`save_key`, its table, or the trials.
        overall: add rows pooled over target emotions (``target_emotion == "all"``) when there are several.

    Returns:
        DataFrame: :data:`MOS_RESULT_COLUMNS`; ``ci_low``/``ci_high`` are ``nan`` for a single rating.
    """
    joined = _joined(results_csv, key, MOS_TASK)
    joined = joined[joined["label"] == "clip"].copy()
    score = pd.to_numeric(joined["answer"], errors="coerce")
    if not score.isin(range(1, 6)).all():
        raise DatasetError(f"MOS answers must be 1 to 5, found {sorted(set(joined['answer'][~score.isin(range(1, 6))]))}")
    joined["score"] = score.astype(float)
    rows = []
    for (system, question, emotion), group in _with_pooled(joined, overall).groupby(
            ["system", "question", "target_emotion"], sort=False):
        low, high = t_interval(group["score"], confidence)
        rows.append({"system": system, "question": question, "target_emotion": emotion, "n": len(group),
                     "mean": float(group["score"].mean()),
                     "std": float(group["score"].std(ddof=1)) if len(group) > 1 else float("nan"),
                     "ci_low": low, "ci_high": high, "n_listeners": group["listener"].nunique()})
    out = pd.DataFrame(rows, columns=list(MOS_RESULT_COLUMNS))
    return _sorted(out, ["system"])


def _sorted(table: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """Reference systems first, ``target`` last; questions in a fixed order; pooled ``"all"`` rows last."""
    if table.empty:
        return table
    keys = pd.DataFrame({f"_{c}": table[c].map(_system_rank) for c in systems})
    questions = {q: k for k, q in enumerate(dict.fromkeys((*MOS_QUESTIONS, *AB_QUESTIONS)))}
    keys["_question"] = table["question"].map(questions)
    keys["_emotion"] = table["target_emotion"].map(lambda e: (e == ALL, e))
    order = sorted(range(len(table)), key=lambda k: tuple(keys.iloc[k]))
    return table.iloc[order].reset_index(drop=True)


def write_summary(path: str | Path, ab: pd.DataFrame | None = None, mos: pd.DataFrame | None = None,
                  **extra) -> Path:
    """Write the analysis tables (``nan`` as ``null``) and ``extra`` as one JSON file; returns the path."""
    report = {**extra, "ab": [] if ab is None else json.loads(ab.to_json(orient="records")),
              "mos": [] if mos is None else json.loads(mos.to_json(orient="records"))}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
