"""emocore.data.datasets: listing the corpora, text-disjoint splits and domains.

Tests marked ``real_data`` read the corpora from ``paths.corpora_dir()`` (``$EMOCORE_DATA_DIR``,
else ``../shared/data``) and are skipped where they are absent.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from emocore import paths
from emocore.data import datasets
from emocore.data.corpora import EMOTIONS
from emocore.data.datasets import Domain, Utterance
from emocore.exceptions import DatasetError, ParameterError

TESS_EMOTIONS = {"neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"}


@pytest.fixture(scope="module")
def corpora():
    root = paths.corpora_dir()
    if not ((root / "tess" / "manifest.csv").is_file() and (root / "ravdess" / "manifest.csv").is_file()):
        pytest.skip(f"TESS/RAVDESS not found under {root}; set ${paths.DATA_ENV_VAR}")
    return root


@pytest.fixture(scope="module")
def tess(corpora):
    return datasets.list_utterances("tess", root=corpora)


@pytest.fixture
def fake_corpus(tmp_path):
    """A manifest-less corpus folder with empty files named as in the real corpora."""
    names = {
        "tess/OAF/angry": ["OAF_bar_angry.wav", "OAF_base_angry.flac"],
        "tess/OAF/surprised": ["OAF_bar_ps.wav"],
        "tess/YAF/neutral": ["YAF_bar_neutral.wav", "notes.txt"],
        "ravdess/Actor_02/angry": ["03-01-05-02-01-02-02.wav", "03-01-05-01-02-01-02.wav"],
    }
    for folder, files in names.items():
        (tmp_path / folder).mkdir(parents=True)
        for name in files:
            (tmp_path / folder / name).touch()
    return tmp_path


# --------------------------------------------------------------------------- real corpora


@pytest.mark.real_data
def test_tess_oaf_neutral_has_160_words(corpora):
    utterances = datasets.list_utterances("tess", speaker="OAF", emotion="neutral", root=corpora)
    assert len(utterances) == 160
    assert len({u.text_id for u in utterances}) == 160
    assert all(u.path.is_absolute() and u.path.is_file() for u in utterances[:5])
    assert utterances == sorted(utterances, key=lambda u: u.text_id)
    first = utterances[0]
    assert (first.corpus, first.speaker, first.emotion, first.gender) == ("tess", "OAF", "neutral", "F")
    assert first.text == f"Say the word {first.text_id}."
    assert first.sample_rate and first.duration_s > 0


@pytest.mark.real_data
def test_tess_emotions_and_missing_words(corpora, tess):
    assert set(datasets.list_emotions("tess", speaker="OAF", root=corpora)) == TESS_EMOTIONS
    words = defaultdict(set)
    for u in tess:
        words[u.speaker, u.emotion].add(u.text_id)
    assert "back" not in words["OAF", "angry"] and "back" in words["OAF", "neutral"]
    assert "beg" not in words["YAF", "sad"] and "beg" in words["YAF", "neutral"]
    assert len(tess) == 2238


@pytest.mark.real_data
def test_ravdess_actor_01(corpora):
    utterances = datasets.list_utterances("ravdess", speaker="Actor_01", root=corpora)
    assert len(utterances) == 60
    per_emotion = defaultdict(int)
    for u in utterances:
        per_emotion[u.emotion] += 1
    assert per_emotion == {e: (4 if e == "neutral" else 8) for e in EMOTIONS}
    assert {u.text_id for u in utterances} == {"01", "02"}
    assert {u.gender for u in utterances} == {"M"}
    assert len({u.uid for u in utterances}) == 60


@pytest.mark.real_data
def test_filters_accept_lists(corpora):
    both = datasets.list_utterances(
        "ravdess", speaker=["Actor_01", "Actor_02"], emotion=["calm", "sad"], root=corpora
    )
    assert len(both) == 2 * 16
    assert {(u.speaker, u.emotion) for u in both} == {
        (s, e) for s in ("Actor_01", "Actor_02") for e in ("calm", "sad")
    }


@pytest.mark.real_data
def test_uids_are_unique(corpora, tess):
    ravdess = datasets.list_utterances("ravdess", root=corpora)
    uids = [u.uid for u in tess + ravdess]
    assert len(uids) == len(set(uids))


@pytest.mark.real_data
def test_unknown_speaker_and_emotion_list_what_exists(corpora):
    with pytest.raises(DatasetError, match="OAF, YAF") as err:
        datasets.list_utterances("tess", speaker="MAF", root=corpora)
    assert "'MAF'" in str(err.value)
    with pytest.raises(DatasetError, match="angry"):
        datasets.list_utterances("tess", speaker="OAF", emotion="calm", root=corpora)


@pytest.mark.real_data
def test_split_by_text_on_tess(tess):
    train, val = datasets.split_by_text(tess, val_fraction=0.1, seed=0)
    assert len(train) + len(val) == len(tess)
    train_ids, val_ids = {u.text_id for u in train}, {u.text_id for u in val}
    assert not train_ids & val_ids
    assert len(val_ids) == round(0.1 * 160)
    assert len(val) / len(tess) == pytest.approx(0.1, abs=0.01)

    # deterministic, and independent of the input order
    assert datasets.split_by_text(tess, 0.1, 0) == (train, val)
    assert {u.text_id for u in datasets.split_by_text(tess[::-1], 0.1, 0)[1]} == val_ids

    # the same words are held out for every speaker and emotion
    for speaker in ("OAF", "YAF"):
        for emotion in TESS_EMOTIONS:
            domain = [u for u in tess if (u.speaker, u.emotion) == (speaker, emotion)]
            held_out = {u.text_id for u in val if (u.speaker, u.emotion) == (speaker, emotion)}
            assert held_out == val_ids & {u.text_id for u in domain}
            # splitting one domain alone, with the corpus's texts, picks the same words
            _, alone = datasets.split_by_text(domain, 0.1, 0, text_ids={u.text_id for u in tess})
            assert {u.text_id for u in alone} == held_out

    # two complete domains split on their own agree without being told the corpus's texts
    oaf_neutral = [u for u in tess if (u.speaker, u.emotion) == ("OAF", "neutral")]
    yaf_angry = [u for u in tess if (u.speaker, u.emotion) == ("YAF", "angry")]
    assert (
        {u.text_id for u in datasets.split_by_text(oaf_neutral)[1]}
        == {u.text_id for u in datasets.split_by_text(yaf_angry)[1]}
        == val_ids
    )

    other_seed = {u.text_id for u in datasets.split_by_text(tess, 0.1, seed=1)[1]}
    assert other_seed != val_ids and len(other_seed) == len(val_ids)


@pytest.mark.real_data
def test_split_by_text_on_ravdess_holds_out_one_statement(corpora):
    ravdess = datasets.list_utterances("ravdess", root=corpora)
    train, val = datasets.split_by_text(ravdess, val_fraction=0.1)
    assert len({u.text_id for u in val}) == 1
    assert {u.text_id for u in train} | {u.text_id for u in val} == {"01", "02"}
    assert len(val) == len(ravdess) // 2


@pytest.mark.real_data
def test_scanning_without_manifest_infers_text_ids(corpora, tmp_path):
    picks = {
        "tess/OAF/surprised": datasets.list_utterances("tess", "OAF", "surprised", root=corpora)[0],
        "tess/YAF/fearful": datasets.list_utterances("tess", "YAF", "fearful", root=corpora)[0],
        "ravdess/Actor_03/angry": datasets.list_utterances("ravdess", "Actor_03", "angry", root=corpora)[-1],
    }  # in the order of the listing below
    for folder, u in picks.items():
        (tmp_path / folder).mkdir(parents=True)
        shutil.copy(u.path, tmp_path / folder)
    scanned = datasets.list_utterances("tess", root=tmp_path) + datasets.list_utterances(
        "ravdess", root=tmp_path
    )
    expected = list(picks.values())
    fields = ("corpus", "speaker", "emotion", "text_id", "text", "intensity", "repetition", "gender")
    assert [tuple(getattr(u, f) for f in fields) for u in scanned] == [
        tuple(getattr(u, f) for f in fields) for u in expected
    ]
    assert all(u.path.parent.parent.parent.parent == tmp_path for u in scanned)


@pytest.mark.real_data
def test_domain_from_string(corpora):
    domain = datasets.parse_domain("tess:OAF:neutral")
    assert domain == Domain(corpus="tess", speaker="OAF", emotion="neutral")
    assert domain.name == "tess-OAF-neutral"
    assert len(domain.utterances(root=corpora)) == 160


@pytest.mark.real_data
def test_list_directory_on_copied_files(corpora, tmp_path):
    for u in datasets.list_utterances("tess", "YAF", "happy", root=corpora)[:3]:
        shutil.copy(u.path, tmp_path)
    utterances = datasets.list_directory(tmp_path)
    assert len(utterances) == 3
    assert {(u.corpus, u.speaker, u.emotion) for u in utterances} == {("dir", tmp_path.name, tmp_path.name)}
    assert [u.text_id for u in utterances] == sorted(p.stem for p in tmp_path.iterdir())


# --------------------------------------------------------------------------- synthetic layouts


def test_scan_fallback_on_fake_corpus(fake_corpus):
    tess = datasets.list_utterances("tess", root=fake_corpus)
    assert [u.uid for u in tess] == [
        "tess/OAF/angry/bar",
        "tess/OAF/angry/base",
        "tess/OAF/surprised/bar",
        "tess/YAF/neutral/bar",
    ]
    assert tess[0].path == fake_corpus / "tess" / "OAF" / "angry" / "OAF_bar_angry.wav"
    ravdess = datasets.list_utterances("ravdess", speaker="Actor_02", root=fake_corpus)
    assert [(u.text_id, u.intensity, u.repetition, u.gender) for u in ravdess] == [
        ("01", "strong", "02", "F"),
        ("02", "normal", "01", "F"),
    ]


def test_default_root_comes_from_the_environment(fake_corpus, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(fake_corpus))
    assert len(datasets.list_utterances("tess", speaker="YAF")) == 1


def test_unknown_speaker_on_fake_corpus(fake_corpus):
    with pytest.raises(DatasetError, match="available: OAF, YAF"):
        datasets.list_utterances("tess", speaker=["OAF", "XAF"], root=fake_corpus)
    # a speaker of the full corpus that is not here points at the downloader
    with pytest.raises(DatasetError, match="emocore-download ravdess"):
        datasets.list_utterances("ravdess", speaker="Actor_20", root=fake_corpus)


def test_missing_corpus_points_at_the_downloader(tmp_path):
    with pytest.raises(DatasetError) as err:
        datasets.list_utterances("tess", root=tmp_path)
    assert "emocore-download tess" in str(err.value) and paths.DATA_ENV_VAR in str(err.value)
    (tmp_path / "tess").mkdir()
    with pytest.raises(DatasetError, match="no audio files"):
        datasets.list_utterances("tess", root=tmp_path)


def test_list_directory(tmp_path):
    for name in ("b.wav", "a.flac", "c.AIFF", "readme.txt", ".hidden.wav"):
        (tmp_path / name).touch()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.wav").touch()
    assert [u.text_id for u in datasets.list_directory(tmp_path)] == ["a", "b", "c"]


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_list_directory_missing_or_empty(tmp_path, make):
    (tmp_path / "notes.txt").touch()
    with pytest.raises(DatasetError):
        datasets.list_directory(make(tmp_path))


def test_validation_text_ids_properties():
    words = [f"w{i:03d}" for i in range(200)]
    held_out = datasets.validation_text_ids(words, 0.2, seed=3)
    assert len(held_out) == 40 and held_out <= set(words)
    assert datasets.validation_text_ids(reversed(words + words), 0.2, seed=3) == held_out
    assert datasets.validation_text_ids(words, 0.2, seed=4) != held_out
    assert datasets.validation_text_ids(words, 0.0) == frozenset()
    assert datasets.validation_text_ids(["only"], 0.5) == frozenset()
    assert len(datasets.validation_text_ids(["a", "b"], 0.01)) == 1  # at least one, at most n - 1
    assert len(datasets.validation_text_ids(["a", "b"], 0.99)) == 1


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_validation_fraction_out_of_range(fraction):
    with pytest.raises(ParameterError):
        datasets.validation_text_ids(["a", "b"], fraction)


def test_split_by_text_keeps_input_order():
    utterances = [Utterance(Path(f"/x/{i}.wav"), "dir", "s", "e", text_id=f"t{i % 10}") for i in range(50)]
    train, val = datasets.split_by_text(utterances, 0.3, seed=0)
    assert train == [u for u in utterances if u in train] and val == [u for u in utterances if u in val]
    assert len({u.text_id for u in val}) == 3


def test_parse_domain_forms(tmp_path):
    assert datasets.parse_domain("ravdess:Actor_01") == Domain(corpus="ravdess", speaker="Actor_01")
    assert datasets.parse_domain("tess") == Domain(corpus="tess")
    assert datasets.parse_domain(f"dir:{tmp_path}") == Domain(directory=tmp_path)
    assert datasets.parse_domain(str(tmp_path)).name == tmp_path.name
    for bad in ("tes:OAF:neutral", "tess:OAF:neutral:extra", "tess::neutral"):
        with pytest.raises(ParameterError):
            datasets.parse_domain(bad)


def test_domain_validation(tmp_path):
    with pytest.raises(ParameterError):
        Domain()
    with pytest.raises(ParameterError):
        Domain(corpus="tess", directory=tmp_path)
    with pytest.raises(ParameterError):
        Domain(directory=tmp_path, emotion="angry")
    (tmp_path / "x.wav").touch()
    assert [u.text_id for u in Domain(directory=str(tmp_path)).utterances()] == ["x"]
