"""Listening tests: blinded A/B preference and MOS trials, a resumable results CSV, widgets and analysis.

A test has three parts that never mix:

- **Trials** (:class:`Trial`), built from the items of an evaluation manifest by :func:`make_ab_trials`
  (two systems' conversions of the same text by the same speaker: which sounds more <emotion>, which
  more natural) and :func:`make_mos_trials` (one clip rated 1-5 for naturalness, for how much it sounds
  like the target emotion, and for speaker similarity to the source recording). The order and the A/B
  assignment come from a seeded generator, so one seed always gives the same test.
- **What the listener sees**: an opaque trial id, a prompt, clips labelled ``"A"``/``"B"`` (or ``"clip"``
  and ``"reference"``) played from re-encoded, loudness-matched bytes, and answer buttons.
  :class:`ABSession` and :class:`MOSSession` hold the state; their :meth:`~ListeningSession.answer` is
  what the buttons call, so tests drive them without a browser.
- **The key** (:func:`save_key`): which system and file is behind every clip label, written to its own
  CSV. The results CSV (:class:`ResultsLog`) holds only listener, trial id, answer and time, one row
  appended and fsynced per answer; a new session on the same CSV continues with the trials still to do.

:func:`analyze_ab` and :func:`analyze_mos` read the results CSV(s) and the key, nothing else, and return
tidy tables: preference shares with Wilson intervals, and MOS with t intervals.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import html
import io
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from emocore.dsp import audio
from emocore.evaluation import MANIFEST_NAME, SYSTEM_ORDER, TARGET_SYSTEM, EvalItem, read_manifest
from emocore.exceptions import DatasetError, DuplicateAnswerError, ParameterError

AB_TASK, MOS_TASK = "ab", "mos"
AB_QUESTIONS = ("emotion", "naturalness")
MOS_QUESTIONS = ("naturalness", "emotion", "speaker")
NO_PREFERENCE = "none"
AB_CHOICES = ("A", "B", NO_PREFERENCE)
MOS_CHOICES = ("1", "2", "3", "4", "5")
#: what each MOS grade means, per question (absolute category rating, ITU-T P.800 for naturalness)
MOS_LABELS = {
    "naturalness": ("bad", "poor", "fair", "good", "excellent"),
    "emotion": ("not at all", "slightly", "moderately", "clearly", "extremely"),
    "speaker": ("definitely different", "probably different", "not sure", "probably same", "definitely same"),
}
RESULT_COLUMNS = ("listener", "trial_id", "answer", "timestamp")
KEY_COLUMNS = ("trial_id", "task", "question", "label", "system", "path", "speaker", "source_emotion",
               "target_emotion", "text_id", "system_1", "system_2")
#: the unconverted source recording; with :data:`~emocore.evaluation.TARGET_SYSTEM` the reference systems
SOURCE_SYSTEM = "source"
EVALUATION_CSV = "evaluation.csv"
LISTENING_SR = 16000  # every clip is played at the rate conversions are written at, so bandwidth gives nothing away
ALL = "all"  # the target_emotion of the pooled rows of the analysis tables


# ----------------------------------------------------------------------------------------------- items


def items_from_evaluation_csv(path: str | Path) -> list[EvalItem]:
    """The items of an ``evaluation.csv`` written by :func:`emocore.evaluation.write_report` (notebook 04).

    Its rows carry the manifest columns (``path``, ``system``, ``speaker``, ...). Notebook 04 writes absolute
    paths; a relative one is taken relative to the CSV's folder, else to the repository root (where the
    ``emocore-evaluate`` CLI is usually run). A file listed twice for one system and target emotion is kept once.

    Raises:
        DatasetError: the file is missing, empty or lacks a required column, or a listed audio file is missing.
    """
    from emocore import paths

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no evaluation table at {path}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("path", "system", "speaker", "target_emotion") if c not in table.columns]
    if missing or table.empty:
        raise DatasetError(f"{path} lacks the column(s) {', '.join(missing)}" if missing else f"{path} lists no files")
    items = []
    for row in table.to_dict("records"):
        base = path.parent if (path.parent / row["path"]).exists() else paths.repo_root()
        items.append(EvalItem.from_mapping(row, base=base))
    return _checked(_unique_items(items), path)


def load_items(folder: str | Path) -> list[EvalItem]:
    """The items of ``<folder>/manifest.csv``, else of ``<folder>/evaluation.csv`` (what notebook 04 writes).

    Raises:
        DatasetError: neither file is there, the one found is malformed, or a listed audio file is missing.
    """
    folder = Path(folder)
    if (folder / MANIFEST_NAME).is_file() or (folder.is_file() and folder.name != EVALUATION_CSV):
        return _checked(_unique_items(read_manifest(folder)), folder)
    if folder.name == EVALUATION_CSV or (folder / EVALUATION_CSV).is_file():
        return items_from_evaluation_csv(folder if folder.is_file() else folder / EVALUATION_CSV)
    raise DatasetError(f"neither {MANIFEST_NAME} nor {EVALUATION_CSV} in {folder}: run notebook 04 "
                       "(it writes evaluation.csv) or write a manifest with emocore.evaluation.write_manifest")


def _checked(items: list[EvalItem], where: Path) -> list[EvalItem]:
    """``items``, after making sure every file a listener would hear is there."""
    lost = sorted({str(p) for i in items for p in (i.path, i.source_path, i.reference_path)
                   if p is not None and not p.is_file()})
    if lost:
        raise DatasetError(f"{len(lost)} audio file(s) listed in {where} are missing, e.g. {lost[0]}")
    return items


def _unique_items(items: Iterable[EvalItem]) -> list[EvalItem]:
    seen, out = set(), []
    for item in items:
        key = (item.system, item.path, item.target_emotion)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def demo_items(out_dir: str | Path, *, corpus: str = "tess", speaker: str = "OAF", source_emotion: str = "neutral",
               target_emotions: Sequence[str] = ("angry", "happy"), n_texts: int = 2,
               root: str | Path | None = None) -> list[EvalItem]:
    """A tiny test set for smoke runs: the real ``source`` and ``target`` recordings of ``n_texts`` words.

    Without the corpus, harmonic tones stand in (written under ``out_dir``): the ``source`` at 150 Hz
    and each ``target`` at its own pitch, so the pipeline runs anywhere.

    Returns:
        list[EvalItem]: ``source`` and ``target`` items for every target emotion and text.
    """
    from emocore.data.datasets import list_utterances
    from emocore.evaluation import reference_items

    try:
        said = [{u.text_id for u in list_utterances(corpus, speaker, emotion, root=root)}
                for emotion in (source_emotion, *target_emotions)]
        texts = sorted(set.intersection(*said))[:n_texts]  # words recorded in every emotion
        items = [item for target in target_emotions
                 for item in reference_items(corpus, speaker, source_emotion, target, text_ids=texts, root=root)]
        if items:
            return items
    except DatasetError:
        pass
    return _tone_items(Path(out_dir), speaker, source_emotion, target_emotions, n_texts)


def _tone_items(out_dir: Path, speaker: str, source_emotion: str, target_emotions: Sequence[str],
                n_texts: int) -> list[EvalItem]:
    t = np.arange(LISTENING_SR) / LISTENING_SR

    def tone(f0_hz):  # 1 s, 10 harmonics, 5 Hz vibrato
        phase = 2 * np.pi * np.cumsum(f0_hz * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / LISTENING_SR
        wav = sum(np.sin(k * phase) / k for k in range(1, 11))
        return 0.5 * wav / np.max(np.abs(wav))

    items = []
    for text in range(n_texts):
        text_id = f"tone{text}"
        source = audio.save_wav(out_dir / SOURCE_SYSTEM / f"{speaker}_{text_id}_{source_emotion}.wav",
                                tone(150.0 + 10 * text), LISTENING_SR)
        for k, target in enumerate(target_emotions):
            path = audio.save_wav(out_dir / TARGET_SYSTEM / f"{speaker}_{text_id}_{target}.wav",
                                  tone(200.0 + 40 * k + 10 * text), LISTENING_SR)
            common = dict(speaker=speaker, source_emotion=source_emotion, target_emotion=target, text_id=text_id,
                          source_path=source)
            items += [EvalItem(system=SOURCE_SYSTEM, path=source, reference_path=path, **common),
                      EvalItem(system=TARGET_SYSTEM, path=path, **common)]
    return items


# ---------------------------------------------------------------------------------------------- trials


@dataclass(frozen=True)
class Clip:
    """One clip of a trial: the ``label`` the listener sees, and (hidden from ``repr``) what it is."""

    label: str
    path: Path = field(repr=False)
    system: str = field(repr=False)


@dataclass(frozen=True)
class Trial:
    """One question to one listener.

    What a listener may see is ``trial_id``, ``prompt`` and the clip labels; the systems and files behind
    the labels (the key) are left out of ``repr`` and out of every widget.

    Attributes:
        trial_id: opaque, e.g. ``"ab-3f9c20d1e7"``: a hash, so it says nothing about the systems.
        task: ``"ab"`` or ``"mos"``.
        question: ``"emotion"`` or ``"naturalness"`` (A/B); those or ``"speaker"`` (MOS).
        prompt: the question as the listener reads it.
        clips: ``A`` then ``B`` (A/B); ``clip``, after ``reference`` for speaker similarity (MOS).
        target_emotion: for deduplicated MOS clips heard under several target emotions, joined with ``+``.
        system_1, system_2: the pair an A/B trial compares, in the order given to :func:`make_ab_trials`.
    """

    trial_id: str
    task: str
    question: str
    prompt: str
    clips: tuple[Clip, ...] = field(repr=False)
    speaker: str = field(default="", repr=False)
    source_emotion: str = field(default="", repr=False)
    target_emotion: str = field(default="", repr=False)
    text_id: str = field(default="", repr=False)
    system_1: str = field(default="", repr=False)
    system_2: str = field(default="", repr=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.clips)


def _trial_id(task: str, seed: int, question: str, clips: Sequence[Clip], prompt: str) -> str:
    text = "|".join([task, str(seed), question, prompt, *(f"{c.label}={c.path}" for c in clips)])
    return f"{task}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _ab_prompt(question: str, emotion: str) -> str:
    if question == "emotion":
        return f"Which clip sounds more {emotion}?"
    return "Which clip sounds more natural, more like a real recording of a person?"


def _mos_prompt(question: str, emotion: str) -> str:
    if question == "naturalness":
        return "How natural does the clip sound?"
    if question == "emotion":
        return f"How {emotion} does the clip sound?"
    return "Is the clip spoken by the same person as the reference?"


def _check_questions(questions: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    questions = tuple(questions)
    bad = [q for q in questions if q not in allowed]
    if bad or not questions:
        raise ParameterError(f"questions must be some of {allowed}, got {questions}")
    return questions


def make_ab_trials(items: Iterable[EvalItem | Mapping], systems: Sequence[str], seed: int = 0, *,
                   questions: Sequence[str] = AB_QUESTIONS) -> list[Trial]:
    """A/B preference trials: every two of ``systems`` on the same text, speaker and emotion pair.

    Each pair gets one trial per question. Which system plays as ``A`` is balanced (half the trials
    each way) and, like the order of the trials, drawn from ``seed``.

    Args:
        items: :class:`~emocore.evaluation.EvalItem` objects or manifest rows.
        systems: two or more system names; with more, every pair of them is compared.
        questions: ``"emotion"`` (which sounds more <target emotion>) and/or ``"naturalness"``.

    Returns:
        list[Trial]: in presentation order.

    Raises:
        ParameterError: fewer than two systems, a system not in ``items``, or no text converted by a pair.
    """
    items = [i if isinstance(i, EvalItem) else EvalItem.from_mapping(i) for i in items]
    systems, questions = tuple(dict.fromkeys(systems)), _check_questions(questions, AB_QUESTIONS)
    if len(systems) < 2 or NO_PREFERENCE in systems:
        raise ParameterError(f"an A/B test needs two systems, none named {NO_PREFERENCE!r}; got {list(systems)}")
    available = {i.system for i in items}
    missing = [s for s in systems if s not in available]
    if missing:
        raise ParameterError(f"no items of system(s) {missing}; the items hold {sorted(available)}")
    groups: dict[tuple, dict[str, EvalItem]] = {}
    for item in sorted(items, key=lambda i: (i.speaker, i.source_emotion, i.target_emotion, i.text_id, str(i.path))):
        if item.system in systems:
            groups.setdefault((item.speaker, item.source_emotion, item.target_emotion, item.text_id), {}).setdefault(
                item.system, item)
    cases = [(group, s1, s2, question) for group in groups.values()
             for s1, s2 in itertools.combinations(systems, 2) if s1 in group and s2 in group
             for question in questions]
    if not cases:
        raise ParameterError(f"no text, speaker and emotion pair is converted by both of {list(systems)}")
    rng = np.random.default_rng(seed)
    first_is_a = rng.permutation(np.arange(len(cases)) % 2 == 0)
    trials = []
    for (group, s1, s2, question), swap in zip(cases, ~first_is_a):
        one, two = group[s1], group[s2]
        a, b = (two, one) if swap else (one, two)
        clips = (Clip("A", a.path, a.system), Clip("B", b.path, b.system))
        prompt = _ab_prompt(question, one.target_emotion)
        trials.append(Trial(_trial_id(AB_TASK, seed, question, clips, prompt), AB_TASK, question, prompt, clips,
                            speaker=one.speaker, source_emotion=one.source_emotion,
                            target_emotion=one.target_emotion, text_id=one.text_id, system_1=s1, system_2=s2))
    return _shuffled(trials, rng)


def make_mos_trials(items: Iterable[EvalItem | Mapping], seed: int = 0, include_references: bool = True, *,
                    systems: Sequence[str] | None = None, questions: Sequence[str] = MOS_QUESTIONS) -> list[Trial]:
    """MOS trials: each clip rated 1-5 on each question, in an order drawn from ``seed``.

    - ``naturalness``: one trial per file, however many target emotions it is listed under.
    - ``emotion``: how much it sounds like the target emotion; one trial per file and target emotion.
    - ``speaker``: the clip after the ``reference`` (its source recording); skipped where the clip *is*
      the source recording or the source is unknown.

    Args:
        items: :class:`~emocore.evaluation.EvalItem` objects or manifest rows.
        include_references: also rate the real recordings, the unconverted ``source`` and the real
            ``target``: the items of those systems, or else the ``source_path`` and ``reference_path``
            of the converted items. ``False`` leaves both systems out.
        systems: the converted systems to rate; ``None`` for all in ``items``.

    Returns:
        list[Trial]: in presentation order.

    Raises:
        ParameterError: nothing to rate, or an unknown system or question.
    """
    items = [i if isinstance(i, EvalItem) else EvalItem.from_mapping(i) for i in items]
    questions = _check_questions(questions, MOS_QUESTIONS)
    references = (SOURCE_SYSTEM, TARGET_SYSTEM)
    if systems is not None:
        missing = sorted(set(systems) - {i.system for i in items})
        if missing:
            raise ParameterError(f"no items of system(s) {missing}; the items hold {sorted({i.system for i in items})}")
    rated = [i for i in items if i.system not in references and (systems is None or i.system in systems)]
    if include_references:
        rated += [i for i in items if i.system in references]
        present = {i.system for i in items}
        for item in list(rated):
            if SOURCE_SYSTEM not in present and item.source_path is not None:
                rated.append(EvalItem(system=SOURCE_SYSTEM, path=item.source_path, speaker=item.speaker,
                                      target_emotion=item.target_emotion, source_emotion=item.source_emotion,
                                      text_id=item.text_id, source_path=item.source_path))
            if TARGET_SYSTEM not in present and item.reference_path is not None:
                rated.append(EvalItem(system=TARGET_SYSTEM, path=item.reference_path, speaker=item.speaker,
                                      target_emotion=item.target_emotion, source_emotion=item.source_emotion,
                                      text_id=item.text_id, source_path=item.source_path))
    rated = sorted(_unique_items(rated), key=lambda i: (i.system, str(i.path), i.target_emotion))
    if not rated:
        raise ParameterError("no clips to rate: check systems and include_references")

    cases: dict[tuple, list[EvalItem]] = {}  # (question, system, path[, emotion]) -> the items it stands for
    for item in rated:
        for question in questions:
            if question == "speaker" and (item.source_path is None or item.source_path == item.path):
                continue
            key = (question, item.system, item.path, item.target_emotion if question == "emotion" else "")
            cases.setdefault(key, []).append(item)
    trials = []
    for (question, system, path, _), group in cases.items():
        first = group[0]
        emotions = "+".join(dict.fromkeys(i.target_emotion for i in group))
        clips = (Clip("clip", path, system),)
        if question == "speaker":
            clips = (Clip("reference", first.source_path, SOURCE_SYSTEM),) + clips
        prompt = _mos_prompt(question, first.target_emotion)
        trials.append(Trial(_trial_id(MOS_TASK, seed, question, clips, prompt), MOS_TASK, question, prompt, clips,
                            speaker=first.speaker, source_emotion=first.source_emotion, target_emotion=emotions,
                            text_id=first.text_id))
    return _shuffled(trials, np.random.default_rng([seed, 1]))


def _shuffled(trials: list[Trial], rng: np.random.Generator) -> list[Trial]:
    ids = [t.trial_id for t in trials]
    if len(set(ids)) != len(ids):
        raise ParameterError("two trials are the same (is a file listed twice for one system?)")
    return [trials[k] for k in rng.permutation(len(trials))]


# ------------------------------------------------------------------------------------------------ key


def key_table(trials: Iterable[Trial]) -> pd.DataFrame:
    """The key: one row per clip of every trial (:data:`KEY_COLUMNS`), saying which system and file it is."""
    rows = [{"trial_id": t.trial_id, "task": t.task, "question": t.question, "label": c.label, "system": c.system,
             "path": str(c.path), "speaker": t.speaker, "source_emotion": t.source_emotion,
             "target_emotion": t.target_emotion, "text_id": t.text_id, "system_1": t.system_1,
             "system_2": t.system_2} for t in trials for c in t.clips]
    return pd.DataFrame(rows, columns=list(KEY_COLUMNS))


def save_key(trials: Iterable[Trial], path: str | Path) -> Path:
    """Write the key of ``trials`` (:func:`key_table`) as a CSV, apart from the results; returns the path.

    An existing key keeps its rows and gains those of trials it lacks, so answers given under another
    seed or manifest (other trial ids) still find their key.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = key_table(trials).astype(str)
    if path.is_file():
        old = load_key(path)
        table = pd.concat([old, table[~table["trial_id"].isin(set(old["trial_id"]))]], ignore_index=True)
    table.to_csv(path, index=False)
    return path


def load_key(key: str | Path | pd.DataFrame | Iterable[Trial]) -> pd.DataFrame:
    """A key as a table, from a file written by :func:`save_key`, a table, or the trials themselves.

    Raises:
        DatasetError: the file is missing or lacks key columns.
    """
    if isinstance(key, pd.DataFrame):
        table = key
    elif isinstance(key, (str, os.PathLike)):
        if not Path(key).is_file():
            raise DatasetError(f"no key at {key}")
        table = pd.read_csv(key, dtype=str, keep_default_na=False)
    else:
        table = key_table(key)
    missing = [c for c in KEY_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"the key lacks the column(s) {', '.join(missing)}")
    return table.astype(str)


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
        if trial_id in self.answers():
            raise DuplicateAnswerError(f"{self.listener} already answered trial {trial_id} (in {self.path})")
        row = {"listener": self.listener, "trial_id": trial_id, "answer": answer,
               "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
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


# ------------------------------------------------------------------------------------------- sessions


def clip_bytes(path: str | Path, *, sr: int = LISTENING_SR, rms_dbfs: float = -26.0, peak: float = 0.99) -> bytes:
    """A clip as the listener gets it: 16-bit WAV bytes at ``sr``, scaled to ``rms_dbfs`` (peak at most ``peak``).

    Re-encoding drops whatever the file's name or metadata might say, and equal loudness keeps a louder
    system from winning for being louder.
    """
    wav = audio.load_wav(path, sr)
    rms = float(np.sqrt(np.mean(wav ** 2)))
    wav = wav * min(10 ** (rms_dbfs / 20) / rms, peak / float(np.max(np.abs(wav))))
    buffer = io.BytesIO()
    import soundfile as sf

    sf.write(buffer, wav, sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


class ListeningSession:
    """One listener working through trials of one task, answers recorded in ``results_csv``.

    A session built on a CSV that already holds some of this listener's answers starts at the first
    trial still to do. :meth:`answer` is what the widget's buttons call.

    Args:
        trials: from :func:`make_ab_trials` (:class:`ABSession`) or :func:`make_mos_trials` (:class:`MOSSession`).
        results_csv: where answers go; the same file for every listener is fine.
        listener: the listener's id; empty for :func:`default_listener`.
    """

    task = ""
    choices: tuple[str, ...] = ()

    def __init__(self, trials: Sequence[Trial], results_csv: str | Path, listener: str = "", *,
                 sr: int = LISTENING_SR):
        self.trials = list(trials)
        wrong = sorted({t.task for t in self.trials} - {self.task})
        if wrong:
            raise ParameterError(f"{type(self).__name__} takes {self.task!r} trials, got {wrong}")
        self.log = ResultsLog(results_csv, listener)
        self.listener, self.sr = self.log.listener, sr
        self.remaining = self.log.remaining(self.trials)
        self.buttons: dict[str, object] = {}
        self._ui = None

    @property
    def current(self) -> Trial | None:
        """The trial being asked, ``None`` when all are answered."""
        return self.remaining[0] if self.remaining else None

    @property
    def done(self) -> bool:
        return not self.remaining

    @property
    def progress(self) -> str:
        n = len(self.trials)
        return f"all {n} trials answered" if self.done else f"trial {n - len(self.remaining) + 1} of {n}"

    def normalize_answer(self, value) -> str:
        value = str(value).strip()
        if value not in self.choices:
            raise ParameterError(f"an answer is one of {self.choices}, got {value!r}")
        return value

    def answer(self, value) -> dict:
        """Record ``value`` for the current trial, move to the next one, and return the row written.

        Raises:
            ParameterError: not one of :attr:`choices`, or no trial left.
            DuplicateAnswerError: the trial was answered meanwhile (another session of this listener);
                it is skipped.
        """
        value = self.normalize_answer(value)
        trial = self.current
        if trial is None:
            raise ParameterError(f"{self.listener} has answered all {len(self.trials)} trials")
        try:
            row = self.log.record(trial.trial_id, value)
        except DuplicateAnswerError:
            self.remaining.pop(0)
            self._render()
            raise
        self.remaining.pop(0)
        self._render()
        return row

    # -- the widget: built from ipywidgets only when asked for, so the logic above needs no frontend

    def choice_labels(self) -> dict[str, str]:
        """Button text per answer value."""
        return {c: c for c in self.choices}

    def instructions(self, trial: Trial) -> str:
        return ""

    def widget(self):
        """The UI: prompt, progress, the clips and one button per answer, wired to :meth:`answer`."""
        import ipywidgets as widgets

        self.prompt = widgets.HTML()
        self.status = widgets.Label(value=f"listener: {self.listener}")
        self.progress_label = widgets.Label()
        self.clips_box = widgets.HBox()
        self.buttons = {}
        for value, text in self.choice_labels().items():
            button = widgets.Button(description=text, layout=widgets.Layout(width="auto"))
            button.on_click(lambda _button, value=value: self._on_click(value))
            self.buttons[value] = button
        self._ui = widgets.VBox([self.prompt, self.progress_label, self.clips_box,
                                 widgets.HBox(list(self.buttons.values())), self.status])
        self._render()
        return self._ui

    def _on_click(self, value: str) -> None:
        try:
            row = self.answer(value)
            self.status.value = f"saved answer {row['answer']!r} to trial {row['trial_id']}"
        except (ParameterError, DuplicateAnswerError) as error:
            self.status.value = str(error)

    def _render(self) -> None:
        if self._ui is None:
            return
        import ipywidgets as widgets

        trial = self.current
        old_clips, self.clips_box.children = self.clips_box.children, ()
        for box in old_clips:  # close the played clips, or every trial's audio stays in the kernel and the notebook
            for child in box.children:
                child.close()
            box.close()
        self.progress_label.value = self.progress if trial is None else f"{self.progress} (id {trial.trial_id})"
        for button in self.buttons.values():
            button.disabled = trial is None
        if trial is None:
            self.prompt.value = "<b>Done, thank you.</b> Your answers are saved."
            return
        note = self.instructions(trial)
        self.prompt.value = f"<b>{html.escape(trial.prompt)}</b>" + (f"<br>{html.escape(note)}" if note else "")
        self.clips_box.children = [
            widgets.VBox([widgets.Label(value=clip.label),
                          widgets.Audio(value=clip_bytes(clip.path, sr=self.sr), format="wav", autoplay=False,
                                        loop=False)])
            for clip in trial.clips]


class ABSession(ListeningSession):
    """A/B preference: answers ``"A"``, ``"B"`` or ``"none"`` (no preference)."""

    task, choices = AB_TASK, AB_CHOICES

    def choice_labels(self) -> dict[str, str]:
        return {"A": "A", "B": "B", NO_PREFERENCE: "no preference"}

    def instructions(self, trial: Trial) -> str:
        return "Listen to both clips, then choose."


class MOSSession(ListeningSession):
    """MOS: answers ``1`` to ``5`` (stored as text); what each grade means depends on the question."""

    task, choices = MOS_TASK, MOS_CHOICES

    def normalize_answer(self, value) -> str:
        if isinstance(value, (int, np.integer, float)) and float(value).is_integer():
            value = int(value)
        return super().normalize_answer(value)

    def instructions(self, trial: Trial) -> str:
        labels = MOS_LABELS[trial.question]
        return "  ".join(f"{k} = {label}" for k, label in enumerate(labels, start=1))


def ab_widget(trials: Sequence[Trial], results_csv: str | Path, listener: str = ""):
    """The A/B widget of a new :class:`ABSession` (its session is ``widget.session``)."""
    session = ABSession(trials, results_csv, listener)
    ui = session.widget()
    ui.session = session
    return ui


def mos_widget(trials: Sequence[Trial], results_csv: str | Path, listener: str = ""):
    """The MOS widget of a new :class:`MOSSession` (its session is ``widget.session``)."""
    session = MOSSession(trials, results_csv, listener)
    ui = session.widget()
    ui.session = session
    return ui


def simulate_answers(session: ListeningSession, seed: int = 0, *, weights: Sequence[float] | None = None) -> int:
    """Answer every remaining trial at random, as a stand-in listener for smoke runs; returns how many.

    Args:
        weights: probability of each of ``session.choices``; ``None`` for uniform.
    """
    rng = np.random.default_rng(seed)
    n = 0
    while not session.done:
        session.answer(rng.choice(session.choices, p=weights))
        n += 1
    return n


# ------------------------------------------------------------------------------------------- analysis


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
