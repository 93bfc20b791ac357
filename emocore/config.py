"""Frozen dataclass configs: every hyperparameter lives here, with a ``smoke()`` variant for CI.

Each run writes ``json.dump(asdict(cfg))`` next to what it produced, and ``from_dict`` reads it back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from .exceptions import ParameterError

_C = TypeVar("_C")

F0_METHODS = ("harvest", "dio")
MCEP_METHODS = ("world", "sptk")


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
        if not 0 < self.f0_floor_hz < self.f0_ceil_hz:
            raise ParameterError("need 0 < f0_floor_hz < f0_ceil_hz")
        if self.mcep_dim < 2:
            raise ParameterError(f"mcep_dim must be at least 2, got {self.mcep_dim}")

    @property
    def hop_length(self) -> int:
        """Samples per frame shift."""
        return int(round(self.sr * self.frame_period_ms / 1000))

    def smoke(self) -> "FeatureConfig":
        """The CI variant: dio is about 10x faster than harvest."""
        return replace(self, f0_method="dio")


def to_json(cfg: Any, path: str | Path) -> None:
    """Write a dataclass config (nested ones too) as indented JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(asdict(cfg), indent=2, sort_keys=True) + "\n")


def from_dict(cls: type[_C], values: dict) -> _C:
    """Build ``cls`` from a dict, ignoring keys it does not know (configs written by newer versions)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def from_json(cls: type[_C], path: str | Path) -> _C:
    """Read a config written by :func:`to_json`."""
    return from_dict(cls, json.loads(Path(path).read_text()))


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
