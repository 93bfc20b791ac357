"""Tests of emocore.dsp.contour_features: a word's contours as the learned prosody reads them."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from emocore.config import ContourConfig
from emocore.dsp.contour_features import contour_channels, contour_inputs, n_inputs
from emocore.dsp.features import WorldFeatures
from emocore.exceptions import ParameterError

CFG = ContourConfig().smoke()


def _word(rng, n_frames=203, f0_hz=180.0) -> WorldFeatures:
    f0 = np.exp(math.log(f0_hz) + 0.1 * np.sin(np.arange(n_frames) / 9.0) + rng.normal(0, 0.01, n_frames))
    f0[:20] = 0.0
    f0[100:110] = 0.0
    return WorldFeatures(f0_hz=f0, mcep=rng.normal(0.0, 1.0, (n_frames, 24)), coded_ap=np.zeros((n_frames, 1)),
                         log_power=rng.normal(-7.0, 1.0, n_frames), n_samples=n_frames * 80)


def test_inputs_are_the_words_own_z_scores(rng):
    word = _word(rng)
    x, stats = contour_inputs(word, CFG)
    voiced = word.f0_hz > 0
    assert x.shape == (word.n_frames, n_inputs(CFG)) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 1], voiced.astype(np.float32))
    assert x[voiced, 0].mean() == pytest.approx(0.0, abs=1e-5) and x[voiced, 0].std() == pytest.approx(1.0, abs=1e-4)
    assert x[voiced, 2].mean() == pytest.approx(0.0, abs=1e-5)
    assert math.exp(stats.log_f0_mean) == pytest.approx(np.exp(np.log(word.f0_hz[voiced]).mean()))
    # the unvoiced frames carry the interpolated contour, not zeros or jumps
    assert np.all(np.abs(np.diff(x[:, 0])) < 1.0)
    with pytest.raises(ParameterError, match="4 voiced frames: the learned prosody needs at least 5"):
        contour_inputs(word.replace(f0_hz=np.where(np.arange(word.n_frames) < 4, 150.0, 0.0)), CFG)
    with pytest.raises(ParameterError, match="reads 30"):
        contour_inputs(word, replace(CFG, n_mcep=30))


def test_a_monotone_word_is_scaled_by_the_floor_not_its_own_tiny_spread(rng):
    word = _word(rng)
    flat = word.replace(f0_hz=np.where(word.f0_hz > 0, 150.0 * np.exp(0.001 * rng.standard_normal(word.n_frames)),
                                       0.0))
    _, stats = contour_inputs(flat, CFG)
    assert stats.log_f0_std == CFG.min_log_f0_spread  # its z-scores stay on a semitone's scale, not 0.02 of one
    _, stats = contour_inputs(word, CFG)
    assert stats.log_f0_std > CFG.min_log_f0_spread
    with pytest.raises(ParameterError, match="min_log_f0_spread"):
        replace(CFG, min_log_f0_spread=0.0)


def test_fixed_units_keep_a_semitone_a_semitone_whatever_the_words_spread(rng):
    word = _word(rng)
    voiced = word.f0_hz > 0
    lively = word.replace(f0_hz=np.where(voiced, np.exp(3.0 * np.log(word.f0_hz / 180.0)) * 180.0, 0.0))
    f0, power = contour_channels(CFG)
    assert n_inputs(CFG) == 3 + CFG.n_mcep + 2 and (f0, power) == (3 + CFG.n_mcep, 4 + CFG.n_mcep)
    (x, stats), (x_lively, stats_lively) = contour_inputs(word, CFG), contour_inputs(lively, CFG)
    assert stats.f0_unit == stats_lively.f0_unit == CFG.f0_unit and stats.power_unit == CFG.power_unit
    # the z-scored channel cannot tell the two words apart; the fixed-unit one sees three times the movement
    np.testing.assert_allclose(x_lively[voiced, 0], x[voiced, 0], atol=1e-4)
    np.testing.assert_allclose(x_lively[voiced, f0], 3.0 * x[voiced, f0], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(x[voiced, f0], (np.log(word.f0_hz[voiced]) - stats.log_f0_mean) / CFG.f0_unit,
                               atol=1e-4)
    np.testing.assert_allclose(x[:, power], (word.log_power - stats.log_power_mean) / CFG.power_unit, atol=1e-4)
    # 0: the word's own spreads, in the first channels, as the first shipped learned prosody read them
    own = replace(CFG, f0_unit=0.0, power_unit=0.0)
    _, own_stats = contour_inputs(word, own)
    assert n_inputs(own) == 3 + CFG.n_mcep and contour_channels(own) == (0, 2)
    assert (own_stats.f0_unit, own_stats.power_unit) == (own_stats.log_f0_std, own_stats.log_power_std)
    with pytest.raises(ParameterError, match="f0_unit and power_unit"):
        replace(CFG, f0_unit=-0.1)
