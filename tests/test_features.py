import numpy as np
import pytest

from emocore import config
from emocore.dsp import audio, features, metrics
from emocore.exceptions import ParameterError


@pytest.mark.parametrize("f0_method", ["harvest", "dio"])
@pytest.mark.parametrize("mcep_method", ["world", "sptk"])
def test_extract_shapes(tone, f0_method, mcep_method):
    cfg = config.FeatureConfig(f0_method=f0_method, mcep_method=mcep_method, mcep_dim=24)
    feats = features.extract_features(tone, cfg)
    n_frames = len(tone) // cfg.hop_length + 1
    assert feats.n_frames == n_frames
    assert feats.mcep.shape == (n_frames, 24)
    assert feats.coded_ap.shape == (n_frames, 1)
    assert feats.log_power.shape == (n_frames,)
    assert np.all(np.isfinite(feats.mcep)) and np.all(np.isfinite(feats.log_power))
    voiced_f0 = feats.f0_hz[feats.voiced]
    assert feats.voiced.mean() > 0.8
    assert np.median(voiced_f0) == pytest.approx(150, rel=0.03)


def test_roundtrip_keeps_length_and_pitch(tone, sr):
    cfg = config.FeatureConfig()
    feats = features.extract_features(tone, cfg)
    out = features.synthesize_features(feats, cfg)
    assert out.shape == tone.shape
    again = features.extract_features(out, cfg)
    assert metrics.f0_rmse_hz(feats.f0_hz, again.f0_hz) < 3.0


@pytest.mark.parametrize("mcep_method", ["world", "sptk"])
def test_mcep_code_decode_close_to_envelope(tone, mcep_method):
    cfg = config.FeatureConfig(mcep_method=mcep_method, mcep_dim=40)
    _, sp, _ = features.world_analyze(tone, cfg)
    decoded = features.decode_mcep(features.encode_mcep(sp, cfg), cfg)
    assert decoded.shape == sp.shape
    log_error_db = 10 * np.abs(np.log10(decoded) - np.log10(sp))
    assert np.median(log_error_db) < 3.0


def test_power_envelope_follows_gain_and_set_log_power(tone):
    cfg = config.FeatureConfig()
    loud = features.extract_features(tone, cfg)
    quiet = features.extract_features(tone * 0.5, cfg)
    # Halving the amplitude divides power by 4: log-power drops by log(4) on every voiced frame.
    voiced = loud.voiced & quiet.voiced
    np.testing.assert_allclose(loud.log_power[voiced] - quiet.log_power[voiced], np.log(4), atol=0.05)
    _, sp, _ = features.world_analyze(tone, cfg)
    target = features.log_power_envelope(sp) + 1.0
    np.testing.assert_allclose(features.log_power_envelope(features.set_log_power(sp, target)), target, atol=1e-9)


def test_real_tess_roundtrip(tess_file):
    """Analysis-synthesis of a real TESS file keeps its length and sounds like it (MCD, F0 error)."""
    cfg = config.FeatureConfig()
    wav = audio.load_wav(tess_file, cfg.sr)
    feats = features.extract_features(wav, cfg)
    out = features.synthesize_features(feats, cfg)
    assert out.shape == wav.shape
    again = features.extract_features(out, cfg)
    assert metrics.mel_cepstral_distortion_db(feats.mcep, again.mcep, align="none") < 6.0
    assert metrics.f0_rmse_hz(feats.f0_hz, again.f0_hz) < 15.0
    assert np.corrcoef(wav, out)[0, 1] < 0.99  # WORLD re-synthesis is not a copy of the samples...
    assert np.std(out) == pytest.approx(np.std(wav), rel=0.5)  # ...but has the same level


def test_features_save_load(tmp_path, tone):
    feats = features.extract_features(tone, config.FeatureConfig(f0_method="dio"))
    feats.save(tmp_path / "a.npz")
    again = features.WorldFeatures.load(tmp_path / "a.npz")
    for name in ("f0_hz", "mcep", "coded_ap", "log_power"):
        np.testing.assert_array_equal(getattr(feats, name), getattr(again, name))
    assert again.n_samples == len(tone)
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]  # no temporary file left


def test_mismatched_frames_raise():
    with pytest.raises(ParameterError):
        features.WorldFeatures(np.ones(5), np.ones((4, 24)), np.ones((5, 1)), np.ones(5), 100)
    with pytest.raises(ParameterError):
        features.decode_mcep(np.zeros((5, 10)), config.FeatureConfig())


def test_mean_std_roundtrip(rng):
    frames = [rng.normal(3, 2, size=(50, 4)), rng.normal(3, 2, size=(30, 4))]
    stats = features.MeanStd.fit(frames)
    normed = stats.normalize(np.concatenate(frames))
    np.testing.assert_allclose(normed.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(normed.std(0), 1, atol=1e-9)
    again = features.MeanStd.from_dict(stats.to_dict())
    np.testing.assert_allclose(again.denormalize(normed), np.concatenate(frames))


@pytest.mark.parametrize("kwargs", [dict(f0_method="crepe"), dict(mcep_method="mfcc"), dict(sr=100),
                                    dict(f0_floor_hz=500, f0_ceil_hz=100), dict(mcep_dim=1)])
def test_bad_feature_config(kwargs):
    with pytest.raises(ParameterError):
        config.FeatureConfig(**kwargs)


def test_real_ravdess_male_actor_features(ravdess_file):
    """RAVDESS Actor_01 (male, 16 kHz): F0 in a male range, and the round trip keeps length."""
    cfg = config.FeatureConfig(f0_method="dio")
    wav = audio.load_wav(ravdess_file, cfg.sr)
    feats = features.extract_features(wav, cfg)
    assert 70 < np.median(feats.f0_hz[feats.voiced]) < 250
    assert 0.2 < feats.voiced.mean() < 0.9  # RAVDESS clips have silence around the sentence
    assert features.synthesize_features(feats, cfg).shape == wav.shape


@pytest.mark.parametrize("sr, f0_floor_hz", [(8000, 40.0), (16000, 71.0), (22050, 71.0), (24000, 100.0), (48000, 40.0)])
def test_fft_size_is_worlds_and_bounds_the_mcep_order(sr, f0_floor_hz):
    import pyworld

    cfg = config.FeatureConfig(sr=sr, f0_floor_hz=f0_floor_hz)
    assert features.fft_size(cfg) == pyworld.get_cheaptrick_fft_size(sr, f0_floor_hz)
    n_bins = features.fft_size(cfg) // 2 + 1
    assert config.FeatureConfig(sr=sr, f0_floor_hz=f0_floor_hz, mcep_dim=n_bins).mcep_dim == n_bins
    with pytest.raises(ParameterError, match=f"mcep_dim must be at most {n_bins}"):
        config.FeatureConfig(sr=sr, f0_floor_hz=f0_floor_hz, mcep_dim=n_bins + 1)


def test_a_frame_period_below_one_sample_is_refused():
    with pytest.raises(ParameterError, match="less than one sample"):
        config.FeatureConfig(frame_period_ms=0.01)


@pytest.mark.parametrize("tracker", ["rapt", "swipe"])
def test_the_sptk_trackers_give_worlds_frame_count_and_find_a_tone(tracker):
    from dataclasses import replace

    from conftest import harmonic_tone

    cfg = replace(config.FeatureConfig(), f0_method=tracker)
    wav = 0.3 * harmonic_tone(180.0, 0.61)  # not a whole number of frames
    f0_hz, times = features.extract_f0(wav, cfg)
    assert len(f0_hz) == len(times) == len(wav) // cfg.hop_length + 1
    np.testing.assert_allclose(np.diff(times), cfg.frame_period_ms / 1000)
    voiced = f0_hz[f0_hz > 0]
    assert len(voiced) > 0.6 * len(f0_hz) and abs(np.median(voiced) - 180.0) < 5.0
    feats = features.extract_features(wav, cfg)  # CheapTrick and D4C take the tracker's contour
    assert feats.n_frames == len(f0_hz)
