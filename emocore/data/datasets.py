"""Emotion domains and their utterances: listing a corpus on disk, plain folders, held-out splits.

On disk a corpus lives under the corpora folder (:func:`emocore.paths.corpora_dir`, set it with
``$EMOCORE_DATA_DIR``) as::

    <root>/<corpus>/<speaker>/<emotion>/<file>     e.g. tess/OAF/angry/OAF_bar_angry.flac
    <root>/<corpus>/manifest.csv                   one row per file; ``path`` is relative to <corpus>/

:func:`list_utterances` reads the manifest when there is one and otherwise scans the folders, taking the
text id from the file name (:mod:`emocore.data.corpora`). :func:`list_directory` reads the original
system's plain layout, one flat folder of audio files per domain. :mod:`emocore.data.download` fetches
and prepares the corpora.

Splits are by text (:func:`split_by_text`): a word or sentence is either in training or in
validation, and the same texts are held out for every speaker and emotion of a corpus, so a
converted validation utterance can be compared with the real recording of the same text.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emocore import paths
from emocore.data.corpora import CORPORA, EMOTIONS
from emocore.dsp.audio import AUDIO_SUFFIXES
from emocore.exceptions import DatasetError, ParameterError

MANIFEST_NAME = "manifest.csv"
DIRECTORY_CORPUS = "dir"  # Utterance.corpus of files listed by list_directory()
DOWNLOAD_HINT = (
    "Download it with `emocore-download {corpus}`, or set ${env} to the folder that holds {corpus}/."
)

_HASH_BYTES = 8  # bytes of the sha256 digest used to rank text ids in validation_text_ids()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Utterance:
    """One recording and what is known about it.

    Attributes:
        path: absolute path of the audio file.
        corpus: ``"tess"``, ``"ravdess"``, or ``"dir"`` for :func:`list_directory`.
        speaker: speaker folder name, e.g. ``"OAF"`` or ``"Actor_01"``.
        emotion: normalized emotion name, one of :data:`EMOTIONS` (the folder name for ``"dir"``).
        text_id: what was said: the TESS word, the RAVDESS statement (``"01"``/``"02"``), or the
            file stem for ``"dir"``. Utterances with equal ``text_id`` in a corpus are parallel.
        text: the transcript, when known.
        intensity: RAVDESS ``"normal"``/``"strong"``; empty elsewhere.
        repetition: RAVDESS ``"01"``/``"02"``; empty elsewhere.
        gender: ``"F"``/``"M"`` when known.
        sample_rate: from the manifest, when it has one.
        duration_s: from the manifest, when it has one.
    """

    path: Path
    corpus: str
    speaker: str
    emotion: str
    text_id: str
    text: str = ""
    intensity: str = ""
    repetition: str = ""
    gender: str = ""
    sample_rate: int | None = None
    duration_s: float | None = None

    @property
    def uid(self) -> str:
        """Unique id across corpora, e.g. ``"tess/OAF/angry/bar"``.

        RAVDESS ids add intensity and repetition: ``"ravdess/Actor_01/angry/01/strong/02"``.
        """
        parts = (self.corpus, self.speaker, self.emotion, self.text_id, self.intensity, self.repetition)
        return "/".join(part for part in parts if part)


def _parse_plain_stem(stem: str) -> dict:
    """Fallback for corpora without a naming scheme: the stem is the text id."""
    return {"text_id": stem}


# --------------------------------------------------------------------------- listing


def _as_filter(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _is_audio(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith(".")


def _missing_corpus_error(corpus: str, root: Path) -> DatasetError:
    present = (
        sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
        if root.is_dir()
        else []
    )
    if corpus in CORPORA:
        hint = DOWNLOAD_HINT.format(corpus=corpus, env=paths.DATA_ENV_VAR)
    else:
        hint = f"Known corpora: {', '.join(CORPORA)}; set ${paths.DATA_ENV_VAR} to the folder holding them."
    return DatasetError(
        f"corpus {corpus!r} not found at {root / corpus} (corpora there: {present or 'none'}). {hint}"
    )


def _read_manifest(corpus_dir: Path, corpus: str) -> list[Utterance]:
    with open(corpus_dir / MANIFEST_NAME, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"path", "speaker", "emotion", "text_id"} <= set(rows[0]):
        raise DatasetError(
            f"{corpus_dir / MANIFEST_NAME} lacks one of the columns path, speaker, emotion, text_id"
        )
    return [
        Utterance(
            path=(corpus_dir / row["path"]).absolute(),
            corpus=row.get("corpus") or corpus,
            speaker=row["speaker"],
            emotion=row["emotion"],
            text_id=row["text_id"],
            text=row.get("text", ""),
            intensity=row.get("intensity", ""),
            repetition=row.get("repetition", ""),
            gender=row.get("gender", ""),
            sample_rate=int(row["sample_rate"]) if row.get("sample_rate") else None,
            duration_s=float(row["duration_s"]) if row.get("duration_s") else None,
        )
        for row in rows
    ]


def _scan_corpus(corpus_dir: Path, corpus: str, speakers: Iterable[str] | None) -> list[Utterance]:
    spec = CORPORA.get(corpus)
    parse = spec.parse_stem if spec else _parse_plain_stem
    speaker_dirs = sorted(p for p in corpus_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    if speakers is not None:
        speaker_dirs = [p for p in speaker_dirs if p.name in speakers]
    utterances = []
    for speaker_dir in speaker_dirs:
        for emotion_dir in sorted(p for p in speaker_dir.iterdir() if p.is_dir()):
            for path in sorted(filter(_is_audio, emotion_dir.iterdir())):
                info = parse(path.stem)
                utterances.append(
                    Utterance(
                        path=path.absolute(),
                        corpus=corpus,
                        speaker=speaker_dir.name,
                        emotion=emotion_dir.name,  # the folder decides, as in the manifest
                        text_id=info["text_id"],
                        text=info.get("text", ""),
                        intensity=info.get("intensity", ""),
                        repetition=info.get("repetition", ""),
                        gender=spec.genders.get(speaker_dir.name, "") if spec else "",
                    )
                )
    return utterances


def _speakers_on_disk(corpus_dir: Path) -> list[str]:
    return sorted(p.name for p in corpus_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _check_known(kind: str, wanted: tuple[str, ...] | None, available: Iterable[str], corpus: str) -> None:
    if wanted is None:
        return
    available = sorted(set(available))
    unknown = [w for w in wanted if w not in available]
    if unknown:
        spec = CORPORA.get(corpus)
        in_full_corpus = spec is not None and set(unknown) <= set(spec.speakers + spec.emotions)
        hint = (
            " They belong to the full corpus: " + DOWNLOAD_HINT.format(corpus=corpus, env=paths.DATA_ENV_VAR)
            if in_full_corpus
            else ""
        )
        raise DatasetError(
            f"unknown {kind} {', '.join(map(repr, unknown))} in corpus {corpus!r}; "
            f"available: {', '.join(available)}.{hint}"
        )


def list_utterances(
    corpus: str,
    speaker: str | Sequence[str] | None = None,
    emotion: str | Sequence[str] | None = None,
    root: str | Path | None = None,
) -> list[Utterance]:
    """All utterances of a corpus, optionally only some speakers and emotions.

    Reads ``<root>/<corpus>/manifest.csv`` when it exists, else scans
    ``<root>/<corpus>/<speaker>/<emotion>/*`` for audio files (:data:`AUDIO_SUFFIXES`).

    Args:
        corpus: corpus folder name, e.g. ``"tess"`` or ``"ravdess"``.
        speaker: one speaker or a list of them; ``None`` for all.
        emotion: one normalized emotion name or a list of them; ``None`` for all.
        root: the corpora folder; ``None`` for :func:`emocore.paths.corpora_dir`.

    Returns:
        list[Utterance]: sorted by (speaker, emotion, text_id, intensity, repetition, path).

    Raises:
        DatasetError: the corpus folder is missing, or a speaker or emotion is not in the corpus
            (the message lists those that are).
    """
    root = paths.corpora_dir() if root is None else Path(root).expanduser().absolute()
    corpus_dir = root / corpus
    if not corpus_dir.is_dir():
        raise _missing_corpus_error(corpus, root)
    speakers, emotions = _as_filter(speaker), _as_filter(emotion)

    if (corpus_dir / MANIFEST_NAME).is_file():
        utterances = _read_manifest(corpus_dir, corpus)
        _check_known("speaker", speakers, (u.speaker for u in utterances), corpus)
    else:
        _check_known("speaker", speakers, _speakers_on_disk(corpus_dir), corpus)
        utterances = _scan_corpus(corpus_dir, corpus, speakers)
    if not utterances:
        hint = DOWNLOAD_HINT.format(corpus=corpus, env=paths.DATA_ENV_VAR)
        raise DatasetError(f"no audio files found under {corpus_dir}. {hint}")

    if speakers is not None:
        utterances = [u for u in utterances if u.speaker in speakers]
    _check_known("emotion", emotions, (u.emotion for u in utterances), corpus)
    if emotions is not None:
        utterances = [u for u in utterances if u.emotion in emotions]
    return sorted(utterances, key=_sort_key)


def _sort_key(u: Utterance) -> tuple:
    return (u.corpus, u.speaker, u.emotion, u.text_id, u.intensity, u.repetition, str(u.path))


def list_emotions(corpus: str, speaker: str | None = None, root: str | Path | None = None) -> list[str]:
    """The emotions present for a corpus (or one of its speakers), in :data:`EMOTIONS` order."""
    present = {u.emotion for u in list_utterances(corpus, speaker=speaker, root=root)}
    return [e for e in EMOTIONS if e in present] + sorted(present - set(EMOTIONS))


def list_speakers(corpus: str, root: str | Path | None = None) -> list[str]:
    """The speakers present for a corpus, sorted."""
    return sorted({u.speaker for u in list_utterances(corpus, root=root)})


def list_directory(folder: str | Path) -> list[Utterance]:
    """The audio files of one flat folder, as in the original system's ``--train_A_dir``.

    Args:
        folder: a directory of audio files (not searched recursively).

    Returns:
        list[Utterance]: sorted by file name; ``corpus="dir"``, speaker and emotion are the folder
        name, ``text_id`` is the file stem.

    Raises:
        DatasetError: the folder is missing or holds no audio files.
    """
    folder = Path(folder).expanduser().absolute()
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a directory")
    files = sorted(filter(_is_audio, folder.iterdir()))
    if not files:
        raise DatasetError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}")
    return [
        Utterance(
            path=path, corpus=DIRECTORY_CORPUS, speaker=folder.name, emotion=folder.name, text_id=path.stem
        )
        for path in files
    ]


# --------------------------------------------------------------------------- splits


def validation_text_ids(text_ids: Iterable[str], val_fraction: float = 0.1, seed: int = 0) -> frozenset[str]:
    """Pick the text ids held out for validation.

    The texts are ranked by a sha256 hash of ``(seed, text_id)`` and the first
    ``round(val_fraction * n)`` are taken (at least one, at most ``n - 1``, when ``val_fraction > 0``),
    so the choice depends only on the set of ids, ``val_fraction`` and ``seed``, never on order,
    on the process (unlike Python's ``hash()``) or on which speaker or emotion is being split.

    Args:
        text_ids: the texts to choose from; duplicates are ignored.
        val_fraction: share of texts held out, in ``[0, 1)``.
        seed: changes which texts are held out.

    Returns:
        frozenset[str]: the validation text ids.

    Raises:
        ParameterError: ``val_fraction`` outside ``[0, 1)``.
    """
    if not 0 <= val_fraction < 1:
        raise ParameterError(f"val_fraction must be in [0, 1), got {val_fraction}")
    unique = sorted(set(text_ids))
    if val_fraction == 0 or len(unique) < 2:
        return frozenset()
    n_val = min(len(unique) - 1, max(1, round(val_fraction * len(unique))))

    def rank(text_id: str) -> tuple[int, str]:
        digest = hashlib.sha256(f"{seed}\0{text_id}".encode()).digest()[:_HASH_BYTES]
        return int.from_bytes(digest, "big"), text_id

    return frozenset(sorted(unique, key=rank)[:n_val])


def split_by_text(
    utterances: Sequence[Utterance],
    val_fraction: float = 0.1,
    seed: int = 0,
    text_ids: Iterable[str] | None = None,
) -> tuple[list[Utterance], list[Utterance]]:
    """Split utterances into training and validation so that no text is in both.

    To hold out the same texts for every domain, split each domain with the same ``text_ids``
    (e.g. those of the whole corpus), or split the whole corpus once and filter afterwards.

    Args:
        utterances: what to split.
        val_fraction: share of texts held out, in ``[0, 1)``.
        seed: changes which texts are held out.
        text_ids: the texts to choose from; ``None`` for those of ``utterances``.

    Returns:
        tuple[list[Utterance], list[Utterance]]: ``(train, validation)``, each in input order.

    Raises:
        ParameterError: ``val_fraction`` outside ``[0, 1)``.
    """
    universe = {u.text_id for u in utterances} if text_ids is None else set(text_ids)
    held_out = validation_text_ids(universe, val_fraction, seed)
    train = [u for u in utterances if u.text_id not in held_out]
    validation = [u for u in utterances if u.text_id in held_out]
    return train, validation


# --------------------------------------------------------------------------- domains


@dataclass(frozen=True)
class Domain:
    """One side (A or B) of a conversion: a corpus speaker in one emotion, or a plain folder.

    Attributes:
        corpus: corpus name; ``None`` when ``directory`` is given.
        speaker: speaker(s) in the corpus; ``None`` for all.
        emotion: normalized emotion name; ``None`` for all.
        directory: a flat folder of audio files (:func:`list_directory`) instead of a corpus.
    """

    corpus: str | None = None
    speaker: str | None = None
    emotion: str | None = None
    directory: Path | None = None

    def __post_init__(self):
        if (self.corpus is None) == (self.directory is None):
            raise ParameterError("a Domain needs either a corpus or a directory, not both")
        if self.directory is not None and (self.speaker or self.emotion):
            raise ParameterError("a directory Domain takes no speaker or emotion")
        if self.directory is not None:
            object.__setattr__(self, "directory", Path(self.directory))

    @property
    def name(self) -> str:
        """Short name for files and plots, e.g. ``"tess-OAF-neutral"`` or the folder name."""
        if self.directory is not None:
            return self.directory.name
        return "-".join(part for part in (self.corpus, self.speaker, self.emotion) if part)

    def utterances(self, root: str | Path | None = None) -> list[Utterance]:
        """The domain's utterances; ``root`` as in :func:`list_utterances` (unused for a directory)."""
        if self.directory is not None:
            return list_directory(self.directory)
        return list_utterances(self.corpus, speaker=self.speaker, emotion=self.emotion, root=root)


def parse_domain(spec: str) -> Domain:
    """Parse ``"corpus:speaker:emotion"`` (e.g. ``"tess:OAF:neutral"``; trailing parts optional),
    ``"dir:<folder>"``, or the path of an existing folder.

    Raises:
        ParameterError: ``spec`` matches none of these forms.
    """
    corpus, _, rest = spec.partition(":")
    if corpus in CORPORA:
        parts = rest.split(":") if rest else []
        if len(parts) > 2 or any(not p for p in parts):
            raise ParameterError(f"expected 'corpus:speaker:emotion', got {spec!r}")
        speaker, emotion = (parts + [None, None])[:2]
        return Domain(corpus=corpus, speaker=speaker, emotion=emotion)
    if corpus == DIRECTORY_CORPUS and rest:
        return Domain(directory=Path(rest))
    if Path(spec).is_dir():
        return Domain(directory=Path(spec))
    raise ParameterError(
        f"cannot parse domain {spec!r}: use 'corpus:speaker:emotion' with corpus in "
        f"{', '.join(CORPORA)} (e.g. 'tess:OAF:neutral'), 'dir:<folder>', or an existing folder"
    )
