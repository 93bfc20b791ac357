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


@pytest.mark.slow
def test_training_benchmark_prints_iterations_per_second(capsys):
    rows = bench.training_speed(widths=(0.125,), steps=1, warmup=0, n_frames=32)  # one trace: ~30 s on 2 cores
    printed = capsys.readouterr().out
    assert "it/s identity" in printed and "first step (s)" in printed
    assert rows[0]["x_first"] == 1.0 and rows[0]["width"] == 0.125 and rows[0]["gen_params"] > 0
    assert all(r["first_step_s"] > 0 and r["it_per_s_identity"] > 0 and r["it_per_s_no_identity"] > 0 for r in rows)


# ---------------------------------------------------------------------- long inputs (emocore-bench memory)


def test_speech_like_input_without_corpora_is_synthetic_words_and_pauses(tmp_path):
    import numpy as np

    wav, what = bench.speech_like_input(5.0, 16000, root=tmp_path)
    assert wav.shape == (80000,) and "synthetic" in what and np.max(np.abs(wav)) <= 1.0
    frame_rms = np.sqrt(np.mean(wav[: 80000 // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    assert frame_rms.min() < 0.01 < frame_rms.max()  # pauses between the words


def test_difference_of_identical_signals_is_infinite_snr():
    import numpy as np

    x = np.sin(np.arange(4000) / 7.0)
    same = bench._difference(x, x.copy())
    assert same == {"max_abs": 0.0, "snr_db": float("inf"), "spectral_snr_db": float("inf")}
    shifted = bench._difference(np.roll(x, 3), x)  # a phase shift: the waveform differs, the spectrum hardly
    assert shifted["snr_db"] < 10 < shifted["spectral_snr_db"]
