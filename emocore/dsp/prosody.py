"""Log-Gaussian normalized transforms of log F0 and of the power envelope, and per-domain statistics.

The transform (Liu et al. 2007, used by Gao et al. 2019) matches the mean and standard deviation of a
log-domain contour ``x`` between a source and a target domain:

    y = (x - mean_src) / std_src * std_tgt + mean_tgt

Log F0 is transformed on voiced frames only; unvoiced frames stay 0 Hz. The power envelope (see
:mod:`emocore.dsp.features`) is also fitted on voiced frames, where speech energy lives, and converted
there; every unvoiced frame gets the log-gain of its nearest voiced frames, linearly interpolated, so
consonants and pauses keep their level relative to the vowels around them (applying the affine map to
silence itself would amplify background noise whenever ``std_tgt < std_src``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocore.config import read_model_json
from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.exceptions import ModelFolderError, ParameterError


@dataclass(frozen=True)
class LogGaussian:
    """Mean and standard deviation of a log-domain quantity over ``n_frames`` frames."""

    mean: float
    std: float
    n_frames: int

    @classmethod
    def fit(cls, values: np.ndarray) -> "LogGaussian":
        """Fit on a 1-D array of log-domain values (already masked to the frames that count)."""
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size < 2:
            raise ParameterError(f"need at least 2 frames to fit a log-Gaussian, got {values.size}")
        return cls(mean=float(values.mean()), std=float(max(values.std(), 1e-8)), n_frames=int(values.size))

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n_frames": self.n_frames}

    @classmethod
    def from_dict(cls, values: dict) -> "LogGaussian":
        return cls(mean=float(values["mean"]), std=float(values["std"]), n_frames=int(values["n_frames"]))


def log_gaussian_transform(x: np.ndarray, src: LogGaussian, tgt: LogGaussian) -> np.ndarray:
    """``(x - src.mean) / src.std * tgt.std + tgt.mean``, elementwise."""
    return (np.asarray(x, dtype=np.float64) - src.mean) / src.std * tgt.std + tgt.mean


def fit_log_f0(f0_contours: list[np.ndarray]) -> LogGaussian:
    """Log-F0 statistics over the voiced frames of several ``(T_i,)`` contours in Hz."""
    voiced = [np.log(f0[f0 > 0]) for f0 in f0_contours]
    return LogGaussian.fit(np.concatenate(voiced) if voiced else np.empty(0))


def fit_log_power(log_powers: list[np.ndarray], f0_contours: list[np.ndarray]) -> LogGaussian:
    """Power-envelope statistics over the voiced frames of several utterances."""
    if len(log_powers) != len(f0_contours):
        raise ParameterError("need one F0 contour per power envelope")
    voiced = [p[f0 > 0] for p, f0 in zip(log_powers, f0_contours)]
    return LogGaussian.fit(np.concatenate(voiced) if voiced else np.empty(0))


def convert_f0(f0_hz: np.ndarray, src: LogGaussian, tgt: LogGaussian) -> np.ndarray:
    """Map F0 from source to target by matching log-F0 mean and std.

    Args:
        f0_hz (ndarray): F0 contour, shape ``(T,)``; 0 marks unvoiced frames.

    Returns:
        ndarray: converted F0, shape ``(T,)``; unvoiced frames stay 0.
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced, out = f0_hz > 0, np.zeros_like(f0_hz)
    out[voiced] = np.exp(log_gaussian_transform(np.log(f0_hz[voiced]), src, tgt))
    return out


def interpolate_over_unvoiced(values: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Replace unvoiced entries of ``values (T,)`` by linear interpolation between voiced neighbours.

    Leading and trailing unvoiced runs take the first and last voiced value. With no voiced frame at
    all the input is returned unchanged.
    """
    values = np.asarray(values, dtype=np.float64)
    voiced = np.asarray(voiced, dtype=bool)
    if not voiced.any():
        return values.copy()
    frames = np.arange(len(values))
    return np.interp(frames, frames[voiced], values[voiced])


def convert_log_power(log_power: np.ndarray, f0_hz: np.ndarray, src: LogGaussian, tgt: LogGaussian) -> np.ndarray:
    """Convert a power envelope ``(T,)`` by the log-Gaussian transform fitted on voiced frames.

    Voiced frames get the transform; unvoiced frames get the interpolated log-gain of the voiced
    frames around them (see the module docstring). Returns the converted envelope, shape ``(T,)``.
    """
    log_power = np.asarray(log_power, dtype=np.float64)
    voiced = np.asarray(f0_hz) > 0
    if len(voiced) != len(log_power):
        raise ParameterError(f"f0_hz has {len(voiced)} frames, log_power has {len(log_power)}")
    log_gain = log_gaussian_transform(log_power, src, tgt) - log_power
    return log_power + interpolate_over_unvoiced(log_gain, voiced)


@dataclass(frozen=True)
class DomainStats:
    """Everything conversion needs to know about one domain (one speaker's emotion).

    Attributes:
        name: e.g. ``"tess-OAF-neutral"``.
        log_f0: log-F0 statistics over voiced frames.
        log_power: power-envelope statistics over voiced frames.
        mcep: per-dimension MCEP mean and std over all frames (network input normalization).
        n_utterances: how many utterances the statistics came from.
    """

    name: str
    log_f0: LogGaussian
    log_power: LogGaussian
    mcep: MeanStd
    n_utterances: int

    @classmethod
    def fit(cls, name: str, feats: list[WorldFeatures]) -> "DomainStats":
        if not feats:
            raise ParameterError(f"domain {name!r}: no utterances to compute statistics from")
        f0s = [f.f0_hz for f in feats]
        return cls(name=name, log_f0=fit_log_f0(f0s), log_power=fit_log_power([f.log_power for f in feats], f0s),
                   mcep=MeanStd.fit([f.mcep for f in feats]), n_utterances=len(feats))

    def to_dict(self) -> dict:
        return {"name": self.name, "log_f0": self.log_f0.to_dict(), "log_power": self.log_power.to_dict(),
                "mcep": self.mcep.to_dict(), "n_utterances": self.n_utterances}

    @classmethod
    def from_dict(cls, values: dict) -> "DomainStats":
        return cls(name=values["name"], log_f0=LogGaussian.from_dict(values["log_f0"]),
                   log_power=LogGaussian.from_dict(values["log_power"]), mcep=MeanStd.from_dict(values["mcep"]),
                   n_utterances=int(values["n_utterances"]))

    def save(self, path: str | Path) -> None:
        """Write as JSON (atomically)."""
        from emocore.io import write_json_atomic

        write_json_atomic(path, self.to_dict(), sort_keys=False)

    @classmethod
    def load(cls, path: str | Path) -> "DomainStats":
        """Read a file written by :meth:`save`.

        Raises:
            ModelFolderError: naming ``path``: missing, not valid JSON, or not domain statistics.
        """
        try:
            return cls.from_dict(read_model_json(path))
        except KeyError as error:
            raise ModelFolderError(path, f"lacks the key {error.args[0]!r} of domain statistics") from error
        except (TypeError, ValueError) as error:
            raise ModelFolderError(path, f"not domain statistics ({error})") from error


def convert_prosody(feats: WorldFeatures, src: DomainStats, tgt: DomainStats, *, f0: bool = True,
                    power: bool = True) -> WorldFeatures:
    """Apply the log-Gaussian transforms (F0 and/or power envelope) to one utterance's features.

    MCEPs and aperiodicity are returned unchanged; synthesize with
    ``features.synthesize_features(out, cfg, apply_log_power=power)`` so the new envelope is imposed.
    """
    out = feats
    if power:
        out = out.replace(log_power=convert_log_power(feats.log_power, feats.f0_hz, src.log_power, tgt.log_power))
    if f0:
        out = out.replace(f0_hz=convert_f0(feats.f0_hz, src.log_f0, tgt.log_f0))
    return out
