"""Tests of emocore.record: the run record of a model folder, its schema versions and its one reader and writer."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from emocore import pretrained
from emocore.config import FeatureConfig, ModelConfig, MunitConfig, TrainConfig
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.record import (
    SCHEMA_VERSION,
    EmotionEntry,
    RunRecord,
    find_emotion,
    read_record,
    stats_file_name,
    upgrade,
    write_record,
)

SHIPPED = pretrained.list_pretrained()


def _record(**changes) -> RunRecord:
    values = dict(model_type="munit", feature=FeatureConfig().smoke(), model=ModelConfig().smoke(),
                  emotions=(EmotionEntry("tess-OAF-neutral", stats_file_name("tess-OAF-neutral"), emotion="neutral",
                                         corpus="tess", speaker="OAF", validation_text_ids=("far", "gin")),
                            EmotionEntry("tess-OAF-angry", stats_file_name("tess-OAF-angry"), emotion="angry",
                                         corpus="tess", speaker="OAF")),
                  options=dataclasses.asdict(MunitConfig().smoke()), train=TrainConfig().smoke(), model_name="m",
                  classifier_classes=("tess-OAF-neutral", "tess-OAF-angry"), training={"status": "complete"})
    return RunRecord(**{**values, **changes})


def test_a_record_is_written_and_read_back_unchanged(tmp_path):
    record = _record()
    path = write_record(tmp_path, record)
    assert path == tmp_path / "config.json"
    values = json.loads(path.read_text())
    assert values["schema_version"] == SCHEMA_VERSION and values["emotions"][1]["stats_file"] == "stats-tess-OAF-angry.json"
    assert "pretrained" not in values and "fingerprint" not in values  # None entries are left out
    assert read_record(tmp_path) == record == read_record(path)


SCHEMA_1 = [m for m in SHIPPED if "schema_version" not in json.loads((m.path / "config.json").read_text())]


def test_the_per_pair_models_stay_schema_1_and_newer_ones_are_schema_2():
    assert len(SCHEMA_1) == 5  # the five per-pair models shipped before the run record existed
    for model in SHIPPED:
        if model not in SCHEMA_1:
            assert read_record(model.path).schema_version == SCHEMA_VERSION


@pytest.mark.parametrize("model", SCHEMA_1, ids=[m.name for m in SCHEMA_1])
def test_each_shipped_record_of_schema_1_is_upgraded(model):
    values = json.loads((model.path / "config.json").read_text())
    assert "schema_version" not in values  # shipped before the run record existed; the files stay as they are
    record = read_record(model.path)
    assert record.model_type == values["model_type"] and record.emotion_names == (values["domain_a"], values["domain_b"])
    assert record.stats_files == ("stats_a.json", "stats_b.json")
    assert record.emotions[0].validation_text_ids == tuple(values["domains"]["a"]["validation_text_ids"])
    assert record.emotions[1].emotion == values["domains"]["b"]["emotion"]
    assert record.options == values.get("munit")  # EmoMUNIT's settings: 'munit' in schema 1, 'options' now
    assert record.fingerprint == values["fingerprint"] and record.pretrained == values["pretrained"]
    assert record.train == TrainConfig(**values["train"]) and record.training == values["training"]
    assert upgrade(values) != values and "domains" in values  # upgrade works on a copy


def test_upgrade_moves_contrast_emotions_and_refuses_newer_schemas():
    v1 = {"model_type": "cyclegan", "feature": {}, "model": {}, "domain_a": "x", "domain_b": "y",
          "domains": {"a": {"name": "x", "emotion": "neutral"}, "b": {"name": "y"}, "contrast": [{"name": "z"}]}}
    v2 = upgrade(v1)
    assert [e["name"] for e in v2["emotions"]] == ["x", "y"] and v2["contrast"] == [{"name": "z", "stats_file": ""}]
    assert RunRecord.from_dict(v1).contrast == (EmotionEntry("z"),)
    with pytest.raises(ParameterError, match="newer emocore"):
        upgrade({**v2, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(ParameterError, match="domains.a"):
        upgrade({"model_type": "cyclegan"})


def test_read_record_names_the_file_of_a_bad_record(tmp_path):
    path = write_record(tmp_path, _record())
    values = json.loads(path.read_text())
    for broken, says in (({**values, "schema_version": 99}, "newer emocore"),
                         ({**values, "feature": {"sr": 100}}, "sr must be at least 8000"),
                         ({k: v for k, v in values.items() if k != "model"}, "lacks the key 'model'"),
                         ({**values, "emotions": values["emotions"][:1]}, "at least 2 emotions")):
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFolderError, match=says) as caught:
            read_record(tmp_path)
        assert caught.value.path == str(path)


def test_emotions_are_found_by_label_name_or_index():
    record = _record()
    assert record.emotion_index("angry") == 1 == record.emotion_index("tess-OAF-angry") == record.emotion_index(1)
    assert record.emotion_index("Neutral") == 0
    with pytest.raises(ParameterError, match="no emotion 'happy'; it has neutral \\(tess-OAF-neutral\\), angry"):
        record.emotion_index("happy")
    with pytest.raises(ParameterError, match="no emotion 2"):
        record.emotion_index(2)
    two_speakers = (EmotionEntry("tess-OAF-angry", emotion="angry"), EmotionEntry("tess-YAF-angry", emotion="angry"))
    with pytest.raises(ParameterError, match="ambiguous.*tess-OAF-angry, tess-YAF-angry"):
        find_emotion(two_speakers, "angry")
    assert find_emotion(two_speakers, "tess-YAF-angry") == 1
    with pytest.raises(ParameterError, match="must differ"):
        _record(emotions=(two_speakers[0], two_speakers[0]))


def test_stats_file_names_are_safe_file_names():
    assert stats_file_name("tess-OAF-neutral") == "stats-tess-OAF-neutral.json"
    assert stats_file_name("../my voice/calm") == "stats-my_voice_calm.json"
    assert Path(stats_file_name("a/b")).name == stats_file_name("a/b")
