"""Training of every model type of the registry: one loop, checkpoints, the classifier's pre-training, monitoring.

- :mod:`~emocore.training.loop`: :func:`train`, the loop (a model folder from its first second, resumable,
  time-budgeted);
- :mod:`~emocore.training.sampling`: random crops of an emotion's utterances, normalized with its statistics;
- :mod:`~emocore.training.classifier`: pre-training and freezing the emotion classifier of the objective;
- :mod:`~emocore.training.checkpoints`: atomic checkpoints, exact resume, warm starts;
- :mod:`~emocore.training.monitor`: TensorBoard, validation conversions, ``history.csv``, CPU threads;
- :mod:`~emocore.training.distribute`: ``tf.distribute`` strategies (several GPUs, CPU devices or machines).

The networks and each model type's generator objective come from :mod:`emocore.models` (asked by name through
its registry), every hyperparameter from :class:`~emocore.config.TrainConfig`. Everything here is
backend-neutral Keras 3 except the TensorBoard writer (``tf.summary``) and the strategies of
:mod:`~emocore.training.distribute`; the TensorFlow training steps are :meth:`emocore.models.base.TwoDomainGAN.train_step`
and EmoStarGAN's, which average the replicas' gradients in :meth:`emocore.models.base.GAN.apply_updates`.

A model folder holds ``config.json`` (the run record), each emotion's statistics, the converter's weights (see
:mod:`emocore.conversion`), ``history.csv`` and ``checkpoints/step-NNNNNNNN/``.
"""

from emocore.training.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint, warm_start
from emocore.training.classifier import classifier_accuracy, pretrain_classifier
from emocore.training.loop import DEFAULT_MODEL_TYPE, load_model_config, train
from emocore.training.monitor import (
    accelerator_summary,
    limit_cpu_threads,
    spectrogram_image,
    write_history_csv,
)
from emocore.training.sampling import classifier_features, normalized_log_f0, sample_segments

__all__ = [
    "DEFAULT_MODEL_TYPE", "accelerator_summary", "classifier_accuracy", "classifier_features", "latest_checkpoint",
    "limit_cpu_threads", "load_checkpoint", "load_model_config", "normalized_log_f0", "pretrain_classifier",
    "sample_segments", "save_checkpoint", "spectrogram_image", "train", "warm_start", "write_history_csv",
]
