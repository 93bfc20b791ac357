"""``make results``' logic: the README results table, the notebooks it runs, the multi-speaker tables."""

from __future__ import annotations

import pandas as pd

from emocore import pretrained
from emocore import results as make_results


def _summary() -> pd.DataFrame:
    rows = []
    for emotion in ("sad", "angry"):
        for k, system in enumerate(("target", "f0+power", "emocyclegan", "source", "f0-only")):
            rows.append({"system": system, "target_emotion": emotion, "n": 16, "emotion_accuracy_pct": 10.0 * k,
                         "judge_ceiling_pct": 93.75, "emotion_accuracy_logmel_pct": 5.0 * k,
                         "judge_ceiling_logmel_pct": 87.5, "speaker_similarity": 0.81234, "nearest_speaker_correct_pct": 100.0,
                         "dnsmos_ovrl": 2.8461, "mcd_db": 5.0 + k, "f0_rmse_hz": 40.04 + k})
    return pd.DataFrame(rows)


def test_results_table_orders_systems_per_emotion_and_rounds():
    table = make_results.results_table(_summary())
    assert list(table["target_emotion"]) == ["angry"] * 4 + ["sad"] * 4
    assert list(table["system"][:4]) == ["source", "f0-only", "emocyclegan", "target"]  # no f0+power, no MUNIT
    angry_cyclegan = table.iloc[2]
    assert angry_cyclegan["eGeMAPS judge %"] == 20.0 and angry_cyclegan["log-mel judge %"] == 10.0
    assert angry_cyclegan["log-mel ceiling %"] == 88.0 and angry_cyclegan["MCD dB"] == 7.0
    assert angry_cyclegan["speaker sim."] == 0.812 and angry_cyclegan["DNSMOS"] == 2.85
    assert list(table.columns[:3]) == ["target_emotion", "system", "n"]


def test_results_table_markdown_shows_missing_metrics_as_a_dash():
    summary = _summary().drop(columns=["dnsmos_ovrl", "emotion_accuracy_logmel_pct", "judge_ceiling_logmel_pct"])
    markdown = make_results.to_markdown(make_results.results_table(summary)).splitlines()
    assert markdown[0].startswith("| target_emotion | system | n | eGeMAPS judge % | log-mel judge %")
    assert markdown[1].startswith("|---|---|---:")
    assert len(markdown) == 2 + 8 and all(line.count("|") == markdown[0].count("|") for line in markdown)
    assert markdown[4] == "| angry | emocyclegan | 16 | 20 | — | 94 | — | 0.812 | 100 | — | 7 | 42 |"


def test_results_without_pretrained_models_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(pretrained.PRETRAINED_ENV_VAR, str(tmp_path / "empty"))
    assert make_results.main([]) == 1
    assert "emocore-export" in capsys.readouterr().err


def test_results_table_keeps_speakers_apart_when_the_summary_has_them():
    per_speaker = pd.concat([_summary().assign(speaker="YAF"), _summary().assign(speaker="OAF")])
    table = make_results.results_table(per_speaker)
    assert list(table.columns[:4]) == ["target_emotion", "speaker", "system", "n"]
    assert list(table["speaker"][:8]) == ["OAF"] * 4 + ["YAF"] * 4 and list(table["target_emotion"][:8]) == ["angry"] * 8
    assert make_results.to_markdown(table).splitlines()[1].startswith("|---|---|---|---:|")


def test_multispeaker_tables_are_copied_where_the_readme_reads_them(tmp_path):
    from pathlib import Path

    out, figures = tmp_path / "results" / "multispeaker", tmp_path / "figures"
    out.mkdir(parents=True)
    results = pd.DataFrame({"group": ["tess", "unseen"], "target_emotion": ["angry", "angry"],
                            "system": ["emostargan", "emostargan"], "eGeMAPS judge %": [97.0, 75.0]})
    intensity = pd.DataFrame({"target_emotion": ["angry"] * 2, "intensity": [0.0, 1.0],
                              "p_target_egemaps": [0.166, 0.677]})
    results.to_csv(out / "results.csv", index=False)
    intensity.to_csv(out / "intensity.csv", index=False)

    def entry(name):
        return pretrained.PretrainedModel(name, Path("unused"), "emostargan", ("neutral", "angry", "happy"), 1, 1.0, 1.0)

    got, got_intensity = make_results.multispeaker_tables(entry(pretrained.DEFAULT_PRETRAINED), out, figures, evaluate=False)
    pd.testing.assert_frame_equal(got, results)
    pd.testing.assert_frame_equal(pd.read_csv(figures / "results_multispeaker.csv"), results)
    pd.testing.assert_frame_equal(pd.read_csv(figures / "intensity_multispeaker.csv"), intensity)
    # another multi-speaker model does not overwrite the default model's tables
    make_results.multispeaker_tables(entry("other"), out, figures, evaluate=False)
    assert (figures / "results_multispeaker-other.csv").is_file()
    assert "| tess | angry | emostargan | 97 |" in make_results.to_markdown(got)
    assert not (figures / "retakes_multispeaker.csv").exists()  # an evaluation written before there were retakes
    retakes = pd.DataFrame({"target_emotion": ["angry"], "n": [16], "mcd_db": [5.19], "f0_rmse_hz": [56.83],
                            "log_f0_pearson": [0.63]})
    retakes.to_csv(out / "retakes.csv", index=False)
    make_results.multispeaker_tables(entry(pretrained.DEFAULT_PRETRAINED), out, figures, evaluate=False)
    pd.testing.assert_frame_equal(pd.read_csv(figures / "retakes_multispeaker.csv"), retakes)


def test_stream_variants_name_every_stream_alone_and_together_and_all_parse():
    from emocore.conversion import parse_streams

    plain, contour = make_results.stream_variants(), make_results.stream_variants(f0_contour=True)
    learned = make_results.stream_variants(learned=True)
    breath = make_results.stream_variants(learned=True, aperiodicity=True)
    for variants in (plain, contour, learned, breath):
        switches = [parse_streams(v) for v in variants]  # every name is one the conversion path reads
        assert variants[0] == "none" and len(set(variants)) == len(variants)
        assert {"f0=cwt", "power=cwt", "rhythm", "mcep"} <= set(variants)
        assert ("f0=cwt+power=cwt+mcep+rhythm" in variants) != ("f0=cwt+power=cwt+mcep+ap+rhythm" in variants)
        assert all(s["power"] in (False, "log-gaussian", "cwt", "learned") for s in switches)  # always named
        assert all(s["mcep"] and s["power"] for s, v in zip(switches, variants) if v.count("+") >= 2)
    assert not any("contour" in v for v in plain)
    assert {"f0=contour", "f0=contour+power=cwt+mcep", "f0=contour+power=cwt+mcep+rhythm"} <= set(contour)
    assert not any("learned" in v for v in plain + contour)
    assert {"f0=learned", "power=learned", "f0=learned+power=learned+mcep", "f0=learned+power=cwt+mcep",
            "f0=learned+power=learned+mcep+rhythm", "f0=learned+power=cwt+mcep+rhythm"} <= set(learned)
    assert not any(parse_streams(v)["ap"] for v in plain + contour + learned)
    # with the aperiodicity: the stream alone, every full variant with it, the default also without it
    assert {"ap", "f0=learned+power=cwt+mcep", "f0=learned+power=cwt+mcep+ap",
            "f0=learned+power=cwt+mcep+ap+rhythm", "f0=cwt+power=cwt+mcep+ap"} <= set(breath)
    assert all(parse_streams(v)["ap"] for v in breath if v.count("+") >= 2 and v != "f0=learned+power=cwt+mcep")
    assert len(breath) == len(learned) + 2


def test_the_notebook_runs_ablate_the_first_pair_and_the_default_multi_speaker_model(tmp_path):
    models = pretrained.list_pretrained()
    runs = make_results.notebook_runs(models, tmp_path)
    outputs = [output for _, output, _ in runs]
    assert outputs == ["01_preprocess", "02_vocoder_comparison", "04_evaluate", "05_f0_ablation",
                       "05_f0_ablation_emostargan", "06_listening_test"]
    parameters = dict((output, values) for _, output, values in runs)
    assert len(parameters["04_evaluate"]["MODEL_DIRS"]) == len(models)
    multi = parameters["05_f0_ablation_emostargan"]
    assert multi["MODEL_DIRS"] == [str(pretrained.default_model())] and multi["TAG"] == "_emostargan"
    assert {"ap", "f0=cwt+power=cwt+mcep+ap+rhythm"} <= set(multi["VARIANTS"]) and multi["PAIR"] == make_results.STREAM_PAIR
    first = [m for m in models if str(m.path) in parameters["05_f0_ablation"]["MODEL_DIRS"]]
    assert first and all(len(m.emotions) == 2 and m.emotions == first[0].emotions for m in first)


def test_make_results_reads_the_models_streams_without_keras_and_a_model_without_speakers_json(tmp_path):
    import subprocess
    import sys

    code = ("import sys, emocore.results as r; from pathlib import Path; "
            "r.notebook_runs(r.pretrained.list_pretrained(), Path('data')); "
            "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert not make_results._measures_aperiodicity(tmp_path)  # no speakers.json: no ap rows, no crash
    (tmp_path / "speakers.json").write_text("{not json")
    assert not make_results._measures_aperiodicity(tmp_path)
    assert make_results._measures_aperiodicity(pretrained.default_model())


def test_results_without_corpora_says_how_to_get_them_and_runs_no_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMOCORE_DATA_DIR", str(tmp_path / "no-corpora"))
    assert make_results.main(["--build-dir", str(tmp_path / "build")]) == 1
    assert "emocore-download" in capsys.readouterr().out
    assert not (tmp_path / "build").exists()
