"""Tests for emocore.evaluation.judge: feature families, cross-validation by speaker, speaker-independent judges.

The eGeMAPS corpus judge itself is tested in ``test_evaluation.py`` with the rest of the evaluation suite.
Corpus-free tests use synthetic tones; ``real_data`` tests use TESS (a log-mel judge of four emotions on 10
training words) and RAVDESS (judges that never heard some actors), with feature caches in a temporary folder.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone

from emocore import evaluation, paths
from emocore.data import datasets
from emocore.evaluation import judge as judge_module
from emocore.evaluation.judge import _pipeline
from emocore.exceptions import DatasetError, ParameterError

EMOTIONS = ("neutral", "angry", "happy", "sad")
HELD_OUT = ("Actor_13", "Actor_14")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("judge-cache")


@pytest.fixture(scope="module")
def logmel_judge(corpora_root, cache):
    pytest.importorskip("sklearn")
    return evaluation.train_corpus_judge("tess", EMOTIONS, max_train_texts=10, features="logmel", root=corpora_root,
                                         cache_dir=cache, cv_folds=2, logistic_c=(0.1, 1.0), svm_c=(10.0,))


@pytest.fixture(scope="module")
def speaker_independent_judge(corpora_root, cache):
    """Log-mel, neutral vs angry, trained on every RAVDESS actor but two."""
    pytest.importorskip("sklearn")
    if not (corpora_root / "ravdess").is_dir():
        pytest.skip("RAVDESS not found")
    return evaluation.train_speaker_independent_judge(
        "ravdess", ("neutral", "angry"), held_out_speakers=HELD_OUT, features="logmel", root=corpora_root,
        cache_dir=cache, cv_folds=3, logistic_c=(1.0,), svm_c=(10.0,))


def _tone_utterances(folder, speakers=("s1", "s2", "s3"), words=("w1", "w2", "w3")) -> list[datasets.Utterance]:
    """Synthetic recordings: "angry" tones are high and fast-vibrato, "neutral" ones low; each speaker a bit apart."""
    utts = []
    for k, speaker in enumerate(speakers):
        for emotion, f0_hz, vibrato_hz in (("neutral", 110.0, 3.0), ("angry", 260.0, 7.0)):
            for j, word in enumerate(words):
                path = folder / f"{speaker}_{word}_{emotion}.wav"
                sf.write(str(path), harmonic_tone(f0_hz * (1 + 0.05 * k + 0.02 * j), vibrato_hz=vibrato_hz), SR)
                utts.append(datasets.Utterance(path=path, corpus="dir", speaker=speaker, emotion=emotion,
                                               text_id=word))
    return utts


# ------------------------------------------------------------------------------ feature families, folds


@pytest.mark.parametrize("n_folds", [2, 3])
def test_speaker_folds_never_put_a_speaker_on_both_sides(n_folds):
    speakers = np.repeat([f"Actor_{i:02d}" for i in range(1, 8)], [3, 5, 4, 4, 6, 2, 5])
    splits = judge_module._cv_splits(speakers, n_folds)
    assert len(splits) == n_folds
    for train, test in splits:
        assert not set(speakers[train]) & set(speakers[test])
    assert sorted(np.concatenate([test for _, test in splits])) == list(range(len(speakers)))


def test_judge_grouped_by_speaker_is_scored_on_unheard_speakers(tmp_path):
    pytest.importorskip("sklearn")
    utts = _tone_utterances(tmp_path)
    judge = evaluation.EmotionJudge.train(utts, features="logmel", group_by="speaker", cv_folds=3,
                                          logistic_c=(1.0,), svm_c=())
    folds = judge.metadata["cv_test_groups"]
    assert judge.metadata["cv_grouped_by"] == "speaker" and judge.metadata["cv_folds"] == 3
    assert sorted(s for fold in folds for s in fold) == ["s1", "s2", "s3"]  # each speaker held apart exactly once
    assert judge.metadata["cv"]["logistic C=1"]["mean"] == 1.0  # the tones differ by far more than the speakers
    by_word = evaluation.EmotionJudge.train(utts, features="logmel", cv_folds=3, logistic_c=(1.0,), svm_c=())
    assert by_word.metadata["cv_grouped_by"] == "text_id"
    assert sorted(w for fold in by_word.metadata["cv_test_groups"] for w in fold) == ["w1", "w2", "w3"]
    with pytest.raises(ParameterError, match="two different speakers"):
        evaluation.EmotionJudge.train([u for u in utts if u.speaker == "s1"], features="logmel", group_by="speaker")
    with pytest.raises(ParameterError, match="group_by"):
        evaluation.EmotionJudge.train(utts, features="logmel", group_by="corpus")
    with pytest.raises(ParameterError, match="unknown judge features 'mfcc'"):
        evaluation.EmotionJudge.train(utts, features="mfcc")


def test_judges_saved_before_feature_families_are_egemaps_judges():
    legacy = {"features": "eGeMAPSv02 functionals (openSMILE), 16 kHz", "model": "logistic C=1"}
    assert evaluation.EmotionJudge(None, ("angry",), legacy).features == "egemaps"
    assert evaluation.EmotionJudge(None, ("angry",)).features == "egemaps"
    assert evaluation.EmotionJudge(None, ("angry",)).n_features == evaluation.N_EGEMAPS
    with pytest.raises(ParameterError, match="unknown features 'mfcc'"):
        evaluation.EmotionJudge(None, ("angry",), {"features": "mfcc"})


def test_a_judge_per_family_is_trained_once_beside_the_first_and_loaded_after(tmp_path, monkeypatch):
    trained = []

    def train(corpus, emotions, *, features, **kwargs):  # what train_corpus_judge returns, without the corpus
        trained.append((corpus, features, kwargs.get("max_train_texts")))
        return evaluation.EmotionJudge(None, tuple(emotions), {"features": features})

    monkeypatch.setattr(judge_module, "train_corpus_judge", train)
    path = tmp_path / "tess-neutral_angry.joblib"
    egemaps, logmel = evaluation.load_or_train_judges(path, "tess", ("neutral", "angry"), max_train_texts=6)
    assert (egemaps.features, logmel.features) == ("egemaps", "logmel")
    assert trained == [("tess", "egemaps", 6), ("tess", "logmel", 6)]
    assert path.is_file() and (tmp_path / "tess-neutral_angry-logmel.joblib").is_file()
    again = evaluation.load_or_train_judges(path, "tess", ("neutral", "angry"))
    assert [j.features for j in again] == ["egemaps", "logmel"] and len(trained) == 2  # loaded, not trained
    with pytest.raises(ParameterError, match="each feature family once"):
        evaluation.load_or_train_judges(path, families=("logmel", "logmel"))
    with pytest.raises(ParameterError):  # the file at path holds an eGeMAPS judge
        evaluation.load_or_train_judges(path, families=("logmel",))


def test_default_judge_paths():
    judges = paths.models_dir() / "judges"
    egemaps = judges / "tess-angry_happy_neutral_sad-val0.1-seed0.joblib"  # where judges were always cached
    assert evaluation.default_judge_path("tess", EMOTIONS) == egemaps
    assert evaluation.default_judge_path("tess", EMOTIONS, features="egemaps") == egemaps
    assert evaluation.default_judge_path("tess", EMOTIONS, features="logmel") == (
        judges / "tess-angry_happy_neutral_sad-val0.1-seed0-logmel.joblib")
    assert evaluation.default_speaker_independent_judge_path() == (
        judges / "ravdess-angry_happy_neutral_sad-without-Actor_13+Actor_14+Actor_15+Actor_16.joblib")
    assert evaluation.default_speaker_independent_judge_path(
        "ravdess", ("sad", "angry"), ("Actor_14", "Actor_13"), "logmel") == (
        judges / "ravdess-angry_sad-without-Actor_13+Actor_14-logmel.joblib")
    with pytest.raises(ParameterError, match="unknown judge features"):
        evaluation.default_judge_path("tess", EMOTIONS, features="mfcc")


@pytest.mark.parametrize("features", ["egemaps", "logmel"])
def test_predict_features_and_explain_shift_use_the_judges_feature_count(features):
    from sklearn.linear_model import LogisticRegression

    n = evaluation.FEATURE_FAMILIES[features].n_features
    rng = np.random.default_rng(0)
    labels = np.repeat(["angry", "neutral"], 20)
    x = rng.standard_normal((len(labels), n))
    x[:, 0] += 3 * (labels == "angry")
    judge = evaluation.EmotionJudge(_pipeline(LogisticRegression()).fit(x, labels), ("angry", "neutral"),
                                    {"features": features})
    predicted, scores = judge.predict_features(x)
    assert scores.shape == (len(x), 2) and np.mean(predicted == labels) > 0.8
    names = [f"f{i}" for i in range(n)]
    table = judge.explain_shift(x[labels == "angry"], x[labels == "neutral"], "angry", "neutral", feature_names=names)
    assert len(table) == n and table["feature"].iloc[0] == "f0"
    other = 7 if n != 7 else 8
    with pytest.raises(ParameterError, match=f"{features} rows of {n} features"):
        judge.predict_features(np.zeros((2, other)))
    with pytest.raises(ParameterError, match=f"{features} rows of {n} features"):
        judge.explain_shift(np.zeros((2, other)), np.zeros((2, other)), "angry", "neutral")
    if features == "logmel":  # default names come from the family (eGeMAPS's would need openSMILE)
        table = judge.explain_shift(x[:5], x[-5:], "angry", "neutral")
        assert set(table["feature"]) == set(evaluation.logmel_feature_names())


# ------------------------------------------------------------------------------------ real corpora


@pytest.mark.real_data
def test_logmel_judge_beats_chance_on_held_out_words(logmel_judge, corpora_root):
    held_out = evaluation.corpus_held_out_text_ids("tess", root=corpora_root)
    assert logmel_judge.features == "logmel" and logmel_judge.metadata["n_features"] == evaluation.N_LOGMEL
    assert "librosa" in logmel_judge.metadata["versions"] and "logmel" in repr(logmel_judge)
    assert len(logmel_judge.metadata["train_text_ids"]) == 10
    assert not set(logmel_judge.metadata["train_text_ids"]) & held_out
    ceiling = logmel_judge.ceiling
    assert set(ceiling["text_ids"]) == held_out and ceiling["n"] == 2 * len(EMOTIONS) * len(held_out)
    assert ceiling["accuracy"] >= 0.7  # chance is 0.25
    assert min(ceiling["recall"].values()) >= 0.5


@pytest.mark.real_data
def test_logmel_judge_round_trips_and_refuses_to_pass_for_an_egemaps_judge(logmel_judge, corpora_root, cache,
                                                                          tmp_path):
    held_out = evaluation.corpus_held_out_text_ids("tess", root=corpora_root)
    utts = [u for u in datasets.list_utterances("tess", "YAF", EMOTIONS, root=corpora_root)
            if u.text_id in held_out][::5]
    predicted = logmel_judge.predict(utts, cache_dir=cache)
    path = logmel_judge.save(tmp_path / "judge.joblib")
    loaded = evaluation.EmotionJudge.load(path)
    assert loaded.features == "logmel" and loaded.metadata == logmel_judge.metadata
    assert loaded.predict([u.path for u in utts]) == predicted
    x, errors = loaded.extract_features(utts, cache_dir=cache)
    assert x.shape == (len(utts), evaluation.N_LOGMEL) and errors == [None] * len(utts)
    assert list(loaded.predict_features(x)[0]) == predicted
    assert evaluation.load_or_train_judge(path, features="logmel").metadata == logmel_judge.metadata
    with pytest.raises(ParameterError, match="holds a judge of logmel features, not of egemaps"):
        evaluation.load_or_train_judge(path)


@pytest.mark.real_data
def test_speaker_independent_judge_never_trains_on_the_held_out_actors(speaker_independent_judge, corpora_root):
    judge = speaker_independent_judge
    actors = sorted({u.speaker for u in datasets.list_utterances("ravdess", root=corpora_root)})
    assert judge.metadata["held_out_speakers"] == list(HELD_OUT)
    assert judge.metadata["speakers"] == [a for a in actors if a not in HELD_OUT]
    assert judge.metadata["cv_grouped_by"] == "speaker"
    for fold in judge.metadata["cv_test_groups"]:
        assert not set(fold) & set(HELD_OUT)
    ceiling = judge.ceiling
    assert ceiling["speakers"] == list(HELD_OUT)
    n_held_out = len(datasets.list_utterances("ravdess", list(HELD_OUT), ["neutral", "angry"], root=corpora_root))
    assert ceiling["n"] == n_held_out > 0
    assert ceiling["accuracy"] >= 0.75  # chance is at most 2/3 (twice as many angry as neutral recordings)
    assert "held-out speakers Actor_13, Actor_14" in repr(judge)


@pytest.mark.real_data
def test_speaker_independent_egemaps_judge_on_a_few_actors_is_kept_on_disk(corpora_root, cache, tmp_path):
    pytest.importorskip("opensmile")
    if not (corpora_root / "ravdess").is_dir():
        pytest.skip("RAVDESS not found")
    path = tmp_path / "judge.joblib"
    kwargs = dict(held_out_speakers=("Actor_15",), speakers=("Actor_01", "Actor_02", "Actor_03"), root=corpora_root,
                  cache_dir=cache, cv_folds=3, logistic_c=(1.0,), svm_c=())
    judge = evaluation.load_or_train_speaker_independent_judge(path, "ravdess", ("neutral", "angry"), **kwargs)
    assert path.is_file() and judge.features == "egemaps"
    assert judge.metadata["speakers"] == ["Actor_01", "Actor_02", "Actor_03"]
    assert judge.metadata["held_out_speakers"] == ["Actor_15"] and judge.ceiling["speakers"] == ["Actor_15"]
    assert sorted(judge.metadata["cv_test_groups"]) == [["Actor_01"], ["Actor_02"], ["Actor_03"]]
    again = evaluation.load_or_train_speaker_independent_judge(path, "ravdess", ("neutral", "angry"), **kwargs)
    assert again.metadata == judge.metadata  # read back, not retrained
    with pytest.raises(ParameterError, match="held out"):
        evaluation.load_or_train_speaker_independent_judge(path, "ravdess", ("neutral", "angry"),
                                                           held_out_speakers=("Actor_16",))


@pytest.mark.real_data
def test_speaker_independent_judge_refuses_bad_speakers(corpora_root):
    if not (corpora_root / "ravdess").is_dir():
        pytest.skip("RAVDESS not found")
    with pytest.raises(ParameterError, match="Actor_13 cannot be both"):
        evaluation.train_speaker_independent_judge(held_out_speakers=HELD_OUT, speakers=("Actor_01", "Actor_13"),
                                                   root=corpora_root)
    with pytest.raises(ParameterError, match="at least one held-out speaker"):
        evaluation.train_speaker_independent_judge(held_out_speakers=(), root=corpora_root)
    with pytest.raises(ParameterError, match="cross-validated by speaker"):
        evaluation.train_speaker_independent_judge(held_out_speakers=HELD_OUT, root=corpora_root, group_by="text_id")
    with pytest.raises(DatasetError, match="Actor_99"):
        evaluation.train_speaker_independent_judge(held_out_speakers=("Actor_99",), root=corpora_root)
