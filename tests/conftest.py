"""Shared fixtures: synthetic audio made here, and the real corpora when they are present."""

from __future__ import annotations

import numpy as np
import pytest

from emocore import paths

SR = 16000


def harmonic_tone(f0_hz: float = 150.0, duration_s: float = 1.0, sr: int = SR, n_harmonics: int = 10,
                  vibrato_depth: float = 0.02, vibrato_hz: float = 5.0) -> np.ndarray:
    """A voiced-speech stand-in: harmonics of a vibrato F0 with 1/k amplitudes, peak 0.5."""
    t = np.arange(int(duration_s * sr)) / sr
    f0 = f0_hz * (1 + vibrato_depth * np.sin(2 * np.pi * vibrato_hz * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wav = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    return 0.5 * wav / np.max(np.abs(wav))


@pytest.fixture
def sr() -> int:
    return SR


@pytest.fixture
def tone() -> np.ndarray:
    """1 s harmonic tone at 150 Hz with 5 Hz vibrato, 16 kHz."""
    return harmonic_tone()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def corpora_root():
    """The folder holding tess/ and ravdess/ (``$EMOCORE_DATA_DIR`` or ``../shared/data``); skip if absent."""
    root = paths.corpora_dir()
    if not (root / "tess").is_dir():
        pytest.skip(f"real corpora not found at {root}; set EMOCORE_DATA_DIR or run `emocore-download tess`")
    return root


@pytest.fixture(scope="session")
def tess_file(corpora_root):
    """One real TESS recording (24,414 Hz FLAC): OAF saying "bar", angry."""
    return corpora_root / "tess" / "OAF" / "angry" / "OAF_bar_angry.flac"


@pytest.fixture(scope="session")
def ravdess_file(corpora_root):
    """One real RAVDESS recording (16 kHz FLAC)."""
    files = sorted((corpora_root / "ravdess" / "Actor_01" / "angry").glob("*.flac"))
    if not files:
        pytest.skip("RAVDESS Actor_01 not found")
    return files[0]
