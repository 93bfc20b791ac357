import numpy as np
import pytest

from emocore import config
from emocore.dsp import features, prosody
from emocore.exceptions import ParameterError


def test_convert_f0_matches_target_statistics(rng):
    f0 = np.exp(rng.normal(np.log(200), 0.1, size=2000))
    f0[::7] = 0.0
    src = prosody.fit_log_f0([f0])
    tgt = prosody.LogGaussian(mean=np.log(260), std=0.25, n_frames=1)
    out = prosody.convert_f0(f0, src, tgt)
    assert np.all(out[f0 == 0] == 0)
    fitted = prosody.fit_log_f0([out])
    assert fitted.mean == pytest.approx(tgt.mean, abs=1e-9)
    assert fitted.std == pytest.approx(tgt.std, abs=1e-9)
    # identity transform
    np.testing.assert_allclose(prosody.convert_f0(f0, src, src), f0)


def test_convert_log_power_voiced_and_unvoiced(rng):
    log_power = rng.normal(-5, 1, size=100)
    f0 = np.where(np.arange(100) % 10 < 6, 200.0, 0.0)
    src = prosody.LogGaussian(-5.0, 1.0, 100)
    tgt = prosody.LogGaussian(-3.0, 1.0, 100)  # +2 nats everywhere speech is
    out = prosody.convert_log_power(log_power, f0, src, tgt)
    np.testing.assert_allclose(out - log_power, 2.0)  # a pure shift: unvoiced get the same gain
    tgt_wide = prosody.LogGaussian(-5.0, 2.0, 100)
    out = prosody.convert_log_power(log_power, f0, src, tgt_wide)
    voiced = f0 > 0
    np.testing.assert_allclose(out[voiced], (log_power[voiced] + 5) * 2 - 5)
    gain = out - log_power
    # an unvoiced frame between voiced frames 5 and 10 gets a gain between theirs
    assert min(gain[5], gain[10]) <= gain[7] <= max(gain[5], gain[10])


def test_interpolate_over_unvoiced():
    values = np.array([9.0, 1.0, 9.0, 9.0, 4.0, 9.0])
    voiced = np.array([False, True, False, False, True, False])
    np.testing.assert_allclose(prosody.interpolate_over_unvoiced(values, voiced), [1, 1, 2, 3, 4, 4])
    np.testing.assert_array_equal(prosody.interpolate_over_unvoiced(values, np.zeros(6, bool)), values)


def test_fit_needs_voiced_frames():
    with pytest.raises(ParameterError):
        prosody.fit_log_f0([np.zeros(50)])


def test_domain_stats_roundtrip_and_convert(tmp_path, tone):
    cfg = config.FeatureConfig(f0_method="dio")
    low = features.extract_features(tone, cfg)
    from conftest import harmonic_tone

    high = features.extract_features(harmonic_tone(f0_hz=220.0) * 0.25, cfg)
    stats_low = prosody.DomainStats.fit("low", [low])
    stats_high = prosody.DomainStats.fit("high", [high])
    stats_low.save(tmp_path / "low.json")
    again = prosody.DomainStats.load(tmp_path / "low.json")
    assert again.log_f0 == stats_low.log_f0 and again.n_utterances == 1
    np.testing.assert_allclose(again.mcep.mean, stats_low.mcep.mean)

    converted = prosody.convert_prosody(low, stats_low, stats_high)
    assert np.median(converted.f0_hz[converted.voiced]) == pytest.approx(220, rel=0.05)
    assert converted.log_power[low.voiced].mean() == pytest.approx(stats_high.log_power.mean, abs=1e-6)
    np.testing.assert_array_equal(converted.mcep, low.mcep)
    wav = features.synthesize_features(converted, cfg, apply_log_power=True)
    assert wav.shape == tone.shape
    # the synthesized power matches the converted envelope (the quieter target: about -1.4 nats)
    reanalysed = features.extract_features(wav, cfg)
    voiced = reanalysed.voiced & low.voiced
    assert np.median(reanalysed.log_power[voiced] - low.log_power[voiced]) == pytest.approx(
        stats_high.log_power.mean - stats_low.log_power.mean, abs=0.3)
    only_f0 = prosody.convert_prosody(low, stats_low, stats_high, power=False)
    np.testing.assert_array_equal(only_f0.log_power, low.log_power)
