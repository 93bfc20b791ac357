"""The run record: what a model folder's ``config.json`` says, as one typed, versioned dataclass.

Every model folder (a training run, a shipped model) has a ``config.json`` that says how to rebuild its model:
its type, the feature, network and training settings, and its **emotions**, each with its statistics file and
where its recordings came from. :func:`read_record` is the one reader and :func:`write_record` the one writer;
everything else works on :class:`RunRecord`.

Schema versions:

- **1** (no ``schema_version`` key; every model up to the end of 2026, the five shipped ones among them): two
  domains ``domains.a`` / ``domains.b`` with statistics in ``stats_a.json`` / ``stats_b.json``, EmoMUNIT's
  settings under ``munit``, contrast emotions under ``domains.contrast``.
- **2**: ``emotions``, a list (index 0, 1, ...: the emotion classifier's classes and the model's network
  slots), each naming its ``stats_file``; a model type's own settings under ``options``; ``contrast`` at the top.

:func:`upgrade` turns a version-1 record into a version-2 one in memory; the folder's files stay as they are,
so its weights and statistics load, and convert, exactly as before.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emocore.config import FeatureConfig, ModelConfig, TrainConfig, from_dict, read_model_json
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.io import file_digest, write_text_atomic

SCHEMA_VERSION = 2
CONFIG_NAME = "config.json"
FINGERPRINT_KEY = "fingerprint"  # config.json / a checkpoint's state.json: SHA-256 of the files written with it
CHECKPOINT_STATE = "state.json"  # a training checkpoint's record (emocore.training.checkpoints)
V1_STATS_FILES = ("stats_a.json", "stats_b.json")


@dataclass(frozen=True)
class EmotionEntry:
    """One emotion of a model: the domain its training recordings came from and its statistics file.

    Attributes:
        name (str): the domain's name, also its statistics' name, e.g. ``"tess-OAF-neutral"``.
        stats_file (str): the file of its :class:`~emocore.dsp.prosody.DomainStats` in the model folder
            (empty for a contrast emotion, which only the classifier saw).
        emotion (str | None): the emotion label, e.g. ``"neutral"`` (``None`` for a folder of one's own).
        corpus, speaker, directory: where the recordings came from (:class:`emocore.data.datasets.Domain`).
        n_train, n_validation (int | None): utterances used for training and held out.
        validation_text_ids (tuple[str, ...]): the held-out texts (words or sentences), so that evaluation
            never scores a word the model was trained on.
    """

    name: str
    stats_file: str = ""
    emotion: str | None = None
    corpus: str | None = None
    speaker: str | None = None
    directory: str | None = None
    n_train: int | None = None
    n_validation: int | None = None
    validation_text_ids: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The emotion label if known, else the domain name."""
        return self.emotion or self.name

    @classmethod
    def from_dict(cls, values: dict) -> "EmotionEntry":
        entry = from_dict(cls, values)
        return dataclasses.replace(entry, validation_text_ids=tuple(entry.validation_text_ids or ()))


def find_emotion(emotions: "tuple[EmotionEntry, ...] | list[EmotionEntry]", key: str | int) -> int:
    """The index of an emotion of ``emotions`` given by index, domain name (``tess-OAF-angry``) or label (``angry``).

    Raises:
        ParameterError: no emotion, or more than one, answers to ``key``; the message lists them.
    """
    if isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key < len(emotions):
            return key
    else:
        text = str(key).strip()
        exact = [i for i, e in enumerate(emotions) if e.name == text]
        if exact:
            return exact[0]
        labels = [i for i, e in enumerate(emotions) if (e.emotion or "").lower() == text.lower()]
        if len(labels) == 1:
            return labels[0]
        if len(labels) > 1:
            raise ParameterError(f"emotion {text!r} is ambiguous in this model: give one of "
                                 f"{', '.join(emotions[i].name for i in labels)}")
    known = ", ".join(f"{e.label} ({e.name})" if e.emotion else e.name for e in emotions)
    raise ParameterError(f"this model has no emotion {key!r}; it has {known}")


def fingerprint(folder: str | Path, names) -> dict:
    """``{"sha256": {name: hex digest}}`` of those of the files ``names`` that exist in ``folder``.

    Written into ``config.json`` (a checkpoint: ``state.json``) after the files it describes, so that loading
    can tell that the folder's files were written together (:func:`verify_fingerprint`).
    """
    folder = Path(folder)
    return {"sha256": {name: file_digest(folder / name) for name in sorted(names) if (folder / name).is_file()}}


def verify_fingerprint(folder: str | Path, record: dict | None, names, recorded_in: str | Path) -> None:
    """Check the files ``names`` of ``folder`` against a :func:`fingerprint` taken when they were written.

    Args:
        folder: the folder holding the files.
        record: the fingerprint; files it does not list are not checked (``None``: nothing is).
        names: the files to check.
        recorded_in: the file holding ``record`` (named in the error).

    Raises:
        ModelFolderError: naming the first file that is missing or whose SHA-256 differs from the record.
    """
    digests = record.get("sha256", {}) if isinstance(record, dict) else {}
    recorded_in = Path(recorded_in).name
    for name in names:
        if name not in digests:
            continue
        path = Path(folder) / name
        if not path.is_file():
            raise ModelFolderError(path, f"missing, though {recorded_in} lists it among the model's files")
        if file_digest(path) != digests[name]:
            raise ModelFolderError(path, f"its SHA-256 differs from the one {recorded_in} recorded when the model "
                                         "was written: it comes from another model or was changed")


def stats_file_name(name: str) -> str:
    """The statistics file of an emotion called ``name`` in a new model folder, e.g. ``stats-tess-OAF-neutral.json``."""
    return "stats-" + re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") + ".json"


@dataclass(frozen=True)
class RunRecord:
    """A model folder's ``config.json``.

    Attributes:
        model_type (str): its entry in the registry of :mod:`emocore.models`.
        feature (FeatureConfig): the WORLD analysis the model was trained on.
        model (ModelConfig): network sizes.
        emotions (tuple[EmotionEntry, ...]): the emotions it converts between, in order.
        options (dict | None): the model type's own settings (:attr:`emocore.models.base.ModelSpec.options`).
        train (TrainConfig | None): how it was trained (``None``: not recorded).
        model_name (str | None): a name given at training.
        classifier_classes (tuple[str, ...]): the training classifier's classes: the emotions, then contrast.
        contrast (tuple[EmotionEntry, ...]): further emotions that only the training classifier saw.
        training (dict): the training log: status, iterations done, wall time, classifier accuracy, ...
        pretrained (dict | None): set by ``emocore-export``: where the shipped copy came from.
        fingerprint (dict | None): SHA-256 of each file conversion reads (``{"sha256": {name: digest}}``).
        schema_version (int): :data:`SCHEMA_VERSION` when written by this version.
    """

    model_type: str
    feature: FeatureConfig
    model: ModelConfig
    emotions: tuple[EmotionEntry, ...]
    options: dict | None = None
    train: TrainConfig | None = None
    model_name: str | None = None
    classifier_classes: tuple[str, ...] = ()
    contrast: tuple[EmotionEntry, ...] = ()
    training: dict = field(default_factory=dict)
    pretrained: dict | None = None
    fingerprint: dict | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self):
        if len(self.emotions) < 2:
            raise ParameterError(f"a model converts between at least 2 emotions, got {len(self.emotions)}")
        names = [e.name for e in self.emotions]
        if len(set(names)) != len(names):
            raise ParameterError(f"the emotions of a model must differ, got {names}")

    @property
    def emotion_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.emotions)

    @property
    def stats_files(self) -> tuple[str, ...]:
        return tuple(e.stats_file for e in self.emotions)

    def emotion_index(self, key: str | int) -> int:
        """The index of an emotion given by index, domain name (``tess-OAF-angry``) or label (``angry``).

        Raises:
            ParameterError: no emotion, or more than one, answers to ``key`` (see :func:`find_emotion`).
        """
        return find_emotion(self.emotions, key)

    def to_dict(self) -> dict:
        """The JSON object :func:`write_record` writes (``None`` entries left out)."""
        values = asdict(self)
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_dict(cls, values: dict) -> "RunRecord":
        """Build a record from ``config.json``'s object, upgrading an older schema (:func:`upgrade`).

        Raises:
            ParameterError: a config holds invalid values (:func:`read_record` names the file).
        """
        values = upgrade(values)
        return cls(
            model_type=values["model_type"], feature=from_dict(FeatureConfig, values["feature"]),
            model=from_dict(ModelConfig, values["model"]),
            emotions=tuple(EmotionEntry.from_dict(e) for e in values["emotions"]),
            options=values.get("options"),
            train=from_dict(TrainConfig, values["train"]) if values.get("train") else None,
            model_name=values.get("model_name"),
            classifier_classes=tuple(values.get("classifier_classes") or ()),
            contrast=tuple(EmotionEntry.from_dict(e) for e in values.get("contrast") or ()),
            training=dict(values.get("training") or {}), pretrained=values.get("pretrained"),
            fingerprint=values.get(FINGERPRINT_KEY), schema_version=SCHEMA_VERSION)


def upgrade(values: dict) -> dict:
    """A ``config.json`` object of any schema version as a version-2 one (a new dict; ``values`` is unchanged).

    Raises:
        ParameterError: a newer schema than this version knows, or a version-1 record without its domains.
    """
    version = values.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ParameterError(f"schema_version {version!r}: written by a newer emocore (this one reads up to "
                             f"{SCHEMA_VERSION}); update emocore")
    if version == SCHEMA_VERSION:
        return dict(values)
    values = dict(values)
    domains = values.pop("domains", None) or {}
    names = (values.pop("domain_a", None), values.pop("domain_b", None))
    emotions = []
    for side, name, stats_file in zip("ab", names, V1_STATS_FILES):
        domain = dict(domains.get(side) or {})
        domain.setdefault("name", name)
        if not domain.get("name"):
            raise ParameterError(f"a version-1 record needs domains.{side} or domain_{side}")
        emotions.append({**domain, "stats_file": stats_file})
    values["emotions"] = emotions
    values["contrast"] = [{**d, "stats_file": ""} for d in domains.get("contrast", [])]
    if "munit" in values:
        values["options"] = values.pop("munit")
    values["schema_version"] = SCHEMA_VERSION
    return values


def read_record(path: str | Path) -> RunRecord:
    """The run record in ``path`` (a model folder's ``config.json``, or the folder itself), upgraded if older.

    Raises:
        ModelFolderError: naming the file: missing, not JSON, lacking ``model_type``, ``feature`` or ``model``,
            from a newer schema, or describing settings that are not valid.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    values = read_model_json(path, required=("model_type", "feature", "model"))
    try:
        return RunRecord.from_dict(values)
    except ParameterError as error:
        raise ModelFolderError(path, str(error)) from error
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFolderError(path, f"does not describe a model that can be built ({type(error).__name__}: "
                                     f"{error})") from error


def write_record(path: str | Path, record: RunRecord) -> Path:
    """Write ``record`` as indented JSON, atomically (a folder: its ``config.json``); returns the file."""
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    write_text_atomic(path, json.dumps(record.to_dict(), indent=2, sort_keys=True, default=_json_default) + "\n")
    return path


def _json_default(value: Any):
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


__all__ = ["CHECKPOINT_STATE", "CONFIG_NAME", "FINGERPRINT_KEY", "EmotionEntry", "RunRecord", "SCHEMA_VERSION", "find_emotion", "fingerprint",
           "read_record", "stats_file_name", "upgrade", "verify_fingerprint", "write_record"]
