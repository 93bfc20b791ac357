"""End to end on real TESS data at smoke size: ``emocore-train`` then ``emocore-convert`` on a held-out word."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emocore import audio, cli, extraction, features
from emocore.config import FeatureConfig
from emocore.datasets import Domain

NEUTRAL, ANGRY = "tess:OAF:neutral", "tess:OAF:angry"


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
    (["--intensity", "1.5"], "--intensity must be in"),
])
def test_convert_cli_rejects_inconsistent_style_flags(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.convert_main(["some.wav", "--model_dir", str(tmp_path), *flags])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_convert_cli_needs_inputs_and_a_model(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.convert_main(["--model_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert cli.convert_main(["some.wav", "--model_dir", str(tmp_path)]) == 2
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
                         "--model_name", "oaf_neutral_to_angry", "--random_seed", "1",
                         "--output_dir", str(tmp_path / "validation")])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_name"] == "oaf_neutral_to_angry" and config["train"]["seed"] == 1
    assert config["domains"]["a"]["emotion"] == "neutral" and config["training"]["status"] == "complete"
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
                             str(tmp_path / "styled"), "--quiet"]) == 2
    assert "MUNIT" in capsys.readouterr().err and not (tmp_path / "styled").exists()

    # globs and --data_dir with only good files: exit status 0
    pattern = str(held_out.path.parent / f"OAF_{held_out.text_id}_*")
    assert cli.convert_main([pattern, "--model_dir", str(model_dir), "-o", str(tmp_path / "glob"), "--quiet"]) == 0
    assert [p.name for p in (tmp_path / "glob").iterdir()] == [f"{held_out.path.stem}.wav"]
