"""Tests of emocore.dsp.cwt: continuous log F0 and its Mexican-hat wavelet decomposition and synthesis."""

from __future__ import annotations

import numpy as np
import pytest

from emocore.config import FeatureConfig
from emocore.dsp import audio, features
from emocore.dsp.cwt import N_SCALES, continuous_log_f0, cwt_decompose, cwt_reconstruct, cwt_scales
from emocore.exceptions import ParameterError

FRAME_MS = 5.0


def _contour(n_frames=600, unvoiced=((0, 40), (250, 290), (560, 600))):
    t = np.arange(n_frames) * FRAME_MS / 1000
    f0 = 200 * np.exp(0.15 * np.sin(2 * np.pi * 0.5 * t) + 0.03 * np.sin(2 * np.pi * 25 * t))
    for start, stop in unvoiced:
        f0[start:stop] = 0.0
    return f0


def test_continuous_log_f0_bridges_unvoiced_frames_and_keeps_the_voicing():
    f0 = np.array([0.0, 100.0, 0.0, 0.0, 400.0, 0.0])
    log_f0, voiced = continuous_log_f0(f0)
    np.testing.assert_array_equal(voiced, f0 > 0)
    np.testing.assert_allclose(np.exp(log_f0), [100, 100, 100 * 4 ** (1 / 3), 100 * 4 ** (2 / 3), 400, 400])
    for bad in (np.zeros(5), np.array([100.0, np.nan]), np.array([100.0, -1.0]), np.ones((2, 3))):
        with pytest.raises(ParameterError):
            continuous_log_f0(bad)


def test_scales_are_octaves_from_two_frames():
    np.testing.assert_allclose(cwt_scales(FRAME_MS), 0.01 * 2.0 ** np.arange(N_SCALES))
    assert cwt_scales(FRAME_MS, dj=0.5)[2] == pytest.approx(0.02)
    with pytest.raises(ParameterError):
        cwt_scales(0.0)


@pytest.mark.parametrize("period_s", [2.5, 0.6, 0.083])  # a phrase, a word, micro-prosody
def test_each_movement_lands_in_the_scale_of_its_period(period_s):
    t = np.arange(800) * FRAME_MS / 1000
    contour = cwt_decompose(200 * np.exp(0.1 * np.sin(2 * np.pi * t / period_s)), FRAME_MS)
    assert contour.scales.shape == (N_SCALES, 800)
    # a Mexican hat of scale s responds most to a period of 2 pi s / sqrt(2.5) (Torrence & Compo, table 1)
    expected = np.argmin(np.abs(np.log2(contour.scales_s * 2 * np.pi / np.sqrt(2.5) / period_s)))
    assert np.argmax(np.mean(contour.scales ** 2, axis=1)) == expected


def test_synthetic_contour_round_trips_and_keeps_unvoiced_frames_unvoiced():
    f0 = _contour()
    back = cwt_reconstruct(cwt_decompose(f0, FRAME_MS))
    voiced = f0 > 0
    np.testing.assert_array_equal(back > 0, voiced)
    assert np.corrcoef(np.log(f0[voiced]), np.log(back[voiced]))[0, 1] > 0.99
    assert np.sqrt(np.mean((f0[voiced] - back[voiced]) ** 2)) < 5.0


@pytest.mark.real_data
def test_real_contours_round_trip_within_a_few_hertz(corpora_root):
    cfg = FeatureConfig()
    for emotion in ("neutral", "happy"):
        path = sorted((corpora_root / "tess" / "OAF" / emotion).glob("*.flac"))[0]
        f0, _ = features.extract_f0(audio.load_wav(path, cfg.sr), cfg)
        back = cwt_reconstruct(cwt_decompose(f0, cfg.frame_period_ms))
        voiced = f0 > 0
        np.testing.assert_array_equal(back > 0, voiced)
        assert np.corrcoef(np.log(f0[voiced]), np.log(back[voiced]))[0, 1] > 0.99, path.name
        assert np.sqrt(np.mean((f0[voiced] - back[voiced]) ** 2)) < 10.0, path.name


def test_converted_scales_and_statistics_change_the_contour():
    f0 = _contour()
    contour = cwt_decompose(f0, FRAME_MS)
    voiced = f0 > 0
    # doubling every scale doubles the contour's movement around its mean
    wider = cwt_reconstruct(contour, 2.0 * contour.scales)
    ratio = np.log(wider[voiced]).std() / np.log(f0[voiced]).std()
    assert ratio == pytest.approx(2.0, rel=0.05)
    # a target mean and spread are restored exactly as given
    moved = cwt_reconstruct(contour, mean=np.log(300.0), std=0.0)
    np.testing.assert_allclose(moved[voiced], 300.0)
    # a target voicing track
    all_voiced = cwt_reconstruct(contour, voiced=np.ones_like(voiced))
    assert np.all(all_voiced > 0)
    with pytest.raises(ParameterError, match="match"):
        cwt_reconstruct(contour, contour.scales[:, :-1])


def _shape_stats(contours, frame_ms=FRAME_MS):
    from emocore.dsp.cwt import CwtStats

    return CwtStats.fit(contours, frame_ms)


def test_cwt_stats_measure_where_the_movement_is():
    t = np.arange(600) * FRAME_MS / 1000
    calm = [200 * np.exp(0.1 * np.sin(2 * np.pi * 0.4 * t + k)) for k in range(3)]  # slow phrase movement only
    lively = [200 * np.exp(0.1 * np.sin(2 * np.pi * 0.4 * t + k) + 0.1 * np.sin(2 * np.pi * 5 * t))
              for k in range(3)]  # plus 200 ms accents
    calm_stats, lively_stats = _shape_stats(calm), _shape_stats(lively)
    assert calm_stats.scale_rms.shape == (N_SCALES,) and calm_stats.n_utterances == 3
    ratio = lively_stats.scale_rms / calm_stats.scale_rms
    accent_scale = np.argmin(np.abs(np.log2(cwt_scales(FRAME_MS) * 2 * np.pi / np.sqrt(2.5) * 5)))
    assert np.argmax(ratio) in (accent_scale - 1, accent_scale, accent_scale + 1) and ratio.max() > 3
    assert _shape_stats(calm + [np.zeros(50)]).n_utterances == 3  # an unvoiced contour is skipped
    with pytest.raises(ParameterError, match="voiced"):
        _shape_stats([np.zeros(50)])


def test_convert_f0_cwt_is_the_log_gaussian_transform_when_the_shapes_agree_and_adds_accents_otherwise():
    from dataclasses import replace

    from emocore.dsp.cwt import convert_f0_cwt
    from emocore.dsp.prosody import LogGaussian, convert_f0

    f0 = _contour()
    src = _shape_stats([f0])
    tgt = replace(src, log_f0=LogGaussian(np.log(260.0), 0.2, 100))
    np.testing.assert_allclose(convert_f0_cwt(f0, src, tgt, FRAME_MS), convert_f0(f0, src.log_f0, tgt.log_f0))
    # a target whose fast scales move three times as much: more fast movement, same voicing, same level and spread
    livelier = replace(tgt, scale_rms=src.scale_rms * np.where(np.arange(N_SCALES) < 4, 3.0, 1.0))
    out = convert_f0_cwt(f0, src, livelier, FRAME_MS)
    plain = convert_f0(f0, src.log_f0, tgt.log_f0)
    voiced = f0 > 0
    np.testing.assert_array_equal(out > 0, voiced)
    fast = [np.mean(cwt_decompose(x, FRAME_MS).scales[:4] ** 2) for x in (plain, out)]
    assert fast[1] > 2 * fast[0]
    assert np.log(out[voiced]).mean() == pytest.approx(np.log(plain[voiced]).mean(), abs=0.02)
    with pytest.raises(ParameterError, match="scales"):
        convert_f0_cwt(f0, src, replace(tgt, scale_rms=src.scale_rms[:5]), FRAME_MS)
