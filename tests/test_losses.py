"""Tests of emocore.models.losses: known values, identity-loss switch-off, gradients through a frozen classifier."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from emocore.config import ModelConfig
from emocore.exceptions import ParameterError
from emocore.models import losses
from emocore.models.classifier import build_emotion_classifier
from emocore.models.cyclegan import build_generator


def _value(x):
    return float(keras.ops.convert_to_numpy(x))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_lsgan_losses_are_zero_for_perfect_scores():
    ones, zeros = np.ones((2, 4, 6, 1), "float32"), np.zeros((2, 4, 6, 1), "float32")
    assert _value(losses.lsgan_generator_loss(ones)) == 0.0
    assert _value(losses.lsgan_discriminator_loss(ones, zeros)) == 0.0


def test_lsgan_losses_known_values():
    ones, zeros = np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")
    assert _value(losses.lsgan_generator_loss(zeros)) == 1.0
    assert _value(losses.lsgan_discriminator_loss(zeros, ones)) == 1.0  # 0.5 * (1 + 1)
    assert _value(losses.lsgan_discriminator_loss(np.full((4,), 3.0, "float32"), ones)) == pytest.approx(2.5)


@pytest.mark.parametrize("loss", [losses.cycle_loss, losses.identity_loss])
def test_l1_losses_of_known_offset(rng, loss):
    real = rng.standard_normal((2, 32, 24)).astype("float32")
    assert _value(loss(real, real)) == 0.0
    assert _value(loss(real, real + 0.25)) == pytest.approx(0.25, abs=1e-6)
    assert _value(loss(real, real - 0.25)) == pytest.approx(0.25, abs=1e-6)


@pytest.mark.parametrize(
    ("step", "expected"), [(0, 5.0), (9999, 5.0), (10000, 0.0), (10001, 0.0), (400000, 0.0)]
)
def test_identity_weight_switches_off_for_int_and_tensor_steps(step, expected):
    weight = losses.identity_weight(step)
    assert isinstance(weight, float) and weight == expected
    assert losses.identity_weight(np.int64(step)) == expected
    assert _value(losses.identity_weight(keras.ops.convert_to_tensor(step, dtype="int64"))) == expected
    assert _value(losses.identity_weight(keras.Variable(step, dtype="int64", trainable=False))) == expected


def test_identity_weight_is_honoured_inside_a_compiled_step():
    compiled = tf.function(lambda step: losses.identity_weight(step, lambda_identity=2.0, switch_off_step=3))
    values = [_value(compiled(tf.constant(step, tf.int64))) for step in range(6)]
    assert values == [2.0, 2.0, 2.0, 0.0, 0.0, 0.0]
    assert compiled.experimental_get_tracing_count() == 1  # one trace, yet the weight follows the step


@pytest.mark.parametrize("kwargs", [{"switch_off_step": -1}, {"lambda_identity": -1.0}])
def test_identity_weight_rejects_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        losses.identity_weight(0, **kwargs)


def test_emotion_classification_loss_prefers_the_right_class():
    logits = np.array([[4.0, -4.0], [3.0, 0.0]], "float32")
    right, wrong = (
        losses.emotion_classification_loss(logits, 0),
        losses.emotion_classification_loss(logits, 1),
    )
    assert _value(right) < _value(wrong)
    assert _value(losses.emotion_classification_loss(np.zeros((3, 2), "float32"), 1)) == pytest.approx(
        math.log(2)
    )
    per_example = losses.emotion_classification_loss(logits, np.array([0, 0]))
    assert _value(per_example) == pytest.approx(_value(right))


def test_emotion_classification_loss_rejects_unknown_class():
    with pytest.raises(ParameterError):
        losses.emotion_classification_loss(np.zeros((2, 2), "float32"), 2)


def _total_inputs(rng, with_logits):
    shape, scores = (2, 16, 24), (2, 1, 6, 1)
    real_a, real_b = (
        rng.standard_normal(shape).astype("float32"),
        rng.standard_normal(shape).astype("float32"),
    )
    inputs = {
        "real_a": real_a,
        "real_b": real_b,
        "fake_a_scores": np.zeros(scores, "float32"),
        "fake_b_scores": np.full(scores, 0.5, "float32"),
        "cycle_a": real_a + 0.1,
        "cycle_b": real_b - 0.2,
        "same_a": real_a + 0.3,
        "same_b": real_b,
    }
    if with_logits:
        inputs.update(fake_a_logits=np.zeros((2, 2), "float32"), fake_b_logits=np.zeros((2, 2), "float32"))
    return inputs


def test_generator_total_loss_combines_named_terms(rng):
    terms = losses.generator_total_loss(
        **_total_inputs(rng, with_logits=True),
        lambda_cycle=10.0,
        lambda_identity=losses.identity_weight(0),
        lambda_class=2.0,
    )
    values = {name: _value(v) for name, v in terms.items()}
    assert set(values) == {
        "adversarial_a2b",
        "adversarial_b2a",
        "cycle",
        "identity",
        "classification",
        "total",
    }
    assert values["adversarial_a2b"] == pytest.approx(0.25)
    assert values["adversarial_b2a"] == pytest.approx(1.0)
    assert values["cycle"] == pytest.approx(0.3, abs=1e-6)
    assert values["identity"] == pytest.approx(0.3, abs=1e-6)
    assert values["classification"] == pytest.approx(2 * math.log(2))
    expected = 0.25 + 1.0 + 10.0 * 0.3 + 5.0 * 0.3 + 2.0 * 2 * math.log(2)
    assert values["total"] == pytest.approx(expected, rel=1e-5)


def test_generator_total_loss_without_classifier_and_identity_switched_off(rng):
    step = keras.ops.convert_to_tensor(10000, dtype="int64")
    terms = losses.generator_total_loss(
        **_total_inputs(rng, with_logits=False),
        lambda_cycle=10.0,
        lambda_identity=losses.identity_weight(step),
        lambda_class=1.0,
    )
    assert _value(terms["classification"]) == 0.0
    assert _value(terms["total"]) == pytest.approx(0.25 + 1.0 + 10.0 * 0.3, rel=1e-5)


def test_classification_loss_trains_generator_through_frozen_classifier(rng):
    cfg = ModelConfig().smoke()
    keras.utils.set_random_seed(0)
    gen_a2b, classifier = build_generator(cfg), build_emotion_classifier(cfg)
    classifier.trainable = False
    assert classifier.trainable_weights == []
    mcep = tf.constant(rng.standard_normal((2, 32, cfg.mcep_dim)), tf.float32)
    log_f0 = tf.constant(rng.standard_normal((2, 32, 1)), tf.float32)
    with tf.GradientTape() as tape:
        logits = classifier(tf.concat([gen_a2b(mcep), log_f0], axis=-1))
        loss = losses.emotion_classification_loss(logits, 1)
    grads = tape.gradient(loss, gen_a2b.trainable_weights)
    assert all(g is not None for g in grads)
    assert all(np.isfinite(g.numpy()).all() for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads) == len(grads)
