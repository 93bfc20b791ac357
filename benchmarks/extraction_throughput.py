"""Benchmark: seconds of audio analysed per second of wall time, harvest vs dio, 1 process vs all cores.

    python benchmarks/extraction_throughput.py --n-files 40

Runs on real TESS files from ``$EMOCORE_DATA_DIR`` (default ``../shared/data``), without the cache, so
every number is fresh computation; then once more through the cache to show what a re-run costs.
Ratios are taken within this process, against the serial harvest run, so they hold on any machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

import soundfile as sf

from emocore import datasets, extraction
from emocore.config import FeatureConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-files", type=int, default=40)
    parser.add_argument("--speaker", default="OAF")
    args = parser.parse_args()
    utts = datasets.list_utterances("tess", speaker=args.speaker)[:: max(1, 1000 // args.n_files)][: args.n_files]
    audio_s = sum(sf.info(str(u.path)).duration for u in utts)
    n_cores = os.cpu_count() or 1
    print(f"{len(utts)} TESS {args.speaker} files, {audio_s:.1f} s of audio, {n_cores} cores")
    print(f"{'f0 method':<10}{'workers':>8}{'wall (s)':>10}{'audio s / s':>13}{'x harvest serial':>18}")
    baseline = None
    for method in ("harvest", "dio"):
        cfg = replace(FeatureConfig(), f0_method=method)
        for n_jobs in sorted({1, n_cores}):
            start = time.perf_counter()
            _, failures = extraction.extract_many(utts, cfg, None, n_jobs=n_jobs, progress=False)
            wall = time.perf_counter() - start
            assert not failures, failures
            baseline = baseline or audio_s / wall
            print(f"{method:<10}{n_jobs:>8}{wall:>10.2f}{audio_s / wall:>13.1f}{audio_s / wall / baseline:>18.2f}")
    with tempfile.TemporaryDirectory() as cache:
        cfg = replace(FeatureConfig(), f0_method="dio")
        extraction.extract_many(utts, cfg, cache, n_jobs=n_cores, progress=False)
        start = time.perf_counter()
        extraction.extract_many(utts, cfg, cache, n_jobs=1, progress=False)
        wall = time.perf_counter() - start
        print(f"{'cache hit':<10}{1:>8}{wall:>10.2f}{audio_s / wall:>13.1f}{audio_s / wall / baseline:>18.2f}")


if __name__ == "__main__":
    main()
