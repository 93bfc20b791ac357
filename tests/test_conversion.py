"""Tests of emocore.conversion: the stream switches, lengths, model folders, and converting many files."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile as sf
from conftest import harmonic_tone

from emocore import batch, conversion
from emocore.config import FeatureConfig, ModelConfig
from emocore.dsp import features
from emocore.dsp.prosody import DomainStats
from emocore.evaluation import reference
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.models import layers as models
from emocore.models.cyclegan import GeneratorPair, build_generator
from emocore.record import EmotionEntry, RunRecord

FEATURE_CFG = FeatureConfig().smoke()
MODEL_CFG = ModelConfig().smoke()


@pytest.fixture(scope="module")
def model() -> conversion.ConversionModel:
    feats_a = [features.extract_features(harmonic_tone(140, 0.5) * g, FEATURE_CFG) for g in (0.3, 0.6)]
    feats_b = [features.extract_features(harmonic_tone(230, 0.5) * g, FEATURE_CFG) for g in (0.5, 0.9)]
    keras.utils.set_random_seed(0)
    record = RunRecord(model_type="cyclegan", feature=FEATURE_CFG, model=MODEL_CFG,
                       emotions=(EmotionEntry("calm", "stats-calm.json"), EmotionEntry("loud", "stats-loud.json")))
    return conversion.ConversionModel(FEATURE_CFG, [DomainStats.fit("calm", feats_a), DomainStats.fit("loud", feats_b)],
                                      GeneratorPair(build_generator(MODEL_CFG, "gen_a2b"),
                                                    build_generator(MODEL_CFG, "gen_b2a")), "cyclegan", record=record)


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
    np.testing.assert_array_equal(out.coded_ap, feats.coded_ap)  # a per-pair model always copies the aperiodicity
    assert out.n_frames == feats.n_frames and out.n_samples == feats.n_samples
    if stream == "f0":
        np.testing.assert_array_equal(out.f0_hz > 0, feats.f0_hz > 0)  # unvoiced frames stay unvoiced
        assert np.exp(np.mean(np.log(out.f0_hz[out.f0_hz > 0]))) > 200  # moved toward domain B (230 Hz)


def test_convert_mcep_is_normalize_pad_generate_crop_denormalize(model, source):
    _, feats = source
    mcep = feats.mcep[:203]  # 203 frames: padded to 204 for the generator
    src, tgt = (e.stats for e in model.emotion_pair("A2B"))
    padded, n = models.pad_to_multiple(src.mcep.normalize(mcep).astype(np.float32))
    expected = tgt.mcep.denormalize(np.asarray(model.converter.generators[0, 1](padded[None]))[0, :n])
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
    model.save(tmp_path)
    loaded = conversion.ConversionModel.load(tmp_path)
    assert loaded.model_type == "cyclegan" and loaded.emotion_names == ("calm", "loud")
    assert loaded.feature_cfg == FEATURE_CFG
    mcep = source[1].mcep
    for direction in ("A2B", "B2A"):
        np.testing.assert_allclose(loaded.convert_mcep(mcep, direction), model.convert_mcep(mcep, direction),
                                   rtol=1e-6, atol=1e-6)


def test_load_explains_what_is_missing(model, tmp_path):
    with pytest.raises(ParameterError, match="config.json"):
        conversion.ConversionModel.load(tmp_path)
    model.save(tmp_path)
    (tmp_path / "gen_b2a.weights.h5").unlink()
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(ParameterError, match="gen_b2a.weights.h5.*checkpoint"):
        conversion.ConversionModel.load(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "stargan"}))
    with pytest.raises(ParameterError, match="model_type"):
        conversion.ConversionModel.load(tmp_path)


def test_a_per_pair_model_refuses_streams_it_has_no_statistics_for_before_a_batch(model, source, tmp_path):
    wav, feats = source
    np.testing.assert_array_equal(model.convert_features(feats, "A2B", f0="log-gaussian").f0_hz,
                                  model.convert_features(feats, "A2B").f0_hz)  # its one F0 method, by name
    for switches, message in (({"rhythm": True}, "no rhythm statistics"), ({"f0": "cwt"}, "log-Gaussian transform only"),
                              ({"power": "cwt"}, "log-Gaussian transform only")):
        with pytest.raises(ParameterError, match=message):
            model.convert_features(feats, "A2B", **switches)
        with pytest.raises(ParameterError, match=message):  # refused before the batch: nothing planned or written
            conversion.convert_files(model, [tmp_path / "in.wav"], "A2B", tmp_path / "out", progress=False, **switches)
    assert not (tmp_path / "out").exists()


class _Recorder:
    """A converter that records the stream switches it is handed and the aperiodicity bands it sees, then converts
    as the wrapped one (an older signature: no ``ap`` parameter, so an ``ap`` it is handed lands in ``options``)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def convert(self, feats, source, target, *, f0=True, power=True, mcep=True, **options):
        self.calls.append({"ap": options.pop("ap", "not passed"), "bands": feats.coded_ap.shape[1]})
        return self.inner.convert(feats, source, target, f0=f0, power=power, mcep=mcep, **options)


def test_the_ap_switch_reaches_the_converter_only_when_off(model, source, tmp_path, sr, monkeypatch):
    wav, _ = source
    (inp,) = _inputs(tmp_path / "in", wav, sr, ["word.wav"])
    recorder = _Recorder(model.converter)
    monkeypatch.setattr(model, "converter", recorder)
    conversion.convert_files(model, [inp], "A2B", tmp_path / "on", progress=False)
    conversion.convert_files(model, [inp], "A2B", tmp_path / "off", progress=False, ap=False)
    model.convert_wav(wav, "A2B", ap=False)  # the other wrappers take it among their style options
    assert [c["ap"] for c in recorder.calls] == ["not passed", False, False]  # a converter older than it still works
    # the streams check converts a synthetic word with the model's own number of aperiodicity bands
    monkeypatch.setattr(model, "feature_cfg", FeatureConfig(sr=24000).smoke())
    model.check_streams("A2B", f0="log-gaussian")
    assert recorder.calls[-1]["bands"] == features.n_aperiodicity_bands(model.feature_cfg) == 3


def test_convert_files_skips_bad_files_and_reports_them(model, source, tmp_path, sr):
    wav, _ = source
    inputs = tmp_path / "in"
    inputs.mkdir()
    sf.write(str(inputs / "good.wav"), wav, sr)
    sf.write(str(inputs / "loud.flac"), wav * 0.9, 22050)  # another rate: resampled on loading
    (inputs / "broken.wav").write_bytes(b"RIFF not really")
    sf.write(str(inputs / "silent.wav"), np.zeros(sr), sr)
    files = batch.expand_inputs([inputs / "*.wav", inputs / "loud.flac", tmp_path / "missing.wav"])
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


def test_feature_shift_table_measures_source_converted_target(model):
    from emocore.data.datasets import Utterance

    def utt(text_id, emotion):  # two folders of files, as emocore.data.datasets.list_directory names them
        return Utterance(path=f"/x/{emotion}/{text_id}.wav", corpus="dir", speaker=emotion, emotion=emotion,
                         text_id=text_id)

    low = [(utt(w, "calm"), features.extract_features(harmonic_tone(140, 0.5) * 0.5, FEATURE_CFG)) for w in "ab"]
    high = [(utt("a", "loud"), features.extract_features(harmonic_tone(230, 0.5) * 0.7, FEATURE_CFG))]
    table = reference.feature_shift_table(model, low, high, "A2B")
    assert list(table["text_id"]) == ["a", "a", "a"]  # word "b" has no target recording
    by_version = table.set_index("version")
    assert by_version.loc["target", "mcd_to_target_db"] == 0.0
    # the log-Gaussian F0 transform moves the mean log F0 onto the target domain's
    assert by_version.loc["source", "log_f0_mean"] == pytest.approx(np.log(140), abs=0.03)
    assert by_version.loc["converted", "log_f0_mean"] == pytest.approx(model.stats[1].log_f0.mean, abs=0.03)
    with pytest.raises(ParameterError):
        reference.feature_shift_table(model, low[1:], high, "A2B")


def test_feature_shift_table_pairs_each_source_with_the_same_speakers_target(model):
    from emocore.data.datasets import Utterance

    def utt(speaker, emotion):
        return Utterance(path=f"/x/{speaker}/{emotion}/a.wav", corpus="tess", speaker=speaker, emotion=emotion,
                         text_id="a")

    def tone(hz):
        return features.extract_features(harmonic_tone(hz, 0.5) * 0.5, FEATURE_CFG)

    # a pooled domain: two speakers said word "a"; the low voice's target is its own, not the first listed
    sources = [(utt("low", "calm"), tone(110)), (utt("high", "calm"), tone(220))]
    targets = [(utt("high", "loud"), tone(260)), (utt("low", "loud"), tone(130))]
    table = reference.feature_shift_table(model, sources, targets, "A2B")
    target_f0 = table[table["version"] == "target"].set_index("speaker")["log_f0_mean"]
    assert target_f0["low"] == pytest.approx(np.log(130), abs=0.03)
    assert target_f0["high"] == pytest.approx(np.log(260), abs=0.03)
    with pytest.raises(ParameterError, match="by the same speaker"):  # "other" said "a" in the source emotion only
        reference.feature_shift_table(model, [(utt("other", "calm"), tone(150))], targets, "A2B")


@pytest.mark.parametrize("variant,expected", [
    ("f0", {"f0": True, "power": False, "mcep": False, "ap": False, "rhythm": False}),
    ("mcep+f0", {"f0": True, "power": False, "mcep": True, "ap": False, "rhythm": False}),
    ("F0 + power + mcep", {"f0": True, "power": True, "mcep": True, "ap": False, "rhythm": False}),
    ("none", {"f0": False, "power": False, "mcep": False, "ap": False, "rhythm": False}),
    ("f0=cwt+power+mcep+rhythm", {"f0": "cwt", "power": True, "mcep": True, "ap": False, "rhythm": True}),
    ("f0=contour+mcep", {"f0": "contour", "power": False, "mcep": True, "ap": False, "rhythm": False}),
    ("power=cwt", {"f0": False, "power": "cwt", "mcep": False, "ap": False, "rhythm": False}),
    ("f0=learned+power=cwt+mcep+ap", {"f0": "learned", "power": "cwt", "mcep": True, "ap": True, "rhythm": False}),
])
def test_parse_streams(variant, expected):
    assert conversion.parse_streams(variant) == expected


@pytest.mark.parametrize("variant", ["", "  ", "pitch", "f0+breath", "ap=cwt", "ap+ap", "power=contour", "mcep=cwt", "f0=melody", "f0+f0=cwt", "f0=", "rhythm="])
def test_parse_streams_rejects_unknown(variant):
    with pytest.raises(ParameterError):
        conversion.parse_streams(variant)


# ---------------------------------------------------------------------- never lose a user's audio (issue 12)


def _inputs(folder, wav, sr, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        sf.write(str(folder / name), wav, sr)
    return [folder / name for name in names]


def test_existing_outputs_are_kept_and_a_rerun_continues(model, source, tmp_path, sr):
    wav, _ = source
    files = _inputs(tmp_path / "in", wav, sr, ["a.wav", "b.wav", "c.wav"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.wav").write_bytes(b"my notes, not audio")
    report = conversion.convert_files(model, files, "A2B", out, progress=False)
    assert report.ok and [p.rsplit("/", 1)[-1] for p, _ in report.converted] == ["a.wav", "c.wav"]
    assert [(p.rsplit("/", 1)[-1], why.split()[0]) for p, _, why in report.skipped] == [("b.wav", "exists")]
    assert (out / "b.wav").read_bytes() == b"my notes, not audio"
    again = conversion.convert_files(model, files, "A2B", out, progress=False)
    assert not again.converted and len(again.skipped) == 3
    replaced = conversion.convert_files(model, files, "A2B", out, overwrite=True, progress=False)
    assert len(replaced.converted) == 3 and sf.info(str(out / "b.wav")).frames == len(wav)


def test_converting_into_the_inputs_folder_never_touches_an_input(model, source, tmp_path, sr):
    from emocore.exceptions import OutputError

    wav, _ = source
    [recording] = _inputs(tmp_path / "same", wav, sr, ["rec.wav"])
    before = recording.read_bytes()
    for destination in (recording.parent, recording):
        with pytest.raises(OutputError, match="would replace the input"):
            conversion.convert_files(model, [recording], "A2B", destination, overwrite=True, progress=False)
    assert recording.read_bytes() == before and sorted(p.name for p in recording.parent.iterdir()) == ["rec.wav"]


def test_a_failed_write_leaves_nothing_and_the_batch_goes_on(model, source, tmp_path, sr, monkeypatch):
    import errno

    from emocore import io

    wav, _ = source
    files = _inputs(tmp_path / "in", wav, sr, ["a.wav", "b.wav", "c.wav"])
    real_write = io.write_bytes_atomic

    def refuse_b(path, data):
        if path.name == "b.wav":
            with io.atomic_write(path) as handle:
                handle.write(data[:100])
                raise OSError(errno.EACCES, "Permission denied", str(path))
        return real_write(path, data)

    monkeypatch.setattr(io, "write_bytes_atomic", refuse_b)
    out = tmp_path / "out"
    report = conversion.convert_files(model, files, "A2B", out, progress=False)
    assert [p.rsplit("/", 1)[-1] for p, _ in report.converted] == ["a.wav", "c.wav"]
    assert [(p.rsplit("/", 1)[-1], "Permission denied" in why) for p, why in report.failed] == [("b.wav", True)]
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "c.wav"]  # no partial b.wav, no temporary file


def test_a_full_disk_stops_the_batch_says_what_was_done_and_leaves_no_partial_file(model, source, tmp_path, sr,
                                                                                   small_disk):
    wav, _ = source  # 12,345 samples: a 24.7 kB 16-bit wav
    files = _inputs(tmp_path / "in", wav, sr, ["a.wav", "b.wav", "c.wav", "d.wav"])
    disk = small_disk(64)  # room for two outputs, not three
    report = conversion.convert_files(model, files, "A2B", disk, progress=False, jobs=1)
    assert [p.rsplit("/", 1)[-1] for p, _ in report.converted] == ["a.wav", "b.wav"]
    assert [p.rsplit("/", 1)[-1] for p, _ in report.failed] == ["c.wav"]
    assert [p.rsplit("/", 1)[-1] for p in report.not_attempted] == ["d.wav"]
    assert "disk is full" in report.stopped and not report.ok
    assert sorted(p.name for p in disk.iterdir()) == ["a.wav", "b.wav"]
    for name in ("a.wav", "b.wav"):
        assert sf.info(str(disk / name)).frames == len(wav)


def test_a_full_disk_with_workers_accounts_for_every_input_once(model, source, tmp_path, sr, small_disk):
    # with workers the next file may already be written or failing when a write finds the disk full
    wav, _ = source
    names = ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav", "f.wav"]
    files = _inputs(tmp_path / "in", wav, sr, names)
    disk = small_disk(64)
    report = conversion.convert_files(model, files, "A2B", disk, progress=False, jobs=2)
    converted = [p.rsplit("/", 1)[-1] for p, _ in report.converted]
    failed = [p.rsplit("/", 1)[-1] for p, _ in report.failed]
    untried = [p.rsplit("/", 1)[-1] for p in report.not_attempted]
    assert sorted(converted + failed + untried) == names and len(converted) == 2 and failed
    assert "disk is full" in report.stopped and not report.ok
    assert sorted(p.name for p in disk.iterdir()) == sorted(converted)  # nothing partial, nothing temporary


def test_workers_write_the_same_files_in_the_same_order_as_one_process(model, source, tmp_path, sr):
    wav, _ = source
    names = ["a.wav", "b.wav", "broken.wav", "c.wav", "d.wav"]
    files = _inputs(tmp_path / "in", wav, sr, names)
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF-not-really")
    one = conversion.convert_files(model, files, "A2B", tmp_path / "one", progress=False, jobs=1)
    two = conversion.convert_files(model, files, "A2B", tmp_path / "two", progress=False, jobs=2)
    assert [Path(p).name for p, _ in two.converted] == [Path(p).name for p, _ in one.converted] == [
        "a.wav", "b.wav", "c.wav", "d.wav"]
    assert [Path(p).name for p, _ in two.failed] == ["broken.wav"] and two.failed[0][1] == one.failed[0][1]
    for name in ("a.wav", "b.wav", "c.wav", "d.wav"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_worker_count_uses_every_core_for_a_batch_and_this_process_for_a_few_files(monkeypatch):
    from emocore.exceptions import ParameterError

    monkeypatch.setattr(conversion, "usable_cores", lambda: 8)
    assert conversion.worker_count(None, 100) == 8
    assert conversion.worker_count(None, conversion.MIN_FILES_FOR_WORKERS - 1) == 1
    assert conversion.worker_count(3, 100) == 3 and conversion.worker_count(3, 2) == 2
    assert conversion.worker_count(1, 100) == 1
    with pytest.raises(ParameterError, match="at least 1"):
        conversion.worker_count(0, 10)


def test_another_f0_tracker_analyses_the_inputs_the_model_keeps_its_own(model, source, tmp_path, sr, monkeypatch):
    from dataclasses import replace

    wav, _ = source
    files = _inputs(tmp_path / "in", wav, sr, ["a.wav"])
    trained = model.feature_cfg.f0_method
    other = next(m for m in ("rapt", "harvest") if m != trained)
    monkeypatch.setattr(model, "f0_tracker", None)  # None: the tracker the model was trained with
    assert model.analysis_cfg is model.feature_cfg
    own = model.convert_path(files[0]).wav
    monkeypatch.setattr(model, "f0_tracker", other)
    assert model.analysis_cfg == replace(model.feature_cfg, f0_method=other)
    assert model.feature_cfg.f0_method == trained
    tracked = model.convert_path(files[0]).wav
    assert tracked.shape == own.shape and not np.array_equal(tracked, own)
    monkeypatch.setattr(model, "f0_tracker", "yin")
    with pytest.raises(ParameterError, match="f0_method must be one of"):
        model.analysis_cfg


def test_a_read_only_destination_is_refused_before_any_conversion(model, source, tmp_path, sr, small_disk):
    from emocore.exceptions import OutputError

    wav, _ = source
    files = _inputs(tmp_path / "in", wav, sr, ["a.wav"])
    with pytest.raises(OutputError, match="cannot write there"):
        conversion.convert_files(model, files, "A2B", small_disk(64, read_only=True), progress=False)


# ---------------------------------------------------------------------- damaged or mismatched model folders (issue 12)


@pytest.fixture
def folder(model, tmp_path):
    """An intact CycleGAN model folder, as :meth:`ConversionModel.save` writes it."""
    return model.save(tmp_path / "model")


def _edit_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def _first_half(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _swap(a, b):
    data = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(data)


def test_save_records_a_fingerprint_of_every_file_conversion_reads(folder):
    from emocore.io import file_digest

    digests = json.loads((folder / "config.json").read_text())["fingerprint"]["sha256"]
    assert set(digests) == {"gen_a2b.weights.h5", "gen_b2a.weights.h5", "stats-calm.json", "stats-loud.json"}
    assert all(digests[name] == file_digest(folder / name) for name in digests)
    assert conversion.ConversionModel.load(folder).record.fingerprint == {"sha256": digests}


DAMAGES = {  # case: (damage done to the folder, the file the error names, what it says)
    "config lacks a key": (lambda f: _edit_config(f, lambda c: c.pop("model")), "config.json",
                           "lacks the key 'model'"),
    "config invalid JSON": (lambda f: (f / "config.json").write_text('{"model_type": "cyclegan",'), "config.json",
                            "invalid JSON"),
    "config empty": (lambda f: (f / "config.json").write_text(""), "config.json", "empty"),
    "stats invalid JSON": (lambda f: (f / "stats-loud.json").write_text('{"name": '), "stats-loud.json", "invalid JSON"),
    "stats lack a key": (lambda f: (f / "stats-calm.json").write_text('{"name": "calm"}'), "stats-calm.json",
                         "lacks the key"),
    "empty weights": (lambda f: (f / "gen_a2b.weights.h5").write_bytes(b""), "gen_a2b.weights.h5", "damaged"),
    "truncated weights": (lambda f: _first_half(f / "gen_b2a.weights.h5"), "gen_b2a.weights.h5", "damaged"),
    "width mismatch": (lambda f: _edit_config(f, lambda c: c["model"].update(width=2 * MODEL_CFG.width)),
                       "gen_a2b.weights.h5", "do not fit the network config.json describes"),
    "weights of the other direction": (lambda f: _swap(f / "gen_a2b.weights.h5", f / "gen_b2a.weights.h5"),
                                       "gen_a2b.weights.h5", "SHA-256 differs from the one config.json recorded"),
    "statistics of the other domain": (lambda f: _swap(f / "stats-calm.json", f / "stats-loud.json"), "stats-calm.json",
                                       "holds the statistics of 'loud', config.json says 'calm'"),
}


@pytest.mark.parametrize("case", DAMAGES)
def test_a_damaged_or_mismatched_file_is_named(folder, case):
    damage, name, says = DAMAGES[case]
    damage(folder)
    with pytest.raises(ModelFolderError) as caught:
        conversion.ConversionModel.load(folder)
    assert caught.value.path == str(folder / name) and says in caught.value.reason
    assert str(caught.value).startswith(f"{folder / name}: ") and "restore the model folder" in str(caught.value)
    assert "Traceback" not in str(caught.value) and len(str(caught.value)) < 400


def test_a_folder_without_fingerprint_loads_unchecked_and_save_without_weights_records_none(model, folder):
    _edit_config(folder, lambda c: c.pop("fingerprint"))
    _swap(folder / "gen_a2b.weights.h5", folder / "gen_b2a.weights.h5")
    assert conversion.ConversionModel.load(folder).model_type == "cyclegan"  # as before fingerprints
    model.save(folder, weights=False)  # as training does while it runs: it cannot vouch for the weights
    assert "fingerprint" not in json.loads((folder / "config.json").read_text())


def test_checkpoint_weights_are_checked_against_the_checkpoint_record(folder, tmp_path):
    step = folder / "checkpoints" / "step-00000002"
    step.mkdir(parents=True)
    for name in ("gen_a2b.weights.h5", "gen_b2a.weights.h5"):  # weights other than the final ones: accepted
        (step / name).write_bytes((folder / ("gen_b2a.weights.h5" if "a2b" in name else "gen_a2b.weights.h5"))
                                  .read_bytes())
    assert conversion.ConversionModel.load(folder, checkpoint=step).model_type == "cyclegan"
    record = conversion.fingerprint(step, ["gen_a2b.weights.h5", "gen_b2a.weights.h5"])
    (step / "state.json").write_text(json.dumps({"iteration": 2, "fingerprint": record}))
    assert conversion.ConversionModel.load(folder, checkpoint=step).model_type == "cyclegan"
    _swap(step / "gen_a2b.weights.h5", step / "gen_b2a.weights.h5")
    with pytest.raises(ModelFolderError, match=r"step-00000002/gen_a2b.weights.h5: .*state.json recorded"):
        conversion.ConversionModel.load(folder, checkpoint=step)


def test_an_unfinished_model_names_its_newest_checkpoint_for_python_and_the_command_line(folder):
    (folder / "gen_b2a.weights.h5").unlink()
    for step in ("step-00000002", "step-00000004"):
        (folder / "checkpoints" / step).mkdir(parents=True)
    newest = folder / "checkpoints" / "step-00000004"
    with pytest.raises(ParameterError, match="lacks gen_b2a.weights.h5") as caught:
        conversion.ConversionModel.load(folder)
    assert f"checkpoint={newest} in Python" in str(caught.value)
    assert f"--checkpoint {newest} on the command line" in str(caught.value)


def test_the_report_warns_of_a_truncated_file_and_fails_a_constant_one(model, source, tmp_path, sr):
    wav, _ = source
    inputs = tmp_path / "in"
    inputs.mkdir()
    sf.write(str(inputs / "cut.wav"), wav, sr, subtype="PCM_16")
    data = (inputs / "cut.wav").read_bytes()
    (inputs / "cut.wav").write_bytes(data[: len(data) // 2])  # the header still declares the whole length
    sf.write(str(inputs / "dc.wav"), np.full(sr, 0.3), sr)
    report = conversion.convert_files(model, sorted(inputs.iterdir()), "A2B", tmp_path / "out", progress=False)
    assert [p.rsplit("/", 1)[-1] for p, _ in report.converted] == ["cut.wav"]
    [(path, note)] = report.notes
    assert path.endswith("cut.wav") and note.startswith("truncated: the header declares 0.77 s")
    [(path, reason)] = report.failed
    assert path.endswith("dc.wav") and "constant" in reason
