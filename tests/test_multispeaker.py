"""Tests of emocore.evaluation.multispeaker: a multi-speaker model's conversions of held-out words and unseen actors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emocore.data.datasets import list_utterances
from emocore.dsp import audio
from emocore.evaluation.judge import EmotionJudge
from emocore.evaluation.multispeaker import (
    EvalSpeaker,
    ablation_plan,
    evaluation_speakers,
    score_multispeaker,
    summarize_multispeaker,
    write_multispeaker_conversions,
)
from emocore.exceptions import ParameterError

SPEAKERS = [EvalSpeaker("tess", "OAF", "tess"), EvalSpeaker("ravdess", "Actor_15", "unseen")]


def test_default_speakers_are_both_tess_voices_and_the_held_out_actors():
    groups = {s.name: s.group for s in evaluation_speakers()}
    assert groups == {"OAF": "tess", "YAF": "tess", "Actor_13": "unseen", "Actor_14": "unseen",
                      "Actor_15": "unseen", "Actor_16": "unseen"}


def test_conversions_and_scores_of_held_out_words_and_an_unseen_actor(smoke_stargan, corpora_root, tmp_path):
    items = write_multispeaker_conversions(smoke_stargan[0], tmp_path / "out", speakers=SPEAKERS, targets=("angry",),
                                           max_utterances=2, processed_dir=tmp_path / "processed", root=corpora_root)
    systems = {i.system for i in items}
    assert systems == {"emostargan", "emostargan-enrolled", "emostargan-recordings", "emostargan-prosody", "f0-only",
                       "source", "target"}
    converted = [i for i in items if i.system == "emostargan"]
    assert len({i.path for i in converted}) == len(converted) == 4  # 2 files of each speaker, never one name twice
    # the speaker the model trained on (OAF) by their own changes too; the unseen actor has none
    enrolled = [i for i in items if i.system == "emostargan-enrolled"]
    assert [i.speaker for i in enrolled] == ["OAF", "OAF"]
    for item in enrolled:
        average = next(i for i in converted if i.source_path == item.source_path)
        assert not np.allclose(audio.load_wav(item.path, 16000), audio.load_wav(average.path, 16000), atol=1e-3)
    # the unseen actor with their other recording as a few recordings of their voice; TESS's speakers are enrolled
    with_recordings = [i for i in items if i.system == "emostargan-recordings"]
    assert [i.speaker for i in with_recordings] == ["Actor_15", "Actor_15"]
    for item in with_recordings:
        alone = next(i for i in converted if i.source_path == item.source_path)
        assert not np.allclose(audio.load_wav(item.path, 16000), audio.load_wav(alone.path, 16000), atol=1e-3)
    assert all(i.path.is_file() for i in items)
    unseen = [i for i in items if i.speaker == "Actor_15" and i.system == "source"]
    assert unseen and all("Actor_15" in str(i.source_path) for i in unseen)

    judge_utts = [u for emotion in ("neutral", "angry")
                  for u in list_utterances("tess", "YAF", emotion, root=corpora_root)[:20]]
    judge = EmotionJudge.train(judge_utts, ["neutral", "angry"], features="logmel", cv_folds=2, logistic_c=(1.0,),
                               svm_c=())
    table = score_multispeaker(items, {"tess": (judge, judge), "unseen": (judge,)}, speakers=SPEAKERS,
                               with_dnsmos=False)
    assert len(table) == len(items) and set(table["group"]) == {"tess", "unseen"}
    tess = table[table["group"] == "tess"]
    assert tess["emotion_correct_logmel"].notna().all()
    np.testing.assert_array_equal(tess["emotion_correct_logmel"], tess["emotion_correct"])  # the same judge twice
    assert table[table["group"] == "unseen"]["emotion_correct_logmel"].isna().all()
    # the distances to the real target take, in both groups; the target itself is the reference
    for group in ("tess", "unseen"):
        rows = table[table["group"] == group].set_index("system")
        assert rows.loc[["emostargan", "source"], ["mcd_db", "f0_rmse_hz"]].notna().all().all(), group
        assert rows.loc[["target"], "mcd_db"].isna().all()
    summary = summarize_multispeaker(table)
    assert {"group", "system", "emotion_accuracy_pct", "emotion_accuracy_logmel_pct"} <= set(summary.columns)
    from emocore.evaluation.significance import paired_comparison

    paired = paired_comparison(table, table, baseline_system="f0-only", system_name="emostargan")
    cells = paired[paired["target_emotion"] == "angry"].set_index(["group", "judge"])["n"]
    assert cells.to_dict() == {("tess", "egemaps"): 2, ("tess", "logmel"): 2, ("tess", "both"): 2,
                               ("unseen", "egemaps"): 2}  # the unseen actor has one judge in this test


def test_write_conversions_takes_pairs_for_a_model_of_many_speakers(smoke_stargan, corpora_root, tmp_path):
    from emocore.evaluation.multispeaker import write_conversions

    with pytest.raises(ParameterError, match="pairs"):
        write_conversions(smoke_stargan[0], tmp_path / "out")
    items = write_conversions(smoke_stargan[0], tmp_path / "out", pairs=[("tess", "OAF", "neutral", "sad")],
                              max_utterances=2, processed_dir=tmp_path / "processed", root=corpora_root, mcep=False)
    assert {(i.system, i.speaker, i.source_emotion, i.target_emotion) for i in items} == {
        ("emostargan", "OAF", "neutral", "sad")}  # no baselines: the notebooks write their own
    assert len(items) == 2 and all(i.path.is_file() and i.reference_path is not None for i in items)


def test_retake_table_averages_the_unseen_actors_normal_takes_against_their_other_takes(corpora_root, tmp_path):
    from emocore.evaluation.multispeaker import retake_table
    from emocore.evaluation.reference import retake_distances

    table = retake_table(SPEAKERS, ("sad", "angry"), root=corpora_root, cache_dir=tmp_path)
    # the unseen actor's normal takes only (TESS's speakers are no unseen group)
    assert table["target_emotion"].tolist() == ["sad", "angry"] and table["n"].tolist() == [4, 4]
    assert retake_table(SPEAKERS[:1], root=corpora_root, cache_dir=tmp_path).empty
    every = retake_distances("ravdess", ["Actor_15"], ["sad"], root=corpora_root, cache_dir=tmp_path)
    normal = every[every["intensity"] == "normal"]
    assert table.loc[0, "f0_rmse_hz"] == pytest.approx(normal["f0_rmse_hz"].mean(), abs=0.006)
    assert table.loc[0, "mcd_db"] == pytest.approx(normal["mcd_db"].mean(), abs=0.006)
    assert len(every) == 8 and normal["f0_rmse_hz"].mean() != pytest.approx(every["f0_rmse_hz"].mean(), abs=0.01)


def test_conversions_at_a_softer_intensity_move_an_unseen_actors_pitch_part_of_the_way(smoke_stargan, corpora_root,
                                                                                       tmp_path, monkeypatch):
    """What the evaluation's intensity table is measured on: the unseen actor converted again at a lower
    intensity, under the ``<system>-i<alpha>`` name, its pitch moved by that share of the full conversion's change
    (the converted features: re-analysing the smoke model's audio is too noisy for a half)."""
    from emocore.models.stargan import SpeakerRelativeConverter

    moved = {}  # intensity -> [mean log-F0 change of each converted file]
    convert = SpeakerRelativeConverter.convert

    def recording(self, feats, source, target, **options):
        out = convert(self, feats, source, target, **options)
        voiced = (np.asarray(feats.f0_hz) > 0) & (np.asarray(out.f0_hz) > 0)
        change = np.log(out.f0_hz[voiced]).mean() - np.log(feats.f0_hz[voiced]).mean()
        moved.setdefault(options.get("intensity", 1.0), []).append(float(change))
        return out

    monkeypatch.setattr(SpeakerRelativeConverter, "convert", recording)
    kwargs = dict(speakers=SPEAKERS[1:], targets=("angry",), baselines=False, max_utterances=2,
                  processed_dir=tmp_path / "processed", root=corpora_root)
    full = write_multispeaker_conversions(smoke_stargan[0], tmp_path / "out", **kwargs)
    half = write_multispeaker_conversions(smoke_stargan[0], tmp_path / "out", system="emostargan-i0.5",
                                          intensity=0.5, **kwargs)
    assert {i.system for i in half} == {"emostargan-i0.5"} and len(half) == len(full) == 2
    assert not {i.path for i in half} & {i.path for i in full} and all(i.path.is_file() for i in half)
    assert sorted(moved) == [0.5, 1.0] and len(moved[0.5]) == len(moved[1.0]) == 2
    assert all(change > 0.05 for change in moved[1.0])  # the smoke model's angry is higher
    np.testing.assert_allclose(moved[0.5], np.multiply(moved[1.0], 0.5), rtol=0.1)


def test_intensity_table_reads_intensity_from_the_system_names():
    import pandas as pd

    from emocore.evaluation.multispeaker import intensity_table

    rows = [("source", 0.1), ("emostargan-i0.25", 0.2), ("emostargan-i0.5", 0.4), ("emostargan", 0.8),
            ("emostargan", 0.6), ("f0-only", 0.9)]
    table = pd.DataFrame([dict(system=s, target_emotion="angry", p_target_emotion=p, error="") for s, p in rows])
    out = intensity_table(table, "emostargan")
    assert out["intensity"].tolist() == [0.0, 0.25, 0.5, 1.0]  # f0-only is not an intensity of the model
    assert out["p_target_egemaps"].tolist() == pytest.approx([0.1, 0.2, 0.4, 0.7])


def test_streams_evaluation_compares_variants_on_the_same_files(smoke_stargan, corpora_root, tmp_path, monkeypatch):
    from emocore.evaluation import multispeaker

    judge_utts = [u for emotion in ("neutral", "angry", "happy", "sad")
                  for u in list_utterances("tess", "YAF", emotion, root=corpora_root)[:12]]
    judge = EmotionJudge.train(judge_utts, ["neutral", "angry", "happy", "sad"], features="logmel", cv_folds=2,
                               logistic_c=(1.0,), svm_c=())
    monkeypatch.setattr("emocore.evaluation.speaker.load_or_build_verifier", lambda *a, **k: None)
    variants = ["f0+power+mcep", "f0=cwt+power=cwt+mcep+rhythm"]
    streams = multispeaker.evaluate_streams(smoke_stargan[0], tmp_path / "out", variants, speakers=SPEAKERS,
                                            max_utterances=1, processed_dir=tmp_path / "processed",
                                            root=corpora_root, judges={"tess": (judge, judge), "unseen": (judge,)},
                                            cache_dir=tmp_path / "cache", progress=False)
    assert list(streams["system"]) == ["source", "f0-only", *variants, "target", "ceiling"]
    assert {"tess angry", "unseen sad", "TESS F0 RMSE Hz / logF0 r"} <= set(streams.columns)
    assert all("/" in cell for cell in streams["tess angry"])
    table = pd.read_csv(tmp_path / "out" / "evaluation.csv")
    files = table.groupby("system")["source_path"].apply(lambda p: tuple(sorted(p)))
    assert files[variants[0]] == files[variants[1]]  # the same source files for every variant
    assert (tmp_path / "out" / "streams.csv").is_file()
    compared = pd.read_csv(tmp_path / "out" / "significance.csv")  # the second variant against the first
    assert set(compared["system"]) == {variants[1]} and set(compared["baseline"]) == {variants[0]}
    pooled = compared[(compared["group"] == "all") & (compared["judge"] == "egemaps")].iloc[0]
    assert pooled["n"] == len(table[table["system"] == variants[0]])  # every file of the variant (the judge of both groups)


def test_ablation_plan_runs_shared_per_pair_variants_once_and_every_multispeaker_variant_per_model():
    runs = ablation_plan(["cyclegan", "munit", "emostargan"], ["none", "f0", "f0+mcep", "f0=contour"])
    by_model = {k: [(r.variant, r.system) for r in runs if r.model == k] for k in range(3)}
    # WORLD + the log-Gaussian prosody of the same training statistics: the first per-pair model stands for both
    assert by_model[0] == [("none", "none"), ("f0", "f0"), ("f0+mcep", "f0+mcep (cyclegan)"),
                           ("f0=contour", "f0=contour (cyclegan)")]
    assert by_model[1] == [("f0+mcep", "f0+mcep (munit)"), ("f0=contour", "f0=contour (munit)")]
    # a model of many speakers converts its prosody its own way: every variant is its own
    assert [v for v, _ in by_model[2]] == ["none", "f0", "f0+mcep", "f0=contour"]
    assert all(s.endswith("(emostargan)") for _, s in by_model[2])
    assert len({r.system for r in runs}) == len(runs)  # no two runs share a name


def test_ablation_plan_of_one_model_keeps_plain_names_and_numbers_a_repeated_type():
    assert [r.system for r in ablation_plan(["emostargan"], ["none", "f0+mcep"])] == ["none", "f0+mcep"]
    # two EmoStarGANs: both run every variant (the second was skipped without MCEPs before)
    runs = ablation_plan(["emostargan", "emostargan"], ["none", "mcep"])
    assert [(r.model, r.system) for r in runs] == [(0, "none (emostargan 1)"), (0, "mcep (emostargan 1)"),
                                                   (1, "none (emostargan 2)"), (1, "mcep (emostargan 2)")]
    assert [r.system for r in ablation_plan(["cyclegan", "cyclegan"], ["f0", "mcep"], labels=["a", "b"])] == [
        "f0", "mcep (a)", "mcep (b)"]


@pytest.mark.parametrize("types, variants, labels", [
    ([], ["f0"], None),  # no model
    (["cyclegan"], ["pitch"], None),  # a bad variant
    (["cyclegan", "munit"], ["f0"], ["same", "same"]),  # labels repeat
    (["cyclegan"], ["f0"], ["a", "b"]),  # one label too many
    (["wavenet"], ["f0"], None),  # not a registered model
    (["cyclegan"], [], None),  # no variant
    (["cyclegan"], ["f0", "f0"], None),  # a variant twice
    (["cyclegan"], ["f0+mcep", "mcep+f0"], None),  # the same streams in another order
])
def test_ablation_plan_refuses_bad_input(types, variants, labels):
    with pytest.raises(ParameterError):
        ablation_plan(types, variants, labels)


def test_other_recordings_stats_leave_the_converted_recording_out():
    from emocore.dsp.features import WorldFeatures
    from emocore.dsp.prosody import DomainStats
    from emocore.evaluation.multispeaker import other_recordings_stats

    rng = np.random.default_rng(0)

    def recording(pitch_hz):
        n = 50
        return WorldFeatures(f0_hz=np.full(n, pitch_hz) * np.exp(0.05 * rng.standard_normal(n)),
                             mcep=rng.standard_normal((n, 4)), coded_ap=np.zeros((n, 3)),
                             log_power=rng.standard_normal(n), n_samples=n * 80)

    feats = [recording(hz) for hz in (100.0, 200.0, 400.0)]
    others = other_recordings_stats(feats)
    assert set(others) == {id(f) for f in feats}
    for f in feats:
        expected = DomainStats.fit("speaker", [g for g in feats if g is not f])
        assert others[id(f)].n_utterances == 2
        assert others[id(f)].log_f0 == expected.log_f0
        np.testing.assert_allclose(others[id(f)].mcep.mean, expected.mcep.mean)
    # each leaves out its own pitch: the mean log F0 of the two others
    np.testing.assert_allclose(np.exp(others[id(feats[0])].log_f0.mean), np.sqrt(200.0 * 400.0), rtol=0.02)
    with pytest.raises(ParameterError, match="at least two"):
        other_recordings_stats(feats[:1])
