"""Tests of emocore.models: shapes, building blocks, parameter counts, saving, backend neutrality."""

import importlib.util
import io
import math
import os
import re
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import keras
import numpy as np
import pytest

from emocore.config import FeatureConfig, ModelConfig, TrainConfig
from emocore.exceptions import ParameterError
from emocore.models import layers as models
from emocore.models.classifier import build_emotion_classifier
from emocore.models.cyclegan import build_generator
from emocore.models.discriminator import (
    DISCRIMINATORS,
    build_discriminator,
    build_discriminator_1d,
    discriminator_builder,
)

PACKAGE_DIR = Path(models.__file__).parent
SMOKE = ModelConfig().smoke()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def gen():
    keras.utils.set_random_seed(0)
    return build_generator(SMOKE)


@pytest.fixture(scope="module")
def disc():
    keras.utils.set_random_seed(1)
    return build_discriminator(SMOKE)


def _mcep(rng, n_frames, batch=2, dim=SMOKE.mcep_dim):
    return rng.standard_normal((batch, n_frames, dim)).astype("float32")


# --- backend neutrality -------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["layers.py", "losses.py", "cyclegan.py", "discriminator.py", "classifier.py",
                                    "munit.py", "stargan.py", "contour.py"])
def test_module_uses_no_backend_specific_code(module):
    source = (PACKAGE_DIR / module).read_text()
    # the code without its comments and docstrings (which may name a backend)
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type != tokenize.COMMENT]
    code = [t.string for k, t in enumerate(tokens) if not (
        t.type == tokenize.STRING and (k == 0 or tokens[k - 1].type in (tokenize.INDENT, tokenize.NEWLINE, tokenize.NL,
                                                                         tokenize.DEDENT)))]
    text = " ".join(code)
    assert "tensorflow" not in text.lower() and "torch" not in text and "jax" not in text
    assert not re.search(r"\btf\s*\.", text)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_models_and_losses_run_under_jax_backend():
    script = textwrap.dedent(
        """
        import jax, numpy as np
        from emocore.models import losses
        from emocore.models.cyclegan import build_generator
        from emocore.models.discriminator import build_discriminator
        from emocore.config import ModelConfig
        cfg = ModelConfig().smoke()
        gen, disc = build_generator(cfg), build_discriminator(cfg)
        x = np.zeros((1, 32, cfg.mcep_dim), "float32")
        assert gen(x).shape == x.shape
        loss = losses.lsgan_generator_loss(disc(gen(x))) + losses.identity_weight(jax.numpy.asarray(3))
        assert np.isfinite(float(loss))
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE_DIR.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]


# --- building blocks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "width", "expected"),
    [(128, 1.0, 128), (128, 0.5, 64), (128, 0.125, 16), (96, 0.3, 28), (100, 0.345, 34), (8, 0.1, 4)],
)
def test_scale_channels_rounds_to_even_with_minimum_four(channels, width, expected):
    assert models.scale_channels(channels, width) == expected


def test_scale_channels_rejects_nonpositive_width():
    with pytest.raises(ParameterError):
        models.scale_channels(128, 0.0)


def test_pixel_shuffle_moves_values_as_specified():
    batch, n_frames, channels, factor = 2, 3, 2, 2
    x = np.arange(batch * n_frames * channels * factor, dtype="float32").reshape(
        batch, n_frames, channels * factor
    )
    y = keras.ops.convert_to_numpy(models.PixelShuffle1D(factor)(x))
    assert y.shape == (batch, n_frames * factor, channels)
    # x[0] = [[0 1 2 3] [4 5 6 7] [8 9 10 11]]: each frame's channels split into `factor` consecutive frames
    np.testing.assert_array_equal(y[0], [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]])
    for t in range(n_frames):
        for j in range(factor):
            np.testing.assert_array_equal(y[:, t * factor + j, :], x[:, t, j * channels : (j + 1) * channels])


def test_pixel_shuffle_rejects_indivisible_channels():
    with pytest.raises(ParameterError):
        models.PixelShuffle1D(2)(np.zeros((1, 4, 3), "float32"))


def test_glu_has_separate_gate_convolution(rng):
    glu = models.GLU(8, 3, normalize=False)
    x = rng.standard_normal((2, 10, 4)).astype("float32")
    glu(x)
    assert len(glu.weights) == 4  # value kernel + bias, gate kernel + bias
    assert glu.conv.kernel.shape == glu.gate_conv.kernel.shape == (3, 4, 8)
    assert glu.conv.kernel is not glu.gate_conv.kernel

    glu.gate_conv.bias.assign(np.full(8, -1e4, "float32"))  # gate closed
    np.testing.assert_allclose(keras.ops.convert_to_numpy(glu(x)), 0.0, atol=1e-12)
    glu.gate_conv.bias.assign(np.full(8, 1e4, "float32"))  # gate open: output is the value path
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(glu(x)), keras.ops.convert_to_numpy(glu.conv(x)), rtol=1e-6
    )


def test_normalized_glu_gate_is_closed_by_its_norm_offset(rng):
    glu = models.GLU(6, 5, strides=2, normalize=True)
    x = rng.standard_normal((2, 16, 3)).astype("float32")
    assert glu(x).shape == (2, 8, 6)
    assert len(glu.trainable_weights) == 6  # 2 kernels (no bias: IN removes it), 2 x (gamma, beta)
    glu.gate_norm.beta.assign(np.full(6, -1e4, "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(glu(x)), 0.0, atol=1e-12)


def test_glu_upsample_and_2d_shapes(rng):
    up = models.GLU(6, 5, upsample=2)
    assert up(rng.standard_normal((2, 8, 4)).astype("float32")).shape == (2, 16, 6)
    assert up.conv.kernel.shape == (5, 4, 12)
    down2d = models.GLU(8, (3, 6), strides=(2, 1), rank=2)
    assert down2d(rng.standard_normal((2, 9, 6, 3)).astype("float32")).shape == (2, 5, 6, 8)


@pytest.mark.parametrize(
    "kwargs", [{"rank": 3}, {"rank": 2, "upsample": 2}, {"upsample": 0}, {"kernel_size": (3, 3)}]
)
def test_glu_rejects_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        models.GLU(**{"filters": 4, "kernel_size": 3, **kwargs})


@pytest.mark.parametrize("shape", [(3, 50, 5), (2, 12, 7, 4)])
def test_instance_norm_normalizes_each_channel_over_time(rng, shape):
    x = rng.standard_normal(shape) * rng.uniform(0.5, 5.0, shape[-1]) + rng.uniform(-3, 3, shape[-1])
    y = keras.ops.convert_to_numpy(models.InstanceNorm()(x.astype("float32")))
    axes = tuple(range(1, len(shape) - 1))
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=axes), 1.0, atol=1e-3)


@pytest.mark.parametrize(("shape", "offset"), [((3, 50, 5), 2.0), ((2, 12, 7, 4), 2.0), ((3, 50, 5), 300.0)])
def test_instance_norm_is_the_textbook_formula_forward_and_backward(rng, shape, offset):
    """gamma * (x - mean) / sqrt(var + epsilon) + beta, computed as x * scale + offset: the same values and
    gradients (to float32 rounding) for the input, gamma and beta, also for a channel whose mean is a hundred times
    its spread (where x * scale and the offset cancel most)."""
    import tensorflow as tf

    norm = models.InstanceNorm(epsilon=1e-3)
    x = tf.constant((rng.standard_normal(shape) * 3 + offset).astype("float32"))
    norm.build(x.shape)
    norm.gamma.assign(rng.uniform(0.5, 2.0, shape[-1]).astype("float32"))
    norm.beta.assign(rng.uniform(-1.0, 1.0, shape[-1]).astype("float32"))
    weights = rng.standard_normal(shape).astype("float32")  # a loss that weighs every output differently
    axes = tuple(range(1, len(shape) - 1))

    def textbook(x, gamma, beta):
        mean = tf.reduce_mean(x, axis=axes, keepdims=True)
        variance = tf.reduce_mean(tf.square(x - mean), axis=axes, keepdims=True)
        return (x - mean) / tf.sqrt(variance + 1e-3) * gamma + beta

    results = []
    for function in (lambda x: norm(x), lambda x: textbook(x, norm.gamma, norm.beta)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
            loss = tf.reduce_sum(y * weights)
        results.append([y.numpy()] + [g.numpy() for g in tape.gradient(loss, [x, norm.gamma.value, norm.beta.value])])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_residual_block_keeps_shape_and_checks_channels(rng):
    block = models.ResidualBlock1D(8, 16, 3)
    x = rng.standard_normal((2, 12, 8)).astype("float32")
    assert block(x).shape == x.shape
    with pytest.raises(ParameterError):
        models.ResidualBlock1D(6, 12)(x)


@pytest.mark.parametrize(
    "layer",
    [
        models.InstanceNorm(epsilon=1e-3, center=False),
        models.PixelShuffle1D(3),
        models.GLU(6, (3, 6), strides=(2, 1), rank=2, normalize=False),
        models.GLU(6, 5, upsample=2),
        models.ResidualBlock1D(8, 16, 5),
    ],
)
def test_layer_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


# --- networks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_frames", [32, 64, 128])
def test_generator_keeps_input_shape(gen, rng, n_frames):
    x = _mcep(rng, n_frames)
    assert gen(x).shape == x.shape


def test_generator_is_fully_convolutional(gen, rng):
    y32, y96 = gen(_mcep(rng, 32, batch=1)), gen(_mcep(rng, 96, batch=3))
    assert y32.shape == (1, 32, SMOKE.mcep_dim) and y96.shape == (3, 96, SMOKE.mcep_dim)
    assert gen.input_shape == (None, None, SMOKE.mcep_dim)


def test_generator_rounds_other_lengths_up_to_multiple_of_four(gen, rng):
    x = _mcep(rng, 30, batch=1)
    assert gen(x).shape == (1, 32, SMOKE.mcep_dim)
    padded, n_frames = models.pad_to_multiple(x)
    assert gen(padded)[:, :n_frames].shape == x.shape


def test_pad_to_multiple_pads_time_axis_and_returns_length(rng):
    mcep = rng.standard_normal((30, 24))
    padded, n_frames = models.pad_to_multiple(mcep)
    assert (padded.shape, n_frames) == ((32, 24), 30)
    np.testing.assert_array_equal(padded[:30], mcep)
    np.testing.assert_array_equal(padded[30:], np.repeat(mcep[-1:], 2, axis=0))
    zeros, _ = models.pad_to_multiple(mcep[None], multiple=8, mode="constant")
    assert zeros.shape == (1, 32, 24) and not zeros[0, 30:].any()
    same, n_same = models.pad_to_multiple(mcep[:28])
    assert same.shape == (28, 24) and n_same == 28


@pytest.mark.parametrize("bad", [np.zeros(8), np.zeros((0, 24))])
def test_pad_to_multiple_rejects_bad_input(bad):
    with pytest.raises(ParameterError):
        models.pad_to_multiple(bad)


@pytest.mark.parametrize("n_frames", [32, 48, 40])
def test_discriminator_patch_map_shape(disc, rng, n_frames):
    scores = disc(_mcep(rng, n_frames))
    assert scores.shape == (2, math.ceil(n_frames / 16), SMOKE.mcep_dim // 4, 1)


@pytest.mark.parametrize(("n_frames", "n_outputs", "input_dim"), [(32, 1, None), (50, 4, 25), (7, 4, 24)])
def test_1d_discriminator_scores_every_eighth_frame_with_one_map_per_head(rng, n_frames, n_outputs, input_dim):
    disc = build_discriminator_1d(SMOKE, "discriminator", n_outputs, input_dim=input_dim)
    scores = disc(_mcep(rng, n_frames, dim=input_dim or SMOKE.mcep_dim))
    assert scores.shape == (2, math.ceil(n_frames / 8), n_outputs) and disc.name == "discriminator"
    assert np.isfinite(keras.ops.convert_to_numpy(scores)).all()


def test_lighter_discriminators_do_a_fraction_of_the_2d_ones_work():
    """Multiply-adds of one forward pass of a 128-frame crop at width 0.35, from each convolution's kernel size and
    the positions of its output (a block's value and gate convolutions output what the block does)."""
    cfg = ModelConfig(width=0.35)
    macs = {}
    for kind, build in DISCRIMINATORS.items():
        model = build(cfg, "discriminator", 4)
        tensor, total = np.zeros((1, 128, cfg.mcep_dim), "float32"), 0
        for layer in model.layers[1:]:
            tensor = layer(tensor)
            convs = ([layer.conv, layer.gate_conv] if isinstance(layer, models.GLU) else
                     [layer] if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)) else [])
            total += sum(int(np.prod(c.kernel.shape)) * int(np.prod(tensor.shape[1:-1])) for c in convs)
        macs[kind] = total
    assert 0.3e9 < 2 * macs["2d"] < 0.4e9  # the 2-D network's 0.34 GFLOP per crop
    assert 0.15e9 < 2 * macs["2d-light"] < 0.19e9  # the light 2-D network's 0.17
    assert 0.03e9 < 2 * macs["1d"] < 0.05e9  # the 1-D network's 0.04


def test_discriminators_are_named_as_the_config_names_them():
    from emocore.config import DISCRIMINATOR_KINDS

    assert tuple(DISCRIMINATORS) == DISCRIMINATOR_KINDS
    assert discriminator_builder("1d") is build_discriminator_1d and discriminator_builder("2d") is build_discriminator
    with pytest.raises(ParameterError, match="unknown discriminator '3d'; one of 2d, 2d-light, 1d"):
        discriminator_builder("3d")


@pytest.mark.parametrize(("n_emotions", "n_frames"), [(None, 32), (4, 50)])
def test_emotion_classifier_logits_shape(rng, n_emotions, n_frames):
    clf = build_emotion_classifier(SMOKE, n_emotions)
    logits = clf(rng.standard_normal((3, n_frames, SMOKE.mcep_dim + 1)).astype("float32"))
    assert logits.shape == (3, n_emotions or SMOKE.n_emotions)


def _conv_params(kernel, c_in, c_out, bias):
    return math.prod(kernel if isinstance(kernel, tuple) else (kernel,)) * c_in * c_out + (
        c_out if bias else 0
    )


def _glu_params(kernel, c_in, c_out, normalize, upsample=1):
    return 2 * _conv_params(kernel, c_in, c_out * upsample, not normalize) + (4 * c_out if normalize else 0)


def _expected_generator_params(cfg):
    """CycleGAN-VC's generator table, counted by hand: separate value and gate convolutions everywhere."""
    def c(m):
        return models.scale_channels(m * cfg.gen_base_channels, cfg.width)
    d = cfg.mcep_dim
    residual = _glu_params(3, c(4), c(8), True) + _conv_params(3, c(8), c(4), False) + 2 * c(4)
    return (
        _glu_params(15, d, c(1), False)
        + _glu_params(5, c(1), c(2), True)
        + _glu_params(5, c(2), c(4), True)
        + cfg.n_residual_blocks * residual
        + _glu_params(5, c(4), c(4), True, upsample=2)
        + _glu_params(5, c(4), c(2), True, upsample=2)
        + _conv_params(15, c(2), d, True)
    )


def test_published_generator_parameter_count():
    full, half = build_generator(ModelConfig()), build_generator(ModelConfig(width=0.5))
    n_full, n_half, n_smoke = (
        full.count_params(),
        half.count_params(),
        build_generator(SMOKE).count_params(),
    )
    print(f"generator parameters: width 1.0 {n_full:,}, 0.5 {n_half:,}, smoke {n_smoke:,}")
    assert n_full == _expected_generator_params(ModelConfig()) == 38_035_736  # measured, keras 3.15
    assert n_half == _expected_generator_params(ModelConfig(width=0.5))
    assert n_smoke == _expected_generator_params(SMOKE)
    # convolutions between hidden layers dominate, and their size goes with width ** 2
    assert 0.24 < n_half / n_full < 0.27


def test_smoke_models_are_small():
    assert build_generator(SMOKE).count_params() < 500_000
    assert build_discriminator(SMOKE).count_params() < 500_000


@pytest.mark.parametrize(
    "build", [build_generator, build_discriminator, build_emotion_classifier]
)
def test_saved_model_reloads_with_identical_outputs(tmp_path, rng, build):
    model = build(SMOKE)
    n_channels = model.input_shape[-1]
    x = rng.standard_normal((2, 32, n_channels)).astype("float32")
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.name == model.name
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(reloaded(x)), keras.ops.convert_to_numpy(model(x))
    )


def test_model_names_follow_the_naming_convention():
    assert build_generator(SMOKE, name="gen_b2a").name == "gen_b2a"
    assert build_discriminator(SMOKE).name == "disc_a"


@pytest.mark.parametrize(
    "kwargs", [{"width": 0.0}, {"n_emotions": 1}, {"mcep_dim": 1}, {"n_residual_blocks": -1}]
)
def test_model_config_rejects_bad_values(kwargs):
    with pytest.raises(ParameterError):
        ModelConfig(**kwargs)


# --- EmoMUNIT's style layers ------------------------------------------------------------------------


def test_adain_applies_scale_then_bias(rng):
    x = rng.standard_normal((2, 10, 3)).astype("float32")
    scale, bias = np.array([[2.0, 3.0, 0.5], [1.0, -1.0, 4.0]]), np.array([[1.0, -1.0, 0.25], [0.0, 2.0, -3.0]])
    out = np.asarray(models.AdaIN(epsilon=1e-5)(x, np.concatenate([scale, bias], axis=1).astype("float32")))
    normalized = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, normalized * scale[:, None] + bias[:, None], rtol=1e-4, atol=1e-5)


def test_adaptive_residual_block_reads_hidden_then_output_params(rng):
    block = models.AdaptiveResidualBlock1D(4, 6)
    assert block.n_params == 2 * 6 + 2 * 4
    x = rng.standard_normal((1, 8, 4)).astype("float32")
    bias = np.array([0.5, -1.0, 2.0, 3.0], dtype="float32")
    params = rng.standard_normal((1, block.n_params)).astype("float32")
    params[0, 12:16], params[0, 16:] = 0.0, bias  # output AdaIN: scale 0, then bias
    np.testing.assert_allclose(np.asarray(block(x, params)), x + bias, rtol=1e-6, atol=1e-6)


# --- the interfaces of a model type -------------------------------------------------------------------


def test_missing_members_names_what_a_protocol_needs_and_conversion_refuses_a_lacking_converter():
    from emocore.conversion import ConversionModel
    from emocore.models.base import Converter, MappingConverter, TrainingModel, missing_members
    from emocore.models.cyclegan import GeneratorPair, build_cyclegan

    class HalfConverter:
        extra_files = ()

        def networks(self):
            return {}

    assert missing_members(HalfConverter(), Converter) == ["convert", "check_options", "fit", "save_extra", "load_extra"]
    assert missing_members(MappingConverter(), Converter) == []
    gan = build_cyclegan(SMOKE, TrainConfig().smoke())
    assert missing_members(gan, TrainingModel) == [] and missing_members(gan.converter(), Converter) == []
    assert isinstance(gan.converter(), GeneratorPair)
    with pytest.raises(ParameterError, match="HalfConverter is no Converter: it lacks convert, check_options"):
        ConversionModel(FeatureConfig().smoke(), [], HalfConverter(), "cyclegan")  # refused before the statistics


def test_each_model_type_gives_its_default_options_and_their_smoke_variant():
    from emocore import models
    from emocore.config import MunitConfig

    assert models.get("munit").default_options() == MunitConfig()
    assert models.get("munit").default_options(smoke=True) == MunitConfig().smoke() != MunitConfig()
    assert models.get("cyclegan").default_options(smoke=True) is None
    with pytest.raises(ParameterError, match="takes no options"):
        models.get("cyclegan").parse_options({"style_dim": 4})


def test_options_from_the_command_line_are_checked_by_name_and_type():
    from dataclasses import replace

    from emocore import models
    from emocore.config import MunitConfig, StarGanConfig

    stargan, munit = models.get("emostargan"), models.get("munit")
    assert stargan.default_options(f0_contour=True) == StarGanConfig(f0_contour=True)
    assert munit.default_options(style_dim=16, lambda_style=2) == replace(MunitConfig(), style_dim=16, lambda_style=2.0)
    for bad in ({"f0_contour": "True"}, {"f0_contour": "false"}, {"f0_contour": 1}, {"lambda_f0_smooth": "abc"}):
        with pytest.raises(ParameterError, match="takes a"):
            stargan.default_options(**bad)
    with pytest.raises(ParameterError, match="takes a int"):
        munit.default_options(style_dim=True)
    with pytest.raises(ParameterError, match="has no colour"):
        stargan.default_options(colour=1)
    with pytest.raises(ParameterError, match="takes no options"):
        models.get("cyclegan").default_options(f0_contour=True)


def test_infer_equals_the_eager_call_follows_new_weights_and_traces_once_for_every_length(monkeypatch):
    from emocore.models import base
    from emocore.models.stargan import build_conditional_generator, condition

    rng = np.random.default_rng(0)
    gen = build_conditional_generator(replace_n_emotions(SMOKE, 3), 3)
    cond = condition(np.array([0]), np.array([2]), 3)
    for n_frames in (32, 64, 100):  # different lengths: one trace with an open time axis
        x = rng.standard_normal((1, n_frames, SMOKE.mcep_dim)).astype("float32")
        eager = keras.ops.convert_to_numpy(gen([x, cond], training=False))
        np.testing.assert_allclose(base.infer(gen, [x, cond]), eager, rtol=1e-5, atol=1e-5)
    if keras.backend.backend() == "tensorflow":
        assert base._COMPILED_INFERENCE[gen].experimental_get_tracing_count() == 1
    gen.set_weights([w * 0.5 for w in gen.get_weights()])  # later weights are read, not frozen into the trace
    np.testing.assert_allclose(base.infer(gen, [x, cond]), keras.ops.convert_to_numpy(gen([x, cond], training=False)),
                               rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(base, "COMPILE_INFERENCE", False)  # the benchmark's baseline: the eager call
    np.testing.assert_allclose(base.infer(gen, [x, cond]), keras.ops.convert_to_numpy(gen([x, cond], training=False)))


def replace_n_emotions(cfg, n):
    from dataclasses import replace

    return replace(cfg, n_emotions=n)
