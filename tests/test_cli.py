"""Every command line refuses bad flags with an argparse error (exit 2, nothing written) and ends on emocore's
own errors with one line naming the file or domain (exit 1); never a traceback, unless ``--debug``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emocore import cli
from emocore.exceptions import DatasetError

NEUTRAL, ANGRY = "tess:OAF:neutral", "tess:OAF:angry"

# (flag, value, what stderr names): out of range for the flag's type, or refused by a config.
COMMON_BAD_FLAGS = [
    ("--sr", "0", "--sr"), ("--sr", "4000", "sr must be at least 8000"),
    ("--frame-period-ms", "0", "--frame-period-ms"), ("--frame-period-ms", "100", "frame_period_ms"),
    ("--mcep-dim", "0", "--mcep-dim"), ("--mcep-dim", "1", "mcep_dim"), ("--mcep-dim", "100000", "at most 513"),
    ("--jobs", "0", "--jobs"), ("--val-fraction", "1", "--val-fraction"),
    ("--val-fraction", "-0.1", "--val-fraction"), ("--val-fraction", "nan", "--val-fraction"),
]
TRAIN_BAD_FLAGS = COMMON_BAD_FLAGS + [
    ("--iterations", "-5", "--iterations"), ("--iterations", "0", "--iterations"), ("--iterations", "x", "--iterations"),
    ("--width", "nan", "--width"), ("--width", "0", "--width"), ("--batch-size", "0", "--batch-size"),
    ("--threads", "0", "--threads"), ("--parallel-ops", "0", "--parallel-ops"), ("--random_seed", "-1", "--random_seed"), ("--split-seed", "-1", "--split-seed"),
    ("--max-utterances", "-1", "--max-utterances"), ("--max-utterances", "0", "--max-utterances"),
    ("--time-budget", "0", "--time-budget"), ("--time-budget", "inf", "--time-budget"),
    ("--precision", "float16", "--precision"),
]
EXTRACT_BAD_FLAGS = COMMON_BAD_FLAGS + [("--seed", "-1", "--seed"), ("--max-utterances", "-1", "--max-utterances")]
EVALUATE_BAD_FLAGS = COMMON_BAD_FLAGS + [("--seed", "-1", "--seed"), ("--max-per-speaker", "0", "--max-per-speaker")]


def _exit_code(main, argv) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code


def _one_error_line(err: str, prog: str) -> str:
    """The last stderr line, checked to be ``<prog>: error: ...`` with no traceback before it."""
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{prog}: error: ")
    return last


@pytest.mark.parametrize("flag, value, named", TRAIN_BAD_FLAGS)
def test_train_refuses_a_bad_flag_before_writing_anything(flag, value, named, tmp_path, capsys):
    argv = ["--domain-a", NEUTRAL, "--domain-b", ANGRY, "--model_dir", str(tmp_path / "model"),
            "--processed-dir", str(tmp_path / "processed"), flag, value]
    assert _exit_code(cli.train_main, argv) == 2
    assert named in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flag, value, named", EXTRACT_BAD_FLAGS)
def test_extract_refuses_a_bad_flag_before_writing_anything(flag, value, named, tmp_path, capsys):
    assert _exit_code(cli.extract_main, [NEUTRAL, "--out", str(tmp_path / "processed"), flag, value]) == 2
    assert named in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flag, value, named", EVALUATE_BAD_FLAGS)
def test_evaluate_refuses_a_bad_flag_before_writing_anything(flag, value, named, tmp_path, capsys):
    argv = [str(tmp_path / "conversions"), "--out", str(tmp_path / "out"), flag, value]
    assert _exit_code(cli.evaluate_main, argv) == 2
    assert named in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_train_refuses_an_unparseable_domain(tmp_path, capsys):
    argv = ["--domain-a", "nowhere:at:all", "--domain-b", ANGRY, "--model_dir", str(tmp_path / "model")]
    assert _exit_code(cli.train_main, argv) == 2
    assert "cannot parse domain 'nowhere:at:all'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, named", [
    (["--speakers", "tess:OAF", "--domains", NEUTRAL, ANGRY], "takes no --domains"),
    (["--speakers", "tess:OAF", "--domain-a", NEUTRAL], "takes no --domain-a"),
    (["--speakers", "OAF"], "corpus:name"),
    (["--speakers", "default", "--validation_A_dir", "x"], "takes no --validation_A_dir"),
    (["--speakers", "default", "--val-fraction", "0"], "takes no --val-fraction"),
    (["--emotions", "neutral", "angry", "--domains", NEUTRAL, ANGRY], "--emotions goes with --speakers"),
    (["--balance", "corpus", "--domains", NEUTRAL, ANGRY], "--balance goes with --speakers"),
    (["--speakers", "default", "--balance", "actor"], "invalid choice: 'actor'"),
    (["--speakers", "default", "--model", "cyclegan"], "one speaker's emotions"),
    (["--domains", NEUTRAL, ANGRY, "--model", "emostargan"], "trains on --speakers"),
])
def test_train_refuses_speakers_mixed_with_one_speakers_domains(argv, named, tmp_path, capsys):
    assert _exit_code(cli.train_main, [*argv, "--model_dir", str(tmp_path / "model")]) == 2
    assert named in _one_error_line(capsys.readouterr().err, "emocore-train")
    assert not list(tmp_path.iterdir())


def test_extract_of_an_empty_folder_is_one_line(tmp_path, capsys):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    assert cli.extract_main([f"dir:{empty}", "--out", str(tmp_path / "processed")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(empty) in _one_error_line(err, "emocore-extract")
    assert not (tmp_path / "processed").exists()


def test_extract_of_a_missing_folder_is_one_line(tmp_path, capsys):
    assert cli.extract_main([f"dir:{tmp_path / 'missing'}", "--out", str(tmp_path / "processed")]) == 1
    assert "missing is not a directory" in _one_error_line(capsys.readouterr().err, "emocore-extract")


def test_extract_of_a_folder_of_bad_files_names_the_folder_and_why(tmp_path):
    """Run as a real process: whatever the workers and statistics do, it ends in one line, no traceback."""
    folder = tmp_path / "badclips"
    folder.mkdir()
    (folder / "empty.wav").write_bytes(b"")
    (folder / "text.flac").write_text("these are not samples\n")
    (folder / "broken.wav").write_bytes(b"RIFF....WAVE but nothing else")
    result = subprocess.run([sys.executable, "-m", "emocore.cli", f"dir:{folder}", "--out", str(tmp_path / "out"),
                             "--jobs", "1", "--val-fraction", "0"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    line = _one_error_line(result.stderr, "emocore-extract")
    assert str(folder) in line and "none of the 3 files it would train on could be used" in line
    assert "(broken.wav: cannot decode it as WAV" in line and "empty.wav: file is empty" in line


@pytest.mark.real_data
def test_extract_of_an_unknown_emotion_lists_the_known_ones(corpora_root, tmp_path, capsys):
    assert cli.extract_main(["tess:OAF:furious", "--out", str(tmp_path / "processed")]) == 1
    line = _one_error_line(capsys.readouterr().err, "emocore-extract")
    assert "'furious'" in line and "'tess'" in line and "angry" in line


def test_debug_shows_the_error_itself(tmp_path):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no audio files"):
        cli.extract_main([f"dir:{empty}", "--out", str(tmp_path / "processed"), "--debug"])


def test_evaluate_without_a_manifest_is_one_line(tmp_path, capsys):
    missing = tmp_path / "conversions"
    assert cli.evaluate_main([str(missing), "--no-dnsmos"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no manifest at {missing}" in _one_error_line(err, "emocore-evaluate")
    assert not missing.exists()


@pytest.mark.parametrize("name", ["download_main", "extract_main", "train_main", "convert_main", "export_main",
                                  "evaluate_main", "bench"])
def test_entry_point_is_guarded_and_has_debug(name, capsys):
    from emocore import bench

    main = bench.main if name == "bench" else getattr(cli, name)
    assert hasattr(main, "__wrapped__"), f"{name} lacks @guarded"
    assert _exit_code(main, ["--help"]) == 0 and "--debug" in capsys.readouterr().out


def test_export_of_a_missing_model_is_one_line(tmp_path, capsys):
    argv = [str(tmp_path / "nowhere"), "some-name", "--root", str(tmp_path / "pretrained")]
    assert cli.export_main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere is not a model folder" in _one_error_line(err, "emocore-export")
    assert not (tmp_path / "pretrained").exists()


def test_native_stderr_drops_tensorflow_start_up_notices_and_keeps_other_lines(capfd):
    from emocore.cli import common

    with common.filtered_native_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"I0000 00:00:1 port.cc:153] oneDNN custom operations are on. You may see ...\n"
                    b"E0000 something real went wrong\n")
    err = capfd.readouterr().err
    assert "absl" not in err and "oneDNN" not in err
    assert "something real went wrong" in err


def test_a_resumed_run_keeps_the_precision_it_was_started_with(tmp_path):
    """``emocore-train --resume`` without ``--precision`` reads the run's own from its config.json."""
    import json
    import shutil

    from emocore import pretrained
    from emocore.cli.train import _recorded_precision

    assert _recorded_precision(tmp_path / "nothing yet", "float32") == "float32"
    record = json.loads((pretrained.default_model() / "config.json").read_text())
    assert record["train"].get("precision", "float32") == "float32"  # trained before the option existed
    shutil.copy(pretrained.default_model() / "config.json", tmp_path / "config.json")
    assert _recorded_precision(tmp_path, "bfloat16") == "float32"
    record["train"]["precision"] = "bfloat16"
    (tmp_path / "config.json").write_text(json.dumps(record))
    assert _recorded_precision(tmp_path, "float32") == "bfloat16"
    (tmp_path / "config.json").write_text("{not json")
    assert _recorded_precision(tmp_path, "float32") == "float32"  # train() then names what is wrong with the folder
