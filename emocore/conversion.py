"""The one conversion path: used by ``emocore-convert``, by validation during training and by the notebooks.

A model converts between its **emotions** (0, 1, ...: ``tess-OAF-neutral``, ``tess-OAF-angry``, ...); a conversion
is asked for a pair ``(source, target)`` of them, by name, label (``"neutral"``) or index, or by the original
system's directions ``"A2B"`` (emotion 0 to 1) and ``"B2A"``. An utterance is analysed with the model's saved
:class:`~emocore.config.FeatureConfig`, then its model type's :class:`~emocore.models.base.Converter` converts
the streams, each of which can be switched off for the ablation:

- log F0 and the power envelope (``f0``, ``power``): by the log-Gaussian transform of :mod:`emocore.dsp.prosody`
  unless the model type converts prosody itself (EmoStarGAN: relative to the speaker, and F0 from neutral by its
  learned prosody network where it has one; a switch may also name the method: ``f0="learned"`` / ``power="learned"``
  the network's contours, ``f0="cwt"`` / ``power="cwt"`` move the contour's shape scale by scale, ``f0="contour"``
  takes F0 from a generator trained with an F0 channel),
- MCEPs (``mcep``): by the networks, normalized with the source emotion's statistics and denormalized with the
  target's (EmoMUNIT's style options: ``style``, ``reference``, ``seed``, ``intensity``),
- the band aperiodicity (``ap``): moved by the emotions' measured change where the model type measured it
  (EmoStarGAN, relative to the speaker), otherwise copied,
- rhythm (``rhythm``, off by default; EmoStarGAN): every stream time-warped by the emotions' measured tempo ratio.

WORLD synthesis then gives a waveform of exactly the input's length (with ``rhythm``: scaled by the tempo ratio). With ``power`` on, the decoded envelope is
rescaled to the converted power envelope (``features.synthesize_features(..., apply_log_power=True)``); with
it off, the level comes from the (converted or copied) MCEPs.

Waveforms and files (:meth:`ConversionModel.convert_wav`, :meth:`ConversionModel.convert_path`) longer than
``ConversionModel.segment_cfg.max_segment_s`` go through all of this segment by segment, cut at quiet places
and joined by short crossfades (:mod:`emocore.dsp.segments`), so that memory stays flat in the input's length.

A model folder, as written by :meth:`ConversionModel.save` (and so by :func:`emocore.training.train`), holds::

    config.json            the run record (emocore.record.RunRecord): model type, settings, emotions and the
                           fingerprint: SHA-256 of each file below (checked by ConversionModel.load)
    stats-<emotion>.json   each emotion's DomainStats (log F0, power envelope, MCEP mean/std); a model of
                           schema version 1 has stats_a.json and stats_b.json
    <network>.weights.h5   the converter's networks (EmoCycleGAN: gen_a2b, gen_b2a; EmoMUNIT: content_encoder,
                           style_encoder_{a,b}, mlp_{a,b}, decoder)
    extra files            the converter's (EmoMUNIT: styles.json, each emotion's mean style code)
    checkpoints/           training checkpoints (not needed for conversion)

The model type is read from ``config.json`` and looked up in the registry of :mod:`emocore.models`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emocore import models, stages
from emocore.config import (
    CONVERSION_F0_TRACKER,
    MIN_FILES_FOR_WORKERS,
    PROSODY_METHODS,
    FeatureConfig,
    SegmentConfig,
    read_model_json,
)
from emocore.dsp import audio, features, segments
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import EmocoreError, ModelFolderError, ParameterError
from emocore.familiarity import InputFamiliarity, frames_familiarity
from emocore.models.base import (
    WEIGHTS_SUFFIX,
    Converter,
    Emotion,
    load_weights,
    missing_members,
    save_weights_atomic,
)
from emocore.record import (
    CHECKPOINT_STATE,
    CONFIG_NAME,
    FINGERPRINT_KEY,
    EmotionEntry,
    RunRecord,
    find_emotion,
    fingerprint,
    read_record,
    verify_fingerprint,
    write_record,
)
from emocore.stages import OUTPUT_PEAK, AnalyzedInput

log = logging.getLogger(__name__)

DIRECTIONS = {"A2B": (0, 1), "B2A": (1, 0)}  # the original system's names of the two directions
NO_VOICED_NOTE = ("no voiced frames: F0 left unchanged (there is none to convert), so the output is unvoiced "
                  "throughout; the conversion changed the spectrum and level only")

Direction = str | tuple
"""A conversion's direction: ``(source, target)`` emotions (name, label or index each), or ``"A2B"`` / ``"B2A"``."""


def model_files(converter: Converter, stats_files: Iterable[str]) -> list[str]:
    """The files of a model folder that conversion reads besides ``config.json``: weights, statistics, extras."""
    return ([f"{name}{WEIGHTS_SUFFIX}" for name in converter.networks()] + [f for f in stats_files if f]
            + list(converter.extra_files))


def _verify_model_folder(model_dir: Path, record: RunRecord, converter: Converter, checkpoint) -> None:
    """Check the files :meth:`ConversionModel.load` read against the fingerprints recorded with them.

    ``config.json``'s covers the model folder's files (only the statistics when the weights come from
    ``checkpoint``); a checkpoint's ``state.json``'s covers its weights. Without a record, nothing is checked.
    """
    names = model_files(converter, record.stats_files)
    own = names if checkpoint is None else list(record.stats_files)
    if record.fingerprint is not None:
        verify_fingerprint(model_dir, record.fingerprint, own, model_dir / CONFIG_NAME)
    else:
        log.debug("%s has no fingerprint (written before fingerprints existed): its files are not checked", model_dir)
    if checkpoint is not None and (Path(checkpoint) / CHECKPOINT_STATE).is_file():
        state_path = Path(checkpoint) / CHECKPOINT_STATE
        state_record = read_model_json(state_path).get(FINGERPRINT_KEY)
        if state_record is not None:
            verify_fingerprint(checkpoint, state_record, [name for name in names if name not in own], state_path)


@dataclass(frozen=True)
class FileConversion:
    """One input converted by :meth:`ConversionModel.convert_path` (or :meth:`ConversionModel.convert_wav`).

    Attributes:
        wav (ndarray): converted waveform at ``feature_cfg.sr``, shape ``(n_samples,)`` of the loaded input,
            not clipped or normalized.
        familiarity (InputFamiliarity): the whole input against the source emotion:
            :func:`emocore.familiarity.input_familiarity` over the frames of all its segments.
        n_segments (int): how many segments it was converted in (1: as a whole; see :mod:`emocore.dsp.segments`).
        notes (tuple[str, ...]): one-line warnings for the user (a truncated file, no voiced frames); empty
            when there is nothing to say.
    """

    wav: np.ndarray
    familiarity: InputFamiliarity
    n_segments: int
    notes: tuple[str, ...] = ()


class ConversionModel:
    """A trained model: feature settings, each emotion's statistics and the converter's networks.

    Build it from a model folder with :meth:`load`, or from live networks (as training does for its
    validation conversions), so that both go through the same code.

    Args:
        feature_cfg (FeatureConfig): the analysis settings the model was trained on.
        stats (Sequence[DomainStats]): each emotion's statistics, in the model's order.
        converter (Converter): the model type's converter (e.g. a
            :class:`~emocore.models.cyclegan.GeneratorPair` of two generators).
        model_type (str): its name in the registry of :mod:`emocore.models`.
        record (RunRecord | None): the model folder's run record, when known (needed by :meth:`save`).
    """

    def __init__(self, feature_cfg: FeatureConfig, stats: Sequence[DomainStats], converter: Converter,
                 model_type: str, *, record: RunRecord | None = None):
        models.get(model_type)
        missing = missing_members(converter, Converter)
        if missing:
            raise ParameterError(f"a {type(converter).__name__} is no Converter: it lacks {', '.join(missing)} "
                                 "(see emocore.models.base.Converter)")
        stats = tuple(stats)
        if len(stats) < 2:
            raise ParameterError(f"a model converts between at least 2 emotions, got {len(stats)} statistics")
        for s in stats:
            if len(s.mcep.mean) != feature_cfg.mcep_dim:
                raise ParameterError(f"stats of {s.name!r} have {len(s.mcep.mean)} MCEPs, "
                                     f"the feature config {feature_cfg.mcep_dim}")
        if record is not None and record.emotion_names != tuple(s.name for s in stats):
            raise ParameterError(f"the record's emotions {record.emotion_names} are not those of the statistics "
                                 f"{tuple(s.name for s in stats)}")
        self.feature_cfg, self.stats, self.converter = feature_cfg, stats, converter
        self.model_type, self.record = model_type, record
        self.emotions = tuple(Emotion(i, s) for i, s in enumerate(stats))

    # ------------------------------------------------------------------ folders

    @classmethod
    def load(cls, model_dir: str | Path, *, checkpoint: str | Path | None = None,
             f0_tracker: str | None = "default") -> "ConversionModel":
        """Read a model folder: the run record, each emotion's statistics, the network weights and extra files.

        The model type comes from ``config.json`` (:func:`emocore.record.read_record`, which upgrades older
        records) and is looked up in the registry of :mod:`emocore.models`.

        Args:
            model_dir: folder written by :meth:`save` / :func:`emocore.training.train`.
            checkpoint: take the network weights from this checkpoint folder instead (e.g. one in
                ``model_dir/checkpoints/`` while training is still running). The converter's extra files (a
                MUNIT model's mean style codes) come from the checkpoint too, never from ``model_dir``.
            f0_tracker: analyse inputs with this F0 tracker; ``None``: the model's training one; ``"default"``:
                :attr:`f0_tracker`'s default (:data:`emocore.config.CONVERSION_F0_TRACKER`).

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
        record = read_record(config_path)
        if record.model_type not in models.MODELS:
            raise ParameterError(f"{config_path}: unknown model_type {record.model_type!r}; known: "
                                 f"{', '.join(models.MODELS)}")
        spec = models.get(record.model_type)
        if spec.options is not None and record.options is None and not spec.options_optional:
            raise ModelFolderError(config_path, f"lacks the 'options' entry: the {spec.options.__name__} of this "
                                                f"{spec.title} model (schema version 1: 'munit')")
        try:
            converter = spec.build_converter(record.model, spec.parse_options(record.options))
        except (AttributeError, KeyError, TypeError, ValueError, ParameterError) as error:
            raise ModelFolderError(config_path, f"does not describe a model that can be built ({error})") from error
        weights_dir = Path(checkpoint) if checkpoint is not None else model_dir
        files = {name: f"{name}{WEIGHTS_SUFFIX}" for name in converter.networks()}
        missing = [name for name in files.values() if not (weights_dir / name).is_file()]
        if missing:
            steps = sorted((model_dir / "checkpoints").glob("step-*"))
            newest = steps[-1] if steps else model_dir / "checkpoints" / "step-..."
            hint = (f" (training has not finished; load a checkpoint: checkpoint={newest} in Python, "
                    f"--checkpoint {newest} on the command line)"
                    if (model_dir / "checkpoints").is_dir() and checkpoint is None else "")
            raise ParameterError(f"{weights_dir} lacks {', '.join(missing)}{hint}")
        stats = []
        for entry in record.emotions:
            path = model_dir / entry.stats_file
            stats.append(DomainStats.load(path))
            if len(stats[-1].mcep.mean) != record.feature.mcep_dim:
                raise ModelFolderError(path, f"holds {len(stats[-1].mcep.mean)} MCEP dimensions, "
                                             f"{CONFIG_NAME} says mcep_dim={record.feature.mcep_dim}")
            if stats[-1].name != entry.name:
                raise ModelFolderError(path, f"holds the statistics of {stats[-1].name!r}, {CONFIG_NAME} says "
                                             f"{entry.name!r}")
        for name, network in converter.networks().items():
            load_weights(network, weights_dir / files[name])
        converter.load_extra(weights_dir)
        _verify_model_folder(model_dir, record, converter, checkpoint)
        model = cls(record.feature, stats, converter, record.model_type, record=record)
        if f0_tracker != "default":
            model.f0_tracker = f0_tracker
            model.analysis_cfg  # an unknown tracker fails here, not at the first file
        return model

    def save(self, model_dir: str | Path, record: RunRecord | None = None, *, weights: bool = True) -> Path:
        """Write everything conversion needs to ``model_dir`` (each file atomically).

        Args:
            model_dir: destination folder (created).
            record: the run record to write (training's, with its progress); ``None``: :attr:`record`. Its
                emotions' statistics files are written from :attr:`stats`.
            weights: also write the network weights and the converter's extra files (training writes the rest
                before it has any), and then ``config.json`` with the ``fingerprint`` of every file conversion
                reads (:func:`emocore.record.fingerprint`). Without weights, ``config.json`` carries no
                fingerprint.

        Returns:
            Path: ``model_dir``.
        """
        record = record if record is not None else self.record
        if record is None:
            raise ParameterError("save needs a run record (ConversionModel(..., record=...) or save(..., record))")
        if record.emotion_names != tuple(s.name for s in self.stats):
            raise ParameterError(f"the record's emotions {record.emotion_names} are not the model's")
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        for entry, stats in zip(record.emotions, self.stats):
            stats.save(model_dir / entry.stats_file)
        if weights:
            for name, network in self.converter.networks().items():
                save_weights_atomic(network, model_dir / f"{name}{WEIGHTS_SUFFIX}")
            self.converter.save_extra(model_dir)
        record = dataclasses.replace(record, model_type=self.model_type, feature=self.feature_cfg, fingerprint=(
            fingerprint(model_dir, model_files(self.converter, record.stats_files)) if weights else None))
        write_record(model_dir / CONFIG_NAME, record)  # last, so its fingerprint describes files already in place
        self.record = record
        return model_dir

    # ------------------------------------------------------------------ emotions

    @property
    def emotion_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stats)

    def emotion_index(self, key: str | int) -> int:
        """The index of an emotion given by index, name (``tess-OAF-angry``) or label (``angry``)."""
        entries = self.record.emotions if self.record is not None else [EmotionEntry(s.name) for s in self.stats]
        return find_emotion(entries, key)

    def emotion_pair(self, direction: Direction) -> tuple[Emotion, Emotion]:
        """The ``(source, target)`` emotions of a direction (see :data:`Direction`).

        Raises:
            ParameterError: an unknown emotion, the same one twice, or a malformed direction.
        """
        if isinstance(direction, str):
            key = direction.strip().upper()
            if key not in DIRECTIONS:
                raise ParameterError(f"direction must be A2B, B2A or a (source, target) pair of emotions "
                                     f"({', '.join(self.emotion_names)}); got {direction!r}")
            source, target = DIRECTIONS[key]
        elif isinstance(direction, tuple | list) and len(direction) == 2:
            source, target = (self.emotion_index(key) for key in direction)
        else:
            raise ParameterError(f"direction must be A2B, B2A or a (source, target) pair, got {direction!r}")
        if source == target:
            raise ParameterError(f"source and target are the same emotion ({self.emotion_names[source]})")
        return self.emotions[source], self.emotions[target]

    def describe(self, direction: Direction) -> str:
        """``"tess-OAF-neutral -> tess-OAF-angry"``."""
        source, target = self.emotion_pair(direction)
        return f"{source.name} -> {target.name}"

    # ------------------------------------------------------------------ conversion

    def convert_mcep(self, mcep: np.ndarray, direction: Direction = "A2B", **style) -> np.ndarray:
        """Convert an MCEP sequence with the model's networks.

        Args:
            mcep (ndarray): shape ``(T, D)``, unnormalized, of the source emotion.
            direction: ``(source, target)`` emotions, or ``"A2B"`` / ``"B2A"``.
            **style: the model type's options. EmoMUNIT (:meth:`emocore.models.munit.MunitMapper.convert_mcep`):
                ``style`` (``"mean"``, ``"reference"`` or ``"random"``), ``reference`` (a target-emotion recording:
                its ``WorldFeatures``, MCEPs ``(T_ref, D)``, waveform at ``feature_cfg.sr`` or file path), ``seed``
                (for ``"random"``), ``intensity`` (0 = the source reconstructed, 1 = full conversion). EmoStarGAN
                (:meth:`emocore.models.stargan.SpeakerRelativeConverter.convert_mcep`): ``intensity`` and
                ``speaker_stats`` (the speaker's statistics in the source emotion; default: those of ``mcep``).
                An EmoCycleGAN takes none.

        Returns:
            ndarray: converted MCEPs, shape ``(T, D)``, float64.
        """
        source, target = self.emotion_pair(direction)
        mcep = np.asarray(mcep)
        if mcep.ndim != 2 or mcep.shape[1] != self.feature_cfg.mcep_dim:
            raise ParameterError(f"mcep must have shape (T, {self.feature_cfg.mcep_dim}), got {mcep.shape}")
        if style.get("reference") is not None:
            style = {**style, "reference": self.reference_mcep(style["reference"])}
        return self.converter.convert_mcep(mcep, source, target, **style)

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

    def fit(self, train_feats: Sequence[Sequence[WorldFeatures]]) -> None:
        """Derive what the converter takes from the training utterances once trained (EmoMUNIT: each emotion's
        mean style code).

        Args:
            train_feats: one list of ``WorldFeatures`` per emotion, in the model's order.
        """
        self.converter.fit(train_feats, self.emotions)

    def convert_features(self, feats: WorldFeatures, direction: Direction = "A2B", *, f0: bool | str = True,
                         power: bool | str = True, mcep: bool = True, ap: bool = True, rhythm: bool = False,
                         **style) -> WorldFeatures:
        """Convert one utterance's features; each switch turns one stream's conversion on or off.

        Args:
            feats (WorldFeatures): source-emotion features, ``T`` frames.
            direction: ``(source, target)`` emotions, or ``"A2B"`` / ``"B2A"``.
            f0 (bool | str): convert log F0 (the log-Gaussian transform unless the model converts prosody itself),
                or name the method: ``"log-gaussian"``; EmoStarGAN also ``"cwt"``, ``"learned"`` (its default from
                neutral when it has a learned prosody) and, trained with an F0 channel, ``"contour"``
                (:meth:`emocore.models.stargan.SpeakerRelativeConverter.convert`).
            power (bool | str): convert the power envelope (likewise; EmoStarGAN also ``"cwt"``: the energy
                contour's shape, its default, and ``"learned"``).
            mcep (bool): MCEPs through the model.
            ap (bool): the band aperiodicity (breathiness) moved by the emotions' measured change, where the model
                measured it (EmoStarGAN, :attr:`~emocore.models.stargan.SpeakerRelativeConverter.has_aperiodicity`);
                otherwise, or off, copied. The other wrappers here take it among ``style``.
            rhythm (bool): time-warp by the emotions' tempo ratio (EmoStarGAN): the frame count changes.
            **style: the model type's options (EmoMUNIT's style options change the MCEPs; EmoStarGAN's
                ``intensity``, ``strength``, ``speaker`` and ``speaker_stats`` move its prosody too), see
                :meth:`convert_mcep`.

        Returns:
            WorldFeatures: ``T`` frames (with ``rhythm``: ``T`` times the tempo ratio, ``n_samples`` alike);
            ``n_samples`` otherwise unchanged. Synthesize it with :meth:`synthesize` and the same ``power``.
        """
        source, target = self.emotion_pair(direction)
        if style.get("reference") is not None:
            style = {**style, "reference": self.reference_mcep(style["reference"])}
        if rhythm:  # asked only when on: a converter written before the rhythm stream need not know it
            style = {**style, "rhythm": True}
        if not ap:  # asked only when off: a converter written before the ap stream need not know it
            style = {**style, "ap": False}
        return self.converter.convert(feats, source, target, f0=f0, power=power, mcep=mcep, **style)

    def check_streams(self, direction: Direction = "A2B", *, f0: bool | str = True, power: bool | str = True,
                      rhythm: bool = False) -> None:
        """Refuse, before a batch starts, stream switches this model cannot honour (an F0 method it lacks, rhythm
        without tempo statistics), by converting a short synthetic utterance with them.

        Raises:
            ParameterError: naming the switch.
        """
        n = 64
        rng = np.random.default_rng(0)
        f0_hz = np.full(n, 120.0) * np.exp(0.05 * np.sin(np.arange(n) / 5.0))
        mean = self.emotions[0].stats.mcep.mean
        bands = features.n_aperiodicity_bands(self.feature_cfg)  # as the model's own features: 1 at 16 kHz
        feats = WorldFeatures(f0_hz=f0_hz, mcep=mean + 0.1 * rng.standard_normal((n, len(mean))),
                              coded_ap=np.full((n, bands), -10.0),  # every frame is voiced
                              log_power=np.full(n, -6.0), n_samples=n * self.feature_cfg.hop_length)
        self.convert_features(feats, direction, f0=f0, power=power, mcep=False, rhythm=rhythm)

    def synthesize(self, feats: WorldFeatures, *, power: bool = True) -> np.ndarray:
        """WORLD synthesis at ``feature_cfg.sr``, shape ``(feats.n_samples,)``; ``power`` as in :meth:`convert_features`."""
        return features.synthesize_features(feats, self.feature_cfg, apply_log_power=power)

    # How long inputs are cut (emocore.dsp.segments); set it on an instance to change it, math.inf: never cut.
    segment_cfg: SegmentConfig = SegmentConfig()

    #: The F0 tracker that analyses inputs to convert (:data:`emocore.config.F0_METHODS`; default
    #: :data:`emocore.config.CONVERSION_F0_TRACKER`); ``None``: the one the model was trained with
    #: (``feature_cfg.f0_method``). Set it on an instance, or with :meth:`load`'s ``f0_tracker``.
    f0_tracker: str | None = CONVERSION_F0_TRACKER

    @property
    def analysis_cfg(self) -> FeatureConfig:
        """:attr:`feature_cfg` with :attr:`f0_tracker`: how inputs are analysed for conversion.

        Raises:
            ParameterError: an unknown tracker.
        """
        if self.f0_tracker is None or self.f0_tracker == self.feature_cfg.f0_method:
            return self.feature_cfg
        return replace(self.feature_cfg, f0_method=self.f0_tracker)

    def convert_wav(self, wav: np.ndarray, direction: Direction = "A2B", *, f0: bool | str = True,
                    power: bool | str = True, mcep: bool = True, rhythm: bool = False, **style) -> np.ndarray:
        """Convert a waveform at ``feature_cfg.sr``.

        Args:
            wav (ndarray): shape ``(n_samples,)``.
            direction, f0, power, mcep, rhythm, style: as in :meth:`convert_features`.

        A waveform longer than :attr:`segment_cfg` ``.max_segment_s`` is converted in segments (see
        :meth:`convert_path`); a shorter one as a whole.

        Returns:
            ndarray: converted waveform, shape ``(n_samples,)`` (with ``rhythm``: scaled by the tempo ratio; not
            clipped or normalized).

        Raises:
            AudioError: the waveform is empty, non-finite, silent or constant, or converts to silence.
            ParameterError: ``rhythm`` on a waveform longer than one segment.
        """
        wav = audio.validate_wav(wav, self.feature_cfg.sr, silence_peak=self.feature_cfg.silence_peak)
        return self._convert_segmented(wav, direction, f0=f0, power=power, mcep=mcep, rhythm=rhythm, **style).wav

    def convert_analyzed(self, feats: WorldFeatures, direction: Direction = "A2B", *, f0: bool | str = True,
                         power: bool | str = True, mcep: bool = True, rhythm: bool = False, **style) -> np.ndarray:
        """:meth:`convert_features` then :meth:`synthesize` (same ``power``): shape ``(n_samples,)`` of the
        converted features (``feats.n_samples`` unless ``rhythm``)."""
        converted = self.convert_features(feats, direction, f0=f0, power=power, mcep=mcep, rhythm=rhythm, **style)
        return self.synthesize(converted, power=bool(power))

    def analyze_file(self, path: str | Path) -> WorldFeatures:
        """Load ``path`` at ``feature_cfg.sr`` (any rate, any channel count) and extract its WORLD features
        (:attr:`analysis_cfg`).

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.dsp.audio.load_wav`).
        """
        cfg = self.analysis_cfg
        wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
        return features.extract_features(wav, cfg)

    def convert_file(self, path: str | Path, direction: Direction = "A2B", **switches) -> np.ndarray:
        """``convert_path(path, direction, **switches).wav``: shape ``(n_samples,)``; see :meth:`convert_path`.

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.dsp.audio.load_wav`) or converts to silence.
        """
        return self.convert_path(path, direction, **switches).wav

    def convert_path(self, path: str | Path, direction: Direction = "A2B", *, f0: bool | str = True,
                     power: bool | str = True, mcep: bool = True, rhythm: bool = False, **style) -> FileConversion:
        """Convert an audio file in memory bounded by the segment length, with warnings for the user.

        The file is loaded at ``feature_cfg.sr`` (:func:`emocore.dsp.audio.load_wav`: any rate, any channel count).
        Up to :attr:`segment_cfg` ``.max_segment_s`` it is analysed, converted and synthesized as a whole; a
        longer one in segments cut at quiet places, each with context on both sides, joined by short
        crossfades (:mod:`emocore.dsp.segments`), so that peak memory does not grow with the file's length.

        Args:
            path: the input file.
            direction, f0, power, mcep, rhythm, style: as in :meth:`convert_features`. A ``reference`` style
                recording is analysed once for all segments. ``rhythm`` needs an input of one segment.

        Returns:
            FileConversion: the waveform (the loaded input's length; with ``rhythm`` scaled by the tempo ratio),
            the whole file's familiarity, the
            number of segments and notes: a truncated WAV (:func:`emocore.dsp.audio.truncation_note`), no
            voiced frames in the whole file (:data:`NO_VOICED_NOTE`).

        Raises:
            AudioError: the file cannot be used (see :func:`emocore.dsp.audio.load_wav`), or the conversion
                produced silence.
            ParameterError: ``rhythm`` on a file longer than one segment.
        """
        cfg = self.analysis_cfg
        wav = audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s, silence_peak=cfg.silence_peak)
        truncated = audio.truncation_note(path)
        result = self._convert_segmented(wav, direction, path=path, f0=f0, power=power, mcep=mcep, rhythm=rhythm,
                                         **style)
        return replace(result, notes=(truncated, *result.notes)) if truncated else result

    def _convert_segmented(self, wav: np.ndarray, direction: Direction, *, path=None, f0: bool | str, power: bool | str,
                           mcep: bool, rhythm: bool = False, **style) -> FileConversion:
        """Analyse a validated float64 waveform ``(n_samples,)`` in segments, convert, synthesize; see :meth:`convert_path`."""
        cfg = self.analysis_cfg
        if rhythm and len(segments.plan_segments(wav, cfg.sr, self.segment_cfg, align=cfg.hop_length)) > 1:
            raise ParameterError(f"{path or 'the input'}: the rhythm stream converts inputs of up to "
                                 f"{self.segment_cfg.max_segment_s:g} s (one segment); this one is "
                                 f"{len(wav) / cfg.sr:.1f} s")  # before the analysis of a long input
        analyzed = stages.analyze_wav(wav, cfg, self.segment_cfg)
        converted, familiarity, notes = self.convert_analyzed_input(analyzed, direction, path=path, f0=f0, power=power,
                                                                    mcep=mcep, rhythm=rhythm, **style)
        out = stages.render(converted, analyzed.plan, self.feature_cfg, self.segment_cfg, power=bool(power), path=path)
        return FileConversion(wav=out, familiarity=familiarity, n_segments=len(analyzed.plan),
                              notes=notes + rhythm_notes(len(wav), len(out), self.feature_cfg.sr))

    def convert_analyzed_input(self, analyzed: AnalyzedInput, direction: Direction = "A2B", *, path=None,
                               f0: bool | str = True, power: bool | str = True, mcep: bool = True, rhythm: bool = False,
                               **style) -> tuple[list[WorldFeatures], InputFamiliarity, tuple[str, ...]]:
        """The model's stage of a conversion (:mod:`emocore.stages`): convert each analysed segment's features.

        Args:
            analyzed: from :func:`emocore.stages.analyze_path` or :func:`~emocore.stages.analyze_wav` with
                :attr:`analysis_cfg` and :attr:`segment_cfg`.
            path: the input, named in errors.
            direction, f0, power, mcep, rhythm, style: as in :meth:`convert_features`. A converter that normalizes
                by the speaker uses the first segment's statistics for every segment (unless ``speaker_stats``).

        Returns:
            tuple: the converted features of each segment, the whole input's familiarity and notes (the input's own,
            and :data:`NO_VOICED_NOTE`).

        Raises:
            ParameterError: ``rhythm`` on an input of more than one segment.
        """
        cfg = self.feature_cfg
        source, _ = self.emotion_pair(direction)
        if rhythm and len(analyzed.plan) > 1:
            raise ParameterError(f"{path or 'the input'}: the rhythm stream converts inputs of up to "
                                 f"{self.segment_cfg.max_segment_s:g} s (one segment); this one is "
                                 f"{analyzed.n_samples / cfg.sr:.1f} s")
        if style.get("reference") is not None:  # analysed once, not once per segment
            style = {**style, "reference": self.reference_mcep(style["reference"])}
        own_stats = getattr(self.converter, "speaker_stats", None)  # a converter that normalizes by the speaker
        if own_stats is not None and len(analyzed.plan) > 1 and style.get("speaker_stats") is None:
            style = {**style, "speaker_stats": own_stats(analyzed.feats[0])}
        converted = [self.convert_features(feats, direction, f0=f0, power=power, mcep=mcep, rhythm=rhythm, **style)
                     for feats in analyzed.feats]
        f0_hz, mcep_frames = analyzed.core_frames(cfg.hop_length)
        own_measure = getattr(self.converter, "familiarity", None)  # a converter may know better what is far
        familiarity = (own_measure or (lambda f, m, e: frames_familiarity(f, m, e.stats)))(f0_hz, mcep_frames, source)
        notes = analyzed.notes + (() if np.any(f0_hz > 0) else (NO_VOICED_NOTE,))
        return converted, familiarity, notes


def rhythm_notes(n_in: int, n_out: int, sr: int) -> tuple[str, ...]:
    """The note of a conversion whose duration changed (the rhythm stream), else none."""
    if n_in == n_out:
        return ()
    return (f"rhythm: duration {n_in / sr:.2f} s -> {n_out / sr:.2f} s (x{n_out / n_in:.2f}), so the output is not "
            "the input's length",)


# ---------------------------------------------------------------------- many files


@dataclass
class ConversionReport:
    """What :func:`convert_files` did.

    Attributes:
        converted: ``(input path, output path)`` of each converted file.
        failed: ``(input path, reason)`` of each file that could not be converted or written.
        skipped: ``(input path, output path, reason)`` of each input whose output already existed and was kept.
        unfamiliar: ``(input path, what is far)`` of converted files unlike the model's source domain
            (see :func:`emocore.familiarity.input_familiarity`): converted anyway.
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


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else all of them)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_count(jobs: int | None, n_files: int) -> int:
    """How many worker processes :func:`convert_files` analyses and synthesizes in.

    ``jobs=None`` means every core this process may use, for a batch of at least :data:`MIN_FILES_FOR_WORKERS` files
    (fewer files convert faster in this process than a pool takes to start); ``jobs=1`` means this process only.
    Never more workers than files.

    Raises:
        ParameterError: ``jobs`` below 1.
    """
    if jobs is None:
        jobs = usable_cores() if n_files >= MIN_FILES_FOR_WORKERS else 1
    if int(jobs) < 1:
        raise ParameterError(f"jobs must be at least 1 (or None: every core), got {jobs}")
    return max(1, min(int(jobs), n_files))


class _InProcess:
    """An executor that runs each task when it is submitted, in this process: :func:`convert_files` with one job."""

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - handed to the caller through the future, as a pool does
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def _stage_executor(n_workers: int):
    """A pool of ``n_workers`` fresh processes for :mod:`emocore.stages` (``spawn``: a fork of a process that holds
    TensorFlow is not safe), or :class:`_InProcess` for one."""
    if n_workers == 1:
        return _InProcess()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context("spawn"))


def convert_files(model: ConversionModel, paths: Iterable[str | Path], direction: Direction, destination: str | Path, *,
                  overwrite: bool = False, f0: bool | str = True, power: bool | str = True, mcep: bool = True,
                  ap: bool = True, rhythm: bool = False, progress: bool = True, jobs: int | None = 1,
                  **style) -> ConversionReport:
    """Convert audio files into ``destination`` at the model's sample rate, never losing a user's file.

    Before any conversion, :func:`emocore.batch.plan_outputs` names every output and checks the destination:
    a folder gets ``<stem>.wav`` per input (``<stem>_1.wav``, ... for repeated stems); a path with an audio
    suffix is the one output of a single input. Nothing is ever written over an input; an existing output
    is kept and listed in ``report.skipped`` unless ``overwrite``, so re-running an interrupted batch goes
    on where it stopped.

    Each file goes through the stages of :mod:`emocore.stages`: WORLD analysis and synthesis (nearly all of the
    compute) run in ``jobs`` worker processes, several files at a time, while this process converts each file's
    features with the model, file after file; the report keeps the input order.

    Each file is written atomically (:func:`emocore.dsp.audio.save_wav`): a failed write leaves nothing at the
    output path. A file that cannot be read, analysed or written is listed in ``report.failed`` and the
    batch goes on; when the disk is full, the batch stops (further writes would fail too) and the files
    not tried are listed in ``report.not_attempted``. A file far from the model's source domain (see
    :func:`emocore.familiarity.input_familiarity`) is converted anyway and listed in ``report.unfamiliar``. A converted file
    whose peak exceeds 1 is scaled down to :data:`OUTPUT_PEAK` instead of being clipped (logged).

    Args:
        model: the conversion model (its :attr:`~ConversionModel.analysis_cfg` analyses the inputs).
        paths: input files (use :func:`emocore.batch.expand_inputs` for folders and globs).
        direction: ``(source, target)`` emotions, or ``"A2B"`` / ``"B2A"``.
        destination: output folder (created), or one output file for one input.
        overwrite: replace existing outputs (never an input).
        f0, power, mcep, ap, rhythm: stream switches, as in :meth:`ConversionModel.convert_features` (with ``rhythm``
            each file's note gives its change of duration).
        progress: show a tqdm bar.
        jobs: worker processes (:func:`worker_count`): 1 (the default) none, ``None`` every core for a batch of a few
            files (``emocore-convert``'s default). The workers are spawned, so a script that passes ``jobs`` other
            than 1 must guard its top level with ``if __name__ == "__main__":``.
        **style: MUNIT style options (:meth:`ConversionModel.convert_mcep`), the same for every file.

    Returns:
        ConversionReport: what was converted, kept, failed or not tried.

    Raises:
        OutputError: the plan is refused (see :func:`emocore.batch.plan_outputs`); nothing was converted.
        ParameterError: ``jobs`` below 1.
    """
    from collections import deque

    from emocore.batch import plan_outputs

    model.emotion_pair(direction)  # an unknown emotion fails before any file is planned
    if rhythm or not isinstance(f0, bool) or not isinstance(power, bool):
        model.check_streams(direction, f0=f0, power=power, rhythm=rhythm)  # so does a stream the model cannot convert
    plan = plan_outputs(list(paths), destination, overwrite=overwrite)
    n_workers = worker_count(jobs, len(plan.jobs))
    report = ConversionReport(skipped=[(str(i), str(o), why) for i, o, why in plan.skipped])
    if style.get("reference") is not None:  # analysed once for the batch, not once per file
        style = {**style, "reference": model.reference_mcep(style["reference"])}
    cfg, segment_cfg = model.analysis_cfg, model.segment_cfg
    ahead = 2 * n_workers if n_workers > 1 else 0  # files analysed ahead of the model: keeps the workers busy
    analyses, written = {}, deque()  # index -> analysis future; (index, familiarity, notes, write future), in order
    bar = tqdm(total=len(plan.jobs), desc=f"convert {model.describe(direction)}", unit="file", disable=not progress)
    pool = _stage_executor(n_workers)
    try:
        for index, (path, out) in enumerate(plan.jobs):
            try:
                for k in range(index, min(index + ahead, len(plan.jobs) - 1) + 1):
                    if k not in analyses:
                        analyses[k] = pool.submit(stages.analyze_path, plan.jobs[k][0], cfg, segment_cfg)
            except BrokenProcessPool as error:  # a worker died (killed for memory, a crash): no file can go on
                report.stopped = f"a worker process died ({error}); run the same command again to go on"
                break
            try:
                analyzed = analyses.pop(index).result()
                converted, familiarity, notes = model.convert_analyzed_input(
                    analyzed, direction, path=path, f0=f0, power=power, mcep=mcep, ap=ap, rhythm=rhythm, **style)
                future = pool.submit(stages.render_to_file, converted, analyzed.plan, model.feature_cfg, segment_cfg,
                                     out, power=bool(power), path=path)
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
                _record_failure(report, path, out, error, overwrite)
                bar.update()
            else:
                written.append((index, familiarity, notes, analyzed.n_samples, future))
            while written and (written[0][-1].done() or len(written) > ahead):
                _collect(report, plan, written.popleft(), model.feature_cfg.sr, overwrite)
                bar.update()
            if report.stopped:
                break
        while written:  # the writes still running (after a stop too: a file written is a file converted)
            _collect(report, plan, written.popleft(), model.feature_cfg.sr, overwrite)
            bar.update()
        if report.stopped:
            done = {p for p, _ in report.converted} | {p for p, _ in report.failed}
            report.not_attempted = [str(p) for p, _ in plan.jobs if str(p) not in done]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    order = {str(p): i for i, (p, _) in enumerate(plan.jobs)}  # with workers, failures may come out of order
    report.failed.sort(key=lambda item: order.get(item[0], len(order)))
    return report


def _collect(report: ConversionReport, plan, entry, sr: int, overwrite: bool) -> None:
    """Wait for one file's write (:func:`emocore.stages.render_to_file`) and enter its outcome in ``report``."""
    index, familiarity, notes, n_in, future = entry
    path, out = plan.jobs[index]
    try:
        peak, n_out = future.result()
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
        _record_failure(report, path, out, error, overwrite)
        return
    if peak > 1.0:
        log.warning("%s: converted peak %.2f would clip; scaled to %.2f", path, peak, OUTPUT_PEAK)
    report.converted.append((str(path), str(out)))
    report.notes.extend((str(path), note) for note in notes + rhythm_notes(n_in, n_out, sr))
    if familiarity.far:
        log.info("%s: %s; converted anyway", path, familiarity.describe())
        report.unfamiliar.append((str(path), familiarity.describe()))


def _record_failure(report: ConversionReport, path, out, error: Exception, overwrite: bool) -> None:
    """Enter a file that failed in ``report``; a full disk stops the batch (``report.stopped``)."""
    from emocore.io import is_disk_full

    if isinstance(error, BrokenProcessPool):
        report.stopped = report.stopped or f"a worker process died ({error}); run the same command again to go on"
        reason = "not converted: a worker process died"
    elif isinstance(error, EmocoreError):
        reason = str(getattr(error, "reason", error))
    elif isinstance(error, OSError):
        if is_disk_full(error):
            again = ("run the same command again with --overwrite" if overwrite else
                     "run the same command again: the files converted so far are kept and skipped")
            report.stopped = report.stopped or (f"the disk is full: writing {out} failed ({error.strerror}) and left no "
                                                f"partial file; no further file was started. Free some space and {again}")
            report.failed.append((str(path), f"not written: {error.strerror}"))
            return
        reason = f"{error.strerror or error} ({error.filename or out})"
    else:
        log.debug("conversion of %s failed", path, exc_info=error)
        reason = f"{type(error).__name__}: {error}"
    log.info("skipping %s: %s", path, reason)  # the report lists it; emocore-convert prints it once
    report.failed.append((str(path), reason))


STREAMS = ("f0", "power", "mcep", "ap", "rhythm")


def parse_streams(variant: str) -> dict[str, bool | str]:
    """Stream switches from an ablation variant name, e.g. ``"f0+power"`` ->
    ``{"f0": True, "power": True, "mcep": False, "ap": False, "rhythm": False}`` (a stream not named is off).

    ``"none"`` switches every stream off (the re-synthesized source); ``f0=<method>`` and ``power=<method>`` name
    the conversion (:data:`emocore.config.PROSODY_METHODS`: ``"f0=cwt+power+mcep+rhythm"`` -> ``{"f0": "cwt", ..., "rhythm": True}``).

    Raises:
        ParameterError: an unknown stream or F0 method, or a stream named twice.
    """
    if not variant.strip():
        raise ParameterError("an empty variant: name the streams (e.g. f0+power+mcep) or 'none'")
    names = [] if variant.strip().lower() == "none" else [part.strip().lower() for part in variant.split("+")]
    switches: dict[str, bool | str] = {stream: False for stream in STREAMS}
    for name in names:
        stream, equals, method = name.partition("=")
        if (stream not in STREAMS or (equals and method not in PROSODY_METHODS.get(stream, ())) or switches[stream]):
            named = ", ".join(f"{s}={m}" for s, methods in PROSODY_METHODS.items() for m in methods)
            raise ParameterError(f"bad stream {name!r} in {variant!r}: use {', '.join(STREAMS)} joined by '+', each "
                                 f"once, or name a method: {named}")
        switches[stream] = method or True
    return switches
