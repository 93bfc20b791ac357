"""Training the learned prosody (:mod:`emocore.models.contour`) and adding it to a multi-speaker model folder.

:func:`train_contour_network` fits the contour network to parallel words (:mod:`emocore.data.parallel`): an L1
loss on the log F0 of frames voiced in both words and on the power of the source's voiced frames (the silence
around a word is no part of its prosody), both centred on the source word's means in
the units of ``ContourConfig.f0_unit`` and ``power_unit``; Adam; each batch half
TESS and half RAVDESS when ``ContourConfig.balance_corpora``. :func:`add_learned_prosody` trains it on the training
words of a multi-speaker model's own speakers and writes ``prosody.json`` and ``prosody.weights.h5`` into the model
folder; the model's conversions from neutral then take their F0 from it by default (``f0=True``, or
``f0="learned"``), and their power when asked (``power="learned"``; the default power is the CWT transform's).

``python -m emocore.training.contour MODEL_DIR [--steps N] [--overwrite]`` runs :func:`add_learned_prosody`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emocore.config import ContourConfig
from emocore.data.parallel import ContourPair
from emocore.exceptions import EmocoreError, ParameterError
from emocore.models.contour import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ContourPredictor,
    condition_width,
    contour_condition,
)


def masked_l1(y_true, y_pred):
    """The objective (keras.ops): ``y_true`` ``(B, T, 4)`` = target log F0, target power, F0 mask, power mask;
    ``y_pred`` ``(B, T, 2)``. The mean absolute error of each track over its mask, summed."""
    from keras import ops

    f0_mask, frames = y_true[..., 2], y_true[..., 3]
    f0 = ops.sum(ops.abs(y_pred[..., 0] - y_true[..., 0]) * f0_mask) / (ops.sum(f0_mask) + 1.0)
    power = ops.sum(ops.abs(y_pred[..., 1] - y_true[..., 1]) * frames) / (ops.sum(frames) + 1.0)
    return f0 + power


def contour_batch(pairs: Sequence[ContourPair], indices: np.ndarray, cfg: ContourConfig, n_emotions: int,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """One batch of random crops of ``cfg.crop_frames`` (shorter words zero-padded and masked).

    Returns:
        tuple: ``[inputs (B, L, C), condition (B, condition_width)]`` (the strength: 1 for a strong take) and the
        targets ``(B, L, 4)`` :func:`masked_l1` reads
        (the F0 mask: frames voiced in the source and mostly voiced in the aligned target; the power mask: frames
        voiced in the source).
    """
    length, batch = cfg.crop_frames, len(indices)
    x = np.zeros((batch, length, pairs[0].inputs.shape[1]), dtype=np.float32)
    y = np.zeros((batch, length, 4), dtype=np.float32)
    cond = np.zeros((batch, condition_width(cfg, n_emotions)), dtype=np.float32)
    for b, k in enumerate(indices):
        pair = pairs[k]
        n_frames = len(pair.inputs)
        start = int(rng.integers(0, max(n_frames - length, 0) + 1))
        n = min(length, n_frames)
        x[b, :n] = pair.inputs[start:start + n]
        target = pair.targets[start:start + n]
        y[b, :n, :2] = target[:, :2]
        y[b, :n, 2] = (pair.inputs[start:start + n, 1] > 0.5) & (target[:, 2] > 0.5)
        y[b, :n, 3] = pair.inputs[start:start + n, 1] > 0.5
        cond[b] = contour_condition(pair.source, pair.target, n_emotions,
                                    float(pair.strong) if cfg.strength_condition else None)[0]
    return [x, cond], y


def train_contour_network(pairs: Sequence[ContourPair], emotions: Sequence[str], cfg: ContourConfig, *,
                          progress: bool = True) -> tuple[ContourPredictor, list[float]]:
    """Fit a new contour network to ``pairs``.

    Returns:
        tuple: the :class:`ContourPredictor` and the loss of every step. Its settings are ``cfg``, with
        ``strength_condition`` off when no pair is a strong take (nothing to learn the strength from: its weights would
        stay as initialized).

    Raises:
        ParameterError: no pairs.
    """
    import keras

    if not pairs:
        raise ParameterError("no parallel pairs to learn the prosody from")
    if cfg.strength_condition and not any(p.strong for p in pairs):
        cfg = dataclasses.replace(cfg, strength_condition=False)
    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    emotions = tuple(emotions)
    used = {emotions[p.source] for p in pairs}
    predictor = ContourPredictor.build(cfg, emotions, tuple(e for e in emotions if e in used))
    network = predictor.network
    network.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=masked_l1)
    groups = [np.array([i for i, p in enumerate(pairs) if p.corpus == c]) for c in sorted({p.corpus for p in pairs})]
    if not cfg.balance_corpora:
        groups = [np.arange(len(pairs))]
    share = max(1, cfg.batch_size // len(groups))
    losses = []
    bar = tqdm(range(cfg.steps), desc="learned prosody", unit="step", disable=not progress)
    for _ in bar:
        indices = np.concatenate([rng.choice(group, share) for group in groups])
        inputs, targets = contour_batch(pairs, indices, cfg, len(emotions), rng)
        losses.append(float(np.asarray(network.train_on_batch(inputs, targets))))
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", refresh=False)
    trained = ContourPredictor.build(cfg, emotions, predictor.sources)  # uncompiled: saved without Adam's moments
    trained.network.set_weights(network.get_weights())
    return trained, losses


def _check_same_data(model_dir: Path, measured) -> None:
    """Refuse training data that do not give the model's own prosody shifts: the pairs would come from other words
    than the model trained on (another split, ``max_utterances``, a changed corpus)."""
    from emocore.config import SPEAKERS_FILE
    from emocore.dsp.speaker_norm import read_speakers
    from emocore.pretrained import require_same_training_data

    _, own = read_speakers(model_dir / SPEAKERS_FILE)
    require_same_training_data(model_dir, own.prosody, measured.prosody,
                               "the learned prosody must learn from the words the model did")


def add_learned_prosody(model_dir: str | Path, cfg: ContourConfig | None = None, *, overwrite: bool = False,
                        processed_dir: str | Path | None = None, corpora_root: str | Path | None = None,
                        max_utterances: int | None = None, n_jobs: int | None = None, progress: bool = True) -> dict:
    """Train the learned prosody on a multi-speaker model's training speakers and write it into the model folder.

    The speakers, emotions and held-out words are the run record's (TESS's held-out words stay out). A pretrained
    model (``config.json`` has ``pretrained``) gets float16 weights like its other networks. The two files are
    written to a hidden folder first and moved in when complete, then ``config.json``'s fingerprint gains their
    digests (the other files' stay as recorded); nothing else of the folder changes. The folder's own learned
    prosody is not read, so ``overwrite`` also replaces one that a failed run left damaged.

    Returns:
        dict: ``pairs`` (how many; ``strong_pairs`` of them with a strong take as the target), ``steps``,
        ``first_loss`` and ``last_loss`` (mean of the first and last 50 steps).

    Raises:
        ParameterError: not a multi-speaker model, the folder has a learned prosody and not ``overwrite``, or the
            training data prepared again are not those the model trained on.
        ModelFolderError: ``config.json`` or ``speakers.json`` cannot be read.
    """
    import os
    import shutil

    from emocore import models, paths
    from emocore.data.parallel import parallel_pairs
    from emocore.data.speakers import parse_speakers, prepare_speakers
    from emocore.io import file_digest
    from emocore.pretrained import write_float16_weights
    from emocore.record import CONFIG_NAME, read_record, write_record

    cfg = cfg or ContourConfig()
    model_dir = Path(model_dir)
    if not (model_dir / CONFIG_NAME).is_file():
        raise ParameterError(f"{model_dir} is not a model folder (no {CONFIG_NAME})")
    record = read_record(model_dir)
    speakers = record.training.get("speakers")
    converter = models.get(record.model_type).build_converter(
        record.model, models.get(record.model_type).parse_options(record.options))
    if not speakers or CONFIG_FILE not in getattr(converter, "extra_files", ()):
        raise ParameterError(f"{model_dir} is not a multi-speaker model with recorded training speakers")
    existing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if (model_dir / name).exists()]
    if existing and not overwrite:
        raise ParameterError(f"{model_dir} already has a learned prosody ({', '.join(existing)}); pass "
                             "overwrite=True (--overwrite) to train it again")
    emotions = tuple(entry.emotion for entry in record.emotions)
    data = prepare_speakers(parse_speakers(speakers), emotions, record.feature,
                            processed_dir or paths.processed_dir(), corpora_root=corpora_root,
                            max_utterances=max_utterances, n_jobs=n_jobs, progress=progress)
    _check_same_data(model_dir, data.normalizer)
    pairs = parallel_pairs(data.per_speaker, emotions, cfg, sources=(data.normalizer.reference,))
    predictor, losses = train_contour_network(pairs, emotions, cfg, progress=progress)
    staging = model_dir / ".partial-prosody"  # hidden; complete files only are moved into the model folder
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        predictor.save(staging)
        if record.pretrained:
            write_float16_weights(staging / WEIGHTS_FILE, staging / WEIGHTS_FILE)
        digests = {name: file_digest(staging / name) for name in (CONFIG_FILE, WEIGHTS_FILE)}
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            os.replace(staging / name, model_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    recorded = dict((record.fingerprint or {}).get("sha256", {}))
    if record.fingerprint is not None:
        recorded.update(digests)
    write_record(model_dir / CONFIG_NAME, dataclasses.replace(
        record, fingerprint={"sha256": recorded} if record.fingerprint is not None else None))
    window = min(50, len(losses))
    return {"pairs": len(pairs), "strong_pairs": sum(p.strong for p in pairs), "steps": len(losses),
            "first_loss": float(np.mean(losses[:window])),
            "last_loss": float(np.mean(losses[-window:]))}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m emocore.training.contour MODEL_DIR``: :func:`add_learned_prosody`."""
    import argparse

    from emocore.cli.common import positive_int

    parser = argparse.ArgumentParser(prog="python -m emocore.training.contour",
                                     description="Train the learned prosody of a multi-speaker model on its own "
                                                 "speakers' parallel words and add it to the model folder.")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--steps", type=positive_int, default=ContourConfig.steps,
                        help="Adam steps (default %(default)s)")
    parser.add_argument("--pairs-per-text", type=positive_int, default=ContourConfig.pairs_per_text,
                        help="target recordings per source word and emotion (default %(default)s)")
    parser.add_argument("--jobs", type=positive_int, default=1,
                        help="feature-extraction processes (default %(default)s: the model's training features are "
                             "normally in the cache already)")
    parser.add_argument("--overwrite", action="store_true", help="replace a learned prosody the folder already has")
    parser.add_argument("--smoke", action="store_true", help="ContourConfig().smoke() (a few steps, tests)")
    args = parser.parse_args(argv)
    if args.smoke and (args.steps != ContourConfig.steps or args.pairs_per_text != ContourConfig.pairs_per_text):
        parser.error("--smoke sets its own steps and pairs; give it alone")
    from emocore.cli.common import import_tensorflow

    import_tensorflow()
    try:
        cfg = ContourConfig().smoke() if args.smoke else dataclasses.replace(
            ContourConfig(), steps=args.steps, pairs_per_text=args.pairs_per_text)
        summary = add_learned_prosody(args.model_dir, cfg, overwrite=args.overwrite, n_jobs=args.jobs)
    except EmocoreError as error:  # a bad folder, missing corpora: one line naming the file
        parser.exit(1, f"error: {error}\n")
    print(f"learned prosody added to {args.model_dir}: {summary['pairs']} parallel pairs ({summary['strong_pairs']} "
          f"to strong takes), {summary['steps']} steps, "
          f"loss {summary['first_loss']:.3f} -> {summary['last_loss']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
