"""Training checkpoints: written atomically, resumed exactly, or used to warm-start another run.

A checkpoint folder ``checkpoints/step-NNNNNNNN/`` holds every network's weights, the optimizers' variables
(``optimizers.npz``) and ``state.json`` (iteration, data RNG state, history, wall time and the weights'
fingerprint).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from keras import ops

from emocore.exceptions import ParameterError
from emocore.models.base import TrainingModel, load_weights
from emocore.record import CHECKPOINT_STATE, CONFIG_NAME, FINGERPRINT_KEY, fingerprint, read_record

CHECKPOINTS = "checkpoints"


def _step_dir_name(iteration: int) -> str:
    return f"step-{iteration:08d}"


def checkpoint_steps(model_dir: Path) -> list[tuple[int, Path]]:
    root = Path(model_dir) / CHECKPOINTS
    found = []
    if root.is_dir():
        for path in root.glob("step-*"):
            if path.is_dir() and (path / CHECKPOINT_STATE).is_file() and path.name[5:].isdigit():
                found.append((int(path.name[5:]), path))
    return sorted(found)


def latest_checkpoint(model_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder under ``model_dir/checkpoints``, or ``None``."""
    found = checkpoint_steps(Path(model_dir))
    return found[-1][1] if found else None


def save_checkpoint(model: TrainingModel, model_dir: str | Path, iteration: int, state: dict, *, keep: int) -> Path:
    """Write a checkpoint atomically: into a temporary folder, then renamed to ``checkpoints/step-<iteration>``.

    It holds every network's weights (``<name>.weights.h5``), both optimizers' variables and the model's
    ``checkpoint_variables`` if it has any (``optimizers.npz``: step counters, Adam moments, e.g. a seed
    generator's state) and ``state.json`` (``iteration``, the weights' ``fingerprint`` and whatever
    ``state`` holds: the data RNG state, history, wall time). A killed process leaves at worst a
    ``.tmp-*`` folder, which is ignored and removed by the next save. Only the ``keep`` newest checkpoints
    are kept.

    Returns:
        Path: the checkpoint folder.
    """
    root = Path(model_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".tmp-{_step_dir_name(iteration)}-{os.getpid()}"
    tmp.mkdir()
    for name, network in model.networks().items():
        network.save_weights(tmp / f"{name}.weights.h5")
    arrays = {f"gen_{i:04d}": ops.convert_to_numpy(v) for i, v in enumerate(model.gen_optimizer.variables)}
    arrays.update({f"disc_{i:04d}": ops.convert_to_numpy(v) for i, v in enumerate(model.disc_optimizer.variables)})
    arrays.update({f"extra_{i:04d}": ops.convert_to_numpy(v)
                   for i, v in enumerate(getattr(model, "checkpoint_variables", ()))})
    np.savez(tmp / "optimizers.npz", **arrays)
    record = fingerprint(tmp, [f"{name}.weights.h5" for name in model.networks()])  # checked by ConversionModel.load
    (tmp / CHECKPOINT_STATE).write_text(json.dumps({**state, "iteration": int(iteration), FINGERPRINT_KEY: record},
                                               default=str) + "\n")
    final = root / _step_dir_name(iteration)
    if final.exists():  # a resumed run passing the same iteration again
        trash = root / f".tmp-old-{final.name}-{os.getpid()}"
        final.rename(trash)
        shutil.rmtree(trash)
    tmp.rename(final)
    for _, old in checkpoint_steps(Path(model_dir))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(model: TrainingModel, checkpoint: str | Path) -> dict:
    """Restore networks, optimizer and checkpoint variables from a checkpoint folder; returns its ``state.json``."""
    checkpoint = Path(checkpoint)
    state = json.loads((checkpoint / CHECKPOINT_STATE).read_text())
    for name, network in model.networks().items():
        network.load_weights(checkpoint / f"{name}.weights.h5")
    model.build_optimizers()
    with np.load(checkpoint / "optimizers.npz") as arrays:
        for prefix, variables in (("gen", model.gen_optimizer.variables), ("disc", model.disc_optimizer.variables),
                                  ("extra", list(getattr(model, "checkpoint_variables", ())))):
            stored = sorted(k for k in arrays.files if k.startswith(prefix + "_"))
            if len(stored) != len(variables):
                raise ParameterError(f"{checkpoint}: {len(stored)} {prefix} checkpoint variables stored, "
                                     f"the model has {len(variables)}; was it trained with another config?")
            for key, variable in zip(stored, variables):
                variable.assign(arrays[key])
    return state


def warm_start(model: TrainingModel, source: str | Path, model_cfg=None) -> dict:
    """Start a new run from another run's converters and discriminators (fine-tuning); returns where from.

    Loads every network of ``model`` except the emotion classifier from ``source``: a checkpoint folder, or a
    run folder (its newest checkpoint). Optimizers, step counter and classifier start fresh, so the new run
    may use another learning-rate schedule, loss weights or classifier (e.g. one with contrast emotions).
    A model folder without checkpoints (a pretrained model: its conversion networks only) gives those networks;
    the discriminators then start fresh (``fresh`` in the result).

    Given ``model_cfg`` (the new run's :class:`~emocore.config.ModelConfig`), a network that has grown channels
    through the model type's options alone (EmoStarGAN given an F0 channel: one more input and output channel)
    is rebuilt as the source run's record describes it, loaded, and copied in with :func:`transfer_weights`: the
    new channels' weights start at zero, so the grown network computes what the source did on the old channels.
    A discriminator of another architecture than the source run's (EmoStarGAN's ``discriminator`` option: 2-D,
    light 2-D or 1-D) starts fresh, as from a model folder. Sizes (``model_cfg``) must be the source run's.

    Returns:
        dict: ``checkpoint`` (the folder read), ``iteration`` (its step in the source run), ``grown`` (the
        networks copied into larger shapes) and ``fresh`` (the networks left as built).

    Raises:
        ParameterError: no checkpoint there, a network missing, or weights of another shape (width, model type)
            that growing cannot explain.
    """
    source = Path(source)
    checkpoint = source if (source / CHECKPOINT_STATE).is_file() else latest_checkpoint(source)
    if checkpoint is None and (source / CONFIG_NAME).is_file():
        return _warm_start_from_model_folder(model, source)
    if checkpoint is None:
        raise ParameterError(f"warm start: {source} is neither a checkpoint folder, a run with checkpoints nor a "
                             "model folder")
    grown, fresh, source_networks = [], [], None
    discriminator_ids = {id(v) for v in model.discriminator_variables}
    for name, network in model.networks().items():
        if name == "classifier":
            continue
        source_name = _source_name(model, checkpoint, name)
        path = checkpoint / f"{source_name}.weights.h5"
        if not path.is_file():
            raise ParameterError(f"warm start: {checkpoint} has no {path.name}; was it trained as another model type?")
        try:
            network.load_weights(path)
        except ValueError as error:
            if model_cfg is None:
                raise ParameterError(f"warm start: {path} does not fit this model's {name} (another width or "
                                     f"mcep_dim?): {error}") from error
            if source_networks is None:
                source_networks = _source_networks(checkpoint, model_cfg, error)
            old = source_networks.get(source_name)
            if old is None:
                raise ParameterError(f"warm start: {path} does not fit this model's {name}: {error}") from error
            if any(id(v) in discriminator_ids for v in network.trainable_variables) and not _grows_inputs_only(
                    old, network):
                fresh.append(name)  # another kind of discriminator: nothing of it fits
                continue
            old.load_weights(path)
            transfer_weights(old, network)
            grown.append(name)
    state = json.loads((checkpoint / CHECKPOINT_STATE).read_text())
    return {"checkpoint": str(checkpoint), "iteration": int(state["iteration"]), "grown": grown, "fresh": fresh}


def _source_name(model: TrainingModel, folder: Path, name: str) -> str:
    """The network of the run in ``folder`` that ``model``'s network ``name`` warm-starts from: its namesake, or,
    when the folder has no weights of that name, the one the model's ``warm_start_fallbacks`` names."""
    fallback = getattr(model, "warm_start_fallbacks", {}).get(name)
    return fallback if fallback and not (folder / f"{name}.weights.h5").is_file() else name


def _grows_inputs_only(source, target) -> bool:
    """Whether ``target`` is ``source`` with more input channels (an F0 channel), nothing else changed: the same
    weights in order, each of the same shape but for a larger second-to-last (input channel) axis of a kernel.

    A discriminator of another kind (EmoStarGAN's light 2-D one against the 2-D one: fewer channels and a narrower
    kernel in its last block) may have weights of the same ranks, even larger ones, that do not compute the same
    thing once zero-padded."""
    if len(source.weights) != len(target.weights):
        return False
    for a, b in zip(source.weights, target.weights):
        a, b = tuple(a.shape), tuple(b.shape)
        if a == b:
            continue
        if len(a) < 2 or len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b[-1] or a[-2] > b[-2]:
            return False
    return True


def _warm_start_from_model_folder(model: TrainingModel, folder: Path) -> dict:
    """:func:`warm_start` from a model folder: the networks it holds (float16 ones too), the others fresh."""
    record = read_record(folder / CONFIG_NAME)
    loaded, fresh = [], []
    for name, network in model.networks().items():
        if name == "classifier":
            continue
        path = folder / f"{_source_name(model, folder, name)}.weights.h5"
        if path.is_file():
            load_weights(network, path)
            loaded.append(name)
        else:
            fresh.append(name)
    if not loaded:
        raise ParameterError(f"warm start: {folder} holds none of this model's networks ({', '.join(fresh)}); was "
                             "it trained as another model type?")
    return {"checkpoint": str(folder), "iteration": int(record.training.get("iterations_done", 0)), "grown": [],
            "fresh": fresh}


def _source_networks(checkpoint: Path, model_cfg, error: Exception) -> dict:
    """The networks of the run a checkpoint belongs to, rebuilt untrained from its ``config.json``; refused when its
    sizes are not ``model_cfg``."""
    from emocore import models
    from emocore.config import TrainConfig
    from emocore.record import CONFIG_NAME, read_record

    config = checkpoint.parent.parent / CONFIG_NAME
    if not config.is_file():
        raise ParameterError(f"warm start: {checkpoint}'s weights do not fit this model ({error}), and there is no "
                             f"{config} to rebuild them from") from error
    record = read_record(config)
    if record.model != model_cfg:
        raise ParameterError(f"warm start: {checkpoint} does not fit this model (another width or mcep_dim?): its "
                             f"sizes are {record.model}, this run's {model_cfg}") from error
    spec = models.get(record.model_type)
    options = spec.parse_options(record.options)
    return spec.build_training(record.model, record.train or TrainConfig(), options).networks()


def transfer_weights(source, target) -> None:
    """Copy a network's weights into one of the same layers whose weights may be larger along some axes.

    Each weight of ``target`` gets ``source``'s values in its leading block and zeros elsewhere: a layer that
    reads new input channels ignores them at first, one that writes new outputs writes zeros there.

    Raises:
        ParameterError: the networks have different numbers of weights, or a weight is smaller or of another rank.
    """
    if len(source.weights) != len(target.weights):
        raise ParameterError(f"cannot copy {source.name} into {target.name}: {len(source.weights)} and "
                             f"{len(target.weights)} weights")
    for old, new in zip(source.weights, target.weights):
        values = ops.convert_to_numpy(old)
        if tuple(values.shape) == tuple(new.shape):
            new.assign(values)
            continue
        if len(values.shape) != len(new.shape) or any(a > b for a, b in zip(values.shape, new.shape)):
            raise ParameterError(f"cannot copy {old.path} {tuple(values.shape)} into {new.path} {tuple(new.shape)}")
        grown = np.zeros(tuple(new.shape), dtype=values.dtype)
        grown[tuple(slice(0, n) for n in values.shape)] = values
        new.assign(grown)
