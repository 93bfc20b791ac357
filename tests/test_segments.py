"""Tests of emocore.dsp.segments and the segment-wise conversion of long inputs (ConversionModel.convert_path)."""

from __future__ import annotations

import math
from dataclasses import replace

import keras
import numpy as np
import pytest
import soundfile as sf
from conftest import harmonic_tone

from emocore import conversion, familiarity
from emocore.config import FeatureConfig, ModelConfig, SegmentConfig
from emocore.dsp import audio, features, segments
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import AudioError, ParameterError
from emocore.models.cyclegan import GeneratorPair, build_generator

SR = 16000
FEATURE_CFG = FeatureConfig().smoke()
SEGMENT_CFG = SegmentConfig().smoke()  # segments of at most 2 s
HOP = FEATURE_CFG.hop_length


def speech_like(duration_s: float, seed: int = 0, sr: int = SR) -> np.ndarray:
    """Harmonic "words" of 0.3-0.7 s at 120-220 Hz with quiet 0.1-0.3 s pauses, ``(round(duration_s * sr),)``."""
    rng = np.random.default_rng(seed)
    parts, total, n = [], 0, int(round(duration_s * sr))
    while total < n:
        word = harmonic_tone(rng.uniform(120, 220), rng.uniform(0.3, 0.7), sr=sr)
        word = word * np.hanning(len(word))
        pause = 1e-3 * rng.standard_normal(int(rng.uniform(0.1, 0.3) * sr))
        parts += [word, pause]
        total += len(word) + len(pause)
    return np.concatenate(parts)[:n]


@pytest.fixture(scope="module")
def model() -> conversion.ConversionModel:
    """An untrained smoke-size CycleGAN between a 140 Hz and a 230 Hz tone domain, segments of at most 2 s."""
    feats_a = [features.extract_features(harmonic_tone(140, 0.5) * g, FEATURE_CFG) for g in (0.3, 0.6)]
    feats_b = [features.extract_features(harmonic_tone(230, 0.5) * g, FEATURE_CFG) for g in (0.5, 0.9)]
    keras.utils.set_random_seed(0)
    model_cfg = ModelConfig().smoke()
    model = conversion.ConversionModel(FEATURE_CFG, [DomainStats.fit("calm", feats_a), DomainStats.fit("loud", feats_b)],
                                       GeneratorPair(build_generator(model_cfg, "gen_a2b"),
                                                     build_generator(model_cfg, "gen_b2a")), "cyclegan")
    model.segment_cfg = SEGMENT_CFG
    return model


# ---------------------------------------------------------------------- planning


def check_plan(plan, n_samples, cfg, sr=SR, align=1):
    assert plan[0].core_start == 0 and plan[-1].core_stop == n_samples
    context = align * math.ceil(cfg.context_s * sr / align)
    for a, b in zip(plan, plan[1:]):
        assert a.core_stop == b.core_start  # the cores tile the input
    for s in plan:
        assert s.core_stop - s.core_start <= cfg.max_segment_s * sr
        assert s.start == max(0, s.core_start - context) and s.stop == min(n_samples, s.core_stop + context)
        assert s.n_samples <= cfg.max_segment_s * sr + 2 * context
        assert s.start % align == 0 and s.core_start % align == 0


@pytest.mark.parametrize("duration_s", [2.0, 2.01, 7.3, 31.7])
def test_plan_covers_the_whole_input(duration_s):
    wav = speech_like(duration_s)
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG, align=HOP)
    check_plan(plan, len(wav), SEGMENT_CFG, align=HOP)
    expected = 1 if duration_s <= SEGMENT_CFG.max_segment_s else math.ceil(
        duration_s / (SEGMENT_CFG.max_segment_s - SEGMENT_CFG.search_s))
    assert len(plan) == expected


def test_short_input_is_one_segment_without_context():
    plan = segments.plan_segments(np.ones(SR * 20), SR, SegmentConfig())
    assert plan == [segments.Segment(0, SR * 20, 0, SR * 20)]
    assert len(segments.plan_segments(np.ones(SR * 20 + 1), SR, SegmentConfig())) == 2
    assert len(segments.plan_segments(np.ones(SR * 3600), SR, SegmentConfig(max_segment_s=math.inf))) == 1


def test_cuts_land_in_the_quietest_frame_near_the_nominal_place(rng):
    n = 7 * SR  # 5 segments: nominal cuts at 1.4, 2.8, 4.2, 5.6 s, searched within +-0.2 s
    wav = 0.3 * rng.standard_normal(n)
    gaps = []
    for k, offset_s in zip(range(1, 5), (0.15, -0.12, 0.0, 0.08)):
        centre = int((k * 1.4 + offset_s) * SR)
        wav[centre - 240: centre + 240] *= 0.01  # a 30 ms pause
        gaps.append((centre - 240, centre + 240))
    wav[int(2.8 * SR) + 300: int(2.8 * SR) + 700] *= 0.1  # quieter than speech, louder than the pause
    wav[int(3.5 * SR): int(3.5 * SR) + 800] = 0.0  # far from any search window: never chosen
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG)
    cuts = [s.core_start for s in plan[1:]]
    assert len(cuts) == 4
    for cut, (lo, hi) in zip(cuts, gaps):
        assert lo + 80 <= cut <= hi - 80  # the whole 10 ms frame around the cut lies in the pause


def test_ties_in_digital_silence_go_to_the_nominal_place():
    wav = np.ones(10 * SR)
    wav[4 * SR: 6 * SR] = 0.0
    cut = segments.quietest_cut(wav, 5 * SR + 37, SR, SegmentConfig(), align=HOP)
    assert cut % HOP == 0 and abs(cut - (5 * SR + 37)) <= HOP


def test_frames_of_the_cores_count_each_frame_once():
    wav = speech_like(7.3)
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG, align=HOP)
    times = []
    for s in plan:
        n_frames = s.n_samples // HOP + 1  # WORLD's frame count
        times.extend(s.start + np.arange(n_frames)[s.core_frames(HOP, n_frames)] * HOP)
    np.testing.assert_array_equal(times, np.arange(len(wav) // HOP + 1) * HOP)


# ---------------------------------------------------------------------- stitching


def test_stitching_the_unconverted_segments_returns_the_input():
    wav = speech_like(9.1)
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG, align=HOP)
    out = segments.stitch((wav[s.start:s.stop] for s in plan), plan, SR, SEGMENT_CFG)
    assert out.shape == wav.shape
    np.testing.assert_allclose(out, wav, rtol=0, atol=1e-12)


def test_each_core_comes_from_its_own_segment_and_crossfades_are_short():
    wav = speech_like(9.1)
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG, align=HOP)
    gains = np.arange(1, len(plan) + 1, dtype=float)
    out = segments.stitch((g * wav[s.start:s.stop] for g, s in zip(gains, plan)), plan, SR, SEGMENT_CFG)
    half = segments.crossfade_samples(SR, SEGMENT_CFG)
    assert half == 160  # 20 ms at 16 kHz
    for i, (g, s) in enumerate(zip(gains, plan)):
        lo, hi = s.core_start + (half if i else 0), s.core_stop - (half if i < len(plan) - 1 else 0)
        np.testing.assert_allclose(out[lo:hi], g * wav[lo:hi], atol=1e-12)


def test_stitch_checks_the_pieces():
    wav = speech_like(5.0)
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG)
    with pytest.raises(ParameterError, match="shape"):
        segments.stitch([wav[:10]] * len(plan), plan, SR, SEGMENT_CFG)
    with pytest.raises(ParameterError, match="pieces"):
        segments.stitch([wav[s.start:s.stop] for s in plan[:-1]], plan, SR, SEGMENT_CFG)


@pytest.mark.parametrize("changes", [{"max_segment_s": 0}, {"search_s": 6.0}, {"crossfade_ms": 2000.0},
                                     {"cut_frame_ms": 0}])
def test_segment_config_is_checked(changes):
    with pytest.raises(ParameterError):
        replace(SegmentConfig(), **changes)


# ---------------------------------------------------------------------- conversion


def test_short_input_converts_bitwise_as_before(model, tmp_path):
    wav = speech_like(1.9)
    old = model.convert_analyzed(features.extract_features(wav, FEATURE_CFG), "A2B")
    new = model.convert_wav(wav, "A2B")
    assert new.dtype == old.dtype and np.array_equal(new, old)
    path = tmp_path / "short.wav"
    sf.write(str(path), wav, SR, subtype="FLOAT")
    result = model.convert_path(path, "A2B")
    assert result.n_segments == 1 and result.notes == ()
    assert np.array_equal(result.wav, model.convert_analyzed(model.analyze_file(path), "A2B"))
    assert result.familiarity == familiarity.input_familiarity(model.analyze_file(path), model.stats[0])
    assert np.array_equal(model.convert_file(path), result.wav)


def test_long_input_equals_its_segments_converted_alone(model, tmp_path):
    wav = speech_like(6.5)
    path = tmp_path / "long.wav"
    sf.write(str(path), wav, SR, subtype="FLOAT")
    wav = audio.load_wav(path)  # float32 in the file: WORLD's voicing decisions notice a float64 original
    result = model.convert_path(path, "A2B")
    plan = segments.plan_segments(wav, SR, SEGMENT_CFG, align=HOP)
    assert result.n_segments == len(plan) == 5 and result.wav.shape == wav.shape and result.notes == ()
    np.testing.assert_array_equal(model.convert_wav(wav, "A2B"), result.wav)
    half = segments.crossfade_samples(SR, SEGMENT_CFG)
    for i, s in enumerate(plan):
        alone = model.convert_analyzed(features.extract_features(wav[s.start:s.stop], FEATURE_CFG), "A2B")
        lo, hi = s.core_start + (half if i else 0), s.core_stop - (half if i < len(plan) - 1 else 0)
        np.testing.assert_allclose(result.wav[lo:hi], alone[lo - s.start: hi - s.start], rtol=0, atol=1e-6)
    # the familiarity covers every frame once, as the whole file's does
    whole = features.extract_features(wav, FEATURE_CFG)
    assert result.familiarity.pitch_z == pytest.approx(
        familiarity.input_familiarity(whole, model.stats[0]).pitch_z, abs=0.05)


def test_ten_minutes_never_reach_the_analysis_in_more_than_one_segment(model, tmp_path, monkeypatch):
    """A 10-minute file (default settings) is analysed in spans of at most max_segment_s + 2 context_s."""
    cfg = SegmentConfig()
    wav = speech_like(600.0, seed=1)
    path = tmp_path / "ten_minutes.wav"
    sf.write(str(path), wav, SR, subtype="FLOAT")
    spans, analysed = [], {}

    def spy(segment_wav, feature_cfg):  # cheap stand-in features; "synthesis" below gives back the span
        spans.append(len(segment_wav))
        n_frames = len(segment_wav) // feature_cfg.hop_length + 1
        feats = features.WorldFeatures(f0_hz=np.full(n_frames, 150.0), mcep=np.zeros((n_frames, feature_cfg.mcep_dim)),
                                       coded_ap=np.zeros((n_frames, 1)), log_power=np.zeros(n_frames),
                                       n_samples=len(segment_wav))
        analysed[id(feats)] = np.array(segment_wav)
        return feats

    monkeypatch.setattr(features, "extract_features", spy)  # what emocore.stages analyses with
    monkeypatch.setattr(model, "segment_cfg", cfg)
    monkeypatch.setattr(model, "convert_features", lambda feats, direction, **switches: feats)
    monkeypatch.setattr(features, "synthesize_features", lambda feats, cfg, apply_log_power=False: analysed[id(feats)])
    result = model.convert_path(path, "A2B")
    limit = (cfg.max_segment_s + 2 * cfg.context_s) * SR
    assert result.n_segments == len(spans) == 34 and max(spans) <= limit
    np.testing.assert_allclose(result.wav, wav, atol=1e-6)  # float32 file, exact stitch
    assert result.familiarity.pitch_offset_semitones == pytest.approx(
        12 * np.log2(150.0) - 12 * model.stats[0].log_f0.mean / np.log(2))
    spans.clear()
    np.testing.assert_allclose(model.convert_wav(wav, "A2B"), wav, atol=1e-12)
    assert len(spans) == 34 and max(spans) <= limit


def test_no_voiced_frames_give_a_note(model, tmp_path, rng):
    path = tmp_path / "hiss.wav"  # high-passed noise: white noise can fool dio into a few voiced frames
    sf.write(str(path), 0.03 * np.diff(rng.standard_normal(SR + 2), n=2), SR, subtype="FLOAT")
    result = model.convert_path(path, "A2B")
    assert result.notes == (conversion.NO_VOICED_NOTE,) and "no voiced frames" in result.notes[0]
    assert np.isnan(result.familiarity.pitch_z)


def test_a_truncated_file_gives_a_note(model, tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(str(path), speech_like(1.5), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"data") + 8 + 2 * SR])  # 1 s of the 1.5 s
    result = model.convert_path(path, "A2B")
    assert len(result.wav) == SR
    assert result.notes == ("truncated: the header declares 1.50 s of audio but the file holds 1.00 s",)


def test_conversion_to_silence_is_an_error(model, monkeypatch):
    monkeypatch.setattr(features, "synthesize_features", lambda feats, cfg, apply_log_power=False: np.zeros(feats.n_samples))
    with pytest.raises(AudioError, match="conversion produced silence"):
        model.convert_wav(speech_like(1.0), "A2B")
