"""EmoStarGAN: one generator for every emotion and any speaker (StarGAN-VC2's conditioning, speaker-normalized).

The per-pair models map one speaker's emotion ``a`` to ``b``. Here one generator converts between all emotions of
many speakers (Kaneko et al. 2019, StarGAN-VC2; Gao et al.'s per-emotion domains):

- **Features.** MCEPs are normalized by the speaker's own neutral statistics
  (:mod:`emocore.dsp.speaker_norm`), then by the pooled emotion's (as every model here does), so the generator
  sees what an emotion changes, not who speaks; conversion takes the input speaker's statistics from the input
  itself (or from a few recordings of the speaker, ``speaker_stats``) and returns the result in their voice.
- **Generator** (:func:`build_conditional_generator`): CycleGAN-VC's 1-D gated CNN whose residual blocks
  instance-normalize and then scale and shift by the *source-and-target* condition (StarGAN-VC2's conditional
  instance normalization: the condition is ``[one-hot(source), one-hot(target)]``, mapped to each block's scales
  and biases by a dense layer), with a skip from input to output, so it starts as the identity.
- **Discriminator**: the gated 2-D CNN of :mod:`emocore.models.discriminator` with one score map per emotion; a
  crop is judged by the head of its (real or claimed) emotion. ``discriminator="1d"`` (:class:`StarGanConfig`)
  takes the gated 1-D CNN over frames instead: about a tenth of the discriminator's work, worse conversions.
- **Losses** (:class:`EmoStarGAN`): LSGAN adversarial, cycle ``G(G(x, s->t), t->s) = x``, identity
  ``G(x, s->s) = x`` (CycleGAN-VC's schedule) and the frozen emotion classifier's cross-entropy against the target
  over all emotions. Each crop of a batch goes to another emotion, chosen by the step counter so that every
  ordered pair recurs evenly and a resumed run draws the same.
- **Prosody** is converted relative to the speaker (:class:`~emocore.dsp.relative_prosody.ProsodyShifts`): the
  input's own pitch and power statistics moved by each emotion's change measured across the training speakers,
  so a low voice stays low. When ``speakers.json`` holds the emotions' contour shapes, this transform moves the
  shapes of the F0 and energy contours too, scale by scale (``f0="cwt"``, ``power="cwt"``); the log-Gaussian
  transform of mean and spread stays selectable. From neutral, a model with a learned prosody (below) uses that
  instead by default.
- **Enrolled speakers**: for one of its training speakers (``speaker="tess:OAF"``) the model uses that speaker's
  own measured changes everywhere the average stands otherwise: the prosody, the estimate of their neutral
  statistics, and the emotions' MCEP statistics by which the generator's input and output are mapped (the
  generator works in z-scores of the pooled emotions; the speaker's own emotion statistics place its output where
  that speaker's real emotion lies).
- **F0 contour** (:class:`~emocore.config.StarGanConfig` ``f0_contour``): the generator converts the contour too.
  The log F0, interpolated over unvoiced frames and normalized like the MCEPs (by the speaker's neutral mean and
  spread, then the pooled emotion's), is one more channel in and out; the discriminator judges it with the MCEPs
  and the training classifier reads the *generated* contour, so the classification loss can ask for an emotion's
  melody, not only its spectrum. A smoothness term keeps the contour from jittering (its second difference beyond
  the real crop's). Conversion reads the F0 from that channel and keeps the input's voicing; the speaker-relative
  log-Gaussian transform stays the fallback (``f0="log-gaussian"``).
- **Learned prosody** (:mod:`emocore.models.contour`, ``prosody.weights.h5``; added to a trained model by
  ``python -m emocore.training.contour MODEL_DIR``): a network learned on the training speakers' parallel words
  converts the F0 contour and the power envelope themselves (``f0="learned"``, ``power="learned"``, from the
  emotion it learned from: neutral). Where a model has one, its F0 is the default from that emotion
  (:meth:`SpeakerRelativeConverter.uses_learned`) and the power stays the speaker-relative transform (its learned
  power is asked for by name: on unseen actors it cost 0.2-0.3 of DNSMOS and put the loudness further from the real
  takes, and both judges heard the target less often; the README's "The learned prosody, measured"); from another
  emotion, or for a word with fewer than five voiced frames, the transform stands in for the F0 too (CWT when the
  model has contour shapes, else log-Gaussian).
- **Voice quality** (``ap``): where ``speakers.json`` holds the emotions' aperiodicity changes, the voiced frames'
  band aperiodicity moves by them too (an enrolled speaker's own: TESS's YAF is 5.3 dB breathier when sad; the
  average over the shipped model's 14 speakers, dominated by RAVDESS's actors, +0.6 dB), else it is copied.
- **Intensity** ``alpha`` in ``[0, 1]`` moves the target condition from the source's one-hot to the target's (and
  the prosody change with it); 0 returns the source features unchanged.

A model folder holds ``generator.weights.h5`` and ``speakers.json`` (the emotions in order and the
:class:`~emocore.dsp.speaker_norm.SpeakerNormalizer`). It trains on emotions pooled over speakers
(:func:`emocore.data.speakers.prepare_speakers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

import emocore.models.losses as losses
from emocore.config import PROSODY_METHODS, SPEAKERS_FILE, ModelConfig, StarGanConfig, TrainConfig
from emocore.dsp.contour_features import MIN_VOICED_FRAMES
from emocore.dsp.cwt import continuous_log_f0
from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.dsp.prosody import DomainStats, LogGaussian
from emocore.dsp.rhythm import time_warp
from emocore.dsp.speaker_norm import SpeakerNormalizer, read_speakers
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.familiarity import InputFamiliarity
from emocore.io import write_json_atomic
from emocore.models.base import (
    GAN,
    Emotion,
    MappingConverter,
    ModelSpec,
    compile_gan,
    infer,
    moving_averages,
    stacked_call,
)
from emocore.models.classifier import build_emotion_classifier, classifier_input
from emocore.models.contour import CONFIG_FILE as PROSODY_CONFIG_FILE
from emocore.models.contour import WEIGHTS_FILE as PROSODY_WEIGHTS_FILE
from emocore.models.contour import ContourPredictor
from emocore.models.discriminator import discriminator_builder
from emocore.models.layers import GLU, AdaptiveResidualBlock1D, pad_to_multiple, scale_channels

NAME = "emostargan"
LOSS_NAMES = ("gen_total", "adversarial", "cycle", "identity", "identity_weight", "classification", "f0_smooth", "disc")
LOSS_PANELS = (("adversarial", "disc"), ("cycle", "identity", "classification", "f0_smooth"))
#: the F0 switch of a conversion: the model's own way (``True``: the contour channel if it has one), or named
F0_METHODS = PROSODY_METHODS["f0"]
#: log-F0 spread assumed for an input too short to measure its own (natural log units: about 3 semitones)
FALLBACK_LOG_F0_STD = 0.17


def condition(source: np.ndarray, target: np.ndarray, n_emotions: int, intensity: float = 1.0) -> np.ndarray:
    """The generator's condition ``[one-hot(source), (1 - alpha) one-hot(source) + alpha one-hot(target)]``.

    Args:
        source, target: emotion indices, shape ``(B,)``.
        intensity: ``alpha``.

    Returns:
        ndarray: ``(B, 2 * n_emotions)``, float32.
    """
    eye = np.eye(n_emotions, dtype=np.float32)
    src, tgt = eye[np.asarray(source)], eye[np.asarray(target)]
    return np.concatenate([src, (1.0 - intensity) * src + intensity * tgt], axis=1).astype(np.float32)


def _unit_scale_bias(block: AdaptiveResidualBlock1D):
    """Bias initializer of a block's condition layer: AdaIN scales 1 and biases 0 for any condition at the start."""
    vector = np.concatenate([np.ones(block.hidden_filters), np.zeros(block.hidden_filters),
                             np.ones(block.filters), np.zeros(block.filters)]).astype(np.float32)

    def initializer(shape, dtype=None):
        return ops.convert_to_tensor(vector.reshape(shape), dtype=dtype)

    return initializer


def build_conditional_generator(cfg: ModelConfig, n_emotions: int, name: str = "generator",
                                n_channels: int | None = None) -> keras.Model:
    """CycleGAN-VC's gated CNN with source-and-target conditional instance norm in its residual blocks.

    Layers as :func:`emocore.models.cyclegan.build_generator` (channels from ``cfg.gen_base_channels`` and
    ``cfg.width``), except that each residual block is an :class:`AdaptiveResidualBlock1D` whose scales and biases
    come from a dense layer on the condition (:func:`condition`), and the output adds the input (the network
    learns the change; it starts near the identity).

    Args:
        n_channels (int | None): feature channels in and out; ``None``: ``cfg.mcep_dim`` (with an F0 channel:
            ``cfg.mcep_dim + 1``).

    Returns:
        keras.Model: ``[(B, T, n_channels), (B, 2 * n_emotions)] -> (B, T, n_channels)``; ``T`` a multiple of 4.
    """

    def ch(multiplier: int) -> int:
        return scale_channels(multiplier * cfg.gen_base_channels, cfg.width)

    eps = cfg.norm_epsilon
    n_channels = cfg.mcep_dim if n_channels is None else n_channels
    mcep = keras.Input(shape=(None, n_channels), name="features")
    cond = keras.Input(shape=(2 * n_emotions,), name="condition")
    x = GLU(ch(1), 15, normalize=False, name="input_glu")(mcep)
    x = GLU(ch(2), 5, strides=2, epsilon=eps, name="down1")(x)
    x = GLU(ch(4), 5, strides=2, epsilon=eps, name="down2")(x)
    for i in range(cfg.n_residual_blocks):
        block = AdaptiveResidualBlock1D(ch(4), ch(8), 3, epsilon=eps, name=f"residual{i + 1}")
        params = layers.Dense(block.n_params, bias_initializer=_unit_scale_bias(block), name=f"condition{i + 1}")(cond)
        x = block(x, params)
    x = GLU(ch(4), 5, upsample=2, epsilon=eps, name="up1")(x)
    x = GLU(ch(2), 5, upsample=2, epsilon=eps, name="up2")(x)
    change = layers.Conv1D(n_channels, 15, padding="same", kernel_initializer="zeros", name="output_conv")(x)
    return keras.Model([mcep, cond], layers.Add(name="skip")([mcep, change]), name=name)


def contour_roughness(log_f0):
    """Mean squared second difference over time of contours ``(B, T)`` (keras.ops): how much they jitter."""
    curvature = log_f0[:, 2:] - 2.0 * log_f0[:, 1:-1] + log_f0[:, :-2]
    return ops.mean(ops.square(curvature))


def head_scores(scores, one_hot):
    """The score map of each example's own head: ``(B, ..., n)`` and ``(B, n)`` -> ``(B, ..., 1)`` (the 2-D
    discriminator's ``(B, H, W, n)``, the 1-D one's ``(B, T, n)``)."""
    one_hot = ops.reshape(one_hot, (-1,) + (1,) * (len(scores.shape) - 2) + (one_hot.shape[-1],))
    return ops.sum(scores * one_hot, axis=-1, keepdims=True)


# ---------------------------------------------------------------------- conversion


class SpeakerRelativeConverter(MappingConverter):
    """EmoStarGAN's converter: the conditional generator on speaker-normalized MCEPs, prosody relative to the speaker.

    Args:
        generator (keras.Model): :func:`build_conditional_generator`.
        n_emotions (int): the model's emotions.
        normalizer (SpeakerNormalizer | None): from training; read from ``speakers.json`` by :meth:`load_extra`.
        emotions (Sequence[str] | None): the emotion of each index (``"neutral"``, ...), in the model's order.
        f0_contour (bool): the generator has the F0 channel (:class:`~emocore.config.StarGanConfig`).
        prosody_net (ContourPredictor | None): the learned prosody (:mod:`emocore.models.contour`); read from
            ``prosody.json`` and ``prosody.weights.h5`` by :meth:`load_extra` where the folder has them, written only
            by :func:`emocore.training.contour.add_learned_prosody` (:meth:`save_extra` leaves them as they are).
            It reads the word alone: the ``speaker`` and ``speaker_stats`` options do not change its contours.
        refresh (Callable | None): called by :meth:`fit` before the converter is used or saved in training (the
            training model's :meth:`EmoStarGAN.sync_average`: the generator's moving average into ``generator``).
    """

    extra_files = (SPEAKERS_FILE, PROSODY_CONFIG_FILE, PROSODY_WEIGHTS_FILE)
    option_names = ("intensity", "strength", "speaker_stats", "speaker")

    def __init__(self, generator: keras.Model, n_emotions: int, normalizer: SpeakerNormalizer | None = None,
                 emotions: Sequence[str] | None = None, f0_contour: bool = False,
                 prosody_net: ContourPredictor | None = None, refresh: Callable[[], None] | None = None):
        self.generator, self.n_emotions = generator, n_emotions
        self.refresh = refresh
        self.normalizer = normalizer
        self.emotions = None if emotions is None else tuple(emotions)
        self.f0_contour = f0_contour
        self.prosody_net = prosody_net

    def networks(self) -> dict[str, keras.Model]:
        return {"generator": self.generator}

    def check_options(self, options: dict) -> None:
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise ParameterError(f"{', '.join(unknown)}: EmoStarGAN takes {', '.join(self.option_names)} "
                                 "(style, reference and seed are EmoMUNIT's)")
        intensity = options.get("intensity")
        if intensity is not None and not 0.0 <= float(intensity) <= 1.0:
            raise ParameterError(f"intensity must be in [0, 1], got {intensity}")
        strength = options.get("strength")
        if strength is not None:
            if not 0.0 <= float(strength) <= 1.0:
                raise ParameterError(f"strength must be in [0, 1], got {strength}")
            if self.prosody_net is None or not self.prosody_net.cfg.strength_condition:
                raise ParameterError("strength: this EmoStarGAN's learned prosody was not trained with the intensity "
                                     "condition (ContourConfig.strength_condition)" if self.prosody_net is not None
                                     else "strength: this EmoStarGAN has no learned prosody (prosody.weights.h5)")
        if options.get("speaker") is not None:
            self._ready().for_speaker(options["speaker"])  # raises for a speaker the model was not trained on

    def _ready(self, speaker: str | None = None) -> SpeakerNormalizer:
        """The normalization to convert with: the average over training speakers, or an enrolled ``speaker``'s own."""
        if self.normalizer is None or self.emotions is None:
            raise ModelFolderError(SPEAKERS_FILE, "missing: an EmoStarGAN model folder needs the speaker "
                                                  "normalization written with its weights")
        return self.normalizer.for_speaker(speaker)

    @property
    def enrolled_speakers(self) -> tuple[str, ...]:
        """The training speakers whose own changes the model keeps (the ``speaker`` option), e.g. ``"tess:OAF"``."""
        return tuple(self._ready().enrolled)

    def emotion_of(self, emotion: Emotion) -> str:
        """The emotion name (``"angry"``) of one of the model's emotions."""
        self._ready()
        return self.emotions[emotion.index]

    def speaker_stats(self, feats: WorldFeatures) -> DomainStats:
        """One utterance's own statistics; an input with fewer than two voiced frames gets the training speakers'
        mean pitch with :data:`FALLBACK_LOG_F0_STD` (its pitch is then left as it is)."""
        if np.count_nonzero(np.asarray(feats.f0_hz) > 0) >= 2:
            return DomainStats.fit("input", [feats])
        normalizer = self._ready()
        return DomainStats("input", LogGaussian(normalizer.speaker_log_f0.mean, FALLBACK_LOG_F0_STD, 0),
                           LogGaussian.fit(feats.log_power), MeanStd.fit([np.asarray(feats.mcep)]), 1)

    @property
    def has_aperiodicity(self) -> bool:
        """Whether ``speakers.json`` holds the emotions' aperiodicity changes (the ``ap`` stream converts them)."""
        return self._ready().prosody.has_aperiodicity

    @property
    def has_contour_shapes(self) -> bool:
        """Whether ``speakers.json`` holds the emotions' contour shapes and tempo (``f0="cwt"``, ``power="cwt"``,
        ``rhythm``)."""
        return self._ready().prosody.has_contours

    def uses_learned(self, source: str | None) -> bool:
        """Whether the model's own F0 (``f0=True``) is the learned prosody's from ``source``: it has one that
        converts from that emotion (``None``: any). On the multi-speaker evaluation's files both judges hear the
        target emotion more often with it than with the CWT transform (an exact McNemar test over all files; the
        README's "The learned prosody, measured"), so it is the default wherever it applies."""
        if self.prosody_net is None:
            return False
        return source is None or source in self.prosody_net.sources

    def _check_learned(self, stream: str, source: str | None) -> None:
        """Refuse ``learned`` for a model without a learned prosody, or one that does not convert from ``source``."""
        if self.prosody_net is None:
            raise ParameterError(f"{stream}='learned': this EmoStarGAN has no learned prosody (prosody.weights.h5; "
                                 "python -m emocore.training.contour MODEL_DIR trains one)")
        if not self.uses_learned(source):
            raise ParameterError(f"{stream}='learned': the learned prosody converts from "
                                 f"{', '.join(self.prosody_net.sources)} only, not from {source!r}")

    def f0_method(self, f0: bool | str, source: str | None = None) -> str | None:
        """The F0 conversion a switch asks for: ``None`` (off), ``"log-gaussian"``, ``"cwt"``, ``"contour"`` or
        ``"learned"``.

        ``True`` is the model's own way: the generator's contour channel when it has one, else the learned prosody
        when the model has one that converts from ``source`` (:meth:`uses_learned`), else ``"cwt"`` when the model
        measured its emotions' contour shapes (:attr:`has_contour_shapes`), else ``"log-gaussian"``.

        Raises:
            ParameterError: an unknown method, ``"contour"`` for a model without the F0 channel, ``"learned"`` for
                one without a learned prosody (or not from ``source``).
        """
        if f0 is False or f0 is None:
            return None
        if f0 is True:
            if self.f0_contour:
                return "contour"
            return "learned" if self.uses_learned(source) else "cwt" if self.has_contour_shapes else "log-gaussian"
        method = str(f0)
        if method not in F0_METHODS:
            raise ParameterError(f"f0={f0!r}: EmoStarGAN converts F0 by {' or '.join(F0_METHODS)} (or True / False)")
        if method == "contour" and not self.f0_contour:
            raise ParameterError("f0='contour': this EmoStarGAN was trained without the F0 channel "
                                 "(StarGanConfig.f0_contour); use f0=True or 'log-gaussian'")
        if method == "learned":
            self._check_learned("f0", source)
        return method

    def power_method(self, power: bool | str, source: str | None = None) -> str | None:
        """The power conversion a switch asks for: ``None`` (off), ``"log-gaussian"``, ``"cwt"`` or ``"learned"``;
        ``True`` is the speaker-relative transform, ``"cwt"`` when the model measured its emotions' contour shapes
        (:attr:`has_contour_shapes`), else ``"log-gaussian"``, also where the model has a learned prosody (its power
        is ``"learned"``, asked for by name; see the module docstring). Another unknown method is left to
        :meth:`ProsodyShifts.convert` to refuse.

        Raises:
            ParameterError: ``"learned"`` for a model without a learned prosody (or not from ``source``).
        """
        if power is False or power is None:
            return None
        if power is True:
            return "cwt" if self.has_contour_shapes else "log-gaussian"
        if power == "learned":
            self._check_learned("power", source)
        return power

    def convert(self, feats: WorldFeatures, source: Emotion, target: Emotion, *, f0: bool | str = True,
                power: bool | str = True, mcep: bool = True, ap: bool = True, rhythm: bool = False,
                **options) -> WorldFeatures:
        """Prosody and voice quality relative to the speaker, then the MCEPs (and the F0 contour) through the
        generator (see the module docstring), then the rhythm.

        Args:
            f0: ``True`` (the model's way, :meth:`f0_method`), ``False`` (the input's F0), ``"log-gaussian"`` (the
                speaker-relative transform), ``"cwt"`` (that transform with the contour's shape moved scale by scale),
                ``"contour"`` (the generator's F0 channel) or ``"learned"`` (the learned prosody,
                :mod:`emocore.models.contour`); the input's voicing is kept by every method.
            power: ``True`` (the model's way, :meth:`power_method`), ``"log-gaussian"``, ``"cwt"`` (the energy
                contour's shape too), ``"learned"`` or ``False``. A word with fewer than five voiced frames gets the
                transform (``"cwt"``, or ``"log-gaussian"``) where ``"learned"`` was asked for.
            ap: move the voiced frames' band aperiodicity by the emotions' measured change
                (:meth:`~emocore.dsp.relative_prosody.ProsodyShifts.convert_aperiodicity`; an enrolled ``speaker``'s
                own change); a model measured before that stream (:attr:`has_aperiodicity`) copies it, as ``False``
                does.
            rhythm: time-warp the result by the emotions' measured tempo ratio
                (:meth:`~emocore.dsp.relative_prosody.ProsodyShifts.tempo_ratio`): the frame count changes.

        Options:
            intensity (float): in ``[0, 1]`` (default 1).
            strength (float): the learned prosody's register in ``[0, 1]`` (default 0): 0 that of RAVDESS's
                normal-intensity takes (and TESS's words), 1 that of its strong ones
                (:meth:`~emocore.models.contour.ContourPredictor.predict`). Refused by a model whose learned
                prosody was trained without it (or that has none) and where neither F0 nor power is ``"learned"``;
                a word with too few voiced frames gets the transform, without it.
            speaker_stats (DomainStats): the speaker's statistics in the source emotion from a few recordings
                (default: the utterance's own).
            speaker (str): one of the model's training speakers (:attr:`enrolled_speakers`, e.g. ``"tess:OAF"``):
                move the prosody, estimate the neutral MCEP statistics and map the generator's MCEPs in and out by
                that speaker's own measured changes instead of the average over speakers.
        """
        if source.index == target.index:
            raise ParameterError(f"source and target are the same emotion ({source.name!r})")
        self.check_options(options)
        normalizer = self._ready(options.get("speaker"))
        src, tgt = self.emotion_of(source), self.emotion_of(target)
        method, power = self.f0_method(f0, src), self.power_method(power, src)
        if options.get("strength") is not None and "learned" not in (method, power):
            raise ParameterError(f"strength is the learned prosody's: f0={method!r} and power={power!r} from {src} do "
                                 "not use it")
        if np.count_nonzero(np.asarray(feats.f0_hz) > 0) < MIN_VOICED_FRAMES:  # no contour: the transform
            transform = "cwt" if normalizer.prosody.has_contours else "log-gaussian"
            method, power = (transform if m == "learned" else m for m in (method, power))
        intensity = 1.0 if options.get("intensity") is None else float(options["intensity"])
        own = options.get("speaker_stats") or self.speaker_stats(feats)
        needs = [name for name, on in (("f0=cwt", method == "cwt"), ("power=cwt", power == "cwt"), ("rhythm", rhythm))
                 if on]
        if needs and not normalizer.prosody.has_contours:
            raise ParameterError(f"{', '.join(needs)}: this model's speakers.json holds no contour shapes or tempo "
                                 "(models trained before issue 15; emocore.pretrained.remeasure_speakers measures "
                                 "them)")
        out = normalizer.prosody.convert(feats, src, tgt, own=own, intensity=intensity,
                                         f0=method if method in ("log-gaussian", "cwt") else False,
                                         power=power if power != "learned" else False,
                                         aperiodicity=bool(ap) and normalizer.prosody.has_aperiodicity)
        if "learned" in (method, power):
            f0_hz, log_power = self.prosody_net.predict(feats, src, tgt, intensity,
                                                        float(options.get("strength") or 0.0))
            out = out.replace(**({"f0_hz": f0_hz} if method == "learned" else {}),
                              **({"log_power": log_power} if power == "learned" else {}))
        contour = method == "contour" and np.any(np.asarray(feats.f0_hz) > 0)
        if (mcep or contour) and intensity > 0:
            ref = normalizer.reference_stats(own, src)
            converted_mcep, log_f0 = self._generate(np.asarray(feats.mcep), np.asarray(feats.f0_hz), source, target,
                                                    ref, intensity, self._emotion_mcep(options.get("speaker"), src, tgt))
            if mcep:
                out = out.replace(mcep=converted_mcep)
            if contour:
                out = out.replace(f0_hz=np.where(np.asarray(feats.f0_hz) > 0, np.exp(log_f0), 0.0))
        if rhythm:
            out = time_warp(out, normalizer.prosody.tempo_ratio(src, tgt, intensity))
        return out

    def _emotion_mcep(self, speaker: str | None, source: str, target: str) -> tuple[MeanStd, MeanStd] | None:
        """An enrolled speaker's own MCEP statistics of the two emotions in the speaker-normalized space (``None``
        for a voice the model never heard: the pooled emotions' then)."""
        if speaker is None:
            return None
        own = self._ready(speaker)
        return own.emotion_mcep(source), own.emotion_mcep(target)

    def _generate(self, mcep: np.ndarray, f0_hz: np.ndarray | None, source: Emotion, target: Emotion,
                  ref: DomainStats, intensity: float, emotion_mcep: tuple[MeanStd, MeanStd] | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """The generator on one utterance: converted MCEPs ``(T, D)`` and, with the F0 channel, log F0 ``(T,)``
        (on every frame; ``None`` without the channel). ``f0_hz`` (``(T,)``, 0 unvoiced) is read only with the
        channel; all zeros feed the source emotion's flat mean contour.

        The generator's MCEPs are z-scores of the pooled emotions (as it trained); they are normalized by and returned
        to the source's and target's statistics of ``emotion_mcep`` (an enrolled speaker's own,
        :meth:`_emotion_mcep`), by default the pooled emotions'."""
        mcep = np.asarray(mcep, dtype=np.float64)
        src_mcep, tgt_mcep = emotion_mcep or (source.stats.mcep, target.stats.mcep)
        channels = [src_mcep.normalize(ref.mcep.normalize(mcep))]
        if self.f0_contour:
            channels.append(self._contour_channel(f0_hz, source, ref)[:, None])
        padded, n_frames = pad_to_multiple(np.concatenate(channels, axis=1).astype(np.float32))
        cond = condition(np.array([source.index]), np.array([target.index]), self.n_emotions, intensity)
        converted = infer(self.generator, [padded[None], cond])[0, :n_frames]
        converted = converted.astype(np.float64)
        d = mcep.shape[1]
        mean = (1 - intensity) * src_mcep.mean + intensity * tgt_mcep.mean
        std = np.exp((1 - intensity) * np.log(src_mcep.std) + intensity * np.log(tgt_mcep.std))
        out_mcep = ref.mcep.denormalize(converted[:, :d] * std + mean)
        if not self.f0_contour:
            return out_mcep, None
        src_f0, tgt_f0 = source.stats.log_f0, target.stats.log_f0
        f0_mean = (1 - intensity) * src_f0.mean + intensity * tgt_f0.mean
        f0_std = np.exp((1 - intensity) * np.log(src_f0.std) + intensity * np.log(tgt_f0.std))
        z = converted[:, d] * f0_std + f0_mean  # speaker-normalized log F0
        return out_mcep, ref.log_f0.mean + ref.log_f0.std * z

    @staticmethod
    def _contour_channel(f0_hz: np.ndarray, source: Emotion, ref: DomainStats) -> np.ndarray:
        """The F0 input channel ``(T,)``: log F0 interpolated over unvoiced frames, normalized by the speaker's
        reference statistics and then the source emotion's (as the training crops; zeros without voiced frames)."""
        if not np.any(np.asarray(f0_hz) > 0):
            return np.zeros(len(f0_hz))
        z = (continuous_log_f0(f0_hz)[0] - ref.log_f0.mean) / ref.log_f0.std
        return (z - source.stats.log_f0.mean) / source.stats.log_f0.std

    def convert_mcep(self, mcep: np.ndarray, source: Emotion, target: Emotion, *, ref: DomainStats | None = None,
                     **options) -> np.ndarray:
        """MCEPs ``(T, D)`` of a speaker from ``source`` to ``target``, float64.

        A model with the F0 channel sees a flat contour here (the source emotion's mean; :meth:`convert` gives it
        the input's own).

        Args:
            ref: the speaker's reference-emotion (neutral) statistics, as :meth:`convert` estimates them; ``None``:
                estimated from the ``speaker_stats`` option, or from these MCEPs alone
                (:meth:`emocore.conversion.ConversionModel.convert_mcep`).
            options: :meth:`convert`'s (``intensity``, ``speaker_stats``).

        Raises:
            ParameterError: the same emotion twice, an unknown option, or both ``ref`` and ``speaker_stats``.
        """
        if source.index == target.index:
            raise ParameterError(f"source and target are the same emotion ({source.name!r})")
        self.check_options(options)
        if ref is not None and options.get("speaker_stats") is not None:
            raise ParameterError("give the speaker's reference statistics (ref) or their speaker_stats, not both")
        intensity = 1.0 if options.get("intensity") is None else float(options["intensity"])
        mcep = np.asarray(mcep, dtype=np.float64)
        if ref is None:
            own = options["speaker_stats"].mcep if options.get("speaker_stats") is not None else MeanStd.fit([mcep])
            ref_mcep = self._ready(options.get("speaker")).reference_mcep(own, self.emotion_of(source))
            ref = DomainStats("reference", LogGaussian(0.0, 1.0, 0), LogGaussian(0.0, 1.0, 0), ref_mcep, 0)
        f0_hz = np.zeros(len(mcep)) if self.f0_contour else None  # zeros: the flat mean contour
        emotion_mcep = self._emotion_mcep(options.get("speaker"), self.emotion_of(source), self.emotion_of(target))
        return self._generate(mcep, f0_hz, source, target, ref, intensity, emotion_mcep)[0]

    def familiarity(self, f0_hz: np.ndarray, mcep: np.ndarray, source: Emotion) -> InputFamiliarity:
        """The input's register against the training speakers': its mean log F0, moved back to neutral by the source
        emotion's measured change, in spreads of the training speakers' neutral means (``pitch_z``).

        The spectrum is not judged (``spectral_distance`` is ``nan``): this model normalizes every voice by its own
        statistics, so a voice is never far from the training speakers in that sense.
        """
        normalizer = self._ready()
        voiced = np.asarray(f0_hz) > 0
        if np.count_nonzero(voiced) >= 2:
            shift = normalizer.prosody.shift(self.emotion_of(source)).log_f0_shift
            neutral_mean = float(np.log(f0_hz[voiced]).mean()) - shift
            offset = neutral_mean - normalizer.speaker_log_f0.mean
            semitones, z = 12.0 * offset / np.log(2.0), normalizer.pitch_z(neutral_mean)
        else:
            semitones = z = float("nan")
        return InputFamiliarity(float(semitones), float(z), float("nan"))

    def fit(self, train_feats, emotions) -> None:
        """Nothing to derive from the training utterances; a training converter takes the generator's moving
        average here (``refresh``)."""
        if self.refresh is not None:
            self.refresh()

    def save_extra(self, folder: str | Path) -> None:
        normalizer = self._ready()
        write_json_atomic(Path(folder) / SPEAKERS_FILE, {"emotions": list(self.emotions),
                                                          "normalizer": normalizer.to_dict()}, sort_keys=False)
        # the learned prosody is written by emocore.training.contour, which adds it to a finished model folder

    def load_extra(self, folder: str | Path) -> None:
        path = Path(folder) / SPEAKERS_FILE
        if not path.is_file():
            return
        emotions, normalizer = read_speakers(path)
        if len(emotions) != self.n_emotions:
            raise ModelFolderError(path, f"names {len(emotions)} emotions, the generator has {self.n_emotions}")
        self.emotions, self.normalizer = emotions, normalizer
        prosody_net = ContourPredictor.load(folder)
        if prosody_net is not None and prosody_net.emotions != emotions:
            raise ModelFolderError(Path(folder) / PROSODY_CONFIG_FILE, f"names the emotions {prosody_net.emotions}, "
                                                                       f"{SPEAKERS_FILE} {emotions}")
        self.prosody_net = prosody_net


def build_converter(model_cfg: ModelConfig, options: StarGanConfig | None = None) -> SpeakerRelativeConverter:
    """A converter with an untrained generator; :meth:`~SpeakerRelativeConverter.load_extra` adds the rest."""
    options = options or StarGanConfig()
    generator = build_conditional_generator(model_cfg, model_cfg.n_emotions,
                                            n_channels=model_cfg.mcep_dim + int(options.f0_contour))
    return SpeakerRelativeConverter(generator, model_cfg.n_emotions, f0_contour=options.f0_contour)


# ---------------------------------------------------------------------- training


class EmoStarGAN(GAN):
    """The training model: conditional generator, multi-head discriminator, optional frozen emotion classifier.

    A batch is one set of crops per emotion (:meth:`train_on_segments`); each crop is converted to the emotion
    ``(source + 1 + (step + k) mod (n - 1)) mod n`` (``k`` its place in the batch), so every target recurs
    evenly without a random generator to checkpoint.

    Args:
        generator, discriminator (keras.Model): the networks.
        cfg (TrainConfig): loss weights and schedule (``lambda_cycle``, ``lambda_identity``,
            ``identity_switch_off_step``, ``lambda_class``).
        n_emotions (int): emotions of the model.
        classifier (keras.Model | None): pre-trained emotion classifier over the same emotions; frozen here.
        options (StarGanConfig | None): the F0 channel and its smoothness weight; ``None``: the defaults.
        average (keras.Model | None): with ``options.generator_average``, a second generator of the same
            architecture that holds the moving average of ``generator``'s weights (:meth:`sync_average`). It is the
            network conversion uses, so :meth:`networks` names it ``"generator"`` (what a checkpoint or model folder
            converts with) and the trained one ``"generator_online"``.
    """

    loss_names = LOSS_NAMES
    #: a run without a moving average has no trained generator apart from the one it converts with
    warm_start_fallbacks = {"generator_online": "generator"}

    def __init__(self, generator, discriminator, cfg: TrainConfig, n_emotions: int, classifier=None,
                 options: StarGanConfig | None = None, average=None, **kwargs):
        super().__init__(classifier, cfg.lambda_class, **kwargs)
        self.generator, self.discriminator, self.cfg, self.n_emotions = generator, discriminator, cfg, n_emotions
        self.options = options or StarGanConfig()
        if (average is not None) != (self.options.generator_average > 0):
            raise ParameterError("EmoStarGAN: give an average generator exactly when options.generator_average > 0")
        self.average = average
        self.normalizer, self.emotion_names = None, None

    @property
    def generator_variables(self) -> list:
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self) -> list:
        return self.discriminator.trainable_variables

    def prepare(self, domains: Sequence) -> None:
        """Take the speaker normalization and emotion names of the pooled emotions the run trains on.

        Raises:
            ParameterError: the domains are not pooled over speakers by one normalizer, or their number is not
                the model's.
        """
        normalizers = {id(getattr(d, "speaker_norm", None)) for d in domains}
        normalizer = getattr(domains[0], "speaker_norm", None)
        if normalizer is None or len(normalizers) != 1:
            raise ParameterError("EmoStarGAN trains on emotions pooled over speakers by one speaker normalization "
                                 "(emocore.data.speakers.prepare_speakers; emocore-train --speakers)")
        if len(domains) != self.n_emotions:
            raise ParameterError(f"the model has {self.n_emotions} emotions (ModelConfig.n_emotions), got {len(domains)}")
        self.normalizer, self.emotion_names = normalizer, tuple(d.domain.emotion for d in domains)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def targets(self, sources: np.ndarray, step: int) -> np.ndarray:
        """Each crop's target emotion (see the class docstring)."""
        offsets = 1 + (step + np.arange(len(sources))) % (self.n_emotions - 1)
        return (sources + offsets) % self.n_emotions

    def train_on_segments(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
        """One update on ``[(normalized MCEPs (B, T, D), normalized log F0 (B, T)) per emotion]``."""
        if len(crops) != self.n_emotions:
            raise ParameterError(f"EmoStarGAN trains on crops of its {self.n_emotions} emotions, got {len(crops)}")
        real = np.concatenate([c[0] for c in crops]).astype(np.float32)
        log_f0 = np.concatenate([c[1] for c in crops]).astype(np.float32)
        sources = np.repeat(np.arange(self.n_emotions), [len(c[0]) for c in crops])
        step = int(ops.convert_to_numpy(self.gen_optimizer.iterations))
        targets = self.targets(sources, step)
        return self.run_step((real, log_f0, sources.astype(np.int32), targets.astype(np.int32)))

    def features(self, real, log_f0):
        """The generator's input of a batch: the MCEPs ``(B, T, D)``, with the F0 channel ``(B, T, D + 1)``."""
        real, log_f0 = ops.convert_to_tensor(real), ops.convert_to_tensor(log_f0)  # arrays when run eagerly
        if not self.options.f0_contour:
            return real
        return ops.concatenate([real, ops.expand_dims(ops.cast(log_f0, real.dtype), -1)], axis=-1)

    @property
    def identity_schedule(self) -> tuple[float, int]:
        return self.cfg.lambda_identity, self.cfg.identity_switch_off_step

    def generator_losses(self, real, log_f0, sources, targets, step, training=True, identity: bool | None = None):
        """``(terms, fake_scores)``: the generator objective of one batch (backend-neutral).

        ``identity`` is the phase decided outside (:meth:`identity_phase`, one compiled step per phase); ``None``
        takes it from ``step`` (a tensor step switches inside the graph, by ``keras.ops.cond``)."""
        real, log_f0 = self.features(real, log_f0), ops.convert_to_tensor(log_f0)
        src = ops.one_hot(sources, self.n_emotions)
        tgt = ops.one_hot(targets, self.n_emotions)
        to_target, to_source = ops.concatenate([src, tgt], axis=1), ops.concatenate([src, src], axis=1)
        id_weight = self.identity_weight(step, identity)

        def fake_and_identity():  # one generator pass on both halves: a larger batch runs faster than two
            return tuple(stacked_call(self.generator, [[real, to_target], [real, to_source]], training))

        def fake_only():
            return self.generator([real, to_target], training=training), real

        if isinstance(id_weight, float):  # known while tracing: only the branch that runs is built
            fake, same = fake_and_identity() if id_weight > 0 else fake_only()
        else:
            fake, same = ops.cond(ops.greater(id_weight, 0.0), fake_and_identity, fake_only)
        cycled = self.generator([fake, ops.concatenate([tgt, src], axis=1)], training=training)
        fake_scores = head_scores(self.discriminator(fake, training=training), tgt)
        terms = {"adversarial": losses.lsgan_generator_loss(fake_scores),
                 "cycle": losses.cycle_loss(real, cycled), "identity": losses.identity_loss(real, same)}
        # with the F0 channel the classifier hears the generated contour, else the source's
        judged = fake if self.options.f0_contour else classifier_input(fake, log_f0)
        terms["classification"] = (losses.emotion_classification_loss(self.classifier(judged, training=False), targets)
                                   if self.use_classifier else ops.zeros_like(terms["cycle"]))
        terms["f0_smooth"] = (ops.relu(contour_roughness(fake[..., -1]) - contour_roughness(log_f0))
                              if self.options.f0_contour else ops.zeros_like(terms["cycle"]))
        terms["total"] = (terms["adversarial"] + self.cfg.lambda_cycle * terms["cycle"] + id_weight * terms["identity"]
                          + (self.cfg.lambda_class if self.use_classifier else 0.0) * terms["classification"]
                          + self.options.lambda_f0_smooth * terms["f0_smooth"])
        terms["identity_weight"] = ops.convert_to_tensor(id_weight, dtype="float32")
        return terms, fake_scores

    def train_step(self, data, identity: bool | None = None):
        """One update of the generator and the discriminator (their gradients through :meth:`GAN.tapes`;
        ``identity``: see :meth:`generator_losses`)."""
        real, log_f0, sources, targets = data
        with self.tapes() as (gen_tape, disc_tape):
            terms, fake_scores = self.generator_losses(real, log_f0, sources, targets, self.step, identity=identity)
            real_scores = head_scores(self.discriminator(self.features(real, log_f0), training=True),
                                      ops.one_hot(sources, self.n_emotions))
            disc_loss = losses.lsgan_discriminator_loss(real_scores, fake_scores)
        self.apply_updates(gen_tape, terms["total"], disc_tape, disc_loss)
        return self.record_losses({**terms, "gen_total": terms["total"], "disc": disc_loss})

    def sync_average(self) -> None:
        """Copy the generator optimizer's moving average of the weights into :attr:`average` (before any update,
        the generator's own weights); weights the optimizer does not update are copied as they are."""
        if self.average is None:
            return
        averaged = {id(v): a for v, a in zip(self.generator_variables, moving_averages(self.gen_optimizer))}
        started = int(ops.convert_to_numpy(self.gen_optimizer.iterations)) > 0
        for own, mean in zip(self.generator.weights, self.average.weights):
            source = averaged.get(id(own), own) if started else own
            mean.assign(ops.convert_to_numpy(source))

    def networks(self) -> dict[str, keras.Model]:
        nets = ({"generator": self.generator} if self.average is None
                else {"generator": self.average, "generator_online": self.generator})
        nets["discriminator"] = self.discriminator
        if self.classifier is not None:
            nets["classifier"] = self.classifier
        return nets

    def converter(self) -> SpeakerRelativeConverter:
        """The converter on the live generator, or on its moving average; with the normalizer once :meth:`prepare`
        has run. The average is copied in by the converter's ``fit`` (:meth:`sync_average`; the training loop calls
        it before every checkpoint, validation and the final save): call ``fit`` before converting with it."""
        return SpeakerRelativeConverter(self.generator if self.average is None else self.average, self.n_emotions,
                                        self.normalizer, self.emotion_names, f0_contour=self.options.f0_contour,
                                        refresh=None if self.average is None else self.sync_average)


def build_stargan(model_cfg: ModelConfig, train_cfg: TrainConfig, options: StarGanConfig | None = None, *,
                  run_eagerly: bool = False, jit_compile: bool = False) -> EmoStarGAN:
    """Build, compile and build the optimizers of an :class:`EmoStarGAN` of ``model_cfg.n_emotions`` emotions."""
    if options is not None and not isinstance(options, StarGanConfig):
        raise ParameterError(f"EmoStarGAN takes StarGanConfig options, got {options!r}")
    options = options or StarGanConfig()
    keras.utils.set_random_seed(train_cfg.seed)
    n, channels = model_cfg.n_emotions, model_cfg.mcep_dim + int(options.f0_contour)
    classifier = build_emotion_classifier(model_cfg) if train_cfg.lambda_class > 0 else None
    generator = build_conditional_generator(model_cfg, n, n_channels=channels)
    discriminator = discriminator_builder(options.discriminator)(model_cfg, "discriminator", n, input_dim=channels)
    # built last, so the other networks start as they do without it; its weights are copied in (sync_average)
    average = (build_conditional_generator(model_cfg, n, name="generator_average", n_channels=channels)
               if options.generator_average > 0 else None)
    model = EmoStarGAN(generator, discriminator, train_cfg, n, classifier=classifier, options=options,
                       average=average, name="emostargan")
    model = compile_gan(model, train_cfg, run_eagerly=run_eagerly, jit_compile=jit_compile,
                        generator_average=options.generator_average)
    model.sync_average()
    return model


SPEC = ModelSpec(name=NAME, title="EmoStarGAN", build_training=build_stargan, build_converter=build_converter,
                 options=StarGanConfig, loss_panels=LOSS_PANELS, n_emotions=None, options_optional=True)
