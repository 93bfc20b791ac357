"""``emocore-bench extraction``: WORLD feature extraction throughput on real TESS files (harvest vs dio, one process
vs every core, a warm cache)."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace

import soundfile as sf

from emocore.config import FeatureConfig
from emocore.data import datasets, extraction


def extraction_throughput(n_files: int = 40, speaker: str = "OAF", root=None) -> list[dict]:
    """Seconds of audio analysed per wall-clock second: harvest vs dio, one process vs all cores, cache hit.

    Runs on real TESS files without the cache (fresh computation), then re-reads through a warm cache.
    Returns one dict per run: ``f0_method, workers, wall_s, audio_s_per_s, x_baseline`` (baseline: harvest
    in one process).
    """
    all_utts = datasets.list_utterances("tess", speaker=speaker, root=root)
    utts = all_utts[:: max(1, len(all_utts) // n_files)][:n_files]
    audio_s = sum(sf.info(str(u.path)).duration for u in utts)
    n_cores = os.cpu_count() or 1
    print(f"{len(utts)} TESS {speaker} files, {audio_s:.1f} s of audio, {n_cores} cores")
    rows = []

    def record(label, workers, wall):
        rows.append({"f0_method": label, "workers": workers, "wall_s": wall, "audio_s_per_s": audio_s / wall,
                     "x_baseline": (audio_s / wall) / rows[0]["audio_s_per_s"] if rows else 1.0})

    for method in ("harvest", "dio"):
        cfg = replace(FeatureConfig(), f0_method=method)
        for n_jobs in sorted({1, n_cores}):
            start = time.perf_counter()
            _, failures = extraction.extract_many(utts, cfg, None, n_jobs=n_jobs, progress=False)
            if failures:
                raise RuntimeError(f"benchmark files failed: {failures}")
            record(method, n_jobs, time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as cache:
        cfg = replace(FeatureConfig(), f0_method="dio")
        extraction.extract_many(utts, cfg, cache, n_jobs=n_cores, progress=False)
        start = time.perf_counter()
        extraction.extract_many(utts, cfg, cache, n_jobs=1, progress=False)
        record("cache hit", 1, time.perf_counter() - start)
    print(f"{'f0 method':<10}{'workers':>8}{'wall (s)':>10}{'audio s / s':>13}{'x harvest serial':>18}")
    for row in rows:
        print(f"{row['f0_method']:<10}{row['workers']:>8}{row['wall_s']:>10.2f}{row['audio_s_per_s']:>13.1f}"
              f"{row['x_baseline']:>18.2f}")
    return rows
