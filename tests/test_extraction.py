import shutil

import numpy as np
import pytest
import soundfile as sf

from emocore import config
from emocore.data import extraction
from emocore.data.datasets import Domain


@pytest.fixture
def wav_dir(tmp_path, tone):
    folder = tmp_path / "wavs"
    folder.mkdir()
    for i, gain in enumerate([0.3, 0.5, 0.7]):
        sf.write(str(folder / f"tone{i}.wav"), tone * gain, 16000)
    return folder


def test_cache_keyed_by_content_and_config(tmp_path, wav_dir):
    cfg = config.FeatureConfig(f0_method="dio")
    cache = tmp_path / "cache"
    first = extraction.extract_file(wav_dir / "tone0.wav", cfg, cache)
    entries = list(cache.rglob("*.npz"))
    assert len(entries) == 1
    # a renamed copy hits the same entry (content key) ...
    shutil.copy(wav_dir / "tone0.wav", tmp_path / "renamed.wav")
    again = extraction.extract_file(tmp_path / "renamed.wav", cfg, cache)
    np.testing.assert_array_equal(first.mcep, again.mcep)
    assert len(list(cache.rglob("*.npz"))) == 1
    # ... a changed config misses
    extraction.extract_file(wav_dir / "tone0.wav", config.FeatureConfig(f0_method="dio", mcep_dim=36), cache)
    assert len(list(cache.rglob("*.npz"))) == 2
    # a cache hit returns what is stored, without recomputing: overwrite the entry and observe it
    stored = entries[0]
    doctored = first.replace(mcep=first.mcep + 1.0)
    doctored.save(stored)
    np.testing.assert_array_equal(extraction.extract_file(wav_dir / "tone0.wav", cfg, cache).mcep, first.mcep + 1.0)
    # a damaged entry is recomputed
    stored.write_bytes(b"not an npz")
    np.testing.assert_array_equal(extraction.extract_file(wav_dir / "tone0.wav", cfg, cache).mcep, first.mcep)


def test_config_key_is_readable_and_distinct():
    a = extraction.config_key(config.FeatureConfig())
    b = extraction.config_key(config.FeatureConfig(mcep_dim=36))
    assert a.startswith("harvest-world24-16k-") and a != b


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_extract_many_skips_bad_files_and_keeps_order(tmp_path, wav_dir, n_jobs):
    (wav_dir / "broken.wav").write_bytes(b"garbage")
    sf.write(str(wav_dir / "silent.wav"), np.zeros(16000), 16000)
    paths = sorted(wav_dir.glob("*.wav")) + [tmp_path / "missing.wav"]
    results, failures = extraction.extract_many(paths, config.FeatureConfig(f0_method="dio"), tmp_path / "c",
                                                n_jobs=n_jobs, progress=False)
    assert list(results) == [str(p) for p in paths if p.name.startswith("tone")]
    reasons = {f.path.rsplit("/", 1)[-1]: f.reason for f in failures}
    assert set(reasons) == {"broken.wav", "silent.wav", "missing.wav"}
    assert "silent" in reasons["silent.wav"] and "no such file" in reasons["missing.wav"]


@pytest.mark.real_data
def test_prepare_domains_on_real_tess(tmp_path, corpora_root):
    cfg = config.FeatureConfig(f0_method="dio")
    domains = [Domain("tess", "OAF", "neutral"), Domain("tess", "OAF", "angry")]
    prepared = extraction.prepare_domains(domains, cfg, tmp_path, val_fraction=0.1, max_utterances=4,
                                          n_jobs=2, progress=False)
    neutral, angry = prepared["tess-OAF-neutral"], prepared["tess-OAF-angry"]
    assert len(neutral.train) == 4 and len(neutral.validation) == 4
    val_words = {u.text_id for u, _ in neutral.validation}
    assert not val_words & {u.text_id for u, _ in neutral.train}
    assert not val_words & {u.text_id for u, _ in angry.train}
    # real acted anger is higher pitched and louder than neutral speech for this speaker
    assert angry.stats.log_f0.mean > neutral.stats.log_f0.mean
    assert angry.stats.log_power.mean > neutral.stats.log_power.mean
    written = tmp_path / extraction.config_key(cfg)
    assert (written / "stats" / "tess-OAF-angry.json").is_file()
    assert (written / "splits" / "tess-OAF-neutral.json").is_file()
    assert (written / "feature_config.json").is_file()


@pytest.mark.real_data
def test_tables_on_real_tess(tmp_path, corpora_root):
    domains = [Domain("tess", "YAF", "neutral"), Domain("tess", "YAF", "sad")]
    prepared = extraction.prepare_domains(domains, config.FeatureConfig(f0_method="dio"), tmp_path,
                                          max_utterances=3, n_jobs=1, progress=False)
    summary = extraction.summary_table(prepared)
    assert list(summary["domain"]) == ["tess-YAF-neutral", "tess-YAF-sad"]
    assert (summary["train"] == 3).all() and (summary["f0_geomean_hz"].between(100, 400)).all()
    frames = extraction.voiced_frames_table(prepared)
    assert set(frames["emotion"]) == {"neutral", "sad"}
    n_voiced = sum(int(f.voiced.sum()) for _, f in prepared["tess-YAF-sad"].train)
    assert (frames["domain"] == "tess-YAF-sad").sum() == n_voiced
    shared = extraction.shared_text_ids(prepared)
    assert shared, "the same words are recorded in every emotion"
    utt, feats = extraction.features_of_text(prepared["tess-YAF-sad"], shared[0])
    assert utt.text_id == shared[0] and utt.emotion == "sad"
    with pytest.raises(KeyError):
        extraction.features_of_text(prepared["tess-YAF-sad"], "no-such-word")
    assert extraction.features_of_text(prepared["tess-YAF-sad"], shared[0], speaker="YAF")[0] is utt
    with pytest.raises(KeyError, match="by OAF"):
        extraction.features_of_text(prepared["tess-YAF-sad"], shared[0], speaker="OAF")
