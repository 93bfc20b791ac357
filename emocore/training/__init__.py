"""Training of every model type: segment sampling, emotion-classifier pre-training, the shared GAN step, the loop.

The networks come from :mod:`emocore.models`, the losses from :mod:`emocore.losses` and every hyperparameter from
:class:`~emocore.config.TrainConfig`. Everything here is backend-neutral Keras 3 except
:meth:`TwoDomainGAN.train_step` (a ``tf.GradientTape``, shared by EmoCycleGAN and EmoMUNIT) and the
TensorBoard writer (``tf.summary``); a JAX training step would replace only those.

Features reach the networks normalized per domain: a domain's MCEPs with its own per-dimension mean and std,
its log F0 (interpolated over unvoiced frames) with its own log-F0 mean and std. The generators therefore map
A-normalized MCEPs to B-normalized ones, and conversion denormalizes with the target statistics
(:mod:`emocore.conversion`).

The emotion classifier sees ``(T, D + 1)`` inputs: the normalized MCEPs and the normalized log-F0 channel
(:func:`classifier_features`). For a generated ``a -> b`` crop the log-F0 channel is the source crop's log F0
mapped to domain ``b`` by the log-Gaussian transform that conversion applies, then normalized with ``b``'s
statistics. That map followed by that normalization is the identity on the normalized channel,
``((z * std_b + mean_b) - mean_b) / std_b = z`` (linear interpolation over unvoiced frames commutes with it),
so the source crop's own normalized channel is passed unchanged. Because both domains are normalized by their
own statistics, the classifier judges the emotion cues that the per-domain means and variances do not
already carry; those the conversion maps by itself (MCEP denormalization, log-Gaussian F0 and power).

A model folder holds ``config.json``, ``stats_a.json``, ``stats_b.json``, ``gen_a2b.weights.h5``,
``gen_b2a.weights.h5`` (see :mod:`emocore.conversion`), ``history.csv`` and ``checkpoints/step-NNNNNNNN/``.

The loop (:func:`train`) also trains EmoMUNIT (``model_type="munit"``, :class:`emocore.munit.EmoMUNIT`). It
needs from a training model: ``train_on_segments``, ``networks()``, ``generator_variables`` /
``discriminator_variables``, ``gen_optimizer`` / ``disc_optimizer`` / ``build_optimizers()``, ``classifier``,
``mapper()`` (the live networks as a :class:`~emocore.conversion.ConversionModel`'s MCEP mapper) and, optionally, ``checkpoint_variables`` (extra state
a checkpoint keeps, e.g. a random seed generator's).
"""

from __future__ import annotations

import csv
import datetime
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
from keras import ops
from tqdm.auto import tqdm

from emocore.config import FeatureConfig, ModelConfig, MunitConfig, TrainConfig, from_dict
from emocore.conversion import CHECKPOINT_STATE, FINGERPRINT_KEY, ConversionModel, GeneratorPair, fingerprint
from emocore.dsp import audio, features
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats, interpolate_over_unvoiced
from emocore.exceptions import ParameterError, TrainingDivergedError
from emocore.io import atomic_write
from emocore.models import losses, munit
from emocore.models.base import (
    EMOTION_INDEX_A,
    EMOTION_INDEX_B,
    TwoDomainGAN,
    learning_rate_schedules,
    make_optimizers,
)
from emocore.models.classifier import build_emotion_classifier, classifier_input
from emocore.models.cyclegan import build_generator
from emocore.models.discriminator import build_discriminator

log = logging.getLogger(__name__)

MODEL_TYPE = "cyclegan"
TRAINING_MODEL_TYPES = ("cyclegan", "munit")
CHECKPOINTS = "checkpoints"
NETWORKS = ("gen_a2b", "gen_b2a", "disc_a", "disc_b", "classifier")
LOSS_NAMES = ("gen_total", "adversarial_a2b", "adversarial_b2a", "cycle", "identity", "identity_weight",
              "classification", "disc_a", "disc_b")
# the loss curves worth plotting side by side, per model type: (adversarial game, reconstruction terms)
LOSS_PANELS = {
    "cyclegan": (("adversarial_a2b", "adversarial_b2a", "disc_a", "disc_b"), ("cycle", "identity", "classification")),
    "munit": (("adversarial_a2b", "adversarial_b2a", "disc_a", "disc_b"),
              ("recon", "style_recon", "content_recon", "cycle_recon", "classification")),
}


# ---------------------------------------------------------------------- data


def normalized_log_f0(f0_hz: np.ndarray, stats: DomainStats) -> np.ndarray:
    """Log F0 interpolated over unvoiced frames and normalized with a domain's log-F0 mean and std.

    Args:
        f0_hz (ndarray): shape ``(T,)``; 0 marks unvoiced frames.
        stats (DomainStats): the domain the contour belongs to.

    Returns:
        ndarray: shape ``(T,)``, float64; all zeros (the domain mean) when no frame is voiced.
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = f0_hz > 0
    if not voiced.any():
        return np.zeros_like(f0_hz)
    log_f0 = np.zeros_like(f0_hz)
    log_f0[voiced] = np.log(f0_hz[voiced])
    return (interpolate_over_unvoiced(log_f0, voiced) - stats.log_f0.mean) / stats.log_f0.std


def classifier_features(feats: WorldFeatures, stats: DomainStats) -> np.ndarray:
    """Emotion-classifier input of a whole utterance: normalized MCEPs and log F0, shape ``(T, D + 1)``, float32."""
    return np.concatenate([stats.mcep.normalize(feats.mcep), normalized_log_f0(feats.f0_hz, stats)[:, None]],
                          axis=1).astype(np.float32)


def _crop_starts(voiced: np.ndarray, n_frames: int, min_voiced: int) -> np.ndarray:
    if len(voiced) < n_frames:
        voiced = np.pad(voiced, (0, n_frames - len(voiced)), mode="edge")
    counts = np.concatenate([[0], np.cumsum(voiced)])
    return np.flatnonzero(counts[n_frames:] - counts[:-n_frames] >= min_voiced)


def _edge_crop(x: np.ndarray, start: int, n_frames: int) -> np.ndarray:
    if len(x) < n_frames:
        pad = [(0, n_frames - len(x))] + [(0, 0)] * (x.ndim - 1)
        x = np.pad(x, pad, mode="edge")
    return x[start:start + n_frames]


def sample_segments(feats_list: Sequence[WorldFeatures], n_frames: int, batch_size: int, rng: np.random.Generator,
                    stats: DomainStats, min_voiced_fraction: float = TrainConfig.min_voiced_fraction
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Random fixed-length crops of normalized MCEPs, each with enough voiced frames, and their log-F0 channel.

    Each crop picks an utterance uniformly among those that have a valid crop, then a start uniformly among
    its valid starts: those whose ``n_frames`` frames hold at least ``ceil(min_voiced_fraction * n_frames)``
    voiced frames (and at least one). Utterances shorter than ``n_frames`` are padded at the end by
    repeating their last frame. The result depends only on the inputs and the state of ``rng``.

    Args:
        feats_list: the domain's utterances.
        n_frames (int): crop length.
        batch_size (int): number of crops.
        rng (numpy.random.Generator): advanced by the call.
        stats (DomainStats): the domain's statistics, for normalization.
        min_voiced_fraction (float): in ``[0, 1]``.

    Returns:
        tuple: normalized MCEPs, shape ``(batch_size, n_frames, D)``, and normalized log F0 interpolated
        over unvoiced frames (:func:`normalized_log_f0`), shape ``(batch_size, n_frames)``; both float32.

    Raises:
        ParameterError: bad sizes, or no utterance has a crop with enough voiced frames.
    """
    if n_frames < 1 or batch_size < 1:
        raise ParameterError(f"n_frames and batch_size must be at least 1, got {n_frames}, {batch_size}")
    if not 0 <= min_voiced_fraction <= 1:
        raise ParameterError(f"min_voiced_fraction must be in [0, 1], got {min_voiced_fraction}")
    min_voiced = max(1, math.ceil(min_voiced_fraction * n_frames))
    starts = [_crop_starts(f.voiced, n_frames, min_voiced) for f in feats_list]
    eligible = [i for i, s in enumerate(starts) if len(s)]
    if not eligible:
        raise ParameterError(f"none of {len(feats_list)} utterances has a {n_frames}-frame crop with at least "
                             f"{min_voiced} voiced frames; lower n_frames or min_voiced_fraction")
    mceps, log_f0s = [], []
    for _ in range(batch_size):
        index = eligible[rng.integers(len(eligible))]
        start = int(starts[index][rng.integers(len(starts[index]))])
        feats = feats_list[index]
        mceps.append(_edge_crop(stats.mcep.normalize(feats.mcep), start, n_frames))
        log_f0s.append(_edge_crop(normalized_log_f0(feats.f0_hz, stats), start, n_frames))
    return np.stack(mceps).astype(np.float32), np.stack(log_f0s).astype(np.float32)


# ---------------------------------------------------------------------- emotion classifier


EmotionClass = tuple[Sequence[WorldFeatures], Sequence[WorldFeatures], DomainStats]
"""One class of the emotion classifier: its training utterances, validation utterances and statistics."""


def classifier_accuracy(classifier: keras.Model, classes: Sequence[tuple[Sequence[WorldFeatures], DomainStats]]
                        ) -> float | None:
    """Share of whole utterances the classifier assigns to their own class; ``None`` if there are none.

    Args:
        classifier: ``(B, T, D + 1) -> (B, len(classes))`` logits.
        classes: ``(utterances, statistics)`` of class 0, 1, ... (A, B, then any contrast emotions).
    """
    correct = total = 0
    for label, (feats_list, stats) in enumerate(classes):
        for feats in feats_list:
            logits = ops.convert_to_numpy(classifier(classifier_features(feats, stats)[None], training=False))
            correct += int(np.argmax(logits[0]) == label)
            total += 1
    return correct / total if total else None


def pretrain_classifier(classifier: keras.Model, feats_a: Sequence[WorldFeatures], feats_b: Sequence[WorldFeatures],
                        stats_a: DomainStats, stats_b: DomainStats, cfg: TrainConfig, rng: np.random.Generator, *,
                        val_a: Sequence[WorldFeatures] = (), val_b: Sequence[WorldFeatures] = (),
                        contrast: Sequence[EmotionClass] = (), run_eagerly: bool = False,
                        progress: bool = False) -> dict:
    """Train the emotion classifier on real crops of every class (0 = A, 1 = B, 2... = contrast), then freeze it.

    Each of ``cfg.classifier_pretrain_steps`` Adam steps sees ``cfg.classifier_batch_size`` crops of
    ``cfg.n_frames`` frames from each class (:func:`sample_segments`), each normalized with its own class's
    statistics. Contrast classes are further emotions of the speaker (e.g. angry and sad for a
    neutral -> happy model): the classification loss then asks a conversion to sound like B rather than like
    any emotion other than A, which a two-class classifier cannot tell apart. With none, the random draws are
    those of the two-class classifier.

    Returns:
        dict: ``train_loss`` and ``train_accuracy`` (on the last batch), ``val_accuracy`` on the whole
        validation utterances of every class (``None`` without any), ``n_val``, ``n_classes``, ``steps``.
    """
    classes = [(feats_a, val_a, stats_a), (feats_b, val_b, stats_b), *contrast]
    n_outputs = int(classifier.outputs[0].shape[-1])
    if n_outputs != len(classes):
        raise ParameterError(f"the classifier has {n_outputs} outputs for {len(classes)} emotion "
                             "classes; set ModelConfig.n_emotions to 2 + the number of contrast emotions")
    classifier.trainable = True
    classifier.compile(optimizer=keras.optimizers.Adam(cfg.classifier_lr),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"], run_eagerly=run_eagerly, jit_compile=False)
    labels = np.repeat(np.arange(len(classes), dtype=np.int32), cfg.classifier_batch_size)
    logs: dict = {}
    for _ in tqdm(range(cfg.classifier_pretrain_steps), desc="emotion classifier", unit="step",
                  disable=not progress, leave=False):
        crops = []
        for train_feats, _, stats in classes:
            mcep, log_f0 = sample_segments(train_feats, cfg.n_frames, cfg.classifier_batch_size, rng, stats,
                                           cfg.min_voiced_fraction)
            crops.append(np.concatenate([mcep, log_f0[..., None]], -1))
        logs = classifier.train_on_batch(np.concatenate(crops), labels, return_dict=True)
    classifier.trainable = False
    return {"train_loss": float(logs.get("loss", float("nan"))),
            "train_accuracy": float(logs.get("accuracy", float("nan"))),
            "val_accuracy": classifier_accuracy(classifier, [(val, stats) for _, val, stats in classes]),
            "n_val": sum(len(val) for _, val, _ in classes), "n_classes": len(classes),
            "steps": cfg.classifier_pretrain_steps}


# ---------------------------------------------------------------------- model


class CycleGANVC(TwoDomainGAN):
    """CycleGAN-VC with an optional frozen emotion classifier, trained by :meth:`TwoDomainGAN.train_step`.

    One step feeds a batch through both generators, computes the generator objective
    (:func:`emocore.losses.generator_total_loss`) and both LSGAN discriminator losses in one forward pass,
    and updates generators and discriminators.

    The identity weight is :func:`emocore.losses.identity_weight` of the generator optimizer's step
    counter, a tensor, so it switches to exactly 0 at ``cfg.identity_switch_off_step`` inside a compiled
    step too. From then on the identity mappings are not computed at all (``keras.ops.cond``): ``same_a``
    is ``real_a``, so the logged ``identity`` term reads 0 and the generator pass is saved.

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

    def compute_generator_losses(self, real_a, real_b, log_f0_a, log_f0_b, step, training=True):
        """The generator objective for one batch (backend-neutral).

        Args:
            real_a, real_b: normalized MCEP crops, shape ``(B, T, D)``.
            log_f0_a, log_f0_b: their normalized log-F0 channels, shape ``(B, T)``.
            step: the training step, an integer or integer tensor (for the identity weight).

        Returns:
            tuple: ``(terms, fake_a_scores, fake_b_scores)``: the dict of
            :func:`emocore.losses.generator_total_loss` plus ``identity_weight``, and the discriminator
            scores of the generated batches (reused for the discriminator loss).
        """
        fake_b = self.gen_a2b(real_a, training=training)
        fake_a = self.gen_b2a(real_b, training=training)
        cycle_a = self.gen_b2a(fake_b, training=training)
        cycle_b = self.gen_a2b(fake_a, training=training)
        id_weight = losses.identity_weight(step, self.lambda_identity, self.identity_switch_off_step)
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

    def generator_pass(self, real_a, real_b, log_f0_a, log_f0_b):
        return self.compute_generator_losses(real_a, real_b, log_f0_a, log_f0_b, self.step, training=True)

    def generator_networks(self) -> dict[str, keras.Model]:
        return {"gen_a2b": self.gen_a2b, "gen_b2a": self.gen_b2a}

    def mapper(self) -> GeneratorPair:
        """The MCEP mapper of :class:`~emocore.conversion.ConversionModel` on the live generators."""
        return GeneratorPair(self.gen_a2b, self.gen_b2a)


def accelerator_summary() -> str:
    """Which devices the training step will run on, e.g. ``"CPU only (2 cores)"`` or ``"GPU: NVIDIA H100 ..."``."""
    import os

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU only ({os.cpu_count()} cores); install tensorflow[and-cuda] on a GPU box to use its GPU"
    names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
    return "GPU: " + ", ".join(names)


def build_cyclegan(model_cfg: ModelConfig, train_cfg: TrainConfig, *, run_eagerly: bool = False,
                   jit_compile: bool = False) -> CycleGANVC:
    """Build, compile and build the optimizers of a :class:`CycleGANVC` (classifier when ``lambda_class > 0``).

    Weights are initialized from ``keras.utils.set_random_seed(train_cfg.seed)``, so equal configs give equal
    initial networks.
    """
    keras.utils.set_random_seed(train_cfg.seed)
    classifier = build_emotion_classifier(model_cfg) if train_cfg.lambda_class > 0 else None
    model = CycleGANVC(build_generator(model_cfg, "gen_a2b"), build_generator(model_cfg, "gen_b2a"),
                       build_discriminator(model_cfg, "disc_a"), build_discriminator(model_cfg, "disc_b"),
                       train_cfg, classifier=classifier, name="cyclegan_vc")
    gen_optimizer, disc_optimizer = make_optimizers(train_cfg)
    model.compile(gen_optimizer=gen_optimizer, disc_optimizer=disc_optimizer, run_eagerly=run_eagerly,
                  jit_compile=jit_compile)
    model.build_optimizers()
    return model


def build_training_model(model_type: str, model_cfg: ModelConfig, train_cfg: TrainConfig, *,
                         munit_cfg: MunitConfig | None = None, run_eagerly: bool = False):
    """The training model of a model type: :func:`build_cyclegan` or :func:`emocore.munit.build_munit`.

    Args:
        model_type (str): ``"cyclegan"`` or ``"munit"``.
        munit_cfg (MunitConfig | None): EmoMUNIT's sizes and loss weights; ``None``: ``MunitConfig()``.
    """
    if model_type == MODEL_TYPE:
        if munit_cfg is not None:
            raise ParameterError("munit_cfg is for model_type='munit'")
        return build_cyclegan(model_cfg, train_cfg, run_eagerly=run_eagerly)
    if model_type == "munit":
        return munit.build_munit(model_cfg, munit_cfg or MunitConfig(), train_cfg, run_eagerly=run_eagerly)
    raise ParameterError(f"unknown model type {model_type!r}; known: {TRAINING_MODEL_TYPES}")


# ---------------------------------------------------------------------- checkpoints


def _step_dir_name(iteration: int) -> str:
    return f"step-{iteration:08d}"


def _checkpoint_steps(model_dir: Path) -> list[tuple[int, Path]]:
    root = Path(model_dir) / CHECKPOINTS
    found = []
    if root.is_dir():
        for path in root.glob("step-*"):
            if path.is_dir() and (path / CHECKPOINT_STATE).is_file() and path.name[5:].isdigit():
                found.append((int(path.name[5:]), path))
    return sorted(found)


def latest_checkpoint(model_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder under ``model_dir/checkpoints``, or ``None``."""
    found = _checkpoint_steps(Path(model_dir))
    return found[-1][1] if found else None


def save_checkpoint(model: CycleGANVC, model_dir: str | Path, iteration: int, state: dict, *, keep: int) -> Path:
    """Write a checkpoint atomically: into a temporary folder, then renamed to ``checkpoints/step-<iteration>``.

    It holds every network's weights (``<name>.weights.h5``), both optimizers' variables and the model's
    ``checkpoint_variables`` if it has any (``optimizers.npz``: step counters, Adam moments, e.g. a seed
    generator's state) and ``state.json`` (``iteration``, the weights' ``fingerprint`` and whatever
    ``state`` holds: the data RNG state, history, wall time). A killed process leaves at worst a
    ``.tmp-*`` folder, which is ignored and removed by the next save. Only the ``keep`` newest checkpoints
    are kept.

    Returns:
        Path: the checkpoint folder.
    """
    root = Path(model_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".tmp-{_step_dir_name(iteration)}-{os.getpid()}"
    tmp.mkdir()
    for name, network in model.networks().items():
        network.save_weights(tmp / f"{name}.weights.h5")
    arrays = {f"gen_{i:04d}": ops.convert_to_numpy(v) for i, v in enumerate(model.gen_optimizer.variables)}
    arrays.update({f"disc_{i:04d}": ops.convert_to_numpy(v) for i, v in enumerate(model.disc_optimizer.variables)})
    arrays.update({f"extra_{i:04d}": ops.convert_to_numpy(v)
                   for i, v in enumerate(getattr(model, "checkpoint_variables", ()))})
    np.savez(tmp / "optimizers.npz", **arrays)
    record = fingerprint(tmp, [f"{name}.weights.h5" for name in model.networks()])  # checked by ConversionModel.load
    (tmp / CHECKPOINT_STATE).write_text(json.dumps({**state, "iteration": int(iteration), FINGERPRINT_KEY: record},
                                               default=str) + "\n")
    final = root / _step_dir_name(iteration)
    if final.exists():  # a resumed run passing the same iteration again
        trash = root / f".tmp-old-{final.name}-{os.getpid()}"
        final.rename(trash)
        shutil.rmtree(trash)
    tmp.rename(final)
    for _, old in _checkpoint_steps(Path(model_dir))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(model: CycleGANVC, checkpoint: str | Path) -> dict:
    """Restore networks, optimizer and checkpoint variables from a checkpoint folder; returns its ``state.json``."""
    checkpoint = Path(checkpoint)
    state = json.loads((checkpoint / CHECKPOINT_STATE).read_text())
    for name, network in model.networks().items():
        network.load_weights(checkpoint / f"{name}.weights.h5")
    model.build_optimizers()
    with np.load(checkpoint / "optimizers.npz") as arrays:
        for prefix, variables in (("gen", model.gen_optimizer.variables), ("disc", model.disc_optimizer.variables),
                                  ("extra", list(getattr(model, "checkpoint_variables", ())))):
            stored = sorted(k for k in arrays.files if k.startswith(prefix + "_"))
            if len(stored) != len(variables):
                raise ParameterError(f"{checkpoint}: {len(stored)} {prefix} checkpoint variables stored, "
                                     f"the model has {len(variables)}; was it trained with another config?")
            for key, variable in zip(stored, variables):
                variable.assign(arrays[key])
    return state


def warm_start(model: TwoDomainGAN, source: str | Path) -> dict:
    """Start a new run from another run's converters and discriminators (fine-tuning); returns where from.

    Loads every network of ``model`` except the emotion classifier from ``source``: a checkpoint folder, or a
    run folder (its newest checkpoint). Optimizers, step counter and classifier start fresh, so the new run
    may use another learning-rate schedule, loss weights or classifier (e.g. one with contrast emotions).

    Returns:
        dict: ``checkpoint`` (the folder read) and ``iteration`` (its step in the source run).

    Raises:
        ParameterError: no checkpoint there, a network missing, or weights of another shape (width, model type).
    """
    source = Path(source)
    checkpoint = source if (source / CHECKPOINT_STATE).is_file() else latest_checkpoint(source)
    if checkpoint is None:
        raise ParameterError(f"warm start: {source} is neither a checkpoint folder nor a run with checkpoints")
    for name, network in model.networks().items():
        if name == "classifier":
            continue
        path = checkpoint / f"{name}.weights.h5"
        if not path.is_file():
            raise ParameterError(f"warm start: {checkpoint} has no {path.name}; was it trained as another model type?")
        try:
            network.load_weights(path)
        except ValueError as error:
            raise ParameterError(f"warm start: {path} does not fit this model's {name} (another width or "
                                 f"mcep_dim?): {error}") from error
    state = json.loads((checkpoint / CHECKPOINT_STATE).read_text())
    return {"checkpoint": str(checkpoint), "iteration": int(state["iteration"])}


# ---------------------------------------------------------------------- logging helpers


class _TensorBoard:
    """tf.summary writer for losses, learning rates and validation audio/images."""

    def __init__(self, log_dir: str | Path):
        import tensorflow as tf

        self.tf = tf
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def scalars(self, step: int, values: dict) -> None:
        with self.writer.as_default(step=step):
            for name, value in values.items():
                self.tf.summary.scalar(name, value)

    def audio(self, step: int, name: str, wav: np.ndarray, sr: int) -> None:
        with self.writer.as_default(step=step):
            clipped = np.clip(np.asarray(wav, dtype=np.float32), -1, 1)
            self.tf.summary.audio(name, clipped[None, :, None], sr)

    def image(self, step: int, name: str, rgba: np.ndarray) -> None:
        with self.writer.as_default(step=step):
            self.tf.summary.image(name, rgba[None])

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def spectrogram_image(source: WorldFeatures, converted: WorldFeatures, cfg: FeatureConfig, title: str = "") -> np.ndarray:
    """RGBA image ``(H, W, 4)`` uint8: the source and converted spectral envelopes (dB) above each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True)
    t_end = source.n_frames * cfg.frame_period_ms / 1000
    for ax, feats, label in zip(axes, (source, converted), ("source", "converted")):
        sp_db = 10 * np.log10(np.maximum(features.decode_mcep(feats.mcep, cfg), 1e-12))
        ax.imshow(sp_db.T, origin="lower", aspect="auto", cmap="magma", extent=(0, t_end, 0, cfg.sr / 2000))
        ax.set(ylabel="kHz", title=f"{title} {label}".strip())
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def _validate(conv: ConversionModel, pairs: dict, iteration: int, n_files: int, output_dir: Path | None,
              tensorboard: _TensorBoard | None) -> None:
    """Convert validation utterances with the live generators, through the one conversion path."""
    for direction, validation in pairs.items():
        for k, (utt, feats) in enumerate(validation[:n_files]):
            converted = conv.convert_features(feats, direction)
            wav = conv.synthesize(converted, power=True)
            if output_dir is not None:
                audio.save_wav(output_dir / f"iteration-{iteration:08d}" / direction / f"{Path(utt.path).stem}.wav",
                               wav, conv.feature_cfg.sr)
            if tensorboard is not None and k == 0:
                tensorboard.audio(iteration, f"validation/{direction}", wav, conv.feature_cfg.sr)
                tensorboard.image(iteration, f"validation/{direction}_envelope",
                                  spectrogram_image(feats, converted, conv.feature_cfg, f"{direction} {utt.uid}"))


def write_history_csv(history: list[dict], path: str | Path) -> Path:
    """Write the training history (one dict per logged iteration) as CSV, atomically."""
    fields = list(dict.fromkeys(k for row in history for k in row))
    with atomic_write(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(history)
    return Path(path)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _check_resume_config(config: dict, feature_cfg, model_cfg, train_cfg, names, classes) -> None:
    if config.get("classifier_classes", list(names)) != list(classes):
        raise ParameterError(f"resume: this run's emotion classifier tells {config.get('classifier_classes')} apart, "
                             f"not {list(classes)}; start a new model_dir instead")
    if config.get("feature") != asdict(feature_cfg) or config.get("model") != asdict(model_cfg):
        raise ParameterError("resume: the feature or model config differs from the one this run was started with "
                             "(see config.json); start a new model_dir instead")
    if (config.get("domain_a"), config.get("domain_b")) != names:
        raise ParameterError(f"resume: this run converts {config.get('domain_a')} <-> {config.get('domain_b')}, "
                             f"not {names[0]} <-> {names[1]}")
    old = config.get("train", {})
    changed = sorted(k for k, v in asdict(train_cfg).items() if old.get(k) != v)
    if changed:
        log.warning("resume: train config changed (%s); the continued run will not match an uninterrupted one",
                    ", ".join(changed))


# ---------------------------------------------------------------------- the loop


Callback = Callable[[int, dict, CycleGANVC], None]


def train(domain_a, domain_b, feature_cfg: FeatureConfig, model_cfg: ModelConfig, train_cfg: TrainConfig,
          model_dir: str | Path, *, resume: bool = False, tensorboard_log_dir: str | Path | None = None,
          output_dir: str | Path | None = None, progress: bool = True, callbacks: Sequence[Callback] = (),
          run_eagerly: bool = False, model_name: str | None = None, model_type: str = MODEL_TYPE,
          munit_cfg: MunitConfig | None = None, max_wall_time_s: float | None = None,
          contrast_domains: Sequence = (), init_from: str | Path | None = None) -> list[dict]:
    """Train EmoCycleGAN (or EmoMUNIT) between two prepared domains and write a model folder that conversion can load.

    Order of work: write ``stats_a.json``, ``stats_b.json`` and ``config.json`` (status ``"training"``);
    build the networks; pre-train and freeze the emotion classifier (when ``train_cfg.lambda_class > 0``;
    its validation accuracy is printed and stored under ``config.json["training"]["classifier"]``); then
    ``train_cfg.iterations`` iterations, each on ``batch_size`` crops per domain drawn with a NumPy
    generator seeded by ``train_cfg.seed``. Every ``log_every`` iterations (and at every checkpoint) the
    mean of each loss since the previous row is appended to the history and to TensorBoard, with both
    learning rates. Every ``checkpoint_every`` iterations and at the end a checkpoint is written
    (:func:`save_checkpoint`). Every ``validate_every`` iterations and at the end the first ``n_validation_files``
    validation utterances of each domain are converted (:class:`~emocore.conversion.ConversionModel`) to
    ``output_dir/iteration-NNNNNNNN/{A2B,B2A}/<stem>.wav``; the first of each direction also goes to
    TensorBoard as audio and as a spectral-envelope image. At the end the generators, ``history.csv`` and the
    completed ``config.json`` are written.

    With ``model_type="munit"`` the same loop trains :class:`emocore.munit.EmoMUNIT` (sizes and loss weights from
    ``munit_cfg``, stored as ``config.json["munit"]``); at each checkpoint and validation and at the end each
    domain's mean style code is computed from its training utterances (:meth:`ConversionModel.fit_styles`; a
    checkpoint keeps its own as ``styles.json``), and the model folder holds the MUNIT networks and
    ``styles.json`` instead of the generators.

    With ``resume=True`` the run continues from the newest checkpoint: weights, optimizer state (step
    counters, moments), data RNG state, history and wall time, so it ends with the same weights as an
    uninterrupted run. Without a checkpoint it starts from scratch.

    With ``contrast_domains`` (further emotions of the speaker, e.g. angry and sad for neutral -> happy) the
    emotion classifier learns ``2 + len(contrast_domains)`` classes (A, B, then those; ``model_cfg.n_emotions``
    must say so), so the classification loss asks ``a -> b`` conversions to sound like B rather than like any
    other emotion (:func:`pretrain_classifier`); ``config.json["classifier_classes"]`` names them.

    With ``init_from`` (a checkpoint or run folder of the same model type and sizes) a new run starts from
    that run's networks, its classifier excepted (:func:`warm_start`); ``config.json["training"]
    ["initialized_from"]`` records where from. A resumed run continues its own checkpoints instead.

    With ``max_wall_time_s`` the run stops after the first iteration at which its training time (classifier
    pre-training included; checkpoints and validation excluded, as ``wall_time_s``) reaches the budget: a
    checkpoint, a validation and the final model are written as at the last iteration, and
    ``config.json["training"]`` records ``stopped_by: "time budget"``. The learning-rate schedule stays the
    one of ``train_cfg.iterations``, so two models given the same budget and iterations are trained alike
    (an equal-wall-clock comparison); ``resume=True`` with a larger budget continues the run.

    Args:
        domain_a, domain_b (DomainData): from :func:`emocore.extraction.prepare_domains`; their ``train``
            pairs are the training data, ``validation`` pairs the validation conversions, ``stats`` the
            normalization and prosody statistics.
        feature_cfg (FeatureConfig): how the features were extracted (saved for conversion).
        model_cfg (ModelConfig): network sizes; ``mcep_dim`` must equal ``feature_cfg.mcep_dim``.
        train_cfg (TrainConfig): everything else.
        model_dir: the model folder.
        resume: continue from the newest checkpoint in ``model_dir``.
        tensorboard_log_dir: write TensorBoard events there (``None``: none).
        output_dir: write validation conversions there (``None``: none).
        progress: tqdm bar and a printed classifier summary.
        callbacks: called as ``callback(iteration, logs, model)`` after every iteration (after its
            checkpoint and validation); ``logs`` holds the running loss means.
        run_eagerly: run the training step eagerly (debugging, tests) instead of as a ``tf.function``.
        model_name: recorded in ``config.json`` (the original CLI's ``--model_name``).
        model_type: ``"cyclegan"`` or ``"munit"``.
        munit_cfg: EmoMUNIT's :class:`~emocore.config.MunitConfig` (``model_type="munit"`` only; ``None``:
            the defaults).
        max_wall_time_s: training-time budget in seconds (``None``: run all ``train_cfg.iterations``).
        contrast_domains (Sequence[DomainData]): further emotion classes for the classifier (their ``train``
            and ``validation`` utterances, their own ``stats``).
        init_from: warm-start a new run from this checkpoint or run folder.

    Returns:
        list[dict]: the history, one row per logged iteration: ``iteration``, each loss of
        :data:`LOSS_NAMES` (:data:`emocore.munit.LOSS_NAMES` for EmoMUNIT), ``gen_lr``, ``disc_lr``,
        ``wall_time_s``. Also written to ``model_dir/history.csv``.

    Raises:
        TrainingDivergedError: a loss became NaN or infinite; the newest checkpoint on disk is the last
            good one.
        ParameterError: inconsistent configs, no usable training crops, or ``model_dir`` already holds a
            run and ``resume`` is off.
    """
    model_dir = Path(model_dir)
    output_dir = None if output_dir is None else Path(output_dir)
    if model_type not in TRAINING_MODEL_TYPES:
        raise ParameterError(f"unknown model type {model_type!r}; known: {TRAINING_MODEL_TYPES}")
    if model_type == "munit" and munit_cfg is None:
        munit_cfg = MunitConfig()
    if max_wall_time_s is not None and not max_wall_time_s > 0:
        raise ParameterError(f"max_wall_time_s must be positive, got {max_wall_time_s}")
    if model_cfg.mcep_dim != feature_cfg.mcep_dim:
        raise ParameterError(f"model_cfg.mcep_dim={model_cfg.mcep_dim} but feature_cfg.mcep_dim={feature_cfg.mcep_dim}")
    for data in (domain_a, domain_b):
        if not data.train:
            raise ParameterError(f"domain {data.name!r} has no training utterances")
    names = (domain_a.stats.name, domain_b.stats.name)
    contrast_domains = list(contrast_domains)
    classes = [*names, *(d.stats.name for d in contrast_domains)]
    if len(set(classes)) != len(classes):
        raise ParameterError(f"the emotion classes must differ, got {classes}")
    if contrast_domains and train_cfg.lambda_class <= 0:
        raise ParameterError("contrast_domains train the emotion classifier, which lambda_class=0 leaves out")
    if train_cfg.lambda_class > 0 and model_cfg.n_emotions != len(classes):
        raise ParameterError(f"model_cfg.n_emotions={model_cfg.n_emotions} but the classifier has {len(classes)} "
                             f"classes ({', '.join(classes)})")
    if train_cfg.lambda_class <= 0:
        classes = list(names)
    feats_a, feats_b = [f for _, f in domain_a.train], [f for _, f in domain_b.train]
    checkpoint = latest_checkpoint(model_dir) if resume else None
    if not resume and _checkpoint_steps(model_dir):
        raise ParameterError(f"{model_dir} already holds a training run; resume it (resume=True, --resume) "
                             "or choose another model_dir")
    config_path = model_dir / "config.json"
    if checkpoint is not None and config_path.is_file():
        previous = json.loads(config_path.read_text())
        _check_resume_config(previous, feature_cfg, model_cfg, train_cfg, names, classes)
        if (previous.get("model_type"), previous.get("munit")) != (model_type, munit_cfg and asdict(munit_cfg)):
            raise ParameterError(f"resume: this run trains a {previous.get('model_type')!r} model "
                                 f"(munit config {previous.get('munit')}); start a new model_dir instead")
        model_name = model_name if model_name is not None else previous.get("model_name")

    model = build_training_model(model_type, model_cfg, train_cfg, munit_cfg=munit_cfg, run_eagerly=run_eagerly)
    conv = ConversionModel(feature_cfg, domain_a.stats, domain_b.stats, mapper=model.mapper())
    data_rng = np.random.default_rng(train_cfg.seed)
    history: list[dict] = []
    start_iteration, wall_time_s = 0, 0.0
    training_info = {"started": _now(), "resumed": []}
    if checkpoint is not None:
        state = load_checkpoint(model, checkpoint)
        data_rng.bit_generator.state = state["rng_state"]
        start_iteration, wall_time_s, history = state["iteration"], state["wall_time_s"], state["history"]
        training_info = {**state["training_info"], "resumed": state["training_info"]["resumed"] + [start_iteration]}
        if progress:
            tqdm.write(f"resuming {model_dir} at iteration {start_iteration} from {checkpoint.name}")
    elif resume:
        log.info("resume: no checkpoint in %s; starting from scratch", model_dir)
    if init_from is not None and checkpoint is None:
        training_info["initialized_from"] = warm_start(model, init_from)
        if progress:
            tqdm.write(f"warm start from {training_info['initialized_from']['checkpoint']}")

    def run_config(status: str) -> dict:
        extra = {"munit": asdict(munit_cfg)} if munit_cfg is not None else {}
        contrast = {"contrast": [_domain_dict(d) for d in contrast_domains]} if contrast_domains else {}
        return {"model": asdict(model_cfg), **extra, "train": asdict(train_cfg), "model_name": model_name,
                "classifier_classes": classes,
                "domains": {"a": _domain_dict(domain_a), "b": _domain_dict(domain_b), **contrast},
                "training": {**training_info, "status": status, "iterations_done": iteration,
                             "wall_time_s": round(wall_time_s, 3), "max_wall_time_s": max_wall_time_s,
                             "updated": _now()}}

    iteration = start_iteration
    conv.save(model_dir, run_config("training"), weights=False)

    if model.classifier is not None and checkpoint is None:
        t0 = time.perf_counter()
        result = pretrain_classifier(model.classifier, feats_a, feats_b, domain_a.stats, domain_b.stats, train_cfg,
                                     np.random.default_rng([train_cfg.seed, 1]),
                                     val_a=[f for _, f in domain_a.validation], val_b=[f for _, f in domain_b.validation],
                                     contrast=[([f for _, f in d.train], [f for _, f in d.validation], d.stats)
                                               for d in contrast_domains],
                                     run_eagerly=run_eagerly, progress=progress)
        wall_time_s += time.perf_counter() - t0
        training_info["classifier"] = result
        acc = result["val_accuracy"]
        labels = ", ".join(f"{name}={i}" for i, name in enumerate(classes))
        summary = (f"emotion classifier ({labels}) after {result['steps']} steps: "
                   + (f"validation accuracy {acc:.3f} on {result['n_val']} utterances" if acc is not None
                      else "no validation utterances") + f", last batch accuracy {result['train_accuracy']:.3f}")
        log.info(summary)
        if progress:
            tqdm.write(summary)
        conv.save(model_dir, run_config("training"), weights=False)

    gen_schedule, disc_schedule = learning_rate_schedules(train_cfg)
    tensorboard = _TensorBoard(tensorboard_log_dir) if tensorboard_log_dir is not None else None
    classifier_result = training_info.get("classifier") or {}
    if tensorboard is not None and checkpoint is None and classifier_result.get("val_accuracy") is not None:
        tensorboard.scalars(0, {"classifier/val_accuracy": classifier_result["val_accuracy"]})
    validation = {"A2B": domain_a.validation, "B2A": domain_b.validation}
    validate = train_cfg.validate_every > 0 and (output_dir is not None or tensorboard is not None)
    last_checkpoint = checkpoint
    model.reset_metrics()
    bar = tqdm(total=train_cfg.iterations, initial=start_iteration,
               desc="EmoMUNIT" if model_type == "munit" else "EmoCycleGAN", unit="it",
               disable=not progress)
    try:
        t_last = time.perf_counter()
        for iteration in range(start_iteration + 1, train_cfg.iterations + 1):
            real_a, log_f0_a = sample_segments(feats_a, train_cfg.n_frames, train_cfg.batch_size, data_rng,
                                               domain_a.stats, train_cfg.min_voiced_fraction)
            real_b, log_f0_b = sample_segments(feats_b, train_cfg.n_frames, train_cfg.batch_size, data_rng,
                                               domain_b.stats, train_cfg.min_voiced_fraction)
            logs = model.train_on_segments(real_a, real_b, log_f0_a, log_f0_b)
            now = time.perf_counter()
            wall_time_s += now - t_last
            t_last = now
            bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
            if bad:
                raise TrainingDivergedError(iteration, bad, last_checkpoint)
            out_of_time = max_wall_time_s is not None and wall_time_s >= max_wall_time_s
            last = iteration == train_cfg.iterations or out_of_time
            is_checkpoint = iteration % train_cfg.checkpoint_every == 0 or last
            validating = validate and (iteration % train_cfg.validate_every == 0 or last)
            if iteration % train_cfg.log_every == 0 or is_checkpoint:
                step = iteration - 1  # the optimizers' step counter during this iteration
                row = {"iteration": iteration, **logs,
                       "gen_lr": float(ops.convert_to_numpy(gen_schedule(step))),
                       "disc_lr": float(ops.convert_to_numpy(disc_schedule(step))),
                       "wall_time_s": round(wall_time_s, 3)}
                history.append(row)
                if tensorboard is not None:
                    tensorboard.scalars(iteration, {f"loss/{k}": v for k, v in logs.items()}
                                        | {"lr/gen": row["gen_lr"], "lr/disc": row["disc_lr"]})
                bar.set_postfix(g=f"{logs['gen_total']:.3f}", d=f"{logs['disc_a'] + logs['disc_b']:.3f}")
                model.reset_metrics()
            if is_checkpoint or validating:
                conv.fit_styles(feats_a, feats_b)  # MUNIT: mean styles from the current encoders (CycleGAN: none)
            if is_checkpoint:
                weights = model.generator_variables + model.discriminator_variables
                if not all(np.all(np.isfinite(ops.convert_to_numpy(w))) for w in weights):
                    raise TrainingDivergedError(iteration, {"network_weights": float("nan")}, last_checkpoint)
                state = {"rng_state": data_rng.bit_generator.state, "wall_time_s": wall_time_s, "history": history,
                         "training_info": training_info}
                last_checkpoint = save_checkpoint(model, model_dir, iteration, state, keep=train_cfg.keep_checkpoints)
                conv.mapper.save_extra(last_checkpoint)  # the checkpoint's own mean styles
            if validating:
                _validate(conv, validation, iteration, train_cfg.n_validation_files, output_dir, tensorboard)
            for callback in callbacks:
                callback(iteration, logs, model)
            bar.update()
            t_last = time.perf_counter()  # checkpoints, validation and callbacks are not training time
            if out_of_time:
                training_info["stopped_by"] = "time budget"
                if progress:
                    tqdm.write(f"time budget of {max_wall_time_s:.0f} s reached at iteration {iteration}")
                break
    except TrainingDivergedError:
        conv.save(model_dir, run_config("diverged"), weights=False)
        write_history_csv(history, model_dir / "history.csv")
        raise
    finally:
        bar.close()
        if tensorboard is not None:
            tensorboard.close()

    conv.fit_styles(feats_a, feats_b)
    conv.save(model_dir, run_config("complete"))
    write_history_csv(history, model_dir / "history.csv")
    return history


def limit_cpu_threads(n_threads: int) -> None:
    """Run TensorFlow's ops on at most ``n_threads`` CPU threads (call before the first TensorFlow op)."""
    if n_threads < 1:
        raise ParameterError(f"n_threads must be at least 1, got {n_threads}")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(n_threads)
    tf.config.threading.set_inter_op_parallelism_threads(n_threads)


def _domain_dict(data) -> dict:
    domain = getattr(data, "domain", None)
    values = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(domain).items()} if domain else {}
    return {**values, "name": data.name, "n_train": len(data.train), "n_validation": len(data.validation),
            "validation_text_ids": sorted({utt.text_id for utt, _ in data.validation})}


def load_model_config(model_dir: str | Path) -> tuple[FeatureConfig, ModelConfig, TrainConfig]:
    """The three configs a model folder was trained with (from its ``config.json``)."""
    config = json.loads((Path(model_dir) / "config.json").read_text())
    return (from_dict(FeatureConfig, config["feature"]), from_dict(ModelConfig, config["model"]),
            from_dict(TrainConfig, config["train"]))


__all__ = [
    "CycleGANVC", "build_cyclegan", "build_training_model", "classifier_accuracy", "classifier_features",
    "latest_checkpoint", "limit_cpu_threads", "load_checkpoint", "warm_start", "load_model_config",
    "normalized_log_f0", "pretrain_classifier", "sample_segments", "save_checkpoint", "spectrogram_image",
    "train", "write_history_csv"
]
