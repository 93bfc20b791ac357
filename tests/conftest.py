"""Shared fixtures: synthetic audio made here, and the real corpora when they are present."""

from __future__ import annotations

from pathlib import Path

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
    """Synthesize ``text`` with espeak-ng (the library bundled by ``espeakng-loader``), write a 22,050 Hz WAV.

    A voice that is in neither corpus, e.g. for out-of-domain conversion tests. Returns the int16 samples.
    Each synthesis runs in a fresh Python process (espeak-ng keeps global state; once in a full run an in-process
    synthesis came back silent), and a silent result is tried again before the test is failed.
    """
    import subprocess
    import sys

    import soundfile as sf

    pytest.importorskip("espeakng_loader")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from conftest import _espeak_synthesize; "
            "sys.exit(_espeak_synthesize(sys.argv[2], sys.argv[3], sys.argv[4]))")
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), text, str(path), voice],
                              capture_output=True, text=True, timeout=120)
        if done.returncode == 3:
            pytest.skip(f"espeak-ng has no voice {voice!r}")
        assert done.returncode == 0, f"espeak-ng failed: {done.stderr[-2000:]}"
        samples, _ = sf.read(str(path), dtype="int16")
        if np.abs(samples.astype(np.int32)).max() > 1000:
            return samples
    raise AssertionError(f"espeak-ng synthesized silence three times for {text!r}")


def _espeak_synthesize(text: str, path: str, voice: str) -> int:
    """The synthesis of :func:`espeak_wav`, in the process that runs it; 3 when the voice does not exist."""
    import ctypes

    import espeakng_loader
    import soundfile as sf

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    synchronous = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples arrive through the callback before espeak_Synth returns
    rate = lib.espeak_Initialize(synchronous, 0, espeakng_loader.get_data_path().encode(), 0)
    chunks = []

    def on_samples(samples, n, events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(samples, shape=(n,)).copy())
        return 0

    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)(on_samples)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return 3
    encoded = text.encode()
    position_character = 1
    if lib.espeak_Synth(encoded, len(encoded) + 1, 0, position_character, 0, 0, None, None) != 0:
        return 1
    lib.espeak_Synchronize()
    sf.write(path, np.concatenate(chunks), rate, subtype="PCM_16")
    return 0


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
