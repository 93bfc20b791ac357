"""Objective metrics for voice conversion: DTW alignment, MCD, F0 RMSE, log-F0 correlation, V/UV error.

Every function takes plain arrays: mel-cepstra are time-major ``(T, D)`` with ``c0`` (energy) in
column 0, F0 contours are ``(T,)`` in Hz with 0 marking unvoiced frames (the WORLD convention).

Reference and converted utterances rarely have the same length, so the F0 metrics accept an
alignment ``path = (i, j)`` from :func:`dtw_path`: frame ``i[k]`` of the reference is compared with
frame ``j[k]`` of the test. :func:`aligned_metrics` aligns once on the mel-cepstra and scores
everything on that one path, which is what a results table wants.

Metrics that have nothing to score on (no frame voiced in both contours, say) return ``nan``
instead of raising, so one odd file does not stop a whole evaluation; aggregate with ``np.nanmean``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist

from emocore.exceptions import ParameterError

#: ``10 / ln 10``: converts a natural-log spectral distance to dB.
_DB_PER_NEPER = 10.0 / math.log(10.0)

ALIGN_METHODS = ("dtw", "none")

AlignmentPath = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------------


def _as_features(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a finite float ``(T, D)`` array with ``T, D >= 1``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ParameterError(f"{name} must be 2-D (T, D), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ParameterError(
            f"{name} must have at least one frame and one coefficient, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} contains NaN or inf")
    return arr


def _as_feature_pair(x: ArrayLike, y: ArrayLike, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_features(x, names[0]), _as_features(y, names[1])
    if x.shape[1] != y.shape[1]:
        raise ParameterError(
            f"{names[0]} and {names[1]} need the same feature dimension, got {x.shape[1]} and {y.shape[1]}"
        )
    return x, y


def _as_f0(f0_hz: ArrayLike, name: str) -> np.ndarray:
    """``f0_hz`` as a finite, non-negative float ``(T,)`` array with ``T >= 1``."""
    arr = np.asarray(f0_hz, dtype=np.float64)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D (T,), got shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ParameterError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} contains NaN or inf; mark unvoiced frames with 0")
    if np.any(arr < 0):
        raise ParameterError(f"{name} has negative values; mark unvoiced frames with 0")
    return arr


def _as_path(path, len_ref: int, len_test: int) -> AlignmentPath:
    """Validate an alignment ``(i, j)`` against sequences of the given lengths."""
    try:
        i, j = path
    except (TypeError, ValueError):
        raise ParameterError("path must be a pair (i, j) of index arrays, as returned by dtw_path") from None
    i, j = np.asarray(i), np.asarray(j)
    if i.ndim != 1 or j.ndim != 1 or i.shape != j.shape:
        raise ParameterError(
            f"path index arrays must be 1-D and of equal length, got {i.shape} and {j.shape}"
        )
    if i.size == 0:
        raise ParameterError("path is empty")
    if not (np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype, np.integer)):
        raise ParameterError(f"path index arrays must be integers, got {i.dtype} and {j.dtype}")
    if i.min() < 0 or i.max() >= len_ref or j.min() < 0 or j.max() >= len_test:
        raise ParameterError(
            f"path indexes out of range for sequences of length {len_ref} (ref) and {len_test} (test)"
        )
    return i, j


def _paired_f0(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path) -> tuple[np.ndarray, np.ndarray]:
    """The two contours, validated, and indexed by ``path`` (or checked for equal length)."""
    ref, test = _as_f0(f0_ref_hz, "f0_ref_hz"), _as_f0(f0_test_hz, "f0_test_hz")
    if path is None:
        if ref.shape != test.shape:
            raise ParameterError(
                f"f0_ref_hz and f0_test_hz differ in length ({ref.shape[0]} vs {test.shape[0]}); "
                "pass path=dtw_path(...) to align them"
            )
        return ref, test
    i, j = _as_path(path, ref.shape[0], test.shape[0])
    return ref[i], test[j]


# --------------------------------------------------------------------------------------------------
# Alignment
# --------------------------------------------------------------------------------------------------


def _accumulate_cost(cost: np.ndarray) -> np.ndarray:
    """Accumulated DTW cost with steps (1, 0), (0, 1), (1, 1), each weighted 1 x local cost.

    Row ``i`` is computed in one shot: entering column ``k`` from row ``i - 1`` costs
    ``a[k] = min(D[i-1, k], D[i-1, k-1])``, after which only horizontal steps remain, so with
    ``S`` the running sum of ``cost[i]``,
    ``D[i, j] = min_{k <= j} (a[k] + S[j] - S[k-1]) = S[j] + cummin(a - S_shifted)[j]``.
    The loop is over rows only; values agree with the textbook recursion up to float rounding.
    """
    n_x, n_y = cost.shape
    acc = np.empty_like(cost)
    acc[0] = np.cumsum(cost[0])
    enter = np.empty(n_y)
    for i in range(1, n_x):
        prev = acc[i - 1]
        enter[0] = prev[0]
        np.minimum(prev[1:], prev[:-1], out=enter[1:])
        running = np.cumsum(cost[i])
        shifted = np.concatenate(([0.0], running[:-1]))
        acc[i] = running + np.minimum.accumulate(enter - shifted)
    return acc


def _backtrack(acc: np.ndarray) -> AlignmentPath:
    """Walk back from the last cell to (0, 0), preferring the diagonal step on ties."""
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    steps_i, steps_j = [i], [j]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            diag, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
            if diag <= up and diag <= left:
                i, j = i - 1, j - 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        steps_i.append(i)
        steps_j.append(j)
    return np.array(steps_i[::-1], dtype=np.intp), np.array(steps_j[::-1], dtype=np.intp)


def dtw_path(x: ArrayLike, y: ArrayLike, metric: str | Callable = "euclidean") -> AlignmentPath:
    """Align two feature sequences by dynamic time warping.

    Uses the symmetric step pattern (advance ``x``, ``y`` or both by one frame, each step costing the
    local distance), with no slope constraint or band. Runs in ``O(Tx * Ty)`` memory and time; a
    600 x 600 alignment takes a few tens of milliseconds.

    Args:
        x (ndarray): first sequence, shape ``(Tx, D)``.
        y (ndarray): second sequence, shape ``(Ty, D)``.
        metric (str or callable): frame distance, any metric accepted by
            :func:`scipy.spatial.distance.cdist`.

    Returns:
        tuple[ndarray, ndarray]: integer index arrays ``(i, j)``, both of shape ``(L,)`` with
        ``max(Tx, Ty) <= L <= Tx + Ty - 1``; ``x[i[k]]`` is aligned with ``y[j[k]]``. Both are
        non-decreasing in steps of 0 or 1, start at ``(0, 0)`` and end at ``(Tx - 1, Ty - 1)``.

    Raises:
        ParameterError: if ``x`` or ``y`` is not a finite non-empty 2-D array, their feature
            dimensions differ, or ``metric`` is not understood by ``cdist``.
    """
    x, y = _as_feature_pair(x, y, ("x", "y"))
    if not (isinstance(metric, str) or callable(metric)):
        raise ParameterError(f"metric must be a string or a callable, got {type(metric).__name__}")
    try:
        cost = cdist(x, y, metric=metric)
    except (ValueError, TypeError) as err:
        raise ParameterError(f"cdist could not use metric={metric!r}: {err}") from err
    if not np.all(np.isfinite(cost)):
        raise ParameterError(f"metric={metric!r} produced non-finite distances")
    return _backtrack(_accumulate_cost(cost))


# --------------------------------------------------------------------------------------------------
# Spectral distortion
# --------------------------------------------------------------------------------------------------


def _frame_mcd_db(mcep_ref: np.ndarray, mcep_test: np.ndarray) -> np.ndarray:
    """Per-frame MCD in dB between row-aligned arrays of equal shape ``(N, D)``."""
    diff = mcep_ref - mcep_test
    return _DB_PER_NEPER * np.sqrt(2.0 * np.sum(diff * diff, axis=1))


def mel_cepstral_distortion_db(
    mcep_ref: ArrayLike,
    mcep_test: ArrayLike,
    *,
    align: str = "dtw",
    exclude_c0: bool = True,
    frames: ArrayLike | None = None,
) -> float:
    """Mel-cepstral distortion in dB, averaged over aligned frames.

    Per frame, ``MCD = (10 / ln 10) * sqrt(2 * sum_d (c_d - c'_d) ** 2)``; the result is the mean
    over frame pairs. With ``align="dtw"`` the pairs come from :func:`dtw_path` (Euclidean) on the
    same coefficients that are scored, so a time-stretched but otherwise identical test scores 0.
    Identical inputs give exactly 0.

    Args:
        mcep_ref (ndarray): reference mel-cepstra, shape ``(T_ref, D)``, ``c0`` in column 0.
        mcep_test (ndarray): converted mel-cepstra, shape ``(T_test, D)``.
        align (str): ``"dtw"`` to align by DTW, or ``"none"`` to compare frame ``t`` with frame
            ``t`` (then ``T_test`` must equal ``T_ref``).
        exclude_c0 (bool): drop the 0th (energy) coefficient before aligning and scoring, the
            usual convention, so loudness differences do not count.
        frames (ndarray, optional): boolean mask of shape ``(T_ref,)``; only pairs whose reference
            frame is ``True`` are averaged (e.g. speech frames). ``None`` keeps every frame.

    Returns:
        float: the mean MCD in dB, or ``nan`` if ``frames`` selects no aligned frame.

    Raises:
        ParameterError: on non-2-D, empty or non-finite inputs, mismatched ``D``, ``D < 2`` with
            ``exclude_c0``, an unknown ``align``, unequal lengths with ``align="none"``, or a
            ``frames`` mask that is not boolean of shape ``(T_ref,)``.
    """
    ref, test = _as_feature_pair(mcep_ref, mcep_test, ("mcep_ref", "mcep_test"))
    if align not in ALIGN_METHODS:
        raise ParameterError(f"align must be one of {ALIGN_METHODS}, got {align!r}")
    if exclude_c0:
        if ref.shape[1] < 2:
            raise ParameterError("exclude_c0=True needs at least 2 coefficients (c0 and c1)")
        ref, test = ref[:, 1:], test[:, 1:]
    mask = None
    if frames is not None:
        mask = np.asarray(frames)
        if mask.dtype != np.bool_ or mask.shape != (ref.shape[0],):
            raise ParameterError(
                f"frames must be a boolean mask of shape ({ref.shape[0]},), got {mask.dtype} {mask.shape}"
            )

    if align == "dtw":
        i, j = dtw_path(ref, test)
    else:
        if ref.shape[0] != test.shape[0]:
            raise ParameterError(
                f'align="none" needs equal lengths, got {ref.shape[0]} and {test.shape[0]} frames'
            )
        i = j = np.arange(ref.shape[0])
    if mask is not None:
        keep = mask[i]
        i, j = i[keep], j[keep]
        if i.size == 0:
            return float("nan")
    return float(np.mean(_frame_mcd_db(ref[i], test[j])))


# --------------------------------------------------------------------------------------------------
# F0 metrics
# --------------------------------------------------------------------------------------------------


def f0_rmse_hz(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path: AlignmentPath | None = None) -> float:
    """Root-mean-square F0 error in Hz over frames voiced in both contours.

    Args:
        f0_ref_hz (ndarray): reference F0, shape ``(T_ref,)``; 0 marks unvoiced frames.
        f0_test_hz (ndarray): converted F0, shape ``(T_test,)``; 0 marks unvoiced frames.
        path (tuple[ndarray, ndarray], optional): alignment ``(i, j)`` from :func:`dtw_path`;
            ``None`` compares frame ``t`` with frame ``t`` (then the lengths must be equal).

    Returns:
        float: the RMSE in Hz, or ``nan`` when no aligned frame is voiced in both.

    Raises:
        ParameterError: if a contour is not 1-D, empty, non-finite or negative, the lengths differ
            with ``path=None``, or ``path`` is malformed or out of range.
    """
    ref, test = _paired_f0(f0_ref_hz, f0_test_hz, path)
    both = (ref > 0) & (test > 0)
    if not np.any(both):
        return float("nan")
    return float(np.sqrt(np.mean((ref[both] - test[both]) ** 2)))


def _voiced_in_both(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path) -> tuple[np.ndarray, np.ndarray]:
    """The two contours' aligned frames (:func:`_paired_f0`) where both are voiced (possibly none)."""
    ref, test = _paired_f0(f0_ref_hz, f0_test_hz, path)
    both = (ref > 0) & (test > 0)
    return ref[both], test[both]


def f0_level_st(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path: AlignmentPath | None = None) -> float:
    """How far the converted pitch sits from the reference's: the mean log-F0 difference ``test - ref`` over frames
    voiced in both, in semitones (+12 is an octave higher).

    The level part of :func:`f0_rmse_hz`: a conversion can miss the real target's contour by its register (angry
    spoken higher) or by its shape; :func:`f0_rmse_level_matched_hz` is the other part.

    Returns:
        float: semitones, or ``nan`` when no aligned frame is voiced in both.

    Raises:
        ParameterError: as for :func:`f0_rmse_hz`.
    """
    ref, test = _voiced_in_both(f0_ref_hz, f0_test_hz, path)
    return float(12.0 * np.mean(np.log2(test) - np.log2(ref))) if len(ref) else float("nan")


def f0_rmse_level_matched_hz(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path: AlignmentPath | None = None) -> float:
    """:func:`f0_rmse_hz` once the converted contour is moved to the reference's level: divided by the ratio
    :func:`f0_level_st` measures, so only its shape (and its spread) can differ.

    Returns:
        float: the RMSE in Hz, or ``nan`` when no aligned frame is voiced in both.

    Raises:
        ParameterError: as for :func:`f0_rmse_hz`.
    """
    ref, test = _voiced_in_both(f0_ref_hz, f0_test_hz, path)
    if not len(ref):
        return float("nan")
    matched = test * np.exp(-np.mean(np.log(test) - np.log(ref)))
    return float(np.sqrt(np.mean((ref - matched) ** 2)))


def log_f0_pearson(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path: AlignmentPath | None = None) -> float:
    """Pearson correlation of log F0 over frames voiced in both contours.

    Insensitive to a constant pitch ratio (a key change), so it measures how well the intonation
    shape is kept.

    Args:
        f0_ref_hz (ndarray): reference F0, shape ``(T_ref,)``; 0 marks unvoiced frames.
        f0_test_hz (ndarray): converted F0, shape ``(T_test,)``; 0 marks unvoiced frames.
        path (tuple[ndarray, ndarray], optional): alignment ``(i, j)`` from :func:`dtw_path`;
            ``None`` compares frame ``t`` with frame ``t`` (then the lengths must be equal).

    Returns:
        float: the correlation in ``[-1, 1]``, or ``nan`` when fewer than 3 aligned frames are
        voiced in both or either log-F0 series is constant there.

    Raises:
        ParameterError: as for :func:`f0_rmse_hz`.
    """
    ref, test = _paired_f0(f0_ref_hz, f0_test_hz, path)
    both = (ref > 0) & (test > 0)
    if np.count_nonzero(both) < 3:
        return float("nan")
    log_ref, log_test = np.log(ref[both]), np.log(test[both])
    log_ref -= log_ref.mean()
    log_test -= log_test.mean()
    denom = math.sqrt(float(np.dot(log_ref, log_ref)) * float(np.dot(log_test, log_test)))
    if denom == 0.0:
        return float("nan")
    return float(np.clip(np.dot(log_ref, log_test) / denom, -1.0, 1.0))


def vuv_error_rate(f0_ref_hz: ArrayLike, f0_test_hz: ArrayLike, path: AlignmentPath | None = None) -> float:
    """Fraction of aligned frames whose voiced/unvoiced decision differs.

    Args:
        f0_ref_hz (ndarray): reference F0, shape ``(T_ref,)``; 0 marks unvoiced frames.
        f0_test_hz (ndarray): converted F0, shape ``(T_test,)``; 0 marks unvoiced frames.
        path (tuple[ndarray, ndarray], optional): alignment ``(i, j)`` from :func:`dtw_path`;
            ``None`` compares frame ``t`` with frame ``t`` (then the lengths must be equal).

    Returns:
        float: the error rate in ``[0, 1]``, over all aligned frame pairs.

    Raises:
        ParameterError: as for :func:`f0_rmse_hz`.
    """
    ref, test = _paired_f0(f0_ref_hz, f0_test_hz, path)
    return float(np.mean((ref > 0) != (test > 0)))


# --------------------------------------------------------------------------------------------------
# All at once
# --------------------------------------------------------------------------------------------------


def aligned_metrics(
    mcep_ref: ArrayLike, f0_ref_hz: ArrayLike, mcep_test: ArrayLike, f0_test_hz: ArrayLike
) -> dict[str, float]:
    """Align once by DTW on the mel-cepstra (without ``c0``) and score everything on that path.

    Args:
        mcep_ref (ndarray): reference mel-cepstra, shape ``(T_ref, D)``, ``c0`` in column 0, ``D >= 2``.
        f0_ref_hz (ndarray): reference F0, shape ``(T_ref,)``; 0 marks unvoiced frames.
        mcep_test (ndarray): converted mel-cepstra, shape ``(T_test, D)``.
        f0_test_hz (ndarray): converted F0, shape ``(T_test,)``.

    Returns:
        dict[str, float]: ``mcd_db`` (:func:`mel_cepstral_distortion_db`, c0 excluded),
        ``f0_rmse_hz``, ``log_f0_pearson``, ``vuv_error``, ``f0_level_st`` and ``f0_rmse_level_matched_hz``,
        each computed on the same path; the F0 metrics may be ``nan`` as documented in their functions.

    Raises:
        ParameterError: if any array is malformed, ``D < 2``, or an F0 contour's length differs
            from its mel-cepstra's frame count.
    """
    ref, test = _as_feature_pair(mcep_ref, mcep_test, ("mcep_ref", "mcep_test"))
    if ref.shape[1] < 2:
        raise ParameterError("mcep needs at least 2 coefficients (c0 is excluded from the alignment)")
    f0_ref, f0_test = _as_f0(f0_ref_hz, "f0_ref_hz"), _as_f0(f0_test_hz, "f0_test_hz")
    for name, f0, mcep in (("ref", f0_ref, ref), ("test", f0_test, test)):
        if f0.shape[0] != mcep.shape[0]:
            raise ParameterError(f"f0_{name}_hz has {f0.shape[0]} frames but mcep_{name} has {mcep.shape[0]}")
    path = dtw_path(ref[:, 1:], test[:, 1:])
    i, j = path
    return {
        "mcd_db": float(np.mean(_frame_mcd_db(ref[i, 1:], test[j, 1:]))),
        "f0_rmse_hz": f0_rmse_hz(f0_ref, f0_test, path),
        "log_f0_pearson": log_f0_pearson(f0_ref, f0_test, path),
        "vuv_error": vuv_error_rate(f0_ref, f0_test, path),
        "f0_level_st": f0_level_st(f0_ref, f0_test, path),
        "f0_rmse_level_matched_hz": f0_rmse_level_matched_hz(f0_ref, f0_test, path),
    }


# ---------------------------------------------------------------------------
# Non-intrusive naturalness: DNSMOS (needs the ``eval`` extra)
# ---------------------------------------------------------------------------

DNSMOS_SR = 16000


def dnsmos_available() -> bool:
    """Whether :func:`dnsmos` can run (``speechmos`` and ``onnxruntime`` installed: ``pip install -e .[eval]``)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("speechmos", "onnxruntime"))


def dnsmos(wav: ArrayLike, sr: int) -> dict[str, float]:
    """DNSMOS P.835 scores of one waveform (Microsoft's ONNX models, shipped in ``speechmos``; offline).

    Args:
        wav (ndarray): waveform, shape ``(n_samples,)``; resampled to 16 kHz if needed.
        sr: its sample rate.

    Returns:
        dict: ``dnsmos_ovrl``, ``dnsmos_sig``, ``dnsmos_bak`` (1..5, higher is better) and ``dnsmos_p808``.

    Raises:
        ImportError: the ``eval`` extra is not installed.
    """
    if not dnsmos_available():
        raise ImportError("DNSMOS needs speechmos and onnxruntime: pip install -e '.[eval]'")
    from speechmos import dnsmos as _dnsmos

    from emocore.dsp.audio import resample

    wav = resample(np.asarray(wav, dtype=np.float64), sr, DNSMOS_SR)
    peak = np.max(np.abs(wav)) if wav.size else 0.0
    if peak > 1.0:  # speechmos refuses samples outside [-1, 1]
        wav = wav / peak
    scores = _dnsmos.run(wav.astype(np.float32), DNSMOS_SR)
    return {f"dnsmos_{key.removesuffix('_mos')}": float(value) for key, value in scores.items()}
