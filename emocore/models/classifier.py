"""The emotion classifier of the training objective (never an evaluation judge): a 1-D gated CNN on MCEPs and log F0.

It is pre-trained on real crops of every emotion of a run and then frozen (:mod:`emocore.training.classifier`);
its cross-entropy on generated crops is the classification loss of Gao et al. (2019).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from emocore.config import ModelConfig
from emocore.exceptions import ParameterError
from emocore.models.layers import GLU, scale_channels


def classifier_input(mcep, log_f0):
    """Join normalized MCEPs ``(B, T, D)`` and a log-F0 channel ``(B, T)`` into ``(B, T, D + 1)`` (keras.ops)."""
    return ops.concatenate([mcep, ops.expand_dims(ops.cast(log_f0, mcep.dtype), -1)], axis=-1)


def build_emotion_classifier(
    cfg: ModelConfig,
    n_emotions: int | None = None,
    input_dim: int | None = None,
    name: str = "emotion_classifier",
) -> keras.Model:
    """A 1-D gated CNN emotion classifier, used frozen to score the emotion of generator outputs.

    ``cfg.classifier_n_blocks`` strided GLU blocks (kernel ``cfg.classifier_kernel_size``, stride 2,
    block ``i`` with ``classifier_base_channels * 2**i`` channels scaled by ``cfg.width``), then the mean
    over time and a dense layer. The blocks are not instance-normalized: that would remove each
    utterance's mean log F0 and spectral level, which carry much of the emotion.

    Args:
        cfg (ModelConfig): sizes.
        n_emotions (int | None): number of classes; ``None`` means ``cfg.n_emotions``.
        input_dim (int | None): input channels; ``None`` means ``cfg.mcep_dim + 1`` (MCEPs and log F0).
        name (str): model name.

    Returns:
        keras.Model: ``(B, T, input_dim) -> (B, n_emotions)`` logits, any ``T``.
    """
    n_emotions = cfg.n_emotions if n_emotions is None else n_emotions
    input_dim = cfg.mcep_dim + 1 if input_dim is None else input_dim
    if n_emotions < 2:
        raise ParameterError(f"n_emotions must be at least 2, got {n_emotions}")
    inputs = keras.Input(shape=(None, input_dim), name="features")
    x = inputs
    for i in range(cfg.classifier_n_blocks):
        channels = scale_channels(cfg.classifier_base_channels * 2**i, cfg.width)
        x = GLU(channels, cfg.classifier_kernel_size, strides=2, normalize=False, name=f"glu{i + 1}")(x)
    x = layers.GlobalAveragePooling1D(name="time_mean")(x)
    logits = layers.Dense(n_emotions, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
