"""Tests of emocore.training: segment sampling, the CycleGAN-VC step, identity switch-off, the classification
loss, checkpoints and resume, divergence, the model folder and TensorBoard logs.

Training runs eagerly at ``smoke()`` sizes on synthetic tones, so the whole module takes well under a minute on
two CPU cores.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import harmonic_tone

from emocore import conversion, models, training
from emocore.config import FeatureConfig, ModelConfig, TrainConfig
from emocore.data.datasets import Domain, Utterance
from emocore.data.extraction import DomainData
from emocore.dsp import features, prosody
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import ParameterError, TrainingDivergedError
from emocore.models import base as gan
from emocore.models.classifier import build_emotion_classifier
from emocore.models.cyclegan import LOSS_NAMES, build_cyclegan, build_generator
from emocore.training import checkpoints, classifier, distribute, loop, monitor, sampling

FEATURE_CFG = FeatureConfig().smoke()
MODEL_CFG = ModelConfig().smoke()
TRAIN_CFG = TrainConfig().smoke()


# ---------------------------------------------------------------------- synthetic data


def _synthetic_feats(n_frames=300, voiced=slice(100, 150), dim=24, seed=0) -> WorldFeatures:
    """Features whose MCEP column 0 is the frame index, so a crop's position can be read back."""
    rng = np.random.default_rng(seed)
    f0 = np.zeros(n_frames)
    f0[voiced] = 150 + 20 * rng.random(len(f0[voiced]))
    mcep = rng.standard_normal((n_frames, dim))
    mcep[:, 0] = np.arange(n_frames)
    return WorldFeatures(f0_hz=f0, mcep=mcep, coded_ap=np.zeros((n_frames, 1)), log_power=rng.standard_normal(n_frames),
                         n_samples=n_frames * 80)


def _spoken(f0_hz, gain, seed, sr=16000):
    """A tone with a little noise-only silence before and after: voiced and unvoiced frames."""
    rng = np.random.default_rng(seed)
    silence = 1e-3 * rng.standard_normal(int(0.15 * sr))
    return np.concatenate([silence, gain * harmonic_tone(f0_hz, duration_s=0.6, sr=sr), silence])


def _domain(name, f0_hz, n_train=3, n_val=1, seed=0) -> DomainData:
    pairs = []
    for i in range(n_train + n_val):
        wav = _spoken(f0_hz * (1 + 0.05 * i), 0.3 + 0.1 * i, seed + i)
        utt = Utterance(path=Path(f"/synthetic/{name}/{name}_w{i}.wav"), corpus="dir", speaker=name, emotion=name,
                        text_id=f"w{i}")
        pairs.append((utt, features.extract_features(wav, FEATURE_CFG)))
    stats = DomainStats.fit(name, [f for _, f in pairs[:n_train]])
    return DomainData(Domain(directory=Path(f"/synthetic/{name}")), pairs[:n_train], pairs[n_train:], stats, [])


@pytest.fixture(scope="module")
def domains():
    return _domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(3)
    shape = (TRAIN_CFG.batch_size, TRAIN_CFG.n_frames)
    return (rng.standard_normal((*shape, MODEL_CFG.mcep_dim)).astype("float32"),
            rng.standard_normal((*shape, MODEL_CFG.mcep_dim)).astype("float32"),
            rng.standard_normal(shape).astype("float32"), rng.standard_normal(shape).astype("float32"))


# ---------------------------------------------------------------------- config and sampling


def test_train_config_smoke_and_validation():
    cfg = TrainConfig()
    assert (cfg.batch_size, cfg.n_frames, cfg.gen_lr, cfg.disc_lr, cfg.beta_1) == (1, 128, 2e-4, 1e-4, 0.5)
    assert (cfg.lambda_cycle, cfg.lambda_identity, cfg.identity_switch_off_step) == (10.0, 5.0, 10_000)
    smoke = cfg.smoke()
    assert smoke.iterations == 4 and smoke.checkpoint_every == 2 and smoke.n_frames % 4 == 0
    for bad in (dict(n_frames=30), dict(iterations=0), dict(lambda_class=-1.0), dict(min_voiced_fraction=1.5)):
        with pytest.raises(ParameterError):
            replace(cfg, **bad)


def test_sample_segments_shapes_and_voiced_crops(rng):
    feats = [_synthetic_feats(seed=s) for s in range(3)]
    stats = DomainStats.fit("x", feats)
    mcep, log_f0 = training.sample_segments(feats, 32, 16, rng, stats, min_voiced_fraction=0.25)
    assert mcep.shape == (16, 32, 24) and log_f0.shape == (16, 32)
    assert mcep.dtype == np.float32 and log_f0.dtype == np.float32
    frames = np.rint(stats.mcep.denormalize(mcep.astype(np.float64))[:, :, 0]).astype(int)
    for crop in frames:
        np.testing.assert_array_equal(crop, np.arange(crop[0], crop[0] + 32))  # contiguous crops
        assert np.sum((crop >= 100) & (crop < 150)) >= 8  # at least 25 % voiced
    # log F0 is normalized and finite everywhere (interpolated over unvoiced frames)
    assert np.all(np.isfinite(log_f0))


def test_sample_segments_is_deterministic_given_the_generator():
    feats = [_synthetic_feats(seed=s) for s in range(3)]
    stats = DomainStats.fit("x", feats)
    first = training.sample_segments(feats, 32, 4, np.random.default_rng(7), stats)
    again = training.sample_segments(feats, 32, 4, np.random.default_rng(7), stats)
    other = training.sample_segments(feats, 32, 4, np.random.default_rng(8), stats)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_sample_segments_draws_utterances_in_proportion_to_their_weights(rng):
    low, high = _synthetic_feats(seed=0), _synthetic_feats(seed=1)
    high = high.replace(mcep=high.mcep + 1000.0)  # tells the crops of the two utterances apart
    stats = DomainStats.fit("x", [low])
    for weights, share in (([1.0, 3.0], 0.75), ([0.0, 1.0], 1.0), ([2.0, 0.0], 0.0)):
        mcep, _ = training.sample_segments([low, high], 32, 2000, rng, stats, weights=weights)
        from_high = stats.mcep.denormalize(mcep[:, 0, :].astype(np.float64))[:, 0] > 500
        assert from_high.mean() == pytest.approx(share, abs=0.03)
    for bad in ([1.0], [-1.0, 2.0], [0.0, 0.0], [np.nan, 1.0]):
        with pytest.raises(ParameterError, match="weights"):
            training.sample_segments([low, high], 32, 1, rng, stats, weights=bad)


def test_sample_segments_pads_short_utterances_by_repeating_the_edge(rng):
    short = _synthetic_feats(n_frames=20, voiced=slice(0, 20))
    stats = DomainStats.fit("x", [_synthetic_feats(), short])
    mcep, _ = training.sample_segments([short], 32, 2, rng, stats)
    frames = np.rint(stats.mcep.denormalize(mcep.astype(np.float64))[0, :, 0]).astype(int)
    np.testing.assert_array_equal(frames, np.r_[np.arange(20), np.full(12, 19)])


def test_sample_segments_rejects_data_without_voiced_crops(rng):
    feats = [_synthetic_feats(voiced=slice(0, 4))]
    with pytest.raises(ParameterError, match="voiced"):
        training.sample_segments(feats, 32, 1, rng, DomainStats.fit("x", [_synthetic_feats()]))


def test_generated_log_f0_channel_is_the_source_channel():
    """The log-Gaussian F0 map to the target, normalized with target stats, equals the source's normalized channel."""
    src, tgt = DomainStats.fit("a", [_synthetic_feats(seed=1)]), DomainStats.fit("b", [_synthetic_feats(seed=2)])
    tgt = replace(tgt, log_f0=prosody.LogGaussian(mean=np.log(250.0), std=0.3, n_frames=10))
    f0_hz = _synthetic_feats(seed=3).f0_hz
    converted = prosody.convert_f0(f0_hz, src.log_f0, tgt.log_f0)
    np.testing.assert_allclose(training.normalized_log_f0(converted, tgt), training.normalized_log_f0(f0_hz, src),
                               atol=1e-9)


def test_learning_rate_schedule_is_constant_then_linear_to_zero():
    gen, disc = gan.learning_rate_schedules(replace(TrainConfig(), iterations=400_000))
    lr = {step: float(keras.ops.convert_to_numpy(gen(step))) for step in (0, 199_999, 200_000, 300_000, 400_000)}
    assert lr[0] == lr[199_999] == lr[200_000] == pytest.approx(2e-4)
    assert lr[300_000] == pytest.approx(1e-4) and lr[400_000] == 0.0
    assert float(keras.ops.convert_to_numpy(disc(300_000))) == pytest.approx(5e-5)


# ---------------------------------------------------------------------- the training step


@pytest.fixture(scope="module")
def model():
    return build_cyclegan(MODEL_CFG, replace(TRAIN_CFG, identity_switch_off_step=1), run_eagerly=True)


def _generator_grads(model, batch, step):
    with tf.GradientTape() as tape:
        terms, _, _ = model.compute_generator_losses(*batch, tf.constant(step, tf.int64))
    return terms, [g.numpy() for g in tape.gradient(terms["total"], model.generator_variables)]


def test_one_train_step_gives_finite_losses_and_leaves_the_classifier_alone(batch):
    model = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    classifier_before = [w.copy() for w in model.classifier.get_weights()]
    gen_before = [w.copy() for w in model.gen_a2b.get_weights()]
    logs = model.train_on_segments([(batch[0], batch[2]), (batch[1], batch[3])])
    assert set(logs) == set(LOSS_NAMES)
    assert all(np.isfinite(v) for v in logs.values())
    assert logs["identity_weight"] == 5.0 and logs["classification"] > 0
    assert int(model.step.numpy()) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(gen_before, model.gen_a2b.get_weights()))
    for before, after in zip(classifier_before, model.classifier.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_identity_switch_off_removes_the_identity_gradient(model, batch):
    terms_on, grads_on = _generator_grads(model, batch, step=0)
    terms_off, grads_off = _generator_grads(model, batch, step=1)  # switch_off_step=1
    model.lambda_identity = 0.0
    try:
        _, grads_without = _generator_grads(model, batch, step=0)
    finally:
        model.lambda_identity = 5.0
    assert float(terms_on["identity_weight"]) == 5.0 and float(terms_on["identity"]) > 0
    assert float(terms_off["identity_weight"]) == 0.0 and float(terms_off["identity"]) == 0.0
    for off, without in zip(grads_off, grads_without):  # after the switch: exactly as if lambda_identity were 0
        np.testing.assert_allclose(off, without, rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(on, off, rtol=1e-4, atol=1e-6) for on, off in zip(grads_on, grads_off))


def test_identity_switch_off_happens_inside_a_compiled_function(model, batch):
    """The original bug: the switch was evaluated once, at trace time. Here one trace serves both phases."""
    loss_fn = tf.function(lambda step: model.compute_generator_losses(*batch, step)[0])
    on, off = loss_fn(tf.constant(0, tf.int64)), loss_fn(tf.constant(5, tf.int64))
    assert loss_fn.experimental_get_tracing_count() == 1
    assert float(on["identity_weight"]) == 5.0 and float(on["identity"]) > 0
    assert float(off["identity_weight"]) == 0.0 and float(off["identity"]) == 0.0


def _graph_op_types(step_function) -> list[str]:
    (concrete,) = step_function._list_all_concrete_functions()
    return [op.type for op in concrete.graph.get_operations()]


@pytest.mark.parametrize("model_type", ["cyclegan", "emostargan"])
def test_each_identity_phase_compiles_only_the_generator_passes_it_runs(model_type, batch):
    """The phase is decided in Python before each compiled step: no graph holds a branch it does not run (a
    ``cond`` traced both branches and their gradients, twice the first step's time), and a run crossing the
    switch-off step uses the second compiled step from there on."""
    spec = models.get(model_type)
    n = spec.n_emotions or 4
    model = gan.build_training_model(spec, replace(MODEL_CFG, n_emotions=n),
                                     replace(TRAIN_CFG, identity_switch_off_step=2, batch_size=1))
    crops = [(batch[k % 2][:1], batch[2 + k % 2][:1]) for k in range(n)]
    weights = [model.train_on_segments(crops)["identity_weight"] for _ in range(3)]
    assert weights == [5.0, 5.0, pytest.approx(10 / 3)]  # running means of 5, 5, 0: the third step had none
    assert sorted(model._step_functions) == [False, True]
    on, off = (_graph_op_types(model._step_functions[phase]) for phase in (True, False))
    assert not {"If", "StatelessIf"} & set(on + off)
    assert len(off) < len(on)  # the identity pass left out (CycleGAN: two generator calls fewer)


def test_traced_step_is_the_graph_of_the_last_compiled_step_and_reuses_its_trace(batch):
    model = gan.build_training_model(models.get("cyclegan"), MODEL_CFG,
                                     replace(TRAIN_CFG, batch_size=1, identity_switch_off_step=1))
    with pytest.raises(ParameterError, match="no compiled training step"):
        model.traced_step()
    crops = [(batch[0][:1], batch[2][:1]), (batch[1][:1], batch[3][:1])]
    model.train_on_segments(crops)  # with the identity loss
    with_identity = [op.type for op in model.traced_step().graph.get_operations()]
    model.train_on_segments(crops)  # past the switch-off step: the second compiled step
    ops_of_step = [op.type for op in model.traced_step().graph.get_operations()]
    assert [model._step_functions[p].experimental_get_tracing_count() for p in (True, False)] == [1, 1]  # no new trace
    assert ops_of_step == _graph_op_types(model._step_functions[False]) != with_identity
    assert with_identity == _graph_op_types(model._step_functions[True]) and "Conv2DBackpropFilter" in ops_of_step
    eager = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    eager.train_on_segments(crops)
    with pytest.raises(ParameterError, match="eagerly"):
        eager.traced_step()


def test_the_discriminator_tape_stops_at_the_generated_crops(batch):
    """GAN.tapes: the discriminator's gradient is the one of a persistent tape, and nothing of it runs back into
    the generator (a persistent tape built that backward pass for every generator call, for nothing)."""
    model = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    real_a, real_b = (tf.constant(x) for x in batch[:2])
    with model.tapes() as (gen_tape, disc_tape), tf.GradientTape(persistent=True) as reference:
        fake_b = model.gen_a2b(real_a, training=True)
        disc_loss = gan.losses.lsgan_discriminator_loss(model.disc_b(real_b, training=True),
                                                        model.disc_b(fake_b, training=True))
        gen_loss = gan.losses.lsgan_generator_loss(model.disc_b(fake_b, training=True))
    grads = disc_tape.gradient(disc_loss, {"fake": fake_b, "gen": model.gen_a2b.trainable_variables,
                                           "disc": model.disc_b.trainable_variables})
    assert grads["fake"] is None and all(g is None for g in grads["gen"])
    for got, want in zip(grads["disc"], reference.gradient(disc_loss, model.disc_b.trainable_variables)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    for got, want in zip(gen_tape.gradient(gen_loss, model.gen_a2b.trainable_variables),
                         reference.gradient(gen_loss, model.gen_a2b.trainable_variables)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_classification_loss_changes_generator_gradients(model, batch):
    terms, with_class = _generator_grads(model, batch, step=0)
    model.lambda_class = 0.0
    try:
        _, without_class = _generator_grads(model, batch, step=0)
    finally:
        model.lambda_class = TRAIN_CFG.lambda_class
    assert float(terms["classification"]) > 0
    differing = [not np.allclose(a, b, rtol=1e-5, atol=1e-8) for a, b in zip(with_class, without_class)]
    assert sum(differing) > len(differing) // 2  # reaches (nearly) every generator weight
    assert not any(v is w for v in model.generator_variables for w in model.classifier.weights)


# ---------------------------------------------------------------------- the loop


@pytest.fixture(scope="module")
def uninterrupted(domains, tmp_path_factory):
    root = tmp_path_factory.mktemp("uninterrupted")
    history = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, root / "model", progress=False,
                             run_eagerly=True, tensorboard_log_dir=root / "tb", output_dir=root / "val",
                             model_name="synthetic")
    return root, history


def test_train_writes_a_complete_model_folder(uninterrupted):
    root, history = uninterrupted
    model_dir = root / "model"
    for name in ("config.json", "stats-calm.json", "stats-loud.json", "gen_a2b.weights.h5", "gen_b2a.weights.h5",
                 "history.csv"):
        assert (model_dir / name).is_file(), name
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "cyclegan" and config["model_name"] == "synthetic"
    assert config["schema_version"] == 2 and [e["name"] for e in config["emotions"]] == ["calm", "loud"]
    assert [e["stats_file"] for e in config["emotions"]] == ["stats-calm.json", "stats-loud.json"]
    assert config["train"]["iterations"] == 4 and config["model"]["width"] == MODEL_CFG.width
    assert config["training"]["status"] == "complete" and config["training"]["iterations_done"] == 4
    assert config["training"]["wall_time_s"] > 0 and "classifier" in config["training"]
    assert [row["iteration"] for row in history] == [1, 2, 3, 4]
    assert all(np.isfinite(row[name]) for row in history for name in LOSS_NAMES)
    assert [row["identity_weight"] for row in history] == [5.0, 5.0, 0.0, 0.0]  # switch_off_step=2 in smoke()
    assert history[0]["gen_lr"] == pytest.approx(2e-4) and history[-1]["gen_lr"] < history[0]["gen_lr"]
    with open(model_dir / "history.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert sorted(p.name for p in (model_dir / "checkpoints").iterdir()) == ["step-00000002", "step-00000004"]


def test_train_writes_validation_audio_and_tensorboard_events(uninterrupted):
    root, _ = uninterrupted
    wavs = sorted((root / "val").rglob("*.wav"))
    assert [w.relative_to(root / "val").parts[:2] for w in wavs] == [("iteration-00000004", "A2B"),
                                                                    ("iteration-00000004", "B2A")]
    tags = set()
    for path in (root / "tb").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    assert {"loss/gen_total", "loss/identity", "loss/classification", "lr/gen", "lr/disc",
            "validation/A2B", "validation/A2B_envelope", "validation/B2A"} <= tags


def _weights(model_dir: Path) -> list[np.ndarray]:
    gen = build_generator(MODEL_CFG)
    out = []
    for name in ("gen_a2b", "gen_b2a"):
        gen.load_weights(model_dir / f"{name}.weights.h5")
        out += [w.copy() for w in gen.get_weights()]
    return out


def test_resume_after_a_kill_matches_the_uninterrupted_run(domains, uninterrupted, tmp_path):
    _, history = uninterrupted

    def kill_during_iteration_3(iteration, logs, model):
        if iteration == 3:
            raise KeyboardInterrupt  # as if the process died after the step-2 checkpoint

    with pytest.raises(KeyboardInterrupt):
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, progress=False, run_eagerly=True,
                       callbacks=[kill_during_iteration_3])
    assert training.latest_checkpoint(tmp_path).name == "step-00000002"
    assert not (tmp_path / "gen_a2b.weights.h5").exists()
    with pytest.raises(ParameterError, match="resume"):
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, progress=False, run_eagerly=True)

    resumed = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, resume=True, progress=False,
                             run_eagerly=True)
    state = json.loads((training.latest_checkpoint(tmp_path) / "state.json").read_text())
    assert state["iteration"] == 4
    for a, b in zip(_weights(uninterrupted[0] / "model"), _weights(tmp_path)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for row, again in zip(history, resumed):
        assert row["iteration"] == again["iteration"]
        for name in LOSS_NAMES:
            assert again[name] == pytest.approx(row[name], rel=1e-5, abs=1e-6)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["training"]["resumed"] == [2] and config["training"]["iterations_done"] == 4


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(domains, tmp_path):
    cfg = replace(TRAIN_CFG, lambda_class=0.0)

    def poison_after_iteration_2(iteration, logs, model):
        if iteration == 2:
            weights = model.gen_a2b.get_weights()
            weights[0] = np.full_like(weights[0], np.nan)
            model.gen_a2b.set_weights(weights)

    with pytest.raises(TrainingDivergedError, match="iteration 3") as caught:
        training.train(domains, FEATURE_CFG, MODEL_CFG, cfg, tmp_path, progress=False, run_eagerly=True,
                       callbacks=[poison_after_iteration_2])
    assert caught.value.iteration == 3 and "step-00000002" in str(caught.value)
    assert caught.value.checkpoint == str(training.latest_checkpoint(tmp_path))
    assert training.latest_checkpoint(tmp_path).name == "step-00000002"
    assert json.loads((tmp_path / "config.json").read_text())["training"]["status"] == "diverged"
    with open(tmp_path / "history.csv") as handle:  # the good rows, for diagnosis
        assert [int(row["iteration"]) for row in csv.DictReader(handle)] == [1, 2]
    model = build_cyclegan(MODEL_CFG, cfg, run_eagerly=True)
    state = training.load_checkpoint(model, training.latest_checkpoint(tmp_path))
    assert state["iteration"] == 2 and int(model.step.numpy()) == 2
    assert all(np.all(np.isfinite(w)) for w in model.gen_a2b.get_weights())


def test_time_budget_stops_early_with_a_usable_model_and_resume_finishes_the_run(domains, tmp_path):
    history = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, progress=False, run_eagerly=True,
                             max_wall_time_s=1e-6)  # spent by the classifier pre-training: one iteration runs
    assert [row["iteration"] for row in history] == [1]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["training"]["stopped_by"] == "time budget" and config["training"]["iterations_done"] == 1
    assert config["training"]["status"] == "complete" and config["training"]["max_wall_time_s"] == 1e-6
    assert (tmp_path / "gen_a2b.weights.h5").is_file()
    assert training.latest_checkpoint(tmp_path).name == "step-00000001"
    # the schedule is that of all TRAIN_CFG.iterations, not of the budget
    assert history[0]["gen_lr"] == pytest.approx(TRAIN_CFG.gen_lr)

    resumed = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, resume=True, progress=False,
                             run_eagerly=True)
    assert [row["iteration"] for row in resumed] == [1, 2, 3, 4]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["training"]["iterations_done"] == 4 and "stopped_by" not in config["training"]
    with pytest.raises(ParameterError, match="max_wall_time_s"):
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path / "other", progress=False,
                       max_wall_time_s=0)


def test_train_rejects_inconsistent_configs(domains, tmp_path):
    with pytest.raises(ParameterError, match="mcep_dim"):
        training.train(domains, FEATURE_CFG, replace(MODEL_CFG, mcep_dim=36), TRAIN_CFG, tmp_path, progress=False)


def test_only_the_training_step_and_tensorboard_use_tensorflow():
    import ast

    def tensorflow_users(module) -> set[str]:
        tree = ast.parse(Path(module.__file__).read_text())
        users = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import) and any(a.name.startswith("tensorflow") for a in inner.names):
                        users.add(node.name)
        assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom) and "tensorflow" in ast.dump(n)]
        return users

    # the step, and averaging the replicas' gradients in it (tf.distribute)
    # and the compiled inference of conversion (infer)
    assert tensorflow_users(gan) == {"GAN", "tapes", "apply_updates", "infer", "distributed_step", "classifier_step"}
    assert tensorflow_users(distribute) == {"split_cpu", "make_strategy"}
    # accelerator_summary asks TensorFlow which devices the step will run on
    # and limit_cpu_threads sets how many threads its ops get
    assert tensorflow_users(monitor) == {"TensorBoard", "__init__", "accelerator_summary", "limit_cpu_threads"}
    for module in (loop, checkpoints, classifier, sampling, conversion):
        assert tensorflow_users(module) == set(), module.__name__
        assert "import tensorflow" not in Path(module.__file__).read_text()


@pytest.mark.parametrize("n_threads, parallel_ops, split", [(2, 2, (1, 2)), (16, 2, (8, 2)), (1, 2, (1, 1)),
                                                           (2, 1, (2, 1)), (3, 2, (1, 2)), (6, 4, (1, 4))])
def test_thread_split_runs_that_many_ops_at_once_and_splits_them_over_a_share_of_the_threads(n_threads, parallel_ops,
                                                                                            split):
    intra, inter = monitor.thread_split(n_threads, parallel_ops)
    assert (intra, inter) == split
    assert intra * inter <= n_threads  # ops split at once never ask for more threads than given


@pytest.mark.parametrize("bad", [(0, 2), (2, 0)])
def test_thread_split_refuses_counts_below_one(bad):
    with pytest.raises(ParameterError):
        monitor.thread_split(*bad)


def test_limit_cpu_threads_sets_the_split_before_tensorflow_starts_and_refuses_another_after(tmp_path):
    # TensorFlow fixes its threads when it runs its first op, which this test process has done long ago
    import subprocess
    import sys

    script = """
import logging, tensorflow as tf
from emocore.exceptions import ParameterError
from emocore.training import monitor
print(monitor.limit_cpu_threads(2, 2))
print(tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())
try:
    monitor.limit_cpu_threads(0)
except ParameterError as err:
    print("no threads:", "at least 1" in str(err))
tf.constant(1.0) + 1.0  # TensorFlow starts
print(monitor.limit_cpu_threads(2, 2))  # the same split again: harmless
print(monitor.limit_cpu_threads(2, 1, required=False))  # a default that cannot be had: kept as it is
try:
    monitor.limit_cpu_threads(2, 1)
except ParameterError as err:
    print("refused:", "already started" in str(err))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:6] == ["(1, 2)", "1 2", "no threads: True", "(1, 2)", "(1, 2)", "refused: True"]
    assert "they stay as they are" in out.stderr


def test_loss_panels_name_only_losses_each_model_logs():
    from emocore.models import munit

    logged = {"cyclegan": LOSS_NAMES, "munit": munit.LOSS_NAMES}
    assert set(models.MODELS) >= set(logged)
    for model_type in logged:
        plotted = [name for panel in models.get(model_type).loss_panels for name in panel]
        assert set(plotted) <= set(logged[model_type]), model_type
        assert "classification" in plotted


# ---------------------------------------------------------------------- contrast emotions and warm starts


def test_contrast_emotions_make_a_classifier_that_tells_every_class_apart(domains):
    extra = _domain("shrill", 330.0, seed=20)
    cfg = replace(TRAIN_CFG, classifier_pretrain_steps=150, classifier_batch_size=4, n_frames=32)
    three = build_emotion_classifier(replace(MODEL_CFG, n_emotions=3))
    (calm, loud) = domains
    classes = dict(contrast=[([f for _, f in extra.train], [f for _, f in extra.validation], extra.stats)])
    result = training.pretrain_classifier(
        three, [([f for _, f in calm.train], [f for _, f in calm.train], calm.stats),
                ([f for _, f in loud.train], [f for _, f in loud.train], loud.stats), *classes["contrast"]],
        cfg, np.random.default_rng(0), run_eagerly=True)
    assert result["n_classes"] == 3 and result["n_val"] == 3 + 3 + 1
    # each class is normalized by its own statistics, so only the tones' shapes tell them apart; the training
    # utterances at least must be learnt
    assert result["val_accuracy"] > 0.5
    assert not three.trainable
    two = build_emotion_classifier(MODEL_CFG)
    with pytest.raises(ParameterError, match="n_emotions"):
        training.pretrain_classifier(two, [([f for _, f in calm.train], [], calm.stats),
                                           ([f for _, f in loud.train], [], loud.stats), *classes["contrast"]],
                                     cfg, np.random.default_rng(0))


def test_train_with_a_contrast_emotion_records_its_classes_and_resume_checks_them(domains, tmp_path):
    extra = _domain("shrill", 330.0, seed=20)
    three = replace(MODEL_CFG, n_emotions=3)
    with pytest.raises(ParameterError, match="n_emotions=2"):
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, progress=False, run_eagerly=True,
                       contrast_domains=[extra])
    with pytest.raises(ParameterError, match="lambda_class=0"):
        training.train(domains, FEATURE_CFG, three, replace(TRAIN_CFG, lambda_class=0.0), tmp_path, progress=False,
                       contrast_domains=[extra])
    with pytest.raises(ParameterError, match="differ"):
        training.train(domains, FEATURE_CFG, three, TRAIN_CFG, tmp_path, progress=False, contrast_domains=[domains[0]])
    history = training.train(domains, FEATURE_CFG, three, TRAIN_CFG, tmp_path, progress=False, run_eagerly=True,
                             contrast_domains=[extra])
    assert all(np.isfinite(row["classification"]) for row in history)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["classifier_classes"] == ["calm", "loud", "shrill"]
    assert config["contrast"][0]["name"] == "shrill" and config["contrast"][0]["stats_file"] == ""
    assert config["training"]["classifier"]["n_classes"] == 3
    model = build_cyclegan(three, TRAIN_CFG, run_eagerly=True)
    training.load_checkpoint(model, training.latest_checkpoint(tmp_path))
    assert model.classifier.outputs[0].shape[-1] == 3
    with pytest.raises(ParameterError, match="classifier tells"):
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, resume=True, progress=False)


def test_a_warm_start_begins_from_the_source_networks_with_a_fresh_classifier(domains, uninterrupted, tmp_path):
    source = uninterrupted[0] / "model"
    model = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    fresh_classifier = [w.copy() for w in model.classifier.get_weights()]
    info = training.warm_start(model, source)
    assert info == {"checkpoint": str(source / "checkpoints" / "step-00000004"), "iteration": 4, "grown": [],
                    "fresh": []}
    stored = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    training.load_checkpoint(stored, source / "checkpoints" / "step-00000004")
    for name in ("gen_a2b", "gen_b2a", "disc_a", "disc_b"):
        for a, b in zip(getattr(model, name).get_weights(), getattr(stored, name).get_weights()):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(model.classifier.get_weights(), fresh_classifier):
        np.testing.assert_array_equal(a, b)
    assert int(model.step.numpy()) == 0

    wider = build_cyclegan(replace(MODEL_CFG, width=0.25), TRAIN_CFG, run_eagerly=True)
    with pytest.raises(ParameterError, match="does not fit"):
        training.warm_start(wider, source)
    with pytest.raises(ParameterError, match="another width"):  # growing channels is for options, not sizes
        training.warm_start(wider, source, replace(MODEL_CFG, width=0.25))
    with pytest.raises(ParameterError, match="neither"):
        training.warm_start(model, tmp_path)

    training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path / "tuned", progress=False, run_eagerly=True,
                   init_from=source)
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["training"]["initialized_from"] == info


def test_a_warm_start_from_a_pretrained_folder_takes_its_generators_and_fresh_discriminators(uninterrupted, tmp_path):
    from emocore.pretrained import export_pretrained

    folder = export_pretrained(uninterrupted[0] / "model", "synthetic", root=tmp_path)  # float16, no checkpoints
    model = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    as_built = [w.copy() for w in model.disc_a.get_weights()]
    info = training.warm_start(model, folder)
    assert info == {"checkpoint": str(folder), "iteration": 4, "grown": [], "fresh": ["disc_a", "disc_b"]}
    stored = build_cyclegan(MODEL_CFG, TRAIN_CFG, run_eagerly=True)
    training.load_checkpoint(stored, uninterrupted[0] / "model" / "checkpoints" / "step-00000004")
    for a, b in zip(model.gen_a2b.get_weights(), stored.gen_a2b.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)  # float16's rounding
    for a, b in zip(model.disc_a.get_weights(), as_built):
        np.testing.assert_array_equal(a, b)
    (folder / "gen_a2b.weights.h5").unlink(), (folder / "gen_b2a.weights.h5").unlink()
    with pytest.raises(ParameterError, match="holds none of this model's networks"):
        training.warm_start(model, folder)


def test_a_discriminator_grows_only_by_input_channels():
    from emocore.models.discriminator import (
        build_discriminator,
        build_discriminator_1d,
        build_discriminator_2d_light,
    )
    from emocore.training.checkpoints import _grows_inputs_only

    cfg = ModelConfig().smoke()
    one_d, one_d_f0 = build_discriminator_1d(cfg, n_outputs=4), build_discriminator_1d(cfg, n_outputs=4,
                                                                                        input_dim=cfg.mcep_dim + 1)
    assert _grows_inputs_only(one_d, one_d_f0) and not _grows_inputs_only(one_d_f0, one_d)
    two_d, light = build_discriminator(cfg, n_outputs=4), build_discriminator_2d_light(cfg, n_outputs=4)
    assert _grows_inputs_only(two_d, two_d)
    # the light network's weights are no larger than the 2-D one's, but zero-padding them computes something else
    assert not _grows_inputs_only(light, two_d) and not _grows_inputs_only(two_d, light)
    assert not _grows_inputs_only(one_d, two_d)


def test_transfer_weights_fills_grown_channels_with_zeros():
    import keras

    from emocore.training.checkpoints import transfer_weights

    def net(channels: int, seed: int) -> keras.Model:
        keras.utils.set_random_seed(seed)
        x = keras.Input((None, channels))
        h = keras.layers.Conv1D(4, 3, padding="same", bias_initializer="glorot_uniform")(x)
        return keras.Model(x, keras.layers.Conv1D(channels, 1, bias_initializer="glorot_uniform")(h))

    small, grown = net(2, 0), net(3, 1)  # one more channel in and out (EmoStarGAN's F0 channel)
    transfer_weights(small, grown)
    x = np.random.default_rng(0).standard_normal((1, 10, 3)).astype("float32")
    out = grown.predict(x, verbose=0)
    np.testing.assert_allclose(out[..., :2], small.predict(x[..., :2], verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[..., 2], 0.0)  # the new output starts at zero; the new input is ignored
    with pytest.raises(ParameterError, match="cannot copy"):
        transfer_weights(grown, small)


def test_the_prefetcher_draws_what_the_loop_would_and_hands_over_the_generator_state():
    feats = [_synthetic_feats(seed=i, voiced=slice(20 * i, 20 * i + 120)) for i in range(4)]
    stats = DomainStats.fit("x", feats)
    samplers = [sampling.CropSampler(feats, 32, stats, 0.25), sampling.CropSampler(feats[::-1], 32, stats, 0.25,
                                                                                    weights=[1, 2, 3, 4])]
    rng = np.random.default_rng(7)
    direct, states = [], []
    for _ in range(5):
        direct.append([s.draw(2, rng) for s in samplers])
        states.append(rng.bit_generator.state)
    prefetcher = sampling.Prefetcher(samplers, 2, np.random.default_rng(7).bit_generator.state)
    try:
        for expected, state in zip(direct, states):
            crops, handed = prefetcher.next()
            assert handed == state
            for (m, f), (m2, f2) in zip(crops, expected):
                np.testing.assert_array_equal(m, m2)
                np.testing.assert_array_equal(f, f2)
    finally:
        prefetcher.close()
    # sample_segments is one CropSampler draw: the same crops from the same generator state
    again = np.random.default_rng(7)
    m, f = sampling.sample_segments(feats, 32, 2, again, stats, 0.25)
    np.testing.assert_array_equal(m, direct[0][0][0])


def test_the_prefetcher_raises_a_drawing_error_in_the_loop():
    class Broken:
        def draw(self, batch_size, rng):
            raise ParameterError("no crops today")

    prefetcher = sampling.Prefetcher([Broken()], 2, np.random.default_rng(0).bit_generator.state)
    try:
        with pytest.raises(ParameterError, match="no crops today"):
            prefetcher.next()
    finally:
        prefetcher.close()
