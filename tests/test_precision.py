"""Tests of emocore.models.precision: convolutions in bfloat16 while training, everything else as it was."""

from __future__ import annotations

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from emocore import conversion, models, training
from emocore.config import ModelConfig, TrainConfig
from emocore.exceptions import ParameterError
from emocore.models.base import build_training_model
from emocore.models.precision import CONVOLUTIONS, convolution_layers, set_convolution_precision

MODEL_CFG = ModelConfig(width=0.125, n_emotions=4)
TRAIN_CFG = TrainConfig(batch_size=1, n_frames=32, identity_switch_off_step=10 ** 6)


def _crops(seed=0, n_emotions=4):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((1, 32, MODEL_CFG.mcep_dim)).astype("float32"),
             rng.standard_normal((1, 32)).astype("float32")) for _ in range(n_emotions)]


def _stargan(precision):
    return build_training_model(models.get("emostargan"), MODEL_CFG, replace(TRAIN_CFG, precision=precision))


@pytest.fixture(scope="module")
def pair():
    """The same EmoStarGAN (same seed, same weights) built in float32 and with bfloat16 convolutions."""
    return _stargan("float32"), _stargan("bfloat16")


@pytest.mark.parametrize("name", list(models.MODELS))
def test_bfloat16_moves_every_convolution_of_every_model_and_nothing_else(name):
    spec = models.get(name)
    model_cfg = replace(MODEL_CFG, n_emotions=spec.n_emotions or 4)
    model = build_training_model(spec, model_cfg, replace(TRAIN_CFG, precision="bfloat16"))
    networks = model.networks()
    convs = convolution_layers(networks.values())
    assert len(convs) > 10 and all(isinstance(layer, CONVOLUTIONS) for layer in convs)
    assert {layer.compute_dtype for layer in convs} == {"bfloat16"}
    for network in networks.values():
        others = [layer for layer in network._flatten_layers(include_self=False) if not isinstance(layer, CONVOLUTIONS)]
        assert others and {layer.compute_dtype for layer in others} == {"float32"}
    # what converts during training (validation) is among the networks moved
    assert {id(n) for n in model.converter().networks().values()} <= {id(n) for n in networks.values()}
    # the weights stay float32: the optimizer, checkpoints and saved weights see no change
    assert {v.dtype for v in model.generator_variables + model.discriminator_variables} == {"float32"}


def test_the_same_seed_gives_the_same_weights_in_either_precision(pair):
    plain, mixed = pair
    assert {layer.compute_dtype for layer in convolution_layers(plain.networks().values())} == {"float32"}
    for name, network in plain.networks().items():
        for a, b in zip(network.get_weights(), mixed.networks()[name].get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_bfloat16_network_hands_back_float32_close_to_the_float32_network(pair):
    plain, mixed = pair
    rng = np.random.default_rng(1)
    features = rng.standard_normal((2, 32, MODEL_CFG.mcep_dim)).astype("float32")
    condition = np.eye(8, dtype="float32")[[0, 5]]
    generated = mixed.generator([features, condition])
    assert keras.backend.standardize_dtype(generated.dtype) == "float32"
    for a, b in zip(plain.discriminator.get_weights(), mixed.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    want = keras.ops.convert_to_numpy(plain.discriminator(features))
    got = mixed.discriminator(features)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    got = keras.ops.convert_to_numpy(got)
    assert not np.array_equal(got, want)  # bfloat16 arithmetic did happen
    # bfloat16 keeps 8 bits of mantissa: about 2 decimal digits per product, accumulated in float32
    np.testing.assert_allclose(got, want, atol=0.05 * np.abs(want).max())


def test_a_bfloat16_training_step_matches_float32_to_bfloat16_precision():
    plain, mixed = _stargan("float32"), _stargan("bfloat16")
    before = [w.copy() for w in mixed.generator.get_weights()]
    logs_plain, logs_mixed = plain.train_on_segments(_crops()), mixed.train_on_segments(_crops())
    assert set(logs_plain) == set(logs_mixed) and all(np.isfinite(v) for v in logs_mixed.values())
    for name in ("adversarial", "classification", "disc", "gen_total"):
        assert logs_mixed[name] == pytest.approx(logs_plain[name], rel=0.02), name
    assert any(logs_mixed[name] != logs_plain[name] for name in ("adversarial", "disc"))  # in bfloat16 indeed
    after = mixed.generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))  # the float32 weights were updated
    assert all(w.dtype == np.float32 for w in after)
    moved_plain = [a - b for a, b in zip(plain.generator.get_weights(), before)]
    moved_mixed = [a - b for a, b in zip(after, before)]
    # Adam's first step moves every weight by about the learning rate, in the direction of its gradient's sign:
    # bfloat16 gradients agree in sign with float32's for nearly every weight
    signs = np.concatenate([np.sign(a).ravel() == np.sign(b).ravel() for a, b in zip(moved_plain, moved_mixed)])
    assert signs.mean() > 0.9


def test_setting_the_precision_twice_or_float32_changes_nothing():
    model = _stargan("bfloat16")
    conv = convolution_layers(model.networks().values())[0]
    call = conv.call
    assert set_convolution_precision(model.networks().values(), "bfloat16") == len(
        convolution_layers(model.networks().values()))
    assert conv.call is call  # not wrapped a second time
    plain = _stargan("float32")
    assert set_convolution_precision(plain.networks().values(), "float32") == 0
    assert {layer.compute_dtype for layer in convolution_layers(plain.networks().values())} == {"float32"}


def test_an_unknown_precision_is_refused():
    with pytest.raises(ParameterError, match="precision must be one of float32, bfloat16, got 'float16'"):
        TrainConfig(precision="float16")
    with pytest.raises(ParameterError, match="precision must be one of"):
        set_convolution_precision([], "fp8")


@pytest.mark.slow
def test_a_bfloat16_run_records_its_precision_saves_float32_weights_and_converts(tmp_path):
    """A short EmoCycleGAN run with bfloat16 convolutions: its config says so, the weight files it writes are
    float32, and the model folder converts a recording."""
    import h5py
    from test_training import FEATURE_CFG, _domain, _spoken

    domains = _domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10)
    train_cfg = replace(TrainConfig().smoke(), precision="bfloat16")
    history = training.train(domains, FEATURE_CFG, ModelConfig().smoke(), train_cfg, tmp_path, progress=False)
    assert [row["iteration"] for row in history] == [1, 2, 3, 4]
    assert all(np.isfinite(v) for row in history for v in row.values())
    assert json.loads((tmp_path / "config.json").read_text())["train"]["precision"] == "bfloat16"
    dtypes = set()
    for path in tmp_path.glob("*.weights.h5"):
        with h5py.File(path) as weights:
            weights.visititems(lambda _, item: dtypes.add(str(item.dtype)) if isinstance(item, h5py.Dataset) else None)
    assert dtypes == {"float32"}
    model = conversion.ConversionModel.load(tmp_path)
    wav = model.convert_wav(_spoken(140.0, 0.4, seed=3).astype("float32"), "A2B")
    assert np.isfinite(wav).all() and np.abs(wav).max() > 0
