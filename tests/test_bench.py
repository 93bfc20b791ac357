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
def test_training_benchmark_prints_iterations_per_second_against_the_reference(capsys, monkeypatch):
    from emocore.bench import training

    monkeypatch.setattr(training, "REFERENCE", ("cyclegan", 0.125, False))  # a small reference: one trace ~10 s
    monkeypatch.setattr(training, "matmul_gflops", lambda: 100.0)  # a known machine rate
    rows = bench.training_speed(["emostargan", "emostargan:discriminator=1d"], widths=(0.125,), steps=1, warmup=0,
                                n_frames=32, batch_size=1)
    printed = capsys.readouterr().out
    assert "it/s" in printed and "first step (s)" in printed and "x reference" in printed
    assert [(r["model"], r["width"]) for r in rows] == [("cyclegan", 0.125), ("emostargan", 0.125),
                                                        ("emostargan:discriminator=1d", 0.125)]
    # the same generator; the 1-D discriminator's step does less work
    assert rows[2]["gen_params"] == rows[1]["gen_params"] and rows[2]["gflop_per_step"] < rows[1]["gflop_per_step"]
    assert "emostargan:discriminator=1d" in printed
    assert rows[0]["gen_params"] != rows[1]["gen_params"] and not any(r["xla"] for r in rows)
    assert rows[0]["x_reference"] == 1.0 and all(r["gen_params"] > 0 for r in rows)
    assert all(r["first_step_s"] > 0 and r["it_per_s"] > 0 for r in rows)
    assert all(r["first_step_min_s"] == r["first_step_s"] == r["first_step_max_s"] for r in rows)  # one build each
    assert rows[1]["x_reference"] == pytest.approx(rows[1]["it_per_s"] / rows[0]["it_per_s"])
    # the step's arithmetic and its rate next to the process's matrix-product throughput
    assert "GFLOP/step" in printed and "% matmul" in printed and "against a 100 GFLOP/s" in printed
    import tensorflow as tf

    intra, inter = (tf.config.threading.get_intra_op_parallelism_threads(),
                    tf.config.threading.get_inter_op_parallelism_threads())
    assert (f"{inter} ops at once, each split over {intra} thread(s)" if intra and inter
            else "TensorFlow's default threads") in printed  # the threads it ran on
    assert rows[1]["gflop_per_step"] > rows[0]["gflop_per_step"] > 0  # 4 emotions' crops against 2
    for r in rows:
        assert r["gflop_per_s"] == pytest.approx(r["gflop_per_step"] * r["it_per_s"])
        assert r["pct_of_matmul"] == pytest.approx(r["gflop_per_s"])  # against 100 GFLOP/s


@pytest.mark.slow
def test_step_gflop_counts_the_work_of_every_crop():
    """Twice the crops, twice the arithmetic: what the profiler counts is the convolutions, their gradients and the
    element-wise work on the crops, all in proportion to the batch (the fused Adam update is not counted)."""
    import numpy as np

    from emocore import models
    from emocore.bench.training import matmul_gflops, step_gflop
    from emocore.config import ModelConfig, TrainConfig
    from emocore.models.base import build_training_model

    gflop = {}
    for batch_size in (1, 2):
        model_cfg = ModelConfig(width=0.125, n_emotions=2)
        model = build_training_model(models.get("cyclegan"), model_cfg, TrainConfig(batch_size=batch_size, n_frames=64))
        rng = np.random.default_rng(0)
        model.train_on_segments([(rng.standard_normal((batch_size, 64, model_cfg.mcep_dim)).astype("float32"),
                                  rng.standard_normal((batch_size, 64)).astype("float32")) for _ in range(2)])
        gflop[batch_size] = step_gflop(model)
    assert gflop[2] / gflop[1] == pytest.approx(2.0, rel=0.05)
    assert 1 < matmul_gflops(n=256, repeats=2) < 1e5


@pytest.fixture
def small_bench(monkeypatch):
    """A bench whose reference is a small EmoCycleGAN, on a known 100 GFLOP/s machine; returns the list of every
    model built, as ``(model_cfg, train_cfg)``."""
    from emocore.bench import training
    from emocore.models import base

    built = []
    real = base.build_training_model
    monkeypatch.setattr(base, "build_training_model", lambda *a, **k: built.append(a[1:3]) or real(*a, **k))
    monkeypatch.setattr(training, "REFERENCE", ("cyclegan", 0.125, False))
    monkeypatch.setattr(training, "matmul_gflops", lambda: 100.0)
    return built


def test_training_benchmark_repeats_builds_and_gives_medians_and_the_range(capsys, small_bench):
    from emocore.exceptions import ParameterError

    rows = bench.training_speed(["cyclegan"], widths=(0.125,), steps=1, warmup=0, n_frames=32, batch_size=1,
                                repeats=3)
    assert [m.width for m, _ in small_bench] == [0.125] * 3 and len(rows) == 1  # the reference alone, built 3 times
    (row,) = rows
    assert row["first_step_min_s"] <= row["first_step_s"] <= row["first_step_max_s"]
    printed = capsys.readouterr().out
    assert "over 3 builds" in printed and "medians of 3 fresh builds" in printed and "range (s)" in printed
    with pytest.raises(ParameterError, match="repeats must be at least 1"):
        bench.training_speed(["cyclegan"], repeats=0)


def test_training_benchmark_gives_a_row_per_precision_against_the_float32_reference(capsys, small_bench):
    from emocore.exceptions import ParameterError

    rows = bench.training_speed(["cyclegan"], widths=(0.125,), steps=1, warmup=0, n_frames=32, batch_size=1,
                                precisions=("float32", "bfloat16"))
    # the float32 row is the reference itself; the bfloat16 one is built with bfloat16 convolutions
    assert [t.precision for _, t in small_bench] == ["float32", "bfloat16"]
    assert [r["precision"] for r in rows] == ["float32", "bfloat16"]
    assert rows[1]["gflop_per_step"] == pytest.approx(rows[0]["gflop_per_step"])  # the same work
    printed = capsys.readouterr().out
    assert "precision" in printed and "bfloat16" in printed
    with pytest.raises(ParameterError, match="precision must be one of"):
        bench.training_speed(["cyclegan"], widths=(0.125,), precisions=("float16",))
    assert len(small_bench) == 2  # refused before anything was built


def test_training_benchmark_refuses_an_unknown_model_before_measuring_anything(capsys, monkeypatch):
    from emocore.exceptions import ParameterError
    from emocore.models import base

    def build(*args, **kwargs):
        raise AssertionError("a model was built before the names were checked")

    monkeypatch.setattr(base, "build_training_model", build)
    with pytest.raises(ParameterError, match="unknown model type 'stargan'; known: cyclegan, munit, emostargan"):
        bench.training_speed(["cyclegan", "stargan"], widths=(0.125,))
    assert bench.main(["training", "--models", "stargan"]) == 1
    assert "unknown model type 'stargan'" in capsys.readouterr().err


def test_a_bench_row_names_a_model_and_its_options():
    from emocore.bench.training import model_variant
    from emocore.exceptions import ParameterError

    assert model_variant("cyclegan") == ("cyclegan", {})
    assert model_variant("emostargan:discriminator=1d") == ("emostargan", {"discriminator": "1d"})
    assert model_variant("emostargan:f0_contour=true,lambda_f0_smooth=0.5") == (
        "emostargan", {"f0_contour": True, "lambda_f0_smooth": 0.5})
    with pytest.raises(ParameterError, match="must be NAME=VALUE, got 'discriminator'"):
        model_variant("emostargan:discriminator")


@pytest.mark.parametrize(("row", "error"), [("emostargan:discriminator=3d", "discriminator must be one of 2d, 2d-light, 1d"),
                                            ("emostargan:style_dim=8", "StarGanConfig has no style_dim"),
                                            ("cyclegan:discriminator=1d", "takes no options")])
def test_training_benchmark_refuses_an_unknown_option_before_measuring_anything(monkeypatch, row, error):
    from emocore.exceptions import ParameterError
    from emocore.models import base

    def build(*args, **kwargs):
        raise AssertionError("a model was built before the options were checked")

    monkeypatch.setattr(base, "build_training_model", build)
    with pytest.raises(ParameterError, match=error):
        bench.training_speed(["emostargan", row], widths=(0.125,))


def test_training_benchmark_needs_a_split_for_a_thread_count(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["training", "--parallel-ops", "0", "--threads", "2"])
    assert exit_info.value.code == 2 and "--threads needs --parallel-ops" in capsys.readouterr().err


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


# ---------------------------------------------------------------------- conversion speed (emocore-bench conversion)


@pytest.mark.real_data
def test_tracker_agreement_puts_harvest_at_zero_and_measures_the_others(corpora_root, capsys):
    from emocore.bench import conversion

    rows = conversion.tracker_agreement(("harvest", "dio", "rapt"), n_files=2, root=corpora_root)
    assert "voicing err %" in capsys.readouterr().out
    assert [(r["corpus"], r["tracker"]) for r in rows] == [(c, t) for c in ("tess", "ravdess")
                                                           for t in ("harvest", "dio", "rapt")]
    for r in rows:
        if r["tracker"] == "harvest":
            assert r["f0_rmse_hz"] == 0 and r["voicing_error_pct"] == 0 and r["x_harvest"] == 1
        else:  # another tracker disagrees somewhere, and costs less than harvest
            assert r["f0_rmse_hz"] > 0 and 0 < r["voicing_error_pct"] < 50 and r["x_harvest"] > 2


@pytest.mark.real_data
def test_conversion_speed_times_each_tracker_and_worker_count_against_the_baseline(corpora_root, capsys):
    from emocore.bench import conversion

    rows = conversion.conversion_speed(trackers=("rapt",), workers=(1, 2), n_files=4, root=corpora_root)
    printed = capsys.readouterr().out
    assert "x baseline" in printed and "held-out TESS words" in printed
    assert [(r["tracker"], r["workers"], r["networks"]) for r in rows] == [
        ("harvest", 1, "eager"), ("rapt", 1, "compiled"), ("rapt", 2, "compiled")]
    assert rows[0]["x_baseline"] == 1.0 and all(r["rtf"] > 0 and r["audio_s"] > 0 for r in rows)
    # RAPT and the compiled networks are much cheaper than harvest and eager calls
    assert rows[1]["rtf"] < rows[0]["rtf"]
    table = conversion.summary_table([{"corpus": "tess", "tracker": "rapt", "f0_rmse_hz": 4.0,
                                       "voicing_error_pct": 12.0}], rows)
    assert table == [{"tracker": "rapt", "rtf_1w": rows[1]["rtf"], "rtf_2w": rows[2]["rtf"], "tess_f0_rmse_hz": 4.0,
                      "tess_voicing_error_pct": 12.0}]


@pytest.mark.real_data
def test_held_out_sources_are_neutral_words_no_model_trained_on(corpora_root):
    from emocore.bench import conversion
    from emocore.evaluation.judge import corpus_held_out_text_ids

    paths = conversion.held_out_sources(6, root=corpora_root)
    held_out = corpus_held_out_text_ids("tess", root=corpora_root)
    assert len(paths) == 6 and [p.parent.parent.name for p in paths[:2]] == ["OAF", "YAF"]
    assert all(p.parent.name == "neutral" and p.stem.split("_")[1] in held_out for p in paths)
