"""The LSGAN discriminators: CycleGAN-VC's 2-D gated CNN with a patch output, and a 1-D one.

:func:`build_discriminator` reads a crop as an image, frames x MCEPs: the per-pair models' only discriminator and
EmoStarGAN's default. :func:`build_discriminator_1d` reads it as a sequence of MCEP vectors, as the generators do,
with about a tenth of the forward work (EmoStarGAN's ``discriminator="1d"``).
"""

from __future__ import annotations

import keras
from keras import layers

from emocore.config import ModelConfig
from emocore.exceptions import ParameterError
from emocore.models.layers import GLU, scale_channels


def build_discriminator(cfg: ModelConfig, name: str = "disc_a", n_outputs: int = 1,
                        input_dim: int | None = None, top_multiplier: int = 8,
                        top_kernel: tuple[int, int] = (3, 6)) -> keras.Model:
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

    The last GLU block does two thirds of the network's work at width 0.35 (0.23 of 0.34 GFLOP per 128-frame crop):
    ``top_multiplier`` and ``top_kernel`` set its channels (in units of ``c``) and kernel, which EmoStarGAN's
    ``"2d-light"`` discriminator halves (4c, 3x3: 0.17 GFLOP per crop).

    The output layer is CycleGAN-VC2's patch convolution (1 MCEP bin x 3 frames) instead of CycleGAN-VC's
    dense + sigmoid: the scores are unbounded, for the least-squares GAN losses in :mod:`emocore.models.losses`.

    Args:
        cfg (ModelConfig): sizes.
        name (str): model name, ``"disc_a"`` or ``"disc_b"``.
        n_outputs (int): score maps: 1 for one emotion's discriminator, one per emotion for a multi-head
            discriminator (EmoStarGAN: the head of an input's emotion judges it).
        input_dim (int | None): feature channels; ``None``: ``cfg.mcep_dim`` (EmoStarGAN with an F0 channel:
            one more, the contour as the plane's last row). The weights do not depend on it.
        top_multiplier (int): the last GLU block's channels, in units of ``c``.
        top_kernel (tuple[int, int]): its kernel, ``(time, mcep)``.

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
    x = GLU(ch(top_multiplier), top_kernel, strides=(2, 1), rank=2, epsilon=eps, name="down3")(x)
    outputs = layers.Conv2D(n_outputs, (3, 1), padding="same", name="output_conv")(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator_1d(cfg: ModelConfig, name: str = "disc_a", n_outputs: int = 1,
                           input_dim: int | None = None) -> keras.Model:
    """A 1-D gated CNN discriminator over frames, the MCEPs (and an F0 channel) as its input channels.

    :func:`build_discriminator`'s channel plan (``c = cfg.disc_base_channels`` scaled by ``cfg.width``) and
    downsampling in time, with 1-D convolutions: a crop is a sequence of spectral envelopes, judged by the patch
    of frames it sees (each score sees 49 frames, about 0.25 s at 5 ms frames), with no convolution across the
    MCEP axis. At width 0.35, 128 frames and 24 channels (``mcep_dim``, no F0 channel) it does about a tenth of
    the 2-D network's forward work (0.04 against 0.34 GFLOP per crop). Trained in the shipped EmoStarGAN's
    configuration it made the judges hear happy and sad less often and cost up to 0.75 of DNSMOS (README, "A
    lighter discriminator"): the 2-D network stays EmoStarGAN's default.

    ====================  ======  ======  ========
    block                 kernel  stride  channels
    ====================  ======  ======  ========
    GLU, no norm          5       1       c
    GLU + IN (down)       5       2       2c
    GLU + IN (down)       5       2       4c
    GLU + IN (down)       5       2       8c
    output conv           3       1       ``n_outputs``
    ====================  ======  ======  ========

    Args:
        cfg, name, n_outputs, input_dim: as :func:`build_discriminator`.

    Returns:
        keras.Model: ``(B, T, input_dim) -> (B, ceil(T / 8), n_outputs)`` realness scores, any ``T``.
    """

    def ch(multiplier: int) -> int:
        return scale_channels(multiplier * cfg.disc_base_channels, cfg.width)

    eps = cfg.norm_epsilon
    input_dim = cfg.mcep_dim if input_dim is None else input_dim
    inputs = keras.Input(shape=(None, input_dim), name="mcep")
    x = GLU(ch(1), 5, normalize=False, name="input_glu")(inputs)
    x = GLU(ch(2), 5, strides=2, epsilon=eps, name="down1")(x)
    x = GLU(ch(4), 5, strides=2, epsilon=eps, name="down2")(x)
    x = GLU(ch(8), 5, strides=2, epsilon=eps, name="down3")(x)
    outputs = layers.Conv1D(n_outputs, 3, padding="same", name="output_conv")(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator_2d_light(cfg: ModelConfig, name: str = "disc_a", n_outputs: int = 1,
                                 input_dim: int | None = None) -> keras.Model:
    """:func:`build_discriminator` with its last GLU block halved: 4c channels and a 3x3 kernel (instead of 8c, 3x6).

    Half the 2-D network's forward work (0.17 against 0.34 GFLOP per 128-frame crop at width 0.35), keeping its
    convolutions across the MCEP axis, which the 1-D network gives up. Trained in the shipped EmoStarGAN's
    configuration it ran at 1.22-1.40x the 2-D network's iterations per second end to end, but its conversions
    were heard as the target less often than a 2-D run's of the same code (62 against 73% of 144 files, p = 0.0001;
    README, "Half of the 2-D discriminator"): not the default.
    """
    return build_discriminator(cfg, name, n_outputs, input_dim, top_multiplier=4, top_kernel=(3, 3))


#: the discriminators by name (EmoStarGAN's ``discriminator`` option)
DISCRIMINATORS = {"2d": build_discriminator, "2d-light": build_discriminator_2d_light, "1d": build_discriminator_1d}


def discriminator_builder(kind: str):
    """The builder of :data:`DISCRIMINATORS` named ``kind``.

    Raises:
        ParameterError: an unknown name.
    """
    if kind not in DISCRIMINATORS:
        raise ParameterError(f"unknown discriminator {kind!r}; one of {', '.join(DISCRIMINATORS)}")
    return DISCRIMINATORS[kind]
