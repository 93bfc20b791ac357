"""FusedAdam: Keras Adam's update, one op per variable under TensorFlow."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from emocore.models.base import ConstantThenLinearDecay
from emocore.models.optimizers import FusedAdam


def _run(optimizer_class, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(shape).astype("float32") for shape in [(7, 3), (3,)] * 6]  # 12 variables
    variables = [keras.Variable(w.copy()) for w in start]
    optimizer = optimizer_class(ConstantThenLinearDecay(1e-2, 10, 3), beta_1=0.5, beta_2=0.999)
    optimizer.build(variables)
    grads = [[rng.standard_normal(w.shape).astype("float32") for w in start] for _ in range(steps)]
    step = tf.function(lambda g: optimizer.apply(g, variables), autograph=False)
    for g in grads:
        step([tf.constant(x) for x in g])
    (concrete,) = step._list_all_concrete_functions()
    return ([v.numpy() for v in variables], [v.numpy() for v in optimizer.variables], start,
            len(concrete.graph.get_operations()))


def test_the_scalars_every_update_shares_are_built_once_per_step():
    variables = [keras.Variable(np.ones(shape, dtype="float32")) for shape in [(5, 2), (2,)] * 10]  # 20 variables
    optimizer = FusedAdam(1e-3)
    optimizer.build(variables)
    step = tf.function(lambda g: optimizer.apply(g, variables), autograph=False)
    graph = step.get_concrete_function([tf.TensorSpec(v.shape, "float32") for v in variables]).graph
    types = [op.type for op in graph.get_operations()]
    assert types.count("ResourceApplyAdam") == 20
    assert types.count("Pow") == 2  # beta_1 ** t and beta_2 ** t, once: not once per variable
    assert optimizer._step_scalars is None  # nothing kept between steps


def test_fused_adam_makes_keras_adams_updates_in_fewer_ops():
    keras_weights, keras_state, start, keras_ops = _run(keras.optimizers.Adam)
    fused_weights, fused_state, _, fused_ops = _run(FusedAdam)
    for a, b, w0 in zip(keras_weights, fused_weights, start):
        assert np.abs(a - w0).max() > 1e-3  # six steps moved them (through the decaying schedule)...
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)  # ...by the same amounts
    assert len(fused_state) == len(keras_state)  # the same variables: checkpoints are interchangeable
    for a, b in zip(keras_state, fused_state):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    assert fused_ops < keras_ops / 2  # the per-variable ops: about 8 against 20


def test_amsgrad_falls_back_to_keras_adam():
    weights, _, start, _ = _run(lambda *a, **k: FusedAdam(*a, amsgrad=True, **k))
    reference, _, _, _ = _run(lambda *a, **k: keras.optimizers.Adam(*a, amsgrad=True, **k))
    for a, b in zip(reference, weights):
        np.testing.assert_allclose(b, a, rtol=1e-6)


def test_fused_adam_continues_from_a_keras_adam_state():
    """A checkpoint written before FusedAdam (Keras Adam's variables by index) continues exactly."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((4,)).astype("float32")
    grads = [rng.standard_normal((4,)).astype("float32") for _ in range(4)]
    runs = []
    for switch in (False, True):
        var = keras.Variable(w0.copy())
        opt = keras.optimizers.Adam(1e-2)
        opt.build([var])
        for g in grads[:2]:
            opt.apply([tf.constant(g)], [var])
        if switch:  # hand the state over, as emocore.training.checkpoints restores it
            fused = FusedAdam(1e-2)
            fused.build([var])
            for target, source in zip(fused.variables, opt.variables):
                target.assign(source.numpy())
            opt = fused
        for g in grads[2:]:
            opt.apply([tf.constant(g)], [var])
        runs.append(var.numpy())
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-5)
