"""Tests for emocore.evaluation.melstats: log-mel statistics, the second judge's features.

Synthetic cases use the tone of ``conftest.py``; ``real_data`` cases use TESS (OAF, YAF).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone

from emocore.evaluation import melstats
from emocore.evaluation.melstats import N_LOGMEL, N_MELS, extract_logmel_stats, logmel_feature_names
from emocore.exceptions import AudioError, ParameterError


def _stat(x: np.ndarray, name: str) -> np.ndarray:
    """The ``(..., N_MELS)`` block of one statistic."""
    start = melstats.LOGMEL_STATISTICS.index(name) * N_MELS
    return x[..., start:start + N_MELS]


def test_tone_gives_a_finite_vector_peaking_in_the_band_of_its_fundamental(tone):
    x = extract_logmel_stats([tone])
    assert x.shape == (1, N_LOGMEL) == (1, 7 * 64) and np.all(np.isfinite(x))
    assert len(logmel_feature_names()) == N_LOGMEL == len(set(logmel_feature_names()))
    centres_hz = np.argmax(melstats._mel_filterbank(), axis=1) * SR / melstats.N_FFT
    loudest_band = int(np.argmax(_stat(x[0], "mean")))
    assert abs(centres_hz[loudest_band] - 150.0) < 50.0  # the 150 Hz fundamental has the largest 1/k amplitude
    p10, p50, p90 = (_stat(x[0], p) for p in ("p10", "p50", "p90"))
    assert np.all(p10 <= p50) and np.all(p50 <= p90)


def test_in_memory_pairs_are_resampled_to_16_khz():
    resampled, native = extract_logmel_stats([(harmonic_tone(sr=22050), 22050), harmonic_tone()])
    harmonic_bands = slice(0, 24)  # up to about 1.6 kHz: the tone's ten harmonics; above is only leakage
    for stat in ("mean", "p50"):
        np.testing.assert_allclose(_stat(resampled, stat)[harmonic_bands], _stat(native, stat)[harmonic_bands],
                                   atol=0.05)


def test_silence_around_speech_does_not_change_the_statistics(tone):
    padded = np.concatenate([np.zeros(SR // 2), tone, np.zeros(SR // 2)])
    padded[: SR // 2] = 1e-3 * np.random.default_rng(0).standard_normal(SR // 2)  # quiet noise: still dropped
    x, y = extract_logmel_stats([tone, padded])
    np.testing.assert_allclose(_stat(x, "p50"), _stat(y, "p50"), atol=0.1)


@pytest.mark.real_data
def test_real_tess_file(tess_file):
    x = extract_logmel_stats([tess_file])
    assert x.shape == (1, N_LOGMEL) and np.all(np.isfinite(x))


@pytest.mark.real_data
@pytest.mark.parametrize("speaker", ["OAF", "YAF"])
@pytest.mark.parametrize("word", ["bar", "bath"])
def test_angry_is_louder_brighter_and_livelier_than_neutral_for_the_same_word(corpora_root, speaker, word):
    folder = corpora_root / "tess" / speaker
    angry, neutral = extract_logmel_stats([folder / "angry" / f"{speaker}_{word}_angry.flac",
                                           folder / "neutral" / f"{speaker}_{word}_neutral.flac"])
    assert _stat(angry, "p90").mean() > _stat(neutral, "p90").mean()

    def tilt(x):  # high bands against low ones: less negative is brighter
        return _stat(x, "mean")[40:].mean() - _stat(x, "mean")[:20].mean()

    assert tilt(angry) > tilt(neutral)
    assert _stat(angry, "delta_std").mean() > _stat(neutral, "delta_std").mean()


def test_cache_hit_returns_what_is_stored(tmp_path, tone):
    sf.write(str(tmp_path / "a.wav"), tone, SR)
    shutil.copy(tmp_path / "a.wav", tmp_path / "b.wav")
    first = extract_logmel_stats([tmp_path / "a.wav"], cache_dir=tmp_path / "c")
    entries = list((tmp_path / "c").rglob("*.npy"))
    assert len(entries) == 1 and entries[0].parent.name == melstats.LOGMEL_KIND
    np.testing.assert_array_equal(extract_logmel_stats([tmp_path / "a.wav"], cache_dir=tmp_path / "c"), first)
    np.save(entries[0], first[0] + 1.0)  # a hit returns what is stored: doctor it and observe
    np.testing.assert_array_equal(extract_logmel_stats([tmp_path / "b.wav"], cache_dir=tmp_path / "c"), first + 1.0)


@pytest.mark.parametrize("make, reason", [
    (lambda: np.zeros(SR), "silent"),
    (lambda: harmonic_tone(duration_s=0.05), "too short"),
    (lambda: harmonic_tone(duration_s=0.01), "too short"),
    (lambda: np.concatenate([np.zeros(SR), harmonic_tone(duration_s=0.03), np.zeros(SR)]), "too short or silent"),
])
def test_unusable_waveforms_raise_naming_the_item(tone, make, reason):
    with pytest.raises(AudioError, match=f"item 1 .*{reason}"):
        extract_logmel_stats([tone, make()])
    x = extract_logmel_stats([tone, make()], on_error="nan")
    assert np.all(np.isfinite(x[0])) and np.all(np.isnan(x[1]))


def test_unusable_files_raise_naming_the_file(tmp_path, tone):
    silent, short = tmp_path / "silent.wav", tmp_path / "short.wav"
    sf.write(str(silent), np.zeros(SR), SR)
    sf.write(str(short), harmonic_tone(duration_s=0.05), SR)
    for path, reason in [(silent, "silent"), (short, "too short"), (tmp_path / "missing.wav", "no such file")]:
        with pytest.raises(AudioError, match=reason) as caught:
            extract_logmel_stats([tone, path])
        assert caught.value.path == str(path)


def test_bad_on_error_is_refused(tone):
    with pytest.raises(ParameterError, match="on_error"):
        extract_logmel_stats([tone], on_error="skip")
