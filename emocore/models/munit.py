"""EmoMUNIT: MCEP conversion by disentangling content from emotional style (MUNIT, Huang et al. 2018; Gao et al. 2019).

An utterance's normalized MCEPs ``(B, T, D)`` are split into a *content code* ``(B, T / 4, C)`` (what is said,
frame by frame) and a *style code* ``(B, style_dim)`` (how, one vector per utterance). Converting ``a -> b``
decodes the source's content with a style of domain ``b``.

Networks (:func:`build_munit_networks`), all backend-neutral Keras 3 (``keras.layers``, ``keras.ops``):

- one **content encoder**, CycleGAN's generator up to its residual blocks (gated convolutions, two stride-2
  downsamplings and residual blocks, instance-normalized), shared by both domains;
- one **style encoder** per domain: gated convolutions without normalization (it would remove the very
  statistics that carry style), stride-2 downsamplings, the mean over time and a dense layer;
- one **MLP** per domain mapping a style code to the decoder's AdaIN parameters, each AdaIN's scale then bias;
- one **decoder**, shared: adaptive residual blocks (:class:`~emocore.models.layers.AdaptiveResidualBlock1D`, AdaIN) and CycleGAN's
  pixel-shuffle upsampling blocks;
- one CycleGAN discriminator per domain (:func:`emocore.build_discriminator`) and the frozen emotion
  classifier of :mod:`emocore.models.classifier`.

MUNIT gives each domain its own encoders and decoder. Here the domain-specific parts are the style encoder and
the style MLP, and the content encoder and decoder convolutions are shared: both domains are the same speaker
saying the same kind of words, and a shared decoder makes the style interpolation of
:meth:`MunitMapper.convert_mcep` meaningful. Each domain's style codes still have their own N(0, I) prior, as in
MUNIT, so the interpolation happens where the two domains meet: in the decoder's AdaIN parameters.

Training (:class:`EmoMUNIT`) and conversion (:class:`MunitMapper`, used through
:class:`emocore.conversion.ConversionModel`) follow the CycleGAN's: the same loop
(:func:`emocore.training.train` with ``model_type="munit"``), checkpoints, features and F0/power/aperiodicity
path. Its TensorFlow step is the shared :meth:`emocore.models.base.TwoDomainGAN.train_step`; this module has no backend code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

import emocore.models.losses as losses
from emocore.config import ModelConfig, MunitConfig, TrainConfig, read_model_json
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.io import write_json_atomic
from emocore.models.base import (
    EMOTION_INDEX_A,
    EMOTION_INDEX_B,
    Emotion,
    MappingConverter,
    ModelSpec,
    TwoDomainGAN,
    compile_gan,
    infer,
    pair_index,
    stacked_call,
)
from emocore.models.classifier import build_emotion_classifier, classifier_input
from emocore.models.discriminator import build_discriminator
from emocore.models.layers import (
    GLU,
    AdaptiveResidualBlock1D,
    ResidualBlock1D,
    pad_to_multiple,
    scale_channels,
)

MODEL_TYPE = "munit"
STYLES = ("mean", "reference", "random")
STYLES_FILE = "styles.json"
NETWORKS = ("content_encoder", "style_encoder_a", "style_encoder_b", "mlp_a", "mlp_b", "decoder")
LOSS_PANELS = (("adversarial_a2b", "adversarial_b2a", "disc_a", "disc_b"),
               ("recon", "style_recon", "content_recon", "cycle_recon", "classification"))
LOSS_NAMES = ("gen_total", "adversarial_a2b", "adversarial_b2a", "recon", "style_recon", "content_recon",
              "cycle_recon", "classification", "disc_a", "disc_b")
SLOTS = ("a", "b")  # the networks and styles.json entries of emotions 0 and 1


# ---------------------------------------------------------------------- networks


def _content_channels(model_cfg: ModelConfig, munit_cfg: MunitConfig, multiplier: int) -> int:
    return scale_channels(multiplier * munit_cfg.content_base_channels, model_cfg.width)


def content_channels(model_cfg: ModelConfig, munit_cfg: MunitConfig) -> int:
    """Channels of the content code (``4c``)."""
    return _content_channels(model_cfg, munit_cfg, 4)


def n_adain_params(model_cfg: ModelConfig, munit_cfg: MunitConfig) -> int:
    """Length of the decoder's AdaIN parameter vector, the style MLP's output."""
    c4, c8 = _content_channels(model_cfg, munit_cfg, 4), _content_channels(model_cfg, munit_cfg, 8)
    return munit_cfg.n_decoder_residual_blocks * 2 * (c8 + c4)


def build_content_encoder(model_cfg: ModelConfig, munit_cfg: MunitConfig, name: str = "content_encoder") -> keras.Model:
    """The content encoder: CycleGAN-VC's generator up to and including its residual blocks.

    GLU (kernel 15, no norm, ``c``), two stride-2 GLU + IN blocks (kernel 5, ``2c``, ``4c``),
    ``n_content_residual_blocks`` residual blocks (``4c``, ``8c`` inside), with ``c = content_base_channels``
    scaled by ``model_cfg.width``.

    Returns:
        keras.Model: ``(B, T, mcep_dim) -> (B, ceil(T / 4), 4c)``.
    """
    eps = model_cfg.norm_epsilon

    def ch(multiplier: int) -> int:
        return _content_channels(model_cfg, munit_cfg, multiplier)

    inputs = keras.Input(shape=(None, model_cfg.mcep_dim), name="mcep")
    x = GLU(ch(1), 15, normalize=False, name="input_glu")(inputs)
    x = GLU(ch(2), 5, strides=2, epsilon=eps, name="down1")(x)
    x = GLU(ch(4), 5, strides=2, epsilon=eps, name="down2")(x)
    for i in range(munit_cfg.n_content_residual_blocks):
        x = ResidualBlock1D(ch(4), ch(8), 3, epsilon=eps, name=f"residual{i + 1}")(x)
    return keras.Model(inputs, x, name=name)


def build_style_encoder(model_cfg: ModelConfig, munit_cfg: MunitConfig, name: str = "style_encoder_a") -> keras.Model:
    """A domain's style encoder: gated convolutions without normalization, downsampling, mean over time, dense.

    GLU (kernel 15, ``s``), ``n_style_downsamples`` stride-2 GLUs (kernel 5; ``2s``, then ``4s`` from the
    second on), the mean over time and a dense layer to ``style_dim``, with ``s = style_base_channels``
    scaled by ``model_cfg.width``.

    Returns:
        keras.Model: ``(B, T, mcep_dim) -> (B, style_dim)``, any ``T``.
    """

    def ch(multiplier: int) -> int:
        return scale_channels(multiplier * munit_cfg.style_base_channels, model_cfg.width)

    inputs = keras.Input(shape=(None, model_cfg.mcep_dim), name="mcep")
    x = GLU(ch(1), 15, normalize=False, name="input_glu")(inputs)
    for i in range(munit_cfg.n_style_downsamples):
        x = GLU(ch(min(2 ** (i + 1), 4)), 5, strides=2, normalize=False, name=f"down{i + 1}")(x)
    x = layers.GlobalAveragePooling1D(name="time_mean")(x)
    style = layers.Dense(munit_cfg.style_dim, name="style")(x)
    return keras.Model(inputs, style, name=name)


def build_style_mlp(model_cfg: ModelConfig, munit_cfg: MunitConfig, name: str = "mlp_a") -> keras.Model:
    """A domain's MLP from style code to the decoder's AdaIN parameters.

    ``mlp_layers - 1`` ReLU layers of ``mlp_hidden`` units (scaled by ``model_cfg.width``), then a linear layer.
    The output is the concatenation, block by block of the decoder, of each AdaIN's ``[scale, bias]``
    (see :class:`AdaptiveResidualBlock1D`).

    Returns:
        keras.Model: ``(B, style_dim) -> (B, n_adain_params)``.
    """
    inputs = keras.Input(shape=(munit_cfg.style_dim,), name="style")
    x = inputs
    hidden = scale_channels(munit_cfg.mlp_hidden, model_cfg.width)
    for i in range(munit_cfg.mlp_layers - 1):
        x = layers.Dense(hidden, activation="relu", name=f"dense{i + 1}")(x)
    outputs = layers.Dense(n_adain_params(model_cfg, munit_cfg), name="adain_params")(x)
    return keras.Model(inputs, outputs, name=name)


def build_decoder(model_cfg: ModelConfig, munit_cfg: MunitConfig, name: str = "decoder") -> keras.Model:
    """The decoder: adaptive residual blocks, then CycleGAN-VC's pixel-shuffle upsampling and output convolution.

    ``n_decoder_residual_blocks`` :class:`AdaptiveResidualBlock1D` (``4c``, ``8c`` inside), two GLU + IN
    upsampling blocks (kernel 5, pixel shuffler: ``4c``, ``2c``) and a kernel-15 convolution to ``mcep_dim``.

    Returns:
        keras.Model: ``[(B, T', 4c), (B, n_adain_params)] -> (B, 4 T', mcep_dim)``.
    """
    eps = model_cfg.norm_epsilon

    def ch(multiplier: int) -> int:
        return _content_channels(model_cfg, munit_cfg, multiplier)

    content = keras.Input(shape=(None, ch(4)), name="content")
    params = keras.Input(shape=(n_adain_params(model_cfg, munit_cfg),), name="adain_params")
    x, offset = content, 0
    for i in range(munit_cfg.n_decoder_residual_blocks):
        block = AdaptiveResidualBlock1D(ch(4), ch(8), 3, epsilon=eps, name=f"adaptive_residual{i + 1}")
        x = block(x, params[:, offset:offset + block.n_params])
        offset += block.n_params
    x = GLU(ch(4), 5, upsample=2, epsilon=eps, name="up1")(x)
    x = GLU(ch(2), 5, upsample=2, epsilon=eps, name="up2")(x)
    outputs = layers.Conv1D(model_cfg.mcep_dim, 15, padding="same", name="output_conv")(x)
    return keras.Model([content, params], outputs, name=name)


@dataclass
class MunitNetworks:
    """EmoMUNIT's generator side: the shared content encoder and decoder, each domain's style encoder and MLP."""

    content_encoder: keras.Model
    style_encoder_a: keras.Model
    style_encoder_b: keras.Model
    mlp_a: keras.Model
    mlp_b: keras.Model
    decoder: keras.Model

    def as_dict(self) -> dict[str, keras.Model]:
        """The networks by file-name stem (:data:`NETWORKS`)."""
        return {name: getattr(self, name) for name in NETWORKS}

    @property
    def trainable_variables(self) -> list:
        return [v for network in self.as_dict().values() for v in network.trainable_variables]

    def style_encoder(self, domain: str) -> keras.Model:
        """The style encoder of ``domain`` (``"a"`` or ``"b"``)."""
        return getattr(self, f"style_encoder_{domain}")

    def encode_style(self, mcep, domain: str, training: bool = False):
        """Style codes ``(B, style_dim)`` of normalized MCEPs ``(B, T, D)`` of ``domain`` (``"a"`` or ``"b"``)."""
        return getattr(self, f"style_encoder_{domain}")(mcep, training=training)

    def adain_params(self, style, domain: str, training: bool = False):
        """The decoder's AdaIN parameters ``(B, P)`` for style codes ``(B, style_dim)`` of ``domain``."""
        return getattr(self, f"mlp_{domain}")(style, training=training)

    def decode(self, content, style, domain: str, training: bool = False):
        """Normalized MCEPs of ``domain`` ``(B, 4 T', D)`` from a content code ``(B, T', C)`` and a style code."""
        return self.decoder([content, self.adain_params(style, domain, training)], training=training)


def build_munit_networks(model_cfg: ModelConfig, munit_cfg: MunitConfig) -> MunitNetworks:
    """Build the six generator-side networks (weights from Keras' global random state)."""
    return MunitNetworks(
        build_content_encoder(model_cfg, munit_cfg),
        build_style_encoder(model_cfg, munit_cfg, "style_encoder_a"),
        build_style_encoder(model_cfg, munit_cfg, "style_encoder_b"),
        build_style_mlp(model_cfg, munit_cfg, "mlp_a"),
        build_style_mlp(model_cfg, munit_cfg, "mlp_b"),
        build_decoder(model_cfg, munit_cfg))


# ---------------------------------------------------------------------- conversion


def mean_style_code(style_encoder: keras.Model, mceps) -> np.ndarray:
    """The average style code of whole utterances.

    Args:
        style_encoder: a domain's style encoder.
        mceps: normalized MCEP arrays ``(T_i, D)`` of that domain, one per utterance.

    Returns:
        ndarray: shape ``(style_dim,)``, float64; each utterance counts once, whatever its length.
    """
    codes = [infer(style_encoder, np.asarray(m, dtype=np.float32)[None])[0]
             for m in mceps]
    if not codes:
        raise ParameterError("no utterances to average a style code over")
    return np.mean(np.asarray(codes, dtype=np.float64), axis=0)


class MunitMapper(MappingConverter):
    """EmoMUNIT's MCEP mapping for :class:`emocore.conversion.ConversionModel`, with deterministic styles.

    Converting ``src -> tgt`` decodes the source's content code with a target style, chosen by ``style``:

    - ``"mean"``: the mean style code of the target domain's training utterances (:meth:`fit`, saved with
      the model as ``styles.json``);
    - ``"reference"``: the style code of a target-domain recording (``reference``: its MCEPs);
    - ``"random"``: a draw from the target's N(0, I) prior with ``numpy.random.default_rng(seed)``.

    ``intensity`` in ``[0, 1]`` interpolates linearly between the source utterance's own style and the target
    style, in the decoder's AdaIN parameters (each domain's style codes have their own prior, so their MLPs
    meet only there), and likewise between the source and target MCEP normalizations: 0 reconstructs the
    source utterance through the autoencoder, 1 is the full conversion. The same input and options always
    give the same output.

    Args:
        networks (MunitNetworks): trained (or live, during training) networks.
        mean_styles (dict | None): ``{"a": (style_dim,), "b": (style_dim,)}`` mean style codes, if known.
    """

    extra_files = (STYLES_FILE,)

    def __init__(self, networks: MunitNetworks, mean_styles: dict | None = None):
        self.nets = networks
        self.style_dim = int(networks.mlp_a.input_shape[-1])
        self.mean_styles = None if mean_styles is None else {k: np.asarray(v, dtype=np.float64)
                                                            for k, v in mean_styles.items()}

    def networks(self) -> dict[str, keras.Model]:
        return self.nets.as_dict()

    def fit(self, train_feats, emotions) -> None:
        """Set each emotion's mean style code from its training utterances (one ``WorldFeatures`` list per emotion)."""
        if len(train_feats) != 2 or len(emotions) != 2:
            raise ParameterError(f"EmoMUNIT has 2 emotions, got {len(emotions)}")
        self.mean_styles = {
            SLOTS[emotion.index]: mean_style_code(self.nets.style_encoder(SLOTS[emotion.index]),
                                                  [emotion.stats.mcep.normalize(f.mcep) for f in feats])
            for feats, emotion in zip(train_feats, emotions)}

    def save_extra(self, model_dir: str | Path) -> None:
        """Write ``styles.json`` (the mean style codes), when they are known."""
        if self.mean_styles is not None:
            write_json_atomic(Path(model_dir) / STYLES_FILE,
                              {"style_dim": self.style_dim, **{k: v.tolist() for k, v in self.mean_styles.items()}})

    def load_extra(self, model_dir: str | Path) -> None:
        """Read ``styles.json`` if the folder has one (a run still training has none: only ``"mean"`` needs it).

        Raises:
            ModelFolderError: ``styles.json`` is not valid JSON, lacks a domain or holds codes of another size.
        """
        path = Path(model_dir) / STYLES_FILE
        if path.is_file():
            values = read_model_json(path, required=("a", "b"))
            try:
                styles = {k: np.asarray(values[k], dtype=np.float64) for k in ("a", "b")}
            except (TypeError, ValueError) as error:
                raise ModelFolderError(path, f"holds no style codes ({error})") from error
            for domain, code in styles.items():
                if code.shape != (self.style_dim,):
                    raise ModelFolderError(path, f"the style code of domain {domain!r} has shape {code.shape}, the "
                                                 f"networks' style_dim is {self.style_dim}")
            self.mean_styles = styles

    def target_style(self, target: Emotion, style: str = "mean", reference=None, seed: int = 0) -> np.ndarray:
        """The target style code, shape ``(style_dim,)``, float32.

        Args:
            target (Emotion): the emotion converted to.
            style (str): one of :data:`STYLES`.
            reference (ndarray | None): with ``style="reference"``: normalized MCEPs ``(T, D)`` of a
                target-domain recording.
            seed (int): with ``style="random"``.
        """
        tgt = SLOTS[target.index]
        if style not in STYLES:
            raise ParameterError(f"style must be one of {STYLES}, got {style!r}")
        if (reference is not None) != (style == "reference"):
            raise ParameterError('give reference= exactly when style="reference"')
        if style == "mean":
            if self.mean_styles is None:
                raise ParameterError("this model has no mean style codes (styles.json: written into every "
                                     "checkpoint and when training ends; older checkpoints lack it); "
                                     'use style="reference" or style="random"')
            code = self.mean_styles[tgt]
        elif style == "reference":
            code = mean_style_code(self.nets.style_encoder(tgt), [reference])
        else:
            code = np.random.default_rng(seed).standard_normal(self.style_dim)
        code = np.asarray(code, dtype=np.float32)
        if code.shape != (self.style_dim,):
            raise ParameterError(f"style code has shape {code.shape}, expected ({self.style_dim},)")
        return code

    def check_options(self, options: dict) -> None:
        """Refuse options other than the style options of :meth:`convert_mcep`."""
        unknown = set(options) - {"style", "reference", "seed", "intensity"}
        if unknown:
            raise ParameterError(f"{', '.join(sorted(unknown))}: not an option of EmoMUNIT (style, reference, seed, "
                                 "intensity)")

    def convert_mcep(self, mcep: np.ndarray, source: Emotion, target: Emotion, *, style: str = "mean",
                     reference=None, seed: int = 0, intensity: float = 1.0) -> np.ndarray:
        """Convert an MCEP sequence: normalize, pad, encode content, decode with the chosen style, crop, denormalize.

        Args:
            mcep (ndarray): shape ``(T, D)``, unnormalized, of the source domain.
            source, target (Emotion): the emotions converted from and to (0 or 1), with their statistics.
            style, seed: see :meth:`target_style`.
            reference (ndarray | None): unnormalized MCEPs ``(T_ref, D)`` of a target-domain recording.
            intensity (float): in ``[0, 1]``; see the class docstring.

        Returns:
            ndarray: shape ``(T, D)``, float64.
        """
        if not 0.0 <= float(intensity) <= 1.0:
            raise ParameterError(f"intensity must be in [0, 1], got {intensity}")
        alpha = float(intensity)
        src_domain, tgt_domain = (SLOTS[i] for i in pair_index(source, target))
        src, tgt = source.stats, target.stats
        if reference is not None:
            reference = tgt.mcep.normalize(np.asarray(reference, dtype=np.float64))
        target_code = self.target_style(target, style, reference, seed)
        padded, n_frames = pad_to_multiple(src.mcep.normalize(mcep).astype(np.float32))
        x = padded[None]
        content = infer(self.nets.content_encoder, x)
        params = ops.convert_to_numpy(self.nets.adain_params(target_code[None], tgt_domain))
        mean, std = tgt.mcep.mean, tgt.mcep.std
        if alpha < 1.0:
            own = self.nets.encode_style(x, src_domain)
            own_params = ops.convert_to_numpy(self.nets.adain_params(own, src_domain))
            params = (1.0 - alpha) * own_params + alpha * params
            mean = (1.0 - alpha) * src.mcep.mean + alpha * tgt.mcep.mean
            std = (1.0 - alpha) * src.mcep.std + alpha * tgt.mcep.std
        converted = infer(self.nets.decoder, [content, params.astype(np.float32)])
        return converted[0, :n_frames].astype(np.float64) * std + mean


def build_converter(model_cfg: ModelConfig, options: MunitConfig | None = None) -> MunitMapper:
    """A :class:`MunitMapper` with freshly built (untrained) networks of these sizes."""
    return MunitMapper(build_munit_networks(model_cfg, options or MunitConfig()))


# ---------------------------------------------------------------------- training


class EmoMUNIT(TwoDomainGAN):
    """MUNIT on MCEPs with an optional frozen emotion classifier, trained by :meth:`TwoDomainGAN.train_step`.

    One step takes a batch ``(real_a, real_b, log_f0_a, log_f0_b)`` of normalized crops
    (:func:`emocore.training.sample_segments`), draws a style code per crop from each domain's N(0, I) prior
    (``keras.random`` with a seed generator that checkpoints save), and minimizes

    ``adversarial_a2b + adversarial_b2a + lambda_recon * recon + lambda_style * style_recon +
    lambda_content * content_recon + lambda_cycle_recon * cycle_recon + lambda_class * classification``

    over the generator side, where ``recon`` is the L1 within-domain reconstruction (each crop decoded from
    its own content and style), ``style_recon`` / ``content_recon`` the L1 distances between the sampled
    styles / the source contents and those re-encoded from the translations, ``cycle_recon`` the L1
    distance after translating back with the source's own style (computed only when its weight is > 0),
    and ``classification`` the frozen classifier's cross-entropy on the translations (their log-F0
    channel being the source crop's, as for the CycleGAN). The discriminators minimize the LSGAN loss.

    Args:
        networks (MunitNetworks): the generator side.
        disc_a, disc_b (keras.Model): discriminators (:func:`emocore.build_discriminator`).
        train_cfg (TrainConfig): ``lambda_class``, schedule; ``seed`` seeds the style draws.
        munit_cfg (MunitConfig): the other loss weights.
        classifier (keras.Model | None): a pre-trained emotion classifier; frozen here.
    """

    loss_names = LOSS_NAMES

    def __init__(self, networks: MunitNetworks, disc_a, disc_b, train_cfg: TrainConfig, munit_cfg: MunitConfig,
                 classifier=None, **kwargs):
        super().__init__(disc_a, disc_b, classifier, train_cfg.lambda_class, **kwargs)
        self.content_encoder, self.decoder = networks.content_encoder, networks.decoder
        self.style_encoder_a, self.style_encoder_b = networks.style_encoder_a, networks.style_encoder_b
        self.mlp_a, self.mlp_b = networks.mlp_a, networks.mlp_b
        self.nets = networks
        self.cfg, self.munit_cfg = train_cfg, munit_cfg
        self.style_dim = munit_cfg.style_dim
        self.style_seed = keras.random.SeedGenerator(train_cfg.seed, name="style_seed")

    @property
    def generator_variables(self) -> list:
        return self.nets.trainable_variables

    @property
    def checkpoint_variables(self) -> list:
        """State beyond networks and optimizers that a checkpoint must keep: the style-sampling seed."""
        return [self.style_seed.state]

    def call(self, mcep, training=False):
        """``a -> b`` translation with the prior's mean style (zeros), for Keras' summary and tracing."""
        style = ops.zeros((ops.shape(mcep)[0], self.style_dim), dtype=mcep.dtype)
        return self.nets.decode(self.content_encoder(mcep, training=training), style, "b", training)

    def sample_styles(self, batch_size):
        """Style codes ``(batch_size, style_dim)`` for domains ``a`` and ``b`` from N(0, I) (advances the seed)."""
        shape = (batch_size, self.style_dim)
        return (keras.random.normal(shape, seed=self.style_seed), keras.random.normal(shape, seed=self.style_seed))

    def compute_generator_losses(self, real_a, real_b, log_f0_a, log_f0_b, style_a, style_b, training=True):
        """The generator objective for one batch (backend-neutral).

        Args:
            real_a, real_b: normalized MCEP crops, shape ``(B, T, D)``, ``T`` a multiple of 4.
            log_f0_a, log_f0_b: their normalized log-F0 channels, shape ``(B, T)``.
            style_a, style_b: sampled style codes, shape ``(B, style_dim)``.

        Returns:
            tuple: ``(terms, fake_a_scores, fake_b_scores)``: the loss terms of :data:`LOSS_NAMES` (without
            the discriminators'; ``total`` for ``gen_total``) and the discriminator scores of the translations.
        """
        nets, cfg = self.nets, self.munit_cfg
        # each shared network runs once on every batch it sees (stacked_call: a smaller, faster compiled step)
        content_a, content_b = stacked_call(self.content_encoder, [real_a, real_b], training)
        own_a = nets.encode_style(real_a, "a", training)
        own_b = nets.encode_style(real_b, "b", training)
        own_params_a, params_a = stacked_call(nets.mlp_a, [own_a, style_a], training)
        own_params_b, params_b = stacked_call(nets.mlp_b, [own_b, style_b], training)
        recon_a, recon_b, fake_b, fake_a = stacked_call(
            nets.decoder, [[content_a, own_params_a], [content_b, own_params_b], [content_a, params_b],
                           [content_b, params_a]], training)
        content_a_back, content_b_back = stacked_call(self.content_encoder, [fake_b, fake_a], training)
        style_b_back = nets.encode_style(fake_b, "b", training)
        style_a_back = nets.encode_style(fake_a, "a", training)
        fake_a_scores = self.disc_a(fake_a, training=training)
        fake_b_scores = self.disc_b(fake_b, training=training)
        terms = {
            "adversarial_a2b": losses.lsgan_generator_loss(fake_b_scores),
            "adversarial_b2a": losses.lsgan_generator_loss(fake_a_scores),
            "recon": losses.l1_loss(real_a, recon_a) + losses.l1_loss(real_b, recon_b),
            "style_recon": losses.l1_loss(style_a, style_a_back) + losses.l1_loss(style_b, style_b_back),
            "content_recon": losses.l1_loss(content_a, content_a_back) + losses.l1_loss(content_b, content_b_back),
        }
        zero = ops.zeros((), dtype="float32")
        terms["cycle_recon"] = zero
        if cfg.lambda_cycle_recon > 0:  # a config constant: decided when the step is traced, on purpose
            cycle_a, cycle_b = stacked_call(nets.decoder, [[content_a_back, own_params_a], [content_b_back, own_params_b]],
                                      training)
            terms["cycle_recon"] = losses.l1_loss(real_a, cycle_a) + losses.l1_loss(real_b, cycle_b)
        classification = zero
        if self.use_classifier:
            # log-F0 channel of a translated crop: the source crop's (see emocore.training's docstring)
            fake_b_logits = self.classifier(classifier_input(fake_b, log_f0_a), training=False)
            fake_a_logits = self.classifier(classifier_input(fake_a, log_f0_b), training=False)
            classification = (losses.emotion_classification_loss(fake_b_logits, EMOTION_INDEX_B)
                              + losses.emotion_classification_loss(fake_a_logits, EMOTION_INDEX_A))
        terms["classification"] = classification
        terms["total"] = (terms["adversarial_a2b"] + terms["adversarial_b2a"]
                          + cfg.lambda_recon * terms["recon"] + cfg.lambda_style * terms["style_recon"]
                          + cfg.lambda_content * terms["content_recon"]
                          + cfg.lambda_cycle_recon * terms["cycle_recon"]
                          + (self.lambda_class if self.use_classifier else 0.0) * classification)
        return terms, fake_a_scores, fake_b_scores

    def generator_pass(self, real_a, real_b, log_f0_a, log_f0_b):
        """:meth:`compute_generator_losses` with a fresh style draw per crop."""
        style_a, style_b = self.sample_styles(ops.shape(real_a)[0])
        return self.compute_generator_losses(real_a, real_b, log_f0_a, log_f0_b, style_a, style_b, training=True)

    def generator_networks(self) -> dict[str, keras.Model]:
        return self.nets.as_dict()

    def converter(self) -> MunitMapper:
        """The converter on the live networks (its mean styles: :meth:`MunitMapper.fit`)."""
        return MunitMapper(self.nets)


def build_munit(model_cfg: ModelConfig, train_cfg: TrainConfig, options: MunitConfig | None = None, *,
                run_eagerly: bool = False, jit_compile: bool = False) -> EmoMUNIT:
    """Build, compile and build the optimizers of an :class:`EmoMUNIT` (classifier when ``lambda_class > 0``).

    Weights are initialized from ``keras.utils.set_random_seed(train_cfg.seed)``, so equal configs give equal
    initial networks; the optimizers are the CycleGAN's (:func:`emocore.models.base.make_optimizers`).

    Args:
        options (MunitConfig | None): EmoMUNIT's sizes and loss weights; ``None``: the defaults.
    """
    munit_cfg = options or MunitConfig()
    keras.utils.set_random_seed(train_cfg.seed)
    classifier = build_emotion_classifier(model_cfg) if train_cfg.lambda_class > 0 else None
    model = EmoMUNIT(build_munit_networks(model_cfg, munit_cfg), build_discriminator(model_cfg, "disc_a"),
                     build_discriminator(model_cfg, "disc_b"), train_cfg, munit_cfg, classifier=classifier,
                     name="emo_munit")
    return compile_gan(model, train_cfg, run_eagerly=run_eagerly, jit_compile=jit_compile)


SPEC = ModelSpec(name=MODEL_TYPE, title="EmoMUNIT", build_training=build_munit, build_converter=build_converter,
                 options=MunitConfig, loss_panels=LOSS_PANELS)


__all__ = [
    "EmoMUNIT", "MunitMapper", "MunitNetworks", "build_content_encoder",
    "build_converter", "build_decoder", "build_munit", "build_munit_networks", "build_style_encoder",
    "build_style_mlp", "content_channels", "mean_style_code", "n_adain_params",
]
