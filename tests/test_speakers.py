"""Tests of emocore.data.speakers: speakers prepared, normalized by their own neutral voice and pooled per emotion."""

from __future__ import annotations

import numpy as np
import pytest

from emocore.config import FeatureConfig
from emocore.data.extraction import summary_table
from emocore.data.speakers import (
    HELD_OUT_ACTORS,
    Speaker,
    default_speakers,
    parse_speakers,
    pooled_domain,
    prepare_emotions,
    prepare_speakers,
    speakers_tag,
)
from emocore.exceptions import ParameterError


def test_default_speakers_leave_the_held_out_actors_out():
    speakers = default_speakers()
    names = [str(s) for s in speakers]
    assert names[:2] == ["tess:OAF", "tess:YAF"] and len(names) == 2 + 16 - len(HELD_OUT_ACTORS)
    assert not {f"ravdess:{a}" for a in HELD_OUT_ACTORS} & set(names)
    genders = {int(a[-2:]) % 2 for a in HELD_OUT_ACTORS}  # odd ids are men, even ids women
    assert genders == {0, 1}


def test_speaker_parse():
    assert Speaker.parse("ravdess:Actor_03") == Speaker("ravdess", "Actor_03")
    for bad in ("OAF", "tess:", ":OAF"):
        with pytest.raises(ParameterError, match="corpus:name"):
            Speaker.parse(bad)
    assert pooled_domain([Speaker("tess", "OAF"), Speaker("ravdess", "Actor_01")], "sad").name == "ravdess+tess-sad"


def test_speakers_tag_names_a_set_of_speakers_for_a_folder():
    assert speakers_tag(default_speakers()) == "default" == speakers_tag(default_speakers()[::-1])
    assert speakers_tag([Speaker("tess", "OAF"), Speaker("ravdess", "Actor_01")]) == "Actor_01+OAF"
    many = default_speakers()[:5]
    assert speakers_tag(many).startswith("5speakers-") and speakers_tag(many) != speakers_tag(default_speakers()[1:6])


def test_parse_speakers():
    assert parse_speakers(["default"]) == default_speakers() == parse_speakers("default")
    assert parse_speakers(["tess:OAF", "ravdess:Actor_02"]) == [Speaker("tess", "OAF"), Speaker("ravdess", "Actor_02")]
    with pytest.raises(ParameterError, match="no speaker"):
        parse_speakers([])
    with pytest.raises(ParameterError, match="corpus:name"):
        parse_speakers(["default", "OAF"])


@pytest.mark.real_data
def test_prepare_emotions_gives_one_speakers_domains_or_many_speakers_pooled(tmp_path, corpora_root):
    cfg = FeatureConfig().smoke()
    one = prepare_emotions([Speaker("tess", "OAF")], ["neutral", "sad"], cfg, tmp_path, max_utterances=3,
                           corpora_root=corpora_root, n_jobs=1, progress=False)
    assert [d.name for d in one] == ["tess-OAF-neutral", "tess-OAF-sad"]
    assert all(d.speaker_norm is None and d.sample_weights is None for d in one)
    many = prepare_emotions([Speaker("tess", "OAF"), Speaker("tess", "YAF")], ["neutral", "sad"], cfg, tmp_path,
                            max_utterances=3, corpora_root=corpora_root, n_jobs=1, progress=False)
    assert [d.name for d in many] == ["tess-neutral", "tess-sad"]
    assert all(d.speaker_norm is not None for d in many)
    assert {u.speaker for u, _ in many[1].train} == {"OAF", "YAF"}
    # pooled rows describe the recordings as extracted (in Hz), not the speaker-normalized features
    table = summary_table({d.name: d for d in one + many}).set_index("domain")
    assert table.loc["tess-sad", "speakers"] == 2 and table.loc["tess-OAF-sad", "speakers"] == 1
    assert table["f0_geomean_hz"].between(100, 400).all()
    assert table.loc["tess-neutral", "train"] == table.loc["tess-OAF-neutral", "train"] * 2
    with pytest.raises(ParameterError, match="no speaker"):
        prepare_emotions([], ["neutral", "sad"], cfg, tmp_path)


@pytest.mark.real_data
def test_crops_can_be_balanced_over_corpora_and_over_speakers_within_them(tmp_path, corpora_root):
    speakers = [Speaker("tess", "OAF"), Speaker("tess", "YAF"), Speaker("ravdess", "Actor_01")]

    def shares(balance: str) -> dict[str, float]:
        data = prepare_speakers(speakers, ["neutral", "sad"], FeatureConfig().smoke(), tmp_path, max_utterances=3,
                                corpora_root=corpora_root, n_jobs=1, balance=balance, progress=False)
        sad = data.emotions[1]
        assert sad.balance == balance
        total = sum(sad.sample_weights)
        return {key: sum(w for (u, _), w in zip(sad.train, sad.sample_weights) if f"{u.corpus}:{u.speaker}" == key)
                / total for key in map(str, speakers)}

    assert shares("speaker") == pytest.approx({"tess:OAF": 1 / 3, "tess:YAF": 1 / 3, "ravdess:Actor_01": 1 / 3})
    assert shares("corpus") == pytest.approx({"tess:OAF": 1 / 4, "tess:YAF": 1 / 4, "ravdess:Actor_01": 1 / 2})
    with pytest.raises(ParameterError, match="balance must be one of speaker, corpus"):
        prepare_speakers(speakers, ["neutral", "sad"], FeatureConfig().smoke(), tmp_path, balance="actor")


def test_pooled_emotions_give_every_speaker_the_same_share(smoke_stargan):
    data = smoke_stargan[2]
    assert [d.domain.emotion for d in data.emotions] == ["neutral", "angry", "happy", "sad"]
    for pooled in data.emotions:
        share = {}
        for (utt, _), weight in zip(pooled.train, pooled.sample_weights):
            key = f"{utt.corpus}:{utt.speaker}"
            share[key] = share.get(key, 0.0) + weight
        assert share == pytest.approx({"tess:OAF": 1.0, "ravdess:Actor_01": 1.0})


def test_each_speaker_is_normalized_by_their_own_neutral_voice(smoke_stargan):
    data = smoke_stargan[2]
    neutral = data.emotions[0]
    normalized = neutral.network_features("train")
    for key in ("tess:OAF", "ravdess:Actor_01"):
        frames = np.concatenate([f.mcep for (u, _), f in zip(neutral.train, normalized)
                                 if f"{u.corpus}:{u.speaker}" == key])
        np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-8)
        np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-8)
    # the pairs themselves stay as extracted (validation conversions start from a user's kind of input)
    utt, feats = neutral.train[0]
    assert feats is data.per_speaker[f"{utt.corpus}:{utt.speaker}"]["neutral"].train[0][1]
    # the pooled statistics are those of the normalized features, what the networks see
    np.testing.assert_allclose(neutral.stats.mcep.mean, np.concatenate([f.mcep for f in normalized]).mean(axis=0))


def test_tess_holds_out_the_per_pair_models_words_and_ravdess_trains_on_both_sentences(smoke_stargan):
    from emocore.evaluation.judge import corpus_held_out_text_ids

    data = smoke_stargan[2]
    oaf, actor = data.per_speaker["tess:OAF"]["neutral"], data.per_speaker["ravdess:Actor_01"]["neutral"]
    assert {u.text_id for u, _ in oaf.validation} <= corpus_held_out_text_ids("tess")
    assert not {u.text_id for u, _ in oaf.train} & corpus_held_out_text_ids("tess")
    assert actor.validation == []


def test_prepare_speakers_needs_the_reference_emotion(tmp_path):
    with pytest.raises(ParameterError, match="reference 'neutral'"):
        prepare_speakers([Speaker("tess", "OAF")], ["angry", "sad"], FeatureConfig().smoke(), tmp_path)
