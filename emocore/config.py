"""Frozen dataclass configs: every hyperparameter lives here, with a ``smoke()`` variant for CI.

Each run writes ``json.dump(asdict(cfg))`` next to what it produced, and ``from_dict`` reads it back.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from emocore.exceptions import ModelFolderError, ParameterError

_C = TypeVar("_C")

#: the F0 trackers of WORLD analysis (:func:`emocore.dsp.features.extract_f0`)
F0_METHODS = ("harvest", "dio", "rapt", "swipe")
#: the tracker that analyses inputs for conversion (:attr:`emocore.conversion.ConversionModel.f0_tracker`), chosen by
#: ``emocore-bench conversion``: the fastest that keeps the judges' accuracy and DNSMOS of harvest (README, "Speed")
CONVERSION_F0_TRACKER = "dio"
#: how training spreads over devices (:func:`emocore.training.distribute.make_strategy`)
STRATEGIES = ("none", "mirrored", "multi-worker")
#: TensorFlow ops a training step runs at once on the CPU by default (:func:`emocore.training.limit_cpu_threads`). A
#: step's graph has independent branches (the discriminators' gradients beside the generator's, the classifier's),
#: and the width-0.35 models' convolutions are small: on this repository's 2 cores two ops at once, neither split
#: over the cores (intra-op 1, inter-op 2), train EmoCycleGAN and EmoMUNIT 1.23-1.30x and EmoStarGAN 1.07-1.30x
#: faster than TensorFlow's defaults (README, "Speed"); other machines are not measured
PARALLEL_OPS = 2
#: what a training step's convolutions compute in (:func:`emocore.models.precision.set_convolution_precision`):
#: float32, or bfloat16 with float32 weights, inputs and outputs; bfloat16 pays only on bfloat16 hardware, e.g. a CPU
#: with AMX (EmoStarGAN's shipped step: 1.24x the iterations per second on a 2-core Intel Xeon with AMX, README "Speed")
PRECISIONS = ("float32", "bfloat16")
#: what a multi-speaker model's training crops are balanced over (:func:`emocore.data.speakers.prepare_speakers`)
BALANCES = ("speaker", "corpus")
#: the smallest batch for which :func:`emocore.conversion.convert_files` starts worker processes by default (a pool
#: of spawned processes takes about a second to start)
MIN_FILES_FOR_WORKERS = 4
MCEP_METHODS = ("world", "sptk")
#: how a conversion may change each prosody stream (a switch's method name): the log-Gaussian transform of mean and
#: spread, its multi-scale CWT extension (the contour's shape too), the generator's own F0 channel (EmoStarGAN
#: trained with one), or the contour network learned on parallel words (``learned``, EmoStarGAN with
#: ``prosody.weights.h5``). Which of them a model offers is its model type's business.
PROSODY_METHODS = {"f0": ("log-gaussian", "cwt", "contour", "learned"), "power": ("log-gaussian", "cwt", "learned")}
#: the learned prosody's files in a model folder (:mod:`emocore.models.contour`), named here so that what only looks
#: for them need not import Keras
PROSODY_WEIGHTS_FILE, PROSODY_CONFIG_FILE = "prosody.weights.h5", "prosody.json"
#: a multi-speaker model's emotions and speaker normalization (:func:`emocore.dsp.speaker_norm.read_speakers`)
SPEAKERS_FILE = "speakers.json"


@dataclass(frozen=True)
class FeatureConfig:
    """WORLD analysis settings (Gao et al. 2019: 16 kHz, 5 ms frames, 24 MCEPs).

    ``mcep_method="world"`` codes the envelope with ``pyworld.code_spectral_envelope`` as the
    original system did; ``"sptk"`` uses ``pysptk.sp2mc`` (true mel-cepstrum, all-pass ``alpha``).
    """

    sr: int = 16000
    frame_period_ms: float = 5.0
    f0_method: str = "harvest"
    f0_floor_hz: float = 71.0
    f0_ceil_hz: float = 800.0
    mcep_dim: int = 24
    mcep_method: str = "world"
    mcep_alpha: float = 0.42
    min_duration_s: float = 0.25
    silence_peak: float = 1e-4

    def __post_init__(self):
        if self.f0_method not in F0_METHODS:
            raise ParameterError(f"f0_method must be one of {F0_METHODS}, got {self.f0_method!r}")
        if self.mcep_method not in MCEP_METHODS:
            raise ParameterError(f"mcep_method must be one of {MCEP_METHODS}, got {self.mcep_method!r}")
        if self.sr < 8000:
            raise ParameterError(f"sr must be at least 8000 Hz, got {self.sr}")
        if not 0 < self.frame_period_ms <= 50:
            raise ParameterError(f"frame_period_ms must be in (0, 50], got {self.frame_period_ms}")
        if self.hop_length < 1:
            raise ParameterError(f"frame_period_ms={self.frame_period_ms} is less than one sample at sr={self.sr}")
        if not 0 < self.f0_floor_hz < self.f0_ceil_hz:
            raise ParameterError("need 0 < f0_floor_hz < f0_ceil_hz")
        if self.mcep_dim < 2:
            raise ParameterError(f"mcep_dim must be at least 2, got {self.mcep_dim}")
        n_bins = self.fft_size // 2 + 1
        if self.mcep_dim > n_bins:
            raise ParameterError(f"mcep_dim must be at most {n_bins} (the spectral envelope's bins at sr={self.sr} "
                                 f"and f0_floor_hz={self.f0_floor_hz:g}), got {self.mcep_dim}")

    @property
    def fft_size(self) -> int:
        """CheapTrick's FFT length for ``sr`` and ``f0_floor_hz``: WORLD's ``GetFFTSizeForCheapTrick``, 1024 at
        16 kHz and 71 Hz (``pyworld.get_cheaptrick_fft_size`` computes the same)."""
        return 2 ** (1 + int(math.log2(3.0 * self.sr / self.f0_floor_hz + 1.0)))

    @property
    def hop_length(self) -> int:
        """Samples per frame shift."""
        return int(round(self.sr * self.frame_period_ms / 1000))

    def smoke(self) -> "FeatureConfig":
        """The CI variant: dio is about 10x faster than harvest."""
        return replace(self, f0_method="dio")


def to_json(cfg: Any, path: str | Path) -> None:
    """Write a dataclass config (nested ones too) as indented JSON."""
    from emocore.io import write_text_atomic

    write_text_atomic(path, json.dumps(asdict(cfg), indent=2, sort_keys=True) + "\n")


def from_dict(cls: type[_C], values: dict) -> _C:
    """Build ``cls`` from a dict, ignoring keys it does not know (configs written by newer versions)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def from_json(cls: type[_C], path: str | Path) -> _C:
    """Read a config written by :func:`to_json`."""
    return from_dict(cls, json.loads(Path(path).read_text()))


def read_model_json(path: str | Path, required: tuple[str, ...] = ()) -> dict:
    """The JSON object in ``path``, a file of a model folder (``config.json``, ``stats_a.json``, ...).

    Args:
        path: the file.
        required: keys the object must have.

    Raises:
        ModelFolderError: naming ``path``: it is missing, unreadable, empty or not valid JSON, holds no
            JSON object, or lacks one of ``required``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        values = json.loads(data)
    except FileNotFoundError:
        raise ModelFolderError(path, "missing") from None
    except OSError as error:
        raise ModelFolderError(path, f"unreadable ({error.strerror or error})") from error
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise ModelFolderError(path, "empty" if not data.strip() else f"invalid JSON ({error})") from error
    if not isinstance(values, dict):
        raise ModelFolderError(path, f"holds a JSON {type(values).__name__}, not an object")
    missing = [key for key in required if key not in values]
    if missing:
        raise ModelFolderError(path, f"lacks the key{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}")
    return values


@dataclass(frozen=True)
class ModelConfig:
    """Network sizes for :mod:`emocore.models`: CycleGAN-VC (Kaneko & Kameoka 2017), as in Gao et al. 2019.

    ``width`` multiplies every hidden channel count (rounded to an even number, at least 4); ``width=1.0``
    is the published size. ``mcep_dim`` must equal ``FeatureConfig.mcep_dim``. The classifier sees the
    MCEPs plus one log-F0 channel; its block ``i`` has ``classifier_base_channels * 2**i`` channels
    (times ``width``).
    """

    mcep_dim: int = 24
    width: float = 1.0
    gen_base_channels: int = 128
    disc_base_channels: int = 128
    n_residual_blocks: int = 6
    classifier_base_channels: int = 64
    classifier_n_blocks: int = 3
    classifier_kernel_size: int = 5
    n_emotions: int = 2
    norm_epsilon: float = 1e-5

    def __post_init__(self):
        if self.mcep_dim < 2:
            raise ParameterError(f"mcep_dim must be at least 2, got {self.mcep_dim}")
        if not self.width > 0:
            raise ParameterError(f"width must be positive, got {self.width}")
        for name in ("gen_base_channels", "disc_base_channels", "classifier_base_channels"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_residual_blocks < 0:
            raise ParameterError(f"n_residual_blocks must be >= 0, got {self.n_residual_blocks}")
        if self.classifier_n_blocks < 1 or self.classifier_kernel_size < 1:
            raise ParameterError("classifier_n_blocks and classifier_kernel_size must be at least 1")
        if self.n_emotions < 2:
            raise ParameterError(f"n_emotions must be at least 2, got {self.n_emotions}")
        if not self.norm_epsilon > 0:
            raise ParameterError(f"norm_epsilon must be positive, got {self.norm_epsilon}")

    def smoke(self) -> "ModelConfig":
        """The CI variant: 1/8 of the channels and 2 residual blocks."""
        return replace(self, width=0.125, n_residual_blocks=2)


@dataclass(frozen=True)
class MunitConfig:
    """EmoMUNIT (MUNIT, Huang et al. 2018, for emotions): sizes and loss weights of :mod:`emocore.models.munit`.

    The shared sizes come from :class:`ModelConfig`: ``mcep_dim``, ``width`` (which multiplies every
    channel count here too, rounded as in :func:`emocore.models.scale_channels`), ``norm_epsilon``, and
    the discriminators and the emotion classifier, which are CycleGAN's. Everything else that trains
    EmoMUNIT (iterations, crops, Adam, schedule, ``lambda_class``, checkpoints) is :class:`TrainConfig`.

    Channels at ``width=1.0``: the content encoder has ``c, 2c, 4c`` with ``c = content_base_channels``
    and ``n_content_residual_blocks`` residual blocks at ``4c`` (``8c`` inside); the style encoder
    ``s, 2s, 4s, 4s, ...`` with ``s = style_base_channels`` over ``n_style_downsamples`` stride-2 blocks;
    the decoder ``n_decoder_residual_blocks`` adaptive blocks at ``4c`` (``8c`` inside), then CycleGAN's
    two pixel-shuffle blocks. The style MLP has ``mlp_layers`` dense layers, the hidden ones
    ``mlp_hidden`` wide. The loss weights default to MUNIT's (its image reconstruction is the MCEP
    reconstruction here); ``lambda_cycle_recon > 0`` turns the optional cycle reconstruction on.
    """

    content_base_channels: int = 128
    n_content_residual_blocks: int = 4
    style_base_channels: int = 64
    n_style_downsamples: int = 4
    style_dim: int = 8
    mlp_hidden: int = 256
    mlp_layers: int = 3
    n_decoder_residual_blocks: int = 4
    lambda_recon: float = 10.0
    lambda_style: float = 1.0
    lambda_content: float = 1.0
    lambda_cycle_recon: float = 0.0

    def __post_init__(self):
        for name in ("content_base_channels", "style_base_channels", "style_dim", "mlp_hidden", "mlp_layers"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("n_content_residual_blocks", "n_style_downsamples"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_decoder_residual_blocks < 1:  # the style enters the decoder through these blocks' AdaIN
            raise ParameterError(f"n_decoder_residual_blocks must be at least 1, got {self.n_decoder_residual_blocks}")
        for name in ("lambda_recon", "lambda_style", "lambda_content", "lambda_cycle_recon"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")

    def smoke(self) -> "MunitConfig":
        """The CI variant: one residual block on each side, two style downsamplings, a 32-wide MLP."""
        return replace(self, n_content_residual_blocks=1, n_style_downsamples=2, mlp_hidden=32,
                       n_decoder_residual_blocks=1)


#: EmoStarGAN's discriminators (:data:`emocore.models.discriminator.DISCRIMINATORS`)
DISCRIMINATOR_KINDS = ("2d", "2d-light", "1d")


@dataclass(frozen=True)
class StarGanConfig:
    """EmoStarGAN's own settings (:mod:`emocore.models.stargan`); its sizes are :class:`ModelConfig`'s.

    With ``f0_contour`` the generator converts the F0 contour itself (issue 15's learned prosody): the speaker-
    normalized log F0, interpolated over unvoiced frames, is one more channel beside the MCEPs, in and out, seen by
    the discriminator and the emotion classifier of the training objective; conversion reads the converted F0 from
    that channel (voicing stays the input's). ``lambda_f0_smooth`` weights a penalty on the generated contour's
    second difference beyond the real crop's, which keeps it from jittering. Off, F0 is converted by the
    speaker-relative log-Gaussian transform (:mod:`emocore.dsp.relative_prosody`), as the first EmoStarGAN did: a
    record without options is read as the defaults.

    ``discriminator`` is the training discriminator (:data:`DISCRIMINATOR_KINDS`, built by
    :mod:`emocore.models.discriminator`): ``"2d"`` CycleGAN-VC's gated CNN on the frames x MCEPs plane;
    ``"2d-light"`` the same with its last block halved (half the forward work; 1.12x the training iterations per
    second in the bench at width 0.35, 1.22-1.40x end to end, but worse conversions); ``"1d"`` a gated
    CNN over frames with the MCEPs as channels: about a tenth of the discriminator's forward work and 1.44x the
    iterations per second, but worse conversions (README, "A lighter discriminator"). Conversion does not use it.

    ``generator_average`` above 0 keeps an exponential moving average of the generator's weights with that momentum
    (``average <- m * average + (1 - m) * weights`` after every update; 0.999, as StarGANv2-VC, averages over about
    the last thousand updates), and conversion, validation and the saved model use the average: the trained
    generator itself moves with every adversarial update; its average does not. The training itself is unchanged.
    """

    f0_contour: bool = False
    lambda_f0_smooth: float = 1.0
    discriminator: str = "2d"
    generator_average: float = 0.0

    def __post_init__(self):
        if self.lambda_f0_smooth < 0:
            raise ParameterError(f"lambda_f0_smooth must be >= 0, got {self.lambda_f0_smooth}")
        if self.discriminator not in DISCRIMINATOR_KINDS:
            raise ParameterError(f"discriminator must be one of {', '.join(DISCRIMINATOR_KINDS)}, "
                                 f"got {self.discriminator!r}")
        if not 0.0 <= self.generator_average < 1.0:
            raise ParameterError(f"generator_average is a momentum in [0, 1) (0: off), got {self.generator_average}")

    def smoke(self) -> "StarGanConfig":
        """The CI variant: the same settings (the sizes that shrink are ModelConfig's)."""
        return self


@dataclass(frozen=True)
class ContourConfig:
    """The learned prosody network (:mod:`emocore.models.contour`) and its training (:mod:`emocore.training.contour`).

    A dilated 1-D CNN, conditioned on the source and target emotion, maps a word's continuous log F0, voicing,
    power envelope and first ``n_mcep`` MCEPs (each z-scored by the utterance itself; log F0 and power also in the
    fixed units below) to the target emotion's log F0 and power on the same frames; it learns from parallel recordings aligned by DTW. ``dilations`` are those of its
    residual blocks (kernel ``kernel_size``): the defaults see 1.3 s either side at 5 ms frames. It trains ``steps``
    Adam steps on batches of ``batch_size`` crops of ``crop_frames``, half of them from each corpus when
    ``balance_corpora`` (TESS has two speakers but most of the words). Each source word is paired with at most
    ``pairs_per_text`` recordings of its text in each target emotion (RAVDESS has four of a sentence, normal and
    strong; 4 takes them all).
    ``min_log_f0_spread`` and ``min_log_power_spread`` floor the word's own spreads it is z-scored by (0.05 log
    units is about a semitone): a monotone word would otherwise have its z-scores blown up from noise, and, where a
    unit below is 0 (the word's own spread), every learned change shrunk, the level's included.
    ``f0_smoothing_frames`` is the width (standard deviation, in frames) of the Gaussian that smooths the predicted
    change of log F0 (0: none): unsmoothed, the network's contour moves from frame to frame three times as much as
    real speech's (mean absolute second difference 0.35 semitones against 0.12 on the shipped model's training
    words; the targets it learned from are DTW staircases), which WORLD renders as a rough voice; one frame brings
    it to 0.12.
    ``f0_unit`` and ``power_unit`` are the units (log F0, log power) of the contours the network predicts, centred
    on the source word's means; the network also reads the source's contours in them. 0 is the source word's own
    spread, as in the first shipped learned prosody: a TESS neutral word's log-F0 spread is at the floor (0.05) and a
    RAVDESS sentence's 0.16-0.38, so the same +3 semitones was 3.5 units for one and 1 for the other, and the network,
    seeing only z-scores, could not tell them apart (it raised unseen men's voices by 8 semitones to angry where their
    real angry takes are 2-3 higher). Fixed units keep a semitone a semitone whoever speaks.
    ``strength_condition`` adds RAVDESS's labelled emotional intensity to the condition (1 for a strong take, 0 for a
    normal one and for TESS's words, which sit in the normal takes' register): a strong take's pitch is another
    register (angry 6-16 semitones above the neutral take for the shipped model's training actors, against 1-6 for
    normal takes; sad 3-11 against -2 to +1), and without the label the network predicts between the two for
    every word. Conversion chooses the register (the ``strength`` option, default 0).
    """

    width: int = 64
    kernel_size: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32)
    n_mcep: int = 12
    steps: int = 3000
    batch_size: int = 16
    crop_frames: int = 256
    learning_rate: float = 1e-3
    balance_corpora: bool = True
    pairs_per_text: int = 4
    min_log_f0_spread: float = 0.05
    min_log_power_spread: float = 0.1
    f0_smoothing_frames: float = 1.0
    f0_unit: float = 0.1
    power_unit: float = 1.0
    strength_condition: bool = True
    seed: int = 0

    def __post_init__(self):
        for name in ("width", "kernel_size", "n_mcep", "steps", "batch_size", "crop_frames", "pairs_per_text"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"ContourConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.dilations or any(int(d) < 1 for d in self.dilations):
            raise ParameterError(f"ContourConfig.dilations must be positive integers, got {self.dilations}")
        if not self.f0_smoothing_frames >= 0:
            raise ParameterError(f"ContourConfig.f0_smoothing_frames must be >= 0, got {self.f0_smoothing_frames}")
        if not (self.f0_unit >= 0 and self.power_unit >= 0):
            raise ParameterError(f"ContourConfig.f0_unit and power_unit must be >= 0 (0: the word's own spread), got "
                                 f"{self.f0_unit} and {self.power_unit}")
        if self.min_log_f0_spread <= 0 or self.min_log_power_spread <= 0:
            raise ParameterError("ContourConfig.min_log_f0_spread and min_log_power_spread must be > 0")
        if self.learning_rate <= 0:
            raise ParameterError(f"ContourConfig.learning_rate must be > 0, got {self.learning_rate}")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))

    def smoke(self) -> "ContourConfig":
        """The CI variant: a narrow network, a few steps."""
        return replace(self, width=8, dilations=(1, 2, 4), steps=20, batch_size=4, crop_frames=64)


@dataclass(frozen=True)
class TrainConfig:
    """CycleGAN-VC training (Kaneko & Kameoka 2017, as used by Gao et al. 2019) for :mod:`emocore.training`.

    Published recipe: batch size 1, 128-frame crops, Adam (``beta_1=0.5``), generator 2e-4 and
    discriminator 1e-4, cycle weight 10, identity weight 5 used only for the first 1e4 iterations,
    400k iterations with the learning rates constant for the first half and decaying linearly to zero
    over the second. The default ``iterations`` is below the published count because TESS gives one speaker
    only about 180 words (a few minutes of speech) per emotion; the schedule is scaled to whatever
    ``iterations`` is (``lr_decay_start_fraction`` of it constant), so ``iterations=400_000`` is the
    published schedule exactly. A checkpoint at ``width=1.0`` is about 1.5 GB (weights and Adam moments).

    The emotion classifier (``lambda_class > 0``; 0 trains plain CycleGAN-VC) is pre-trained for
    ``classifier_pretrain_steps`` steps of ``classifier_batch_size`` crops per domain, then frozen.
    Steps are counted from 0: ``identity_switch_off_step`` is the first step whose identity weight is 0.
    ``checkpoint_every``, ``validate_every`` and ``log_every`` are in iterations; ``validate_every=0``
    turns the validation conversions off. ``precision`` (:data:`PRECISIONS`) is what the training step's
    convolutions compute in; the weights, and conversion with the trained model, stay float32.
    """

    iterations: int = 200_000
    batch_size: int = 1
    n_frames: int = 128
    min_voiced_fraction: float = 0.25
    gen_lr: float = 2e-4
    disc_lr: float = 1e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    lr_decay_start_fraction: float = 0.5
    lambda_cycle: float = 10.0
    lambda_identity: float = 5.0
    identity_switch_off_step: int = 10_000
    lambda_class: float = 1.0
    classifier_pretrain_steps: int = 2000
    classifier_batch_size: int = 8
    classifier_lr: float = 1e-3
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    validate_every: int = 5000
    n_validation_files: int = 4
    log_every: int = 100
    seed: int = 0
    precision: str = "float32"

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ParameterError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        for name in ("iterations", "batch_size", "checkpoint_every", "keep_checkpoints", "log_every",
                     "classifier_batch_size"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("validate_every", "n_validation_files", "classifier_pretrain_steps", "identity_switch_off_step"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_frames < 16 or self.n_frames % 4:
            raise ParameterError(f"n_frames must be a multiple of 4 and at least 16, got {self.n_frames}")
        if not 0 <= self.min_voiced_fraction <= 1:
            raise ParameterError(f"min_voiced_fraction must be in [0, 1], got {self.min_voiced_fraction}")
        if not 0 <= self.lr_decay_start_fraction <= 1:
            raise ParameterError(f"lr_decay_start_fraction must be in [0, 1], got {self.lr_decay_start_fraction}")
        for name in ("gen_lr", "disc_lr", "classifier_lr"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("lambda_cycle", "lambda_identity", "lambda_class"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")

    def smoke(self) -> "TrainConfig":
        """The CI variant: 4 iterations of 2 x 32 frames, both identity phases, a checkpoint every 2."""
        return replace(self, iterations=4, batch_size=2, n_frames=32, identity_switch_off_step=2,
                       classifier_pretrain_steps=4, classifier_batch_size=2, checkpoint_every=2,
                       validate_every=4, n_validation_files=1, log_every=1)


@dataclass(frozen=True)
class SegmentConfig:
    """How :mod:`emocore.dsp.segments` cuts a long input so that conversion runs in bounded memory.

    An input longer than ``max_segment_s`` is cut into segments of at most ``max_segment_s``, each cut at the
    quietest ``cut_frame_ms`` frame within ``search_s`` around its nominal place (nominal cuts divide the
    input evenly). Each segment is analysed and converted with ``context_s`` of audio on both sides and
    the converted segments are joined by a complementary raised-cosine crossfade of ``crossfade_ms``
    centred on each cut. An input of at most ``max_segment_s`` is one segment, converted exactly as a
    whole; ``max_segment_s=math.inf`` turns segmenting off.
    """

    max_segment_s: float = 20.0
    search_s: float = 2.0
    context_s: float = 0.5
    crossfade_ms: float = 20.0
    cut_frame_ms: float = 10.0

    def __post_init__(self):
        for name in ("max_segment_s", "search_s", "context_s", "crossfade_ms", "cut_frame_ms"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_segment_s < 4 * self.search_s:  # keeps neighbouring search windows apart
            raise ParameterError(f"max_segment_s must be at least 4 * search_s, got {self.max_segment_s} "
                                 f"and {self.search_s}")
        if self.crossfade_ms / 2000 > self.context_s:
            raise ParameterError(f"crossfade_ms / 2 must fit in context_s, got {self.crossfade_ms} ms and "
                                 f"{self.context_s} s")
        if self.cut_frame_ms / 1000 > self.search_s:
            raise ParameterError(f"cut_frame_ms must fit in search_s, got {self.cut_frame_ms} ms and {self.search_s} s")

    def smoke(self) -> "SegmentConfig":
        """The CI variant: segments of at most 2 s, so a few seconds of audio already make several."""
        return replace(self, max_segment_s=2.0, search_s=0.4, context_s=0.25)
