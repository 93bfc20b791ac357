"""Tests of emocore.evaluation.significance: paired (McNemar) comparisons of two systems on the same files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emocore.evaluation.significance import main, mcnemar_exact, paired_comparison
from emocore.exceptions import ParameterError


def _table(system: str, egemaps, logmel, group="tess", target="happy", offset=0) -> pd.DataFrame:
    n = len(egemaps)
    return pd.DataFrame({"group": group, "system": system, "speaker": "OAF",
                         "source_path": [f"/data/w{offset + k}.wav" for k in range(n)], "target_emotion": target,
                         "emotion_correct": np.asarray(egemaps, dtype=float),
                         "emotion_correct_logmel": np.asarray(logmel, dtype=float)})


def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_files():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(6, 0) == pytest.approx(2 * 0.5 ** 6)  # 0.031: six wins and no loss is more than chance
    assert mcnemar_exact(4, 1) == pytest.approx(stats.binomtest(1, 5, 0.5).pvalue) == pytest.approx(0.375)
    assert mcnemar_exact(3, 7) == mcnemar_exact(7, 3)


def test_counts_gains_and_losses_per_cell_and_judge_and_pools_them():
    a = pd.concat([_table("cwt", [1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]),
                   _table("cwt", [1, 1, 1, 1], [1, 1, 1, 1], group="unseen", target="sad", offset=100)])
    b = pd.concat([_table("learned", [1, 1, 1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 1, 1, 0]),
                   _table("learned", [1, 1, 1, 0], [1, 1, 1, 1], group="unseen", target="sad", offset=100)])
    table = paired_comparison(a, b, baseline_system="cwt", system_name="learned").set_index(
        ["group", "target_emotion", "judge"])
    row = table.loc[("tess", "happy", "egemaps")]
    assert (row.n, row.baseline_pct, row.system_pct, row.gained, row.lost) == (8, 25.0, 87.5, 5, 0)
    assert row.p_value == pytest.approx(2 * 0.5 ** 5)
    row = table.loc[("tess", "happy", "logmel")]
    assert (row.gained, row.lost) == (3, 1)  # file 0 lost, files 4-6 gained
    row = table.loc[("tess", "happy", "both")]  # heard by both judges: baseline files 0-1, system files 1-6
    assert (row.baseline_pct, row.system_pct, row.gained, row.lost) == (25.0, 75.0, 5, 1)
    assert table.loc[("unseen", "sad", "egemaps")][["gained", "lost"]].tolist() == [0, 1]
    pooled = table.loc[("all", "pooled", "egemaps")]
    assert (pooled.n, pooled.gained, pooled.lost) == (12, 5, 1)
    assert table.loc[("tess", "pooled", "egemaps")].n == 8 and table.loc[("unseen", "pooled", "egemaps")].n == 4


def test_only_files_both_systems_converted_and_scored_are_compared():
    a = _table("cwt", [1, 0, 0, 1], [1, 0, 0, 1])
    b = _table("learned", [1, 1, 1], [1, 1, 1], offset=1)  # files 1-3 only
    b.loc[2, "emotion_correct"] = np.nan  # file 3 failed to score with eGeMAPS
    table = paired_comparison(a, b, baseline_system="cwt", system_name="learned").set_index(
        ["target_emotion", "judge"])
    egemaps = table.loc[("happy", "egemaps")]
    assert (egemaps.n, egemaps.gained, egemaps.lost) == (2, 2, 0)
    assert table.loc[("happy", "logmel")].n == 3 and table.loc[("happy", "both")].n == 2


def test_a_file_that_failed_to_score_is_left_out_even_with_a_verdict():
    a = _table("cwt", [0, 0, 0], [0, 0, 0])
    b = _table("learned", [1, 1, 1], [1, 1, 1])
    b["error"] = ["", "speaker embedding failed", np.nan]
    row = paired_comparison(a, b, baseline_system="cwt", system_name="learned").iloc[0]
    assert (row.n, row.gained) == (2, 2)


def test_refuses_tables_it_cannot_pair():
    a = _table("cwt", [1, 0], [1, 0])
    with pytest.raises(ParameterError, match="no scored rows of system 'other'"):
        paired_comparison(a, a, baseline_system="cwt", system_name="other")
    with pytest.raises(ParameterError, match="no converted file in common"):
        paired_comparison(a, _table("learned", [1, 1], [1, 1], offset=10), baseline_system="cwt",
                          system_name="learned")
    with pytest.raises(ParameterError, match="several rows"):
        paired_comparison(pd.concat([a, a]), a, baseline_system="cwt", system_name="cwt")
    with pytest.raises(ParameterError, match="no judge column"):
        paired_comparison(a.drop(columns=["emotion_correct", "emotion_correct_logmel"]), a, baseline_system="cwt",
                          system_name="cwt")


def test_the_command_compares_two_files_or_two_systems_of_one_and_writes_no_file_over_another(tmp_path, capsys):
    one = pd.concat([_table("cwt", [0, 0, 0, 0, 0, 0], [0] * 6), _table("learned", [1] * 6, [1] * 6)])
    one.to_csv(tmp_path / "evaluation.csv", index=False)
    _table("tuned", [1] * 6, [0] * 6).to_csv(tmp_path / "other.csv", index=False)
    assert main([f"{tmp_path / 'evaluation.csv'}:cwt", f"{tmp_path / 'evaluation.csv'}:learned",
                 "--out", str(tmp_path / "cmp.csv")]) == 0
    out = capsys.readouterr().out
    assert "learned against cwt" in out and "0.031" in out
    written = pd.read_csv(tmp_path / "cmp.csv")
    assert written[written["judge"] == "both"]["gained"].tolist()[0] == 6
    assert main([f"{tmp_path / 'evaluation.csv'}:cwt", str(tmp_path / "other.csv")]) == 0  # one system: named alone
    odd = tmp_path / "run:2" / "eval:1.csv"  # colons in the folder and the file name
    odd.parent.mkdir()
    _table("7", [0] * 6, [0] * 6).to_csv(odd, index=False)  # a system name that reads as a number
    assert main([str(odd), f"{tmp_path / 'evaluation.csv'}:learned"]) == 0
    assert main([f"{odd}:7", f"{tmp_path / 'evaluation.csv'}:learned"]) == 0
    assert "learned against 7" in capsys.readouterr().out
    for argv, message in (([str(tmp_path / "evaluation.csv"), str(tmp_path / "other.csv")], "name one"),
                          ([f"{tmp_path / 'evaluation.csv'}:cwt"] * 2, "same rows"),
                          ([str(tmp_path / "missing.csv"), str(tmp_path / "other.csv")], "missing.csv"),
                          ([f"{tmp_path / 'evaluation.csv'}:cwt", str(tmp_path / "other.csv"), "--out",
                            str(tmp_path / "cmp.csv")], "exists")):
        before = (tmp_path / "cmp.csv").read_bytes()
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 1 and message in capsys.readouterr().err
        assert (tmp_path / "cmp.csv").read_bytes() == before


def test_format_comparison_shows_whole_percents_small_p_values_and_optionally_the_pooled_rows_only():
    from emocore.evaluation.significance import format_comparison

    a = pd.concat([_table("cwt", [0] * 12, [0] * 12), _table("cwt", [1] * 4, [1] * 4, group="unseen", offset=50)])
    b = pd.concat([_table("learned", [1] * 12, [1] * 12), _table("learned", [1] * 4, [1] * 4, group="unseen",
                                                                  offset=50)])
    table = paired_comparison(a, b, baseline_system="cwt", system_name="learned")
    text = format_comparison(table)
    assert "0.00049" in text and "unseen" in text  # 12 gained, none lost: p = 2 * 0.5 ** 12, not rounded to 0
    pooled = format_comparison(table, pooled_only=True).splitlines()
    assert len(pooled) == 1 + 3 and all(" all " in f" {line} " for line in pooled[1:])  # header + three judges
