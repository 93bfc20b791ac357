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

A model folder, as written by :meth:`ConversionModel.save` (and so by :func:`emocore.training.train`), holds::

    config.json            model_type, feature/model/train configs, domain names, how it was trained
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

import glob
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
from tqdm.auto import tqdm

from . import audio, features, models, prosody
from .config import FeatureConfig, ModelConfig, from_dict
from .exceptions import EmocoreError, ParameterError
from .features import WorldFeatures
from .prosody import DomainStats

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
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


def write_json_atomic(path: str | Path, values: dict) -> Path:
    """Write ``values`` as indented JSON through a temporary file, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(values, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)
    return path


def save_weights_atomic(network: keras.Model, path: str | Path) -> Path:
    """``network.save_weights(path)`` through a temporary file (``path`` must end in ``.weights.h5``)."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    network.save_weights(tmp)
    tmp.replace(path)
    return path


class GeneratorPair:
    """The CycleGAN's MCEP mapper: one generator per direction.

    A mapper is what :class:`ConversionModel` needs from a model type: ``model_type``, ``networks()`` (saved as
    ``<name>.weights.h5``), ``convert_mcep(mcep, src, tgt, direction, **options)``, ``fit(feats_a, feats_b,
    stats_a, stats_b)`` (whatever is derived from training utterances once training ends) and
    ``save_extra``/``load_extra(model_dir)`` (files beyond the weights). The CycleGAN has no options,
    nothing to fit and no extra files.

    Args:
        gen_a2b (keras.Model): ``(B, T, D) -> (B, T, D)`` on normalized MCEPs, ``T`` a multiple of 4.
        gen_b2a (keras.Model): the reverse direction.
    """

    model_type = "cyclegan"

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

        Raises:
            ParameterError: the folder is not a model folder, or its model type is unknown.
        """
        model_dir = Path(model_dir)
        config_path = model_dir / CONFIG_NAME
        if not config_path.is_file():
            raise ParameterError(f"{model_dir} is not a model folder: it has no {CONFIG_NAME}")
        config = json.loads(config_path.read_text())
        model_type = config.get("model_type")
        if model_type not in _BUILDERS:
            raise ParameterError(f"{config_path}: unknown model_type {model_type!r}; known: {MODEL_TYPES}")
        mapper = _BUILDERS[model_type](config)
        weights_dir = Path(checkpoint) if checkpoint is not None else model_dir
        files = {name: f"{name}.weights.h5" for name in mapper.networks()}
        missing = [name for name in files.values() if not (weights_dir / name).is_file()]
        if missing:
            hint = (" (training has not finished; pass checkpoint=<model_dir>/checkpoints/step-...)"
                    if (model_dir / "checkpoints").is_dir() and checkpoint is None else "")
            raise ParameterError(f"{weights_dir} lacks {', '.join(missing)}{hint}")
        feature_cfg = from_dict(FeatureConfig, config["feature"])
        stats_a = DomainStats.load(model_dir / STATS_FILES["a"])
        stats_b = DomainStats.load(model_dir / STATS_FILES["b"])
        for name, network in mapper.networks().items():
            network.load_weights(weights_dir / files[name])
        mapper.load_extra(weights_dir)
        return cls(feature_cfg, stats_a, stats_b, model_type=model_type, config=config, mapper=mapper)

    def save(self, model_dir: str | Path, config: dict | None = None, *, weights: bool = True) -> Path:
        """Write everything conversion needs to ``model_dir`` (each file atomically).

        Args:
            model_dir: destination folder (created).
            config: extra ``config.json`` entries (e.g. ``model``, ``train``, ``training``); merged over
                :attr:`config`. ``model_type``, ``feature`` and the domain names are always written.
            weights: also write the network weights and the mapper's extra files (training writes the rest
                before it has any).

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

    def convert_wav(self, wav: np.ndarray, direction: str = "A2B", *, f0: bool = True, power: bool = True,
                    mcep: bool = True, **style) -> np.ndarray:
        """Convert a waveform at ``feature_cfg.sr``.

        Args:
            wav (ndarray): shape ``(n_samples,)``.
            direction, f0, power, mcep, style: as in :meth:`convert_features`.

        Returns:
            ndarray: converted waveform, shape ``(n_samples,)`` (not clipped or normalized).
        """
        feats = features.extract_features(audio.validate_wav(wav, self.feature_cfg.sr), self.feature_cfg)
        return self.convert_analyzed(feats, direction, f0=f0, power=power, mcep=mcep, **style)

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
        """:meth:`analyze_file` then :meth:`convert_analyzed` (``switches``): shape ``(n_samples,)``.

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.audio.load_wav`).
        """
        return self.convert_analyzed(self.analyze_file(path), direction, **switches)


def _build_cyclegan_mapper(config: dict) -> GeneratorPair:
    model_cfg = from_dict(ModelConfig, config["model"])
    return GeneratorPair(models.build_generator(model_cfg, "gen_a2b"), models.build_generator(model_cfg, "gen_b2a"))


def _build_munit_mapper(config: dict):
    from . import munit  # imported here: emocore.munit imports this module

    return munit.build_mapper(config)


# model_type -> builder of its MCEP mapper (networks built, weights not loaded) from config.json
_BUILDERS = {"cyclegan": _build_cyclegan_mapper, "munit": _build_munit_mapper}


# ---------------------------------------------------------------------- many files


@dataclass
class ConversionReport:
    """What :func:`convert_files` did.

    Attributes:
        converted: ``(input path, output path)`` of each converted file.
        failed: ``(input path, reason)`` of each skipped file.
        unfamiliar: ``(input path, what is far)`` of converted files unlike the model's source domain
            (see :func:`input_familiarity`): converted anyway.
    """

    converted: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    unfamiliar: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files from paths, folders (their audio files) and glob patterns, in order, without duplicates.

    A pattern that matches nothing and a path that does not exist are kept as they are, so that
    :func:`convert_files` reports them as failures instead of dropping them silently.
    """
    paths: list[Path] = []
    for item in inputs:
        text = str(item)
        if Path(text).is_dir():
            paths.extend(sorted(p for p in Path(text).iterdir() if p.is_file()
                                and p.suffix.lower() in audio.AUDIO_SUFFIXES and not p.name.startswith(".")))
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            paths.extend(matches or [Path(text)])
        else:
            paths.append(Path(text))
    seen, unique = set(), []
    for path in paths:
        key = str(path.absolute())
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def convert_files(model: ConversionModel, paths: Iterable[str | Path], direction: str, output_dir: str | Path, *,
                  f0: bool = True, power: bool = True, mcep: bool = True, progress: bool = True,
                  **style) -> ConversionReport:
    """Convert audio files to ``<output_dir>/<stem>.wav`` at the model's sample rate, skipping bad ones.

    A file that cannot be read or analysed (:class:`~emocore.exceptions.AudioError`: missing, corrupt,
    empty, silent, too short, ...) is logged, listed in the report and skipped; the others convert. A file
    far from the model's source domain (another speaker's pitch range, synthetic or foreign speech; see
    :func:`input_familiarity`) is converted anyway and listed in ``report.unfamiliar``. Two
    inputs with the same stem get ``<stem>_1.wav``, ``<stem>_2.wav``, ... A converted file whose peak
    exceeds 1 is scaled down to :data:`OUTPUT_PEAK` instead of being clipped (logged).

    Args:
        model: the conversion model.
        paths: input files (use :func:`expand_inputs` for folders and globs).
        direction: ``"A2B"`` or ``"B2A"``.
        output_dir: destination folder (created).
        f0, power, mcep: stream switches, as in :meth:`ConversionModel.convert_features`.
        progress: show a tqdm bar.
        **style: MUNIT style options (:meth:`ConversionModel.convert_mcep`), the same for every file.

    Returns:
        ConversionReport: converted and failed files.
    """
    direction = parse_direction(direction)
    output_dir = Path(output_dir)
    report = ConversionReport()
    used: set[str] = set()
    paths = list(paths)
    source_stats = model.domain_stats(direction)[0]
    for path in tqdm(paths, desc=f"convert {direction}", unit="file", disable=not progress):
        try:
            feats = model.analyze_file(path)
            familiarity = input_familiarity(feats, source_stats)
            wav = model.convert_analyzed(feats, direction, f0=f0, power=power, mcep=mcep, **style)
        except EmocoreError as error:
            reason = str(getattr(error, "reason", error))
        except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
            log.debug("conversion of %s failed", path, exc_info=True)
            reason = f"{type(error).__name__}: {error}"
        else:
            peak = float(np.max(np.abs(wav)))
            if peak > 1.0:
                log.warning("%s: converted peak %.2f would clip; scaled to %.2f", path, peak, OUTPUT_PEAK)
                wav = wav * (OUTPUT_PEAK / peak)
            stem, n = Path(path).stem, 0
            name = stem
            while name in used:
                n += 1
                name = f"{stem}_{n}"
            used.add(name)
            out = audio.save_wav(output_dir / f"{name}.wav", wav, model.feature_cfg.sr)
            report.converted.append((str(path), str(out)))
            if familiarity.far:
                log.info("%s: %s; converted anyway", path, familiarity.describe())
                report.unfamiliar.append((str(path), familiarity.describe()))
            continue
        log.warning("skipping %s: %s", path, reason)
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
    voiced = feats.f0_hz > 0
    if voiced.any():
        offset = float(np.log(feats.f0_hz[voiced]).mean() - stats.log_f0.mean)
        semitones, z = 12.0 * offset / np.log(2.0), offset / stats.log_f0.std
    else:
        semitones = z = float("nan")
    frames = feats.mcep[voiced] if voiced.any() else feats.mcep
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

    from . import metrics

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
