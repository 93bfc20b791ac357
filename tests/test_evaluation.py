"""Tests for emocore.evaluation: every metric on a case with a known answer.

Corpus-free tests use the synthetic tone of ``conftest.py``; ``real_data`` tests use TESS (OAF, YAF) with a
small judge (neutral vs angry, 20 training words) and verifier (8 recordings per speaker), built once per module
with their feature caches in a temporary folder.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone

from emocore import cli, evaluation
from emocore.config import FeatureConfig
from emocore.data import datasets
from emocore.dsp import audio, features
from emocore.dsp.features import MeanStd
from emocore.dsp.prosody import DomainStats, LogGaussian
from emocore.dsp.vocoders import MEASURE_CONFIG
from emocore.evaluation.judge import _pipeline
from emocore.evaluation.manifest import _cached_vectors
from emocore.exceptions import AudioError, DatasetError, ParameterError

SEMITONE = 2.0 ** (1.0 / 12.0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("eval-cache")


@pytest.fixture(scope="module")
def judge(corpora_root, cache):
    pytest.importorskip("opensmile")
    pytest.importorskip("sklearn")
    return evaluation.train_corpus_judge("tess", ("neutral", "angry"), max_train_texts=20, root=corpora_root,
                                         cache_dir=cache, logistic_c=(0.1, 1.0), svm_c=(10.0,))


@pytest.fixture(scope="module")
def verifier(corpora_root, cache):
    pytest.importorskip("resemblyzer")
    held_out = evaluation.corpus_held_out_text_ids("tess", root=corpora_root)
    utts = datasets.list_utterances("tess", emotion=["neutral", "angry"], root=corpora_root)
    return evaluation.SpeakerVerifier.build(utts, max_per_speaker=8, exclude_text_ids=held_out, cache_dir=cache)


def _held_out(corpora_root, speaker, emotion, n):
    held_out = evaluation.corpus_held_out_text_ids("tess", root=corpora_root)
    return [u for u in datasets.list_utterances("tess", speaker, emotion, root=corpora_root)
            if u.text_id in held_out][:n]


# ------------------------------------------------------------------------------- reference-based metrics


@pytest.mark.real_data
def test_identical_files_score_zero(tess_file, tmp_path, cache):
    copy = tmp_path / "renamed.flac"
    shutil.copy(tess_file, copy)
    scores = evaluation.reference_metrics(copy, tess_file, cache_dir=cache)
    assert scores["mcd_db"] == 0.0
    assert scores["f0_rmse_hz"] == 0.0
    assert scores["vuv_error"] == 0.0
    assert scores["log_f0_pearson"] == pytest.approx(1.0)


@pytest.mark.parametrize("semitones", [-3, 4])
def test_pitch_shifted_tone_gives_the_analytic_f0_rmse(semitones):
    """A 150 Hz tone (2 % vibrato) against its copy at ``150 * 2**(k/12)`` Hz: RMSE = |ratio - 1| * rms(F0)."""
    ratio = SEMITONE ** semitones
    reference, shifted = harmonic_tone(150.0), harmonic_tone(150.0 * ratio)
    scores = evaluation.compare_to_reference(shifted, reference)
    t = np.arange(SR) / SR
    rms_f0 = 150.0 * math.sqrt(np.mean((1 + 0.02 * np.sin(2 * np.pi * 5.0 * t)) ** 2))
    assert scores["f0_rmse_hz"] == pytest.approx(abs(ratio - 1) * rms_f0, rel=0.05)
    assert scores["log_f0_pearson"] > 0.9  # same vibrato shape, only the key changed


@pytest.mark.real_data
def test_world_pitch_shifted_recording_gives_the_analytic_f0_rmse(tess_file):
    """Real speech re-synthesized by WORLD at F0 and at F0 * 2**(3/12), same envelope and timing."""
    wav = audio.load_wav(tess_file, MEASURE_CONFIG.sr)
    f0_hz, sp, ap = features.world_analyze(wav, MEASURE_CONFIG)
    ratio = SEMITONE ** 3
    base = features.world_synthesize(f0_hz, sp, ap, MEASURE_CONFIG, len(wav))
    shifted = features.world_synthesize(f0_hz * ratio, sp, ap, MEASURE_CONFIG, len(wav))
    scores = evaluation.compare_to_reference(shifted, base)
    f0_base = features.extract_f0(base, MEASURE_CONFIG)[0]
    expected = (ratio - 1) * math.sqrt(np.mean(f0_base[f0_base > 0] ** 2))
    assert scores["f0_rmse_hz"] == pytest.approx(expected, rel=0.15)
    assert scores["log_f0_pearson"] > 0.9
    assert scores["mcd_db"] < 3.0  # same envelope; only harmonic sampling differs


def test_convert_prosody_only_moves_f0_by_the_log_mean_difference(tone):
    """Target log-F0 mean raised by log(2**(4/12)) and equal spread: the output's F0 is the input's times 2**(4/12)."""
    cfg = FeatureConfig().smoke()
    ratio = SEMITONE ** 4
    mcep = MeanStd(mean=np.zeros(cfg.mcep_dim), std=np.ones(cfg.mcep_dim))
    src = DomainStats("a", LogGaussian(math.log(150.0), 0.1, 100), LogGaussian(0.0, 1.0, 100), mcep, 1)
    tgt = DomainStats("b", LogGaussian(math.log(150.0 * ratio), 0.1, 100), LogGaussian(0.0, 1.0, 100), mcep, 1)
    out = evaluation.convert_prosody_only(tone, src, tgt, cfg)
    assert out.shape == tone.shape and np.all(np.isfinite(out))
    f0_in, f0_out = features.extract_f0(tone, cfg)[0], features.extract_f0(out, cfg)[0]
    both = (f0_in > 0) & (f0_out > 0)
    assert np.median(f0_out[both] / f0_in[both]) == pytest.approx(ratio, rel=0.02)


# ------------------------------------------------------------------------------------- speaker identity


@pytest.mark.real_data
def test_same_speaker_is_more_similar_than_the_other(corpora_root, verifier, cache):
    oaf, yaf = _held_out(corpora_root, "OAF", "neutral", 3), _held_out(corpora_root, "YAF", "neutral", 3)
    emb = evaluation.speaker_embeddings(oaf + yaf, cache_dir=cache)
    assert emb.shape == (6, evaluation.EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sims = emb @ emb.T
    same = np.mean([sims[0, 1], sims[0, 2], sims[1, 2], sims[3, 4], sims[3, 5], sims[4, 5]])
    other = np.mean(sims[:3, 3:])
    assert same > other + 0.05
    for utt, e in zip(oaf + yaf, emb):  # held-out words, against centroids of training words
        scores = verifier.score_embedding(e, utt.speaker)
        assert scores["nearest_speaker"] == utt.speaker and scores["nearest_speaker_correct"] == 1.0
        other_speaker = "YAF" if utt.speaker == "OAF" else "OAF"
        assert scores["speaker_similarity"] > verifier.score_embedding(e, other_speaker)["speaker_similarity"]
    assert math.isnan(verifier.score_embedding(emb[0], "nobody")["speaker_similarity"])


@pytest.mark.real_data
def test_verifier_round_trips_through_a_file(verifier, tmp_path):
    loaded = evaluation.SpeakerVerifier.load(verifier.save(tmp_path / "v.joblib"))
    assert loaded.speakers == ("OAF", "YAF")
    np.testing.assert_array_equal(loaded.centroids, verifier.centroids)
    assert loaded.metadata["n_enrolled"] == {"OAF": 8, "YAF": 8}


# ---------------------------------------------------------------------------------------------- judge


@pytest.mark.real_data
def test_judge_beats_chance_on_held_out_words_it_never_heard(judge, corpora_root):
    held_out = datasets.validation_text_ids({u.text_id for u in datasets.list_utterances("tess", root=corpora_root)},
                                            0.1, 0)
    assert set(judge.metadata["held_out_text_ids"]) == held_out
    assert len(judge.metadata["train_text_ids"]) == 20
    assert not set(judge.metadata["train_text_ids"]) & held_out
    assert judge.metadata["speakers"] == ["OAF", "YAF"] and judge.emotions == ("angry", "neutral")
    ceiling = judge.ceiling
    assert set(ceiling["text_ids"]) == held_out and ceiling["n"] == 2 * 2 * len(held_out)
    assert ceiling["accuracy"] >= 0.8  # chance is 0.5
    assert set(judge.metadata["cv"]) == {"logistic C=0.1", "logistic C=1", "svm-rbf C=10"}


@pytest.mark.real_data
def test_judge_predicts_and_round_trips(judge, corpora_root, tmp_path, cache):
    utts = _held_out(corpora_root, "OAF", "angry", 2) + _held_out(corpora_root, "YAF", "neutral", 2)
    predicted = judge.predict(utts, cache_dir=cache)
    loaded = evaluation.EmotionJudge.load(judge.save(tmp_path / "judge.joblib"))
    assert loaded.predict([u.path for u in utts], cache_dir=cache) == predicted
    assert loaded.metadata == judge.metadata
    wav = audio.load_wav(utts[0].path, evaluation.EVAL_SR)
    assert judge.predict([wav, (audio.load_wav(utts[0].path, 24414), 24414)]) == [predicted[0]] * 2
    assert judge.accuracy_on(utts, cache_dir=cache) == np.mean([p == u.emotion for p, u in zip(predicted, utts)])


@pytest.mark.parametrize("emotions", [("angry", "neutral"), ("angry", "happy", "neutral", "sad")])
def test_explain_shift_splits_the_change_of_log_odds_into_feature_terms(emotions):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    labels = np.repeat(emotions, 30)
    x = rng.standard_normal((len(labels), evaluation.N_EGEMAPS))
    x[:, 0] += 3 * (labels == emotions[-1])  # feature 0 tells the last emotion apart
    judge = evaluation.EmotionJudge(_pipeline(LogisticRegression(C=1.0)).fit(x, labels), emotions)
    names = [f"f{i}" for i in range(evaluation.N_EGEMAPS)]
    x_from, x_to = x[labels == emotions[-1]][:10], x[labels == emotions[0]][:12]
    table = judge.explain_shift(x_from, x_to, emotions[-1], emotions[0], feature_names=names)

    def mean_log_odds(rows):
        logits = judge.pipeline.decision_function(rows)
        classes = list(judge.pipeline.classes_)
        if logits.ndim == 1:  # binary: the log-odds of classes[1]
            return np.mean(logits if classes.index(emotions[-1]) == 1 else -logits)
        return np.mean(logits[:, classes.index(emotions[-1])] - logits[:, classes.index(emotions[0])])

    assert table["logit_change"].sum() == pytest.approx(mean_log_odds(x_to) - mean_log_odds(x_from))
    assert table["feature"].iloc[0] == "f0" and table["logit_change"].iloc[0] < 0  # the cue that was lost
    assert list(table["logit_change"]) == sorted(table["logit_change"])
    with pytest.raises(ParameterError, match="not one of"):
        judge.explain_shift(x_from, x_to, "bored", emotions[0], feature_names=names)
    svm = evaluation.EmotionJudge(_pipeline(SVC()).fit(x, labels), emotions)
    with pytest.raises(ParameterError, match="linear judge"):
        svm.explain_shift(x_from, x_to, emotions[-1], emotions[0], feature_names=names)


def test_explain_judge_shifts_compares_each_model_with_the_baseline_and_its_most_frequent_mistake(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    emotions = ("angry", "happy", "neutral", "sad")
    rng = np.random.default_rng(1)
    labels = np.repeat(emotions, 25)
    x = rng.standard_normal((len(labels), evaluation.N_EGEMAPS))
    for i, emotion in enumerate(emotions):
        x[labels == emotion, i] += 3  # feature i is emotion i's cue
    judge = evaluation.EmotionJudge(_pipeline(LogisticRegression()).fit(x, labels), emotions)
    rows = {f"base{i}": x[labels == "happy"][i] for i in range(4)}
    rows |= {f"model{i}": x[labels == "sad"][i] for i in range(4)}  # the model's happy sounds sad
    from dataclasses import replace

    from emocore.evaluation import judge as evaluation_judge

    fake = replace(evaluation_judge.FEATURE_FAMILIES["egemaps"],
                   extract=lambda paths, cache_dir=None: np.stack([rows[Path(p).name] for p in paths]))
    monkeypatch.setitem(evaluation_judge.FEATURE_FAMILIES, "egemaps", fake)
    table = pd.DataFrame(
        [dict(system="f0-only", speaker="OAF", target_emotion="happy", path=f"base{i}", judged_emotion="happy",
              error="") for i in range(4)]
        + [dict(system="emomunit", speaker="OAF", target_emotion="happy", path=f"model{i}",
                judged_emotion=["sad", "sad", "angry", "happy"][i], error="") for i in range(4)]
        + [dict(system="emomunit", speaker="YAF", target_emotion="happy", path="model0", judged_emotion="sad",
                error="")])  # no YAF baseline: left out
    names = [f"f{i}" for i in range(evaluation.N_EGEMAPS)]
    shifts = evaluation.explain_judge_shifts(table, judge, feature_names=names, top=3)
    assert set(shifts[["system", "speaker", "target_emotion", "versus"]].itertuples(index=False, name=None)) == {
        ("emomunit", "OAF", "happy", "sad")}
    assert len(shifts) == 3 and shifts["n"].iloc[0] == 4
    # losing the happy cue (feature 1) and gaining the sad one (feature 3) both push toward sad
    assert set(shifts["feature"].iloc[:2]) == {"f1", "f3"} and (shifts["logit_change"].iloc[:2] < 0).all()
    assert evaluation.explain_judge_shifts(table[table["system"] == "f0-only"], judge, feature_names=names).empty


def test_judge_refuses_a_single_emotion(tmp_path, tone):
    pytest.importorskip("opensmile")
    path = tmp_path / "x.wav"
    sf.write(str(path), tone, SR)
    utts = [datasets.Utterance(path=path, corpus="dir", speaker="s", emotion="angry", text_id=t) for t in "ab"]
    with pytest.raises(ParameterError, match="two emotions"):
        evaluation.EmotionJudge.train(utts)


def test_opensmile_runs_after_tensorflow_was_imported(tmp_path, tone):
    """openSMILE aborts a process that imported TensorFlow first: the features come from a subprocess instead.

    The check itself runs in a subprocess, so a failure shows as an exit status instead of killing pytest.
    """
    pytest.importorskip("opensmile")
    np.save(tmp_path / "tone.npy", tone)
    script = textwrap.dedent(f"""
        import tensorflow  # noqa: F401  (first, on purpose)
        import numpy as np
        from emocore import evaluation
        assert not evaluation.egemaps_runs_in_process()
        x = evaluation.extract_egemaps([np.load({str(tmp_path / "tone.npy")!r})])
        np.save({str(tmp_path / "out.npy")!r}, x)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    under_tf = np.load(tmp_path / "out.npy")
    assert under_tf.shape == (1, evaluation.N_EGEMAPS) and np.all(np.isfinite(under_tf))
    np.testing.assert_allclose(under_tf, evaluation.extract_egemaps([tone]), rtol=1e-6)


def test_extract_egemaps_reports_unusable_items(tmp_path, tone):
    pytest.importorskip("opensmile")
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(SR), SR)
    x = evaluation.extract_egemaps([tone, silent, tmp_path / "missing.wav"], on_error="nan")
    assert np.all(np.isfinite(x[0])) and np.all(np.isnan(x[1:]))
    with pytest.raises(AudioError, match="silent"):
        evaluation.extract_egemaps([silent])


def test_egemaps_cache_is_keyed_by_content(tmp_path, tone):
    pytest.importorskip("opensmile")
    sf.write(str(tmp_path / "a.wav"), tone, SR)
    shutil.copy(tmp_path / "a.wav", tmp_path / "b.wav")
    first = evaluation.extract_egemaps([tmp_path / "a.wav"], cache_dir=tmp_path / "c")
    entries = list((tmp_path / "c").rglob("*.npy"))
    assert len(entries) == 1
    np.save(entries[0], first[0] + 1.0)  # a hit returns what is stored: doctor it and observe
    np.testing.assert_array_equal(evaluation.extract_egemaps([tmp_path / "b.wav"], cache_dir=tmp_path / "c"),
                                  first + 1.0)


# ------------------------------------------------------------------------------------- tables and files


def test_manifest_round_trip_keeps_relative_paths(tmp_path):
    folder = tmp_path / "conversions"
    items = [evaluation.EvalItem(system="m", path=folder / "x.wav", speaker="OAF", target_emotion="angry",
                                 source_emotion="neutral", text_id="bar", source_path=tmp_path / "src.wav",
                                 reference_path=None)]
    manifest = evaluation.write_manifest(items, folder)
    assert pd.read_csv(manifest)["path"].tolist() == ["x.wav"]
    back = evaluation.read_manifest(folder)
    assert back[0].path == (folder / "x.wav").resolve() and back[0].reference_path is None
    assert back[0].source_path == (tmp_path / "src.wav").resolve() and back[0].text_id == "bar"


def test_read_manifest_names_what_is_missing(tmp_path):
    with pytest.raises(DatasetError, match="no manifest"):
        evaluation.read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,system\nx.wav,m\n")
    with pytest.raises(DatasetError, match="speaker"):
        evaluation.read_manifest(tmp_path)


def test_summarize_averages_per_system_and_emotion_and_skips_failures():
    table = pd.DataFrame([
        {"system": "model", "target_emotion": "angry", "emotion_correct": 1.0, "speaker_similarity": 0.8,
         "nearest_speaker_correct": 1.0, "mcd_db": 6.0, "judge_ceiling_pct": 90.0, "error": ""},
        {"system": "model", "target_emotion": "angry", "emotion_correct": 0.0, "speaker_similarity": 0.6,
         "nearest_speaker_correct": 0.0, "mcd_db": 8.0, "judge_ceiling_pct": 90.0, "error": ""},
        {"system": "model", "target_emotion": "angry", "emotion_correct": np.nan, "speaker_similarity": np.nan,
         "nearest_speaker_correct": np.nan, "mcd_db": np.nan, "judge_ceiling_pct": 90.0, "error": "bad file"},
        {"system": "target", "target_emotion": "angry", "emotion_correct": 1.0, "speaker_similarity": 0.9,
         "nearest_speaker_correct": 1.0, "mcd_db": np.nan, "judge_ceiling_pct": 90.0, "error": ""},
        {"system": "source", "target_emotion": "angry", "emotion_correct": 0.0, "speaker_similarity": 0.85,
         "nearest_speaker_correct": 1.0, "mcd_db": 7.0, "judge_ceiling_pct": 90.0, "error": ""},
    ])
    summary = evaluation.summarize(table)
    assert summary["system"].tolist() == ["source", "model", "target"]
    model = summary.iloc[1]
    assert model["n"] == 2 and model["emotion_accuracy_pct"] == 50.0 and model["mcd_db"] == 7.0
    assert model["speaker_similarity"] == pytest.approx(0.7) and model["nearest_speaker_correct_pct"] == 50.0
    assert math.isnan(summary.iloc[2]["mcd_db"]) and math.isnan(model["dnsmos_ovrl"])
    assert list(summary.columns) == list(evaluation.SUMMARY_COLUMNS)
    assert "source" in evaluation.format_summary(summary)


class _FakeJudge:
    """What evaluate_pairs asks of a judge, with fixed answers: a label per file (None: the file fails)."""

    def __init__(self, features, labels, recall):
        self.features, self.labels, self.emotions = features, labels, ("neutral", "angry", "sad")
        self.ceiling = {"recall": recall}

    def extract_features(self, paths, cache_dir=None, progress=False):
        return np.arange(len(paths)), [None if label else "boom" for label in self.labels]

    def predict_features(self, x):
        return ([label or "" for label in self.labels],
                [np.eye(3)[self.emotions.index(label or "neutral")] for label in self.labels])

    def heard_text(self, text_id):
        return False


def test_a_second_judge_is_summarized_apart_from_the_first_and_its_failures_are_failed_rows(tmp_path):
    items = []
    for k, (system, target) in enumerate([("model", "angry"), ("model", "angry"), ("source", "angry"),
                                          ("model", "sad"), ("model", "sad")]):
        (tmp_path / f"{k}.wav").write_bytes(b"")
        items.append(evaluation.EvalItem(system=system, path=tmp_path / f"{k}.wav", speaker="OAF",
                                         target_emotion=target, text_id=f"w{k}"))
    egemaps = _FakeJudge("egemaps", ["angry", "angry", "neutral", "sad", "sad"], {"angry": 0.9, "sad": 0.8})
    logmel = _FakeJudge("logmel", ["angry", "neutral", "neutral", "neutral", None], {"angry": 0.6, "sad": 0.5})
    table = evaluation.evaluate_pairs(items, egemaps, None, with_dnsmos=False, with_reference=False)
    both = evaluation.add_judge(table, items, logmel)
    assert both["emotion_correct_logmel"].tolist()[:4] == [1.0, 0.0, 0.0, 0.0]
    assert both["error"].tolist() == ["", "", "", "", "logmel judge: boom"]  # only the second judge failed there
    summary = evaluation.summarize(both).set_index(["system", "target_emotion"])
    angry, sad = summary.loc[("model", "angry")], summary.loc[("model", "sad")]
    assert angry["emotion_accuracy_pct"] == 100.0 and angry["emotion_accuracy_logmel_pct"] == 50.0
    assert angry["judge_ceiling_pct"] == 90.0 and angry["judge_ceiling_logmel_pct"] == 60.0
    assert sad["n"] == 1 and sad["emotion_accuracy_pct"] == 100.0 and sad["emotion_accuracy_logmel_pct"] == 0.0
    # as read back from evaluation.csv: the same summary
    both.to_csv(tmp_path / "evaluation.csv", index=False)
    back = pd.read_csv(tmp_path / "evaluation.csv")
    pd.testing.assert_frame_equal(evaluation.summarize(back), evaluation.summarize(both), check_dtype=False)
    # rows of a group the second judge did not score: nan there, their own means elsewhere
    other = table.assign(system="other")
    mixed = evaluation.summarize(pd.concat([both, other], ignore_index=True)).set_index(["system", "target_emotion"])
    assert math.isnan(mixed.loc[("other", "angry"), "emotion_accuracy_logmel_pct"])
    assert mixed.loc[("model", "angry"), "emotion_accuracy_logmel_pct"] == 50.0
    assert list(evaluation.summarize(both.iloc[:0]).columns)[-2:] == ["emotion_accuracy_logmel_pct",
                                                                       "judge_ceiling_logmel_pct"]


def test_parse_reference_spec():
    assert evaluation.parse_reference_spec("tess:OAF:neutral:angry,sad") == [
        ("tess", "OAF", "neutral", "angry"), ("tess", "OAF", "neutral", "sad")]
    with pytest.raises(ParameterError):
        evaluation.parse_reference_spec("tess:OAF:neutral")


@pytest.mark.real_data
def test_reference_items_pair_held_out_words_with_the_real_target(corpora_root):
    items = evaluation.reference_items("tess", "YAF", "neutral", "angry", root=corpora_root)
    held_out = evaluation.corpus_held_out_text_ids("tess", root=corpora_root)
    source = [i for i in items if i.system == "source"]
    target = [i for i in items if i.system == "target"]
    assert len(source) == len(target) == len(held_out)
    for item in source:
        assert item.text_id in held_out and item.reference_path.parent.name == "angry"
        assert item.path.parent.name == "neutral" and f"_{item.text_id}_" in item.reference_path.name
    assert all(i.reference_path is None and i.path.parent.name == "angry" for i in target)


def test_retake_distances_measure_each_take_against_the_speakers_other_take(corpora_root, cache):
    table = evaluation.retake_distances("ravdess", ["Actor_13"], ["sad"], root=corpora_root, cache_dir=cache)
    takes = datasets.list_utterances("ravdess", "Actor_13", "sad", root=corpora_root)
    assert len(table) == len(takes) == 8  # two sentences, two intensities, two repetitions
    by_path = {str(u.path): u for u in takes}
    for row in table.itertuples():
        take, reference = by_path[row.path], by_path[row.reference_path]
        assert (take.text_id, take.intensity) == (reference.text_id, reference.intensity) == (row.text_id,
                                                                                             row.intensity)
        assert take.repetition != reference.repetition
    assert table["mcd_db"].gt(0).all() and table["f0_rmse_hz"].gt(0).all()
    assert table["log_f0_pearson"].between(-1, 1).all()
    one_take = evaluation.retake_distances("tess", ["OAF"], ["sad"], root=corpora_root, cache_dir=cache)
    assert one_take.empty and list(one_take.columns) == list(table.columns)
    strong = evaluation.retake_distances("ravdess", ["Actor_13"], ["sad"], intensity="strong", root=corpora_root,
                                         cache_dir=cache)
    assert len(strong) == 4 and set(strong["intensity"]) == {"strong"}
    # every intensity of every emotion asked for (the filter is not narrowed by the takes already read)
    both = evaluation.retake_distances("ravdess", ["Actor_13"], ["sad", "angry"], root=corpora_root, cache_dir=cache)
    assert len(both) == 16 and set(both["intensity"]) == {"normal", "strong"}
    assert both.groupby(["emotion", "intensity"]).size().tolist() == [4, 4, 4, 4]


@pytest.fixture
def conversion_folder(corpora_root, tmp_path):
    """A folder as conversion code writes it: two files (copies of real recordings) and a manifest."""
    folder = tmp_path / "converted"
    folder.mkdir()
    src = _held_out(corpora_root, "OAF", "neutral", 1)[0]
    ref = next(u for u in datasets.list_utterances("tess", "OAF", "angry", root=corpora_root)
               if u.text_id == src.text_id)
    shutil.copy(src.path, folder / "as_is.flac")  # an "unconverted" conversion
    shutil.copy(ref.path, folder / "perfect.flac")  # a "perfect" conversion
    items = [evaluation.EvalItem(system=name, path=folder / file, speaker="OAF", target_emotion="angry",
                                 source_emotion="neutral", text_id=src.text_id, source_path=src.path,
                                 reference_path=ref.path)
             for name, file in (("as-is", "as_is.flac"), ("perfect", "perfect.flac"))]
    evaluation.write_manifest(items, folder)
    return folder


@pytest.mark.real_data
def test_evaluate_folder_writes_finite_reports(conversion_folder, judge, verifier, cache, tmp_path):
    table = evaluation.evaluate_folder(conversion_folder, judge, verifier, cache_dir=cache)
    assert table["system"].tolist() == ["as-is", "perfect"] and (table["error"] == "").all()
    metric_columns = ["emotion_correct", "p_target_emotion", "judge_ceiling_pct", "speaker_similarity",
                      "nearest_speaker_correct", *evaluation.DNSMOS_KEYS, *evaluation.REFERENCE_METRICS]
    assert np.all(np.isfinite(table[metric_columns].to_numpy(dtype=float)))
    perfect, as_is = table.set_index("system").loc["perfect"], table.set_index("system").loc["as-is"]
    assert perfect["mcd_db"] == 0.0 and perfect["f0_rmse_hz"] == 0.0 and as_is["mcd_db"] > 2.0
    assert perfect["judged_emotion"] == "angry" and perfect["judge_heard_text"] == 0.0
    written = evaluation.write_report(table, tmp_path / "report", judge=judge, verifier=verifier)
    back = pd.read_csv(written["evaluation"])  # empty errors come back as NaN
    assert back.shape[0] == 2 and not evaluation.failed_rows(back).any()
    pd.testing.assert_frame_equal(evaluation.summarize(back), evaluation.summarize(table), check_dtype=False)
    report = json.loads(written["summary_json"].read_text())
    assert report["n_items"] == 2 and report["n_failed"] == 0
    assert report["judge"]["ceiling_accuracy_pct"] == pytest.approx(100 * judge.ceiling["accuracy"])
    for row in report["summary"]:
        assert all(math.isfinite(row[k]) for k in evaluation.SUMMARY_COLUMNS[2:])


@pytest.mark.real_data
def test_a_second_judge_adds_its_own_columns_and_the_summary_its_accuracy(conversion_folder, judge, cache,
                                                                            corpora_root):
    logmel = evaluation.train_corpus_judge("tess", ("neutral", "angry"), max_train_texts=20, root=corpora_root,
                                           cache_dir=cache, features="logmel", logistic_c=(1.0,), svm_c=())
    items = evaluation.read_manifest(conversion_folder)
    table = evaluation.evaluate_pairs(items, judge, None, with_dnsmos=False, with_reference=False, cache_dir=cache)
    both = evaluation.add_judge(table, items, logmel, cache_dir=cache)
    alone = evaluation.evaluate_pairs(items, logmel, None, with_dnsmos=False, with_reference=False, cache_dir=cache)
    pd.testing.assert_frame_equal(both[list(table.columns)], table)  # the first judge's columns untouched
    for column in evaluation.SECOND_JUDGE_COLUMNS:
        assert both[f"{column}_logmel"].tolist() == alone[column].tolist()
    summary = evaluation.summarize(both)
    assert list(summary.columns) == [*evaluation.SUMMARY_COLUMNS, "emotion_accuracy_logmel_pct",
                                     "judge_ceiling_logmel_pct"]
    by_system, own = summary.set_index("system"), alone.set_index("system")
    for system in ("as-is", "perfect"):
        assert by_system.loc[system, "emotion_accuracy_logmel_pct"] == 100.0 * own.loc[system, "emotion_correct"]
        assert by_system.loc[system, "judge_ceiling_logmel_pct"] == own.loc[system, "judge_ceiling_pct"]
    assert list(evaluation.summarize(table).columns) == list(evaluation.SUMMARY_COLUMNS)
    with pytest.raises(ParameterError, match="already holds a logmel"):
        evaluation.add_judge(both, items, logmel)
    with pytest.raises(ParameterError, match="one per item"):
        evaluation.add_judge(table, items[::-1], logmel)


@pytest.mark.real_data
def test_cli_exit_status(conversion_folder, judge, verifier, cache, tmp_path, capsys):
    judge_path, verifier_path = judge.save(tmp_path / "j.joblib"), verifier.save(tmp_path / "v.joblib")
    common = ["--judge", str(judge_path), "--verifier", str(verifier_path), "--cache-dir", str(cache), "--no-dnsmos",
              "--quiet"]
    assert cli.evaluate_main([str(conversion_folder), *common]) == 0
    assert (conversion_folder / "evaluation.csv").is_file() and (conversion_folder / "summary.json").is_file()
    assert "perfect" in capsys.readouterr().out
    # a broken file: still a report, exit status 1
    (conversion_folder / "as_is.flac").write_bytes(b"not audio")
    assert cli.evaluate_main([str(conversion_folder), *common, "--out", str(tmp_path / "out")]) == 1
    assert "failed" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "out" / "evaluation.csv")["error"].notna().sum() == 1
    # no manifest: one line, exit status 1
    assert cli.evaluate_main([str(tmp_path / "nothing"), *common]) == 1
    with pytest.raises(SystemExit) as exit_info:
        cli.evaluate_main([])
    assert exit_info.value.code == 2


@pytest.mark.real_data
def test_prosody_references_raise_f0_toward_angry(corpora_root, tmp_path):
    cfg = FeatureConfig().smoke()
    items = evaluation.write_prosody_references("tess", "OAF", "neutral", "angry", tmp_path / "out", cfg=cfg,
                                                processed_dir=tmp_path / "processed", root=corpora_root, n_jobs=1,
                                                max_utterances=3)
    held_out = evaluation.corpus_held_out_text_ids("tess", root=corpora_root)
    assert sorted(i.system for i in items) == ["f0+power"] * 3 + ["f0-only"] * 3
    for item in items:
        assert item.path.is_file() and item.text_id in held_out and item.reference_path.parent.name == "angry"
    for item in (i for i in items if i.system == "f0-only"):
        f0_in = features.extract_f0(audio.load_wav(item.source_path, cfg.sr), cfg)[0]
        f0_out = features.extract_f0(audio.load_wav(item.path, cfg.sr), cfg)[0]
        assert np.mean(np.log(f0_out[f0_out > 0])) > np.mean(np.log(f0_in[f0_in > 0]))  # angry OAF speaks higher


def test_one_failing_input_costs_only_its_own_row(tone):
    def compute(wavs):  # fails on any batch holding the quiet one
        if any(np.max(np.abs(w)) < 0.2 for w in wavs):
            raise RuntimeError("too quiet")
        return np.array([[np.max(np.abs(w))] for w in wavs])

    rows, errors = _cached_vectors([tone, tone * 0.3, tone * 0.5], "test", 1, compute, None)
    np.testing.assert_allclose(rows[[0, 2], 0], [0.5, 0.25])
    assert np.isnan(rows[1, 0]) and "too quiet" in errors[1] and errors[0] is errors[2] is None


def test_a_file_listed_twice_is_computed_once(tmp_path, tone):
    sf.write(str(tmp_path / "a.wav"), tone, SR)
    seen = []

    def compute(wavs):
        seen.append(len(wavs))
        return np.ones((len(wavs), 2))

    rows, errors = _cached_vectors([tmp_path / "a.wav", str(tmp_path / "a.wav")], "test", 2, compute, None)
    assert seen == [1] and rows.tolist() == [[1.0, 1.0]] * 2 and errors == [None, None]


def test_evaluate_pairs_without_models_keeps_every_column(tmp_path, tone):
    sf.write(str(tmp_path / "a.wav"), tone, SR)
    items = [{"system": "m", "path": tmp_path / "a.wav", "speaker": "s", "target_emotion": "angry"},
             evaluation.EvalItem(system="m", path=tmp_path / "missing.wav", speaker="s", target_emotion="angry")]
    table = evaluation.evaluate_pairs(items, with_dnsmos=False, with_reference=False)
    assert list(table.columns) == list(evaluation.TABLE_COLUMNS)
    assert table["error"].tolist() == ["", f"{tmp_path / 'missing.wav'}: no such file"]
    assert table[list(evaluation.TABLE_METRIC_COLUMNS)].isna().all().all()
    assert list(evaluation.evaluate_pairs([]).columns) == list(evaluation.TABLE_COLUMNS)


@pytest.mark.slow
@pytest.mark.real_data
def test_write_model_conversions_converts_the_models_held_out_words(corpora_root, tmp_path, judge, verifier, cache):
    import soundfile as sf

    from emocore import training
    from emocore.config import ModelConfig, TrainConfig
    from emocore.data.datasets import Domain
    from emocore.data.extraction import prepare_domains

    cfg = FeatureConfig().smoke()
    domains = [Domain("tess", "OAF", "neutral"), Domain("tess", "OAF", "angry")]
    a, b = prepare_domains(domains, cfg, tmp_path / "processed", max_utterances=2, n_jobs=1, progress=False,
                           corpora_root=corpora_root).values()
    train_cfg = TrainConfig().smoke()
    training.train([a, b], cfg, ModelConfig().smoke(), train_cfg, tmp_path / "model", run_eagerly=True, progress=False)
    recorded = json.loads((tmp_path / "model" / "config.json").read_text())["emotions"][0]["validation_text_ids"]
    assert recorded == sorted(u.text_id for u, _ in a.validation)
    items = evaluation.write_model_conversions(tmp_path / "model", tmp_path / "out", processed_dir=tmp_path / "processed",
                                               max_utterances=2, root=corpora_root)
    assert [i.system for i in items] == ["emocyclegan"] * 2
    for item in items:
        assert item.text_id in recorded and item.reference_path.parent.name == "angry"
        assert sf.info(str(item.path)).frames == len(audio.load_wav(item.source_path, cfg.sr))
    f0_only = evaluation.write_model_conversions(tmp_path / "model", tmp_path / "out", system="f0-via-model",
                                                 processed_dir=tmp_path / "processed", max_utterances=2,
                                                 root=corpora_root, mcep=False, power=False)
    assert {i.path.parent.name for i in f0_only} == {"f0-via-model"}
    # the CLI converts and scores a model's (or a checkpoint's) held-out words
    checkpoint = sorted((tmp_path / "model" / "checkpoints").glob("step-*"))[0]
    common = ["--judge", str(judge.save(tmp_path / "j.joblib")), "--verifier", str(verifier.save(tmp_path / "v.joblib")),
              "--cache-dir", str(tmp_path / "processed"), "--no-dnsmos", "--quiet", "--out", str(tmp_path / "report")]
    assert cli.evaluate_main(["--model", str(checkpoint), *common]) == 0
    report = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert [row["system"] for row in report["summary"]] == ["emocyclegan"] and report["models"] == [str(checkpoint)]
