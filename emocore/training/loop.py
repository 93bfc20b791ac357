"""The training loop of every model type: :func:`train`, in the readable parts it is made of.

A run trains one model type of the registry (:mod:`emocore.models`) on a list of emotions. In order:

1. :func:`check_run`: the settings fit together (sizes, emotion classes, a fresh folder or a resume);
2. the run record (:class:`~emocore.record.RunRecord`, :func:`initial_record`) and the statistics are written,
   so that a folder is a model folder from its first second;
3. the training model is built (``spec.build_training``) and restored from a checkpoint or warm-started;
4. the emotion classifier is pre-trained and frozen (:func:`emocore.training.classifier.pretrain_classifier`);
5. iterations (:class:`_Run`): a batch of crops per emotion (:class:`~emocore.training.sampling.CropSampler`, drawn
   ahead in a background thread by :class:`~emocore.training.sampling.Prefetcher`), one update, then logging, checkpoints and validation conversions when due;
6. the final model: the converter's networks, ``history.csv`` and the completed record.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from keras import ops
from tqdm.auto import tqdm

from emocore import models
from emocore.config import FeatureConfig, ModelConfig, TrainConfig
from emocore.conversion import ConversionModel
from emocore.exceptions import ModelFolderError, ParameterError, TrainingDivergedError
from emocore.models.base import (
    ModelSpec,
    TrainingModel,
    build_training_model,
    learning_rate_schedules,
    missing_members,
)
from emocore.record import CONFIG_NAME, EmotionEntry, RunRecord, read_record, stats_file_name
from emocore.training.checkpoints import (
    checkpoint_steps,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    warm_start,
)
from emocore.training.classifier import pretrain_classifier
from emocore.training.distribute import describe, make_strategy, n_workers, worker_index
from emocore.training.monitor import TensorBoard, now, validate, write_history_csv
from emocore.training.sampling import CropSampler, Prefetcher

log = logging.getLogger(__name__)

DEFAULT_MODEL_TYPE = models.DEFAULT_MODEL_TYPE
HISTORY = "history.csv"

Callback = Callable[[int, dict, TrainingModel], None]


def emotion_entry(data, stats_file: str = "") -> EmotionEntry:
    """The run record's entry of a prepared domain (:class:`emocore.data.extraction.DomainData`)."""
    domain = getattr(data, "domain", None)
    values = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(domain).items()} if domain else {}
    return EmotionEntry(**values, name=data.name, stats_file=stats_file, n_train=len(data.train),
                        n_validation=len(data.validation),
                        validation_text_ids=tuple(sorted({utt.text_id for utt, _ in data.validation})))


def check_run(spec: ModelSpec, domains: Sequence, contrast: Sequence, feature_cfg: FeatureConfig,
              model_cfg: ModelConfig, train_cfg: TrainConfig, max_wall_time_s: float | None) -> list[str]:
    """Refuse settings that do not fit together; returns the emotion classifier's classes (names, in order).

    Raises:
        ParameterError: naming what does not fit.
    """
    n_emotions = model_cfg.n_emotions if spec.n_emotions is None else spec.n_emotions
    if len(domains) != n_emotions or len(domains) < 2:
        raise ParameterError(f"a {spec.title} model converts between {n_emotions} emotions"
                             + (" (ModelConfig.n_emotions)" if spec.n_emotions is None else "") + f", got {len(domains)}")
    if max_wall_time_s is not None and not max_wall_time_s > 0:
        raise ParameterError(f"max_wall_time_s must be positive, got {max_wall_time_s}")
    if model_cfg.mcep_dim != feature_cfg.mcep_dim:
        raise ParameterError(f"model_cfg.mcep_dim={model_cfg.mcep_dim} but feature_cfg.mcep_dim={feature_cfg.mcep_dim}")
    for data in domains:
        if not data.train:
            raise ParameterError(f"domain {data.name!r} has no training utterances")
    classes = [d.stats.name for d in (*domains, *contrast)]
    if len(set(classes)) != len(classes):
        raise ParameterError(f"the emotion classes must differ, got {classes}")
    if contrast and train_cfg.lambda_class <= 0:
        raise ParameterError("contrast_domains train the emotion classifier, which lambda_class=0 leaves out")
    if train_cfg.lambda_class > 0 and model_cfg.n_emotions != len(classes):
        raise ParameterError(f"model_cfg.n_emotions={model_cfg.n_emotions} but the classifier has {len(classes)} "
                             f"classes ({', '.join(classes)})")
    return classes if train_cfg.lambda_class > 0 else [d.stats.name for d in domains]


def initial_record(spec: ModelSpec, options, domains: Sequence, contrast: Sequence, classes: Sequence[str],
                   feature_cfg: FeatureConfig, model_cfg: ModelConfig, train_cfg: TrainConfig,
                   model_name: str | None) -> RunRecord:
    """The run record of a run before its first iteration (no ``training`` log yet)."""
    return RunRecord(
        model_type=spec.name, feature=feature_cfg, model=model_cfg,
        emotions=tuple(emotion_entry(d, stats_file_name(d.name)) for d in domains),
        options=asdict(options) if options is not None else None, train=train_cfg, model_name=model_name,
        classifier_classes=tuple(classes), contrast=tuple(emotion_entry(d) for d in contrast))


def _options(record: RunRecord):
    """A record's model options as its model type reads them (an EmoStarGAN record without options: the defaults)."""
    spec = models.MODELS.get(record.model_type)
    if spec is None or spec.options is None or (record.options is None and not spec.options_optional):
        return record.options
    return spec.parse_options(record.options)


def check_resume(previous: RunRecord, record: RunRecord, config_path: Path) -> None:
    """Refuse to continue a run with other emotions, classes, sizes or model type; warn of other training settings.

    Raises:
        ParameterError: naming what differs.
    """
    if previous.model_type != record.model_type or _options(previous) != _options(record):
        raise ParameterError(f"resume: this run trains a {previous.model_type!r} model (options {previous.options}); "
                             "start a new model_dir instead")
    if previous.classifier_classes and previous.classifier_classes != record.classifier_classes:
        raise ParameterError(f"resume: this run's emotion classifier tells {list(previous.classifier_classes)} apart, "
                             f"not {list(record.classifier_classes)}; start a new model_dir instead")
    if previous.feature != record.feature or previous.model != record.model:
        raise ParameterError(f"resume: the feature or model config differs from the one this run was started with "
                             f"(see {config_path}); start a new model_dir instead")
    if previous.emotion_names != record.emotion_names:
        raise ParameterError(f"resume: this run converts between {' and '.join(previous.emotion_names)}, not "
                             f"{' and '.join(record.emotion_names)}")
    old = asdict(previous.train) if previous.train is not None else {}
    changed = sorted(k for k, v in asdict(record.train).items() if old.get(k) != v)
    if changed:
        log.warning("resume: train config changed (%s); the continued run will not match an uninterrupted one",
                    ", ".join(changed))


class _Run:
    """The state of one run between iterations: the model, its record, history, time and the data generator."""

    def __init__(self, spec: ModelSpec, model: TrainingModel, conv: ConversionModel, record: RunRecord,
                 model_dir: Path, train_cfg: TrainConfig, max_wall_time_s: float | None):
        self.spec, self.model, self.conv, self.record = spec, model, conv, record
        self.model_dir, self.cfg, self.max_wall_time_s = model_dir, train_cfg, max_wall_time_s
        self.data_rng = np.random.default_rng(train_cfg.seed)
        self.history: list[dict] = []
        self.iteration, self.wall_time_s = 0, 0.0
        self.info: dict = {"started": now(), "resumed": []}
        self.last_checkpoint: Path | None = None

    def restore(self, checkpoint: Path) -> None:
        """Continue from ``checkpoint``: weights, optimizers, data generator, history, wall time."""
        state = load_checkpoint(self.model, checkpoint)
        self.data_rng.bit_generator.state = state["rng_state"]
        self.iteration, self.wall_time_s, self.history = state["iteration"], state["wall_time_s"], state["history"]
        self.info = {**state["training_info"], "resumed": state["training_info"]["resumed"] + [self.iteration]}
        self.last_checkpoint = checkpoint

    def save_record(self, status: str, *, weights: bool = False) -> None:
        """Write the statistics and the run record (with the weights and their fingerprint when ``weights``)."""
        training = {**self.info, "status": status, "iterations_done": self.iteration,
                    "wall_time_s": round(self.wall_time_s, 3), "max_wall_time_s": self.max_wall_time_s,
                    "updated": now()}
        self.conv.save(self.model_dir, dataclasses.replace(self.record, training=training), weights=weights)

    def pretrain_classifier(self, domains: Sequence, contrast: Sequence, run_eagerly: bool, progress: bool) -> None:
        """Pre-train and freeze the emotion classifier on every class; its result goes into the record."""
        t0 = time.perf_counter()
        classes = [(d.network_features("train"), d.network_features("validation"), d.stats)
                   for d in (*domains, *contrast)]
        result = pretrain_classifier(self.model.classifier, classes, self.cfg,
                                     np.random.default_rng([self.cfg.seed, 1]), run_eagerly=run_eagerly,
                                     progress=progress)
        self.wall_time_s += time.perf_counter() - t0
        self.info["classifier"] = result
        acc = result["val_accuracy"]
        labels = ", ".join(f"{name}={i}" for i, name in enumerate(self.record.classifier_classes))
        summary = (f"emotion classifier ({labels}) after {result['steps']} steps: "
                   + (f"validation accuracy {acc:.3f} on {result['n_val']} utterances" if acc is not None
                      else "no validation utterances") + f", last batch accuracy {result['train_accuracy']:.3f}")
        log.info(summary)
        if progress:
            tqdm.write(summary)

    def log_row(self, logs: dict, schedules, tensorboard: TensorBoard | None) -> None:
        """Append the running loss means and both learning rates to the history (and TensorBoard)."""
        step = self.iteration - 1  # the optimizers' step counter during this iteration
        gen_schedule, disc_schedule = schedules
        row = {"iteration": self.iteration, **logs, "gen_lr": float(ops.convert_to_numpy(gen_schedule(step))),
               "disc_lr": float(ops.convert_to_numpy(disc_schedule(step))), "wall_time_s": round(self.wall_time_s, 3)}
        self.history.append(row)
        if tensorboard is not None:
            tensorboard.scalars(self.iteration, {f"loss/{k}": v for k, v in logs.items()}
                                | {"lr/gen": row["gen_lr"], "lr/disc": row["disc_lr"]})

    def checkpoint(self) -> None:
        """Write a checkpoint (refused if a weight is not finite) with the converter's extra files."""
        model = self.model
        weights = model.generator_variables + model.discriminator_variables
        if not all(np.all(np.isfinite(ops.convert_to_numpy(w))) for w in weights):
            raise TrainingDivergedError(self.iteration, {"network_weights": float("nan")}, self.last_checkpoint)
        state = {"rng_state": self.data_rng.bit_generator.state, "wall_time_s": self.wall_time_s,
                 "history": self.history, "training_info": self.info}
        self.last_checkpoint = save_checkpoint(model, self.model_dir, self.iteration, state, keep=self.cfg.keep_checkpoints)
        self.conv.converter.save_extra(self.last_checkpoint)  # e.g. the checkpoint's own mean styles


def validation_pairs(domains: Sequence) -> dict:
    """``{label: (direction, validation pairs)}``: each emotion's held-out utterances to every other emotion
    (``"A2B"`` and ``"B2A"`` for two emotions)."""
    if len(domains) == 2:
        return {"A2B": ((0, 1), domains[0].validation), "B2A": ((1, 0), domains[1].validation)}
    return {f"{s.name}-to-{t.name}": ((i, j), s.validation)
            for i, s in enumerate(domains) for j, t in enumerate(domains) if i != j}


def train(domains: Sequence, feature_cfg: FeatureConfig, model_cfg: ModelConfig, train_cfg: TrainConfig,
          model_dir: str | Path, *, model_type: str = DEFAULT_MODEL_TYPE, options=None, resume: bool = False,
          tensorboard_log_dir: str | Path | None = None, output_dir: str | Path | None = None, progress: bool = True,
          callbacks: Sequence[Callback] = (), run_eagerly: bool = False, model_name: str | None = None,
          max_wall_time_s: float | None = None, contrast_domains: Sequence = (),
          init_from: str | Path | None = None, strategy="none", jit_compile: bool = False) -> list[dict]:
    """Train a model of the registry between prepared emotions and write a model folder that conversion can load.

    Order of work: write each emotion's statistics and ``config.json`` (status ``"training"``); build the
    networks; pre-train and freeze the emotion classifier (when ``train_cfg.lambda_class > 0``; its validation
    accuracy is printed and stored in the record's ``training["classifier"]``); then ``train_cfg.iterations``
    iterations, each on ``batch_size`` crops per emotion drawn with a NumPy generator seeded by
    ``train_cfg.seed``. Every ``log_every`` iterations (and at every checkpoint) the mean of each loss since the
    previous row is appended to the history and to TensorBoard, with both learning rates. Every
    ``checkpoint_every`` iterations and at the end a checkpoint is written
    (:func:`~emocore.training.checkpoints.save_checkpoint`). Every ``validate_every`` iterations and at the end
    the first ``n_validation_files`` validation utterances of each emotion are converted
    (:class:`~emocore.conversion.ConversionModel`) to ``output_dir/iteration-NNNNNNNN/{A2B,B2A}/<stem>.wav``; the
    first of each direction also goes to TensorBoard as audio and as a spectral-envelope image. At the end the
    converter's networks, ``history.csv`` and the completed ``config.json`` are written. At each checkpoint and
    validation and at the end, the converter derives what it takes from the training utterances
    (:meth:`ConversionModel.fit`: EmoMUNIT's mean style codes, which a checkpoint keeps as ``styles.json``).

    With ``resume=True`` the run continues from the newest checkpoint: weights, optimizer state (step
    counters, moments), data RNG state, history and wall time, so it ends with the same weights as an
    uninterrupted run. Without a checkpoint it starts from scratch.

    With ``contrast_domains`` (further emotions of the speaker, e.g. angry and sad for neutral -> happy) the
    emotion classifier learns those classes too (``model_cfg.n_emotions`` must count them), so the
    classification loss asks a conversion to sound like its target rather than like any other emotion;
    the record's ``classifier_classes`` names them.

    With ``init_from`` (a checkpoint or run folder of the same model type and sizes) a new run starts from
    that run's networks, its classifier excepted (:func:`~emocore.training.checkpoints.warm_start`); the
    record's ``training["initialized_from"]`` says where from. A resumed run continues its own checkpoints.

    With ``max_wall_time_s`` the run stops after the first iteration at which its training time (classifier
    pre-training included; checkpoints and validation excluded, as ``wall_time_s``) reaches the budget: a
    checkpoint, a validation and the final model are written as at the last iteration, and the record's
    ``training`` says ``stopped_by: "time budget"``. The learning-rate schedule stays the one of
    ``train_cfg.iterations``, so two models given the same budget and iterations are trained alike (an
    equal-wall-clock comparison); ``resume=True`` with a larger budget continues the run.

    Args:
        domains (Sequence[DomainData]): the emotions, in the model's order (from
            :func:`emocore.data.extraction.prepare_domains`); their ``train`` pairs are the training data,
            ``validation`` pairs the validation conversions, ``stats`` the normalization and prosody statistics.
        feature_cfg (FeatureConfig): how the features were extracted (saved for conversion).
        model_cfg (ModelConfig): network sizes; ``mcep_dim`` must equal ``feature_cfg.mcep_dim``.
        train_cfg (TrainConfig): everything else.
        model_dir: the model folder.
        model_type: a name in the registry of :mod:`emocore.models`.
        options: the model type's own settings (e.g. EmoMUNIT's :class:`~emocore.config.MunitConfig`, or a dict
            of it); ``None``: its defaults.
        resume: continue from the newest checkpoint in ``model_dir``.
        tensorboard_log_dir: write TensorBoard events there (``None``: none).
        output_dir: write validation conversions there (``None``: none).
        progress: tqdm bar and a printed classifier summary.
        callbacks: called as ``callback(iteration, logs, model)`` after every iteration (after its
            checkpoint and validation); ``logs`` holds the running loss means.
        run_eagerly: run the training step eagerly (debugging, tests) instead of as a ``tf.function``.
        model_name: recorded in ``config.json`` (the original CLI's ``--model_name``).
        max_wall_time_s: training-time budget in seconds (``None``: run all ``train_cfg.iterations``).
        contrast_domains (Sequence[DomainData]): further emotion classes for the classifier.
        init_from: warm-start a new run from this checkpoint or run folder.
        strategy: ``"none"``, ``"mirrored"``, ``"multi-worker"`` (:func:`emocore.training.distribute.make_strategy`)
            or a ``tf.distribute.Strategy``: the global batch (``batch_size`` crops per emotion, a multiple of the
            replicas) is split over its replicas, and one step equals one device's step on the whole batch.
            Checkpoints and ``resume`` are unchanged; the record's ``training["strategy"]`` names it. In a
            multi-worker run the chief (worker 0) writes ``model_dir``; worker ``k`` keeps its own checkpoints in
            ``model_dir/workers/worker-k`` (for its ``resume``) and writes no validation or TensorBoard files.
        jit_compile: compile the training step with XLA (on this project's CPU machine it is slower:
            ``emocore-bench training --xla``; try it on a GPU).

    Returns:
        list[dict]: the history, one row per logged iteration: ``iteration``, each loss the model logs,
        ``gen_lr``, ``disc_lr``, ``wall_time_s``. Also written to ``model_dir/history.csv``.

    Raises:
        TrainingDivergedError: a loss became NaN or infinite; the newest checkpoint on disk is the last
            good one.
        ParameterError: inconsistent configs, an unknown model type, no usable training crops, or
            ``model_dir`` already holds a run and ``resume`` is off.
    """
    strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
    replicas = strategy.num_replicas_in_sync
    worker = worker_index(strategy)
    if worker > 0:  # another machine of a multi-worker run: the chief (worker 0) writes the model folder
        model_dir = Path(model_dir) / "workers" / f"worker-{worker}"
        output_dir = tensorboard_log_dir = None
    if jit_compile and replicas > 1:
        raise ParameterError(f"XLA (--xla) compiles the step of one device; with {replicas} replicas leave it off")
    if max_wall_time_s is not None and n_workers(strategy) > 1:
        raise ParameterError("a time budget (--time-budget) stops each worker by its own clock, so the workers of a "
                             "multi-worker run would stop at different iterations; give --iterations instead")
    for name in ("batch_size", "classifier_batch_size"):
        if getattr(train_cfg, name) % replicas:
            raise ParameterError(f"{name}={getattr(train_cfg, name)} crops per emotion cannot be split evenly over "
                                 f"{replicas} replicas; choose a multiple of {replicas}")
    with strategy.scope():  # the networks' and optimizers' variables are mirrored on every replica
        spec = models.get(model_type)
        options = spec.parse_options(options)
        domains, contrast = list(domains), list(contrast_domains)
        classes = check_run(spec, domains, contrast, feature_cfg, model_cfg, train_cfg, max_wall_time_s)
        model_dir = Path(model_dir)
        output_dir = None if output_dir is None else Path(output_dir)
        checkpoint = latest_checkpoint(model_dir) if resume else None
        if not resume and checkpoint_steps(model_dir):
            raise ParameterError(f"{model_dir} already holds a training run; resume it (resume=True, --resume) "
                                 "or choose another model_dir")
        record = initial_record(spec, options, domains, contrast, classes, feature_cfg, model_cfg, train_cfg, model_name)
        config_path = model_dir / CONFIG_NAME
        if checkpoint is not None and config_path.is_file():
            try:
                previous = read_record(config_path)
            except ModelFolderError as error:
                raise ParameterError(f"resume: {error}") from error
            check_resume(previous, record, config_path)
            if model_name is None:
                record = dataclasses.replace(record, model_name=previous.model_name)

        model = build_training_model(spec, model_cfg, train_cfg, options, run_eagerly=run_eagerly, jit_compile=jit_compile)
        missing = missing_members(model, TrainingModel)
        if missing:
            raise ParameterError(f"{spec.name}: its build_training gave a {type(model).__name__} without "
                                 f"{', '.join(missing)} (see emocore.models.base.TrainingModel)")
        model.prepare(domains)
        if model.classifier is None:
            if contrast:
                raise ParameterError(f"contrast_domains train the emotion classifier, which a {spec.title} model "
                                     "trained with these settings does not have")
            record = dataclasses.replace(record, classifier_classes=())
        conv = ConversionModel(feature_cfg, [d.stats for d in domains], model.converter(), spec.name, record=record)
        run = _Run(spec, model, conv, record, model_dir, train_cfg, max_wall_time_s)
        if checkpoint is not None:
            run.restore(checkpoint)
            if progress:
                tqdm.write(f"resuming {model_dir} at iteration {run.iteration} from {checkpoint.name}")
        elif resume:
            log.info("resume: no checkpoint in %s; starting from scratch", model_dir)
        if any(getattr(d, "speaker_norm", None) is not None for d in domains):  # emotions pooled over speakers
            speakers = sorted({f"{u.corpus}:{u.speaker}" for d in domains for u, _ in d.train})
            if checkpoint is not None and run.info.get("speakers", speakers) != speakers:
                raise ParameterError(f"resume: {model_dir} was trained on the speakers {', '.join(run.info['speakers'])}, "
                                     f"not {', '.join(speakers)}; resume with the same --speakers or choose another model_dir")
            run.info["speakers"] = speakers
            balance = getattr(domains[0], "balance", None) or "speaker"
            if checkpoint is not None and run.info.get("balance", "speaker") != balance:
                raise ParameterError(f"resume: {model_dir} balanced its crops over each {run.info['balance']}, not "
                                     f"each {balance}; resume with the same --balance")
            run.info["balance"] = balance
        run.info["strategy"] = {**describe(strategy), "xla": bool(jit_compile)}  # a resumed run may use other devices
        if init_from is not None and checkpoint is None:
            run.info["initialized_from"] = warm_start(model, init_from, model_cfg)
            if progress:
                tqdm.write(f"warm start from {run.info['initialized_from']['checkpoint']}")
        run.save_record("training")
        if model.classifier is not None and checkpoint is None:
            run.pretrain_classifier(domains, contrast, run_eagerly, progress)
            run.save_record("training")

        train_feats = [d.network_features("train") for d in domains]
        weights = [d.sample_weights for d in domains]
        schedules = learning_rate_schedules(train_cfg)
        tensorboard = TensorBoard(tensorboard_log_dir) if tensorboard_log_dir is not None else None
        classifier_result = run.info.get("classifier") or {}
        if tensorboard is not None and checkpoint is None and classifier_result.get("val_accuracy") is not None:
            tensorboard.scalars(0, {"classifier/val_accuracy": classifier_result["val_accuracy"]})
        validation = validation_pairs(domains)
        validating_on = train_cfg.validate_every > 0 and (output_dir is not None or tensorboard is not None)
        model.reset_metrics()
        samplers = [CropSampler(feats, train_cfg.n_frames, d.stats, train_cfg.min_voiced_fraction, w)
                    for feats, d, w in zip(train_feats, domains, weights)]
        prefetcher = Prefetcher(samplers, train_cfg.batch_size, run.data_rng.bit_generator.state)
        bar = tqdm(total=train_cfg.iterations, initial=run.iteration, desc=spec.title, unit="it", disable=not progress)
        try:
            t_last = time.perf_counter()
            for iteration in range(run.iteration + 1, train_cfg.iterations + 1):
                run.iteration = iteration
                crops, run.data_rng.bit_generator.state = prefetcher.next()  # the state after these crops
                logs = model.train_on_segments(crops)
                t_now = time.perf_counter()
                run.wall_time_s += t_now - t_last
                bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
                if bad:
                    raise TrainingDivergedError(iteration, bad, run.last_checkpoint)
                out_of_time = max_wall_time_s is not None and run.wall_time_s >= max_wall_time_s
                last = iteration == train_cfg.iterations or out_of_time
                is_checkpoint = iteration % train_cfg.checkpoint_every == 0 or last
                validating = validating_on and (iteration % train_cfg.validate_every == 0 or last)
                if iteration % train_cfg.log_every == 0 or is_checkpoint:
                    run.log_row(logs, schedules, tensorboard)
                    bar.set_postfix({name: f"{logs[name]:.3f}" for name in ("gen_total", "disc_a", "disc_b", "disc")
                                     if name in logs})
                    model.reset_metrics()
                if is_checkpoint or validating:
                    conv.fit(train_feats)  # e.g. EmoMUNIT's mean styles from the current encoders
                if is_checkpoint:
                    run.checkpoint()
                if validating:
                    validate(conv, validation, iteration, train_cfg.n_validation_files, output_dir, tensorboard)
                for callback in callbacks:
                    callback(iteration, logs, model)
                bar.update()
                t_last = time.perf_counter()  # checkpoints, validation and callbacks are not training time
                if out_of_time:
                    run.info["stopped_by"] = "time budget"
                    if progress:
                        tqdm.write(f"time budget of {max_wall_time_s:.0f} s reached at iteration {iteration}")
                    break
        except TrainingDivergedError:
            run.save_record("diverged")
            write_history_csv(run.history, model_dir / HISTORY)
            raise
        finally:
            prefetcher.close()
            bar.close()
            if tensorboard is not None:
                tensorboard.close()

        conv.fit(train_feats)
        run.save_record("complete", weights=True)
        write_history_csv(run.history, model_dir / HISTORY)
        return run.history


def load_model_config(model_dir: str | Path) -> tuple[FeatureConfig, ModelConfig, TrainConfig]:
    """The three configs a model folder was trained with (from its run record)."""
    record = read_record(Path(model_dir) / CONFIG_NAME)
    return record.feature, record.model, record.train
