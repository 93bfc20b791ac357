"""Listening-test answers: :class:`ResultsLog`, one listener's answers appended and fsynced to a shared CSV.

The results CSV holds only listener, trial id, answer and time (:data:`RESULT_COLUMNS`), one row per
answer, so a crash loses at most the answer being given and a new session on the same CSV continues
with the trials still to do. :func:`read_results` reads one or more of them back.
"""

from __future__ import annotations

import csv
import getpass
import io
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from emocore.evaluation.listening.trials import Trial
from emocore.exceptions import DatasetError, DuplicateAnswerError, ParameterError
from emocore.io import locked

RESULT_COLUMNS = ("listener", "trial_id", "answer", "timestamp")


# -------------------------------------------------------------------------------------------- results


def default_listener() -> str:
    """The login name: the listener id when none is given, so a restarted session finds its answers."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "anonymous"


def _read_rows(path: Path) -> list[dict]:
    """The complete rows of a results CSV; a last row torn by a crash mid-write (no line end) is left out."""
    if not path.is_file() or path.stat().st_size == 0:
        return []
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is not None and header != list(RESULT_COLUMNS):
        raise DatasetError(f"{path} is not a listening-test results file (columns {header}, "
                           f"expected {list(RESULT_COLUMNS)})")
    return [dict(zip(RESULT_COLUMNS, row)) for row in reader if len(row) == len(RESULT_COLUMNS) and all(row)]


class ResultsLog:
    """One listener's answers in a shared results CSV (:data:`RESULT_COLUMNS`), one row written per answer.

    Each :meth:`record` appends its row, flushes and fsyncs before returning, so a crash or a closed
    browser loses at most the answer being given. The file is re-read before each append, so two
    sessions of one listener cannot answer the same trial twice.

    Args:
        path: the CSV (created with its header on first use).
        listener: who answers; empty for :func:`default_listener`.
    """

    def __init__(self, path: str | Path, listener: str = ""):
        listener = (listener or default_listener()).strip()
        if not listener or any(ch in listener for ch in "\r\n"):
            raise ParameterError(f"listener must be a non-empty single-line id, got {listener!r}")
        self.path, self.listener = Path(path), listener
        _read_rows(self.path)  # fail now on a file that is not a results CSV

    def answers(self) -> dict[str, str]:
        """``trial_id -> answer`` of this listener, as on disk now (the first answer where a file was edited)."""
        out: dict[str, str] = {}
        for row in _read_rows(self.path):
            if row["listener"] == self.listener:
                out.setdefault(row["trial_id"], row["answer"])
        return out

    def remaining(self, trials: Iterable[Trial]) -> list[Trial]:
        """The trials this listener has not answered, in their order."""
        done = self.answers()
        return [t for t in trials if t.trial_id not in done]

    def record(self, trial_id: str, answer: str) -> dict:
        """Append one answer and make it durable; returns the row written.

        Raises:
            DuplicateAnswerError: this listener already answered ``trial_id``.
        """
        answer, trial_id = str(answer), str(trial_id)
        if not trial_id or not answer:
            raise ParameterError("trial_id and answer must not be empty")
        row = {"listener": self.listener, "trial_id": trial_id, "answer": answer,
               "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locked(self.path):  # several listeners' kernels (the Voila page) append to one file
            if trial_id in self.answers():
                raise DuplicateAnswerError(f"{self.listener} already answered trial {trial_id} (in {self.path})")
            self._drop_torn_row()
            new = not self.path.is_file() or self.path.stat().st_size == 0
            with self.path.open("a", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
                if new:
                    writer.writeheader()
                writer.writerow(row)
                f.flush()
                os.fsync(f.fileno())
        return row

    def _drop_torn_row(self) -> None:
        """Cut a last row a crash left without its line end (never confirmed to the listener)."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        with self.path.open("r+b") as f:
            data = f.read()
            if not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)


def read_results(results_csv: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """The answers of one or more results CSVs as a table (:data:`RESULT_COLUMNS`).

    A listener's second answer to a trial (possible only by editing the file) is dropped.

    Raises:
        DatasetError: a file is missing or is not a results CSV.
    """
    files = [results_csv] if isinstance(results_csv, (str, os.PathLike)) else list(results_csv)
    rows = []
    for path in map(Path, files):
        if not path.is_file():
            raise DatasetError(f"no results file at {path}")
        rows += _read_rows(path)
    table = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    return table.drop_duplicates(["listener", "trial_id"], keep="first").reset_index(drop=True)
