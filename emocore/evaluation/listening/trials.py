"""Listening-test trials and their key: the items heard, A/B and MOS trials, and which system is behind each clip.

- Items: :func:`load_items` reads a manifest or notebook 04's ``evaluation.csv``; :func:`demo_items` gives a
  tiny test set for smoke runs.
- **Trials** (:class:`Trial`): :func:`make_ab_trials` (two systems' conversions of the same text by the same
  speaker: which sounds more <emotion>, which more natural) and :func:`make_mos_trials` (one clip rated 1-5
  for naturalness, for how much it sounds like the target emotion, and for speaker similarity to the source
  recording). The order and the A/B assignment come from a seeded generator, so one seed always gives the
  same test; a trial shows only an opaque id, a prompt and clip labels.
- **The key** (:func:`save_key`, :func:`load_key`): which system and file is behind every clip label, kept in
  its own CSV, apart from the answers.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emocore.dsp import audio
from emocore.evaluation.manifest import MANIFEST_NAME, TARGET_SYSTEM, EvalItem, read_manifest
from emocore.exceptions import DatasetError, ParameterError

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
KEY_COLUMNS = ("trial_id", "task", "question", "label", "system", "path", "speaker", "source_emotion",
               "target_emotion", "text_id", "system_1", "system_2")
#: the unconverted source recording; with :data:`~emocore.evaluation.TARGET_SYSTEM` the reference systems
SOURCE_SYSTEM = "source"
EVALUATION_CSV = "evaluation.csv"
LISTENING_SR = 16000  # every clip is played at the rate conversions are written at, so bandwidth gives nothing away


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
    from emocore.evaluation.systems import reference_items

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


def listening_trials(items: Iterable[EvalItem | Mapping], systems: Sequence[str], seed: int = 0,
                     n_trials: int = 0) -> tuple[list[Trial], list[Trial]]:
    """The A/B and the MOS trials of one test, as notebook 06 and the listener page (:mod:`.page`) both build them:
    :func:`make_ab_trials` over ``systems`` and :func:`make_mos_trials` of those systems and the real recordings,
    each cut to its first ``n_trials`` (0: all)."""
    items = list(items)
    ab = make_ab_trials(items, systems, seed=seed)[:n_trials or None]
    mos = make_mos_trials(items, seed=seed, systems=systems)[:n_trials or None]
    return ab, mos


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
    seed or manifest (other trial ids) still find their key. The file is replaced atomically under a lock, so a
    reader never sees it half-written and two writers do not lose each other's rows.
    """
    from emocore.io import locked, write_text_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = key_table(trials).astype(str)
    with locked(path):
        if path.is_file():
            old = load_key(path)
            table = pd.concat([old, table[~table["trial_id"].isin(set(old["trial_id"]))]], ignore_index=True)
        write_text_atomic(path, table.to_csv(index=False))
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
