"""Tests of emocore.data.parallel: parallel words of two emotions, aligned onto the source's frames."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from emocore.config import ContourConfig
from emocore.data.parallel import aligned_targets, parallel_pairs
from emocore.dsp.contour_features import contour_channels, contour_inputs
from emocore.dsp.features import WorldFeatures
from emocore.exceptions import ParameterError

CFG = ContourConfig().smoke()


def _word(rng, n_frames=160) -> WorldFeatures:
    t = np.arange(n_frames)
    f0 = 170.0 * np.exp(0.15 * np.sin(t / 11.0))
    f0[:15] = f0[-15:] = 0.0
    mcep = np.column_stack([np.sin(t / (3.0 + k)) + 0.05 * rng.standard_normal(n_frames) for k in range(24)])
    return WorldFeatures(f0_hz=f0, mcep=mcep, coded_ap=np.zeros((n_frames, 1)),
                         log_power=-7.0 + np.cos(t / 13.0), n_samples=n_frames * 80)


def _stretched(word: WorldFeatures, f0_factor=1.0, power_offset=0.0) -> WorldFeatures:
    """The same word spoken twice as slowly (every frame twice), its pitch and level changed."""
    twice = lambda a: np.repeat(np.asarray(a), 2, axis=0)  # noqa: E731
    return WorldFeatures(f0_hz=twice(word.f0_hz) * f0_factor, mcep=twice(word.mcep), coded_ap=twice(word.coded_ap),
                         log_power=twice(word.log_power) + power_offset, n_samples=word.n_samples * 2)


def test_the_same_word_aligns_onto_itself(rng):
    word = _word(rng)
    x, stats = contour_inputs(word, CFG)
    y = aligned_targets(word, word, stats)
    assert y.shape == (word.n_frames, 3)
    voiced = word.f0_hz > 0
    f0, power = contour_channels(CFG)  # the source's own contours in the units the targets are in
    np.testing.assert_allclose(y[voiced, 0], x[voiced, f0], atol=1e-5)
    np.testing.assert_allclose(y[:, 1], x[:, power], atol=1e-5)
    np.testing.assert_array_equal(y[:, 2], voiced.astype(np.float32))


@pytest.mark.parametrize("own_spread", [False, True])
def test_a_slower_higher_louder_word_aligns_frame_by_frame_and_keeps_its_level_change(rng, own_spread):
    cfg = replace(CFG, f0_unit=0.0, power_unit=0.0) if own_spread else CFG
    word = _word(rng)
    x, stats = contour_inputs(word, cfg)
    f0, power = contour_channels(cfg)
    target = _stretched(word, f0_factor=2.0, power_offset=0.5)
    y = aligned_targets(word, target, stats)
    voiced = (word.f0_hz > 0) & (y[:, 2] == 1.0)
    # an octave up is log(2) in log F0: log(2) / the unit (fixed, or the source word's own spread)
    f0_unit, power_unit = (stats.log_f0_std, stats.log_power_std) if own_spread else (cfg.f0_unit, cfg.power_unit)
    assert (stats.f0_unit, stats.power_unit) == (f0_unit, power_unit)
    np.testing.assert_allclose(y[voiced, 0] - x[voiced, f0], math.log(2.0) / f0_unit, atol=1e-3)
    np.testing.assert_allclose(y[:, 1] - x[:, power], 0.5 / power_unit, atol=1e-3)
    with pytest.raises(ParameterError, match="no contour to learn"):
        aligned_targets(word, target.replace(f0_hz=np.zeros(target.n_frames)), stats)


def test_pairs_of_real_parallel_words(smoke_stargan):
    data = smoke_stargan[2]
    emotions = ("neutral", "angry", "happy", "sad")
    pairs = parallel_pairs(data.per_speaker, emotions, CFG, max_per_text=2)
    assert pairs and {p.source for p in pairs} == {0} and {p.target for p in pairs} <= {1, 2, 3}
    assert {p.speaker for p in pairs} <= set(data.per_speaker) and {p.corpus for p in pairs} <= {"tess", "ravdess"}
    for pair in pairs:
        assert pair.targets.shape == (len(pair.inputs), 3) and np.all(np.isfinite(pair.targets))
    # every pair is one text in both emotions: count them from the utterances
    expected = 0
    for by_emotion in data.per_speaker.values():
        for target in ("angry", "happy", "sad"):
            texts = [u.text_id for u, _ in by_emotion[target].train]
            expected += sum(min(texts.count(u.text_id), 2) for u, _ in by_emotion["neutral"].train)
    assert len(pairs) == expected
    # every take (ContourConfig.pairs_per_text, 4): the strong RAVDESS takes are flagged, TESS's words and normal
    # takes not
    assert CFG.pairs_per_text == 4
    every = parallel_pairs(data.per_speaker, emotions, CFG)
    strong = 0
    for by_emotion in data.per_speaker.values():
        for target in ("angry", "happy", "sad"):
            takes = [u for u, _ in by_emotion[target].train]
            strong += sum(sum(t.text_id == u.text_id and t.intensity == "strong" for t in takes)
                          for u, _ in by_emotion["neutral"].train)
    assert strong > 0 and sum(p.strong for p in every) == strong
    assert not any(p.strong for p in every if p.corpus == "tess")
    with pytest.raises(ParameterError, match="'bored'"):
        parallel_pairs(data.per_speaker, emotions, CFG, sources=("bored",))
