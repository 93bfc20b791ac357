"""The one conversion path: used by ``emocore-convert``, by validation during training and by the notebooks.

An utterance is analysed with the model's saved :class:`~emocore.config.FeatureConfig`; then each stream is
converted on its own, and each conversion can be switched off for the ablation:

- log F0 and the power envelope by the log-Gaussian transform of :mod:`emocore.prosody` (``f0``, ``power``),
- MCEPs by the model (``mcep``): normalized with the source domain's MCEP statistics, padded to a multiple
  of 4 frames, converted, cropped back and denormalized with the target's. A CycleGAN maps them with the
  generator of the chosen direction; an EmoMUNIT (:mod:`emocore.munit`) decodes their content with a target
  style chosen by the style options (``style``, ``reference``, ``seed``, ``intensity``),
- aperiodicity is copied.

WORLD synthesis then gives a waveform of exactly the input's length. With ``power`` on, the decoded envelope is
rescaled to the converted power envelope (``features.synthesize_features(..., apply_log_power=True)``); with
it off, the level comes from the (converted or copied) MCEPs.

Waveforms and files (:meth:`ConversionModel.convert_wav`, :meth:`ConversionModel.convert_path`) longer than
``ConversionModel.segment_cfg.max_segment_s`` go through all of this segment by segment, cut at quiet places
and joined by short crossfades (:mod:`emocore.segments`), so that memory stays flat in the input's length.

A model folder, as written by :meth:`ConversionModel.save` (and so by :func:`emocore.training.train`), holds::

    config.json            model_type, feature/model/train configs, domain names, how it was trained, and
                           the fingerprint: SHA-256 of each file below (checked by ConversionModel.load)
    stats_a.json           DomainStats of domain A (log F0, power envelope, MCEP mean/std)
    stats_b.json           the same for domain B
    gen_a2b.weights.h5     generator A -> B                          (model_type "cyclegan")
    gen_b2a.weights.h5     generator B -> A
    content_encoder.weights.h5, style_encoder_{a,b}.weights.h5,   (model_type "munit")
    mlp_{a,b}.weights.h5, decoder.weights.h5, styles.json (each domain's mean style code)
    checkpoints/           training checkpoints (not needed for conversion)

The model type is read from ``config.json``; each type's networks are built by its entry in ``_BUILDERS``,
an *MCEP mapper* (:class:`GeneratorPair` for the CycleGAN, :class:`emocore.munit.MunitMapper`).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
from tqdm.auto import tqdm

from emocore.config import FeatureConfig, ModelConfig, SegmentConfig, from_dict, read_model_json
from emocore.dsp import audio, features, prosody, segments
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import AudioError, EmocoreError, ModelFolderError, ParameterError
from emocore.io import atomic_path, file_digest, write_json_atomic
from emocore.models import layers as models
from emocore.models import munit
from emocore.models.cyclegan import build_generator

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
CONFIG_KEYS = ("model_type", "feature", "model")  # what load() reads from every config.json
FINGERPRINT_KEY = "fingerprint"  # config.json / a checkpoint's state.json: SHA-256 of the files written with it
CHECKPOINT_STATE = "state.json"  # a training checkpoint's record (emocore.training.save_checkpoint)
STATS_FILES = {"a": "stats_a.json", "b": "stats_b.json"}
GENERATOR_FILES = {"A2B": "gen_a2b.weights.h5", "B2A": "gen_b2a.weights.h5"}
DIRECTIONS = ("A2B", "B2A")
MODEL_TYPES = ("cyclegan", "munit")
OUTPUT_PEAK = 0.99  # convert_files scales a converted file down to this peak when it would clip


def parse_direction(direction: str) -> str:
    """``"A2B"`` or ``"B2A"`` (any case).

    Raises:
        ParameterError: anything else.
    """
    value = str(direction).upper()
    if value not in DIRECTIONS:
        raise ParameterError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return value


def save_weights_atomic(network: keras.Model, path: str | Path) -> Path:
    """``network.save_weights(path)`` through :func:`emocore.io.atomic_path` (``path`` ends in ``.weights.h5``)."""
    with atomic_path(path) as tmp:
        network.save_weights(tmp)
    return Path(path)


def load_weights(network: keras.Model, path: str | Path) -> None:
    """``network.load_weights(path)``, with an error naming ``path`` when the file is damaged or does not fit.

    Raises:
        ModelFolderError: ``path`` is not a readable weights file (empty, truncated, overwritten), or its
            variables have other shapes than ``network``'s (built from another ``config.json``).
    """
    with warnings.catch_warnings(record=True) as caught:  # Keras warns about parts that then fail to load
        warnings.simplefilter("always")
        try:
            network.load_weights(path)
        except ValueError as error:  # Keras: a variable of another shape, or a layer with another variable count
            raise ModelFolderError(path, f"its weights do not fit the network {CONFIG_NAME} describes (its "
                                         f"'model' entry: width, mcep_dim, block counts): {_keras_mismatch(error)}"
                                   ) from error
        except Exception as error:  # h5py: OSError for an empty, truncated or non-HDF5 file; KeyError for lost groups
            detail = str(error).strip().splitlines()[:1]
            raise ModelFolderError(path, f"damaged: not a readable Keras weights file "
                                         f"({': '.join([type(error).__name__, *detail])})") from error
    for warning in caught:  # a load that worked keeps its warnings
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _keras_mismatch(error: ValueError) -> str:
    """The gist of Keras' error for weights that do not fit (which may quote whole variables)."""
    text = str(error)
    shape = re.search(r"variable\.shape=(\(.*?\)), Received: value\.shape=(\(.*?\))\. "
                      r"Target variable: <Variable path=([^,>]+)", text)
    if shape:
        return f"{shape[3]} has shape {shape[2]} in the file, {shape[1]} in the network"
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("A total", "List of"))]
    return lines[0] if lines else type(error).__name__


def model_files(mapper) -> list[str]:
    """The files of a model folder that conversion reads besides ``config.json``: weights, statistics, extras."""
    return [f"{name}.weights.h5" for name in mapper.networks()] + [*STATS_FILES.values(), *mapper.extra_files]


def fingerprint(folder: str | Path, names: Iterable[str]) -> dict:
    """``{"sha256": {name: hex digest}}`` of those of the files ``names`` that exist in ``folder``.

    Written into ``config.json`` (a checkpoint: ``state.json``) after the files it describes, so that
    :meth:`ConversionModel.load` can tell that the folder's files were written together.
    """
    folder = Path(folder)
    return {"sha256": {name: file_digest(folder / name) for name in sorted(names) if (folder / name).is_file()}}


def verify_fingerprint(folder: str | Path, record: dict, names: Iterable[str], recorded_in: str | Path) -> None:
    """Check the files ``names`` of ``folder`` against a :func:`fingerprint` taken when they were written.

    Args:
        folder: the folder holding the files.
        record: the fingerprint; files it does not list are not checked.
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


def _verify_model_folder(model_dir: Path, config: dict, mapper, checkpoint: str | Path | None) -> None:
    """Check the files :meth:`ConversionModel.load` read against the fingerprints recorded with them.

    ``config.json``'s covers the model folder's files (only the statistics when the weights come from
    ``checkpoint``); a checkpoint's ``state.json``'s covers its weights. Without a record, nothing is checked.
    """
    names = model_files(mapper)
    own = names if checkpoint is None else list(STATS_FILES.values())
    if FINGERPRINT_KEY in config:
        verify_fingerprint(model_dir, config[FINGERPRINT_KEY], own, model_dir / CONFIG_NAME)
    else:
        log.debug("%s has no fingerprint (written before fingerprints existed): its files are not checked", model_dir)
    if checkpoint is not None and (Path(checkpoint) / CHECKPOINT_STATE).is_file():
        state_path = Path(checkpoint) / CHECKPOINT_STATE
        record = read_model_json(state_path).get(FINGERPRINT_KEY)
        if record is not None:
            verify_fingerprint(checkpoint, record, [name for name in names if name not in own], state_path)


class GeneratorPair:
    """The CycleGAN's MCEP mapper: one generator per direction.

    A mapper is what :class:`ConversionModel` needs from a model type: ``model_type``, ``networks()`` (saved as
    ``<name>.weights.h5``), ``convert_mcep(mcep, src, tgt, direction, **options)``, ``fit(feats_a, feats_b,
    stats_a, stats_b)`` (whatever is derived from training utterances once training ends) and
    ``save_extra``/``load_extra(model_dir)`` (files beyond the weights, named in ``extra_files``). The
    CycleGAN has no options, nothing to fit and no extra files.

    Args:
        gen_a2b (keras.Model): ``(B, T, D) -> (B, T, D)`` on normalized MCEPs, ``T`` a multiple of 4.
        gen_b2a (keras.Model): the reverse direction.
    """

    model_type = "cyclegan"
    extra_files: tuple[str, ...] = ()

    def __init__(self, gen_a2b: keras.Model, gen_b2a: keras.Model):
        self.generators = {"A2B": gen_a2b, "B2A": gen_b2a}

    def networks(self) -> dict[str, keras.Model]:
        return {"gen_a2b": self.generators["A2B"], "gen_b2a": self.generators["B2A"]}

    def convert_mcep(self, mcep: np.ndarray, src: DomainStats, tgt: DomainStats, direction: str,
                     **options) -> np.ndarray:
        """Normalize, pad to a multiple of 4, generate, crop, denormalize; shape ``(T, D)``, float64."""
        if options:
            raise ParameterError(f"{', '.join(sorted(options))}: style options apply to MUNIT models only")
        padded, n_frames = models.pad_to_multiple(src.mcep.normalize(mcep).astype(np.float32))
        converted = keras.ops.convert_to_numpy(self.generators[direction](padded[None], training=False))
        return tgt.mcep.denormalize(converted[0, :n_frames].astype(np.float64))

    def fit(self, feats_a, feats_b, stats_a, stats_b) -> None:
        """Nothing to derive from the training utterances."""

    def save_extra(self, model_dir: str | Path) -> None:
        """No files beyond the generator weights."""

    def load_extra(self, model_dir: str | Path) -> None:
        """No files beyond the generator weights."""


NO_VOICED_NOTE = ("no voiced frames: F0 left unchanged (there is none to convert), so the output is unvoiced "
                  "throughout; the conversion changed the spectrum and level only")


@dataclass(frozen=True)
class FileConversion:
    """One input converted by :meth:`ConversionModel.convert_path` (or :meth:`ConversionModel.convert_wav`).

    Attributes:
        wav (ndarray): converted waveform at ``feature_cfg.sr``, shape ``(n_samples,)`` of the loaded input,
            not clipped or normalized.
        familiarity (InputFamiliarity): the whole input against the source domain: :func:`input_familiarity`
            over the frames of all its segments.
        n_segments (int): how many segments it was converted in (1: as a whole; see :mod:`emocore.segments`).
        notes (tuple[str, ...]): one-line warnings for the user (a truncated file, no voiced frames); empty
            when there is nothing to say.
    """

    wav: np.ndarray
    familiarity: InputFamiliarity
    n_segments: int
    notes: tuple[str, ...] = ()


class ConversionModel:
    """A trained conversion between two domains: feature settings, both domains' statistics, the networks.

    Build it from a model folder with :meth:`load`, or from live networks (as training does for its
    validation conversions), so that both go through the same code. A CycleGAN is given by its two
    generators; another model type by its MCEP mapper (see :class:`GeneratorPair`).

    Args:
        feature_cfg (FeatureConfig): the analysis settings the model was trained on.
        stats_a (DomainStats): statistics of domain A.
        stats_b (DomainStats): statistics of domain B.
        gen_a2b (keras.Model | None): CycleGAN: ``(B, T, D) -> (B, T, D)`` on normalized MCEPs, ``T`` a
            multiple of 4.
        gen_b2a (keras.Model | None): CycleGAN: the reverse direction.
        model_type (str | None): one of :data:`MODEL_TYPES`; ``None``: the mapper's.
        config (dict | None): the model folder's ``config.json`` contents, when known.
        mapper: instead of the generators, e.g. an :class:`emocore.munit.MunitMapper`.
    """

    def __init__(self, feature_cfg: FeatureConfig, stats_a: DomainStats, stats_b: DomainStats,
                 gen_a2b: keras.Model | None = None, gen_b2a: keras.Model | None = None, *,
                 model_type: str | None = None, config: dict | None = None, mapper=None):
        if mapper is None:
            if gen_a2b is None or gen_b2a is None:
                raise ParameterError("give both generators (a CycleGAN) or a mapper")
            mapper = GeneratorPair(gen_a2b, gen_b2a)
        model_type = mapper.model_type if model_type is None else model_type
        if model_type not in MODEL_TYPES:
            raise ParameterError(f"unknown model type {model_type!r}; known: {MODEL_TYPES}")
        if model_type != mapper.model_type:
            raise ParameterError(f"model_type {model_type!r} but a {mapper.model_type!r} mapper")
        for stats in (stats_a, stats_b):
            if len(stats.mcep.mean) != feature_cfg.mcep_dim:
                raise ParameterError(f"stats of {stats.name!r} have {len(stats.mcep.mean)} MCEPs, "
                                     f"the feature config {feature_cfg.mcep_dim}")
        self.feature_cfg, self.stats_a, self.stats_b = feature_cfg, stats_a, stats_b
        self.mapper = mapper
        self.generators = getattr(mapper, "generators", {})  # the CycleGAN's, by direction
        self.model_type = model_type
        self.config = dict(config or {})

    # ------------------------------------------------------------------ folders

    @classmethod
    def load(cls, model_dir: str | Path, *, checkpoint: str | Path | None = None) -> "ConversionModel":
        """Read a model folder: ``config.json``, both statistics files, the network weights and extra files.

        The model type comes from ``config.json``.

        Args:
            model_dir: folder written by :meth:`save` / :func:`emocore.training.train`.
            checkpoint: take the network weights from this checkpoint folder instead (e.g. one in
                ``model_dir/checkpoints/`` while training is still running). A MUNIT model then takes its
                mean style codes from the checkpoint too (training writes each checkpoint's, computed with
                that checkpoint's style encoders), never the final ``styles.json`` of ``model_dir``.

        Every file is checked against the ``fingerprint`` that :meth:`save` (and
        :func:`emocore.pretrained.export_pretrained`) records in ``config.json``: the SHA-256 of each file
        conversion reads, so that a file of another model or a changed file is named instead of used. A
        checkpoint's weights are checked against its own ``state.json``. Folders written before fingerprints
        existed load unchecked.

        Raises:
            ParameterError: the folder is not a model folder, its model type is unknown, or a weights file is
                missing (training has not finished).
            ModelFolderError: naming the file: ``config.json`` or a statistics file is not valid JSON or lacks
                a key, a weights file is damaged or does not fit the network ``config.json`` describes, or a
                file's SHA-256 differs from the fingerprint (it belongs to another model).
        """
        model_dir = Path(model_dir)
        config_path = model_dir / CONFIG_NAME
        if not config_path.is_file():
            raise ParameterError(f"{model_dir} is not a model folder: it has no {CONFIG_NAME}")
        config = read_model_json(config_path, required=CONFIG_KEYS)
        model_type = config["model_type"]
        if model_type not in _BUILDERS:
            raise ParameterError(f"{config_path}: unknown model_type {model_type!r}; known: {MODEL_TYPES}")
        try:
            feature_cfg = from_dict(FeatureConfig, config["feature"])
            mapper = _BUILDERS[model_type](config)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ModelFolderError(config_path, f"does not describe a model that can be built ({error})") from error
        weights_dir = Path(checkpoint) if checkpoint is not None else model_dir
        files = {name: f"{name}.weights.h5" for name in mapper.networks()}
        missing = [name for name in files.values() if not (weights_dir / name).is_file()]
        if missing:
            steps = sorted((model_dir / "checkpoints").glob("step-*"))
            newest = steps[-1] if steps else model_dir / "checkpoints" / "step-..."
            hint = (f" (training has not finished; load a checkpoint: checkpoint={newest} in Python, "
                    f"--checkpoint {newest} on the command line)"
                    if (model_dir / "checkpoints").is_dir() and checkpoint is None else "")
            raise ParameterError(f"{weights_dir} lacks {', '.join(missing)}{hint}")
        stats = {}
        for key, name in STATS_FILES.items():
            stats[key] = DomainStats.load(model_dir / name)
            if len(stats[key].mcep.mean) != feature_cfg.mcep_dim:
                raise ModelFolderError(model_dir / name, f"holds {len(stats[key].mcep.mean)} MCEP dimensions, "
                                                         f"{CONFIG_NAME} says mcep_dim={feature_cfg.mcep_dim}")
        for name, network in mapper.networks().items():
            load_weights(network, weights_dir / files[name])
        mapper.load_extra(weights_dir)
        _verify_model_folder(model_dir, config, mapper, checkpoint)
        return cls(feature_cfg, stats["a"], stats["b"], model_type=model_type, config=config, mapper=mapper)

    def save(self, model_dir: str | Path, config: dict | None = None, *, weights: bool = True) -> Path:
        """Write everything conversion needs to ``model_dir`` (each file atomically).

        Args:
            model_dir: destination folder (created).
            config: extra ``config.json`` entries (e.g. ``model``, ``train``, ``training``); merged over
                :attr:`config`. ``model_type``, ``feature`` and the domain names are always written.
            weights: also write the network weights and the mapper's extra files (training writes the rest
                before it has any), and then ``config.json`` with the ``fingerprint`` of every file conversion
                reads (:func:`fingerprint`). Without weights, ``config.json`` carries no fingerprint.

        Returns:
            Path: ``model_dir``.
        """
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        self.stats_a.save(model_dir / STATS_FILES["a"])
        self.stats_b.save(model_dir / STATS_FILES["b"])
        if weights:
            for name, network in self.mapper.networks().items():
                save_weights_atomic(network, model_dir / f"{name}.weights.h5")
            self.mapper.save_extra(model_dir)
        self.config = {**self.config, **(config or {}), "model_type": self.model_type,
                       "feature": asdict(self.feature_cfg), "domain_a": self.stats_a.name,
                       "domain_b": self.stats_b.name}
        self.config.pop(FINGERPRINT_KEY, None)  # without weights, it cannot vouch for those in the folder
        if weights:  # config.json comes last, so its fingerprint describes files already in place
            self.config[FINGERPRINT_KEY] = fingerprint(model_dir, model_files(self.mapper))
        write_json_atomic(model_dir / CONFIG_NAME, self.config)
        return model_dir

    # ------------------------------------------------------------------ conversion

    @property
    def domain_names(self) -> tuple[str, str]:
        return self.stats_a.name, self.stats_b.name

    def domain_stats(self, direction: str) -> tuple[DomainStats, DomainStats]:
        """``(source, target)`` statistics for ``"A2B"`` or ``"B2A"``."""
        return (self.stats_a, self.stats_b) if parse_direction(direction) == "A2B" else (self.stats_b, self.stats_a)

    def convert_mcep(self, mcep: np.ndarray, direction: str = "A2B", **style) -> np.ndarray:
        """Convert an MCEP sequence with the model's networks.

        Args:
            mcep (ndarray): shape ``(T, D)``, unnormalized, of the source domain.
            direction (str): ``"A2B"`` or ``"B2A"``.
            **style: MUNIT only (:meth:`emocore.munit.MunitMapper.convert_mcep`): ``style`` (``"mean"``,
                ``"reference"`` or ``"random"``), ``reference`` (a target-domain recording: its
                ``WorldFeatures``, MCEPs ``(T_ref, D)``, waveform at ``feature_cfg.sr`` or file path),
                ``seed`` (for ``"random"``), ``intensity`` (0 = the source reconstructed, 1 = full conversion).
                A CycleGAN takes none.

        Returns:
            ndarray: converted MCEPs, shape ``(T, D)``, float64.
        """
        direction = parse_direction(direction)
        src, tgt = self.domain_stats(direction)
        mcep = np.asarray(mcep)
        if mcep.ndim != 2 or mcep.shape[1] != self.feature_cfg.mcep_dim:
            raise ParameterError(f"mcep must have shape (T, {self.feature_cfg.mcep_dim}), got {mcep.shape}")
        if style.get("reference") is not None:
            style = {**style, "reference": self.reference_mcep(style["reference"])}
        return self.mapper.convert_mcep(mcep, src, tgt, direction, **style)

    def reference_mcep(self, reference) -> np.ndarray:
        """Unnormalized MCEPs ``(T, D)`` of a reference recording given as features, MCEPs, a waveform or a path."""
        if isinstance(reference, WorldFeatures):
            return np.asarray(reference.mcep, dtype=np.float64)
        if isinstance(reference, str | Path):
            cfg = self.feature_cfg
            reference = audio.load_wav(reference, cfg.sr, min_duration_s=cfg.min_duration_s,
                                       silence_peak=cfg.silence_peak)
        reference = np.asarray(reference, dtype=np.float64)
        if reference.ndim == 1:
            reference = features.extract_features(audio.validate_wav(reference, self.feature_cfg.sr),
                                                  self.feature_cfg).mcep
        if reference.ndim != 2 or reference.shape[1] != self.feature_cfg.mcep_dim or not len(reference):
            raise ParameterError(f"reference must be WorldFeatures, a waveform, a path or MCEPs "
                                 f"(T, {self.feature_cfg.mcep_dim}); got shape {reference.shape}")
        return reference

    def fit_styles(self, feats_a, feats_b) -> None:
        """Derive what the model takes from the training utterances once trained (MUNIT: each domain's mean style).

        Args:
            feats_a, feats_b: ``WorldFeatures`` of each domain's training utterances.
        """
        self.mapper.fit(feats_a, feats_b, self.stats_a, self.stats_b)

    def convert_features(self, feats: WorldFeatures, direction: str = "A2B", *, f0: bool = True,
                         power: bool = True, mcep: bool = True, **style) -> WorldFeatures:
        """Convert one utterance's features; each switch turns one stream's conversion on or off.

        Args:
            feats (WorldFeatures): source-domain features, ``T`` frames.
            direction (str): ``"A2B"`` or ``"B2A"``.
            f0 (bool): log-Gaussian F0 transform.
            power (bool): log-Gaussian power-envelope transform.
            mcep (bool): MCEPs through the model.
            **style: MUNIT style options, see :meth:`convert_mcep`. They change the MCEPs only.

        Returns:
            WorldFeatures: ``T`` frames; aperiodicity and ``n_samples`` unchanged. Synthesize it with
            :meth:`synthesize` and the same ``power``.
        """
        src, tgt = self.domain_stats(direction)
        out = prosody.convert_prosody(feats, src, tgt, f0=f0, power=power)
        if mcep:
            out = out.replace(mcep=self.convert_mcep(feats.mcep, direction, **style))
        return out

    def synthesize(self, feats: WorldFeatures, *, power: bool = True) -> np.ndarray:
        """WORLD synthesis at ``feature_cfg.sr``, shape ``(feats.n_samples,)``; ``power`` as in :meth:`convert_features`."""
        return features.synthesize_features(feats, self.feature_cfg, apply_log_power=power)

    # How long inputs are cut (emocore.segments); set it on an instance to change it, math.inf: never cut.
    segment_cfg: SegmentConfig = SegmentConfig()

    def convert_wav(self, wav: np.ndarray, direction: str = "A2B", *, f0: bool = True, power: bool = True,
                    mcep: bool = True, **style) -> np.ndarray:
        """Convert a waveform at ``feature_cfg.sr``.

        Args:
            wav (ndarray): shape ``(n_samples,)``.
            direction, f0, power, mcep, style: as in :meth:`convert_features`.

        A waveform longer than :attr:`segment_cfg` ``.max_segment_s`` is converted in segments (see
        :meth:`convert_path`); a shorter one as a whole.

        Returns:
            ndarray: converted waveform, shape ``(n_samples,)`` (not clipped or normalized).

        Raises:
            AudioError: the waveform is empty, non-finite, silent or constant, or converts to silence.
        """
        wav = audio.validate_wav(wav, self.feature_cfg.sr, silence_peak=self.feature_cfg.silence_peak)
        return self._convert_segmented(wav, direction, f0=f0, power=power, mcep=mcep, **style).wav

    def convert_analyzed(self, feats: WorldFeatures, direction: str = "A2B", *, f0: bool = True,
                         power: bool = True, mcep: bool = True, **style) -> np.ndarray:
        """:meth:`convert_features` then :meth:`synthesize` (same ``power``): shape ``(feats.n_samples,)``."""
        converted = self.convert_features(feats, direction, f0=f0, power=power, mcep=mcep, **style)
        return self.synthesize(converted, power=power)

    def analyze_file(self, path: str | Path) -> WorldFeatures:
        """Load ``path`` at ``feature_cfg.sr`` (any rate, any channel count) and extract its WORLD features.

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.audio.load_wav`).
        """
        cfg = self.feature_cfg
        wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
        return features.extract_features(wav, cfg)

    def convert_file(self, path: str | Path, direction: str = "A2B", **switches) -> np.ndarray:
        """``convert_path(path, direction, **switches).wav``: shape ``(n_samples,)``; see :meth:`convert_path`.

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.audio.load_wav`) or converts to silence.
        """
        return self.convert_path(path, direction, **switches).wav

    def convert_path(self, path: str | Path, direction: str = "A2B", *, f0: bool = True, power: bool = True,
                     mcep: bool = True, **style) -> FileConversion:
        """Convert an audio file in memory bounded by the segment length, with warnings for the user.

        The file is loaded at ``feature_cfg.sr`` (:func:`emocore.audio.load_wav`: any rate, any channel count).
        Up to :attr:`segment_cfg` ``.max_segment_s`` it is analysed, converted and synthesized as a whole; a
        longer one in segments cut at quiet places, each with context on both sides, joined by short
        crossfades (:mod:`emocore.segments`), so that peak memory does not grow with the file's length.

        Args:
            path: the input file.
            direction, f0, power, mcep, style: as in :meth:`convert_features`. A ``reference`` style
                recording is analysed once for all segments.

        Returns:
            FileConversion: the waveform (the loaded input's length), the whole file's familiarity, the
            number of segments and notes: a truncated WAV (:func:`emocore.audio.truncation_note`), no
            voiced frames in the whole file (:data:`NO_VOICED_NOTE`).

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.audio.load_wav`), or the conversion
                produced silence.
        """
        cfg = self.feature_cfg
        wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
        truncated = audio.truncation_note(path)
        result = self._convert_segmented(wav, direction, path=path, f0=f0, power=power, mcep=mcep, **style)
        return replace(result, notes=(truncated, *result.notes)) if truncated else result

    def _convert_segmented(self, wav: np.ndarray, direction: str, *, path=None, f0: bool, power: bool, mcep: bool,
                           **style) -> FileConversion:
        """Plan segments of a validated float64 waveform ``(n_samples,)``, convert each, stitch; see :meth:`convert_path`."""
        cfg, segment_cfg = self.feature_cfg, self.segment_cfg
        direction = parse_direction(direction)
        if style.get("reference") is not None:  # analysed once, not once per segment
            style = {**style, "reference": self.reference_mcep(style["reference"])}
        plan = segments.plan_segments(wav, cfg.sr, segment_cfg, align=cfg.hop_length)
        f0_parts, mcep_parts = [], []

        def converted_segments():
            for segment in plan:
                feats = features.extract_features(wav[segment.start:segment.stop], cfg)
                core = segment.core_frames(cfg.hop_length, feats.n_frames)
                f0_parts.append(feats.f0_hz[core])
                mcep_parts.append(feats.mcep[core])
                yield self.convert_analyzed(feats, direction, f0=f0, power=power, mcep=mcep, **style)

        out = segments.stitch(converted_segments(), plan, cfg.sr, segment_cfg)
        if np.max(np.abs(out)) < cfg.silence_peak:
            raise AudioError(path, f"conversion produced silence (output peak below {cfg.silence_peak:g})")
        f0_hz = np.concatenate(f0_parts)
        familiarity = frames_familiarity(f0_hz, np.concatenate(mcep_parts), self.domain_stats(direction)[0])
        notes = () if np.any(f0_hz > 0) else (NO_VOICED_NOTE,)
        return FileConversion(wav=out, familiarity=familiarity, n_segments=len(plan), notes=notes)


def _build_cyclegan_mapper(config: dict) -> GeneratorPair:
    model_cfg = from_dict(ModelConfig, config["model"])
    return GeneratorPair(build_generator(model_cfg, "gen_a2b"), build_generator(model_cfg, "gen_b2a"))


def _build_munit_mapper(config: dict):
    return munit.build_mapper(config)


# model_type -> builder of its MCEP mapper (networks built, weights not loaded) from config.json
_BUILDERS = {"cyclegan": _build_cyclegan_mapper, "munit": _build_munit_mapper}


# ---------------------------------------------------------------------- many files


@dataclass
class ConversionReport:
    """What :func:`convert_files` did.

    Attributes:
        converted: ``(input path, output path)`` of each converted file.
        failed: ``(input path, reason)`` of each file that could not be converted or written.
        skipped: ``(input path, output path, reason)`` of each input whose output already existed and was kept.
        unfamiliar: ``(input path, what is far)`` of converted files unlike the model's source domain
            (see :func:`input_familiarity`): converted anyway.
        notes: ``(input path, note)``: warnings about converted files (a truncated file, no voiced frames).
        not_attempted: inputs never tried because writing had to stop (see ``stopped``).
        stopped: why the batch stopped early (the disk is full), else ``None``.
    """

    converted: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    unfamiliar: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        """True when every input was converted or kept (none failed, none left untried)."""
        return not self.failed and not self.not_attempted


def convert_files(model: ConversionModel, paths: Iterable[str | Path], direction: str, destination: str | Path, *,
                  overwrite: bool = False, f0: bool = True, power: bool = True, mcep: bool = True,
                  progress: bool = True, **style) -> ConversionReport:
    """Convert audio files into ``destination`` at the model's sample rate, never losing a user's file.

    Before any conversion, :func:`emocore.batch.plan_outputs` names every output and checks the destination:
    a folder gets ``<stem>.wav`` per input (``<stem>_1.wav``, ... for repeated stems); a path with an audio
    suffix is the one output of a single input. Nothing is ever written over an input; an existing output
    is kept and listed in ``report.skipped`` unless ``overwrite``, so re-running an interrupted batch goes
    on where it stopped.

    Each file is written atomically (:func:`emocore.audio.save_wav`): a failed write leaves nothing at the
    output path. A file that cannot be read, analysed or written is listed in ``report.failed`` and the
    batch goes on; when the disk is full, the batch stops (further writes would fail too) and the files
    not tried are listed in ``report.not_attempted``. A file far from the model's source domain (see
    :func:`input_familiarity`) is converted anyway and listed in ``report.unfamiliar``. A converted file
    whose peak exceeds 1 is scaled down to :data:`OUTPUT_PEAK` instead of being clipped (logged).

    Args:
        model: the conversion model.
        paths: input files (use :func:`emocore.batch.expand_inputs` for folders and globs).
        direction: ``"A2B"`` or ``"B2A"``.
        destination: output folder (created), or one output file for one input.
        overwrite: replace existing outputs (never an input).
        f0, power, mcep: stream switches, as in :meth:`ConversionModel.convert_features`.
        progress: show a tqdm bar.
        **style: MUNIT style options (:meth:`ConversionModel.convert_mcep`), the same for every file.

    Returns:
        ConversionReport: what was converted, kept, failed or not tried.

    Raises:
        OutputError: the plan is refused (see :func:`emocore.batch.plan_outputs`); nothing was converted.
    """
    from emocore.batch import plan_outputs
    from emocore.io import is_disk_full

    direction = parse_direction(direction)
    plan = plan_outputs(list(paths), destination, overwrite=overwrite)
    report = ConversionReport(skipped=[(str(i), str(o), why) for i, o, why in plan.skipped])
    if style.get("reference") is not None:  # analysed once for the batch, not once per file
        style = {**style, "reference": model.reference_mcep(style["reference"])}
    jobs = tqdm(plan.jobs, desc=f"convert {direction}", unit="file", disable=not progress)
    for index, (path, out) in enumerate(jobs):
        try:
            result = model.convert_path(path, direction, f0=f0, power=power, mcep=mcep, **style)
            wav, familiarity, notes = result.wav, result.familiarity, result.notes
            peak = float(np.max(np.abs(wav)))
            if peak > 1.0:
                log.warning("%s: converted peak %.2f would clip; scaled to %.2f", path, peak, OUTPUT_PEAK)
                wav = wav * (OUTPUT_PEAK / peak)
            audio.save_wav(out, wav, model.feature_cfg.sr)
        except EmocoreError as error:
            reason = str(getattr(error, "reason", error))
        except OSError as error:
            if is_disk_full(error):
                again = ("run the same command again with --overwrite" if overwrite else
                         "run the same command again: the files converted so far are kept and skipped")
                report.stopped = (f"the disk is full: writing {out} failed ({error.strerror}) and left no partial "
                                  f"file; no further file was tried. Free some space and {again}")
                report.failed.append((str(path), f"not written: {error.strerror}"))
                report.not_attempted = [str(p) for p, _ in plan.jobs[index + 1:]]
                break
            reason = f"{error.strerror or error} ({error.filename or out})"
        except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
            log.debug("conversion of %s failed", path, exc_info=True)
            reason = f"{type(error).__name__}: {error}"
        else:
            report.converted.append((str(path), str(out)))
            report.notes.extend((str(path), note) for note in notes)
            if familiarity.far:
                log.info("%s: %s; converted anyway", path, familiarity.describe())
                report.unfamiliar.append((str(path), familiarity.describe()))
            continue
        log.info("skipping %s: %s", path, reason)  # the report lists it; emocore-convert prints it once
        report.failed.append((str(path), reason))
    return report


# ---------------------------------------------------------------------- is the input like the training data?

# Thresholds of InputFamiliarity.far, measured on TESS/RAVDESS with the tess-OAF-neutral statistics:
# held-out OAF neutral words |z| <= 0.4 and distance 0.98-1.06; OAF angry z 2.2-3.2 (distance 1.2);
# YAF and a RAVDESS actress z -0.3-2.0 (distance 1.1-1.2); a RAVDESS actor z -5.6; espeak-ng German z -6.1
# and distance 1.95.
FAR_PITCH_Z = 3.5
FAR_SPECTRAL_DISTANCE = 1.5


@dataclass(frozen=True)
class InputFamiliarity:
    """How far one utterance lies from the statistics of the domain a model converts from.

    Attributes:
        pitch_offset_semitones: mean log F0 of the utterance's voiced frames minus the domain's, in semitones.
        pitch_z: the same offset in units of the domain's frame-level log-F0 standard deviation.
        spectral_distance: RMS over voiced frames and c1.. of the MCEPs z-normalized by the domain's
            statistics: about 1 for the training speaker's own words.
    """

    pitch_offset_semitones: float
    pitch_z: float
    spectral_distance: float

    @property
    def far(self) -> bool:
        """Pitch or spectrum outside what the model was trained on (thresholds :data:`FAR_PITCH_Z`, :data:`FAR_SPECTRAL_DISTANCE`)."""
        return abs(self.pitch_z) > FAR_PITCH_Z or self.spectral_distance > FAR_SPECTRAL_DISTANCE

    def describe(self) -> str:
        """One line for users, e.g. ``"far from the training speaker: pitch 11.8 semitones lower (z -5.6)"``."""
        parts = []
        if abs(self.pitch_z) > FAR_PITCH_Z:
            side = "lower" if self.pitch_offset_semitones < 0 else "higher"
            parts.append(f"pitch {abs(self.pitch_offset_semitones):.1f} semitones {side} (z {self.pitch_z:+.1f})")
        if self.spectral_distance > FAR_SPECTRAL_DISTANCE:
            parts.append(f"spectrum {self.spectral_distance:.2f} standard deviations from it (about 1 for its own words)")
        where = "; ".join(parts) or f"pitch z {self.pitch_z:+.1f}, spectral distance {self.spectral_distance:.2f}"
        return f"{'far from' if parts else 'close to'} the training speaker: {where}"


def input_familiarity(feats: WorldFeatures, stats: DomainStats) -> InputFamiliarity:
    """Compare one utterance's pitch and MCEPs with a domain's statistics (another speaker, language, synthetic voice?).

    Args:
        feats (WorldFeatures): the utterance, ``T`` frames.
        stats (DomainStats): the domain the model converts from (``model.domain_stats(direction)[0]``).

    Returns:
        InputFamiliarity: NaN pitch fields when no frame is voiced (then only the spectrum counts).
    """
    return frames_familiarity(feats.f0_hz, feats.mcep, stats)


def frames_familiarity(f0_hz: np.ndarray, mcep: np.ndarray, stats: DomainStats) -> InputFamiliarity:
    """:func:`input_familiarity` of frames gathered from anywhere, e.g. all segments of a long file.

    Args:
        f0_hz (ndarray): shape ``(T,)``, 0 on unvoiced frames.
        mcep (ndarray): shape ``(T, D)``, the same frames.
        stats (DomainStats): the domain the model converts from.
    """
    voiced = f0_hz > 0
    if voiced.any():
        offset = float(np.log(f0_hz[voiced]).mean() - stats.log_f0.mean)
        semitones, z = 12.0 * offset / np.log(2.0), offset / stats.log_f0.std
    else:
        semitones = z = float("nan")
    frames = mcep[voiced] if voiced.any() else mcep
    normalized = (frames - stats.mcep.mean) / stats.mcep.std
    distance = float(np.sqrt(np.mean(normalized[:, 1:] ** 2)))
    return InputFamiliarity(float(semitones), float(z), distance)


# ---------------------------------------------------------------------- did it move toward the target?


def feature_shift_table(model: ConversionModel, source_pairs, target_pairs, direction: str = "A2B"):
    """How far held-out conversions moved toward real target speech, measured on features.

    For every source utterance whose text also exists among the targets (TESS and RAVDESS are parallel),
    compares the unconverted source and the converted features with the real target recording of the same
    text: mean and std of log F0 over voiced frames, and MCD (dB, after DTW, c1..) of the MCEPs. This is the
    quick check used after training; :mod:`emocore.evaluation` measures re-synthesized waveforms.

    Args:
        model: the conversion model.
        source_pairs, target_pairs: ``(Utterance, WorldFeatures)`` lists, e.g. the ``validation`` splits of
            :func:`emocore.extraction.prepare_domains` for the source and target domains.
        direction: ``"A2B"`` or ``"B2A"``.

    Returns:
        pandas.DataFrame: one row per ``(text_id, version)`` with ``version`` in ``source``, ``converted``,
        ``target`` and columns ``log_f0_mean``, ``log_f0_std``, ``mcd_to_target_db`` (0 for the target).
    """
    import pandas as pd

    from emocore.dsp import metrics

    targets = {}
    for utt, feats in target_pairs:
        targets.setdefault(utt.text_id, feats)
    rows = []
    for utt, feats in source_pairs:
        if utt.text_id not in targets:
            continue
        target = targets[utt.text_id]
        converted = model.convert_features(feats, direction)
        for version, values in (("source", feats), ("converted", converted), ("target", target)):
            log_f0 = np.log(values.f0_hz[values.voiced])
            rows.append({"text_id": utt.text_id, "version": version, "log_f0_mean": float(log_f0.mean()),
                         "log_f0_std": float(log_f0.std()),
                         "mcd_to_target_db": metrics.mel_cepstral_distortion_db(target.mcep, values.mcep)})
    if not rows:
        raise ParameterError("no source utterance shares a text with the targets")
    return pd.DataFrame(rows)


STREAMS = ("f0", "power", "mcep")


def parse_streams(variant: str) -> dict[str, bool]:
    """Stream switches from an ablation variant name, e.g. ``"f0+power"`` -> ``{"f0": True, "power": True, "mcep": False}``.

    ``"none"`` switches every stream off (the re-synthesized source).

    Raises:
        ParameterError: an unknown stream name.
    """
    names = [] if variant.strip().lower() == "none" else [part.strip().lower() for part in variant.split("+")]
    unknown = [name for name in names if name not in STREAMS]
    if unknown or not variant.strip():
        raise ParameterError(f"unknown stream(s) {unknown or [variant]} in {variant!r}; use {', '.join(STREAMS)} joined by '+'")
    return {stream: stream in names for stream in STREAMS}
