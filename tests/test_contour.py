"""Tests of emocore.models.contour: the learned prosody network, its inputs and its model-folder files."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from emocore.config import ContourConfig
from emocore.dsp.contour_features import contour_channels, n_inputs
from emocore.dsp.features import WorldFeatures
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.models.contour import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ContourPredictor,
    build_contour_network,
    contour_condition,
)

CFG = ContourConfig().smoke()
EMOTIONS = ("neutral", "angry", "happy", "sad")


def _word(rng, n_frames=203, f0_hz=180.0, n_voiced_gap=20) -> WorldFeatures:
    f0 = np.exp(math.log(f0_hz) + 0.1 * np.sin(np.arange(n_frames) / 9.0) + rng.normal(0, 0.01, n_frames))
    f0[:n_voiced_gap] = 0.0
    f0[100:110] = 0.0
    return WorldFeatures(f0_hz=f0, mcep=rng.normal(0.0, 1.0, (n_frames, 24)), coded_ap=np.zeros((n_frames, 1)),
                         log_power=rng.normal(-7.0, 1.0, n_frames), n_samples=n_frames * 80)


def _perturbed(predictor: ContourPredictor, seed=0) -> ContourPredictor:
    layer = predictor.network.get_layer("output_conv")  # a trained network changes its input: give it a change
    layer.set_weights([np.random.default_rng(seed).normal(0, 0.2, w.shape).astype("float32")
                       for w in layer.get_weights()])
    return predictor


@pytest.mark.parametrize("n_frames", [37, 203, 611])
def test_an_untrained_network_returns_the_source_contours_for_any_length(rng, n_frames):
    predictor = ContourPredictor.build(CFG, EMOTIONS)
    word = _word(rng, n_frames=n_frames)
    f0_hz, log_power = predictor.predict(word, "neutral", "happy")
    assert f0_hz.shape == log_power.shape == (n_frames,)
    np.testing.assert_array_equal(f0_hz > 0, word.f0_hz > 0)  # voicing kept
    np.testing.assert_allclose(f0_hz[word.f0_hz > 0], word.f0_hz[word.f0_hz > 0], rtol=1e-5)
    np.testing.assert_allclose(log_power, word.log_power, rtol=1e-5, atol=1e-5)


def test_targets_differ_and_intensity_moves_from_the_source_to_the_prediction(rng):
    predictor = _perturbed(ContourPredictor.build(CFG, EMOTIONS))
    word = _word(rng)
    voiced = word.f0_hz > 0
    full = {t: predictor.predict(word, "neutral", t) for t in ("angry", "happy", "sad")}
    assert not np.allclose(full["angry"][0], full["happy"][0]) and not np.allclose(full["happy"][1], full["sad"][1])
    source = predictor.predict(word, "neutral", "happy", intensity=0.0)
    np.testing.assert_array_equal(source[0], word.f0_hz)  # the source itself, unvoiced frames included
    np.testing.assert_array_equal(source[1], word.log_power)
    half = predictor.predict(word, "neutral", "happy", intensity=0.5)
    expected = 0.5 * (np.log(word.f0_hz[voiced]) + np.log(full["happy"][0][voiced]))
    np.testing.assert_allclose(np.log(half[0][voiced]), expected, atol=1e-4)
    with pytest.raises(ParameterError, match="not 'bored'"):
        predictor.predict(word, "neutral", "bored")


def test_condition_names_the_source_the_target_and_the_strength():
    np.testing.assert_array_equal(contour_condition(0, 2, 4), [[1, 0, 0, 0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(contour_condition(0, 2, 4, 0.25), [[1, 0, 0, 0, 0, 0, 1, 0, 0.25]])
    network = build_contour_network(CFG, 4)
    assert [tuple(i.shape) for i in network.inputs] == [(None, None, n_inputs(CFG)), (None, 9)]
    without = build_contour_network(replace(CFG, strength_condition=False), 4)
    assert tuple(without.inputs[1].shape) == (None, 8)


def test_the_strength_moves_the_prediction_where_the_network_reads_it(rng):
    word = _word(rng)
    predictor = _perturbed(ContourPredictor.build(CFG, EMOTIONS), seed=3)
    layer = predictor.network.get_layer("block1_condition")  # the strength's weights: make them count
    kernel, bias = layer.get_weights()
    kernel[-1] = np.random.default_rng(4).normal(0, 1.0, kernel.shape[1])
    layer.set_weights([kernel, bias])
    normal, strong = (predictor.predict(word, "neutral", "angry", strength=s) for s in (0.0, 1.0))
    assert predictor.predict(word, "neutral", "angry")[0] == pytest.approx(normal[0])  # 0 is the default
    assert not np.allclose(normal[0], strong[0]) and not np.allclose(normal[1], strong[1])
    np.testing.assert_array_equal(strong[0] > 0, word.f0_hz > 0)
    with pytest.raises(ParameterError, match=r"strength must be in \[0, 1\], got 1.5"):
        predictor.predict(word, "neutral", "angry", strength=1.5)
    blind = _perturbed(ContourPredictor.build(replace(CFG, strength_condition=False), EMOTIONS), seed=3)
    np.testing.assert_array_equal(blind.predict(word, "neutral", "angry", strength=1.0)[0],
                                  blind.predict(word, "neutral", "angry")[0])


def test_save_and_load_round_trip_and_damaged_folders(rng, tmp_path):
    assert ContourPredictor.load(tmp_path) is None  # a model without a learned prosody
    predictor = _perturbed(ContourPredictor.build(CFG, EMOTIONS, sources=("neutral",)), seed=1)
    predictor.save(tmp_path)
    back = ContourPredictor.load(tmp_path)
    assert back.cfg == CFG and back.emotions == EMOTIONS and back.sources == ("neutral",)
    word = _word(rng)
    np.testing.assert_allclose(back.predict(word, "neutral", "sad")[0], predictor.predict(word, "neutral", "sad")[0])
    with pytest.raises(ParameterError, match="converts from neutral only, not 'angry'"):
        back.predict(word, "angry", "sad")
    (tmp_path / WEIGHTS_FILE).rename(tmp_path / "elsewhere.h5")
    with pytest.raises(ModelFolderError, match=WEIGHTS_FILE):
        ContourPredictor.load(tmp_path)
    (tmp_path / "elsewhere.h5").rename(tmp_path / WEIGHTS_FILE)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"emotions": list(EMOTIONS), "config": {"width": -1}}))
    with pytest.raises(ModelFolderError, match=CONFIG_FILE):
        ContourPredictor.load(tmp_path)


def test_a_learned_prosody_saved_before_the_units_were_settings_reads_the_words_own_spreads(rng, tmp_path):
    from dataclasses import asdict

    old_cfg = replace(CFG, f0_unit=0.0, power_unit=0.0, strength_condition=False)
    predictor = _perturbed(ContourPredictor.build(old_cfg, EMOTIONS), seed=2)
    predictor.save(tmp_path)
    settings = asdict(old_cfg)
    for name in ("f0_unit", "power_unit", "f0_smoothing_frames", "strength_condition"):
        del settings[name]  # the first shipped prosody.json had none of them
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"emotions": list(EMOTIONS), "config": settings}))
    back = ContourPredictor.load(tmp_path)
    assert back.cfg == old_cfg
    word = _word(rng)
    np.testing.assert_allclose(back.predict(word, "neutral", "angry")[0], predictor.predict(word, "neutral", "angry")[0])


@pytest.mark.parametrize("fixed", [True, False])
def test_a_predicted_change_is_read_in_the_configured_units(rng, monkeypatch, fixed):
    from emocore.dsp.contour_features import contour_inputs
    from emocore.models import contour

    cfg = replace(CFG, f0_smoothing_frames=0.0, **({} if fixed else {"f0_unit": 0.0, "power_unit": 0.0}))
    predictor = ContourPredictor.build(cfg, EMOTIONS)
    word = _word(rng)
    voiced = word.f0_hz > 0

    def plus_c(network, inputs):  # the source's own contours in the output units, each raised by c = 2
        x = np.asarray(inputs[0])[0]
        f0, power = contour_channels(cfg)
        return (np.stack([x[:, f0], x[:, power]], axis=-1) + 2.0)[None]

    monkeypatch.setattr(contour, "infer", plus_c)
    f0_hz, log_power = predictor.predict(word, "neutral", "happy")
    _, stats = contour_inputs(word, cfg)
    f0_unit, power_unit = (0.1, 1.0) if fixed else (stats.log_f0_std, stats.log_power_std)
    np.testing.assert_allclose(np.log(f0_hz[voiced] / word.f0_hz[voiced]), 2.0 * f0_unit, atol=1e-5)
    np.testing.assert_allclose(log_power - word.log_power, 2.0 * power_unit, atol=1e-5)


def test_config_refuses_bad_settings():
    with pytest.raises(ParameterError, match="width"):
        ContourConfig(width=0)
    with pytest.raises(ParameterError, match="dilations"):
        ContourConfig(dilations=(1, 0))
    with pytest.raises(ParameterError, match="learning_rate"):
        ContourConfig(learning_rate=0.0)
    assert ContourConfig(dilations=[1, 2]).dilations == (1, 2)  # read back from JSON as a list


def _roughness(f0_hz: np.ndarray) -> float:
    voiced = f0_hz > 0
    log_f0 = np.log(np.where(voiced, f0_hz, 1.0))
    runs = voiced[2:] & voiced[1:-1] & voiced[:-2]
    return float(np.abs(log_f0[2:] - 2 * log_f0[1:-1] + log_f0[:-2])[runs].mean())


def test_the_predicted_f0_change_is_smoothed_and_the_source_fine_movement_kept(rng):
    raw = _perturbed(ContourPredictor.build(replace(CFG, f0_smoothing_frames=0.0), EMOTIONS), seed=3)
    smooth = ContourPredictor(raw.network, replace(CFG, f0_smoothing_frames=1.0), EMOTIONS)
    word = _word(rng)
    voiced = word.f0_hz > 0
    rough_f0, smooth_f0 = raw.predict(word, "neutral", "happy")[0], smooth.predict(word, "neutral", "happy")[0]
    np.testing.assert_array_equal(smooth_f0 > 0, voiced)
    assert _roughness(smooth_f0) < 0.6 * _roughness(rough_f0)  # the random output layer's jitter is smoothed out
    # the change is what is smoothed: its voiced mean (the level) stays
    change = np.log(smooth_f0[voiced]) - np.log(word.f0_hz[voiced])
    assert change.mean() == pytest.approx((np.log(rough_f0[voiced]) - np.log(word.f0_hz[voiced])).mean(), abs=0.02)
    identity = ContourPredictor.build(replace(CFG, f0_smoothing_frames=3.0), EMOTIONS)  # no change: the source
    np.testing.assert_allclose(identity.predict(word, "neutral", "sad")[0], word.f0_hz, rtol=1e-5)
    with pytest.raises(ParameterError, match="f0_smoothing_frames"):
        replace(CFG, f0_smoothing_frames=-1.0)


def test_the_power_change_is_carried_across_unvoiced_frames_from_their_voiced_neighbours(rng):
    predictor = _perturbed(ContourPredictor.build(CFG, EMOTIONS), seed=4)
    word = _word(rng)  # unvoiced: the first 20 frames and 100-109
    log_power = predictor.predict(word, "neutral", "angry")[1]
    gain = log_power - word.log_power
    assert np.ptp(gain[:21]) < 1e-9  # before the first voiced frame: that frame's change
    np.testing.assert_allclose(gain[99:111], np.linspace(gain[99], gain[110], 12), atol=1e-9)  # a straight bridge
    assert np.std(gain[20:100]) > 1e-3  # on voiced frames the learned change itself


def test_the_smoothed_changes_take_nothing_from_unvoiced_frames(rng, monkeypatch):
    from dataclasses import replace

    from emocore.models import contour

    predictor = ContourPredictor.build(replace(CFG, f0_smoothing_frames=2.0), EMOTIONS)
    word = _word(rng)  # unvoiced: the first 20 frames and 100-109
    voiced = word.f0_hz > 0

    def untrained_where_unvoiced(network, inputs):  # no change on voiced frames, a wild one on the others
        x = np.asarray(inputs[0])[0]
        f0, power = contour_channels(predictor.cfg)
        out = np.stack([x[:, f0], x[:, power]], axis=-1) + np.where(voiced, 0.0, 10.0)[:, None]
        return out[None]

    monkeypatch.setattr(contour, "infer", untrained_where_unvoiced)
    f0_hz, log_power = predictor.predict(word, "neutral", "happy")
    np.testing.assert_allclose(f0_hz[voiced], word.f0_hz[voiced], rtol=1e-5)  # voiced onsets and ends included
    np.testing.assert_allclose(log_power, word.log_power, atol=1e-5)  # the pause too: its neighbours' change (0)
