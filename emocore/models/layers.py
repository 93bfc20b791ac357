"""The building blocks every network of the package is made of: gated convolutions, instance norm, pixel shuffle.

Networks take time-major, channels-last batches ``(batch, frames, mcep_dim)`` of normalized MCEPs and are fully
convolutional in time, so one model serves any sequence length. Only ``keras.layers``, ``keras.ops`` and the
functional API are used, never a backend's own ops, so the layers run (and train) unchanged under every Keras 3
backend.

The blocks (:class:`GLU`, :class:`InstanceNorm`, :class:`PixelShuffle1D`, :class:`ResidualBlock1D`) take channels,
kernel size and strides as arguments so that every model (CycleGAN-VC's generator, EmoMUNIT's encoders and AdaIN
decoder, the discriminators, the emotion classifier) reuses them; :class:`AdaIN` and
:class:`AdaptiveResidualBlock1D` carry a style into EmoMUNIT's decoder. Each one is registered for ``.keras``
saving under the ``emocore`` package name.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from emocore.exceptions import ParameterError

GENERATOR_LENGTH_MULTIPLE = 4
"""The generator downsamples time by 2 twice, so input lengths must be a multiple of this."""


def scale_channels(channels: int, width: float) -> int:
    """Scale a published channel count by ``width``.

    Args:
        channels (int): channel count at ``width=1.0``.
        width (float): multiplier, > 0.

    Returns:
        int: ``channels * width`` rounded to the nearest even number, at least 4. Even counts keep the
        pixel shuffler's ``channels * 2`` split exact.
    """
    if not width > 0:
        raise ParameterError(f"width must be positive, got {width}")
    return max(4, 2 * round(channels * width / 2))


def pad_to_multiple(x: np.ndarray, multiple: int = GENERATOR_LENGTH_MULTIPLE, mode: str = "edge"):
    """Pad the time axis at the end so its length is a multiple of ``multiple``.

    Use it before the generator and crop afterwards::

        padded, n_frames = pad_to_multiple(mcep)
        converted = gen_a2b(padded[None])[0, :n_frames]

    Args:
        x (ndarray): time-major features, shape ``(T, D)`` or a batch ``(B, T, D)``; time is axis ``-2``.
        multiple (int): required length multiple.
        mode (str): ``numpy.pad`` mode. ``"edge"`` repeats the last frame; ``"constant"`` appends zeros,
            which in normalized MCEP space is the mean spectrum, a jump the convolutions smear backwards.

    Returns:
        tuple[ndarray, int]: the padded array, shape ``(T', D)`` or ``(B, T', D)`` with ``T'`` the smallest
        multiple of ``multiple`` that is ``>= T``, and the original length ``T``.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ParameterError(f"expected time-major features (T, D) or (B, T, D), got shape {x.shape}")
    if multiple < 1:
        raise ParameterError(f"multiple must be at least 1, got {multiple}")
    n_frames = x.shape[-2]
    if n_frames == 0:
        raise ParameterError("cannot pad an empty sequence")
    n_pad = -n_frames % multiple
    if n_pad == 0:
        return x, n_frames
    pad_width = [(0, 0)] * x.ndim
    pad_width[-2] = (0, n_pad)
    return np.pad(x, pad_width, mode=mode), n_frames


def _as_tuple(value, rank: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise ParameterError(f"expected an int or {rank} ints, got {value}")
    return value


@keras.saving.register_keras_serializable(package="emocore")
class InstanceNorm(layers.Layer):
    """Instance normalization: each channel of each example is normalized over its time (and frequency) axes.

    Equivalent to ``keras.layers.GroupNormalization(groups=-1)``; written out with ``keras.ops`` so the
    epsilon and the reduced axes are explicit. The statistics are those of the whole (possibly padded)
    sequence, so padding a sequence changes the output of the frames it already had, slightly.

    Args:
        epsilon (float): added to the variance.
        center (bool): learn a per-channel offset ``beta``.
        scale (bool): learn a per-channel scale ``gamma``.

    Call args:
        x: shape ``(B, T, C)`` or ``(B, T, F, C)``.

    Returns:
        Same shape as ``x``; per example and channel, zero mean and unit variance before ``gamma``/``beta``.
    """

    def __init__(self, epsilon: float = 1e-5, center: bool = True, scale: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.epsilon, self.center, self.scale = epsilon, center, scale

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ParameterError(f"InstanceNorm needs (batch, time, ..., channels), got {input_shape}")
        channels = input_shape[-1]
        self.gamma = (
            self.add_weight(shape=(channels,), initializer="ones", name="gamma") if self.scale else None
        )
        self.beta = (
            self.add_weight(shape=(channels,), initializer="zeros", name="beta") if self.center else None
        )

    def call(self, x):
        # gamma * (x - mean) / std + beta, written as x * scale + offset: the per-(example, channel) scale and offset
        # are small tensors, so the whole-sequence arithmetic is one product and one sum (forward and backward), not
        # four of each; the same values to float rounding, and 4% more of EmoStarGAN's training steps per second
        axes = tuple(range(1, len(x.shape) - 1))
        mean, variance = ops.moments(x, axes=axes, keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            scale = scale * self.gamma
        offset = -mean * scale
        if self.beta is not None:
            offset = offset + self.beta
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center, "scale": self.scale}


@keras.saving.register_keras_serializable(package="emocore")
class PixelShuffle1D(layers.Layer):
    """Sub-pixel upsampling in time (Shi et al. 2016), as in CycleGAN-VC.

    A row-major reshape ``(B, T, C * r) -> (B, T * r, C)``: output frame ``t * r + j``, channel ``c`` is
    input frame ``t``, channel ``j * C + c``.

    Args:
        factor (int): upsampling factor ``r``.

    Call args:
        x: shape ``(B, T, C * r)``.

    Returns:
        shape ``(B, T * r, C)``.
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        if factor < 1:
            raise ParameterError(f"factor must be at least 1, got {factor}")
        self.factor = factor

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None or input_shape[-1] % self.factor:
            raise ParameterError(f"PixelShuffle1D needs (B, T, C * {self.factor}), got {input_shape}")

    def call(self, x):
        return ops.reshape(x, (ops.shape(x)[0], -1, x.shape[-1] // self.factor))

    def compute_output_shape(self, input_shape):
        batch, frames, channels = input_shape
        return (batch, None if frames is None else frames * self.factor, channels // self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="emocore")
class GLU(layers.Layer):
    """Gated convolution (Dauphin et al. 2017): ``norm(conv(x)) * sigmoid(norm_gate(conv_gate(x)))``.

    The gate has its own convolution, as in the paper. (The TF1 CycleGAN-VC code this project replaces gated
    each downsampling, residual and upsampling block with a second instance norm of the *same* convolution,
    which is not a GLU.) With ``upsample=r`` both convolutions output ``filters * r`` channels and a
    :class:`PixelShuffle1D` turns them into ``filters`` channels at ``r`` times the frame rate; with
    ``rank=2`` and strides this is CycleGAN-VC's 2-D downsampling block. When ``normalize`` is on, the
    convolutions have no bias, because instance norm subtracts it again.

    Args:
        filters (int): output channels.
        kernel_size (int | tuple[int, int]): convolution kernel, ``(time, freq)`` for ``rank=2``.
        strides (int | tuple[int, int]): convolution strides.
        rank (int): 1 for ``(B, T, C)`` inputs, 2 for ``(B, T, F, C)``.
        normalize (bool): instance-normalize both paths (CycleGAN-VC does, except in its first layer).
        upsample (int): pixel-shuffle factor, ``rank=1`` only.
        epsilon (float): instance-norm epsilon.

    Call args:
        x: shape ``(B, T, C_in)`` or ``(B, T, F, C_in)``.

    Returns:
        shape ``(B, ceil(T / s) * upsample, filters)`` or ``(B, ceil(T / s_t), ceil(F / s_f), filters)``
        ("same" padding).
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        rank: int = 1,
        normalize: bool = True,
        upsample: int = 1,
        epsilon: float = 1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if rank not in (1, 2):
            raise ParameterError(f"rank must be 1 or 2, got {rank}")
        if upsample < 1 or (upsample > 1 and rank != 1):
            raise ParameterError(
                f"upsample must be >= 1, and > 1 only for rank=1; got {upsample}, rank={rank}"
            )
        self.filters, self.rank, self.normalize = filters, rank, normalize
        self.upsample, self.epsilon = upsample, epsilon
        self.kernel_size, self.strides = _as_tuple(kernel_size, rank), _as_tuple(strides, rank)
        conv_cls = layers.Conv1D if rank == 1 else layers.Conv2D
        conv_kwargs = {
            "filters": filters * upsample,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": "same",
            "use_bias": not normalize,
        }
        self.conv = conv_cls(name="conv", **conv_kwargs)
        self.gate_conv = conv_cls(name="gate_conv", **conv_kwargs)
        self.shuffle = PixelShuffle1D(upsample, name="shuffle") if upsample > 1 else None
        self.norm = InstanceNorm(epsilon, name="norm") if normalize else None
        self.gate_norm = InstanceNorm(epsilon, name="gate_norm") if normalize else None

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ParameterError(f"GLU(rank={self.rank}) needs a {self.rank + 2}-D input, got {input_shape}")
        self.conv.build(input_shape)
        self.gate_conv.build(input_shape)
        shape = self.conv.compute_output_shape(input_shape)
        if self.shuffle is not None:
            self.shuffle.build(shape)
            shape = self.shuffle.compute_output_shape(shape)
        if self.normalize:
            self.norm.build(shape)
            self.gate_norm.build(shape)

    def call(self, x):
        value, gate = self.conv(x), self.gate_conv(x)
        if self.shuffle is not None:
            value, gate = self.shuffle(value), self.shuffle(gate)
        if self.normalize:
            value, gate = self.norm(value), self.gate_norm(gate)
        return value * ops.sigmoid(gate)

    def compute_output_shape(self, input_shape):
        shape = self.conv.compute_output_shape(input_shape)
        return shape if self.shuffle is None else self.shuffle.compute_output_shape(shape)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "rank": self.rank,
            "normalize": self.normalize,
            "upsample": self.upsample,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="emocore")
class ResidualBlock1D(layers.Layer):
    """CycleGAN-VC residual block: ``x + IN(conv(GLU(x)))``, the GLU being conv + IN on both paths.

    Args:
        filters (int): input and output channels.
        hidden_filters (int): channels inside the block (CycleGAN-VC: twice ``filters``).
        kernel_size (int): both convolutions' kernel.
        epsilon (float): instance-norm epsilon.

    Call args:
        x: shape ``(B, T, filters)``.

    Returns:
        shape ``(B, T, filters)``.
    """

    def __init__(
        self, filters: int, hidden_filters: int, kernel_size: int = 3, epsilon: float = 1e-5, **kwargs
    ):
        super().__init__(**kwargs)
        self.filters, self.hidden_filters = filters, hidden_filters
        self.kernel_size, self.epsilon = kernel_size, epsilon
        self.glu = GLU(hidden_filters, kernel_size, normalize=True, epsilon=epsilon, name="glu")
        self.conv = layers.Conv1D(filters, kernel_size, padding="same", use_bias=False, name="conv")
        self.norm = InstanceNorm(epsilon, name="norm")

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] != self.filters:
            raise ParameterError(
                f"ResidualBlock1D({self.filters}) needs (B, T, {self.filters}), got {input_shape}"
            )
        self.glu.build(input_shape)
        hidden_shape = self.glu.compute_output_shape(input_shape)
        self.conv.build(hidden_shape)
        self.norm.build(self.conv.compute_output_shape(hidden_shape))

    def call(self, x):
        return x + self.norm(self.conv(self.glu(x)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "hidden_filters": self.hidden_filters,
            "kernel_size": self.kernel_size,
            "epsilon": self.epsilon,
        }


# ---------------------------------------------------------------------- style (EmoMUNIT's decoder)


@keras.saving.register_keras_serializable(package="emocore")
class AdaIN(layers.Layer):
    """Adaptive instance normalization (Huang & Belongie 2017): instance-normalize, then apply a style's scale and bias.

    ``y = scale * (x - mean(x)) / sqrt(var(x) + epsilon) + bias``, the statistics per example and channel over
    time. ``params`` holds the scale first, then the bias: ``params[:, :C]`` and ``params[:, C:]``. The scale
    is used as given (MUNIT's convention), so a style MLP that outputs 0 silences the channel.

    Args:
        epsilon (float): added to the variance.

    Call args:
        x: shape ``(B, T, C)``.
        params: shape ``(B, 2 * C)``.

    Returns:
        shape ``(B, T, C)``.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.norm = InstanceNorm(epsilon, center=False, scale=False, name="norm")

    def build(self, x_shape, params_shape):
        if len(x_shape) != 3 or len(params_shape) != 2 or params_shape[-1] != 2 * x_shape[-1]:
            raise ParameterError(f"AdaIN needs x (B, T, C) and params (B, 2C), got {x_shape} and {params_shape}")
        self.norm.build(x_shape)

    def call(self, x, params):
        channels = x.shape[-1]
        scale = ops.expand_dims(params[:, :channels], 1)
        bias = ops.expand_dims(params[:, channels:], 1)
        return self.norm(x) * scale + bias

    def compute_output_shape(self, x_shape, params_shape):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="emocore")
class AdaptiveResidualBlock1D(layers.Layer):
    """:class:`~emocore.models.layers.ResidualBlock1D` with the style in its value normalizations (MUNIT's AdaIN resblock).

    ``x + AdaIN(conv(h), p_out)`` with the gated hidden layer ``h = AdaIN(conv_v(x), p_hidden) *
    sigmoid(IN(conv_g(x)))``. The gate keeps a plain (learned-affine) instance norm; the style modulates
    what passes through it. ``params`` is ``[p_hidden, p_out]``, each an AdaIN's scale then bias, so
    :attr:`n_params` ``= 2 * hidden_filters + 2 * filters``.

    Args:
        filters (int): input and output channels.
        hidden_filters (int): channels inside the block.
        kernel_size (int): the convolutions' kernel.
        epsilon (float): normalization epsilon.

    Call args:
        x: shape ``(B, T, filters)``.
        params: shape ``(B, n_params)``.

    Returns:
        shape ``(B, T, filters)``.
    """

    def __init__(self, filters: int, hidden_filters: int, kernel_size: int = 3, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.hidden_filters = filters, hidden_filters
        self.kernel_size, self.epsilon = kernel_size, epsilon
        conv = dict(kernel_size=kernel_size, padding="same", use_bias=False)
        self.value_conv = layers.Conv1D(hidden_filters, name="value_conv", **conv)
        self.gate_conv = layers.Conv1D(hidden_filters, name="gate_conv", **conv)
        self.gate_norm = InstanceNorm(epsilon, name="gate_norm")
        self.value_adain = AdaIN(epsilon, name="value_adain")
        self.out_conv = layers.Conv1D(filters, name="out_conv", **conv)
        self.out_adain = AdaIN(epsilon, name="out_adain")

    @property
    def n_params(self) -> int:
        return 2 * self.hidden_filters + 2 * self.filters

    def build(self, x_shape, params_shape):
        if len(x_shape) != 3 or x_shape[-1] != self.filters:
            raise ParameterError(f"AdaptiveResidualBlock1D({self.filters}) needs (B, T, {self.filters}), got {x_shape}")
        if len(params_shape) != 2 or params_shape[-1] != self.n_params:
            raise ParameterError(f"AdaptiveResidualBlock1D needs params (B, {self.n_params}), got {params_shape}")
        self.value_conv.build(x_shape)
        self.gate_conv.build(x_shape)
        hidden_shape = self.value_conv.compute_output_shape(x_shape)
        self.gate_norm.build(hidden_shape)
        self.value_adain.build(hidden_shape, (params_shape[0], 2 * self.hidden_filters))
        self.out_conv.build(hidden_shape)
        self.out_adain.build(x_shape, (params_shape[0], 2 * self.filters))

    def call(self, x, params):
        split = 2 * self.hidden_filters
        hidden = self.value_adain(self.value_conv(x), params[:, :split])
        hidden = hidden * ops.sigmoid(self.gate_norm(self.gate_conv(x)))
        return x + self.out_adain(self.out_conv(hidden), params[:, split:])

    def compute_output_shape(self, x_shape, params_shape):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "hidden_filters": self.hidden_filters,
                "kernel_size": self.kernel_size, "epsilon": self.epsilon}
