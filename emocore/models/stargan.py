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
  crop is judged by the head of its (real or claimed) emotion.
- **Losses** (:class:`EmoStarGAN`): LSGAN adversarial, cycle ``G(G(x, s->t), t->s) = x``, identity
  ``G(x, s->s) = x`` (CycleGAN-VC's schedule) and the frozen emotion classifier's cross-entropy against the target
  over all emotions. Each crop of a batch goes to another emotion, chosen by the step counter so that every
  ordered pair recurs evenly and a resumed run draws the same.
- **Prosody** is converted relative to the speaker (:class:`~emocore.dsp.relative_prosody.ProsodyShifts`): the
  input's own pitch and power statistics moved by each emotion's change measured across the training speakers,
  so a low voice stays low.
- **Intensity** ``alpha`` in ``[0, 1]`` moves the target condition from the source's one-hot to the target's (and
  the prosody change with it); 0 returns the source features unchanged.

A model folder holds ``generator.weights.h5`` and ``speakers.json`` (the emotions in order and the
:class:`~emocore.dsp.speaker_norm.SpeakerNormalizer`). It trains on emotions pooled over speakers
(:func:`emocore.data.speakers.prepare_speakers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

import emocore.models.losses as losses
from emocore.config import ModelConfig, TrainConfig, read_model_json
from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.dsp.prosody import DomainStats, LogGaussian
from emocore.dsp.speaker_norm import SpeakerNormalizer
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.familiarity import InputFamiliarity
from emocore.io import write_json_atomic
from emocore.models.base import GAN, Emotion, MappingConverter, ModelSpec, compile_gan
from emocore.models.classifier import build_emotion_classifier, classifier_input
from emocore.models.discriminator import build_discriminator
from emocore.models.layers import GLU, AdaptiveResidualBlock1D, pad_to_multiple, scale_channels

NAME = "emostargan"
SPEAKERS_FILE = "speakers.json"
LOSS_NAMES = ("gen_total", "adversarial", "cycle", "identity", "identity_weight", "classification", "disc")
LOSS_PANELS = (("adversarial", "disc"), ("cycle", "identity", "classification"))
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


def build_conditional_generator(cfg: ModelConfig, n_emotions: int, name: str = "generator") -> keras.Model:
    """CycleGAN-VC's gated CNN with source-and-target conditional instance norm in its residual blocks.

    Layers as :func:`emocore.models.cyclegan.build_generator` (channels from ``cfg.gen_base_channels`` and
    ``cfg.width``), except that each residual block is an :class:`AdaptiveResidualBlock1D` whose scales and biases
    come from a dense layer on the condition (:func:`condition`), and the output adds the input (the network
    learns the change; it starts near the identity).

    Returns:
        keras.Model: ``[(B, T, mcep_dim), (B, 2 * n_emotions)] -> (B, T, mcep_dim)``; ``T`` a multiple of 4.
    """

    def ch(multiplier: int) -> int:
        return scale_channels(multiplier * cfg.gen_base_channels, cfg.width)

    eps = cfg.norm_epsilon
    mcep = keras.Input(shape=(None, cfg.mcep_dim), name="mcep")
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
    change = layers.Conv1D(cfg.mcep_dim, 15, padding="same", kernel_initializer="zeros", name="output_conv")(x)
    return keras.Model([mcep, cond], layers.Add(name="skip")([mcep, change]), name=name)


def head_scores(scores, one_hot):
    """The score map of each example's own head: ``(B, H, W, n)`` and ``(B, n)`` -> ``(B, H, W, 1)``."""
    return ops.sum(scores * one_hot[:, None, None, :], axis=-1, keepdims=True)


# ---------------------------------------------------------------------- conversion


class SpeakerRelativeConverter(MappingConverter):
    """EmoStarGAN's converter: the conditional generator on speaker-normalized MCEPs, prosody relative to the speaker.

    Args:
        generator (keras.Model): :func:`build_conditional_generator`.
        n_emotions (int): the model's emotions.
        normalizer (SpeakerNormalizer | None): from training; read from ``speakers.json`` by :meth:`load_extra`.
        emotions (Sequence[str] | None): the emotion of each index (``"neutral"``, ...), in the model's order.
    """

    extra_files = (SPEAKERS_FILE,)
    option_names = ("intensity", "speaker_stats")

    def __init__(self, generator: keras.Model, n_emotions: int, normalizer: SpeakerNormalizer | None = None,
                 emotions: Sequence[str] | None = None):
        self.generator, self.n_emotions = generator, n_emotions
        self.normalizer = normalizer
        self.emotions = None if emotions is None else tuple(emotions)

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

    def _ready(self) -> SpeakerNormalizer:
        if self.normalizer is None or self.emotions is None:
            raise ModelFolderError(SPEAKERS_FILE, "missing: an EmoStarGAN model folder needs the speaker "
                                                  "normalization written with its weights")
        return self.normalizer

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

    def convert(self, feats: WorldFeatures, source: Emotion, target: Emotion, *, f0: bool = True,
                power: bool = True, mcep: bool = True, **options) -> WorldFeatures:
        """Prosody relative to the speaker, then the MCEPs through the generator (see the module docstring).

        Options:
            intensity (float): in ``[0, 1]`` (default 1).
            speaker_stats (DomainStats): the speaker's statistics in the source emotion from a few recordings
                (default: the utterance's own).
        """
        self.check_options(options)
        normalizer = self._ready()
        intensity = 1.0 if options.get("intensity") is None else float(options["intensity"])
        own = options.get("speaker_stats") or self.speaker_stats(feats)
        src, tgt = self.emotion_of(source), self.emotion_of(target)
        out = normalizer.prosody.convert(feats, src, tgt, own=own, intensity=intensity, f0=f0, power=power)
        if mcep and intensity > 0:
            ref = normalizer.reference_stats(own, src)
            out = out.replace(mcep=self.convert_mcep(np.asarray(feats.mcep), source, target, ref=ref,
                                                     intensity=intensity))
        return out

    def convert_mcep(self, mcep: np.ndarray, source: Emotion, target: Emotion, *, ref: DomainStats | None = None,
                     **options) -> np.ndarray:
        """MCEPs ``(T, D)`` of a speaker from ``source`` to ``target``, float64.

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
        if ref is not None:
            ref_mcep = ref.mcep
        else:
            own = options["speaker_stats"].mcep if options.get("speaker_stats") is not None else MeanStd.fit([mcep])
            ref_mcep = self._ready().reference_mcep(own, self.emotion_of(source))
        z = ref_mcep.normalize(mcep)
        padded, n_frames = pad_to_multiple(source.stats.mcep.normalize(z).astype(np.float32))
        cond = condition(np.array([source.index]), np.array([target.index]), self.n_emotions, intensity)
        converted = ops.convert_to_numpy(self.generator([padded[None], cond], training=False))[0, :n_frames]
        mean = (1 - intensity) * source.stats.mcep.mean + intensity * target.stats.mcep.mean
        std = np.exp((1 - intensity) * np.log(source.stats.mcep.std) + intensity * np.log(target.stats.mcep.std))
        return ref_mcep.denormalize(converted.astype(np.float64) * std + mean)

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

    def save_extra(self, folder: str | Path) -> None:
        normalizer = self._ready()
        write_json_atomic(Path(folder) / SPEAKERS_FILE, {"emotions": list(self.emotions),
                                                          "normalizer": normalizer.to_dict()}, sort_keys=False)

    def load_extra(self, folder: str | Path) -> None:
        path = Path(folder) / SPEAKERS_FILE
        if not path.is_file():
            return
        values = read_model_json(path)
        try:
            emotions, normalizer = tuple(values["emotions"]), SpeakerNormalizer.from_dict(values["normalizer"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFolderError(path, f"not a speaker normalization ({type(error).__name__}: {error})") from error
        if len(emotions) != self.n_emotions:
            raise ModelFolderError(path, f"names {len(emotions)} emotions, the generator has {self.n_emotions}")
        self.emotions, self.normalizer = emotions, normalizer


def build_converter(model_cfg: ModelConfig, options=None) -> SpeakerRelativeConverter:
    """A converter with an untrained generator; :meth:`~SpeakerRelativeConverter.load_extra` adds the rest."""
    return SpeakerRelativeConverter(build_conditional_generator(model_cfg, model_cfg.n_emotions), model_cfg.n_emotions)


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
    """

    loss_names = LOSS_NAMES

    def __init__(self, generator, discriminator, cfg: TrainConfig, n_emotions: int, classifier=None, **kwargs):
        super().__init__(classifier, cfg.lambda_class, **kwargs)
        self.generator, self.discriminator, self.cfg, self.n_emotions = generator, discriminator, cfg, n_emotions
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
        self.make_train_function()
        logs = self.train_function(iter([(real, log_f0, sources.astype(np.int32), targets.astype(np.int32))]))
        return {name: float(ops.convert_to_numpy(value)) for name, value in logs.items()}

    def generator_losses(self, real, log_f0, sources, targets, step, training=True):
        """``(terms, fake_scores)``: the generator objective of one batch (backend-neutral)."""
        real, log_f0 = ops.convert_to_tensor(real), ops.convert_to_tensor(log_f0)  # arrays when run eagerly
        src = ops.one_hot(sources, self.n_emotions)
        tgt = ops.one_hot(targets, self.n_emotions)
        fake = self.generator([real, ops.concatenate([src, tgt], axis=1)], training=training)
        cycled = self.generator([fake, ops.concatenate([tgt, src], axis=1)], training=training)
        id_weight = losses.identity_weight(step, self.cfg.lambda_identity, self.cfg.identity_switch_off_step)
        same = ops.cond(ops.greater(id_weight, 0.0),
                        lambda: self.generator([real, ops.concatenate([src, src], axis=1)], training=training),
                        lambda: real)
        fake_scores = head_scores(self.discriminator(fake, training=training), tgt)
        terms = {"adversarial": losses.lsgan_generator_loss(fake_scores),
                 "cycle": losses.cycle_loss(real, cycled), "identity": losses.identity_loss(real, same)}
        terms["classification"] = (losses.emotion_classification_loss(
            self.classifier(classifier_input(fake, log_f0), training=False), targets)
            if self.use_classifier else ops.zeros_like(terms["cycle"]))
        terms["total"] = (terms["adversarial"] + self.cfg.lambda_cycle * terms["cycle"] + id_weight * terms["identity"]
                          + (self.cfg.lambda_class if self.use_classifier else 0.0) * terms["classification"])
        terms["identity_weight"] = ops.convert_to_tensor(id_weight, dtype="float32")
        return terms, fake_scores

    def train_step(self, data):
        """One update of the generator and the discriminator; the only TensorFlow-specific code."""
        import tensorflow as tf

        real, log_f0, sources, targets = data
        with tf.GradientTape(persistent=True) as tape:
            terms, fake_scores = self.generator_losses(real, log_f0, sources, targets, self.step)
            real_scores = head_scores(self.discriminator(ops.convert_to_tensor(real), training=True),
                                      ops.one_hot(sources, self.n_emotions))
            disc_loss = losses.lsgan_discriminator_loss(real_scores, fake_scores)
        self.apply_updates(tape, terms["total"], disc_loss)
        del tape
        return self.record_losses({**terms, "gen_total": terms["total"], "disc": disc_loss})

    def networks(self) -> dict[str, keras.Model]:
        nets = {"generator": self.generator, "discriminator": self.discriminator}
        if self.classifier is not None:
            nets["classifier"] = self.classifier
        return nets

    def converter(self) -> SpeakerRelativeConverter:
        """The converter on the live generator (with the normalizer once :meth:`prepare` has run)."""
        return SpeakerRelativeConverter(self.generator, self.n_emotions, self.normalizer, self.emotion_names)


def build_stargan(model_cfg: ModelConfig, train_cfg: TrainConfig, options=None, *, run_eagerly: bool = False,
                  jit_compile: bool = False) -> EmoStarGAN:
    """Build, compile and build the optimizers of an :class:`EmoStarGAN` of ``model_cfg.n_emotions`` emotions."""
    if options is not None:
        raise ParameterError(f"EmoStarGAN takes no options, got {options}")
    keras.utils.set_random_seed(train_cfg.seed)
    n = model_cfg.n_emotions
    classifier = build_emotion_classifier(model_cfg) if train_cfg.lambda_class > 0 else None
    model = EmoStarGAN(build_conditional_generator(model_cfg, n), build_discriminator(model_cfg, "discriminator", n),
                       train_cfg, n, classifier=classifier, name="emostargan")
    return compile_gan(model, train_cfg, run_eagerly=run_eagerly, jit_compile=jit_compile)


SPEC = ModelSpec(name=NAME, title="EmoStarGAN", build_training=build_stargan, build_converter=build_converter,
                 loss_panels=LOSS_PANELS, n_emotions=None)
