"""Tests of emocore.dsp.rhythm: voiced-run and pause durations, the rate ratio, and the time warp of WORLD frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emocore.config import FeatureConfig
from emocore.dsp import audio, features, metrics
from emocore.dsp.features import WorldFeatures
from emocore.dsp.rhythm import RhythmStats, rate_ratio, time_warp
from emocore.exceptions import ParameterError


def _f0(pattern):
    """A contour from (n_frames, voiced) runs, 150 Hz where voiced."""
    return np.concatenate([np.full(n, 150.0 if v else 0.0) for n, v in pattern])


def test_fit_measures_runs_inside_the_utterance_only():
    # 5 ms frames: silence, 100 ms voiced, a 150 ms pause, 200 ms voiced, a 20 ms gap (not a pause), 100 ms voiced
    f0 = _f0([(30, False), (20, True), (30, False), (40, True), (4, False), (20, True), (50, False)])
    stats = RhythmStats.fit([f0], 5.0)
    assert stats.voiced_run_ms == pytest.approx((100 + 200 + 100) / 3)
    assert stats.pause_ms == pytest.approx(150.0)
    assert stats.speech_ms == pytest.approx((20 + 30 + 40 + 4 + 20) * 5.0)
    assert stats.n_utterances == 1
    no_pause = RhythmStats.fit([_f0([(10, True)]), np.zeros(5)], 5.0)  # an unvoiced contour is skipped
    assert math.isnan(no_pause.pause_ms) and no_pause.n_utterances == 1
    with pytest.raises(ParameterError, match="no contour"):
        RhythmStats.fit([np.zeros(10)], 5.0)
    with pytest.raises(ParameterError):
        RhythmStats.fit([f0], 0.0)


def test_rate_ratio_is_the_ratio_of_speech_spans():
    slow, fast = RhythmStats(100.0, 200.0, 2000.0, 3), RhythmStats(80.0, 100.0, 1600.0, 3)
    assert rate_ratio(fast, slow) == pytest.approx(1.25) and rate_ratio(slow, fast) == pytest.approx(0.8)


def _features(rng, n=200):
    f0 = _f0([(20, False), (70, True), (30, False), (60, True), (20, False)])
    f0[f0 > 0] *= np.exp(0.1 * np.sin(np.linspace(0, 6, int((f0 > 0).sum()))))
    t = np.linspace(0, 4 * np.pi, n)[:, None]
    mcep = np.sin(t * np.arange(1, 25)[None, :] / 8) + 0.01 * rng.normal(size=(n, 24))
    return WorldFeatures(f0_hz=f0, mcep=mcep, coded_ap=np.cos(t * np.array([[1.0, 2.0]])), log_power=np.sin(t[:, 0]) - 8,
                         n_samples=n * 80)


def test_time_warp_changes_the_length_by_the_ratio_and_keeps_the_voicing_pattern(rng):
    feats = _features(rng)
    for ratio in (0.8, 1.3):
        warped = time_warp(feats, ratio)
        assert warped.n_frames == round(200 * ratio) and warped.n_samples == round(200 * 80 * ratio)
        assert warped.mcep.shape == (warped.n_frames, 24) and warped.coded_ap.shape == (warped.n_frames, 2)
        # the same two voiced stretches, each stretched by the ratio; no voiced frame appears in a pause
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, warped.voiced.astype(int), 0])))[::2]
        np.testing.assert_allclose(runs, [70 * ratio, 60 * ratio], atol=1.5)
        voiced_f0 = warped.f0_hz[warped.voiced]
        assert voiced_f0.min() >= feats.f0_hz[feats.voiced].min() - 1e-9
        assert voiced_f0.max() <= feats.f0_hz[feats.voiced].max() + 1e-9
    same = time_warp(feats, 1.0)
    np.testing.assert_allclose(same.mcep, feats.mcep)
    np.testing.assert_allclose(same.f0_hz, feats.f0_hz)
    for bad in (0.1, 5.0):
        with pytest.raises(ParameterError, match="ratio"):
            time_warp(feats, bad)


@pytest.mark.real_data
def test_time_warp_keeps_the_content_and_sad_speech_is_slower_than_neutral(corpora_root):
    from emocore.data.datasets import list_utterances

    cfg = FeatureConfig()
    stats = {}
    for emotion in ("neutral", "sad"):
        utts = list_utterances("tess", "OAF", emotion, root=corpora_root)[:12]
        stats[emotion] = RhythmStats.fit([features.extract_f0(audio.load_wav(u.path, cfg.sr), cfg)[0] for u in utts],
                                         cfg.frame_period_ms)
    ratio = rate_ratio(stats["neutral"], stats["sad"])
    assert ratio > 1.1  # OAF speaks sad words about a quarter slower than neutral ones

    utts = list_utterances("tess", "OAF", "neutral", root=corpora_root)[:2]
    word, other = (features.extract_features(audio.load_wav(u.path, cfg.sr), cfg) for u in utts)
    warped = time_warp(word, ratio)
    assert warped.n_frames == round(word.n_frames * ratio)
    # after DTW the slowed word is still the word: far closer to its source than another word is
    assert metrics.mel_cepstral_distortion_db(word.mcep, warped.mcep) < 0.5 * metrics.mel_cepstral_distortion_db(
        word.mcep, other.mcep)
