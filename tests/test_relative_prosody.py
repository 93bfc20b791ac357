"""Tests of emocore.dsp.relative_prosody: emotion changes measured across speakers, applied to anyone's own voice."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.dsp.prosody import DomainStats, LogGaussian, fit_log_f0, fit_log_power
from emocore.dsp.relative_prosody import SEMITONES_PER_LOG, ProsodyShifts
from emocore.exceptions import ParameterError


def _stats(name: str, f0_hz: float, f0_std: float, power: float = -8.0, power_std: float = 1.5) -> DomainStats:
    return DomainStats(name, LogGaussian(math.log(f0_hz), f0_std, 1000), LogGaussian(power, power_std, 1000),
                       MeanStd(np.zeros(4), np.ones(4)), 10)


def _utterance(rng, f0_hz: float, f0_std: float, n_frames: int = 4000) -> WorldFeatures:
    f0 = np.exp(rng.normal(math.log(f0_hz), f0_std, n_frames))
    f0[::5] = 0.0  # unvoiced frames stay 0 Hz
    return WorldFeatures(f0_hz=f0, mcep=rng.standard_normal((n_frames, 4)), coded_ap=np.zeros((n_frames, 3)),
                         log_power=rng.normal(-8.0, 1.5, n_frames), n_samples=n_frames * 80)


@pytest.fixture
def shifts() -> ProsodyShifts:
    # two training speakers, a low and a high one, whose angry speech is 3 and 5 semitones up with a 1.5x spread,
    # 2 nats louder; sad is 2 semitones down for the one speaker who has it
    up3, up5, down2 = (s / SEMITONES_PER_LOG for s in (3.0, 5.0, -2.0))
    stats = {("m1", "neutral"): _stats("m1-neutral", 110, 0.10), ("m1", "angry"): _stats("m1-angry", 110 * math.exp(up3),
                                                                                         0.15, -6.0),
             ("f1", "neutral"): _stats("f1-neutral", 220, 0.12), ("f1", "angry"): _stats("f1-angry", 220 * math.exp(up5),
                                                                                         0.18, -6.0),
             ("f1", "sad"): _stats("f1-sad", 220 * math.exp(down2), 0.06, -9.0),
             ("f2", "angry"): _stats("f2-angry", 300, 0.3)}  # no neutral: cannot be measured, left out
    return ProsodyShifts.fit(stats)


def test_fit_averages_each_emotions_change_over_the_speakers_that_have_it(shifts):
    angry, sad = shifts.shift("angry"), shifts.shift("sad")
    assert angry.n_speakers == 2 and angry.semitones == pytest.approx(4.0)
    assert math.exp(angry.log_f0_log_ratio) == pytest.approx(1.5) and angry.log_power_shift == pytest.approx(2.0)
    assert sad.n_speakers == 1 and sad.semitones == pytest.approx(-2.0)
    assert shifts.shift("neutral").semitones == 0.0
    assert ProsodyShifts.from_dict(shifts.to_dict()) == shifts
    with pytest.raises(ParameterError, match="known: neutral, angry, sad"):
        shifts.shift("happy")
    with pytest.raises(ParameterError, match="reference emotion 'neutral'"):
        ProsodyShifts.fit({("a", "angry"): _stats("a", 100, 0.1)})


def test_a_low_voice_stays_low_while_it_becomes_angry(shifts, rng):
    voice = _utterance(rng, 95.0, 0.08)  # a speaker lower than anyone in training
    angry = shifts.convert(voice, "neutral", "angry")
    voiced = voice.f0_hz > 0
    assert np.array_equal(angry.f0_hz > 0, voiced)  # unvoiced frames stay unvoiced
    before, after = fit_log_f0([voice.f0_hz]), fit_log_f0([angry.f0_hz])
    assert (after.mean - before.mean) * SEMITONES_PER_LOG == pytest.approx(4.0, abs=1e-6)  # the measured change
    assert after.std / before.std == pytest.approx(1.5, rel=1e-6)
    assert math.exp(after.mean) < 130  # his register: far below the training speakers' angry pitch (>= 131 Hz)
    assert fit_log_power([angry.log_power], [angry.f0_hz]).mean == pytest.approx(
        fit_log_power([voice.log_power], [voice.f0_hz]).mean + 2.0, abs=1e-6)
    # from angry to sad: the difference of the two changes
    sad = shifts.convert(voice, "angry", "sad")
    assert (fit_log_f0([sad.f0_hz]).mean - before.mean) * SEMITONES_PER_LOG == pytest.approx(-6.0, abs=1e-6)


def test_intensity_zero_and_switched_off_streams_return_the_source(shifts, rng):
    voice = _utterance(rng, 180.0, 0.1)
    same = shifts.convert(voice, "neutral", "angry", intensity=0.0)
    np.testing.assert_allclose(same.f0_hz, voice.f0_hz, rtol=1e-12)
    np.testing.assert_allclose(same.log_power, voice.log_power, rtol=1e-12)
    half = shifts.convert(voice, "neutral", "angry", intensity=0.5)
    assert (fit_log_f0([half.f0_hz]).mean - fit_log_f0([voice.f0_hz]).mean) * SEMITONES_PER_LOG == pytest.approx(2.0)
    off = shifts.convert(voice, "neutral", "angry", f0=False, power=False)
    assert off.f0_hz is voice.f0_hz and off.log_power is voice.log_power
    with pytest.raises(ParameterError, match="intensity"):
        shifts.convert(voice, "neutral", "angry", intensity=1.5)


def test_the_speakers_own_statistics_can_come_from_other_recordings(shifts, rng):
    voice = _utterance(rng, 150.0, 0.1)
    own = _stats("me-neutral", 120.0, 0.1)  # from a few other recordings of this speaker: a lower mean
    out = shifts.convert(voice, "neutral", "angry", own=own)
    log_f0, _ = shifts.targets(own, "neutral", "angry")
    assert log_f0.mean == pytest.approx(math.log(120.0) + 4.0 / SEMITONES_PER_LOG)
    # the utterance is mapped from the speaker's statistics, not its own: its offset from them is kept, scaled
    voiced = voice.f0_hz > 0
    expected = (np.log(voice.f0_hz[voiced]) - own.log_f0.mean) * 1.5 + log_f0.mean
    np.testing.assert_allclose(np.log(out.f0_hz[voiced]), expected, rtol=1e-12)


# ---------------------------------------------------------------------- contour shape and tempo (issue 15)


def _contour(n_voiced: int, wiggle: float, period: float, rng, lead: int = 20) -> np.ndarray:
    """A word: ``lead`` unvoiced frames, ``n_voiced`` voiced ones around 200 Hz with a ``period``-frame wiggle."""
    t = np.arange(n_voiced)
    f0 = 200.0 * np.exp(wiggle * np.sin(2 * np.pi * t / period) + 0.01 * rng.standard_normal(n_voiced))
    return np.concatenate([np.zeros(lead), f0, np.zeros(lead)])


def _word(f0: np.ndarray, loudness_wiggle: float = 0.0, period: float = 60.0, breath_db: float = -10.0
          ) -> WorldFeatures:
    """Features of a :func:`_contour` whose voiced power envelope wiggles with ``period`` frames; its voiced frames'
    band aperiodicity is ``breath_db`` (unvoiced frames: 0 dB, as WORLD codes them)."""
    n = len(f0)
    log_power = np.where(f0 > 0, -6.0 + loudness_wiggle * np.sin(2 * np.pi * np.arange(n) / period), -12.0)
    coded_ap = np.where(f0 > 0, breath_db, 0.0)[:, None]
    return WorldFeatures(f0_hz=f0, mcep=np.zeros((n, 4)), coded_ap=coded_ap, log_power=log_power, n_samples=n * 80)


@pytest.fixture
def contour_shifts(shifts, rng) -> ProsodyShifts:
    # both speakers: neutral words span 100 voiced frames with a slow wiggle; angry ones 80 frames with a fast one
    # (and an energy contour that is slow and weak when neutral, fast and strong when angry); angry voices are
    # tenser (m1: 1 dB less aperiodic, f1: 3 dB), f1's sad one is 4 dB breathier
    words = {}
    for speaker, tense in (("m1", -11.0), ("f1", -13.0)):
        words[speaker, "neutral"] = [_word(_contour(100, 0.1, 60, rng), 0.2, 60) for _ in range(4)]
        words[speaker, "angry"] = [_word(_contour(80, 0.1, 8, rng), 0.6, 8, breath_db=tense) for _ in range(4)]
    words["f1", "sad"] = [_word(_contour(125, 0.1, 60, rng), 0.2, 60, breath_db=-6.0) for _ in range(4)]
    return shifts.fit_contours(words, frame_period_ms=5.0)


def test_fit_contours_measures_each_emotions_tempo_and_contour_shape(shifts, contour_shifts):
    assert not shifts.has_contours and contour_shifts.has_contours
    assert contour_shifts.tempo_ratio("neutral", "angry") == pytest.approx(0.8, rel=1e-9)
    assert contour_shifts.tempo_ratio("neutral", "sad") == pytest.approx(1.25, rel=1e-9)
    assert contour_shifts.tempo_ratio("angry", "sad") == pytest.approx(1.25 / 0.8, rel=1e-9)
    assert contour_shifts.tempo_ratio("neutral", "sad", intensity=0.5) == pytest.approx(math.sqrt(1.25), rel=1e-9)
    angry = np.asarray(contour_shifts.shift("angry").f0_scale_log_ratio)
    # scale k responds most to periods of about 4 * 10 ms * 2**k: angry's 40 ms wiggle at scale 0, neutral's 300 ms at 2-3
    assert len(angry) == 10 and angry[0] > 1.0 and angry[2:4].mean() < -1.0
    assert contour_shifts.shift("angry").log_f0_shift == shifts.shift("angry").log_f0_shift  # the rest is kept
    assert ProsodyShifts.from_dict(contour_shifts.to_dict()) == contour_shifts
    old = {"reference": "neutral", "shifts": {k: v for k, v in shifts.to_dict()["shifts"].items()}}
    for entry in old["shifts"].values():  # a speakers.json written before contours were measured
        entry.pop("f0_scale_log_ratio"), entry.pop("tempo_log_ratio"), entry.pop("power_scale_log_ratio")
        entry.pop("aperiodicity_shift")
    assert ProsodyShifts.from_dict(old) == shifts
    with pytest.raises(ParameterError, match="tempo"):
        shifts.tempo_ratio("neutral", "angry")


def test_aperiodicity_moves_voiced_frames_by_the_emotions_measured_change(shifts, contour_shifts, rng):
    assert not shifts.has_aperiodicity and contour_shifts.has_aperiodicity
    assert contour_shifts.shift("angry").aperiodicity_shift == pytest.approx((-2.0,))  # mean of -1 and -3 dB
    assert contour_shifts.shift("sad").aperiodicity_shift == pytest.approx((4.0,))  # f1 alone
    assert contour_shifts.shift("neutral").aperiodicity_shift == (0.0,)
    word = _word(_contour(100, 0.1, 60, rng), 0.2, 60, breath_db=-8.0)
    word = word.replace(coded_ap=np.where(word.voiced[:, None], np.linspace(-9.0, -1.0, word.n_frames)[:, None], 0.0))
    voiced, ap = word.voiced, word.coded_ap[:, 0]
    for source, target, intensity, change in (("neutral", "sad", 1.0, 4.0), ("neutral", "sad", 0.5, 2.0),
                                              ("angry", "sad", 1.0, 6.0), ("sad", "angry", 1.0, -6.0),
                                              ("neutral", "sad", 0.0, 0.0)):
        out = contour_shifts.convert(word, source, target, f0=False, power=False, aperiodicity=True,
                                     intensity=intensity).coded_ap[:, 0]
        assert np.allclose(out[voiced], np.minimum(ap[voiced] + change, 0.0))  # capped: fully aperiodic at most
        assert np.array_equal(out[~voiced], ap[~voiced])
    assert np.max(contour_shifts.convert(word, "angry", "sad", aperiodicity=True).coded_ap) == 0.0
    kept = contour_shifts.convert(word, "neutral", "sad", aperiodicity=False)
    assert np.array_equal(kept.coded_ap, word.coded_ap)
    with pytest.raises(ParameterError, match="aperiodicity changes"):
        shifts.convert(word, "neutral", "sad", aperiodicity=True)
    with pytest.raises(ParameterError, match="1 bands, the utterance has 2"):
        contour_shifts.convert(word.replace(coded_ap=np.zeros((word.n_frames, 2))), "neutral", "sad",
                               aperiodicity=True)


def test_cwt_f0_moves_the_contour_shape_and_keeps_level_spread_and_voicing(shifts, contour_shifts, rng):
    word = WorldFeatures(f0_hz=_contour(100, 0.1, 60, rng), mcep=np.zeros((140, 4)), coded_ap=np.zeros((140, 1)),
                         log_power=np.full(140, -8.0), n_samples=140 * 80)
    plain = contour_shifts.convert(word, "neutral", "angry", f0="log-gaussian")
    shaped = contour_shifts.convert(word, "neutral", "angry", f0="cwt")
    assert np.array_equal(shaped.f0_hz > 0, word.f0_hz > 0)
    a, b = fit_log_f0([plain.f0_hz]), fit_log_f0([shaped.f0_hz])
    assert b.mean == pytest.approx(a.mean, abs=0.02) and b.std == pytest.approx(a.std, rel=0.1)  # within a few cents
    voiced = word.f0_hz > 0
    fast = np.abs(np.diff(np.log(shaped.f0_hz[voiced]))).mean() / np.abs(np.diff(np.log(plain.f0_hz[voiced]))).mean()
    assert fast > 1.2  # angry moves faster: more frame-to-frame change
    with pytest.raises(ParameterError, match="contour shapes"):
        shifts.convert(word, "neutral", "angry", f0="cwt")
    with pytest.raises(ParameterError, match="f0="):
        shifts.convert(word, "neutral", "angry", f0="melody")


def test_cwt_power_moves_the_energy_contour_of_voiced_frames(shifts, contour_shifts, rng):
    angry = np.asarray(contour_shifts.shift("angry").power_scale_log_ratio)
    assert angry[0] > 1.0 and angry[2:4].mean() < 0.5  # measured: faster loudness movement when angry
    word = _word(_contour(100, 0.1, 60, rng), 0.2, 60)
    plain = contour_shifts.convert(word, "neutral", "angry", f0=False, power=True)
    shaped = contour_shifts.convert(word, "neutral", "angry", f0=False, power="cwt")
    voiced = word.voiced
    a, b = fit_log_power([plain.log_power], [word.f0_hz]), fit_log_power([shaped.log_power], [word.f0_hz])
    assert b.mean == pytest.approx(a.mean, abs=0.05) and b.std == pytest.approx(a.std, rel=0.15)  # level kept
    fast = np.abs(np.diff(shaped.log_power[voiced])).mean() / np.abs(np.diff(plain.log_power[voiced])).mean()
    assert fast > 1.2
    assert np.all(np.isfinite(shaped.log_power)) and np.array_equal(shaped.f0_hz, word.f0_hz)
    with pytest.raises(ParameterError, match="contour shapes"):
        shifts.convert(word, "neutral", "angry", power="cwt")


def test_differing_emotions_names_the_shifts_another_measurement_does_not_reproduce(shifts):
    assert shifts.differing_emotions(shifts) == []
    louder = dataclasses.replace(shifts, shifts={**shifts.shifts, "sad": dataclasses.replace(
        shifts.shifts["sad"], log_power_shift=shifts.shifts["sad"].log_power_shift + 0.1)})
    assert shifts.differing_emotions(louder) == ["sad"]
    fewer = dataclasses.replace(shifts, shifts={e: s for e, s in shifts.shifts.items() if e != "angry"})
    assert shifts.differing_emotions(fewer) == ["angry"]
