"""emocore.data.corpora: emotion names, TESS and RAVDESS file names, and the corpus registry."""

from __future__ import annotations

import pytest

from emocore.data import corpora, download
from emocore.exceptions import DatasetError

# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    "stem, expected",
    [
        ("OAF_back_angry", ("OAF", "back", "angry")),
        ("YAF_bar_ps", ("YAF", "bar", "surprised")),
        ("OAF_bite_fear", ("OAF", "bite", "fearful")),
        ("yaf_bean_disgust", ("YAF", "bean", "disgusted")),
        ("YAF_germ_pleasant_surprise", ("YAF", "germ", "surprised")),
        ("OAF_Bath_Neutral", ("OAF", "bath", "neutral")),
    ],
)
def test_parse_tess_stem(stem, expected):
    info = corpora.parse_tess_stem(stem)
    assert (info["speaker"], info["text_id"], info["emotion"]) == expected


@pytest.mark.parametrize("stem", ["OAF_back", "OAF_back_bored", "hello", "03-01-05-01-01-02-01"])
def test_parse_tess_stem_rejects(stem):
    with pytest.raises(DatasetError):
        corpora.parse_tess_stem(stem)


def test_parse_ravdess_stem():
    info = corpora.parse_ravdess_stem("03-01-08-02-02-01-12")
    assert info == {
        "speaker": "Actor_12",
        "gender": "F",
        "emotion": "surprised",
        "intensity": "strong",
        "text_id": "02",
        "repetition": "01",
        "text": "Dogs are sitting by the door.",
        "channel": "01",
    }
    assert corpora.parse_ravdess_stem("03-01-05-01-01-02-01")["gender"] == "M"


@pytest.mark.parametrize(
    "stem", ["03-01-09-01-01-01-01", "03-01-05-03-01-01-01", "03-01-05-01-01-02", "OAF_a_b"]
)
def test_parse_ravdess_stem_rejects(stem):
    with pytest.raises(DatasetError):
        corpora.parse_ravdess_stem(stem)


def test_normalize_emotion():
    assert [
        corpora.normalize_emotion(x) for x in ("ps", "Fear", "disgust", "Pleasant Surprise", "calm")
    ] == ["surprised", "fearful", "disgusted", "surprised", "calm"]
    with pytest.raises(DatasetError):
        corpora.normalize_emotion("bored")


# --------------------------------------------------------------------------- registry


def test_registry_sources_and_licenses():
    tess, ravdess = corpora.CORPORA["tess"], corpora.CORPORA["ravdess"]
    assert tess.license == "CC BY-NC-ND 4.0" and ravdess.license == "CC BY-NC-SA 4.0"
    assert tess.non_commercial and ravdess.non_commercial
    assert tess.sources[0].persistent_id == "doi:10.5683/SP2/E8H2MF"
    assert "zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip" in ravdess.sources[0].url
    for source in (*tess.sources, *ravdess.sources):
        if source.digest:
            download.parse_digest(source.digest)  # well formed
