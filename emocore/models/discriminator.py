"""The LSGAN discriminator every two-emotion model uses: CycleGAN-VC's 2-D gated CNN with a patch output."""

from __future__ import annotations

import keras
from keras import layers

from emocore.config import ModelConfig
from emocore.models.layers import GLU, scale_channels


def build_discriminator(cfg: ModelConfig, name: str = "disc_a", n_outputs: int = 1,
                        input_dim: int | None = None) -> keras.Model:
    """CycleGAN-VC's 2-D gated CNN discriminator on the (frames x MCEP) plane, with a patch output.

    Kernels and strides are ``(time, mcep)``; this is CycleGAN-VC's ``(mcep, time)`` layout transposed.
    With ``c = cfg.disc_base_channels`` (scaled by ``cfg.width``):

    ====================  ======  ======  ========
    block                 kernel  stride  channels
    ====================  ======  ======  ========
    GLU, no norm          3x3     2x1     c
    GLU + IN (down)       3x3     2x2     2c
    GLU + IN (down)       3x3     2x2     4c
    GLU + IN (down)       3x6     2x1     8c
    output conv           3x1     1x1     ``n_outputs``
    ====================  ======  ======  ========

    The output layer is CycleGAN-VC2's patch convolution (1 MCEP bin x 3 frames) instead of CycleGAN-VC's
    dense + sigmoid: the scores are unbounded, for the least-squares GAN losses in :mod:`emocore.models.losses`.

    Args:
        cfg (ModelConfig): sizes.
        name (str): model name, ``"disc_a"`` or ``"disc_b"``.
        n_outputs (int): score maps: 1 for one emotion's discriminator, one per emotion for a multi-head
            discriminator (EmoStarGAN: the head of an input's emotion judges it).
        input_dim (int | None): feature channels; ``None``: ``cfg.mcep_dim`` (EmoStarGAN with an F0 channel:
            one more, the contour as the plane's last row). The weights do not depend on it.

    Returns:
        keras.Model: ``(B, T, input_dim) -> (B, ceil(T / 16), ceil(input_dim / 4), n_outputs)`` realness scores,
        any ``T``.
    """

    def ch(multiplier: int) -> int:
        return scale_channels(multiplier * cfg.disc_base_channels, cfg.width)

    eps = cfg.norm_epsilon
    input_dim = cfg.mcep_dim if input_dim is None else input_dim
    inputs = keras.Input(shape=(None, input_dim), name="mcep")
    x = layers.Reshape((-1, input_dim, 1), name="add_channel")(inputs)
    x = GLU(ch(1), (3, 3), strides=(2, 1), rank=2, normalize=False, name="input_glu")(x)
    x = GLU(ch(2), (3, 3), strides=(2, 2), rank=2, epsilon=eps, name="down1")(x)
    x = GLU(ch(4), (3, 3), strides=(2, 2), rank=2, epsilon=eps, name="down2")(x)
    x = GLU(ch(8), (3, 6), strides=(2, 1), rank=2, epsilon=eps, name="down3")(x)
    outputs = layers.Conv2D(n_outputs, (3, 1), padding="same", name="output_conv")(x)
    return keras.Model(inputs, outputs, name=name)
