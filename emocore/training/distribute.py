"""Training on several devices or machines through ``tf.distribute``: which strategy, and how many replicas.

- ``"none"``: TensorFlow's default strategy, one device (a GPU when TensorFlow sees one).
- ``"mirrored"``: :class:`tf.distribute.MirroredStrategy` over every local GPU, or, without GPUs, over the logical
  CPU devices (:func:`split_cpu`, ``emocore-train --cpu-replicas N``: how the tests run two replicas on a laptop).
- ``"multi-worker"``: :class:`tf.distribute.MultiWorkerMirroredStrategy` over several machines, each started with
  the same command and its own ``TF_CONFIG`` (the cluster's addresses and this worker's index; README, "Training
  on several GPUs or machines").

The training step does not change: :meth:`emocore.models.base.GAN.run_step` splits each global batch (``batch_size``
crops per emotion, drawn by the same seeded generator on every worker) evenly over the replicas
(:func:`emocore.models.base.split_batch`), each replica computes its share's losses, and
:meth:`~emocore.models.base.GAN.apply_updates` averages the replicas' gradients, so one step on ``R`` replicas is
the step of one device on the whole batch. The steps run through :func:`emocore.models.base.distributed_step` rather
than Keras' ``train_function``, which cannot average scalar logs over several workers in Keras 3. Checkpoints and
``--resume`` are the same files either way; in a multi-worker run the chief (worker 0) writes the model folder.
"""

from __future__ import annotations

import json
import logging
import os

from emocore.config import STRATEGIES
from emocore.exceptions import ParameterError

log = logging.getLogger(__name__)


def split_cpu(n_devices: int) -> None:
    """Split the CPU into ``n_devices`` logical devices, so ``"mirrored"`` has that many replicas without a GPU.

    Must run before TensorFlow runs its first operation in this process.

    Raises:
        ParameterError: ``n_devices`` below 1, or TensorFlow already started (its devices are fixed then).
    """
    import tensorflow as tf

    if n_devices < 1:
        raise ParameterError(f"n_devices must be at least 1, got {n_devices}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_devices)
    except RuntimeError as error:
        if len(tf.config.list_logical_devices("CPU")) == n_devices:
            return  # already split so
        raise ParameterError(f"cannot split the CPU into {n_devices} devices: TensorFlow has already started in this "
                             "process (split it first, e.g. emocore-train --cpu-replicas)") from error


def make_strategy(name: str = "none"):
    """The ``tf.distribute`` strategy called ``name`` (:data:`STRATEGIES`).

    Raises:
        ParameterError: an unknown name, or ``"multi-worker"`` with a ``TF_CONFIG`` that is not valid JSON.
    """
    import tensorflow as tf

    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        if len(cpus) == 1:
            log.warning("mirrored: no GPU and one CPU device, so one replica (split the CPU with --cpu-replicas)")
        # NCCL, MirroredStrategy's default all-reduce, is for GPUs only
        return tf.distribute.MirroredStrategy(cpus, cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multi-worker":
        raw = os.environ.get("TF_CONFIG")
        if raw is None:
            log.warning("multi-worker: TF_CONFIG is not set, so this machine trains alone")
        else:
            try:
                json.loads(raw)
            except json.JSONDecodeError as error:
                raise ParameterError(f"TF_CONFIG is not valid JSON ({error.msg} at {error.pos})") from error
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ParameterError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")


def worker_index(strategy) -> int:
    """This machine's index among a multi-worker strategy's workers (0, the chief, for every other strategy)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_id = getattr(resolver, "task_id", None) if resolver is not None else None
    return int(task_id or 0)


def n_workers(strategy) -> int:
    """How many machines a strategy spans (1 for every strategy but a multi-worker one's cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    try:
        return max(1, len(resolver.cluster_spec().as_dict().get("worker", [])))
    except (AttributeError, ValueError):
        return 1


def describe(strategy) -> dict:
    """What the run record keeps of a strategy: its class and its number of replicas."""
    return {"strategy": type(strategy).__name__, "replicas": int(strategy.num_replicas_in_sync)}
