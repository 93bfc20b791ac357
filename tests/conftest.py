"""Shared fixtures: synthetic audio made here, and the real corpora when they are present."""

from __future__ import annotations

import numpy as np
import pytest

from emocore import paths

SR = 16000


def pytest_configure(config):
    """Every test process runs TensorFlow with training's thread split (:func:`emocore.training.limit_cpu_threads`),
    set before any test runs an op: otherwise the first in-process ``emocore-train`` of a process would set it for
    the tests after it, and which tests ran with which split would depend on their order."""
    from emocore.training import limit_cpu_threads

    limit_cpu_threads()  # the defaults: kept with a warning if TensorFlow already runs


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
def smoke_model(corpora_root, tmp_path_factory):
    """A 4-iteration EmoCycleGAN on 3 words per emotion of TESS OAF neutral/angry, and its prepared domains."""
    from emocore import training
    from emocore.config import FeatureConfig, ModelConfig, TrainConfig
    from emocore.data import extraction
    from emocore.data.datasets import Domain

    root = tmp_path_factory.mktemp("smoke_model")
    domains = [Domain("tess", "OAF", "neutral"), Domain("tess", "OAF", "angry")]
    data = extraction.prepare_domains(domains, FeatureConfig().smoke(), root / "processed", max_utterances=3,
                                      corpora_root=corpora_root, n_jobs=2, progress=False)
    model_dir = root / "model"
    training.train(list(data.values()), FeatureConfig().smoke(), ModelConfig().smoke(), TrainConfig().smoke(), model_dir,
                   run_eagerly=True, progress=False)
    return model_dir, data


@pytest.fixture(scope="session")
def smoke_stargan(corpora_root, tmp_path_factory):
    """A 4-iteration EmoStarGAN of neutral, angry, happy, sad on 3 files per emotion of TESS OAF and RAVDESS
    Actor_01, its history and its prepared speakers (:class:`emocore.data.speakers.SpeakerData`)."""
    from dataclasses import replace

    from emocore import training
    from emocore.config import FeatureConfig, ModelConfig, TrainConfig
    from emocore.data.speakers import Speaker, prepare_speakers

    root = tmp_path_factory.mktemp("smoke_stargan")
    data = prepare_speakers([Speaker("tess", "OAF"), Speaker("ravdess", "Actor_01")], ("neutral", "angry", "happy", "sad"),
                            FeatureConfig().smoke(), root / "processed", max_utterances=3, corpora_root=corpora_root,
                            n_jobs=2, progress=False)
    model_dir = root / "model"
    history = training.train(data.emotions, FeatureConfig().smoke(), replace(ModelConfig().smoke(), n_emotions=4),
                             TrainConfig().smoke(), model_dir, model_type="emostargan", run_eagerly=True, progress=False)
    return model_dir, history, data


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


def espeak_wav(text: str, path, voice: str = "en") -> np.ndarray:
    """Synthesize ``text`` with espeak-ng (:func:`emocore.data.espeak.synthesize`): a 22,050 Hz WAV of a voice in
    neither corpus, for out-of-domain conversion tests. Returns the int16 samples; skips without espeak-ng or the voice."""
    from emocore.data import espeak
    from emocore.exceptions import ParameterError

    if not espeak.available():
        pytest.skip("espeak-ng is not installed (pip install espeakng-loader)")
    try:
        return espeak.synthesize(text, path, voice)
    except ParameterError as error:
        pytest.skip(str(error))


@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of a given size (KiB) under ``tmp_path``: a real full disk, or a real read-only one.

    ``small_disk(64)`` returns the mount point; ``small_disk(64, read_only=True)`` mounts it read-only. Needs
    root and a kernel that lets this process mount (the project's machines and CI do); skips otherwise.
    Unmounted at the end of the test.
    """
    import subprocess

    mounted = []

    def mount(size_kib: int, read_only: bool = False):
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        options = f"size={size_kib}k" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or result.returncode})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)
