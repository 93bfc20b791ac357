"""Tests of emocore.dsp.speaker_norm: features measured against the speaker's own neutral voice."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.dsp.prosody import DomainStats, LogGaussian
from emocore.dsp.speaker_norm import SpeakerNormalizer, read_speakers
from emocore.exceptions import ModelFolderError, ParameterError

D = 4


def _stats(name, mcep_mean, mcep_std, f0_hz=150.0, f0_std=0.1, power=-8.0) -> DomainStats:
    return DomainStats(name, LogGaussian(math.log(f0_hz), f0_std, 500), LogGaussian(power, 1.5, 500),
                       MeanStd(np.asarray(mcep_mean, dtype=float), np.asarray(mcep_std, dtype=float)), 10)


# angry moves every speaker's MCEP mean by +1 of their neutral spread in c0 and doubles the spread of c1
ANGRY_SHIFT = np.array([1.0, 0.0, 0.0, 0.0])
ANGRY_RATIO = np.array([1.0, 2.0, 1.0, 1.0])


def _speaker(name, mean, std, f0_hz):
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    return {(name, "neutral"): _stats(f"{name}-neutral", mean, std, f0_hz),
            (name, "angry"): _stats(f"{name}-angry", mean + ANGRY_SHIFT * std, std * ANGRY_RATIO, f0_hz * 1.25, 0.15)}


@pytest.fixture
def normalizer() -> SpeakerNormalizer:
    stats = {**_speaker("low", [0.0, 1.0, 2.0, 3.0], [1.0, 0.5, 0.5, 0.5], 110.0),
             **_speaker("high", [-2.0, 0.0, 1.0, 0.0], [2.0, 1.0, 0.25, 0.5], 220.0)}
    return SpeakerNormalizer.fit(stats)


def _utterance(rng, n_frames=300) -> WorldFeatures:
    f0 = np.exp(rng.normal(math.log(130.0), 0.1, n_frames))
    f0[::4] = 0.0
    return WorldFeatures(f0_hz=f0, mcep=rng.normal(3.0, 2.0, (n_frames, D)), coded_ap=np.zeros((n_frames, 2)),
                         log_power=rng.normal(-8.0, 1.0, n_frames), n_samples=n_frames * 80)


def test_fit_measures_each_emotions_change_in_the_speakers_own_units(normalizer):
    assert normalizer.emotions == ("neutral", "angry")
    np.testing.assert_allclose(normalizer.mcep["angry"].mean_shift, ANGRY_SHIFT)
    np.testing.assert_allclose(np.exp(normalizer.mcep["angry"].log_ratio), ANGRY_RATIO)
    np.testing.assert_allclose(normalizer.mcep["neutral"].mean_shift, 0.0)
    assert normalizer.prosody.shift("angry").log_f0_shift == pytest.approx(math.log(1.25))
    # the training speakers' register: geometric mean of 110 and 220 Hz, spread half an octave in log
    assert math.exp(normalizer.speaker_log_f0.mean) == pytest.approx(math.sqrt(110 * 220))
    assert normalizer.pitch_z(math.log(220.0)) == pytest.approx(1.0)


def test_reference_stats_undo_the_emotion_of_the_recordings(normalizer):
    # a new speaker who follows the average change: their angry statistics give back their neutral ones
    neutral = _stats("new-neutral", [5.0, -1.0, 0.0, 2.0], [3.0, 1.0, 2.0, 1.0], 95.0)
    angry = _stats("new-angry", neutral.mcep.mean + ANGRY_SHIFT * neutral.mcep.std, neutral.mcep.std * ANGRY_RATIO,
                   95.0 * 1.25, 0.15)
    estimate = normalizer.reference_stats(angry, "angry")
    np.testing.assert_allclose(estimate.mcep.mean, neutral.mcep.mean)
    np.testing.assert_allclose(estimate.mcep.std, neutral.mcep.std)
    assert math.exp(estimate.log_f0.mean) == pytest.approx(95.0)
    assert estimate.log_f0.std == pytest.approx(0.1)
    same = normalizer.reference_stats(neutral, "neutral")  # neutral recordings are their own reference
    np.testing.assert_allclose(same.mcep.mean, neutral.mcep.mean)
    assert same.log_f0 == neutral.log_f0
    with pytest.raises(ParameterError, match="'sad'.*known: neutral, angry"):
        normalizer.reference_stats(neutral, "sad")
    # the MCEP part alone, from MCEP statistics only (what converting MCEPs without pitch needs)
    alone = normalizer.reference_mcep(angry.mcep, "angry")
    np.testing.assert_allclose(alone.mean, estimate.mcep.mean)
    np.testing.assert_allclose(alone.std, estimate.mcep.std)
    with pytest.raises(ParameterError, match="'sad'"):
        normalizer.reference_mcep(angry.mcep, "sad")


def test_normalize_then_denormalize_returns_the_speakers_mceps(normalizer, rng):
    feats = _utterance(rng)
    ref = DomainStats.fit("me", [feats])
    z = normalizer.normalize(feats, ref)
    np.testing.assert_allclose(z.mcep.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.mcep.std(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose(normalizer.denormalize_mcep(z.mcep, ref), feats.mcep, atol=1e-12)
    voiced = feats.f0_hz > 0
    assert np.array_equal(z.f0_hz > 0, voiced)  # unvoiced frames stay unvoiced
    np.testing.assert_allclose(np.log(z.f0_hz[voiced]), (np.log(feats.f0_hz[voiced]) - ref.log_f0.mean) / ref.log_f0.std)
    assert z.coded_ap is feats.coded_ap and z.log_power is feats.log_power


def test_two_voices_differing_only_in_register_normalize_alike(normalizer, rng):
    low = _utterance(rng)
    high = low.replace(mcep=low.mcep * 0.5 + 4.0, f0_hz=low.f0_hz * 2.0)  # another vocal tract, an octave up
    z_low = normalizer.normalize(low, DomainStats.fit("low", [low]))
    z_high = normalizer.normalize(high, DomainStats.fit("high", [high]))
    np.testing.assert_allclose(z_low.mcep, z_high.mcep, atol=1e-9)
    np.testing.assert_allclose(z_low.f0_hz, z_high.f0_hz, rtol=1e-9)


def test_round_trip_through_a_dict(normalizer):
    back = SpeakerNormalizer.from_dict(normalizer.to_dict())
    assert back.emotions == normalizer.emotions and back.prosody == normalizer.prosody
    for emotion in normalizer.emotions:
        np.testing.assert_array_equal(back.mcep[emotion].mean_shift, normalizer.mcep[emotion].mean_shift)
        np.testing.assert_array_equal(back.mcep[emotion].log_ratio, normalizer.mcep[emotion].log_ratio)
    assert back.speaker_log_f0 == normalizer.speaker_log_f0


def test_read_speakers_gives_the_emotions_and_the_normalization_and_names_a_bad_file(normalizer, tmp_path):
    import json

    path = tmp_path / "speakers.json"
    path.write_text(json.dumps({"emotions": ["neutral", "sad"], "normalizer": normalizer.to_dict()}))
    emotions, back = read_speakers(path)
    assert emotions == ("neutral", "sad") and back.prosody == normalizer.prosody
    with pytest.raises(ModelFolderError, match="missing"):
        read_speakers(tmp_path / "absent.json")
    path.write_text(json.dumps({"emotions": ["neutral", "sad"], "normalizer": {"reference": "neutral"}}))
    with pytest.raises(ModelFolderError, match="not a speaker normalization") as raised:
        read_speakers(path)
    assert str(path) in str(raised.value)


def test_each_training_speaker_is_enrolled_with_their_own_changes(normalizer):
    assert sorted(normalizer.enrolled) == ["high", "low"]
    low = SpeakerNormalizer.fit(_speaker("low", [0.0, 1.0, 2.0, 3.0], [1.0, 0.5, 0.5, 0.5], 110.0))
    assert low.enrolled == {}  # one speaker: their own changes are the average
    own = normalizer.for_speaker("low")
    assert own.prosody == low.prosody and own.speaker_log_f0 == normalizer.speaker_log_f0
    np.testing.assert_allclose(own.mcep["angry"].mean_shift, low.mcep["angry"].mean_shift)
    assert normalizer.for_speaker(None) is normalizer
    with pytest.raises(ParameterError, match="'mid' is not one of the model's training speakers; enrolled: high, low"):
        normalizer.for_speaker("mid")
    stats = {**_speaker("low", [0.0] * D, [1.0] * D, 110.0), **_speaker("high", [0.0] * D, [1.0] * D, 220.0)}
    assert SpeakerNormalizer.fit(stats, enroll=False).enrolled == {}
    back = SpeakerNormalizer.from_dict(normalizer.to_dict())  # kept in speakers.json
    assert back.to_dict() == normalizer.to_dict() and sorted(back.enrolled) == ["high", "low"]
    assert back.for_speaker("low").prosody == own.prosody


def test_emotion_mcep_places_each_emotion_in_the_speaker_normalized_space():
    # the two speakers change c0 differently when angry: +0.5 and +1.5 of their neutral spread
    stats = {}
    for name, shift in (("low", 0.5), ("high", 1.5)):
        stats[name, "neutral"] = _stats(f"{name}-neutral", [0.0] * D, [1.0] * D)
        stats[name, "angry"] = _stats(f"{name}-angry", [shift, 0.0, 0.0, 0.0], [1.0, 2.0, 1.0, 1.0])
    normalizer = SpeakerNormalizer.fit(stats)
    neutral, angry = normalizer.emotion_mcep("neutral"), normalizer.emotion_mcep("angry")
    np.testing.assert_allclose(neutral.mean, 0.0)
    np.testing.assert_allclose(neutral.std, 1.0)
    np.testing.assert_allclose(angry.mean, [1.0, 0.0, 0.0, 0.0])  # the average
    np.testing.assert_allclose(angry.std, [1.0, 2.0, 1.0, 1.0])
    np.testing.assert_allclose(normalizer.for_speaker("low").emotion_mcep("angry").mean, [0.5, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(normalizer.for_speaker("high").emotion_mcep("angry").mean, [1.5, 0.0, 0.0, 0.0])
    with pytest.raises(ParameterError, match="no speaker normalization measured for 'sad'; known: neutral, angry"):
        normalizer.emotion_mcep("sad")
