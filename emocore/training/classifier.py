"""Pre-training of the emotion classifier of the training objective, before the GAN: real crops of every emotion.

The classifier (:mod:`emocore.models.classifier`) sees ``(T, D + 1)`` inputs: the normalized MCEPs and the
normalized log-F0 channel (:func:`~emocore.training.sampling.classifier_features`). For a generated ``a -> b``
crop the log-F0 channel is the source crop's log F0 mapped to emotion ``b`` by the log-Gaussian transform that
conversion applies, then normalized with ``b``'s statistics. That map followed by that normalization is the
identity on the normalized channel, ``((z * std_b + mean_b) - mean_b) / std_b = z`` (linear interpolation over
unvoiced frames commutes with it), so the source crop's own normalized channel is passed unchanged. Because every
emotion is normalized by its own statistics, the classifier judges the emotion cues that the per-emotion means
and variances do not already carry; those the conversion maps by itself (MCEP denormalization, log-Gaussian F0
and power).

This classifier is part of the training objective only; the judges of :mod:`emocore.evaluation` are separate
models of other feature families and never enter training.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops
from tqdm.auto import tqdm

from emocore.config import TrainConfig
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import ParameterError
from emocore.models.base import classifier_step, distributed_step, split_batch
from emocore.training.sampling import classifier_features, sample_segments

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


def pretrain_classifier(classifier: keras.Model, classes: Sequence[EmotionClass], cfg: TrainConfig,
                        rng: np.random.Generator, *, run_eagerly: bool = False, progress: bool = False) -> dict:
    """Train the emotion classifier on real crops of every class, then freeze it.

    The classes are the model's emotions (0, 1, ...), then any contrast emotions. Each of
    ``cfg.classifier_pretrain_steps`` Adam steps sees ``cfg.classifier_batch_size`` crops of ``cfg.n_frames``
    frames from each class (:func:`~emocore.training.sampling.sample_segments`), each normalized with its own
    class's statistics. Contrast classes are further emotions of the speaker (e.g. angry and sad for a
    neutral -> happy model): the classification loss then asks a conversion to sound like the target rather
    than like any emotion other than the source, which a two-class classifier cannot tell apart.

    Args:
        classifier: ``(B, T, D + 1) -> (B, len(classes))`` logits.
        classes: ``(training utterances, validation utterances, statistics)`` of each class, in order.
        cfg: steps, batch size, learning rate, crops.
        rng: draws the crops (advanced).

    Returns:
        dict: ``train_loss`` and ``train_accuracy`` (on the last batch), ``val_accuracy`` on the whole
        validation utterances of every class (``None`` without any), ``n_val``, ``n_classes``, ``steps``.
    """
    classes = list(classes)
    n_outputs = int(classifier.outputs[0].shape[-1])
    if n_outputs != len(classes):
        raise ParameterError(f"the classifier has {n_outputs} outputs for {len(classes)} emotion "
                             "classes; set ModelConfig.n_emotions to the number of emotions and contrast emotions")
    classifier.trainable = True
    strategy = classifier.distribute_strategy  # the run's (emocore.training.distribute): the batch is split over it
    optimizer = keras.optimizers.Adam(cfg.classifier_lr)
    optimizer.build(classifier.trainable_variables)
    update = distributed_step(classifier_step(classifier, optimizer), strategy, run_eagerly=run_eagerly)
    labels = np.repeat(np.arange(len(classes), dtype=np.int32), cfg.classifier_batch_size)
    logs: dict = {}
    for _ in tqdm(range(cfg.classifier_pretrain_steps), desc="emotion classifier", unit="step",
                  disable=not progress, leave=False):
        crops = []
        for train_feats, _, stats in classes:
            mcep, log_f0 = sample_segments(train_feats, cfg.n_frames, cfg.classifier_batch_size, rng, stats,
                                           cfg.min_voiced_fraction)
            crops.append(np.concatenate([mcep, log_f0[..., None]], -1))
        logs = update(split_batch(strategy, (np.concatenate(crops), labels)))
    classifier.trainable = False
    return {"train_loss": float(ops.convert_to_numpy(logs["loss"])) if logs else float("nan"),
            "train_accuracy": float(ops.convert_to_numpy(logs["accuracy"])) if logs else float("nan"),
            "val_accuracy": classifier_accuracy(classifier, [(val, stats) for _, val, stats in classes]),
            "n_val": sum(len(val) for _, val, _ in classes), "n_classes": len(classes),
            "steps": cfg.classifier_pretrain_steps}
