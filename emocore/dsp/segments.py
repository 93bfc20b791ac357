"""Long inputs in bounded memory: cut a waveform into overlapping segments and join the converted segments.

WORLD analysis and synthesis hold several full-resolution spectra per frame (``fft_size // 2 + 1`` bins), so
converting a whole file costs memory in proportion to its length (about 13 GB for 10 minutes).
:func:`plan_segments` cuts an input longer than :attr:`SegmentConfig.max_segment_s` into segments; each is
analysed, converted and synthesized with :attr:`SegmentConfig.context_s` of audio on both sides (so the
analysis windows, F0 tracking and synthesis are settled where the segment's own part begins), and
:func:`stitch` joins the converted segments with a short crossfade centred on each cut. Peak memory then
depends on the segment length, not on the input's.

Cuts are placed where the input is quietest (a pause between words, if there is one) within
:attr:`SegmentConfig.search_s` of evenly spaced nominal places, so the crossfade falls where there is
little to blend. An input of at most ``max_segment_s`` is one segment whose converted waveform is returned
as it is: converting it segment-wise and as a whole are the same computation.

Everything here is numpy on arrays in samples; :meth:`emocore.conversion.ConversionModel.convert_path` uses it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emocore.config import SegmentConfig
from emocore.exceptions import ParameterError


@dataclass(frozen=True)
class Segment:
    """One segment of a waveform, in samples.

    Attributes:
        start: first sample of the analysed span ``wav[start:stop]`` (the core plus context).
        stop: end of the analysed span (exclusive).
        core_start: first sample this segment contributes on its own; the cores of consecutive segments tile
            the input, and the crossfades straddle the cores' boundaries.
        core_stop: end of the core (exclusive).
    """

    start: int
    stop: int
    core_start: int
    core_stop: int

    @property
    def n_samples(self) -> int:
        """Length of the analysed span."""
        return self.stop - self.start

    def core_frames(self, hop: int, n_frames: int) -> slice:
        """The analysis frames of ``wav[start:stop]`` that lie in the core.

        Args:
            hop: frame shift in samples; frame ``t`` is centred on sample ``start + t * hop``.
            n_frames: how many frames the analysis of the span gave.

        Returns:
            slice: into the span's frames; every frame of the input falls in exactly one segment's core
            slice when the segments start on multiples of ``hop``.
        """
        first = 0 if self.core_start == self.start else math.ceil((self.core_start - self.start) / hop)
        last = n_frames if self.core_stop == self.stop else math.ceil((self.core_stop - self.start) / hop)
        return slice(first, min(last, n_frames))


def crossfade_samples(sr: int, cfg: SegmentConfig) -> int:
    """Half the crossfade length in samples: the crossfade at a cut ``c`` spans ``[c - h, c + h)``."""
    return int(round(cfg.crossfade_ms * sr / 2000))


def quietest_cut(wav: np.ndarray, nominal: int, sr: int, cfg: SegmentConfig, *, align: int = 1) -> int:
    """The centre of the quietest ``cfg.cut_frame_ms`` frame within ``cfg.search_s`` around ``nominal``.

    Candidate centres are the multiples of ``align`` in ``[nominal - search/2, nominal + search/2]``, spaced
    by the frame length (rounded to a multiple of ``align``); ties (digital silence) go to the candidate
    nearest ``nominal``.

    Args:
        wav (ndarray): waveform, shape ``(n_samples,)``.
        nominal: the sample the cut should be near.
        sr: sample rate in Hz.
        cfg: the segment settings.
        align: cuts fall on multiples of this many samples.

    Returns:
        int: the cut, a sample index in ``(0, n_samples)``.
    """
    half_search = int(cfg.search_s * sr / 2)
    frame = max(align, align * int(round(cfg.cut_frame_ms * sr / 1000 / align)))
    lo = align * math.ceil(max(nominal - half_search, frame) / align)
    hi = min(nominal + half_search, len(wav) - frame)
    centres = np.arange(lo, hi + 1, frame)
    if not len(centres):
        raise ParameterError(f"no room for a cut near sample {nominal} of {len(wav)}")
    span = np.asarray(wav[centres[0] - frame // 2: centres[-1] - frame // 2 + frame], dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(span ** 2)])
    offsets = centres - centres[0]
    energies = cumulative[offsets + frame] - cumulative[offsets]
    best = np.lexsort((np.abs(centres - nominal), energies))[0]
    return int(centres[best])


def plan_segments(wav: np.ndarray, sr: int, cfg: SegmentConfig, *, align: int = 1) -> list[Segment]:
    """Cut a waveform into segments of at most ``cfg.max_segment_s``, each at a quiet place.

    An input of at most ``cfg.max_segment_s`` is one segment. A longer one gets ``n = ceil(length /
    (max_segment_s - search_s))`` segments: the nominal cuts divide it evenly and each moves to the
    quietest frame within ``search_s`` (:func:`quietest_cut`), so no core exceeds ``max_segment_s`` and no
    analysed span ``max_segment_s + 2 * context_s`` (context rounded up to a multiple of ``align``).

    Args:
        wav (ndarray): waveform, shape ``(n_samples,)``.
        sr: sample rate in Hz.
        cfg: the segment settings.
        align: cuts and context lengths are multiples of this many samples; give the analysis hop so that
            every segment's frames fall on the same times as the whole input's.

    Returns:
        list[Segment]: in order; the cores tile ``[0, n_samples)``.
    """
    n_samples = len(wav)
    if n_samples == 0:
        raise ParameterError("cannot plan segments of an empty waveform")
    if n_samples <= cfg.max_segment_s * sr:
        return [Segment(0, n_samples, 0, n_samples)]
    n_segments = math.ceil(n_samples / ((cfg.max_segment_s - cfg.search_s) * sr))
    cuts = [quietest_cut(wav, round(k * n_samples / n_segments), sr, cfg, align=align) for k in range(1, n_segments)]
    bounds = [0, *cuts, n_samples]
    context = align * math.ceil(cfg.context_s * sr / align)
    return [Segment(max(0, a - context), min(n_samples, b + context), a, b) for a, b in zip(bounds, bounds[1:])]


def stitch(pieces: Iterable[np.ndarray], plan: Sequence[Segment], sr: int, cfg: SegmentConfig) -> np.ndarray:
    """Join converted segments into one waveform with a raised-cosine crossfade centred on each cut.

    The two gains at a cut are ``sin^2`` and ``cos^2`` of the same ramp, so they sum to 1: joining the
    unconverted segments returns the input. ``pieces`` may be a generator: each piece is added as it comes,
    so only one is held at a time. A plan of one segment returns its piece as it is.

    Args:
        pieces: one converted waveform per segment of ``plan``, shape ``(segment.n_samples,)`` each, in order.
        plan: from :func:`plan_segments`.
        sr: sample rate in Hz.
        cfg: the segment settings the plan was made with.

    Returns:
        ndarray: shape ``(plan[-1].stop,)``, float64.

    Raises:
        ParameterError: a piece's length differs from its segment's, or the pieces are not one per segment.
    """
    out, half, n_seen = None, crossfade_samples(sr, cfg), 0
    ramp = np.sin(0.5 * np.pi * (np.arange(2 * half) + 0.5) / (2 * half)) ** 2  # rising; ramp + ramp[::-1] == 1
    for index, piece in enumerate(pieces):
        if index >= len(plan):
            raise ParameterError(f"more pieces than the {len(plan)} segments planned")
        segment, piece = plan[index], np.asarray(piece, dtype=np.float64)
        if piece.shape != (segment.n_samples,):
            raise ParameterError(f"segment {index} should give shape ({segment.n_samples},), got {piece.shape}")
        n_seen += 1
        if len(plan) == 1:
            out = piece
            continue
        if out is None:
            out = np.zeros(plan[-1].stop)
        first, last = index == 0, index == len(plan) - 1
        lo = segment.core_start if first else segment.core_start - half
        hi = segment.core_stop if last else segment.core_stop + half
        part = piece[lo - segment.start: hi - segment.start].copy()
        if not first:
            part[: 2 * half] *= ramp
        if not last:
            part[len(part) - 2 * half:] *= ramp[::-1]
        out[lo:hi] += part
    if n_seen != len(plan):
        raise ParameterError(f"got {n_seen} pieces for {len(plan)} segments")
    return out
