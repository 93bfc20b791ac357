"""Convolutions in bfloat16 while training: the step's largest work at half the width, everything else float32.

A training step of the width-0.35 models spends about two thirds of its CPU time in convolutions and their two
backward passes. On hardware with bfloat16 matrix units (Intel's AMX, in Xeons since 2023; recent GPUs) oneDNN runs
them in bfloat16 several times faster than in float32. Measured on a 2-core Intel Xeon with AMX (README, "Speed"):
EmoStarGAN's shipped step runs 1.24x the iterations per second with bfloat16 convolutions, but only 1.07x with
Keras' whole-model ``mixed_bfloat16`` policy, because the instance norms, gates and losses then run in bfloat16 too,
which TensorFlow's CPU kernels do slowly (and they need float32's precision more than a convolution does).

So :func:`set_convolution_precision` gives only the convolution layers Keras' mixed policy: each keeps its float32
weights (the optimizer updates them in float32), casts its input and its weights to bfloat16, computes there, and
hands its output back as float32. The rest of every network, the losses and the updates stay as they are, and so do
inputs, checkpoints and saved weights. Whatever the training run computes with its own networks uses the bfloat16
convolutions: the classifier's pre-training, the validation conversions, and EmoMUNIT's mean style codes, which are
saved with the model. A model folder loaded for conversion builds its networks afresh, in float32.

On hardware without bfloat16 units the emulated arithmetic is slower than float32: ``emocore-bench training
--precision float32 bfloat16`` tells which it is on a machine.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import keras
from keras import ops

from emocore.config import PRECISIONS
from emocore.exceptions import ParameterError

#: the layers whose arithmetic :func:`set_convolution_precision` moves (the networks here have no others)
CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D)


def convolution_layers(networks: Iterable[keras.Model]) -> list[keras.layers.Layer]:
    """Every convolution layer of ``networks``, nested layers included (a gated block's two convolutions), each once.

    Returns:
        list: the layers, in the order the networks hold them.
    """
    found: dict[int, keras.layers.Layer] = {}
    for network in networks:
        # Keras' own walk through nested layers (private API; tests/test_precision.py notices if it changes)
        for layer in network._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, CONVOLUTIONS):
                found.setdefault(id(layer), layer)
    return list(found.values())


def set_convolution_precision(networks: Iterable[keras.Model], precision: str) -> int:
    """Make every convolution of ``networks`` compute in ``precision`` (:data:`~emocore.config.PRECISIONS`) with
    float32 weights and a float32 output; the other layers are left as they are. Call it before the first
    training step is traced (a step traced before keeps float32). Calling it again changes nothing more.

    Args:
        networks: Keras models, e.g. a training model's ``networks().values()``.
        precision: ``"bfloat16"``, or ``"float32"``, which leaves the networks as they are.

    Returns:
        int: how many convolution layers now compute in ``precision``.

    Raises:
        ParameterError: an unknown precision.
    """
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "float32":
        return 0
    layers = convolution_layers(networks)
    for layer in layers:
        if layer.compute_dtype == precision:
            continue
        layer.dtype_policy = keras.DTypePolicy(f"mixed_{precision}")  # float32 variables, cast at each call
        layer.call = _float32_output(layer.call)
    return len(layers)


def _float32_output(call):
    """``call`` with its result cast back to float32, so the layers and losses after a convolution see float32."""

    @functools.wraps(call)
    def wrapped(*args, **kwargs):
        return ops.cast(call(*args, **kwargs), "float32")

    return wrapped
