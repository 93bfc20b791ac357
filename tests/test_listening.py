"""Listening tests: blinded trials, the resumable results CSV, the widgets' callbacks and the analysis."""

from __future__ import annotations

import csv
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import SR, harmonic_tone  # noqa: E402

from emocore import plotting  # noqa: E402
from emocore.dsp import audio
from emocore.evaluation import EvalItem, listening, write_manifest  # noqa: E402
from emocore.exceptions import DatasetError, DuplicateAnswerError, ParameterError  # noqa: E402

SYSTEMS = ("sysalpha", "sysbeta")
EMOTIONS = ("angry", "happy")
TEXTS = ("bar", "bath", "bean")


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    """Two systems' "conversions" (tones; the system name is in every path), with source and target files."""
    root = tmp_path_factory.mktemp("clips")
    out = []
    for t, text in enumerate(TEXTS):
        source = audio.save_wav(root / "source" / f"OAF_{text}_neutral.wav", harmonic_tone(140 + t, 0.3), SR)
        for e, emotion in enumerate(EMOTIONS):
            reference = audio.save_wav(root / "target" / f"OAF_{text}_{emotion}.wav",
                                       harmonic_tone(220 + 30 * e + t, 0.3), SR)
            for s, system in enumerate(SYSTEMS):
                path = audio.save_wav(root / system / f"OAF_{text}_neutral2{emotion}_{system}.wav",
                                      harmonic_tone(170 + 20 * s + 30 * e + t, 0.3) * (0.3 + 0.5 * s), SR)
                out.append(EvalItem(system=system, path=path, speaker="OAF", target_emotion=emotion,
                                    source_emotion="neutral", text_id=text, source_path=source,
                                    reference_path=reference))
    return out


@pytest.fixture(scope="module")
def ab_trials(items):
    return listening.make_ab_trials(items, SYSTEMS, seed=0)


@pytest.fixture(scope="module")
def mos_trials(items):
    return listening.make_mos_trials(items, seed=0)


def _widget_tree(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _widget_tree(child)


def _shown(widget) -> tuple[list[str], list[bytes]]:
    """Every string and byte string a frontend receives for ``widget`` and its children."""
    texts, blobs = [], []
    for w in _widget_tree(widget):
        for value in w.get_state().values():
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, (bytes, memoryview)):
                blobs.append(bytes(value))
    return texts, blobs


def _csv_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------------------- trials


def test_ab_trials_pair_one_text_and_balance_sides(items, ab_trials):
    assert len(ab_trials) == len(TEXTS) * len(EMOTIONS) * len(listening.AB_QUESTIONS)
    by_path = {i.path: i for i in items}
    for trial in ab_trials:
        a, b = (by_path[c.path] for c in trial.clips)
        assert trial.labels == ("A", "B") and {a.system, b.system} == set(SYSTEMS)
        assert (a.text_id, a.target_emotion, a.speaker) == (b.text_id, b.target_emotion, b.speaker)
        assert (trial.system_1, trial.system_2) == SYSTEMS
        if trial.question == "emotion":
            assert trial.prompt == f"Which clip sounds more {a.target_emotion}?"
    first_as_a = sum(t.clips[0].system == SYSTEMS[0] for t in ab_trials)
    assert first_as_a == len(ab_trials) // 2  # counterbalanced


def test_trial_order_is_fixed_by_the_seed(items, ab_trials):
    def layout(trials):  # what is asked, in which order, and which system plays first
        return [(t.question, t.target_emotion, t.text_id, t.clips[0].path) for t in trials]

    again = listening.make_ab_trials(items, SYSTEMS, seed=0)
    assert layout(again) == layout(ab_trials) and [t.trial_id for t in again] == [t.trial_id for t in ab_trials]
    assert layout(listening.make_ab_trials(items, SYSTEMS, seed=1)) != layout(ab_trials)
    mos = layout(listening.make_mos_trials(items, seed=0))
    assert mos == layout(listening.make_mos_trials(items, seed=0))
    assert mos != layout(listening.make_mos_trials(items, seed=1))


def test_mos_trials_rate_references_once_per_file(items, mos_trials):
    by_question = {q: [t for t in mos_trials if t.question == q] for q in listening.MOS_QUESTIONS}
    n_converted = len(items)  # one file per system, text and emotion
    n_target, n_source = len(TEXTS) * len(EMOTIONS), len(TEXTS)
    assert len(by_question["naturalness"]) == n_converted + n_target + n_source  # a source file once, not per emotion
    assert len(by_question["emotion"]) == n_converted + n_target + n_source * len(EMOTIONS)
    assert len(by_question["speaker"]) == n_converted + n_target  # the source is not compared with itself
    for trial in by_question["speaker"]:
        assert trial.labels == ("reference", "clip") and trial.clips[0].system == "source"
    source_naturalness = [t for t in by_question["naturalness"] if t.clips[0].system == "source"]
    assert {t.target_emotion for t in source_naturalness} == {"angry+happy"}
    without = listening.make_mos_trials(items, seed=0, include_references=False, systems=["sysbeta"])
    assert {t.clips[-1].system for t in without} == {"sysbeta"}


@pytest.mark.parametrize("systems, error", [(("sysalpha",), "two systems"), (("sysalpha", "nope"), "nope"),
                                            (("sysalpha", "none"), "none")])
def test_make_ab_trials_rejects_bad_systems(items, systems, error):
    with pytest.raises(ParameterError, match=error):
        listening.make_ab_trials(items, systems)


def test_make_trials_reject_unknown_questions(items):
    with pytest.raises(ParameterError, match="questions"):
        listening.make_ab_trials(items, SYSTEMS, questions=("speaker",))
    with pytest.raises(ParameterError, match="questions"):
        listening.make_mos_trials(items, questions=("loudness",))


# ------------------------------------------------------------------------------------------- blinding


def test_nothing_the_listener_sees_names_a_system_or_file(items, ab_trials, mos_trials, tmp_path):
    secrets = {*SYSTEMS, "source", "target", *(i.path.stem for i in items), *(str(i.path.parent) for i in items)}
    for trial in ab_trials + mos_trials:
        seen = " ".join([trial.trial_id, trial.prompt, *trial.labels, repr(trial)])
        assert not [s for s in secrets if s in seen], seen
    for session in (listening.ABSession(ab_trials, tmp_path / "ab.csv", "t1"),
                    listening.MOSSession(mos_trials, tmp_path / "mos.csv", "t1")):
        for _ in range(3):  # a few trials, each with freshly loaded clips
            texts, blobs = _shown(session.widget())
            assert blobs and not [s for s in secrets if any(s in t for t in texts)]
            assert not [s for s in secrets if any(s.encode() in b for b in blobs)]
            session.answer(session.choices[0])


def test_the_key_is_kept_apart_from_the_answers(items, ab_trials, tmp_path):
    key = listening.save_key(ab_trials, tmp_path / "key_ab.csv")
    table = pd.read_csv(key, dtype=str, keep_default_na=False)
    assert len(table) == 2 * len(ab_trials) and set(table["system"]) == set(SYSTEMS)
    pd.testing.assert_frame_equal(listening.load_key(key), listening.key_table(ab_trials).astype(str))
    listening.save_key(ab_trials[:3], key)  # saving again adds nothing, and drops nothing
    assert len(listening.load_key(key)) == len(table)
    listening.save_key(listening.make_ab_trials(items, SYSTEMS, seed=5), key)  # another seed: its trials are added
    assert len(listening.load_key(key)) == 2 * len(table)
    session = listening.ABSession(ab_trials, tmp_path / "results.csv", "t1")
    session.answer("A")
    text = (tmp_path / "results.csv").read_text()
    assert text.splitlines()[0] == ",".join(listening.RESULT_COLUMNS)
    assert not any(s in text for s in SYSTEMS)


# ----------------------------------------------------------------------------------- results and sessions


def test_each_answer_is_on_disk_before_the_next(ab_trials, tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    path = tmp_path / "ab.csv"
    session = listening.ABSession(ab_trials, path, listener="t1")
    for n, answer in enumerate(["A", "B", "none", "A"], start=1):
        trial = session.current
        row = session.answer(answer)
        rows = _csv_rows(path)
        assert len(rows) == n == len(synced)
        assert rows[-1] == row and (row["listener"], row["trial_id"], row["answer"]) == ("t1", trial.trial_id, answer)
    assert session.progress == f"trial 5 of {len(ab_trials)}"


def test_a_new_session_resumes_where_the_last_stopped(ab_trials, tmp_path):
    path = tmp_path / "ab.csv"
    first = listening.ABSession(ab_trials, path, listener="t1")
    for answer in "ABA":
        first.answer(answer)
    del first  # the kernel died
    second = listening.ABSession(ab_trials, path, listener="t1")
    assert second.current == ab_trials[3] and len(second.remaining) == len(ab_trials) - 3
    other = listening.ABSession(ab_trials, path, listener="t2")  # another listener starts from the beginning
    assert other.current == ab_trials[0]
    assert listening.simulate_answers(second, seed=0) == len(ab_trials) - 3 and second.done
    rows = [r for r in _csv_rows(path) if r["listener"] == "t1"]
    assert sorted(r["trial_id"] for r in rows) == sorted(t.trial_id for t in ab_trials)
    with pytest.raises(ParameterError, match="answered all"):
        second.answer("A")


def test_a_duplicate_answer_is_refused(ab_trials, tmp_path):
    path = tmp_path / "ab.csv"
    log = listening.ResultsLog(path, "t1")
    log.record(ab_trials[0].trial_id, "A")
    with pytest.raises(DuplicateAnswerError):
        log.record(ab_trials[0].trial_id, "B")
    listening.ResultsLog(path, "t2").record(ab_trials[0].trial_id, "B")  # another listener may
    stale = listening.ABSession(ab_trials, tmp_path / "two.csv", "t1")  # two tabs open for one listener
    fresh = listening.ABSession(ab_trials, tmp_path / "two.csv", "t1")
    fresh.answer("B")
    with pytest.raises(DuplicateAnswerError):
        stale.answer("A")
    assert stale.current == ab_trials[1]  # skipped, and the first answer stands
    assert [r["answer"] for r in _csv_rows(tmp_path / "two.csv")] == ["B"]


@pytest.mark.parametrize("session_cls, answer", [(listening.ABSession, "C"), (listening.MOSSession, 6),
                                                 (listening.MOSSession, "good")])
def test_answers_outside_the_scale_are_refused(ab_trials, mos_trials, tmp_path, session_cls, answer):
    trials = ab_trials if session_cls is listening.ABSession else mos_trials
    session = session_cls(trials, tmp_path / "r.csv", "t1")
    with pytest.raises(ParameterError, match="one of"):
        session.answer(answer)
    assert not (tmp_path / "r.csv").exists()


def test_sessions_refuse_trials_of_the_other_task(ab_trials, tmp_path):
    with pytest.raises(ParameterError, match="'mos' trials"):
        listening.MOSSession(ab_trials, tmp_path / "r.csv", "t1")


def test_a_row_torn_by_a_crash_is_dropped(tmp_path):
    path = tmp_path / "r.csv"
    log = listening.ResultsLog(path, "t1")
    log.record("ab-1", "A")
    with path.open("a") as f:
        f.write("t1,ab-2,B,2024-01-0")  # the power went off mid-row
    assert log.answers() == {"ab-1": "A"}
    log.record("ab-2", "A")
    assert [r["answer"] for r in _csv_rows(path)] == ["A", "A"]


def test_a_foreign_csv_is_not_overwritten(tmp_path):
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError, match="not a listening-test results file"):
        listening.ResultsLog(tmp_path / "other.csv", "t1")


# ------------------------------------------------------------------------------------------- widgets


def test_ab_widget_buttons_record_answers(ab_trials, tmp_path):
    path = tmp_path / "ab.csv"
    ui = listening.ab_widget(ab_trials[:2], path, listener="t1")
    session = ui.session
    buttons = {w.description: w for w in _widget_tree(ui) if type(w).__name__ == "Button"}
    assert set(buttons) == {"A", "B", "no preference"}
    labels = [w.value for w in _widget_tree(ui) if type(w).__name__ == "Label"]
    assert "A" in labels and "B" in labels and any("trial 1 of 2" in v for v in labels)
    first = session.current
    buttons["B"].click()
    assert [(r["trial_id"], r["answer"]) for r in _csv_rows(path)] == [(first.trial_id, "B")]
    buttons["no preference"].click()
    assert _csv_rows(path)[-1]["answer"] == "none" and session.done
    assert all(b.disabled for b in buttons.values()) and "Done" in session.prompt.value
    buttons["A"].click()  # a click after the end changes nothing
    assert len(_csv_rows(path)) == 2


def test_mos_widget_has_five_grades(mos_trials, tmp_path):
    ui = listening.mos_widget(mos_trials, tmp_path / "mos.csv", listener="t1")
    session = ui.session
    assert list(session.buttons) == ["1", "2", "3", "4", "5"]
    trial = session.current
    assert "5 = " + listening.MOS_LABELS[trial.question][4] in session.prompt.value
    session.buttons["4"].click()
    session.answer(2)
    assert [r["answer"] for r in _csv_rows(tmp_path / "mos.csv")] == ["4", "2"]


# ------------------------------------------------------------------------------------------- analysis


def _key(rows) -> pd.DataFrame:
    return pd.DataFrame([{c: "" for c in listening.KEY_COLUMNS} | row for row in rows])


def _write_results(path, answers):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(listening.RESULT_COLUMNS)
        for listener, trial_id, answer in answers:
            writer.writerow([listener, trial_id, answer, "2024-01-01T00:00:00+00:00"])


def test_analyze_ab_on_known_answers(tmp_path):
    # 10 trials X vs Y (angry, emotion question), X played as A in the even ones: 8 prefer X, 1 Y, 1 no preference
    rows, answers = [], []
    for k in range(10):
        x_label, y_label = ("A", "B") if k % 2 == 0 else ("B", "A")
        common = dict(trial_id=f"t{k}", task="ab", question="emotion", target_emotion="angry", system_1="X",
                      system_2="Y")
        rows += [dict(common, label=x_label, system="X"), dict(common, label=y_label, system="Y")]
        answers.append(("l1" if k < 5 else "l2", f"t{k}", x_label if k < 8 else y_label if k == 8 else "none"))
    _write_results(tmp_path / "ab.csv", answers)
    table = listening.analyze_ab(tmp_path / "ab.csv", _key(rows)).set_index("preferred")
    assert list(table.index) == ["X", "Y", "none"]
    assert table.loc["X", "count"] == 8 and table.loc["X", "n"] == 10 and table.loc["X", "pct"] == pytest.approx(80.0)
    assert table.loc["none", "pct"] == pytest.approx(10.0) and table.loc["X", "n_listeners"] == 2
    z, p, n = 1.959963984540054, 0.8, 10  # Wilson: (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / 400)
    assert table.loc["X", "ci_low"] == pytest.approx(100 * (centre - half))  # 49.0 %
    assert table.loc["X", "ci_high"] == pytest.approx(100 * (centre + half))  # 94.3 %
    assert table.loc["X", "ci_low"] == pytest.approx(49.016, abs=1e-3)
    assert table.loc["X", "ci_high"] == pytest.approx(94.331, abs=1e-3)
    assert table.loc["X", "p_value"] == pytest.approx(20 / 512)  # two-sided sign test, 8 of 9 decisive answers


def test_analyze_mos_on_known_ratings(tmp_path):
    ratings = {"X": [4, 5, 3, 4, 4], "Y": [2, 2]}
    rows, answers = [], []
    for system, scores in ratings.items():
        for k, score in enumerate(scores):
            trial = f"{system}{k}"
            rows.append(dict(trial_id=trial, task="mos", question="naturalness", label="clip", system=system,
                             target_emotion="sad"))
            answers.append((f"l{k}", trial, str(score)))
    rows.append(dict(trial_id="X0", task="mos", question="naturalness", label="reference", system="source",
                     target_emotion="sad"))  # a reference clip is not what is rated
    _write_results(tmp_path / "mos.csv", answers)
    table = listening.analyze_mos([tmp_path / "mos.csv"], _key(rows)).set_index("system")
    x = table.loc["X"]
    assert (x["n"], x["mean"], x["n_listeners"]) == (5, 4.0, 5) and x["std"] == pytest.approx(math.sqrt(0.5))
    half = 2.7764451051977987 * math.sqrt(0.5) / math.sqrt(5)  # t(0.975, 4) · s / √n
    assert (x["ci_low"], x["ci_high"]) == pytest.approx((4 - half, 4 + half))
    assert table.loc["Y", "mean"] == 2.0 and table.loc["Y", "ci_low"] == table.loc["Y", "ci_high"] == 2.0
    assert list(table.index) == ["X", "Y"] and set(table["target_emotion"]) == {"sad"}


def test_analysis_of_a_session_reads_only_the_csv_and_key(ab_trials, mos_trials, tmp_path):
    for trials, cls, name in ((ab_trials, listening.ABSession, "ab"), (mos_trials, listening.MOSSession, "mos")):
        listening.save_key(trials, tmp_path / f"key_{name}.csv")
        listening.simulate_answers(cls(trials, tmp_path / f"{name}.csv", "t1"), seed=3)
    ab = listening.analyze_ab(tmp_path / "ab.csv", tmp_path / "key_ab.csv")
    assert set(ab["target_emotion"]) == {*EMOTIONS, "all"}
    sums = ab.groupby(["question", "target_emotion"])["pct"].sum()
    np.testing.assert_allclose(sums, 100.0)
    assert ab.groupby(["question", "target_emotion"])["n"].first()[("emotion", "all")] == len(TEXTS) * len(EMOTIONS)
    mos = listening.analyze_mos(tmp_path / "mos.csv", tmp_path / "key_mos.csv")
    assert mos["n"][mos["target_emotion"] == "all"].sum() == len(mos_trials)
    assert list(dict.fromkeys(mos["system"])) == ["source", *SYSTEMS, "target"]
    with pytest.raises(DatasetError, match="not in the key"):
        listening.analyze_mos(tmp_path / "ab.csv", tmp_path / "key_mos.csv")
    out = listening.write_summary(tmp_path / "06.json", ab, mos, listener="t1")
    assert '"listener": "t1"' in out.read_text() and "NaN" not in out.read_text()

    fig, axes = plt.subplots(1, 2)
    plotting.plot_mos(mos, "naturalness", ax=axes[0])
    # a bar per converted or target system and emotion; the source's one file is rated once ("angry+happy")
    assert len(axes[0].patches) == (len(set(mos["system"])) - 1) * len(EMOTIONS) + 1
    plotting.plot_preference(ab, ax=axes[1])
    assert len(axes[1].patches) == 3 * len(listening.AB_QUESTIONS)
    plt.close(fig)


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (3, 7), (0, 0)])
def test_wilson_interval_matches_scipy(k, n):
    from scipy import stats

    low, high = listening.wilson_interval(k, n)
    if n == 0:
        assert math.isnan(low) and math.isnan(high)
        return
    expected = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert (low, high) == pytest.approx((expected.low, expected.high))


# ------------------------------------------------------------------------------------------- items


def test_items_come_from_a_manifest_or_notebook_04s_evaluation_csv(items, tmp_path):
    with pytest.raises(DatasetError, match="evaluation.csv"):
        listening.load_items(tmp_path)
    write_manifest(items, tmp_path / "with_manifest")
    assert listening.load_items(tmp_path / "with_manifest") == items
    table = pd.DataFrame([{"system": i.system, "path": str(i.path), "speaker": i.speaker,
                           "target_emotion": i.target_emotion, "source_emotion": i.source_emotion,
                           "text_id": i.text_id, "source_path": str(i.source_path),
                           "reference_path": str(i.reference_path), "mcd_db": 5.0, "error": ""} for i in items])
    (tmp_path / "evaluated").mkdir()
    pd.concat([table, table.head(2)]).to_csv(tmp_path / "evaluated" / "evaluation.csv", index=False)
    assert listening.load_items(tmp_path / "evaluated") == items  # the repeated rows are dropped
    assert listening.items_from_evaluation_csv(tmp_path / "evaluated" / "evaluation.csv") == items
    table.loc[0, "path"] = "gone.wav"
    table.to_csv(tmp_path / "evaluated" / "evaluation.csv", index=False)
    with pytest.raises(DatasetError, match="1 audio file.* missing"):
        listening.load_items(tmp_path / "evaluated")


def test_demo_items_fall_back_to_tones_without_a_corpus(tmp_path):
    demo = listening.demo_items(tmp_path, root=tmp_path / "no_corpora")
    assert {i.system for i in demo} == {"source", "target"} and all(i.path.is_file() for i in demo)
    assert len(listening.make_ab_trials(demo, ("source", "target"))) == 2 * 2 * 2


# ----------------------------------------------------------------------------- the listener page (Voila)


def _append_answers(path: str, listener: str, n: int) -> int:
    """Record answers to ``trial-0`` ... ``trial-<n-1>``; the number refused as already answered."""
    log, refused = listening.ResultsLog(path, listener), 0
    for k in range(n):
        try:
            log.record(f"trial-{k}", "A")
        except DuplicateAnswerError:
            refused += 1
    return refused


def _append_in_process(path: str, listener: str, n: int, refused) -> None:
    refused.value = _append_answers(path, listener, n)


def test_listeners_answering_at_once_lose_no_row_and_answer_each_trial_once(tmp_path):
    """The Voila page gives each visitor a kernel of their own, all appending to one CSV; one listener may have the
    page open twice."""
    import multiprocessing

    path = tmp_path / "results_ab.csv"
    context = multiprocessing.get_context("spawn")
    refused = [context.Value("i", -1) for _ in range(4)]
    listeners = ["ann", "bob", "cy", "cy"]  # cy answers in two windows at once
    workers = [context.Process(target=_append_in_process, args=(str(path), name, 40, count))
               for name, count in zip(listeners, refused)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * 4
    rows = _csv_rows(path)
    assert list(rows[0]) == list(listening.RESULT_COLUMNS) and len(rows) == 3 * 40
    assert sorted((r["listener"], r["trial_id"]) for r in rows) == sorted(
        (name, f"trial-{i}") for name in ("ann", "bob", "cy") for i in range(40))
    assert refused[0].value == refused[1].value == 0 and refused[2].value + refused[3].value == 40


def test_an_answer_waits_for_the_lock(tmp_path):
    import multiprocessing

    from emocore.io import locked

    path = tmp_path / "results_ab.csv"
    context = multiprocessing.get_context("spawn")
    count = context.Value("i", -1)
    with locked(path):
        worker = context.Process(target=_append_in_process, args=(str(path), "ann", 1, count))
        worker.start()
        worker.join(3)
        assert worker.is_alive() and not path.exists()  # it waits while another writer holds the file
    worker.join(60)
    assert worker.exitcode == 0 and [r["trial_id"] for r in _csv_rows(path)] == ["trial-0"]


def test_the_key_is_replaced_whole_and_keeps_other_trials(ab_trials, mos_trials, tmp_path, monkeypatch):
    path = listening.save_key(ab_trials, tmp_path / "key.csv")
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("emocore.io.write_text_atomic", fail)
    with pytest.raises(OSError):
        listening.save_key(mos_trials, path)
    assert path.read_bytes() == before  # a failed write leaves the old key as it was
    monkeypatch.undo()
    listening.save_key(mos_trials, path)
    assert set(listening.load_key(path)["trial_id"]) == {t.trial_id for t in [*ab_trials, *mos_trials]}


def test_listening_trials_are_notebook_06s(items):
    ab, mos = listening.listening_trials(items, SYSTEMS, seed=3, n_trials=4)
    assert [t.trial_id for t in ab] == [t.trial_id for t in listening.make_ab_trials(items, SYSTEMS, seed=3)][:4]
    assert [t.trial_id for t in mos] == [
        t.trial_id for t in listening.make_mos_trials(items, seed=3, systems=SYSTEMS)][:4]
    assert len(listening.listening_trials(items, SYSTEMS)[0]) == len(listening.make_ab_trials(items, SYSTEMS))


def test_listener_page_asks_for_a_name_then_records_under_it(items, tmp_path):
    write_manifest(items, tmp_path / "manifest")
    data_dir = tmp_path / "data"
    page = listening.listener_page(tmp_path / "manifest", data_dir, SYSTEMS, seed=1, n_trials=2)
    texts, blobs = _shown(page)
    assert not blobs and not page.sessions  # no clip before a name is given
    page.start("  ")
    assert listening.page.NAME_FIRST in _shown(page)[0] and not page.sessions
    page.start("ann")
    ab, mos = page.sessions
    assert [t.trial_id for t in ab.trials] == [t.trial_id for t in listening.listening_trials(
        items, SYSTEMS, seed=1, n_trials=2)[0]]
    shown = " ".join(_shown(page)[0])
    assert not any(s in shown for s in SYSTEMS) and "neutral2" not in shown  # blind: no system, no file name
    out_dir = data_dir / "results" / "06_listening"
    ab.answer("B")
    mos.answer(5)
    assert [(r["listener"], r["answer"]) for r in _csv_rows(out_dir / "results_ab.csv")] == [("ann", "B")]
    assert [(r["listener"], r["answer"]) for r in _csv_rows(out_dir / "results_mos.csv")] == [("ann", "5")]
    assert not (out_dir / "key_ab.csv").exists()  # the keys are emocore-listen's to write, once
    # the same name later continues where it stopped
    again = listening.listener_page(tmp_path / "manifest", data_dir, SYSTEMS, seed=1, n_trials=2)
    again.start("ann")
    assert again.sessions[0].current.trial_id == ab.trials[1].trial_id


def test_listener_page_notebook_calls_the_page_with_absolute_paths(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.chdir(tmp_path)
    path = listening.write_page_notebook(tmp_path / "page" / "test.ipynb", "manifest", "data", ["x", "y"], seed=2,
                                         smoke=True)
    cells = nbformat.read(str(path), as_version=4).cells
    assert len(cells) == 1 and cells[0].cell_type == "code"
    code = cells[0].source
    assert "listening.listener_page(" in code and f"'data_dir': '{tmp_path / 'data'}'" in code
    assert "'systems': ['x', 'y'], 'seed': 2, 'n_trials': 0, 'smoke': True" in code
    compile(code, "page", "exec")
