"""Learned prosody: a network that converts a word's F0 contour and power envelope to another emotion.

The log-Gaussian transform and its CWT extension (:mod:`emocore.dsp.relative_prosody`) move a neutral melody's
level, spread and per-scale movement, but the melody keeps its neutral shape, and that is what the judges miss: with
the real happy word's F0 contour put on a converted TESS word, both judges hear happy in every file, with the
transformed contour in about half. This network learns the contour itself from parallel recordings (the same words
spoken in each emotion, aligned by DTW; :mod:`emocore.data.parallel`):

- **Input**, per 5 ms frame of the source word: its continuous log F0 (interpolated over unvoiced frames), the
  voicing, the log power envelope and the first MCEPs, each z-scored by the word itself, then its log F0 and power
  centred on the word's means in the fixed output units (:func:`~emocore.dsp.contour_features.contour_inputs`), so no
  speaker's register or loudness enters but the size of the word's movement does, and the condition
  ``[one-hot(source), one-hot(target), strength]``: the strength is RAVDESS's labelled emotional intensity of the
  target take (0 normal, and TESS's words; 1 strong: another pitch register), chosen at conversion (default 0).
- **Network** (:func:`build_contour_network`): a 1-D convolution, then residual blocks of dilated convolutions
  (a second or more of context each side), each block shifted by a dense map of the condition; the output adds the
  input's own log-F0 and power tracks, so it starts as the identity and learns the change.
- **Output**: the target emotion's log F0 and power on the source's frames, centred on the source word's means, in
  fixed units (``ContourConfig.f0_unit``, ``power_unit``: a semitone stays a semitone whether the word is a flat TESS
  word or a lively RAVDESS sentence; the first shipped learned prosody used each word's own spreads), so a change of
  level (happy: several semitones up) is learned like a change of shape.
  :class:`ContourPredictor` carries both changes, learned on voiced frames, across the unvoiced ones from their
  voiced neighbours (the network was never asked about a pause), smooths the change of log F0 (a Gaussian of
  ``ContourConfig.f0_smoothing_frames``: the raw change jitters from frame to frame) and maps it back to Hz on the
  source's voiced frames (voicing is kept).

``intensity`` moves the output from the source's contour (0) to the predicted one (1), linearly in those units.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
from keras import layers
from scipy.ndimage import gaussian_filter1d

from emocore.config import PROSODY_CONFIG_FILE, PROSODY_WEIGHTS_FILE, ContourConfig
from emocore.dsp.contour_features import contour_channels, contour_inputs, n_inputs
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import interpolate_over_unvoiced
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.io import write_json_atomic
from emocore.models.base import infer, load_weights, save_weights_atomic

#: the learned prosody's files in a model folder
WEIGHTS_FILE = PROSODY_WEIGHTS_FILE
CONFIG_FILE = PROSODY_CONFIG_FILE


def condition_width(cfg: ContourConfig, n_emotions: int) -> int:
    """The condition's width: two one-hots of the emotions, then the strength where ``cfg.strength_condition``."""
    return 2 * n_emotions + int(cfg.strength_condition)


def contour_condition(source: int, target: int, n_emotions: int, strength: float | None = None) -> np.ndarray:
    """``[one-hot(source), one-hot(target)]`` and, when given, ``strength``: shape ``(1, condition_width)``,
    float32."""
    cond = np.zeros((1, 2 * n_emotions + (strength is not None)), dtype=np.float32)
    cond[0, source], cond[0, n_emotions + target] = 1.0, 1.0
    if strength is not None:
        cond[0, -1] = strength
    return cond


def build_contour_network(cfg: ContourConfig, n_emotions: int, name: str = "prosody") -> keras.Model:
    """The contour network: ``[(B, T, n_inputs(cfg)), (B, condition_width)] -> (B, T, 2)`` (log F0, log power).

    Any ``T``: every convolution is ``"same"``-padded with stride 1. The last layer starts at zero and the output
    adds the input's log-F0 and power channels in the output's units (:func:`contour_channels`), so an untrained
    network returns its input's contours.
    """
    features = keras.Input(shape=(None, n_inputs(cfg)), name="contours")
    cond = keras.Input(shape=(condition_width(cfg, n_emotions),), name="condition")
    h = layers.Conv1D(cfg.width, cfg.kernel_size, padding="same", name="input_conv")(features)
    h = layers.Add(name="input_condition")([h, layers.Reshape((1, cfg.width))(layers.Dense(cfg.width)(cond))])
    for i, dilation in enumerate(cfg.dilations):
        r = layers.Conv1D(cfg.width, cfg.kernel_size, padding="same", dilation_rate=dilation, activation="gelu",
                          name=f"block{i + 1}_dilated")(h)
        r = layers.Conv1D(cfg.width, 1, name=f"block{i + 1}_mix")(r)
        shift = layers.Reshape((1, cfg.width))(layers.Dense(cfg.width, name=f"block{i + 1}_condition")(cond))
        h = layers.Add(name=f"block{i + 1}_residual")([h, layers.Add()([r, shift])])
    change = layers.Conv1D(2, 1, kernel_initializer="zeros", name="output_conv")(h)
    f0, power = contour_channels(cfg)
    own = layers.Lambda(lambda t: keras.ops.stack([t[..., f0], t[..., power]], axis=-1),
                        name="input_contours")(features)
    return keras.Model([features, cond], layers.Add(name="skip")([own, change]), name=name)


class ContourPredictor:
    """The trained contour network with its settings: a word's F0 and power in another emotion.

    Args:
        network (keras.Model): :func:`build_contour_network`.
        cfg (ContourConfig): its settings.
        emotions (tuple[str, ...]): the emotion of each condition index, in the model's order.
        sources (tuple[str, ...]): the emotions it learned to convert from (default: all).
    """

    def __init__(self, network: keras.Model, cfg: ContourConfig, emotions: tuple[str, ...],
                 sources: tuple[str, ...] | None = None):
        self.network, self.cfg, self.emotions = network, cfg, tuple(emotions)
        self.sources = self.emotions if sources is None else tuple(sources)

    @classmethod
    def build(cls, cfg: ContourConfig, emotions, sources=None) -> "ContourPredictor":
        emotions = tuple(emotions)
        return cls(build_contour_network(cfg, len(emotions)), cfg, emotions, sources)

    def index(self, emotion: str) -> int:
        if emotion not in self.emotions:
            raise ParameterError(f"the learned prosody knows {', '.join(self.emotions)}, not {emotion!r}")
        return self.emotions.index(emotion)

    def predict(self, feats: WorldFeatures, source: str, target: str, intensity: float = 1.0,
                strength: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The word's F0 ``(T,)`` in Hz (0 where the source is unvoiced) and log power ``(T,)`` in ``target``.

        Args:
            intensity: from the source's contours (0) to the predicted ones (1).
            strength: the register of the predicted contours where ``cfg.strength_condition``: 0 that of RAVDESS's
                normal-intensity takes (and TESS's words), 1 that of its strong ones; ignored by a network without it.

        Raises:
            ParameterError: an emotion it does not know, too few voiced frames
                (:func:`~emocore.dsp.contour_features.contour_inputs`), or a strength outside ``[0, 1]``.
        """
        if not 0.0 <= float(strength) <= 1.0:
            raise ParameterError(f"strength must be in [0, 1], got {strength}")
        if source not in self.sources:
            raise ParameterError(f"the learned prosody converts from {', '.join(self.sources)} only, not {source!r}")
        if float(intensity) == 0.0:  # the source itself, not its float32 round trip
            return np.asarray(feats.f0_hz, dtype=np.float64).copy(), np.asarray(feats.log_power, dtype=np.float64).copy()
        x, stats = contour_inputs(feats, self.cfg)
        cond = contour_condition(self.index(source), self.index(target), len(self.emotions),
                                 float(strength) if self.cfg.strength_condition else None)
        predicted = np.asarray(infer(self.network, [x[None], cond])[0], dtype=np.float64)
        voiced = np.asarray(feats.f0_hz) > 0
        # the changes were learned on voiced frames only: across unvoiced ones (consonants, pauses) each is carried
        # over from the voiced neighbours; the F0 change is then smoothed (the source's own fine movement stays)
        f0_channel, power_channel = contour_channels(self.cfg)
        f0_change = interpolate_over_unvoiced(predicted[:, 0] - x[:, f0_channel], voiced)
        if self.cfg.f0_smoothing_frames > 0:
            f0_change = gaussian_filter1d(f0_change, self.cfg.f0_smoothing_frames, mode="nearest")
        alpha = float(intensity)
        source_log_f0 = np.log(np.where(voiced, np.asarray(feats.f0_hz, dtype=np.float64), 1.0))
        f0_hz = np.where(voiced, np.exp(source_log_f0 + alpha * f0_change * stats.f0_unit), 0.0)
        # the unvoiced frames' own envelope keeps its shape, as with the CWT transform
        gain = alpha * (predicted[:, 1] - x[:, power_channel]) * stats.power_unit
        return f0_hz, np.asarray(feats.log_power, dtype=np.float64) + interpolate_over_unvoiced(gain, voiced)

    def save(self, folder: str | Path) -> None:
        """Write :data:`CONFIG_FILE` and :data:`WEIGHTS_FILE` into ``folder`` (each atomically)."""
        folder = Path(folder)
        write_json_atomic(folder / CONFIG_FILE, {"emotions": list(self.emotions), "sources": list(self.sources),
                                                 "config": asdict(self.cfg)})
        save_weights_atomic(self.network, folder / WEIGHTS_FILE)

    @classmethod
    def load(cls, folder: str | Path) -> "ContourPredictor | None":
        """The learned prosody of a model folder; ``None`` when it has none (neither file).

        Raises:
            ModelFolderError: one file without the other, or a file that is not what it should be.
        """
        folder = Path(folder)
        config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        if not config_path.is_file() and not weights_path.is_file():
            return None
        for path in (config_path, weights_path):
            if not path.is_file():
                raise ModelFolderError(path, f"missing: the learned prosody needs {CONFIG_FILE} and {WEIGHTS_FILE}")
        try:
            values = json.loads(config_path.read_text())
            # written before the units and the strength were settings: the word's own spreads, no strength
            settings = {"f0_unit": 0.0, "power_unit": 0.0, "strength_condition": False, **values["config"]}
            cfg, emotions = ContourConfig(**settings), tuple(values["emotions"])
            sources = tuple(values.get("sources", emotions))
        except (OSError, ValueError, KeyError, TypeError, ParameterError) as error:
            raise ModelFolderError(config_path, f"not a learned prosody's settings ({type(error).__name__}: "
                                                f"{error})") from error
        predictor = cls.build(cfg, emotions, sources)
        load_weights(predictor.network, weights_path, described_by=CONFIG_FILE)
        return predictor
