"""End to end on real TESS data at smoke size: ``emocore-train`` then ``emocore-convert`` on a held-out word."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emocore import cli
from emocore.config import FeatureConfig
from emocore.data import extraction
from emocore.data.datasets import Domain
from emocore.dsp import audio, features

NEUTRAL, ANGRY = "tess:OAF:neutral", "tess:OAF:angry"


def test_train_cli_splits_the_cpu_only_for_a_mirrored_strategy(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.train_main(["--domain-a", NEUTRAL, "--domain-b", ANGRY, "--cpu-replicas", "2"])
    assert exit_info.value.code == 2 and "--cpu-replicas splits the CPU for --strategy mirrored" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli.train_main(["--domain-a", NEUTRAL, "--domain-b", ANGRY, "--strategy", "parameter-server"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_convert_cli_analyses_with_another_tracker_in_worker_processes(recording, tmp_path, capsys):
    import shutil

    import soundfile as sf

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.wav", "b.wav", "c.wav", "d.wav"):
        shutil.copy(recording, folder / name)
    rc = cli.convert_main(["--pretrained", PRETRAINED, str(folder), "-o", str(tmp_path / "out"), "--quiet",
                           "--f0-tracker", "rapt", "--jobs", "2"])
    assert rc == 0 and "converted 4 of 4" in capsys.readouterr().out
    lengths = {sf.info(str(tmp_path / "out" / n)).frames for n in ("a.wav", "b.wav", "c.wav", "d.wav")}
    assert len(lengths) == 1 and lengths.pop() == round(sf.info(str(recording)).duration * 16000)
    for flags, message in ((["--f0-tracker", "yin"], "invalid choice"), (["--jobs", "0"], "--jobs")):
        with pytest.raises(SystemExit) as exit_info:
            cli.convert_main(["--pretrained", PRETRAINED, str(folder), "-o", str(tmp_path / "x"), *flags])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_train_cli_needs_each_domain_once(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.train_main(["--domain-a", NEUTRAL])
    assert exit_info.value.code == 2 and "domain B" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.train_main(["--domain-a", NEUTRAL, "--train_A_dir", ".", "--domain-b", ANGRY])


@pytest.mark.parametrize("flags, message", [
    (["--style", "reference"], "needs --reference"),
    (["--style", "mean", "--reference", "x.wav"], "--reference goes with"),
    (["--seed", "3"], "--seed goes with --style random"),
    (["--style", "random", "--seed", "-1"], "--seed: must be 0 or more"),
    (["--intensity", "1.5"], "--intensity must be in"),
    (["--strength", "-0.5"], "--strength must be in"),
])
def test_convert_cli_rejects_inconsistent_style_flags(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.convert_main(["some.wav", "--model_dir", str(tmp_path), *flags])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_convert_cli_needs_inputs_and_a_model(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.convert_main(["--model_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    (tmp_path / "some.wav").write_bytes(b"RIFF")
    assert cli.convert_main([str(tmp_path / "some.wav"), "--model_dir", str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    assert "not a model folder" in capsys.readouterr().err


@pytest.fixture(scope="module")
def prepared(corpora_root, tmp_path_factory):
    processed = tmp_path_factory.mktemp("processed")
    domains = [Domain("tess", "OAF", "neutral"), Domain("tess", "OAF", "angry")]
    data = extraction.prepare_domains(domains, FeatureConfig().smoke(), processed, max_utterances=3,
                                      corpora_root=corpora_root, n_jobs=2, progress=False)
    return processed, data


@pytest.mark.real_data
def test_train_then_convert_a_held_out_word(prepared, tmp_path, capsys):
    processed, data = prepared
    neutral, angry = data["tess-OAF-neutral"], data["tess-OAF-angry"]
    model_dir = tmp_path / "model"
    rc = cli.train_main(["--domain-a", NEUTRAL, "--domain-b", ANGRY, "--smoke", "--eager", "--quiet",
                         "--processed-dir", str(processed), "--max-utterances", "3", "--model_dir", str(model_dir),
                         "--model_name", "oaf_neutral_to_angry", "--random_seed", "1", "--precision", "bfloat16",
                         "--output_dir", str(tmp_path / "validation")])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_name"] == "oaf_neutral_to_angry" and config["train"]["seed"] == 1
    assert config["train"]["precision"] == "bfloat16"  # trained with bfloat16 convolutions; converts in float32
    assert config["emotions"][0]["emotion"] == "neutral" and config["training"]["status"] == "complete"
    assert list((tmp_path / "validation").rglob("*.wav"))

    held_out = neutral.validation[0][0]
    assert held_out.text_id not in {u.text_id for u, _ in neutral.train + angry.train}
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVE but nothing else")
    out_dir = tmp_path / "converted"
    rc = cli.convert_main([str(held_out.path), str(broken), "--model_dir", str(model_dir), "--model_name",
                           "oaf_neutral_to_angry", "--conversion_direction", "A2B", "-o", str(out_dir), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1 and "broken.wav" in captured.err and "converted 1 of 2" in captured.out
    converted = audio.load_wav(out_dir / f"{held_out.path.stem}.wav", 16000)
    original = audio.load_wav(held_out.path, 16000)
    assert len(converted) == len(original)
    # the log-Gaussian F0 transform moves the word's F0 toward the angry domain's
    f0_in, _ = features.extract_f0(original, FeatureConfig().smoke())
    f0_out, _ = features.extract_f0(converted, FeatureConfig().smoke())
    target = angry.stats.log_f0.mean
    assert abs(np.log(f0_out[f0_out > 0]).mean() - target) < abs(np.log(f0_in[f0_in > 0]).mean() - target)

    # MUNIT style flags are refused for a CycleGAN, with a message naming them
    assert cli.convert_main([str(held_out.path), "--model_dir", str(model_dir), "--style", "random", "-o",
                             str(tmp_path / "styled"), "--quiet"]) == 1
    assert "MUNIT" in capsys.readouterr().err and not (tmp_path / "styled").exists()

    # the emotions by name: the same conversion as A2B; the reverse with --target-emotion alone; names checked
    # against the model's record before TensorFlow is asked for anything
    by_name = tmp_path / "by_name"
    assert cli.convert_main([str(held_out.path), "--model_dir", str(model_dir), "--source-emotion", "neutral",
                             "--target-emotion", "tess-OAF-angry", "-o", str(by_name), "--quiet"]) == 0
    np.testing.assert_array_equal(audio.load_wav(by_name / f"{held_out.path.stem}.wav", 16000), converted)
    assert cli.convert_main([str(held_out.path), "--model_dir", str(model_dir), "--target-emotion", "neutral",
                             "-o", str(tmp_path / "back"), "--quiet"]) == 0
    assert "tess-OAF-angry -> tess-OAF-neutral" in capsys.readouterr().out
    for flags, says in ((["--target-emotion", "happy"], "no emotion 'happy'; it has neutral (tess-OAF-neutral), angry"),
                        (["--source-emotion", "angry", "--target-emotion", "angry"], "the same emotion"),
                        (["--target-emotion", "angry", "--conversion_direction", "B2A"], "not both")):
        with pytest.raises(SystemExit) as exit_status:
            cli.convert_main([str(held_out.path), "--model_dir", str(model_dir), *flags, "-o", str(tmp_path / "x")])
        assert exit_status.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

    # globs and --data_dir with only good files: exit status 0
    pattern = str(held_out.path.parent / f"OAF_{held_out.text_id}_*")
    assert cli.convert_main([pattern, "--model_dir", str(model_dir), "-o", str(tmp_path / "glob"), "--quiet"]) == 0
    assert [p.name for p in (tmp_path / "glob").iterdir()] == [f"{held_out.path.stem}.wav"]


# ---------------------------------------------------------------------- emocore-convert never loses a user's file

PRETRAINED = "tess-oaf-neutral-angry-munit"


@pytest.fixture
def recording(tmp_path):
    """A user's recording in its own folder (a 0.8 s voiced tone at 22,050 Hz)."""
    import soundfile as sf
    from conftest import harmonic_tone

    path = tmp_path / "same" / "rec.wav"
    path.parent.mkdir()
    sf.write(str(path), harmonic_tone(180, 0.8, sr=22050), 22050)
    return path


def _convert_in_subprocess(args: list[str]) -> tuple[int, str, str]:
    """Run emocore-convert in a fresh interpreter; also report whether TensorFlow got imported."""
    import subprocess
    import sys

    code = ("import sys; from emocore import cli; rc = cli.convert_main(sys.argv[1:]); "
            "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-NOT-LOADED'); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("output", ["folder", "file"])
def test_convert_cli_refuses_to_write_over_the_input(recording, output, capsys):
    before = recording.read_bytes()
    destination = recording.parent if output == "folder" else recording
    rc = cli.convert_main(["--pretrained", PRETRAINED, str(recording), "-o", str(destination), "--overwrite",
                           "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "would replace the input" in err and "Traceback" not in err
    assert recording.read_bytes() == before and [p.name for p in recording.parent.iterdir()] == ["rec.wav"]


def test_convert_cli_keeps_existing_outputs_unless_overwrite(recording, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rec.wav").write_bytes(b"an older take")
    assert cli.convert_main(["--pretrained", PRETRAINED, str(recording), "-o", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "nothing to convert" in captured.out and (out / "rec.wav").read_bytes() == b"an older take"
    assert cli.convert_main(["--pretrained", PRETRAINED, str(recording), "-o", str(out), "--overwrite",
                             "--quiet"]) == 0
    assert "converted 1 of 1" in capsys.readouterr().out and (out / "rec.wav").read_bytes()[:4] == b"RIFF"


def test_convert_cli_writes_the_format_an_output_file_names(recording, tmp_path, capsys):
    import soundfile as sf

    out = tmp_path / "converted.flac"
    assert cli.convert_main(["--pretrained", PRETRAINED, str(recording), "-o", str(out), "--quiet"]) == 0
    assert out.is_file() and sf.info(str(out)).format == "FLAC" and sf.info(str(out)).samplerate == 16000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["converted.flac", "same"]  # no temporary left


def test_convert_cli_refuses_bad_destinations_and_inputs_before_loading_tensorflow(recording, tmp_path):
    regular = tmp_path / "notes.txt"
    regular.write_text("keep me")
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    cases = [
        (["--pretrained", "no-such-model", str(recording)], "no pretrained model 'no-such-model'"),
        (["--pretrained", PRETRAINED, str(recording), "-o", str(regular)], "is a file, not a folder"),
        (["--pretrained", PRETRAINED, str(recording), "-o", str(regular / "sub")], "which is a file"),
        (["--pretrained", PRETRAINED, str(tmp_path / "empty"), "-o", str(tmp_path / "o")], "it is empty"),
        (["--pretrained", PRETRAINED, str(tmp_path / "texts"), "-o", str(tmp_path / "o")], "no audio files"),
        (["--pretrained", PRETRAINED, str(recording), str(recording.parent / "x.wav"), "-o", str(tmp_path / "o.wav")],
         "names one output file, but 2 inputs"),
        (["--pretrained", PRETRAINED, str(tmp_path / "gone.wav"), str(tmp_path / "lost.wav"), "-o", str(tmp_path / "o")],
         "gone.wav: no such file (nor any of the other 1 inputs)"),
        (["--pretrained", PRETRAINED, str(recording), "--reference", str(tmp_path / "angry.wav"), "-o",
          str(tmp_path / "o")], "angry.wav: no such file (the --reference recording)"),
    ]
    for args, message in cases:
        rc, out, err = _convert_in_subprocess(args)
        assert rc == 1 and message in err and "Traceback" not in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and "TF-NOT-LOADED" in out, (args, err, out)
    assert regular.read_text() == "keep me" and not (tmp_path / "o").exists()


def test_convert_cli_into_a_read_only_disk_is_one_line_and_writes_nothing(recording, small_disk, capsys):
    disk = small_disk(64, read_only=True)
    rc = cli.convert_main(["--pretrained", PRETRAINED, str(recording), "-o", str(disk / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot write there" in err and "Traceback" not in err and not list(disk.iterdir())


def test_convert_cli_full_disk_names_what_was_done_and_what_was_not(recording, small_disk, capsys):
    import shutil

    for name in ("b.wav", "c.wav", "d.wav"):
        shutil.copy(recording, recording.parent / name)
    disk = small_disk(64)  # two 25.6 kB outputs fit, the third does not
    # one process: the next file is tried only after a write succeeds (with workers it may already be in flight;
    # test_conversion covers that)
    rc = cli.convert_main(["--pretrained", PRETRAINED, str(recording.parent), "-o", str(disk), "--quiet", "--jobs", "1"])
    captured = capsys.readouterr()
    assert rc == 1 and "converted 2 of 4" in captured.out and "Traceback" not in captured.err
    assert captured.err.count("disk is full") == 1 and "not tried:" in captured.err and "d.wav" in captured.err
    assert sorted(p.name for p in disk.iterdir()) == ["b.wav", "c.wav"]


def test_convert_cli_prints_no_tensorflow_log_noise(recording, tmp_path):
    rc, out, err = _convert_in_subprocess(["--pretrained", PRETRAINED, str(recording), "-o",
                                           str(tmp_path / "out.wav"), "--quiet"])
    assert rc == 0 and "converted 1 of 1" in out, err
    noise = [line for line in err.splitlines() if any(word in line for word in ("oneDNN", "absl", "cpu_feature_guard",
                                                                                "TensorFlow binary", "E0000", "W0000"))]
    assert not noise, noise
