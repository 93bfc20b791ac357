"""EmoCycleGAN: CycleGAN-VC (Kaneko & Kameoka 2017) with an emotion-classification loss (Gao et al. 2019).

The generator is CycleGAN-VC's 1-D gated CNN on normalized MCEPs; the discriminators are
:func:`emocore.models.build_discriminator`, the classifier :mod:`emocore.models.classifier`.
"""

from __future__ import annotations

import keras
from keras import layers

from emocore.config import ModelConfig
from emocore.models.layers import GLU, ResidualBlock1D, scale_channels


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
