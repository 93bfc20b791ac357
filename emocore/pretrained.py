"""Pretrained models shipped with the repository: export a trained model folder small, list and find them.

A pretrained model is an ordinary model folder (:meth:`emocore.conversion.ConversionModel.load` reads it)
stripped to what conversion needs: ``config.json``, each emotion's statistics, the converter's extra files
(EmoMUNIT's ``styles.json``), ``history.csv`` and the conversion networks' weights stored as float16 with
gzip (discriminators, classifier, checkpoints and TensorBoard logs stay behind). Loading casts the weights
back to float32. ``config.json`` keeps the training record and gains a ``pretrained`` entry saying where it
came from and a ``fingerprint`` of the exported files, which loading checks
(:func:`emocore.record.fingerprint`).

They live in ``data/pretrained/<name>/`` (``$EMOCORE_PRETRAINED_DIR`` overrides) and are used with
``emocore-convert --pretrained <name>``; ``emocore-convert --list-pretrained`` lists them.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocore.exceptions import ModelFolderError, ParameterError
from emocore.record import CONFIG_NAME, read_record

log = logging.getLogger(__name__)

PRETRAINED_ENV_VAR = "EMOCORE_PRETRAINED_DIR"
#: the model ``emocore-convert`` uses when given neither ``--model_dir`` nor ``--pretrained``: one model of every
#: emotion for any speaker
DEFAULT_PRETRAINED = "emostargan-tess-ravdess"
KEPT_FILES = ("history.csv",)  # besides the weights, statistics and extra files that conversion reads


def pretrained_dir() -> Path:
    """``$EMOCORE_PRETRAINED_DIR`` when set, else ``data/pretrained`` in the checkout this package lives in."""
    env = os.environ.get(PRETRAINED_ENV_VAR)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data" / "pretrained"


@dataclass(frozen=True)
class PretrainedModel:
    """One shipped model, as listed by :func:`list_pretrained`."""

    name: str
    path: Path
    model_type: str
    emotions: tuple[str, ...]
    iterations: int
    wall_time_s: float
    size_mb: float

    def describe(self) -> str:
        hours = self.wall_time_s / 3600
        return (f"{self.name:34s} {self.model_type:8s} {' <-> '.join(self.emotions)}  "
                f"({self.iterations} iterations, {hours:.1f} h on CPU, {self.size_mb:.1f} MB)")


def _read(path: Path) -> PretrainedModel:
    """Describe the model folder ``path`` from its run record.

    Raises:
        ModelFolderError: ``config.json`` cannot be read as a run record (see :func:`emocore.record.read_record`).
    """
    record = read_record(path / CONFIG_NAME)
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 1e6
    training = record.training
    try:
        return PretrainedModel(name=path.name, path=path, model_type=record.model_type,
                               emotions=record.emotion_names,
                               iterations=int(training.get("iterations_done", training.get("iterations", 0))),
                               wall_time_s=float(training.get("wall_time_s", 0.0)), size_mb=size)
    except (AttributeError, TypeError, ValueError) as error:
        raise ModelFolderError(path / CONFIG_NAME, f"does not describe a pretrained model ({error})") from error


def _model_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p / "config.json").is_file()
                  ) if root.is_dir() else []


def list_pretrained(root: str | Path | None = None) -> list[PretrainedModel]:
    """Every model folder under ``root`` (default :func:`pretrained_dir`), sorted by name.

    A folder whose ``config.json`` cannot be read is left out with a logged warning naming the file.
    """
    models = []
    for path in _model_folders(Path(root) if root is not None else pretrained_dir()):
        try:
            models.append(_read(path))
        except ModelFolderError as error:
            log.warning("pretrained model %s left out: %s", path.name, error)
    return models


def resolve(name: str, root: str | Path | None = None) -> Path:
    """The folder of the pretrained model ``name``.

    Raises:
        ParameterError: no such model; the message lists the ones there are.
    """
    where = Path(root) if root is not None else pretrained_dir()
    available = {p.name: p for p in _model_folders(where)}  # a damaged one too: loading it names the damage
    if name not in available:
        listing = ", ".join(available) or f"none in {where}"
        raise ParameterError(f"no pretrained model {name!r}; available: {listing}")
    return available[name]


def default_model(root: str | Path | None = None) -> Path | None:
    """The folder of :data:`DEFAULT_PRETRAINED`, or ``None`` when it is not shipped."""
    where = Path(root) if root is not None else pretrained_dir()
    return next((p for p in _model_folders(where) if p.name == DEFAULT_PRETRAINED), None)


def write_float16_weights(source: str | Path, destination: str | Path) -> Path:
    """Copy a Keras ``.weights.h5`` file with every float32 array stored as gzip-compressed float16.

    Keras loads such a file into float32 variables unchanged (``load_weights`` casts on assignment).
    Float16 keeps about 3 significant digits, far below what changes a converted MCEP audibly.
    """
    import h5py

    from emocore.io import atomic_path

    destination = Path(destination)
    with atomic_path(destination) as tmp, h5py.File(source, "r") as src, h5py.File(tmp, "w") as dst:
        def copy(group_src, group_dst):
            group_dst.attrs.update(dict(group_src.attrs))
            for key, item in group_src.items():
                if isinstance(item, h5py.Group):
                    copy(item, group_dst.create_group(key))
                    continue
                data = item[()]
                if isinstance(data, np.ndarray) and data.dtype == np.float32 and data.size > 1:
                    dataset = group_dst.create_dataset(key, data=data.astype(np.float16), compression="gzip")
                else:
                    dataset = group_dst.create_dataset(key, data=data)
                dataset.attrs.update(dict(item.attrs))

        copy(src, dst)
    return destination


def export_pretrained(model_dir: str | Path, name: str, root: str | Path | None = None, *,
                      overwrite: bool = False, trained_with: str | None = None) -> Path:
    """Write a trained model folder as the pretrained model ``name`` (float16 conversion networks only).

    Args:
        model_dir: a folder written by :func:`emocore.training.train`.
        name: the folder name under ``root``, e.g. ``"tess-oaf-neutral-angry"``.
        root: default :func:`pretrained_dir`.
        overwrite: replace an existing model of that name.
        trained_with: the command that trained it, recorded in ``config.json["pretrained"]``.

    Returns:
        Path: the new folder.

    Raises:
        ParameterError: ``model_dir`` is not a trained model, or ``name`` exists and not ``overwrite``.
        ModelFolderError: a file of ``model_dir`` is damaged or belongs to another model (see
            :meth:`emocore.conversion.ConversionModel.load`).
    """
    from emocore.conversion import ConversionModel, model_files
    from emocore.record import fingerprint, write_record

    model_dir = Path(model_dir)
    model = ConversionModel.load(model_dir)  # checks the folder is complete and loadable
    out = (Path(root) if root is not None else pretrained_dir()) / name
    if out.exists() and not overwrite:
        raise ParameterError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    tmp = out.with_name(f".partial-{out.name}")  # hidden: never listed as a model while it is written
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        record, converter = model.record, model.converter
        for file in (*KEPT_FILES, *record.stats_files, *converter.extra_files):
            if (model_dir / file).is_file():
                if file.endswith(".weights.h5"):  # an extra network (EmoStarGAN's learned prosody): float16 too
                    write_float16_weights(model_dir / file, tmp / file)
                else:
                    shutil.copy2(model_dir / file, tmp / file)
        for network in converter.networks():
            write_float16_weights(model_dir / f"{network}.weights.h5", tmp / f"{network}.weights.h5")
        pretrained = {"exported_from": str(model_dir.resolve()), "weights_dtype": "float16", "trained_with": trained_with,
                      "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        write_record(tmp / CONFIG_NAME, dataclasses.replace(  # its fingerprint: of the float16 copies
            record, model_name=name, pretrained=pretrained,
            fingerprint=fingerprint(tmp, model_files(converter, record.stats_files))))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:  # a failed export (disk full, say) leaves no half model behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def require_same_training_data(model_dir: str | Path, own, measured, consequence: str) -> None:
    """Refuse a multi-speaker model's training data prepared again when they do not give its own prosody shifts
    (``own``, ``measured``: :class:`~emocore.dsp.relative_prosody.ProsodyShifts`): another split,
    ``max_utterances`` or a changed corpus. ``consequence`` ends the message.

    Raises:
        ParameterError: naming the first emotion whose shifts differ.
    """
    differing = own.differing_emotions(measured)
    if differing:
        raise ParameterError(f"{model_dir}: the training data prepared again do not give the model's own "
                             f"{differing[0]} shifts; {consequence}")


def remeasure_speakers(model_dir: str | Path, *, processed_dir: str | Path | None = None,
                       corpora_root: str | Path | None = None, n_jobs: int | None = None,
                       max_utterances: int | None = None) -> Path:
    """Measure a multi-speaker model's contour shapes, tempo and aperiodicity changes, and each training speaker's
    own changes, on its training speakers and write them into its ``speakers.json`` (weights untouched,
    ``config.json``'s fingerprint renewed).

    EmoStarGAN models trained before issue 15 lack the contours, which their CWT-F0 and rhythm streams need
    (:meth:`emocore.dsp.relative_prosody.ProsodyShifts.fit_contours`), and those measured before the ``ap`` stream
    its aperiodicity changes (copied until then); models trained before the speakers were
    enrolled lack each speaker's own changes (:attr:`emocore.dsp.speaker_norm.SpeakerNormalizer.enrolled`, the
    ``speaker`` option of conversion). The speakers and emotions come from the
    run record; their training utterances are prepared with the default split, as ``emocore-train --speakers``
    does. The mean and spread shifts measured again must equal the model's own, so the contours are measured on
    the data the model was trained on. The copies of ``speakers.json`` in a run's checkpoints are left as they were
    (convert with the model folder).

    Args:
        max_utterances: per speaker and emotion, as the run was prepared (smoke runs).

    Returns:
        Path: ``model_dir``.

    Raises:
        ParameterError: not a multi-speaker model, or its training data cannot be recovered exactly.
    """
    from emocore import paths
    from emocore.conversion import ConversionModel, model_files
    from emocore.data.speakers import parse_speakers, prepare_speakers
    from emocore.record import fingerprint, write_record

    model_dir = Path(model_dir)
    model = ConversionModel.load(model_dir)
    normalizer = getattr(model.converter, "normalizer", None)
    speakers = model.record.training.get("speakers")
    if normalizer is None or not speakers:
        raise ParameterError(f"{model_dir} is not a multi-speaker model with recorded training speakers")
    data = prepare_speakers(parse_speakers(speakers), model.converter.emotions, model.feature_cfg,
                            processed_dir or paths.processed_dir(), corpora_root=corpora_root, n_jobs=n_jobs,
                            max_utterances=max_utterances, progress=False)
    measured = data.normalizer.prosody
    require_same_training_data(model_dir, normalizer.prosody, measured,
                               "its contours cannot be measured on the same data")
    model.converter.normalizer = dataclasses.replace(normalizer, prosody=measured, enrolled=data.normalizer.enrolled)
    model.converter.save_extra(model_dir)
    record = model.record
    write_record(model_dir / CONFIG_NAME, dataclasses.replace(
        record, fingerprint=fingerprint(model_dir, model_files(model.converter, record.stats_files))))
    return model_dir
