"""Tests of emocore.conversion: the stream switches, lengths, model folders, and converting many files."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import soundfile as sf
from conftest import harmonic_tone

from emocore import conversion, features, models
from emocore.config import FeatureConfig, ModelConfig
from emocore.exceptions import ParameterError
from emocore.prosody import DomainStats

FEATURE_CFG = FeatureConfig().smoke()
MODEL_CFG = ModelConfig().smoke()


@pytest.fixture(scope="module")
def model() -> conversion.ConversionModel:
    feats_a = [features.extract_features(harmonic_tone(140, 0.5) * g, FEATURE_CFG) for g in (0.3, 0.6)]
    feats_b = [features.extract_features(harmonic_tone(230, 0.5) * g, FEATURE_CFG) for g in (0.5, 0.9)]
    keras.utils.set_random_seed(0)
    return conversion.ConversionModel(FEATURE_CFG, DomainStats.fit("calm", feats_a), DomainStats.fit("loud", feats_b),
                                      models.build_generator(MODEL_CFG, "gen_a2b"),
                                      models.build_generator(MODEL_CFG, "gen_b2a"),
                                      config={"model": {"width": MODEL_CFG.width,
                                                        "n_residual_blocks": MODEL_CFG.n_residual_blocks}})


@pytest.fixture(scope="module")
def source(sr):
    wav = harmonic_tone(150, 0.8, sr=sr)[: 12_345]  # an odd length: neither frames nor samples line up
    return wav, features.extract_features(wav, FEATURE_CFG)


@pytest.fixture(scope="module")
def sr():
    return 16000


def test_all_switches_off_is_the_identity(model, source):
    _, feats = source
    out = model.convert_features(feats, "A2B", f0=False, power=False, mcep=False)
    for name in ("f0_hz", "mcep", "coded_ap", "log_power"):
        np.testing.assert_array_equal(getattr(out, name), getattr(feats, name))


@pytest.mark.parametrize("stream", ["f0", "power", "mcep"])
def test_each_switch_converts_only_its_stream(model, source, stream):
    _, feats = source
    out = model.convert_features(feats, "A2B", **{s: s == stream for s in ("f0", "power", "mcep")})
    changed = {name: not np.array_equal(getattr(out, name), getattr(feats, name))
               for name in ("f0_hz", "log_power", "mcep")}
    assert changed == {"f0_hz": stream == "f0", "log_power": stream == "power", "mcep": stream == "mcep"}
    np.testing.assert_array_equal(out.coded_ap, feats.coded_ap)  # aperiodicity is always copied
    assert out.n_frames == feats.n_frames and out.n_samples == feats.n_samples
    if stream == "f0":
        np.testing.assert_array_equal(out.f0_hz > 0, feats.f0_hz > 0)  # unvoiced frames stay unvoiced
        assert np.exp(np.mean(np.log(out.f0_hz[out.f0_hz > 0]))) > 200  # moved toward domain B (230 Hz)


def test_convert_mcep_is_normalize_pad_generate_crop_denormalize(model, source):
    _, feats = source
    mcep = feats.mcep[:203]  # 203 frames: padded to 204 for the generator
    src, tgt = model.domain_stats("A2B")
    padded, n = models.pad_to_multiple(src.mcep.normalize(mcep).astype(np.float32))
    expected = tgt.mcep.denormalize(np.asarray(model.generators["A2B"](padded[None]))[0, :n])
    out = model.convert_mcep(mcep, "a2b")
    assert out.shape == mcep.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(model.convert_mcep(mcep, "B2A"), out)


def test_convert_wav_keeps_the_input_length(model, source):
    wav, _ = source
    out = model.convert_wav(wav, "A2B")
    assert out.shape == wav.shape and np.all(np.isfinite(out))


@pytest.mark.parametrize("direction", ["A2C", "", "ab"])
def test_bad_direction_raises(model, source, direction):
    with pytest.raises(ParameterError, match="direction"):
        model.convert_features(source[1], direction)


def test_save_and_load_round_trip(model, source, tmp_path):
    model.save(tmp_path, {"model": {"mcep_dim": 24, "width": MODEL_CFG.width,
                                    "n_residual_blocks": MODEL_CFG.n_residual_blocks}})
    loaded = conversion.ConversionModel.load(tmp_path)
    assert loaded.model_type == "cyclegan" and loaded.domain_names == ("calm", "loud")
    assert loaded.feature_cfg == FEATURE_CFG
    mcep = source[1].mcep
    for direction in ("A2B", "B2A"):
        np.testing.assert_allclose(loaded.convert_mcep(mcep, direction), model.convert_mcep(mcep, direction),
                                   rtol=1e-6, atol=1e-6)


def test_load_explains_what_is_missing(model, tmp_path):
    with pytest.raises(ParameterError, match="config.json"):
        conversion.ConversionModel.load(tmp_path)
    model.save(tmp_path, {"model": {"width": MODEL_CFG.width, "n_residual_blocks": MODEL_CFG.n_residual_blocks}})
    (tmp_path / "gen_b2a.weights.h5").unlink()
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(ParameterError, match="gen_b2a.weights.h5.*checkpoint"):
        conversion.ConversionModel.load(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "stargan"}))
    with pytest.raises(ParameterError, match="model_type"):
        conversion.ConversionModel.load(tmp_path)


def test_convert_files_skips_bad_files_and_reports_them(model, source, tmp_path, sr):
    wav, _ = source
    inputs = tmp_path / "in"
    inputs.mkdir()
    sf.write(str(inputs / "good.wav"), wav, sr)
    sf.write(str(inputs / "loud.flac"), wav * 0.9, 22050)  # another rate: resampled on loading
    (inputs / "broken.wav").write_bytes(b"RIFF not really")
    sf.write(str(inputs / "silent.wav"), np.zeros(sr), sr)
    files = conversion.expand_inputs([inputs / "*.wav", inputs / "loud.flac", tmp_path / "missing.wav"])
    assert [f.name for f in files] == ["broken.wav", "good.wav", "silent.wav", "loud.flac", "missing.wav"]
    report = conversion.convert_files(model, files, "A2B", tmp_path / "out", progress=False)
    assert not report.ok
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in report.failed) == ["broken.wav", "missing.wav", "silent.wav"]
    reasons = dict(report.failed)
    assert "silent" in reasons[str(inputs / "silent.wav")] and "no such file" in reasons[str(tmp_path / "missing.wav")]
    outputs = {p.rsplit("/", 1)[-1]: o for p, o in report.converted}
    assert set(outputs) == {"good.wav", "loud.flac"}
    good, out_sr = sf.read(outputs["good.wav"])
    assert out_sr == sr and len(good) == len(wav)


def test_expand_inputs_reads_folders_and_keeps_unmatched_patterns(tmp_path, sr):
    for name in ("b.wav", "a.flac", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in conversion.expand_inputs([tmp_path])] == ["a.flac", "b.wav"]
    assert conversion.expand_inputs([tmp_path / "*.ogg"]) == [tmp_path / "*.ogg"]
    assert len(conversion.expand_inputs([tmp_path / "b.wav", str(tmp_path / "b.wav")])) == 1


def test_feature_shift_table_measures_source_converted_target(model):
    from emocore.datasets import Utterance

    def utt(text_id, emotion):
        return Utterance(path=f"/x/{emotion}/{text_id}.wav", corpus="dir", speaker="s", emotion=emotion, text_id=text_id)

    low = [(utt(w, "calm"), features.extract_features(harmonic_tone(140, 0.5) * 0.5, FEATURE_CFG)) for w in "ab"]
    high = [(utt("a", "loud"), features.extract_features(harmonic_tone(230, 0.5) * 0.7, FEATURE_CFG))]
    table = conversion.feature_shift_table(model, low, high, "A2B")
    assert list(table["text_id"]) == ["a", "a", "a"]  # word "b" has no target recording
    by_version = table.set_index("version")
    assert by_version.loc["target", "mcd_to_target_db"] == 0.0
    # the log-Gaussian F0 transform moves the mean log F0 onto the target domain's
    assert by_version.loc["source", "log_f0_mean"] == pytest.approx(np.log(140), abs=0.03)
    assert by_version.loc["converted", "log_f0_mean"] == pytest.approx(model.stats_b.log_f0.mean, abs=0.03)
    with pytest.raises(ParameterError):
        conversion.feature_shift_table(model, low[1:], high, "A2B")


@pytest.mark.parametrize("variant,expected", [
    ("f0", {"f0": True, "power": False, "mcep": False}),
    ("mcep+f0", {"f0": True, "power": False, "mcep": True}),
    ("F0 + power + mcep", {"f0": True, "power": True, "mcep": True}),
    ("none", {"f0": False, "power": False, "mcep": False}),
])
def test_parse_streams(variant, expected):
    assert conversion.parse_streams(variant) == expected


@pytest.mark.parametrize("variant", ["", "pitch", "f0+ap"])
def test_parse_streams_rejects_unknown(variant):
    with pytest.raises(ParameterError):
        conversion.parse_streams(variant)
