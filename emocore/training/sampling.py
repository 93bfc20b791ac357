"""Training data: random fixed-length crops of one emotion's utterances, normalized with its statistics.

Features reach the networks normalized per emotion: an emotion's MCEPs with its own per-dimension mean and std,
its log F0 (interpolated over unvoiced frames) with its own log-F0 mean and std. The generators therefore map
source-normalized MCEPs to target-normalized ones, and conversion denormalizes with the target statistics
(:mod:`emocore.conversion`).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Sequence

import numpy as np

from emocore.config import TrainConfig
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats, interpolate_over_unvoiced
from emocore.exceptions import ParameterError


def normalized_log_f0(f0_hz: np.ndarray, stats: DomainStats) -> np.ndarray:
    """Log F0 interpolated over unvoiced frames and normalized with a domain's log-F0 mean and std.

    Args:
        f0_hz (ndarray): shape ``(T,)``; 0 marks unvoiced frames.
        stats (DomainStats): the domain the contour belongs to.

    Returns:
        ndarray: shape ``(T,)``, float64; all zeros (the domain mean) when no frame is voiced.
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = f0_hz > 0
    if not voiced.any():
        return np.zeros_like(f0_hz)
    log_f0 = np.zeros_like(f0_hz)
    log_f0[voiced] = np.log(f0_hz[voiced])
    return (interpolate_over_unvoiced(log_f0, voiced) - stats.log_f0.mean) / stats.log_f0.std


def classifier_features(feats: WorldFeatures, stats: DomainStats) -> np.ndarray:
    """Emotion-classifier input of a whole utterance: normalized MCEPs and log F0, shape ``(T, D + 1)``, float32."""
    return np.concatenate([stats.mcep.normalize(feats.mcep), normalized_log_f0(feats.f0_hz, stats)[:, None]],
                          axis=1).astype(np.float32)


def _crop_starts(voiced: np.ndarray, n_frames: int, min_voiced: int) -> np.ndarray:
    if len(voiced) < n_frames:
        voiced = np.pad(voiced, (0, n_frames - len(voiced)), mode="edge")
    counts = np.concatenate([[0], np.cumsum(voiced)])
    return np.flatnonzero(counts[n_frames:] - counts[:-n_frames] >= min_voiced)


def _edge_crop(x: np.ndarray, start: int, n_frames: int) -> np.ndarray:
    if len(x) < n_frames:
        pad = [(0, n_frames - len(x))] + [(0, 0)] * (x.ndim - 1)
        x = np.pad(x, pad, mode="edge")
    return x[start:start + n_frames]


def sample_segments(feats_list: Sequence[WorldFeatures], n_frames: int, batch_size: int, rng: np.random.Generator,
                    stats: DomainStats, min_voiced_fraction: float = TrainConfig.min_voiced_fraction,
                    weights: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Random fixed-length crops of normalized MCEPs, each with enough voiced frames, and their log-F0 channel.

    Each crop picks an utterance uniformly among those that have a valid crop, then a start uniformly among
    its valid starts: those whose ``n_frames`` frames hold at least ``ceil(min_voiced_fraction * n_frames)``
    voiced frames (and at least one). Utterances shorter than ``n_frames`` are padded at the end by
    repeating their last frame. The result depends only on the inputs and the state of ``rng``.

    Args:
        feats_list: the domain's utterances.
        n_frames (int): crop length.
        batch_size (int): number of crops.
        rng (numpy.random.Generator): advanced by the call.
        stats (DomainStats): the domain's statistics, for normalization.
        min_voiced_fraction (float): in ``[0, 1]``.
        weights: relative chance of each utterance (``None``: uniform, the draws described above); with
            weights an utterance is drawn among those with a valid crop in proportion to its weight.

    Returns:
        tuple: normalized MCEPs, shape ``(batch_size, n_frames, D)``, and normalized log F0 interpolated
        over unvoiced frames (:func:`normalized_log_f0`), shape ``(batch_size, n_frames)``; both float32.

    Raises:
        ParameterError: bad sizes, or no utterance has a crop with enough voiced frames.
    """
    if batch_size < 1:
        raise ParameterError(f"n_frames and batch_size must be at least 1, got {n_frames}, {batch_size}")
    return CropSampler(feats_list, n_frames, stats, min_voiced_fraction, weights).draw(batch_size, rng)


class CropSampler:
    """:func:`sample_segments` for one emotion whose utterances do not change: every utterance's valid crop starts
    are found once, not at every draw (about 30 ms per emotion and iteration for 1,500 utterances).

    ``CropSampler(feats_list, n_frames, stats, ...).draw(batch_size, rng)`` returns what
    ``sample_segments(feats_list, n_frames, batch_size, rng, stats, ...)`` returns and advances ``rng`` alike.

    Raises:
        ParameterError: bad sizes, or no utterance has a crop with enough voiced frames.
    """

    def __init__(self, feats_list: Sequence[WorldFeatures], n_frames: int, stats: DomainStats,
                 min_voiced_fraction: float = TrainConfig.min_voiced_fraction, weights: Sequence[float] | None = None):
        if n_frames < 1:
            raise ParameterError(f"n_frames and batch_size must be at least 1, got {n_frames}")
        if not 0 <= min_voiced_fraction <= 1:
            raise ParameterError(f"min_voiced_fraction must be in [0, 1], got {min_voiced_fraction}")
        min_voiced = max(1, math.ceil(min_voiced_fraction * n_frames))
        self.starts = [_crop_starts(f.voiced, n_frames, min_voiced) for f in feats_list]
        self.eligible = [i for i, s in enumerate(self.starts) if len(s)]
        if not self.eligible:
            raise ParameterError(f"none of {len(feats_list)} utterances has a {n_frames}-frame crop with at least "
                                 f"{min_voiced} voiced frames; lower n_frames or min_voiced_fraction")
        self.cumulative = None
        if weights is not None:
            if len(weights) != len(feats_list):
                raise ParameterError(f"{len(weights)} weights for {len(feats_list)} utterances")
            p = np.asarray([weights[i] for i in self.eligible], dtype=np.float64)
            if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
                raise ParameterError("sampling weights must be finite, non-negative and not all 0")
            self.cumulative = np.cumsum(p / p.sum())
        self.feats_list, self.n_frames, self.stats = feats_list, n_frames, stats

    def draw(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``batch_size`` crops: normalized MCEPs ``(batch_size, n_frames, D)`` and log F0 ``(batch_size, n_frames)``,
        float32; ``rng`` is advanced."""
        if batch_size < 1:
            raise ParameterError(f"n_frames and batch_size must be at least 1, got {self.n_frames}, {batch_size}")
        eligible, starts, stats, n_frames = self.eligible, self.starts, self.stats, self.n_frames
        mceps, log_f0s = [], []
        for _ in range(batch_size):
            if self.cumulative is None:
                index = eligible[rng.integers(len(eligible))]
            else:
                index = eligible[min(int(np.searchsorted(self.cumulative, rng.random(), side="right")),
                                     len(eligible) - 1)]
            start = int(starts[index][rng.integers(len(starts[index]))])
            feats = self.feats_list[index]
            mceps.append(_edge_crop(stats.mcep.normalize(feats.mcep), start, n_frames))
            log_f0s.append(_edge_crop(normalized_log_f0(feats.f0_hz, stats), start, n_frames))
        return np.stack(mceps).astype(np.float32), np.stack(log_f0s).astype(np.float32)


class Prefetcher:
    """The next iterations' crops, drawn in a background thread while the current training step runs.

    One thread draws the batches in order, each emotion's :class:`CropSampler` in turn, from a generator started at
    ``rng_state``: the batches the loop would draw itself, in the same order. Each comes with the generator's state
    after it; the loop takes that state over when it uses the batch, so a checkpoint stores the state of the batches
    used, never of those drawn ahead, and a resumed run draws exactly what an uninterrupted one would.

    Args:
        samplers: one per emotion, in the model's order.
        batch_size: crops per emotion.
        rng_state: ``numpy.random.Generator.bit_generator.state`` to start from.
        depth: batches drawn ahead at most.
    """

    def __init__(self, samplers: Sequence[CropSampler], batch_size: int, rng_state: dict, depth: int = 2):
        rng = np.random.default_rng()
        rng.bit_generator.state = rng_state
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._draw, args=(list(samplers), batch_size, rng),
                                        name="emocore-crops", daemon=True)
        self._thread.start()

    def _draw(self, samplers, batch_size, rng) -> None:
        while not self._stop.is_set():
            try:
                item = ([s.draw(batch_size, rng) for s in samplers], rng.bit_generator.state)
            except Exception as error:  # noqa: BLE001 - raised again by next(), in the training loop
                item = (error, None)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[1] is None:
                return

    def next(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict]:
        """The next batch (one ``(mceps, log_f0)`` per emotion) and the generator state after it.

        Raises:
            the drawing error (again at every later call), or ParameterError after :meth:`close`.
        """
        while True:
            if self._error is not None:
                raise self._error
            try:
                crops, state = self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise ParameterError("the crop sampler was closed; make a new Prefetcher") from None
                continue
            if state is None:
                self._error = crops
                raise crops
            return crops, state

    def close(self) -> None:
        """Stop drawing; the thread ends within a tenth of a second."""
        self._stop.set()
        self._thread.join(timeout=5)
