"""Tests of emocore.stages: the WORLD stages of a conversion, which worker processes run."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import soundfile as sf
from conftest import harmonic_tone

from emocore import stages
from emocore.config import FeatureConfig, SegmentConfig
from emocore.dsp import features
from emocore.exceptions import AudioError

CFG = FeatureConfig().smoke()
SHORT = SegmentConfig(max_segment_s=1.0, search_s=0.25, context_s=0.1)


def _speech(seconds: float, sr: int = 16000) -> np.ndarray:
    """Tones of 0.4 s with quiet gaps: segment cuts have quiet places to go."""
    rng = np.random.default_rng(0)
    parts, total = [], 0
    while total < seconds * sr:
        parts += [0.3 * harmonic_tone(140 + 20 * len(parts) % 80, 0.4, sr=sr), 1e-3 * rng.standard_normal(int(0.15 * sr))]
        total += sum(len(p) for p in parts[-2:])
    return np.concatenate(parts)[: int(seconds * sr)]


def test_a_short_input_is_one_segment_and_renders_back_to_its_length(tmp_path):
    wav = _speech(0.8)
    analyzed = stages.analyze_wav(wav, CFG, SHORT)
    assert len(analyzed.plan) == 1 and analyzed.n_samples == len(wav) and analyzed.notes == ()
    out = stages.render(list(analyzed.feats), analyzed.plan, CFG, SHORT, power=False)
    assert out.shape == wav.shape
    direct = features.synthesize_features(features.extract_features(wav, CFG), CFG)
    np.testing.assert_allclose(out, direct)  # the stages are the one-process conversion, cut in two


def test_a_long_input_is_analysed_in_segments_whose_cores_cover_every_frame_once():
    wav = _speech(3.5)
    analyzed = stages.analyze_wav(wav, CFG, SHORT)
    assert len(analyzed.plan) > 2
    f0, mcep = analyzed.core_frames(CFG.hop_length)
    whole = features.extract_features(wav, CFG)
    assert abs(len(f0) - whole.n_frames) <= len(analyzed.plan) and mcep.shape == (len(f0), CFG.mcep_dim)
    out = stages.render(list(analyzed.feats), analyzed.plan, CFG, SHORT, power=False)
    assert out.shape == wav.shape
    assert pickle.loads(pickle.dumps(analyzed)).plan == analyzed.plan  # crosses a process boundary


def test_analyze_path_names_an_unusable_file_and_notes_a_truncated_one(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF-not-really")
    with pytest.raises(AudioError, match="bad.wav"):
        stages.analyze_path(bad, CFG, SHORT)
    good = tmp_path / "cut.wav"
    sf.write(str(good), _speech(0.8), 16000)
    data = good.read_bytes()
    good.write_bytes(data[: len(data) - 4000])  # the header still declares the whole length
    analyzed = stages.analyze_path(good, CFG, SHORT)
    assert len(analyzed.notes) == 1 and "truncated" in analyzed.notes[0].lower()


def test_render_to_file_scales_a_loud_result_instead_of_clipping_and_writes_nothing_for_silence(tmp_path,
                                                                                                  monkeypatch):
    wav = _speech(0.8)
    analyzed = stages.analyze_wav(wav, CFG, SHORT)
    loud = [f.replace(mcep=f.mcep + np.eye(1, f.mcep.shape[1])[0] * 3.0) for f in analyzed.feats]  # +3 in c0: louder
    peak, n = stages.render_to_file(loud, analyzed.plan, CFG, SHORT, tmp_path / "loud.wav", power=False)
    written, _ = sf.read(str(tmp_path / "loud.wav"))
    assert peak > 1 and n == len(wav) and np.max(np.abs(written)) == pytest.approx(stages.OUTPUT_PEAK, abs=1e-3)
    monkeypatch.setattr(features, "synthesize_features", lambda feats, cfg, apply_log_power=False: np.zeros(
        feats.n_samples))  # a conversion that went silent
    with pytest.raises(AudioError, match="in.wav: conversion produced silence"):
        stages.render_to_file(list(analyzed.feats), analyzed.plan, CFG, SHORT, tmp_path / "silent.wav", power=False,
                              path="in.wav")
    assert not (tmp_path / "silent.wav").exists()
