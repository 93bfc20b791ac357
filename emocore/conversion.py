"""The one conversion path: used by ``emocore-convert``, by validation during training and by the notebooks.

An utterance is analysed with the model's saved :class:`~emocore.config.FeatureConfig`; then each stream is
converted on its own, and each conversion can be switched off for the ablation:

- log F0 and the power envelope by the log-Gaussian transform of :mod:`emocore.prosody` (``f0``, ``power``),
- MCEPs by the generator of the chosen direction (``mcep``): normalized with the source domain's MCEP
  statistics, padded to a multiple of 4 frames, converted, cropped back and denormalized with the target's,
- aperiodicity is copied.

WORLD synthesis then gives a waveform of exactly the input's length. With ``power`` on, the decoded envelope is
rescaled to the converted power envelope (``features.synthesize_features(..., apply_log_power=True)``); with
it off, the level comes from the (converted or copied) MCEPs.

A model folder, as written by :meth:`ConversionModel.save` (and so by :func:`emocore.training.train`), holds::

    config.json            model_type, feature/model/train configs, domain names, how it was trained
    stats_a.json           DomainStats of domain A (log F0, power envelope, MCEP mean/std)
    stats_b.json           the same for domain B
    gen_a2b.weights.h5     generator A -> B
    gen_b2a.weights.h5     generator B -> A
    checkpoints/           training checkpoints (not needed for conversion)
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
MODEL_TYPES = ("cyclegan",)
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


class ConversionModel:
    """A trained conversion between two domains: feature settings, both domains' statistics, the generators.

    Build it from a model folder with :meth:`load`, or from live networks (as training does for its
    validation conversions), so that both go through the same code.

    Args:
        feature_cfg (FeatureConfig): the analysis settings the model was trained on.
        stats_a (DomainStats): statistics of domain A.
        stats_b (DomainStats): statistics of domain B.
        gen_a2b (keras.Model): ``(B, T, D) -> (B, T, D)`` on normalized MCEPs, ``T`` a multiple of 4.
        gen_b2a (keras.Model): the reverse direction.
        model_type (str): one of :data:`MODEL_TYPES`.
        config (dict | None): the model folder's ``config.json`` contents, when known.
    """

    def __init__(self, feature_cfg: FeatureConfig, stats_a: DomainStats, stats_b: DomainStats,
                 gen_a2b: keras.Model, gen_b2a: keras.Model, *, model_type: str = "cyclegan",
                 config: dict | None = None):
        if model_type not in MODEL_TYPES:
            raise ParameterError(f"unknown model type {model_type!r}; known: {MODEL_TYPES}")
        for stats in (stats_a, stats_b):
            if len(stats.mcep.mean) != feature_cfg.mcep_dim:
                raise ParameterError(f"stats of {stats.name!r} have {len(stats.mcep.mean)} MCEPs, "
                                     f"the feature config {feature_cfg.mcep_dim}")
        self.feature_cfg, self.stats_a, self.stats_b = feature_cfg, stats_a, stats_b
        self.generators = {"A2B": gen_a2b, "B2A": gen_b2a}
        self.model_type = model_type
        self.config = dict(config or {})

    # ------------------------------------------------------------------ folders

    @classmethod
    def load(cls, model_dir: str | Path, *, checkpoint: str | Path | None = None) -> "ConversionModel":
        """Read a model folder: ``config.json``, both statistics files and the generator weights.

        Args:
            model_dir: folder written by :meth:`save` / :func:`emocore.training.train`.
            checkpoint: take the generator weights from this checkpoint folder instead (e.g. one in
                ``model_dir/checkpoints/`` while training is still running).

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
        weights_dir = Path(checkpoint) if checkpoint is not None else model_dir
        missing = [name for name in GENERATOR_FILES.values() if not (weights_dir / name).is_file()]
        if missing:
            hint = (" (training has not finished; pass checkpoint=<model_dir>/checkpoints/step-...)"
                    if (model_dir / "checkpoints").is_dir() and checkpoint is None else "")
            raise ParameterError(f"{weights_dir} lacks {', '.join(missing)}{hint}")
        feature_cfg = from_dict(FeatureConfig, config["feature"])
        stats_a = DomainStats.load(model_dir / STATS_FILES["a"])
        stats_b = DomainStats.load(model_dir / STATS_FILES["b"])
        gen_a2b, gen_b2a = _BUILDERS[model_type](config)
        gen_a2b.load_weights(weights_dir / GENERATOR_FILES["A2B"])
        gen_b2a.load_weights(weights_dir / GENERATOR_FILES["B2A"])
        return cls(feature_cfg, stats_a, stats_b, gen_a2b, gen_b2a, model_type=model_type, config=config)

    def save(self, model_dir: str | Path, config: dict | None = None, *, weights: bool = True) -> Path:
        """Write everything conversion needs to ``model_dir`` (each file atomically).

        Args:
            model_dir: destination folder (created).
            config: extra ``config.json`` entries (e.g. ``model``, ``train``, ``training``); merged over
                :attr:`config`. ``model_type``, ``feature`` and the domain names are always written.
            weights: also write the generator weights (training writes the rest before it has any).

        Returns:
            Path: ``model_dir``.
        """
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        self.stats_a.save(model_dir / STATS_FILES["a"])
        self.stats_b.save(model_dir / STATS_FILES["b"])
        if weights:
            for direction, name in GENERATOR_FILES.items():
                save_weights_atomic(self.generators[direction], model_dir / name)
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

    def convert_mcep(self, mcep: np.ndarray, direction: str = "A2B") -> np.ndarray:
        """Convert an MCEP sequence with the generator.

        Args:
            mcep (ndarray): shape ``(T, D)``, unnormalized, of the source domain.
            direction (str): ``"A2B"`` or ``"B2A"``.

        Returns:
            ndarray: converted MCEPs, shape ``(T, D)``, float64.
        """
        direction = parse_direction(direction)
        src, tgt = self.domain_stats(direction)
        mcep = np.asarray(mcep)
        if mcep.ndim != 2 or mcep.shape[1] != self.feature_cfg.mcep_dim:
            raise ParameterError(f"mcep must have shape (T, {self.feature_cfg.mcep_dim}), got {mcep.shape}")
        padded, n_frames = models.pad_to_multiple(src.mcep.normalize(mcep).astype(np.float32))
        converted = keras.ops.convert_to_numpy(self.generators[direction](padded[None], training=False))
        return tgt.mcep.denormalize(converted[0, :n_frames].astype(np.float64))

    def convert_features(self, feats: WorldFeatures, direction: str = "A2B", *, f0: bool = True,
                         power: bool = True, mcep: bool = True) -> WorldFeatures:
        """Convert one utterance's features; each switch turns one stream's conversion on or off.

        Args:
            feats (WorldFeatures): source-domain features, ``T`` frames.
            direction (str): ``"A2B"`` or ``"B2A"``.
            f0 (bool): log-Gaussian F0 transform.
            power (bool): log-Gaussian power-envelope transform.
            mcep (bool): MCEPs through the generator.

        Returns:
            WorldFeatures: ``T`` frames; aperiodicity and ``n_samples`` unchanged. Synthesize it with
            :meth:`synthesize` and the same ``power``.
        """
        src, tgt = self.domain_stats(direction)
        out = prosody.convert_prosody(feats, src, tgt, f0=f0, power=power)
        if mcep:
            out = out.replace(mcep=self.convert_mcep(feats.mcep, direction))
        return out

    def synthesize(self, feats: WorldFeatures, *, power: bool = True) -> np.ndarray:
        """WORLD synthesis at ``feature_cfg.sr``, shape ``(feats.n_samples,)``; ``power`` as in :meth:`convert_features`."""
        return features.synthesize_features(feats, self.feature_cfg, apply_log_power=power)

    def convert_wav(self, wav: np.ndarray, direction: str = "A2B", *, f0: bool = True, power: bool = True,
                    mcep: bool = True) -> np.ndarray:
        """Convert a waveform at ``feature_cfg.sr``.

        Args:
            wav (ndarray): shape ``(n_samples,)``.
            direction, f0, power, mcep: as in :meth:`convert_features`.

        Returns:
            ndarray: converted waveform, shape ``(n_samples,)`` (not clipped or normalized).
        """
        feats = features.extract_features(audio.validate_wav(wav, self.feature_cfg.sr), self.feature_cfg)
        converted = self.convert_features(feats, direction, f0=f0, power=power, mcep=mcep)
        return self.synthesize(converted, power=power)

    def convert_file(self, path: str | Path, direction: str = "A2B", **switches) -> np.ndarray:
        """Load ``path`` at ``feature_cfg.sr`` and :meth:`convert_wav` it.

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.audio.load_wav`).
        """
        cfg = self.feature_cfg
        wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
        return self.convert_wav(wav, direction, **switches)


def _build_cyclegan_generators(config: dict) -> tuple[keras.Model, keras.Model]:
    model_cfg = from_dict(ModelConfig, config["model"])
    return models.build_generator(model_cfg, "gen_a2b"), models.build_generator(model_cfg, "gen_b2a")


# model_type -> builder of (gen_a2b, gen_b2a) from config.json; a MUNIT model adds its builder here.
_BUILDERS = {"cyclegan": _build_cyclegan_generators}


# ---------------------------------------------------------------------- many files


@dataclass
class ConversionReport:
    """What :func:`convert_files` did.

    Attributes:
        converted: ``(input path, output path)`` of each converted file.
        failed: ``(input path, reason)`` of each skipped file.
    """

    converted: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

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
                  f0: bool = True, power: bool = True, mcep: bool = True, progress: bool = True) -> ConversionReport:
    """Convert audio files to ``<output_dir>/<stem>.wav`` at the model's sample rate, skipping bad ones.

    A file that cannot be read or analysed (:class:`~emocore.exceptions.AudioError`: missing, corrupt,
    empty, silent, too short, ...) is logged, listed in the report and skipped; the others convert. Two
    inputs with the same stem get ``<stem>_1.wav``, ``<stem>_2.wav``, ... A converted file whose peak
    exceeds 1 is scaled down to :data:`OUTPUT_PEAK` instead of being clipped (logged).

    Args:
        model: the conversion model.
        paths: input files (use :func:`expand_inputs` for folders and globs).
        direction: ``"A2B"`` or ``"B2A"``.
        output_dir: destination folder (created).
        f0, power, mcep: stream switches, as in :meth:`ConversionModel.convert_features`.
        progress: show a tqdm bar.

    Returns:
        ConversionReport: converted and failed files.
    """
    direction = parse_direction(direction)
    output_dir = Path(output_dir)
    report = ConversionReport()
    used: set[str] = set()
    paths = list(paths)
    for path in tqdm(paths, desc=f"convert {direction}", unit="file", disable=not progress):
        try:
            wav = model.convert_file(path, direction, f0=f0, power=power, mcep=mcep)
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
            continue
        log.warning("skipping %s: %s", path, reason)
        report.failed.append((str(path), reason))
    return report


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
