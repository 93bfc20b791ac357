"""Tests of emocore.models.munit: network shapes, AdaIN, the training step, deterministic conversion styles, intensity,
checkpoint resume, and an end-to-end smoke run on real TESS data through the CLIs.

Everything runs eagerly at ``smoke()`` sizes; the real-data test is marked slow.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, replace
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import harmonic_tone

from emocore import cli, conversion, training
from emocore.config import FeatureConfig, ModelConfig, MunitConfig, TrainConfig
from emocore.data import extraction
from emocore.data.datasets import Domain, Utterance
from emocore.data.extraction import DomainData
from emocore.dsp import audio, features
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.models import base as gan
from emocore.models import layers as models
from emocore.models import munit
from emocore.models.cyclegan import GeneratorPair, build_generator
from emocore.models.discriminator import build_discriminator
from emocore.record import EmotionEntry, RunRecord
from emocore.training.checkpoints import CHECKPOINTS

FEATURE_CFG = FeatureConfig().smoke()
MODEL_CFG = ModelConfig().smoke()
MUNIT_CFG = MunitConfig().smoke()
TRAIN_CFG = TrainConfig().smoke()


# ---------------------------------------------------------------------- code and config


def test_munit_is_backend_neutral():
    """No backend import at all: EmoMUNIT's TensorFlow step is the shared ``gan.TwoDomainGAN.train_step``."""
    tree = ast.parse(Path(munit.__file__).read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "train_step"]
    for node in ast.walk(tree):
        imported = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        assert not any(name.split(".")[0] in ("tensorflow", "jax", "torch") for name in imported), ast.dump(node)
        assert not (isinstance(node, ast.Name) and node.id == "tf"), node.lineno
    assert issubclass(munit.EmoMUNIT, gan.TwoDomainGAN)


def test_munit_config_defaults_smoke_and_validation():
    cfg = MunitConfig()
    assert (cfg.lambda_recon, cfg.lambda_style, cfg.lambda_content, cfg.lambda_cycle_recon) == (10.0, 1.0, 1.0, 0.0)
    assert 8 <= cfg.style_dim <= 16
    assert cfg.smoke().n_decoder_residual_blocks == 1 and cfg.smoke().style_dim == cfg.style_dim
    for bad in (dict(style_dim=0), dict(n_decoder_residual_blocks=0), dict(lambda_style=-1.0), dict(mlp_layers=0)):
        with pytest.raises(ParameterError):
            replace(cfg, **bad)


# ---------------------------------------------------------------------- networks


@pytest.fixture(scope="module")
def nets() -> munit.MunitNetworks:
    keras.utils.set_random_seed(0)
    return munit.build_munit_networks(MODEL_CFG, MUNIT_CFG)


@pytest.mark.parametrize("n_frames", [32, 44])
def test_network_shapes(nets, n_frames):
    x = np.random.default_rng(0).standard_normal((2, n_frames, MODEL_CFG.mcep_dim)).astype("float32")
    n_params = munit.n_adain_params(MODEL_CFG, MUNIT_CFG)
    content = nets.content_encoder(x)
    assert tuple(content.shape) == (2, n_frames // 4, munit.content_channels(MODEL_CFG, MUNIT_CFG))
    for domain in "ab":
        style = nets.encode_style(x, domain)
        assert tuple(style.shape) == (2, MUNIT_CFG.style_dim)
        assert tuple(nets.adain_params(style, domain).shape) == (2, n_params)
        assert tuple(nets.decode(content, style, domain).shape) == (2, n_frames, MODEL_CFG.mcep_dim)
    # the style encoder takes any length, e.g. a short reference recording
    assert tuple(nets.encode_style(x[:, :7], "a").shape) == (2, MUNIT_CFG.style_dim)
    disc = build_discriminator(MODEL_CFG, "disc_a")
    assert tuple(disc(x).shape) == (2, n_frames // 16 + (n_frames % 16 > 0), MODEL_CFG.mcep_dim // 4, 1)


# ---------------------------------------------------------------------- the training step


def test_one_train_step_gives_finite_losses_and_leaves_the_classifier_alone(rng):
    model = munit.build_munit(MODEL_CFG, TRAIN_CFG, replace(MUNIT_CFG, lambda_cycle_recon=10.0), run_eagerly=True)
    shape = (TRAIN_CFG.batch_size, TRAIN_CFG.n_frames)
    batch = (rng.standard_normal((*shape, 24)).astype("float32"), rng.standard_normal((*shape, 24)).astype("float32"),
             rng.standard_normal(shape).astype("float32"), rng.standard_normal(shape).astype("float32"))
    classifier_before = [w.copy() for w in model.classifier.get_weights()]
    decoder_before = [w.copy() for w in model.decoder.get_weights()]
    seed_before = np.asarray(model.style_seed.state).copy()
    logs = model.train_on_segments([(batch[0], batch[2]), (batch[1], batch[3])])
    assert set(logs) == set(munit.LOSS_NAMES) and all(np.isfinite(v) for v in logs.values())
    assert logs["recon"] > 0 and logs["cycle_recon"] > 0 and logs["classification"] > 0
    assert int(model.step.numpy()) == 1
    assert not np.array_equal(seed_before, np.asarray(model.style_seed.state))  # styles were drawn
    assert any(not np.array_equal(a, b) for a, b in zip(decoder_before, model.decoder.get_weights()))
    for before, after in zip(classifier_before, model.classifier.get_weights()):
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------- conversion styles


def _feats(f0_hz, gain, duration_s=0.5):
    return features.extract_features(harmonic_tone(f0_hz, duration_s) * gain, FEATURE_CFG)


@pytest.fixture(scope="module")
def conv(nets) -> conversion.ConversionModel:
    feats_a = [_feats(140, g) for g in (0.3, 0.6)]
    feats_b = [_feats(230, g) for g in (0.5, 0.9)]
    model = conversion.ConversionModel(FEATURE_CFG, [DomainStats.fit("calm", feats_a), DomainStats.fit("loud", feats_b)],
                                       munit.MunitMapper(nets), "munit")
    model.fit([feats_a, feats_b])
    return model


@pytest.fixture(scope="module")
def source():
    return _feats(150, 0.5, duration_s=0.61)  # a length that is not a multiple of 4 frames


def test_mean_style_conversion_is_deterministic_and_survives_save_and_load(conv, source, tmp_path):
    assert conv.model_type == "munit" and conv.converter.mean_styles["b"].shape == (MUNIT_CFG.style_dim,)
    first = conv.convert_features(source, "A2B")
    np.testing.assert_array_equal(first.mcep, conv.convert_features(source, "A2B", style="mean").mcep)
    assert first.mcep.shape == source.mcep.shape and np.all(np.isfinite(first.mcep))
    conv.save(tmp_path, RunRecord(model_type="munit", feature=FEATURE_CFG, model=MODEL_CFG, options=asdict(MUNIT_CFG),
                                  emotions=(EmotionEntry("calm", "stats-calm.json"), EmotionEntry("loud", "stats-loud.json"))))
    assert {p.name for p in tmp_path.glob("*.weights.h5")} == {f"{n}.weights.h5" for n in munit.NETWORKS}
    loaded = conversion.ConversionModel.load(tmp_path)
    assert loaded.model_type == "munit"
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "munit" and (tmp_path / munit.STYLES_FILE).is_file()
    (tmp_path / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "options"}))
    with pytest.raises(ModelFolderError, match="config.json: .*'options' entry"):
        conversion.ConversionModel.load(tmp_path)
    np.testing.assert_allclose(loaded.convert_mcep(source.mcep, "A2B"), first.mcep, rtol=1e-6, atol=1e-6)


def test_reference_and_random_styles(conv, source):
    mean = conv.convert_mcep(source.mcep, "A2B")
    quiet, loud = _feats(230, 0.2), _feats(260, 0.9, duration_s=0.3)
    by_quiet = conv.convert_mcep(source.mcep, "A2B", style="reference", reference=quiet)
    np.testing.assert_array_equal(by_quiet, conv.convert_mcep(source.mcep, "A2B", style="reference", reference=quiet))
    assert not np.allclose(by_quiet, conv.convert_mcep(source.mcep, "A2B", style="reference", reference=loud))
    assert not np.allclose(by_quiet, mean)
    wav = harmonic_tone(230, 0.5) * 0.2  # a waveform reference is analysed like a file
    np.testing.assert_allclose(conv.convert_mcep(source.mcep, "A2B", style="reference", reference=wav), by_quiet,
                               rtol=1e-6, atol=1e-6)
    seeded = conv.convert_mcep(source.mcep, "A2B", style="random", seed=3)
    np.testing.assert_array_equal(seeded, conv.convert_mcep(source.mcep, "A2B", style="random", seed=3))
    assert not np.allclose(seeded, conv.convert_mcep(source.mcep, "A2B", style="random", seed=4))


def test_intensity_zero_reconstructs_the_source_and_one_is_the_full_conversion(conv, source):
    src, _ = (e.stats for e in conv.emotion_pair("A2B"))
    padded, n_frames = models.pad_to_multiple(src.mcep.normalize(source.mcep).astype(np.float32))
    nets = conv.converter.nets
    own = nets.decode(nets.content_encoder(padded[None]), nets.encode_style(padded[None], "a"), "a")
    reconstruction = src.mcep.denormalize(np.asarray(own)[0, :n_frames].astype(np.float64))
    np.testing.assert_allclose(conv.convert_mcep(source.mcep, "A2B", intensity=0.0), reconstruction,
                               rtol=1e-4, atol=1e-4)
    full = conv.convert_mcep(source.mcep, "A2B")
    np.testing.assert_array_equal(conv.convert_mcep(source.mcep, "A2B", intensity=1.0), full)
    half = conv.convert_mcep(source.mcep, "A2B", intensity=0.5)
    assert 0 < np.abs(half - reconstruction).mean() < np.abs(full - reconstruction).mean()


@pytest.mark.parametrize("options, match", [(dict(intensity=1.5), "intensity"), (dict(style="mood"), "style"),
                                            (dict(style="reference"), "reference"),
                                            (dict(reference=np.zeros((5, 24))), "reference")])
def test_bad_style_options_raise(conv, source, options, match):
    with pytest.raises(ParameterError, match=match):
        conv.convert_mcep(source.mcep, "A2B", **options)


def test_style_options_are_munit_only(source):
    keras.utils.set_random_seed(0)
    stats = DomainStats.fit("x", [source])
    cyclegan = conversion.ConversionModel(FEATURE_CFG, [stats, stats],
                                          GeneratorPair(build_generator(MODEL_CFG), build_generator(MODEL_CFG)), "cyclegan")
    with pytest.raises(ParameterError, match="MUNIT"):
        cyclegan.convert_mcep(source.mcep, "A2B", style="mean")


# ---------------------------------------------------------------------- the training loop and resume


def _domain(name, f0_hz, seed, n_train=3, n_val=1) -> DomainData:
    pairs = []
    rng = np.random.default_rng(seed)
    for i in range(n_train + n_val):
        silence = 1e-3 * rng.standard_normal(2400)
        wav = np.concatenate([silence, (0.3 + 0.1 * i) * harmonic_tone(f0_hz * (1 + 0.05 * i), 0.6), silence])
        utt = Utterance(path=Path(f"/synthetic/{name}/{name}_w{i}.wav"), corpus="dir", speaker=name, emotion=name,
                        text_id=f"w{i}")
        pairs.append((utt, features.extract_features(wav, FEATURE_CFG)))
    stats = DomainStats.fit(name, [f for _, f in pairs[:n_train]])
    return DomainData(Domain(directory=Path(f"/synthetic/{name}")), pairs[:n_train], pairs[n_train:], stats, [])


@pytest.fixture(scope="module")
def domains():
    return _domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10)


# two iterations, a checkpoint after each; the classifier's part of a checkpoint is tested with the CycleGAN
RESUME_CFG = replace(TRAIN_CFG, iterations=2, checkpoint_every=1, lambda_class=0.0)


def _train(domains, model_dir, **kwargs):
    return training.train(domains, FEATURE_CFG, MODEL_CFG, RESUME_CFG, model_dir, progress=False, run_eagerly=True,
                          model_type="munit", options=MUNIT_CFG, **kwargs)


def _checkpoint_arrays(model_dir) -> dict[str, np.ndarray]:
    """Every array of the newest checkpoint: network weights, optimizer variables, the style seed's state."""
    import h5py

    checkpoint = training.latest_checkpoint(model_dir)
    arrays = {}
    for path in sorted(checkpoint.glob("*.weights.h5")):
        with h5py.File(path, "r") as handle:
            handle.visititems(lambda key, item: arrays.__setitem__(f"{path.name}/{key}", item[()])
                              if isinstance(item, h5py.Dataset) else None)
    with np.load(checkpoint / "optimizers.npz") as stored:
        arrays.update({key: stored[key] for key in stored.files})
    return arrays


def test_resume_after_a_kill_matches_the_uninterrupted_run(domains, tmp_path):
    history = _train(domains, tmp_path / "whole")
    config = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert config["model_type"] == "munit" and config["options"]["style_dim"] == MUNIT_CFG.style_dim
    assert config["training"]["status"] == "complete" and [row["iteration"] for row in history] == [1, 2]
    styles = json.loads((tmp_path / "whole" / munit.STYLES_FILE).read_text())
    assert len(styles["a"]) == len(styles["b"]) == MUNIT_CFG.style_dim

    def kill_after_iteration_1(iteration, logs, model):
        if iteration == 1:
            raise KeyboardInterrupt  # as if the process died right after the step-1 checkpoint

    with pytest.raises(KeyboardInterrupt):
        _train(domains, tmp_path / "killed", callbacks=[kill_after_iteration_1])
    assert training.latest_checkpoint(tmp_path / "killed").name == "step-00000001"
    with pytest.raises(ParameterError, match="resume"):  # a CycleGAN cannot resume a MUNIT run
        training.train(domains, FEATURE_CFG, MODEL_CFG, RESUME_CFG, tmp_path / "killed", resume=True,
                       progress=False, run_eagerly=True)
    resumed = _train(domains, tmp_path / "killed", resume=True)

    whole, again = _checkpoint_arrays(tmp_path / "whole"), _checkpoint_arrays(tmp_path / "killed")
    assert set(whole) == set(again)
    assert {f"{name}.weights.h5" for name in munit.NETWORKS} <= {key.split("/")[0] for key in whole}
    assert int(whole["gen_0000"]) == int(again["gen_0000"]) == 2  # the generator optimizer's step counter
    np.testing.assert_array_equal(whole["extra_0000"], again["extra_0000"])  # the style seed
    for key, value in whole.items():
        np.testing.assert_allclose(again[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    for row, other in zip(history, resumed):
        assert other["gen_total"] == pytest.approx(row["gen_total"], rel=1e-5, abs=1e-6)
    resumed_styles = json.loads((tmp_path / "killed" / munit.STYLES_FILE).read_text())
    np.testing.assert_allclose(resumed_styles["b"], styles["b"], rtol=1e-4, atol=1e-5)


def test_a_checkpoint_carries_mean_styles_from_its_own_encoders(domains, tmp_path):
    _train(domains, tmp_path)
    first = tmp_path / CHECKPOINTS / "step-00000001"
    stored = json.loads((first / munit.STYLES_FILE).read_text())
    final = json.loads((tmp_path / munit.STYLES_FILE).read_text())
    assert not np.allclose(stored["b"], final["b"])  # iteration 2 moved the style encoders

    conv = conversion.ConversionModel.load(tmp_path, checkpoint=first)
    np.testing.assert_allclose(conv.converter.mean_styles["b"], stored["b"])
    conv.fit(list([f for _, f in data.train] for data in domains))  # what the checkpoint's encoders give
    np.testing.assert_allclose(conv.converter.mean_styles["b"], stored["b"], rtol=1e-5, atol=1e-6)

    (first / munit.STYLES_FILE).unlink()  # a checkpoint from before checkpoints had styles
    older = conversion.ConversionModel.load(tmp_path, checkpoint=first)
    with pytest.raises(ParameterError, match="no mean style codes"):
        older.convert_mcep(domains[0].train[0][1].mcep, "A2B")


# ---------------------------------------------------------------------- end to end on real TESS data


@pytest.fixture(scope="module")
def prepared(corpora_root, tmp_path_factory):
    processed = tmp_path_factory.mktemp("processed")
    domains = [Domain("tess", "OAF", "neutral"), Domain("tess", "OAF", "angry")]
    data = extraction.prepare_domains(domains, FeatureConfig().smoke(), processed, max_utterances=3,
                                      corpora_root=corpora_root, n_jobs=2, progress=False)
    return processed, data


@pytest.mark.slow
@pytest.mark.real_data
def test_cli_train_munit_then_convert_a_held_out_word(prepared, tmp_path, capsys):
    processed, data = prepared
    neutral, angry = data["tess-OAF-neutral"], data["tess-OAF-angry"]
    model_dir = tmp_path / "model"
    rc = cli.train_main(["--model", "munit", "--domain-a", "tess:OAF:neutral", "--domain-b", "tess:OAF:angry",
                         "--smoke", "--eager", "--quiet", "--processed-dir", str(processed), "--max-utterances", "3",
                         "--model_dir", str(model_dir)])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "munit" and config["options"] == asdict(MUNIT_CFG)
    assert config["training"]["status"] == "complete" and (model_dir / munit.STYLES_FILE).is_file()

    model = conversion.ConversionModel.load(model_dir)
    utt, feats = neutral.validation[0]
    assert utt.text_id not in {u.text_id for u, _ in neutral.train + angry.train}
    converted = model.convert_features(feats, "A2B")
    np.testing.assert_array_equal(converted.mcep, model.convert_features(feats, "A2B").mcep)
    assert converted.mcep.shape == feats.mcep.shape and np.all(np.isfinite(converted.mcep))
    (_, ref_1), (_, ref_2) = angry.train[:2]
    by_ref_1 = model.convert_mcep(feats.mcep, "A2B", style="reference", reference=ref_1)
    assert not np.allclose(by_ref_1, model.convert_mcep(feats.mcep, "A2B", style="reference", reference=ref_2))

    out_dir = tmp_path / "converted"
    rc = cli.convert_main([str(utt.path), "--model_dir", str(model_dir), "-o", str(out_dir), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    wav_out = audio.load_wav(out_dir / f"{utt.path.stem}.wav", 16000)
    assert len(wav_out) == len(audio.load_wav(utt.path, 16000)) and np.all(np.isfinite(wav_out))

    # fine-tune it with a sad contrast class: a new run from its networks, a three-class classifier
    tuned_dir = tmp_path / "tuned"
    rc = cli.train_main(["--model", "munit", "--domain-a", "tess:OAF:neutral", "--domain-b", "tess:OAF:angry",
                         "--contrast-domains", "tess:OAF:sad", "--init-from", str(model_dir), "--smoke", "--eager",
                         "--quiet", "--processed-dir", str(processed), "--max-utterances", "3",
                         "--model_dir", str(tuned_dir)])
    assert rc == 0, capsys.readouterr().err
    tuned = json.loads((tuned_dir / "config.json").read_text())
    assert tuned["classifier_classes"] == ["tess-OAF-neutral", "tess-OAF-angry", "tess-OAF-sad"]
    assert tuned["model"]["n_emotions"] == 3 and tuned["training"]["classifier"]["n_classes"] == 3
    assert tuned["training"]["initialized_from"]["iteration"] == config["training"]["iterations_done"]
    assert conversion.ConversionModel.load(tuned_dir).convert_features(feats, "A2B").mcep.shape == feats.mcep.shape

    def convert_with(name, *flags):
        rc = cli.convert_main([str(utt.path), "--model_dir", str(model_dir), "-o", str(tmp_path / name), "--quiet",
                               *flags])
        assert rc == 0, capsys.readouterr().err
        return audio.load_wav(tmp_path / name / f"{utt.path.stem}.wav", 16000)

    # the flags reach the style: a reference recording or a seeded random code changes the output,
    # the same seed gives the same output, and intensity 0 differs from the full conversion
    reference_path = angry.train[0][0].path
    by_reference = convert_with("reference", "--reference", str(reference_path))
    assert not np.allclose(by_reference, wav_out, atol=1e-4)
    random_3 = convert_with("random-3", "--style", "random", "--seed", "3")
    np.testing.assert_array_equal(random_3, convert_with("random-3-again", "--style", "random", "--seed", "3"))
    assert not np.allclose(random_3, convert_with("random-4", "--style", "random", "--seed", "4"), atol=1e-4)
    assert not np.allclose(convert_with("intensity-0", "--intensity", "0"), wav_out, atol=1e-4)
    assert cli.convert_main([str(utt.path), "--model_dir", str(model_dir), "--reference",
                             str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x"), "--quiet"]) == 1
    assert "missing.wav" in capsys.readouterr().err
