"""Tests of emocore.training.contour: fitting the learned prosody and adding it to a multi-speaker model folder."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from emocore.config import ContourConfig
from emocore.conversion import ConversionModel
from emocore.data.datasets import list_utterances
from emocore.data.parallel import ContourPair
from emocore.dsp.contour_features import contour_channels, n_inputs
from emocore.exceptions import ParameterError
from emocore.models.contour import CONFIG_FILE, WEIGHTS_FILE
from emocore.training.contour import add_learned_prosody, main, train_contour_network

EMOTIONS = ("neutral", "angry", "happy", "sad")


def _pairs(rng, cfg, n=24, n_frames=90, strong_every=0):
    """Synthetic parallel words: happy raises the log F0 by 1.5 units and the power by 1, sad lowers both; every
    ``strong_every``-th pair of each target is a strong take whose changes are twice as large."""
    f0, power = contour_channels(cfg)
    pairs = []
    for k in range(n):
        x = rng.normal(0, 1, (n_frames, n_inputs(cfg))).astype(np.float32)
        x[:, 0] = np.sin(np.arange(n_frames) / 7.0 + k)
        x[:, f0] = 2.0 * x[:, 0]
        x[:, 1] = 1.0
        target, sign = (2, 1.0) if k % 2 else (3, -1.0)
        strong = bool(strong_every) and (k // 2) % strong_every == 0
        sign *= 2.0 if strong else 1.0
        y = np.column_stack([x[:, f0] + sign * 1.5, x[:, power] + sign, np.ones(n_frames)]).astype(np.float32)
        pairs.append(ContourPair(x, y, 0, target, "tess" if k % 3 else "ravdess", "s", strong))
    return pairs


def test_training_learns_each_targets_change(rng):
    cfg = replace(ContourConfig().smoke(), n_mcep=4, width=16, steps=150, crop_frames=64, batch_size=8)
    pairs = _pairs(rng, cfg)
    f0, power = contour_channels(cfg)
    predictor, losses = train_contour_network(pairs, EMOTIONS, cfg, progress=False)
    assert len(losses) == 150 and np.mean(losses[-20:]) < 0.3 * np.mean(losses[:5])
    assert predictor.sources == ("neutral",)  # the only source emotion of the pairs
    assert cfg.strength_condition and not predictor.cfg.strength_condition  # no strong take: nothing to learn it from
    from emocore.models.contour import contour_condition

    for target, sign in ((2, 1.0), (3, -1.0)):
        out = np.asarray(predictor.network([pairs[0].inputs[None], contour_condition(0, target, 4)]))[0]
        assert np.mean(out[:, 0] - pairs[0].inputs[:, f0]) == pytest.approx(sign * 1.5, abs=0.5)
        assert np.mean(out[:, 1] - pairs[0].inputs[:, power]) == pytest.approx(sign * 1.0, abs=0.5)
    with pytest.raises(ParameterError, match="no parallel pairs"):
        train_contour_network([], EMOTIONS, cfg, progress=False)


def test_training_learns_the_strong_takes_apart_from_the_normal_ones(rng):
    from emocore.models.contour import contour_condition

    cfg = replace(ContourConfig().smoke(), n_mcep=4, width=16, steps=300, crop_frames=64, batch_size=8)
    pairs = _pairs(rng, cfg, n=48, strong_every=3)  # a third strong: twice the change
    f0, power = contour_channels(cfg)
    predictor, _ = train_contour_network(pairs, EMOTIONS, cfg, progress=False)
    x = pairs[1].inputs[None]
    for target, sign in ((2, 1.0), (3, -1.0)):
        change = {s: np.mean(np.asarray(predictor.network([x, contour_condition(0, target, 4, s)]))[0][:, 0]
                             - x[0, :, f0]) for s in (0.0, 1.0)}
        assert change[0.0] == pytest.approx(sign * 1.5, abs=0.5)
        assert change[1.0] == pytest.approx(sign * 3.0, abs=0.75)


@pytest.fixture(scope="module")
def learned(smoke_stargan, corpora_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("learned") / "model"
    shutil.copytree(smoke_stargan[0], folder)
    summary = add_learned_prosody(folder, ContourConfig().smoke(), processed_dir=folder.parent / "processed",
                                  corpora_root=corpora_root, max_utterances=3, progress=False)
    return folder, summary


def test_add_learned_prosody_writes_it_and_conversion_uses_it(learned, corpora_root):
    folder, summary = learned
    assert (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()
    import h5py

    with h5py.File(folder / WEIGHTS_FILE) as weights:
        assert "optimizer" not in weights  # the network only
    assert summary["pairs"] > summary["strong_pairs"] > 0 and summary["steps"] == ContourConfig().smoke().steps
    from emocore.io import file_digest
    from emocore.record import read_record

    digests = read_record(folder).fingerprint["sha256"]  # the fingerprint gained the new files
    assert all(digests[name] == file_digest(folder / name) for name in (CONFIG_FILE, WEIGHTS_FILE))
    assert not (folder / ".partial-prosody").exists()
    model = ConversionModel.load(folder)
    converter = model.converter
    assert converter.prosody_net is not None and converter.prosody_net.sources == ("neutral",)
    # asked for, or the model's own way from neutral; from another emotion the CWT transform stands in
    assert (converter.f0_method("learned", "neutral"), converter.power_method("learned", "neutral")) == (
        "learned", "learned")
    # the learned F0 is the default from neutral; the power stays the transform (learned power by name only)
    assert (converter.f0_method(True, "neutral"), converter.power_method(True, "neutral")) == ("learned", "cwt")
    assert (converter.f0_method(True, "angry"), converter.power_method(True, "angry")) == ("cwt", "cwt")
    assert converter.uses_learned("neutral") and not converter.uses_learned("sad")
    with pytest.raises(ParameterError, match="converts from neutral only"):
        converter.f0_method("learned", "angry")
    with pytest.raises(ParameterError, match="converts from neutral only"):
        model.convert_features(model.analyze_file(
            list_utterances("ravdess", speaker="Actor_15", emotion="angry", root=corpora_root)[0].path),
            ("angry", "happy"), power="learned")
    source = list_utterances("ravdess", speaker="Actor_15", emotion="neutral", root=corpora_root)[0]
    feats = model.analyze_file(source.path)
    own = model.convert_features(feats, ("neutral", "happy"), f0="learned", power="learned")
    cwt = model.convert_features(feats, ("neutral", "happy"), f0="cwt", power="cwt")
    default = model.convert_features(feats, ("neutral", "happy"))
    np.testing.assert_array_equal(default.f0_hz, own.f0_hz)  # the default F0 is the learned prosody's
    np.testing.assert_array_equal(default.log_power, cwt.log_power)  # and the default power the CWT transform's
    np.testing.assert_array_equal(own.f0_hz > 0, feats.f0_hz > 0)  # voicing kept
    assert not np.allclose(own.f0_hz, cwt.f0_hz) and not np.allclose(own.log_power, cwt.log_power)
    np.testing.assert_array_equal(own.mcep, cwt.mcep)  # the spectrum does not depend on the prosody method
    # the learned prosody predicted exactly what the predictor gives for the word
    expected_f0, expected_power = converter.prosody_net.predict(feats, "neutral", "happy")
    np.testing.assert_allclose(own.f0_hz, expected_f0)
    np.testing.assert_allclose(own.log_power, expected_power)
    # the strength option reaches it: the register of strong takes
    strong = model.convert_features(feats, ("neutral", "happy"), strength=1.0)
    np.testing.assert_allclose(strong.f0_hz, converter.prosody_net.predict(feats, "neutral", "happy", strength=1.0)[0])
    assert not np.allclose(strong.f0_hz, own.f0_hz)
    with pytest.raises(ParameterError, match="strength must be in"):
        model.convert_features(feats, ("neutral", "happy"), strength=2.0)
    with pytest.raises(ParameterError, match="strength is the learned prosody's"):  # nothing would read it
        model.convert_features(feats, ("neutral", "happy"), f0="cwt", power="cwt", strength=1.0)
    # a word with too few voiced frames gets the CWT transform instead of failing
    silent = feats.replace(f0_hz=np.where(np.arange(feats.n_frames) == 40, 150.0, 0.0))
    assert np.all(np.isfinite(model.convert_features(silent, ("neutral", "happy"), power="learned").log_power))


def test_a_second_run_needs_overwrite_and_a_model_without_speakers_is_refused(learned, smoke_stargan, tmp_path,
                                                                              capsys):
    folder, _ = learned
    before = (folder / WEIGHTS_FILE).read_bytes()
    with pytest.raises(ParameterError, match="already has a learned prosody"):
        add_learned_prosody(folder, ContourConfig().smoke())
    assert (folder / WEIGHTS_FILE).read_bytes() == before
    with pytest.raises(SystemExit) as exit_info:
        main([str(folder), "--smoke"])
    assert exit_info.value.code == 1 and "already has a learned prosody" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "nothing"), "--smoke"])
    assert exit_info.value.code == 1 and "nothing" in capsys.readouterr().err


def test_emocore_convert_strength_reaches_the_learned_prosody(learned, corpora_root, tmp_path, capsys):
    from emocore import cli
    from emocore.dsp import audio

    actor = list_utterances("ravdess", speaker="Actor_15", emotion="neutral", root=corpora_root)[0].path
    argv = ["--model_dir", str(learned[0]), "--target-emotion", "angry", "--quiet", str(actor)]
    for strength in ("0", "1"):
        assert cli.convert_main([*argv, "-o", str(tmp_path / f"s{strength}.wav"), "--strength", strength]) == 0
    normal, strong = (audio.load_wav(tmp_path / f"s{s}.wav", 16000) for s in "01")
    assert normal.shape == strong.shape and not np.allclose(normal, strong, atol=1e-3)
    capsys.readouterr()
    assert cli.convert_main([*argv, "-o", str(tmp_path / "cwt.wav"), "--strength", "1", "--f0-method", "cwt"]) == 1
    assert "strength is the learned prosody's" in capsys.readouterr().err
    assert not (tmp_path / "cwt.wav").exists()


def test_the_command_refuses_bad_settings_as_usage_errors(learned, capsys):
    folder, _ = learned
    for argv in (["--steps", "0"], ["--jobs", "-1"], ["--smoke", "--steps", "5"]):
        with pytest.raises(SystemExit) as exit_info:
            main([str(folder), "--overwrite", *argv])
        assert exit_info.value.code == 2, argv
    assert "--smoke sets its own steps" in capsys.readouterr().err


def test_overwrite_repairs_a_damaged_learned_prosody_and_remeasuring_leaves_it_alone(learned, corpora_root, tmp_path):
    from emocore.exceptions import ModelFolderError
    from emocore.pretrained import remeasure_speakers

    folder = tmp_path / "model"
    shutil.copytree(learned[0], folder)
    (folder / WEIGHTS_FILE).write_bytes((folder / WEIGHTS_FILE).read_bytes()[:100])  # a run killed mid-write
    with pytest.raises(ModelFolderError, match=WEIGHTS_FILE):
        ConversionModel.load(folder)
    with pytest.raises(ParameterError, match="words the model did"):  # fewer words than the model trained on
        add_learned_prosody(folder, ContourConfig().smoke(), overwrite=True, processed_dir=tmp_path / "processed",
                            corpora_root=corpora_root, max_utterances=2, progress=False)
    add_learned_prosody(folder, ContourConfig().smoke(), overwrite=True, processed_dir=tmp_path / "processed",
                        corpora_root=corpora_root, max_utterances=3, progress=False)
    assert ConversionModel.load(folder).converter.prosody_net is not None
    before = (folder / WEIGHTS_FILE).read_bytes()
    remeasure_speakers(folder, processed_dir=tmp_path / "processed", corpora_root=corpora_root, n_jobs=1,
                       max_utterances=3)
    assert (folder / WEIGHTS_FILE).read_bytes() == before  # speakers.json rewritten, the learned prosody not
    assert ConversionModel.load(folder).converter.prosody_net is not None


def test_export_stores_the_learned_prosody_in_float16_and_it_converts_alike(learned, corpora_root, tmp_path):
    import h5py

    from emocore.pretrained import export_pretrained

    folder, _ = learned
    out = export_pretrained(folder, "smoke-learned", tmp_path)
    with h5py.File(out / WEIGHTS_FILE) as weights:
        arrays = []
        weights.visititems(lambda _, item: arrays.append(item) if isinstance(item, h5py.Dataset) else None)
        assert {str(a.dtype) for a in arrays if a.size > 1} == {"float16"}
    source = list_utterances("ravdess", speaker="Actor_15", emotion="neutral", root=corpora_root)[0]
    original, exported = ConversionModel.load(folder), ConversionModel.load(out)
    feats = original.analyze_file(source.path)
    a, b = (m.convert_features(feats, ("neutral", "sad"), f0="learned", mcep=False) for m in (original, exported))
    voiced = feats.f0_hz > 0
    np.testing.assert_allclose(np.log(b.f0_hz[voiced]), np.log(a.f0_hz[voiced]), atol=0.01)  # float16 rounding


def test_batches_mask_the_silence_out_of_the_power_and_unvoiced_targets_out_of_the_f0(rng):
    from emocore.training.contour import contour_batch

    cfg = replace(ContourConfig().smoke(), n_mcep=4, crop_frames=128)
    pair = _pairs(rng, cfg, n=1)[0]
    inputs = pair.inputs.copy()
    inputs[:30, 1] = 0.0  # the first 30 frames: silence in the source
    targets = pair.targets.copy()
    targets[60:, 2] = 0.0  # the aligned target unvoiced from frame 60
    pair = ContourPair(inputs, targets, 0, 2, "tess", "s")
    (x, cond), y = contour_batch([pair], np.array([0]), cfg, 4, rng)
    np.testing.assert_array_equal(y[0, :90, 3], np.arange(90) >= 30)  # power: the source's voiced frames
    np.testing.assert_array_equal(y[0, :90, 2], (np.arange(90) >= 30) & (np.arange(90) < 60))  # F0: voiced in both
    assert not y[0, 90:].any() and not x[0, 90:].any()  # padding beyond the word
    np.testing.assert_array_equal(cond[0], [1, 0, 0, 0, 0, 0, 1, 0, 0])  # neutral -> happy, a normal take
    (_, cond), _ = contour_batch([replace(pair, strong=True)], np.array([0]), cfg, 4, rng)
    np.testing.assert_array_equal(cond[0], [1, 0, 0, 0, 0, 0, 1, 0, 1])  # a strong take
