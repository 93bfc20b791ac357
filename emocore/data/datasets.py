"""The emotional speech corpora: what they are, where their files are, and how to split them.

On disk a corpus lives under the corpora folder (:func:`emocore.paths.corpora_dir`, set it with
``$EMOCORE_DATA_DIR``) as::

    <root>/<corpus>/<speaker>/<emotion>/<file>     e.g. tess/OAF/angry/OAF_bar_angry.flac
    <root>/<corpus>/manifest.csv                   one row per file; ``path`` is relative to <corpus>/

Emotion names are normalized across corpora (:data:`EMOTIONS`). :func:`list_utterances` reads the
manifest when there is one and otherwise scans the folders, taking the text id from the file name
(TESS ``OAF_bar_angry`` -> ``bar``; RAVDESS ``03-01-05-01-01-02-01`` -> statement ``01``, intensity
``normal``, repetition ``02``). :func:`list_directory` reads the original system's plain layout, one
flat folder of audio files per domain. ``emocore.download`` fetches and prepares the corpora.

Splits are by text (:func:`split_by_text`): a word or sentence is either in training or in
validation, and the same texts are held out for every speaker and emotion of a corpus, so a
converted validation utterance can be compared with the real recording of the same text.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from emocore import paths
from emocore.dsp.audio import AUDIO_SUFFIXES
from emocore.exceptions import DatasetError, ParameterError

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
MANIFEST_NAME = "manifest.csv"
DIRECTORY_CORPUS = "dir"  # Utterance.corpus of files listed by list_directory()
DOWNLOAD_HINT = (
    "Download it with `emocore-download {corpus}`, or set ${env} to the folder that holds {corpus}/."
)

# Raw emotion labels seen in file and folder names -> the normalized names of EMOTIONS.
EMOTION_ALIASES = MappingProxyType(
    {
        **{name: name for name in EMOTIONS},
        "anger": "angry",
        "happiness": "happy",
        "sadness": "sad",
        "fear": "fearful",
        "disgust": "disgusted",
        "ps": "surprised",
        "surprise": "surprised",
        "pleasant_surprise": "surprised",
        "pleasant_surprised": "surprised",
    }
)

TESS_CARRIER = "Say the word {}."
RAVDESS_EMOTIONS = MappingProxyType(
    {
        "01": "neutral",
        "02": "calm",
        "03": "happy",
        "04": "sad",
        "05": "angry",
        "06": "fearful",
        "07": "disgusted",
        "08": "surprised",
    }
)
RAVDESS_INTENSITIES = MappingProxyType({"01": "normal", "02": "strong"})
RAVDESS_STATEMENTS = MappingProxyType(
    {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
)
RAVDESS_SPEECH_CHANNEL = "01"
_RAVDESS_STEM = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
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


@dataclass(frozen=True)
class DownloadSource:
    """Where one part of a corpus is published.

    Attributes:
        kind: ``"archive"``: ``url`` is a zip/tar file, saved as ``filename`` and extracted.
            ``"dataverse"``: ``url`` is a Dataverse server and ``persistent_id`` a dataset there;
            every file is fetched through the Dataverse API, checked against its listed md5.
        url: the archive URL or the Dataverse server URL.
        filename: local file name of the archive.
        digest: ``"md5:<hex>"`` or ``"sha256:<hex>"`` of the archive, when known.
        checksum_api: a Zenodo record API URL that lists the archive's md5, used when ``digest``
            is ``None``.
        persistent_id: the Dataverse dataset DOI, ``"doi:..."``.
    """

    kind: str
    url: str
    filename: str = ""
    digest: str | None = None
    checksum_api: str | None = None
    persistent_id: str | None = None

    def __post_init__(self):
        if self.kind not in ("archive", "dataverse"):
            raise ParameterError(f"DownloadSource.kind must be 'archive' or 'dataverse', got {self.kind!r}")
        if self.kind == "archive" and not self.filename:
            raise ParameterError(f"archive source {self.url} needs a filename")
        if self.kind == "dataverse" and not self.persistent_id:
            raise ParameterError(f"dataverse source {self.url} needs a persistent_id")


@dataclass(frozen=True)
class CorpusSpec:
    """A corpus: its identity, license, layout and where it is published.

    Attributes:
        name: folder name under the corpora folder.
        speakers: all speaker folder names of the full corpus.
        emotions: normalized emotion names present in the corpus.
        genders: speaker -> ``"F"``/``"M"``.
        parse_stem: file stem -> dict of :class:`Utterance` fields read from the name (at least
            ``text_id``); raises :class:`DatasetError` on a name it does not understand.
        sources: what ``emocore.download.download_corpus`` fetches.
    """

    name: str
    title: str
    speakers: tuple[str, ...]
    emotions: tuple[str, ...]
    genders: Mapping[str, str]
    license: str
    citation: str
    homepage: str
    parse_stem: Callable[[str], dict]
    sources: tuple[DownloadSource, ...] = field(default=())

    @property
    def non_commercial(self) -> bool:
        """Whether the license forbids commercial use."""
        return "-NC" in self.license


# --------------------------------------------------------------------------- file names


def normalize_emotion(label: str) -> str:
    """Map a raw emotion label (``"ps"``, ``"Fear"``, ``"pleasant_surprise"``) to a name in :data:`EMOTIONS`.

    Raises:
        DatasetError: the label is not a known emotion.
    """
    key = label.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in EMOTION_ALIASES:
        raise DatasetError(f"unknown emotion label {label!r}; known: {sorted(EMOTION_ALIASES)}")
    return EMOTION_ALIASES[key]


def parse_tess_stem(stem: str) -> dict:
    """Read speaker, word and emotion from a TESS file stem such as ``"OAF_bar_angry"`` or ``"yaf_bar_ps"``.

    Returns:
        dict: ``speaker`` (upper case), ``emotion`` (normalized), ``text_id`` (the word, lower case)
        and ``text``.

    Raises:
        DatasetError: the stem is not ``<speaker>_<word>_<emotion>``.
    """
    parts = stem.split("_")
    for n_emotion_parts in (2, 1):  # "pleasant_surprise" spans two parts, "ps" one
        word_parts = parts[1:-n_emotion_parts]
        raw_emotion = "_".join(parts[-n_emotion_parts:]).lower()
        if word_parts and raw_emotion in EMOTION_ALIASES:
            word = "_".join(word_parts).lower()
            return {
                "speaker": parts[0].upper(),
                "emotion": EMOTION_ALIASES[raw_emotion],
                "text_id": word,
                "text": TESS_CARRIER.format(word),
            }
    raise DatasetError(f"not a TESS file name (<speaker>_<word>_<emotion>): {stem!r}")


def parse_ravdess_stem(stem: str) -> dict:
    """Read the seven RAVDESS fields from a stem such as ``"03-01-05-01-01-02-01"``.

    Fields: modality, vocal channel, emotion, intensity, statement, repetition, actor.

    Returns:
        dict: ``speaker`` (``"Actor_01"``), ``gender``, ``emotion``, ``intensity``, ``text_id``
        (the statement), ``repetition``, ``text``, ``channel`` (``"01"`` speech, ``"02"`` song).

    Raises:
        DatasetError: the stem does not have seven two-digit fields with known codes.
    """
    match = _RAVDESS_STEM.match(stem)
    if match is None:
        raise DatasetError(f"not a RAVDESS file name (seven 2-digit fields): {stem!r}")
    _modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    if (
        emotion not in RAVDESS_EMOTIONS
        or intensity not in RAVDESS_INTENSITIES
        or statement not in RAVDESS_STATEMENTS
    ):
        raise DatasetError(f"unknown emotion, intensity or statement code in RAVDESS file name {stem!r}")
    return {
        "speaker": f"Actor_{actor}",
        "gender": "M" if int(actor) % 2 else "F",
        "emotion": RAVDESS_EMOTIONS[emotion],
        "intensity": RAVDESS_INTENSITIES[intensity],
        "text_id": statement,
        "repetition": repetition,
        "text": RAVDESS_STATEMENTS[statement],
        "channel": channel,
    }


def _parse_plain_stem(stem: str) -> dict:
    """Fallback for corpora without a naming scheme: the stem is the text id."""
    return {"text_id": stem}


# --------------------------------------------------------------------------- registry

_RAVDESS_ACTORS = tuple(f"Actor_{i:02d}" for i in range(1, 25))

CORPORA: Mapping[str, CorpusSpec] = MappingProxyType(
    {
        "tess": CorpusSpec(
            name="tess",
            title="Toronto Emotional Speech Set (TESS)",
            speakers=("OAF", "YAF"),
            emotions=("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"),
            genders=MappingProxyType({"OAF": "F", "YAF": "F"}),
            license="CC BY-NC-ND 4.0",
            citation=(
                "Kate Dupuis and M. Kathleen Pichora-Fuller, Toronto emotional speech set (TESS), "
                "University of Toronto, Psychology Department, 2010. https://doi.org/10.5683/SP2/E8H2MF"
            ),
            homepage="https://borealisdata.ca/dataset.xhtml?persistentId=doi:10.5683/SP2/E8H2MF",
            parse_stem=parse_tess_stem,
            sources=(
                DownloadSource(
                    kind="dataverse", url="https://borealisdata.ca", persistent_id="doi:10.5683/SP2/E8H2MF"
                ),
            ),
        ),
        "ravdess": CorpusSpec(
            name="ravdess",
            title="The Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS), speech audio",
            speakers=_RAVDESS_ACTORS,
            emotions=tuple(RAVDESS_EMOTIONS.values()),
            genders=MappingProxyType(
                {actor: "M" if i % 2 else "F" for i, actor in enumerate(_RAVDESS_ACTORS, 1)}
            ),
            license="CC BY-NC-SA 4.0",
            citation=(
                "Livingstone SR, Russo FA (2018) The Ryerson Audio-Visual Database of Emotional Speech "
                "and Song (RAVDESS). PLoS ONE 13(5): e0196391. https://doi.org/10.1371/journal.pone.0196391"
            ),
            homepage="https://zenodo.org/records/1188976",
            parse_stem=parse_ravdess_stem,
            sources=(
                DownloadSource(
                    kind="archive",
                    url="https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip?download=1",
                    filename="Audio_Speech_Actors_01-24.zip",
                    digest="md5:bc696df654c87fed845eb13823edef8a",
                    checksum_api="https://zenodo.org/api/records/1188976",
                ),
            ),
        ),
    }
)


def get_corpus(name: str) -> CorpusSpec:
    """The :class:`CorpusSpec` registered as ``name``.

    Raises:
        DatasetError: ``name`` is not in :data:`CORPORA`.
    """
    if name not in CORPORA:
        raise DatasetError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")
    return CORPORA[name]


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
