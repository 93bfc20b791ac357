"""CycleGAN-VC losses: least-squares adversarial, cycle consistency, identity mapping, emotion classification.

Written with ``keras.ops`` only, so a training step under any Keras 3 backend can use them. Every loss
returns a scalar (0-d) tensor, averaged over all elements of its inputs.
"""

from __future__ import annotations

import numbers

from keras import ops

from emocore.exceptions import ParameterError


def lsgan_generator_loss(fake_scores):
    """Least-squares GAN loss of a generator: its fakes should score 1.

    Args:
        fake_scores: discriminator scores of generated features, any shape, e.g. ``(B, T', D', 1)``.

    Returns:
        scalar: ``mean((fake_scores - 1) ** 2)``.
    """
    return ops.mean(ops.square(fake_scores - 1.0))


def lsgan_discriminator_loss(real_scores, fake_scores):
    """Least-squares GAN loss of a discriminator: real features should score 1, generated ones 0.

    The two halves are averaged, ``0.5 * (real + fake)``, as in the TF1 CycleGAN-VC code
    (leimao/Voice-Converter-CycleGAN) the original builds on, and as CycleGAN (Zhu et al. 2017) halves its
    discriminator objective. Under Adam, which CycleGAN-VC trains with, a constant factor on a loss is
    almost cancelled by the update's normalization; the 0.5 mainly sets the logged value's scale.

    Args:
        real_scores: scores of real features, any shape.
        fake_scores: scores of generated features, any shape.

    Returns:
        scalar: ``0.5 * (mean((real_scores - 1) ** 2) + mean(fake_scores ** 2))``.
    """
    return 0.5 * (ops.mean(ops.square(real_scores - 1.0)) + ops.mean(ops.square(fake_scores)))


def l1_loss(target, estimate):
    """Mean absolute difference: EmoMUNIT's reconstruction loss of features, style codes and content codes.

    Args:
        target: any shape, e.g. ``(B, T, D)`` features or ``(B, style_dim)`` style codes.
        estimate: same shape.

    Returns:
        scalar: ``mean(|target - estimate|)``.
    """
    return ops.mean(ops.abs(target - estimate))


def cycle_loss(real, cycled):
    """Cycle-consistency loss: L1 distance between features and their round trip ``a -> b -> a``.

    Args:
        real: features, shape ``(B, T, D)``.
        cycled: ``gen_b2a(gen_a2b(real))``, same shape.

    Returns:
        scalar: ``mean(|real - cycled|)``.
    """
    return ops.mean(ops.abs(real - cycled))


def identity_loss(real, same):
    """Identity-mapping loss: L1 distance between target-domain features and their mapping into that domain.

    Args:
        real: features of domain ``b``, shape ``(B, T, D)``.
        same: ``gen_a2b(real)``, same shape.

    Returns:
        scalar: ``mean(|real - same|)``.
    """
    return ops.mean(ops.abs(real - same))


def identity_weight(step, lambda_identity: float = 5.0, switch_off_step: int = 10000):
    """The identity-loss weight at a training step: ``lambda_identity`` before ``switch_off_step``, then 0.

    CycleGAN-VC uses the identity loss only at the start of training, to keep the linguistic content
    while the cycle loss is still weak. The switch has to be part of the computation: inside a compiled
    training step the step counter is a tensor, and a Python ``if step >= switch_off_step`` on it is either
    an error or evaluated once, when the step function is traced, which fixes the weight for the rest of
    training. That is how the original code's switch-off came to do nothing: it compared a Python number
    against a graph-time constant, so the identity loss kept its full weight for the whole run. A tensor
    step here goes through ``keras.ops.where`` and is re-evaluated on every call.

    Args:
        step (int | tensor): the optimizer step, a Python/numpy integer or an integer scalar tensor or
            variable (e.g. ``optimizer.iterations``).
        lambda_identity (float): weight before the switch-off.
        switch_off_step (int): first step with weight 0.

    Returns:
        float | tensor: a Python float for an integer ``step``, else a float32 scalar tensor; exactly
        ``0.0`` from ``switch_off_step`` on.
    """
    if switch_off_step < 0:
        raise ParameterError(f"switch_off_step must be >= 0, got {switch_off_step}")
    if lambda_identity < 0:
        raise ParameterError(f"lambda_identity must be >= 0, got {lambda_identity}")
    if isinstance(step, numbers.Integral):
        return float(lambda_identity) if step < switch_off_step else 0.0
    step = ops.convert_to_tensor(step)
    weight = ops.convert_to_tensor(lambda_identity, dtype="float32")
    return ops.where(ops.less(step, ops.cast(switch_off_step, step.dtype)), weight, ops.zeros_like(weight))


def emotion_classification_loss(logits, target_index):
    """Cross-entropy of an emotion classifier's logits against the target emotion.

    Args:
        logits: classifier outputs, shape ``(B, n_emotions)``.
        target_index (int | tensor): the target class, one int for the whole batch or integer labels of
            shape ``(B,)``.

    Returns:
        scalar: sparse categorical cross-entropy from logits, mean over the batch.
    """
    if isinstance(target_index, numbers.Integral):
        n_classes = logits.shape[-1]
        if target_index < 0 or (n_classes is not None and target_index >= n_classes):
            raise ParameterError(f"target_index {target_index} is not a class of {n_classes}-way logits")
        target = ops.ones_like(logits[:, 0], dtype="int32") * target_index
    else:
        target = ops.cast(target_index, "int32")
    return ops.mean(ops.sparse_categorical_crossentropy(target, logits, from_logits=True))


def generator_total_loss(
    *,
    real_a,
    real_b,
    fake_a_scores,
    fake_b_scores,
    cycle_a,
    cycle_b,
    same_a,
    same_b,
    lambda_cycle,
    lambda_identity,
    lambda_class,
    fake_a_logits=None,
    fake_b_logits=None,
    emotion_index_a: int = 0,
    emotion_index_b: int = 1,
) -> dict:
    """The generators' objective, both directions, with each term kept for logging.

    ``total = adversarial_a2b + adversarial_b2a + lambda_cycle * cycle + lambda_identity * identity
    + lambda_class * classification``. Each term is the sum of both directions. The weights have no
    defaults here; pass the ``TrainConfig`` values, and for ``lambda_identity`` the current
    :func:`identity_weight`.

    Args:
        real_a: features of domain ``a``, shape ``(B, T, D)``; ``real_b`` likewise.
        real_b: features of domain ``b``.
        fake_a_scores: ``disc_a(gen_b2a(real_b))``, any shape.
        fake_b_scores: ``disc_b(gen_a2b(real_a))``.
        cycle_a: ``gen_b2a(gen_a2b(real_a))``, shape ``(B, T, D)``.
        cycle_b: ``gen_a2b(gen_b2a(real_b))``.
        same_a: ``gen_b2a(real_a)``, shape ``(B, T, D)``.
        same_b: ``gen_a2b(real_b)``.
        lambda_cycle (float): cycle-consistency weight.
        lambda_identity (float | tensor): identity weight for this step.
        lambda_class (float): emotion-classification weight.
        fake_a_logits: frozen classifier's logits on ``gen_b2a(real_b)`` (with its log F0),
            shape ``(B, n_emotions)``; ``None`` leaves the term out, as in plain CycleGAN-VC.
        fake_b_logits: the same for ``gen_a2b(real_a)``.
        emotion_index_a (int): class index of emotion ``a`` in the classifier.
        emotion_index_b (int): class index of emotion ``b``.

    Returns:
        dict[str, scalar]: ``adversarial_a2b``, ``adversarial_b2a``, ``cycle``, ``identity``,
        ``classification`` (unweighted, 0 without logits) and ``total`` (weighted).
    """
    terms = {
        "adversarial_a2b": lsgan_generator_loss(fake_b_scores),
        "adversarial_b2a": lsgan_generator_loss(fake_a_scores),
        "cycle": cycle_loss(real_a, cycle_a) + cycle_loss(real_b, cycle_b),
        "identity": identity_loss(real_a, same_a) + identity_loss(real_b, same_b),
    }
    classification = ops.zeros((), dtype="float32")
    if fake_b_logits is not None:
        classification = classification + emotion_classification_loss(fake_b_logits, emotion_index_b)
    if fake_a_logits is not None:
        classification = classification + emotion_classification_loss(fake_a_logits, emotion_index_a)
    terms["classification"] = classification
    terms["total"] = (
        terms["adversarial_a2b"]
        + terms["adversarial_b2a"]
        + lambda_cycle * terms["cycle"]
        + lambda_identity * terms["identity"]
        + lambda_class * classification
    )
    return terms
