import pytest

from emocore import bench


@pytest.mark.real_data
def test_extraction_benchmark_prints_throughput(corpora_root, capsys):
    rows = bench.extraction_throughput(n_files=2)
    printed = capsys.readouterr().out
    assert "audio s / s" in printed and "cache hit" in printed
    assert [r["f0_method"] for r in rows][0] == "harvest" and rows[0]["x_baseline"] == 1.0
    by_method = {r["f0_method"]: r for r in rows if r["workers"] == 1}
    # a warm cache only reads .npz files: far faster than analysing audio
    assert by_method["cache hit"]["audio_s_per_s"] > 5 * by_method["harvest"]["audio_s_per_s"]
    assert all(r["audio_s_per_s"] > 0 for r in rows)
