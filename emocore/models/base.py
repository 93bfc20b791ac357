"""The GAN pieces every model type shares: the one TensorFlow training step, optimizers and schedules.

:class:`TwoDomainGAN` holds two LSGAN discriminators, an optional frozen emotion classifier, a generator and a
discriminator optimizer and the loss trackers, and its :meth:`~TwoDomainGAN.train_step` is the only
TensorFlow-specific code of training; a model type (EmoCycleGAN in :mod:`emocore.training`, EmoMUNIT in
:mod:`emocore.munit`) gives only its generator objective. The optimizers follow CycleGAN-VC's schedule
(:class:`ConstantThenLinearDecay`), scaled to the run's iterations.

This module sits below :mod:`emocore.training` and the model modules, so that they can share it without
importing each other.
"""

from __future__ import annotations

import keras
from keras import ops

from emocore.config import TrainConfig
from emocore.exceptions import ParameterError
from emocore.models import losses

# the emotion classifier's class of each domain (contrast emotions follow from 2)
EMOTION_INDEX_A = 0
EMOTION_INDEX_B = 1




@keras.saving.register_keras_serializable(package="emocore")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate until ``decay_start_step``, then linear decay to 0 at ``total_steps``.

    CycleGAN-VC's schedule (constant for 2e5 iterations, linear to 0 over the next 2e5) is
    ``ConstantThenLinearDecay(lr, 400_000, 200_000)``. Steps count from 0 (``optimizer.iterations``).

    Args:
        initial_learning_rate (float): the constant rate.
        total_steps (int): step at which the rate reaches 0.
        decay_start_step (int): last step with the full rate.
    """

    def __init__(self, initial_learning_rate: float, total_steps: int, decay_start_step: int):
        if not 0 <= decay_start_step <= total_steps:
            raise ParameterError(f"need 0 <= decay_start_step <= total_steps, got {decay_start_step}, {total_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps, self.decay_start_step = int(total_steps), int(decay_start_step)

    def __call__(self, step):
        span = float(max(self.total_steps - self.decay_start_step, 1))
        remaining = (float(self.total_steps) - ops.cast(step, "float32")) / span
        return self.initial_learning_rate * ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps,
                "decay_start_step": self.decay_start_step}


def learning_rate_schedules(cfg: TrainConfig) -> tuple[ConstantThenLinearDecay, ConstantThenLinearDecay]:
    """Generator and discriminator schedules: the published one, scaled to ``cfg.iterations``."""
    decay_start = int(round(cfg.lr_decay_start_fraction * cfg.iterations))
    return (ConstantThenLinearDecay(cfg.gen_lr, cfg.iterations, decay_start),
            ConstantThenLinearDecay(cfg.disc_lr, cfg.iterations, decay_start))


class TwoDomainGAN(keras.Model):
    """What EmoCycleGAN and EmoMUNIT share: two LSGAN discriminators, an optional frozen emotion classifier,
    a generator and a discriminator optimizer, loss trackers, and the one TensorFlow training step.

    A subclass sets :attr:`loss_names` and defines :attr:`generator_variables`, :meth:`generator_networks`
    and :meth:`generator_pass` (its generator objective, backend-neutral). One :meth:`train_step` feeds a
    batch ``(real_a, real_b, log_f0_a, log_f0_b)`` of normalized crops (:func:`sample_segments`) through
    :meth:`generator_pass`, adds both discriminators' LSGAN losses on the same forward pass, and updates the
    generator side and the discriminators with their own optimizers.

    Args:
        disc_a, disc_b (keras.Model): discriminators (:func:`emocore.build_discriminator`).
        classifier (keras.Model | None): a pre-trained emotion classifier; frozen here.
        lambda_class (float): its loss weight; with ``classifier=None`` or 0 the term is left out.
    """

    #: the logged losses, in order; ``gen_total``, ``disc_a`` and ``disc_b`` among them
    loss_names: tuple[str, ...] = ()

    def __init__(self, disc_a, disc_b, classifier=None, lambda_class: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.disc_a, self.disc_b = disc_a, disc_b
        self.classifier = classifier
        if classifier is not None:
            classifier.trainable = False
        self.lambda_class = lambda_class
        self.use_classifier = classifier is not None and lambda_class > 0
        self.trackers = [keras.metrics.Mean(name=name) for name in self.loss_names]
        self.gen_optimizer = self.disc_optimizer = None

    @property
    def metrics(self):
        return list(self.trackers)

    def compile(self, gen_optimizer, disc_optimizer, **kwargs):
        """Set the two optimizers; other keyword arguments (``run_eagerly``, ``jit_compile``) go to Keras."""
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=None, **kwargs)
        self.gen_optimizer, self.disc_optimizer = gen_optimizer, disc_optimizer

    @property
    def generator_variables(self) -> list:
        raise NotImplementedError

    @property
    def discriminator_variables(self) -> list:
        return self.disc_a.trainable_variables + self.disc_b.trainable_variables

    def build_optimizers(self) -> None:
        """Create both optimizers' slot variables (needed before restoring them from a checkpoint)."""
        if not self.gen_optimizer.built:
            self.gen_optimizer.build(self.generator_variables)
        if not self.disc_optimizer.built:
            self.disc_optimizer.build(self.discriminator_variables)

    @property
    def step(self):
        """The generator optimizer's step counter (0-based number of updates applied)."""
        return self.gen_optimizer.iterations

    def generator_pass(self, real_a, real_b, log_f0_a, log_f0_b):
        """``(terms, fake_a_scores, fake_b_scores)`` of one training batch; ``terms["total"]`` is minimized."""
        raise NotImplementedError

    def train_step(self, data):
        """One update of the generator side and both discriminators; the only TensorFlow-specific code."""
        import tensorflow as tf

        real_a, real_b, log_f0_a, log_f0_b = data
        with tf.GradientTape(persistent=True) as tape:
            terms, fake_a_scores, fake_b_scores = self.generator_pass(real_a, real_b, log_f0_a, log_f0_b)
            disc_a_loss = losses.lsgan_discriminator_loss(self.disc_a(real_a, training=True), fake_a_scores)
            disc_b_loss = losses.lsgan_discriminator_loss(self.disc_b(real_b, training=True), fake_b_scores)
            disc_total = disc_a_loss + disc_b_loss
        gen_vars, disc_vars = self.generator_variables, self.discriminator_variables
        gen_grads = tape.gradient(terms["total"], gen_vars)
        disc_grads = tape.gradient(disc_total, disc_vars)
        del tape
        self.gen_optimizer.apply(gen_grads, gen_vars)
        self.disc_optimizer.apply(disc_grads, disc_vars)
        values = {**terms, "gen_total": terms["total"], "disc_a": disc_a_loss, "disc_b": disc_b_loss}
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def train_on_segments(self, real_a, real_b, log_f0_a, log_f0_b) -> dict[str, float]:
        """Run :meth:`train_step` on one batch (compiled unless ``run_eagerly``).

        Returns:
            dict[str, float]: each tracker's mean since the last ``reset_metrics()``.
        """
        self.make_train_function()
        logs = self.train_function(iter([(real_a, real_b, log_f0_a, log_f0_b)]))
        return {name: float(ops.convert_to_numpy(value)) for name, value in logs.items()}

    def generator_networks(self) -> dict[str, keras.Model]:
        """The generator side's networks, by file name stem."""
        raise NotImplementedError

    def networks(self) -> dict[str, keras.Model]:
        """The networks a checkpoint holds, by file name stem (:data:`NETWORKS` for the CycleGAN)."""
        nets = {**self.generator_networks(), "disc_a": self.disc_a, "disc_b": self.disc_b}
        if self.classifier is not None:
            nets["classifier"] = self.classifier
        return nets


def make_optimizers(train_cfg: TrainConfig) -> tuple[keras.optimizers.Adam, keras.optimizers.Adam]:
    """The generator and discriminator Adam optimizers with :func:`learning_rate_schedules`."""
    gen_schedule, disc_schedule = learning_rate_schedules(train_cfg)
    adam = dict(beta_1=train_cfg.beta_1, beta_2=train_cfg.beta_2)
    return (keras.optimizers.Adam(gen_schedule, name="gen_adam", **adam),
            keras.optimizers.Adam(disc_schedule, name="disc_adam", **adam))
