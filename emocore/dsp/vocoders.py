"""Analysis-synthesis variants for the vocoder comparison (notebook 02), and how to score them.

A *vocoder* here is a function ``wav (n_samples,) -> wav (n_samples,)`` at a fixed rate: analyse with
some representation, synthesize back. Comparing them tells how much of a conversion's quality is lost
before any network touches the features: WORLD with harvest vs dio, MCEP orders 24/36/60 coded by WORLD
vs SPTK's mel-cepstrum, the uncoded WORLD envelope (no dimensionality reduction at all), and
Griffin-Lim from an 80-band mel spectrogram as the baseline without any F0 model.

Scoring re-analyses both the original and the re-synthesis with one fixed *measurement* config
(harvest F0, 25 SPTK mel-cepstral coefficients: MCD over c1..c24), so every variant is judged by the
same ruler, not by its own representation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from emocore.config import FeatureConfig
from emocore.dsp import features, metrics
from emocore.exceptions import ParameterError

Vocoder = Callable[[np.ndarray], np.ndarray]

MEASURE_CONFIG = FeatureConfig(f0_method="harvest", mcep_method="sptk", mcep_dim=25)


def world_vocoder(cfg: FeatureConfig, *, coded: bool = True) -> Vocoder:
    """WORLD analysis and synthesis; ``coded=False`` keeps the full-resolution envelope (the ceiling)."""

    def resynthesize(wav: np.ndarray) -> np.ndarray:
        f0_hz, sp, ap = features.world_analyze(wav, cfg)
        if coded:
            sp = features.decode_mcep(features.encode_mcep(sp, cfg), cfg)
            ap = features.decode_ap(features.encode_ap(ap, cfg), cfg)
        return features.world_synthesize(f0_hz, sp, ap, cfg, n_samples=len(wav))

    return resynthesize


def griffin_lim_vocoder(sr: int, *, n_fft: int = 1024, hop_length: int = 80, n_mels: int = 80,
                        n_iter: int = 32) -> Vocoder:
    """Mel spectrogram (``n_mels`` bands) inverted with Griffin-Lim: a vocoder with no F0 model at all."""

    def resynthesize(wav: np.ndarray) -> np.ndarray:
        import librosa

        mel = librosa.feature.melspectrogram(y=wav, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
        out = librosa.feature.inverse.mel_to_audio(mel, sr=sr, n_fft=n_fft, hop_length=hop_length, n_iter=n_iter,
                                                   length=len(wav))
        return out

    return resynthesize


def default_vocoders(sr: int = 16000, mcep_orders: tuple[int, ...] = (24, 36, 60)) -> dict[str, Vocoder]:
    """The comparison grid of notebook 02, keyed by a readable name."""
    base = FeatureConfig(sr=sr)
    grid: dict[str, Vocoder] = {
        "world-harvest-uncoded": world_vocoder(base, coded=False),
        "world-dio-uncoded": world_vocoder(replace(base, f0_method="dio"), coded=False),
    }
    for order in mcep_orders:
        grid[f"world-harvest-world{order}"] = world_vocoder(replace(base, mcep_dim=order))
        grid[f"world-harvest-sptk{order}"] = world_vocoder(replace(base, mcep_dim=order, mcep_method="sptk"))
    grid[f"world-dio-world{mcep_orders[0]}"] = world_vocoder(replace(base, f0_method="dio", mcep_dim=mcep_orders[0]))
    grid["griffin-lim-mel80"] = griffin_lim_vocoder(sr)
    return grid


def measure_resynthesis(reference: np.ndarray, resynthesized: np.ndarray,
                        measure_cfg: FeatureConfig = MEASURE_CONFIG) -> dict[str, float]:
    """MCD (dB), F0 RMSE (Hz) and voicing error of a re-synthesis against its original.

    Both waveforms have the same length and timing, so frames are compared one to one (no DTW).

    Args:
        reference (ndarray): original waveform at ``measure_cfg.sr``, shape ``(n_samples,)``.
        resynthesized (ndarray): same shape.
    """
    if len(reference) != len(resynthesized):
        raise ParameterError(f"lengths differ: {len(reference)} vs {len(resynthesized)} samples")
    ref = features.extract_features(reference, measure_cfg)
    test = features.extract_features(resynthesized, measure_cfg)
    return {
        "mcd_db": metrics.mel_cepstral_distortion_db(ref.mcep, test.mcep, align="none"),
        "f0_rmse_hz": metrics.f0_rmse_hz(ref.f0_hz, test.f0_hz),
        "vuv_error": metrics.vuv_error_rate(ref.f0_hz, test.f0_hz),
    }


def compare_vocoders(wavs: dict[str, np.ndarray], vocoders: dict[str, Vocoder], *,
                     measure_cfg: FeatureConfig = MEASURE_CONFIG, with_dnsmos: bool | None = None,
                     progress: bool = True) -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
    """Run every vocoder on every waveform and score it.

    Args:
        wavs: ``utterance id -> waveform (n_samples,)`` at ``measure_cfg.sr``.
        vocoders: ``name -> vocoder``, e.g. :func:`default_vocoders`.

    Returns:
        tuple: a tidy table (one row per utterance and vocoder: ``utterance, vocoder, mcd_db,
        f0_rmse_hz, vuv_error, rtf``, where ``rtf`` is compute seconds per second of audio; plus
        ``dnsmos_*`` columns with ``with_dnsmos``, by default when the eval extra is installed) and
        the re-synthesized audio keyed by ``(utterance, vocoder)``. Rows with vocoder ``"original"``
        score the unprocessed recordings, the reference for DNSMOS.
    """
    with_dnsmos = metrics.dnsmos_available() if with_dnsmos is None else with_dnsmos
    rows, audio = [], {}
    if with_dnsmos:
        rows += [{"utterance": utt, "vocoder": "original", "mcd_db": 0.0, "f0_rmse_hz": 0.0, "vuv_error": 0.0,
                  "rtf": 0.0, **metrics.dnsmos(wav, measure_cfg.sr)} for utt, wav in wavs.items()]
    jobs = [(utt, name) for utt in wavs for name in vocoders]
    for utt, name in tqdm(jobs, desc="vocoders", disable=not progress):
        wav = wavs[utt]
        start = time.perf_counter()
        out = vocoders[name](wav)
        seconds = time.perf_counter() - start
        audio[(utt, name)] = out
        row = {"utterance": utt, "vocoder": name, **measure_resynthesis(wav, out, measure_cfg),
               "rtf": seconds / (len(wav) / measure_cfg.sr)}
        if with_dnsmos:
            row.update(metrics.dnsmos(out, measure_cfg.sr))
        rows.append(row)
    return pd.DataFrame(rows), audio
