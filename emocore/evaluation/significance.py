"""Paired comparisons: is one system's judge accuracy above another's by more than chance, on the same files?

The evaluation's cells are small (32 TESS words, 16 recordings of unseen actors per target emotion), so one file
moves a cell by 3 or 6 points, and two systems' accuracies can differ by 10 points by chance. Because both
systems convert the *same* source files, the right test is McNemar's (exact form): of the files on which exactly
one system is heard as the target emotion, does one system win more often than a fair coin would? Files that
both systems get right, or both wrong, say nothing about which is better.

:func:`paired_comparison` gives, per group and target emotion and for each judge (eGeMAPS, log-mel and *both*:
heard as the target by the two judges at once, the project's criterion), the two accuracies, the files gained and
lost, and the two-sided exact p-value; ``pooled`` rows add up every cell of a group (when there are several) and of
the whole table (more files, a stronger test, but a mix of targets). Read a p-value above 0.05 as "not shown to
differ", not as "equal". Two cautions: a pooled row counts each source word once per target emotion as if the
conversions were independent, so its p-value is somewhat optimistic; and a table holds some twenty tests, so one of
them below 0.05 is expected by chance alone (look at the pooled rows and at cells far below 0.05).

Files are paired by their ``source_path`` and target emotion: two tables compare only if they converted the same
files from the same place (the same corpus folder).

``python -m emocore.evaluation.significance A.csv[:SYSTEM] B.csv[:SYSTEM]`` compares two rows of
``evaluation.csv`` files (from :mod:`emocore.evaluation.multispeaker` or ``emocore-evaluate``), B against A.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from emocore.evaluation.report import failed_rows
from emocore.exceptions import ParameterError

#: the judges' columns of an evaluation table, by name; ``both`` is computed from the other two
JUDGE_COLUMNS = {"egemaps": "emotion_correct", "logmel": "emotion_correct_logmel"}
#: what identifies one conversion of one source file within a system
PAIR_KEYS = ("source_path", "target_emotion")
COMPARISON_COLUMNS = ("group", "target_emotion", "judge", "n", "baseline_pct", "system_pct", "gained", "lost",
                      "p_value")


def mcnemar_exact(gained: int, lost: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (``1.0`` when there are none)."""
    n = int(gained) + int(lost)
    if n == 0:
        return 1.0
    return float(stats.binomtest(min(int(gained), int(lost)), n, 0.5).pvalue)


def _judged(table: pd.DataFrame) -> pd.DataFrame:
    """The table's judges as 0/1 columns named by judge, with ``both`` where both judges are present."""
    present = {name: column for name, column in JUDGE_COLUMNS.items() if column in table}
    if not present:
        raise ParameterError(f"the evaluation table has no judge column ({', '.join(JUDGE_COLUMNS.values())})")
    judged = pd.DataFrame({name: table[column].astype(float) for name, column in present.items()}, index=table.index)
    if len(present) == len(JUDGE_COLUMNS):  # NaN where either judge did not score the file
        both = (judged[list(present)] > 0.5).all(axis=1).astype(float)
        judged["both"] = both.where(judged[list(present)].notna().all(axis=1))
    return judged


def _rows_of(table: pd.DataFrame, system: str, label: str) -> pd.DataFrame:
    rows = table[(table["system"].astype(str) == system) & ~failed_rows(table)].copy()  # a failed file says nothing
    if rows.empty:
        known = ", ".join(sorted(table["system"].dropna().astype(str).unique()))
        raise ParameterError(f"{label}: no scored rows of system {system!r} (systems: {known})")
    missing = [key for key in PAIR_KEYS if key not in rows]
    if missing:
        raise ParameterError(f"{label}: the evaluation table has no {', '.join(missing)} column")
    if "group" not in rows:  # an emocore-evaluate table: one group
        rows["group"] = "all"
    rows["source_path"] = rows["source_path"].astype(str)
    if rows.duplicated(list(PAIR_KEYS)).any():
        raise ParameterError(f"{label}: system {system!r} has several rows for one source file and target")
    return rows.set_index(list(PAIR_KEYS))


def paired_comparison(baseline: pd.DataFrame, system: pd.DataFrame, *, baseline_system: str, system_name: str
                      ) -> pd.DataFrame:
    """McNemar's test of ``system_name`` (rows of ``system``) against ``baseline_system`` (rows of ``baseline``).

    The two may be one table. Only source files converted to the same target by both are compared, and for each
    judge only those it scored in both (a failed file, or a group without that judge, is left out).

    Returns:
        DataFrame: :data:`COMPARISON_COLUMNS`, per group and target emotion (then ``pooled`` per group and over
        all, as ``target_emotion == "pooled"`` and ``group == "all"``), for each judge; accuracies in %.

    Raises:
        ParameterError: a system with no rows, a table without the pairing or judge columns, or no file in common.
    """
    a = _rows_of(baseline, baseline_system, "baseline")
    b = _rows_of(system, system_name, "system")
    common = a.index.intersection(b.index)
    if common.empty:
        raise ParameterError(f"{baseline_system!r} and {system_name!r} have no converted file in common")
    keys = a.loc[common].reset_index()[["group", "target_emotion"]]
    a, b = _judged(a.loc[common].reset_index()), _judged(b.loc[common].reset_index())
    judges = [j for j in a.columns if j in b.columns]
    cells = [(g, e, (keys["group"] == g) & (keys["target_emotion"] == e))
             for g, e in keys.drop_duplicates().itertuples(index=False)]
    if keys["group"].nunique() > 1:
        cells += [(g, "pooled", keys["group"] == g) for g in keys["group"].unique()]
    cells += [("all", "pooled", np.ones(len(keys), dtype=bool))]
    rows = []
    for group, emotion, mask in cells:
        for judge in judges:  # the files both systems have this judge's verdict on (none: a failed file)
            scored = np.asarray(mask) & a[judge].notna().to_numpy() & b[judge].notna().to_numpy()
            if not scored.any():
                continue
            right_a, right_b = a[judge].to_numpy()[scored] > 0.5, b[judge].to_numpy()[scored] > 0.5
            gained, lost = int(np.sum(right_b & ~right_a)), int(np.sum(right_a & ~right_b))
            rows.append({"group": group, "target_emotion": emotion, "judge": judge, "n": int(scored.sum()),
                         "baseline_pct": 100.0 * right_a.mean(), "system_pct": 100.0 * right_b.mean(),
                         "gained": gained, "lost": lost, "p_value": mcnemar_exact(gained, lost)})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def format_comparison(table: pd.DataFrame, *, pooled_only: bool = False) -> str:
    """A :func:`paired_comparison` table as text: accuracies to whole percent, p-values to two significant figures
    (``pooled_only``: the rows pooled over every file)."""
    if pooled_only:
        table = table[(table["group"] == "all") & (table["target_emotion"] == "pooled")]
    return table.round({"baseline_pct": 0, "system_pct": 0}).to_string(
        index=False, formatters={"p_value": lambda p: f"{p:.2g}"})


def _table_and_system(spec: str) -> tuple[Path, str | None]:
    """``PATH`` or ``PATH:SYSTEM``: a file that exists is taken whole, else the text after the last ``:`` is the
    system (a system name with a ``:`` in it is not possible here)."""
    if Path(spec).is_file() or ":" not in Path(spec).name:
        return Path(spec), None
    path, _, system = spec.rpartition(":")
    return Path(path), system or None


def _load(spec: str, label: str) -> tuple[pd.DataFrame, str]:
    path, system = _table_and_system(spec)
    try:
        table = pd.read_csv(path, dtype={"system": str, "source_path": str, "target_emotion": str})
    except (OSError, ValueError) as error:
        raise ParameterError(f"{path}: cannot read an evaluation table ({type(error).__name__}: {error})") from error
    if "system" not in table:
        raise ParameterError(f"{path}: not an evaluation table (no 'system' column)")
    if system is None:
        systems = sorted(table["system"].dropna().astype(str).unique())
        if len(systems) != 1:
            raise ParameterError(f"{path} holds the systems {', '.join(systems)}: name one as {path}:SYSTEM "
                                 f"({label})")
        system = systems[0]
    return table, system


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m emocore.evaluation.significance A.csv[:SYSTEM] B.csv[:SYSTEM]``: B against A, McNemar per cell."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m emocore.evaluation.significance",
                                     description="Compare two systems' judge accuracy on the same converted files "
                                                 "(exact McNemar test per group, target emotion and judge).")
    parser.add_argument("baseline", help="evaluation.csv[:SYSTEM] (SYSTEM may be left out when the file has one)")
    parser.add_argument("system", help="evaluation.csv[:SYSTEM], compared against the baseline")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (CSV; not over a file)")
    args = parser.parse_args(argv)
    try:
        baseline, baseline_system = _load(args.baseline, "baseline")
        system, system_name = _load(args.system, "system")
        same_file = _table_and_system(args.baseline)[0].resolve() == _table_and_system(args.system)[0].resolve()
        if same_file and baseline_system == system_name:
            raise ParameterError(f"the baseline and the system are the same rows ({system_name!r})")
        table = paired_comparison(baseline, system, baseline_system=baseline_system, system_name=system_name)
        if args.out is not None and args.out.exists():
            raise ParameterError(f"{args.out} exists: choose another --out (nothing is written over a file)")
    except ParameterError as error:
        parser.exit(1, f"error: {error}\n")
    print(f"{system_name} against {baseline_system}: files heard as the target (%), files gained and lost, "
          "exact McNemar p")
    print(format_comparison(table))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
