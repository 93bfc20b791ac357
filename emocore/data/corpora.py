"""The emotional speech corpora themselves: emotion names, what their file names say, and the registry.

Emotion names are normalized across corpora (:data:`EMOTIONS`, :func:`normalize_emotion`). The text id of
a recording is read from its file name (TESS ``OAF_bar_angry`` -> ``bar``; RAVDESS
``03-01-05-01-01-02-01`` -> statement ``01``, intensity ``normal``, repetition ``02``). :data:`CORPORA`
registers each corpus (:class:`CorpusSpec`): its speakers, emotions, license, and where it is published
(:class:`DownloadSource`, fetched by :mod:`emocore.data.download`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from emocore.exceptions import DatasetError, ParameterError

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgusted", "surprised")

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


# --------------------------------------------------------------------------- records


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
        parse_stem: file stem -> dict of :class:`~emocore.data.datasets.Utterance` fields read from the
            name (at least ``text_id``); raises :class:`DatasetError` on a name it does not understand.
        sources: what ``emocore.data.download.download_corpus`` fetches.
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
