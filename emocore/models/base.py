"""What every model type implements (Protocols), its registry entry (:class:`ModelSpec`) and the shared GAN step.

A model type is two things:

- a **converter** (:class:`Converter`): the trained networks that turn one utterance's WORLD features of a
  source emotion into those of a target emotion. :class:`MappingConverter` is the usual base: it converts the
  MCEPs with the model's networks (:meth:`MappingConverter.convert_mcep`) and log F0 and the power envelope with
  the log-Gaussian transform (:meth:`MappingConverter.convert_prosody`); a model that predicts prosody itself
  overrides the latter. The stream switches ``f0``, ``power`` and ``mcep`` of the ablation mean the same
  either way: off leaves that stream as it was in the source.
- a **training model** (:class:`TrainingModel`): what the loop of :mod:`emocore.training` drives. Every GAN
  here subclasses :class:`GAN` (frozen classifier, loss trackers, two optimizers, :meth:`GAN.apply_updates`);
  models trained between two emotions subclass :class:`TwoDomainGAN`, whose
  :meth:`~TwoDomainGAN.train_step` is the training step (its gradient tapes and updates, :meth:`GAN.tapes` and
  :meth:`GAN.apply_updates`, are the TensorFlow-specific code of training, with the replicas' gradient
  average of :meth:`GAN.apply_updates`, :func:`split_batch`); they give only their generator objective. Its
  optimizers follow CycleGAN-VC's schedule (:class:`ConstantThenLinearDecay`).

Conversion calls the networks through :func:`infer`: compiled once per network under TensorFlow.

A :class:`ModelSpec` names the builders of both; :mod:`emocore.models` keeps them in its registry, the one
place that knows the model types by name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import re
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import keras
import numpy as np
from keras import ops

import emocore.models.losses as losses
from emocore.config import ModelConfig, TrainConfig, from_dict
from emocore.dsp import prosody
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.io import atomic_path
from emocore.models.optimizers import FusedAdam
from emocore.models.precision import set_convolution_precision

# the emotion classifier's class of each domain (contrast emotions follow from 2)
EMOTION_INDEX_A = 0
EMOTION_INDEX_B = 1
WEIGHTS_SUFFIX = ".weights.h5"


# ---------------------------------------------------------------------- conversion side


_COMPILED_INFERENCE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: False: :func:`infer` calls networks eagerly, as before issue 16 (``emocore-bench conversion``'s baseline)
COMPILE_INFERENCE = True


def infer(network: keras.Model, inputs):
    """``network(inputs, training=False)`` as numpy, through a compiled function under the TensorFlow backend.

    Called eagerly, a Keras network pays Python overhead per layer on every call: 0.24 s for 400 frames of the
    shipped EmoStarGAN generator on this project's 2-core machine, against 0.02 s for the same call in a
    ``tf.function`` (``emocore-bench conversion`` measures it). The function is traced once per network with the
    time axis left open (``None``), so utterances of every length share it; it reads the network's variables,
    so weights changed later (training, ``load_weights``) are used. Under another backend the network is called
    as it is.

    Args:
        network (keras.Model): a functional network (its ``inputs`` give the signature).
        inputs: one array, or a list of arrays for a network with several inputs (numpy, float32).

    Returns:
        ndarray: the network's output.
    """
    if keras.backend.backend() != "tensorflow" or not COMPILE_INFERENCE:
        return ops.convert_to_numpy(network(inputs, training=False))
    function = _COMPILED_INFERENCE.get(network)
    if function is None:
        import tensorflow as tf

        several = isinstance(network.inputs, (list, tuple)) and len(network.inputs) > 1
        signature = [tf.TensorSpec(shape=tensor.shape, dtype=tensor.dtype) for tensor in network.inputs]
        owner = weakref.ref(network)  # the cache must not keep the network alive

        def call(*arrays):
            return owner()(list(arrays) if several else arrays[0], training=False)

        function = tf.function(call, input_signature=signature, autograph=False)
        _COMPILED_INFERENCE[network] = function
    arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return ops.convert_to_numpy(function(*arrays))


@dataclass(frozen=True)
class Emotion:
    """One emotion of a model, as its converter sees it.

    Attributes:
        index (int): its place in the model's list of emotions (0, 1, ...): the emotion classifier's class and
            the slot of its networks (a CycleGAN's ``a`` and ``b``).
        stats (DomainStats): its statistics (normalization of MCEPs, log F0, power).
    """

    index: int
    stats: DomainStats

    @property
    def name(self) -> str:
        return self.stats.name


@runtime_checkable
class Converter(Protocol):
    """The trained networks of a model type, converting one utterance's features between two of its emotions.

    :class:`emocore.conversion.ConversionModel` holds one; it saves :meth:`networks` as ``<name>.weights.h5``
    and :attr:`extra_files` through :meth:`save_extra` / :meth:`load_extra`.
    """

    extra_files: tuple[str, ...]

    def networks(self) -> dict[str, keras.Model]:
        """The networks conversion needs, by file-name stem."""

    def convert(self, feats: WorldFeatures, source: Emotion, target: Emotion, *, f0: bool | str = True,
                power: bool | str = True, mcep: bool = True, ap: bool = True, rhythm: bool = False,
                **options) -> WorldFeatures:
        """``T`` frames of ``source`` to ``T`` frames of ``target`` (another number with ``rhythm``); a switch set
        to False leaves that stream as it was (``ap`` on: the aperiodicity converted where the model type measured
        how the emotions change it, else copied); ``f0`` may also name a method (``"log-gaussian"``, ...: those the
        model type knows); ``options``: the model type's own, e.g. EmoMUNIT's style."""

    def check_options(self, options: dict) -> None:
        """Raise :class:`~emocore.exceptions.ParameterError` for options this converter does not take."""

    def fit(self, train_feats: Sequence[Sequence[WorldFeatures]], emotions: Sequence[Emotion]) -> None:
        """Derive what conversion takes from the training utterances, one list per emotion (e.g. mean styles)."""

    def save_extra(self, folder: str | Path) -> None:
        """Write :attr:`extra_files` into ``folder``."""

    def load_extra(self, folder: str | Path) -> None:
        """Read :attr:`extra_files` from ``folder`` (those it has)."""


class MappingConverter:
    """A :class:`Converter` that maps MCEPs with networks and prosody with the log-Gaussian transform.

    A subclass defines :meth:`networks` and :meth:`convert_mcep`; one that converts prosody itself overrides
    :meth:`convert_prosody`; one with files beyond its weights sets :attr:`extra_files` and overrides
    :meth:`fit`, :meth:`save_extra` and :meth:`load_extra`.
    """

    extra_files: tuple[str, ...] = ()

    def networks(self) -> dict[str, keras.Model]:
        raise NotImplementedError

    def convert(self, feats: WorldFeatures, source: Emotion, target: Emotion, *, f0: bool | str = True,
                power: bool | str = True, mcep: bool = True, ap: bool = True, rhythm: bool = False,
                **options) -> WorldFeatures:
        """:meth:`convert_prosody`, then the MCEPs through :meth:`convert_mcep` when ``mcep`` is on.

        Returns:
            WorldFeatures: ``T`` frames; aperiodicity (whatever ``ap`` says: a model of one speaker's two emotions
            has no measure of how they change it) and ``n_samples`` unchanged.

        Raises:
            ParameterError: ``rhythm``, or an F0 or power method other than the log-Gaussian transform: a model of
                one speaker's two emotions has neither a contour model nor contour or rhythm statistics.
        """
        if rhythm:
            raise ParameterError("rhythm: this model type converts one speaker's two emotions and has no rhythm "
                                 "statistics; the rhythm stream is EmoStarGAN's")
        for name, value in (("f0", f0), ("power", power)):
            if value not in (True, False, None, "log-gaussian"):
                raise ParameterError(f"{name}={value!r}: this model type converts {name} by the log-Gaussian "
                                     "transform only (True, False or 'log-gaussian')")
        out = self.convert_prosody(feats, source, target, f0=bool(f0), power=bool(power))
        if mcep:
            out = out.replace(mcep=self.convert_mcep(np.asarray(feats.mcep), source, target, **options))
        elif options:
            self.check_options(options)
        return out

    def check_options(self, options: dict) -> None:
        """Refuse options this converter does not know (a subclass with options overrides this)."""
        if options:
            raise ParameterError(f"{', '.join(sorted(options))}: this model type takes no conversion options "
                                 "(style, reference, seed and intensity are EmoMUNIT's: they apply to MUNIT models only)")

    def convert_prosody(self, feats: WorldFeatures, source: Emotion, target: Emotion, *, f0: bool,
                        power: bool) -> WorldFeatures:
        """Log F0 and the power envelope by the log-Gaussian transform (:func:`emocore.dsp.prosody.convert_prosody`)."""
        return prosody.convert_prosody(feats, source.stats, target.stats, f0=f0, power=power)

    def convert_mcep(self, mcep: np.ndarray, source: Emotion, target: Emotion, **options) -> np.ndarray:
        """Unnormalized MCEPs ``(T, D)`` of ``source`` to those of ``target``, float64."""
        raise NotImplementedError

    def fit(self, train_feats, emotions) -> None:
        """Nothing to derive from the training utterances."""

    def save_extra(self, folder: str | Path) -> None:
        """No files beyond the weights."""

    def load_extra(self, folder: str | Path) -> None:
        """No files beyond the weights."""


def pair_index(source: Emotion, target: Emotion, n_emotions: int = 2) -> tuple[int, int]:
    """``(source.index, target.index)``, checked to be two different emotions of a model with ``n_emotions``.

    Raises:
        ParameterError: the same emotion twice, or an index the model does not have.
    """
    pair = (source.index, target.index)
    if source.index == target.index or not all(0 <= i < n_emotions for i in pair):
        raise ParameterError(f"this model converts between {n_emotions} emotions (0..{n_emotions - 1}); "
                             f"cannot convert {source.name!r} to {target.name!r}")
    return pair


def save_weights_atomic(network: keras.Model, path: str | Path) -> Path:
    """``network.save_weights(path)`` through :func:`emocore.io.atomic_path` (``path`` ends in ``.weights.h5``)."""
    with atomic_path(path) as tmp:
        network.save_weights(tmp)
    return Path(path)


def load_weights(network: keras.Model, path: str | Path, described_by: str = "config.json") -> None:
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
            raise ModelFolderError(path, f"its weights do not fit the network {described_by} describes (its "
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


# ---------------------------------------------------------------------- training side


@runtime_checkable
class TrainingModel(Protocol):
    """What the loop of :mod:`emocore.training` needs from a model type while it trains.

    A :class:`TwoDomainGAN` subclass has all of it. ``checkpoint_variables`` (optional) lists state beyond
    networks and optimizers that a checkpoint must keep (e.g. a random seed generator's). ``warm_start_fallbacks``
    (optional) maps a network that a run to warm-start from may not have to the one of that run it starts from
    (EmoStarGAN with a moving average: ``{"generator_online": "generator"}``).
    """

    classifier: keras.Model | None
    gen_optimizer: keras.optimizers.Optimizer
    disc_optimizer: keras.optimizers.Optimizer

    @property
    def generator_variables(self) -> list: ...

    @property
    def discriminator_variables(self) -> list: ...

    def build_optimizers(self) -> None: ...

    def train_on_segments(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
        """One update on one batch: ``(normalized MCEPs (B, T, D), normalized log F0 (B, T))`` per emotion."""

    def networks(self) -> dict[str, keras.Model]:
        """Every network a checkpoint holds, by file-name stem."""

    def converter(self) -> Converter:
        """A converter on the live networks (validation conversions during training, the final model)."""

    def prepare(self, domains: Sequence) -> None:
        """Take what the model needs from the prepared emotions before training (EmoStarGAN: the speaker
        normalization of emotions pooled over speakers; :class:`GAN`: nothing)."""

    def reset_metrics(self) -> None: ...


@dataclass(frozen=True)
class ModelSpec:
    """A model type, as the registry of :mod:`emocore.models` knows it: everything else asks for it by ``name``.

    Attributes:
        name (str): the ``model_type`` of run records and ``--model`` of ``emocore-train``.
        title (str): for progress bars and plots, e.g. ``"EmoCycleGAN"``.
        build_training (Callable): ``(model_cfg, train_cfg, options, *, run_eagerly[, jit_compile]) -> TrainingModel``: built,
            compiled, optimizers built, weights from ``keras.utils.set_random_seed(train_cfg.seed)``.
        build_converter (Callable): ``(model_cfg, options) -> Converter`` with untrained networks (a model
            folder's weights are loaded into them).
        options (type | None): the model type's own frozen dataclass of settings (EmoMUNIT's
            :class:`~emocore.config.MunitConfig`); recorded as the run record's ``options``.
        loss_panels (tuple): two tuples of loss names worth plotting side by side (the adversarial game, the
            reconstruction terms).
        n_emotions (int | None): how many emotions one model converts between; ``None``: any number from 2,
            the model's ``ModelConfig.n_emotions``.
        options_optional (bool): a record without ``options`` means the defaults (the model type gained its
            options after models of it were shipped); otherwise such a record is refused.
    """

    name: str
    title: str
    build_training: Callable[..., TrainingModel]
    build_converter: Callable[..., Converter]
    options: type | None = None
    loss_panels: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    n_emotions: int | None = 2
    options_optional: bool = False

    def parse_options(self, values: dict | Any | None):
        """The options dataclass from a record's dict (or an instance, or ``None`` for the defaults); ``None``
        for a model type without options.

        Raises:
            ParameterError: options given to a model type that has none, or of another type.
        """
        if self.options is None:
            if values:
                raise ParameterError(f"model type {self.name!r} takes no options, got {values}")
            return None
        if values is None:
            return self.options()
        if isinstance(values, dict):
            return from_dict(self.options, values)
        if not isinstance(values, self.options):
            raise ParameterError(f"model type {self.name!r} takes {self.options.__name__} options, got "
                                 f"{type(values).__name__}")
        return values

    def default_options(self, smoke: bool = False, **overrides):
        """The model type's default options (their ``smoke()`` variant with ``smoke``), with ``overrides`` set;
        ``None`` if it has none.

        Raises:
            ParameterError: overrides for a model type without options, or names its options do not have.
        """
        options = self.parse_options(None)
        options = options.smoke() if smoke and hasattr(options, "smoke") else options
        if not overrides:
            return options
        if options is None:
            raise ParameterError(f"model type {self.name!r} takes no options, got {sorted(overrides)}")
        known = {f.name for f in dataclasses.fields(options)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ParameterError(f"{self.options.__name__} has no {', '.join(unknown)}; its options: {', '.join(sorted(known))}")
        for name, value in overrides.items():  # JSON from the command line: true, 16, 0.5; never "True" or "abc"
            default = getattr(options, name)
            fits = (isinstance(value, bool) if isinstance(default, bool) else
                    isinstance(value, (int, float)) and not isinstance(value, bool) if isinstance(default, float) else
                    isinstance(value, int) and not isinstance(value, bool) if isinstance(default, int) else
                    isinstance(value, type(default)))
            if not fits:
                raise ParameterError(f"{self.options.__name__}.{name} takes a {type(default).__name__} "
                                     f"(e.g. {json.dumps(default)}), got {value!r}")
        return dataclasses.replace(options, **overrides)


def missing_members(obj, protocol: type) -> list[str]:
    """The members of ``protocol`` (methods, properties, attributes) that ``obj`` lacks, in order; empty if none.

    A readable form of ``isinstance(obj, protocol)`` for a runtime-checkable Protocol: it names what is missing.
    """
    names = [name for name in protocol.__dict__ if not name.startswith("_")]
    names += [name for name in getattr(protocol, "__annotations__", {}) if name not in names]
    return [name for name in names if not hasattr(obj, name)]


def build_training_model(spec: ModelSpec, model_cfg: ModelConfig, train_cfg: TrainConfig, options=None, *,
                         run_eagerly: bool = False, jit_compile: bool = False) -> TrainingModel:
    """``spec.build_training`` with the options parsed (:meth:`ModelSpec.parse_options`); ``jit_compile`` compiles
    the training step with XLA (``emocore-bench training --xla`` measures whether that is faster). With
    ``train_cfg.precision`` other than float32 the networks' convolutions compute in it
    (:func:`~emocore.models.precision.set_convolution_precision`)."""
    extra = {"jit_compile": True} if jit_compile else {}  # a builder written before --xla need not take it
    model = spec.build_training(model_cfg, train_cfg, spec.parse_options(options), run_eagerly=run_eagerly, **extra)
    set_convolution_precision(model.networks().values(), train_cfg.precision)
    return model


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


def split_batch(strategy, batch: tuple):
    """A global batch of arrays ``(N, ...)`` as each replica's share: replica ``i`` of ``R`` gets rows
    ``i * N / R`` to ``(i + 1) * N / R`` of every array (the batch itself for one replica).

    Every worker of a multi-worker run draws the same global batch (the same seed) and takes its replicas' rows.

    Raises:
        ParameterError: ``N`` is not a multiple of ``R``.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return batch
    sizes = {len(array) for array in batch}
    if len(sizes) != 1 or next(iter(sizes)) % replicas:
        raise ParameterError(f"a global batch of {sorted(sizes)} crops cannot be split evenly over {replicas} replicas; "
                             "choose a batch size that makes it a multiple")
    share = next(iter(sizes)) // replicas

    def rows(context):
        start = context.replica_id_in_sync_group * share
        return tuple(array[start:start + share] for array in batch)

    return strategy.experimental_distribute_values_from_function(rows)


def distributed_step(step: Callable, strategy, *, run_eagerly: bool = False, jit_compile: bool = False) -> Callable:
    """``step(data) -> {name: scalar}`` run on every replica of ``strategy`` (each on its share of ``data``, from
    :func:`split_batch`), the results averaged over the replicas; a ``tf.function`` unless ``run_eagerly``.

    Keras' own ``train_function`` cannot average scalar logs under ``MultiWorkerMirroredStrategy`` in Keras 3
    (tensorflow/tensorflow#72388: "Invalid reduction dimension 0 for input with 0 dimensions"), so the GAN steps and
    the classifier's pre-training go through this instead.
    """
    import tensorflow as tf

    def run(data):
        logs = strategy.run(step, args=(data,))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for name, value in logs.items()}

    # autograph off: the steps branch in Python on Python values only (converting them cost seconds per trace)
    return run if run_eagerly else tf.function(run, reduce_retracing=True, jit_compile=jit_compile, autograph=False)


def classifier_step(classifier: keras.Model, optimizer: keras.optimizers.Optimizer) -> Callable:
    """One supervised update of an emotion classifier on one replica's ``(crops (B, T, C), labels (B,))``: the mean
    sparse cross-entropy of its logits, its gradient averaged over the replicas (as :meth:`GAN.apply_updates`).
    Returns ``{"loss", "accuracy"}`` of the crops; wrap it in :func:`distributed_step`."""
    import tensorflow as tf

    def step(data):
        crops, labels = data
        with tf.GradientTape() as tape:
            logits = classifier(crops, training=True)
            # the function, not the Loss class: that one divides by the replicas itself under a strategy
            loss = ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        grads = [g / replicas for g in tape.gradient(loss, classifier.trainable_variables)]
        optimizer.apply(grads, classifier.trainable_variables)
        correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int64")), "float32")
        return {"loss": loss, "accuracy": ops.mean(correct)}

    return step


def stacked_call(network: keras.Model, batches: list, training: bool) -> list:
    """``[network(batch) for batch in batches]`` in one call on the batches stacked, for a network that treats every
    crop on its own (each one here normalizes per crop): the compiled step holds one call instead of several.

    Args:
        batches: tensors of the same number of crops, or lists of the network's inputs (each of that number).
    """
    several = isinstance(batches[0], (list, tuple))
    n = ops.shape(batches[0][0] if several else batches[0])[0]
    if several:
        stacked = [ops.concatenate([batch[k] for batch in batches], axis=0) for k in range(len(batches[0]))]
    else:
        stacked = ops.concatenate(batches, axis=0)
    out = network(stacked, training=training)
    return [out[k * n:(k + 1) * n] for k in range(len(batches))]


class GAN(keras.Model):
    """What every GAN here shares: an optional frozen emotion classifier, loss trackers, and a generator and a
    discriminator optimizer (each with its own learning-rate schedule, :func:`make_optimizers`).

    A subclass sets :attr:`loss_names`, defines :attr:`generator_variables`, :attr:`discriminator_variables`,
    ``networks()`` and its ``train_step``.

    Args:
        classifier (keras.Model | None): a pre-trained emotion classifier; frozen here.
        lambda_class (float): its loss weight; with ``classifier=None`` or 0 the term is left out.
    """

    #: the logged losses, in order; ``gen_total`` among them
    loss_names: tuple[str, ...] = ()

    def __init__(self, classifier=None, lambda_class: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.classifier = classifier
        if classifier is not None:
            classifier.trainable = False
        self.lambda_class = lambda_class
        self.use_classifier = classifier is not None and lambda_class > 0
        self.trackers = [keras.metrics.Mean(name=name) for name in self.loss_names]
        self.gen_optimizer = self.disc_optimizer = None
        self._step_functions = {}  # by identity phase (step_function)
        self._last_step = None  # (identity phase, global batch) of the last run_step, for traced_step

    def prepare(self, domains: Sequence) -> None:
        """Take what the model needs from the prepared emotions (``DomainData``) before training: nothing here."""

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
        raise NotImplementedError

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

    @contextlib.contextmanager
    def tapes(self):
        """The step's two gradient tapes, ``(gen_tape, disc_tape)``, recording the forward pass together.

        The discriminators' tape records only what their variables touch: its gradient stops at the generated
        crops they judge. (One persistent tape for both losses also built the discriminator loss's backward pass
        through every generator call, thrown away: seconds of each compiled step's first trace.)
        """
        import tensorflow as tf

        with tf.GradientTape() as gen_tape, tf.GradientTape(watch_accessed_variables=False) as disc_tape:
            disc_tape.watch([v if isinstance(v, tf.Variable) else v.value for v in self.discriminator_variables])
            yield gen_tape, disc_tape

    def apply_updates(self, gen_tape, gen_loss, disc_tape, disc_loss) -> None:
        """Both updates from the tapes of :meth:`tapes`: the generator side on ``gen_loss``, the discriminators on
        ``disc_loss``, each with its own optimizer.

        Under a ``tf.distribute`` strategy of ``R`` replicas each replica's losses are means over its ``1/R`` of the
        global batch, and the optimizers sum the replicas' gradients; each gradient is divided by ``R`` first, so the
        update is the one of the whole global batch on one device (:mod:`emocore.training.distribute`)."""
        import tensorflow as tf

        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        gen_vars, disc_vars = self.generator_variables, self.discriminator_variables
        gen_grads = gen_tape.gradient(gen_loss, gen_vars)
        disc_grads = disc_tape.gradient(disc_loss, disc_vars)
        if replicas > 1:
            gen_grads = [None if g is None else g / replicas for g in gen_grads]
            disc_grads = [None if g is None else g / replicas for g in disc_grads]
        self.gen_optimizer.apply(gen_grads, gen_vars)
        self.disc_optimizer.apply(disc_grads, disc_vars)

    @property
    def identity_schedule(self) -> tuple[float, int] | None:
        """``(lambda_identity, identity_switch_off_step)`` of a model with CycleGAN-VC's identity loss; ``None``
        (the default): the model has none."""
        return None

    def identity_phase(self, step: int) -> bool | None:
        """Whether the identity loss counts at ``step`` (``None``: the model has none, :attr:`identity_schedule`).

        :meth:`run_step` decides it in Python before every step and keeps one compiled step per phase, so a
        compiled step holds only the generator passes it runs: tracing both branches of a ``keras.ops.cond`` (and
        their gradients) made the first step several times slower.
        """
        if self.identity_schedule is None:
            return None
        return bool(losses.identity_weight(step, *self.identity_schedule) > 0)

    def identity_weight(self, step, identity: bool | None):
        """The identity loss's weight: of a phase decided outside (:meth:`identity_phase`; a Python float, so only
        what runs is traced), or with ``identity=None`` of ``step`` (:func:`~emocore.models.losses.identity_weight`:
        a tensor for a tensor step, switched inside the graph)."""
        lambda_identity, switch_off_step = self.identity_schedule
        if identity is None:
            return losses.identity_weight(step, lambda_identity, switch_off_step)
        return float(lambda_identity) if identity else 0.0

    def step_function(self, identity: bool | None) -> Callable:
        """The compiled (unless ``run_eagerly``) :meth:`train_step` of one identity phase, built on first use."""
        if identity not in self._step_functions:
            step = self.train_step if identity is None else functools.partial(self.train_step, identity=identity)
            self._step_functions[identity] = distributed_step(step, self.distribute_strategy,
                                                              run_eagerly=self.run_eagerly,
                                                              jit_compile=self.jit_compile)
        return self._step_functions[identity]

    def run_step(self, batch: tuple) -> dict[str, float]:
        """One compiled (unless ``run_eagerly``) :meth:`train_step` on a global batch of arrays, split over the
        replicas of the model's ``tf.distribute`` strategy (:func:`split_batch`); returns each tracker's mean.

        The step counter is read here, in Python, to pick the compiled step of its identity phase
        (:meth:`identity_phase`): a resumed run picks the right one from its restored counter."""
        identity = self.identity_phase(int(ops.convert_to_numpy(self.step)))
        logs = self.step_function(identity)(split_batch(self.distribute_strategy, batch))
        self._last_step = (identity, batch)
        return {name: float(ops.convert_to_numpy(value)) for name, value in logs.items()}

    def traced_step(self):
        """The traced graph function (a ``ConcreteFunction``) of the last :meth:`run_step`, e.g. to count its
        operations or floating-point work (``emocore-bench training``); its trace is reused, not made again.

        Raises:
            ParameterError: no step has run yet, or the model runs eagerly (no graph).
        """
        if self._last_step is None or self.run_eagerly:
            raise ParameterError("no compiled training step has run yet" if self._last_step is None
                                 else "the model runs eagerly: its step has no graph")
        identity, batch = self._last_step
        return self.step_function(identity).get_concrete_function(split_batch(self.distribute_strategy, batch))

    def record_losses(self, values: dict) -> dict:
        """Update each tracker from ``values`` (by loss name); returns the trackers' running means."""
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}


class TwoDomainGAN(GAN):
    """What EmoCycleGAN and EmoMUNIT share: two LSGAN discriminators besides :class:`GAN`'s classifier,
    optimizers and trackers, and the one TensorFlow training step.

    A subclass sets :attr:`loss_names` and defines :attr:`generator_variables`, :meth:`generator_networks`
    and :meth:`generator_pass` (its generator objective, backend-neutral). One :meth:`train_step` feeds a
    batch ``(real_a, real_b, log_f0_a, log_f0_b)`` of normalized crops (:func:`emocore.training.sample_segments`) through
    :meth:`generator_pass`, adds both discriminators' LSGAN losses on the same forward pass, and updates the
    generator side and the discriminators with their own optimizers (:meth:`GAN.tapes`).

    Args:
        disc_a, disc_b (keras.Model): discriminators (:func:`emocore.build_discriminator`).
        classifier (keras.Model | None): a pre-trained emotion classifier; frozen here.
        lambda_class (float): its loss weight; with ``classifier=None`` or 0 the term is left out.
    """

    #: the logged losses, in order; ``gen_total``, ``disc_a`` and ``disc_b`` among them
    loss_names: tuple[str, ...] = ()

    def __init__(self, disc_a, disc_b, classifier=None, lambda_class: float = 0.0, **kwargs):
        super().__init__(classifier, lambda_class, **kwargs)
        self.disc_a, self.disc_b = disc_a, disc_b

    @property
    def discriminator_variables(self) -> list:
        return self.disc_a.trainable_variables + self.disc_b.trainable_variables

    def generator_pass(self, real_a, real_b, log_f0_a, log_f0_b):
        """``(terms, fake_a_scores, fake_b_scores)`` of one training batch; ``terms["total"]`` is minimized."""
        raise NotImplementedError

    def train_step(self, data, identity: bool | None = None):
        """One update of the generator side and both discriminators (their gradients through :meth:`GAN.tapes`).

        ``identity``: the phase of :meth:`identity_phase` (passed on to :meth:`generator_pass` unless ``None``)."""
        real_a, real_b, log_f0_a, log_f0_b = data
        phase = {} if identity is None else {"identity": identity}
        with self.tapes() as (gen_tape, disc_tape):
            terms, fake_a_scores, fake_b_scores = self.generator_pass(real_a, real_b, log_f0_a, log_f0_b, **phase)
            disc_a_loss = losses.lsgan_discriminator_loss(self.disc_a(real_a, training=True), fake_a_scores)
            disc_b_loss = losses.lsgan_discriminator_loss(self.disc_b(real_b, training=True), fake_b_scores)
            disc_total = disc_a_loss + disc_b_loss
        self.apply_updates(gen_tape, terms["total"], disc_tape, disc_total)
        return self.record_losses({**terms, "gen_total": terms["total"], "disc_a": disc_a_loss, "disc_b": disc_b_loss})

    def train_on_segments(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
        """Run :meth:`train_step` on one batch (compiled unless ``run_eagerly``).

        Args:
            crops: ``[(real_a, log_f0_a), (real_b, log_f0_b)]``: each emotion's normalized MCEP crops
                ``(B, T, D)`` and normalized log-F0 channels ``(B, T)`` (:func:`emocore.training.sample_segments`).

        Returns:
            dict[str, float]: each tracker's mean since the last ``reset_metrics()``.
        """
        if len(crops) != 2:
            raise ParameterError(f"a two-emotion GAN trains on crops of 2 emotions, got {len(crops)}")
        (real_a, log_f0_a), (real_b, log_f0_b) = crops
        return self.run_step((real_a, real_b, log_f0_a, log_f0_b))

    def generator_networks(self) -> dict[str, keras.Model]:
        """The generator side's networks, by file name stem."""
        raise NotImplementedError

    def converter(self) -> Converter:
        """A converter on the live generator-side networks."""
        raise NotImplementedError

    def networks(self) -> dict[str, keras.Model]:
        """The networks a checkpoint holds, by file name stem."""
        nets = {**self.generator_networks(), "disc_a": self.disc_a, "disc_b": self.disc_b}
        if self.classifier is not None:
            nets["classifier"] = self.classifier
        return nets


def compile_gan(model: GAN, train_cfg: TrainConfig, *, run_eagerly: bool = False, jit_compile: bool = False,
                generator_average: float = 0.0) -> GAN:
    """Compile ``model`` with :func:`make_optimizers` and build the optimizers' variables; returns ``model``."""
    gen_optimizer, disc_optimizer = make_optimizers(train_cfg, generator_average)
    model.compile(gen_optimizer=gen_optimizer, disc_optimizer=disc_optimizer, run_eagerly=run_eagerly,
                  jit_compile=jit_compile)
    model.build_optimizers()
    return model


def make_optimizers(train_cfg: TrainConfig, generator_average: float = 0.0) -> tuple[keras.optimizers.Adam,
                                                                                     keras.optimizers.Adam]:
    """The generator and discriminator Adam optimizers with :func:`learning_rate_schedules` (:class:`FusedAdam`:
    Keras' Adam update in one op per variable).

    With ``generator_average`` > 0 the generator's optimizer also keeps the exponential moving average of the
    weights it updates, with that momentum (Keras' ``use_ema``, never written over the weights themselves:
    :func:`moving_averages` reads it); it is one of the optimizer's variables, so checkpoints keep it."""
    gen_schedule, disc_schedule = learning_rate_schedules(train_cfg)
    adam = dict(beta_1=train_cfg.beta_1, beta_2=train_cfg.beta_2)
    average = dict(use_ema=True, ema_momentum=generator_average) if generator_average > 0 else {}
    return (FusedAdam(gen_schedule, name="gen_adam", **adam, **average),
            FusedAdam(disc_schedule, name="disc_adam", **adam))


def moving_averages(optimizer: keras.optimizers.Optimizer) -> list:
    """The moving averages an optimizer made with ``use_ema`` keeps, one per variable it updates, in their order.

    Raises:
        ParameterError: it keeps none (built without ``use_ema``, or not built yet).
    """
    averages = getattr(optimizer, "_model_variables_moving_average", None)  # Keras 3 keeps them under this name
    if not getattr(optimizer, "use_ema", False) or not averages:
        raise ParameterError(f"{optimizer.name} keeps no moving average of the weights (use_ema, built)")
    return list(averages)
