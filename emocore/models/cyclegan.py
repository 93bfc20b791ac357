"""EmoCycleGAN: CycleGAN-VC (Kaneko & Kameoka 2017) with an emotion-classification loss (Gao et al. 2019).

Two generators, CycleGAN-VC's 1-D gated CNN on normalized MCEPs (:func:`build_generator`), map emotion ``a``
to ``b`` and back. Training (:class:`CycleGANVC`) adds the discriminators of
:mod:`emocore.models.discriminator`, the frozen classifier of :mod:`emocore.models.classifier` and
CycleGAN-VC's losses (:func:`emocore.models.losses.generator_total_loss`); conversion (:class:`GeneratorPair`)
runs the generator of the asked direction. :data:`SPEC` is the registry's entry.

A model folder holds ``gen_a2b.weights.h5`` and ``gen_b2a.weights.h5``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

import emocore.models.losses as losses
from emocore.config import ModelConfig, TrainConfig
from emocore.exceptions import ParameterError
from emocore.models.base import (
    EMOTION_INDEX_A,
    EMOTION_INDEX_B,
    Emotion,
    MappingConverter,
    ModelSpec,
    TwoDomainGAN,
    compile_gan,
    infer,
    pair_index,
    stacked_call,
)
from emocore.models.classifier import build_emotion_classifier, classifier_input
from emocore.models.discriminator import build_discriminator
from emocore.models.layers import GLU, ResidualBlock1D, pad_to_multiple, scale_channels

NAME = "cyclegan"
LOSS_NAMES = ("gen_total", "adversarial_a2b", "adversarial_b2a", "cycle", "identity", "identity_weight",
              "classification", "disc_a", "disc_b")
LOSS_PANELS = (("adversarial_a2b", "adversarial_b2a", "disc_a", "disc_b"), ("cycle", "identity", "classification"))


def build_generator(cfg: ModelConfig, name: str = "gen_a2b") -> keras.Model:
    """CycleGAN-VC's 1-D gated CNN generator, mapping MCEP sequences of one emotion to another.

    With ``c = cfg.gen_base_channels`` (channels scaled by ``cfg.width``):

    ====================  ======  ======  ===================================
    block                 kernel  stride  channels
    ====================  ======  ======  ===================================
    GLU, no norm          15      1       c
    2 x GLU + IN (down)   5       2       2c, 4c
    residual blocks       3       1       4c (8c inside), ``n_residual_blocks``
    2 x GLU + IN (up)     5       1/2     conv 8c -> shuffle 4c, conv 4c -> 2c
    output conv           15      1       ``mcep_dim``
    ====================  ======  ======  ===================================

    Args:
        cfg (ModelConfig): sizes.
        name (str): model name, ``"gen_a2b"`` or ``"gen_b2a"``.

    Returns:
        keras.Model: ``(B, T, mcep_dim) -> (B, T, mcep_dim)``. ``T`` may vary between calls but must be a
        multiple of 4 (:data:`GENERATOR_LENGTH_MULTIPLE`); otherwise the output has ``ceil(T / 4) * 4``
        frames. Pad with :func:`pad_to_multiple` and crop the result.
    """

    def ch(multiplier: int) -> int:
        return scale_channels(multiplier * cfg.gen_base_channels, cfg.width)

    eps = cfg.norm_epsilon
    inputs = keras.Input(shape=(None, cfg.mcep_dim), name="mcep")
    x = GLU(ch(1), 15, normalize=False, name="input_glu")(inputs)
    x = GLU(ch(2), 5, strides=2, epsilon=eps, name="down1")(x)
    x = GLU(ch(4), 5, strides=2, epsilon=eps, name="down2")(x)
    for i in range(cfg.n_residual_blocks):
        x = ResidualBlock1D(ch(4), ch(8), 3, epsilon=eps, name=f"residual{i + 1}")(x)
    x = GLU(ch(4), 5, upsample=2, epsilon=eps, name="up1")(x)
    x = GLU(ch(2), 5, upsample=2, epsilon=eps, name="up2")(x)
    outputs = layers.Conv1D(cfg.mcep_dim, 15, padding="same", name="output_conv")(x)
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------- conversion


class GeneratorPair(MappingConverter):
    """EmoCycleGAN's converter: one generator per direction between emotions 0 (``a``) and 1 (``b``).

    Args:
        gen_a2b (keras.Model): ``(B, T, D) -> (B, T, D)`` on normalized MCEPs, ``T`` a multiple of 4.
        gen_b2a (keras.Model): the reverse direction.
    """

    def __init__(self, gen_a2b: keras.Model, gen_b2a: keras.Model):
        self.generators = {(0, 1): gen_a2b, (1, 0): gen_b2a}

    def networks(self) -> dict[str, keras.Model]:
        return {"gen_a2b": self.generators[0, 1], "gen_b2a": self.generators[1, 0]}

    def convert_mcep(self, mcep: np.ndarray, source: Emotion, target: Emotion, **options) -> np.ndarray:
        """Normalize, pad to a multiple of 4, generate, crop, denormalize; shape ``(T, D)``, float64."""
        self.check_options(options)
        generator = self.generators[pair_index(source, target)]
        padded, n_frames = pad_to_multiple(source.stats.mcep.normalize(mcep).astype(np.float32))
        converted = infer(generator, padded[None])
        return target.stats.mcep.denormalize(converted[0, :n_frames].astype(np.float64))


def build_converter(model_cfg: ModelConfig, options=None) -> GeneratorPair:
    """A :class:`GeneratorPair` of untrained generators of ``model_cfg``'s sizes."""
    return GeneratorPair(build_generator(model_cfg, "gen_a2b"), build_generator(model_cfg, "gen_b2a"))


# ---------------------------------------------------------------------- training


class CycleGANVC(TwoDomainGAN):
    """CycleGAN-VC with an optional frozen emotion classifier, trained by :meth:`TwoDomainGAN.train_step`.

    One step feeds a batch through both generators, computes the generator objective
    (:func:`emocore.models.losses.generator_total_loss`) and both LSGAN discriminator losses in one forward pass,
    and updates generators and discriminators.

    The identity weight is :func:`emocore.models.losses.identity_weight` of the generator optimizer's step
    counter: exactly 0 from ``cfg.identity_switch_off_step`` on. From then on the identity mappings are not
    computed at all: ``same_a`` is ``real_a``, so the logged ``identity`` term reads 0 and the generator pass is
    saved. Training decides the phase in Python before each step (:meth:`identity_phase`; one compiled step per
    phase); given a tensor step, :meth:`compute_generator_losses` switches inside the graph (``keras.ops.cond``).

    Args:
        gen_a2b, gen_b2a (keras.Model): generators (:func:`emocore.build_generator`).
        disc_a, disc_b (keras.Model): discriminators (:func:`emocore.build_discriminator`).
        cfg (TrainConfig): loss weights and schedule.
        classifier (keras.Model | None): a pre-trained emotion classifier; frozen here. With ``None`` or
            ``cfg.lambda_class == 0`` the classification term is left out.
    """

    loss_names = LOSS_NAMES

    def __init__(self, gen_a2b, gen_b2a, disc_a, disc_b, cfg: TrainConfig, classifier=None, **kwargs):
        super().__init__(disc_a, disc_b, classifier, cfg.lambda_class, **kwargs)
        self.gen_a2b, self.gen_b2a = gen_a2b, gen_b2a
        self.cfg = cfg
        self.lambda_cycle, self.lambda_identity = cfg.lambda_cycle, cfg.lambda_identity
        self.identity_switch_off_step = cfg.identity_switch_off_step

    @property
    def generator_variables(self) -> list:
        return self.gen_a2b.trainable_variables + self.gen_b2a.trainable_variables

    def call(self, mcep, training=False):
        return self.gen_a2b(mcep, training=training)

    @property
    def identity_schedule(self) -> tuple[float, int]:
        return self.lambda_identity, self.identity_switch_off_step

    def compute_generator_losses(self, real_a, real_b, log_f0_a, log_f0_b, step, training=True,
                                 identity: bool | None = None):
        """The generator objective for one batch (backend-neutral).

        Args:
            real_a, real_b: normalized MCEP crops, shape ``(B, T, D)``.
            log_f0_a, log_f0_b: their normalized log-F0 channels, shape ``(B, T)``.
            step: the training step, an integer or integer tensor (for the identity weight).
            identity: the identity phase decided outside (:meth:`identity_phase`); ``None``: from ``step``.

        Returns:
            tuple: ``(terms, fake_a_scores, fake_b_scores)``: the dict of
            :func:`emocore.models.losses.generator_total_loss` plus ``identity_weight``, and the discriminator
            scores of the generated batches (reused for the discriminator loss).
        """
        id_weight = self.identity_weight(step, identity)
        if isinstance(id_weight, float) and id_weight > 0:  # known while tracing: the identity pass is built...
            # ...in the same generator call as the translation
            fake_b, same_b = stacked_call(self.gen_a2b, [real_a, real_b], training)
            fake_a, same_a = stacked_call(self.gen_b2a, [real_b, real_a], training)
        else:
            fake_b = self.gen_a2b(real_a, training=training)
            fake_a = self.gen_b2a(real_b, training=training)
        cycle_a = self.gen_b2a(fake_b, training=training)
        cycle_b = self.gen_a2b(fake_a, training=training)
        if isinstance(id_weight, float):
            if id_weight == 0:  # ...or not at all
                same_a, same_b = real_a, real_b
        else:
            use_identity = ops.greater(id_weight, 0.0)
            same_a = ops.cond(use_identity, lambda: self.gen_b2a(real_a, training=training), lambda: real_a)
            same_b = ops.cond(use_identity, lambda: self.gen_a2b(real_b, training=training), lambda: real_b)
        fake_a_scores = self.disc_a(fake_a, training=training)
        fake_b_scores = self.disc_b(fake_b, training=training)
        fake_a_logits = fake_b_logits = None
        if self.use_classifier:
            # log-F0 channel of a generated crop: the source crop's (see the module docstring)
            fake_b_logits = self.classifier(classifier_input(fake_b, log_f0_a), training=False)
            fake_a_logits = self.classifier(classifier_input(fake_a, log_f0_b), training=False)
        terms = losses.generator_total_loss(
            real_a=real_a, real_b=real_b, fake_a_scores=fake_a_scores, fake_b_scores=fake_b_scores,
            cycle_a=cycle_a, cycle_b=cycle_b, same_a=same_a, same_b=same_b, lambda_cycle=self.lambda_cycle,
            lambda_identity=id_weight, lambda_class=self.lambda_class if self.use_classifier else 0.0,
            fake_a_logits=fake_a_logits, fake_b_logits=fake_b_logits,
            emotion_index_a=EMOTION_INDEX_A, emotion_index_b=EMOTION_INDEX_B)
        terms["identity_weight"] = ops.convert_to_tensor(id_weight, dtype="float32")
        return terms, fake_a_scores, fake_b_scores

    def generator_pass(self, real_a, real_b, log_f0_a, log_f0_b, identity: bool | None = None):
        return self.compute_generator_losses(real_a, real_b, log_f0_a, log_f0_b, self.step, training=True,
                                             identity=identity)

    def generator_networks(self) -> dict[str, keras.Model]:
        return {"gen_a2b": self.gen_a2b, "gen_b2a": self.gen_b2a}

    def converter(self) -> GeneratorPair:
        """The converter on the live generators."""
        return GeneratorPair(self.gen_a2b, self.gen_b2a)


def build_cyclegan(model_cfg: ModelConfig, train_cfg: TrainConfig, options=None, *, run_eagerly: bool = False,
                   jit_compile: bool = False) -> CycleGANVC:
    """Build, compile and build the optimizers of a :class:`CycleGANVC` (classifier when ``lambda_class > 0``).

    Weights are initialized from ``keras.utils.set_random_seed(train_cfg.seed)``, so equal configs give equal
    initial networks.
    """
    if options is not None:
        raise ParameterError(f"EmoCycleGAN takes no options, got {options}")
    keras.utils.set_random_seed(train_cfg.seed)
    classifier = build_emotion_classifier(model_cfg) if train_cfg.lambda_class > 0 else None
    model = CycleGANVC(build_generator(model_cfg, "gen_a2b"), build_generator(model_cfg, "gen_b2a"),
                       build_discriminator(model_cfg, "disc_a"), build_discriminator(model_cfg, "disc_b"),
                       train_cfg, classifier=classifier, name="cyclegan_vc")
    return compile_gan(model, train_cfg, run_eagerly=run_eagerly, jit_compile=jit_compile)


SPEC = ModelSpec(name=NAME, title="EmoCycleGAN", build_training=build_cyclegan, build_converter=build_converter,
                 loss_panels=LOSS_PANELS)
